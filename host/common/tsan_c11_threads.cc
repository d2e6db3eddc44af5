// ThreadSanitizer builds only: C11 threads (<threads.h>) as the POSIX calls
// TSan intercepts. librdkafka starts its threads with thrd_create and locks
// with mtx_*/cnd_*; glibc implements them without going through the
// intercepted pthread entry points, and GCC 12's and Clang 15's TSan do not
// intercept them, so a librdkafka thread is unknown to TSan and crashes in
// its first allocation. Defined in the executable, these take precedence
// over glibc's for every library. Same layouts: glibc's thrd_t is a
// pthread_t, mtx_t a pthread_mutex_t, cnd_t a pthread_cond_t.
#include <pthread.h>
#include <threads.h>

#include <cerrno>
#include <cstdint>

namespace {

struct Start {
  thrd_start_t function;
  void* arg;
};

void* run(void* p) {
  const Start start = *static_cast<Start*>(p);
  delete static_cast<Start*>(p);
  return reinterpret_cast<void*>(static_cast<intptr_t>(start.function(start.arg)));
}

int result(int rc) {
  return rc == 0           ? thrd_success
         : rc == ENOMEM    ? thrd_nomem
         : rc == EBUSY     ? thrd_busy
         : rc == ETIMEDOUT ? thrd_timedout
                           : thrd_error;
}

pthread_mutex_t* native(mtx_t* m) { return reinterpret_cast<pthread_mutex_t*>(m); }
pthread_cond_t* native(cnd_t* c) { return reinterpret_cast<pthread_cond_t*>(c); }

}  // namespace

extern "C" {

int thrd_create(thrd_t* thread, thrd_start_t function, void* arg) {
  auto* start = new Start{function, arg};
  const int rc = pthread_create(reinterpret_cast<pthread_t*>(thread), nullptr, &run, start);
  if (rc != 0) delete start;
  return result(rc);
}

int thrd_join(thrd_t thread, int* out) {
  void* value = nullptr;
  const int rc = pthread_join(static_cast<pthread_t>(thread), &value);
  if (rc == 0 && out) *out = static_cast<int>(reinterpret_cast<intptr_t>(value));
  return result(rc);
}

int thrd_detach(thrd_t thread) { return result(pthread_detach(static_cast<pthread_t>(thread))); }

int mtx_init(mtx_t* m, int type) {
  pthread_mutexattr_t attr;
  pthread_mutexattr_init(&attr);
  if (type & mtx_recursive) pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
  const int rc = pthread_mutex_init(native(m), &attr);
  pthread_mutexattr_destroy(&attr);
  return result(rc);
}
int mtx_lock(mtx_t* m) { return result(pthread_mutex_lock(native(m))); }
int mtx_trylock(mtx_t* m) { return result(pthread_mutex_trylock(native(m))); }
int mtx_timedlock(mtx_t* __restrict m, const struct timespec* __restrict at) {
  return result(pthread_mutex_timedlock(native(m), at));
}
int mtx_unlock(mtx_t* m) { return result(pthread_mutex_unlock(native(m))); }
void mtx_destroy(mtx_t* m) { pthread_mutex_destroy(native(m)); }

int cnd_init(cnd_t* c) { return result(pthread_cond_init(native(c), nullptr)); }
int cnd_signal(cnd_t* c) { return result(pthread_cond_signal(native(c))); }
int cnd_broadcast(cnd_t* c) { return result(pthread_cond_broadcast(native(c))); }
int cnd_wait(cnd_t* c, mtx_t* m) { return result(pthread_cond_wait(native(c), native(m))); }
int cnd_timedwait(cnd_t* __restrict c, mtx_t* __restrict m, const struct timespec* __restrict at) {
  return result(pthread_cond_timedwait(native(c), native(m), at));
}
void cnd_destroy(cnd_t* c) { pthread_cond_destroy(native(c)); }

}  // extern "C"
