// No-compile cases for Mutex and MutexLock: see nocompile_test in
// tests/defs.bzl. Without a case defined, this file must compile.
#include "uncopyable/mutex.h"

#include <utility>

void control(uncopyable::Mutex& mutex) {
  uncopyable::Mutex moved = std::move(mutex);  // a Mutex moves
  uncopyable::MutexLock hold(moved);
}

#if defined(COPY_MUTEX)
void copy(const uncopyable::Mutex& mutex) { uncopyable::Mutex copy = mutex; }
#endif

#if defined(MOVE_GUARD)
void move_guard(uncopyable::Mutex& mutex) {
  uncopyable::MutexLock hold(mutex);
  uncopyable::MutexLock other = std::move(hold);  // a held scope does not travel
}
#endif
