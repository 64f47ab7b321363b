// uncopyable/pool.h: Pool<Handle>, N handles rebuilt from one config.
//
//   uncopyable::PoolConfig<uncopyable::PostgresConfig> config{
//       .handle = {.host = "/run/postgresql", .dbname = "scores"},
//       .pool = {.max_size = 16, .min_idle = 4, .acquire_timeout = absl::Seconds(2)}};
//   absl::StatusOr<uncopyable::Pool<uncopyable::PostgresConnection>> pool =
//       uncopyable::Pool<uncopyable::PostgresConnection>::open(config);
//   if (!pool.ok()) return pool.status();       // a bad config only
//
//   absl::StatusOr<uncopyable::PoolLease<uncopyable::PostgresConnection>> db = pool->acquire();
//   if (!db.ok()) return db.status();           // says why: see acquire()
//   absl::Status saved = (*db)->execute("INSERT INTO matches VALUES ('ann', 'bob', 3)");
//   if (saved.code() == absl::StatusCode::kUnavailable) db->mark_broken();
//   // The lease's destructor gives the connection back (or, marked broken,
//   // has the pool drop it and build a fresh one from the config).
//
// "Copy the config, not the connection", as a service: the pool holds one
// config and builds every handle from it with Handle::open(config) (the
// Rebuildable concept, rebuildable.h), so a handle that broke is replaced,
// never repaired. It works with any Rebuildable handle: SqliteConnection,
// PostgresConnection, Socket, File; a handle that cannot be rebuilt (an
// accepted Connection) does not compile as Pool<Connection>.
//
// Who builds: only the pool's own background thread (one per pool), never
// acquire(), so acquire(deadline) returns by its deadline even while a
// connect hangs for its connect_timeout. Failed builds are retried after a
// backoff (rebuild_backoff_initial, times rebuild_backoff_multiplier, at
// most rebuild_backoff_max). Who is served: waiters first come, first
// served (each queued acquire() is handed a handle in turn, never a race on
// a condition variable); idle handles most recently used first (a small
// working set stays warm, the rest reach idle_timeout).
//
// A handle that fails its health check (check_health(deadline), where the
// kind has one: see HealthChecked) is never handed out: it is dropped, a
// fresh one is built, and acquire() goes on with the next one within its
// deadline. The check is skipped for a handle given back within
// health_check_skip_within (HikariCP's 500 ms bypass window): such a handle
// may have died since, and the lease's user then sees the handle's own
// error (mark_broken() it). A handle that fails its check is closed at
// once, before acquire() waits on for another.
//
// A handle given back inside a transaction (a BEGIN whose COMMIT never
// came: the handle's reusable() is false, a look at its own state with no
// system call) is dropped as broken, never lent again, whatever
// health_check_skip_within says: closing it makes the database roll the
// transaction back, and the next user gets another handle. HikariCP
// instead rolls back and reuses the connection; this pool never talks to
// the server on the way back. Commit (or roll back) before the lease ends.
//
// Misuse aborts with one line, as every handle's: destroying a Pool, or
// assigning over one, while a lease of it is alive or an acquire() waits on
// it ("uncopyable: Pool::~Pool() while 1 PoolLease(s) or acquire() call(s)
// on it is alive; they must end first (pool of sqlite "app.db")"), and any
// use of a moved-from Pool or PoolLease.
//
// Cost of acquire() + release on the hit path (an idle handle given back
// within health_check_skip_within): one std::mutex taken twice, two clock
// reads, no allocation and no system call besides the clock.
//
// fork(): a pool used in a fork()ed child lets go of its parent's handles
// without closing them (each handle's own rules make its destruction in a
// child harmless: PostgreSQL and SQLite let go, a File or Socket closes the
// child's copy of the descriptor) and builds its own with a builder thread
// of its own; a lease the child inherited from its parent lets go of its
// handle the same way when it ends. Leases that the parent's threads held
// at fork() count neither against the child's max_size nor as the child's
// users (destroying the pool in the child does not abort for them); a
// lease the fork()ing thread itself held must still end before the pool
// does, unchecked in the child.
#ifndef UNCOPYABLE_POOL_H_
#define UNCOPYABLE_POOL_H_

