// Rows into described structs on SQLite (issue 16): query<T>, query_one<T>,
// query_value<T>, for_each<T> and execute() with parameters, over
// rows.h's algorithms (columns to fields by name, once per query).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/example_rows.h"
#include "uncopyable/rows.h"
#include "uncopyable/sql_error.h"
#include "uncopyable/sqlite.h"

namespace app {

struct Blob {
  UNCOPYABLE_ROW(Blob, id, data)
  int64_t id = 0;
  std::vector<std::byte> data;
};

struct Kinds {
  UNCOPYABLE_ROW(Kinds, flag, small, real, maybe)
  bool flag = false;
  int small = 0;
  double real = 0;
  std::optional<int64_t> maybe;
};

struct Id {
  UNCOPYABLE_ROW(Id, id)
  int64_t id = 0;
};

}  // namespace app

namespace uncopyable {
namespace {

using ::example_rows::Match;
using ::example_rows::Outcome;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

class SqliteRowsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<SqliteConnection> opened = SqliteConnection::open({.path = ":memory:"});
    ASSERT_TRUE(opened.ok()) << opened.status();
    db_.emplace(*std::move(opened));
    ASSERT_TRUE(db_->execute("CREATE TABLE matches (winner TEXT NOT NULL, loser TEXT NOT NULL, "
                             "score INTEGER, outcome TEXT, note TEXT)")
                    .ok());
    ASSERT_TRUE(db_->execute("INSERT INTO matches VALUES ('ann', 'bob', 3, 'win', NULL), "
                             "('cid', 'dan', 0, 'draw', 'rain')")
                    .ok());
  }
  SqliteConnection& db() { return *db_; }
  std::optional<SqliteConnection> db_;
};

const Match kAnn{.winner = "ann", .loser = "bob", .score = 3, .outcome = Outcome::win,
                 .note = std::nullopt};
const Match kCid{.winner = "cid", .loser = "dan", .score = 0, .outcome = Outcome::draw,
                 .note = "rain"};

TEST_F(SqliteRowsTest, QueryReadsColumnsByNameInAnyOrder) {
  absl::StatusOr<std::vector<Match>> rows = db().query<Match>(
      "SELECT note, score, loser, outcome, winner FROM matches ORDER BY winner");
  ASSERT_TRUE(rows.ok()) << rows.status();
  EXPECT_THAT(*rows, ElementsAre(kAnn, kCid));
}

TEST_F(SqliteRowsTest, QueryBindsPositionalValues) {
  absl::StatusOr<std::vector<Match>> rows =
      db().query<Match>("SELECT * FROM matches WHERE winner = ? AND score >= ?", "cid", 0);
  ASSERT_TRUE(rows.ok()) << rows.status();
  EXPECT_THAT(*rows, ElementsAre(kCid));
}

TEST_F(SqliteRowsTest, QueryWithNoRowIsEmpty) {
  absl::StatusOr<std::vector<Match>> rows =
      db().query<Match>("SELECT * FROM matches WHERE winner = ?", "nobody");
  ASSERT_TRUE(rows.ok()) << rows.status();
  EXPECT_TRUE(rows->empty());
}

