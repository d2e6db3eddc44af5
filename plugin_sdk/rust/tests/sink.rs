//! The sink adapter (`Sink`, ABI 1.6 and 1.13) against the fake host: the
//! descriptor, each report, retry_after, panics, and the calls a sink may
//! leave out.
use std::os::raw::c_char;

use ::streams_plugin::abi::*;
use ::streams_plugin::testing::{FunctionDriver, SinkReport, TestRecord};
use ::streams_plugin::{Function, InitContext, Sink, SinkBatch, SinkGuarantee, SinkReports};

fn name(text: &'static [u8]) -> *const c_char {
    text.as_ptr() as *const c_char
}

/// A store that takes values as they come; "busy" asks for a later try,
/// "slow" is reported by the next poll, "bad" is refused, "boom" panics.
#[derive(Default)]
struct Store {
    rows: Vec<(i32, i64, Vec<u8>)>, // partition, offset, value
    held: Vec<u64>,
    events: Vec<String>,
}

impl Function for Store {
    fn create(_: &InitContext) -> Result<Self, String> {
        Ok(Store::default())
    }
}

impl Sink for Store {
    const GUARANTEE: SinkGuarantee = SinkGuarantee::Idempotent;
    const BATCHES_OUT: u32 = 4;

    fn write(&mut self, batch: &SinkBatch, reports: &mut SinkReports) {
        let values: Vec<&[u8]> = batch.records().map(|r| r.value()).collect();
        match values.first().copied() {
            Some(b"boom") => panic!("store exploded at offset {}", batch.first_offset()),
            Some(b"busy") => {
                reports.retry_after(batch.id(), 1500, "HTTP 429");
            }
            Some(b"later") => {
                reports.retry(batch.id(), "timed out");
            }
            Some(b"bad") => {
                reports.rejected(batch.id(), "violates a constraint");
            }
            Some(b"slow") => self.held.push(batch.id()),
            _ => {
                for i in 0..batch.len() {
                    self.rows.push((batch.partition(), batch.offset(i), batch.record(i).value().to_vec()));
                }
                assert!(reports.written(batch.id()));
                assert!(!reports.written(batch.id()), "a second report of one batch is refused");
            }
        }
    }

    fn poll(&mut self, _timeout_ms: i32, reports: &mut SinkReports) {
        for id in self.held.drain(..) {
            reports.written(id);
        }
    }

    fn flush(&mut self, _: &mut SinkReports) {
        self.events.push("flush".to_string());
    }

    fn assigned(&mut self, topic: &str, partition: i32, _: &mut SinkReports) {
        if partition < 0 {
            panic!("no such partition");
        }
        self.events.push(format!("assigned {}/{}", topic, partition));
    }
}

fn values(vs: &[&[u8]]) -> Vec<TestRecord> {
    vs.iter().map(|v| TestRecord::value(v)).collect()
}

#[test]
fn the_descriptor_declares_a_sink() {
    let f = ::streams_plugin::sink::<Store>(name(b"store\0"));
    assert_eq!(f.kind, STREAMS_KIND_SINK);
    assert_eq!(f.sink_guarantee, STREAMS_SINK_IDEMPOTENT);
    assert_eq!(f.sink_batches_out, 4);
    assert!(f.process.is_none());
    assert!(f.write_batch.is_some() && f.poll_sink.is_some());
}

#[test]
fn a_written_batch_is_reported_once() {
    let f = ::streams_plugin::sink::<Store>(name(b"store\0"));
    let mut d = FunctionDriver::new(&f, "{}").unwrap();
    let (id, out) = d.write_batch(&values(&[b"a", b"b"]));
    assert_eq!(out.status, STREAMS_OK);
    assert_eq!(
        out.reports,
        vec![SinkReport { id, outcome: STREAMS_SINK_WRITTEN, reason: String::new(), delay_ms: None }]
    );
    assert!(d.batches_out().is_empty());
}

#[test]
fn retry_retry_after_and_rejected_reach_the_host() {
    let f = ::streams_plugin::sink::<Store>(name(b"store\0"));
    let mut d = FunctionDriver::new(&f, "{}").unwrap();
    let (busy, out) = d.write_batch(&values(&[b"busy"]));
    assert_eq!(out.reports[0], SinkReport {
        id: busy,
        outcome: STREAMS_SINK_RETRY,
        reason: "HTTP 429".to_string(),
        delay_ms: Some(1500),
    });
    let (_, out) = d.write_batch(&values(&[b"later"]));
    assert_eq!((out.reports[0].outcome, out.reports[0].delay_ms), (STREAMS_SINK_RETRY, None));
    let (_, out) = d.write_batch(&values(&[b"bad"]));
    assert_eq!(out.reports[0].outcome, STREAMS_SINK_REJECTED);
    assert_eq!(out.reports[0].reason, "violates a constraint");
}