#include <sys/types.h>

#include <atomic>
#include <concepts>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <source_location>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "uncopyable/check.h"
#include "uncopyable/config.h"
#include "uncopyable/internal/deadline.h"
#include "uncopyable/internal/rules.h"
#include "uncopyable/rebuildable.h"
#include "uncopyable/unique_handle.h"

namespace uncopyable {

// How a pool behaves: data, described like every config (printed, ==,
// hashed, JSON through config_json.h).
struct PoolSettings {
  UNCOPYABLE_CONFIG(PoolSettings, max_size, min_idle, acquire_timeout, idle_timeout, max_lifetime,
                    lifetime_jitter, health_check_timeout, health_check_skip_within,
                    leak_threshold, rebuild_backoff_initial, rebuild_backoff_max,
                    rebuild_backoff_multiplier)

  int32_t max_size = 10;                                 // handles at most, leased or idle
  int32_t min_idle = 0;                                  // idle handles kept built ahead of need
  absl::Duration acquire_timeout = absl::Seconds(30);    // acquire()'s wait; acquire(deadline) for another
  absl::Duration idle_timeout = absl::Minutes(10);       // idle longer: dropped (down to min_idle); inf: never
  absl::Duration max_lifetime = absl::Minutes(30);       // older: dropped when idle; inf: never
  double lifetime_jitter = 0.025;                        // each lifetime shortened by up to this part
  absl::Duration health_check_timeout = absl::Seconds(5);  // hard deadline of one check
  absl::Duration health_check_skip_within = absl::Milliseconds(500);  // given back this recently: not checked
  absl::Duration leak_threshold = absl::ZeroDuration();  // a lease held longer is reported; 0: off
  absl::Duration rebuild_backoff_initial = absl::Milliseconds(100);  // wait after a failed build
  absl::Duration rebuild_backoff_max = absl::Seconds(10);            // the longest such wait
  double rebuild_backoff_multiplier = 2.0;               // each failure in a row waits this much longer

  // max_size from 1 to 100000; min_idle from 0 to max_size; timeouts
  // positive (idle_timeout and max_lifetime may be infinite); jitter in
  // [0, 0.5]; the backoff positive and finite, initial <= max, multiplier
  // in [1, 100]; leak_threshold not negative.
  absl::Status validate() const;
};

// A pool's config: the handle's config (every handle is built from it) and
// the pool's own settings. Printed with the handle's secrets as ***; JSON
// {"handle": {...}, "pool": {...}} through config_json.h. It has no URL
// form: UrlForm maps a URL's parts onto the fields of one flat config, and
// the pool's settings would have to ride in the handle's query string,
// mixed with the handle's own parameters; JSON says which is which.
template <Config C>
struct PoolConfig {
  UNCOPYABLE_CONFIG(PoolConfig, handle, pool)

  C handle{};           // required: what every handle is built from
  PoolSettings pool{};  // how many, how long, how checked

  static constexpr absl::string_view kRequired[] = {"handle"};