TEST_F(SqliteRowsTest, MissingColumnNamesTheField) {
  absl::StatusOr<std::vector<Match>> rows =
      db().query<Match>("SELECT winner, loser, outcome, note FROM matches");
  ASSERT_EQ(rows.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(rows.status().message(), HasSubstr("query sqlite \":memory:\": row Match"));
  EXPECT_THAT(rows.status().message(), HasSubstr("field \"score\" has no column"));
}

TEST_F(SqliteRowsTest, ExtraColumnNamesTheColumnEvenWithNoRow) {
  absl::StatusOr<std::vector<Match>> rows =
      db().query<Match>("SELECT *, 1 AS extra FROM matches WHERE 0");
  ASSERT_EQ(rows.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(rows.status().message(), HasSubstr("column \"extra\" has no field"));
}

TEST_F(SqliteRowsTest, MisfitReturningChangesNothing) {
  absl::StatusOr<std::vector<Match>> rows = db().query<Match>(
      "INSERT INTO matches (winner, loser) VALUES ('x', 'y') RETURNING winner, loser");
  ASSERT_EQ(rows.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(rows.status().message(), HasSubstr("field \"score\" has no column"));
  absl::Status each = db().for_each<Match>(
      "INSERT INTO matches (winner, loser) VALUES ('x', 'y') RETURNING winner, loser",
      [](const Match&) { return absl::OkStatus(); });
  EXPECT_EQ(each.code(), absl::StatusCode::kInvalidArgument);
  absl::StatusOr<std::string> value = db().query_value<std::string>(
      "INSERT INTO matches (winner, loser) VALUES ('x', 'y') RETURNING winner, loser");
  EXPECT_EQ(value.status().code(), absl::StatusCode::kInvalidArgument);
  absl::StatusOr<int64_t> count = db().query_value<int64_t>("SELECT count(*) FROM matches");
  ASSERT_TRUE(count.ok()) << count.status();
  EXPECT_EQ(*count, 2);
}

TEST_F(SqliteRowsTest, NullIntoNonOptionalNamesFieldAndColumn) {
  ASSERT_TRUE(db().execute("INSERT INTO matches VALUES ('eve', 'fay', NULL, 'win', NULL)").ok());
  absl::StatusOr<std::vector<Match>> rows =
      db().query<Match>("SELECT * FROM matches WHERE winner = 'eve'");
  ASSERT_EQ(rows.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(rows.status().message(),
            "query sqlite \":memory:\": row Match, field score, column \"score\": NULL into a "
            "non-optional int64_t");
}

TEST_F(SqliteRowsTest, TypeMismatchNamesFieldColumnAndTypes) {
  absl::StatusOr<std::vector<Match>> rows = db().query<Match>(
      "SELECT winner, loser, 'many' AS score, outcome, note FROM matches");
  ASSERT_EQ(rows.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(rows.status().message(),
            "query sqlite \":memory:\": row Match, field score, column \"score\": a TEXT value, "
            "not an int64_t");
}

TEST_F(SqliteRowsTest, UnknownEnumTextIsAnError) {
  absl::StatusOr<std::vector<Match>> rows = db().query<Match>(
      "SELECT winner, loser, score, 'tie' AS outcome, note FROM matches");
  ASSERT_FALSE(rows.ok());
  EXPECT_THAT(rows.status().message(), HasSubstr("field outcome, column \"outcome\""));
  EXPECT_THAT(rows.status().message(), HasSubstr("tie"));
}

TEST_F(SqliteRowsTest, NumbersAreReadExactlyOrRefused) {
  absl::StatusOr<app::Kinds> kinds =
      db().query_one<app::Kinds>("SELECT 1 AS flag, 7.0 AS small, 2 AS real, NULL AS maybe");
  ASSERT_TRUE(kinds.ok()) << kinds.status();
  EXPECT_EQ(*kinds, (app::Kinds{.flag = true, .small = 7, .real = 2.0, .maybe = std::nullopt}));
  kinds = db().query_one<app::Kinds>("SELECT 0 AS flag, 1 AS small, 2 AS real, 5 AS maybe");
  ASSERT_TRUE(kinds.ok()) << kinds.status();
  EXPECT_EQ(kinds->maybe, 5);
  const std::string prefix = "query_one sqlite \":memory:\": row Kinds, ";
  EXPECT_EQ(db().query_one<app::Kinds>("SELECT 2 AS flag, 1 AS small, 2 AS real, 5 AS maybe")
                .status()
                .message(),
            prefix + "field flag, column \"flag\": INTEGER 2 is not a bool (0 or 1)");
  EXPECT_EQ(db().query_one<app::Kinds>("SELECT 0 AS flag, 2.5 AS small, 2 AS real, 5 AS maybe")
                .status()
                .message(),
            prefix + "field small, column \"small\": REAL 2.5 has a fraction, which an int "
                     "would lose");
  EXPECT_EQ(db().query_one<app::Kinds>(
                    "SELECT 0 AS flag, 4294967296 AS small, 2 AS real, 5 AS maybe")
                .status()
                .message(),
            prefix + "field small, column \"small\": INTEGER 4294967296 is out of int's range");
  EXPECT_EQ(db().query_one<app::Kinds>("SELECT 0 AS flag, 1 AS small, x'00' AS real, 5 AS maybe")
                .status()
                .message(),
            prefix + "field real, column \"real\": a BLOB value, not a double");
  EXPECT_EQ(db().query_one<app::Kinds>("SELECT 0 AS flag, 1 AS small, 1.0 AS real, 'x' AS maybe")
                .status()
                .message(),
            prefix + "field maybe, column \"maybe\": a TEXT value, not an int64_t");
}

TEST(SqliteRowsMultiThreadTest, QueriesOnAMultiThreadConnection) {
  absl::StatusOr<SqliteConnection> db = SqliteConnection::open(
      {.path = ":memory:", .threading = SqliteThreading::multi_thread});
  ASSERT_TRUE(db.ok()) << db.status();
  ASSERT_TRUE(db->execute("CREATE TABLE matches (winner TEXT, loser TEXT, score INTEGER, "
                          "outcome TEXT, note TEXT)")
                  .ok());
  ASSERT_TRUE(db->execute("INSERT INTO matches VALUES (:winner, :loser, :score, :outcome, :note)",
                          kCid)
                  .ok());
  absl::StatusOr<std::vector<Match>> rows = db->query<Match>("SELECT * FROM matches");
  ASSERT_TRUE(rows.ok()) << rows.status();
  EXPECT_THAT(*rows, ElementsAre(kCid));
}

TEST_F(SqliteRowsTest, PositionalCountMustMatch) {
  absl::StatusOr<std::vector<Match>> rows =
      db().query<Match>("SELECT * FROM matches WHERE winner = ? AND loser = ?", "ann");
  ASSERT_EQ(rows.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(rows.status().message(), HasSubstr("1 value was given for 2 parameters"));
}

TEST_F(SqliteRowsTest, QueryOneNoneManyAndOne) {
  absl::StatusOr<Match> one = db().query_one<Match>("SELECT * FROM matches WHERE winner = ?", "ann");
  ASSERT_TRUE(one.ok()) << one.status();
  EXPECT_EQ(*one, kAnn);
  absl::StatusOr<Match> none =
      db().query_one<Match>("SELECT * FROM matches WHERE winner = ?", "nobody");
  EXPECT_EQ(none.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(none.status().message(), HasSubstr("query_one sqlite \":memory:\": no row"));
  absl::StatusOr<Match> many = db().query_one<Match>("SELECT * FROM matches");
  EXPECT_EQ(many.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(many.status().message(), HasSubstr("more than one row"));
}

TEST_F(SqliteRowsTest, QueryValue) {
  absl::StatusOr<int64_t> count = db().query_value<int64_t>("SELECT count(*) FROM matches");
  ASSERT_TRUE(count.ok()) << count.status();
  EXPECT_EQ(*count, 2);
  absl::StatusOr<std::optional<std::string>> note = db().query_value<std::optional<std::string>>(
      "SELECT note FROM matches WHERE winner = ?", "ann");
  ASSERT_TRUE(note.ok()) << note.status();
  EXPECT_EQ(*note, std::nullopt);
  absl::StatusOr<Outcome> outcome =
      db().query_value<Outcome>("SELECT outcome FROM matches WHERE winner = 'cid'");
  ASSERT_TRUE(outcome.ok()) << outcome.status();
  EXPECT_EQ(*outcome, Outcome::draw);
  absl::StatusOr<int64_t> two = db().query_value<int64_t>("SELECT 1, 2");
  EXPECT_EQ(two.status().code(), absl::StatusCode::kInvalidArgument);
  absl::StatusOr<int64_t> none = db().query_value<int64_t>("SELECT 1 WHERE 0");
  EXPECT_EQ(none.status().code(), absl::StatusCode::kNotFound);
  absl::StatusOr<int64_t> text = db().query_value<int64_t>("SELECT 'x' AS n");
  EXPECT_EQ(text.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(text.status().message(), HasSubstr("column \"n\": a TEXT value, not an int64_t"));
}

TEST_F(SqliteRowsTest, ForEachStreamsAndStopsOnNonOk) {
  // An endless query: only streaming can stop it.
  int seen = 0;
  const Match* first = nullptr;
  absl::Status status = db().for_each<Match>(
      "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n) "
      "SELECT 'w' || i AS winner, 'l' AS loser, i AS score, 'win' AS outcome, NULL AS note "
      "FROM n WHERE i >= ?",
      int64_t{10}, [&](const Match& row) {
        if (first == nullptr) first = &row;
        EXPECT_EQ(&row, first);  // one object, reused
        EXPECT_EQ(row.score, 10 + seen);
        if (++seen == 5) return absl::CancelledError("enough");
        return absl::OkStatus();
      });
  EXPECT_EQ(status, absl::CancelledError("enough"));
  EXPECT_EQ(seen, 5);
}

TEST_F(SqliteRowsTest, ForEachVisitsEveryRow) {
  std::vector<Match> seen;
  absl::Status status = db().for_each<Match>("SELECT * FROM matches ORDER BY winner",
                                             [&](const Match& row) {
                                               seen.push_back(row);
                                               return absl::OkStatus();
                                             });
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_THAT(seen, ElementsAre(kAnn, kCid));
}

// for_each reuses one row; an optional text read in place follows each row:
// a long text, NULL, an empty text (not NULL), a short one. A value of
// another type into it is refused, naming field and column.
TEST_F(SqliteRowsTest, AReusedRowsOptionalTextFollowsEachRow) {
  ASSERT_TRUE(db().execute("DELETE FROM matches").ok());
  const std::string long_note(100, 'n');
  ASSERT_TRUE(db().execute("INSERT INTO matches VALUES ('a', 'b', 1, 'win', ?)", long_note).ok());
  ASSERT_TRUE(db().execute("INSERT INTO matches VALUES ('c', 'd', 2, 'win', NULL), "
                           "('e', 'f', 3, 'win', ''), ('g', 'h', 4, 'win', 'x')")
                  .ok());
  std::vector<std::optional<std::string>> notes;
  absl::Status status = db().for_each<Match>("SELECT * FROM matches ORDER BY winner",
                                             [&](const Match& row) {
                                               notes.push_back(row.note);
                                               return absl::OkStatus();
                                             });
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_THAT(notes, ElementsAre(long_note, std::nullopt, "", "x"));
  absl::StatusOr<std::vector<Match>> rows =
      db().query<Match>("SELECT winner, loser, score, outcome, 5 AS note FROM matches");
  EXPECT_EQ(rows.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(rows.status().message(),
              HasSubstr("row Match, field note, column \"note\": an INTEGER value, not a "
                        "std::string"));
}

TEST_F(SqliteRowsTest, RowBoundAsParametersByName) {
  const Match eve{.winner = "eve", .loser = "fay", .score = 7, .outcome = Outcome::win,
                  .note = "late"};
  // Parameters in another order than the fields; '@' and '$' prefixes too.
  ASSERT_TRUE(db().execute("INSERT INTO matches (note, score, loser, winner, outcome) "
                           "VALUES (:note, @score, $loser, :winner, :outcome)",
                           eve)
                  .ok());
  absl::StatusOr<Match> back = db().query_one<Match>("SELECT * FROM matches WHERE winner = ?", "eve");
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, eve);
  // A row fills a WHERE naming only some of its fields.
  absl::StatusOr<int64_t> count = db().query_value<int64_t>(
      "SELECT count(*) FROM matches WHERE winner = :winner AND score = :score", eve);
  ASSERT_TRUE(count.ok()) << count.status();
  EXPECT_EQ(*count, 1);
}

TEST_F(SqliteRowsTest, ParameterNoFieldFillsIsAnError) {
  absl::Status status = db().execute(
      "INSERT INTO matches (winner, loser, score) VALUES (:winner, :loser, :scroe)", kAnn);
  ASSERT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("execute sqlite \":memory:\""));
  EXPECT_THAT(status.message(), HasSubstr("row Match has no field for parameter \":scroe\""));
  absl::StatusOr<int64_t> count = db().query_value<int64_t>("SELECT count(*) FROM matches");
  EXPECT_EQ(*count, 2);  // nothing ran
}

TEST_F(SqliteRowsTest, HostileRowRoundTrips) {
  ASSERT_TRUE(db().execute("CREATE TABLE blobs (id INTEGER, data BLOB)").ok());
  std::string hostile = "it's \"quoted\"; DROP TABLE matches; --";
  hostile.push_back('\0');
  hostile += "after the NUL";
  const Match odd{.winner = hostile, .loser = std::string(1 << 20, 'x'), .score = -1,
                  .outcome = Outcome::draw, .note = std::string("\0\0", 2)};
  ASSERT_TRUE(db().execute("INSERT INTO matches VALUES (:winner, :loser, :score, :outcome, :note)",
                           odd)
                  .ok());
  absl::StatusOr<Match> back =
      db().query_one<Match>("SELECT * FROM matches WHERE winner = :winner", odd);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, odd);

  app::Blob blob{.id = 1, .data = {}};
  for (int i = 0; i < (1 << 20); ++i) blob.data.push_back(static_cast<std::byte>(i % 256));
  ASSERT_TRUE(db().execute("INSERT INTO blobs VALUES (:id, :data)", blob).ok());
  absl::StatusOr<std::vector<app::Blob>> blobs = db().query<app::Blob>("SELECT * FROM blobs");
  ASSERT_TRUE(blobs.ok()) << blobs.status();
  EXPECT_THAT(*blobs, ElementsAre(blob));
}

TEST_F(SqliteRowsTest, SqlErrorSurvivesQuery) {
  ASSERT_TRUE(db().execute("CREATE TABLE players (id INTEGER PRIMARY KEY)").ok());
  absl::StatusOr<std::vector<app::Id>> first =
      db().query<app::Id>("INSERT INTO players VALUES (?) RETURNING id", 1);
  ASSERT_TRUE(first.ok()) << first.status();
  absl::StatusOr<std::vector<app::Id>> again =
      db().query<app::Id>("INSERT INTO players VALUES (?) RETURNING id", 1);
  ASSERT_FALSE(again.ok());
  EXPECT_TRUE(is_unique_violation(again.status())) << again.status();
  EXPECT_EQ(sql_error(again.status())->sqlite_code, 1555);  // SQLITE_CONSTRAINT_PRIMARYKEY
}

TEST_F(SqliteRowsTest, PrepareErrorsSayTheOperation) {
  absl::StatusOr<std::vector<Match>> rows = db().query<Match>("SELECT * FROM nowhere");
  ASSERT_FALSE(rows.ok());
  EXPECT_THAT(rows.status().message(), HasSubstr("query sqlite \":memory:\": "));
  EXPECT_THAT(rows.status().message(), HasSubstr("no such table"));
}

}  // namespace
}  // namespace uncopyable
