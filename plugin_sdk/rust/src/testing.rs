//! A fake host for unit tests of plugins (the C++ SDK's test driver's role):
//! runs a function descriptor's calls without the host or Kafka and records
//! what they did.
//!
//! ```ignore
//! let f = streams_plugin::map::<Upper>(b"upper\0".as_ptr() as *const _);
//! let mut d = FunctionDriver::new(&f, "{}").unwrap();
//! let out = d.process(&TestRecord::value(b"abc"));
//! assert_eq!(out.values(), vec![b"ABC".to_vec()]);
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::CString;
use std::os::raw::{c_char, c_void};

use crate::abi::*;
use crate::types::bytes_of;

/// An input to hand a function.
#[derive(Clone, Debug, Default)]
pub struct TestRecord {
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub headers: Vec<(Vec<u8>, Vec<u8>)>,
    pub timestamp_ms: i64,
}

impl TestRecord {
    pub fn value(value: &[u8]) -> Self {
        TestRecord { value: Some(value.to_vec()), timestamp_ms: -1, ..Default::default() }
    }
    pub fn with_key(mut self, key: &[u8]) -> Self {
        self.key = Some(key.to_vec());
        self
    }
    pub fn with_header(mut self, name: &[u8], value: &[u8]) -> Self {
        self.headers.push((name.to_vec(), value.to_vec()));
        self
    }
}

/// What one call did.
#[derive(Clone, Debug, Default)]
pub struct Outcome {
    pub status: i32,
    pub outputs: Vec<TestRecord>,
    /// (kind, message) when the call reported an error.
    pub error: Option<(i32, String)>,
    pub details: Vec<(String, String)>,
    pub branch: Option<String>,
    pub accumulator: Option<Vec<u8>>,
    /// A sink's reports from the call, in order.
    pub reports: Vec<SinkReport>,
    /// How many values the call shared (`Output::share`) for the next step.
    pub shared: usize,
}

/// A sink's report on a batch (sink_ack, or sink_retry_after with a delay).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SinkReport {
    pub id: u64,
    /// STREAMS_SINK_WRITTEN, _RETRY or _REJECTED.
    pub outcome: i32,
    pub reason: String,
    /// The delay a `retry_after` asked for.
    pub delay_ms: Option<i64>,
}

impl Outcome {
    pub fn values(&self) -> Vec<Vec<u8>> {
        self.outputs.iter().map(|o| o.value.clone().unwrap_or_default()).collect()
    }
}

struct Call<'a> {
    input: Option<&'a TestRecord>,
    outcome: Outcome,
    state: &'a mut BTreeMap<Vec<u8>, Vec<u8>>,
    origin: streams_origin,
    read: Vec<u8>, // the last value state_get handed out
    out: &'a mut BTreeSet<u64>, // a sink's batches not yet reported
    // Sharing (ABI 1.8), in process calls only: (tag, value) addresses.
    sharing: bool,
    shares: Vec<(usize, usize)>, // what this call shared
    incoming: Vec<(usize, usize)>, // what the step before shared
}

/// As the host: at most this many tags a call.
const MAX_SHARES: usize = 4;

unsafe fn call_of<'a>(call: *mut streams_call) -> &'a mut Call<'a> {
    &mut *(call as *mut Call)
}

fn owned(b: streams_bytes) -> Option<Vec<u8>> {
    bytes_of(b).map(|s| s.to_vec())
}

fn text(data: *const c_char, size: usize) -> String {
    let bytes = bytes_of(streams_bytes { data: data as *const u8, size }).unwrap_or(&[]);
    String::from_utf8_lossy(bytes).into_owned()
}

unsafe extern "C" fn emit(call: *mut streams_call, record: *const streams_record) -> i32 {
    let c = call_of(call);
    let r = &*record;
    let input = c.input.cloned().unwrap_or_default();
    let mut out = TestRecord {
        key: owned(r.key),
        value: owned(r.value),
        headers: Vec::new(),
        timestamp_ms: r.timestamp_ms,
    };
    if r.flags & STREAMS_INHERIT_KEY != 0 {
        out.key = input.key.clone();
    }
    if r.flags & STREAMS_INHERIT_TIMESTAMP != 0 {
        out.timestamp_ms = input.timestamp_ms;
    }
    if r.flags & STREAMS_INHERIT_HEADERS != 0 {
        out.headers = input.headers.clone();
    } else if !r.headers.is_null() {
        for h in std::slice::from_raw_parts(r.headers, r.header_count) {
            out.headers.push((owned(h.name).unwrap_or_default(), owned(h.value).unwrap_or_default()));
        }
    }
    c.outcome.outputs.push(out);
    STREAMS_OK
}

