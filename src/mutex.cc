#include "uncopyable/mutex.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>  // NOLINT(modernize-deprecated-headers): POSIX kill()
#include <sys/stat.h>
#include <time.h>  // NOLINT(modernize-deprecated-headers): POSIX clock_gettime()
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>
#include <vector>

#include "absl/base/config.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "uncopyable/check.h"
#include "uncopyable/fd.h"
#include "uncopyable/internal/errno_status.h"
#include "uncopyable/internal/message.h"
#include "uncopyable/internal/quote.h"
#include "uncopyable/internal/syscall.h"

namespace uncopyable {
namespace {

namespace sys = internal::sys;
using internal::fork_generation;
using internal::this_thread;
using internal::watch_forks;
using mutex_internal::State;
using Storage = UniqueHandle<mutex_internal::StorageTraits>;

using internal::quoted;

// How every message names a mutex: mutex "<name>".
std::string resource_of(absl::string_view name) { return absl::StrCat("mutex ", quoted(name)); }

// ---------------------------------------------------------------------------
// Lock-order checking: a graph of "B was taken while holding A" edges over
// the mutexes that check, and each thread's list of those it holds.
//
// Only mutexes with lock_order_checking are in the graph; the others never
// touch it. Each node keeps its edges both ways, so a mutex leaves the graph
// in time proportional to its own edges, however large the graph is.

class OrderGraph {
 public:
  static OrderGraph& get() {
    static auto* graph = new OrderGraph;  // never destroyed: used at exit
    return *graph;
  }

  void add(const State* state, const std::string& name) {
    std::lock_guard<std::mutex> hold(guard_);
    Node& node = nodes_[state];
    node.name = name;
  }

  void remove(const State* state) {
    std::lock_guard<std::mutex> hold(guard_);
    ++removals_;
    const auto found = nodes_.find(state);
    if (found == nodes_.end()) return;
    const Node& node = found->second;
    for (const State* to : node.after) {
      nodes_.find(to)->second.before.erase(state);
      ++removal_steps_;
    }
    for (const State* from : node.before) {
      nodes_.find(from)->second.after.erase(state);
      ++removal_steps_;
    }
    edges_ -= node.after.size() + node.before.size();
    nodes_.erase(found);
  }

  // Before `state` is taken (by `operation`) while the thread holds `held`:
  // aborts if some held mutex was itself taken, earlier, while `state` was
  // held.
  void before_lock(const State* state, const std::vector<const State*>& held,
                   const char* operation) {
    std::lock_guard<std::mutex> hold(guard_);
    for (const State* other : held) {
      if (other == state) continue;
      if (reaches(state, other)) {
        misuse_on(Mutex::kName, operation, resource_of(nodes_[state].name),
                  "while holding %s, which was taken earlier while holding this one: a "
                  "lock-order inversion",
                  resource_of(nodes_[other].name).c_str());
      }
      const auto from = nodes_.find(other);
      const auto to = nodes_.find(state);
      if (from == nodes_.end() || to == nodes_.end()) continue;  // not checked: no edge
      if (from->second.after.insert(state).second) {
        to->second.before.insert(other);
        ++edges_;
      }
    }
  }

  mutex_internal::OrderGraphCounts counts() {
    std::lock_guard<std::mutex> hold(guard_);
    return {nodes_.size(), edges_, removals_, removal_steps_};
  }

 private:
  struct Node {
    std::string name;
    absl::flat_hash_set<const State*> after;   // taken while this one was held
    absl::flat_hash_set<const State*> before;  // held when this one was taken
  };

  // Whether `to` was taken (directly or through others) after `from`.
  bool reaches(const State* from, const State* to) const {
    std::vector<const State*> stack = {from};
    absl::flat_hash_set<const State*> seen = {from};
    while (!stack.empty()) {
      const State* at = stack.back();
      stack.pop_back();
      const auto node = nodes_.find(at);
      if (node == nodes_.end()) continue;
      for (const State* next : node->second.after) {
        if (next == to) return true;
        if (seen.insert(next).second) stack.push_back(next);
      }
    }
    return false;
  }

