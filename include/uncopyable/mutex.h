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
// mutex and the threads, e.g.
//   uncopyable: Mutex::unlock() by thread 12, which does not hold it; thread 9
//   does (mutex "jobs")
// for:
//   unlocking a mutex the calling thread does not hold;
//   locking (lock(), lock_robust()) a non-recursive mutex the calling thread
//     already holds (the self-deadlock is reported instead of hanging; a
//     try_lock() or try_lock_for() cannot hang and says false instead);
//   destroying or moving a mutex while it is held;
//   with lock_order_checking, taking two mutexes in the opposite order to an
//     earlier acquisition (both names are reported);
//   using, in a fork()ed child, a mutex that was held when the process forked
//     (the child should rebuild() its own);
//   lock() on a robust mutex whose owner died (use lock_robust(), which tells);
//   waiting for a lock whose holder thread exited without unlocking it (the
//     wait would never end; reported instead of hanging);
//   mark_consistent() when no dead owner left the lock inconsistent.
#ifndef UNCOPYABLE_MUTEX_H_
#define UNCOPYABLE_MUTEX_H_

#include <pthread.h>
#include <sys/single_threaded.h>
#include <sys/types.h>
#include <time.h>  // NOLINT(modernize-deprecated-headers): POSIX CLOCK_BOOTTIME

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
#include "uncopyable/internal/glibc_mutex.h"
#include "uncopyable/internal/process.h"
#include "uncopyable/internal/rules.h"
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

// The lock and what uncopyable knows about it, at a stable address: heap
// memory or a shared mapping.
//
// Which thread holds the lock is the id glibc itself records in every
// pthread mutex it locks, so knowing the owner costs the fast path a load.
// Beside it, the holder writes who it is (holder_id()): its thread id and a
// time no later than its start, so that a waiter can tell the holder from a
// later thread that was given the same id after the holder exited.
struct alignas(64) State {
  pthread_mutex_t mutex;
  std::atomic<uint32_t> generation{0};  // the fork generation it was last taken in
  std::atomic<uint32_t> ready{0};       // named shared memory: initialised
  std::atomic<uint64_t> holder{0};      // holder_id() of the holder; 0: none, or not yet known
  std::atomic<uint64_t> holder_world{0};  // process_shared: the holder's namespaces (world())
};
static_assert(sizeof(State) == 64, "one cache line");

// The id of the thread that holds it, or 0. Read without the lock: a hint
// for checks and messages, exact when the caller is the holder.
// (glibc's own record: see internal/glibc_mutex.h.)
inline pid_t owner_of(const State* state) {
  const int owner = glibc::owner(state->mutex);
  if (ABSL_PREDICT_TRUE(owner < glibc::kNotRecoverable)) return owner;
  // Not recoverable: nobody holds it, nobody ever will.
  if (owner == glibc::kNotRecoverable) return 0;
  // Inconsistent: a robust mutex taken from an owner that died, not yet
  // marked consistent. Its lock word holds the new owner.
  return glibc::lock_word(state->mutex) & glibc::kLockWordTid;
}

using internal::fork_generation;
using internal::this_thread;

// Who this thread is, as a holder: its thread id in the low kHolderTidBits
// bits, above them the CLOCK_BOOTTIME clock tick (in /proc's units) at which
// it first asked, which is no earlier than the thread started. Computed once
// per thread (and again in a fork()ed child); never 0.
inline constexpr int kHolderTidBits = 24;
ABSL_CONST_INIT extern thread_local uint64_t cached_holder_id ABSL_ATTRIBUTE_INITIAL_EXEC;
uint64_t holder_id_slow();
inline uint64_t holder_id() {
  const uint64_t id = cached_holder_id;
  return ABSL_PREDICT_TRUE(id != 0) ? id : holder_id_slow();
}

// For tests and the wait: whether the thread that wrote `holder` (a
// holder_id()) has exited. A thread with its id that started after the
// holder wrote it down is another thread: the holder exited.
enum class Liveness { alive, exited, unknown };
Liveness liveness(uint64_t holder);

// Before the holder unlocks: it no longer holds it (a recursive mutex, once
// its last level goes). glibc counts a recursive mutex's levels.
inline void forget_holder(State* state) {
  if (glibc::levels(state->mutex) <= 1) state->holder.store(0, std::memory_order_relaxed);
}

// The storage of a Mutex's lock, owned through UniqueHandle: heap memory, or
// a shared mapping (anonymous or of a named shared-memory object). It owns
// the memory from the moment it is allocated or mapped, before the lock in
// it is initialised: an open() that fails after that frees it by
// destroying the handle. Once the lock is initialised (and the Mutex made),
// the handle is given the traits that destroy the lock and leave the
// lock-order graph too (see src/mutex.cc's ready()).
struct StorageTraits : AddressTraits {
  static constexpr std::string_view kName = "Mutex";
  // Memory, no lock in it yet: closing frees it only.
  static StorageTraits memory(bool mapped) {
    StorageTraits traits;
    traits.mapped = mapped;
    return traits;
  }
  absl::Status close(uintptr_t address) const;

