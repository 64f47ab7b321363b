// uncopyable/mutex.h: Mutex, a movable and checkable lock, and MutexConfig.
//
//   class JobQueue {
//    public:
//     void push(Job job) {
//       uncopyable::MutexLock hold(mutex_);      // or std::scoped_lock
//       jobs_.push_back(std::move(job));
//     }
//    private:
//     uncopyable::Mutex mutex_ = *uncopyable::Mutex::open({.name = "jobs"});
//     std::vector<Job> jobs_ ABSL_GUARDED_BY(mutex_);
//   };  // JobQueue is movable, which it could not be with a std::mutex.
//
// A Mutex owns a lock that lives at a stable address of its own, so the
// handle moves while the lock stays put; it remembers its MutexConfig, and
// rebuild() makes a fresh, unlocked lock of the same kind. It speaks the
// standard names (lock, unlock, try_lock, try_lock_for), so std::lock_guard,
// std::unique_lock and std::scoped_lock work, and it carries Abseil's
// thread-safety annotations for clang's -Wthread-safety.
//
// It knows which thread holds it. Misuse aborts with one line that names the
// mutex and the threads:
//   unlocking a mutex the calling thread does not hold;
//   locking a non-recursive mutex the calling thread already holds (the
//     self-deadlock is reported instead of hanging);
//   destroying or moving a mutex while it is held;
//   with lock_order_checking, taking two mutexes in the opposite order to an
//     earlier acquisition (both names are reported);
//   using, in a fork()ed child, a mutex that was held when the process forked
//     (the child should rebuild() its own);
//   lock() on a robust mutex whose owner died (use lock_robust(), which tells).
#ifndef UNCOPYABLE_MUTEX_H_
#define UNCOPYABLE_MUTEX_H_

#include <pthread.h>
#include <sys/types.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "absl/base/attributes.h"
#include "absl/base/config.h"
#include "absl/base/optimization.h"
#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "uncopyable/config.h"
#include "uncopyable/internal/process.h"
#include "uncopyable/rebuildable.h"
#include "uncopyable/unique_handle.h"

namespace uncopyable {

// What a second lock() by the holding thread does.
// uncopyable checks every kind itself: a self-deadlock or an unlock by the
// wrong thread is reported, never undefined, so normal and error_checking
// behave the same (the names are POSIX's, for configs that say them). Both
// are a plain pthread mutex underneath, the one std::mutex uses, so they get
// glibc's fast paths; recursive is PTHREAD_MUTEX_RECURSIVE.
enum class MutexKind {
  normal,          // non-recursive
  recursive,       // the holder may lock again, and unlocks as many times
  error_checking,  // non-recursive
};
UNCOPYABLE_ENUM(MutexKind, normal, recursive, error_checking)

struct MutexConfig {
  UNCOPYABLE_CONFIG(MutexConfig, name, kind, robust, process_shared, shared_memory_name,
                    lock_order_checking)

  std::string name = "mutex";                  // in every message about it
  MutexKind kind = MutexKind::error_checking;  // see MutexKind
  bool robust = false;                         // an owner's death is reported, not a hang
  bool process_shared = false;                 // usable by several processes
  std::string shared_memory_name{};            // with process_shared: "/name" of a POSIX
                                               // shared-memory object, so other processes
                                               // open the same lock; empty: shared with
                                               // fork()ed children only
  bool lock_order_checking = false;            // report lock-order inversions (tests)

  // A name is given; a shared-memory name is "/" and up to 254 more bytes
  // with no other '/', and needs process_shared.
  absl::Status validate() const;
};

// What lock_robust() found.
enum class LockOutcome {
  acquired,       // held, all is well
  owner_died,     // held, but its previous owner died holding it: repair the
                  // data it guards, then mark_consistent() (or unlock() to
                  // make it unrecoverable)
  unrecoverable,  // not held: an earlier owner_died was never marked consistent
};
UNCOPYABLE_ENUM(LockOutcome, acquired, owner_died, unrecoverable)

namespace mutex_internal {

#ifndef __GLIBC__
#error "uncopyable::Mutex reads the owner glibc records in pthread_mutex_t"
#endif

// The lock and what uncopyable knows about it, at a stable address: heap
// memory or a shared mapping.
//
// Which thread holds the lock is the id glibc itself records in every
// pthread mutex it locks, so knowing the owner costs the fast path a load.
struct alignas(64) State {
  pthread_mutex_t mutex;
  std::atomic<uint32_t> generation{0};  // the fork generation it was last taken in
  std::atomic<uint32_t> ready{0};       // named shared memory: initialised
};

// The id of the thread that holds it, or 0. Read without the lock: a hint
// for checks and messages, exact when the caller is the holder.
inline pid_t owner_of(const State* state) {
  const int owner = __atomic_load_n(&state->mutex.__data.__owner, __ATOMIC_RELAXED);
  if (ABSL_PREDICT_TRUE(owner < 0x7ffffffe)) return owner;
  // PTHREAD_MUTEX_NOTRECOVERABLE: nobody holds it, nobody ever will.
  if (owner == 0x7ffffffe) return 0;
  // PTHREAD_MUTEX_INCONSISTENT: a robust mutex taken from an owner that
  // died, not yet marked consistent. Its lock word holds the new owner.
  return __atomic_load_n(&state->mutex.__data.__lock, __ATOMIC_RELAXED) & 0x3fffffff;
}

using internal::fork_generation;
using internal::this_thread;

// The storage of a Mutex's lock, owned through UniqueHandle: heap memory, or
// a shared mapping (anonymous or of a named shared-memory object).
struct StorageTraits : AddressTraits {
  static constexpr std::string_view kName = "Mutex";
  static StorageTraits make(bool mapped, bool destroy_lock, pid_t creator) {
    StorageTraits traits;
    traits.mapped = mapped;
    traits.destroy_lock = destroy_lock;
    traits.creator = creator;
    return traits;
  }
  absl::Status close(uintptr_t address);

