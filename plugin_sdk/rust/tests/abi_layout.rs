//! The Rust ABI types against the C header: compiles abi_layout_dump.c
//! with the C compiler (`cc`, or $CC) and compares every struct's size and
//! every field's offset and size. Fails when either side drifts.
use std::collections::BTreeMap;
use std::mem::{size_of, MaybeUninit};
use std::process::Command;

use ::streams_plugin::abi::*;

macro_rules! field {
    ($out:ident, $t:ident, $f:ident) => {{
        let u = MaybeUninit::<$t>::uninit();
        let base = u.as_ptr();
        let at = unsafe { std::ptr::addr_of!((*base).$f) };
        fn size_of_pointee<T>(_: *const T) -> usize { size_of::<T>() }
        $out.insert(
            concat!(stringify!($t), ".", stringify!($f)).to_string(),
            format!("{} {}", at as usize - base as usize, size_of_pointee(at)),
        );
    }};
}

fn rust_layout() -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    out.insert("streams_bytes size".to_string(), size_of::<streams_bytes>().to_string());
    field!(out, streams_bytes, data);
    field!(out, streams_bytes, size);
    out.insert("streams_header size".to_string(), size_of::<streams_header>().to_string());
    field!(out, streams_header, name);
    field!(out, streams_header, value);
    out.insert("streams_record size".to_string(), size_of::<streams_record>().to_string());
    field!(out, streams_record, struct_size);
    field!(out, streams_record, flags);
    field!(out, streams_record, key);
    field!(out, streams_record, value);
    field!(out, streams_record, headers);
    field!(out, streams_record, header_count);
    field!(out, streams_record, timestamp_ms);
    out.insert("streams_origin size".to_string(), size_of::<streams_origin>().to_string());
    field!(out, streams_origin, struct_size);
    field!(out, streams_origin, topic);
    field!(out, streams_origin, partition);
    field!(out, streams_origin, offset);
    out.insert("streams_sink_batch size".to_string(), size_of::<streams_sink_batch>().to_string());
    field!(out, streams_sink_batch, struct_size);
    field!(out, streams_sink_batch, attempt);
    field!(out, streams_sink_batch, id);
    field!(out, streams_sink_batch, topic);
    field!(out, streams_sink_batch, partition);
    field!(out, streams_sink_batch, first_offset);
    field!(out, streams_sink_batch, last_offset);
    field!(out, streams_sink_batch, record_count);
    field!(out, streams_sink_batch, records);
    field!(out, streams_sink_batch, offsets);
    field!(out, streams_sink_batch, sequences);
    field!(out, streams_sink_batch, bytes);
    field!(out, streams_sink_batch, views_until_report);
    out.insert("streams_host_api size".to_string(), size_of::<streams_host_api>().to_string());
    field!(out, streams_host_api, struct_size);
    field!(out, streams_host_api, abi_major);
    field!(out, streams_host_api, abi_minor);
    field!(out, streams_host_api, host_ctx);
    field!(out, streams_host_api, emit);
    field!(out, streams_host_api, set_error);
    field!(out, streams_host_api, origin);
    field!(out, streams_host_api, log);
    field!(out, streams_host_api, select_branch);
    field!(out, streams_host_api, set_accumulator);
    field!(out, streams_host_api, set_error_detail);
    field!(out, streams_host_api, state_get);
    field!(out, streams_host_api, state_put);
    field!(out, streams_host_api, state_erase);
    field!(out, streams_host_api, state_scan);
    field!(out, streams_host_api, sink_ack);
    field!(out, streams_host_api, defer_to_batch_end);
    field!(out, streams_host_api, share);
    field!(out, streams_host_api, shared);
    field!(out, streams_host_api, counter);
    field!(out, streams_host_api, count);
    field!(out, streams_host_api, gauge);
    field!(out, streams_host_api, gauge_set);
    field!(out, streams_host_api, gauge_add);
    field!(out, streams_host_api, histogram);
    field!(out, streams_host_api, observe);
    field!(out, streams_host_api, sink_retry_after);
    out.insert("streams_function size".to_string(), size_of::<streams_function>().to_string());
    field!(out, streams_function, struct_size);
    field!(out, streams_function, kind);
    field!(out, streams_function, name);
    field!(out, streams_function, create);
    field!(out, streams_function, destroy);
    field!(out, streams_function, process);
    field!(out, streams_function, init);
    field!(out, streams_function, add);
    field!(out, streams_function, merge);
    field!(out, streams_function, result);
    field!(out, streams_function, state_version);
    field!(out, streams_function, migrate);
    field!(out, streams_function, sink_guarantee);
    field!(out, streams_function, write_batch);
    field!(out, streams_function, poll_sink);
    field!(out, streams_function, flush_sink);
    field!(out, streams_function, sink_partition);
    field!(out, streams_function, sink_batches_out);
    out.insert("streams_plugin size".to_string(), size_of::<streams_plugin>().to_string());
    field!(out, streams_plugin, struct_size);
    field!(out, streams_plugin, abi_major);
    field!(out, streams_plugin, abi_minor);
    field!(out, streams_plugin, name);
    field!(out, streams_plugin, version);
    field!(out, streams_plugin, function_count);
    field!(out, streams_plugin, functions);
    out.insert("minor".to_string(), STREAMS_ABI_MINOR.to_string());
    macro_rules! constant {
        ($c:ident) => {
            out.insert(stringify!($c).to_string(), ($c as i64).to_string());
        };
    }
    constant!(STREAMS_KIND_SINK);
    constant!(STREAMS_SINK_WRITTEN);
    constant!(STREAMS_SINK_RETRY);
    constant!(STREAMS_SINK_REJECTED);
    constant!(STREAMS_SINK_AT_LEAST_ONCE);
    constant!(STREAMS_SINK_IDEMPOTENT);
    constant!(STREAMS_SINK_EXACTLY_ONCE);
    constant!(STREAMS_MAX_RETRY_AFTER_MS);
    constant!(STREAMS_MAX_STATE_VERSION);
    out
}

fn c_layout() -> BTreeMap<String, String> {
    let dir = env!("CARGO_MANIFEST_DIR");
    let exe = std::env::temp_dir().join(format!("streams_abi_layout_{}", std::process::id()));
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".to_string());
    let built = Command::new(&cc)
        .args(["-std=c11", "-I", &format!("{}/../include", dir), "-o"])
        .arg(&exe)
        .arg(format!("{}/tests/abi_layout_dump.c", dir))
        .status()
        .expect("a C compiler ($CC or cc)");
    assert!(built.success(), "compiling abi_layout_dump.c failed");
    let run = Command::new(&exe).output().expect("running the layout dump");
    let _ = std::fs::remove_file(&exe);
    let text = String::from_utf8(run.stdout).unwrap();
    text.lines()
        .map(|line| {
            let (name, rest) = line.split_once(' ').unwrap();
            if let Some(size) = rest.strip_prefix("size ") {
                (format!("{} size", name), size.to_string())
            } else {
                (name.to_string(), rest.to_string())
            }
        })
        .collect()
}

#[test]
fn rust_types_match_the_c_header() {
    let (c, rust) = (c_layout(), rust_layout());
    assert!(c.len() >= 77, "the dump printed too little: {:?}", c);
    for (name, value) in &c {
        assert_eq!(rust.get(name), Some(value), "{} (C: {})", name, value);
    }
    assert_eq!(c.len(), rust.len());
}
