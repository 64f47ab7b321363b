// PostgreSQL rows into described structs (issue 16, rows.h): query<T>,
// query_one<T>, query_value<T>, for_each<T> (single-row mode) and
// execute(sql, row), against a real server this test binary starts.
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/example_rows.h"
#include "tests/testing/postgres_suite.h"
#include "uncopyable/postgres.h"
#include "uncopyable/rows.h"
#include "uncopyable/sql_error.h"

namespace pg_rows_test {

struct Everything {
  UNCOPYABLE_ROW(Everything, flag, small, big, ratio, text, data, maybe)
  bool flag = false;
  int small = 0;
  int64_t big = 0;
  double ratio = 0;
  std::string text;
  std::vector<std::byte> data;
  std::optional<int64_t> maybe;
};

struct Counted {
  UNCOPYABLE_ROW(Counted, n)
  int64_t n = 0;
};

struct Texts {
  UNCOPYABLE_ROW(Texts, empty, null, plain)
  std::optional<std::string> empty;
  std::optional<std::string> null;
  std::string plain;
};

struct Numbers {
  UNCOPYABLE_ROW(Numbers, spaced, plus, huge, tiny)
  int64_t spaced = 0;
  int64_t plus = 0;
  double huge = 0;
  std::optional<double> tiny;
};

}  // namespace pg_rows_test

namespace uncopyable {
namespace {

using ::example_rows::Match;
using ::example_rows::Outcome;
using ::pg_rows_test::Counted;
using ::pg_rows_test::Everything;
using ::pg_rows_test::Numbers;
using ::pg_rows_test::Texts;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

class PostgresRowsTest : public testing::PostgresSuite {
 protected:
  void SetUp() override {
    PostgresSuite::SetUp();
    if (HasFatalFailure()) return;
    db_ = std::make_unique<PostgresConnection>(connect());
    ASSERT_TRUE(db_->execute("DROP TABLE IF EXISTS matches; "
                             "CREATE TABLE matches (winner text, loser text, score int8, "
                             "outcome text, note text)")
                    .ok());
    ASSERT_TRUE(db_->execute("INSERT INTO matches VALUES ('ann', 'bob', 3, 'win', NULL), "
                             "('cat', 'dan', 1, 'draw', 'late')")
                    .ok());
  }
  void TearDown() override { db_.reset(); }

