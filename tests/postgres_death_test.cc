// Misuse of a PostgreSQL connection aborts with one line that says what.
// These death tests fork ("fast" style) so that the child reaches the server
// this binary started; each opens its own connection inside the child.
#include <unistd.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <thread>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/testing/forked_child.h"
#include "tests/testing/postgres_suite.h"
#include "uncopyable/postgres.h"

namespace postgres_death_test {
struct Number {
  UNCOPYABLE_ROW(Number, n)
  int64_t n = 0;
};
}  // namespace postgres_death_test

namespace uncopyable {
namespace {

using ::postgres_death_test::Number;

class PostgresDeathTest : public testing::PostgresDeathSuite {};

TEST_F(PostgresDeathTest, UsingAMovedFromOrClosedConnection) {
  EXPECT_DEATH(
      {
        PostgresConnection db = connect();
        PostgresConnection taker = std::move(db);
        (void)db.execute("SELECT 1");  // NOLINT(bugprone-use-after-move)
      },
      "^uncopyable: PostgresConnection::execute\\(\\) on a moved-from handle");
  EXPECT_DEATH(
      {
        PostgresConnection db = connect();
        PostgresConnection taker = std::move(db);
        db.set_notice_handler(nullptr);  // NOLINT(bugprone-use-after-move)
      },
      "^uncopyable: PostgresConnection::set_notice_handler\\(\\) on a moved-from handle");
  EXPECT_DEATH(
      {
        PostgresConnection db = connect();
        (void)db.close();
        (void)db.query("SELECT 1");
      },
      "^uncopyable: PostgresConnection::query\\(\\) on a closed handle \\(postgresql "
      "uncopyable@/tmp/uncopyable-pg-");
}

TEST_F(PostgresDeathTest, AStatementOrTransactionThatOutlivesItsConnection) {
  EXPECT_DEATH(
      {
        std::optional<PostgresStatement> statement;
        {
          PostgresConnection db = connect();
          statement.emplace(*db.prepare("SELECT 1"));
        }
      },
      "^uncopyable: PostgresConnection::~PostgresConnection\\(\\) while 1 PostgresStatement\\(s\\), "
      "PostgresTransaction\\(s\\) or for_each\\(\\) call\\(s\\) on it is alive; they must end first \\(postgresql "
      "uncopyable@/tmp/uncopyable-pg-[^:]+:5432/postgres\\)\n");
  EXPECT_DEATH(
      {
        std::optional<PostgresTransaction> transaction;
        {
          PostgresConnection db = connect();
          transaction.emplace(*db.begin());
        }
      },
      "^uncopyable: PostgresConnection::~PostgresConnection\\(\\) while 1 PostgresStatement\\(s\\), "
      "PostgresTransaction\\(s\\) or for_each\\(\\) call\\(s\\) on it is alive; they must end first \\(postgresql ");
  EXPECT_DEATH(
      {
        PostgresConnection db = connect();
        PostgresStatement statement = *db.prepare("SELECT 1");
        PostgresConnection moved = std::move(db);
      },
      "^uncopyable: PostgresConnection::PostgresConnection\\(PostgresConnection&&\\) while 1 "
      "PostgresStatement\\(s\\), PostgresTransaction\\(s\\) or for_each\\(\\) call\\(s\\) on it is alive; they must end "
      "first \\(postgresql uncopyable@");
  EXPECT_DEATH(
      {
        PostgresConnection db = connect();
        PostgresTransaction transaction = *db.begin();
        db = connect();
      },
      "^uncopyable: PostgresConnection::operator=\\(PostgresConnection&&\\) while 1 "
      "PostgresStatement\\(s\\), PostgresTransaction\\(s\\) or for_each\\(\\) call\\(s\\) on it is alive");
  EXPECT_DEATH(
      {
        PostgresConnection db = connect();
        PostgresStatement statement = *db.prepare("SELECT 1");
        (void)db.close();
      },
      "^uncopyable: PostgresConnection::close\\(\\) while 1 PostgresStatement\\(s\\), "
      "PostgresTransaction\\(s\\) or for_each\\(\\) call\\(s\\) on it is alive");
}

TEST_F(PostgresDeathTest, AMovedFromStatement) {
  EXPECT_DEATH(
      {
        PostgresConnection db = connect();
        PostgresStatement statement = *db.prepare("SELECT 1");
        PostgresStatement taker = std::move(statement);
        (void)statement.execute({});  // NOLINT(bugprone-use-after-move)
      },
      "^uncopyable: PostgresStatement::execute\\(\\) on a moved-from handle");
}

TEST_F(PostgresDeathTest, ReadingAResultWrongly) {
  EXPECT_DEATH((void)result_of("SELECT 'seven'").get_int64(0, 0),
               "^uncopyable: PostgresResult::get_int64\\(0, 0\\) on \"seven\", which is not an "
               "integer\n");
  EXPECT_DEATH((void)result_of("SELECT 1").get_text(1, 0),
               "^uncopyable: PostgresResult::get_text\\(1, 0\\) outside the result's 1 rows x 1 "
               "columns\n");
}

// Every accessor checks the cell the same way (libpq's PQgetisnull answers
// "NULL" for a cell that is not there).
TEST_F(PostgresDeathTest, ReadingOutsideAResultWithAnyAccessor) {
  EXPECT_DEATH((void)result_of("SELECT 1").is_null(1, 0),
               "^uncopyable: PostgresResult::is_null\\(1, 0\\) outside the result's 1 rows x 1 "
               "columns\n");
  EXPECT_DEATH((void)result_of("SELECT 1").is_null(0, -1),
               "^uncopyable: PostgresResult::is_null\\(0, -1\\) outside the result's 1 rows x 1 "
               "columns\n");
  EXPECT_DEATH((void)result_of("SELECT 1, 2").get_int64(0, 2),
               "^uncopyable: PostgresResult::get_int64\\(0, 2\\) outside the result's 1 rows x 2 "
               "columns\n");
  EXPECT_DEATH((void)result_of("SELECT 1.5 WHERE false").get_double(0, 0),
               "^uncopyable: PostgresResult::get_double\\(0, 0\\) outside the result's 0 rows x 1 "
               "columns\n");
}

// Thread A is in a call (the server runs its pg_sleep) when thread B makes
// one on the same connection.
TEST_F(PostgresDeathTest, TwoThreadsInCallsOnOneConnection) {
  EXPECT_DEATH(
      {
        ::alarm(20);  // a hang (libpq shared by two threads) ends as a failure
        PostgresConnection db = connect();
        std::thread sleeper([&] { (void)db.query("SELECT pg_sleep(2)"); });
        wait_until_the_server_runs("SELECT pg_sleep(2)");  // the sleeper is in its call
        (void)db.query("SELECT 1");
        sleeper.join();
      },
      "^uncopyable: PostgresConnection::query\\(\\) by thread [0-9]+ while thread [0-9]+ is in a "
      "call on it; a connection serves one thread at a time \\(postgresql "
      "uncopyable@/tmp/uncopyable-pg-[^:]+:5432/postgres\\)");
  EXPECT_DEATH(
      {
        ::alarm(20);
        PostgresConnection db = connect();
        PostgresStatement select = *db.prepare("SELECT $1::int");
        std::thread sleeper([&] { (void)db.query("SELECT pg_sleep(2.5)"); });
        wait_until_the_server_runs("SELECT pg_sleep(2.5)");
        (void)select.execute({"1"});
        sleeper.join();
      },
      "^uncopyable: PostgresStatement::execute\\(\\) by thread [0-9]+ while thread [0-9]+ is in "
      "a call on it");
}

// Destroying the connection from under a thread in a call on it (SQLite's
// multi_thread connection says the same).
TEST_F(PostgresDeathTest, DestroyingAConnectionWhileAnotherThreadIsInACall) {
  EXPECT_DEATH(
      {
        ::alarm(20);
        std::optional<PostgresConnection> db(connect());
        std::thread sleeper([&] { (void)db->query("SELECT pg_sleep(2.4)"); });
        wait_until_the_server_runs("SELECT pg_sleep(2.4)");
        db.reset();
        sleeper.join();
      },
      "^uncopyable: PostgresConnection::~PostgresConnection\\(\\) by thread [0-9]+ while thread "
      "[0-9]+ is in a call on it; a connection serves one thread at a time");
}

// Moving (or assigning to) the connection from under a thread in a call on
// it: the line names the move and the database.
TEST_F(PostgresDeathTest, MovingAConnectionWhileAnotherThreadIsInACall) {
  EXPECT_DEATH(
      {
        ::alarm(20);
        PostgresConnection db = connect();
        std::thread sleeper([&] { (void)db.query("SELECT pg_sleep(2.2)"); });
        wait_until_the_server_runs("SELECT pg_sleep(2.2)");
        PostgresConnection moved = std::move(db);
        sleeper.join();
      },
      "^uncopyable: PostgresConnection::PostgresConnection\\(PostgresConnection&&\\) by thread "
      "[0-9]+ while thread [0-9]+ is in a call on it; a connection serves one thread at a time "
      "\\(postgresql uncopyable@/tmp/uncopyable-pg-[^:]+:5432/postgres\\)\n");
  EXPECT_DEATH(
      {
        ::alarm(20);
        PostgresConnection db = connect();
        std::thread sleeper([&] { (void)db.query("SELECT pg_sleep(2.3)"); });
        wait_until_the_server_runs("SELECT pg_sleep(2.3)");
        db = connect();
        sleeper.join();
      },
      "^uncopyable: PostgresConnection::operator=\\(PostgresConnection&&\\) by thread [0-9]+ "
      "while thread [0-9]+ is in a call on it");
}

TEST_F(PostgresDeathTest, CommittingTwice) {
  EXPECT_DEATH(
      {
        PostgresConnection db = connect();
        PostgresTransaction tx = *db.begin();
        (void)tx.commit();
        (void)tx.commit();
      },
      "^uncopyable: PostgresTransaction::commit\\(\\) on a transaction already committed or "
      "rolled back \\(postgresql uncopyable@");
}

TEST_F(PostgresDeathTest, UsingAConnectionInAForkedChild) {
  EXPECT_DEATH(
      {
        PostgresConnection db = connect();
        uncopyable::testing::in_forked_child([&] {
          (void)db.execute("SELECT 1");
        });
      },
      "uncopyable: PostgresConnection::execute\\(\\) in a fork\\(\\)ed child on what its parent "
      "made; the child must rebuild\\(\\) its own from config\\(\\) \\(postgresql "
      "uncopyable@/tmp/uncopyable-pg-[^:]+:5432/postgres\\)\n");
}

TEST_F(PostgresDeathTest, UsingAStatementInAForkedChildNamesTheStatement) {
  EXPECT_DEATH(
      {
        PostgresConnection db = connect();
        PostgresStatement select = *db.prepare("SELECT $1::int");
        uncopyable::testing::in_forked_child([&] {
          (void)select.execute({"1"});
        });
      },
      "uncopyable: PostgresStatement::execute\\(\\) in a fork\\(\\)ed child on what its parent "
      "made; the child must rebuild\\(\\) its own from config\\(\\) \\(postgresql ");
  EXPECT_DEATH(
      {
        PostgresConnection db = connect();
        PostgresTransaction transaction = *db.begin();
        uncopyable::testing::in_forked_child([&] { (void)transaction.commit(); });
      },
      "uncopyable: PostgresTransaction::commit\\(\\) in a fork\\(\\)ed child on what its parent "
      "made; the child must rebuild\\(\\) its own from config\\(\\) \\(postgresql ");
}

TEST_F(PostgresDeathTest, ACommandOrAMoveFromInsideForEach) {
  const auto each = [](PostgresConnection& db, auto&& inside) {
    (void)db.for_each<Number>("SELECT generate_series(1, 10) AS n", [&](const Number&) {
      inside();
      return absl::OkStatus();
    });
  };
  EXPECT_DEATH(
      {
        PostgresConnection db = connect();
        each(db, [&] { (void)db.query_value<int64_t>("SELECT 1"); });
      },
      "^uncopyable: PostgresConnection::query_value\\(\\) inside for_each\\(\\)'s fn, while "
      "for_each\\(\\)'s query is running on this connection; read the rows first, or use "
      "another connection \\(postgresql uncopyable@/tmp/uncopyable-pg-[^:]+:5432/postgres\\)\n");
  EXPECT_DEATH(
      {
        PostgresConnection db = connect();
        PostgresStatement statement = *db.prepare("SELECT 1");
        each(db, [&] { (void)statement.execute(); });
      },
      "^uncopyable: PostgresConnection::execute\\(\\) inside for_each\\(\\)'s fn");
  EXPECT_DEATH(
      {
        PostgresConnection db = connect();
        PostgresTransaction transaction = *db.begin();
        each(db, [&] { (void)transaction.commit(); });
      },
      "^uncopyable: PostgresConnection::commit\\(\\) inside for_each\\(\\)'s fn");
  // Taking notifications reads the socket for_each() is reading from.
  EXPECT_DEATH(
      {
        PostgresConnection db = connect();
        each(db, [&] { (void)db.notifications(); });
      },
      "^uncopyable: PostgresConnection::notifications\\(\\) inside for_each\\(\\)'s fn, while "
      "for_each\\(\\)'s query is running on this connection");
  EXPECT_DEATH(
      {
        PostgresConnection db = connect();
        each(db, [&] { (void)db.wait_for_notification(absl::Seconds(1)); });
      },
      "^uncopyable: PostgresConnection::wait_for_notification\\(\\) inside for_each\\(\\)'s "
      "fn");
  EXPECT_DEATH(
      {
        PostgresConnection db = connect();
        each(db, [&] { PostgresConnection taken = std::move(db); });
      },
      "^uncopyable: PostgresConnection::PostgresConnection\\(PostgresConnection&&\\) while 1 "
      "PostgresStatement\\(s\\), PostgresTransaction\\(s\\) or for_each\\(\\) call\\(s\\) on it "
      "is alive");
  EXPECT_DEATH(
      {
        PostgresConnection db = connect();
        each(db, [&] { (void)db.close(); });
      },
      "^uncopyable: PostgresConnection::close\\(\\) while 1 PostgresStatement\\(s\\), "
      "PostgresTransaction\\(s\\) or for_each\\(\\) call\\(s\\) on it is alive");
}

}  // namespace
}  // namespace uncopyable
