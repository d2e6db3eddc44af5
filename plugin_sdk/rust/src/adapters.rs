//! The ABI's entry points for each function kind, generic over the user's
//! type: every call runs inside `catch_unwind`, so a panic becomes an error
//! (Rust 1.63 has no "C-unwind": unwinding into the host would abort).

use std::any::Any;
use std::os::raw::{c_char, c_void};
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::abi::*;
use crate::types::{
    bytes_of, log, ErrorKind, InitContext, LogLevel, Output, Record, Shares, SinkBatch, SinkReports,
    Status,
};
use crate::{Aggregate, Filter, FlatMap, Function, Map, Route, Sink};

/// A pointer to a function descriptor in a static array (the macro's).
#[derive(Clone, Copy)]
#[repr(transparent)]
pub struct FnPtr(pub *const streams_function);
unsafe impl Sync for FnPtr {}

struct Instance<T> {
    host: *const streams_host_api,
    function: T,
    acc: Vec<u8>, // aggregates: the accumulator being made, reused
    shares: SharesBox,
}

/// An instance's shares (Output::share), in an allocation of their own: a
/// call's Output points at them while the call borrows the instance.
struct SharesBox(*mut Shares);

impl SharesBox {
    fn new() -> Self {
        SharesBox(Box::into_raw(Box::default()))
    }
}

impl Drop for SharesBox {
    fn drop(&mut self) {
        // SAFETY: made by Box::into_raw in new(), freed once here.
        drop(unsafe { Box::from_raw(self.0) });
    }
}

fn panic_text(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic with a non-text payload".to_string()
    }
}

fn write_error(error: *mut c_char, size: usize, text: &str) {
    if error.is_null() || size == 0 {
        return;
    }
    let n = text.len().min(size - 1);
    unsafe {
        std::ptr::copy_nonoverlapping(text.as_ptr() as *const c_char, error, n);
        *error.add(n) = 0;
    }
}

unsafe extern "C" fn create<T: Function>(
    host: *const streams_host_api,
    config: *const c_char,
    config_size: usize,
    error: *mut c_char,
    error_size: usize,
) -> *mut c_void {
    let made = catch_unwind(AssertUnwindSafe(|| {
        let host_ref = host.as_ref().ok_or_else(|| "no host API".to_string())?;
        let bytes = if config.is_null() {
            &b"{}"[..]
        } else {
            std::slice::from_raw_parts(config as *const u8, config_size)
        };
        let text = std::str::from_utf8(bytes).map_err(|_| "config is not UTF-8".to_string())?;
        T::create(&InitContext::new(host_ref, text))
    }));
    match made {
        Ok(Ok(function)) => {
            let inst = Instance { host, function, acc: Vec::new(), shares: SharesBox::new() };
            Box::into_raw(Box::new(inst)) as *mut c_void
        }
        Ok(Err(why)) => {
            write_error(error, error_size, &why);
            std::ptr::null_mut()
        }
        Err(payload) => {
            write_error(error, error_size, &format!("panic: {}", panic_text(&*payload)));
            std::ptr::null_mut()
        }
    }
}

unsafe extern "C" fn destroy<T: Function>(instance: *mut c_void) {
    if !instance.is_null() {
        // A panicking Drop must not unwind into the host either.
        let _ = catch_unwind(AssertUnwindSafe(|| drop(Box::from_raw(instance as *mut Instance<T>))));
    }
}

/// Runs `body` with the instance and the call's Output; a panic fails the
/// input with kind exception.
unsafe fn guarded<T, F>(instance: *mut c_void, call: *mut streams_call, body: F) -> i32
where
    F: FnOnce(&mut Instance<T>, &mut Output) -> Status,
{
    let inst = &mut *(instance as *mut Instance<T>);
    let host = &*inst.host;
    let mut out = Output::sharing(host, call, inst.shares.0);
    match catch_unwind(AssertUnwindSafe(|| body(inst, &mut out))) {
        Ok(status) => status.0,
        Err(payload) => {
            let mut out = Output::from_raw(host, call);
            out.fail(ErrorKind::Exception, &format!("panic: {}", panic_text(&*payload))).0
        }
    }
}

unsafe extern "C" fn process_map<T: Map>(
    instance: *mut c_void,
    input: *const streams_record,
    call: *mut streams_call,
) -> i32 {
    guarded::<T, _>(instance, call, |inst, out| inst.function.process(&Record::from_raw(&*input), out))
}

unsafe extern "C" fn process_filter<T: Filter>(
    instance: *mut c_void,
    input: *const streams_record,
    call: *mut streams_call,
) -> i32 {
    guarded::<T, _>(instance, call, |inst, out| inst.function.process(&Record::from_raw(&*input), out))
}

