// PostgreSQL values (issue 16): typed parameters (bytea sent binary), typed
// reads with NULL as std::optional, result metadata, and the SQLSTATE of
// every server error as a field (sql_error.h), against a real server this
// test binary starts.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/types/span.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/postgres_server.h"
#include "tests/testing/postgres_suite.h"
#include "uncopyable/postgres.h"
#include "uncopyable/sql_error.h"

namespace uncopyable {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using testing::PostgresServer;

using Bytes = std::vector<std::byte>;

Bytes bytes_of(std::string_view text) {
  Bytes bytes;
  for (char c : text) bytes.push_back(static_cast<std::byte>(c));
  return bytes;
}

class PostgresValuesTest : public testing::PostgresSuite {
 protected:
  // A message must never hold the password.
  static void expect_no_password(const absl::Status& status) {
    EXPECT_THAT(status.message(), Not(HasSubstr(PostgresServer::kPassword))) << status;
  }

  static PostgresResult must(absl::StatusOr<PostgresResult> result) {
    EXPECT_TRUE(result.ok()) << result.status();
    return *std::move(result);
  }
};

// --- Binary data --------------------------------------------------------------------

TEST_F(PostgresValuesTest, BytesWithNulBytesRoundTripThroughEveryPath) {
  PostgresConnection db = connect();
  ASSERT_TRUE(db.execute("CREATE TABLE blobs (id int PRIMARY KEY, data bytea)").ok());
  const Bytes data = bytes_of(std::string_view("\0a\0\\x00\xff\x80\0", 10));
  // Unprepared, with a parameter; prepared; and back as they were.
  ASSERT_TRUE(db.execute("INSERT INTO blobs VALUES ($1, $2)", 1, data).ok());
  {
    absl::StatusOr<PostgresStatement> insert = db.prepare("INSERT INTO blobs VALUES ($1, $2)");
    ASSERT_TRUE(insert.ok()) << insert.status();
    ASSERT_TRUE(insert->execute(2, absl::MakeConstSpan(data)).ok());
  }
  PostgresResult rows = must(db.query("SELECT data, length(data) FROM blobs ORDER BY id"));
  ASSERT_EQ(rows.rows(), 2);
  for (int row = 0; row < 2; ++row) {
    EXPECT_EQ(rows.read<Bytes>(row, "data").value(), data) << row;
    // The server holds all 10 bytes: nothing was cut at a NUL.
    EXPECT_EQ(rows.read<int64_t>(row, 1).value(), 10) << row;
  }
  // Typed bytea in a plain SELECT, and the text form beside it.
  PostgresResult echoed = must(db.query("SELECT $1", data));
  EXPECT_EQ(echoed.column_type(0), "bytea");
  EXPECT_EQ(echoed.read<Bytes>(0, 0).value(), data);
  EXPECT_EQ(echoed.get_text(0, 0), "\\x0061005c783030ff8000");
}

TEST_F(PostgresValuesTest, AMebibyteOfEveryByteValueRoundTrips) {
  PostgresConnection db = connect();
  ASSERT_TRUE(db.execute("CREATE TABLE big_blobs (data bytea)").ok());
  Bytes data(1 << 20);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<std::byte>((i * 7 + i / 256) & 0xff);
  ASSERT_TRUE(db.execute("INSERT INTO big_blobs VALUES ($1)", data).ok());
  PostgresResult rows = must(db.query("SELECT data, length(data), md5(data) FROM big_blobs"));
  EXPECT_EQ(rows.read<int64_t>(0, 1).value(), 1 << 20);
  absl::StatusOr<Bytes> back = rows.read<Bytes>(0, 0);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(*back == data);
  // The same bytes through the server's own digest of them.
  PostgresResult digest = must(db.query("SELECT md5($1)", data));
  EXPECT_EQ(digest.read<std::string>(0, 0).value(), rows.read<std::string>(0, 2).value());
}

TEST_F(PostgresValuesTest, NoBytesAreAnEmptyByteaNotNull) {
  PostgresConnection db = connect();
  const Bytes none;
  PostgresResult rows = must(db.query("SELECT $1 IS NULL, length($1)", none));
  EXPECT_EQ(rows.read<bool>(0, 0).value(), false);
  EXPECT_EQ(rows.read<int>(0, 1).value(), 0);
  PostgresResult back = must(db.query("SELECT ''::bytea"));
  EXPECT_EQ(back.read<Bytes>(0, 0).value(), Bytes());
}

TEST_F(PostgresValuesTest, ByteaInTheOlderEscapeFormReadsTheSame) {
  PostgresConnection db = connect();
  ASSERT_TRUE(db.execute("SET bytea_output = 'escape'").ok());
  const Bytes data = bytes_of(std::string_view("\0\\\x01\x7f\xff" "abc'\"", 10));
  PostgresResult rows = must(db.query("SELECT $1", data));
  EXPECT_EQ(rows.get_text(0, 0), "\\000\\\\\\001\\177\\377abc'\"");
  EXPECT_EQ(rows.read<Bytes>(0, 0).value(), data);
}

// --- Typed parameters ----------------------------------------------------------------

TEST_F(PostgresValuesTest, ParametersOfEveryTypeReachTheServerAsThatType) {
  PostgresConnection db = connect();
  const std::string text = "it's \"quoted\" \\ text";
  const std::string_view longer = "abcdef";
  const absl::string_view absl_longer = "uvwxyz";
  const Bytes data = bytes_of(std::string_view("\0\1", 2));
  const int16_t small = -7;
  const uint32_t unsigned_large = 4000000000u;
  PostgresResult rows = must(db.query(
      "SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17", true,
      int{-42}, int64_t{9000000000}, 2.5, text, longer.substr(0, 3), "literal",
      std::optional<int64_t>(5), std::optional<std::string>(), std::nullopt, nullptr, data,
      small, unsigned_large, 1.5f, static_cast<const char*>(nullptr), absl_longer.substr(0, 2)));
  const std::vector<std::string> types = {"bool", "int4", "int8", "float8", "text", "text",
                                          "text", "int8", "text", "text", "text", "bytea",
                                          "int4", "int8", "float8", "text", "text"};
  ASSERT_EQ(rows.columns(), static_cast<int>(types.size()));
  for (int column = 0; column < rows.columns(); ++column) {
    EXPECT_EQ(rows.column_type(column), types[column]) << column;
  }
  EXPECT_EQ(rows.read<bool>(0, 0).value(), true);
  EXPECT_EQ(rows.read<int>(0, 1).value(), -42);
  EXPECT_EQ(rows.read<int64_t>(0, 2).value(), 9000000000);
  EXPECT_EQ(rows.read<double>(0, 3).value(), 2.5);
  EXPECT_EQ(rows.read<std::string>(0, 4).value(), text);
  // A view's own bytes only, though more follow it in memory.
  EXPECT_EQ(rows.read<std::string>(0, 5).value(), "abc");
  EXPECT_EQ(rows.read<std::string>(0, 6).value(), "literal");
  EXPECT_EQ(rows.read<std::optional<int64_t>>(0, 7).value(), 5);
  for (int column : {8, 9, 10, 15}) {
    EXPECT_TRUE(rows.is_null(0, column)) << column;
    EXPECT_EQ(rows.read<std::optional<std::string>>(0, column).value(), std::nullopt) << column;
  }
  EXPECT_EQ(rows.read<Bytes>(0, 11).value(), data);
  EXPECT_EQ(rows.read<int>(0, 12).value(), -7);
  EXPECT_EQ(rows.read<int64_t>(0, 13).value(), 4000000000);
  EXPECT_EQ(rows.read<double>(0, 14).value(), 1.5);
  EXPECT_EQ(rows.read<std::string>(0, 16).value(), "uv");
}

TEST_F(PostgresValuesTest, TypedParametersDoArithmeticInTheirOwnTypes) {
  PostgresConnection db = connect();
  // int8 + int8: past int4's range, which an untyped pair would not reach.
  PostgresResult sum = must(db.query("SELECT $1 + $2", int64_t{3000000000}, int64_t{3000000000}));
  EXPECT_EQ(sum.column_type(0), "int8");
  EXPECT_EQ(sum.read<int64_t>(0, 0).value(), 6000000000);
  PostgresResult both = must(db.query("SELECT $1 AND NOT $2", true, false));
  EXPECT_EQ(both.read<bool>(0, 0).value(), true);
  // Text takes the type of where it goes: a timestamptz, a jsonb.
  ASSERT_TRUE(db.execute("CREATE TABLE events (at timestamptz, doc jsonb)").ok());
  ASSERT_TRUE(
      db.execute("INSERT INTO events VALUES ($1, $2)", "2001-02-03 04:05:06+00", R"({"a": "b"})")
          .ok());
  PostgresResult typed = must(db.query("SELECT at < now(), doc->>'a' FROM events"));
  EXPECT_EQ(typed.read<bool>(0, 0).value(), true);
  EXPECT_EQ(typed.read<std::string>(0, 1).value(), "b");
}

TEST_F(PostgresValuesTest, DoublesRoundTripExactly) {
  PostgresConnection db = connect();
  const double values[] = {0.1,
                           1.0 / 3,
                           -2.5e-310,  // subnormal
                           std::numeric_limits<double>::max(),
                           std::numeric_limits<double>::lowest(),
                           std::numeric_limits<double>::min(),
                           std::numeric_limits<double>::infinity(),
                           -std::numeric_limits<double>::infinity(),
                           0.0,
                           -0.0};
  for (double value : values) {
    PostgresResult rows = must(db.query("SELECT $1", value));
    absl::StatusOr<double> back = rows.read<double>(0, 0);
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(*back, value) << rows.get_text(0, 0);
    EXPECT_EQ(std::signbit(*back), std::signbit(value)) << rows.get_text(0, 0);
  }
  PostgresResult nan = must(db.query("SELECT $1, $1 = 'NaN'::float8", std::nan("")));
  EXPECT_TRUE(std::isnan(nan.read<double>(0, 0).value()));
  EXPECT_EQ(nan.read<bool>(0, 1).value(), true);
}

TEST_F(PostgresValuesTest, IntegersAtTheirLimitsRoundTrip) {
  PostgresConnection db = connect();
  PostgresResult rows = must(db.query("SELECT $1, $2, $3, $4", std::numeric_limits<int64_t>::min(),
                                      std::numeric_limits<int64_t>::max(),
                                      std::numeric_limits<int>::min(),
                                      std::numeric_limits<int>::max()));
  EXPECT_EQ(rows.read<int64_t>(0, 0).value(), std::numeric_limits<int64_t>::min());
  EXPECT_EQ(rows.read<int64_t>(0, 1).value(), std::numeric_limits<int64_t>::max());
  EXPECT_EQ(rows.read<int>(0, 2).value(), std::numeric_limits<int>::min());
  EXPECT_EQ(rows.read<int>(0, 3).value(), std::numeric_limits<int>::max());
}

TEST_F(PostgresValuesTest, AStatementTakesTypedParametersAndTheTextFormsStillWork) {
  PostgresConnection db = connect();
  ASSERT_TRUE(db.execute("CREATE TABLE typed (i int4, big int8, ok bool, score float8, "
                         "name text, data bytea, at timestamptz)")
                  .ok());
  {
    absl::StatusOr<PostgresStatement> insert =
        db.prepare("INSERT INTO typed VALUES ($1, $2, $3, $4, $5, $6, $7)");
    ASSERT_TRUE(insert.ok()) << insert.status();
    ASSERT_TRUE(insert->execute(7, int64_t{1} << 40, true, 0.25, "ann", bytes_of("x"),
                                "2001-02-03 04:05:06+00")
                    .ok());
    // The lists of text that worked before, NULL as nullopt.
    ASSERT_TRUE(insert->execute({"8", "9", "false", "1.5", "bob", "\\x00", "2001-01-01"}).ok());
    const std::vector<std::optional<std::string>> texts = {
        "9", std::nullopt, std::nullopt, std::nullopt, std::nullopt, std::nullopt, std::nullopt};
    ASSERT_TRUE(insert->execute(texts).ok());
    // A count known only at run time.
    const Bytes empty;
    const std::vector<PostgresParameter> dynamic = {10, 11, false, 2.0, "cy", empty, nullptr};
    ASSERT_TRUE(insert->execute(absl::MakeConstSpan(dynamic)).ok());
  }
  PostgresResult rows = must(db.query("SELECT i, big, ok, score, name, data FROM typed ORDER BY i"));
  ASSERT_EQ(rows.rows(), 4);
  EXPECT_EQ(rows.read<int>(0, "i").value(), 7);
  EXPECT_EQ(rows.read<int64_t>(0, "big").value(), int64_t{1} << 40);
  EXPECT_EQ(rows.read<bool>(0, "ok").value(), true);
  EXPECT_EQ(rows.read<double>(0, "score").value(), 0.25);
  EXPECT_EQ(rows.read<std::string>(0, "name").value(), "ann");
  EXPECT_EQ(rows.read<Bytes>(0, "data").value(), bytes_of("x"));
  EXPECT_EQ(rows.read<Bytes>(1, "data").value(), bytes_of(std::string_view("\0", 1)));
  EXPECT_EQ(rows.read<std::optional<int64_t>>(2, "big").value(), std::nullopt);
  EXPECT_EQ(rows.read<std::optional<bool>>(2, "ok").value(), std::nullopt);
  EXPECT_EQ(rows.read<std::optional<Bytes>>(2, "data").value(), std::nullopt);
  EXPECT_EQ(rows.read<std::optional<Bytes>>(3, "data").value(), Bytes());
  EXPECT_EQ(rows.read<std::optional<double>>(3, "score").value(), 2.0);
}

TEST_F(PostgresValuesTest, ATextParameterWithANulByteIsRefusedNamingIt) {
  PostgresConnection db = connect();
  const std::string with_nul("a\0b", 3);
  const std::string says =
      "parameter $2 contains a NUL byte, which text parameters cannot carry; send it as bytes "
      "(std::vector<std::byte>) to a bytea";
  const absl::StatusOr<PostgresResult> queried = db.query("SELECT $1, $2", 1, with_nul);
  EXPECT_EQ(queried.status(), absl::InvalidArgumentError(absl::StrCat(
                                  "query ", where(), ": \"SELECT $1, $2\": ", says)));
  EXPECT_EQ(db.execute("SELECT $1, $2", 1, std::string_view(with_nul)),
            absl::InvalidArgumentError(
                absl::StrCat("execute ", where(), ": \"SELECT $1, $2\": ", says)));
  absl::StatusOr<PostgresStatement> statement = db.prepare("SELECT $1::text, $2::text");
  ASSERT_TRUE(statement.ok()) << statement.status();
  EXPECT_EQ(statement->execute("x", with_nul).status(),
            absl::InvalidArgumentError(
                absl::StrCat("execute ", where(), ": \"SELECT $1::text, $2::text\": ", says)));
  // Nothing was sent: no SqlError, and the connection goes on.
  EXPECT_EQ(sql_error(queried.status()), std::nullopt);
  EXPECT_TRUE(db.execute("SELECT 1").ok());
}

TEST_F(PostgresValuesTest, ACountOfParametersTheSqlDoesNotTakeIsInvalidArgument) {
  PostgresConnection db = connect();
  absl::StatusOr<PostgresStatement> statement = db.prepare("SELECT $1::int + $2::int");
  ASSERT_TRUE(statement.ok()) << statement.status();
  const absl::Status one = statement->execute(1).status();
  EXPECT_EQ(one.code(), absl::StatusCode::kInvalidArgument) << one;
  EXPECT_THAT(one.message(), HasSubstr("bind message supplies 1 parameters"));
  EXPECT_THAT(one.message(), HasSubstr("[08P01]"));
  expect_no_password(one);
  // Unprepared, the server counts what the SQL uses ($3 unused is fine).
  EXPECT_TRUE(db.execute("SELECT $1::int + $2::int", 1, 2, 3).ok());
  const absl::Status short_one = db.execute("SELECT $1::int + $2::int", 1);
  EXPECT_EQ(short_one.code(), absl::StatusCode::kInvalidArgument) << short_one;
  EXPECT_THAT(short_one.message(), HasSubstr("bind message supplies 1 parameters"));
  // The connection is not lost: it goes on.
  EXPECT_EQ(statement->execute(1, 2)->read<int>(0, 0).value(), 3);
}

TEST_F(PostgresValuesTest, ParametersCannotInjectSql) {
  PostgresConnection db = connect();
  ASSERT_TRUE(db.execute("CREATE TABLE victims (name text)").ok());
  for (const char* hostile : {"'); DROP TABLE victims; --", "x' OR '1'='1", "$1"}) {
    ASSERT_TRUE(db.execute("INSERT INTO victims VALUES ($1)", hostile).ok());
    PostgresResult found = must(db.query("SELECT count(*) FROM victims WHERE name = $1", hostile));
    EXPECT_EQ(found.read<int64_t>(0, 0).value(), 1) << hostile;
  }
}

// --- Reading ---------------------------------------------------------------------------

TEST_F(PostgresValuesTest, NullIntoAValueThatIsNotOptionalIsFailedPreconditionNamingTheColumn) {
  PostgresConnection db = connect();
  PostgresResult rows = must(db.query("SELECT NULL::float8 AS rating, NULL::bytea AS photo"));
  EXPECT_EQ(rows.read<double>(0, "rating").status(),
            absl::FailedPreconditionError(
                "read row 0, column 0 \"rating\" (float8): NULL into double; read "
                "std::optional<double> where NULL can be"));
  EXPECT_EQ(rows.read<Bytes>(0, 1).status(),
            absl::FailedPreconditionError(
                "read row 0, column 1 \"photo\" (bytea): NULL into std::vector<std::byte>; read "
                "std::optional<std::vector<std::byte>> where NULL can be"));
  for (int column = 0; column < 2; ++column) {
    EXPECT_EQ(rows.read<std::optional<double>>(0, column).value(), std::nullopt);
    EXPECT_EQ(rows.read<std::optional<int>>(0, column).value(), std::nullopt);
    EXPECT_EQ(rows.read<std::optional<bool>>(0, column).value(), std::nullopt);
    EXPECT_EQ(rows.read<std::optional<std::string>>(0, column).value(), std::nullopt);
    EXPECT_EQ(rows.read<std::optional<int64_t>>(0, column).value(), std::nullopt);
    EXPECT_EQ(rows.read<std::optional<Bytes>>(0, column).value(), std::nullopt);
    for (const absl::Status& status :
         {rows.read<bool>(0, column).status(), rows.read<int>(0, column).status(),
          rows.read<int64_t>(0, column).status(), rows.read<std::string>(0, column).status()}) {
      EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition) << status;
      EXPECT_THAT(status.message(), HasSubstr(column == 0 ? "\"rating\"" : "\"photo\""));
    }
  }
}