  std::mutex guard_;
  absl::flat_hash_map<const State*, Node> nodes_;
  size_t edges_ = 0;
  uint64_t removals_ = 0;
  uint64_t removal_steps_ = 0;
};

thread_local std::vector<const State*> held_checked;

void forget_held(const State* state) {
  const auto found = std::find(held_checked.rbegin(), held_checked.rend(), state);
  if (found != held_checked.rend()) held_checked.erase(std::next(found).base());
}

// ---------------------------------------------------------------------------
// Who holds a lock, and whether that thread still exists.

// /proc's clock tick (USER_HZ), in nanoseconds.
int64_t nanoseconds_per_tick() {
  static const int64_t tick = [] {
    const long hz = ::sysconf(_SC_CLK_TCK);
    return hz > 0 ? int64_t{1000000000} / hz : int64_t{10000000};
  }();
  return tick;
}

// The process's pid and time namespaces, which give meaning to a thread id
// and to a start time: 0 if they cannot be known. Once per process.
std::atomic<uint64_t> cached_world{0};

uint64_t namespace_of(const char* path) {
  struct stat info;
  if (::stat(path, &info) != 0) return 0;
  return static_cast<uint32_t>(info.st_ino);
}

uint64_t world() {
  uint64_t world = cached_world.load(std::memory_order_relaxed);
  if (ABSL_PREDICT_TRUE(world != 0)) return world;
  // A /proc mounted for another pid namespace (a process that entered a new
  // one and kept its parent's /proc) shows other threads under our ids.
  char self[32];
  const ssize_t size = ::readlink("/proc/self", self, sizeof(self) - 1);
  if (size <= 0) return 0;
  self[size] = '\0';
  if (std::strtol(self, nullptr, 10) != ::getpid()) return 0;
  const uint64_t pids = namespace_of("/proc/self/ns/pid");
  if (pids == 0) return 0;
  // Kernels before 5.6 have no time namespaces: one clock for all.
  world = (pids << 32) | namespace_of("/proc/self/ns/time");
  cached_world.store(world, std::memory_order_relaxed);
  return world;
}

void forget_identity_in_child() {
  mutex_internal::cached_holder_id = 0;  // the child's thread has a new id
  cached_world.store(0, std::memory_order_relaxed);  // and may be in new namespaces
}

void watch_identity_forks() {
  static const bool registered =
      (::pthread_atfork(nullptr, nullptr, &forget_identity_in_child), true);
  (void)registered;
}

}  // namespace

namespace mutex_internal {

// A probe of /proc and kill(2): anything it cannot read (a fault the seam
// injected included) means "unknown", never "exited".
Liveness liveness(uint64_t holder) {
  const auto tid = static_cast<pid_t>(holder & ((uint64_t{1} << mutex_internal::kHolderTidBits) - 1));
  const uint64_t since = holder >> mutex_internal::kHolderTidBits;
  if (tid <= 0) return Liveness::unknown;
  // kill(tid, 0) looks up any thread id, of this process or another, and
  // says ESRCH only if there is none (EPERM: one, of someone else's).
  if (::kill(tid, 0) != 0 && errno == ESRCH) return Liveness::exited;
  char path[40];
  std::snprintf(path, sizeof(path), "/proc/%d/stat", static_cast<int>(tid));
  const int opened = sys::open(path, O_RDONLY | O_CLOEXEC);
  if (opened < 0) return Liveness::unknown;  // gone since, or hidden (hidepid): look again later
  char text[1024];
  ssize_t size;
  {
    const Fd fd(opened);
    size = sys::read(fd.get(), text, sizeof(text) - 1);
  }
  if (size <= 0) return Liveness::unknown;
  text[size] = '\0';
  // "tid (name) S ppid ...": the name may hold anything, so fields are
  // counted from the last ')'. The state is field 3, the start time 22.
  const char* after_name = static_cast<const char*>(::memrchr(text, ')', size));
  if (after_name == nullptr || after_name + 2 >= text + size) return Liveness::unknown;
  const char state = after_name[2];
  // A zombie (a main thread that returned while others run, a process not
  // yet waited for) has exited: it unlocks nothing any more.
  if (state == 'Z' || state == 'X' || state == 'x') return Liveness::exited;
  const char* field = after_name + 2;
  for (int skip = 3; skip < 22 && field != nullptr; ++skip) {
    field = std::strchr(field, ' ');
    if (field != nullptr) ++field;
  }
  if (field == nullptr) return Liveness::unknown;
  char* end = nullptr;
  const unsigned long long started = std::strtoull(field, &end, 10);
  if (end == field) return Liveness::unknown;
  // The holder had started by the tick it wrote down. A thread that started
  // later is another thread, given the id after the holder exited.
  return started > since ? Liveness::exited : Liveness::alive;
}

}  // namespace mutex_internal

namespace {

using mutex_internal::Liveness;

// While a lock() waits: aborts if the lock's holder exited without
// unlocking it, as nobody else ever will. Anything uncertain (the holder
// not yet written down, the lock changing hands meanwhile, a holder in
// other namespaces, /proc unreadable) means: look again later.
void check_holder(const State* state, const MutexConfig& config, const char* operation) {
  if (config.robust) return;  // the kernel tells a robust lock's waiter: EOWNERDEAD
  const uint64_t holder = state->holder.load(std::memory_order_acquire);
  const pid_t owner = mutex_internal::owner_of(state);
  const uint64_t tid_mask = (uint64_t{1} << mutex_internal::kHolderTidBits) - 1;
  if (holder == 0 || owner <= 0 || (holder & tid_mask) != static_cast<uint64_t>(owner)) return;
  const uint64_t mine = world();
  if (mine == 0) return;  // /proc does not show this process's threads
  if (config.process_shared) {
    if (state->holder_world.load(std::memory_order_acquire) != mine) return;
    if (state->holder.load(std::memory_order_acquire) != holder) return;
  }
  if (mutex_internal::liveness(holder) != Liveness::exited) return;
  if (state->holder.load(std::memory_order_acquire) != holder ||
      mutex_internal::owner_of(state) != owner) {
    return;
  }
  misuse_on(Mutex::kName, operation, resource_of(config.name),
            "by thread %d waits for thread %d, which exited while holding it", this_thread(),
            owner);
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

using mutex_internal::StorageTraits;

// "open mutex "jobs": <detail>: <strerror> [ENAME]".
absl::Status open_error(const MutexConfig& config, int error, absl::string_view detail) {
  return internal::errno_error_on(error, "open", resource_of(config.name), detail);
}

// `call` on the named shared-memory object, for an error's detail:
// ftruncate of shared memory "/jobs".
std::string of_shared(const MutexConfig& config, absl::string_view call) {
  return absl::StrCat(call, " of shared memory ", quoted(config.shared_memory_name));
}

// Another process created the named object but has not finished (after 5 s
// of looking): `what` it has not done.
absl::Status not_ready(const MutexConfig& config, absl::string_view what) {
  return internal::error_on(absl::StatusCode::kDeadlineExceeded, "open", resource_of(config.name),
                            absl::StrCat("shared memory ", quoted(config.shared_memory_name),
                                         " exists but ", what));
}

// The storage of a lock that is initialised now: from here on, closing it
// also destroys the lock (`destroy_lock`: a lock this process made and no
// other process opens by name) and takes a checked mutex out of the
// lock-order graph. Nothing can fail between the release and the adoption.
Storage ready(Storage memory, bool mapped, bool destroy_lock, const MutexConfig& config) {
  StorageTraits traits = StorageTraits::memory(mapped);
  traits.destroy_lock = destroy_lock;
  traits.creator = ::getpid();
  traits.in_order_graph = config.lock_order_checking;
  return Storage(memory.release(), traits);
}

// The name of a shared-memory object this open() created, owned until the
// lock in it is initialised: closing unlinks it, so that an open() that
// fails halfway leaves no object behind for later opens to find without a
// lock in it. The value is the address of the name, which outlives it.
struct CreatedNameTraits : AddressTraits {
  static constexpr std::string_view kName = "Mutex";
  static absl::Status close(uintptr_t name) {
    close_quietly(name);
    return absl::OkStatus();
  }
  static void close_quietly(uintptr_t name) noexcept {
    (void)sys::shm_unlink(reinterpret_cast<const char*>(name));
  }
};

// Maps the named shared-memory object, creating and initialising the lock if
// this is the first process to open it.
absl::StatusOr<Storage> open_named(const MutexConfig& config) {
  const char* name = config.shared_memory_name.c_str();
  bool creator = true;
  int opened = sys::shm_open(name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (opened < 0 && errno == EEXIST) {
    creator = false;
    opened = sys::shm_open(name, O_RDWR | O_CLOEXEC, 0);
  }
  if (opened < 0) {
    const int error = errno;
    return open_error(config, error, of_shared(config, "shm_open"));
  }
  Fd fd(opened);
  UniqueHandle<CreatedNameTraits> created;
  if (creator) {
    created = UniqueHandle<CreatedNameTraits>(reinterpret_cast<uintptr_t>(name));
    if (sys::ftruncate(fd.get(), kMappedSize) != 0) {
      const int error = errno;
      return open_error(config, error, of_shared(config, "ftruncate"));
    }
  }
  // A second opener may come before the creator has sized the object.
  for (int wait = 0; !creator; ++wait) {
    struct stat info;
    if (sys::fstat(fd.get(), &info) != 0) {
      const int error = errno;
      return open_error(config, error, of_shared(config, "fstat"));
    }
    if (static_cast<size_t>(info.st_size) >= kMappedSize) break;
    if (wait == 5000) return not_ready(config, "its creator never sized it");
    ::usleep(1000);
  }
  void* memory = sys::mmap(nullptr, kMappedSize, PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0);
  const int map_error = errno;
  fd.reset();  // a mapping keeps the object
  if (memory == MAP_FAILED) return open_error(config, map_error, of_shared(config, "mmap"));
  Storage storage(reinterpret_cast<uintptr_t>(memory), StorageTraits::memory(/*mapped=*/true));
  auto* state = static_cast<State*>(memory);
  if (creator) {
    new (state) State;
    if (const int error = init_lock(&state->mutex, config); error != 0) {
      return open_error(config, error, "pthread_mutex_init");
    }
    state->ready.store(1, std::memory_order_release);
    (void)created.release();  // the lock is ready: the name stays for others
  } else {
    for (int wait = 0; state->ready.load(std::memory_order_acquire) == 0; ++wait) {
      if (wait == 5000) return not_ready(config, "its lock was never initialised");
      ::usleep(1000);
    }
  }
  // Other processes may use the lock: no handle ever destroys it.
  return ready(std::move(storage), /*mapped=*/true, /*destroy_lock=*/false, config);
}

// A lock of this process's own: on the heap, or for process_shared in an
// anonymous shared mapping that fork()ed children inherit.
absl::StatusOr<Storage> open_private(const MutexConfig& config) {
  const bool mapped = config.process_shared;
  void* memory;
  if (mapped) {
    memory = sys::mmap(nullptr, kMappedSize, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                       -1, 0);
    if (memory == MAP_FAILED) {
      const int error = errno;
      return open_error(config, error, "mmap");
    }
  } else {
    memory = ::operator new(sizeof(State), std::align_val_t(alignof(State)), std::nothrow);
    if (memory == nullptr) return open_error(config, ENOMEM, "allocating the lock");
  }
  auto* state = new (memory) State;
  Storage storage(reinterpret_cast<uintptr_t>(state), StorageTraits::memory(mapped));
  if (const int error = init_lock(&state->mutex, config); error != 0) {
    return open_error(config, error, "pthread_mutex_init");
  }
  return ready(std::move(storage), mapped, /*destroy_lock=*/true, config);
}

}  // namespace

namespace mutex_internal {

ABSL_CONST_INIT thread_local uint64_t cached_holder_id ABSL_ATTRIBUTE_INITIAL_EXEC = 0;

uint64_t holder_id_slow() {
  const auto tid = static_cast<uint64_t>(this_thread());
  if (tid >= (uint64_t{1} << kHolderTidBits)) return 1 << kHolderTidBits;  // no such ids on Linux
  timespec now;
  ::clock_gettime(CLOCK_BOOTTIME, &now);
  const int64_t tick = nanoseconds_per_tick();
  const uint64_t ticks = static_cast<uint64_t>(now.tv_sec) * (1000000000 / tick) +
                         static_cast<uint64_t>(now.tv_nsec / tick);
  cached_holder_id = (ticks << kHolderTidBits) | tid;
  return cached_holder_id;
}

OrderGraphCounts order_graph_counts() { return OrderGraph::get().counts(); }

// The one place a lock's storage is freed. What failed is returned only to
// close(), which no Mutex calls (it has no close()): a failure here is of
// memory the library itself made, and is lost as any destructor's would be.
absl::Status StorageTraits::close(uintptr_t address) const {
  auto* state = reinterpret_cast<State*>(address);
  if (in_order_graph) OrderGraph::get().remove(state);
  int result = 0;
  if (destroy_lock && creator == ::getpid()) result = ::pthread_mutex_destroy(&state->mutex);
  if (mapped) {
    if (sys::munmap(state, kMappedSize) != 0 && result == 0) result = errno;
  } else {
    state->~State();
    ::operator delete(state, std::align_val_t(alignof(State)));
  }
  if (result != 0) return internal::errno_status(result, "freeing a mutex's lock");
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

Mutex::Mutex(MutexConfig config, Storage storage)
    : storage_(std::move(storage)),
      slow_(config.lock_order_checking || config.process_shared),
      config_(std::move(config)) {
  if (config_.lock_order_checking) OrderGraph::get().add(state("Mutex()"), config_.name);
}

std::string Mutex::resource() const { return resource_of(config_.name); }

void Mutex::unusable(const char* operation) const {
  // Aborts, saying why the handle holds nothing: "Mutex::lock() on a
  // moved-from handle".
  (void)storage_.get_as(kName, operation, [this] { return resource(); });
  std::abort();  // not reached: called only on a handle that holds nothing
}

absl::StatusOr<Mutex> Mutex::open(const MutexConfig& config) {
  if (absl::Status valid = config.validate(); !valid.ok()) return valid;
  watch_forks();
  watch_identity_forks();
  absl::StatusOr<Storage> storage =
      config.shared_memory_name.empty() ? open_private(config) : open_named(config);
  if (!storage.ok()) return storage.status();
  return Mutex(config, *std::move(storage));
}

// Moving or destroying a lock that a thread holds leaves that thread holding
// nothing (or freed memory). A lock held in another process (shared), or
// by a thread of the parent before a fork, is not this handle's to judge.
void Mutex::check_move(const Mutex& mutex, internal::Moment moment) {
  if (!mutex.storage_.is_valid()) return;
  const auto* s = reinterpret_cast<const State*>(mutex.storage_.get());
  const pid_t owner = mutex_internal::owner_of(s);
  if (ABSL_PREDICT_TRUE(owner == 0)) return;
  const bool ours = mutex.config_.process_shared
                        ? owner == this_thread()
                        : s->generation.load(std::memory_order_relaxed) ==
                              fork_generation.load(std::memory_order_relaxed);
  if (ours) {
    misuse_on(kName, internal::operation_at<Mutex>(moment).c_str(), mutex.resource(),
              "while held by thread %d", owner);
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
    misuse_on(Mutex::kName, operation, resource_of(config.name),
              "in a fork()ed child (thread %d), but the lock was held by thread %d when the "
              "process forked; the child must rebuild() its own",
              this_thread(), owner);
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
    misuse_on(Mutex::kName, operation, resource_of(config.name),
              "by thread %d, which already holds it: a self-deadlock", self);
  }
  check_fork(state, owner, config, operation);
}

[[noreturn]] void fail(const MutexConfig& config, const char* operation, int error) {
  const std::string resource = resource_of(config.name);
  if (error == EOWNERDEAD) {
    misuse_on(Mutex::kName, operation, resource,
              "found that the previous owner died holding it; use lock_robust(), which reports "
              "this so the guarded data can be repaired");
  }
  if (error == ENOTRECOVERABLE) {
    misuse_on(Mutex::kName, operation, resource,
              "on a lock made unrecoverable (an owner died and it was never marked consistent); "
              "rebuild the lock");
  }
  misuse_on(Mutex::kName, operation, resource, "failed: %s",
            ::strerrorname_np(error) != nullptr ? ::strerrorname_np(error) : "unknown error");
}

}  // namespace

void Mutex::took(State* s) {
  s->generation.store(fork_generation.load(std::memory_order_relaxed), std::memory_order_relaxed);
  // Its namespaces first, so that a waiter that reads the holder reads them.
  if (config_.process_shared) s->holder_world.store(world(), std::memory_order_release);
  s->holder.store(mutex_internal::holder_id(), std::memory_order_release);
  if (ABSL_PREDICT_FALSE(config_.lock_order_checking) &&
      std::find(held_checked.begin(), held_checked.end(), s) == held_checked.end()) {
    held_checked.push_back(s);
  }
}

void Mutex::failed(const char* operation, int error) const { fail(config_, operation, error); }

namespace {

// How long a waiter sleeps between looks at the holder: 100 ms at first,
// doubling up to 3.2 s, so that a lock held for long by a live holder costs
// its waiters a few system calls a minute, not forty a second each, while a
// holder that exited is still found within a few seconds.
constexpr absl::Duration kFirstWaitSlice = absl::Milliseconds(100);
constexpr absl::Duration kLongestWaitSlice = absl::Milliseconds(3200);

#ifdef ABSL_HAVE_THREAD_SANITIZER
// ThreadSanitizer does not intercept pthread_mutex_clocklock (it would miss
// the acquisition), so it gets the wall-clock variant it does know.
constexpr clockid_t kClock = CLOCK_REALTIME;
#else
constexpr clockid_t kClock = CLOCK_MONOTONIC;  // immune to clock changes
#endif

absl::Duration clock_now() {
  timespec now;
  ::clock_gettime(kClock, &now);
  return absl::DurationFromTimespec(now);
}

int lock_until(pthread_mutex_t* mutex, absl::Duration until) {
  const timespec deadline = absl::ToTimespec(until);
#ifdef ABSL_HAVE_THREAD_SANITIZER
  return ::pthread_mutex_timedlock(mutex, &deadline);
#else
  return ::pthread_mutex_clocklock(mutex, kClock, &deadline);
#endif
}

}  // namespace

int Mutex::take(State* s, const timespec* deadline, const char* operation) {
  const int attempt = ::pthread_mutex_trylock(&s->mutex);
  if (attempt != EBUSY) return attempt;
  const absl::Duration end =
      deadline != nullptr ? absl::DurationFromTimespec(*deadline) : absl::InfiniteDuration();
  for (absl::Duration slice = kFirstWaitSlice;; slice = std::min(slice * 2, kLongestWaitSlice)) {
    const absl::Duration now = clock_now();
    if (now >= end) return ETIMEDOUT;
    const int result = lock_until(&s->mutex, std::min(end, now + slice));
    if (result != ETIMEDOUT) return result;
    check_holder(s, config_, operation);
  }
}

void Mutex::lock_slow(State* s, int attempt) {
  if (attempt != -1 && attempt != EBUSY) {  // the fast path's try did more than miss
    acquired(s, attempt, /*miss=*/0, "lock()");
    return;
  }
  check_before_lock(s, this_thread(), config_, "lock()");
  if (ABSL_PREDICT_FALSE(config_.lock_order_checking)) {
    OrderGraph::get().before_lock(s, held_checked, "lock()");
  }
  acquired(s, take(s, /*deadline=*/nullptr, "lock()"), /*miss=*/0, "lock()");
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

namespace {

// A try by the thread that holds a non-recursive mutex: it cannot be taken,
// and a try cannot hang, so it is "not taken" (as POSIX's trylock says
// EBUSY, Abseil's TryLock false and Rust's try_lock WouldBlock), not a
// self-deadlock.
bool held_here(const State* state, const MutexConfig& config) {
  return config.kind != MutexKind::recursive &&
         mutex_internal::owner_of(state) == mutex_internal::this_thread();
}

}  // namespace

bool Mutex::try_lock() {
  State* s = state("try_lock()");
  if (held_here(s, config_)) return false;
  check_before_lock(s, this_thread(), config_, "try_lock()");
  return acquired(s, ::pthread_mutex_trylock(&s->mutex), EBUSY, "try_lock()");
}

bool Mutex::try_lock_for(absl::Duration timeout) {
  State* s = state("try_lock_for()");
  if (held_here(s, config_)) return false;  // at once: waiting cannot free it
  check_before_lock(s, this_thread(), config_, "try_lock_for()");
  if (ABSL_PREDICT_FALSE(config_.lock_order_checking)) {
    OrderGraph::get().before_lock(s, held_checked, "try_lock_for()");
  }
  const timespec deadline = absl::ToTimespec(clock_now() + std::max(timeout, absl::ZeroDuration()));
  return acquired(s, take(s, &deadline, "try_lock_for()"), ETIMEDOUT, "try_lock_for()");
}

LockOutcome Mutex::lock_robust() {
  State* s = state("lock_robust()");
  check_before_lock(s, this_thread(), config_, "lock_robust()");
  if (ABSL_PREDICT_FALSE(config_.lock_order_checking)) {
    OrderGraph::get().before_lock(s, held_checked, "lock_robust()");
  }
  const int error = take(s, /*deadline=*/nullptr, "lock_robust()");
  if (error == ENOTRECOVERABLE) return LockOutcome::unrecoverable;
  if (error != 0 && error != EOWNERDEAD) failed("lock_robust()", error);
  took(s);
  return error == EOWNERDEAD ? LockOutcome::owner_died : LockOutcome::acquired;
}

void Mutex::mark_consistent() {
  State* s = state("mark_consistent()");
  check_held(s, "mark_consistent()");
  const int error = ::pthread_mutex_consistent(&s->mutex);
  if (error == EINVAL) {
    misuse_on(kName, "mark_consistent()", resource(),
              "on a lock that no dead owner left inconsistent; call it only after "
              "lock_robust() returned owner_died");
  }
  if (error != 0) failed("mark_consistent()", error);
}

void Mutex::unlock_failed(State* s, int result) const {
  if (result == EPERM) {
    const pid_t owner = mutex_internal::owner_of(s);
    if (owner != 0) check_fork(s, owner, config_, "unlock()");
    check_held(s, "unlock()");
  }
  failed("unlock()", result);
}

void Mutex::unlock_slow(State* s) {
  if (mutex_internal::owner_of(s) != this_thread()) unlock_failed(s, EPERM);
  mutex_internal::forget_holder(s);
  const int result = ::pthread_mutex_unlock(&s->mutex);
  if (result != 0) unlock_failed(s, result);
  // A recursive mutex may still be held; the checks forget it at the last.
  if (mutex_internal::owner_of(s) != this_thread()) forget_held(s);
}

void Mutex::check_held(const State* s, const char* operation) const {
  const pid_t self = this_thread();
  const pid_t owner = mutex_internal::owner_of(s);
  if (ABSL_PREDICT_FALSE(owner != self)) {
    misuse_on(kName, operation, resource(), "by thread %d, which does not hold it; %s", self,
              owner == 0 ? "no thread does" : absl::StrCat("thread ", owner, " does").c_str());
  }
}

void Mutex::assert_held() const { check_held(state("assert_held()"), "assert_held()"); }

bool Mutex::held_by_this_thread() const {
  return mutex_internal::owner_of(state("held_by_this_thread()")) == this_thread();
}

absl::Status Mutex::remove_shared(const MutexConfig& config) {
  if (config.shared_memory_name.empty()) {
    return internal::error_on(absl::StatusCode::kInvalidArgument, "remove_shared",
                              resource_of(config.name), "it has no shared_memory_name");
  }
  if (sys::shm_unlink(config.shared_memory_name.c_str()) != 0) {
    const int error = errno;
    return internal::errno_error_on(error, "remove_shared", resource_of(config.name),
                                    of_shared(config, "shm_unlink"));
  }
  return absl::OkStatus();
}

}  // namespace uncopyable
