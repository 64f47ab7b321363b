// Transactions of both databases: the options begin() takes (proved to reach
// SQLite and the server) and savepoints (typed tests over both, PostgreSQL
// on a private server this binary starts).
#include <sqlite3.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/postgres_suite.h"
#include "tests/testing/temp_path.h"
#include "uncopyable/config_json.h"
#include "uncopyable/internal/quote.h"
#include "uncopyable/postgres.h"
#include "uncopyable/sqlite.h"

namespace uncopyable {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::TempPath;

static_assert(Config<SqliteTransactionOptions>);
static_assert(Config<PostgresTransactionOptions>);
static_assert(!std::is_copy_constructible_v<Savepoint>);
static_assert(!std::is_copy_constructible_v<PostgresSavepoint>);
static_assert(std::is_nothrow_move_constructible_v<Savepoint>);
static_assert(std::is_nothrow_move_constructible_v<PostgresSavepoint>);
static_assert(!std::is_move_assignable_v<Savepoint>);
static_assert(!std::is_move_assignable_v<PostgresSavepoint>);

// --- The two databases, as the typed tests use them ------------------------------------

// A SQLite database in a file of the test's own (a fresh one each test).
class SqliteSide {
 public:
  using Connection = SqliteConnection;
  using Fixture = ::testing::Test;

  SqliteSide() { remove(); }
  ~SqliteSide() { remove(); }
  SqliteSide(const SqliteSide&) = delete;
  SqliteSide& operator=(const SqliteSide&) = delete;
  Connection connect() {
    absl::StatusOr<SqliteConnection> db = SqliteConnection::open({.path = path_});
    EXPECT_TRUE(db.ok()) << db.status();
    return *std::move(db);
  }
  static std::vector<int64_t> xs(Connection& db) {
    std::vector<int64_t> out;
    absl::StatusOr<Statement> select = db.prepare("SELECT x FROM t ORDER BY x");
    EXPECT_TRUE(select.ok()) << select.status();
    if (!select.ok()) return out;
    absl::StatusOr<bool> row;
    while ((row = select->step()).ok() && *row) out.push_back(select->get_int64(0));
    EXPECT_TRUE(row.ok()) << row.status();
    return out;
  }

 private:
  void remove() const {
    for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
      ::unlink(absl::StrCat(path_, suffix).c_str());
    }
  }
  const std::string path_ =
      absl::StrCat(std::getenv("TEST_TMPDIR") != nullptr ? std::getenv("TEST_TMPDIR") : "/tmp",
                   "/savepoints.db");
};

// The server this binary starts (once per test suite: the fixture's).
class PostgresSide {
 public:
  using Connection = PostgresConnection;
  using Fixture = testing::PostgresSuite;
  Connection connect() { return Fixture::connect(); }
  static std::vector<int64_t> xs(Connection& db) {
    std::vector<int64_t> out;
    absl::StatusOr<PostgresResult> rows = db.query("SELECT x FROM t ORDER BY x");
    EXPECT_TRUE(rows.ok()) << rows.status();
    if (!rows.ok()) return out;
    for (int row = 0; row < rows->rows(); ++row) out.push_back(rows->get_int64(row, 0));
    return out;
  }
};

// `db`, with an empty table t (x integer, unique).
template <typename Connection>
Connection with_empty_table(Connection db) {
  const absl::Status made =
      db.execute("DROP TABLE IF EXISTS t; CREATE TABLE t (x integer PRIMARY KEY)");
  EXPECT_TRUE(made.ok()) << made;
  return db;
}

// Side::Fixture starts and stops what the side needs (a server per suite).
template <typename Side>
class SavepointTest : public Side::Fixture {
 protected:
  // A connection with an empty table t (x integer, unique).
  typename Side::Connection fresh() { return with_empty_table(side_.connect()); }
  static void insert(typename Side::Connection& db, int x) {
    const absl::Status added = db.execute(absl::StrCat("INSERT INTO t VALUES (", x, ")"));
    EXPECT_TRUE(added.ok()) << added;
  }
  static std::vector<int64_t> xs(typename Side::Connection& db) { return Side::xs(db); }

  Side side_;
};

using Sides = ::testing::Types<SqliteSide, PostgresSide>;
class SideNames {
 public:
  template <typename T>
  static std::string GetName(int) {
    return std::is_same_v<T, SqliteSide> ? "Sqlite" : "Postgres";
  }
};
TYPED_TEST_SUITE(SavepointTest, Sides, SideNames);

