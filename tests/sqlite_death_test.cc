// Misuse of a SQLite connection aborts with one line that says what.
#include <sys/wait.h>
#include <unistd.h>

#include <optional>
#include <utility>

#include "gtest/gtest.h"
#include "tests/testing/forked_child.h"
#include "uncopyable/sqlite.h"

namespace uncopyable {
namespace {

SqliteConnection memory() { return *SqliteConnection::open({.path = ":memory:"}); }

TEST(SqliteDeathTest, UsingAMovedFromOrClosedConnection) {
  SqliteConnection db = memory();
  SqliteConnection taker = std::move(db);
  EXPECT_DEATH((void)db.execute("SELECT 1"),  // NOLINT(bugprone-use-after-move)
               "^uncopyable: SqliteConnection::execute\\(\\) on a moved-from handle");
  ASSERT_TRUE(taker.close().ok());
  EXPECT_DEATH((void)taker.prepare("SELECT 1"),
               "^uncopyable: SqliteConnection::prepare\\(\\) on a closed handle \\(sqlite "
               "\":memory:\"\\)");
  EXPECT_DEATH((void)taker.close(), "^uncopyable: SqliteConnection::close\\(\\) on a closed handle");
}

TEST(SqliteDeathTest, AStatementThatOutlivesItsConnection) {
  EXPECT_DEATH(
      {
        std::optional<Statement> statement;
        {
          SqliteConnection db = memory();
          statement.emplace(*db.prepare("SELECT 1"));
        }
      },
      "^uncopyable: SqliteConnection sqlite \":memory:\": destroyed while 1 statement\\(s\\) or "
      "transaction\\(s\\) on it are alive; they must go first");
}

TEST(SqliteDeathTest, ATransactionThatOutlivesItsConnection) {
  EXPECT_DEATH(
      {
        std::optional<Transaction> transaction;
        {
          SqliteConnection db = memory();
          transaction.emplace(*db.begin());
        }
      },
      "^uncopyable: SqliteConnection sqlite \":memory:\": destroyed while 1 statement\\(s\\) or "
      "transaction\\(s\\) on it are alive");
}

TEST(SqliteDeathTest, AMovedFromStatementOrTransaction) {
  SqliteConnection db = memory();
  {
    Statement statement = *db.prepare("SELECT 1");
    Statement taker = std::move(statement);
    EXPECT_DEATH((void)statement.step(),  // NOLINT(bugprone-use-after-move)
                 "^uncopyable: Statement::step\\(\\) on a moved-from handle");
  }
  Transaction tx = *db.begin();
  Transaction taker = std::move(tx);
  EXPECT_DEATH((void)tx.commit(),  // NOLINT(bugprone-use-after-move)
               "^uncopyable: Transaction::commit\\(\\) on a moved-from handle");
  ASSERT_TRUE(taker.commit().ok());
}

TEST(SqliteDeathTest, CommittingTwice) {
  SqliteConnection db = memory();
  absl::StatusOr<Transaction> tx = db.begin();
  ASSERT_TRUE(tx->commit().ok());
  EXPECT_DEATH((void)tx->commit(),
               "^uncopyable: Transaction::commit\\(\\) on a transaction already committed or "
               "rolled back \\(sqlite \":memory:\"\\)");
}

TEST(SqliteDeathTest, UsingAConnectionInAForkedChild) {
  SqliteConnection db = memory();
  EXPECT_DEATH(
      uncopyable::testing::in_forked_child([&] { (void)db.execute("SELECT 1"); }),
      "^uncopyable: SqliteConnection::execute\\(\\) in a fork\\(\\)ed child: a connection belongs "
      "to the process that opened it; the child must rebuild\\(\\) its own from config\\(\\)");
}

TEST(SqliteDeathTest, CommittingInAForkedChildNamesTheTransaction) {
  SqliteConnection db = memory();
  std::optional<Transaction> transaction(*db.begin());
  EXPECT_DEATH(
      uncopyable::testing::in_forked_child([&] { (void)transaction->commit(); }),
      "^uncopyable: Transaction::commit\\(\\) in a fork\\(\\)ed child: a connection belongs "
      "to the process that opened it");
  ASSERT_TRUE(transaction->commit().ok());
}

// Like a connection, a transaction the child merely lets go of is left to
// the parent: no ROLLBACK is sent on the parent's session, nothing aborts.
TEST(SqliteForkTest, AChildLettingGoOfAnOpenTransactionLeavesItToTheParent) {
  SqliteConnection db = memory();
  ASSERT_TRUE(db.execute("CREATE TABLE t (x INTEGER)").ok());
  std::optional<Transaction> transaction(*db.begin());
  ASSERT_TRUE(db.execute("INSERT INTO t VALUES (1)").ok());
  const pid_t child = ::fork();
  if (child == 0) {
    transaction.reset();
    ::_exit(0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  ASSERT_TRUE(transaction->commit().ok());
  Statement count = *db.prepare("SELECT count(*) FROM t");
  ASSERT_TRUE(*count.step());
  EXPECT_EQ(count.get_int64(0), 1);
}

}  // namespace
}  // namespace uncopyable
