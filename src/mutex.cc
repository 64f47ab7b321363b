#include "uncopyable/mutex.h"

#include <pthread.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <mutex>
#include <new>
#include <vector>

#include "absl/base/config.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "uncopyable/check.h"
#include "uncopyable/internal/errno_status.h"
#include "uncopyable/internal/syscall.h"

namespace uncopyable {
namespace {

namespace sys = internal::sys;
using internal::fork_generation;
using internal::this_thread;
using internal::watch_forks;
using mutex_internal::State;

std::string quoted(const std::string& name) { return "\"" + absl::CHexEscape(name) + "\""; }

// ---------------------------------------------------------------------------
// Lock-order checking: a graph of "B was taken while holding A" edges over
// the mutexes that check, and each thread's list of those it holds.

class OrderGraph {
 public:
  static OrderGraph& get() {
    static OrderGraph* graph = new OrderGraph;  // never destroyed: used at exit
    return *graph;
  }

  void add(const State* state, const std::string& name) {
    std::lock_guard<std::mutex> hold(guard_);
    names_[state] = name;
  }

  void remove(const State* state) {
    std::lock_guard<std::mutex> hold(guard_);
    names_.erase(state);
    after_.erase(state);
    for (auto& [from, to] : after_) to.erase(state);
  }

  // Before `state` is taken while the thread holds `held`: aborts if some
  // held mutex was itself taken, earlier, while `state` was held.
  void before_lock(const State* state, const std::vector<const State*>& held) {
    std::lock_guard<std::mutex> hold(guard_);
    for (const State* other : held) {
      if (other == state) continue;
      if (reaches(state, other)) {
        const std::string& name = names_[state];
        const std::string& other_name = names_[other];
        misuse("Mutex %s: lock-order inversion: %s is being acquired while holding %s, but "
               "earlier %s was acquired while holding %s",
               quoted(name).c_str(), quoted(name).c_str(), quoted(other_name).c_str(),
               quoted(other_name).c_str(), quoted(name).c_str());
      }
      after_[other].insert(state);
    }
  }

 private:
  // Whether `to` was taken (directly or through others) after `from`.
  bool reaches(const State* from, const State* to) const {
    std::vector<const State*> stack = {from};
    absl::flat_hash_set<const State*> seen = {from};
    while (!stack.empty()) {
      const State* at = stack.back();
      stack.pop_back();
      const auto edges = after_.find(at);
      if (edges == after_.end()) continue;
      for (const State* next : edges->second) {
        if (next == to) return true;
        if (seen.insert(next).second) stack.push_back(next);
      }
    }
    return false;
  }

