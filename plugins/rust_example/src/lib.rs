//! The simple_map_filter example in Rust, the same functions as the C++
//! ingest_metrics plugin with the same outputs and errors:
//!   is_counter (filter): keeps IngestMetric messages whose "type" is "c";
//!   transform  (map):    adds "transformed": true, every other byte unchanged.
//! is_counter hands its parse to the step after it (ABI 1.8, as the C++
//! plugin does), so transform after it does not parse the input again.
//! A message that is not a valid IngestMetric is an invalid_input error. A
//! value of exactly `panic` panics (the SDK turns it into an exception error:
//! the e2e test uses it). And a sink, lines (lines.rs): values appended to a
//! file. JSON is checked with the small scanner below, not
//! a library: the SDK has no dependencies, and neither has this.

use streams_plugin::{
    ErrorKind, Filter, Function, InitContext, Map, Output, Record, ShareTag, Status,
};

mod lines;
mod scan;

pub use lines::Lines;

use scan::{Metric, Scanner};

/// is_counter's parse of its input, for the step after it.
static PARSED: ShareTag<Metric> = ShareTag::new();

pub struct IsCounter;

impl Function for IsCounter {
    fn create(_: &InitContext) -> Result<Self, String> {
        Ok(IsCounter)
    }
}

impl Filter for IsCounter {
    fn process(&mut self, input: &Record, out: &mut Output) -> Status {
        let json = input.value();
        match read(json) {
            Ok(metric) if &json[metric.kind.clone()] == b"c" => {
                out.share(&PARSED, metric);
                Status::KEEP
            }
            Ok(_) => Status::DROP,
            Err(why) => out.fail(ErrorKind::InvalidInput, why),
        }
    }
}

pub struct Transform {
    output: Vec<u8>, // reused across records
}

impl Function for Transform {
    fn create(_: &InitContext) -> Result<Self, String> {
        Ok(Transform { output: Vec::new() })
    }
}

impl Map for Transform {
    fn process(&mut self, input: &Record, out: &mut Output) -> Status {
        let json = input.value();
        let own;
        let metric = match out.shared(&PARSED) {
            Some(metric) => metric, // is_counter's, of this input
            None => match read(json) {
                Ok(metric) => {
                    own = metric;
                    &own
                }
                Err(why) => return out.fail(ErrorKind::InvalidInput, why),
            },
        };
        self.output.clear();
        if metric.has_transformed {
            // Rare: write every other field minified, then the flag once.
            self.output.push(b'{');
            for (key, value) in scan::fields(json) {
                if &json[key.clone()] == b"\"transformed\"" {
                    continue;
                }
                self.output.extend_from_slice(&json[key.clone()]);
                self.output.push(b':');
                scan::minify(&json[value.clone()], &mut self.output);
                self.output.push(b',');
            }
            self.output.extend_from_slice(b"\"transformed\":true}");
        } else {
            // Common: the input with the field inserted before its last '}'.
            let close = json.iter().rposition(|b| *b == b'}').unwrap_or(json.len());
            self.output.extend_from_slice(&json[..close]);
            self.output.extend_from_slice(b",\"transformed\":true");
            self.output.extend_from_slice(&json[close..]);
        }
        out.emit_value(&self.output)
    }
}

/// Parses and checks an IngestMetric, as the C++ example does.
fn read(json: &[u8]) -> Result<Metric, &'static str> {
    if json == b"panic" {
        panic!("the record asked for a panic");
    }
    Scanner::new(json).metric()
}

/// The call path alone, for plugin_call_bench (as the C++ passthrough
/// plugin's identity and drop_all): the input's value out, or nothing.
pub struct Identity;

impl Function for Identity {
    fn create(_: &InitContext) -> Result<Self, String> {
        Ok(Identity)
    }
}

impl Map for Identity {
    fn process(&mut self, input: &Record, out: &mut Output) -> Status {
        out.emit_value(input.value())
    }
}