TEST_F(PostgresValuesTest, AValueThatIsNotTheTypeIsInvalidArgumentNamingBothTypes) {
  PostgresConnection db = connect();
  PostgresResult rows = must(db.query(
      "SELECT 'seven'::text AS n, 9000000000::int8 AS big, 7.5::numeric AS num, 'x'::text AS t, "
      "1 AS one, 'maybe'::text AS b, 'seven'::text AS d"));
  EXPECT_EQ(rows.read<int64_t>(0, "n").status(),
            absl::InvalidArgumentError(
                R"(read row 0, column 0 "n" (text): "seven" is not an int64_t)"));
  EXPECT_EQ(rows.read<int>(0, "big").status(),
            absl::InvalidArgumentError(
                R"(read row 0, column 1 "big" (int8): "9000000000" is out of the range of an int)"));
  EXPECT_EQ(rows.read<int64_t>(0, "num").status(),
            absl::InvalidArgumentError(
                R"(read row 0, column 2 "num" (numeric): "7.5" is not an int64_t)"));
  EXPECT_EQ(rows.read<Bytes>(0, "t").status(),
            absl::InvalidArgumentError(
                R"(read row 0, column 3 "t" (text): not a bytea, so not a std::vector<std::byte>; )"
                R"(read a std::string, or cast it (::bytea) in the SQL)"));
  EXPECT_EQ(rows.read<bool>(0, "one").status(),
            absl::InvalidArgumentError(
                R"(read row 0, column 4 "one" (int4): "1" is not a bool (t or f))"));
  EXPECT_EQ(rows.read<bool>(0, "b").status(),
            absl::InvalidArgumentError(
                R"(read row 0, column 5 "b" (text): "maybe" is not a bool (t or f))"));
  EXPECT_EQ(rows.read<std::optional<double>>(0, "d").status(),
            absl::InvalidArgumentError(
                R"(read row 0, column 6 "d" (text): "seven" is not a double)"));
  // Numbers of other types that parse read fine.
  EXPECT_EQ(rows.read<double>(0, "num").value(), 7.5);
  EXPECT_EQ(rows.read<int64_t>(0, "big").value(), 9000000000);
  EXPECT_EQ(rows.read<std::string>(0, "num").value(), "7.5");
}