TYPED_TEST(SavepointTest, ReleaseKeepsWhatWasDoneInTheTransaction) {
  auto db = this->fresh();
  {
    auto tx = db.begin();
    ASSERT_TRUE(tx.ok()) << tx.status();
    this->insert(db, 1);
    auto savepoint = tx->savepoint("more");
    ASSERT_TRUE(savepoint.ok()) << savepoint.status();
    EXPECT_EQ(savepoint->name(), "more");
    this->insert(db, 2);
    ASSERT_TRUE(savepoint->release().ok());
    // Released: the name is gone from the database's stack of savepoints.
    EXPECT_FALSE(db.execute("RELEASE SAVEPOINT \"more\"").ok());
  }
  // Kept only as part of the transaction: its rollback undid it too.
  EXPECT_THAT(this->xs(db), ElementsAre());
  {
    auto tx = db.begin();
    this->insert(db, 1);
    auto savepoint = tx->savepoint("more");
    this->insert(db, 2);
    ASSERT_TRUE(savepoint->release().ok());
    ASSERT_TRUE(tx->commit().ok());
  }
  EXPECT_THAT(this->xs(db), ElementsAre(1, 2));
}

TYPED_TEST(SavepointTest, RollbackUndoesOnlyWhatCameAfterItAndEndsIt) {
  auto db = this->fresh();
  auto tx = db.begin();
  this->insert(db, 1);
  auto savepoint = tx->savepoint("maybe");
  ASSERT_TRUE(savepoint.ok()) << savepoint.status();
  this->insert(db, 2);
  ASSERT_TRUE(savepoint->rollback().ok());
  this->insert(db, 3);  // the transaction goes on
  // ROLLBACK TO keeps a savepoint on the stack; rollback() released it too:
  // another savepoint made now is not nested in a forgotten one.
  auto after = tx->savepoint("after");
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_FALSE(db.execute("ROLLBACK TO SAVEPOINT \"maybe\"").ok());
  ASSERT_TRUE(after->rollback().ok());  // (PostgreSQL: the failed ROLLBACK TO undone)
  ASSERT_TRUE(tx->commit().ok());
  EXPECT_THAT(this->xs(db), ElementsAre(1, 3));
}

TYPED_TEST(SavepointTest, TheDestructorRollsBackToIt) {
  auto db = this->fresh();
  auto tx = db.begin();
  this->insert(db, 1);
  {
    auto savepoint = tx->savepoint("scoped");
    ASSERT_TRUE(savepoint.ok()) << savepoint.status();
    this->insert(db, 2);
  }
  this->insert(db, 3);
  ASSERT_TRUE(tx->commit().ok());
  EXPECT_THAT(this->xs(db), ElementsAre(1, 3));
}

TYPED_TEST(SavepointTest, SavepointsNest) {
  auto db = this->fresh();
  {
    auto tx = db.begin();
    this->insert(db, 1);
    auto outer = tx->savepoint("outer");
    ASSERT_TRUE(outer.ok()) << outer.status();
    this->insert(db, 2);
    auto inner = outer->savepoint("inner");
    ASSERT_TRUE(inner.ok()) << inner.status();
    this->insert(db, 3);
    ASSERT_TRUE(inner->rollback().ok());
    ASSERT_TRUE(outer->release().ok());
    ASSERT_TRUE(tx->commit().ok());
  }
  EXPECT_THAT(this->xs(db), ElementsAre(1, 2));
  {
    auto tx = db.begin();
    this->insert(db, 4);
    auto outer = tx->savepoint("outer");
    this->insert(db, 5);
    auto inner = outer->savepoint("inner");
    this->insert(db, 6);
    ASSERT_TRUE(inner->release().ok());
    ASSERT_TRUE(outer->rollback().ok());  // the inner one's work goes with it
    auto innermost_done = tx->savepoint("again");  // one at a time, and none is alive
    ASSERT_TRUE(innermost_done.ok()) << innermost_done.status();
    ASSERT_TRUE(innermost_done->release().ok());
    ASSERT_TRUE(tx->commit().ok());
  }
  EXPECT_THAT(this->xs(db), ElementsAre(1, 2, 4));
}