  // Both valid; an error names the field ("PoolConfig.pool:
  // PoolSettings.max_size: 0 is out of range [1, 100000]"). A handle kind
  // with a connect_timeout (PostgreSQL, Socket) must have a finite one: the
  // pool's destruction waits out a build in progress, and an infinite
  // connect_timeout (libpq's "0") could make it wait forever. The bound is
  // then the handle's own: libpq applies connect_timeout to each host and
  // address it tries, and a Socket to each address; neither covers the
  // name lookup (DNS) before it.
  absl::Status validate() const {
    bool bounded = true;
    if constexpr (requires { handle.connect_timeout == absl::InfiniteDuration(); }) {
      bounded = handle.connect_timeout != absl::InfiniteDuration();
    }
    return ConfigRules(*this)
        .valid("handle", handle.validate())
        .check(bounded, "handle",
               "connect_timeout must be finite in a pool (its destruction waits out a connect "
               "in progress)")
        .valid("pool", pool.validate())
        .status();
  }
};

// A handle that can say whether it still works, within a deadline: a
// PostgresConnection (an empty query), a SqliteConnection, a Socket (has
// the peer closed?), a File (is the descriptor still open?). A kind
// without it is taken as healthy.
template <typename H>
concept HealthChecked = requires(H& handle, absl::Time deadline) {
  { handle.check_health(deadline) } -> std::same_as<absl::Status>;
};

// Counts by why a handle went (or, for `built`, why it was built).
struct PoolCauses {
  int64_t initial = 0;              // built: none was dropped before it (demand, min_idle)
  int64_t broken = 0;               // a lease was marked broken
  int64_t failed_health_check = 0;  // its health check failed at acquire()
  int64_t max_lifetime = 0;         // it reached max_lifetime
  int64_t idle_timeout = 0;         // idle longer than idle_timeout
  int64_t fork = 0;                 // the parent's, let go in a fork()ed child
};

// What a pool did so far, and what it holds now: a snapshot (metrics()).
struct PoolMetrics {
  int64_t acquires = 0;       // acquire() calls that returned a lease
  int64_t releases = 0;       // leases ended (given back or dropped)
  int64_t waits = 0;          // acquire() calls that found no idle handle and queued
  absl::Duration wait_time;   // their time in the queue, summed
  int64_t timeouts = 0;       // acquire() calls that returned DeadlineExceeded
  int64_t builds = 0;         // handles built
  int64_t failed_builds = 0;  // builds that failed (each followed by a backoff)
  PoolCauses built;           // builds by cause: the sum is `builds`
  PoolCauses dropped;         // handles dropped, by cause (`initial` stays 0)
  int64_t failed_health_checks = 0;  // checks that failed (== dropped.failed_health_check)
  int64_t failed_closes = 0;  // dropped handles whose close() reported an error
  // Now:
  int32_t in_use = 0;         // leased (or being health checked for a lease)
  int32_t idle = 0;           // built and waiting
  int32_t being_rebuilt = 0;  // being built by the pool's thread
  int32_t waiters = 0;        // acquire() calls queued
};

// A lease held longer than leak_threshold, as the leak handler is told.
struct PoolLeak {
  std::string pool;             // the pool's resource(): pool of sqlite "app.db"
  pid_t thread = 0;             // the thread that acquired it (and holds it, unless moved)
  std::source_location where;   // where acquire() was called
  absl::Duration held;          // how long it has been held
  std::string config;           // the pool's config, secrets as ***
};

// One line: `leak pool of sqlite "app.db": a lease held 3.2s (leak_threshold
// 1s) by thread 12, acquired at app.cc:40 in void serve(); config
// PoolConfig{...}`. What the default leak handler writes to stderr.
std::string describe(const PoolLeak& leak);

namespace pool_internal {

class StateBase;

// A built handle as the pool keeps it, with what the pool knows of it.
// Its times are on the monotonic clock (internal::monotonic_now()), so
// that no step of the wall clock makes a handle look older or younger.
struct Entry {
  virtual ~Entry() = default;
  absl::Time created;
  absl::Time expires;                         // created + the jittered max_lifetime
  absl::Time returned = absl::InfinitePast();  // last given back (or built)
  uint32_t generation = 0;                    // the pool's fork generation it belongs to
  bool broken = false;
  // While leased: who, where, since when; linked among the pool's leases.
  pid_t thread = 0;
  std::source_location where;
  absl::Time acquired;
  bool leak_reported = false;
  Entry* previous = nullptr;
  Entry* next = nullptr;
};

template <typename H>
struct EntryOf final : Entry {
  explicit EntryOf(H built) : handle(std::move(built)) {}
  H handle;
};

// A lease's hold on an entry: its close gives the entry back to the pool.
struct LeaseTraits : AddressTraits {
  static constexpr std::string_view kName = "PoolLease";
  explicit LeaseTraits(StateBase* of = nullptr) noexcept : state(of) {}
  StateBase* state;
  absl::Status close(uintptr_t entry) const {
    close_quietly(entry);
    return absl::OkStatus();
  }
  void close_quietly(uintptr_t entry) const noexcept;
};

// The pool itself, whatever the handle type: queues, counts, the builder
// thread. The handle type is reached through the virtual members.
class StateBase {
 public:
  StateBase(const PoolSettings& settings, std::string resource, std::string config_text);
  StateBase(const StateBase&) = delete;
  StateBase& operator=(const StateBase&) = delete;
  virtual ~StateBase();