  std::unique_ptr<PostgresConnection> db_;
};

const Match kAnn{.winner = "ann", .loser = "bob", .score = 3, .outcome = Outcome::win, .note = std::nullopt};
const Match kCat{
    .winner = "cat", .loser = "dan", .score = 1, .outcome = Outcome::draw, .note = "late"};

// --- query<T> --------------------------------------------------------------------------

TEST_F(PostgresRowsTest, RowsAreReadByNameInAnyColumnOrder) {
  absl::StatusOr<std::vector<Match>> rows =
      db_->query<Match>("SELECT note, score, loser, outcome, winner FROM matches ORDER BY winner");
  ASSERT_TRUE(rows.ok()) << rows.status();
  EXPECT_THAT(*rows, ElementsAre(kAnn, kCat));
  // With parameters, values in order.
  rows = db_->query<Match>("SELECT * FROM matches WHERE winner = $1 AND score > $2", "cat", 0);
  ASSERT_TRUE(rows.ok()) << rows.status();
  EXPECT_THAT(*rows, ElementsAre(kCat));
  // None is an empty vector, the columns checked all the same.
  rows = db_->query<Match>("SELECT * FROM matches WHERE false");
  ASSERT_TRUE(rows.ok()) << rows.status();
  EXPECT_TRUE(rows->empty());
}

TEST_F(PostgresRowsTest, EveryFieldTypeRoundTripsThroughARowBoundAsParameters) {
  ASSERT_TRUE(db_->execute("CREATE TABLE everything (flag bool, small int4, big int8, "
                           "ratio float8, text text, data bytea, maybe int8)")
                  .ok());
  const Everything full{.flag = true,
                        .small = -7,
                        .big = 9000000000,
                        .ratio = 0.1,
                        .text = "it's \"quoted\"",
                        .data = {std::byte{0}, std::byte{0xff}, std::byte{0}},
                        .maybe = 5};
  const Everything empty{};
  for (const Everything& row : {full, empty}) {
    absl::Status added =
        db_->execute("INSERT INTO everything VALUES ($1, $2, $3, $4, $5, $6, $7)", row);
    ASSERT_TRUE(added.ok()) << added;
  }
  absl::StatusOr<std::vector<Everything>> rows =
      db_->query<Everything>("SELECT * FROM everything ORDER BY big DESC");
  ASSERT_TRUE(rows.ok()) << rows.status();
  EXPECT_THAT(*rows, ElementsAre(full, empty));
}

TEST_F(PostgresRowsTest, AMebibyteOfBytesWithNulsRoundTripsThroughARow) {
  ASSERT_TRUE(db_->execute("CREATE TABLE big (flag bool, small int4, big int8, ratio float8, "
                           "text text, data bytea, maybe int8)")
                  .ok());
  Everything row;
  row.text = std::string(1 << 20, 'x');
  row.data.resize(1 << 20);
  for (size_t i = 0; i < row.data.size(); ++i) row.data[i] = static_cast<std::byte>(i % 256);
  absl::Status added = db_->execute("INSERT INTO big VALUES ($1, $2, $3, $4, $5, $6, $7)", row);
  ASSERT_TRUE(added.ok()) << added;
  absl::StatusOr<Everything> back = db_->query_one<Everything>("SELECT * FROM big");
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(*back == row);
  int seen = 0;
  absl::Status each = db_->for_each<Everything>("SELECT * FROM big", [&](const Everything& one) {
    ++seen;
    EXPECT_TRUE(one == row);
    return absl::OkStatus();
  });
  ASSERT_TRUE(each.ok()) << each;
  EXPECT_EQ(seen, 1);
}

TEST_F(PostgresRowsTest, ARowIsBoundAsParametersInFieldOrder) {
  const Match eve{.winner = "eve", .loser = "fay", .score = 9, .outcome = Outcome::draw, .note = std::nullopt};
  // $1 is the first field (winner), $5 the last (note: NULL here).
  absl::Status added = db_->execute(
      "INSERT INTO matches (note, outcome, score, loser, winner) VALUES ($5, $4, $3, $2, $1)",
      eve);
  ASSERT_TRUE(added.ok()) << added;
  absl::StatusOr<Match> back = db_->query_one<Match>("SELECT * FROM matches WHERE score = 9");
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, eve);
  // A row as query<T>'s parameters too, and its text checked by the server.
  absl::StatusOr<std::vector<Match>> same = db_->query<Match>(
      "SELECT * FROM matches WHERE winner = $1 AND loser = $2 AND score = $3 AND "
      "outcome = $4 AND note IS NOT DISTINCT FROM $5",
      eve);
  ASSERT_TRUE(same.ok()) << same.status();
  EXPECT_THAT(*same, ElementsAre(eve));
  // A row whose fields the SQL does not take all of: the server's words.
  absl::Status fewer = db_->execute("INSERT INTO matches (winner) VALUES ($1)", eve);
  EXPECT_EQ(fewer.code(), absl::StatusCode::kInvalidArgument) << fewer;
}

TEST_F(PostgresRowsTest, AMissingColumnIsAnErrorNamingTheField) {
  absl::StatusOr<std::vector<Match>> rows =
      db_->query<Match>("SELECT winner, loser, score, outcome FROM matches");
  EXPECT_EQ(rows.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(rows.status().message(),
              HasSubstr(absl::StrCat("query ", where(), ": row Match: field \"note\" has no "
                                                        "column")))
      << rows.status();
}

TEST_F(PostgresRowsTest, AnExtraColumnIsAnErrorNamingTheColumnEvenWithNoRow) {
  absl::StatusOr<std::vector<Match>> rows =
      db_->query<Match>("SELECT *, 1 AS extra FROM matches WHERE false");
  EXPECT_EQ(rows.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(rows.status().message(), HasSubstr("row Match: column \"extra\" has no field"))
      << rows.status();
  // Case counts: "Score" is not score.
  rows = db_->query<Match>(
      "SELECT winner, loser, score AS \"Score\", outcome, note FROM matches");
  EXPECT_THAT(rows.status().message(), HasSubstr("column \"Score\" has no field"))
      << rows.status();
}

TEST_F(PostgresRowsTest, NullIntoAFieldThatIsNotOptionalNamesFieldAndColumn) {
  absl::StatusOr<std::vector<Match>> rows = db_->query<Match>(
      "SELECT winner, NULL::text AS loser, score, outcome, note FROM matches");
  EXPECT_EQ(rows.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(rows.status().message(),
            absl::StrCat("query ", where(),
                         ": row Match, field loser, column \"loser\": NULL into a non-optional "
                         "std::string"));
}

TEST_F(PostgresRowsTest, AValueOfAnotherTypeNamesFieldColumnAndTypes) {
  absl::StatusOr<std::vector<Match>> rows = db_->query<Match>(
      "SELECT winner, loser, 'seven'::text AS score, outcome, note FROM matches");
  EXPECT_EQ(rows.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(rows.status().message(),
            absl::StrCat("query ", where(),
                         ": row Match, field score, column \"score\": \"seven\" is not an "
                         "int64_t (a text column)"));
  // An enum's text that is not one of its names.
  rows = db_->query<Match>("SELECT winner, loser, score, 'tie' AS outcome, note FROM matches");
  EXPECT_EQ(rows.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(rows.status().message(),
              HasSubstr("row Match, field outcome, column \"outcome\": \"tie\" is not one of "
                        "win, draw"))
      << rows.status();
  // read<T> keeps its own wording: the same conversions, the cell named.
  absl::StatusOr<PostgresResult> result = db_->query("SELECT 'seven'::text AS n");
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->read<int64_t>(0, 0).status(),
            absl::InvalidArgumentError(
                R"(read row 0, column 0 "n" (text): "seven" is not an int64_t)"));
}

// The row reader asks libpq whether a cell is NULL only when it is empty,
// and parses numbers with std::from_chars before SimpleAtoi / SimpleAtod:
// an empty text is still not NULL, an empty text is no number, and what
// read<T> accepts (space around, a '+', a double out of range) a row
// accepts too, with the same value.
TEST_F(PostgresRowsTest, EmptyIsNotNullAndNumbersReadAsReadDoes) {
  absl::StatusOr<std::vector<Texts>> texts =
      db_->query<Texts>("SELECT ''::text AS empty, NULL::text AS null, ''::text AS plain");
  ASSERT_TRUE(texts.ok()) << texts.status();
  EXPECT_THAT(*texts, ElementsAre(Texts{.empty = "", .null = std::nullopt, .plain = ""}));
  texts = db_->query<Texts>("SELECT ''::text AS empty, NULL::text AS null, NULL::text AS plain");
  EXPECT_EQ(texts.status().code(), absl::StatusCode::kFailedPrecondition) << texts.status();

  absl::StatusOr<std::vector<Numbers>> numbers = db_->query<Numbers>(
      "SELECT ' 42 '::text AS spaced, '+7'::text AS plus, '1e999'::text AS huge, "
      "'-0.5'::text AS tiny");
  ASSERT_TRUE(numbers.ok()) << numbers.status();
  EXPECT_THAT(*numbers, ElementsAre(Numbers{.spaced = 42,
                                            .plus = 7,
                                            .huge = std::numeric_limits<double>::infinity(),
                                            .tiny = -0.5}));
  absl::StatusOr<PostgresResult> result = db_->query("SELECT ' 42 '::text, '1e999'::text");
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->read<int64_t>(0, 0).value_or(0), 42);
  EXPECT_EQ(result->read<double>(0, 1).value_or(0), std::numeric_limits<double>::infinity());

  // An empty text, and a number followed by more, are no numbers.
  numbers = db_->query<Numbers>(
      "SELECT ''::text AS spaced, 1 AS plus, 1.0 AS huge, NULL::float8 AS tiny");
  EXPECT_EQ(numbers.status().code(), absl::StatusCode::kInvalidArgument) << numbers.status();
  EXPECT_THAT(numbers.status().message(),
              HasSubstr("field spaced, column \"spaced\": \"\" is not an int64_t"));
  numbers = db_->query<Numbers>(
      "SELECT 1 AS spaced, 1 AS plus, '2.5x'::text AS huge, NULL::float8 AS tiny");
  EXPECT_THAT(numbers.status().message(),
              HasSubstr("field huge, column \"huge\": \"2.5x\" is not a double"));
  numbers = db_->query<Numbers>(
      "SELECT 1 AS spaced, 1 AS plus, 1.0 AS huge, '12abc'::text AS tiny");
  EXPECT_THAT(numbers.status().message(),
              HasSubstr("field tiny, column \"tiny\": \"12abc\" is not a double"));
}

// for_each reuses one row; an optional text read in place follows each row:
// a long text, NULL, an empty text (not NULL), a short one.
TEST_F(PostgresRowsTest, AReusedRowsOptionalTextFollowsEachRow) {
  ASSERT_TRUE(db_->execute("DELETE FROM matches").ok());
  const std::string long_note(100, 'n');
  ASSERT_TRUE(db_->execute("INSERT INTO matches VALUES ('a', 'b', 1, 'win', $1)", long_note).ok());
  ASSERT_TRUE(db_->execute("INSERT INTO matches VALUES ('c', 'd', 2, 'win', NULL), "
                           "('e', 'f', 3, 'win', ''), ('g', 'h', 4, 'win', 'x')")
                  .ok());
  std::vector<std::optional<std::string>> notes;
  absl::Status status = db_->for_each<Match>("SELECT * FROM matches ORDER BY winner",
                                             [&](const Match& row) {
                                               notes.push_back(row.note);
                                               return absl::OkStatus();
                                             });
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_THAT(notes, ElementsAre(long_note, std::nullopt, "", "x"));
}

TEST_F(PostgresRowsTest, TheServersErrorKeepsItsSqlErrorThroughQuery) {
  absl::StatusOr<std::vector<Match>> rows = db_->query<Match>("SELECT * FROM no_such_table");
  ASSERT_FALSE(rows.ok());
  ASSERT_TRUE(sql_error(rows.status()).has_value()) << rows.status();
  EXPECT_EQ(sql_error(rows.status())->sqlstate, "42P01");
  EXPECT_THAT(rows.status().message(), HasSubstr(absl::StrCat("query ", where(), ": ")));
  // Through execute(sql, row) too.
  ASSERT_TRUE(db_->execute("CREATE UNIQUE INDEX ON matches (winner)").ok());
  absl::Status again = db_->execute("INSERT INTO matches VALUES ($1, $2, $3, $4, $5)", kAnn);
  EXPECT_TRUE(is_unique_violation(again)) << again;
  // And through for_each, before any row.
  absl::Status each = db_->for_each<Match>("SELECT * FROM no_such_table",
                                           [](const Match&) { return absl::OkStatus(); });
  ASSERT_TRUE(sql_error(each).has_value()) << each;
  EXPECT_EQ(sql_error(each)->sqlstate, "42P01");
  EXPECT_THAT(each.message(), HasSubstr(absl::StrCat("for_each ", where(), ": ")));
}

// --- query_one<T>, query_value<T> ------------------------------------------------------

TEST_F(PostgresRowsTest, QueryOneWantsExactlyOneRow) {
  absl::StatusOr<Match> one = db_->query_one<Match>("SELECT * FROM matches WHERE winner = $1",
                                                    std::string("cat"));
  ASSERT_TRUE(one.ok()) << one.status();
  EXPECT_EQ(*one, kCat);
  absl::StatusOr<Match> none = db_->query_one<Match>("SELECT * FROM matches WHERE false");
  EXPECT_EQ(none.status(),
            absl::NotFoundError(absl::StrCat("query_one ", where(),
                                             ": no row, where exactly one was expected")));
  absl::StatusOr<Match> many = db_->query_one<Match>("SELECT * FROM matches");
  EXPECT_EQ(many.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(many.status().message(), HasSubstr(absl::StrCat("query_one ", where(), ": more")))
      << many.status();
}

TEST_F(PostgresRowsTest, QueryValueReadsOneColumnOfOneRow) {
  EXPECT_EQ(db_->query_value<int64_t>("SELECT count(*) FROM matches").value(), 2);
  EXPECT_EQ(db_->query_value<std::string>("SELECT loser FROM matches WHERE winner = $1", "ann")
                .value(),
            "bob");
  EXPECT_EQ(db_->query_value<Outcome>("SELECT outcome FROM matches WHERE score = $1", 1).value(),
            Outcome::draw);
  EXPECT_EQ(db_->query_value<std::optional<std::string>>(
                    "SELECT note FROM matches WHERE winner = 'ann'")
                .value(),
            std::nullopt);
  absl::StatusOr<int64_t> null = db_->query_value<int64_t>("SELECT NULL::int8 AS n");
  EXPECT_EQ(null.status(),
            absl::FailedPreconditionError(absl::StrCat(
                "query_value ", where(), ": column \"n\": NULL into a non-optional int64_t")));
  absl::StatusOr<int64_t> two = db_->query_value<int64_t>("SELECT 1 AS a, 2 AS b");
  EXPECT_EQ(two.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(two.status().message(), HasSubstr("\"a\", \"b\"")) << two.status();
  EXPECT_EQ(db_->query_value<int64_t>("SELECT 1 WHERE false").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(db_->query_value<int64_t>("SELECT score FROM matches").status().code(),
            absl::StatusCode::kFailedPrecondition);
}

// --- for_each<T> -----------------------------------------------------------------------

TEST_F(PostgresRowsTest, ForEachStreamsAHundredThousandRows) {
  int64_t count = 0;
  int64_t sum = 0;
  absl::Status each = db_->for_each<Counted>(
      "SELECT n FROM generate_series(1, $1::int8) AS n", int64_t{100000}, [&](const Counted& row) {
        ++count;
        sum += row.n;
        return absl::OkStatus();
      });
  ASSERT_TRUE(each.ok()) << each;
  EXPECT_EQ(count, 100000);
  EXPECT_EQ(sum, int64_t{100000} * 100001 / 2);
  // The connection goes on.
  EXPECT_EQ(db_->query_value<int64_t>("SELECT count(*) FROM matches").value(), 2);
}

TEST_F(PostgresRowsTest, ForEachStoppedEarlyReturnsTheStatusAndTheConnectionGoesOn) {
  int64_t seen = 0;
  // Rows without end, would the query not be stopped (a set-returning
  // function in the SELECT list streams; in FROM it would be materialized).
  absl::Status each = db_->for_each<Counted>(
      "SELECT generate_series(1, 1000000000000) AS n", [&](const Counted& row) {
        ++seen;
        if (row.n == 10) return absl::CancelledError("enough");
        return absl::OkStatus();
      });
  EXPECT_EQ(each, absl::CancelledError("enough"));
  EXPECT_EQ(seen, 10);
  EXPECT_EQ(db_->query_value<int64_t>("SELECT count(*) FROM matches").value(), 2);
  EXPECT_TRUE(db_->execute("SELECT 1").ok());
}

TEST_F(PostgresRowsTest, ForEachStoppedInsideATransactionLeavesItUsable) {
  absl::StatusOr<PostgresTransaction> tx = db_->begin();
  ASSERT_TRUE(tx.ok()) << tx.status();
  ASSERT_TRUE(db_->execute("INSERT INTO matches VALUES ('gus', 'hal', 4, 'win', NULL)").ok());
  absl::Status each = db_->for_each<Counted>(
      "SELECT n FROM generate_series(1, 50000) AS n",
      [](const Counted& row) {
        return row.n == 3 ? absl::AbortedError("stop") : absl::OkStatus();
      });
  EXPECT_EQ(each, absl::AbortedError("stop"));
  // The transaction was not failed by a cancel: it commits what it did.
  absl::Status committed = tx->commit();
  ASSERT_TRUE(committed.ok()) << committed;
  EXPECT_EQ(db_->query_value<int64_t>("SELECT count(*) FROM matches").value(), 3);
}

TEST_F(PostgresRowsTest, ForEachWithARowAsParametersAndErrors) {
  std::vector<Match> seen;
  const Match probe{.winner = "cat", .loser = "dan", .score = 0, .outcome = Outcome::draw, .note = std::nullopt};
  absl::Status each = db_->for_each<Match>(
      "SELECT * FROM matches WHERE winner = $1 AND loser = $2 AND score > $3 AND outcome = $4 "
      "AND ($5::text IS NULL)",
      probe, [&](const Match& row) {
        seen.push_back(row);
        return absl::OkStatus();
      });
  ASSERT_TRUE(each.ok()) << each;
  EXPECT_THAT(seen, ElementsAre(kCat));
  // A missing column stops it before any row; the connection goes on.
  each = db_->for_each<Match>("SELECT winner FROM generate_series(1, 100000), matches",
                              [](const Match&) { return absl::OkStatus(); });
  EXPECT_EQ(each.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(each.message(), HasSubstr(absl::StrCat("for_each ", where(), ": row Match: ")));
  // A value that does not read, partway: the row's error, then on.
  int reached = 0;
  each = db_->for_each<Counted>(
      "SELECT CASE WHEN i < 5 THEN i::text ELSE 'x' END AS n FROM generate_series(1, 100000) i",
      [&](const Counted&) {
        ++reached;
        return absl::OkStatus();
      });
  EXPECT_EQ(each.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(each.message(), HasSubstr("field n, column \"n\": \"x\" is not an int64_t"));
  EXPECT_EQ(reached, 4);
  // A server error partway, after rows reached fn: returned with its SQLSTATE.
  reached = 0;
  each = db_->for_each<Counted>(
      "SELECT 10 / (3 - i) AS n FROM generate_series(1, 5) i", [&](const Counted&) {
        ++reached;
        return absl::OkStatus();
      });
  ASSERT_TRUE(sql_error(each).has_value()) << each;
  EXPECT_EQ(sql_error(each)->sqlstate, "22012");
  EXPECT_EQ(reached, 2);
  EXPECT_EQ(db_->query_value<int64_t>("SELECT count(*) FROM matches").value(), 2);
}

TEST_F(PostgresRowsTest, ForEachIsBoundedByQueryTimeout) {
  PostgresConfig config = server().config();
  config.query_timeout = absl::Milliseconds(300);
  absl::StatusOr<PostgresConnection> db = PostgresConnection::open(config);
  ASSERT_TRUE(db.ok()) << db.status();
  absl::Status each = db->for_each<Counted>(
      "SELECT 1::int8 AS n UNION ALL SELECT pg_sleep(30)::text::int8",
      [](const Counted&) { return absl::OkStatus(); });
  EXPECT_EQ(each.code(), absl::StatusCode::kDeadlineExceeded) << each;
  EXPECT_THAT(each.message(), HasSubstr("query_timeout")) << each;
}

}  // namespace
}  // namespace uncopyable
