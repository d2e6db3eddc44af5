//! Safe views over the ABI's records and host callbacks. Every view borrows
//! the call it came from and so cannot outlive it.

use std::marker::PhantomData;
use std::os::raw::{c_char, c_void};

use crate::abi::*;

/// What a call returns. `KEEP` and `OK` are the same code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Status(pub i32);

impl Status {
    pub const OK: Status = Status(STREAMS_OK);
    /// A filter keeps its input.
    pub const KEEP: Status = Status(STREAMS_OK);
    /// A filter drops its input.
    pub const DROP: Status = Status(STREAMS_DROP);
    /// The input failed (see `Output::fail`).
    pub const ERROR: Status = Status(STREAMS_RECORD_ERROR);
    /// Unrecoverable: the host stops the pipeline; the input is not committed.
    pub const FATAL: Status = Status(STREAMS_FATAL);
}

/// The kind of a record error (the DLQ's `error kind`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    InvalidInput = STREAMS_ERR_INVALID_INPUT as isize,
    Processing = STREAMS_ERR_PROCESSING as isize,
    Exception = STREAMS_ERR_EXCEPTION as isize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogLevel {
    Debug = STREAMS_LOG_DEBUG as isize,
    Info = STREAMS_LOG_INFO as isize,
    Warn = STREAMS_LOG_WARN as isize,
    Error = STREAMS_LOG_ERROR as isize,
}

pub(crate) fn bytes_of<'a>(b: streams_bytes) -> Option<&'a [u8]> {
    if b.data.is_null() {
        None
    } else if b.size == 0 {
        Some(&[])
    } else {
        // SAFETY: the host hands out views of `size` bytes valid for the call.
        Some(unsafe { std::slice::from_raw_parts(b.data, b.size) })
    }
}

pub(crate) fn view(data: &[u8]) -> streams_bytes {
    streams_bytes { data: data.as_ptr(), size: data.len() }
}

/// A record handed to a call: the input, or a reduce's window. Valid for
/// the call only.
#[derive(Clone, Copy)]
pub struct Record<'a> {
    raw: &'a streams_record,
}

impl<'a> Record<'a> {
    /// # Safety
    /// `raw` and what it points to must stay valid for `'a`.
    pub unsafe fn from_raw(raw: &'a streams_record) -> Self {
        Record { raw }
    }
    pub fn raw(&self) -> &'a streams_record {
        self.raw
    }
    /// The value; empty when absent (see `has_value`).
    pub fn value(&self) -> &'a [u8] {
        bytes_of(self.raw.value).unwrap_or(&[])
    }
    pub fn has_value(&self) -> bool {
        !self.raw.value.data.is_null()
    }
    /// The key, `None` when the record has none (Kafka null).
    pub fn key(&self) -> Option<&'a [u8]> {
        bytes_of(self.raw.key)
    }
    /// Milliseconds since the epoch; -1 when unknown.
    pub fn timestamp_ms(&self) -> i64 {
        self.raw.timestamp_ms
    }
    pub fn headers(&self) -> Headers<'a> {
        let all: &'a [streams_header] = if self.raw.headers.is_null() || self.raw.header_count == 0 {
            &[]
        } else {
            // SAFETY: header_count entries, valid for the call.
            unsafe { std::slice::from_raw_parts(self.raw.headers, self.raw.header_count) }
        };
        Headers { all, at: 0 }
    }
    /// The first header called `name`.
    pub fn header(&self, name: &[u8]) -> Option<&'a [u8]> {
        self.headers().find(|(n, _)| *n == name).map(|(_, v)| v)
    }
}

/// The headers of a record, in order: (name, value).
pub struct Headers<'a> {
    all: &'a [streams_header],
    at: usize,
}

impl<'a> Iterator for Headers<'a> {
    type Item = (&'a [u8], &'a [u8]);
    fn next(&mut self) -> Option<Self::Item> {
        let h = self.all.get(self.at)?;
        self.at += 1;
        Some((bytes_of(h.name).unwrap_or(&[]), bytes_of(h.value).unwrap_or(&[])))
    }
}

/// Where the input of the current call was read.
pub struct Origin<'a> {
    pub topic: &'a str,
    pub partition: i32,
    pub offset: i64,
}

