// Rows are data: the description (==, hashing, printing), and the generic
// mapping between rows and a database's columns and parameters, shown on an
// in-memory fake of both. The databases' own tests prove their sources and
// sinks (sqlite_test, postgres_test).
#include "uncopyable/rows.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "absl/hash/hash_testing.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace rows_test {

enum class Outcome { win, draw };
UNCOPYABLE_ENUM(Outcome, win, draw)

struct Match {
  UNCOPYABLE_ROW(Match, winner, loser, score)

  std::string winner{};
  std::string loser{};
  int64_t score = 0;
};

// A field of every type a row may hold, and an optional of each.
struct Everything {
  UNCOPYABLE_ROW(Everything, flag, small, big, ratio, text, bytes, outcome, maybe_flag,
                 maybe_small, maybe_big, maybe_ratio, maybe_text, maybe_bytes, maybe_outcome)

  bool flag = false;
  int small = 0;
  int64_t big = 0;
  double ratio = 0;
  std::string text{};
  std::vector<std::byte> bytes{};
  Outcome outcome = Outcome::win;
  std::optional<bool> maybe_flag{};
  std::optional<int> maybe_small{};
  std::optional<int64_t> maybe_big{};
  std::optional<double> maybe_ratio{};
  std::optional<std::string> maybe_text{};
  std::optional<std::vector<std::byte>> maybe_bytes{};
  std::optional<Outcome> maybe_outcome{};
};

// Described as a config, not as a row.
struct Settings {
  UNCOPYABLE_CONFIG(Settings, path)
  std::string path;
  absl::Status validate() const { return absl::OkStatus(); }
};

struct Plain {
  std::string winner;
};

}  // namespace rows_test

namespace {

using ::rows_test::Everything;
using ::rows_test::Match;
using ::rows_test::Outcome;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::Pair;
using uncopyable::DescribedRow;
using uncopyable::ParamStyle;
using uncopyable::RowField;
namespace internal = uncopyable::internal;

static_assert(DescribedRow<Match>);
static_assert(DescribedRow<Everything>);
static_assert(!DescribedRow<rows_test::Settings>);  // a config is not a row
static_assert(!DescribedRow<rows_test::Plain>);
static_assert(!DescribedRow<int>);
static_assert(std::regular<Match>);
static_assert(uncopyable::row_name<Match>() == "Match");
static_assert(internal::kRowFields<Everything> == 14);
static_assert(RowField<bool> && RowField<int> && RowField<int64_t> && RowField<double>);
static_assert(RowField<std::string> && RowField<std::vector<std::byte>> && RowField<Outcome>);
static_assert(RowField<std::optional<std::string>> && RowField<std::optional<Outcome>>);
static_assert(!RowField<float> && !RowField<std::vector<int>> && !RowField<uint64_t>);
static_assert(!RowField<std::optional<std::optional<int>>> && !RowField<Match>);
static_assert(internal::ParamName<boost::mp11::mp_at_c<internal::RowMembers<Match>, 2>>::view() ==
              ":score");

std::vector<std::byte> bytes_of(absl::string_view text) {
  std::vector<std::byte> out;
  for (char c : text) out.push_back(static_cast<std::byte>(c));
  return out;
}

// ---------------------------------------------------------------------------
// A fake query result: named columns, rows of SQLite-like values.

using Value = std::variant<std::monostate, int64_t, double, std::string, std::vector<std::byte>>;
const Value kNull{};

template <typename T>
constexpr const char* type_name() {
  if constexpr (std::is_same_v<T, bool>) return "bool";
  if constexpr (std::is_same_v<T, int>) return "int";
  if constexpr (std::is_same_v<T, int64_t>) return "int64_t";
  if constexpr (std::is_same_v<T, double>) return "double";
  if constexpr (std::is_same_v<T, std::string>) return "std::string";
  if constexpr (std::is_same_v<T, std::vector<std::byte>>) return "bytes";
  return "?";
}

const char* kind_of(const Value& value) {
  static constexpr const char* kKinds[] = {"NULL", "integer", "real", "text", "blob"};
  return kKinds[value.index()];
}

// The bare messages a source gives (see RowSource).
template <typename T>
absl::StatusOr<T> convert(const Value& value) {
  if constexpr (uncopyable::IsOptional<T>::value) {
    if (std::holds_alternative<std::monostate>(value)) return T(std::nullopt);
    absl::StatusOr<typename T::value_type> inner = convert<typename T::value_type>(value);
    if (!inner.ok()) return inner.status();
    return T(*std::move(inner));
  } else {
    if (std::holds_alternative<std::monostate>(value)) {
      return absl::FailedPreconditionError(
          absl::StrCat("NULL into a non-optional ", type_name<T>()));
    }
    [[maybe_unused]] const int64_t* integer = std::get_if<int64_t>(&value);
    if constexpr (std::is_same_v<T, int64_t>) {
      if (integer != nullptr) return *integer;
    } else if constexpr (std::is_same_v<T, int>) {
      if (integer != nullptr) {
        if (*integer < INT32_MIN || *integer > INT32_MAX) {
          return absl::InvalidArgumentError(absl::StrCat(*integer, " is out of range for int"));
        }
        return static_cast<int>(*integer);
      }
    } else if constexpr (std::is_same_v<T, bool>) {
      if (integer != nullptr && (*integer == 0 || *integer == 1)) return *integer == 1;
    } else if constexpr (std::is_same_v<T, double>) {
      if (const double* real = std::get_if<double>(&value)) return *real;
    } else if constexpr (std::is_same_v<T, std::string>) {
      if (const std::string* text = std::get_if<std::string>(&value)) return *text;
    } else if constexpr (std::is_same_v<T, std::vector<std::byte>>) {
      if (const auto* blob = std::get_if<std::vector<std::byte>>(&value)) return *blob;
    }
    absl::Status status = absl::InvalidArgumentError(
        absl::StrCat(kind_of(value), " into ", type_name<T>()));
    status.SetPayload("test/value", absl::Cord(kind_of(value)));
    return status;
  }
}

class FakeRows {
 public:
  FakeRows(std::vector<std::string> columns, std::vector<std::vector<Value>> rows)
      : columns_(std::move(columns)), rows_(std::move(rows)) {}

