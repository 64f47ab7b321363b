#include "uncopyable/pool.h"

#include <pthread.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <new>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "uncopyable/internal/message.h"
#include "uncopyable/internal/process.h"

namespace uncopyable {

absl::Status PoolSettings::validate() const {
  const auto positive = [](absl::Duration d) { return d > absl::ZeroDuration(); };
  const auto finite = [](absl::Duration d) { return d != absl::InfiniteDuration(); };
  return ConfigRules(*this)
      .in_range("max_size", max_size, int32_t{1}, int32_t{100000})
      .in_range("min_idle", min_idle, int32_t{0}, max_size)
      .check(positive(acquire_timeout), "acquire_timeout",
             "must be positive (acquire(deadline) for another wait)")
      .check(positive(idle_timeout), "idle_timeout", "must be positive (inf: never)")
      .check(positive(max_lifetime), "max_lifetime", "must be positive (inf: never)")
      .check(lifetime_jitter >= 0 && lifetime_jitter <= 0.5, "lifetime_jitter",
             absl::StrCat(lifetime_jitter, " is out of range [0, 0.5]"))
      .check(positive(health_check_timeout) && finite(health_check_timeout),
             "health_check_timeout", "must be positive and finite")
      .non_negative("health_check_skip_within", health_check_skip_within)
      .non_negative("leak_threshold", leak_threshold)
      .check(positive(rebuild_backoff_initial) && finite(rebuild_backoff_initial),
             "rebuild_backoff_initial", "must be positive and finite")
      .check(finite(rebuild_backoff_max) && rebuild_backoff_max >= rebuild_backoff_initial,
             "rebuild_backoff_max", "must be finite and at least rebuild_backoff_initial")
      .check(rebuild_backoff_multiplier >= 1 && rebuild_backoff_multiplier <= 100,
             "rebuild_backoff_multiplier",
             absl::StrCat(rebuild_backoff_multiplier, " is out of range [1, 100]"))
      .status();
}

namespace {

// "x.cc:12": where a lease was taken.
std::string place(const std::source_location& where) {
  return absl::StrCat(where.file_name(), ":", where.line());
}

}  // namespace

std::string describe(const PoolLeak& leak) {
  return absl::StrCat("leak ", leak.pool, ": a lease held ", absl::FormatDuration(leak.held),
                      " by thread ", leak.thread, ", acquired at ", place(leak.where), " in ",
                      leak.where.function_name(), "; config ", leak.config);
}

namespace pool_internal {
namespace {

// Every pool of the process: for fork() (each pool's mutex is held across
// it, so that a child finds none held by a thread it does not have) and for
// the tests' leak guard.
class Registry {
 public:
  static Registry& get() {
    static auto* registry = new Registry;  // never destroyed: used at exit
    return *registry;
  }
  void add(StateBase* state) {
    std::lock_guard<std::mutex> lock(mu_);
    states_.push_back(state);
  }
  void remove(StateBase* state) {
    std::lock_guard<std::mutex> lock(mu_);
    states_.erase(std::remove(states_.begin(), states_.end(), state), states_.end());
  }
  std::vector<std::string> live_leases() {
    std::vector<std::string> out;
    std::lock_guard<std::mutex> lock(mu_);
    for (const StateBase* state : states_) state->describe_leases(out);
    return out;
  }

 private:
  Registry() { ::pthread_atfork(&prepare, &after, &after_in_child); }
  static void prepare() {
    Registry& self = get();
    self.mu_.lock();
    for (StateBase* state : self.states_) state->lock_for_fork();
  }
  static void after() {
    Registry& self = get();
    for (StateBase* state : self.states_) state->unlock_after_fork();
    self.mu_.unlock();
  }
  static void after_in_child() {
    Registry& self = get();
    for (StateBase* state : self.states_) {
      state->forget_parents_thread();
      state->unlock_after_fork();
    }
    self.mu_.unlock();
  }