/// Names what a step hands to the step after it on the same input
/// (`Output::share`), typed by what it carries. Make it a `static` of your
/// plugin: its address is the name, so no other plugin's step, nor a tag
/// of another type, takes the value for its own.
///
/// ```ignore
/// static PARSED: ShareTag<Metric> = ShareTag::new();
/// ```
pub struct ShareTag<T: 'static> {
    // Mutable memory, so that no two tags can be merged into one address.
    _unique: std::sync::atomic::AtomicU8,
    _carries: PhantomData<fn() -> T>,
}

impl<T: 'static> ShareTag<T> {
    #[allow(clippy::new_without_default)]
    pub const fn new() -> Self {
        ShareTag { _unique: std::sync::atomic::AtomicU8::new(0), _carries: PhantomData }
    }
    fn address(&'static self) -> *const c_void {
        self as *const Self as *const c_void
    }
}

/// What an instance shared, by tag: each value is kept until the instance
/// shares under that tag again (the host asks only until its next call),
/// its box reused.
#[derive(Default)]
pub(crate) struct Shares {
    kept: Vec<(*const c_void, Box<dyn std::any::Any>)>,
}

impl Shares {
    /// `value` kept under `tag`; where it now is.
    fn keep<T: 'static>(&mut self, tag: *const c_void, value: T) -> *mut T {
        let at = match self.kept.iter().position(|(t, _)| *t == tag) {
            Some(i) => i,
            None => {
                self.kept.push((tag, Box::new(value)));
                return self.kept.last_mut().unwrap().1.downcast_mut::<T>().unwrap();
            }
        };
        // A tag is typed: what it keeps is a T.
        let slot = self.kept[at].1.downcast_mut::<T>().unwrap();
        *slot = value;
        slot
    }
}

/// The host's side of one call: outputs, errors, branches, state. Valid for
/// the call only.
pub struct Output<'a> {
    host: &'a streams_host_api,
    call: *mut streams_call,
    shares: *mut Shares, // the instance's; null: it shares nothing
}

impl<'a> Output<'a> {
    /// # Safety
    /// `call` must be the current call of an instance given `host`.
    pub unsafe fn from_raw(host: &'a streams_host_api, call: *mut streams_call) -> Self {
        Output { host, call, shares: std::ptr::null_mut() }
    }

    /// The same, for a `process` call of an instance keeping `shares`.
    pub(crate) unsafe fn sharing(
        host: &'a streams_host_api,
        call: *mut streams_call,
        shares: *mut Shares,
    ) -> Self {
        Output { host, call, shares }
    }

