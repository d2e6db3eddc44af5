// Test-only crash points, for tests of crash recovery: with
// STREAMS_FAULT_POINT=NAME (or NAME:N) in the environment, the first (or
// N-th) time the process passes fault_point("NAME") it kills itself with
// SIGKILL, as a crash would, at that exact step. A no-op otherwise (the
// environment is read once).
// Thread: any.
#pragma once

namespace streams {

void fault_point(const char* name);

}  // namespace streams
