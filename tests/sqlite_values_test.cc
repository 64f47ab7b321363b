// SQLite values in and out (issue 16): error codes on every Status, BLOBs,
// std::optional, named parameters, read<T>() by index and by name, column
// metadata, changes() and last_insert_rowid(), RETURNING.
#include <sqlite3.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/temp_path.h"
#include "uncopyable/internal/quote.h"
#include "uncopyable/sql_error.h"
#include "uncopyable/sqlite.h"

namespace uncopyable {
namespace {

using ::testing::HasSubstr;
using ::testing::Optional;
using testing::TempPath;

static_assert(internal::SqliteReadable<std::optional<std::vector<std::byte>>>);
static_assert(!internal::SqliteReadable<std::optional<std::optional<int>>>);
static_assert(!internal::SqliteReadable<const char*>);
static_assert(!internal::SqliteReadable<float>);

SqliteConnection open_or_die(const SqliteConfig& config) {
  absl::StatusOr<SqliteConnection> db = SqliteConnection::open(config);
  EXPECT_TRUE(db.ok()) << db.status();
  return *std::move(db);
}

Statement prepared(SqliteConnection& db, absl::string_view sql) {
  absl::StatusOr<Statement> statement = db.prepare(sql);
  EXPECT_TRUE(statement.ok()) << statement.status();
  return *std::move(statement);
}

// `sql` prepared and stepped to its first row.
Statement first_row(SqliteConnection& db, absl::string_view sql) {
  Statement statement = prepared(db, sql);
  absl::StatusOr<bool> row = statement.step();
  EXPECT_TRUE(row.ok() && *row) << row.status();
  return statement;
}

std::vector<std::byte> bytes(absl::string_view text) {
  std::vector<std::byte> out;
  for (char c : text) out.push_back(static_cast<std::byte>(c));
  return out;
}

std::optional<int> sqlite_code(const absl::Status& status) {
  std::optional<SqlError> error = sql_error(status);
  if (!error.has_value()) return std::nullopt;
  EXPECT_EQ(error->sqlstate, "");
  return error->sqlite_code;
}

// The primary result code (the low byte) of the extended one `status` carries.
std::optional<int> primary_code(const absl::Status& status) {
  std::optional<int> code = sqlite_code(status);
  if (code.has_value()) *code &= 0xff;
  return code;
}

// ---------------------------------------------------------------------------
// Error codes

void make_players(SqliteConnection& db) {
  ASSERT_TRUE(db.execute("CREATE TABLE players (id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL);"
                         "CREATE TABLE matches (winner INTEGER REFERENCES players(id));"
                         "INSERT INTO players VALUES (1, 'ann')")
                  .ok());
}

TEST(SqliteErrorCodeTest, UniqueAndPrimaryKeyViolationsAreUniqueViolations) {
  SqliteConnection db = open_or_die({.path = ":memory:"});
  make_players(db);
  // UNIQUE, through execute().
  const absl::Status name = db.execute("INSERT INTO players VALUES (2, 'ann')");
  EXPECT_EQ(name.code(), absl::StatusCode::kFailedPrecondition) << name;
  EXPECT_EQ(name.message(),
            "execute sqlite \":memory:\": \"INSERT INTO players VALUES (2, \\'ann\\')\": UNIQUE "
            "constraint failed: players.name");
  EXPECT_THAT(sqlite_code(name), Optional(SQLITE_CONSTRAINT_UNIQUE));
  EXPECT_TRUE(is_unique_violation(name));
  EXPECT_FALSE(is_foreign_key_violation(name));
  EXPECT_FALSE(is_serialization_failure(name));
  EXPECT_FALSE(is_deadlock(name));
  // PRIMARY KEY, through a statement's run().
  Statement insert = prepared(db, "INSERT INTO players VALUES (?, ?)");
  ASSERT_TRUE(insert.bind_all(1, "bob").ok());
  const absl::Status id = insert.run();
  EXPECT_THAT(id.message(), HasSubstr("UNIQUE constraint failed: players.id")) << id;
  EXPECT_THAT(sqlite_code(id), Optional(SQLITE_CONSTRAINT_PRIMARYKEY));
  EXPECT_TRUE(is_unique_violation(id));
  // And through step().
  ASSERT_TRUE(insert.bind_all(3, "ann").ok());
  const absl::StatusOr<bool> stepped = insert.step();
  EXPECT_TRUE(is_unique_violation(stepped.status())) << stepped.status();
}

TEST(SqliteErrorCodeTest, AForeignKeyViolationIsOne) {
  SqliteConnection db = open_or_die({.path = ":memory:"});  // foreign_keys is on by default
  make_players(db);
  const absl::Status orphan = db.execute("INSERT INTO matches VALUES (7)");
  EXPECT_EQ(orphan.code(), absl::StatusCode::kFailedPrecondition) << orphan;
  EXPECT_THAT(orphan.message(), HasSubstr("\"INSERT INTO matches VALUES (7)\": FOREIGN KEY "
                                          "constraint failed"));
  EXPECT_THAT(sqlite_code(orphan), Optional(SQLITE_CONSTRAINT_FOREIGNKEY));
  EXPECT_TRUE(is_foreign_key_violation(orphan));
  EXPECT_FALSE(is_unique_violation(orphan));
  // Deleting a row something refers to.
  ASSERT_TRUE(db.execute("INSERT INTO matches VALUES (1)").ok());
  Statement remove = prepared(db, "DELETE FROM players WHERE id = ?");
  ASSERT_TRUE(remove.bind(1, 1).ok());
  EXPECT_TRUE(is_foreign_key_violation(remove.run()));
}

TEST(SqliteErrorCodeTest, OtherConstraintsCarryTheirCodeAndNoPredicateHolds) {
  SqliteConnection db = open_or_die({.path = ":memory:"});
  make_players(db);
  const absl::Status missing = db.execute("INSERT INTO players (id) VALUES (5)");
  EXPECT_THAT(missing.message(), HasSubstr("NOT NULL constraint failed: players.name"));
  EXPECT_THAT(sqlite_code(missing), Optional(SQLITE_CONSTRAINT_NOTNULL));
  EXPECT_FALSE(is_unique_violation(missing));
  EXPECT_FALSE(is_foreign_key_violation(missing));
  EXPECT_FALSE(is_serialization_failure(missing));
}

// WAL mode: a read transaction that another connection wrote after may not
// become a write one; retrying the statement cannot help, only the whole
// transaction.
TEST(SqliteErrorCodeTest, AStaleReadTransactionThatWritesIsASerializationFailure) {
  TempPath temp("snapshot.db");
  const SqliteConfig config{.path = temp.path(), .busy_timeout = absl::Milliseconds(200)};
  SqliteConnection first = open_or_die(config);
  ASSERT_TRUE(first.execute("CREATE TABLE t (x); INSERT INTO t VALUES (1)").ok());
  SqliteConnection second = open_or_die(config);
  {
    absl::StatusOr<Transaction> transaction = first.begin();  // deferred
    ASSERT_TRUE(transaction.ok()) << transaction.status();
    {
      Statement count = first_row(first, "SELECT count(*) FROM t");  // the read begins
      EXPECT_EQ(count.get_int64(0), 1);
    }
    ASSERT_TRUE(second.execute("INSERT INTO t VALUES (2)").ok());
    const absl::Status write = first.execute("INSERT INTO t VALUES (3)");
    EXPECT_EQ(write.code(), absl::StatusCode::kUnavailable) << write;
    EXPECT_THAT(write.message(), HasSubstr("\"INSERT INTO t VALUES (3)\": database is locked"));
    EXPECT_THAT(sqlite_code(write), Optional(SQLITE_BUSY_SNAPSHOT));
    EXPECT_TRUE(is_serialization_failure(write));
    EXPECT_FALSE(is_deadlock(write));
  }
  // Retried whole, it goes through.
  absl::StatusOr<Transaction> retry = first.begin();
  ASSERT_TRUE(retry.ok()) << retry.status();
  ASSERT_TRUE(first.execute("INSERT INTO t VALUES (3)").ok());
  ASSERT_TRUE(retry->commit().ok());
  Statement count = first_row(first, "SELECT count(*) FROM t");
  EXPECT_EQ(count.get_int64(0), 3);
}

TEST(SqliteErrorCodeTest, EveryErrorFromSqliteCarriesItsExtendedCode) {
  SqliteConnection db = open_or_die({.path = ":memory:"});
  EXPECT_THAT(sqlite_code(db.execute("SELEC 1")), Optional(SQLITE_ERROR));
  EXPECT_THAT(sqlite_code(db.prepare("SELECT * FROM nowhere").status()), Optional(SQLITE_ERROR));
  const absl::StatusOr<SqliteConnection> missing =
      SqliteConnection::open({.path = "/nonexistent/dir/t.db", .mode = SqliteMode::rw});
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(primary_code(missing.status()), Optional(SQLITE_CANTOPEN));
  Statement one = prepared(db, "SELECT ?");
  EXPECT_THAT(sqlite_code(one.bind(2, 1)), Optional(SQLITE_RANGE));
  Statement overflow = prepared(db, "SELECT abs(-9223372036854775807 - 1)");
  EXPECT_THAT(sqlite_code(overflow.step().status()), Optional(SQLITE_ERROR));
  // An open that fails inside backup_to() is restated about the source,
  // its code kept.
  const absl::Status backup = db.backup_to({.path = "/nonexistent/dir/copy.db"});
  EXPECT_THAT(backup.message(), HasSubstr("backup sqlite \":memory:\": open sqlite "
                                          "\"/nonexistent/dir/copy.db\""));
  EXPECT_THAT(primary_code(backup), Optional(SQLITE_CANTOPEN));
  // A read-only database refusing a write: the extended code.
  TempPath temp("readonly.db");
  { SqliteConnection made = open_or_die({.path = temp.path()}); }
  SqliteConnection reader = open_or_die({.path = temp.path(), .mode = SqliteMode::ro});
  const absl::Status write = reader.execute("CREATE TABLE t (x)");
  EXPECT_EQ(write.code(), absl::StatusCode::kPermissionDenied) << write;
  EXPECT_THAT(primary_code(write), Optional(SQLITE_READONLY));
  // What the library refuses itself, before SQLite sees it, has no code.
  EXPECT_EQ(sql_error(db.prepare("SELECT 1; SELECT 2").status()), std::nullopt);
  EXPECT_EQ(sql_error(db.execute(absl::string_view("SELECT 1\0", 9))), std::nullopt);
}

// ---------------------------------------------------------------------------
// Binding

// typeof() and the value of the one parameter bound by `bind`.
template <typename Bind>
std::pair<std::string, std::string> bound(SqliteConnection& db, Bind bind) {
  Statement select = prepared(db, "SELECT typeof(?1), quote(?1)");
  const absl::Status status = bind(select);
  EXPECT_TRUE(status.ok()) << status;
  EXPECT_TRUE(*select.step());
  return {select.get_text(0), select.get_text(1)};
}

TEST(SqliteBindTest, AnOptionalBindsItsValueOrNull) {
  SqliteConnection db = open_or_die({.path = ":memory:"});
  using Pair = std::pair<std::string, std::string>;
  EXPECT_EQ(bound(db, [](Statement& s) { return s.bind(1, std::optional<int64_t>(7)); }),
            Pair("integer", "7"));
  EXPECT_EQ(bound(db, [](Statement& s) { return s.bind(1, std::optional<int64_t>()); }),
            Pair("null", "NULL"));
  EXPECT_EQ(bound(db, [](Statement& s) { return s.bind(1, std::optional<std::string>("")); }),
            Pair("text", "''"));
  EXPECT_EQ(bound(db, [](Statement& s) { return s.bind(1, std::optional<double>(0.5)); }),
            Pair("real", "0.5"));
  EXPECT_EQ(bound(db, [](Statement& s) { return s.bind(1, std::nullopt); }), Pair("null", "NULL"));
  EXPECT_EQ(bound(db,
                  [](Statement& s) {
                    return s.bind(1, std::optional<std::vector<std::byte>>(bytes("\x01")));
                  }),
            Pair("blob", "X'01'"));
  EXPECT_EQ(bound(db, [](Statement& s) { return s.bind(1, true); }), Pair("integer", "1"));
}

TEST(SqliteBindTest, BytesBindAsABlobAndAnEmptyOneStaysABlob) {
  SqliteConnection db = open_or_die({.path = ":memory:"});
  using Pair = std::pair<std::string, std::string>;
  const std::vector<std::byte> some = bytes(std::string("a\0b", 3));
  EXPECT_EQ(bound(db, [&](Statement& s) { return s.bind(1, some); }), Pair("blob", "X'610062'"));
  EXPECT_EQ(bound(db, [&](Statement& s) { return s.bind(1, absl::MakeConstSpan(some)); }),
            Pair("blob", "X'610062'"));
  // Empty vectors and spans have no data (a null pointer), which SQLite
  // would have bound as NULL.
  const std::vector<std::byte> none;
  ASSERT_EQ(none.data(), nullptr);
  EXPECT_EQ(bound(db, [&](Statement& s) { return s.bind(1, none); }), Pair("blob", "X''"));
  EXPECT_EQ(bound(db, [&](Statement& s) { return s.bind(1, absl::Span<const std::byte>()); }),
            Pair("blob", "X''"));
}

TEST(SqliteBindTest, NamedParametersBindByTheirPrefixedNames) {
  SqliteConnection db = open_or_die({.path = ":memory:"});
  Statement select = prepared(db, "SELECT :a, @b, $c, ?4, :a");
  ASSERT_TRUE(select.bind(":a", std::optional<std::string>("ann")).ok());
  ASSERT_TRUE(select.bind("@b", int64_t{2}).ok());
  ASSERT_TRUE(select.bind("$c", 2.5).ok());
  ASSERT_TRUE(select.bind("?4", bytes("x")).ok());
  ASSERT_TRUE(*select.step());
  EXPECT_EQ(*select.read<std::string>(0), "ann");
  EXPECT_EQ(*select.read<int64_t>(1), 2);
  EXPECT_EQ(*select.read<double>(2), 2.5);
  EXPECT_EQ(*select.read<std::vector<std::byte>>(3), bytes("x"));
  EXPECT_EQ(*select.read<std::string>(4), "ann");  // one name, one parameter
  // bind_all takes the new types too.
  Statement all = prepared(db, "SELECT ?, ?, ?");
  ASSERT_TRUE(all.bind_all(std::optional<int>(), bytes("y"), std::optional<std::string>("z")).ok());
  ASSERT_TRUE(*all.step());
  EXPECT_EQ(*all.read<std::optional<int>>(0), std::nullopt);
  EXPECT_EQ(*all.read<std::vector<std::byte>>(1), bytes("y"));
  EXPECT_EQ(*all.read<std::string>(2), "z");
}

TEST(SqliteBindTest, AnUnknownNameIsInvalidArgumentNamingItAndTheParameters) {
  SqliteConnection db = open_or_die({.path = ":memory:"});
  Statement insert = prepared(db, "SELECT :name, @rating, ?");
  const absl::Status typo = insert.bind(":nmae", "ann");
  EXPECT_EQ(typo.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(typo.message(),
            "bind sqlite \":memory:\": \"SELECT :name, @rating, ?\": no parameter named "
            "\":nmae\"; its parameters are \":name\", \"@rating\", ?3");
  EXPECT_EQ(sql_error(typo), std::nullopt);  // the library's own refusal
  // The prefix left out.
  EXPECT_THAT(insert.bind("rating", 1.0).message(),
              HasSubstr("no parameter named \"rating\"; its parameters are \":name\", "
                        "\"@rating\", ?3; did you mean \"@rating\" (a name includes its "
                        "prefix)?"));
  // A NUL byte: SQLite would have read ":name" and bound it.
  const absl::Status nul = insert.bind(absl::string_view(":name\0x", 7), 1);
  EXPECT_THAT(nul.message(), HasSubstr("no parameter named \":name\\x00x\";"));
  // Quotes and a very long name, quoted and cut short.
  EXPECT_THAT(insert.bind(":a\"b", 1).message(), HasSubstr("no parameter named \":a\\\"b\";"));
  const std::string huge(5000, 'n');
  EXPECT_THAT(insert.bind(huge, 1).message(),
              HasSubstr(absl::StrCat("no parameter named ", internal::quoted(huge), ";")));
  EXPECT_THAT(insert.bind(huge, 1).message(), HasSubstr("(5000 bytes)"));
  // Nothing to bind at all.
  Statement none = prepared(db, "SELECT 1");
  EXPECT_THAT(none.bind(":x", 1).message(), HasSubstr("no parameter named \":x\"; it has no "
                                                       "parameters"));
  // A statement with many parameters lists ten.
  Statement many = prepared(db, "SELECT :a1, :a2, :a3, :a4, :a5, :a6, :a7, :a8, :a9, :a10, :a11, :a12");
  EXPECT_THAT(many.bind(":b", 1).message(), HasSubstr("\":a10\", and 2 more"));
}

TEST(SqliteBindTest, AFailedBindNamesItsParameter) {
  SqliteConnection db = open_or_die({.path = ":memory:"});
  ::sqlite3_limit(db.get(), SQLITE_LIMIT_LENGTH, 100);
  Statement select = prepared(db, "SELECT :text, :blob");
  const absl::Status text = select.bind(":text", std::string(200, 'x'));
  EXPECT_EQ(text.message(),
            "bind sqlite \":memory:\": \":text\" of \"SELECT :text, :blob\": string or blob too big");
  EXPECT_THAT(sqlite_code(text), Optional(SQLITE_TOOBIG));
  EXPECT_THAT(select.bind(":blob", std::vector<std::byte>(200)).message(),
              HasSubstr("\":blob\" of \"SELECT :text, :blob\": string or blob too big"));
  EXPECT_THAT(select.bind(2, std::vector<std::byte>(200)).message(),
              HasSubstr("?2 of \"SELECT :text, :blob\": string or blob too big"));
}

// ---------------------------------------------------------------------------
// Reading

TEST(SqliteReadTest, NulBytesRoundTripInTextAndBlobs) {
  SqliteConnection db = open_or_die({.path = ":memory:"});
  ASSERT_TRUE(db.execute("CREATE TABLE t (text TEXT, blob BLOB)").ok());
  const std::string text("\0a\0\0b\0", 6);
  const std::vector<std::byte> blob = bytes(std::string("\0\xff\0", 3));
  Statement insert = prepared(db, "INSERT INTO t VALUES (?, ?)");
  ASSERT_TRUE(insert.bind_all(text, blob).ok());
  ASSERT_TRUE(insert.run().ok());
  Statement select = first_row(db, "SELECT text, blob, length(CAST(text AS BLOB)), length(blob) FROM t");
  EXPECT_EQ(*select.read<std::string>("text"), text);
  EXPECT_EQ(*select.read<std::vector<std::byte>>("blob"), blob);
  EXPECT_EQ(*select.read<int>(2), 6);  // stored whole, not cut at a NUL
  EXPECT_EQ(*select.read<int>(3), 3);
}

TEST(SqliteReadTest, OneMebibyteValuesRoundTrip) {
  SqliteConnection db = open_or_die({.path = ":memory:"});
  ASSERT_TRUE(db.execute("CREATE TABLE t (blob BLOB, text TEXT)").ok());
  std::vector<std::byte> blob(1 << 20);
  std::string text(1 << 20, 'x');
  for (size_t i = 0; i < blob.size(); ++i) {
    blob[i] = static_cast<std::byte>(i * 7 % 251);
    if (i % 1000 == 0) text[i] = '\0';
  }
  Statement insert = prepared(db, "INSERT INTO t VALUES (:blob, :text)");
  ASSERT_TRUE(insert.bind(":blob", blob).ok());
  ASSERT_TRUE(insert.bind(":text", text).ok());
  ASSERT_TRUE(insert.run().ok());
  Statement select = first_row(db, "SELECT blob, text FROM t");
  EXPECT_EQ(*select.read<std::vector<std::byte>>(0), blob);
  EXPECT_EQ(*select.read<std::optional<std::string>>(1), text);
}

TEST(SqliteReadTest, EachTypeReadsByIndexAndByName) {
  SqliteConnection db = open_or_die({.path = ":memory:"});
  Statement row = first_row(db,
                            "SELECT 1 AS yes, -7 AS small, 9223372036854775807 AS big, 0.25 AS "
                            "real, 'ann' AS text, X'00ff' AS blob, NULL AS missing, 2.0 AS two, "
                            "3 AS three");
  EXPECT_EQ(*row.read<bool>("yes"), true);
  EXPECT_EQ(*row.read<int>(1), -7);
  EXPECT_EQ(*row.read<int64_t>("big"), INT64_MAX);
  EXPECT_EQ(*row.read<double>("real"), 0.25);
  EXPECT_EQ(*row.read<std::string>("text"), "ann");
  EXPECT_EQ(*row.read<std::vector<std::byte>>(5), bytes(std::string("\0\xff", 2)));
  EXPECT_EQ(*row.read<std::optional<int64_t>>("missing"), std::nullopt);
  EXPECT_EQ(*row.read<std::optional<std::string>>("missing"), std::nullopt);
  EXPECT_EQ(*row.read<std::optional<int64_t>>("big"), INT64_MAX);
  // Between INTEGER and REAL, what survives exactly.
  EXPECT_EQ(*row.read<int>("two"), 2);
  EXPECT_EQ(*row.read<double>("three"), 3.0);
  // An empty blob is an empty vector, not NULL.
  Statement empty = first_row(db, "SELECT X''");
  EXPECT_EQ(*empty.read<std::optional<std::vector<std::byte>>>(0), std::vector<std::byte>());
}

TEST(SqliteReadTest, NullIntoAValueThatCannotHoldItIsFailedPreconditionNamingTheColumn) {
  SqliteConnection db = open_or_die({.path = ":memory:"});
  Statement row = first_row(db, "SELECT 1 AS id, NULL AS rating");
  const absl::StatusOr<double> rating = row.read<double>(1);
  EXPECT_EQ(rating.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(rating.status().message(),
            "read sqlite \":memory:\": column 1 \"rating\" of \"SELECT 1 AS id, NULL AS "
            "rating\": NULL, which double cannot hold; read a std::optional<double>");
  EXPECT_EQ(sql_error(rating.status()), std::nullopt);
  EXPECT_THAT(row.read<int>("rating").status().message(),
              HasSubstr("column 1 \"rating\" of \"SELECT 1 AS id, NULL AS rating\": NULL, which "
                        "int cannot hold; read a std::optional<int>"));
  EXPECT_THAT(row.read<int64_t>(1).status().message(), HasSubstr("which int64_t cannot hold"));
  EXPECT_THAT(row.read<bool>(1).status().message(), HasSubstr("which bool cannot hold"));
  EXPECT_THAT(row.read<std::string>(1).status().message(), HasSubstr("which std::string cannot hold"));
  EXPECT_THAT(row.read<std::vector<std::byte>>(1).status().message(),
              HasSubstr("NULL, which std::vector<std::byte> cannot hold; read a "
                        "std::optional<std::vector<std::byte>>"));
  for (const absl::Status& status :
       {row.read<int64_t>(1).status(), row.read<std::string>(1).status(),
        row.read<std::vector<std::byte>>(1).status(), row.read<bool>(1).status()}) {
    EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition) << status;
  }
}

// `status` is InvalidArgument, its message `what` after the column's name.
void expect_refused(const absl::Status& status, absl::string_view column, absl::string_view what) {
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_THAT(status.message(), HasSubstr(absl::StrCat(column, " of \"")));
  EXPECT_THAT(std::string(status.message()), ::testing::EndsWith(absl::StrCat("\": ", what)));
}

TEST(SqliteReadTest, AValueOfAnotherTypeIsInvalidArgumentNamingTheColumnAndBothTypes) {
  SqliteConnection db = open_or_die({.path = ":memory:"});
  Statement row = first_row(db,
                            "SELECT '12' AS text, 12 AS integer, X'31' AS blob, 2.5 AS real, "
                            "4294967296 AS wide, 2 AS two, 9007199254740993 AS odd, 1e300 AS "
                            "huge, 9007199254740992 AS even");
  EXPECT_EQ(row.read<int64_t>(0).status().message(),
            "read sqlite \":memory:\": column 0 \"text\" of \"SELECT \\'12\\' AS text, 12 AS integer, "
            "X\\'31\\' AS blob, 2.5 AS real, 4294967296 AS wide, 2 AS two, 9007199254740993 AS odd, "
            "1e300 AS huge, 9007199254740992 AS even\": a TEXT value, not an int64_t");
  expect_refused(row.read<std::optional<int>>("text").status(), "column 0 \"text\"",
                 "a TEXT value, not an int");
  expect_refused(row.read<double>("text").status(), "column 0 \"text\"", "a TEXT value, not a double");
  expect_refused(row.read<std::vector<std::byte>>("text").status(), "column 0 \"text\"",
                 "a TEXT value, not a std::vector<std::byte>");
  expect_refused(row.read<std::string>("integer").status(), "column 1 \"integer\"",
                 "an INTEGER value, not a std::string");
  expect_refused(row.read<std::string>("blob").status(), "column 2 \"blob\"",
                 "a BLOB value, not a std::string");
  expect_refused(row.read<bool>("blob").status(), "column 2 \"blob\"", "a BLOB value, not a bool");
  expect_refused(row.read<std::optional<std::vector<std::byte>>>("real").status(),
                 "column 3 \"real\"", "a REAL value, not a std::vector<std::byte>");
  expect_refused(row.read<int64_t>("real").status(), "column 3 \"real\"",
                 "REAL 2.5 has a fraction, which an int64_t would lose");
  expect_refused(row.read<int>("wide").status(), "column 4 \"wide\"",
                 "INTEGER 4294967296 is out of int's range");
  expect_refused(row.read<bool>("two").status(), "column 5 \"two\"",
                 "INTEGER 2 is not a bool (0 or 1)");
  expect_refused(row.read<double>("odd").status(), "column 6 \"odd\"",
                 "INTEGER 9007199254740993 is not exactly a double (it would read as "
                 "9007199254740992)");
  expect_refused(row.read<int64_t>("huge").status(), "column 7 \"huge\"",
                 "REAL 1e+300 is out of int64_t's range");
  EXPECT_EQ(*row.read<double>("even"), 9007199254740992.0);
  // What SQLite itself would have answered, for the record.
  EXPECT_EQ(row.get_int64(0), 12);
  EXPECT_EQ(row.get_int64(3), 2);
}

TEST(SqliteReadTest, AColumnNameTheRowDoesNotHaveIsNotFoundNamingIt) {
  SqliteConnection db = open_or_die({.path = ":memory:"});
  Statement row = first_row(db, "SELECT 1 AS id, 'ann' AS \"na\"\"me\"");
  const absl::StatusOr<int64_t> typo = row.read<int64_t>("ID");  // names are exact
  EXPECT_EQ(typo.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(typo.status().message(),
            "read sqlite \":memory:\": \"SELECT 1 AS id, \\'ann\\' AS \\\"na\\\"\\\"me\\\"\": no column "
            "named \"ID\"; its columns are \"id\", \"na\\\"me\"");
  EXPECT_EQ(*row.read<std::string>("na\"me"), "ann");
  const absl::StatusOr<int> index = row.column_index(absl::string_view("id\0", 3));
  EXPECT_EQ(index.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(index.status().message(),
              HasSubstr("find column sqlite \":memory:\": \"SELECT 1 AS id, "));
  EXPECT_THAT(index.status().message(), HasSubstr("no column named \"id\\x00\";"));
  const std::string huge(1000, 'c');
  EXPECT_THAT(row.column_index(huge).status().message(),
              HasSubstr(absl::StrCat("no column named ", internal::quoted(huge), ";")));
  // A very long alias is found whole, and quoted short.
  const std::string alias(3000, 'a');
  Statement wide = first_row(db, absl::StrCat("SELECT 1 AS ", alias));
  EXPECT_EQ(*wide.read<int>(alias), 1);
  EXPECT_THAT(wide.read<int>("b").status().message(),
              HasSubstr(absl::StrCat("its columns are ", internal::quoted(alias))));
  // No columns at all.
  ASSERT_TRUE(db.execute("CREATE TABLE t (x)").ok());
  Statement insert = prepared(db, "INSERT INTO t VALUES (1)");
  EXPECT_THAT(insert.column_index("x").status().message(),
              HasSubstr("no column named \"x\"; it returns no columns"));
}

TEST(SqliteReadTest, ColumnNamesAndDeclaredTypesAreKnownFromPrepareOn) {
  SqliteConnection db = open_or_die({.path = ":memory:"});
  ASSERT_TRUE(db.execute("CREATE TABLE players (id INTEGER PRIMARY KEY, name VARCHAR(20), "
                         "photo BLOB, anything)")
                  .ok());
  Statement select =
      prepared(db, "SELECT id, name AS who, photo, anything, length(name) FROM players");
  ASSERT_EQ(select.column_count(), 5);
  EXPECT_EQ(select.column_name(0), "id");
  EXPECT_EQ(select.column_name(1), "who");
  EXPECT_EQ(select.column_name(4), "length(name)");
  EXPECT_EQ(select.column_type(0), "INTEGER");
  EXPECT_EQ(select.column_type(1), "VARCHAR(20)");
  EXPECT_EQ(select.column_type(2), "BLOB");
  EXPECT_EQ(select.column_type(3), "");  // declared without a type
  EXPECT_EQ(select.column_type(4), "");  // an expression
  EXPECT_EQ(*select.column_index("who"), 1);
  EXPECT_EQ(*select.column_index("length(name)"), 4);
  // The first of two columns of one name.
  Statement twice = prepared(db, "SELECT 1 AS x, 2 AS x");
  EXPECT_EQ(*twice.column_index("x"), 0);
}

// ---------------------------------------------------------------------------
// Conveniences

TEST(SqliteConvenienceTest, ChangesAndLastInsertRowid) {
  SqliteConnection db = open_or_die({.path = ":memory:"});
  EXPECT_EQ(db.last_insert_rowid(), 0);
  ASSERT_TRUE(db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, x)").ok());
  Statement insert = prepared(db, "INSERT INTO t (x) VALUES (?)");
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(insert.bind(1, i).ok());
    ASSERT_TRUE(insert.run().ok());
    EXPECT_EQ(db.changes(), 1);
    EXPECT_EQ(db.last_insert_rowid(), i + 1);
  }
  ASSERT_TRUE(db.execute("UPDATE t SET x = x + 1 WHERE x >= 1").ok());
  EXPECT_EQ(db.changes(), 2);
  // A failed INSERT leaves the rowid as it was.
  ASSERT_FALSE(db.execute("INSERT INTO t VALUES (1, 0)").ok());
  EXPECT_EQ(db.last_insert_rowid(), 3);
  ASSERT_TRUE(db.execute("DELETE FROM t").ok());
  EXPECT_EQ(db.changes(), 3);
}

TEST(SqliteConvenienceTest, ReturningRowsAreReadLikeAQuerysAndCountWhenDone) {
  SqliteConnection db = open_or_die({.path = ":memory:"});
  ASSERT_TRUE(db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, photo BLOB)").ok());
  Statement insert = prepared(
      db, "INSERT INTO t (name, photo) VALUES (:name, :photo), ('bob', NULL) RETURNING id, name, photo");
  ASSERT_TRUE(insert.bind(":name", "ann").ok());
  ASSERT_TRUE(insert.bind(":photo", bytes("png")).ok());
  ASSERT_TRUE(*insert.step());
  EXPECT_EQ(*insert.read<int64_t>("id"), 1);
  EXPECT_EQ(*insert.read<std::string>("name"), "ann");
  EXPECT_EQ(*insert.read<std::optional<std::vector<std::byte>>>("photo"), bytes("png"));
  ASSERT_TRUE(*insert.step());
  EXPECT_EQ(*insert.read<int64_t>(0), 2);
  EXPECT_EQ(*insert.read<std::optional<std::vector<std::byte>>>(2), std::nullopt);
  ASSERT_FALSE(*insert.step());
  EXPECT_EQ(db.changes(), 2);
  EXPECT_EQ(db.last_insert_rowid(), 2);
}

}  // namespace
}  // namespace uncopyable
