#include "uncopyable/sqlite.h"

#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/temp_path.h"
#include "uncopyable/config_json.h"
#include "uncopyable/config_url.h"
#include "uncopyable/internal/quote.h"

namespace uncopyable {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::TempPath;

static_assert(Rebuildable<SqliteConnection>);
static_assert(Config<SqliteConfig>);
static_assert(!std::is_copy_constructible_v<Statement>);
static_assert(!std::is_copy_constructible_v<Transaction>);

SqliteConnection open_or_die(const SqliteConfig& config) {
  absl::StatusOr<SqliteConnection> db = SqliteConnection::open(config);
  EXPECT_TRUE(db.ok()) << db.status();
  return *std::move(db);
}

std::vector<std::string> names(SqliteConnection& db) {
  std::vector<std::string> out;
  absl::StatusOr<Statement> select = db.prepare("SELECT name FROM players ORDER BY id");
  EXPECT_TRUE(select.ok()) << select.status();
  absl::StatusOr<bool> row;
  while ((row = select->step()).ok() && *row) out.push_back(select->get_text(0));
  EXPECT_TRUE(row.ok()) << row.status();
  return out;
}

void make_players(SqliteConnection& db) {
  ASSERT_TRUE(db.execute("CREATE TABLE players (id INTEGER PRIMARY KEY, name TEXT NOT NULL, "
                         "rating REAL)")
                  .ok());
}

TEST(SqliteTest, PreparedStatementsBindAndReadTypedColumns) {
  TempPath temp("typed.db");
  SqliteConnection db = open_or_die({.path = temp.path()});
  make_players(db);
  absl::StatusOr<Statement> insert = db.prepare("INSERT INTO players (name, rating) VALUES (?, ?)");
  ASSERT_TRUE(insert.ok()) << insert.status();
  ASSERT_TRUE(insert->bind_all("ann", 1510.5).ok());
  ASSERT_TRUE(insert->run().ok());
  ASSERT_TRUE(insert->bind_all("bob", nullptr).ok());
  ASSERT_TRUE(insert->run().ok());
  absl::StatusOr<Statement> select = db.prepare("SELECT id, name, rating FROM players ORDER BY id");
  ASSERT_TRUE(select.ok());
  ASSERT_TRUE(*select->step());
  EXPECT_EQ(select->column_count(), 3);
  EXPECT_EQ(select->get_int64(0), 1);
  EXPECT_EQ(select->get_text(1), "ann");
  EXPECT_DOUBLE_EQ(select->get_double(2), 1510.5);
  ASSERT_TRUE(*select->step());
  EXPECT_TRUE(select->is_null(2));
  EXPECT_FALSE(*select->step());
}

TEST(SqliteTest, TransactionRollsBackUnlessCommitted) {
  SqliteConnection db = open_or_die({.path = ":memory:"});
  make_players(db);
  {
    absl::StatusOr<Transaction> tx = db.begin();
    ASSERT_TRUE(tx.ok()) << tx.status();
    ASSERT_TRUE(db.execute("INSERT INTO players (name) VALUES ('lost')").ok());
  }  // not committed
  {
    absl::StatusOr<Transaction> tx = db.begin();
    ASSERT_TRUE(db.execute("INSERT INTO players (name) VALUES ('kept')").ok());
    ASSERT_TRUE(tx->commit().ok());
  }
  EXPECT_THAT(names(db), ElementsAre("kept"));
}

TEST(SqliteTest, RebuildIsASecondIndependentConnection) {
  TempPath temp("rebuild.db");
  SqliteConnection db = open_or_die({.path = temp.path()});
  make_players(db);
  absl::StatusOr<SqliteConnection> second = db.rebuild();
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->config(), db.config());
  EXPECT_NE(second->get(), db.get());
  // Independent: the second connection does not see the first one's
  // uncommitted transaction.
  absl::StatusOr<Transaction> tx = db.begin();
  ASSERT_TRUE(db.execute("INSERT INTO players (name) VALUES ('pending')").ok());
  EXPECT_TRUE(names(*second).empty());
  ASSERT_TRUE(tx->commit().ok());
  EXPECT_THAT(names(*second), ElementsAre("pending"));
}