// The same name inside itself: each command names the newest, which the
// nesting rules make the right one.
TYPED_TEST(SavepointTest, ANestedSavepointMayReuseItsOutersName) {
  auto db = this->fresh();
  auto tx = db.begin();
  auto outer = tx->savepoint("step");
  this->insert(db, 1);
  auto inner = outer->savepoint("step");
  ASSERT_TRUE(inner.ok()) << inner.status();
  this->insert(db, 2);
  ASSERT_TRUE(inner->rollback().ok());
  ASSERT_TRUE(outer->release().ok());
  ASSERT_TRUE(tx->commit().ok());
  EXPECT_THAT(this->xs(db), ElementsAre(1));
}

// Names are quoted as identifiers: a keyword is a name like any other, and
// upper and lower case are kept.
TYPED_TEST(SavepointTest, KeywordsAreNamesLikeAnyOther) {
  auto db = this->fresh();
  auto tx = db.begin();
  auto select = tx->savepoint("select");
  ASSERT_TRUE(select.ok()) << select.status();
  this->insert(db, 1);
  auto order = select->savepoint("ORDER");
  ASSERT_TRUE(order.ok()) << order.status();
  this->insert(db, 2);
  ASSERT_TRUE(order->rollback().ok());
  ASSERT_TRUE(select->release().ok());
  const std::string longest(63, 'z');
  auto longest_name = tx->savepoint(longest);
  ASSERT_TRUE(longest_name.ok()) << longest_name.status();
  EXPECT_EQ(longest_name->name(), longest);
  ASSERT_TRUE(longest_name->release().ok());
  ASSERT_TRUE(tx->commit().ok());
  EXPECT_THAT(this->xs(db), ElementsAre(1));
}

// A name that is not an SQL identifier is refused before any SQL runs:
// nothing in it reaches the database, and the transaction is unharmed
// (a PostgreSQL transaction would be failed by a syntax error).
TYPED_TEST(SavepointTest, ANameThatIsNoIdentifierIsInvalidArgumentNamingIt) {
  auto db = this->fresh();
  auto tx = db.begin();
  this->insert(db, 1);
  const std::string hostile[] = {"",
                                 "1st",
                                 "two words",
                                 "quo\"te",
                                 "x\"; DROP TABLE t; --",
                                 "sp;",
                                 "caf\xc3\xa9",
                                 std::string("nul\0byte", 8),
                                 std::string(64, 'a'),
                                 std::string(1 << 20, 'b')};
  for (const std::string& name : hostile) {
    auto savepoint = tx->savepoint(name);
    ASSERT_FALSE(savepoint.ok()) << internal::quoted(name);
    EXPECT_EQ(savepoint.status(),
              absl::InvalidArgumentError(absl::StrCat(
                  "savepoint ", db.resource(), ": the savepoint name ", internal::quoted(name),
                  " is not an SQL identifier ([A-Za-z_][A-Za-z0-9_]*, at most 63 bytes)")));
  }
  this->insert(db, 2);
  ASSERT_TRUE(tx->commit().ok());
  EXPECT_THAT(this->xs(db), ElementsAre(1, 2));
}

TYPED_TEST(SavepointTest, AMovedSavepointIsTheSameSavepoint) {
  auto db = this->fresh();
  auto tx = db.begin();
  this->insert(db, 1);
  auto made = tx->savepoint("moving");
  ASSERT_TRUE(made.ok()) << made.status();
  this->insert(db, 2);
  std::optional<std::remove_reference_t<decltype(*made)>> held;
  held.emplace(*std::move(made));  // the moved-from one does nothing when it goes
  this->insert(db, 3);
  ASSERT_TRUE(held->rollback().ok());
  ASSERT_TRUE(tx->commit().ok());
  EXPECT_THAT(this->xs(db), ElementsAre(1));
}

