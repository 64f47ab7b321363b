// Misuse of a SQLite connection aborts with one line that says what.
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <optional>
#include <string>
#include <thread>
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
      "^uncopyable: SqliteConnection::~SqliteConnection\\(\\) while 1 Statement\\(s\\) or "
      "Transaction\\(s\\) on it is alive; they must end first \\(sqlite \":memory:\"\\)\n");
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
      "^uncopyable: SqliteConnection::~SqliteConnection\\(\\) while 1 Statement\\(s\\) or "
      "Transaction\\(s\\) on it is alive; they must end first \\(sqlite \":memory:\"\\)\n");
}

// The connection's Lender: a borrower holds its address, so neither side of
// a move (nor close()) may go on while one is alive.
TEST(SqliteDeathTest, MovingOrClosingAConnectionWithABorrowerAborts) {
  SqliteConnection db = memory();
  Statement statement = *db.prepare("SELECT 1");
  EXPECT_DEATH({ SqliteConnection moved = std::move(db); },
               "^uncopyable: SqliteConnection::SqliteConnection\\(SqliteConnection&&\\) while 1 "
               "Statement\\(s\\) or Transaction\\(s\\) on it is alive; they must end first "
               "\\(sqlite \":memory:\"\\)\n");
  SqliteConnection other = memory();
  EXPECT_DEATH(other = std::move(db),
               "^uncopyable: SqliteConnection::operator=\\(SqliteConnection&&\\) while 1 "
               "Statement\\(s\\) or Transaction\\(s\\) on it is alive; they must end first "
               "\\(sqlite \":memory:\"\\)\n");
  EXPECT_DEATH(db = memory(),
               "^uncopyable: SqliteConnection::operator=\\(SqliteConnection&&\\) while 1 ");
  Transaction transaction = *db.begin();
  EXPECT_DEATH((void)db.close(),
               "^uncopyable: SqliteConnection::close\\(\\) while 2 Statement\\(s\\) or "
               "Transaction\\(s\\) on it are alive; they must end first \\(sqlite \":memory:\"\\)\n");
  ASSERT_TRUE(transaction.commit().ok());
}

TEST(SqliteDeathTest, UsingAStatementInAForkedChildNamesTheStatement) {
  SqliteConnection db = memory();
  Statement select = *db.prepare("SELECT 1");
  EXPECT_DEATH(
      uncopyable::testing::in_forked_child([&] { (void)select.step(); }),
      "^uncopyable: Statement::step\\(\\) in a fork\\(\\)ed child on what its parent made; the "
      "child must rebuild\\(\\) its own from config\\(\\) \\(sqlite \":memory:\"\\)\n");
  EXPECT_DEATH(
      uncopyable::testing::in_forked_child([&] { (void)select.column_count(); }),
      "^uncopyable: Statement::column_count\\(\\) in a fork\\(\\)ed child");
  ASSERT_TRUE(*select.step());
  EXPECT_DEATH(
      uncopyable::testing::in_forked_child([&] { (void)select.get_int64(0); }),
      "^uncopyable: Statement::get_int64\\(\\) in a fork\\(\\)ed child");
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
      "^uncopyable: SqliteConnection::execute\\(\\) in a fork\\(\\)ed child on what its parent "
      "made; the child must rebuild\\(\\) its own from config\\(\\) \\(sqlite \":memory:\"\\)\n");
}

TEST(SqliteDeathTest, CommittingInAForkedChildNamesTheTransaction) {
  SqliteConnection db = memory();
  std::optional<Transaction> transaction(*db.begin());
  EXPECT_DEATH(
      uncopyable::testing::in_forked_child([&] { (void)transaction->commit(); }),
      "^uncopyable: Transaction::commit\\(\\) in a fork\\(\\)ed child on what its parent made; "
      "the child must rebuild\\(\\) its own from config\\(\\) \\(sqlite \":memory:\"\\)\n");
  ASSERT_TRUE(transaction->commit().ok());
}