  std::mutex mu_;
  std::vector<StateBase*> states_;
};

}  // namespace

std::vector<std::string> live_leases() { return Registry::get().live_leases(); }

namespace {
std::atomic<int64_t> rounds_of_builders{0};
}  // namespace

int64_t builder_rounds() { return rounds_of_builders.load(std::memory_order_relaxed); }

void users_alive(const char* operation, int users, const std::string& resource) {
  misuse_on("Pool", operation, resource,
            "while %d PoolLease(s) or acquire() call(s) on it %s alive; they must end first",
            users, users == 1 ? "is" : "are");
}

void moved_from(const char* type, const char* operation) {
  misuse_on(type, operation, "", "on a moved-from handle");
}

void LeaseTraits::close_quietly(uintptr_t entry) const noexcept {
  state->release(reinterpret_cast<Entry*>(entry));
}

// A queued acquire(): handed an entry by whoever has one first.
struct StateBase::Waiter {
  std::condition_variable ready;
  std::unique_ptr<Entry> entry;
  Waiter* previous = nullptr;
  Waiter* next = nullptr;
  bool queued = false;
};

// Handles dropped under the lock, closed once it is let go (a close may
// talk to a server).
class StateBase::Closer {
 public:
  explicit Closer(StateBase* state) : state_(state) {}
  Closer(const Closer&) = delete;
  Closer& operator=(const Closer&) = delete;
  ~Closer() { close_all(); }
  void add(std::unique_ptr<Entry> entry) { entries_.push_back(std::move(entry)); }
  // Call with the lock let go.
  void close_all() {
    for (std::unique_ptr<Entry>& entry : entries_) {
      if (!state_->close(std::move(entry)).ok()) {
        state_->failed_closes_.fetch_add(1, std::memory_order_relaxed);
      }
    }
    entries_.clear();
  }
  bool empty() const { return entries_.empty(); }

