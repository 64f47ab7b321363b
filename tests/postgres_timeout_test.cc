// PostgresConnection and a server that stops answering: every command is
// bounded by query_timeout. The server this binary starts has one backend
// frozen (SIGSTOP) at a time, and is always thawed (SIGCONT) again.
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <future>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/fds.h"
#include "tests/testing/postgres_suite.h"
#include "uncopyable/postgres.h"

namespace uncopyable {
namespace {

using ::testing::HasSubstr;

// How long a test waits for a call before it calls it hung.
constexpr std::chrono::seconds kHung(20);
constexpr absl::Duration kTimeout = absl::Milliseconds(300);

// A process stopped with SIGSTOP for as long as this lives.
class Frozen {
 public:
  explicit Frozen(int pid) : pid_(pid) { EXPECT_EQ(::kill(pid_, SIGSTOP), 0) << pid_; }
  ~Frozen() { thaw(); }
  Frozen(const Frozen&) = delete;
  Frozen& operator=(const Frozen&) = delete;
  void thaw() {
    if (std::exchange(frozen_, false)) {
      EXPECT_EQ(::kill(pid_, SIGCONT), 0) << pid_;
    }
  }

 private:
  int pid_;
  bool frozen_ = true;
};

// Runs `call` on a thread of its own and returns what it returned. A call
// still running after kHung is a hang: the test fails, and the server is
// thawed so that the call can end after all.
template <typename F>
auto bounded(F call, std::initializer_list<Frozen*> frozen) -> decltype(call()) {
  std::future<decltype(call())> result = std::async(std::launch::async, std::move(call));
  if (result.wait_for(kHung) != std::future_status::ready) {
    ADD_FAILURE() << "the call hung on a server that stopped answering";
    for (Frozen* f : frozen) f->thaw();
  }
  return result.get();
}

class PostgresTimeoutTest : public testing::PostgresSuite {
 protected:
  // The server's, every command bounded by kTimeout.
  static PostgresConfig config() {
    PostgresConfig config = PostgresSuite::config();
    config.query_timeout = kTimeout;
    return config;
  }
  static PostgresConnection connect() { return PostgresSuite::connect(config()); }
  // The server process behind `db`.
  static int backend_of(PostgresConnection& db) {
    absl::StatusOr<PostgresResult> pid = db.query("SELECT pg_backend_pid()");
    EXPECT_TRUE(pid.ok()) << pid.status();
    return pid.ok() ? static_cast<int>(pid->get_int64(0, 0)) : -1;
  }
  // DeadlineExceeded, naming the database and the SQL: "query \"SELECT 1\""
  // is said "query <where>: \"SELECT 1\": ...".
  static void expect_timed_out(const absl::Status& status, absl::string_view verb_and_sql) {
    EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded) << status;
    const size_t space = verb_and_sql.find(' ');
    EXPECT_THAT(status.message(),
                HasSubstr(absl::StrCat(verb_and_sql.substr(0, space), " ", where(), ": ",
                                       verb_and_sql.substr(space + 1), ": ")));
    EXPECT_THAT(status.message(), HasSubstr("within query_timeout 300ms"));
    EXPECT_THAT(status.message(), HasSubstr("rebuild()"));
  }
};

TEST_F(PostgresTimeoutTest, AQueryOnAFrozenBackendTimesOutAndAbandonsTheConnection) {
  PostgresConnection db = connect();
  Frozen frozen(backend_of(db));
  const absl::Status status = bounded([&] { return db.query("SELECT 1").status(); }, {&frozen});
  expect_timed_out(status, "query \"SELECT 1\"");
  // Abandoned: every later call says so at once, and to rebuild().
  const absl::Status later = db.execute("SELECT 2");
  EXPECT_EQ(later.code(), absl::StatusCode::kUnavailable) << later;
  EXPECT_THAT(later.message(), HasSubstr("execute " + where() + ": \"SELECT 2\": the connection was "
                                         "abandoned when a command on it timed out"));
  EXPECT_THAT(later.message(), HasSubstr("rebuild() a new one"));
  EXPECT_EQ(db.begin().status().code(), absl::StatusCode::kUnavailable);
  frozen.thaw();
  absl::StatusOr<PostgresConnection> again = db.rebuild();
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(again->execute("SELECT 1").ok());
}

TEST_F(PostgresTimeoutTest, EveryPathThatWaitsForTheServerIsBounded) {
  {
    PostgresConnection db = connect();
    Frozen frozen(backend_of(db));
    expect_timed_out(bounded([&] { return db.execute("SELECT 1"); }, {&frozen}),
                     "execute \"SELECT 1\"");
  }
  {
    PostgresConnection db = connect();
    Frozen frozen(backend_of(db));
    expect_timed_out(bounded([&] { return db.prepare("SELECT $1::int").status(); }, {&frozen}),
                     "prepare \"SELECT $1::int\"");
  }
  {
    PostgresConnection db = connect();
    absl::StatusOr<PostgresStatement> statement = db.prepare("SELECT $1::int");
    ASSERT_TRUE(statement.ok()) << statement.status();
    Frozen frozen(backend_of(db));
    expect_timed_out(bounded([&] { return statement->execute({"1"}).status(); }, {&frozen}),
                     "execute \"SELECT $1::int\"");
  }
  {
    PostgresConnection db = connect();
    Frozen frozen(backend_of(db));
    expect_timed_out(bounded([&] { return db.begin().status(); }, {&frozen}), "begin \"BEGIN\"");
  }
  {
    PostgresConnection db = connect();
    absl::StatusOr<PostgresTransaction> tx = db.begin();
    ASSERT_TRUE(tx.ok()) << tx.status();
    Frozen frozen(backend_of(db));
    expect_timed_out(bounded([&] { return tx->commit(); }, {&frozen}), "commit \"COMMIT\"");
  }
  {
    PostgresConnection db = connect();
    absl::StatusOr<PostgresTransaction> tx = db.begin();
    ASSERT_TRUE(tx.ok()) << tx.status();
    Frozen frozen(backend_of(db));
    expect_timed_out(bounded([&] { return tx->rollback(); }, {&frozen}), "rollback \"ROLLBACK\"");
  }
  {
    PostgresConnection db = connect();
    std::optional<PostgresTransaction> tx;
    {
      absl::StatusOr<PostgresTransaction> begun = db.begin();
      ASSERT_TRUE(begun.ok()) << begun.status();
      tx.emplace(*std::move(begun));
    }
    Frozen frozen(backend_of(db));
    // The destructor's ROLLBACK is bounded too (its error is lost).
    bounded([&] { tx.reset(); return 0; }, {&frozen});
    EXPECT_EQ(db.execute("SELECT 1").code(), absl::StatusCode::kUnavailable);  // abandoned
  }
}

TEST_F(PostgresTimeoutTest, AHugeQueryToAServerThatDoesNotReadIsBounded) {
  PostgresConnection db = connect();
  Frozen frozen(backend_of(db));
  // Far more than the socket buffers hold: sending alone would block.
  const std::string sql = "SELECT '" + std::string(32 << 20, 'x') + "'";
  const absl::Status status = bounded([&] { return db.execute(sql); }, {&frozen});
  EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded) << status;
  EXPECT_THAT(status.message(), HasSubstr(absl::StrCat("(", sql.size(), " bytes)")));
}