// Every column accessor needs a current row: the last step() said true.
TEST(SqliteDeathTest, ReadingAColumnWithNoCurrentRow) {
  SqliteConnection db = memory();
  Statement select = *db.prepare("SELECT 1, 'one'");
  // Before the first step().
  EXPECT_DEATH((void)select.get_int64(0),
               "^uncopyable: Statement::get_int64\\(\\) with no current row; step\\(\\) must "
               "return true first \\(sqlite \":memory:\"\\)");
  EXPECT_DEATH((void)select.is_null(0),
               "^uncopyable: Statement::is_null\\(\\) with no current row");
  EXPECT_DEATH((void)select.get_double(0),
               "^uncopyable: Statement::get_double\\(\\) with no current row");
  EXPECT_DEATH((void)select.get_text(1),
               "^uncopyable: Statement::get_text\\(\\) with no current row");
  // After step() said false.
  ASSERT_TRUE(*select.step());
  ASSERT_FALSE(*select.step());
  EXPECT_DEATH((void)select.get_text(1),
               "^uncopyable: Statement::get_text\\(\\) with no current row");
  // After reset().
  ASSERT_TRUE(select.reset().ok());
  EXPECT_DEATH((void)select.get_int64(0),
               "^uncopyable: Statement::get_int64\\(\\) with no current row");
  // After step() failed.
  Statement failing = *db.prepare("SELECT abs(-9223372036854775807 - 1)");  // integer overflow
  ASSERT_FALSE(failing.step().ok());
  EXPECT_DEATH((void)failing.is_null(0),
               "^uncopyable: Statement::is_null\\(\\) with no current row");
  // After run().
  ASSERT_TRUE(db.execute("CREATE TABLE t (x)").ok());
  Statement insert = *db.prepare("INSERT INTO t VALUES (1)");
  ASSERT_TRUE(insert.run().ok());
  EXPECT_DEATH((void)insert.get_int64(0),
               "^uncopyable: Statement::get_int64\\(\\) with no current row");
}

TEST(SqliteDeathTest, ReadingAColumnOutsideTheRow) {
  SqliteConnection db = memory();
  Statement select = *db.prepare("SELECT 1, 'one'");
  ASSERT_TRUE(*select.step());
  EXPECT_DEATH((void)select.get_text(5),
               "^uncopyable: Statement::get_text\\(5\\) outside the row's 2 columns \\(sqlite "
               "\":memory:\"\\)");
  EXPECT_DEATH((void)select.get_int64(2),
               "^uncopyable: Statement::get_int64\\(2\\) outside the row's 2 columns");
  EXPECT_DEATH((void)select.get_double(-1),
               "^uncopyable: Statement::get_double\\(-1\\) outside the row's 2 columns");
  EXPECT_DEATH((void)select.is_null(2),
               "^uncopyable: Statement::is_null\\(2\\) outside the row's 2 columns");
  Statement one = *db.prepare("SELECT 1");
  ASSERT_TRUE(*one.step());
  EXPECT_DEATH((void)one.get_int64(1),
               "^uncopyable: Statement::get_int64\\(1\\) outside the row's 1 column \\(");
  // The row is still there to read, in range.
  EXPECT_EQ(select.get_text(1), "one");
}

// read<T>() is a column accessor like the others, by index or by name.
TEST(SqliteDeathTest, ReadWithNoCurrentRowOrOutsideTheRow) {
  SqliteConnection db = memory();
  Statement select = *db.prepare("SELECT 1 AS one, 'one' AS name");
  EXPECT_DEATH((void)select.read<int64_t>(0),
               "^uncopyable: Statement::read\\(\\) with no current row; step\\(\\) must return "
               "true first \\(sqlite \":memory:\"\\)\n");
  EXPECT_DEATH((void)select.read<std::string>("name"),
               "^uncopyable: Statement::read\\(\\) with no current row; step\\(\\) must return "
               "true first \\(sqlite \":memory:\"\\)\n");
  ASSERT_TRUE(*select.step());
  EXPECT_DEATH((void)select.read<int>(2),
               "^uncopyable: Statement::read\\(2\\) outside the row's 2 columns \\(sqlite "
               "\":memory:\"\\)\n");
  EXPECT_DEATH((void)select.read<std::optional<int>>(-1),
               "^uncopyable: Statement::read\\(-1\\) outside the row's 2 columns");
  EXPECT_EQ(*select.read<int>("one"), 1);  // in range, the row is there
  ASSERT_FALSE(*select.step());
  EXPECT_DEATH((void)select.read<std::string>("name"),
               "^uncopyable: Statement::read\\(\\) with no current row");
  Statement taken = std::move(select);
  EXPECT_DEATH((void)select.read<int>(0),  // NOLINT(bugprone-use-after-move)
               "^uncopyable: Statement::read\\(\\) on a moved-from handle");
}

