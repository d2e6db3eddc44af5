//! The SDK's wrappers against the fake host (streams_plugin::testing): each
//! function kind, errors, panics, state and the exported descriptor.
use std::os::raw::c_char;

use ::streams_plugin::abi::*;
use ::streams_plugin::testing::{FunctionDriver, TestRecord};
use ::streams_plugin::{
    Aggregate, Counter, ErrorKind, Filter, FlatMap, Function, Gauge, Histogram, InitContext, Map,
    Output, Record, Route, Status,
};

fn name(text: &'static [u8]) -> *const c_char {
    text.as_ptr() as *const c_char
}

struct Upper {
    buf: Vec<u8>,
    suffix: Vec<u8>,
}

impl Function for Upper {
    fn create(ctx: &InitContext) -> Result<Self, String> {
        if ctx.config_json().contains("\"fail\"") {
            return Err("config asks to fail".to_string());
        }
        let suffix = if ctx.config_json().contains("\"bang\"") { b"!".to_vec() } else { Vec::new() };
        Ok(Upper { buf: Vec::new(), suffix })
    }
}

impl Map for Upper {
    fn process(&mut self, input: &Record, out: &mut Output) -> Status {
        if input.value() == b"panic" {
            panic!("asked to panic on {:?}", input.key().unwrap_or(b"-"));
        }
        if input.value().is_empty() {
            out.detail("why", "empty");
            return out.fail(ErrorKind::InvalidInput, "empty value");
        }
        self.buf.clear();
        self.buf.extend(input.value().iter().map(u8::to_ascii_uppercase));
        self.buf.extend_from_slice(&self.suffix);
        out.emit_value(&self.buf)
    }
}

#[test]
fn a_map_emits_with_the_inputs_key_headers_and_timestamp() {
    let f = ::streams_plugin::map::<Upper>(name(b"upper\0"));
    assert_eq!(f.kind, STREAMS_KIND_MAP);
    let mut d = FunctionDriver::new(&f, "{\"bang\": true}").unwrap();
    let mut input = TestRecord::value(b"abc").with_key(b"k").with_header(b"h", b"v");
    input.timestamp_ms = 42;
    let out = d.process(&input);
    assert_eq!(out.status, STREAMS_OK);
    assert_eq!(out.values(), vec![b"ABC!".to_vec()]);
    assert_eq!(out.outputs[0].key.as_deref(), Some(&b"k"[..]));
    assert_eq!(out.outputs[0].headers, vec![(b"h".to_vec(), b"v".to_vec())]);
    assert_eq!(out.outputs[0].timestamp_ms, 42);
}

#[test]
fn an_error_and_its_detail_reach_the_host() {
    let f = ::streams_plugin::map::<Upper>(name(b"upper\0"));
    let mut d = FunctionDriver::new(&f, "{}").unwrap();
    let out = d.process(&TestRecord::value(b""));
    assert_eq!(out.status, STREAMS_RECORD_ERROR);
    assert_eq!(out.error, Some((STREAMS_ERR_INVALID_INPUT, "empty value".to_string())));
    assert_eq!(out.details, vec![("why".to_string(), "empty".to_string())]);
    assert!(out.outputs.is_empty());
}

#[test]
fn a_panic_is_an_exception_error_of_the_input_and_the_instance_goes_on() {
    let f = ::streams_plugin::map::<Upper>(name(b"upper\0"));
    let mut d = FunctionDriver::new(&f, "{}").unwrap();
    let out = d.process(&TestRecord::value(b"panic").with_key(b"x"));
    assert_eq!(out.status, STREAMS_RECORD_ERROR);
    let (kind, message) = out.error.unwrap();
    assert_eq!(kind, STREAMS_ERR_EXCEPTION);
    assert!(message.starts_with("panic: asked to panic on"), "{}", message);
    assert_eq!(d.process(&TestRecord::value(b"ok")).values(), vec![b"OK".to_vec()]);
}

#[test]
fn create_refusals_and_panics_give_the_reason() {
    let f = ::streams_plugin::map::<Upper>(name(b"upper\0"));
    assert_eq!(FunctionDriver::new(&f, "{\"fail\": 1}").err().unwrap(), "config asks to fail");

    struct Boom;
    impl Function for Boom {
        fn create(_: &InitContext) -> Result<Self, String> {
            panic!("no way")
        }
    }
    impl Map for Boom {
        fn process(&mut self, _: &Record, _: &mut Output) -> Status {
            Status::OK
        }
    }
    let f = ::streams_plugin::map::<Boom>(name(b"boom\0"));
    assert_eq!(FunctionDriver::new(&f, "{}").err().unwrap(), "panic: no way");
}