pub struct DropAll;

impl Function for DropAll {
    fn create(_: &InitContext) -> Result<Self, String> {
        Ok(DropAll)
    }
}

impl Filter for DropAll {
    fn process(&mut self, _: &Record, _: &mut Output) -> Status {
        Status::DROP
    }
}

streams_plugin::streams_plugin!("rust_example", "1.0.0", [
    filter<IsCounter>("is_counter"),
    map<Transform>("transform"),
    map<Identity>("identity"),
    filter<DropAll>("drop_all"),
    sink<Lines>("lines"),
]);

#[cfg(test)]
mod tests {
    use super::*;
    use streams_plugin::abi::{
        STREAMS_DROP, STREAMS_ERR_EXCEPTION, STREAMS_ERR_INVALID_INPUT, STREAMS_OK,
        STREAMS_RECORD_ERROR, STREAMS_SINK_WRITTEN,
    };
    use streams_plugin::testing::{FunctionDriver, TestRecord};

    const ORIGINAL: &[u8] = br#"{"org_id": 420, "project_id": 420, "name": "s:sessions/user@none", "tags": {"sdk": "raven-node/2.6.3", "environment": "production", "release": "sentry-test@1.0.0"}, "timestamp": 1846062325, "type": "c", "retention_days": 90, "value": [1617781333]}"#;

    fn name(text: &'static [u8]) -> *const std::os::raw::c_char {
        text.as_ptr() as *const _
    }

    #[test]
    fn counters_pass_and_are_marked() {
        let f = streams_plugin::filter::<IsCounter>(name(b"is_counter\0"));
        let mut d = FunctionDriver::new(&f, "{}").unwrap();
        assert_eq!(d.process(&TestRecord::value(ORIGINAL)).status, STREAMS_OK);
        let set = String::from_utf8(ORIGINAL.to_vec()).unwrap().replace("\"c\"", "\"s\"");
        assert_eq!(d.process(&TestRecord::value(set.as_bytes())).status, STREAMS_DROP);

        let f = streams_plugin::map::<Transform>(name(b"transform\0"));
        let mut d = FunctionDriver::new(&f, "{}").unwrap();
        let out = d.process(&TestRecord::value(ORIGINAL));
        let mut expected = ORIGINAL[..ORIGINAL.len() - 1].to_vec();
        expected.extend_from_slice(b",\"transformed\":true}");
        assert_eq!(out.values(), vec![expected]);
    }

    // After is_counter, transform takes its parse (ABI 1.8): the same
    // outputs as parsing again, the flag's case too.
    #[test]
    fn transform_after_is_counter_writes_what_it_writes_alone() {
        let filter = streams_plugin::filter::<IsCounter>(name(b"is_counter\0"));
        let map = streams_plugin::map::<Transform>(name(b"transform\0"));
        let mut is_counter = FunctionDriver::new(&filter, "{}").unwrap();
        let mut after = FunctionDriver::new(&map, "{}").unwrap();
        let mut alone = FunctionDriver::new(&map, "{}").unwrap();
        let original = String::from_utf8(ORIGINAL.to_vec()).unwrap();
        let flagged = original.replace("\"value\"", "\"transformed\": 0, \"value\"");
        for input in [ORIGINAL, flagged.as_bytes()] {
            let kept = is_counter.process(&TestRecord::value(input));
            assert_eq!((kept.status, kept.shared), (STREAMS_OK, 1));
            let shared = after.process_after(&is_counter, &TestRecord::value(input));
            assert_eq!(shared.values(), alone.process(&TestRecord::value(input)).values());
            assert!(shared.values()[0].ends_with(b"\"transformed\":true}"));
        }
    }

