// PostgresConnection's statement cache (issue 16), against a server this
// test binary starts: the commands with parameters, the row forms and
// for_each() keep their server-side statements by SQL text,
// statement_cache_size of them, least recently used out first (and
// DEALLOCATEd). What the session holds is read from the server itself
// (pg_prepared_statements), with query(sql), which is never prepared.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/cache_size_checks.h"
#include "tests/testing/example_rows.h"
#include "tests/testing/postgres_suite.h"
#include "uncopyable/config_json.h"
#include "uncopyable/config_url.h"
#include "uncopyable/postgres.h"
#include "uncopyable/rows.h"
#include "uncopyable/sql_error.h"

namespace uncopyable {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

constexpr char kPlusOne[] = "SELECT $1::int8 + 1";

class PostgresCacheTest : public testing::PostgresSuite {
 protected:
  static PostgresConnection connect(int cache_size = 32) {
    PostgresConfig config = PostgresSuite::config();
    config.statement_cache_size = cache_size;
    return PostgresSuite::connect(config);
  }

  // The SQL of each statement prepared on this session now (the
  // DEALLOCATEs pending are sent before this query).
  static std::vector<std::string> prepared(PostgresConnection& db) {
    absl::StatusOr<PostgresResult> rows =
        db.query("SELECT statement FROM pg_prepared_statements ORDER BY prepare_time");
    EXPECT_TRUE(rows.ok()) << rows.status();
    std::vector<std::string> sql;
    for (int row = 0; rows.ok() && row < rows->rows(); ++row) sql.push_back(rows->get_text(row, 0));
    return sql;
  }

  // How many times the session's statement for `sql` has run, or -1.
  static int64_t runs(PostgresConnection& db, const std::string& sql) {
    absl::StatusOr<PostgresResult> rows = db.query(absl::StrCat(
        "SELECT generic_plans + custom_plans FROM pg_prepared_statements WHERE statement = '",
        sql, "'"));
    EXPECT_TRUE(rows.ok()) << rows.status();
    return rows.ok() && rows->rows() == 1 ? rows->get_int64(0, 0) : -1;
  }

  static int64_t plus_one(PostgresConnection& db, int64_t value) {
    absl::StatusOr<int64_t> sum = db.query_value<int64_t>(kPlusOne, value);
    EXPECT_TRUE(sum.ok()) << sum.status();
    return sum.value_or(-1);
  }
};

TEST_F(PostgresCacheTest, TheSameSqlRunsOneStatementPreparedOnce) {
  PostgresConnection db = connect();
  for (int64_t i = 0; i < 3; ++i) EXPECT_EQ(plus_one(db, i), i + 1);
  EXPECT_THAT(prepared(db), ElementsAre(kPlusOne));
  EXPECT_EQ(runs(db, kPlusOne), 3);
  // Every form with parameters shares it: execute, query, the row forms,
  // for_each.
  ASSERT_TRUE(db.execute("DROP TABLE IF EXISTS numbers; CREATE TABLE numbers (v int8)").ok());
  const std::string insert = "INSERT INTO numbers VALUES ($1)";
  ASSERT_TRUE(db.execute(insert, 1).ok());
  ASSERT_TRUE(db.execute(insert, 2).ok());
  ASSERT_TRUE(db.query(insert, 3).ok());
  EXPECT_EQ(runs(db, insert), 3);
  const std::string select = "SELECT v FROM numbers WHERE v >= $1 ORDER BY v";
  ASSERT_TRUE(db.query<example_rows::Number>(select, 1).ok());
  int64_t sum = 0;
  ASSERT_TRUE(db.for_each<example_rows::Number>(select, 2, [&](const example_rows::Number& n) {
                  sum += n.v;
                  return absl::OkStatus();
                }).ok());
  EXPECT_EQ(sum, 5);
  EXPECT_EQ(runs(db, select), 2);
  // A row form with no parameters too (the extended protocol either way).
  ASSERT_TRUE(db.query_value<int64_t>("SELECT count(*) FROM numbers").ok());
  ASSERT_TRUE(db.query_value<int64_t>("SELECT count(*) FROM numbers").ok());
  EXPECT_EQ(runs(db, "SELECT count(*) FROM numbers"), 2);
}

TEST_F(PostgresCacheTest, TheLeastRecentlyUsedGoesFirstAndIsDeallocated) {
  PostgresConnection db = connect(/*cache_size=*/2);
  ASSERT_TRUE(db.query_value<int64_t>("SELECT $1::int8 + 1", 1).ok());  // a
  ASSERT_TRUE(db.query_value<int64_t>("SELECT $1::int8 + 2", 1).ok());  // b
  ASSERT_TRUE(db.query_value<int64_t>("SELECT $1::int8 + 1", 1).ok());  // a: b is the oldest
  ASSERT_TRUE(db.query_value<int64_t>("SELECT $1::int8 + 3", 1).ok());  // c: b goes
  EXPECT_THAT(prepared(db), UnorderedElementsAre("SELECT $1::int8 + 1", "SELECT $1::int8 + 3"));
  EXPECT_EQ(runs(db, "SELECT $1::int8 + 1"), 2);
  ASSERT_TRUE(db.query_value<int64_t>("SELECT $1::int8 + 2", 1).ok());  // b again: a goes
  EXPECT_THAT(prepared(db), UnorderedElementsAre("SELECT $1::int8 + 3", "SELECT $1::int8 + 2"));
  // Many texts through a small cache: the server never holds more.
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(db.query_value<int64_t>(absl::StrCat("SELECT $1::int8 + ", i), i).ok());
  }
  EXPECT_EQ(prepared(db).size(), 2u);
}