    /// Hands `value`, work done on the input (its parse, say), to the step
    /// that runs right after this one on the same input, unchanged (a
    /// filter's kept input, a route's), which takes it with
    /// `shared(tag)` instead of doing the work again (ABI 1.8). The SDK
    /// keeps `value` for the host until this instance shares under `tag`
    /// again, reusing its allocation. False when nothing is shared: the
    /// host has no sharing (before 1.8, or the test driver's
    /// `process`), or refused (more than 4 tags a call; not in `process`).
    pub fn share<T: 'static>(&mut self, tag: &'static ShareTag<T>, value: T) -> bool {
        let share = match self.host.share {
            Some(f) if crate::has_field!(self.host, streams_host_api, share) => f,
            _ => return false,
        };
        // SAFETY: the instance's shares outlive its calls; one call at a time.
        let shares = match unsafe { self.shares.as_mut() } {
            Some(shares) => shares,
            None => return false,
        };
        let kept = shares.keep(tag.address(), value);
        unsafe { share(self.call, tag.address(), kept as *mut c_void) == STREAMS_OK }
    }

    /// What the step just before shared under `tag` if its input was this
    /// one, passed on unchanged; `None` otherwise: then do the work here.
    pub fn shared<T: 'static>(&self, tag: &'static ShareTag<T>) -> Option<&T> {
        let shared = match self.host.shared {
            Some(f) if crate::has_field!(self.host, streams_host_api, shared) => f,
            _ => return None,
        };
        let value = unsafe { shared(self.call, tag.address()) } as *const T;
        // SAFETY: only `share` puts a value under a ShareTag<T>'s address,
        // and it is a T kept until the sharing instance's next call, which
        // comes after this one.
        unsafe { value.as_ref() }
    }

    /// Emits `value` with the input's key, headers and timestamp. The host
    /// copies it before returning.
    pub fn emit_value(&mut self, value: &[u8]) -> Status {
        let rec = streams_record {
            struct_size: std::mem::size_of::<streams_record>() as u32,
            flags: STREAMS_INHERIT_ALL,
            key: streams_bytes { data: std::ptr::null(), size: 0 },
            value: view(value),
            headers: std::ptr::null(),
            header_count: 0,
            timestamp_ms: -1,
        };
        self.emit(&rec)
    }

    /// Emits a whole record; the fields its `flags` name come from the input.
    pub fn emit(&mut self, record: &streams_record) -> Status {
        match self.host.emit {
            Some(emit) => Status(unsafe { emit(self.call, record) }),
            None => Status::FATAL,
        }
    }

    /// Records why the input failed; returns `Status::ERROR` for
    /// `return out.fail(..)`.
    pub fn fail(&mut self, kind: ErrorKind, message: &str) -> Status {
        if let Some(set_error) = self.host.set_error {
            unsafe { set_error(self.call, kind as i32, message.as_ptr() as *const c_char, message.len()) };
        }
        Status::ERROR
    }

    /// A detail of the failure being reported (before `fail`): the DLQ
    /// record carries it as header `streams.error.<name>`. False if refused.
    pub fn detail(&mut self, name: &str, value: &str) -> bool {
        match self.host.set_error_detail {
            Some(f) if crate::has_field!(self.host, streams_host_api, set_error_detail) => unsafe {
                f(self.call, name.as_ptr() as *const c_char, name.len(),
                  value.as_ptr() as *const c_char, value.len()) == STREAMS_OK
            },
            _ => false,
        }
    }

    /// Route functions: the branch (by its name in the pipeline file) the
    /// input takes; returns `Status::OK` for `return out.route_to(..)`.
    pub fn route_to(&mut self, branch: &str) -> Status {
        match self.host.select_branch {
            Some(f) if crate::has_field!(self.host, streams_host_api, select_branch) => {
                Status(unsafe { f(self.call, branch.as_ptr() as *const c_char, branch.len()) })
            }
            _ => self.fail(ErrorKind::Processing, "the host predates route functions (ABI 1.1)"),
        }
    }

    /// Where the input was read.
    pub fn origin(&self) -> Option<Origin<'a>> {
        let f = self.host.origin?;
        let o = unsafe { f(self.call).as_ref()? };
        let topic = if o.topic.is_null() {
            ""
        } else {
            unsafe { std::ffi::CStr::from_ptr(o.topic) }.to_str().unwrap_or("")
        };
        Some(Origin { topic, partition: o.partition, offset: o.offset })
    }

    /// The step's state (steps that declare `state:`).
    pub fn state(&mut self) -> State<'_> {
        State { host: self.host, call: self.call, _call: PhantomData }
    }

    /// Logs through the host's logger.
    pub fn log(&self, level: LogLevel, message: &str) {
        log(self.host, level, message);
    }
}

pub(crate) fn log(host: &streams_host_api, level: LogLevel, message: &str) {
    if let Some(f) = host.log {
        unsafe { f(host.host_ctx, level as i32, message.as_ptr() as *const c_char, message.len()) };
    }
}

/// The step's key-value store for this partition (ABI 1.4). Keys and values
/// are bytes; a value read is valid until the next state call.
pub struct State<'a> {
    host: &'a streams_host_api,
    call: *mut streams_call,
    _call: PhantomData<&'a mut ()>,
}

impl<'a> State<'a> {
    fn ok(&self) -> bool {
        crate::has_field!(self.host, streams_host_api, state_scan)
    }

    /// The value of `key`: `Ok(None)` when absent; `Err(status)` when the
    /// host refused the call (return that status).
    pub fn get(&mut self, key: &[u8]) -> Result<Option<&[u8]>, Status> {
        let f = match self.host.state_get {
            Some(f) if self.ok() => f,
            _ => return Err(Status::ERROR),
        };
        let mut value = streams_bytes { data: std::ptr::null(), size: 0 };
        let rc = unsafe { f(self.call, key.as_ptr(), key.len(), &mut value) };
        if rc != STREAMS_OK {
            return Err(Status(rc));
        }
        Ok(bytes_of(value))
    }

    pub fn put(&mut self, key: &[u8], value: &[u8]) -> Status {
        match self.host.state_put {
            Some(f) if self.ok() => {
                Status(unsafe { f(self.call, key.as_ptr(), key.len(), value.as_ptr(), value.len()) })
            }
            _ => Status::ERROR,
        }
    }

    pub fn erase(&mut self, key: &[u8]) -> Status {
        match self.host.state_erase {
            Some(f) if self.ok() => Status(unsafe { f(self.call, key.as_ptr(), key.len()) }),
            _ => Status::ERROR,
        }
    }

