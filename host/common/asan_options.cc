// AddressSanitizer builds only: the runtime's defaults for every process we
// build (the host and the unit tests); ASAN_OPTIONS in the environment is
// parsed after these and wins.
//
// intercept_tls_get_addr=0: GCC 12's (and LLVM <= 16's) __tls_get_addr
// interceptor takes a dynamic TLS block (a dlopen'd plugin's or library's)
// whose address is 16 bytes past a page boundary for one with glibc 2.19's
// header and reads the two words before it as the block's range. glibc has
// had no such header since 2.25; a block that lands there by chance records
// a garbage range, and LeakSanitizer's tracer dies scanning it at exit
// ("Tracer caught signal 11", exit status 1, no leak reported;
// google/sanitizers#1322). Without the interceptor those blocks are still
// scanned as the heap chunks glibc allocates them in, reachable from the
// thread's DTV, so no root is lost.
extern "C" __attribute__((visibility("default"), used)) const char* __asan_default_options() {
  return "intercept_tls_get_addr=0";
}