TEST_F(PostgresValuesTest, AHugeHostileValueIsQuotedShortInTheMessage) {
  PostgresConnection db = connect();
  const std::string huge = "\"\n" + std::string(100000, 'x');
  PostgresResult rows = must(db.query("SELECT $1", huge));
  const absl::Status status = rows.read<int64_t>(0, 0).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_LT(status.message().size(), 600u) << status;
  EXPECT_THAT(status.message(), HasSubstr("\"\\\"\\nxxx"));
  EXPECT_THAT(status.message(), HasSubstr("(100002 bytes) is not an int64_t"));
}

// --- Metadata ---------------------------------------------------------------------------

TEST_F(PostgresValuesTest, ColumnNamesAreExactAndHostileOnesWork) {
  PostgresConnection db = connect();
  PostgresResult rows = must(db.query(
      R"(SELECT 1 AS "a""b", 2 AS "Score", 3 AS score, 4 AS "new
line", 5 AS "Ünï", 6 AS "a b; DROP TABLE x")"));
  ASSERT_EQ(rows.column_count(), 6);
  EXPECT_EQ(rows.column_name(0), "a\"b");
  EXPECT_EQ(rows.column_name(1), "Score");
  EXPECT_EQ(rows.column_name(2), "score");
  EXPECT_EQ(rows.column_name(3), "new\nline");
  EXPECT_EQ(rows.column_name(4), "Ünï");
  EXPECT_EQ(rows.column_index("a\"b").value(), 0);
  // No case folding, no quotes parsed (libpq's PQfnumber does both).
  EXPECT_EQ(rows.column_index("Score").value(), 1);
  EXPECT_EQ(rows.column_index("score").value(), 2);
  EXPECT_EQ(rows.column_index("new\nline").value(), 3);
  EXPECT_EQ(rows.column_index("Ünï").value(), 4);
  EXPECT_EQ(rows.column_index("a b; DROP TABLE x").value(), 5);
  EXPECT_EQ(rows.read<int>(0, "a\"b").value(), 1);
  EXPECT_EQ(rows.read<int>(0, "new\nline").value(), 4);
  EXPECT_EQ(rows.column_index("\"Score\"").status(),
            absl::NotFoundError(
                R"(find column "\"Score\"": not among the result's 6 columns "a\"b", "Score", )"
                R"("score", "new\nline", "\xc3\x9cn\xc3\xaf", "a b; DROP TABLE x")"));
  EXPECT_EQ(rows.read<int>(0, "SCORE").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(PostgresValuesTest, TwoColumnsOfOneNameAreAmbiguousByName) {
  PostgresConnection db = connect();
  PostgresResult rows = must(db.query("SELECT 1 AS id, 2 AS other, 3 AS id"));
  EXPECT_EQ(rows.column_index("id").status(),
            absl::InvalidArgumentError(
                R"(find column "id": columns 0 and 2 both have that name; name them apart with AS)"));
  EXPECT_EQ(rows.read<int>(0, "id").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(rows.read<int>(0, 2).value(), 3);
}

TEST_F(PostgresValuesTest, ManyColumnsAreListedShortInNotFound) {
  PostgresConnection db = connect();
  PostgresResult rows =
      must(db.query("SELECT 1 AS c0, 1 AS c1, 1 AS c2, 1 AS c3, 1 AS c4, 1 AS c5, 1 AS c6, "
                    "1 AS c7, 1 AS c8, 1 AS c9"));
  EXPECT_EQ(rows.column_index("c10").status(),
            absl::NotFoundError(R"(find column "c10": not among the result's 10 columns "c0", )"
                                R"("c1", "c2", "c3", "c4", "c5", "c6", "c7", ...)"));
}

TEST_F(PostgresValuesTest, ColumnTypesAreNamedAsTheServerNamesThem) {
  PostgresConnection db = connect();
  ASSERT_TRUE(db.execute("CREATE TYPE mood AS ENUM ('sad', 'ok')").ok());
  PostgresResult rows = must(db.query(
      "SELECT true, 1::int2, 1::int4, 1::int8, 1::float4, 1::float8, 1::numeric, 'x'::text, "
      "'x'::varchar, 'x'::char, ''::bytea, now(), now()::timestamp, current_date, "
      "'00000000-0000-0000-0000-000000000000'::uuid, '{}'::json, '{}'::jsonb, ARRAY[1], "
      "ARRAY['a'], '1 day'::interval, 'ok'::mood"));
  const std::vector<std::string> expected = {
      "bool",      "int2",  "int4", "int8",        "float4", "float8", "numeric",
      "text",      "varchar", "bpchar", "bytea",   "timestamptz", "timestamp", "date",
      "uuid",      "json",  "jsonb", "_int4",      "_text",  "interval"};
  ASSERT_EQ(rows.columns(), static_cast<int>(expected.size()) + 1);
  for (int column = 0; column < static_cast<int>(expected.size()); ++column) {
    EXPECT_EQ(rows.column_type(column), expected[column]) << column;
  }
  // A type of the database's own: its OID, as pg_type has it.
  PostgresResult mood = must(db.query("SELECT 'mood'::regtype::oid::int8"));
  EXPECT_EQ(rows.column_type(20), absl::StrCat("oid ", mood.read<int64_t>(0, 0).value()));
}

TEST_F(PostgresValuesTest, EveryBuiltInTypeNameMatchesTheServersCatalog) {
  PostgresConnection db = connect();
  PostgresResult catalog = must(db.query("SELECT oid::int8, typname::text FROM pg_type"));
  std::map<int64_t, std::string> server;
  for (int row = 0; row < catalog.rows(); ++row) {
    server[catalog.read<int64_t>(row, 0).value()] = catalog.read<std::string>(row, 1).value();
  }
  int named = 0;
  for (unsigned oid = 0; oid < 20000; ++oid) {
    const char* name = postgres_internal::builtin_type_name(oid);
    if (name == nullptr) continue;
    ++named;
    ASSERT_EQ(server.count(oid), 1u) << oid << " " << name;
    EXPECT_EQ(server[oid], name) << oid;
  }
  EXPECT_GT(named, 100);
}

TEST_F(PostgresValuesTest, ReturningRowsReadLikeAnyQuery) {
  PostgresConnection db = connect();
  ASSERT_TRUE(db.execute("CREATE TABLE people (id bigserial PRIMARY KEY, name text)").ok());
  PostgresResult made = must(db.query(
      "INSERT INTO people (name) VALUES ($1), ($2) RETURNING id, name", "ann", "bob"));
  EXPECT_EQ(made.affected(), 2);
  ASSERT_EQ(made.rows(), 2);
  EXPECT_EQ(made.column_name(0), "id");
  EXPECT_EQ(made.column_type(0), "int8");
  const int64_t ann = made.read<int64_t>(0, "id").value();
  EXPECT_EQ(made.read<int64_t>(1, "id").value(), ann + 1);
  EXPECT_EQ(made.read<std::string>(1, "name").value(), "bob");
  PostgresResult changed = must(db.query("UPDATE people SET name = upper(name) RETURNING name"));
  EXPECT_EQ(changed.affected(), 2);
  EXPECT_EQ(changed.read<std::string>(0, 0).value(), "ANN");
  PostgresResult removed = must(db.query("DELETE FROM people WHERE id = $1", ann));
  EXPECT_EQ(removed.affected(), 1);
  EXPECT_EQ(removed.rows(), 0);
}

// --- Errors as fields ------------------------------------------------------------------

TEST_F(PostgresValuesTest, AUniqueViolationCarriesItsSqlstateOnEveryPath) {
  PostgresConnection db = connect();
  ASSERT_TRUE(db.execute("CREATE TABLE handles (name text PRIMARY KEY)").ok());
  ASSERT_TRUE(db.execute("INSERT INTO handles VALUES ('ann')").ok());
  absl::StatusOr<PostgresStatement> insert = db.prepare("INSERT INTO handles VALUES ($1)");
  ASSERT_TRUE(insert.ok()) << insert.status();
  for (const absl::Status& status :
       {db.execute("INSERT INTO handles VALUES ('ann')"),
        db.execute("INSERT INTO handles VALUES ($1)", "ann"),
        db.query("INSERT INTO handles VALUES ($1) RETURNING name", "ann").status(),
        insert->execute("ann").status()}) {
    EXPECT_TRUE(is_unique_violation(status)) << status;
    EXPECT_FALSE(is_foreign_key_violation(status));
    EXPECT_FALSE(is_serialization_failure(status));
    EXPECT_FALSE(is_deadlock(status));
    EXPECT_EQ(sql_error(status), (SqlError{.sqlstate = "23505", .sqlite_code = 0}));
    EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_THAT(status.message(), HasSubstr(where()));
    EXPECT_THAT(status.message(), HasSubstr("handles_pkey"));
    EXPECT_THAT(status.message(), HasSubstr("[23505]"));
    expect_no_password(status);
  }
}

TEST_F(PostgresValuesTest, AForeignKeyViolationCarriesItsSqlstate) {
  PostgresConnection db = connect();
  ASSERT_TRUE(db.execute("CREATE TABLE teams (id int PRIMARY KEY); "
                         "CREATE TABLE members (team int REFERENCES teams (id))")
                  .ok());
  const absl::Status status = db.execute("INSERT INTO members VALUES ($1)", 42);
  EXPECT_TRUE(is_foreign_key_violation(status)) << status;
  EXPECT_FALSE(is_unique_violation(status));
  EXPECT_EQ(sql_error(status), (SqlError{.sqlstate = "23503", .sqlite_code = 0}));
  EXPECT_THAT(status.message(), HasSubstr("members_team_fkey"));
  expect_no_password(status);
}

TEST_F(PostgresValuesTest, ASerializationFailureCarriesItsSqlstate) {
  PostgresConnection first = connect();
  PostgresConnection second = connect();
  ASSERT_TRUE(first.execute("CREATE TABLE counters (id int PRIMARY KEY, n int); "
                            "INSERT INTO counters VALUES (1, 0)")
                  .ok());
  ASSERT_TRUE(
      first.execute("SET default_transaction_isolation = 'serializable'").ok());
  absl::StatusOr<PostgresTransaction> transaction = first.begin();
  ASSERT_TRUE(transaction.ok()) << transaction.status();
  // The snapshot is taken here...
  ASSERT_TRUE(first.query("SELECT n FROM counters WHERE id = 1").ok());
  // ... another session changes the row and commits ...
  ASSERT_TRUE(second.execute("UPDATE counters SET n = n + 1 WHERE id = 1").ok());
  // ... so this transaction cannot update what it saw.
  const absl::Status status = first.execute("UPDATE counters SET n = n + 1 WHERE id = $1", 1);
  EXPECT_TRUE(is_serialization_failure(status)) << status;
  EXPECT_FALSE(is_deadlock(status));
  EXPECT_EQ(sql_error(status), (SqlError{.sqlstate = "40001", .sqlite_code = 0}));
  EXPECT_EQ(status.code(), absl::StatusCode::kAborted);
  expect_no_password(status);
}

TEST_F(PostgresValuesTest, ADeadlockCarriesItsSqlstate) {
  PostgresConfig config = server().config();
  config.query_timeout = absl::Seconds(30);  // a bound, should the server not break it
  PostgresConnection first = *PostgresConnection::open(config);
  PostgresConnection second = *PostgresConnection::open(config);
  ASSERT_TRUE(first.execute("CREATE TABLE accounts (id int PRIMARY KEY, n int); "
                            "INSERT INTO accounts VALUES (1, 0), (2, 0)")
                  .ok());
  std::optional<PostgresTransaction> transactions[2];
  for (int i = 0; i < 2; ++i) {
    PostgresConnection& db = i == 0 ? first : second;
    ASSERT_TRUE(db.execute("SET deadlock_timeout = '100ms'").ok());
    transactions[i].emplace(*db.begin());
  }
  ASSERT_TRUE(first.execute("UPDATE accounts SET n = 1 WHERE id = 1").ok());
  ASSERT_TRUE(second.execute("UPDATE accounts SET n = 2 WHERE id = 2").ok());
  // The first waits for row 2 (the second's) on a thread of its own...
  const std::string waits = "UPDATE accounts SET n = 1 WHERE id = 2";
  absl::Status first_status;
  std::thread waiter([&] { first_status = first.execute(waits); });
  PostgresServer::wait_until_running(config, waits);
  // ... and the second for row 1 (the first's): a cycle the server breaks
  // by failing one of the two.
  const absl::Status second_status = second.execute("UPDATE accounts SET n = 2 WHERE id = 1");
  waiter.join();
  EXPECT_NE(first_status.ok(), second_status.ok()) << first_status << " / " << second_status;
  const absl::Status& failed = first_status.ok() ? second_status : first_status;
  EXPECT_TRUE(is_deadlock(failed)) << failed;
  EXPECT_FALSE(is_serialization_failure(failed));
  EXPECT_EQ(sql_error(failed), (SqlError{.sqlstate = "40P01", .sqlite_code = 0}));
  EXPECT_EQ(failed.code(), absl::StatusCode::kAborted);
  EXPECT_THAT(failed.message(), HasSubstr("deadlock detected"));
  expect_no_password(failed);
  for (std::optional<PostgresTransaction>& transaction : transactions) {
    EXPECT_TRUE(transaction->rollback().ok());
  }
}

TEST_F(PostgresValuesTest, ErrorsTheLibraryMakesCarryNoSqlError) {
  PostgresConnection db = connect();
  const absl::Status nul = db.execute(absl::string_view("SELECT 1\0", 9));
  EXPECT_EQ(nul.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(sql_error(nul), std::nullopt);
  const absl::Status syntax = db.execute("SELEC 1");
  EXPECT_EQ(sql_error(syntax), (SqlError{.sqlstate = "42601", .sqlite_code = 0}));
  expect_no_password(syntax);
}

}  // namespace
}  // namespace uncopyable