    /// Calls `visit(key, value)` for every key starting with `prefix`, in
    /// byte order, until it returns false. `visit` must not use the state.
    pub fn scan<F: FnMut(&[u8], &[u8]) -> bool>(&mut self, prefix: &[u8], mut visit: F) -> Status {
        unsafe extern "C" fn trampoline<F: FnMut(&[u8], &[u8]) -> bool>(
            ctx: *mut c_void,
            key: streams_bytes,
            value: streams_bytes,
        ) -> i32 {
            let visit = &mut *(ctx as *mut F);
            let go = visit(bytes_of(key).unwrap_or(&[]), bytes_of(value).unwrap_or(&[]));
            if go {
                0
            } else {
                1
            }
        }
        match self.host.state_scan {
            Some(f) if self.ok() => Status(unsafe {
                f(self.call, prefix.as_ptr(), prefix.len(), trampoline::<F>,
                  &mut visit as *mut F as *mut c_void)
            }),
            _ => Status::ERROR,
        }
    }
}

/// A count the host keeps for the step and exports with its metrics (ABI
/// 1.11): `streams_plugin_<name>_total{pipeline, step}`. Made at creation
/// (`InitContext::counter`); `add` from any thread is an atomic add. One
/// the host refused (a name not of 1 to 64 of [a-z0-9_], an older host), or
/// a default one, counts nothing.
pub struct Counter {
    host: *const streams_host_api,
    handle: u32,
}

// The host api outlives every instance, and `count` may be called from any thread.
unsafe impl Send for Counter {}
unsafe impl Sync for Counter {}

impl Default for Counter {
    fn default() -> Self {
        Counter { host: std::ptr::null(), handle: 0 }
    }
}

impl Counter {
    pub fn add(&self, n: u64) {
        if self.handle == 0 {
            return;
        }
        // SAFETY: a nonzero handle was given by this host, whose api outlives the instance.
        let host = unsafe { &*self.host };
        if let Some(count) = host.count {
            unsafe { count(host.host_ctx, self.handle, n) };
        }
    }
    pub fn counting(&self) -> bool {
        self.handle != 0
    }
}

/// A value the host keeps for the step and exports with its metrics (ABI
/// 1.12): `streams_plugin_<name>{pipeline, step}`. Made at creation
/// (`InitContext::gauge`); `set` and `add` from any thread are an atomic
/// store or update. Every instance of the step shares the one value: `set`
/// one of the whole step, `add` one each instance holds a part of (add on
/// insert, subtract on evict and in `Drop`). One the host refused, or a
/// default one, keeps nothing.
pub struct Gauge {
    host: *const streams_host_api,
    handle: u32,
}

// As Counter's.
unsafe impl Send for Gauge {}
unsafe impl Sync for Gauge {}

impl Default for Gauge {
    fn default() -> Self {
        Gauge { host: std::ptr::null(), handle: 0 }
    }
}

impl Gauge {
    pub fn set(&self, value: f64) {
        if self.handle == 0 {
            return;
        }
        // SAFETY: a nonzero handle was given by this host, whose api outlives the instance.
        let host = unsafe { &*self.host };
        if let Some(set) = host.gauge_set {
            unsafe { set(host.host_ctx, self.handle, value) };
        }
    }
    pub fn add(&self, delta: f64) {
        if self.handle == 0 {
            return;
        }
        // SAFETY: as in `set`.
        let host = unsafe { &*self.host };
        if let Some(add) = host.gauge_add {
            unsafe { add(host.host_ctx, self.handle, delta) };
        }
    }
    pub fn keeping(&self) -> bool {
        self.handle != 0
    }
}

/// Values the host counts into buckets for the step (ABI 1.12): a
/// Prometheus histogram `streams_plugin_<name>{pipeline, step}`. Made at
/// creation (`InitContext::histogram`) with its buckets' upper bounds
/// (ascending, at most 16; empty: seconds from 1 ms to 10 s); `observe`
/// from any thread is a few compares and two atomic updates. One the host
/// refused, or a default one, keeps nothing.
pub struct Histogram {
    host: *const streams_host_api,
    handle: u32,
}

// As Counter's.
unsafe impl Send for Histogram {}
unsafe impl Sync for Histogram {}

impl Default for Histogram {
    fn default() -> Self {
        Histogram { host: std::ptr::null(), handle: 0 }
    }
}