TEST(SqliteTest, BackupCopiesTheDataWhileTheSourceStaysInUse) {
  TempPath source_path("source.db");
  TempPath copy_path("copy.db");
  SqliteConnection db = open_or_die({.path = source_path.path()});
  make_players(db);
  ASSERT_TRUE(db.execute("INSERT INTO players (name) VALUES ('ann'), ('bob')").ok());
  // Another connection keeps writing while the backup runs.
  std::atomic<bool> done{false};
  std::atomic<int> written{0};
  std::thread writer([&] {
    SqliteConnection other = open_or_die(db.config());
    for (int i = 0; i < 200 && !done; ++i) {
      if (other.execute("INSERT INTO players (name) VALUES ('more')").ok()) ++written;
    }
  });
  const SqliteConfig copy{.path = copy_path.path()};
  const absl::Status backed_up = db.backup_to(copy);
  done = true;
  writer.join();
  ASSERT_TRUE(backed_up.ok()) << backed_up;
  // The copy is one consistent snapshot: the first rows, and some number of
  // the concurrent ones, all complete.
  SqliteConnection restored = open_or_die(copy);
  const std::vector<std::string> copied = names(restored);
  ASSERT_GE(copied.size(), 2u);
  EXPECT_EQ(copied[0], "ann");
  EXPECT_EQ(copied[1], "bob");
  EXPECT_LE(copied.size(), 2u + written.load());
  // And the source is still in use.
  EXPECT_TRUE(db.execute("INSERT INTO players (name) VALUES ('cy')").ok());
}

TEST(SqliteTest, ConfigAppliesItsPragmas) {
  TempPath temp("pragma.db");
  SqliteConnection db = open_or_die({.path = temp.path(), .journal_mode = JournalMode::wal,
                                     .foreign_keys = true});
  absl::StatusOr<Statement> mode = db.prepare("PRAGMA journal_mode");
  ASSERT_TRUE(*mode->step());
  EXPECT_EQ(mode->get_text(0), "wal");
  absl::StatusOr<Statement> keys = db.prepare("PRAGMA foreign_keys");
  ASSERT_TRUE(*keys->step());
  EXPECT_EQ(keys->get_int64(0), 1);
}

TEST(SqliteTest, ReadOnlyRefusesWritesWithAStatus) {
  TempPath temp("ro.db");
  {
    SqliteConnection db = open_or_die({.path = temp.path()});
    make_players(db);
  }
  SqliteConnection reader = open_or_die({.path = temp.path(), .mode = SqliteMode::ro});
  const absl::Status status = reader.execute("INSERT INTO players (name) VALUES ('x')");
  EXPECT_EQ(status.code(), absl::StatusCode::kPermissionDenied) << status;
  EXPECT_THAT(status.message(), HasSubstr(internal::quoted(temp.path())));
  EXPECT_THAT(status.message(), HasSubstr("readonly"));
}

TEST(SqliteTest, ErrorsCarrySqlitesMessageAndThePath) {
  const absl::StatusOr<SqliteConnection> missing =
      SqliteConnection::open({.path = "/nonexistent/dir/t.db", .mode = SqliteMode::rw});
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(missing.status().message(),
              HasSubstr("open sqlite \"/nonexistent/dir/t.db\": with mode=rw: unable to open"));
  SqliteConnection db = open_or_die({.path = ":memory:"});
  const absl::Status syntax = db.execute("SELEC 1");
  EXPECT_EQ(syntax.code(), absl::StatusCode::kInvalidArgument);
  // SQLite's words are quoted data too: escaped, like the SQL before them.
  EXPECT_EQ(syntax.message(),
            "execute sqlite \":memory:\": \"SELEC 1\": near \\\"SELEC\\\": syntax error");
  absl::StatusOr<Statement> bad = db.prepare("SELECT * FROM nowhere");
  EXPECT_THAT(bad.status().message(),
              HasSubstr("prepare sqlite \":memory:\": \"SELECT * FROM nowhere\": no such table: nowhere"));
}

int64_t count_rows(SqliteConnection& db, const char* table = "players") {
  absl::StatusOr<Statement> count = db.prepare(absl::StrCat("SELECT count(*) FROM ", table));
  EXPECT_TRUE(count.ok()) << count.status();
  absl::StatusOr<bool> row = count->step();
  EXPECT_TRUE(row.ok() && *row) << row.status();
  return count->get_int64(0);
}