 private:
  StateBase* state_;
  std::vector<std::unique_ptr<Entry>> entries_;
};

StateBase::StateBase(const PoolSettings& settings, std::string resource, std::string config_text)
    : settings_(settings),
      resource_(std::move(resource)),
      config_text_(std::move(config_text)),
      generation_((internal::watch_forks(), internal::current_fork_generation())),
      backoff_(settings.rebuild_backoff_initial),
      jitter_state_(static_cast<uint64_t>(absl::ToUnixNanos(absl::Now())) |
                    1) {
  idle_.reserve(static_cast<size_t>(settings.max_size));
  leak_handler_ = [](const PoolLeak& leak) {
    const std::string line = describe(leak) + "\n";
    // Best effort: a report stderr cannot take is dropped.
    [[maybe_unused]] const ssize_t written = ::write(STDERR_FILENO, line.data(), line.size());
  };
}

StateBase::~StateBase() = default;

void StateBase::start() {
  Registry::get().add(this);
  builder_ = std::thread([this] { builder_main(); });
}

void StateBase::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  if (generation_ == internal::current_fork_generation()) {
    if (ABSL_PREDICT_FALSE(builder_.get_id() == std::this_thread::get_id())) {
      misuse_on("Pool", "~Pool()", resource_, "from its own thread, in its leak handler");
    }
    builder_wakeup_.notify_all();
    if (builder_.joinable()) builder_.join();
  } else {
    // A fork()ed child that never used the pool: the thread and the
    // condition variable's waiter are the parent's. Neither is touched:
    // detach() or join() would act on whatever thread of the child now has
    // the same pthread_t (glibc reuses them), and a notify could wait for
    // the parent's waiter. Both are abandoned in place (no destructor).
    new (&builder_) std::thread();
    new (&builder_wakeup_) std::condition_variable();
  }
  Registry::get().remove(this);
  Closer closer(this);
  std::lock_guard<std::mutex> lock(mu_);
  if (generation_ == internal::current_fork_generation()) {
    for (std::unique_ptr<Entry>& entry : idle_) closer.add(std::move(entry));
  }
  idle_.clear();
  // (closer closes them after the lock: declared before it.)
}

void StateBase::forget_parents_thread() {
  // In the child, from its fork handler: no thread of the child's exists
  // yet, so the parent's builder's pthread_t names only that thread's
  // leftover (its stack, kept by glibc for reuse). Detached now, before a
  // thread of the child can take that stack and the same pthread_t (later
  // it could detach one of the child's own), so that the thread library
  // and ThreadSanitizer both count it gone; then the std::thread is
  // abandoned in place.
  if (builder_.joinable()) {
    [[maybe_unused]] const int detached = ::pthread_detach(builder_.native_handle());
    new (&builder_) std::thread();
  }
}

void StateBase::lock_for_fork() { mu_.lock(); }
void StateBase::unlock_after_fork() { mu_.unlock(); }

int StateBase::users() const {
  std::lock_guard<std::mutex> lock(mu_);
  // In a fork()ed child that never used the pool, the leases and waiters
  // counted are the parent's: none is the child's.
  if (generation_ != internal::current_fork_generation()) return 0;
  return leased_ + waiters_;
}

void StateBase::describe_leases(std::vector<std::string>& out) const {
  std::lock_guard<std::mutex> lock(mu_);
  for (const Entry* entry = leases_; entry != nullptr; entry = entry->next) {
    out.push_back(absl::StrCat(resource_, ", acquired at ", place(entry->where)));
  }
}

void StateBase::set_leak_handler(std::function<void(const PoolLeak&)> handler) {
  std::lock_guard<std::mutex> lock(mu_);
  leak_handler_ = std::move(handler);
}

PoolMetrics StateBase::metrics() const {
  std::lock_guard<std::mutex> lock(mu_);
  PoolMetrics metrics = counts_;
  metrics.failed_closes = failed_closes_.load(std::memory_order_relaxed);
  metrics.in_use = leased_;
  metrics.idle = static_cast<int32_t>(idle_.size());
  metrics.being_rebuilt = building_;
  metrics.waiters = waiters_;
  return metrics;
}

void StateBase::link_lease(Entry& entry, const std::source_location& where, absl::Time now) {
  entry.thread = internal::this_thread();
  entry.where = where;
  entry.acquired = now;
  entry.leak_reported = false;
  entry.broken = false;
  // The builder reports leaks: it must wake in time for this one.
  if (settings_.leak_threshold > absl::ZeroDuration() &&
      now + settings_.leak_threshold < builder_wakes_at_) {
    builder_wakes_at_ = now + settings_.leak_threshold;
    builder_wakeup_.notify_one();
  }
  entry.previous = nullptr;
  entry.next = leases_;
  if (leases_ != nullptr) leases_->previous = &entry;
  leases_ = &entry;
  ++leased_;
}

void StateBase::unlink_lease(Entry& entry) {
  if (entry.previous != nullptr) {
    entry.previous->next = entry.next;
  } else {
    leases_ = entry.next;
  }
  if (entry.next != nullptr) entry.next->previous = entry.previous;
  entry.previous = entry.next = nullptr;
  --leased_;
}

void StateBase::drop(std::unique_ptr<Entry> entry, Cause cause, Closer& closer) {
  --total_;
  // A drop the pool means to make up, for the next build's cause. One for
  // idle_timeout is the pool shrinking: no build makes it up, and a build
  // much later (for demand) is not its.
  if (cause != Cause::kIdleTimeout) ++pending_[static_cast<int>(cause)];
  PoolCauses& dropped = counts_.dropped;
  switch (cause) {
    case Cause::kBroken: ++dropped.broken; break;
    case Cause::kFailedHealthCheck: ++dropped.failed_health_check; break;
    case Cause::kMaxLifetime: ++dropped.max_lifetime; break;
    case Cause::kIdleTimeout: ++dropped.idle_timeout; break;
    case Cause::kFork: ++dropped.fork; break;
  }
  closer.add(std::move(entry));
  builder_wakeup_.notify_one();
}

void StateBase::give_back(std::unique_ptr<Entry> entry) {
  if (first_waiter_ != nullptr) {
    Waiter* waiter = first_waiter_;
    first_waiter_ = waiter->next;
    if (first_waiter_ != nullptr) {
      first_waiter_->previous = nullptr;
    } else {
      last_waiter_ = nullptr;
    }
    waiter->queued = false;
    --waiters_;
    waiter->entry = std::move(entry);
    waiter->ready.notify_one();
    return;
  }
  idle_.push_back(std::move(entry));
}

int StateBase::needed() const {
  const int for_idle = std::max(0, settings_.min_idle - static_cast<int>(idle_.size()) - building_);
  const int for_waiters = std::max(0, waiters_ - building_);
  return std::min(for_idle + for_waiters, settings_.max_size - total_);
}

absl::Duration StateBase::jittered_lifetime() {
  if (settings_.max_lifetime == absl::InfiniteDuration()) return absl::InfiniteDuration();
  // xorshift64: spread enough that handles built together expire apart.
  jitter_state_ ^= jitter_state_ << 13;
  jitter_state_ ^= jitter_state_ >> 7;
  jitter_state_ ^= jitter_state_ << 17;
  const double part = static_cast<double>(jitter_state_ >> 11) / static_cast<double>(1ULL << 53);
  return settings_.max_lifetime * (1.0 - settings_.lifetime_jitter * part);
}

std::string StateBase::timeout_message(absl::Duration waited, const absl::Status& health) const {
  waited = std::max(absl::ZeroDuration(), absl::Ceil(waited, absl::Milliseconds(1)));
  std::string what = absl::StrCat("no handle within ", absl::FormatDuration(waited), ": ",
                                  leased_, " of ", settings_.max_size, " in use, ", idle_.size(),
                                  " idle, ", building_, " being rebuilt, ", waiters_, " waiting");
  if (!last_build_error_.ok()) {
    absl::StrAppend(&what, ", last rebuild error: ", last_build_error_.message());
  }
  if (!health.ok()) absl::StrAppend(&what, ", last failed health check: ", health.message());
  const Entry* longest = nullptr;
  for (const Entry* entry = leases_; entry != nullptr; entry = entry->next) {
    if (longest == nullptr || entry->acquired < longest->acquired) longest = entry;
  }
  if (longest != nullptr) {
    absl::StrAppend(&what, ", longest lease held ",
                    absl::FormatDuration(absl::Trunc(internal::monotonic_now() - longest->acquired,
                                                     absl::Milliseconds(1))),
                    " by thread ", longest->thread, " (acquired at ", place(longest->where), ")");
  }
  return what;
}

void StateBase::adopt_after_fork() {
  // With mu_ held, in the child, once: the parent's builder thread and
  // waiters are not in this process; its handles are let go. The
  // parent's std::thread is abandoned in place, never detached or joined:
  // its pthread_t may by now name one of the child's own threads (glibc
  // reuses them), and detach() would detach that one.
  new (&builder_) std::thread();
  // The condition variable may record the parent's waiting builder, which
  // the child does not have: glibc's pthread_cond_signal() would wait for
  // it to leave. A fresh one in its place (its destructor, which could wait
  // too, is not run: it holds nothing but its own bytes).
  new (&builder_wakeup_) std::condition_variable();
  generation_ = internal::current_fork_generation();
  for (std::unique_ptr<Entry>& entry : idle_) {
    ++counts_.dropped.fork;
    ++pending_[static_cast<int>(Cause::kFork)];
    entry.reset();  // the handle's own rules let go in a child
  }
  total_ -= static_cast<int>(idle_.size());
  idle_.clear();
  // Leases of the parent's: whether their threads came along or not, they
  // no longer count against the child's capacity or its users(); their
  // entries leave the list (release() of one then only lets its handle go).
  total_ -= leased_;
  leased_ = 0;
  leases_ = nullptr;
  total_ -= building_;
  building_ = 0;
  first_waiter_ = last_waiter_ = nullptr;
  waiters_ = 0;
  stopping_ = false;
  builder_ = std::thread([this] { builder_main(); });
}

// Every time here is on the monotonic clock (internal::monotonic_now()):
// `deadline` was read against the wall clock once, by Pool::acquire().
absl::StatusOr<Entry*> StateBase::acquire(internal::Deadline deadline,
                                          const std::source_location& where) {
  Closer closer(this);  // closes after the lock below is let go
  std::unique_lock<std::mutex> lock(mu_);
  if (ABSL_PREDICT_FALSE(generation_ != internal::current_fork_generation())) {
    adopt_after_fork();
  }
  absl::Time now = internal::monotonic_now();
  const absl::Duration given = deadline.left_at(now);  // for the timeout message
  bool waited = false;
  bool first_in_line = false;
  absl::Status health;
  while (true) {
    // Back here (first in line) after a handle that expired or failed its
    // check: time went by.
    if (first_in_line) now = internal::monotonic_now();
    std::unique_ptr<Entry> entry;
    while (!idle_.empty()) {
      std::unique_ptr<Entry> candidate = std::move(idle_.back());
      idle_.pop_back();
      if (now < candidate->expires) {
        entry = std::move(candidate);
        break;
      }
      drop(std::move(candidate), Cause::kMaxLifetime, closer);
    }
    if (entry == nullptr) {
      if (deadline.passed_at(now)) {
        ++counts_.timeouts;
        return internal::error_on(absl::StatusCode::kDeadlineExceeded, "acquire", resource_,
                                  timeout_message(given, health));
      }
      Waiter waiter;
      waiter.queued = true;
      if (first_in_line && first_waiter_ != nullptr) {
        waiter.next = first_waiter_;
        first_waiter_->previous = &waiter;
        first_waiter_ = &waiter;
      } else {
        waiter.previous = last_waiter_;
        if (last_waiter_ != nullptr) last_waiter_->next = &waiter;
        last_waiter_ = &waiter;
        if (first_waiter_ == nullptr) first_waiter_ = &waiter;
      }
      ++waiters_;
      if (!waited) ++counts_.waits;
      waited = true;
      builder_wakeup_.notify_one();
      const absl::Time queued_at = now;
      const auto until = deadline.steady();
      while (waiter.entry == nullptr && !deadline.passed()) {
        waiter.ready.wait_until(lock, until);
      }
      now = internal::monotonic_now();
      counts_.wait_time += now - queued_at;
      if (waiter.queued) {
        if (waiter.previous != nullptr) {
          waiter.previous->next = waiter.next;
        } else {
          first_waiter_ = waiter.next;
        }
        if (waiter.next != nullptr) {
          waiter.next->previous = waiter.previous;
        } else {
          last_waiter_ = waiter.previous;
        }
        --waiters_;
      }
      if (waiter.entry == nullptr) {
        ++counts_.timeouts;
        return internal::error_on(absl::StatusCode::kDeadlineExceeded, "acquire", resource_,
                                  timeout_message(given, health));
      }
      entry = std::move(waiter.entry);
      if (now >= entry->expires) {
        drop(std::move(entry), Cause::kMaxLifetime, closer);
        first_in_line = true;
        continue;
      }
    }
    link_lease(*entry, where, now);
    if (now - entry->returned < settings_.health_check_skip_within) {
      ++counts_.acquires;
      return entry.release();
    }
    if (deadline.passed_at(now)) {
      // No time left to check it: a check cut off at once would cost a
      // healthy handle (a PostgreSQL connection is abandoned). It stays the
      // pool's, unchecked; the caller is told the deadline passed.
      unlink_lease(*entry);
      give_back(std::move(entry));
      ++counts_.timeouts;
      return internal::error_on(absl::StatusCode::kDeadlineExceeded, "acquire", resource_,
                                timeout_message(given, health));
    }
    lock.unlock();
    closer.close_all();
    health = check(*entry,
                   std::min(deadline, internal::Deadline::after(settings_.health_check_timeout))
                       .wall());
    lock.lock();
    if (health.ok()) {
      ++counts_.acquires;
      return entry.release();
    }
    ++counts_.failed_health_checks;
    unlink_lease(*entry);
    drop(std::move(entry), Cause::kFailedHealthCheck, closer);
    // Closed now, not when acquire() returns: the caller may wait on for
    // another, and the failed one must not stay open (max_size + 1 handles,
    // its locks held) meanwhile.
    lock.unlock();
    closer.close_all();
    lock.lock();
    first_in_line = true;
  }
}

void StateBase::release(Entry* raw) noexcept {
  std::unique_ptr<Entry> entry(raw);
  Closer closer(this);
  std::lock_guard<std::mutex> lock(mu_);
  ++counts_.releases;
  const uint32_t here = internal::current_fork_generation();
  if (ABSL_PREDICT_FALSE(entry->generation != here)) {
    // The parent's lease, ended in a fork()ed child: its handle is let go
    // (the handle's own rules make that harmless), never given back. Once
    // the child adopted the pool (adopt_after_fork()), the entry is no
    // longer linked or counted.
    if (generation_ != here) {
      unlink_lease(*entry);
      --total_;
    }
    entry.reset();
    return;
  }
  unlink_lease(*entry);
  const absl::Time now = internal::monotonic_now();
  // Given back inside a transaction, or otherwise unfit to lend as a fresh
  // handle (reusable(): a local look, no system call): dropped, never lent
  // again, whatever health_check_skip_within says.
  if (entry->broken || !reusable(*entry)) {
    drop(std::move(entry), Cause::kBroken, closer);
    return;
  }
  if (now >= entry->expires) {
    drop(std::move(entry), Cause::kMaxLifetime, closer);
    return;
  }
  entry->returned = now;
  // The builder drops idle handles: it must wake in time for this one.
  if (settings_.idle_timeout != absl::InfiniteDuration() &&
      now + settings_.idle_timeout < builder_wakes_at_) {
    builder_wakes_at_ = now + settings_.idle_timeout;
    builder_wakeup_.notify_one();
  }
  give_back(std::move(entry));
}

void StateBase::builder_main() {
  Closer closer(this);
  std::vector<PoolLeak> leaks;
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    rounds_of_builders.fetch_add(1, std::memory_order_relaxed);
    const absl::Time now = internal::monotonic_now();
    absl::Time wake = absl::InfiniteFuture();
    // Idle handles past their lifetime, or idle too long (oldest first,
    // keeping min_idle).
    for (size_t i = 0; i < idle_.size();) {
      Entry& entry = *idle_[i];
      const bool expired = now >= entry.expires;
      const bool idle_too_long =
          settings_.idle_timeout != absl::InfiniteDuration() &&
          now - entry.returned >= settings_.idle_timeout &&
          static_cast<int>(idle_.size()) > settings_.min_idle;
      if (expired || idle_too_long) {
        std::unique_ptr<Entry> gone = std::move(idle_[i]);
        idle_.erase(idle_.begin() + static_cast<std::ptrdiff_t>(i));
        drop(std::move(gone), expired ? Cause::kMaxLifetime : Cause::kIdleTimeout, closer);
        continue;
      }
      wake = std::min(wake, entry.expires);
      // Only a handle that idle_timeout can drop (more idle than min_idle)
      // has a time to wake for: one kept for min_idle has none, and its
      // passed time would wake the thread at once, forever.
      if (settings_.idle_timeout != absl::InfiniteDuration() &&
          static_cast<int>(idle_.size()) > settings_.min_idle) {
        wake = std::min(wake, entry.returned + settings_.idle_timeout);
      }
      ++i;
    }
    // Leases held too long, each reported once.
    if (settings_.leak_threshold > absl::ZeroDuration()) {
      for (Entry* entry = leases_; entry != nullptr; entry = entry->next) {
        if (entry->leak_reported) continue;
        const absl::Time due = entry->acquired + settings_.leak_threshold;
        if (now >= due) {
          entry->leak_reported = true;
          leaks.push_back(PoolLeak{.pool = resource_,
                                   .thread = entry->thread,
                                   .where = entry->where,
                                   .held = now - entry->acquired,
                                   .config = config_text_});
        } else {
          wake = std::min(wake, due);
        }
      }
    }
    if (!closer.empty() || !leaks.empty()) {
      std::function<void(const PoolLeak&)> handler = leak_handler_;
      lock.unlock();
      closer.close_all();
      for (const PoolLeak& leak : leaks) {
        if (handler) handler(leak);
      }
      leaks.clear();
      lock.lock();
      continue;
    }
    if (needed() > 0) {
      if (now < next_build_at_) {
        wake = std::min(wake, next_build_at_);
      } else {
        ++building_;
        ++total_;
        lock.unlock();
        absl::StatusOr<std::unique_ptr<Entry>> built = build();
        const absl::Time done = internal::monotonic_now();
        lock.lock();
        --building_;
        if (built.ok()) {
          Entry& entry = **built;
          entry.created = done;
          entry.expires = done + jittered_lifetime();
          entry.returned = done;
          entry.generation = generation_;
          ++counts_.builds;
          backoff_ = settings_.rebuild_backoff_initial;
          last_build_error_ = absl::OkStatus();  // timeouts say only a current failure
          PoolCauses& cause = counts_.built;
          int64_t* counters[kCauses] = {&cause.broken, &cause.failed_health_check,
                                        &cause.max_lifetime, &cause.idle_timeout, &cause.fork};
          bool made_up = false;
          for (int i = 0; i < kCauses && !made_up; ++i) {
            if (pending_[i] > 0) {
              --pending_[i];
              ++*counters[i];
              made_up = true;
            }
          }
          if (!made_up) ++cause.initial;
          give_back(*std::move(built));
        } else {
          --total_;
          ++counts_.failed_builds;
          last_build_error_ = built.status();
          next_build_at_ = done + backoff_;
          backoff_ = std::min(settings_.rebuild_backoff_max,
                              backoff_ * settings_.rebuild_backoff_multiplier);
        }
        continue;
      }
    }
    builder_wakes_at_ = wake;
    if (wake == absl::InfiniteFuture()) {
      builder_wakeup_.wait(lock);
    } else {
      builder_wakeup_.wait_until(lock, internal::Deadline::after(wake - internal::monotonic_now()).steady());
    }
    builder_wakes_at_ = absl::InfinitePast();  // awake: it looks at everything
  }
}

}  // namespace pool_internal
}  // namespace uncopyable