TEST_F(PostgresTimeoutTest, AFrozenServerCannotHoldUpTheCancelEither) {
  const std::set<int> before = testing::open_fds();
  {
    PostgresConnection db = connect();
    Frozen backend(backend_of(db));
    const int postmaster = server().postmaster_pid();
    ASSERT_GT(postmaster, 0);
    Frozen whole_server(postmaster);
    // The cancel request's own connection waits for a server that does not
    // answer: it is given a bounded time, then left behind.
    const absl::Status status =
        bounded([&] { return db.query("SELECT 1").status(); }, {&backend, &whole_server});
    expect_timed_out(status, "query \"SELECT 1\"");
    EXPECT_THAT(status.message(), HasSubstr("did not take a request to cancel"));
  }
  // Thawed, the server takes the request, and its descriptor is closed.
  for (int i = 0; i < 1000 && testing::open_fds() != before; ++i) ::usleep(10'000);
  EXPECT_EQ(testing::open_fds(), before);
}

TEST_F(PostgresTimeoutTest, ALongQueryIsCancelledOnTheServer) {
  PostgresConnection db = connect();
  const int backend = backend_of(db);
  expect_timed_out(db.execute("SELECT pg_sleep(30)"), "execute \"SELECT pg_sleep(30)\"");
  // The server gave up the query: its backend is idle again (or gone).
  absl::StatusOr<PostgresConnection> watcher = PostgresConnection::open(config());
  ASSERT_TRUE(watcher.ok()) << watcher.status();
  const std::string busy = absl::StrCat(
      "SELECT count(*) FROM pg_stat_activity WHERE pid = ", backend, " AND state = 'active'");
  int64_t active = 1;
  for (int i = 0; i < 500 && active != 0; ++i) {
    absl::StatusOr<PostgresResult> rows = watcher->query(busy);
    ASSERT_TRUE(rows.ok()) << rows.status();
    active = rows->get_int64(0, 0);
    if (active != 0) ::usleep(10'000);
  }
  EXPECT_EQ(active, 0);
}

TEST_F(PostgresTimeoutTest, QuickCommandsAreUntouchedByTheTimeout) {
  PostgresConnection db = connect();
  for (int i = 0; i < 20; ++i) {
    absl::StatusOr<PostgresResult> rows = db.query("SELECT pg_sleep(0.01), 42");
    ASSERT_TRUE(rows.ok()) << rows.status();
    EXPECT_EQ(rows->get_int64(0, 1), 42);
  }
  PostgresConfig forever = config();
  forever.query_timeout = absl::InfiniteDuration();
  absl::StatusOr<PostgresConnection> patient = PostgresConnection::open(forever);
  ASSERT_TRUE(patient.ok()) << patient.status();
  EXPECT_TRUE(patient->execute("SELECT pg_sleep(0.01)").ok());
}

TEST_F(PostgresTimeoutTest, LettingGoOfAStatementNeverWaitsForTheServer) {
  PostgresConnection db = connect();
  std::optional<PostgresStatement> statement;
  {
    absl::StatusOr<PostgresStatement> prepared = db.prepare("SELECT 1");
    ASSERT_TRUE(prepared.ok()) << prepared.status();
    statement.emplace(*std::move(prepared));
  }
  {
    Frozen frozen(backend_of(db));
    bounded([&] { statement.reset(); return 0; }, {&frozen});
  }
  absl::StatusOr<PostgresResult> left = db.query("SELECT count(*) FROM pg_prepared_statements");
  ASSERT_TRUE(left.ok()) << left.status();
  EXPECT_EQ(left->get_int64(0, 0), 0);
}

}  // namespace
}  // namespace uncopyable