// A second begin() would commit or roll back the first one's work; SQLite
// has no nested BEGIN.
TEST(SqliteTest, BeginWhileATransactionIsOpenIsRefused) {
  SqliteConnection db = open_or_die({.path = ":memory:"});
  make_players(db);
  absl::StatusOr<Transaction> outer = db.begin();
  ASSERT_TRUE(outer.ok()) << outer.status();
  ASSERT_TRUE(db.execute("INSERT INTO players (name) VALUES ('outer')").ok());
  absl::StatusOr<Transaction> inner = db.begin();
  EXPECT_EQ(inner.status().code(), absl::StatusCode::kFailedPrecondition) << inner.status();
  EXPECT_EQ(inner.status().message(),
            "begin sqlite \":memory:\": a transaction is already open on this connection; nest "
            "with a savepoint");
  // The outer transaction is untouched, and still decides.
  ASSERT_TRUE(outer->rollback().ok());
  EXPECT_EQ(count_rows(db), 0);
  // A BEGIN run by hand is seen too.
  ASSERT_TRUE(db.execute("BEGIN").ok());
  EXPECT_EQ(db.begin().status().code(), absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(db.execute("COMMIT").ok());
  // And once it is over, begin() works again.
  absl::StatusOr<Transaction> again = db.begin();
  ASSERT_TRUE(again.ok()) << again.status();
  ASSERT_TRUE(again->commit().ok());
}

// SQLite would read the text up to the NUL and run only that.
TEST(SqliteTest, SqlWithANulByteIsRefusedBeforeAnythingRuns) {
  SqliteConnection db = open_or_die({.path = ":memory:"});
  ASSERT_TRUE(db.execute("CREATE TABLE t (owner TEXT)").ok());
  ASSERT_TRUE(db.execute("INSERT INTO t VALUES ('me'), ('you')").ok());
  const std::string sql("DELETE FROM t\0 WHERE owner='me'", 31);
  const absl::Status executed = db.execute(sql);
  EXPECT_EQ(executed.code(), absl::StatusCode::kInvalidArgument) << executed;
  EXPECT_EQ(executed.message(),
            "execute sqlite \":memory:\": \"DELETE FROM t\\x00 WHERE owner=\\'me\\'\": SQL text "
            "contains a NUL byte at offset 13");
  absl::StatusOr<Statement> prepared = db.prepare(sql);
  EXPECT_EQ(prepared.status().code(), absl::StatusCode::kInvalidArgument) << prepared.status();
  EXPECT_EQ(prepared.status().message(),
            "prepare sqlite \":memory:\": \"DELETE FROM t\\x00 WHERE owner=\\'me\\'\": SQL text "
            "contains a NUL byte at offset 13");
  EXPECT_EQ(count_rows(db, "t"), 2);
}

// sqlite3_exec() binds NULL to a parameter execute(sql) has no value for:
// "INSERT INTO t VALUES (?)" would store a NULL.
TEST(SqliteTest, ExecuteRefusesAStatementWithAParameterBeforeItRuns) {
  SqliteConnection db = open_or_die({.path = ":memory:"});
  ASSERT_TRUE(db.execute("CREATE TABLE t (x TEXT)").ok());
  const absl::Status one = db.execute("INSERT INTO t VALUES (?)");
  EXPECT_EQ(one.code(), absl::StatusCode::kInvalidArgument) << one;
  EXPECT_EQ(one.message(),
            "execute sqlite \":memory:\": \"INSERT INTO t VALUES (?)\": the statement has 1 "
            "parameter and execute(sql) binds none (SQLite would run it with NULL for each); "
            "nothing was run; pass the values with execute(sql, params...), one statement at a "
            "time");
  for (const char* sql : {"INSERT INTO t VALUES (?3)", "INSERT INTO t VALUES (:x)",
                          "INSERT INTO t VALUES (@x)", "INSERT INTO t VALUES ($x)",
                          "  -- a comment\n INSERT INTO t SELECT ? ;  "}) {
    const absl::Status refused = db.execute(sql);
    EXPECT_EQ(refused.code(), absl::StatusCode::kInvalidArgument) << sql << ": " << refused;
    EXPECT_THAT(refused.message(), HasSubstr(": the statement has ")) << refused;
  }
  const absl::Status two = db.execute("INSERT INTO t VALUES (?), (:y)");
  EXPECT_THAT(two.message(), HasSubstr("the statement has 2 parameters and")) << two;
  EXPECT_EQ(count_rows(db, "t"), 0);
  // A `?` inside a string is no parameter.
  EXPECT_TRUE(db.execute("INSERT INTO t VALUES ('why?'); -- ?\n").ok());
  EXPECT_EQ(count_rows(db, "t"), 1);
}

// In a text of several statements, those before the refused one have run
// (as before any error in the text); it and those after it have not.
TEST(SqliteTest, ExecuteRefusesAParameterInALaterStatementNamingIt) {
  SqliteConnection db = open_or_die({.path = ":memory:"});
  ASSERT_TRUE(db.execute("CREATE TABLE t (x TEXT)").ok());
  const absl::Status refused = db.execute(
      "INSERT INTO t VALUES ('a');\n  INSERT INTO t VALUES (?);INSERT INTO t VALUES ('c')");
  EXPECT_EQ(refused.code(), absl::StatusCode::kInvalidArgument) << refused;
  EXPECT_EQ(refused.message(),
            "execute sqlite \":memory:\": \"INSERT INTO t VALUES (\\'a\\');\\n  INSERT INTO t "
            "VALUES (?);INSERT INTO t VALUES (\\'c\\')\": the statement at offset 30, \"INSERT "
            "INTO t VALUES (?);\", has 1 parameter and execute(sql) binds none (SQLite would run "
            "it with NULL for each); the statements before it have run, it and those after it "
            "have not; pass the values with execute(sql, params...), one statement at a time");
  EXPECT_EQ(count_rows(db, "t"), 1);
  // The first statement refused, with more after it: nothing has run.
  const absl::Status first = db.execute("INSERT INTO t VALUES (?); INSERT INTO t VALUES ('b')");
  EXPECT_THAT(first.message(),
              HasSubstr("the statement at offset 0, \"INSERT INTO t VALUES (?);\", has 1 "
                        "parameter and execute(sql) binds none (SQLite would run it with NULL "
                        "for each); nothing was run;"))
      << first;
  EXPECT_EQ(count_rows(db, "t"), 1);
}

// What execute(sql) did with sqlite3_exec() it still does: several
// statements, rows dropped, blanks, comments and empty statements skipped,
// the first error stops the text with SQLite's words.
TEST(SqliteTest, ExecuteRunsEveryStatementOfTheText) {
  SqliteConnection db = open_or_die({.path = ":memory:"});
  EXPECT_TRUE(db.execute("").ok());
  EXPECT_TRUE(db.execute(" ; -- nothing\n /* at all */ ;").ok());
  ASSERT_TRUE(db.execute("CREATE TABLE t (x INTEGER UNIQUE);; SELECT 1; "
                         "INSERT INTO t VALUES (1); /* c */ INSERT INTO t VALUES (2);\n")
                  .ok());
  EXPECT_EQ(count_rows(db, "t"), 2);
  const absl::Status failed =
      db.execute("INSERT INTO t VALUES (3); INSERT INTO t VALUES (1); INSERT INTO t VALUES (4)");
  EXPECT_EQ(failed.code(), absl::StatusCode::kFailedPrecondition) << failed;
  EXPECT_EQ(std::string(failed.message()),
            "execute sqlite \":memory:\": \"INSERT INTO t VALUES (3); INSERT INTO t VALUES (1); "
            "INSERT INTO t VALUES (4)\": UNIQUE constraint failed: t.x");
  ASSERT_TRUE(sql_error(failed).has_value()) << failed;
  EXPECT_EQ(sql_error(failed)->sqlite_code, SQLITE_CONSTRAINT_UNIQUE);
  EXPECT_EQ(count_rows(db, "t"), 3);
  const absl::Status syntax = db.execute("INSERT INTO t VALUES (5); INSERT INTO");
  EXPECT_EQ(syntax.code(), absl::StatusCode::kInvalidArgument) << syntax;
  EXPECT_THAT(syntax.message(), HasSubstr("incomplete input"));
  EXPECT_EQ(count_rows(db, "t"), 4);
}

// sqlite3_prepare_v2() compiles the first statement and ignores the rest.
TEST(SqliteTest, PrepareRefusesASecondStatement) {
  SqliteConnection db = open_or_die({.path = ":memory:"});
  ASSERT_TRUE(db.execute("CREATE TABLE t (x TEXT)").ok());
  ASSERT_TRUE(db.execute("INSERT INTO t VALUES ('kept')").ok());
  absl::StatusOr<Statement> two = db.prepare("INSERT INTO t VALUES ('x'); DELETE FROM t");
  EXPECT_EQ(two.status().code(), absl::StatusCode::kInvalidArgument) << two.status();
  EXPECT_EQ(two.status().message(),
            "prepare sqlite \":memory:\": \"INSERT INTO t VALUES (\\'x\\'); DELETE FROM t\": "
            "more SQL after the first statement, from offset 28: \"DELETE FROM t\" would never "
            "run; prepare() takes one statement (execute() runs several)");
  // Even a broken second statement is found, not run: nothing was.
  EXPECT_EQ(db.prepare("SELECT 1; garbage").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(count_rows(db, "t"), 1);
  // Blanks, comments and empty statements may follow the one statement.
  for (const char* fine : {"SELECT 1;", "SELECT 1 ;  ; \n", "SELECT 1; -- the end",
                           "SELECT 1; -- a line\n/* and a block */ ;",
                           "SELECT 1 /* open to the end", "SELECT 1; /* open to the end"}) {
    absl::StatusOr<Statement> one = db.prepare(fine);
    ASSERT_TRUE(one.ok()) << fine << ": " << one.status();
    ASSERT_TRUE(*one->step()) << fine;
    EXPECT_EQ(one->get_int64(0), 1) << fine;
  }
  for (const char* two_more :
       {"SELECT 1; SELECT 2", "SELECT 1 -- a line\n; SELECT 2", "SELECT 1; /* a block */ x"}) {
    EXPECT_EQ(db.prepare(two_more).status().code(), absl::StatusCode::kInvalidArgument) << two_more;
  }
}

// Without a statement, SQLite hands back none, and the first step() would
// have aborted on a "moved-from handle".
TEST(SqliteTest, PrepareRefusesTextWithNoStatement) {
  SqliteConnection db = open_or_die({.path = ":memory:"});
  for (const char* empty : {"", "   ", "-- comment", "/* block */", " ; ;\n"}) {
    absl::StatusOr<Statement> none = db.prepare(empty);
    EXPECT_EQ(none.status().code(), absl::StatusCode::kInvalidArgument) << empty;
    EXPECT_EQ(none.status().message(),
              absl::StrCat("prepare sqlite \":memory:\": ", internal::quoted(empty),
                           ": no SQL statement in the text (it is empty, or only blanks and "
                           "comments)"));
  }
  // A view with no data at all is empty text too.
  EXPECT_EQ(db.prepare(absl::string_view()).status().message(),
            "prepare sqlite \":memory:\": \"\": no SQL statement in the text (it is empty, or only "
            "blanks and comments)");
  // execute() of nothing runs nothing, and that is fine.
  EXPECT_TRUE(db.execute("").ok());
  EXPECT_TRUE(db.execute(absl::string_view()).ok());
  EXPECT_TRUE(db.execute("-- nothing").ok());
}

// run() would have stepped through a SELECT (or an INSERT ... RETURNING)
// and thrown its rows away.
TEST(SqliteTest, RunRefusesAStatementThatReturnsRowsBeforeRunningIt) {
  SqliteConnection db = open_or_die({.path = ":memory:"});
  make_players(db);
  absl::StatusOr<Statement> returning =
      db.prepare("INSERT INTO players (name) VALUES ('ann') RETURNING id");
  ASSERT_TRUE(returning.ok()) << returning.status();
  const absl::Status ran = returning->run();
  EXPECT_EQ(ran.code(), absl::StatusCode::kFailedPrecondition) << ran;
  EXPECT_EQ(ran.message(),
            "run sqlite \":memory:\": \"INSERT INTO players (name) VALUES (\\'ann\\') RETURNING "
            "id\": the statement returns rows (1 column), which run() would throw away; nothing "
            "was run: step() through them");
  EXPECT_EQ(count_rows(db), 0);  // nothing ran
  absl::StatusOr<Statement> select = db.prepare("SELECT id, name FROM players");
  EXPECT_THAT(select->run().message(), HasSubstr("returns rows (2 columns)"));
  // The statement is still usable the right way.
  ASSERT_TRUE(*returning->step());
  EXPECT_EQ(returning->get_int64(0), 1);
  EXPECT_FALSE(*returning->step());
  EXPECT_EQ(count_rows(db), 1);
  EXPECT_EQ(returning->column_count(), 1);
  EXPECT_EQ(db.prepare("DELETE FROM players")->column_count(), 0);
}

// A row is readable from step() returning true until the next step(),
// reset() or run().
TEST(SqliteTest, ColumnsAreReadableWhileTheirRowIsCurrent) {
  SqliteConnection db = open_or_die({.path = ":memory:"});
  absl::StatusOr<Statement> two = db.prepare("SELECT 7, 'x' UNION ALL SELECT 8, NULL");
  ASSERT_TRUE(two.ok()) << two.status();
  EXPECT_EQ(two->column_count(), 2);  // known before the first row
  ASSERT_TRUE(*two->step());
  EXPECT_EQ(two->get_int64(0), 7);
  EXPECT_EQ(two->get_text(1), "x");
  ASSERT_TRUE(*two->step());
  EXPECT_EQ(two->get_double(0), 8.0);
  EXPECT_TRUE(two->is_null(1));
  EXPECT_FALSE(*two->step());
  ASSERT_TRUE(two->reset().ok());
  ASSERT_TRUE(*two->step());
  EXPECT_EQ(two->get_int64(0), 7);
  // Moving a statement carries its current row along.
  Statement moved = *std::move(two);
  EXPECT_EQ(moved.get_text(1), "x");
}

// An empty string is text, whatever its view points at; NULL is nullptr.
TEST(SqliteTest, AnEmptyStringBindsAsTextNotNull) {
  SqliteConnection db = open_or_die({.path = ":memory:"});
  absl::StatusOr<Statement> kind = db.prepare("SELECT typeof(?)");
  ASSERT_TRUE(kind.ok()) << kind.status();
  auto type_of = [&](auto value) {
    EXPECT_TRUE(kind->bind(1, value).ok());
    EXPECT_TRUE(*kind->step());
    std::string type = kind->get_text(0);
    EXPECT_TRUE(kind->reset().ok());
    return type;
  };
  EXPECT_EQ(type_of(absl::string_view()), "text");
  EXPECT_EQ(type_of(std::string()), "text");
  EXPECT_EQ(type_of(""), "text");
  EXPECT_EQ(type_of(static_cast<const char*>(nullptr)), "null");
  EXPECT_EQ(type_of(nullptr), "null");
}

// Moves are the members' own: assigning a Statement finalizes the one
// assigned over (else close() would say "unable to close due to
// unfinalized statements") and keeps one borrow per statement.
TEST(SqliteTest, AssigningAStatementFinalizesTheOldOne) {
  SqliteConnection db = open_or_die({.path = ":memory:"});
  {
    absl::StatusOr<Statement> first = db.prepare("SELECT 1");
    absl::StatusOr<Statement> second = db.prepare("SELECT 2");
    ASSERT_TRUE(first.ok() && second.ok());
    ASSERT_TRUE(*first->step());
    *first = *std::move(second);
    ASSERT_TRUE(*first->step());
    EXPECT_EQ(first->get_int64(0), 2);
    Statement third = *std::move(first);
    EXPECT_EQ(third.get_int64(0), 2);
    absl::StatusOr<Transaction> tx = db.begin();
    ASSERT_TRUE(tx.ok()) << tx.status();
    Transaction moved = *std::move(tx);
    ASSERT_TRUE(moved.commit().ok());
  }
  SqliteConnection other = std::move(db);  // no borrower left
  db = std::move(other);
  EXPECT_TRUE(db.close().ok());
}

// A quoted path or SQL text is cut short, its length said.
TEST(SqliteTest, MessagesQuotingHugePathsAndSqlStayShort) {
  const std::string path = "/nonexistent/" + std::string(10 << 20, 'a');
  const absl::StatusOr<SqliteConnection> missing =
      SqliteConnection::open({.path = path, .mode = SqliteMode::rw});
  ASSERT_FALSE(missing.ok());
  EXPECT_LT(missing.status().message().size(), 2048u);
  EXPECT_THAT(missing.status().message(),
              HasSubstr(absl::StrCat("\" (", path.size(), " bytes): with mode=rw: ")));
  SqliteConnection db = open_or_die({.path = ":memory:"});
  const std::string table(10 << 20, 'b');
  const std::string sql = "SELECT * FROM " + table;
  absl::StatusOr<Statement> select = db.prepare(sql);
  ASSERT_FALSE(select.ok());
  EXPECT_LT(select.status().message().size(), 2048u) << select.status().message().substr(0, 2048);
  EXPECT_THAT(select.status().message(), HasSubstr(absl::StrCat("(", sql.size(), " bytes)")));
  EXPECT_THAT(select.status().message(), HasSubstr("no such table: bbbb"));
  const absl::Status executed = db.execute(sql);
  EXPECT_LT(executed.message().size(), 2048u) << executed.message().substr(0, 2048);
  const std::string nul_late = table + std::string(1, '\0');
  EXPECT_LT(db.execute(nul_late).message().size(), 2048u);
}

// Past SQLite's limits: a clear InvalidArgument, before anything runs.
TEST(SqliteTest, SqlAndValuesPastSqlitesLimitsAreInvalidArguments) {
  SqliteConnection db = open_or_die({.path = ":memory:"});
  ASSERT_TRUE(db.execute("CREATE TABLE t (x TEXT)").ok());
  ::sqlite3_limit(db.get(), SQLITE_LIMIT_SQL_LENGTH, 64);
  const std::string long_sql = "INSERT INTO t VALUES ('" + std::string(100, 'x') + "')";
  const absl::Status executed = db.execute(long_sql);
  EXPECT_EQ(executed.code(), absl::StatusCode::kInvalidArgument) << executed;
  EXPECT_THAT(
      executed.message(),
      HasSubstr("SQL text of 125 bytes is over SQLite's limit of 64 (SQLITE_LIMIT_SQL_LENGTH)"));
  EXPECT_EQ(db.prepare(long_sql).status().code(), absl::StatusCode::kInvalidArgument);
  ::sqlite3_limit(db.get(), SQLITE_LIMIT_LENGTH, 16);
  absl::StatusOr<Statement> insert = db.prepare("INSERT INTO t VALUES (?)");
  ASSERT_TRUE(insert.ok()) << insert.status();
  const absl::Status bound = insert->bind(1, std::string(100, 'y'));
  EXPECT_EQ(bound.code(), absl::StatusCode::kInvalidArgument) << bound;
  EXPECT_THAT(bound.message(),
              HasSubstr("bind sqlite \":memory:\": ?1 of \"INSERT INTO t VALUES (?)\": string or blob too big"));
  EXPECT_EQ(count_rows(db, "t"), 0);
}

// Serialized (SQLite's mutex): threads may share one connection. Under
// --config=tsan this also proves the borrow count and the checks race-free.
TEST(SqliteTest, ASerializedConnectionIsSharedByThreads) {
  TempPath temp("shared.db");
  SqliteConnection db = open_or_die({.path = temp.path()});
  ASSERT_TRUE(db.execute("CREATE TABLE t (who INTEGER, n INTEGER)").ok());
  constexpr int kRounds = 200;
  auto work = [&db](int who) {
    for (int i = 0; i < kRounds; ++i) {
      absl::StatusOr<Statement> insert = db.prepare("INSERT INTO t VALUES (?, ?)");
      ASSERT_TRUE(insert.ok()) << insert.status();
      ASSERT_TRUE(insert->bind_all(who, i).ok());
      ASSERT_TRUE(insert->run().ok());
      absl::StatusOr<Statement> select = db.prepare("SELECT count(*) FROM t WHERE who = ?");
      ASSERT_TRUE(select.ok()) << select.status();
      ASSERT_TRUE(select->bind(1, who).ok());
      ASSERT_TRUE(*select->step());
      EXPECT_EQ(select->get_int64(0), i + 1);
      // An error is this thread's own, whatever the other one is doing.
      const absl::Status missing = db.execute(absl::StrCat("SELECT * FROM missing_", who));
      EXPECT_THAT(missing.message(), HasSubstr(absl::StrCat("no such table: missing_", who)));
    }
  };
  std::thread other(work, 2);
  work(1);
  other.join();
  EXPECT_EQ(count_rows(db, "t"), 2 * kRounds);
}

// multi_thread: one thread at a time, but which one may change.
TEST(SqliteTest, AMultiThreadConnectionMovesBetweenThreads) {
  SqliteConnection db =
      open_or_die({.path = ":memory:", .threading = SqliteThreading::multi_thread});
  make_players(db);
  ASSERT_TRUE(db.execute("INSERT INTO players (name) VALUES ('main')").ok());
  std::thread([&db] {
    SqliteConnection mine = std::move(db);
    absl::StatusOr<Statement> insert = mine.prepare("INSERT INTO players (name) VALUES (?)");
    ASSERT_TRUE(insert->bind(1, "worker").ok());
    ASSERT_TRUE(insert->run().ok());
    insert = absl::CancelledError("done");  // the statement goes before the connection moves
    db = std::move(mine);
  }).join();
  // Used by one thread, then another, one at a time: no misuse.
  std::thread([&db] {
    EXPECT_TRUE(db.execute("INSERT INTO players (name) VALUES ('third')").ok());
  }).join();
  EXPECT_THAT(names(db), ElementsAre("main", "worker", "third"));
}

TEST(SqliteConfigTest, UrlJsonAndRules) {
  const SqliteConfig config{.path = "/var/lib/app/t.db", .mode = SqliteMode::ro};
  EXPECT_EQ(to_url(config), "sqlite:///var/lib/app/t.db?mode=ro");
  EXPECT_EQ(*from_url<SqliteConfig>("sqlite:///var/lib/app/t.db?mode=ro"), config);
  EXPECT_EQ(to_url(SqliteConfig{.path = ":memory:"}), "sqlite::memory:");
  EXPECT_EQ(*from_json<SqliteConfig>(to_json(config)), config);
  EXPECT_EQ(SqliteConfig{}.validate().message(), "SqliteConfig.path: must not be empty");
  EXPECT_EQ(from_url<SqliteConfig>("sqlite:///x?mode=rx").status().message(),
            "SqliteConfig.mode: \"rx\" is not one of ro, rw, rwc");
}

}  // namespace
}  // namespace uncopyable