// A column's name or declared type is known from prepare() on, for the
// statement's columns only.
TEST(SqliteDeathTest, AColumnNameOrTypeOutsideTheStatementsColumns) {
  SqliteConnection db = memory();
  Statement select = *db.prepare("SELECT 1, 'one'");
  EXPECT_DEATH((void)select.column_name(2),
               "^uncopyable: Statement::column_name\\(2\\) outside the statement's 2 columns "
               "\\(sqlite \":memory:\"\\)\n");
  EXPECT_DEATH((void)select.column_type(-1),
               "^uncopyable: Statement::column_type\\(-1\\) outside the statement's 2 columns "
               "\\(sqlite \":memory:\"\\)\n");
  ASSERT_TRUE(db.execute("CREATE TABLE t (x)").ok());
  Statement insert = *db.prepare("INSERT INTO t VALUES (1)");
  EXPECT_DEATH((void)insert.column_name(0),
               "^uncopyable: Statement::column_name\\(0\\) outside the statement's 0 columns");
  Statement one = *db.prepare("SELECT 1");
  EXPECT_DEATH((void)one.column_type(1),
               "^uncopyable: Statement::column_type\\(1\\) outside the statement's 1 column \\(");
  EXPECT_EQ(select.column_name(1), "'one'");
}

TEST(SqliteDeathTest, ReadingAColumnOfAMovedFromStatement) {
  SqliteConnection db = memory();
  Statement select = *db.prepare("SELECT 1");
  ASSERT_TRUE(*select.step());
  Statement taker = std::move(select);
  EXPECT_DEATH((void)select.get_int64(0),  // NOLINT(bugprone-use-after-move)
               "^uncopyable: Statement::get_int64\\(\\) on a moved-from handle");
}

// A SQL function that holds its caller inside sqlite3_step() until released
// (or 10 s pass), so that another thread can call meanwhile.
struct Gate {
  std::atomic<bool> inside{false};
  std::atomic<bool> release{false};

