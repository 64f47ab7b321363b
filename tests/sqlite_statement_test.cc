// What SQLiteCpp's own Statement and Backup tests expect of a statement and
// a backup, here: a finished statement is not run again by a stray step(),
// any integer type binds, bindings clear, and a backup never goes into a
// database that vanishes with it.
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/temp_path.h"
#include "uncopyable/sqlite.h"

namespace uncopyable {
namespace {

using ::testing::HasSubstr;
using testing::TempPath;

SqliteConnection open_or_die(const SqliteConfig& config) {
  absl::StatusOr<SqliteConnection> db = SqliteConnection::open(config);
  EXPECT_TRUE(db.ok()) << db.status();
  return *std::move(db);
}

int64_t count(SqliteConnection& db, const std::string& table) {
  absl::StatusOr<int64_t> n = db.query_value<int64_t>(absl::StrCat("SELECT count(*) FROM ", table));
  EXPECT_TRUE(n.ok()) << n.status();
  return n.ok() ? *n : -1;
}

// SQLiteCpp: executeStep() after the end throws. SQLite itself would
// reset the statement and run the INSERT again.
TEST(SqliteStatementTest, AStepAfterTheEndIsRefusedNotARunAgain) {
  SqliteConnection db = open_or_die({.path = ":memory:"});
  ASSERT_TRUE(db.execute("CREATE TABLE t (x INTEGER)").ok());
  absl::StatusOr<Statement> insert = db.prepare("INSERT INTO t VALUES (1)");
  ASSERT_TRUE(insert.ok()) << insert.status();
  absl::StatusOr<bool> first = insert->step();
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_FALSE(*first);
  absl::StatusOr<bool> again = insert->step();
  EXPECT_EQ(again.status().code(), absl::StatusCode::kFailedPrecondition) << again.status();
  EXPECT_THAT(std::string(again.status().message()),
              HasSubstr("\"INSERT INTO t VALUES (1)\": the statement already ran to its end"));
  EXPECT_EQ(count(db, "t"), 1);
  // reset() starts it over, on purpose.
  ASSERT_TRUE(insert->reset().ok());
  absl::StatusOr<bool> after_reset = insert->step();
  ASSERT_TRUE(after_reset.ok()) << after_reset.status();
  EXPECT_EQ(count(db, "t"), 2);
  // run() starts it over too, whatever step() did.
  ASSERT_TRUE(insert->run().ok());
  EXPECT_EQ(count(db, "t"), 3);
  absl::StatusOr<bool> after_run = insert->step();
  ASSERT_TRUE(after_run.ok()) << after_run.status();  // run() left it reset
  EXPECT_EQ(count(db, "t"), 4);
}

TEST(SqliteStatementTest, ASelectReadToItsEndSaysSoUntilReset) {
  SqliteConnection db = open_or_die({.path = ":memory:"});
  absl::StatusOr<Statement> select = db.prepare("SELECT 1");
  ASSERT_TRUE(select.ok());
  EXPECT_TRUE(*select->step());
  EXPECT_FALSE(*select->step());
  EXPECT_EQ(select->step().status().code(), absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(select->reset().ok());
  EXPECT_TRUE(*select->step());
}

TEST(SqliteStatementTest, BindingAfterARunWithoutResetSaysWhatToDo) {
  SqliteConnection db = open_or_die({.path = ":memory:"});
  ASSERT_TRUE(db.execute("CREATE TABLE t (x INTEGER)").ok());
  absl::StatusOr<Statement> insert = db.prepare("INSERT INTO t VALUES (?)");
  ASSERT_TRUE(insert.ok());
  ASSERT_TRUE(insert->bind(1, 1).ok());
  ASSERT_FALSE(*insert->step());
  absl::Status bound = insert->bind(1, 2);
  EXPECT_EQ(bound.code(), absl::StatusCode::kFailedPrecondition) << bound;
  EXPECT_THAT(std::string(bound.message()), HasSubstr("reset() it before binding new values"));
  ASSERT_TRUE(insert->reset().ok());
  EXPECT_TRUE(insert->bind(1, 2).ok());
}

// SQLiteCpp's bindings test binds long long, unsigned and uint32_t.
TEST(SqliteStatementTest, EveryIntegerTypeBindsAndReadsBack) {
  SqliteConnection db = open_or_die({.path = ":memory:"});
  ASSERT_TRUE(db.execute("CREATE TABLE t (a, b, c, d, e, f, g)").ok());
  absl::StatusOr<Statement> insert = db.prepare("INSERT INTO t VALUES (?, ?, ?, ?, :e, ?, ?)");
  ASSERT_TRUE(insert.ok());
  const long long big = -9000000000000000000LL;
  ASSERT_TRUE(insert->bind(1, big).ok());
  ASSERT_TRUE(insert->bind(2, 4294967295u).ok());
  ASSERT_TRUE(insert->bind(3, uint32_t{4294967295}).ok());
  ASSERT_TRUE(insert->bind(4, size_t{12345}).ok());
  ASSERT_TRUE(insert->bind(":e", uint64_t{INT64_MAX}).ok());
  ASSERT_TRUE(insert->bind(6, int8_t{-7}).ok());
  ASSERT_TRUE(insert->bind(7, short{300}).ok());
  ASSERT_TRUE(insert->run().ok());
  absl::StatusOr<Statement> select = db.prepare("SELECT a, b, c, d, e, f, g FROM t");
  ASSERT_TRUE(select.ok());
  ASSERT_TRUE(*select->step());
  EXPECT_EQ(select->get_int64(0), big);
  EXPECT_EQ(select->get_int64(1), 4294967295);
  EXPECT_EQ(select->get_int64(2), 4294967295);
  EXPECT_EQ(select->get_int64(3), 12345);
  EXPECT_EQ(select->get_int64(4), INT64_MAX);
  EXPECT_EQ(select->get_int64(5), -7);
  EXPECT_EQ(select->get_int64(6), 300);
}

TEST(SqliteStatementTest, AnUnsignedAboveInt64MaxIsOutOfRangeNotWrapped) {
  SqliteConnection db = open_or_die({.path = ":memory:"});
  absl::StatusOr<Statement> select = db.prepare("SELECT ?, :n");
  ASSERT_TRUE(select.ok());
  const uint64_t too_big = uint64_t{INT64_MAX} + 1;
  absl::Status by_index = select->bind(1, too_big);
  EXPECT_EQ(by_index.code(), absl::StatusCode::kOutOfRange) << by_index;
  EXPECT_THAT(std::string(by_index.message()),
              HasSubstr("?1 of \"SELECT ?, :n\": 9223372036854775808 is above the largest INTEGER"));
  absl::Status by_name = select->bind(":n", too_big);
  EXPECT_EQ(by_name.code(), absl::StatusCode::kOutOfRange) << by_name;
  EXPECT_THAT(std::string(by_name.message()), HasSubstr("\":n\" of"));
  // Nothing was bound: both are still NULL.
  ASSERT_TRUE(*select->step());
  EXPECT_TRUE(select->is_null(0));
  EXPECT_TRUE(select->is_null(1));
}

TEST(SqliteStatementTest, ClearBindingsSetsEveryParameterBackToNull) {
  SqliteConnection db = open_or_die({.path = ":memory:"});
  absl::StatusOr<Statement> select = db.prepare("SELECT ?, ?");
  ASSERT_TRUE(select.ok());
  ASSERT_TRUE(select->bind(1, 5).ok());
  ASSERT_TRUE(select->bind(2, "x").ok());
  select->clear_bindings();
  ASSERT_TRUE(*select->step());
  EXPECT_TRUE(select->is_null(0));
  EXPECT_TRUE(select->is_null(1));
}

TEST(SqliteBackupTest, AnInMemoryOrTemporaryTargetIsRefusedNotThrownAway) {
  SqliteConnection db = open_or_die({.path = ":memory:"});
  ASSERT_TRUE(db.execute("CREATE TABLE t (x); INSERT INTO t VALUES (1)").ok());
  for (const char* path : {":memory:", "", "file:copy?mode=memory", "file::memory:",
                           "file::memory:?cache=shared", "file:copy?mode=memory&cache=shared"}) {
    absl::Status saved = db.backup_to({.path = path});
    EXPECT_EQ(saved.code(), absl::StatusCode::kInvalidArgument) << path << ": " << saved;
    EXPECT_THAT(std::string(saved.message()), HasSubstr("backup_to(SqliteConnection&)")) << path;
  }
}

// SQLiteCpp's backup test: save to a file, then load it back into memory.
TEST(SqliteBackupTest, SaveToAFileThenLoadIntoAnOpenConnection) {
  TempPath file("saved.db");
  SqliteConnection memory = open_or_die({.path = ":memory:"});
  ASSERT_TRUE(memory.execute("CREATE TABLE t (x); INSERT INTO t VALUES (1), (2), (3)").ok());
  ASSERT_TRUE(memory.backup_to({.path = file.path()}).ok());
  SqliteConnection loaded = open_or_die({.path = ":memory:"});
  SqliteConnection saved = open_or_die({.path = file.path()});
  ASSERT_TRUE(saved.backup_to(loaded).ok());
  EXPECT_EQ(count(loaded, "t"), 3);
  // The target's own database was overwritten, and it is still usable.
  ASSERT_TRUE(loaded.execute("INSERT INTO t VALUES (4)").ok());
  EXPECT_EQ(count(loaded, "t"), 4);
  EXPECT_EQ(count(saved, "t"), 3);
}

TEST(SqliteBackupTest, IntoItselfOrATargetInATransactionIsRefused) {
  SqliteConnection source = open_or_die({.path = ":memory:"});
  ASSERT_TRUE(source.execute("CREATE TABLE t (x)").ok());
  absl::Status itself = source.backup_to(source);
  EXPECT_EQ(itself.code(), absl::StatusCode::kInvalidArgument) << itself;
  SqliteConnection target = open_or_die({.path = ":memory:"});
  ASSERT_TRUE(target.execute("CREATE TABLE kept (y); INSERT INTO kept VALUES (9)").ok());
  {
    absl::StatusOr<Transaction> open = target.begin();
    ASSERT_TRUE(open.ok()) << open.status();
    ASSERT_TRUE(target.execute("INSERT INTO kept VALUES (10)").ok());
    absl::Status busy = source.backup_to(target);
    EXPECT_EQ(busy.code(), absl::StatusCode::kFailedPrecondition) << busy;
    EXPECT_THAT(std::string(busy.message()), HasSubstr("the target has a transaction open"));
    ASSERT_TRUE(open->commit().ok());
  }
  EXPECT_EQ(count(target, "kept"), 2);  // untouched by the refused copy
}

}  // namespace
}  // namespace uncopyable