#[test]
fn a_batch_held_is_reported_by_a_later_poll() {
    let f = ::streams_plugin::sink::<Store>(name(b"store\0"));
    let mut d = FunctionDriver::new(&f, "{}").unwrap();
    let (id, out) = d.write_batch(&values(&[b"slow", b"x"]));
    assert!(out.reports.is_empty());
    assert_eq!(d.batches_out(), vec![id]);
    let out = d.poll_sink(0);
    assert_eq!(out.status, STREAMS_OK);
    assert_eq!(out.reports.len(), 1);
    assert_eq!((out.reports[0].id, out.reports[0].outcome), (id, STREAMS_SINK_WRITTEN));
}

#[test]
fn a_panic_in_write_is_a_retry_with_its_message() {
    let f = ::streams_plugin::sink::<Store>(name(b"store\0"));
    let mut d = FunctionDriver::new(&f, "{}").unwrap();
    let (id, out) = d.write_batch(&values(&[b"boom"]));
    assert_eq!(out.status, STREAMS_OK);
    assert_eq!(out.reports.len(), 1);
    assert_eq!((out.reports[0].id, out.reports[0].outcome), (id, STREAMS_SINK_RETRY));
    assert_eq!(out.reports[0].reason, "panic: store exploded at offset 0");
    // The instance goes on: the next batch is written.
    let (_, out) = d.write_batch(&values(&[b"ok"]));
    assert_eq!(out.reports[0].outcome, STREAMS_SINK_WRITTEN);
}

#[test]
fn a_panic_elsewhere_stops_the_host_and_says_why() {
    let f = ::streams_plugin::sink::<Store>(name(b"store\0"));
    let mut d = FunctionDriver::new(&f, "{}").unwrap();
    assert_eq!(d.sink_partition(3, true).status, STREAMS_OK);
    assert_eq!(d.sink_partition(-1, true).status, STREAMS_FATAL);
    assert_eq!(d.logs().last().unwrap(), &(STREAMS_LOG_ERROR, "assigned panicked: no such partition".to_string()));
    assert_eq!(d.flush_sink().status, STREAMS_OK);
    // Left out, revoked is the default: nothing.
    assert_eq!(d.sink_partition(3, false).status, STREAMS_OK);
}

/// A sink with only `write`: the defaults, and an older host.
struct Minimal;

impl Function for Minimal {
    fn create(_: &InitContext) -> Result<Self, String> {
        Ok(Minimal)
    }
}

impl Sink for Minimal {
    fn write(&mut self, batch: &SinkBatch, reports: &mut SinkReports) {
        reports.retry_after(batch.id(), 10, "later");
    }
}

#[test]
fn defaults_are_at_least_once_one_batch_out() {
    let f = ::streams_plugin::sink::<Minimal>(name(b"minimal\0"));
    assert_eq!(f.sink_guarantee, STREAMS_SINK_AT_LEAST_ONCE);
    assert_eq!(f.sink_batches_out, 1);
    let mut d = FunctionDriver::new(&f, "{}").unwrap();
    assert!(d.poll_sink(0).reports.is_empty());
    assert_eq!(d.flush_sink().status, STREAMS_OK);
}

#[test]
fn retry_after_on_a_host_before_1_13_is_a_retry() {
    let f = ::streams_plugin::sink::<Minimal>(name(b"minimal\0"));
    let mut host: streams_host_api = unsafe { std::mem::zeroed() };
    // A 1.12 host: its struct ends before sink_retry_after.
    host.struct_size = (std::mem::size_of::<streams_host_api>() - 8) as u32;
    host.sink_ack = Some(ack);
    host.sink_retry_after = Some(never);
    static mut SEEN: Option<(u64, i32)> = None;
    unsafe extern "C" fn ack(_: *mut streams_call, id: u64, outcome: i32, _: *const c_char, _: usize) -> i32 {
        SEEN = Some((id, outcome));
        STREAMS_OK
    }
    unsafe extern "C" fn never(_: *mut streams_call, _: u64, _: i64, _: *const c_char, _: usize) -> i32 {
        panic!("past the host's struct_size");
    }
    let mut error = [0 as c_char; 64];
    let instance = unsafe { f.create.unwrap()(&host, b"{}\0".as_ptr() as *const c_char, 2, error.as_mut_ptr(), 64) };
    assert!(!instance.is_null());
    let batch = streams_sink_batch {
        struct_size: std::mem::size_of::<streams_sink_batch>() as u32,
        attempt: 0,
        id: 7,
        topic: b"t\0".as_ptr() as *const c_char,
        partition: 0,
        first_offset: 0,
        last_offset: -1,
        record_count: 0,
        records: std::ptr::null(),
        offsets: std::ptr::null(),
        sequences: std::ptr::null(),
        bytes: 0,
        views_until_report: 0,
    };
    let status = unsafe { f.write_batch.unwrap()(instance, &batch, std::ptr::null_mut()) };
    assert_eq!(status, STREAMS_OK);
    assert_eq!(unsafe { SEEN }, Some((7, STREAMS_SINK_RETRY)));
    unsafe { f.destroy.unwrap()(instance) };
}