  bool mapped = false;          // munmap rather than delete
  bool destroy_lock = false;    // pthread_mutex_destroy it (its creator only)
  bool in_order_graph = false;  // lock_order_checking: leave the graph when closed
  pid_t creator = 0;            // the process that created the lock
};

// For tests: the lock-order graph, counted. Only mutexes with
// lock_order_checking are nodes, and only they are removed from it (so
// `removals` counts the checked mutexes closed); removal_steps counts the
// edges those removals visited (each visits its own edges only).
struct OrderGraphCounts {
  size_t nodes = 0;
  size_t edges = 0;
  uint64_t removals = 0;
  uint64_t removal_steps = 0;
};
OrderGraphCounts order_graph_counts();
}  // namespace mutex_internal

class ABSL_LOCKABLE Mutex {
 public:
  using config_type = MutexConfig;
  static constexpr char kName[] = "Mutex";  // the type, as messages say it

  // A fresh, unlocked mutex as `config` describes (or, with a
  // shared_memory_name, a handle to that named lock, created if missing).
  // Errors name the mutex and what failed, e.g.
  //   open mutex "jobs": shm_open of shared memory "/jobs": Permission denied [EACCES]
  // and leave nothing behind: no descriptor, no mapping, and no named object
  // that this open() created without finishing the lock in it.
  [[nodiscard]] static absl::StatusOr<Mutex> open(const MutexConfig& config);

  // Moving a mutex, or assigning to one, while a thread of this process
  // holds it is misuse (its holder would be left holding nothing):
  //   uncopyable: Mutex::Mutex(Mutex&&) while held by thread 12 (mutex "jobs")
  // The moved-from Mutex can only be destroyed or assigned to. Assigning a
  // held mutex to itself is misuse too. (A process_shared lock held by
  // another process, or a lock held in the parent when this process forked,
  // is not this handle's to judge.)
  Mutex(Mutex&&) noexcept = default;
  Mutex& operator=(Mutex&&) noexcept = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;
  // Destroying a held mutex is misuse, as moving one is.
  ~Mutex() { check_move(*this, internal::Moment::kDestruction); }

  [[nodiscard]] const MutexConfig& config() const { return config_; }
  // How messages name it: mutex "<name>" (the config's name, quoted).
  [[nodiscard]] std::string resource() const;
  // A fresh, unlocked mutex of the same kind (for a named shared lock: a new
  // handle to the same lock).
  [[nodiscard]] absl::StatusOr<Mutex> rebuild() const;

  // Takes the lock, waiting as long as another thread holds it.
  //
  // A wait never hangs on a holder that is gone: while it waits, lock()
  // looks whether the holding thread still exists (after 100 ms, then at
  // doubling intervals up to 3.2 s: a long wait costs little), and
  // aborts, naming both threads, if it exited without unlocking (for a
  // process_shared lock, also a thread of another process, when both
  // processes see the same thread ids; a robust mutex reports a dead owner
  // through lock_robust() instead). std::mutex, absl::Mutex and Rust's
  // Mutex would wait forever. A thread id that the system has since given to
  // a new thread is not mistaken for the holder. Uncontended, lock() is one
  // try (glibc's plain lock while the process has never had a second
  // thread) and one store; the look costs nothing until a wait has lasted
  // 100 ms. Where /proc does not show this process's threads, nothing is
  // reported and the wait goes on.
  void lock() ABSL_EXCLUSIVE_LOCK_FUNCTION() {
    mutex_internal::State* s = state("lock()");
    // The common case, inline: a free lock, in a process that has not
    // forked, taken with one try, and this thread written down as its
    // holder. Everything else (a wait, recursion, a self-deadlock,
    // lock-order checks, process-shared locks, a forked child, errors) is
    // lock_slow().
    if (ABSL_PREDICT_TRUE(!slow_ &&
                          mutex_internal::fork_generation.load(std::memory_order_relaxed) == 0)) {
      int result;
      if (__libc_single_threaded != 0) {
        // No other thread exists, nor ever did (glibc never sets it back):
        // a free lock cannot make lock() wait, and glibc's lock, unlike its
        // try, takes it without an atomic instruction here.
        if (mutex_internal::owner_of(s) != 0) return lock_slow(s, /*attempt=*/-1);
        result = ::pthread_mutex_lock(&s->mutex);
      } else {
        result = ::pthread_mutex_trylock(&s->mutex);
      }
      if (ABSL_PREDICT_TRUE(result == 0)) {
        s->holder.store(mutex_internal::holder_id(), std::memory_order_relaxed);
        return;
      }
      return lock_slow(s, result);
    }
    lock_slow(s, /*attempt=*/-1);
  }