unsafe extern "C" fn set_error(call: *mut streams_call, kind: i32, message: *const c_char, size: usize) {
    call_of(call).outcome.error = Some((kind, text(message, size)));
}

unsafe extern "C" fn origin(call: *mut streams_call) -> *const streams_origin {
    &call_of(call).origin
}

unsafe extern "C" fn log(ctx: *mut c_void, level: i32, message: *const c_char, size: usize) {
    (*(ctx as *mut Counters)).logs.push((level, text(message, size)));
}

unsafe extern "C" fn select_branch(call: *mut streams_call, name: *const c_char, size: usize) -> i32 {
    let c = call_of(call);
    if c.outcome.branch.is_some() {
        return STREAMS_RECORD_ERROR;
    }
    c.outcome.branch = Some(text(name, size));
    STREAMS_OK
}

unsafe extern "C" fn set_accumulator(call: *mut streams_call, data: *const u8, size: usize) -> i32 {
    call_of(call).outcome.accumulator =
        Some(bytes_of(streams_bytes { data, size }).unwrap_or(&[]).to_vec());
    STREAMS_OK
}

unsafe extern "C" fn set_error_detail(
    call: *mut streams_call,
    name: *const c_char,
    name_size: usize,
    value: *const c_char,
    value_size: usize,
) -> i32 {
    call_of(call).outcome.details.push((text(name, name_size), text(value, value_size)));
    STREAMS_OK
}

unsafe extern "C" fn state_get(
    call: *mut streams_call,
    key: *const u8,
    key_size: usize,
    value: *mut streams_bytes,
) -> i32 {
    let c = call_of(call);
    let k = bytes_of(streams_bytes { data: key, size: key_size }).unwrap_or(&[]);
    *value = match c.state.get(k) {
        Some(v) => {
            c.read = v.clone();
            streams_bytes { data: c.read.as_ptr(), size: c.read.len() }
        }
        None => streams_bytes { data: std::ptr::null(), size: 0 },
    };
    STREAMS_OK
}

unsafe extern "C" fn state_put(
    call: *mut streams_call,
    key: *const u8,
    key_size: usize,
    value: *const u8,
    value_size: usize,
) -> i32 {
    let k = bytes_of(streams_bytes { data: key, size: key_size }).unwrap_or(&[]).to_vec();
    let v = bytes_of(streams_bytes { data: value, size: value_size }).unwrap_or(&[]).to_vec();
    call_of(call).state.insert(k, v);
    STREAMS_OK
}

unsafe extern "C" fn state_erase(call: *mut streams_call, key: *const u8, key_size: usize) -> i32 {
    let k = bytes_of(streams_bytes { data: key, size: key_size }).unwrap_or(&[]);
    call_of(call).state.remove(k);
    STREAMS_OK
}

unsafe extern "C" fn state_scan(
    call: *mut streams_call,
    prefix: *const u8,
    prefix_size: usize,
    visit: StateVisit,
    ctx: *mut c_void,
) -> i32 {
    let c = call_of(call);
    let p = bytes_of(streams_bytes { data: prefix, size: prefix_size }).unwrap_or(&[]).to_vec();
    for (k, v) in c.state.range(p.clone()..) {
        if !k.starts_with(&p) {
            break;
        }
        let key = streams_bytes { data: k.as_ptr(), size: k.len() };
        let value = streams_bytes { data: v.as_ptr(), size: v.len() };
        if visit(ctx, key, value) != 0 {
            break;
        }
    }
    STREAMS_OK
}

/// As the host: in a process call, a tag not null, at most MAX_SHARES tags
/// (the same tag again replaces its value).
unsafe extern "C" fn share(call: *mut streams_call, tag: *const c_void, value: *mut c_void) -> i32 {
    let c = call_of(call);
    let (tag, value) = (tag as usize, value as usize);
    if !c.sharing || tag == 0 {
        return STREAMS_RECORD_ERROR;
    }
    if let Some(kept) = c.shares.iter_mut().find(|(t, _)| *t == tag) {
        kept.1 = value;
    } else if c.shares.len() < MAX_SHARES {
        c.shares.push((tag, value));
    } else {
        return STREAMS_RECORD_ERROR;
    }
    c.outcome.shared = c.shares.len();
    STREAMS_OK
}

