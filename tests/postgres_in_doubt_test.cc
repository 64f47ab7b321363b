// When is a failed PostgreSQL command in doubt? When the server got it whole
// and the connection went before the answer came, and it could have
// committed: outside a transaction block, or the COMMIT itself (libpqxx's
// in_doubt_error). Then a blind retry may run it twice, so it must not look
// like the retryable Unavailable of a connection that was already gone.
#include <signal.h>
#include <sys/types.h>

#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/example_rows.h"
#include "tests/testing/postgres_suite.h"
#include "uncopyable/postgres.h"
#include "uncopyable/sql_error.h"

namespace uncopyable {
namespace {

using ::testing::HasSubstr;

// A server of each test's own: killing a backend with SIGKILL puts the
// whole server through crash recovery.
class PostgresInDoubtTest : public testing::PostgresPerTestSuite {
 protected:
  static int backend_of(PostgresConnection& db) {
    absl::StatusOr<int64_t> pid = db.query_value<int64_t>("SELECT pg_backend_pid()");
    EXPECT_TRUE(pid.ok()) << pid.status();
    return pid.ok() ? static_cast<int>(*pid) : -1;
  }
  // Runs `command` on a thread; once the server runs `running`, its backend
  // is killed with SIGKILL: the connection drops with no word from the
  // server, as in a crash or a cut network. What `command` returned.
  template <typename Command>
  static absl::Status killed_while_running(int backend, const std::string& running,
                                           Command command) {
    absl::Status status;
    std::thread worker([&] { status = command(); });
    wait_until_the_server_runs(running);
    EXPECT_EQ(::kill(backend, SIGKILL), 0);
    worker.join();
    return status;
  }
};

TEST_F(PostgresInDoubtTest, ACommandOutsideATransactionLostOnceSentIsInDoubt) {
  PostgresConnection db = connect();
  const int backend = backend_of(db);
  const std::string sql = "SELECT pg_sleep(30) /* outside */";
  absl::Status status =
      killed_while_running(backend, sql, [&] { return db.execute(sql); });
  EXPECT_EQ(status.code(), absl::StatusCode::kUnknown) << status;
  EXPECT_TRUE(is_in_doubt(status)) << status;
  EXPECT_THAT(std::string(status.message()),
              HasSubstr("the connection was lost after the server got the command"));
  EXPECT_THAT(std::string(status.message()), HasSubstr("whether it took effect is unknown"));
}

TEST_F(PostgresInDoubtTest, ACommandInsideATransactionLostIsUnavailableNotInDoubt) {
  PostgresConnection db = connect();
  const int backend = backend_of(db);
  absl::StatusOr<PostgresTransaction> tx = db.begin();
  ASSERT_TRUE(tx.ok()) << tx.status();
  const std::string sql = "SELECT pg_sleep(30) /* inside */";
  absl::Status status =
      killed_while_running(backend, sql, [&] { return db.execute(sql); });
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
  EXPECT_FALSE(is_in_doubt(status)) << status;
}

// A deferred constraint trigger makes the COMMIT itself take its time.
TEST_F(PostgresInDoubtTest, ACommitLostOnceSentIsInDoubt) {
  PostgresConnection db = connect();
  ASSERT_TRUE(db.execute("CREATE TABLE t (x int); "
                         "CREATE FUNCTION slow() RETURNS trigger LANGUAGE plpgsql AS "
                         "$$ BEGIN PERFORM pg_sleep(30); RETURN NULL; END $$; "
                         "CREATE CONSTRAINT TRIGGER slow_commit AFTER INSERT ON t "
                         "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION slow()")
                  .ok());
  const int backend = backend_of(db);
  absl::StatusOr<PostgresTransaction> tx = db.begin();
  ASSERT_TRUE(tx.ok()) << tx.status();
  ASSERT_TRUE(db.execute("INSERT INTO t VALUES (1)").ok());
  absl::Status status = killed_while_running(backend, "COMMIT", [&] { return tx->commit(); });
  EXPECT_EQ(status.code(), absl::StatusCode::kUnknown) << status;
  EXPECT_TRUE(is_in_doubt(status)) << status;
}

// Today's review: a session the server ends with a word (57P01, an
// administrator's pg_terminate_backend) after a CALL's procedure committed
// was the retryable Unavailable; the row was there.
TEST_F(PostgresInDoubtTest, ASessionEndedByTheServerAfterAProcedureCommittedIsInDoubt) {
  PostgresConnection db = connect();
  ASSERT_TRUE(db.execute("CREATE TABLE t (x int); "
                         "CREATE PROCEDURE p() LANGUAGE plpgsql AS "
                         "$$ BEGIN INSERT INTO t VALUES (1); COMMIT; PERFORM pg_sleep(30); END $$")
                  .ok());
  const int backend = backend_of(db);
  absl::Status status;
  std::thread worker([&] { status = db.execute("CALL p()"); });
  wait_until_the_server_runs("CALL p()");
  PostgresConnection admin = connect();
  ASSERT_TRUE(admin.execute(absl::StrCat("SELECT pg_terminate_backend(", backend, ")")).ok());
  worker.join();
  EXPECT_EQ(status.code(), absl::StatusCode::kUnknown) << status;
  EXPECT_TRUE(is_in_doubt(status)) << status;
  absl::StatusOr<int64_t> rows = admin.query_value<int64_t>("SELECT count(*) FROM t");
  ASSERT_TRUE(rows.ok()) << rows.status();
  EXPECT_EQ(*rows, 1);  // it had committed: a retry would have made it 2
}

// ... and a text of several statements inside a transaction, whose COMMIT
// comes after the first.
TEST_F(PostgresInDoubtTest, ATextWithACommitAfterItsFirstStatementIsInDoubt) {
  PostgresConnection db = connect();
  ASSERT_TRUE(db.execute("CREATE TABLE t (x int)").ok());
  const int backend = backend_of(db);
  absl::StatusOr<PostgresTransaction> tx = db.begin();
  ASSERT_TRUE(tx.ok()) << tx.status();
  const std::string sql = "INSERT INTO t VALUES (1); COMMIT; SELECT pg_sleep(30)";
  absl::Status status = killed_while_running(backend, sql, [&] { return db.execute(sql); });
  EXPECT_EQ(status.code(), absl::StatusCode::kUnknown) << status;
  EXPECT_TRUE(is_in_doubt(status)) << status;
}

// A connection the server closed while it sat idle: the next command never
// reached the server, so it is the retryable Unavailable, not in doubt.
TEST_F(PostgresInDoubtTest, ACommandOnAConnectionTheServerClosedIsUnavailableNotInDoubt) {
  PostgresConnection db = connect();
  ASSERT_TRUE(db.execute("CREATE TABLE t (x int)").ok());
  ASSERT_TRUE(server().stop_immediately().ok());
  ASSERT_TRUE(server().restart().ok());
  absl::Status status = db.execute("INSERT INTO t VALUES (1)");
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
  EXPECT_FALSE(is_in_doubt(status)) << status;
  EXPECT_THAT(std::string(status.message()),
              ::testing::ContainsRegex("\"INSERT INTO t VALUES \\(1\\)\": .*(closed|terminat)"));
  absl::StatusOr<PostgresConnection> again = db.rebuild();
  ASSERT_TRUE(again.ok()) << again.status();
  absl::StatusOr<int64_t> rows = again->query_value<int64_t>("SELECT count(*) FROM t");
  ASSERT_TRUE(rows.ok()) << rows.status();
  EXPECT_EQ(*rows, 0);  // it never ran: a retry is safe
}

TEST_F(PostgresInDoubtTest, ATimeoutOutsideATransactionIsInDoubtInsideItIsNot) {
  PostgresConfig config = this->config();
  config.query_timeout = absl::Milliseconds(300);
  {
    PostgresConnection db = connect(config);
    absl::Status status = db.execute("SELECT pg_sleep(5)");
    EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded) << status;
    EXPECT_TRUE(is_in_doubt(status)) << status;
  }
  {
    PostgresConnection db = connect(config);
    absl::StatusOr<PostgresTransaction> tx = db.begin();
    ASSERT_TRUE(tx.ok()) << tx.status();
    absl::Status status = db.execute("SELECT pg_sleep(5)");
    EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded) << status;
    EXPECT_FALSE(is_in_doubt(status)) << status;
  }
}

// The same for a command whose rows are streamed (for_each).
TEST_F(PostgresInDoubtTest, AStreamedCommandOutsideATransactionLostOnceSentIsInDoubt) {
  PostgresConnection db = connect();
  const int backend = backend_of(db);
  const std::string sql = "SELECT $1::int8 AS v FROM pg_sleep(30)";
  absl::Status status = killed_while_running(backend, sql, [&] {
    return db.for_each<example_rows::Number>(
        sql, 1, [](const example_rows::Number&) { return absl::OkStatus(); });
  });
  EXPECT_EQ(status.code(), absl::StatusCode::kUnknown) << status;
  EXPECT_TRUE(is_in_doubt(status)) << status;
}

}  // namespace
}  // namespace uncopyable