impl Histogram {
    pub fn observe(&self, value: f64) {
        if self.handle == 0 {
            return;
        }
        // SAFETY: a nonzero handle was given by this host, whose api outlives the instance.
        let host = unsafe { &*self.host };
        if let Some(observe) = host.observe {
            unsafe { observe(host.host_ctx, self.handle, value) };
        }
    }
    pub fn keeping(&self) -> bool {
        self.handle != 0
    }
}

/// What an instance gets at creation. Valid during `create` only.
pub struct InitContext<'a> {
    host: &'a streams_host_api,
    config: &'a str,
}

impl<'a> InitContext<'a> {
    pub fn new(host: &'a streams_host_api, config: &'a str) -> Self {
        InitContext { host, config }
    }
    /// The step's `config:` subtree as JSON text ("{}" if absent).
    pub fn config_json(&self) -> &'a str {
        self.config
    }
    pub fn log(&self, level: LogLevel, message: &str) {
        log(self.host, level, message);
    }
    pub fn host(&self) -> &'a streams_host_api {
        self.host
    }
    /// The step's counter `name` (see `Counter`); keep it in the instance.
    pub fn counter(&self, name: &str) -> Counter {
        if !crate::has_field!(self.host, streams_host_api, count) || self.host.count.is_none() {
            return Counter::default();
        }
        match self.host.counter {
            Some(make) => Counter {
                host: self.host,
                handle: unsafe { make(self.host.host_ctx, name.as_ptr() as *const c_char, name.len()) },
            },
            None => Counter::default(),
        }
    }
    /// The step's gauge `name` (see `Gauge`); keep it in the instance.
    pub fn gauge(&self, name: &str) -> Gauge {
        if !crate::has_field!(self.host, streams_host_api, observe) {
            return Gauge::default();
        }
        match self.host.gauge {
            Some(make) => Gauge {
                host: self.host,
                handle: unsafe { make(self.host.host_ctx, name.as_ptr() as *const c_char, name.len()) },
            },
            None => Gauge::default(),
        }
    }
    /// The step's histogram `name` with buckets' upper `bounds` (see
    /// `Histogram`); keep it in the instance.
    pub fn histogram(&self, name: &str, bounds: &[f64]) -> Histogram {
        if !crate::has_field!(self.host, streams_host_api, observe) {
            return Histogram::default();
        }
        match self.host.histogram {
            Some(make) => Histogram {
                host: self.host,
                handle: unsafe {
                    make(self.host.host_ctx, name.as_ptr() as *const c_char, name.len(),
                         bounds.as_ptr(), bounds.len())
                },
            },
            None => Histogram::default(),
        }
    }
}

/// What a sink promises when its inputs are read again after a crash.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SinkGuarantee {
    /// Replayed records are written again.
    AtLeastOnce = STREAMS_SINK_AT_LEAST_ONCE as isize,
    /// Written again, but they land once (an upsert on a key, objects
    /// named by their offsets).
    Idempotent = STREAMS_SINK_IDEMPOTENT as isize,
    /// The sink keeps its position in the store, written with the records,
    /// and skips what it already has.
    ExactlyOnce = STREAMS_SINK_EXACTLY_ONCE as isize,
}

/// A batch for a sink to write (ABI 1.6): records of one source partition,
/// in source order, every output of each of their inputs. Valid for the
/// `write` call only, unless `views_until_report`.
#[derive(Clone, Copy)]
pub struct SinkBatch<'a> {
    raw: &'a streams_sink_batch,
}

