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
//! Nothing else crosses the C boundary.

pub mod abi;
mod adapters;
mod types;

pub mod testing;

pub use adapters::{aggregate, filter, flat_map, map, route, FnPtr};
pub use types::{
    Counter, ErrorKind, Gauge, Headers, Histogram, InitContext, LogLevel, Origin, Output, Record,
    State, Status,
};

/// What every function type provides: how to make an instance.
pub trait Function: Sized + 'static {
    /// Makes an instance from the step's `config:` (JSON text). An `Err`
    /// (or a panic) fails the step's creation with that reason.
    fn create(ctx: &InitContext) -> Result<Self, String>;
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

/// Exports the plugin: `streams_plugin!(NAME, VERSION, [kind<Type>("function"), ...])`
/// with kind one of map, filter, flat_map, route, aggregate. Defines the
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