// Other SQL (a COMMIT of one's own) ended the transaction: its savepoints
// went with it. Each call says so, and none starts anything: SQLite would
// begin a transaction of its own for a SAVEPOINT outside one.
TYPED_TEST(SavepointTest, AfterOtherSqlEndedTheTransactionEachCallSaysSo) {
  auto db = this->fresh();
  {
    auto tx = db.begin();
    auto savepoint = tx->savepoint("gone");
    ASSERT_TRUE(savepoint.ok()) << savepoint.status();
    this->insert(db, 1);
    ASSERT_TRUE(db.execute("COMMIT").ok());
    const std::string ended =
        absl::StrCat(": no transaction is open any more: other SQL on this connection (a COMMIT or "
                     "ROLLBACK run with execute()) ended it, so ");
    EXPECT_EQ(savepoint->release(),
              absl::FailedPreconditionError(absl::StrCat(
                  "release ", db.resource(), ended, "the savepoint \"gone\" went with it")));
    // A failed release() leaves it open: rollback() says the same.
    EXPECT_EQ(savepoint->rollback(),
              absl::FailedPreconditionError(absl::StrCat(
                  "rollback ", db.resource(), ended, "the savepoint \"gone\" went with it")));
    auto another = tx->savepoint("another");
    EXPECT_EQ(another.status(),
              absl::FailedPreconditionError(absl::StrCat(
                  "savepoint ", db.resource(), ended, "no savepoint can be made in it")));
    EXPECT_EQ(tx->commit().code(), absl::StatusCode::kFailedPrecondition);
  }
  // Nothing was left open: a new transaction begins, and the row stayed.
  auto next = db.begin();
  ASSERT_TRUE(next.ok()) << next.status();
  ASSERT_TRUE(next->commit().ok());
  EXPECT_THAT(this->xs(db), ElementsAre(1));
}

// A savepoint's destructor after the transaction ended behind its back
// does no harm: no abort, nothing begun, and the connection goes on in
// autocommit.
TYPED_TEST(SavepointTest, TheDestructorAfterOtherSqlEndedTheTransactionDoesNothing) {
  auto db = this->fresh();
  {
    auto tx = db.begin();
    {
      auto savepoint = tx->savepoint("gone");
      ASSERT_TRUE(savepoint.ok()) << savepoint.status();
      this->insert(db, 1);
      ASSERT_TRUE(db.execute("COMMIT").ok());
    }
    this->insert(db, 2);  // autocommit: no transaction is open
    EXPECT_EQ(tx->rollback().code(), absl::StatusCode::kFailedPrecondition);
  }
  EXPECT_THAT(this->xs(db), ElementsAre(1, 2));
}

// A unique violation inside a savepoint, rolled back: the transaction goes
// on and commits what came before. (PostgreSQL fails the whole transaction
// at the error; rolling back to the savepoint is what recovers it.)
TYPED_TEST(SavepointTest, RollingBackToASavepointRecoversFromAFailedStatement) {
  auto db = this->fresh();
  {
    auto tx = db.begin();
    this->insert(db, 1);
    auto attempt = tx->savepoint("attempt");
    ASSERT_TRUE(attempt.ok()) << attempt.status();
    this->insert(db, 2);
    EXPECT_FALSE(db.execute("INSERT INTO t VALUES (1)").ok());  // a duplicate
    ASSERT_TRUE(attempt->rollback().ok());
    this->insert(db, 3);
    ASSERT_TRUE(tx->commit().ok());
  }
  EXPECT_THAT(this->xs(db), ElementsAre(1, 3));
}

// --- SQLite: the options of begin() ------------------------------------------------

SqliteConnection open_sqlite(const SqliteConfig& config) {
  absl::StatusOr<SqliteConnection> db = SqliteConnection::open(config);
  EXPECT_TRUE(db.ok()) << db.status();
  return *std::move(db);
}

// What a second connection gets when it reads t: a count, or a Status.
absl::StatusOr<int64_t> count_rows(SqliteConnection& db) {
  absl::StatusOr<Statement> select = db.prepare("SELECT count(*) FROM t");
  if (!select.ok()) return select.status();
  absl::StatusOr<bool> row = select->step();
  if (!row.ok()) return row.status();
  return select->get_int64(0);
}