impl<'a> SinkBatch<'a> {
    /// # Safety
    /// `raw` and what it points to must stay valid for `'a`.
    pub unsafe fn from_raw(raw: &'a streams_sink_batch) -> Self {
        SinkBatch { raw }
    }
    pub fn raw(&self) -> &'a streams_sink_batch {
        self.raw
    }
    /// Names the batch in its report.
    pub fn id(&self) -> u64 {
        self.raw.id
    }
    /// 0, then 1, 2, ... when the host sends it again after a retry.
    pub fn attempt(&self) -> u32 {
        self.raw.attempt
    }
    pub fn topic(&self) -> &'a str {
        if self.raw.topic.is_null() {
            return "";
        }
        // SAFETY: a NUL-terminated name valid for the call.
        unsafe { std::ffi::CStr::from_ptr(self.raw.topic) }.to_str().unwrap_or("")
    }
    pub fn partition(&self) -> i32 {
        self.raw.partition
    }
    pub fn first_offset(&self) -> i64 {
        self.raw.first_offset
    }
    pub fn last_offset(&self) -> i64 {
        self.raw.last_offset
    }
    pub fn len(&self) -> usize {
        self.raw.record_count
    }
    pub fn is_empty(&self) -> bool {
        self.raw.record_count == 0
    }
    /// The records' bytes of key and value.
    pub fn bytes(&self) -> usize {
        self.raw.bytes
    }
    fn slice<T>(&self, at: *const T) -> &'a [T] {
        if at.is_null() || self.raw.record_count == 0 {
            &[]
        } else {
            // SAFETY: record_count entries, valid for the call.
            unsafe { std::slice::from_raw_parts(at, self.raw.record_count) }
        }
    }
    /// Record `i`; panics past the end.
    pub fn record(&self, i: usize) -> Record<'a> {
        Record { raw: &self.slice(self.raw.records)[i] }
    }
    pub fn records(&self) -> impl Iterator<Item = Record<'a>> + 'a {
        self.slice(self.raw.records).iter().map(|raw| Record { raw })
    }
    /// Record `i`'s source offset.
    pub fn offset(&self, i: usize) -> i64 {
        self.slice(self.raw.offsets)[i]
    }
    /// Record `i`'s index among the outputs its input sent to this sink: an
    /// exactly-once sink stores the last (offset, sequence) it wrote.
    pub fn sequence(&self, i: usize) -> u32 {
        self.slice(self.raw.sequences)[i]
    }
    /// True when the records' bytes stay valid and unchanged until the batch
    /// is reported, from this call or a later one (host ABI 1.9): a sink may
    /// keep pointers to them rather than copies. Safe Rust cannot hold the
    /// views past the call; code that does so with raw pointers must check
    /// this.
    pub fn views_until_report(&self) -> bool {
        crate::has_field!(self.raw, streams_sink_batch, views_until_report)
            && self.raw.views_until_report != 0
    }
}

/// Where a sink reports its batches: valid for the current call only; a
/// batch reported later is reported from a later call's `SinkReports`.
/// Each returns false for an unknown or already reported id.
pub struct SinkReports<'a> {
    host: &'a streams_host_api,
    call: *mut streams_call,
}

impl<'a> SinkReports<'a> {
    /// # Safety
    /// `call` must be the current sink call of an instance given `host`.
    pub unsafe fn from_raw(host: &'a streams_host_api, call: *mut streams_call) -> Self {
        SinkReports { host, call }
    }
    fn report(&mut self, id: u64, outcome: i32, reason: &str) -> bool {
        match self.host.sink_ack {
            Some(f) if crate::has_field!(self.host, streams_host_api, sink_ack) => unsafe {
                f(self.call, id, outcome, reason.as_ptr() as *const c_char, reason.len()) == STREAMS_OK
            },
            _ => false,
        }
    }
    /// Stored for good: its inputs may be committed.
    pub fn written(&mut self, id: u64) -> bool {
        self.report(id, STREAMS_SINK_WRITTEN, "")
    }
    /// Not stored now (the store is down, a timeout): the host sends the
    /// same batch again after its backoff, before anything of that
    /// partition not yet sent.
    pub fn retry(&mut self, id: u64, reason: &str) -> bool {
        self.report(id, STREAMS_SINK_RETRY, reason)
    }
    /// As `retry`, when the store said when to try again (an HTTP 429's
    /// Retry-After): the host waits `delay_ms` (at most
    /// `STREAMS_MAX_RETRY_AFTER_MS`) instead of its backoff (ABI 1.13; an
    /// older host takes it as `retry`).
    pub fn retry_after(&mut self, id: u64, delay_ms: i64, reason: &str) -> bool {
        match self.host.sink_retry_after {
            Some(f) if crate::has_field!(self.host, streams_host_api, sink_retry_after) => unsafe {
                f(self.call, id, delay_ms, reason.as_ptr() as *const c_char, reason.len())
                    == STREAMS_OK
            },
            _ => self.retry(id, reason),
        }
    }
    /// Refused for good (a constraint, a type): the host halves the batch
    /// until the refused records stand alone, and sends those to the error
    /// policy (the DLQ) with `reason`; the rest is written.
    pub fn rejected(&mut self, id: u64, reason: &str) -> bool {
        self.report(id, STREAMS_SINK_REJECTED, reason)
    }
    pub fn log(&self, level: LogLevel, message: &str) {
        log(self.host, level, message);
    }
}