unsafe extern "C" fn shared(call: *mut streams_call, tag: *const c_void) -> *mut c_void {
    let c = call_of(call);
    let found = c.incoming.iter().find(|(t, _)| *t == tag as usize);
    found.map_or(std::ptr::null_mut(), |(_, v)| *v as *mut c_void)
}

/// As the host: a report on a batch out, once, with a known outcome.
unsafe fn sink_report(call: *mut streams_call, report: SinkReport) -> i32 {
    let c = call_of(call);
    let known = (STREAMS_SINK_WRITTEN..=STREAMS_SINK_REJECTED).contains(&report.outcome);
    if !known || !c.out.remove(&report.id) {
        return STREAMS_RECORD_ERROR;
    }
    c.outcome.reports.push(report);
    STREAMS_OK
}

unsafe extern "C" fn sink_ack(
    call: *mut streams_call,
    id: u64,
    outcome: i32,
    reason: *const c_char,
    size: usize,
) -> i32 {
    sink_report(call, SinkReport { id, outcome, reason: text(reason, size), delay_ms: None })
}

unsafe extern "C" fn sink_retry_after(
    call: *mut streams_call,
    id: u64,
    delay_ms: i64,
    reason: *const c_char,
    size: usize,
) -> i32 {
    let delay = Some(delay_ms.clamp(0, STREAMS_MAX_RETRY_AFTER_MS));
    sink_report(call, SinkReport { id, outcome: STREAMS_SINK_RETRY, reason: text(reason, size), delay_ms: delay })
}

/// The counters (ABI 1.11), gauges and histograms (1.12) a function made, by
/// name; a handle is an index + 1 in its kind's names.
#[derive(Default)]
struct Counters {
    names: Vec<String>,
    counts: BTreeMap<String, u64>,
    gauge_names: Vec<String>,
    gauges: BTreeMap<String, f64>,
    histogram_names: Vec<String>,
    observed: BTreeMap<String, Vec<f64>>,
    logs: Vec<(i32, String)>,
}

/// The handle of `name` in `names`, added if new; the host's rule: 1 to 64
/// of [a-z0-9_], else refused (0).
unsafe fn named(names: &mut Vec<String>, name: *const c_char, size: usize) -> u32 {
    let bytes = std::slice::from_raw_parts(name as *const u8, size);
    let valid = (1..=64).contains(&size)
        && bytes.iter().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'_');
    if !valid {
        return 0;
    }
    let name = String::from_utf8_lossy(bytes).into_owned();
    if let Some(i) = names.iter().position(|n| *n == name) {
        return i as u32 + 1;
    }
    names.push(name);
    names.len() as u32
}

/// The name of `handle` in `names`.
fn name_of(names: &[String], handle: u32) -> Option<String> {
    (handle >= 1 && handle as usize <= names.len()).then(|| names[handle as usize - 1].clone())
}

unsafe extern "C" fn counter(ctx: *mut c_void, name: *const c_char, size: usize) -> u32 {
    let c = &mut *(ctx as *mut Counters);
    let handle = named(&mut c.names, name, size);
    if let Some(name) = name_of(&c.names, handle) {
        c.counts.entry(name).or_insert(0);
    }
    handle
}

unsafe extern "C" fn count(ctx: *mut c_void, handle: u32, n: u64) {
    let c = &mut *(ctx as *mut Counters);
    if let Some(name) = name_of(&c.names, handle) {
        *c.counts.entry(name).or_insert(0) += n;
    }
}

unsafe extern "C" fn gauge(ctx: *mut c_void, name: *const c_char, size: usize) -> u32 {
    let c = &mut *(ctx as *mut Counters);
    named(&mut c.gauge_names, name, size)
}

unsafe extern "C" fn gauge_set(ctx: *mut c_void, handle: u32, value: f64) {
    let c = &mut *(ctx as *mut Counters);
    if let Some(name) = name_of(&c.gauge_names, handle) {
        c.gauges.insert(name, value);
    }
}