struct EvenOnly;
impl Function for EvenOnly {
    fn create(_: &InitContext) -> Result<Self, String> {
        Ok(EvenOnly)
    }
}
impl Filter for EvenOnly {
    fn process(&mut self, input: &Record, _: &mut Output) -> Status {
        if input.value().len() % 2 == 0 {
            Status::KEEP
        } else {
            Status::DROP
        }
    }
}

struct Words;
impl Function for Words {
    fn create(_: &InitContext) -> Result<Self, String> {
        Ok(Words)
    }
}
impl FlatMap for Words {
    fn process(&mut self, input: &Record, out: &mut Output) -> Status {
        for word in input.value().split(|b| *b == b' ').filter(|w| !w.is_empty()) {
            let status = out.emit_value(word);
            if status != Status::OK {
                return status;
            }
        }
        Status::OK
    }
}

struct ByHeader;
impl Function for ByHeader {
    fn create(_: &InitContext) -> Result<Self, String> {
        Ok(ByHeader)
    }
}
impl Route for ByHeader {
    fn process(&mut self, input: &Record, out: &mut Output) -> Status {
        match input.header(b"to") {
            Some(b"a") => out.route_to("a"),
            _ => out.route_to("other"),
        }
    }
}

#[test]
fn filter_flat_map_and_route() {
    let f = ::streams_plugin::filter::<EvenOnly>(name(b"even\0"));
    let mut d = FunctionDriver::new(&f, "{}").unwrap();
    assert_eq!(d.process(&TestRecord::value(b"ab")).status, STREAMS_OK);
    assert_eq!(d.process(&TestRecord::value(b"abc")).status, STREAMS_DROP);

    let f = ::streams_plugin::flat_map::<Words>(name(b"words\0"));
    let mut d = FunctionDriver::new(&f, "{}").unwrap();
    let out = d.process(&TestRecord::value(b"a bc  d"));
    assert_eq!(out.values(), vec![b"a".to_vec(), b"bc".to_vec(), b"d".to_vec()]);

    let f = ::streams_plugin::route::<ByHeader>(name(b"route\0"));
    let mut d = FunctionDriver::new(&f, "{}").unwrap();
    assert_eq!(d.process(&TestRecord::value(b"x").with_header(b"to", b"a")).branch.unwrap(), "a");
    assert_eq!(d.process(&TestRecord::value(b"x")).branch.unwrap(), "other");
}

/// Sums decimal values into an 8-byte little-endian accumulator.
struct Sum;
impl Function for Sum {
    fn create(_: &InitContext) -> Result<Self, String> {
        Ok(Sum)
    }
}
fn total(acc: &[u8]) -> u64 {
    let mut b = [0u8; 8];
    b[..acc.len().min(8)].copy_from_slice(&acc[..acc.len().min(8)]);
    u64::from_le_bytes(b)
}
impl Aggregate for Sum {
    fn init(&mut self, acc: &mut Vec<u8>, _: &mut Output) -> Status {
        acc.extend_from_slice(&0u64.to_le_bytes());
        Status::OK
    }
    fn add(&mut self, acc: &mut Vec<u8>, input: &Record, out: &mut Output) -> Status {
        let n: u64 = match std::str::from_utf8(input.value()).ok().and_then(|t| t.parse().ok()) {
            Some(n) => n,
            None => return out.fail(ErrorKind::InvalidInput, "not a number"),
        };
        let sum = total(acc) + n;
        acc.clear();
        acc.extend_from_slice(&sum.to_le_bytes());
        Status::OK
    }
    fn merge(&mut self, first: &[u8], second: &[u8], acc: &mut Vec<u8>, _: &mut Output) -> Status {
        acc.extend_from_slice(&(total(first) + total(second)).to_le_bytes());
        Status::OK
    }
    fn result(&mut self, acc: &[u8], _: &Record, out: &mut Output) -> Status {
        out.emit_value(total(acc).to_string().as_bytes())
    }
}