namespace uncopyable {
namespace {

// SQLite opens the file itself, blocking: a FIFO with no writer used to hang
// open() forever (mode=ro), or come back as a retryable "disk I/O error".
// Each is refused at once, naming what the path is.
TEST(SqliteSpecialFileTest, AFifoIsRefusedAtOnceInEveryMode) {
  TempPath fifo("pipe");
  ASSERT_EQ(::mkfifo(fifo.path().c_str(), 0600), 0);
  for (SqliteMode mode : {SqliteMode::ro, SqliteMode::rw, SqliteMode::rwc}) {
    const absl::StatusOr<SqliteConnection> db =
        SqliteConnection::open({.path = fifo.path(), .mode = mode});
    ASSERT_FALSE(db.ok());
    EXPECT_EQ(db.status().code(), absl::StatusCode::kFailedPrecondition) << db.status();
    EXPECT_THAT(db.status().message(), HasSubstr(": a FIFO, not a database file"));
    // The same path written as a URI is the same file.
    const absl::StatusOr<SqliteConnection> uri =
        SqliteConnection::open({.path = "file:" + fifo.path() + "?cache=private", .mode = mode});
    ASSERT_FALSE(uri.ok());
    EXPECT_EQ(uri.status().code(), absl::StatusCode::kFailedPrecondition) << uri.status();
  }
}

TEST(SqliteSpecialFileTest, ADirectoryIsNamedForWhatItIs) {
  const char* root = std::getenv("TEST_TMPDIR");
  const absl::StatusOr<SqliteConnection> db =
      SqliteConnection::open({.path = root != nullptr ? root : "/tmp", .mode = SqliteMode::rw});
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(db.status().code(), absl::StatusCode::kFailedPrecondition) << db.status();
  EXPECT_THAT(db.status().message(), HasSubstr(": a directory, not a database file"));
}

// A missing file opened without create says what the system said.
TEST(SqliteSpecialFileTest, AMissingFileIsNotFoundWithItsErrno) {
  TempPath missing("missing.db");
  const absl::StatusOr<SqliteConnection> db =
      SqliteConnection::open({.path = missing.path(), .mode = SqliteMode::rw});
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(db.status().code(), absl::StatusCode::kNotFound) << db.status();
  EXPECT_THAT(db.status().message(), HasSubstr("[ENOENT]"));
}

// SQLite cuts a URI at %00: "file:/x/real.db%00-suffix" would open
// /x/real.db. Refused like a NUL in a plain path.
TEST(SqliteSpecialFileTest, PercentZeroZeroInAUriIsRefused) {
  TempPath real("real.db");
  const SqliteConfig config{.path = "file:" + real.path() + "%00-suffix"};
  const absl::Status valid = config.validate();
  EXPECT_EQ(valid.code(), absl::StatusCode::kInvalidArgument) << valid;
  EXPECT_THAT(valid.message(), HasSubstr("%00"));
  EXPECT_FALSE(SqliteConnection::open(config).ok());
  EXPECT_NE(::access(real.path().c_str(), F_OK), 0) << "the cut-short file was created";
}

// A backup from inside the connection's own write transaction could only
// wait for itself: refused at once, not after the whole busy timeout.
TEST(SqliteSpecialFileTest, ABackupInsideOwnWriteTransactionIsRefusedAtOnce) {
  TempPath source("source.db");
  TempPath target("target.db");
  SqliteConnection db = open_or_die({.path = source.path(), .busy_timeout = absl::Seconds(20)});
  ASSERT_TRUE(db.execute("CREATE TABLE t (x)").ok());
  absl::StatusOr<Transaction> tx = db.begin();
  ASSERT_TRUE(tx.ok()) << tx.status();
  ASSERT_TRUE(db.execute("INSERT INTO t VALUES (1)").ok());
  const absl::Time start = absl::Now();
  const absl::Status copied = db.backup_to({.path = target.path()});
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
  EXPECT_EQ(copied.code(), absl::StatusCode::kFailedPrecondition) << copied;
  EXPECT_THAT(copied.message(), HasSubstr("write transaction open"));
  ASSERT_TRUE(tx->commit().ok());
  EXPECT_TRUE(db.backup_to({.path = target.path()}).ok());
}

}  // namespace
}  // namespace uncopyable