  // Starts the builder thread: called once the derived object is whole.
  void start();
  // Stops and joins the builder thread (waiting out a build in progress),
  // then closes the idle handles. Before the derived object goes.
  void stop();

  // An entry, checked, counted as leased; or DeadlineExceeded saying why.
  absl::StatusOr<Entry*> acquire(internal::Deadline deadline, const std::source_location& where);
  // A lease ended.
  void release(Entry* raw) noexcept;

  PoolMetrics metrics() const;
  void set_leak_handler(std::function<void(const PoolLeak&)> handler);
  const std::string& resource() const { return resource_; }
  const PoolSettings& settings() const { return settings_; }
  // Leases alive and acquire() calls waiting (for the destruction check).
  int users() const;
  // "pool of sqlite "a.db", acquired at x.cc:12" for each live lease.
  void describe_leases(std::vector<std::string>& out) const;

  // For the fork handlers: every pool's mutex, held across fork().
  void lock_for_fork();
  // In the fork()ed child's handler, with mu_ held: lets go of the
  // parent's builder thread, before the child can start a thread.
  void forget_parents_thread();
  void unlock_after_fork();

 protected:
  // Builds one handle (Handle::open(config)): an entry, or the error.
  virtual absl::StatusOr<std::unique_ptr<Entry>> build() = 0;
  // The handle's health check, if its kind has one.
  virtual absl::Status check(Entry& entry, absl::Time deadline) = 0;
  // Closes the handle (its close(), if its kind has one, with its error).
  virtual absl::Status close(std::unique_ptr<Entry> entry) = 0;
  // Whether the handle is still open (its user may have closed it, or
  // moved it away).
  virtual bool is_open(const Entry& entry) const = 0;
  // Whether a handle given back can be lent again as it is: its reusable()
  // where its kind has one (no transaction left open, not abandoned: a
  // look at the handle's own state, no system call), else is_open(). One
  // that is not is dropped when given back.
  virtual bool reusable(const Entry& entry) const = 0;

 private:
  struct Waiter;
  class Closer;
  enum class Cause { kBroken, kFailedHealthCheck, kMaxLifetime, kIdleTimeout, kFork };
  static constexpr int kCauses = 5;

  void builder_main();
  // In a fork()ed child, at the first use: lets go of the parent's
  // handles and starts a builder of the child's own.
  void adopt_after_fork();
  // With mu_ held:
  void link_lease(Entry& entry, const std::source_location& where, absl::Time now);
  void unlink_lease(Entry& entry);
  void drop(std::unique_ptr<Entry> entry, Cause cause, Closer& closer);
  void give_back(std::unique_ptr<Entry> entry);  // to the first waiter, or idle
  int needed() const;
  absl::Duration jittered_lifetime();
  std::string timeout_message(absl::Duration waited, const absl::Status& health) const;

  const PoolSettings settings_;
  const std::string resource_;
  const std::string config_text_;

  mutable std::mutex mu_;
  std::condition_variable builder_wakeup_;
  std::thread builder_;
  bool stopping_ = false;
  uint32_t generation_ = 0;  // the fork generation it was made or adopted in

  std::vector<std::unique_ptr<Entry>> idle_;  // most recently used last
  Entry* leases_ = nullptr;                   // the leased entries, linked
  int leased_ = 0;
  int building_ = 0;
  int total_ = 0;  // idle, leased and being built
  Waiter* first_waiter_ = nullptr;
  Waiter* last_waiter_ = nullptr;
  int waiters_ = 0;
  int64_t pending_[kCauses] = {};  // drops not yet made up by a build
  // On the monotonic clock, as the entries' times:
  absl::Time next_build_at_ = absl::InfinitePast();
  absl::Time builder_wakes_at_ = absl::InfinitePast();  // when it sleeps, until when
  absl::Duration backoff_;
  absl::Status last_build_error_;
  uint64_t jitter_state_;
  std::function<void(const PoolLeak&)> leak_handler_;

