// Pool<PostgresConnection> against a real server of the test's own: stopped
// with leases out and waiters queued, then restarted; a frozen backend and a
// server that accepts but never answers, with acquire() held to its
// deadline.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <future>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/postgres_suite.h"
#include "uncopyable/config_json.h"
#include "uncopyable/pool.h"
#include "uncopyable/postgres.h"
#include "uncopyable/socket.h"

namespace uncopyable {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

using PgPool = Pool<PostgresConnection>;

// Waits (at most 20 s) until `done()`; says whether it came.
template <typename Done>
bool eventually(Done done) {
  const absl::Time limit = absl::Now() + absl::Seconds(20);
  while (!done()) {
    if (absl::Now() > limit) return false;
    absl::SleepFor(absl::Milliseconds(2));
  }
  return true;
}

// Runs `call` on a thread of its own and fails the test if it takes longer
// than `limit` (a hang is a failure, not a stuck test).
template <typename F>
auto bounded(F call, absl::Duration limit) -> decltype(call()) {
  auto result = std::async(std::launch::async, std::move(call));
  if (result.wait_for(absl::ToChronoSeconds(limit)) != std::future_status::ready) {
    ADD_FAILURE() << "the call did not return within " << limit;
  }
  return result.get();
}

// A server of each test's own: they stop and restart it.
class PoolPostgresTest : public testing::PostgresPerTestSuite {
 protected:
  static PoolConfig<PostgresConfig> config(PoolSettings settings) {
    PostgresConfig handle = PostgresPerTestSuite::config();
    handle.connect_timeout = absl::Seconds(2);
    handle.query_timeout = absl::Seconds(5);
    return {.handle = handle, .pool = settings};
  }
};

TEST_F(PoolPostgresTest, ServerStoppedWithLeasesOutAndWaitersQueuedThenRestarted) {
  absl::StatusOr<PgPool> pool = PgPool::open(
      config({.max_size = 4,
              .min_idle = 4,
              .health_check_skip_within = absl::ZeroDuration(),
              .rebuild_backoff_initial = absl::Milliseconds(20),
              .rebuild_backoff_max = absl::Milliseconds(100)}));
  ASSERT_TRUE(pool.ok()) << pool.status();
  ASSERT_TRUE(eventually([&] { return pool->metrics().idle == 4; }));
  std::vector<PoolLease<PostgresConnection>> leases;
  for (int i = 0; i < 4; ++i) {
    auto lease = pool->acquire();
    ASSERT_TRUE(lease.ok()) << lease.status();
    ASSERT_TRUE((*lease)->execute("SELECT 1").ok());
    leases.push_back(*std::move(lease));
  }
  // Waiters: three that wait long enough for the restart, and one that
  // must give up while the server is down, saying why.
  std::mutex mu;
  std::vector<absl::Status> served;
  std::vector<std::thread> waiters;
  std::atomic<int64_t> first_served_at{0};
  for (int i = 0; i < 3; ++i) {
    waiters.emplace_back([&] {
      auto lease = pool->acquire(absl::Now() + absl::Seconds(30));
      absl::Status status = lease.status();
      if (lease.ok()) {
        // Never a dead connection: the first command on it works.
        status = (*lease)->execute("SELECT 1");
        int64_t zero = 0;
        first_served_at.compare_exchange_strong(zero, absl::ToUnixNanos(absl::Now()));
      }
      std::lock_guard<std::mutex> lock(mu);
      served.push_back(status);
    });
    ASSERT_TRUE(eventually([&] { return pool->metrics().waiters == i + 1; }));
  }
  ASSERT_TRUE(server().stop_immediately().ok());
  // The leases' users find out, and say so.
  for (PoolLease<PostgresConnection>& lease : leases) {
    absl::Status lost = lease->execute("SELECT 1");
    EXPECT_EQ(lost.code(), absl::StatusCode::kUnavailable) << lost;
    lease.mark_broken();
    lease.release();
  }
  leases.clear();
  ASSERT_TRUE(eventually([&] { return pool->metrics().failed_builds >= 2; }));
  const absl::Time start = absl::Now();
  auto impatient = pool->acquire(start + absl::Milliseconds(200));
  ASSERT_EQ(impatient.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  EXPECT_THAT(std::string(impatient.status().message()),
              StartsWith(absl::StrCat("acquire ", pool->resource(), ": no handle within 200ms: ",
                                      "0 of 4 in use, 0 idle, ")));
  EXPECT_THAT(std::string(impatient.status().message()),
              HasSubstr(absl::StrCat("last rebuild error: connect ",
                                     PostgresConnection::resource_for(pool->config().handle),
                                     ": ")));

  const absl::Time restarted = absl::Now();
  ASSERT_TRUE(server().restart().ok());
  for (std::thread& waiter : waiters) waiter.join();
  ASSERT_EQ(served.size(), 3u);
  for (const absl::Status& status : served) EXPECT_TRUE(status.ok()) << status;
  std::cout << "first acquire after the server started: "
            << absl::FromUnixNanos(first_served_at.load()) - restarted
            << " after restart() was called\n";
  // Full again.
  ASSERT_TRUE(eventually([&] { return pool->metrics().idle == 4; }));
  const PoolMetrics metrics = pool->metrics();
  EXPECT_EQ(metrics.dropped.broken, 4);
  EXPECT_EQ(metrics.built.broken, 4);
  EXPECT_EQ(metrics.timeouts, 1);
  EXPECT_EQ(metrics.builds, 8);
  EXPECT_EQ(metrics.builds, metrics.built.initial + metrics.built.broken);
}

// Review finding 1: with the default health_check_skip_within, a
// connection given back inside a transaction was lent again unchecked: the
// next user's INSERT joined the transaction and was lost with it.
TEST_F(PoolPostgresTest, AConnectionGivenBackInATransactionIsDroppedAtOnce) {
  absl::StatusOr<PgPool> pool = PgPool::open(config({.max_size = 1}));
  ASSERT_TRUE(pool.ok()) << pool.status();
  {
    auto lease = pool->acquire();
    ASSERT_TRUE(lease.ok()) << lease.status();
    ASSERT_TRUE((*lease)->execute("CREATE TABLE given_back (x integer)").ok());
  }
  {
    auto lease = pool->acquire();
    ASSERT_TRUE(lease.ok()) << lease.status();
    ASSERT_TRUE((*lease)->execute("BEGIN").ok());
    ASSERT_TRUE((*lease)->execute("INSERT INTO given_back VALUES (1)").ok());
    EXPECT_FALSE((*lease)->reusable());
  }
  {
    auto lease = pool->acquire();
    ASSERT_TRUE(lease.ok()) << lease.status();
    EXPECT_TRUE((*lease)->reusable());
    ASSERT_TRUE((*lease)->execute("INSERT INTO given_back VALUES (2)").ok());
  }
  EXPECT_EQ(pool->metrics().dropped.broken, 1);
  pool = absl::CancelledError("closed");
  absl::StatusOr<PostgresConnection> direct = PostgresConnection::open(config({}).handle);
  ASSERT_TRUE(direct.ok()) << direct.status();
  absl::StatusOr<std::string> rows =
      direct->query_value<std::string>("SELECT string_agg(x::text, ',') FROM given_back");
  ASSERT_TRUE(rows.ok()) << rows.status();
  EXPECT_EQ(*rows, "2");
}

// PEERS6B finding 4: a connection given back while it LISTENed was lent
// again, its subscription and its queued notifications handed to a user
// who never asked for them (and who never takes them: they pile up).
TEST_F(PoolPostgresTest, AConnectionGivenBackWhileItListensIsDropped) {
  absl::StatusOr<PgPool> pool = PgPool::open(config({.max_size = 1}));
  ASSERT_TRUE(pool.ok()) << pool.status();
  {
    auto lease = pool->acquire();
    ASSERT_TRUE(lease.ok()) << lease.status();
    ASSERT_TRUE((*lease)->execute("LISTEN pooled").ok());
  }
  {
    auto lease = pool->acquire();
    ASSERT_TRUE(lease.ok()) << lease.status();
    absl::StatusOr<int64_t> channels =
        (*lease)->query_value<int64_t>("SELECT count(*) FROM pg_listening_channels()");
    ASSERT_TRUE(channels.ok()) << channels.status();
    EXPECT_EQ(*channels, 0);
  }
  EXPECT_EQ(pool->metrics().dropped.broken, 1);
}

// Review finding 5: acquire() with its deadline already passed checked an
// idle connection with no time left; the check timed out and the healthy
// connection was abandoned and rebuilt (churn under short deadlines).
TEST_F(PoolPostgresTest, APassedDeadlineCostsNoHealthyConnection) {
  absl::StatusOr<PgPool> pool =
      PgPool::open(config({.max_size = 1, .health_check_skip_within = absl::ZeroDuration()}));
  ASSERT_TRUE(pool.ok()) << pool.status();
  const PostgresConnection* first = nullptr;
  {
    auto lease = pool->acquire();
    ASSERT_TRUE(lease.ok()) << lease.status();
    first = &lease->get();
  }
  auto late = pool->acquire(absl::Now());
  EXPECT_EQ(late.status().code(), absl::StatusCode::kDeadlineExceeded);
  PoolMetrics metrics = pool->metrics();
  EXPECT_EQ(metrics.failed_health_checks, 0);
  EXPECT_EQ(metrics.idle, 1);
  auto lease = pool->acquire();
  ASSERT_TRUE(lease.ok()) << lease.status();
  EXPECT_EQ(&lease->get(), first);
  EXPECT_TRUE((*lease)->execute("SELECT 1").ok());
  EXPECT_EQ(pool->metrics().builds, 1);
}

TEST_F(PoolPostgresTest, IdleConnectionsDeadAfterARestartAreNeverLent) {
  absl::StatusOr<PgPool> pool = PgPool::open(
      config({.max_size = 3,
              .min_idle = 3,
              .health_check_skip_within = absl::ZeroDuration(),
              .rebuild_backoff_initial = absl::Milliseconds(20),
              .rebuild_backoff_max = absl::Milliseconds(100)}));
  ASSERT_TRUE(pool.ok()) << pool.status();
  ASSERT_TRUE(eventually([&] { return pool->metrics().idle == 3; }));
  ASSERT_TRUE(server().stop_immediately().ok());
  ASSERT_TRUE(server().restart().ok());
  for (int i = 0; i < 3; ++i) {
    auto lease = pool->acquire(absl::Now() + absl::Seconds(20));
    ASSERT_TRUE(lease.ok()) << lease.status();
    EXPECT_TRUE((*lease)->execute("SELECT 1").ok()) << i;
  }
  EXPECT_EQ(pool->metrics().failed_health_checks, 3);
  EXPECT_EQ(pool->metrics().dropped.failed_health_check, 3);
}

TEST_F(PoolPostgresTest, AFrozenBackendDoesNotHoldAcquirePastItsDeadline) {
  absl::StatusOr<PgPool> pool = PgPool::open(config(
      {.max_size = 1, .health_check_timeout = absl::Seconds(10),
       .health_check_skip_within = absl::ZeroDuration()}));
  ASSERT_TRUE(pool.ok()) << pool.status();
  int backend = 0;
  {
    auto lease = pool->acquire();
    ASSERT_TRUE(lease.ok()) << lease.status();
    absl::StatusOr<int32_t> pid = (*lease)->query_value<int32_t>("SELECT pg_backend_pid()");
    ASSERT_TRUE(pid.ok()) << pid.status();
    backend = *pid;
  }
  ASSERT_EQ(::kill(backend, SIGSTOP), 0);
  const absl::Time start = absl::Now();
  absl::StatusOr<PoolLease<PostgresConnection>> lease = bounded(
      [&] { return pool->acquire(start + absl::Milliseconds(300)); }, absl::Seconds(5));
  const absl::Duration took = absl::Now() - start;
  ASSERT_EQ(::kill(backend, SIGCONT), 0);
  ASSERT_EQ(lease.status().code(), absl::StatusCode::kDeadlineExceeded) << lease.status();
  EXPECT_LT(took, absl::Seconds(2));  // the deadline, not the check's 10 s
  EXPECT_THAT(std::string(lease.status().message()),
              HasSubstr(absl::StrCat("last failed health check: check_health ",
                                     PostgresConnection::resource_for(pool->config().handle),
                                     ": no answer from the server by the deadline; the "
                                     "connection is abandoned")));
  EXPECT_EQ(pool->metrics().failed_health_checks, 1);
  // The pool builds a fresh one and goes on.
  auto fresh = pool->acquire(absl::Now() + absl::Seconds(20));
  ASSERT_TRUE(fresh.ok()) << fresh.status();
  EXPECT_TRUE((*fresh)->execute("SELECT 1").ok());
}

TEST(PoolSilentServerTest, AServerThatAcceptsButNeverAnswersDoesNotHoldAcquire) {
  // A listener that nobody accepts from: the kernel completes the TCP
  // handshake, and then nothing is ever said.
  absl::StatusOr<Listener> silent = Listener::open({.endpoint = Endpoint::tcp("127.0.0.1", 0)});
  ASSERT_TRUE(silent.ok()) << silent.status();
  PostgresConfig handle{.host = "127.0.0.1",
                        .port = silent->endpoint().port(),
                        .dbname = "nothing",
                        .user = "nobody",
                        .sslmode = SslMode::disable,
                        .connect_timeout = absl::Seconds(2)};
  std::unique_ptr<PgPool> pool;
  {
    absl::StatusOr<PgPool> opened = PgPool::open({.handle = handle, .pool = {.max_size = 2}});
    ASSERT_TRUE(opened.ok()) << opened.status();  // nothing was connected yet
    pool = std::make_unique<PgPool>(*std::move(opened));
  }
  const absl::Time start = absl::Now();
  auto lease = bounded([&] { return pool->acquire(absl::Now() + absl::Milliseconds(300)); },
                       absl::Seconds(5));
  EXPECT_LT(absl::Now() - start, absl::Seconds(1));  // not connect_timeout's 2 s
  ASSERT_EQ(lease.status().code(), absl::StatusCode::kDeadlineExceeded) << lease.status();
  EXPECT_EQ(std::string(lease.status().message()),
            absl::StrCat("acquire ", pool->resource(),
                         ": no handle within 300ms: 0 of 2 in use, 0 idle, 1 being rebuilt, 0 "
                         "waiting"));
  // Destroying the pool waits for the build in progress (its own connect
  // timeout), no more.
  bounded([&] { pool.reset(); }, absl::Seconds(10));
}

TEST(PoolPostgresConfigTest, SecretsStayMasked) {
  PoolConfig<PostgresConfig> config{
      .handle = {.dbname = "scores", .user = "ann", .password = Secret<std::string>("hunter2")}};
  EXPECT_THAT(to_string(config), HasSubstr("password=***"));
  EXPECT_THAT(to_string(config), Not(HasSubstr("hunter2")));
  EXPECT_THAT(to_json(config), Not(HasSubstr("hunter2")));
  EXPECT_THAT(to_json(config), StartsWith("{\"handle\":{\"host\":\"localhost\""));
  absl::StatusOr<PoolConfig<PostgresConfig>> back =
      from_json<PoolConfig<PostgresConfig>>(to_json(config, Secrets::kReveal));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, config);
  PoolLeak leak{.pool = "pool of postgresql ann@localhost:5432/scores",
                .thread = 7,
                .where = std::source_location::current(),
                .held = absl::Seconds(3),
                .config = to_string(config)};
  EXPECT_THAT(describe(leak), Not(HasSubstr("hunter2")));
  EXPECT_THAT(describe(leak), StartsWith("leak pool of postgresql ann@localhost:5432/scores: a "
                                         "lease held 3s by thread 7, acquired at "));
}

}  // namespace
}  // namespace uncopyable
