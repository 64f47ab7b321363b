// uncopyable/internal/glibc_mutex.h: what uncopyable::Mutex reads inside a
// glibc pthread_mutex_t, in one place.
//
// glibc records in every mutex it locks the thread id of the owner (and, for
// a recursive one, its levels), so knowing the owner costs Mutex's fast path
// one load instead of a second store of its own. Those fields are glibc's
// private layout, not an API: this header is the only code that names them,
// and it refuses to compile where the layout is not the one checked.
//
// Checked on glibc 2.36 (Debian 12), x86_64; the fields have kept their
// place since glibc 2.17 (struct __pthread_mutex_s in
// bits/struct_mutex.h): __lock at 0, __count at 4, __owner at 8.
#ifndef UNCOPYABLE_INTERNAL_GLIBC_MUTEX_H_
#define UNCOPYABLE_INTERNAL_GLIBC_MUTEX_H_

#include <pthread.h>
#include <sys/types.h>

#include <cstddef>

#if !defined(__GLIBC__) || __GLIBC__ != 2 || __GLIBC_MINOR__ < 17
#error "uncopyable::Mutex reads the owner glibc 2.17 or later records in pthread_mutex_t"
#endif

namespace uncopyable::mutex_internal::glibc {

static_assert(offsetof(pthread_mutex_t, __data.__lock) == 0, "glibc's layout changed");
static_assert(offsetof(pthread_mutex_t, __data.__count) == 4, "glibc's layout changed");
static_assert(offsetof(pthread_mutex_t, __data.__owner) == 8, "glibc's layout changed");
static_assert(sizeof(pthread_mutex_t{}.__data.__owner) == sizeof(int), "glibc's layout changed");

// glibc's owner values that are no thread.
inline constexpr int kNotRecoverable = 0x7ffffffe;  // PTHREAD_MUTEX_NOTRECOVERABLE
inline constexpr int kInconsistent = 0x7fffffff;    // PTHREAD_MUTEX_INCONSISTENT
// The owner's thread id in a robust mutex's lock word.
inline constexpr int kLockWordTid = 0x3fffffff;     // FUTEX_TID_MASK

// The thread id glibc recorded as the owner, or one of the values above;
// read without the lock (a hint, exact for the owner itself).
inline int owner(const pthread_mutex_t& mutex) {
  return __atomic_load_n(&mutex.__data.__owner, __ATOMIC_RELAXED);
}

// The lock word: for a robust mutex, the owner's id in its low bits.
inline int lock_word(const pthread_mutex_t& mutex) {
  return __atomic_load_n(&mutex.__data.__lock, __ATOMIC_RELAXED);
}

// A recursive mutex's levels, read by its owner.
inline unsigned int levels(const pthread_mutex_t& mutex) { return mutex.__data.__count; }

}  // namespace uncopyable::mutex_internal::glibc

#endif  // UNCOPYABLE_INTERNAL_GLIBC_MUTEX_H_