    #[test]
    fn an_existing_flag_is_written_once() {
        let f = streams_plugin::map::<Transform>(name(b"transform\0"));
        let mut d = FunctionDriver::new(&f, "{}").unwrap();
        let input = br#"{"org_id": 1, "project_id": 2, "name": "n", "tags": {"a": [1, 2]}, "timestamp": 3, "type": "c", "retention_days": 4, "value": 5, "transformed": false}"#;
        let out = d.process(&TestRecord::value(input));
        assert_eq!(
            String::from_utf8(out.values()[0].clone()).unwrap(),
            r#"{"org_id":1,"project_id":2,"name":"n","tags":{"a":[1,2]},"timestamp":3,"type":"c","retention_days":4,"value":5,"transformed":true}"#
        );
    }

    #[test]
    fn bad_inputs_fail_as_the_cpp_example_does() {
        let f = streams_plugin::filter::<IsCounter>(name(b"is_counter\0"));
        let mut d = FunctionDriver::new(&f, "{}").unwrap();
        let cases: &[(&[u8], &str)] = &[
            (br#"{"org_id": 420, "type": "c", "name": "#, "not valid JSON"),
            (b"[1, 2]", "not a JSON object"),
            (br#"{"org_id": "x"}"#, "org_id, project_id, timestamp and retention_days must be integers"),
            (br#"{"type": "x"}"#, "field type must be one of \"c\", \"d\", \"s\""),
            (br#"{"name": 1}"#, "field name must be a string"),
            (br#"{"tags": []}"#, "field tags must be an object"),
            (br#"{"value": "x"}"#, "field value must be a number or a list"),
            (br#"{"type": "c"}"#, "missing field(s): needs org_id, project_id, name, type, timestamp, tags, value, retention_days"),
            (b"{\"a\": tru}", "not valid JSON"),
            (b"{\"a\": 1} x", "not valid JSON"),
            (b"{\"a\": \"\\q\"}", "not valid JSON"),
        ];
        for (input, why) in cases {
            let out = d.process(&TestRecord::value(input));
            assert_eq!(out.status, STREAMS_RECORD_ERROR, "{:?}", String::from_utf8_lossy(input));
            assert_eq!(out.error, Some((STREAMS_ERR_INVALID_INPUT, why.to_string())));
        }
    }

    #[test]
    fn lines_appends_each_batch_and_reports_it_written() {
        let dir = std::env::temp_dir().join(format!("rust_example_lines_{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("out.txt");
        let f = streams_plugin::sink::<Lines>(name(b"lines\0"));
        let config = format!("{{\"path\": \"{}\"}}", path.display());
        let mut d = FunctionDriver::new(&f, &config).unwrap();
        let (first, out) = d.write_batch(&[TestRecord::value(b"a"), TestRecord::value(b"b")]);
        assert_eq!(out.reports.len(), 1);
        assert_eq!((out.reports[0].id, out.reports[0].outcome), (first, STREAMS_SINK_WRITTEN));
        d.write_batch(&[TestRecord::value(b"c")]);
        assert_eq!(std::fs::read(&path).unwrap(), b"a\nb\nc\n");
        drop(d);
        std::fs::remove_dir_all(&dir).unwrap();

        for (config, why) in [
            ("{}", "config.path: required (the file to append to)"),
            ("{\"path\": 3}", "config.path: expected a string without escapes"),
            ("{\"path\": \"/nonexistent/dir/x\"}",
             "config.path: cannot open /nonexistent/dir/x: No such file or directory (os error 2)"),
        ] {
            assert_eq!(FunctionDriver::new(&f, config).err().as_deref(), Some(why));
        }
    }

    #[test]
    fn a_panic_is_the_inputs_error() {
        let f = streams_plugin::map::<Transform>(name(b"transform\0"));
        let mut d = FunctionDriver::new(&f, "{}").unwrap();
        let out = d.process(&TestRecord::value(b"panic"));
        assert_eq!(out.status, STREAMS_RECORD_ERROR);
        assert_eq!(
            out.error,
            Some((STREAMS_ERR_EXCEPTION, "panic: the record asked for a panic".to_string()))
        );
    }
}