#[test]
fn an_aggregate_folds_into_the_hosts_accumulator() {
    let f = ::streams_plugin::aggregate::<Sum>(name(b"sum\0"));
    assert_eq!(f.kind, STREAMS_KIND_AGGREGATE);
    assert!(f.process.is_none());
    let mut d = FunctionDriver::new(&f, "{}").unwrap();
    let empty = d.init().accumulator.unwrap();
    let one = d.add(&empty, &TestRecord::value(b"5")).accumulator.unwrap();
    let two = d.add(&one, &TestRecord::value(b"7")).accumulator.unwrap();
    assert_eq!(total(&two), 12);
    let bad = d.add(&two, &TestRecord::value(b"x"));
    assert_eq!(bad.status, STREAMS_RECORD_ERROR);
    assert!(bad.accumulator.is_none());
    let merged = d.merge(&two, &one).accumulator.unwrap();
    assert_eq!(d.result(&merged, &TestRecord::default()).values(), vec![b"17".to_vec()]);
}

/// Counts inputs per key in the step's state.
struct Count;
impl Function for Count {
    fn create(_: &InitContext) -> Result<Self, String> {
        Ok(Count)
    }
}
impl Map for Count {
    fn process(&mut self, input: &Record, out: &mut Output) -> Status {
        let key = input.key().unwrap_or(b"").to_vec();
        let mut state = out.state();
        let n = match state.get(&key) {
            Ok(v) => v.map(total).unwrap_or(0) + 1,
            Err(status) => return status,
        };
        let status = state.put(&key, &n.to_le_bytes());
        if status != Status::OK {
            return status;
        }
        let mut keys = 0;
        state.scan(b"", |_, _| {
            keys += 1;
            true
        });
        out.emit_value(format!("{} of {}", n, keys).as_bytes())
    }
}

#[test]
fn state_is_kept_between_calls() {
    let f = ::streams_plugin::map::<Count>(name(b"count\0"));
    let mut d = FunctionDriver::new(&f, "{}").unwrap();
    d.process(&TestRecord::value(b"").with_key(b"a"));
    d.process(&TestRecord::value(b"").with_key(b"b"));
    let out = d.process(&TestRecord::value(b"").with_key(b"a"));
    assert_eq!(out.values(), vec![b"2 of 2".to_vec()]);
    assert_eq!(total(&d.state[&b"a".to_vec()]), 2);
}

mod exported {
    use super::*;
    ::streams_plugin::streams_plugin!("sdk_test", "0.1.0", [map<Upper>("upper"), filter<EvenOnly>("even")]);
}

#[test]
fn the_macro_exports_the_descriptor() {
    extern "C" {
        fn streams_plugin_entry_v1() -> *const streams_plugin;
    }
    let p = unsafe { &*streams_plugin_entry_v1() };
    assert_eq!(p.struct_size as usize, std::mem::size_of::<streams_plugin>());
    assert_eq!((p.abi_major, p.abi_minor), (1, STREAMS_ABI_MINOR));
    let text = |c: *const c_char| unsafe { std::ffi::CStr::from_ptr(c) }.to_str().unwrap().to_string();
    assert_eq!(text(p.name), "sdk_test");
    assert_eq!(text(p.version), "0.1.0");
    assert_eq!(p.function_count, 2);
    let fns = unsafe { std::slice::from_raw_parts(p.functions, p.function_count) };
    let upper = unsafe { &*fns[0] };
    assert_eq!((text(upper.name), upper.kind), ("upper".to_string(), STREAMS_KIND_MAP));
    assert_eq!(unsafe { (*fns[1]).kind }, STREAMS_KIND_FILTER);
    let mut d = FunctionDriver::new(upper, "{}").unwrap();
    assert_eq!(d.process(&TestRecord::value(b"x")).values(), vec![b"X".to_vec()]);
}

#[test]
fn has_field_reads_a_peers_struct_size() {
    let mut host: streams_host_api = unsafe { std::mem::zeroed() };
    host.struct_size = 48; // a 1.0 host: it ends with log
    assert!(::streams_plugin::has_field!(host, streams_host_api, log));
    assert!(!::streams_plugin::has_field!(host, streams_host_api, select_branch));
    host.struct_size = std::mem::size_of::<streams_host_api>() as u32;
    assert!(::streams_plugin::has_field!(host, streams_host_api, defer_to_batch_end));
    assert!(::streams_plugin::has_field!(host, streams_host_api, shared));
}

struct Counted {
    records: Counter,
    bytes: Counter,
    refused: Counter,
    last_size: Gauge,
    held: Gauge,
    sizes: Histogram,
}

