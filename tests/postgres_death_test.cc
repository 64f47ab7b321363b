// Misuse of a PostgreSQL connection aborts with one line that says what.
// These death tests fork ("fast" style) so that the child reaches the server
// this binary started; each opens its own connection inside the child.
#include <unistd.h>

#include <memory>
#include <optional>
#include <utility>

#include "gtest/gtest.h"
#include "tests/testing/forked_child.h"
#include "tests/testing/postgres_server.h"
#include "uncopyable/postgres.h"

namespace uncopyable {
namespace {

using testing::PostgresServer;

class PostgresDeathTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<std::unique_ptr<PostgresServer>> started = PostgresServer::start();
    if (started.ok()) server_ = started->release();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override {
    ASSERT_NE(server_, nullptr) << "the PostgreSQL server did not start";
    GTEST_FLAG_SET(death_test_style, "fast");
  }
  void TearDown() override { GTEST_FLAG_SET(death_test_style, "threadsafe"); }
  static PostgresConnection connect() { return *PostgresConnection::open(server_->config()); }
  static PostgresServer* server_;
};

PostgresServer* PostgresDeathTest::server_ = nullptr;

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
      "^uncopyable: PostgresConnection postgresql .*: destroyed while 1 statement\\(s\\) or "
      "transaction\\(s\\) on it are alive; they must go first");
  EXPECT_DEATH(
      {
        std::optional<PostgresTransaction> transaction;
        {
          PostgresConnection db = connect();
          transaction.emplace(*db.begin());
        }
      },
      "^uncopyable: PostgresConnection postgresql .*: destroyed while 1 statement\\(s\\) or "
      "transaction\\(s\\) on it are alive");
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
  EXPECT_DEATH(
      {
        PostgresConnection db = connect();
        PostgresResult rows = *db.query("SELECT 'seven'");
        (void)rows.get_int64(0, 0);
      },
      "^uncopyable: PostgresResult::get_int64\\(0, 0\\): \"seven\" is not an integer");
  EXPECT_DEATH(
      {
        PostgresConnection db = connect();
        PostgresResult rows = *db.query("SELECT 1");
        (void)rows.get_text(1, 0);
      },
      "^uncopyable: PostgresResult::get_text\\(1, 0\\): outside 1 rows x 1 columns");
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
      "rolled back");
}

TEST_F(PostgresDeathTest, UsingAConnectionInAForkedChild) {
  EXPECT_DEATH(
      {
        PostgresConnection db = connect();
        uncopyable::testing::in_forked_child([&] {
          (void)db.execute("SELECT 1");
        });
      },
      "uncopyable: PostgresConnection::execute\\(\\) in a fork\\(\\)ed child: a connection "
      "belongs to the process that opened it; the child must rebuild\\(\\) its own from "
      "config\\(\\)");
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
      "uncopyable: PostgresStatement::execute\\(\\) in a fork\\(\\)ed child: a connection "
      "belongs to the process that opened it");
}

}  // namespace
}  // namespace uncopyable
