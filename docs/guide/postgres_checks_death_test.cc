// docs/guide.md, "What each check catches", the PostgreSQL rows. These need
// a server: this binary starts its own, reached over TCP on 127.0.0.1 so
// that the message names it the same way on every machine but for the port.
#include <unistd.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "docs/guide/guide_testing.h"
#include "gtest/gtest.h"
#include "tests/testing/postgres_suite.h"
#include "uncopyable/postgres.h"

namespace guide_rows {
struct Number {
  UNCOPYABLE_ROW(Number, n)
  int64_t n = 0;
};
}  // namespace guide_rows

namespace guide {
namespace {

using uncopyable::PostgresConnection;
using uncopyable::PostgresResult;
using uncopyable::PostgresStatement;

// "fast" death tests (PostgresDeathSuite): the child is a fork of this
// process, which has the server; connect() reaches it over TCP.
class PostgresChecksDeathTest : public uncopyable::testing::PostgresDeathSuite {
 protected:
  static void SetUpTestSuite() { start_server(/*tcp=*/true); }
};

TEST_F(PostgresChecksDeathTest, TwoThreadsInCallsOnOneConnection) {
  EXPECT_DEATH(
      {
        ::alarm(20);  // a hang (libpq shared by two threads) ends as a failure
        PostgresConnection db = connect();
        std::thread sleeper([&] { (void)db.query("SELECT pg_sleep(2)"); });
        wait_until_the_server_runs("SELECT pg_sleep(2)");  // the sleeper is in its call
        (void)db.query("SELECT 1");  // aborts: another thread is in a call on `db`
        sleeper.join();
      },
      printed(R"msg(uncopyable: PostgresConnection::query() by thread <thread> while thread <thread> is in a call on it; a connection serves one thread at a time (postgresql uncopyable@127.0.0.1:<port>/postgres))msg"));
}

TEST_F(PostgresChecksDeathTest, AStatementOutlivesItsConnection) {
  EXPECT_DEATH(
      {
        std::optional<PostgresStatement> statement;
        {
          PostgresConnection db = connect();
          statement.emplace(*db.prepare("SELECT 1"));
        }
      },
      printed(R"msg(uncopyable: PostgresConnection::~PostgresConnection() while 1 PostgresStatement(s), PostgresTransaction(s) or for_each() call(s) on it is alive; they must end first (postgresql uncopyable@127.0.0.1:<port>/postgres))msg"));
}

TEST_F(PostgresChecksDeathTest, AMovedFromStatement) {
  EXPECT_DEATH(
      {
        PostgresConnection db = connect();
        PostgresStatement statement = *db.prepare("SELECT 1");
        PostgresStatement taker = std::move(statement);
        (void)statement.execute({});  // NOLINT(bugprone-use-after-move)
      },
      printed(R"msg(uncopyable: PostgresStatement::execute() on a moved-from handle)msg"));
}

TEST_F(PostgresChecksDeathTest, ReadingOutsideAResult) {
  EXPECT_DEATH(
      {
        PostgresConnection db = connect();
        PostgresResult rows = *db.query("SELECT 1");
        (void)rows.get_text(1, 0);
      },
      printed(R"msg(uncopyable: PostgresResult::get_text(1, 0) outside the result's 1 rows x 1 columns)msg"));
  EXPECT_DEATH(
      {
        PostgresConnection db = connect();
        PostgresResult rows = *db.query("SELECT 1");
        (void)rows.is_null(1, 0);
      },
      printed(R"msg(uncopyable: PostgresResult::is_null(1, 0) outside the result's 1 rows x 1 columns)msg"));
}

TEST_F(PostgresChecksDeathTest, ReadingOutsideAResultWithReadOrAskingForAColumn) {
  EXPECT_DEATH(
      {
        PostgresConnection db = connect();
        PostgresResult rows = *db.query("SELECT 1");
        (void)rows.read<int>(1, 0);
      },
      printed(R"msg(uncopyable: PostgresResult::read(1, 0) outside the result's 1 rows x 1 columns)msg"));
  EXPECT_DEATH(
      {
        PostgresConnection db = connect();
        PostgresResult rows = *db.query("SELECT 1");
        (void)rows.column_name(1);
      },
      printed(R"msg(uncopyable: PostgresResult::column_name(1) outside the result's 1 columns)msg"));
}

TEST_F(PostgresChecksDeathTest, ReadingTextAsANumber) {
  EXPECT_DEATH(
      {
        PostgresConnection db = connect();
        PostgresResult rows = *db.query("SELECT 'seven'");
        (void)rows.get_int64(0, 0);
      },
      printed(R"msg(uncopyable: PostgresResult::get_int64(0, 0) on "seven", which is not an integer)msg"));
  EXPECT_DEATH(
      {
        PostgresConnection db = connect();
        PostgresResult rows = *db.query("SELECT 'seven'");
        (void)rows.get_double(0, 0);
      },
      printed(R"msg(uncopyable: PostgresResult::get_double(0, 0) on "seven", which is not a number)msg"));
}

TEST_F(PostgresChecksDeathTest, ACommandFromInsideForEach) {
  EXPECT_DEATH(
      {
        PostgresConnection db = connect();
        (void)db.for_each<guide_rows::Number>(
            "SELECT generate_series(1, 10) AS n", [&](const guide_rows::Number&) {
              (void)db.query_value<int64_t>("SELECT 1");  // aborts: for_each's query is running
              return absl::OkStatus();
            });
      },
      printed(R"msg(uncopyable: PostgresConnection::query_value() inside for_each()'s fn, while for_each()'s query is running on this connection; read the rows first, or use another connection (postgresql uncopyable@127.0.0.1:<port>/postgres))msg"));
}

}  // namespace
}  // namespace guide
