//! Rust SDK for streams-host plugins: safe types over the plugin ABI
//! (`abi`, the C header's types) and a macro that exports the descriptor.
//!
//! ```ignore
//! use streams_plugin::{Function, InitContext, Map, Output, Record, Status};
//!
//! struct Upper { buf: Vec<u8> }
//! impl Function for Upper {
//!     fn create(_: &InitContext) -> Result<Self, String> { Ok(Upper { buf: Vec::new() }) }
//! }
//! impl Map for Upper {
//!     fn process(&mut self, input: &Record, out: &mut Output) -> Status {
//!         self.buf.clear();
//!         self.buf.extend(input.value().iter().map(u8::to_ascii_uppercase));
//!         out.emit_value(&self.buf)
//!     }
//! }
//! streams_plugin::streams_plugin!("upper", "1.0.0", [map<Upper>("upper")]);
//! ```
//!
//! One instance is created per partition and step; its calls come one at a
//! time (from one thread at a time). Views (`Record`, slices) are valid for
//! the call only: the borrow checker holds you to it. A panic in a call is
//! caught before it reaches the host: in `create` it fails the instance with
//! the panic's message; in a record call the input fails with an error of
//! kind exception carrying the message (to the DLQ like any other error).
//! Nothing else crosses the C boundary. A sink (`Sink`) is one instance per
//! step and processing thread instead; see its documentation.

pub mod abi;
mod adapters;
mod types;

pub mod testing;

pub use adapters::{aggregate, filter, flat_map, map, route, sink, FnPtr};
pub use types::{
    Counter, ErrorKind, Gauge, Headers, Histogram, InitContext, LogLevel, Origin, Output, Record,
    ShareTag, SinkBatch, SinkGuarantee, SinkReports, State, Status,
};

/// What every function type provides: how to make an instance.
pub trait Function: Sized + 'static {
    /// Makes an instance from the step's `config:` (JSON text). An `Err`
    /// (or a panic) fails the step's creation with that reason.
    fn create(ctx: &InitContext) -> Result<Self, String>;

    /// Map, filter, flat_map and route (ABI 1.5): the form of the state
    /// values `process` writes, 0 (unversioned) or 1 to 32767. The host
    /// stores each value with the version that wrote it, so a new version
    /// of a plugin converts what an old one left (`migrate`).
    const STATE_VERSION: u32 = 0;

    /// Converts `value`, a state value version `from_version` (lower than
    /// `STATE_VERSION`) of this function wrote, into `converted` (empty at
    /// the call): `Status::OK` stores it in place of the old one,
    /// `Status::DROP` erases the key, a failure (`out.fail(..)`) fails the
    /// input that read it. The host calls it when `process` first reads
    /// such a value, from inside that state call: it must not use the
    /// state. Without one, such a value fails the input reading it.
    fn migrate(&mut self, from_version: u32, value: &[u8], converted: &mut Vec<u8>, out: &mut Output)
        -> Status {
        let _ = (from_version, value, converted);
        out.fail(ErrorKind::Processing, "the function has no migrate to convert it")
    }
}

/// One output per input: `out.emit_value(..)` or `out.emit(..)` exactly once.
pub trait Map: Function {
    fn process(&mut self, input: &Record, out: &mut Output) -> Status;
}

/// No output: `Status::KEEP` or `Status::DROP`.
pub trait Filter: Function {
    fn process(&mut self, input: &Record, out: &mut Output) -> Status;
}

/// Zero or more outputs.
pub trait FlatMap: Function {
    fn process(&mut self, input: &Record, out: &mut Output) -> Status;
}

/// No output: names the input's branch with `out.route_to(name)`.
pub trait Route: Function {
    fn process(&mut self, input: &Record, out: &mut Output) -> Status;
}