  int column_count() const { return static_cast<int>(columns_.size()); }
  const std::string& column_name(int column) const {
    ++name_lookups;
    return columns_.at(column);
  }
  template <typename T>
  absl::StatusOr<T> read(int column) const {
    ++reads;
    return convert<T>(rows_.at(current_).at(column));
  }
  std::string resource() const { return "fake \"db\""; }

  absl::StatusOr<bool> next() {
    if (current_ + 1 == fail_before_row) {
      return absl::UnavailableError("step fake \"db\": the disk went away");
    }
    ++current_;
    return current_ < rows_.size();
  }

  // A source positioned at its first row, for read_row().
  static FakeRows at_first(std::vector<std::string> columns, std::vector<Value> row) {
    FakeRows rows(std::move(columns), {std::move(row)});
    EXPECT_TRUE(*rows.next());
    return rows;
  }

  mutable int name_lookups = 0;
  mutable int reads = 0;
  size_t fail_before_row = static_cast<size_t>(-1);  // next() fails instead of reaching it

 private:
  std::vector<std::string> columns_;
  std::vector<std::vector<Value>> rows_;
  size_t current_ = static_cast<size_t>(-1);
};

static_assert(uncopyable::RowSource<FakeRows>);
static_assert(uncopyable::RowCursor<FakeRows>);
static_assert(!uncopyable::RowCursor<const FakeRows>);

// ---------------------------------------------------------------------------
// Reading rows.

TEST(RowsTest, MapsColumnsToFieldsByNameInAnyOrder) {
  std::vector<std::string> columns = {"loser", "score", "winner"};
  std::sort(columns.begin(), columns.end());
  int orders = 0;
  do {
    std::vector<Value> values;
    for (const std::string& column : columns) {
      if (column == "winner") values.emplace_back(std::string("ann"));
      if (column == "loser") values.emplace_back(std::string("bob"));
      if (column == "score") values.emplace_back(int64_t{3});
    }
    FakeRows source = FakeRows::at_first(columns, values);
    absl::StatusOr<Match> match = internal::read_row<Match>(source);
    ASSERT_TRUE(match.ok()) << match.status();
    EXPECT_EQ(*match, (Match{.winner = "ann", .loser = "bob", .score = 3}));
    ++orders;
  } while (std::next_permutation(columns.begin(), columns.end()));
  EXPECT_EQ(orders, 6);
}

TEST(RowsTest, MappingRemembersEachFieldsColumn) {
  FakeRows source = FakeRows::at_first({"score", "winner", "loser"}, {int64_t{1}, "a", "b"});
  absl::StatusOr<internal::RowMapping<Match>> mapping = internal::RowMapping<Match>::of(source);
  ASSERT_TRUE(mapping.ok()) << mapping.status();
  EXPECT_EQ(mapping->column_of(0), 1);  // winner
  EXPECT_EQ(mapping->column_of(1), 2);  // loser
  EXPECT_EQ(mapping->column_of(2), 0);  // score
}

TEST(RowsTest, AColumnWithNoFieldIsRefusedNamingItAndTheFields) {
  FakeRows source =
      FakeRows::at_first({"winner", "loser", "when", "score"}, {"a", "b", "today", int64_t{1}});
  absl::StatusOr<Match> match = internal::read_row<Match>(source);
  EXPECT_EQ(match.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(match.status().message(),
            "read fake \"db\": row Match: column \"when\" has no field; fields are winner, "
            "loser, score");
}

TEST(RowsTest, AFieldWithNoColumnIsRefusedNamingItAndTheColumns) {
  FakeRows source = FakeRows::at_first({"winner", "loser"}, {"a", "b"});
  absl::StatusOr<Match> match = internal::read_row<Match>(source);
  EXPECT_EQ(match.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(match.status().message(),
            "read fake \"db\": row Match: field \"score\" has no column; columns are "
            "\"winner\", \"loser\"");
}

TEST(RowsTest, ATypoNamesBothTheColumnAndTheFieldItMissed) {
  FakeRows source = FakeRows::at_first({"wnner", "loser", "score"}, {"a", "b", int64_t{1}});
  EXPECT_EQ(internal::read_row<Match>(source).status().message(),
            "read fake \"db\": row Match: column \"wnner\" has no field, field \"winner\" has no "
            "column; fields are winner, loser, score; columns are \"wnner\", \"loser\", "
            "\"score\"");
}

TEST(RowsTest, NamesAreComparedExactly) {
  FakeRows source = FakeRows::at_first({"winner", "loser", "Score"}, {"a", "b", int64_t{1}});
  EXPECT_THAT(internal::read_row<Match>(source).status().message(),
              HasSubstr("column \"Score\" has no field"));
}

TEST(RowsTest, TwoColumnsOfOneNameAreRefused) {
  FakeRows source = FakeRows::at_first({"winner", "loser", "score", "winner"},
                                       {"a", "b", int64_t{1}, "c"});
  absl::StatusOr<Match> match = internal::read_row<Match>(source);
  EXPECT_EQ(match.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(match.status().message(),
            "read fake \"db\": row Match: columns 0 and 3 are both named \"winner\"");
}

TEST(RowsTest, NoColumnsAtAllNamesEveryField) {
  FakeRows source = FakeRows::at_first({}, {});
  EXPECT_EQ(internal::read_row<Match>(source).status().message(),
            "read fake \"db\": row Match: field \"winner\" has no column, field \"loser\" has no "
            "column, field \"score\" has no column; columns are none");
}

TEST(RowsTest, HostileColumnNamesAreQuotedAndCutShort) {
  const std::string huge(5000, 'x');
  FakeRows source = FakeRows::at_first({"winner", "loser", "score", "a\"b\nc", huge},
                                       {"a", "b", int64_t{1}, kNull, kNull});
  const std::string message(internal::read_row<Match>(source).status().message());
  EXPECT_THAT(message, HasSubstr("column \"a\\\"b\\nc\" has no field"));
  EXPECT_THAT(message, HasSubstr("(5000 bytes)"));
  EXPECT_LT(message.size(), 400u);
}

TEST(RowsTest, AWideResultListsAFewProblemsAndCountsTheRest) {
  std::vector<std::string> columns = {"winner", "loser", "score"};
  for (int i = 0; i < 300; ++i) columns.push_back(absl::StrCat("c", i));
  FakeRows source(columns, {});
  ASSERT_FALSE(*source.next());
  const std::string message(internal::RowMapping<Match>::of(source).status().message());
  EXPECT_THAT(message, HasSubstr("column \"c7\" has no field and 292 more; fields are winner"));
  EXPECT_THAT(message, Not(HasSubstr("\"c8\"")));
  EXPECT_LT(message.size(), 400u);

  FakeRows missing(std::vector<std::string>(columns.begin() + 1, columns.end()), {});
  ASSERT_FALSE(*missing.next());
  EXPECT_THAT(internal::RowMapping<Match>::of(missing).status().message(),
              HasSubstr("columns are \"loser\", \"score\", \"c0\", \"c1\", \"c2\", \"c3\", "
                        "\"c4\", \"c5\", \"c6\", \"c7\", \"c8\", \"c9\", \"c10\", \"c11\", "
                        "\"c12\", \"c13\", ... (302 columns)"));
}

// A source whose column_name() makes a new string each time.
struct Renamed {
  const FakeRows& rows;
  int column_count() const { return rows.column_count(); }
  std::string column_name(int i) const { return i == 2 ? "score" : rows.column_name(i); }
  template <typename T>
  absl::StatusOr<T> read(int i) const {
    return rows.read<T>(i);
  }
  std::string resource() const { return rows.resource(); }
};

TEST(RowsTest, NullIntoANonOptionalFieldNamesTheFieldAndTheColumn) {
  FakeRows source = FakeRows::at_first({"winner", "loser", "points"}, {"a", "b", kNull});
  absl::StatusOr<Match> match = internal::read_row<Match>(Renamed{source});
  EXPECT_EQ(match.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(match.status().message(),
            "read fake \"db\": row Match, field score, column \"score\": NULL into a "
            "non-optional int64_t");
}

TEST(RowsTest, AValueOfAnotherTypeNamesTheFieldTheColumnAndBothTypes) {
  FakeRows source = FakeRows::at_first({"winner", "loser", "score"}, {"a", "b", "three"});
  absl::StatusOr<Match> match = internal::read_row<Match>(source);
  EXPECT_EQ(match.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(match.status().message(),
            "read fake \"db\": row Match, field score, column \"score\": text into int64_t");
  // What the source attached (a database's error code) stays.
  EXPECT_EQ(match.status().GetPayload("test/value"), absl::Cord("text"));
}

std::vector<std::string> everything_columns() {
  return {"flag",        "small",       "big",         "ratio",      "text",
          "bytes",       "outcome",     "maybe_flag",  "maybe_small", "maybe_big",
          "maybe_ratio", "maybe_text",  "maybe_bytes", "maybe_outcome"};
}

TEST(RowsTest, EveryFieldTypeReads) {
  const std::vector<std::byte> blob = bytes_of(std::string("\0\xff\n", 3));
  FakeRows source = FakeRows::at_first(
      everything_columns(),
      {int64_t{1}, int64_t{-7}, int64_t{1} << 40, 2.5, "t\0x", blob, "draw", int64_t{0},
       int64_t{8}, -(int64_t{1} << 50), -0.25, std::string("m\0", 2), blob, "win"});
  absl::StatusOr<Everything> row = internal::read_row<Everything>(source);
  ASSERT_TRUE(row.ok()) << row.status();
  EXPECT_EQ(*row, (Everything{.flag = true,
                              .small = -7,
                              .big = int64_t{1} << 40,
                              .ratio = 2.5,
                              .text = "t",  // the literal stops at its NUL
                              .bytes = blob,
                              .outcome = Outcome::draw,
                              .maybe_flag = false,
                              .maybe_small = 8,
                              .maybe_big = -(int64_t{1} << 50),
                              .maybe_ratio = -0.25,
                              .maybe_text = std::string("m\0", 2),
                              .maybe_bytes = blob,
                              .maybe_outcome = Outcome::win}));
}

TEST(RowsTest, NullIntoEveryOptionalFieldIsNullopt) {
  FakeRows source = FakeRows::at_first(
      everything_columns(), {int64_t{0}, int64_t{0}, int64_t{0}, 0.0, "", std::vector<std::byte>{},
                             "win", kNull, kNull, kNull, kNull, kNull, kNull, kNull});
  absl::StatusOr<Everything> row = internal::read_row<Everything>(source);
  ASSERT_TRUE(row.ok()) << row.status();
  EXPECT_EQ(*row, Everything{});
  EXPECT_FALSE(row->maybe_text.has_value());
  EXPECT_FALSE(row->maybe_outcome.has_value());
}

TEST(RowsTest, NullIntoEachNonOptionalFieldIsRefusedNamingIt) {
  const std::vector<Value> good = {int64_t{0}, int64_t{0}, int64_t{0}, 0.0, "",
                                   std::vector<std::byte>{}, "win"};
  const char* const kTypes[] = {"bool", "int", "int64_t", "double", "std::string", "bytes",
                                "std::string"};
  for (size_t i = 0; i < good.size(); ++i) {
    std::vector<Value> values = good;
    values[i] = kNull;
    values.resize(14, kNull);
    FakeRows source = FakeRows::at_first(everything_columns(), values);
    absl::StatusOr<Everything> row = internal::read_row<Everything>(source);
    const std::string name = everything_columns()[i];
    EXPECT_EQ(row.status().code(), absl::StatusCode::kFailedPrecondition) << name;
    EXPECT_EQ(row.status().message(),
              absl::StrCat("read fake \"db\": row Everything, field ", name, ", column \"", name,
                           "\": NULL into a non-optional ", kTypes[i]));
  }
}

TEST(RowsTest, AnEnumReadsByNameAndAnUnknownNameIsRefused) {
  std::vector<Value> values = {int64_t{0}, int64_t{0}, int64_t{0}, 0.0, "",
                               std::vector<std::byte>{}, "tie"};
  values.resize(14, kNull);
  FakeRows source = FakeRows::at_first(everything_columns(), values);
  absl::StatusOr<Everything> row = internal::read_row<Everything>(source);
  EXPECT_EQ(row.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(row.status().message(),
            "read fake \"db\": row Everything, field outcome, column \"outcome\": \"tie\" is "
            "not one of win, draw");

  values[6] = "win";
  values[13] = "Win";  // names are exact
  FakeRows optional = FakeRows::at_first(everything_columns(), values);
  EXPECT_THAT(internal::read_row<Everything>(optional).status().message(),
              HasSubstr("field maybe_outcome, column \"maybe_outcome\": \"Win\" is not one of"));
}

TEST(RowsTest, AnIntOutOfRangeIsRefused) {
  std::vector<Value> values = {int64_t{0}, int64_t{1} << 40};
  values.resize(14, kNull);
  FakeRows source = FakeRows::at_first(everything_columns(), values);
  EXPECT_THAT(internal::read_row<Everything>(source).status().message(),
              HasSubstr("field small, column \"small\": 1099511627776 is out of range for int"));
}

// ---------------------------------------------------------------------------
// The query forms, over the fake as a cursor.

std::vector<std::vector<Value>> numbered_matches(int count) {
  std::vector<std::vector<Value>> rows;
  for (int i = 0; i < count; ++i) {
    rows.push_back({int64_t{i}, absl::StrCat("w", i), absl::StrCat("l", i)});
  }
  return rows;
}

TEST(RowsTest, QueryReadsEveryRowInOrder) {
  FakeRows cursor({"score", "winner", "loser"}, numbered_matches(3));
  absl::StatusOr<std::vector<Match>> rows = internal::query_rows<Match>(cursor);
  ASSERT_TRUE(rows.ok()) << rows.status();
  EXPECT_THAT(*rows, ElementsAre(Match{"w0", "l0", 0}, Match{"w1", "l1", 1},
                                 Match{"w2", "l2", 2}));
}

TEST(RowsTest, QueryLooksTheNamesUpOncePerQueryNotPerRow) {
  FakeRows cursor({"score", "winner", "loser"}, numbered_matches(1000));
  absl::StatusOr<std::vector<Match>> rows = internal::query_rows<Match>(cursor);
  ASSERT_TRUE(rows.ok()) << rows.status();
  EXPECT_EQ(rows->size(), 1000u);
  EXPECT_EQ(cursor.name_lookups, 3);  // one per column, for the mapping
  EXPECT_EQ(cursor.reads, 3000);      // one per field and row
}

TEST(RowsTest, QueryChecksTheColumnsEvenWithNoRow) {
  FakeRows cursor({"winner", "loser"}, {});
  absl::StatusOr<std::vector<Match>> rows = internal::query_rows<Match>(cursor);
  EXPECT_EQ(rows.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(rows.status().message(),
            "query fake \"db\": row Match: field \"score\" has no column; columns are "
            "\"winner\", \"loser\"");
  FakeRows empty({"winner", "loser", "score"}, {});
  absl::StatusOr<std::vector<Match>> none = internal::query_rows<Match>(empty);
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_TRUE(none->empty());
}

TEST(RowsTest, QueryStopsAtABadRowNamingIt) {
  std::vector<std::vector<Value>> values = numbered_matches(10);
  values[6][0] = kNull;
  FakeRows cursor({"score", "winner", "loser"}, values);
  absl::StatusOr<std::vector<Match>> rows = internal::query_rows<Match>(cursor);
  EXPECT_EQ(rows.status().message(),
            "query fake \"db\": row Match, field score, column \"score\": NULL into a "
            "non-optional int64_t");
  EXPECT_EQ(cursor.reads, 6 * 3 + 3);  // the bad value was its row's last field read
}

TEST(RowsTest, TheCursorsOwnErrorIsReturnedAsItIs) {
  FakeRows first({"score", "winner", "loser"}, numbered_matches(5));
  first.fail_before_row = 0;
  EXPECT_EQ(internal::query_rows<Match>(first).status(),
            absl::UnavailableError("step fake \"db\": the disk went away"));
  FakeRows later({"score", "winner", "loser"}, numbered_matches(5));
  later.fail_before_row = 3;
  EXPECT_EQ(internal::query_rows<Match>(later).status(),
            absl::UnavailableError("step fake \"db\": the disk went away"));
}

TEST(RowsTest, QueryOneWantsExactlyOneRow) {
  FakeRows one({"score", "winner", "loser"}, numbered_matches(1));
  absl::StatusOr<Match> match = internal::query_one_row<Match>(one);
  ASSERT_TRUE(match.ok()) << match.status();
  EXPECT_EQ(*match, (Match{"w0", "l0", 0}));

  FakeRows none({"score", "winner", "loser"}, {});
  EXPECT_EQ(internal::query_one_row<Match>(none).status(),
            absl::NotFoundError("query_one fake \"db\": no row, where exactly one was expected"));

  FakeRows two({"score", "winner", "loser"}, numbered_matches(2));
  EXPECT_EQ(internal::query_one_row<Match>(two).status(),
            absl::FailedPreconditionError(
                "query_one fake \"db\": more than one row, where exactly one was expected"));
  EXPECT_EQ(two.reads, 3);  // the second row was stepped to, not read

  FakeRows wrong({"score", "winner"}, {});  // the shape is checked before the count
  EXPECT_THAT(internal::query_one_row<Match>(wrong).status().message(),
              HasSubstr("query_one fake \"db\": row Match: field \"loser\" has no column"));
}

TEST(RowsTest, QueryValueWantsOneColumnOfOneRow) {
  FakeRows count({"count(*)"}, {{int64_t{42}}});
  EXPECT_EQ(internal::query_one_value<int64_t>(count), absl::StatusOr<int64_t>(42));

  FakeRows outcome({"outcome"}, {{"draw"}});
  EXPECT_EQ(internal::query_one_value<Outcome>(outcome), absl::StatusOr<Outcome>(Outcome::draw));

  FakeRows null({"n"}, {{kNull}});
  EXPECT_EQ(internal::query_one_value<std::optional<double>>(null),
            absl::StatusOr<std::optional<double>>(std::nullopt));
  FakeRows null_again({"n"}, {{kNull}});
  EXPECT_EQ(internal::query_one_value<double>(null_again).status(),
            absl::FailedPreconditionError(
                "query_value fake \"db\": column \"n\": NULL into a non-optional double"));

  FakeRows wide({"a", "b"}, {{int64_t{1}, int64_t{2}}});
  EXPECT_EQ(internal::query_one_value<int64_t>(wide).status(),
            absl::InvalidArgumentError(
                "query_value fake \"db\": 2 columns (\"a\", \"b\"), where one was expected"));

  FakeRows none({"n"}, {});
  EXPECT_EQ(internal::query_one_value<int64_t>(none).status().code(),
            absl::StatusCode::kNotFound);
  FakeRows two({"n"}, {{int64_t{1}}, {int64_t{2}}});
  EXPECT_EQ(internal::query_one_value<int64_t>(two).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(RowsTest, ForEachStreamsEachRowAndStopsAtTheCallbacksError) {
  FakeRows cursor({"score", "winner", "loser"}, numbered_matches(100));
  std::vector<int64_t> seen;
  const Match* where = nullptr;
  absl::Status status = internal::for_each_row<Match>(cursor, [&](const Match& match) {
    if (where == nullptr) where = &match;
    EXPECT_EQ(where, &match);  // one row, reused
    seen.push_back(match.score);
    if (match.score == 41) return absl::CancelledError("enough");
    return absl::OkStatus();
  });
  EXPECT_EQ(status, absl::CancelledError("enough"));  // as the callback said it
  EXPECT_EQ(seen.size(), 42u);
  EXPECT_EQ(seen.back(), 41);

  FakeRows all({"score", "winner", "loser"}, numbered_matches(7));
  int count = 0;
  EXPECT_TRUE(internal::for_each_row<Match>(all, [&](const Match&) {
                ++count;
                return absl::OkStatus();
              }).ok());
  EXPECT_EQ(count, 7);
}

// ---------------------------------------------------------------------------
// Rows as parameters.

template <ParamStyle Style, bool kCounted = false>
struct FakeSink {
  static constexpr ParamStyle kParamStyle = Style;
  std::string resource() const { return "fake \"db\""; }
  int parameter_count() const
    requires kCounted
  {
    return parameters;
  }

  template <typename Key, typename V>
  absl::Status bind(Key key, V value) {
    const std::string name = absl::StrCat(key);
    if (name == refuse) {
      absl::Status status = absl::InvalidArgumentError("no such parameter");
      status.SetPayload("test/bind", absl::Cord(name));
      return status;
    }
    std::string text;
    if constexpr (std::is_same_v<V, bool>) {
      text = absl::StrCat("bool ", value ? "true" : "false");
    } else if constexpr (std::is_same_v<V, int>) {
      text = absl::StrCat("int ", value);
    } else if constexpr (std::is_same_v<V, int64_t>) {
      text = absl::StrCat("int64 ", value);
    } else if constexpr (std::is_same_v<V, double>) {
      text = absl::StrCat("double ", value);
    } else if constexpr (std::is_same_v<V, absl::string_view>) {
      text = absl::StrCat("text ", value);
    } else if constexpr (std::is_same_v<V, absl::Span<const std::byte>>) {
      text = absl::StrCat("blob ", value.size());
    } else if constexpr (std::is_same_v<V, std::nullptr_t>) {
      text = "null";
    } else {
      static_assert(sizeof(V) == 0, "bind_row passed a value a sink need not take");
    }
    bound.emplace_back(name, text);
    return absl::OkStatus();
  }

  std::string refuse;
  int parameters = 0;
  std::vector<std::pair<std::string, std::string>> bound;
};

static_assert(uncopyable::ParamSink<FakeSink<ParamStyle::by_name>>);
static_assert(!uncopyable::ParamSink<FakeRows>);

TEST(RowsTest, BindsFieldsByName) {
  FakeSink<ParamStyle::by_name> sink;
  ASSERT_TRUE(internal::bind_row(sink, Match{"ann", "bob", 3}).ok());
  EXPECT_THAT(sink.bound, ElementsAre(Pair(":winner", "text ann"), Pair(":loser", "text bob"),
                                      Pair(":score", "int64 3")));
}

TEST(RowsTest, BindsFieldsInOrderByPosition) {
  FakeSink<ParamStyle::by_position> sink;
  ASSERT_TRUE(internal::bind_row(sink, Match{"ann", "bob", 3}).ok());
  EXPECT_THAT(sink.bound,
              ElementsAre(Pair("1", "text ann"), Pair("2", "text bob"), Pair("3", "int64 3")));
}

TEST(RowsTest, BindsEveryFieldTypeAndNullForAnEmptyOptional) {
  FakeSink<ParamStyle::by_position> sink;
  Everything row{.flag = true, .small = -2, .big = 5, .ratio = 0.5, .text = "t",
                 .bytes = bytes_of("abc"), .outcome = Outcome::draw};
  ASSERT_TRUE(internal::bind_row(sink, row).ok());
  EXPECT_THAT(sink.bound,
              ElementsAre(Pair("1", "bool true"), Pair("2", "int -2"), Pair("3", "int64 5"),
                          Pair("4", "double 0.5"), Pair("5", "text t"), Pair("6", "blob 3"),
                          Pair("7", "text draw"), Pair("8", "null"), Pair("9", "null"),
                          Pair("10", "null"), Pair("11", "null"), Pair("12", "null"),
                          Pair("13", "null"), Pair("14", "null")));

  row.maybe_flag = false;
  row.maybe_small = 1;
  row.maybe_big = 2;
  row.maybe_ratio = 3;
  row.maybe_text = "";
  row.maybe_bytes = std::vector<std::byte>{};
  row.maybe_outcome = Outcome::win;
  FakeSink<ParamStyle::by_name> named;
  ASSERT_TRUE(internal::bind_row(named, row).ok());
  EXPECT_THAT(std::vector(named.bound.begin() + 7, named.bound.end()),
              ElementsAre(Pair(":maybe_flag", "bool false"), Pair(":maybe_small", "int 1"),
                          Pair(":maybe_big", "int64 2"), Pair(":maybe_ratio", "double 3"),
                          Pair(":maybe_text", "text "), Pair(":maybe_bytes", "blob 0"),
                          Pair(":maybe_outcome", "text win")));
}

TEST(RowsTest, ABindErrorNamesTheFieldAndTheParameter) {
  FakeSink<ParamStyle::by_name> named;
  named.refuse = ":loser";
  absl::Status status = internal::bind_row(named, Match{"ann", "bob", 3});
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(),
            "bind fake \"db\": row Match, field loser as parameter :loser: no such parameter");
  EXPECT_EQ(status.GetPayload("test/bind"), absl::Cord(":loser"));
  EXPECT_EQ(named.bound.size(), 1u);  // it stopped there

  FakeSink<ParamStyle::by_position> positional;
  positional.refuse = "3";
  EXPECT_EQ(internal::bind_row(positional, Match{"ann", "bob", 3}).message(),
            "bind fake \"db\": row Match, field score as parameter 3: no such parameter");
}

TEST(RowsTest, AnEnumValueWithNoNameIsNotBound) {
  FakeSink<ParamStyle::by_name> sink;
  Everything row;
  row.outcome = static_cast<Outcome>(7);
  EXPECT_EQ(internal::bind_row(sink, row).message(),
            "bind fake \"db\": row Everything, field outcome as parameter :outcome: (7) is not "
            "one of win, draw");
}

TEST(RowsTest, ASinkThatCountsItsParametersRefusesARowThatDoesNotCoverThem) {
  FakeSink<ParamStyle::by_position, true> positional;
  positional.parameters = 4;
  absl::Status status = internal::bind_row(positional, Match{"ann", "bob", 3});
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(),
            "bind fake \"db\": row Match has 3 fields (winner, loser, score), the statement 4 "
            "parameters, bound in field order");
  EXPECT_TRUE(positional.bound.empty());  // refused before anything was bound
  positional.parameters = 2;
  EXPECT_FALSE(internal::bind_row(positional, Match{"ann", "bob", 3}).ok());
  positional.parameters = 3;
  EXPECT_TRUE(internal::bind_row(positional, Match{"ann", "bob", 3}).ok());

  FakeSink<ParamStyle::by_name, true> named;
  named.parameters = 4;
  EXPECT_EQ(internal::bind_row(named, Match{"ann", "bob", 3}).message(),
            "bind fake \"db\": row Match has 3 fields (winner, loser, score), the statement 4 "
            "parameters, some of which no field names");
  named.parameters = 3;
  EXPECT_TRUE(internal::bind_row(named, Match{"ann", "bob", 3}).ok());
}

// ---------------------------------------------------------------------------
// A row is a value, as a config is.

TEST(RowsTest, ARowIsARegularValueTypeThatHashesAndPrints) {
  const Match a{"ann", "bob", 3};
  Match b = a;
  EXPECT_EQ(a, b);
  b.score = 4;
  EXPECT_NE(a, b);
  EXPECT_TRUE(absl::VerifyTypeImplementsAbslHashCorrectly(
      {Match{}, a, b, Match{"bob", "ann", 3}, Match{"", "annbob", 3}}));
  EXPECT_EQ(uncopyable::to_string(a), "Match{winner=\"ann\", loser=\"bob\", score=3}");
  EXPECT_EQ(::testing::PrintToString(a), "Match{winner=\"ann\", loser=\"bob\", score=3}");

  Everything row{.text = "q\"", .bytes = bytes_of(std::string("\0\xff", 2)),
                 .maybe_bytes = bytes_of("a")};
  EXPECT_EQ(uncopyable::to_string(row),
            "Everything{flag=false, small=0, big=0, ratio=0, text=\"q\\\"\", bytes=b\"\\x00\\xff\", "
            "outcome=win, maybe_flag=none, maybe_small=none, maybe_big=none, maybe_ratio=none, "
            "maybe_text=none, maybe_bytes=b\"a\", maybe_outcome=none}");
  Everything other = row;
  EXPECT_EQ(row, other);
  other.maybe_bytes->push_back(std::byte{0});
  EXPECT_NE(row, other);
  EXPECT_TRUE(absl::VerifyTypeImplementsAbslHashCorrectly({Everything{}, row, other}));
}

}  // namespace