unsafe extern "C" fn process_flat_map<T: FlatMap>(
    instance: *mut c_void,
    input: *const streams_record,
    call: *mut streams_call,
) -> i32 {
    guarded::<T, _>(instance, call, |inst, out| inst.function.process(&Record::from_raw(&*input), out))
}

unsafe extern "C" fn process_route<T: Route>(
    instance: *mut c_void,
    input: *const streams_record,
    call: *mut streams_call,
) -> i32 {
    guarded::<T, _>(instance, call, |inst, out| inst.function.process(&Record::from_raw(&*input), out))
}

/// Hands the accumulator made by an aggregate call to the host.
fn keep_acc<T>(inst: &Instance<T>, out: &mut Output, call: *mut streams_call, status: Status) -> Status {
    if status != Status::OK {
        return status;
    }
    let host = unsafe { &*inst.host };
    match host.set_accumulator {
        Some(f) if crate::has_field!(host, streams_host_api, set_accumulator) => {
            Status(unsafe { f(call, inst.acc.as_ptr(), inst.acc.len()) })
        }
        _ => out.fail(ErrorKind::Processing, "the host predates aggregates (ABI 1.2)"),
    }
}

unsafe extern "C" fn agg_init<T: Aggregate>(instance: *mut c_void, call: *mut streams_call) -> i32 {
    guarded::<T, _>(instance, call, |inst, out| {
        inst.acc.clear();
        let status = inst.function.init(&mut inst.acc, out);
        keep_acc(inst, out, call, status)
    })
}

unsafe extern "C" fn agg_add<T: Aggregate>(
    instance: *mut c_void,
    acc: streams_bytes,
    input: *const streams_record,
    call: *mut streams_call,
) -> i32 {
    guarded::<T, _>(instance, call, |inst, out| {
        inst.acc.clear();
        inst.acc.extend_from_slice(bytes_of(acc).unwrap_or(&[]));
        let status = inst.function.add(&mut inst.acc, &Record::from_raw(&*input), out);
        keep_acc(inst, out, call, status)
    })
}

unsafe extern "C" fn agg_merge<T: Aggregate>(
    instance: *mut c_void,
    first: streams_bytes,
    second: streams_bytes,
    call: *mut streams_call,
) -> i32 {
    guarded::<T, _>(instance, call, |inst, out| {
        inst.acc.clear();
        let (a, b) = (bytes_of(first).unwrap_or(&[]), bytes_of(second).unwrap_or(&[]));
        let status = inst.function.merge(a, b, &mut inst.acc, out);
        keep_acc(inst, out, call, status)
    })
}

unsafe extern "C" fn agg_result<T: Aggregate>(
    instance: *mut c_void,
    acc: streams_bytes,
    window: *const streams_record,
    call: *mut streams_call,
) -> i32 {
    guarded::<T, _>(instance, call, |inst, out| {
        inst.function.result(bytes_of(acc).unwrap_or(&[]), &Record::from_raw(&*window), out)
    })
}

const fn descriptor<T: Function>(kind: i32, name: *const c_char) -> streams_function {
    streams_function {
        struct_size: std::mem::size_of::<streams_function>() as u32,
        kind,
        name,
        create: Some(create::<T>),
        destroy: Some(destroy::<T>),
        process: None,
        init: None,
        add: None,
        merge: None,
        result: None,
        state_version: 0,
        migrate: None,
        sink_guarantee: 0,
        write_batch: None,
        poll_sink: None,
        flush_sink: None,
        sink_partition: None,
        sink_batches_out: 0,
    }
}

/// A function's `migrate`: the converted value to the host, or the key erased.
unsafe extern "C" fn migrate<T: Function>(
    instance: *mut c_void,
    from_version: u32,
    value: streams_bytes,
    call: *mut streams_call,
) -> i32 {
    guarded::<T, _>(instance, call, |inst, out| {
        let mut converted = Vec::new(); // migrations are rare: once per old value
        let status = inst.function.migrate(from_version, bytes_of(value).unwrap_or(&[]), &mut converted, out);
        if status != Status::OK {
            return status;
        }
        inst.acc = converted;
        keep_acc(inst, out, call, status)
    })
}

/// A function that processes records (map, filter, flat_map, route), with
/// its state's version and migrate.
const fn processing<T: Function>(kind: i32, name: *const c_char, process: ProcessFn) -> streams_function {
    assert!(T::STATE_VERSION <= STREAMS_MAX_STATE_VERSION, "STATE_VERSION is at most 32767");
    let mut f = descriptor::<T>(kind, name);
    f.process = Some(process);
    if T::STATE_VERSION > 0 {
        f.state_version = T::STATE_VERSION;
        f.migrate = Some(migrate::<T>);
    }
    f
}