TEST(SqliteTransactionOptionsTest, AreDataPrintedAndReadAsJson) {
  const SqliteTransactionOptions options{.behavior = SqliteBegin::immediate};
  EXPECT_EQ(to_string(options), "SqliteTransactionOptions{behavior=immediate}");
  EXPECT_EQ(to_json(options), R"({"behavior":"immediate"})");
  absl::StatusOr<SqliteTransactionOptions> read = from_json<SqliteTransactionOptions>(
      to_json(SqliteTransactionOptions{.behavior = SqliteBegin::exclusive}));
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(*read, SqliteTransactionOptions{.behavior = SqliteBegin::exclusive});
  EXPECT_EQ(*from_json<SqliteTransactionOptions>("{}"), SqliteTransactionOptions{});
  EXPECT_EQ(from_json<SqliteTransactionOptions>(R"({"behavior":"sideways"})").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(SqliteTransactionOptions{}.validate().ok());
  EXPECT_EQ(SqliteTransactionOptions{.behavior = static_cast<SqliteBegin>(7)}.validate(),
            absl::InvalidArgumentError("SqliteTransactionOptions.behavior: (7) is not one of "
                                       "deferred, immediate, exclusive"));
}

TEST(SqliteTransactionOptionsTest, OptionsThatFailValidateBeginNothing) {
  SqliteConnection db = open_sqlite({.path = ":memory:"});
  absl::StatusOr<Transaction> refused =
      db.begin({.behavior = static_cast<SqliteBegin>(7)});
  EXPECT_EQ(refused.status(),
            absl::InvalidArgumentError("begin sqlite \":memory:\": SqliteTransactionOptions."
                                       "behavior: (7) is not one of deferred, immediate, "
                                       "exclusive"));
  EXPECT_NE(::sqlite3_get_autocommit(db.get()), 0);  // nothing begun
  EXPECT_TRUE(db.begin().ok());
}

// Deferred (begin() alike) takes no lock until the first read or write;
// immediate takes the write lock at BEGIN, so that a second writer is
// refused then (after its busy_timeout, here none), not at its first write.
TEST(SqliteTransactionOptionsTest, ImmediateTakesTheWriteLockAtBegin) {
  TempPath file("locks.db");
  SqliteConnection first = open_sqlite({.path = file.path()});
  SqliteConnection second = open_sqlite({.path = file.path(), .busy_timeout = absl::ZeroDuration()});
  ASSERT_TRUE(first.execute("CREATE TABLE t (x integer)").ok());
  {
    absl::StatusOr<Transaction> deferred = first.begin();
    ASSERT_TRUE(deferred.ok()) << deferred.status();
    EXPECT_EQ(::sqlite3_txn_state(first.get(), "main"), SQLITE_TXN_NONE);
    absl::StatusOr<Transaction> other = second.begin({.behavior = SqliteBegin::immediate});
    ASSERT_TRUE(other.ok()) << other.status();
    ASSERT_TRUE(other->rollback().ok());
  }
  {
    absl::StatusOr<Transaction> explicitly = first.begin({.behavior = SqliteBegin::deferred});
    ASSERT_TRUE(explicitly.ok()) << explicitly.status();
    EXPECT_EQ(::sqlite3_txn_state(first.get(), "main"), SQLITE_TXN_NONE);
  }
  absl::StatusOr<Transaction> immediate = first.begin({.behavior = SqliteBegin::immediate});
  ASSERT_TRUE(immediate.ok()) << immediate.status();
  EXPECT_EQ(::sqlite3_txn_state(first.get(), "main"), SQLITE_TXN_WRITE);
  absl::StatusOr<Transaction> other = second.begin({.behavior = SqliteBegin::immediate});
  EXPECT_EQ(other.status().code(), absl::StatusCode::kUnavailable) << other.status();
  EXPECT_THAT(other.status().message(),
              HasSubstr(absl::StrCat("begin ", second.resource(), ": database is locked")));
  EXPECT_NE(::sqlite3_get_autocommit(second.get()), 0);  // the failed BEGIN left nothing open
  EXPECT_EQ(second.execute("INSERT INTO t VALUES (1)").code(), absl::StatusCode::kUnavailable);
  // Readers are not kept out (WAL).
  EXPECT_EQ(count_rows(second).value_or(-1), 0);
  ASSERT_TRUE(immediate->commit().ok());
  EXPECT_TRUE(second.execute("INSERT INTO t VALUES (1)").ok());
}

// Exclusive keeps readers out too, with a rollback journal (in WAL mode it
// is the same as immediate); immediate does not.
TEST(SqliteTransactionOptionsTest, ExclusiveKeepsReadersOutWithARollbackJournal) {
  TempPath file("exclusive.db");
  const SqliteConfig config{.path = file.path(), .journal_mode = JournalMode::rollback};
  SqliteConnection first = open_sqlite(config);
  SqliteConfig reader_config = config;
  reader_config.busy_timeout = absl::ZeroDuration();
  SqliteConnection second = open_sqlite(reader_config);
  ASSERT_TRUE(first.execute("CREATE TABLE t (x integer)").ok());
  {
    absl::StatusOr<Transaction> immediate = first.begin({.behavior = SqliteBegin::immediate});
    ASSERT_TRUE(immediate.ok()) << immediate.status();
    EXPECT_EQ(count_rows(second).value_or(-1), 0);
  }
  absl::StatusOr<Transaction> exclusive = first.begin({.behavior = SqliteBegin::exclusive});
  ASSERT_TRUE(exclusive.ok()) << exclusive.status();
  absl::StatusOr<int64_t> read = count_rows(second);
  EXPECT_EQ(read.status().code(), absl::StatusCode::kUnavailable) << read.status();
  EXPECT_THAT(read.status().message(), HasSubstr("database is locked"));
  ASSERT_TRUE(exclusive->commit().ok());
  EXPECT_EQ(count_rows(second).value_or(-1), 0);
}

// --- PostgreSQL: the options of begin(), and a failed transaction -------------------

class PostgresTransactionTest : public testing::PostgresSuite {
 protected:
  static PostgresConnection fresh() { return with_empty_table(connect()); }
  static std::string show(PostgresConnection& db, const char* setting) {
    absl::StatusOr<PostgresResult> rows = db.query(absl::StrCat("SHOW ", setting));
    EXPECT_TRUE(rows.ok()) << rows.status();
    return rows.ok() ? rows->get_text(0, 0) : "";
  }
};

TEST(PostgresTransactionOptionsTest, AreDataPrintedAndReadAsJson) {
  const PostgresTransactionOptions options{
      .isolation = IsolationLevel::serializable, .read_only = true, .deferrable = true};
  EXPECT_EQ(to_string(options),
            "PostgresTransactionOptions{isolation=serializable, read_only=true, "
            "deferrable=true}");
  EXPECT_EQ(to_json(options),
            R"({"isolation":"serializable","read_only":true,"deferrable":true})");
  absl::StatusOr<PostgresTransactionOptions> read =
      from_json<PostgresTransactionOptions>(to_json(options));
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(*read, options);
  EXPECT_EQ(*from_json<PostgresTransactionOptions>(R"({"isolation":"repeatable_read"})"),
            PostgresTransactionOptions{.isolation = IsolationLevel::repeatable_read});
  // validate() runs on what JSON reads too.
  EXPECT_EQ(from_json<PostgresTransactionOptions>(R"({"deferrable":true})").status().code(),
            absl::StatusCode::kInvalidArgument);
}

// DEFERRABLE only takes effect in a serializable, read-only transaction;
// anywhere else PostgreSQL accepts it and ignores it. Refused here instead.
TEST(PostgresTransactionOptionsTest, DeferrableOnlyWithSerializableReadOnly) {
  const std::string refused =
      "PostgresTransactionOptions.deferrable: takes effect only with isolation=serializable and "
      "read_only=true (PostgreSQL would ignore it here)";
  EXPECT_EQ(PostgresTransactionOptions{.deferrable = true}.validate(),
            absl::InvalidArgumentError(refused));
  EXPECT_EQ((PostgresTransactionOptions{.isolation = IsolationLevel::serializable,
                                        .deferrable = true})
                .validate(),
            absl::InvalidArgumentError(refused));
  EXPECT_EQ((PostgresTransactionOptions{.isolation = IsolationLevel::repeatable_read,
                                        .read_only = true,
                                        .deferrable = true})
                .validate(),
            absl::InvalidArgumentError(refused));
  EXPECT_TRUE((PostgresTransactionOptions{.isolation = IsolationLevel::serializable,
                                          .read_only = true,
                                          .deferrable = true})
                  .validate()
                  .ok());
  EXPECT_TRUE(PostgresTransactionOptions{.read_only = true}.validate().ok());
  EXPECT_EQ(PostgresTransactionOptions{.isolation = static_cast<IsolationLevel>(9)}.validate(),
            absl::InvalidArgumentError("PostgresTransactionOptions.isolation: (9) is not one of "
                                       "read_committed, repeatable_read, serializable"));
}

TEST_F(PostgresTransactionTest, OptionsThatFailValidateSendNothing) {
  PostgresConnection db = fresh();
  absl::StatusOr<PostgresTransaction> refused = db.begin({.deferrable = true});
  EXPECT_EQ(refused.status(),
            absl::InvalidArgumentError(absl::StrCat(
                "begin ", db.resource(),
                ": PostgresTransactionOptions.deferrable: takes effect only with "
                "isolation=serializable and read_only=true (PostgreSQL would ignore it here)")));
  EXPECT_EQ(show(db, "transaction_isolation"), "read committed");
  absl::StatusOr<PostgresTransaction> next = db.begin();  // nothing was left open
  ASSERT_TRUE(next.ok()) << next.status();
}

TEST_F(PostgresTransactionTest, EachIsolationLevelReachesTheServer) {
  PostgresConnection db = fresh();
  const std::pair<IsolationLevel, const char*> levels[] = {
      {IsolationLevel::read_committed, "read committed"},
      {IsolationLevel::repeatable_read, "repeatable read"},
      {IsolationLevel::serializable, "serializable"}};
  for (const auto& [level, shown] : levels) {
    absl::StatusOr<PostgresTransaction> tx = db.begin({.isolation = level});
    ASSERT_TRUE(tx.ok()) << tx.status();
    EXPECT_EQ(show(db, "transaction_isolation"), shown);
    EXPECT_EQ(show(db, "transaction_read_only"), "off");
    EXPECT_EQ(show(db, "transaction_deferrable"), "off");
    ASSERT_TRUE(tx->commit().ok());
  }
}

// A write in a read-only transaction is refused by the server: SQLSTATE
// 25006, read_only_sql_transaction.
TEST_F(PostgresTransactionTest, ReadOnlyRefusesWrites) {
  PostgresConnection db = fresh();
  {
    absl::StatusOr<PostgresTransaction> tx = db.begin({.read_only = true});
    ASSERT_TRUE(tx.ok()) << tx.status();
    EXPECT_EQ(show(db, "transaction_read_only"), "on");
    const absl::Status write = db.execute("INSERT INTO t VALUES (1)");
    EXPECT_FALSE(write.ok());
    EXPECT_THAT(write.message(), HasSubstr("cannot execute INSERT in a read-only transaction"));
    EXPECT_THAT(write.message(), HasSubstr("[25006]"));
    EXPECT_EQ(tx->commit().code(), absl::StatusCode::kAborted);
  }
  EXPECT_EQ(db.query("SELECT x FROM t")->rows(), 0);
}

TEST_F(PostgresTransactionTest, DeferrableReachesTheServer) {
  PostgresConnection db = fresh();
  absl::StatusOr<PostgresTransaction> tx = db.begin(
      {.isolation = IsolationLevel::serializable, .read_only = true, .deferrable = true});
  ASSERT_TRUE(tx.ok()) << tx.status();
  EXPECT_EQ(show(db, "transaction_isolation"), "serializable");
  EXPECT_EQ(show(db, "transaction_read_only"), "on");
  EXPECT_EQ(show(db, "transaction_deferrable"), "on");
  ASSERT_TRUE(tx->commit().ok());
}

// begin() takes the session's defaults; begin(options) says every option,
// so begin({}) is read committed and read write whatever they are.
TEST_F(PostgresTransactionTest, OptionsOverrideTheSessionDefaultsPlainBeginKeepsThem) {
  PostgresConnection db = fresh();
  ASSERT_TRUE(db.execute("SET default_transaction_isolation = 'serializable'; "
                         "SET default_transaction_read_only = on")
                  .ok());
  {
    absl::StatusOr<PostgresTransaction> tx = db.begin();
    ASSERT_TRUE(tx.ok()) << tx.status();
    EXPECT_EQ(show(db, "transaction_isolation"), "serializable");
    EXPECT_EQ(show(db, "transaction_read_only"), "on");
  }
  absl::StatusOr<PostgresTransaction> tx = db.begin({});
  ASSERT_TRUE(tx.ok()) << tx.status();
  EXPECT_EQ(show(db, "transaction_isolation"), "read committed");
  EXPECT_EQ(show(db, "transaction_read_only"), "off");
  ASSERT_TRUE(db.execute("INSERT INTO t VALUES (1)").ok());
  ASSERT_TRUE(tx->commit().ok());
}

// After a statement failed, the server refuses everything but a rollback
// (25P02): a savepoint made then is refused; the transaction can only be
// rolled back, and commit() says Aborted.
TEST_F(PostgresTransactionTest, ASavepointInAFailedTransactionIsRefused) {
  PostgresConnection db = fresh();
  absl::StatusOr<PostgresTransaction> tx = db.begin();
  ASSERT_TRUE(db.execute("INSERT INTO t VALUES (1)").ok());
  EXPECT_FALSE(db.execute("SELECT 1/0").ok());
  absl::StatusOr<PostgresSavepoint> late = tx->savepoint("late");
  EXPECT_FALSE(late.ok());
  EXPECT_THAT(late.status().message(),
              HasSubstr(absl::StrCat("savepoint ", db.resource(), ": \"SAVEPOINT \\\"late\\\"\": "
                                     "ERROR:  current transaction is aborted")));
  EXPECT_THAT(late.status().message(), HasSubstr("[25P02]"));
  EXPECT_EQ(tx->commit().code(), absl::StatusCode::kAborted);
  EXPECT_EQ(db.query("SELECT x FROM t")->rows(), 0);
}

// A release() in a failed transaction is refused too (25P02), and leaves
// the savepoint open: rolling back to it recovers the transaction, which
// then commits what came before it.
TEST_F(PostgresTransactionTest, AFailedReleaseLeavesTheSavepointToRollBackTo) {
  PostgresConnection db = fresh();
  absl::StatusOr<PostgresTransaction> tx = db.begin();
  ASSERT_TRUE(db.execute("INSERT INTO t VALUES (1)").ok());
  absl::StatusOr<PostgresSavepoint> attempt = tx->savepoint("attempt");
  ASSERT_TRUE(attempt.ok()) << attempt.status();
  const absl::Status duplicate = db.execute("INSERT INTO t VALUES (1)");
  EXPECT_THAT(duplicate.message(), HasSubstr("[23505]"));
  const absl::Status released = attempt->release();
  EXPECT_FALSE(released.ok());
  EXPECT_THAT(released.message(), HasSubstr("[25P02]"));
  ASSERT_TRUE(attempt->rollback().ok());
  ASSERT_TRUE(db.execute("INSERT INTO t VALUES (2)").ok());
  ASSERT_TRUE(tx->commit().ok());
  EXPECT_THAT(PostgresSide::xs(db), ElementsAre(1, 2));
}

// The destructor rolls back to a savepoint in a failed transaction too, and
// so recovers it.
TEST_F(PostgresTransactionTest, TheDestructorRecoversAFailedTransaction) {
  PostgresConnection db = fresh();
  absl::StatusOr<PostgresTransaction> tx = db.begin();
  ASSERT_TRUE(db.execute("INSERT INTO t VALUES (1)").ok());
  {
    absl::StatusOr<PostgresSavepoint> attempt = tx->savepoint("attempt");
    ASSERT_TRUE(attempt.ok()) << attempt.status();
    EXPECT_FALSE(db.execute("SELECT 1/0").ok());
  }
  ASSERT_TRUE(tx->commit().ok());
  EXPECT_THAT(PostgresSide::xs(db), ElementsAre(1));
}

// Statements let go inside a savepoint are DEALLOCATEd before the next
// command under a savepoint of the library's own, uncopyable_deallocate: a
// savepoint of the caller's with that very name is still the one its
// release() and rollback() reach.
TEST_F(PostgresTransactionTest, StatementsReleasedUnderASavepointOfTheSameName) {
  PostgresConnection db = fresh();
  absl::StatusOr<PostgresTransaction> tx = db.begin();
  ASSERT_TRUE(db.execute("INSERT INTO t VALUES (1)").ok());
  absl::StatusOr<PostgresSavepoint> same = tx->savepoint("uncopyable_deallocate");
  ASSERT_TRUE(same.ok()) << same.status();
  ASSERT_TRUE(db.execute("INSERT INTO t VALUES (2)").ok());
  {
    absl::StatusOr<PostgresStatement> statement = db.prepare("SELECT 1");
    ASSERT_TRUE(statement.ok()) << statement.status();
  }  // let go: deallocated before the next command
  ASSERT_TRUE(same->rollback().ok());
  EXPECT_EQ(db.query("SELECT count(*) FROM pg_prepared_statements")->get_int64(0, 0), 0);
  ASSERT_TRUE(tx->commit().ok());
  EXPECT_THAT(PostgresSide::xs(db), ElementsAre(1));
}

}  // namespace
}  // namespace uncopyable