  PoolMetrics counts_;
  std::atomic<int64_t> failed_closes_{0};
};

// A handle with close() returning its error, and is_open() (false once
// closed or moved from): the pool closes what it drops with close(), so
// that failed closes are counted, and never closes one twice.
template <typename H>
concept ClosableHandle = requires(H& handle, const H& view) {
  { handle.close() } -> std::same_as<absl::Status>;
  { view.is_open() } -> std::same_as<bool>;
};

template <Rebuildable H>
class State final : public StateBase {
  static constexpr bool kClosable = ClosableHandle<H>;
  static constexpr bool kKnowsOpen = requires(const H& h) {
    { h.is_open() } -> std::same_as<bool>;
  };

 public:
  using Config = PoolConfig<typename H::config_type>;
  State(Config config, std::string resource, std::string config_text)
      : StateBase(config.pool, std::move(resource), std::move(config_text)),
        config_(std::move(config)) {}
  ~State() override { stop(); }
  const Config& config() const { return config_; }

 protected:
  absl::StatusOr<std::unique_ptr<Entry>> build() override {
    absl::StatusOr<H> handle = H::open(config_.handle);
    if (!handle.ok()) return handle.status();
    return std::unique_ptr<Entry>(std::make_unique<EntryOf<H>>(*std::move(handle)));
  }
  absl::Status check(Entry& entry, absl::Time deadline) override {
    if constexpr (HealthChecked<H>) {
      return static_cast<EntryOf<H>&>(entry).handle.check_health(deadline);
    } else {
      (void)entry;
      (void)deadline;
      return absl::OkStatus();
    }
  }
  absl::Status close(std::unique_ptr<Entry> entry) override {
    if constexpr (kClosable) {
      H& handle = static_cast<EntryOf<H>&>(*entry).handle;
      if (is_open(*entry)) return handle.close();
    }
    entry.reset();
    return absl::OkStatus();
  }
  bool reusable(const Entry& entry) const override {
    if constexpr (requires(const H& h) {
                    { h.reusable() } -> std::same_as<bool>;
                  }) {
      return static_cast<const EntryOf<H>&>(entry).handle.reusable();
    } else {
      return is_open(entry);
    }
  }
  bool is_open(const Entry& entry) const override {
    if constexpr (kKnowsOpen) {
      return static_cast<const EntryOf<H>&>(entry).handle.is_open();
    } else {
      (void)entry;
      return true;
    }
  }

 private:
  const Config config_;
};

// The words the handle's kind names its resource with, from a config
// (Handle::resource_for(config)); the printed config for a kind without.
template <typename H>
std::string resource_of(const typename H::config_type& config) {
  if constexpr (requires { { H::resource_for(config) } -> std::convertible_to<std::string>; }) {
    return H::resource_for(config);
  } else {
    return to_string(config);
  }
}

// Aborts: `operation` on a pool with `users` leases or waiting acquire()s.
[[noreturn]] void users_alive(const char* operation, int users, const std::string& resource);
[[noreturn]] void moved_from(const char* type, const char* operation);

// Every pool's leases alive now, for the tests' leak guard: one text each,
// "pool of sqlite "a.db", acquired at x.cc:12".
std::vector<std::string> live_leases();

// Rounds of every pool's builder thread so far (each time it wakes and
// looks): for the tests that it sleeps when there is nothing to do.
int64_t builder_rounds();

}  // namespace pool_internal

template <Rebuildable H>
class Pool;

// A handle on loan from a Pool: move-only; its destructor gives the handle
// back (most recently used first), or, after mark_broken(), has the pool
// drop it and build a fresh one. It must end before its Pool does.
template <Rebuildable H>
class PoolLease {
 public:
  static constexpr char kName[] = "PoolLease";

