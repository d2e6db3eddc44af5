// Test-only crash points, for tests of crash recovery: with
// STREAMS_FAULT_POINT=NAME (or NAME:N) in the environment, the first (or
// N-th) time the process passes fault_point("NAME") it kills itself with
// SIGKILL, as a crash would, at that exact step. A no-op otherwise (the
// environment is read once).
// Thread: any.
#pragma once

namespace streams {

void fault_point(const char* name);

// Test-only slow steps: with STREAMS_DELAY_POINT=NAME:MS in the
// environment, each time the process passes delay_point("NAME") it waits
// MS milliseconds (a control topic that takes that long to read). A no-op
// otherwise.
void delay_point(const char* name);

}  // namespace streams
