//! The plugin ABI's C types (plugin_sdk/include/streams/plugin_abi.h), by
//! hand, field for field. `tests/abi_layout.rs` compares every size and
//! offset with what the C compiler gives for the header.
//!
//! Ownership is the header's: inputs are host-owned views valid for one
//! call; what a plugin hands the host is copied before the callback returns.
#![allow(non_camel_case_types)]

use std::os::raw::{c_char, c_void};

pub const STREAMS_ABI_MAJOR: u16 = 1;
/// The minor version this crate was written against (its types end there).
pub const STREAMS_ABI_MINOR: u16 = 13;

pub const STREAMS_OK: i32 = 0;
pub const STREAMS_DROP: i32 = 1;
pub const STREAMS_RECORD_ERROR: i32 = 2;
pub const STREAMS_FATAL: i32 = 3;

pub const STREAMS_ERR_INVALID_INPUT: i32 = 1;
pub const STREAMS_ERR_PROCESSING: i32 = 2;
pub const STREAMS_ERR_EXCEPTION: i32 = 3;

pub const STREAMS_KIND_MAP: i32 = 1;
pub const STREAMS_KIND_FILTER: i32 = 2;
pub const STREAMS_KIND_FLAT_MAP: i32 = 3;
pub const STREAMS_KIND_ROUTE: i32 = 4;
pub const STREAMS_KIND_AGGREGATE: i32 = 5;
pub const STREAMS_KIND_SINK: i32 = 6;

/// A sink batch's outcome (sink_ack).
pub const STREAMS_SINK_WRITTEN: i32 = 0;
pub const STREAMS_SINK_RETRY: i32 = 1;
pub const STREAMS_SINK_REJECTED: i32 = 2;

/// What a sink promises when its inputs are read again (sink_guarantee).
pub const STREAMS_SINK_AT_LEAST_ONCE: u32 = 1;
pub const STREAMS_SINK_IDEMPOTENT: u32 = 2;
pub const STREAMS_SINK_EXACTLY_ONCE: u32 = 3;

/// The highest state_version (1.5).
pub const STREAMS_MAX_STATE_VERSION: u32 = 32767;

/// The longest wait sink_retry_after gives a batch (1.13).
pub const STREAMS_MAX_RETRY_AFTER_MS: i64 = 300000;

pub const STREAMS_LOG_DEBUG: i32 = 0;
pub const STREAMS_LOG_INFO: i32 = 1;
pub const STREAMS_LOG_WARN: i32 = 2;
pub const STREAMS_LOG_ERROR: i32 = 3;

pub const STREAMS_INHERIT_KEY: u32 = 0x1;
pub const STREAMS_INHERIT_HEADERS: u32 = 0x2;
pub const STREAMS_INHERIT_TIMESTAMP: u32 = 0x4;
pub const STREAMS_INHERIT_ALL: u32 = 0x7;

/// The name the host looks the entry point up by.
pub const STREAMS_PLUGIN_ENTRY_NAME: &str = "streams_plugin_entry_v1";

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct streams_bytes {
    pub data: *const u8,
    pub size: usize,
}

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct streams_header {
    pub name: streams_bytes,
    pub value: streams_bytes,
}

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct streams_record {
    pub struct_size: u32,
    pub flags: u32,
    pub key: streams_bytes,
    pub value: streams_bytes,
    pub headers: *const streams_header,
    pub header_count: usize,
    pub timestamp_ms: i64,
}

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct streams_origin {
    pub struct_size: u32,
    pub topic: *const c_char,
    pub partition: i32,
    pub offset: i64,
}

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct streams_sink_batch {
    pub struct_size: u32,
    pub attempt: u32,
    pub id: u64,
    pub topic: *const c_char,
    pub partition: i32,
    pub first_offset: i64,
    pub last_offset: i64,
    pub record_count: usize,
    pub records: *const streams_record,
    pub offsets: *const i64,
    pub sequences: *const u32,
    pub bytes: usize,
    // 1.9
    pub views_until_report: u32,
}

/// Opaque per-call host context.
#[repr(C)]
pub struct streams_call {
    _private: [u8; 0],
}

pub type StateVisit = unsafe extern "C" fn(*mut c_void, streams_bytes, streams_bytes) -> i32;