unsafe extern "C" fn gauge_add(ctx: *mut c_void, handle: u32, delta: f64) {
    let c = &mut *(ctx as *mut Counters);
    if let Some(name) = name_of(&c.gauge_names, handle) {
        *c.gauges.entry(name).or_insert(0.0) += delta;
    }
}

unsafe extern "C" fn histogram(
    ctx: *mut c_void,
    name: *const c_char,
    size: usize,
    _bounds: *const f64,
    _count: usize,
) -> u32 {
    let c = &mut *(ctx as *mut Counters);
    named(&mut c.histogram_names, name, size)
}

unsafe extern "C" fn observe(ctx: *mut c_void, handle: u32, value: f64) {
    let c = &mut *(ctx as *mut Counters);
    if let Some(name) = name_of(&c.histogram_names, handle) {
        c.observed.entry(name).or_default().push(value);
    }
}

/// Runs one function of a plugin: an instance made from `config`, its calls
/// recorded. The state (a sorted map) lasts as long as the driver.
pub struct FunctionDriver<'f> {
    function: &'f streams_function,
    counters: Box<Counters>,
    host: Box<streams_host_api>,
    instance: *mut c_void,
    pub state: BTreeMap<Vec<u8>, Vec<u8>>,
    topic: CString,
    offset: i64,
    /// A sink's batches handed out and not yet reported, by id.
    out: BTreeSet<u64>,
    next_batch: u64,
    /// What the last `process` shared, for `process_after`.
    shares: Vec<(usize, usize)>,
}

impl<'f> FunctionDriver<'f> {
    /// Creates the instance; `Err` with the reason the function gave.
    pub fn new(function: &'f streams_function, config: &str) -> Result<Self, String> {
        let mut counters = Box::new(Counters::default());
        let host = Box::new(streams_host_api {
            struct_size: std::mem::size_of::<streams_host_api>() as u32,
            abi_major: STREAMS_ABI_MAJOR,
            abi_minor: STREAMS_ABI_MINOR,
            host_ctx: &mut *counters as *mut Counters as *mut c_void,
            emit: Some(emit),
            set_error: Some(set_error),
            origin: Some(origin),
            log: Some(log),
            select_branch: Some(select_branch),
            set_accumulator: Some(set_accumulator),
            set_error_detail: Some(set_error_detail),
            state_get: Some(state_get),
            state_put: Some(state_put),
            state_erase: Some(state_erase),
            state_scan: Some(state_scan),
            sink_ack: Some(sink_ack),
            defer_to_batch_end: None,
            share: Some(share),
            shared: Some(shared),
            counter: Some(counter),
            count: Some(count),
            gauge: Some(gauge),
            gauge_set: Some(gauge_set),
            gauge_add: Some(gauge_add),
            histogram: Some(histogram),
            observe: Some(observe),
            sink_retry_after: Some(sink_retry_after),
        });
        let create = function.create.ok_or("no create")?;
        let config = CString::new(config).map_err(|_| "config holds a NUL".to_string())?;
        let mut error = [0 as c_char; 2048];
        let instance = unsafe {
            create(&*host, config.as_ptr(), config.as_bytes().len(), error.as_mut_ptr(), error.len())
        };
        if instance.is_null() {
            let why = unsafe { std::ffi::CStr::from_ptr(error.as_ptr()) };
            return Err(why.to_string_lossy().into_owned());
        }
        Ok(FunctionDriver {
            function,
            counters,
            host,
            instance,
            state: BTreeMap::new(),
            topic: CString::new("test").unwrap(),
            offset: 0,
            out: BTreeSet::new(),
            next_batch: 1,
            shares: Vec::new(),
        })
    }

    fn run<F>(&mut self, input: Option<&TestRecord>, body: F) -> Outcome
    where
        F: FnOnce(*mut c_void, *mut streams_call) -> i32,
    {
        self.run_sharing(input, None, body)
    }

    /// A call; `incoming`: a process call's, what the step before shared.
    fn run_sharing<F>(
        &mut self,
        input: Option<&TestRecord>,
        incoming: Option<Vec<(usize, usize)>>,
        body: F,
    ) -> Outcome
    where
        F: FnOnce(*mut c_void, *mut streams_call) -> i32,
    {
        let sharing = incoming.is_some();
        let mut call = Call {
            input,
            outcome: Outcome::default(),
            state: &mut self.state,
            origin: streams_origin {
                struct_size: std::mem::size_of::<streams_origin>() as u32,
                topic: self.topic.as_ptr(),
                partition: 0,
                offset: self.offset,
            },
            read: Vec::new(),
            out: &mut self.out,
            sharing,
            shares: Vec::new(),
            incoming: incoming.unwrap_or_default(),
        };
        self.offset += 1;
        let status = body(self.instance, &mut call as *mut Call as *mut streams_call);
        if sharing {
            self.shares = std::mem::take(&mut call.shares);
        }
        let mut outcome = call.outcome;
        outcome.status = status;
        outcome
    }