  PoolLease(PoolLease&&) noexcept = default;
  // Gives back the handle it held, then takes over `other`'s.
  PoolLease& operator=(PoolLease&&) noexcept = default;
  PoolLease(const PoolLease&) = delete;
  PoolLease& operator=(const PoolLease&) = delete;
  ~PoolLease() = default;

  // The handle, owned by the pool, lent to this lease. Misuse on a
  // moved-from lease ("uncopyable: PoolLease::get() on a moved-from handle").
  [[nodiscard]] H& get() const { return entry("get()").handle; }
  [[nodiscard]] H& operator*() const { return entry("operator*()").handle; }
  [[nodiscard]] H* operator->() const { return &entry("operator->()").handle; }

  // The handle failed (a lost connection, a protocol error): when the lease
  // ends, the pool drops it (closing it) and builds a fresh one from the
  // config in the background, rather than lend it again. Where the pool
  // cannot tell by itself (a kind without a health check, or within
  // health_check_skip_within), only this keeps a dead handle out of the
  // next lease.
  void mark_broken() { entry("mark_broken()").broken = true; }

  // Gives the handle back now (the destructor would); the lease is closed.
  // On a lease already released or moved from, misuse ("uncopyable:
  // PoolLease::release() on a closed handle (a lease)").
  void release() {
    (void)entry("release()");
    (void)lease_.close();
  }

 private:
  friend class Pool<H>;
  PoolLease(pool_internal::StateBase* state, pool_internal::Entry* entry) noexcept
      : lease_(reinterpret_cast<uintptr_t>(entry), pool_internal::LeaseTraits(state)) {}
  pool_internal::EntryOf<H>& entry(const char* operation) const {
    return *reinterpret_cast<pool_internal::EntryOf<H>*>(
        lease_.get_as(kName, operation, [] { return std::string("a lease"); }));
  }

  UniqueHandle<pool_internal::LeaseTraits> lease_;
};

// N handles built from one config. See the top of this file.
template <Rebuildable H>
class Pool {
 public:
  using handle_type = H;
  using config_type = PoolConfig<typename H::config_type>;
  static constexpr char kName[] = "Pool";

  // Validates `config` (InvalidArgument naming the field) and starts the
  // pool's builder thread, which builds min_idle handles, then more as
  // acquire() asks. It does NOT build or connect anything itself, so it
  // never fails because the server is down: the first acquire() then waits
  // (up to its deadline) and its DeadlineExceeded says what the builds
  // failed with. (HikariCP fails at start unless initializationFailTimeout
  // is negative; bb8's build() fails, its build_unchecked() does not: this
  // is build_unchecked.) To fail fast, acquire() once after open().
  [[nodiscard]] static absl::StatusOr<Pool> open(config_type config) {
    if (absl::Status valid = config.validate(); !valid.ok()) return valid;
    std::string resource = "pool of " + pool_internal::resource_of<H>(config.handle);
    std::string text = to_string(config);
    auto state = std::make_unique<pool_internal::State<H>>(std::move(config), std::move(resource),
                                                          std::move(text));
    state->start();
    return Pool(std::move(state));
  }

  // Moving a Pool moves its state's address: leases keep working. Assigning
  // over a Pool with a lease or a waiting acquire() on it aborts, as
  // destroying it does.
  Pool(Pool&&) noexcept = default;
  Pool& operator=(Pool&&) noexcept = default;
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;
  // Stops the builder thread (waiting for a build in progress, up to the
  // handle's own connect timeout) and closes the idle handles (errors lost).
  // A lease alive, or an acquire() waiting, aborts: they hold its address.
  ~Pool() {
    if (state_ != nullptr) require_no_users(internal::Moment::kDestruction);
  }

  // A handle within acquire_timeout: acquire(absl::Now() + acquire_timeout).
  [[nodiscard]] absl::StatusOr<PoolLease<H>> acquire(
      std::source_location where = std::source_location::current()) {
    pool_internal::State<H>& s = state("acquire()");
    return lease(s, s.acquire(internal::Deadline::after(s.settings().acquire_timeout), where));
  }

