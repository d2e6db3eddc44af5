// The message a Python function receives: the original's Message
// attributes (payload, headers, timestamp, schema) plus key and where the
// input was read (topic, partition, offset), built lazily
// from the host's record so that attributes a function does not read cost
// nothing.
//
// Ownership: a Message views a host-owned record for one call. After the
// call, detach() either readies it for reuse (nobody else holds it) or, if
// the function kept a reference, copies what it views so the kept object
// stays valid. Thread: GIL held.
#pragma once

#include <Python.h>

#include <streams/plugin_abi.h>

namespace streams::python {

enum class Payload {
  bytes,  // the value as bytes
  json,   // the value parsed from JSON text (after a parser step)
  batch   // a msgpack batch's values as a list of (bytes, schema) tuples, as
          // the original's Batch hands them on (after a batch step)
};

// Objects pass between Python steps as themselves: while a bridge function
// emits an output it made from an object, the object is published here for
// its thread, and a Python step downstream whose input is that very output
// (same bytes at the same address, forwarded by the host without a copy)
// gets the object as its payload instead of the bytes. The emitting
// instance holds the object until its next call; the slot is restored when
// the emit returns, so it never outlives the output it describes.
struct Handoff {
  const uint8_t* data = nullptr;
  size_t size = 0;
  PyObject* object = nullptr;  // borrowed
};
Handoff& handoff();  // this thread's

// Registers the type; false with a Python exception set. Once, GIL held.
bool init_message_type();

// A new Message for `record` of the call `call` of `host` (both borrowed
// until detach), parsing JSON payloads with `codec` (borrowed, outlives the
// message's calls), with `schema` (a str or None, borrowed). Null with an
// exception set.
PyObject* new_message(const streams_record* record, const streams_host_api* host,
                      streams_call* call, Payload payload, class JsonCodec* codec,
                      PyObject* schema);
// A filter or route that kept its input: the payload it parsed goes to the
// Python step after it (the same record, so the same bytes), which then
// need not parse it again. Only the next parse of a record with the same
// place and bytes can take it; a new one replaces it. So a filter or route
// must not modify its payload. No-op unless `message` parsed one.
void pass_on(PyObject* message);

// Points a Message at the next record and call.
void rebind_message(PyObject* message, const streams_record* record, streams_call* call);
// Ends the call: returns true if `message` may be rebound for the next call
// (only the caller holds it), else copies the record's fields into it and
// returns false (the caller then drops its reference). A failed copy leaves
// the kept message with None attributes.
bool detach_message(PyObject* message);

}  // namespace streams::python