    /// The counts of the counters the function made, by name.
    pub fn counters(&self) -> &BTreeMap<String, u64> {
        &self.counters.counts
    }

    /// The values of the gauges the function set (ABI 1.12), by name.
    pub fn gauges(&self) -> &BTreeMap<String, f64> {
        &self.counters.gauges
    }

    /// What the function logged: (STREAMS_LOG_* level, message), in order.
    pub fn logs(&self) -> &[(i32, String)] {
        &self.counters.logs
    }

    /// Every value the function observed in each histogram, in order.
    pub fn observed(&self) -> &BTreeMap<String, Vec<f64>> {
        &self.counters.observed
    }

    /// One input through `process` (map, filter, flat_map, route), as the
    /// first step on it: `Output::shared` finds nothing.
    pub fn process(&mut self, input: &TestRecord) -> Outcome {
        self.process_with(input, Vec::new())
    }

    /// The same input through `process` right after `before` processed it
    /// and passed it on unchanged (a filter that kept it, a route): what
    /// `before`'s last `process` shared is there for `Output::shared`, as
    /// the host hands it on. What it shared is kept until `before` runs
    /// again, as the host asks.
    pub fn process_after(&mut self, before: &FunctionDriver, input: &TestRecord) -> Outcome {
        self.process_with(input, before.shares.clone())
    }

    fn process_with(&mut self, input: &TestRecord, incoming: Vec<(usize, usize)>) -> Outcome {
        let process = self.function.process.expect("a function with process");
        let headers: Vec<streams_header> = input
            .headers
            .iter()
            .map(|(n, v)| streams_header { name: view(n), value: view(v) })
            .collect();
        let raw = raw_record(input, &headers);
        let run = |inst, call| unsafe { process(inst, &raw, call) };
        self.run_sharing(Some(input), Some(incoming), run)
    }

    /// An aggregate's init: the outcome's accumulator is the empty window's.
    pub fn init(&mut self) -> Outcome {
        let init = self.function.init.expect("an aggregate");
        self.run(None, |inst, call| unsafe { init(inst, call) })
    }

    pub fn add(&mut self, acc: &[u8], input: &TestRecord) -> Outcome {
        let add = self.function.add.expect("an aggregate");
        let raw = raw_record(input, &[]);
        self.run(Some(input), |inst, call| unsafe { add(inst, view(acc), &raw, call) })
    }

    pub fn merge(&mut self, first: &[u8], second: &[u8]) -> Outcome {
        let merge = self.function.merge.expect("an aggregate");
        self.run(None, |inst, call| unsafe { merge(inst, view(first), view(second), call) })
    }

    /// The window's outputs; `window` gives its key and timestamp.
    pub fn result(&mut self, acc: &[u8], window: &TestRecord) -> Outcome {
        let result = self.function.result.expect("an aggregate");
        let raw = raw_record(window, &[]);
        self.run(Some(window), |inst, call| unsafe { result(inst, view(acc), &raw, call) })
    }
}

/// State versions (ABI 1.5).
impl<'f> FunctionDriver<'f> {
    /// The function's state version (0: unversioned).
    pub fn state_version(&self) -> u32 {
        self.function.state_version
    }

    /// Runs the function's migrate on `value`, as written by version
    /// `from_version`: the converted value, `None` when it erases the key,
    /// or `Err` with the failure's message (or why there is no migrate).
    pub fn migrate(&mut self, from_version: u32, value: &[u8]) -> Result<Option<Vec<u8>>, String> {
        let migrate = self.function.migrate.ok_or("the function has no migrate")?;
        let out = self.run(None, |inst, call| unsafe { migrate(inst, from_version, view(value), call) });
        match out.status {
            STREAMS_OK => out.accumulator.map(Some).ok_or_else(|| "migrate set no value".to_string()),
            STREAMS_DROP => Ok(None),
            status => Err(out.error.map(|(_, m)| m).unwrap_or_else(|| format!("status {}", status))),
        }
    }
}