  void unlock() ABSL_UNLOCK_FUNCTION() {
    mutex_internal::State* s = state("unlock()");
    if (ABSL_PREDICT_TRUE(!slow_ &&
                          mutex_internal::owner_of(s) == mutex_internal::this_thread())) {
      mutex_internal::forget_holder(s);
      const int result = ::pthread_mutex_unlock(&s->mutex);
      if (ABSL_PREDICT_TRUE(result == 0)) return;
      return unlock_failed(s, result);
    }
    unlock_slow(s);
  }
  // Takes the lock if it is free, without waiting (and so without looking
  // whether a holder exited). False when another thread holds it, and also
  // when the calling thread holds it (a non-recursive kind): a try cannot
  // deadlock, so it is not misuse, as POSIX's pthread_mutex_trylock (EBUSY,
  // "including the current thread"), Abseil's TryLock and Rust's try_lock
  // (WouldBlock) say. A recursive mutex is taken once more (unlock as often).
  [[nodiscard]] bool try_lock() ABSL_EXCLUSIVE_TRYLOCK_FUNCTION(true);
  // Waits at most `timeout` (measured on the monotonic clock). A wait that
  // finds the holder exited aborts, as lock() does, rather than wait out the
  // timeout for a lock nobody will ever release. Held by the calling thread
  // (a non-recursive kind): false at once, without waiting, as try_lock().
  [[nodiscard]] bool try_lock_for(absl::Duration timeout) ABSL_EXCLUSIVE_TRYLOCK_FUNCTION(true);

  // For robust mutexes: like lock(), but says whether the previous owner
  // died holding it. See LockOutcome. (On a mutex that is not robust it is
  // lock(), and says acquired.)
  [[nodiscard]] LockOutcome lock_robust();
  // After LockOutcome::owner_died: the guarded data is repaired, and the
  // lock is usable again. Calling it at any other time (the lock is not
  // robust, or no dead owner left it inconsistent) is misuse, not a no-op:
  // it means the caller believes an owner died, and the pthread call would
  // only have said EINVAL.
  void mark_consistent() ABSL_EXCLUSIVE_LOCKS_REQUIRED(this);

  // Aborts unless the calling thread holds it (not merely someone).
  void assert_held() const ABSL_ASSERT_EXCLUSIVE_LOCK();
  // Whether the calling thread holds it.
  [[nodiscard]] bool held_by_this_thread() const;

  // Removes the named shared-memory object of `config` (handles already open
  // keep working; later opens create a new lock).
  [[nodiscard]] static absl::Status remove_shared(const MutexConfig& config);

 private:
  friend class internal::MoveGuard<Mutex>;
  // For guard_ and the destructor: aborts if a thread of this process holds
  // it (`moment` names the move or the destruction).
  static void check_move(const Mutex& mutex, internal::Moment moment);
  Mutex(MutexConfig config, UniqueHandle<mutex_internal::StorageTraits> storage);
  // The lock, for `operation`; misuse on a moved-from Mutex. The check is
  // one compare inline; its message is built out of line (unusable()), so
  // that lock() and unlock() stay small enough to inline.
  mutex_internal::State* state(const char* operation) const {
    if (ABSL_PREDICT_FALSE(!storage_.is_valid())) unusable(operation);
    return reinterpret_cast<mutex_internal::State*>(storage_.get_for(operation));
  }
  [[noreturn]] ABSL_ATTRIBUTE_NOINLINE ABSL_ATTRIBUTE_COLD void unusable(
      const char* operation) const;
  // Records what the fast path leaves out, once the lock is held: the fork
  // generation (0 until the process has forked, so the fast path, which
  // runs only then, need not write it) and, with checking, the held list.
  void took(mutex_internal::State* s);
  // After a pthread lock call returned `result`: true if the lock is held
  // (and recorded), false if `result` is `miss` (EBUSY, ETIMEDOUT; 0 for
  // none); any other error aborts, named.
  bool acquired(mutex_internal::State* s, int result, int miss, const char* operation);
  // `attempt` is what the fast path's pthread call returned (-1 if none).
  void lock_slow(mutex_internal::State* s, int attempt);
  // Takes the lock: one try, then waits (until `deadline` on the clock
  // try_lock_for() uses, if given), looking between slices of the wait
  // whether the holder exited. Returns what the pthread call did (0,
  // EOWNERDEAD, ENOTRECOVERABLE, ETIMEDOUT, ...).
  int take(mutex_internal::State* s, const struct timespec* deadline, const char* operation);
  // Aborts unless the calling thread holds it.
  void check_held(const mutex_internal::State* s, const char* operation) const;
  void unlock_slow(mutex_internal::State* s);
  [[noreturn]] void unlock_failed(mutex_internal::State* s, int result) const;
  [[noreturn]] void failed(const char* operation, int error) const;

  // First: checks, before anything moves, that the mutex is not held.
  internal::MoveGuard<Mutex> guard_{this};
  UniqueHandle<mutex_internal::StorageTraits> storage_;
  // lock_order_checking or process_shared: every lock and unlock takes the
  // slow path. Next to storage_ for the fast path.
  bool slow_ = false;
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