  std::mutex guard_;
  absl::flat_hash_map<const State*, std::string> names_;
  absl::flat_hash_map<const State*, absl::flat_hash_set<const State*>> after_;
};

thread_local std::vector<const State*> held_checked;

void forget_held(const State* state) {
  const auto found = std::find(held_checked.rbegin(), held_checked.rend(), state);
  if (found != held_checked.rend()) held_checked.erase(std::next(found).base());
}

// ---------------------------------------------------------------------------
// Building the lock.

int init_lock(pthread_mutex_t* mutex, const MutexConfig& config) {
  pthread_mutexattr_t attributes;
  ::pthread_mutexattr_init(&attributes);
  ::pthread_mutexattr_settype(&attributes, config.kind == MutexKind::recursive
                                               ? PTHREAD_MUTEX_RECURSIVE
                                               : PTHREAD_MUTEX_NORMAL);
  if (config.robust) ::pthread_mutexattr_setrobust(&attributes, PTHREAD_MUTEX_ROBUST);
  if (config.process_shared) {
    ::pthread_mutexattr_setpshared(&attributes, PTHREAD_PROCESS_SHARED);
  }
  const int result = ::pthread_mutex_init(mutex, &attributes);
  ::pthread_mutexattr_destroy(&attributes);
  return result;
}

constexpr size_t kMappedSize = sizeof(State);

absl::Status lock_error(const MutexConfig& config, absl::string_view what, int error) {
  return internal::errno_status(error, absl::StrCat("Mutex ", quoted(config.name), ": ", what));
}

// Maps the named shared-memory object, creating and initialising the lock if
// this is the first process to open it.
absl::StatusOr<UniqueHandle<mutex_internal::StorageTraits>> open_named(const MutexConfig& config) {
  const char* name = config.shared_memory_name.c_str();
  const std::string what = absl::StrCat("shm_open(\"", absl::CHexEscape(config.shared_memory_name), "\")");
  bool creator = true;
  int fd = sys::shm_open(name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0 && errno == EEXIST) {
    creator = false;
    fd = sys::shm_open(name, O_RDWR | O_CLOEXEC, 0);
  }
  if (fd < 0) return lock_error(config, what, errno);
  if (creator && sys::ftruncate(fd, kMappedSize) != 0) {
    const int error = errno;
    sys::close(fd);
    sys::shm_unlink(name);
    return lock_error(config, absl::StrCat("ftruncate of ", what), error);
  }
  // A second opener may come before the creator has sized the object.
  for (int wait = 0; !creator; ++wait) {
    struct stat info;
    if (sys::fstat(fd, &info) != 0) {
      const int error = errno;
      sys::close(fd);
      return lock_error(config, absl::StrCat("fstat of ", what), error);
    }
    if (static_cast<size_t>(info.st_size) >= kMappedSize) break;
    if (wait == 5000) {
      sys::close(fd);
      return absl::DeadlineExceededError(absl::StrCat(
          "Mutex ", quoted(config.name), ": ", what, " exists but its creator never sized it"));
    }
    ::usleep(1000);
  }
  void* memory = sys::mmap(nullptr, kMappedSize, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  const int map_error = errno;
  sys::close(fd);
  if (memory == MAP_FAILED) {
    if (creator) sys::shm_unlink(name);
    return lock_error(config, absl::StrCat("mmap of ", what), map_error);
  }
  auto* state = static_cast<State*>(memory);
  if (creator) {
    new (state) State;
    if (const int error = init_lock(&state->mutex, config); error != 0) {
      sys::munmap(memory, kMappedSize);
      sys::shm_unlink(name);
      return lock_error(config, "pthread_mutex_init", error);
    }
    state->ready.store(1, std::memory_order_release);
  } else {
    for (int wait = 0; state->ready.load(std::memory_order_acquire) == 0; ++wait) {
      if (wait == 5000) {
        sys::munmap(memory, kMappedSize);
        return absl::DeadlineExceededError(absl::StrCat(
            "Mutex ", quoted(config.name), ": ", what, " exists but its lock was never initialised"));
      }
      ::usleep(1000);
    }
  }
  return UniqueHandle<mutex_internal::StorageTraits>(
      reinterpret_cast<uintptr_t>(memory),
      mutex_internal::StorageTraits::make(/*mapped=*/true, /*destroy_lock=*/false, ::getpid()));
}

}  // namespace

namespace mutex_internal {

absl::Status StorageTraits::close(uintptr_t address) {
  auto* state = reinterpret_cast<State*>(address);
  OrderGraph::get().remove(state);
  int result = 0;
  if (destroy_lock && creator == ::getpid()) result = ::pthread_mutex_destroy(&state->mutex);
  if (mapped) {
    sys::munmap(state, kMappedSize);
  } else {
    state->~State();
    ::operator delete(state, std::align_val_t(alignof(State)));
  }
  if (result != 0) return internal::errno_status(result, "pthread_mutex_destroy");
  return absl::OkStatus();
}

}  // namespace mutex_internal

// ---------------------------------------------------------------------------
// MutexConfig

absl::Status MutexConfig::validate() const {
  const std::string& shm = shared_memory_name;
  return ConfigRules(*this)
      .non_empty("name", name)
      .check(shm.empty() || process_shared, "shared_memory_name", "needs process_shared=true")
      .check(shm.empty() || (shm.size() >= 2 && shm.size() <= 255 && shm.front() == '/' &&
                             shm.find('/', 1) == std::string::npos &&
                             shm.find('\0') == std::string::npos),
             "shared_memory_name",
             "must be \"/\" and 1 to 254 more bytes, none of them '/' or NUL")
      .status();
}

// ---------------------------------------------------------------------------
// Mutex

Mutex::Mutex(MutexConfig config, UniqueHandle<mutex_internal::StorageTraits> storage)
    : storage_(std::move(storage)),
      checking_(config.lock_order_checking),
      config_(std::move(config)) {
  if (config_.lock_order_checking) OrderGraph::get().add(state("Mutex()"), config_.name);
}

absl::StatusOr<Mutex> Mutex::open(const MutexConfig& config) {
  if (absl::Status valid = config.validate(); !valid.ok()) return valid;
  watch_forks();
  if (!config.shared_memory_name.empty()) {
    absl::StatusOr<UniqueHandle<mutex_internal::StorageTraits>> storage = open_named(config);
    if (!storage.ok()) return storage.status();
    return Mutex(config, *std::move(storage));
  }
  void* memory;
  if (config.process_shared) {
    memory = sys::mmap(nullptr, kMappedSize, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                       -1, 0);
    if (memory == MAP_FAILED) return lock_error(config, "mmap", errno);
  } else {
    memory = ::operator new(sizeof(State), std::align_val_t(alignof(State)), std::nothrow);
    if (memory == nullptr) return lock_error(config, "allocating the lock", ENOMEM);
  }
  auto* state = new (memory) State;
  if (const int error = init_lock(&state->mutex, config); error != 0) {
    state->~State();
    if (config.process_shared) {
      sys::munmap(memory, kMappedSize);
    } else {
      ::operator delete(memory, std::align_val_t(alignof(State)));
    }
    return lock_error(config, "pthread_mutex_init", error);
  }
  return Mutex(config, UniqueHandle<mutex_internal::StorageTraits>(
                           reinterpret_cast<uintptr_t>(state),
                           mutex_internal::StorageTraits::make(config.process_shared,
                                                               /*destroy_lock=*/true, ::getpid())));
}

UniqueHandle<mutex_internal::StorageTraits> Mutex::take_storage(Mutex& other) noexcept {
  other.check_not_held("moved");
  return std::move(other.storage_);
}

Mutex::Mutex(Mutex&& other) noexcept
    : storage_(take_storage(other)), checking_(other.checking_), config_(std::move(other.config_)) {}

Mutex& Mutex::operator=(Mutex&& other) noexcept {
  if (this != &other) {
    check_not_held("assigned to");
    other.check_not_held("moved");
    storage_ = std::move(other.storage_);
    checking_ = other.checking_;
    config_ = std::move(other.config_);
  }
  return *this;
}

Mutex::~Mutex() { check_not_held("destroyed"); }

// Moving or destroying a lock that a thread holds leaves that thread holding
// nothing (or freed memory). A lock held in another process (shared), or
// by a thread of the parent before a fork, is not this handle's to judge.
void Mutex::check_not_held(const char* what) const {
  if (!storage_.is_valid()) return;
  const State* s = reinterpret_cast<const State*>(storage_.get());
  const pid_t owner = mutex_internal::owner_of(s);
  if (owner == 0) return;
  const bool ours = config_.process_shared
                        ? owner == this_thread()
                        : s->generation.load(std::memory_order_relaxed) ==
                              fork_generation.load(std::memory_order_relaxed);
  if (ours) {
    misuse("Mutex %s: %s while held by thread %d", quoted(config_.name).c_str(), what, owner);
  }
}

absl::StatusOr<Mutex> Mutex::rebuild() const {
  state("rebuild()");
  return open(config_);
}

namespace {

// Aborts if `state`, held by `owner` (not this thread), was held when this
// process was fork()ed from its parent: no thread here will ever release it.
void check_fork(const State* state, pid_t owner, const MutexConfig& config,
                const char* operation) {
  if (config.process_shared) return;
  if (state->generation.load(std::memory_order_relaxed) !=
      fork_generation.load(std::memory_order_relaxed)) {
    misuse("Mutex %s: %s in a fork()ed child (thread %d), but the lock was held by thread %d "
           "when the process forked; the child must rebuild() its own",
           quoted(config.name).c_str(), operation, this_thread(), owner);
  }
}

// Before taking the lock: a non-recursive mutex held by this thread would
// deadlock, and one held when this process forked would never be released.
void check_before_lock(const State* state, pid_t self, const MutexConfig& config,
                       const char* operation) {
  const pid_t owner = mutex_internal::owner_of(state);
  if (ABSL_PREDICT_TRUE(owner == 0)) return;
  if (owner == self) {
    if (config.kind == MutexKind::recursive) return;
    misuse("Mutex %s: %s by thread %d, which already holds it: a self-deadlock",
           quoted(config.name).c_str(), operation, self);
  }
  check_fork(state, owner, config, operation);
}

[[noreturn]] void fail(const MutexConfig& config, const char* operation, int error) {
  if (error == EOWNERDEAD) {
    misuse("Mutex %s: %s found that the previous owner died holding it; use lock_robust(), "
           "which reports this so the guarded data can be repaired",
           quoted(config.name).c_str(), operation);
  }
  if (error == ENOTRECOVERABLE) {
    misuse("Mutex %s: %s on a lock made unrecoverable (an owner died and it was never marked "
           "consistent); rebuild the lock",
           quoted(config.name).c_str(), operation);
  }
  misuse("Mutex %s: %s failed: %s", quoted(config.name).c_str(), operation,
         ::strerrorname_np(error) ? ::strerrorname_np(error) : "unknown error");
}

}  // namespace

void Mutex::took(State* s) {
  s->generation.store(fork_generation.load(std::memory_order_relaxed), std::memory_order_relaxed);
  if (ABSL_PREDICT_FALSE(config_.lock_order_checking) &&
      std::find(held_checked.begin(), held_checked.end(), s) == held_checked.end()) {
    held_checked.push_back(s);
  }
}

void Mutex::failed(const char* operation, int error) const { fail(config_, operation, error); }

void Mutex::lock_slow(State* s, int attempt) {
  const pid_t self = this_thread();
  if (attempt == -1) {  // not tried yet: check first, then wait
    check_before_lock(s, self, config_, "lock()");
    if (ABSL_PREDICT_FALSE(config_.lock_order_checking)) {
      OrderGraph::get().before_lock(s, held_checked);
    }
    attempt = ::pthread_mutex_lock(&s->mutex);
  }
  acquired(s, attempt, /*miss=*/0, "lock()");
}

bool Mutex::acquired(State* s, int result, int miss, const char* operation) {
  if (miss != 0 && result == miss) return false;
  if (ABSL_PREDICT_FALSE(result != 0)) {
    if (result == EOWNERDEAD) took(s);  // held now, and misuse to ignore
    failed(operation, result);
  }
  took(s);
  return true;
}

bool Mutex::try_lock() {
  State* s = state("try_lock()");
  check_before_lock(s, this_thread(), config_, "try_lock()");
  return acquired(s, ::pthread_mutex_trylock(&s->mutex), EBUSY, "try_lock()");
}

bool Mutex::try_lock_for(absl::Duration timeout) {
  State* s = state("try_lock_for()");
  check_before_lock(s, this_thread(), config_, "try_lock_for()");
  if (ABSL_PREDICT_FALSE(config_.lock_order_checking)) OrderGraph::get().before_lock(s, held_checked);
#ifdef ABSL_HAVE_THREAD_SANITIZER
  // ThreadSanitizer does not intercept pthread_mutex_clocklock (it would miss
  // the acquisition), so it gets the wall-clock variant it does know.
  constexpr clockid_t kClock = CLOCK_REALTIME;
#else
  constexpr clockid_t kClock = CLOCK_MONOTONIC;  // immune to clock changes
#endif
  timespec now;
  ::clock_gettime(kClock, &now);
  const timespec deadline =
      absl::ToTimespec(absl::DurationFromTimespec(now) + std::max(timeout, absl::ZeroDuration()));
#ifdef ABSL_HAVE_THREAD_SANITIZER
  const int result = ::pthread_mutex_timedlock(&s->mutex, &deadline);
#else
  const int result = ::pthread_mutex_clocklock(&s->mutex, kClock, &deadline);
#endif
  return acquired(s, result, ETIMEDOUT, "try_lock_for()");
}

LockOutcome Mutex::lock_robust() {
  State* s = state("lock_robust()");
  check_before_lock(s, this_thread(), config_, "lock_robust()");
  if (ABSL_PREDICT_FALSE(config_.lock_order_checking)) OrderGraph::get().before_lock(s, held_checked);
  const int error = ::pthread_mutex_lock(&s->mutex);
  if (error == ENOTRECOVERABLE) return LockOutcome::unrecoverable;
  if (error != 0 && error != EOWNERDEAD) failed("lock_robust()", error);
  took(s);
  return error == EOWNERDEAD ? LockOutcome::owner_died : LockOutcome::acquired;
}

void Mutex::mark_consistent() {
  State* s = state("mark_consistent()");
  assert_held();
  if (const int error = ::pthread_mutex_consistent(&s->mutex); error != 0) {
    failed("mark_consistent()", error);
  }
}

void Mutex::unlock_failed(State* s, int result) const {
  const pid_t self = this_thread();
  const pid_t owner = mutex_internal::owner_of(s);
  if (result == EPERM) {
    if (owner != 0) check_fork(s, owner, config_, "unlock()");
    if (owner == 0) {
      misuse("Mutex %s: unlock() by thread %d, which does not hold it (no thread does)",
             quoted(config_.name).c_str(), self);
    }
    misuse("Mutex %s: unlock() by thread %d, which does not hold it (thread %d does)",
           quoted(config_.name).c_str(), self, owner);
  }
  failed("unlock()", result);
}

void Mutex::unlock_slow(State* s) {
  if (mutex_internal::owner_of(s) != this_thread()) unlock_failed(s, EPERM);
  const int result = ::pthread_mutex_unlock(&s->mutex);
  if (result != 0) unlock_failed(s, result);
  // A recursive mutex may still be held; the checks forget it at the last.
  if (mutex_internal::owner_of(s) != this_thread()) forget_held(s);
}

void Mutex::assert_held() const {
  const State* s = state("assert_held()");
  const pid_t self = this_thread();
  const pid_t owner = mutex_internal::owner_of(s);
  if (ABSL_PREDICT_FALSE(owner != self)) {
    misuse("Mutex %s: assert_held() by thread %d, which does not hold it (%s)",
           quoted(config_.name).c_str(), self,
           owner == 0 ? "no thread does" : absl::StrCat("thread ", owner, " does").c_str());
  }
}

bool Mutex::held_by_this_thread() const {
  return mutex_internal::owner_of(state("held_by_this_thread()")) == this_thread();
}

absl::Status Mutex::remove_shared(const MutexConfig& config) {
  if (config.shared_memory_name.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "Mutex ", quoted(config.name), ": remove_shared() needs a shared_memory_name"));
  }
  if (sys::shm_unlink(config.shared_memory_name.c_str()) != 0) {
    return lock_error(config,
                      absl::StrCat("shm_unlink(\"", absl::CHexEscape(config.shared_memory_name), "\")"),
                      errno);
  }
  return absl::OkStatus();
}

}  // namespace uncopyable