/// A sink's calls: batches of partition 0 of topic "test", offsets going on
/// from one batch to the next; a batch's id is its `SinkReport::id`.
impl<'f> FunctionDriver<'f> {
    /// Hands `records` to `write` as batch `id` (attempt 0, each record its
    /// input's only output); the views stay valid for the call only.
    pub fn write_batch(&mut self, records: &[TestRecord]) -> (u64, Outcome) {
        let id = self.next_batch;
        self.next_batch += 1;
        self.write_again(id, 0, records)
    }

    /// Hands batch `id` to `write` again, as attempt `attempt` (a retry).
    pub fn write_again(&mut self, id: u64, attempt: u32, records: &[TestRecord]) -> (u64, Outcome) {
        let write = self.function.write_batch.expect("a sink");
        let headers: Vec<Vec<streams_header>> = records
            .iter()
            .map(|r| r.headers.iter().map(|(n, v)| streams_header { name: view(n), value: view(v) }).collect())
            .collect();
        let raw: Vec<streams_record> =
            records.iter().zip(&headers).map(|(r, h)| raw_record(r, h)).collect();
        let first = self.offset;
        let offsets: Vec<i64> = (0..records.len() as i64).map(|i| first + i).collect();
        let sequences = vec![0u32; records.len()];
        let bytes = records
            .iter()
            .map(|r| r.key.as_ref().map_or(0, Vec::len) + r.value.as_ref().map_or(0, Vec::len))
            .sum();
        let batch = streams_sink_batch {
            struct_size: std::mem::size_of::<streams_sink_batch>() as u32,
            attempt,
            id,
            topic: self.topic.as_ptr(),
            partition: 0,
            first_offset: first,
            last_offset: first + records.len() as i64 - 1,
            record_count: records.len(),
            records: raw.as_ptr(),
            offsets: offsets.as_ptr(),
            sequences: sequences.as_ptr(),
            bytes,
            views_until_report: 0,
        };
        self.out.insert(id);
        let outcome = self.run(None, |inst, call| unsafe { write(inst, &batch, call) });
        self.offset = first + records.len() as i64;
        (id, outcome)
    }

    /// A sink's `poll`: what it reports of the batches it holds.
    pub fn poll_sink(&mut self, timeout_ms: i32) -> Outcome {
        let poll = self.function.poll_sink.expect("a sink");
        self.run(None, |inst, call| unsafe { poll(inst, timeout_ms, call) })
    }

    /// A sink's `flush`.
    pub fn flush_sink(&mut self) -> Outcome {
        let flush = self.function.flush_sink.expect("a sink with flush");
        self.run(None, |inst, call| unsafe { flush(inst, call) })
    }

    /// Partition `partition` of "test" assigned (true) to the instance or revoked.
    pub fn sink_partition(&mut self, partition: i32, assigned: bool) -> Outcome {
        let f = self.function.sink_partition.expect("a sink with assigned/revoked");
        let topic = self.topic.as_ptr();
        self.run(None, |inst, call| unsafe { f(inst, topic, partition, assigned as i32, call) })
    }

    /// The sink's batches not yet reported.
    pub fn batches_out(&self) -> Vec<u64> {
        self.out.iter().copied().collect()
    }
}

impl<'f> Drop for FunctionDriver<'f> {
    fn drop(&mut self) {
        if let Some(destroy) = self.function.destroy {
            unsafe { destroy(self.instance) };
        }
        let _ = &self.host;
    }
}

fn view(b: &[u8]) -> streams_bytes {
    streams_bytes { data: b.as_ptr(), size: b.len() }
}

fn opt_view(b: &Option<Vec<u8>>) -> streams_bytes {
    match b {
        Some(v) => view(v),
        None => streams_bytes { data: std::ptr::null(), size: 0 },
    }
}

fn raw_record(r: &TestRecord, headers: &[streams_header]) -> streams_record {
    streams_record {
        struct_size: std::mem::size_of::<streams_record>() as u32,
        flags: 0,
        key: opt_view(&r.key),
        value: opt_view(&r.value),
        headers: if headers.is_empty() { std::ptr::null() } else { headers.as_ptr() },
        header_count: headers.len(),
        timestamp_ms: r.timestamp_ms,
    }
}
