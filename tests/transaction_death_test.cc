// Misuse of transactions and savepoints aborts with one line that says what.
// The SQLite lines are the ones docs/guide.md quotes (a database "app.db"
// in the test's scratch directory); the PostgreSQL ones say the same of
// PostgresTransaction and PostgresSavepoint, on a server this binary starts.
#include <unistd.h>

#include <cstdlib>
#include <memory>
#include <optional>
#include <utility>

#include "gtest/gtest.h"
#include "tests/testing/forked_child.h"
#include "tests/testing/postgres_suite.h"
#include "uncopyable/postgres.h"
#include "uncopyable/sqlite.h"

namespace uncopyable {
namespace {


class SavepointDeathTest : public ::testing::Test {
 protected:
  // The scratch directory, so that the database is "app.db" in every line.
  // (Not removed first: a death test's child runs the test again, beside
  // the parent's connection to it.)
  void SetUp() override {
    const char* dir = std::getenv("TEST_TMPDIR");
    ASSERT_NE(dir, nullptr) << "run me with bazel test";
    ASSERT_EQ(::chdir(dir), 0) << dir;
  }
  static SqliteConnection app() { return *SqliteConnection::open({.path = "app.db"}); }
};

TEST_F(SavepointDeathTest, EndingASavepointWhileTheOneInsideItIsAlive) {
  SqliteConnection db = app();
  Transaction tx = *db.begin();
  Savepoint outer = *tx.savepoint("outer");
  Savepoint inner = *outer.savepoint("inner");
  EXPECT_DEATH((void)outer.release(),
               "^uncopyable: Savepoint::release\\(\\) while 1 Savepoint\\(s\\) inside it is alive; "
               "they must end first \\(sqlite \"app.db\"\\)\n");
  EXPECT_DEATH((void)outer.rollback(),
               "^uncopyable: Savepoint::rollback\\(\\) while 1 Savepoint\\(s\\) inside it is "
               "alive; they must end first \\(sqlite \"app.db\"\\)\n");
  // The inner one holds its address: moving it aborts too.
  EXPECT_DEATH({ Savepoint moved = std::move(outer); },
               "^uncopyable: Savepoint::Savepoint\\(Savepoint&&\\) while 1 Savepoint\\(s\\) "
               "inside it is alive; they must end first \\(sqlite \"app.db\"\\)\n");
  ASSERT_TRUE(inner.release().ok());
  ASSERT_TRUE(outer.release().ok());  // in order: fine
  ASSERT_TRUE(tx.commit().ok());
}

TEST_F(SavepointDeathTest, ASavepointThatOutlivesTheOneItIsIn) {
  EXPECT_DEATH(
      {
        SqliteConnection db = app();
        Transaction tx = *db.begin();
        std::optional<Savepoint> inner;
        {
          Savepoint outer = *tx.savepoint("outer");
          inner.emplace(*outer.savepoint("inner"));
        }
      },
      "^uncopyable: Savepoint::~Savepoint\\(\\) while 1 Savepoint\\(s\\) inside it is alive; "
      "they must end first \\(sqlite \"app.db\"\\)\n");
}

TEST_F(SavepointDeathTest, ASavepointThatOutlivesItsTransaction) {
  EXPECT_DEATH(
      {
        SqliteConnection db = app();
        std::optional<Savepoint> savepoint;
        {
          Transaction tx = *db.begin();
          savepoint.emplace(*tx.savepoint("work"));
        }
      },
      "^uncopyable: Transaction::~Transaction\\(\\) while 1 Savepoint\\(s\\) on it is alive; "
      "they must end first \\(sqlite \"app.db\"\\)\n");
}

TEST_F(SavepointDeathTest, EndingTheTransactionWhileASavepointIsAlive) {
  SqliteConnection db = app();
  Transaction tx = *db.begin();
  Savepoint outer = *tx.savepoint("outer");
  Savepoint inner = *outer.savepoint("inner");
  EXPECT_DEATH((void)tx.commit(),
               "^uncopyable: Transaction::commit\\(\\) while 2 Savepoint\\(s\\) on it are alive; "
               "they must end first \\(sqlite \"app.db\"\\)\n");
  ASSERT_TRUE(inner.rollback().ok());
  EXPECT_DEATH((void)tx.commit(),
               "^uncopyable: Transaction::commit\\(\\) while 1 Savepoint\\(s\\) on it is alive; "
               "they must end first \\(sqlite \"app.db\"\\)\n");
  EXPECT_DEATH((void)tx.rollback(),
               "^uncopyable: Transaction::rollback\\(\\) while 1 Savepoint\\(s\\) on it is alive; "
               "they must end first \\(sqlite \"app.db\"\\)\n");
  EXPECT_DEATH({ Transaction moved = std::move(tx); },
               "^uncopyable: Transaction::Transaction\\(Transaction&&\\) while 1 Savepoint\\(s\\) "
               "on it is alive; they must end first \\(sqlite \"app.db\"\\)\n");
  ASSERT_TRUE(outer.release().ok());
  ASSERT_TRUE(tx.commit().ok());  // every savepoint ended (their objects still in scope)
}

// The server would nest a second savepoint inside the first; made beside
// it, releasing the first would end the second behind its back.
TEST_F(SavepointDeathTest, ASecondSavepointBesideOneThatIsAlive) {
  SqliteConnection db = app();
  Transaction tx = *db.begin();
  Savepoint first = *tx.savepoint("first");
  EXPECT_DEATH((void)tx.savepoint("second"),
               "^uncopyable: Transaction::savepoint\\(\\) while 1 Savepoint\\(s\\) on it is "
               "alive; a new savepoint nests inside the innermost one: call its savepoint\\(\\) "
               "\\(sqlite \"app.db\"\\)\n");
  Savepoint inner = *first.savepoint("inner");
  EXPECT_DEATH((void)first.savepoint("beside_inner"),
               "^uncopyable: Savepoint::savepoint\\(\\) while 1 Savepoint\\(s\\) inside it is "
               "alive; a new savepoint nests inside the innermost one: call its savepoint\\(\\) "
               "\\(sqlite \"app.db\"\\)\n");
  ASSERT_TRUE(inner.savepoint("innermost").ok());  // the way to nest
}

TEST_F(SavepointDeathTest, UsingASavepointAfterItEnded) {
  SqliteConnection db = app();
  Transaction tx = *db.begin();
  Savepoint released = *tx.savepoint("released");
  ASSERT_TRUE(released.release().ok());
  EXPECT_DEATH((void)released.release(),
               "^uncopyable: Savepoint::release\\(\\) on a savepoint already released or rolled "
               "back \\(sqlite \"app.db\"\\)\n");
  EXPECT_DEATH((void)released.savepoint("inner"),
               "^uncopyable: Savepoint::savepoint\\(\\) on a savepoint already released or "
               "rolled back \\(sqlite \"app.db\"\\)\n");
  Savepoint rolled_back = *tx.savepoint("rolled_back");
  ASSERT_TRUE(rolled_back.rollback().ok());
  EXPECT_DEATH((void)rolled_back.rollback(),
               "^uncopyable: Savepoint::rollback\\(\\) on a savepoint already released or rolled "
               "back \\(sqlite \"app.db\"\\)\n");
  ASSERT_TRUE(tx.commit().ok());
}

TEST_F(SavepointDeathTest, AMovedFromSavepoint) {
  SqliteConnection db = app();
  Transaction tx = *db.begin();
  Savepoint savepoint = *tx.savepoint("moving");
  Savepoint taker = std::move(savepoint);
  // NOLINTNEXTLINE(bugprone-use-after-move)
  EXPECT_DEATH((void)savepoint.rollback(),
               "^uncopyable: Savepoint::rollback\\(\\) on a moved-from handle\n");
  ASSERT_TRUE(taker.release().ok());
}

TEST_F(SavepointDeathTest, ASavepointOfACommittedTransaction) {
  SqliteConnection db = app();
  Transaction tx = *db.begin();
  ASSERT_TRUE(tx.commit().ok());
  EXPECT_DEATH((void)tx.savepoint("late"),
               "^uncopyable: Transaction::savepoint\\(\\) on a transaction already committed or "
               "rolled back \\(sqlite \"app.db\"\\)\n");
}

TEST_F(SavepointDeathTest, ReleasingASavepointInAForkedChild) {
  SqliteConnection db = app();
  Transaction tx = *db.begin();
  std::optional<Savepoint> savepoint(*tx.savepoint("parents"));
  EXPECT_DEATH(
      uncopyable::testing::in_forked_child([&] { (void)savepoint->release(); }),
      "^uncopyable: Savepoint::release\\(\\) in a fork\\(\\)ed child on what its parent made; "
      "the child must rebuild\\(\\) its own from config\\(\\) \\(sqlite \"app.db\"\\)\n");
  ASSERT_TRUE(savepoint->release().ok());
  ASSERT_TRUE(tx.commit().ok());
}

// A forked child letting go of the parent's savepoint (its copy destroyed
// or the child exiting) leaves the parent's savepoint as it was.
TEST_F(SavepointDeathTest, AChildLettingGoOfASavepointLeavesItToTheParent) {
  SqliteConnection db = app();
  ASSERT_TRUE(db.execute("DROP TABLE IF EXISTS t; CREATE TABLE t (x integer)").ok());
  Transaction tx = *db.begin();
  std::optional<Savepoint> savepoint(*tx.savepoint("parents"));
  ASSERT_TRUE(db.execute("INSERT INTO t VALUES (1)").ok());
  const pid_t child = ::fork();
  if (child == 0) {
    savepoint.reset();  // the parent's: nothing sent
    ::_exit(0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  ASSERT_TRUE(savepoint->release().ok());  // still there
  ASSERT_TRUE(tx.commit().ok());
  Statement count = *db.prepare("SELECT count(*) FROM t");
  ASSERT_TRUE(*count.step());
  EXPECT_EQ(count.get_int64(0), 1);
}

// --- PostgreSQL: the same rules, named after its own types -------------------------

// Fast death tests: the child reaches the server this binary started.
class PostgresSavepointDeathTest : public testing::PostgresDeathSuite {};

TEST_F(PostgresSavepointDeathTest, EndingThingsOutOfOrder) {
  EXPECT_DEATH(
      {
        PostgresConnection db = connect();
        PostgresTransaction tx = *db.begin();
        PostgresSavepoint outer = *tx.savepoint("outer");
        PostgresSavepoint inner = *outer.savepoint("inner");
        (void)outer.rollback();
      },
      "^uncopyable: PostgresSavepoint::rollback\\(\\) while 1 PostgresSavepoint\\(s\\) inside it "
      "is alive; they must end first \\(postgresql uncopyable@/tmp/uncopyable-pg-[^:]+:5432/"
      "postgres\\)\n");
  EXPECT_DEATH(
      {
        PostgresConnection db = connect();
        PostgresTransaction tx = *db.begin();
        PostgresSavepoint savepoint = *tx.savepoint("work");
        (void)tx.commit();
      },
      "^uncopyable: PostgresTransaction::commit\\(\\) while 1 PostgresSavepoint\\(s\\) on it is "
      "alive; they must end first \\(postgresql uncopyable@/tmp/uncopyable-pg-[^:]+:5432/"
      "postgres\\)\n");
  EXPECT_DEATH(
      {
        PostgresConnection db = connect();
        std::optional<PostgresSavepoint> savepoint;
        {
          PostgresTransaction tx = *db.begin();
          savepoint.emplace(*tx.savepoint("work"));
        }
      },
      "^uncopyable: PostgresTransaction::~PostgresTransaction\\(\\) while 1 "
      "PostgresSavepoint\\(s\\) on it is alive; they must end first \\(postgresql "
      "uncopyable@/tmp/uncopyable-pg-[^:]+:5432/postgres\\)\n");
  EXPECT_DEATH(
      {
        PostgresConnection db = connect();
        PostgresTransaction tx = *db.begin();
        PostgresSavepoint first = *tx.savepoint("first");
        (void)tx.savepoint("second");
      },
      "^uncopyable: PostgresTransaction::savepoint\\(\\) while 1 PostgresSavepoint\\(s\\) on it "
      "is alive; a new savepoint nests inside the innermost one: call its savepoint\\(\\) "
      "\\(postgresql ");
}

TEST_F(PostgresSavepointDeathTest, UsingASavepointAfterItEnded) {
  EXPECT_DEATH(
      {
        PostgresConnection db = connect();
        PostgresTransaction tx = *db.begin();
        PostgresSavepoint savepoint = *tx.savepoint("work");
        (void)savepoint.release();
        (void)savepoint.release();
      },
      "^uncopyable: PostgresSavepoint::release\\(\\) on a savepoint already released or rolled "
      "back \\(postgresql uncopyable@/tmp/uncopyable-pg-[^:]+:5432/postgres\\)\n");
}

}  // namespace
}  // namespace uncopyable
