// SqliteConnection's statement cache (issue 16): the query forms keep their
// statements by SQL text, statement_cache_size of them, least recently used
// out first. What the connection holds is read from SQLite itself
// (sqlite3_next_stmt() lists a connection's statements).
#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/cache_size_checks.h"
#include "tests/testing/example_rows.h"
#include "tests/testing/temp_path.h"
#include "uncopyable/config_json.h"
#include "uncopyable/config_url.h"
#include "uncopyable/rows.h"
#include "uncopyable/sqlite.h"

namespace uncopyable {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;
using testing::TempPath;

SqliteConnection open_or_die(const SqliteConfig& config) {
  absl::StatusOr<SqliteConnection> db = SqliteConnection::open(config);
  EXPECT_TRUE(db.ok()) << db.status();
  return *std::move(db);
}

// The SQL of every statement the connection has now (cached, or alive).
std::vector<std::string> statements_of(const SqliteConnection& db) {
  std::vector<std::string> sql;
  for (sqlite3_stmt* s = ::sqlite3_next_stmt(db.get(), nullptr); s != nullptr;
       s = ::sqlite3_next_stmt(db.get(), s)) {
    sql.emplace_back(::sqlite3_sql(s));
  }
  return sql;
}

// The connection's one statement whose SQL is `sql`, or nullptr.
sqlite3_stmt* statement_for(const SqliteConnection& db, const std::string& sql) {
  for (sqlite3_stmt* s = ::sqlite3_next_stmt(db.get(), nullptr); s != nullptr;
       s = ::sqlite3_next_stmt(db.get(), s)) {
    if (sql == ::sqlite3_sql(s)) return s;
  }
  return nullptr;
}

// How many times a statement ran to a first step (-1: no statement).
int runs_of(sqlite3_stmt* statement) {
  if (statement == nullptr) return -1;
  return ::sqlite3_stmt_status(statement, SQLITE_STMTSTATUS_RUN, /*reset=*/0);
}

int64_t value_or_die(SqliteConnection& db, const std::string& sql, int64_t parameter) {
  absl::StatusOr<int64_t> value = db.query_value<int64_t>(sql, parameter);
  EXPECT_TRUE(value.ok()) << value.status();
  return value.value_or(-1);
}

constexpr char kPlusOne[] = "SELECT ?1 + 1";

TEST(SqliteCacheTest, TheSameSqlReusesOneStatement) {
  SqliteConnection db = open_or_die({.path = ":memory:"});
  for (int64_t i = 0; i < 3; ++i) EXPECT_EQ(value_or_die(db, kPlusOne, i), i + 1);
  EXPECT_THAT(statements_of(db), ElementsAre(kPlusOne));
  sqlite3_stmt* kept = statement_for(db, kPlusOne);
  ASSERT_NE(kept, nullptr);
  EXPECT_EQ(runs_of(kept), 3);
  // Every query form shares it.
  ASSERT_TRUE(db.execute("CREATE TABLE t (v INTEGER)").ok());
  ASSERT_TRUE(db.execute("INSERT INTO t VALUES (?)", 5).ok());
  ASSERT_TRUE(db.execute("INSERT INTO t VALUES (?)", 6).ok());
  absl::StatusOr<std::vector<example_rows::Number>> all = db.query<example_rows::Number>("SELECT v FROM t");
  ASSERT_TRUE(all.ok()) << all.status();
  all = db.query<example_rows::Number>("SELECT v FROM t");
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(runs_of(statement_for(db, "INSERT INTO t VALUES (?)")), 2);
  EXPECT_EQ(runs_of(statement_for(db, "SELECT v FROM t")), 2);
  EXPECT_EQ(statement_for(db, kPlusOne), kept);
}

TEST(SqliteCacheTest, TheLeastRecentlyUsedStatementGoesFirst) {
  SqliteConnection db = open_or_die({.path = ":memory:", .statement_cache_size = 2});
  value_or_die(db, "SELECT ?1 + 1", 1);  // a
  value_or_die(db, "SELECT ?1 + 2", 1);  // b
  value_or_die(db, "SELECT ?1 + 1", 1);  // a again: b is now the oldest
  value_or_die(db, "SELECT ?1 + 3", 1);  // c: b goes
  EXPECT_THAT(statements_of(db), UnorderedElementsAre("SELECT ?1 + 1", "SELECT ?1 + 3"));
  EXPECT_EQ(runs_of(statement_for(db, "SELECT ?1 + 1")), 2);
  value_or_die(db, "SELECT ?1 + 2", 1);  // b again: a goes
  EXPECT_THAT(statements_of(db), UnorderedElementsAre("SELECT ?1 + 3", "SELECT ?1 + 2"));
}

TEST(SqliteCacheTest, SizeZeroPreparesEachTime) {
  SqliteConnection db = open_or_die({.path = ":memory:", .statement_cache_size = 0});
  EXPECT_EQ(value_or_die(db, kPlusOne, 1), 2);
  EXPECT_EQ(value_or_die(db, kPlusOne, 2), 3);
  EXPECT_THAT(statements_of(db), IsEmpty());
}

TEST(SqliteCacheTest, AFailureToPrepareIsNotKept) {
  SqliteConnection db = open_or_die({.path = ":memory:"});
  const absl::StatusOr<int64_t> wrong = db.query_value<int64_t>("SELEC ?1", 1);
  EXPECT_EQ(wrong.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(wrong.status().message(), HasSubstr("syntax error"));
  const absl::StatusOr<int64_t> missing = db.query_value<int64_t>("SELECT v FROM nowhere", 1);
  EXPECT_THAT(missing.status().message(), HasSubstr("no such table: nowhere"));
  EXPECT_THAT(statements_of(db), IsEmpty());
  // Once the table is there, the same text prepares (and is kept).
  ASSERT_TRUE(db.execute("CREATE TABLE nowhere (v INTEGER); INSERT INTO nowhere VALUES (4)").ok());
  EXPECT_EQ(*db.query_value<int64_t>("SELECT v FROM nowhere"), 4);
  EXPECT_THAT(statements_of(db), ElementsAre("SELECT v FROM nowhere"));
}

// A statement given back is reset (it holds no read transaction, which
// would keep a writer waiting in rollback-journal mode) and its values are
// unbound (a big or private value is not kept alive by the cache).
TEST(SqliteCacheTest, AStatementGivenBackIsResetAndHoldsNoValues) {
  TempPath temp("given_back.db");
  SqliteConnection db = open_or_die(
      {.path = temp.path(), .busy_timeout = absl::ZeroDuration(),
       .journal_mode = JournalMode::rollback});
  ASSERT_TRUE(db.execute("CREATE TABLE t (v INTEGER, secret TEXT); "
                         "INSERT INTO t VALUES (1, 'a'), (2, 'b'), (3, 'c')")
                  .ok());
  const std::string sql = "SELECT v FROM t WHERE secret <> ?";
  int seen = 0;
  const absl::Status stopped = db.for_each<example_rows::Number>(sql, "hunter2", [&](const example_rows::Number&) {
    ++seen;
    return absl::CancelledError("enough");  // stops after the first row
  });
  EXPECT_EQ(stopped.code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(seen, 1);
  sqlite3_stmt* kept = statement_for(db, sql);
  ASSERT_NE(kept, nullptr);
  EXPECT_EQ(::sqlite3_stmt_busy(kept), 0);
  char* expanded = ::sqlite3_expanded_sql(kept);
  EXPECT_STREQ(expanded, "SELECT v FROM t WHERE secret <> NULL");
  ::sqlite3_free(expanded);
  // No read lock left: another connection writes at once.
  SqliteConnection writer = open_or_die(
      {.path = temp.path(), .busy_timeout = absl::ZeroDuration(),
       .journal_mode = JournalMode::rollback});
  EXPECT_TRUE(writer.execute("INSERT INTO t VALUES (4, 'd')").ok());
}

// for_each()'s fn running the very same SQL gets a statement of its own:
// the one for_each() is stepping is lent out, never reset under it.
TEST(SqliteCacheTest, ANestedQueryOfTheSameSqlDoesNotResetTheOuterOne) {
  SqliteConnection db = open_or_die({.path = ":memory:"});
  ASSERT_TRUE(db.execute("CREATE TABLE t (v INTEGER); INSERT INTO t VALUES (1), (2), (3)").ok());
  const std::string sql = "SELECT v FROM t WHERE v >= ? ORDER BY v";
  std::vector<int64_t> outer;
  std::vector<size_t> inner;
  const absl::Status done = db.for_each<example_rows::Number>(sql, 1, [&](const example_rows::Number& row) {
    outer.push_back(row.v);
    absl::StatusOr<std::vector<example_rows::Number>> rest = db.query<example_rows::Number>(sql, row.v);
    if (!rest.ok()) return rest.status();
    inner.push_back(rest->size());
    // And a nested for_each() of the same SQL too.
    return db.for_each<example_rows::Number>(sql, row.v, [](const example_rows::Number&) { return absl::OkStatus(); });
  });
  ASSERT_TRUE(done.ok()) << done;
  EXPECT_THAT(outer, ElementsAre(1, 2, 3));
  EXPECT_THAT(inner, ElementsAre(3, 2, 1));
  // The one kept is the outer's; the nested ones were finalized.
  EXPECT_THAT(statements_of(db), ElementsAre(sql));
  EXPECT_EQ(runs_of(statement_for(db, sql)), 1);
}

// The connection finalizes its cached statements before it closes: SQLite
// refuses to close a database with statements left (SQLITE_BUSY).
TEST(SqliteCacheTest, CloseFinalizesTheCachedStatementsFirst) {
  SqliteConnection db = open_or_die({.path = ":memory:"});
  value_or_die(db, kPlusOne, 1);
  value_or_die(db, "SELECT ?1 + 2", 1);
  ASSERT_EQ(statements_of(db).size(), 2u);
  const absl::Status closed = db.close();
  EXPECT_TRUE(closed.ok()) << closed;
}

// The cache moves with its connection; a rebuild() starts with none; a
// connection assigned over finalizes its statements, then closes.
TEST(SqliteCacheTest, MovesWithItsConnectionAndRebuildStartsEmpty) {
  TempPath temp("moved.db");
  SqliteConnection db = open_or_die({.path = temp.path()});
  value_or_die(db, kPlusOne, 1);
  sqlite3_stmt* kept = statement_for(db, kPlusOne);
  SqliteConnection moved = std::move(db);
  EXPECT_EQ(value_or_die(moved, kPlusOne, 2), 3);
  EXPECT_EQ(statement_for(moved, kPlusOne), kept);
  EXPECT_EQ(runs_of(kept), 2);

  absl::StatusOr<SqliteConnection> fresh = moved.rebuild();
  ASSERT_TRUE(fresh.ok()) << fresh.status();
  EXPECT_THAT(statements_of(*fresh), IsEmpty());
  EXPECT_EQ(value_or_die(*fresh, kPlusOne, 3), 4);
  EXPECT_THAT(statements_of(*fresh), ElementsAre(kPlusOne));
  // Assigned over: the old connection's statement is finalized and its
  // database closed (a leak here is what ASan would report).
  moved = *std::move(fresh);
  EXPECT_THAT(statements_of(moved), ElementsAre(kPlusOne));
  EXPECT_EQ(runs_of(statement_for(moved, kPlusOne)), 1);
}

// Threads sharing a serialized connection share its cache: SQLite's
// connection mutex orders them; one statement is never lent to two.
TEST(SqliteCacheTest, ThreadsSharingASerializedConnectionShareItsCache) {
  TempPath temp("threads.db");
  SqliteConnection db = open_or_die({.path = temp.path(), .statement_cache_size = 2});
  constexpr int kRounds = 300;
  auto work = [&db](int who) {
    for (int i = 0; i < kRounds; ++i) {
      // Three texts for two places: hits, misses and evictions all happen.
      const std::string sql = absl::StrCat("SELECT ?1 + ", i % 3);
      absl::StatusOr<int64_t> value = db.query_value<int64_t>(sql, who);
      ASSERT_TRUE(value.ok()) << value.status();
      EXPECT_EQ(*value, who + i % 3);
    }
  };
  std::thread other(work, 1000);
  work(2000);
  other.join();
  EXPECT_LE(statements_of(db).size(), 2u);
}

TEST(SqliteCacheTest, AMultiThreadConnectionKeepsItsCacheAcrossThreads) {
  SqliteConnection db = open_or_die(
      {.path = ":memory:", .threading = SqliteThreading::multi_thread});
  value_or_die(db, kPlusOne, 1);
  std::thread([&db] { EXPECT_EQ(value_or_die(db, kPlusOne, 2), 3); }).join();
  EXPECT_EQ(runs_of(statement_for(db, kPlusOne)), 2);
}

TEST(SqliteCacheConfigTest, SizeIsThirtyTwoByDefaultUpToTenThousandAndTravels) {
  testing::expect_statement_cache_size_checked_and_carried(
      SqliteConfig{.path = "/var/lib/app/t.db"}, "SqliteConfig");
  EXPECT_EQ(SqliteConnection::open({.path = ":memory:", .statement_cache_size = -1})
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(to_url(SqliteConfig{.path = "/var/lib/app/t.db", .statement_cache_size = 4}),
            "sqlite:///var/lib/app/t.db?statement_cache_size=4");
  EXPECT_EQ(from_url<SqliteConfig>("sqlite:///t.db?statement_cache_size=lots").status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace uncopyable