  void install(SqliteConnection& db) {
    ASSERT_EQ(::sqlite3_create_function(db.get(), "wait_at_gate", 0, SQLITE_UTF8, this, &Gate::wait,
                                        nullptr, nullptr),
              SQLITE_OK);
  }
  void wait_until_inside() const {
    for (int i = 0; i < 1000 && !inside; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  static void wait(sqlite3_context* context, int, sqlite3_value**) {
    Gate* gate = static_cast<Gate*>(::sqlite3_user_data(context));
    gate->inside = true;
    for (int i = 0; i < 1000 && !gate->release; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ::sqlite3_result_int(context, 1);
  }
};

// A multi_thread connection (no SQLite mutex) serves one thread at a time.
TEST(SqliteDeathTest, TwoThreadsInCallsOnAMultiThreadConnection) {
  const SqliteConfig config{.path = ":memory:", .threading = SqliteThreading::multi_thread};
  EXPECT_DEATH(
      {
        SqliteConnection db = *SqliteConnection::open(config);
        Gate gate;
        gate.install(db);
        std::thread stepping([&] {
          Statement slow = *db.prepare("SELECT wait_at_gate()");
          (void)slow.step();
        });
        gate.wait_until_inside();
        (void)db.execute("SELECT 1");  // aborts: the other thread is in step()
        gate.release = true;
        stepping.join();
      },
      "^uncopyable: SqliteConnection::execute\\(\\) by thread [0-9]+ while thread [0-9]+ is in a "
      "call on it; a connection serves one thread at a time \\(sqlite \":memory:\"\\)");
  // A statement's calls, and reading a column, are checked the same way.
  EXPECT_DEATH(
      {
        SqliteConnection db = *SqliteConnection::open(config);
        Gate gate;
        gate.install(db);
        Statement mine = *db.prepare("SELECT 7");
        (void)mine.step();
        std::thread stepping([&] {
          Statement slow = *db.prepare("SELECT wait_at_gate()");
          (void)slow.step();
        });
        gate.wait_until_inside();
        (void)mine.get_int64(0);  // aborts
        gate.release = true;
        stepping.join();
      },
      "^uncopyable: Statement::get_int64\\(\\) by thread [0-9]+ while thread [0-9]+ is in a "
      "call on it");
  EXPECT_DEATH(
      {
        SqliteConnection db = *SqliteConnection::open(config);
        Gate gate;
        gate.install(db);
        Statement mine = *db.prepare("SELECT 7");
        std::thread stepping([&] { (void)db.execute("SELECT wait_at_gate()"); });
        gate.wait_until_inside();
        (void)mine.step();  // aborts
        gate.release = true;
        stepping.join();
      },
      "^uncopyable: Statement::step\\(\\) by thread [0-9]+ while thread [0-9]+ is in a call on "
      "it");
}

// SingleUser: moving the connection away from under a thread in a call on
// it, or assigning to it then, names the move and the database.
TEST(SqliteDeathTest, MovingAMultiThreadConnectionWhileAnotherThreadIsInACall) {
  const SqliteConfig config{.path = ":memory:", .threading = SqliteThreading::multi_thread};
  for (const bool assign : {false, true}) {
    EXPECT_DEATH(
        {
          SqliteConnection db = *SqliteConnection::open(config);
          Gate gate;
          gate.install(db);
          std::thread stepping([&] { (void)db.execute("SELECT wait_at_gate()"); });
          gate.wait_until_inside();
          if (assign) {
            db = *SqliteConnection::open(config);  // aborts
          } else {
            SqliteConnection moved = std::move(db);  // aborts
          }
          gate.release = true;
          stepping.join();
        },
        assign ? "^uncopyable: SqliteConnection::operator=\\(SqliteConnection&&\\) by thread "
                 "[0-9]+ while thread [0-9]+ is in a call on it; a connection serves one thread "
                 "at a time \\(sqlite \":memory:\"\\)\n"
               : "^uncopyable: SqliteConnection::SqliteConnection\\(SqliteConnection&&\\) by "
                 "thread [0-9]+ while thread [0-9]+ is in a call on it; a connection serves one "
                 "thread at a time \\(sqlite \":memory:\"\\)\n");
  }
}

// The same, on a serialized connection, is sharing: the second thread waits
// for SQLite's mutex instead of aborting.
TEST(SqliteThreadTest, ASerializedConnectionMakesTheSecondThreadWait) {
  SqliteConnection db = memory();
  Gate gate;
  gate.install(db);
  std::thread stepping([&] { EXPECT_TRUE(db.execute("SELECT wait_at_gate()").ok()); });
  gate.wait_until_inside();
  ASSERT_TRUE(gate.inside);
  std::thread releasing([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    gate.release = true;
  });
  EXPECT_TRUE(db.execute("SELECT 1").ok());  // waits for the other call, then runs
  EXPECT_TRUE(gate.release);
  stepping.join();
  releasing.join();
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

// A child lets go of its copies of the parent's statement and connection
// (a multi_thread one too) without finalizing or closing them, and without
// aborting: they are the parent's, which goes on using them.
TEST(SqliteForkTest, AChildLettingGoOfAStatementAndItsConnectionLeavesThemToTheParent) {
  for (const SqliteThreading threading :
       {SqliteThreading::serialized, SqliteThreading::multi_thread}) {
    std::optional<SqliteConnection> db(
        *SqliteConnection::open({.path = ":memory:", .threading = threading}));
    std::optional<Statement> select(*db->prepare("SELECT 41 + 1"));
    const pid_t child = ::fork();
    if (child == 0) {
      select.reset();
      db.reset();
      ::_exit(0);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
    ASSERT_TRUE(*select->step());
    EXPECT_EQ(select->get_int64(0), 42);
    select.reset();
    EXPECT_TRUE(db->close().ok());
  }
}

}  // namespace
}  // namespace uncopyable