  bool mapped = false;          // munmap rather than delete
  bool destroy_lock = true;     // pthread_mutex_destroy it (its creator only)
  pid_t creator = 0;            // the process that created the lock
};
}  // namespace mutex_internal

class ABSL_LOCKABLE Mutex {
 public:
  using config_type = MutexConfig;

  // A fresh, unlocked mutex as `config` describes (or, with a
  // shared_memory_name, a handle to that named lock, created if missing).
  [[nodiscard]] static absl::StatusOr<Mutex> open(const MutexConfig& config);

  // Moving while held is misuse; the moved-from Mutex can only be destroyed
  // or assigned to.
  Mutex(Mutex&& other) noexcept;
  Mutex& operator=(Mutex&& other) noexcept;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;
  // Destroying a held mutex is misuse.
  ~Mutex();

  [[nodiscard]] const MutexConfig& config() const { return config_; }
  // A fresh, unlocked mutex of the same kind (for a named shared lock: a new
  // handle to the same lock).
  [[nodiscard]] absl::StatusOr<Mutex> rebuild() const;

  void lock() ABSL_EXCLUSIVE_LOCK_FUNCTION() {
    mutex_internal::State* s = state("lock()");
    // The common case, inline: a lock this thread does not hold, in a
    // process that has not forked, taken with one pthread call. Everything
    // else (recursion, a self-deadlock, lock-order checks, a forked child,
    // errors) is lock_slow().
    if (ABSL_PREDICT_TRUE(!checking_ &&
                          mutex_internal::fork_generation.load(std::memory_order_relaxed) == 0 &&
                          mutex_internal::owner_of(s) != mutex_internal::this_thread())) {
      const int result = ::pthread_mutex_lock(&s->mutex);
      if (ABSL_PREDICT_TRUE(result == 0)) return;
      return lock_slow(s, result);
    }
    lock_slow(s, /*attempt=*/-1);
  }

  void unlock() ABSL_UNLOCK_FUNCTION() {
    mutex_internal::State* s = state("unlock()");
    if (ABSL_PREDICT_TRUE(!checking_ &&
                          mutex_internal::owner_of(s) == mutex_internal::this_thread())) {
      const int result = ::pthread_mutex_unlock(&s->mutex);
      if (ABSL_PREDICT_TRUE(result == 0)) return;
      return unlock_failed(s, result);
    }
    unlock_slow(s);
  }
  [[nodiscard]] bool try_lock() ABSL_EXCLUSIVE_TRYLOCK_FUNCTION(true);
  // Waits at most `timeout` (measured on the monotonic clock).
  [[nodiscard]] bool try_lock_for(absl::Duration timeout) ABSL_EXCLUSIVE_TRYLOCK_FUNCTION(true);

  // For robust mutexes: like lock(), but says whether the previous owner
  // died holding it. See LockOutcome.
  [[nodiscard]] LockOutcome lock_robust();
  // After LockOutcome::owner_died: the guarded data is repaired.
  void mark_consistent() ABSL_EXCLUSIVE_LOCKS_REQUIRED(this);

  // Aborts unless the calling thread holds it (not merely someone).
  void assert_held() const ABSL_ASSERT_EXCLUSIVE_LOCK();
  // Whether the calling thread holds it.
  [[nodiscard]] bool held_by_this_thread() const;

  // Removes the named shared-memory object of `config` (handles already open
  // keep working; later opens create a new lock).
  [[nodiscard]] static absl::Status remove_shared(const MutexConfig& config);

 private:
  Mutex(MutexConfig config, UniqueHandle<mutex_internal::StorageTraits> storage);
  mutex_internal::State* state(const char* operation) const {
    return reinterpret_cast<mutex_internal::State*>(storage_.get_for(operation));
  }
  // Records what the fast path leaves out, once the lock is held: the fork
  // generation (0 until the process has forked, so the fast path, which
  // runs only then, need not write it) and, with checking, the held list.
  void took(mutex_internal::State* s);
  // After a pthread lock call returned `result`: true if the lock is held
  // (and recorded), false if `result` is `miss` (EBUSY, ETIMEDOUT; 0 for
  // none); any other error aborts, named.
  bool acquired(mutex_internal::State* s, int result, int miss, const char* operation);
  // `attempt` is what pthread_mutex_lock returned (-1 if not called).
  void lock_slow(mutex_internal::State* s, int attempt);
  void unlock_slow(mutex_internal::State* s);
  [[noreturn]] void unlock_failed(mutex_internal::State* s, int result) const;
  [[noreturn]] void failed(const char* operation, int error) const;
  // Aborts if a thread of this process holds it: "destroyed", "moved".
  void check_not_held(const char* what) const;
  static UniqueHandle<mutex_internal::StorageTraits> take_storage(Mutex& other) noexcept;

  UniqueHandle<mutex_internal::StorageTraits> storage_;
  bool checking_ = false;  // config_.lock_order_checking, next to storage_ for the fast path
  MutexConfig config_;
};

// Holds a Mutex for a scope. Neither copyable nor movable.
class ABSL_SCOPED_LOCKABLE MutexLock {
 public:
  explicit MutexLock(Mutex& mutex) ABSL_EXCLUSIVE_LOCK_FUNCTION(mutex) : mutex_(mutex) {
    mutex_.lock();
  }
  ~MutexLock() ABSL_UNLOCK_FUNCTION() { mutex_.unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex& mutex_;
};

template <>
struct HandleFor<MutexConfig> {
  using type = Mutex;
};

}  // namespace uncopyable

#endif  // UNCOPYABLE_MUTEX_H_