/// A reduce step's aggregate over a byte accumulator that the host keeps
/// per window and group (so the platform, not the plugin, owns the state).
/// `acc` starts empty in `init`, and as the current accumulator in `add`;
/// what it holds when the call returns `Status::OK` is the new one.
pub trait Aggregate: Function {
    fn init(&mut self, acc: &mut Vec<u8>, out: &mut Output) -> Status;
    fn add(&mut self, acc: &mut Vec<u8>, input: &Record, out: &mut Output) -> Status;
    /// `first` and then `second`: two consecutive parts of a window.
    fn merge(&mut self, first: &[u8], second: &[u8], acc: &mut Vec<u8>, out: &mut Output)
        -> Status;
    /// Emits the window's outputs from `acc`; `window`'s key is the group
    /// key, its timestamp the window's.
    fn result(&mut self, acc: &[u8], window: &Record, out: &mut Output) -> Status;
}

/// A sink step's writer to a store (`plugin:` on a sink step; ABI 1.6): the
/// host batches the outputs per source partition, hands them to `write` one
/// batch of a partition at a time (`BATCHES_OUT` at once when writes
/// commute), and commits an input once the batches holding its outputs were
/// reported written. One instance per sink step and processing thread,
/// serving every partition of that thread; every call comes from it.
///
/// A report may come from `write` itself or from a later `poll`, which the
/// host calls on every turn of its loop (a sink with requests in flight
/// reports them there). A panic in `write` reports the batch for a retry
/// with the panic's message; one anywhere else stops the host (nothing
/// unwritten is committed).
pub trait Sink: Function {
    /// What a replay after a crash does to the store.
    const GUARANTEE: SinkGuarantee = SinkGuarantee::AtLeastOnce;
    /// Batches of a partition out at once (ABI 1.10): more than 1 only for
    /// writes that commute (rows of a table without an order); an
    /// exactly-once sink keeps 1.
    const BATCHES_OUT: u32 = 1;
    /// Takes a batch: copy what is kept past the call. Report it with
    /// `reports`, now or from a later `poll`.
    fn write(&mut self, batch: &SinkBatch, reports: &mut SinkReports);
    /// Reports what finished, waiting up to `timeout_ms` for it.
    fn poll(&mut self, _timeout_ms: i32, _reports: &mut SinkReports) {}
    /// The host waits for every batch (a stop, a revocation): stop holding
    /// any back.
    fn flush(&mut self, _reports: &mut SinkReports) {}
    /// `partition` of `topic` now comes to this instance (an exactly-once
    /// sink reads its position here).
    fn assigned(&mut self, _topic: &str, _partition: i32, _reports: &mut SinkReports) {}
    /// ... and no longer, after its batches were reported (or the host gave
    /// up waiting).
    fn revoked(&mut self, _topic: &str, _partition: i32, _reports: &mut SinkReports) {}
}

/// Exports the plugin: `streams_plugin!(NAME, VERSION, [kind<Type>("function"), ...])`
/// with kind one of map, filter, flat_map, route, aggregate, sink. Defines the
/// entry point `streams_plugin_entry_v1` and the static descriptor; build
/// the crate as a `cdylib` and drop the `.so` (named NAME.so) into the
/// host's plugins directory.
#[macro_export]
macro_rules! streams_plugin {
    ($name:literal, $version:literal, [$($kind:ident < $ty:ty > ($fname:literal)),+ $(,)?]) => {
        const _: () = {
            static POINTERS: [$crate::FnPtr; [$($fname),+].len()] = [$(
                $crate::FnPtr({
                    static FUNCTION: $crate::abi::streams_function = $crate::$kind::<$ty>(
                        concat!($fname, "\0").as_ptr() as *const ::std::os::raw::c_char);
                    &FUNCTION
                })
            ),+];
            static PLUGIN: $crate::abi::streams_plugin = $crate::abi::streams_plugin {
                struct_size: ::std::mem::size_of::<$crate::abi::streams_plugin>() as u32,
                abi_major: $crate::abi::STREAMS_ABI_MAJOR,
                abi_minor: $crate::abi::STREAMS_ABI_MINOR,
                name: concat!($name, "\0").as_ptr() as *const ::std::os::raw::c_char,
                version: concat!($version, "\0").as_ptr() as *const ::std::os::raw::c_char,
                function_count: [$($fname),+].len(),
                functions: &POINTERS as *const $crate::FnPtr as *const *const $crate::abi::streams_function,
            };
            #[no_mangle]
            pub extern "C" fn streams_plugin_entry_v1() -> *const $crate::abi::streams_plugin {
                &PLUGIN
            }
        };
    };
}