#[repr(C)]
pub struct streams_host_api {
    pub struct_size: u32,
    pub abi_major: u16,
    pub abi_minor: u16,
    pub host_ctx: *mut c_void,
    pub emit: Option<unsafe extern "C" fn(*mut streams_call, *const streams_record) -> i32>,
    pub set_error: Option<unsafe extern "C" fn(*mut streams_call, i32, *const c_char, usize)>,
    pub origin: Option<unsafe extern "C" fn(*mut streams_call) -> *const streams_origin>,
    pub log: Option<unsafe extern "C" fn(*mut c_void, i32, *const c_char, usize)>,
    // 1.1
    pub select_branch: Option<unsafe extern "C" fn(*mut streams_call, *const c_char, usize) -> i32>,
    // 1.2
    pub set_accumulator: Option<unsafe extern "C" fn(*mut streams_call, *const u8, usize) -> i32>,
    // 1.3
    pub set_error_detail: Option<
        unsafe extern "C" fn(*mut streams_call, *const c_char, usize, *const c_char, usize) -> i32,
    >,
    // 1.4
    pub state_get: Option<
        unsafe extern "C" fn(*mut streams_call, *const u8, usize, *mut streams_bytes) -> i32,
    >,
    pub state_put:
        Option<unsafe extern "C" fn(*mut streams_call, *const u8, usize, *const u8, usize) -> i32>,
    pub state_erase: Option<unsafe extern "C" fn(*mut streams_call, *const u8, usize) -> i32>,
    pub state_scan: Option<
        unsafe extern "C" fn(*mut streams_call, *const u8, usize, StateVisit, *mut c_void) -> i32,
    >,
    // 1.6
    pub sink_ack:
        Option<unsafe extern "C" fn(*mut streams_call, u64, i32, *const c_char, usize) -> i32>,
    // 1.7
    pub defer_to_batch_end: Option<
        unsafe extern "C" fn(*mut streams_call, unsafe extern "C" fn(*mut c_void), *mut c_void) -> i32,
    >,
    // 1.8
    pub share: Option<unsafe extern "C" fn(*mut streams_call, *const c_void, *mut c_void) -> i32>,
    pub shared: Option<unsafe extern "C" fn(*mut streams_call, *const c_void) -> *mut c_void>,
    // 1.11
    pub counter: Option<unsafe extern "C" fn(*mut c_void, *const c_char, usize) -> u32>,
    pub count: Option<unsafe extern "C" fn(*mut c_void, u32, u64)>,
    // 1.12
    pub gauge: Option<unsafe extern "C" fn(*mut c_void, *const c_char, usize) -> u32>,
    pub gauge_set: Option<unsafe extern "C" fn(*mut c_void, u32, f64)>,
    pub gauge_add: Option<unsafe extern "C" fn(*mut c_void, u32, f64)>,
    pub histogram:
        Option<unsafe extern "C" fn(*mut c_void, *const c_char, usize, *const f64, usize) -> u32>,
    pub observe: Option<unsafe extern "C" fn(*mut c_void, u32, f64)>,
    // 1.13
    pub sink_retry_after:
        Option<unsafe extern "C" fn(*mut streams_call, u64, i64, *const c_char, usize) -> i32>,
}

pub type CreateFn =
    unsafe extern "C" fn(*const streams_host_api, *const c_char, usize, *mut c_char, usize) -> *mut c_void;
pub type DestroyFn = unsafe extern "C" fn(*mut c_void);
pub type ProcessFn =
    unsafe extern "C" fn(*mut c_void, *const streams_record, *mut streams_call) -> i32;

#[repr(C)]
pub struct streams_function {
    pub struct_size: u32,
    pub kind: i32,
    pub name: *const c_char,
    pub create: Option<CreateFn>,
    pub destroy: Option<DestroyFn>,
    pub process: Option<ProcessFn>,
    // 1.2
    pub init: Option<unsafe extern "C" fn(*mut c_void, *mut streams_call) -> i32>,
    pub add: Option<
        unsafe extern "C" fn(*mut c_void, streams_bytes, *const streams_record, *mut streams_call) -> i32,
    >,
    pub merge: Option<
        unsafe extern "C" fn(*mut c_void, streams_bytes, streams_bytes, *mut streams_call) -> i32,
    >,
    pub result: Option<
        unsafe extern "C" fn(*mut c_void, streams_bytes, *const streams_record, *mut streams_call) -> i32,
    >,
    // 1.5
    pub state_version: u32,
    pub migrate:
        Option<unsafe extern "C" fn(*mut c_void, u32, streams_bytes, *mut streams_call) -> i32>,
    // 1.6
    pub sink_guarantee: u32,
    pub write_batch:
        Option<unsafe extern "C" fn(*mut c_void, *const streams_sink_batch, *mut streams_call) -> i32>,
    pub poll_sink: Option<unsafe extern "C" fn(*mut c_void, i32, *mut streams_call) -> i32>,
    pub flush_sink: Option<unsafe extern "C" fn(*mut c_void, *mut streams_call) -> i32>,
    pub sink_partition:
        Option<unsafe extern "C" fn(*mut c_void, *const c_char, i32, i32, *mut streams_call) -> i32>,
    // 1.10
    pub sink_batches_out: u32,
}

// Descriptors live in statics: the host only reads them.
unsafe impl Sync for streams_function {}

#[repr(C)]
pub struct streams_plugin {
    pub struct_size: u32,
    pub abi_major: u16,
    pub abi_minor: u16,
    pub name: *const c_char,
    pub version: *const c_char,
    pub function_count: usize,
    pub functions: *const *const streams_function,
}

unsafe impl Sync for streams_plugin {}

/// The end of `$field` in `$t` (its offset plus its size), computed from
/// the type itself: `has_field!(host, streams_host_api, select_branch)`
/// checks a peer's struct_size against it, as the C header's
/// STREAMS_HAS_FIELD does.
#[macro_export]
macro_rules! has_field {
    ($ptr:expr, $t:ty, $field:ident) => {{
        let u = ::std::mem::MaybeUninit::<$t>::uninit();
        let base = u.as_ptr();
        // SAFETY: only the field's address is taken; nothing is read.
        let at = unsafe { ::std::ptr::addr_of!((*base).$field) };
        fn size_of_pointee<T>(_: *const T) -> usize {
            ::std::mem::size_of::<T>()
        }
        ($ptr).struct_size as usize >= at as usize - base as usize + size_of_pointee(at)
    }};
}