  // A handle by `deadline`: the most recently given back idle one, health
  // checked (unless given back within health_check_skip_within; the check
  // itself is cut off at the deadline or health_check_timeout, whichever is
  // first; with the deadline already passed, the idle handle is not
  // checked but left idle, and the result is DeadlineExceeded: a check cut
  // off at once would cost a healthy PostgreSQL connection. A deadline
  // shorter than a round trip to the server can still cost one); with none idle, the caller queues behind earlier callers and is
  // handed the next handle given back or built. Never builds one itself:
  // the pool's thread does, so this returns by `deadline` whatever the
  // server does. At the deadline it is DeadlineExceeded, saying why:
  //   acquire pool of postgresql app@127.0.0.1:5432/scores: no handle within
  //   250ms: 16 of 16 in use, 0 idle, 0 being rebuilt, 3 waiting, last
  //   rebuild error: <its message>, longest lease held 3.2s by thread 4242
  //   (acquired at app.cc:123)
  // `where` (the caller, by default) is kept for that message and for leak
  // reports. `deadline` is read against the wall clock once, on the way
  // in; the wait itself is on the monotonic clock, so a step of the wall
  // clock meanwhile (NTP, `date -s`) neither stretches nor cuts it.
  [[nodiscard]] absl::StatusOr<PoolLease<H>> acquire(
      absl::Time deadline, std::source_location where = std::source_location::current()) {
    pool_internal::State<H>& s = state("acquire()");
    return lease(s, s.acquire(internal::Deadline::at(deadline), where));
  }

  // Counts so far, and what the pool holds now.
  [[nodiscard]] PoolMetrics metrics() const { return state("metrics()").metrics(); }

  // What it was opened with.
  [[nodiscard]] const config_type& config() const { return state("config()").config(); }

  // Called (on the pool's thread, with no lock held) for each lease held
  // longer than leak_threshold, once per lease. The default writes
  // describe(leak) to stderr. A handler must not destroy the pool: that is
  // misuse ("uncopyable: Pool::~Pool() from its own thread, in its leak
  // handler (pool of ...)").
  void set_leak_handler(std::function<void(const PoolLeak&)> handler) {
    state("set_leak_handler()").set_leak_handler(std::move(handler));
  }

  // How messages name it: pool of <the handle's resource>, as in
  // `pool of postgresql app@127.0.0.1:5432/scores`.
  // On a moved-from pool, misuse, like every other use.
  [[nodiscard]] std::string resource() const { return state("resource()").resource(); }

 private:
  // Assigning over a Pool with users aborts: checked before the state
  // moves (the member is first).
  class UsersGuard : internal::MemberOf<Pool> {
   public:
    explicit UsersGuard(const Pool* pool) noexcept : internal::MemberOf<Pool>(pool) {}
    UsersGuard(UsersGuard&& other) noexcept = default;
    UsersGuard& operator=(UsersGuard&&) noexcept {
      const Pool& pool = this->owner();
      if (pool.state_ != nullptr) pool.require_no_users(internal::Moment::kMoveAssignment);
      return *this;
    }
    ~UsersGuard() = default;
  };

  explicit Pool(std::unique_ptr<pool_internal::State<H>> state) : state_(std::move(state)) {}
  pool_internal::State<H>& state(const char* operation) const {
    if (ABSL_PREDICT_FALSE(state_ == nullptr)) pool_internal::moved_from(kName, operation);
    return *state_;
  }
  static absl::StatusOr<PoolLease<H>> lease(pool_internal::State<H>& s,
                                            absl::StatusOr<pool_internal::Entry*> entry) {
    if (!entry.ok()) return entry.status();
    return PoolLease<H>(&s, *entry);
  }
  void require_no_users(internal::Moment moment) const {
    const int users = state_->users();
    if (ABSL_PREDICT_FALSE(users != 0)) {
      pool_internal::users_alive(internal::operation_at<Pool>(moment).c_str(), users,
                                 state_->resource());
    }
  }

  UsersGuard guard_{this};
  std::unique_ptr<pool_internal::State<H>> state_;
};

}  // namespace uncopyable

#endif  // UNCOPYABLE_POOL_H_