/// The descriptor of a map function called `name` (NUL-terminated, static).
pub const fn map<T: Map>(name: *const c_char) -> streams_function {
    processing::<T>(STREAMS_KIND_MAP, name, process_map::<T>)
}

pub const fn filter<T: Filter>(name: *const c_char) -> streams_function {
    processing::<T>(STREAMS_KIND_FILTER, name, process_filter::<T>)
}

pub const fn flat_map<T: FlatMap>(name: *const c_char) -> streams_function {
    processing::<T>(STREAMS_KIND_FLAT_MAP, name, process_flat_map::<T>)
}

pub const fn route<T: Route>(name: *const c_char) -> streams_function {
    processing::<T>(STREAMS_KIND_ROUTE, name, process_route::<T>)
}

pub const fn aggregate<T: Aggregate>(name: *const c_char) -> streams_function {
    let mut f = descriptor::<T>(STREAMS_KIND_AGGREGATE, name);
    f.init = Some(agg_init::<T>);
    f.add = Some(agg_add::<T>);
    f.merge = Some(agg_merge::<T>);
    f.result = Some(agg_result::<T>);
    f
}

/// A sink's `write`: a panic reports the batch for a retry.
unsafe extern "C" fn sink_write<T: Sink>(
    instance: *mut c_void,
    batch: *const streams_sink_batch,
    call: *mut streams_call,
) -> i32 {
    let inst = &mut *(instance as *mut Instance<T>);
    let host = &*inst.host;
    let raw = &*batch;
    let written = catch_unwind(AssertUnwindSafe(|| {
        let mut reports = SinkReports::from_raw(host, call);
        inst.function.write(&SinkBatch::from_raw(raw), &mut reports)
    }));
    if let Err(payload) = written {
        let mut reports = SinkReports::from_raw(host, call);
        reports.retry(raw.id, &format!("panic: {}", panic_text(&*payload)));
    }
    STREAMS_OK
}

/// Runs another sink call; a panic is logged and stops the host.
unsafe fn sink_guarded<T, F>(instance: *mut c_void, call: *mut streams_call, what: &str, body: F) -> i32
where
    F: FnOnce(&mut T, &mut SinkReports),
{
    let inst = &mut *(instance as *mut Instance<T>);
    let host = &*inst.host;
    let ran = catch_unwind(AssertUnwindSafe(|| {
        let mut reports = SinkReports::from_raw(host, call);
        body(&mut inst.function, &mut reports)
    }));
    match ran {
        Ok(()) => STREAMS_OK,
        Err(payload) => {
            log(host, LogLevel::Error, &format!("{} panicked: {}", what, panic_text(&*payload)));
            STREAMS_FATAL
        }
    }
}

unsafe extern "C" fn sink_poll<T: Sink>(instance: *mut c_void, timeout_ms: i32, call: *mut streams_call) -> i32 {
    sink_guarded::<T, _>(instance, call, "poll", |f, reports| f.poll(timeout_ms, reports))
}

unsafe extern "C" fn sink_flush<T: Sink>(instance: *mut c_void, call: *mut streams_call) -> i32 {
    sink_guarded::<T, _>(instance, call, "flush", |f, reports| f.flush(reports))
}

unsafe extern "C" fn sink_partition<T: Sink>(
    instance: *mut c_void,
    topic: *const c_char,
    partition: i32,
    assigned: i32,
    call: *mut streams_call,
) -> i32 {
    let topic = if topic.is_null() {
        ""
    } else {
        std::ffi::CStr::from_ptr(topic).to_str().unwrap_or("")
    };
    let what = if assigned != 0 { "assigned" } else { "revoked" };
    sink_guarded::<T, _>(instance, call, what, |f, reports| {
        if assigned != 0 {
            f.assigned(topic, partition, reports)
        } else {
            f.revoked(topic, partition, reports)
        }
    })
}

/// The descriptor of a sink function called `name` (NUL-terminated, static).
pub const fn sink<T: Sink>(name: *const c_char) -> streams_function {
    assert!(T::BATCHES_OUT >= 1, "BATCHES_OUT is at least 1");
    assert!(
        T::BATCHES_OUT == 1 || T::GUARANTEE as u32 != STREAMS_SINK_EXACTLY_ONCE,
        "an exactly-once sink writes a partition's batches in order: BATCHES_OUT 1"
    );
    let mut f = descriptor::<T>(STREAMS_KIND_SINK, name);
    f.sink_guarantee = T::GUARANTEE as u32;
    f.write_batch = Some(sink_write::<T>);
    f.poll_sink = Some(sink_poll::<T>);
    f.flush_sink = Some(sink_flush::<T>);
    f.sink_partition = Some(sink_partition::<T>);
    f.sink_batches_out = T::BATCHES_OUT;
    f
}