TEST_F(PostgresCacheTest, SizeZeroPreparesNothing) {
  PostgresConnection db = connect(/*cache_size=*/0);
  EXPECT_EQ(plus_one(db, 1), 2);
  EXPECT_EQ(plus_one(db, 2), 3);
  EXPECT_THAT(prepared(db), IsEmpty());
}

TEST_F(PostgresCacheTest, AFailureToPrepareIsNotKept) {
  PostgresConnection db = connect();
  const absl::StatusOr<int64_t> wrong = db.query_value<int64_t>("SELEC $1::int8", 1);
  EXPECT_EQ(wrong.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(wrong.status().message(), HasSubstr("syntax error"));
  EXPECT_THAT(wrong.status().message(), HasSubstr("[42601]"));
  EXPECT_THAT(wrong.status().message(), HasSubstr("query_value postgresql"));
  EXPECT_THAT(prepared(db), IsEmpty());
  EXPECT_EQ(plus_one(db, 1), 2);
}

// The cache never changes what a command means: a statement prepared for
// one parameter type is not given a value of another (the server would
// read text as an int8); NULL fits any type.
TEST_F(PostgresCacheTest, AValueOfAnotherTypePreparesTheTextAgain) {
  PostgresConnection db = connect();
  const std::string echo = "SELECT $1 AS v";
  absl::StatusOr<PostgresResult> number = db.query(echo, int64_t{5});
  ASSERT_TRUE(number.ok()) << number.status();
  EXPECT_EQ(number->get_text(0, 0), "5");
  absl::StatusOr<PostgresResult> text = db.query(echo, "five");
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_EQ(text->get_text(0, 0), "five");
  absl::StatusOr<PostgresResult> null = db.query(echo, std::nullopt);
  ASSERT_TRUE(null.ok()) << null.status();
  EXPECT_TRUE(null->is_null(0, 0));
  // One statement for the text, the int8 one DEALLOCATEd.
  EXPECT_THAT(prepared(db), ElementsAre(echo));
  EXPECT_EQ(runs(db, echo), 2);
}

// DEALLOCATE ALL run by the caller: the next use prepares the text again,
// once, unseen.
TEST_F(PostgresCacheTest, AStatementTheServerLostIsPreparedAgainOnce) {
  PostgresConnection db = connect();
  EXPECT_EQ(plus_one(db, 1), 2);
  ASSERT_TRUE(db.execute("DEALLOCATE ALL").ok());
  EXPECT_THAT(prepared(db), IsEmpty());
  EXPECT_EQ(plus_one(db, 2), 3);
  EXPECT_THAT(prepared(db), ElementsAre(kPlusOne));
  // for_each() too.
  ASSERT_TRUE(db.execute("DISCARD ALL").ok());
  int64_t seen = 0;
  const absl::Status streamed = db.for_each<example_rows::Number>(
      "SELECT g AS v FROM generate_series(1, $1::int8) g", 3, [&](const example_rows::Number& n) {
        seen += n.v;
        return absl::OkStatus();
      });
  ASSERT_TRUE(streamed.ok()) << streamed;
  ASSERT_TRUE(db.execute("DEALLOCATE ALL").ok());
  const absl::Status again = db.for_each<example_rows::Number>(
      "SELECT g AS v FROM generate_series(1, $1::int8) g", 3, [&](const example_rows::Number& n) {
        seen += n.v;
        return absl::OkStatus();
      });
  ASSERT_TRUE(again.ok()) << again;
  EXPECT_EQ(seen, 12);
}

// Inside a transaction the server's refusal has failed the transaction: it
// is returned as it is, and the text is prepared again on its next use.
TEST_F(PostgresCacheTest, InsideATransactionALostStatementIsTheServersError) {
  PostgresConnection db = connect();
  EXPECT_EQ(plus_one(db, 1), 2);
  {
    absl::StatusOr<PostgresTransaction> tx = db.begin();
    ASSERT_TRUE(tx.ok()) << tx.status();
    ASSERT_TRUE(db.execute("DEALLOCATE ALL").ok());
    EXPECT_THAT(prepared(db), IsEmpty());
    const absl::StatusOr<int64_t> lost = db.query_value<int64_t>(kPlusOne, int64_t{2});
    ASSERT_FALSE(lost.ok());
    ASSERT_TRUE(sql_error(lost.status()).has_value()) << lost.status();
    EXPECT_EQ(sql_error(lost.status())->sqlstate, "26000");
    EXPECT_TRUE(tx->rollback().ok());
  }
  EXPECT_EQ(plus_one(db, 3), 4);
  EXPECT_THAT(prepared(db), ElementsAre(kPlusOne));
}

// An ALTER TABLE that changes what a kept SELECT returns: the server
// refuses the statement (0A000, "cached plan must not change result type")
// and would refuse every later run; it is DEALLOCATEd and the text prepared
// again, once, unseen, for query() and for_each() alike.
TEST_F(PostgresCacheTest, AStatementWhosePlanChangedIsPreparedAgainOnce) {
  PostgresConnection db = connect();
  ASSERT_TRUE(db.execute("DROP TABLE IF EXISTS altered; CREATE TABLE altered (v int8); "
                         "INSERT INTO altered VALUES (1), (2)")
                  .ok());
  const std::string select = "SELECT v FROM altered WHERE v >= $1 ORDER BY v";
  ASSERT_TRUE(db.query(select, int64_t{1}).ok());
  ASSERT_TRUE(db.execute("ALTER TABLE altered ALTER COLUMN v TYPE int4").ok());
  absl::StatusOr<PostgresResult> rows = db.query(select, int64_t{1});
  ASSERT_TRUE(rows.ok()) << rows.status();
  EXPECT_EQ(rows->rows(), 2);
  // The refused statement DEALLOCATEd: one for the text, run once.
  EXPECT_THAT(prepared(db), ElementsAre(select));
  EXPECT_EQ(runs(db, select), 1);
}

// for_each() (the streaming path) too.
TEST_F(PostgresCacheTest, AStatementWhosePlanChangedIsPreparedAgainOnceForEach) {
  PostgresConnection db = connect();
  ASSERT_TRUE(db.execute("DROP TABLE IF EXISTS altered_each; CREATE TABLE altered_each (v int4); "
                         "INSERT INTO altered_each VALUES (1), (2)")
                  .ok());
  const std::string select = "SELECT v FROM altered_each WHERE v >= $1 ORDER BY v";
  int64_t seen = 0;
  const auto add = [&](const example_rows::Number& n) {
    seen += n.v;
    return absl::OkStatus();
  };
  ASSERT_TRUE(db.for_each<example_rows::Number>(select, int64_t{1}, add).ok());
  ASSERT_TRUE(db.execute("ALTER TABLE altered_each ALTER COLUMN v TYPE int8").ok());
  const absl::Status streamed = db.for_each<example_rows::Number>(select, int64_t{1}, add);
  ASSERT_TRUE(streamed.ok()) << streamed;
  EXPECT_EQ(seen, 6);
  EXPECT_THAT(prepared(db), ElementsAre(select));
  EXPECT_EQ(runs(db, select), 1);
}

// Inside a transaction the refusal has failed the transaction: returned as
// it is; the statement is DEALLOCATEd after the ROLLBACK and the text
// prepared again on its next use.
TEST_F(PostgresCacheTest, InsideATransactionAChangedPlanIsTheServersError) {
  PostgresConnection db = connect();
  ASSERT_TRUE(db.execute("DROP TABLE IF EXISTS altered_tx; CREATE TABLE altered_tx (v int8); "
                         "INSERT INTO altered_tx VALUES (5)")
                  .ok());
  const std::string select = "SELECT v FROM altered_tx WHERE v >= $1";
  ASSERT_TRUE(db.query(select, int64_t{1}).ok());
  ASSERT_TRUE(db.execute("ALTER TABLE altered_tx ALTER COLUMN v TYPE int4").ok());
  {
    absl::StatusOr<PostgresTransaction> tx = db.begin();
    ASSERT_TRUE(tx.ok()) << tx.status();
    const absl::StatusOr<PostgresResult> refused = db.query(select, int64_t{1});
    ASSERT_FALSE(refused.ok());
    ASSERT_TRUE(sql_error(refused.status()).has_value()) << refused.status();
    EXPECT_EQ(sql_error(refused.status())->sqlstate, "0A000");
    EXPECT_TRUE(tx->rollback().ok());
  }
  EXPECT_THAT(prepared(db), IsEmpty());
  absl::StatusOr<PostgresResult> rows = db.query(select, int64_t{1});
  ASSERT_TRUE(rows.ok()) << rows.status();
  EXPECT_EQ(rows->rows(), 1);
  EXPECT_THAT(prepared(db), ElementsAre(select));
}

// The session's name of the statement prepared for `sql`.
std::string name_of(PostgresConnection& db, const std::string& sql) {
  absl::StatusOr<PostgresResult> rows = db.query(
      absl::StrCat("SELECT name FROM pg_prepared_statements WHERE statement = '", sql, "'"));
  EXPECT_TRUE(rows.ok()) << rows.status();
  return rows.ok() && rows->rows() == 1 ? rows->get_text(0, 0) : "";
}

// Three statements let go at once, the middle one already DEALLOCATEd by
// the caller: the server stops the batch at it, and the one after it is
// DEALLOCATEd all the same, outside a transaction and inside one (which
// goes on).
TEST_F(PostgresCacheTest, OneFailedDeallocateDoesNotLoseTheRest) {
  for (const bool in_transaction : {false, true}) {
    SCOPED_TRACE(in_transaction ? "inside a transaction" : "outside a transaction");
    PostgresConnection db = connect();
    std::optional<PostgresStatement> first(*db.prepare("SELECT 1"));
    std::optional<PostgresStatement> middle(*db.prepare("SELECT 2"));
    std::optional<PostgresStatement> last(*db.prepare("SELECT 3"));
    ASSERT_THAT(prepared(db), UnorderedElementsAre("SELECT 1", "SELECT 2", "SELECT 3"));
    const std::string name = name_of(db, "SELECT 2");
    ASSERT_FALSE(name.empty());
    std::optional<PostgresTransaction> tx;
    if (in_transaction) {
      absl::StatusOr<PostgresTransaction> begun = db.begin();
      ASSERT_TRUE(begun.ok()) << begun.status();
      tx.emplace(*std::move(begun));
    }
    ASSERT_TRUE(db.execute(absl::StrCat("DEALLOCATE ", name)).ok());
    first.reset();
    middle.reset();
    last.reset();
    EXPECT_THAT(prepared(db), IsEmpty());
    if (tx.has_value()) {
      ASSERT_TRUE(db.execute("CREATE TEMP TABLE still_usable (v int8)").ok());
      EXPECT_TRUE(tx->commit().ok());
      tx.reset();
    }
  }
}

// A statement prepared inside a transaction that is rolled back stays
// (PostgreSQL's prepared statements are not transactional): still a hit.
TEST_F(PostgresCacheTest, AStatementPreparedInARolledBackTransactionStays) {
  PostgresConnection db = connect();
  {
    absl::StatusOr<PostgresTransaction> tx = db.begin();
    ASSERT_TRUE(tx.ok()) << tx.status();
    EXPECT_EQ(plus_one(db, 1), 2);
    EXPECT_TRUE(tx->rollback().ok());
  }
  EXPECT_EQ(plus_one(db, 2), 3);
  EXPECT_EQ(runs(db, kPlusOne), 2);
}

// Statements evicted inside a transaction that then fails wait for its
// end, and are DEALLOCATEd after the ROLLBACK.
TEST_F(PostgresCacheTest, EvictionsInAFailedTransactionWaitForItsEnd) {
  PostgresConnection db = connect(/*cache_size=*/1);
  {
    absl::StatusOr<PostgresTransaction> tx = db.begin();
    ASSERT_TRUE(tx.ok()) << tx.status();
    ASSERT_TRUE(db.query_value<int64_t>("SELECT $1::int8 + 1", 1).ok());
    ASSERT_TRUE(db.query_value<int64_t>("SELECT $1::int8 + 2", 1).ok());  // evicts + 1
    EXPECT_FALSE(db.execute("SELECT 1/0").ok());
    EXPECT_TRUE(tx->rollback().ok());
  }
  EXPECT_THAT(prepared(db), ElementsAre("SELECT $1::int8 + 2"));
}

// A program that holds only SQL text survives a server restart: rebuild()
// starts with an empty cache and prepares each text again on first use.
TEST_F(PostgresCacheTest, AServerRestartIsSurvivedWithSqlTextAlone) {
  PostgresConnection db = connect();
  EXPECT_EQ(plus_one(db, 1), 2);
  ASSERT_TRUE(server().stop_immediately().ok());
  const absl::StatusOr<int64_t> down = db.query_value<int64_t>(kPlusOne, 2);
  EXPECT_EQ(down.status().code(), absl::StatusCode::kUnavailable) << down.status();
  ASSERT_TRUE(server().restart().ok());
  absl::StatusOr<PostgresConnection> again = db.rebuild();
  ASSERT_TRUE(again.ok()) << again.status();
  db = *std::move(again);  // the old session's cache goes with it
  EXPECT_THAT(prepared(db), IsEmpty());
  EXPECT_EQ(plus_one(db, 3), 4);
  EXPECT_EQ(plus_one(db, 4), 5);
  EXPECT_THAT(prepared(db), ElementsAre(kPlusOne));
  EXPECT_EQ(runs(db, kPlusOne), 2);
}

TEST_F(PostgresCacheTest, RebuildStartsEmptyAndMovesKeepTheCache) {
  PostgresConnection db = connect();
  EXPECT_EQ(plus_one(db, 1), 2);
  absl::StatusOr<PostgresConnection> other = db.rebuild();
  ASSERT_TRUE(other.ok()) << other.status();
  EXPECT_THAT(prepared(*other), IsEmpty());
  PostgresConnection moved = std::move(db);
  EXPECT_EQ(plus_one(moved, 2), 3);
  EXPECT_EQ(runs(moved, kPlusOne), 2);
  EXPECT_TRUE(moved.close().ok());
}

TEST(PostgresCacheConfigTest, SizeIsThirtyTwoByDefaultUpToTenThousandAndTravels) {
  testing::expect_statement_cache_size_checked_and_carried(PostgresConfig{.dbname = "shop"},
                                                           "PostgresConfig");
}

}  // namespace
}  // namespace uncopyable