namespace uncopyable {
namespace {

// The review's case: a = begin(); execute("COMMIT"); b = begin(); INSERT;
// a->rollback() used to roll back b's INSERT. Now b is refused while a
// lives, and a's rollback() ends nothing but says so.
TEST(SqliteTransactionTest, ATransactionEndedByOtherSqlNeverEndsALaterOne) {
  SqliteConnection db = open_or_die({.path = ":memory:"});
  ASSERT_TRUE(db.execute("CREATE TABLE t (x)").ok());
  absl::StatusOr<Transaction> first = db.begin();
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE(db.execute("COMMIT").ok());
  absl::StatusOr<Transaction> second = db.begin();
  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition) << second.status();
  ASSERT_TRUE(db.execute("BEGIN; INSERT INTO t VALUES (1); COMMIT").ok());
  ASSERT_TRUE(db.execute("BEGIN").ok());
  ASSERT_TRUE(db.execute("INSERT INTO t VALUES (2)").ok());
  const absl::Status rolled_back = first->rollback();
  EXPECT_EQ(rolled_back.code(), absl::StatusCode::kFailedPrecondition) << rolled_back;
  EXPECT_THAT(rolled_back.message(), HasSubstr("rollback sqlite \":memory:\": no transaction is "
                                               "open any more"));
  // The BEGIN by hand is still open, with its row: nothing of it was ended.
  ASSERT_TRUE(db.execute("COMMIT").ok());
  absl::StatusOr<Statement> count = db.prepare("SELECT count(*) FROM t");
  ASSERT_TRUE(count.ok());
  ASSERT_TRUE(*count->step());
  EXPECT_EQ(count->get_int64(0), 2);
}

}  // namespace
}  // namespace uncopyable
