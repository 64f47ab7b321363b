// clang's -Wthread-safety checks code that uses uncopyable::Mutex: see
// nocompile_test in tests/defs.bzl. Without a case defined, this compiles.
#include "uncopyable/mutex.h"

class Account {
 public:
  void deposit(int amount) {
    uncopyable::MutexLock hold(mutex_);
    balance_ += amount;
  }

  // (libstdc++'s std::lock_guard carries no annotations, so clang cannot
  // see it hold the lock; MutexLock or lock()/unlock() it can.)
  int balance() {
    mutex_.lock();
    const int value = balance_;
    mutex_.unlock();
    return value;
  }

  void audit() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) { mutex_.assert_held(); }

#if defined(UNGUARDED_WRITE)
  void steal() { balance_ = 0; }  // nobody holds the lock
#endif

#if defined(LOCK_KEPT)
  void forget() { mutex_.lock(); }  // returns still holding it
#endif

#if defined(CALL_WITHOUT_LOCK)
  void check() { audit(); }  // audit() needs the lock held
#endif

 private:
  uncopyable::Mutex mutex_ = *uncopyable::Mutex::open({.name = "account"});
  int balance_ ABSL_GUARDED_BY(mutex_) = 0;
};