impl Function for Counted {
    fn create(ctx: &InitContext) -> Result<Self, String> {
        Ok(Counted {
            records: ctx.counter("records"),
            bytes: ctx.counter("value_bytes"),
            refused: ctx.counter("Not-A-Name"),
            last_size: ctx.gauge("last_value_bytes"),
            held: ctx.gauge("held_bytes"),
            sizes: ctx.histogram("value_sizes", &[1.0, 4.0]),
        })
    }
}

impl Map for Counted {
    fn process(&mut self, input: &Record, out: &mut Output) -> Status {
        self.records.add(1);
        self.bytes.add(input.value().len() as u64);
        self.refused.add(1); // counts nothing
        self.last_size.set(input.value().len() as f64);
        self.held.add(input.value().len() as f64);
        self.sizes.observe(input.value().len() as f64);
        out.emit_value(input.value())
    }
}

#[test]
fn counters_are_kept_by_name() {
    let f = ::streams_plugin::map::<Counted>(name(b"counted\0"));
    let mut d = FunctionDriver::new(&f, "{}").unwrap();
    d.process(&TestRecord::value(b"ab"));
    d.process(&TestRecord::value(b"cde"));
    let counts: Vec<(String, u64)> = d.counters().iter().map(|(k, v)| (k.clone(), *v)).collect();
    assert_eq!(counts, vec![("records".to_string(), 2), ("value_bytes".to_string(), 5)]);
    assert!(!Counter::default().counting());
    let gauges: Vec<(String, f64)> = d.gauges().iter().map(|(k, v)| (k.clone(), *v)).collect();
    assert_eq!(gauges, vec![("held_bytes".to_string(), 5.0), ("last_value_bytes".to_string(), 3.0)]);
    assert_eq!(d.observed().get("value_sizes"), Some(&vec![2.0, 3.0]));
    assert!(!Gauge::default().keeping() && !Histogram::default().keeping());
}

/// Version 2 of a count kept in the state: 8 bytes little-endian, where
/// version 1 wrote decimal text.
struct Tally;

impl Function for Tally {
    fn create(_: &InitContext) -> Result<Self, String> {
        Ok(Tally)
    }
    const STATE_VERSION: u32 = 2;
    fn migrate(&mut self, from_version: u32, value: &[u8], converted: &mut Vec<u8>, out: &mut Output)
        -> Status {
        assert_eq!(from_version, 1);
        if value == b"gone" {
            return Status::DROP;
        }
        match std::str::from_utf8(value).ok().and_then(|t| t.parse::<u64>().ok()) {
            Some(n) => {
                converted.extend_from_slice(&n.to_le_bytes());
                Status::OK
            }
            None => out.fail(ErrorKind::InvalidInput, "not a count"),
        }
    }
}

impl Map for Tally {
    fn process(&mut self, input: &Record, out: &mut Output) -> Status {
        out.emit_value(input.value())
    }
}

#[test]
fn a_versioned_function_declares_its_version_and_migrates() {
    let f = ::streams_plugin::map::<Tally>(name(b"tally\0"));
    assert_eq!(f.state_version, 2);
    assert!(f.migrate.is_some());
    let mut d = FunctionDriver::new(&f, "{}").unwrap();
    assert_eq!(d.state_version(), 2);
    assert_eq!(d.migrate(1, b"258"), Ok(Some(258u64.to_le_bytes().to_vec())));
    assert_eq!(d.migrate(1, b"gone"), Ok(None));
    assert_eq!(d.migrate(1, b"x"), Err("not a count".to_string()));

    // Unversioned (Upper): no version, no migrate.
    let f = ::streams_plugin::map::<Upper>(name(b"upper\0"));
    assert_eq!((f.state_version, f.migrate.is_none()), (0, true));
}

/// Version 3 without a migrate: an older value fails the input reading it.
struct NoMigrate;

impl Function for NoMigrate {
    fn create(_: &InitContext) -> Result<Self, String> {
        Ok(NoMigrate)
    }
    const STATE_VERSION: u32 = 3;
}

impl Filter for NoMigrate {
    fn process(&mut self, _: &Record, _: &mut Output) -> Status {
        Status::KEEP
    }
}

#[test]
fn without_a_migrate_an_older_value_is_an_error() {
    let f = ::streams_plugin::filter::<NoMigrate>(name(b"no_migrate\0"));
    assert_eq!(f.state_version, 3);
    let mut d = FunctionDriver::new(&f, "{}").unwrap();
    assert_eq!(d.migrate(2, b"old"), Err("the function has no migrate to convert it".to_string()));
}
