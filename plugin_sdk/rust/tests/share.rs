//! Work handed to the next step (ABI 1.8, `Output::share`/`shared`) against
//! the fake host: a filter shares its parse, the map after it takes it.
use std::os::raw::c_char;

use ::streams_plugin::abi::*;
use ::streams_plugin::testing::{FunctionDriver, TestRecord};
use ::streams_plugin::{Filter, Function, InitContext, Map, Output, Record, ShareTag, Status};

fn name(text: &'static [u8]) -> *const c_char {
    text.as_ptr() as *const c_char
}

/// A parse: the input's digits as a number, and which step made it.
#[derive(Debug, PartialEq)]
struct Parsed {
    number: u64,
    made_by: &'static str,
}

static PARSED: ShareTag<Parsed> = ShareTag::new();
static OTHER: ShareTag<Parsed> = ShareTag::new();
static EXTRA: [ShareTag<u32>; 4] =
    [ShareTag::new(), ShareTag::new(), ShareTag::new(), ShareTag::new()];

fn parse(value: &[u8], made_by: &'static str) -> Option<Parsed> {
    let text = std::str::from_utf8(value).ok()?;
    Some(Parsed { number: text.parse().ok()?, made_by })
}

/// Keeps even numbers, sharing its parse; "many" shares under five tags.
struct Even;

impl Function for Even {
    fn create(_: &InitContext) -> Result<Self, String> {
        Ok(Even)
    }
}

impl Filter for Even {
    fn process(&mut self, input: &Record, out: &mut Output) -> Status {
        if input.value() == b"many" {
            let taken = EXTRA.iter().map(|tag| out.share(tag, 7)).filter(|ok| *ok).count();
            let fifth = out.share(&PARSED, Parsed { number: 0, made_by: "many" });
            return if taken == 4 && !fifth { Status::KEEP } else { Status::DROP };
        }
        let parsed = match parse(input.value(), "the filter") {
            Some(p) => p,
            None => return Status::DROP,
        };
        let keep = parsed.number % 2 == 0;
        out.share(&PARSED, parsed);
        if keep {
            Status::KEEP
        } else {
            Status::DROP
        }
    }
}

/// Emits who parsed the input and its number halved.
struct Half;

impl Function for Half {
    fn create(_: &InitContext) -> Result<Self, String> {
        Ok(Half)
    }
}

impl Map for Half {
    fn process(&mut self, input: &Record, out: &mut Output) -> Status {
        assert!(out.shared(&OTHER).is_none(), "a tag nobody shared under");
        let own;
        let parsed = match out.shared(&PARSED) {
            Some(p) => p,
            None => {
                own = parse(input.value(), "the map").expect("a number");
                &own
            }
        };
        let text = format!("{}: {}", parsed.made_by, parsed.number / 2);
        out.emit_value(text.as_bytes())
    }
}

fn descriptors() -> (streams_function, streams_function) {
    let even = ::streams_plugin::filter::<Even>(name(b"even\0"));
    (even, ::streams_plugin::map::<Half>(name(b"half\0")))
}

fn drivers<'f>(
    even: &'f streams_function,
    half: &'f streams_function,
) -> (FunctionDriver<'f>, FunctionDriver<'f>) {
    (FunctionDriver::new(even, "{}").unwrap(), FunctionDriver::new(half, "{}").unwrap())
}

#[test]
fn the_step_after_takes_the_parse_of_the_step_before() {
    let (even, half) = descriptors();
    let (mut filter, mut map) = drivers(&even, &half);
    for (input, expected) in [(&b"42"[..], &b"the filter: 21"[..]), (b"8", b"the filter: 4")] {
        let kept = filter.process(&TestRecord::value(input));
        assert_eq!((kept.status, kept.shared), (STREAMS_OK, 1));
        let out = map.process_after(&filter, &TestRecord::value(input));
        assert_eq!(out.values(), vec![expected.to_vec()]);
    }
    // Alone (the first step on its input), the map parses for itself.
    assert_eq!(map.process(&TestRecord::value(b"10")).values(), vec![b"the map: 5".to_vec()]);
}

#[test]
fn a_step_after_one_that_shared_nothing_does_the_work_itself() {
    let (even, half) = descriptors();
    let (mut filter, mut map) = drivers(&even, &half);
    // Not a number: dropped, nothing shared.
    assert_eq!(filter.process(&TestRecord::value(b"x")).shared, 0);
    let out = map.process_after(&filter, &TestRecord::value(b"6"));
    assert_eq!(out.values(), vec![b"the map: 3".to_vec()]);
}

#[test]
fn more_than_four_tags_a_call_are_refused() {
    let (even, half) = descriptors();
    let (mut filter, mut map) = drivers(&even, &half);
    let kept = filter.process(&TestRecord::value(b"many"));
    assert_eq!((kept.status, kept.shared), (STREAMS_OK, 4));
    // The fifth (PARSED) was refused: the map parses for itself.
    let out = map.process_after(&filter, &TestRecord::value(b"12"));
    assert_eq!(out.values(), vec![b"the map: 6".to_vec()]);
}

#[test]
fn a_value_shared_again_reuses_the_instances_slot() {
    let (even, half) = descriptors();
    let (mut filter, mut map) = drivers(&even, &half);
    for n in 0..1000u64 {
        let input = (n * 2).to_string();
        assert_eq!(filter.process(&TestRecord::value(input.as_bytes())).shared, 1);
        let out = map.process_after(&filter, &TestRecord::value(input.as_bytes()));
        assert_eq!(out.values(), vec![format!("the filter: {}", n).into_bytes()]);
    }
}
