// uncopyable/rows.h: rows are data, described once.
//
// A row is a plain struct described like a config (config.h), with
// UNCOPYABLE_ROW first thing in its body. It then has ==, hashing and
// printing, member by member, as a config has, and the databases read query
// results into it and bind it as parameters, field by field, BY NAME:
//
//   namespace app {
//   enum class Outcome { win, draw };
//   UNCOPYABLE_ENUM(Outcome, win, draw)
//
//   struct Match {
//     UNCOPYABLE_ROW(Match, winner, loser, score, outcome, note)
//
//     std::string winner;
//     std::string loser;
//     int64_t score = 0;
//     Outcome outcome = Outcome::win;    // a column holding its name: 'win'
//     std::optional<std::string> note;   // NULL is std::nullopt
//   };
//   }  // namespace app
//
//   app::Match m{.winner = "ann", .loser = "bob", .score = 3};
//   std::cout << m;  // Match{winner="ann", loser="bob", score=3, outcome=win, note=none}
//
// What a field may be (RowField): bool, int, int64_t, double, std::string,
// std::vector<std::byte> (a BLOB / bytea), an enum described with
// UNCOPYABLE_ENUM (a text column holding the enumerator's name), or
// std::optional of any of these (NULL is std::nullopt; NULL into a field
// that is not optional is an error, never a quiet 0 or ""). A field of
// another type fails to compile where the row is first read or bound.
//
// ---------------------------------------------------------------------------
// The connections' API built on this (SqliteConnection and
// PostgresConnection alike, same names, same shapes; being wired in):
//
//   // Every row, read into Ts: columns to fields by name.
//   template <DescribedRow T, typename... Params>
//   absl::StatusOr<std::vector<T>> query(absl::string_view sql, const Params&... params);
//
//   // Exactly one row (as libpqxx's query1): none is NotFound, more than
//   // one is FailedPrecondition.
//   template <DescribedRow T, typename... Params>
//   absl::StatusOr<T> query_one(absl::string_view sql, const Params&... params);
//
//   // One row of one column: "SELECT count(*) FROM matches".
//   template <RowField T, typename... Params>
//   absl::StatusOr<T> query_value(absl::string_view sql, const Params&... params);
//
//   // Each row in turn, without holding them all (SQLite steps; PostgreSQL
//   // reads in single-row mode). fn(const T&) returns absl::Status; the first
//   // non-OK one stops the query and is returned as it is. The row lives
//   // until fn returns: copy it to keep it.
//   template <DescribedRow T, typename... ParamsThenFn>
//   absl::Status for_each(absl::string_view sql, ParamsThenFn&&... params_then_fn);
//
// `params` are values bound in order (1, 2, ... / $1, $2, ...), or one
// described row, whose fields are bound by name on SQLite (field `score` to
// `:score`) and in field order on PostgreSQL (its first field is $1), which
// has no named parameters:
//
//   absl::StatusOr<std::vector<app::Match>> won =
//       db.query<app::Match>("SELECT * FROM matches WHERE winner = ?", "ann");
//   absl::Status added = db.execute(
//       "INSERT INTO matches VALUES (:winner, :loser, :score, :outcome, :note)", m);
//   absl::StatusOr<int64_t> count = db.query_value<int64_t>("SELECT count(*) FROM matches");
//
// They are the generic algorithms at the end of this file (query_rows,
// query_one_row, query_one_value, for_each_row) over a RowCursor that each
// database writes once. What goes wrong is a Status naming it, in the
// library's one shape, "<operation> <resource>: <what>":
//
//   query sqlite "t.db": row Match: column "loser" has no field; fields are winner, score
//   query sqlite "t.db": row Match: field "score" has no column; columns are "winner", "loser"
//   query sqlite "t.db": row Match, field score, column "score": NULL into a non-optional int64_t
//   query_one sqlite "t.db": no row, where exactly one was expected
//
// Columns and fields are matched by name, exactly (byte for byte, case
// included: "SELECT Score" does not fill `score`; rename with AS), and all
// of them: a column with no field, a field with no column, or two columns
// of one name are errors, before any row is read and even when there is
// none, so that a typo in the SQL is never a field quietly left at its
// default. (SQLiteCpp's getColumns<T, N>() constructs a T from the first N
// columns by position, and getColumn("name") looks a name up per call;
// libpqxx 6's row["name"] looks the name up per call too, row.to(a, b, c)
// and stream_from fill by position, exec1() wants exactly one row. Neither
// checks a whole row's shape against a struct.)
// The names are looked up once per query, never per row: a RowMapping keeps
// each field's column index, and reading a row is a call per field.
#ifndef UNCOPYABLE_ROWS_H_
#define UNCOPYABLE_ROWS_H_

#include <array>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/base/attributes.h"
#include "absl/base/optimization.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "boost/describe/enum_to_string.hpp"
#include "boost/describe/members.hpp"
#include "boost/mp11/algorithm.hpp"
#include "uncopyable/config.h"
#include "uncopyable/internal/message.h"

// Describes a row struct: its name, then its fields in order. Put it first
// in the struct's body. It gives the struct what UNCOPYABLE_CONFIG gives a
// config (==, AbslHashValue, AbslStringify, operator<<, to_json through
// config_json.h), and marks it as a row, which a config is not. A row needs
// no validate(): what a row may hold is the database's business.
#define UNCOPYABLE_ROW(Type, ...)      \
  UNCOPYABLE_CONFIG(Type, __VA_ARGS__) \
  static constexpr ::absl::string_view kRowName = #Type;

namespace uncopyable {

// A struct described with UNCOPYABLE_ROW (a config is not a row).
template <typename T>
concept DescribedRow = DescribedConfig<T> && requires {
  { T::kRowName } -> std::convertible_to<absl::string_view>;
};

// A value one column holds, as the databases read and write it.
template <typename T>
concept ColumnValue =
    std::same_as<T, bool> || std::same_as<T, int> || std::same_as<T, int64_t> ||
    std::same_as<T, double> || std::same_as<T, std::string> ||
    std::same_as<T, std::vector<std::byte>>;

// What a row field (and a query_value) may be: a column value, an enum
// described with UNCOPYABLE_ENUM (stored as its enumerator's name), or
// std::optional of either (NULL is std::nullopt).
template <typename T>
concept RowField =
    ColumnValue<T> || DescribedEnum<T> ||
    (IsOptional<T>::value &&
     (ColumnValue<typename T::value_type> || DescribedEnum<typename T::value_type>));

// The name the row was described with: "Match".
template <DescribedRow T>
constexpr absl::string_view row_name() {
  return T::kRowName;
}

// Where a row's values come from: the current row of a query. column_name()
// may return a std::string or a view. read<T>(column) is asked only for a
// ColumnValue or std::optional of one (an enum is read as its text); it
// answers NULL into a T that is not optional with FailedPrecondition and a
// value of another type with InvalidArgument, its message saying what is
// wrong with the value and no more ("NULL into a non-optional int64_t",
// "text into int64_t"): the callers here add the operation, the resource,
// the row, the field and the column. resource() is the handle's phrase for
// messages ("sqlite \"t.db\""), asked for only when something went wrong.
template <typename S>
concept RowSource = requires(const S& source, int column) {
  { source.column_count() } -> std::convertible_to<int>;
  { source.column_name(column) } -> std::convertible_to<absl::string_view>;
  { source.template read<int64_t>(column) } -> std::same_as<absl::StatusOr<int64_t>>;
  { source.resource() } -> std::convertible_to<std::string>;
};

// A RowSource that moves from row to row: next() makes the next row
// current and answers true, or false after the last one, or the query's
// error (returned as it is). Before the first next() no row is current;
// after it (whatever it answered) column_count() and column_name() hold.
template <typename C>
concept RowCursor = RowSource<C> && requires(C& cursor) {
  { cursor.next() } -> std::same_as<absl::StatusOr<bool>>;
};

// A RowSource may also read a column straight into a field:
//   absl::Status read_into(int column, T& out) const;
// for the same Ts as read<T>(), with the same conversions, refusals and
// bare messages, leaving `out` as it was when it fails (an optional too).
// The rows below then use it instead of read<T>(), which saves making a
// StatusOr<T> and moving its value into the field (a string field keeps
// its buffer). It is asked only for a column of the current row, among
// column_count(): a source may leave out the checks read<T>() makes.
template <typename S, typename T>
concept ReadsInPlace = requires(const S& source, int column, T& out) {
  { source.read_into(column, out) } -> std::same_as<absl::Status>;
};

// A RowCursor may say how many rows it holds, when it knows before reading
// them (a whole PostgreSQL result):
//   size_t rows_hint() const;   // valid after the first next()
// query_rows() then reserves them at once.
template <typename C>
concept HintsRows = requires(const C& cursor) {
  { cursor.rows_hint() } -> std::convertible_to<size_t>;
};

// How a parameter sink takes a row's fields: SQLite by name (field `score`
// is bound as sink.bind(":score", value)), PostgreSQL by position (the
// first field as sink.bind(1, value), which is $1).
enum class ParamStyle { by_name, by_position };

// Where bind_row() puts a row's fields. It declares
//   static constexpr ParamStyle kParamStyle = ...;
//   std::string resource() const;               // as a RowSource's
//   absl::Status bind(Key key, Value value);    // Key: absl::string_view or int
// with a bind() for each Value a row's fields pass: bool, int, int64_t,
// double, absl::string_view (std::string fields and enums, by name),
// absl::Span<const std::byte> (std::vector<std::byte> fields) and
// std::nullptr_t (an empty optional). Its errors, like a source's, say what
// is wrong and no more. It may have `int parameter_count() const`, the
// statement's parameters: bind_row() then refuses a row whose fields do not
// cover them (by position: as many fields as parameters; by name: no more
// parameters than fields).
template <typename S>
concept ParamSink = requires(const S& sink) {
  requires std::same_as<std::remove_cv_t<decltype(S::kParamStyle)>, ParamStyle>;
  { sink.resource() } -> std::convertible_to<std::string>;
};

namespace internal {

// ---------------------------------------------------------------------------
// Fields.

template <DescribedRow T>
using RowMembers = boost::describe::describe_members<T, boost::describe::mod_public>;

template <DescribedRow T>
inline constexpr size_t kRowFields = boost::mp11::mp_size<RowMembers<T>>::value;

template <typename Pointer>
struct FieldTypeOf;
template <typename Class, typename Field>
struct FieldTypeOf<Field Class::*> {
  using type = Field;
};
// The type of the field a member descriptor names.
template <typename Member>
using FieldOf = typename FieldTypeOf<std::remove_cv_t<decltype(Member::pointer)>>::type;

// Whether every field of T is a RowField.
template <DescribedRow T>
constexpr bool row_fields_are_columns() {
  bool all = true;
  boost::mp11::mp_for_each<RowMembers<T>>([&](auto member) {
    all = all && RowField<FieldOf<decltype(member)>>;
  });
  return all;
}

// The fields' names, in order.
template <DescribedRow T>
constexpr std::array<absl::string_view, kRowFields<T>> row_field_names() {
  std::array<absl::string_view, kRowFields<T>> names{};
  size_t i = 0;
  boost::mp11::mp_for_each<RowMembers<T>>([&](auto member) { names[i++] = member.name; });
  return names;
}

template <DescribedRow T>
inline constexpr std::array<absl::string_view, kRowFields<T>> kRowFieldNames =
    row_field_names<T>();

// Why a row was refused, for its static_assert.
#define UNCOPYABLE_ROW_FIELD_TYPES_                                                      \
  "a row field must be bool, int, int64_t, double, std::string, std::vector<std::byte>, " \
  "an enum described with UNCOPYABLE_ENUM, or std::optional of one of these"

// What a source is asked to read for a field of type F: F itself, an
// enum's text, or an optional of either.
template <typename F>
struct SourceValue {
  using type = F;
};
template <typename F>
concept OptionalEnum = IsOptional<F>::value && DescribedEnum<typename F::value_type>;

template <DescribedEnum E>
struct SourceValue<E> {
  using type = std::string;
};
template <DescribedEnum E>
struct SourceValue<std::optional<E>> {
  using type = std::optional<std::string>;
};
template <typename F>
using SourceValueOf = typename SourceValue<F>::type;

// ---------------------------------------------------------------------------
// Messages (src/rows.cc): built only when something went wrong.

// "row Match: column "loser" has no field; fields are winner, score" and
// the like: every column with no field, every column name seen twice,
// every field with no column, then the names to choose from.
std::string row_shape_problem(absl::string_view row, absl::Span<const absl::string_view> fields,
                              absl::Span<const std::string> columns);

// "<operation> <resource>: row Match, field score, column "score": <what>",
// the code and payloads of `status` kept; with no row (a query_value), only
// "<operation> <resource>: column "n": <what>".
absl::Status row_field_error(absl::string_view operation, absl::string_view resource,
                             absl::string_view row, absl::string_view field,
                             absl::string_view column, const absl::Status& status);

// "bind <resource>: row Match, field score as parameter :score: <what>" /
// "... as parameter 3: <what>".
absl::Status row_param_error(absl::string_view resource, absl::string_view row,
                             absl::string_view field, absl::string_view parameter,
                             const absl::Status& status);

// "bind <resource>: row Match has 3 fields (winner, loser, score), the
// statement 4 parameters".
absl::Status row_param_count_error(absl::string_view resource, absl::string_view row,
                                   absl::Span<const absl::string_view> fields, int parameters,
                                   ParamStyle style);

// "<operation> <resource>: <3 columns ("a", "b", "c")>, where one was expected".
absl::Status value_shape_error(absl::string_view operation, absl::string_view resource,
                               absl::Span<const std::string> columns);

// "<operation> <resource>: no row, where exactly one was expected"
// (NotFound), "... more than one row, ..." (FailedPrecondition).
absl::Status no_row_error(absl::string_view operation, absl::string_view resource);
absl::Status more_rows_error(absl::string_view operation, absl::string_view resource);

// The invalid enum text's message: "\"tie\" is not one of win, draw".
template <DescribedEnum E>
absl::Status enum_text_error(absl::string_view text) {
  return config_internal::not_one_of(text, enum_names<E>());
}

// The names of a source's columns, for a message.
template <RowSource S>
std::vector<std::string> column_names(const S& source) {
  std::vector<std::string> names;
  const int count = source.column_count();
  names.reserve(count > 0 ? static_cast<size_t>(count) : 0);
  for (int i = 0; i < count; ++i) names.emplace_back(absl::string_view(source.column_name(i)));
  return names;
}

// ---------------------------------------------------------------------------
// Values: a source's value into a field, a field's value into a sink.

// read_value() through read<T>(): an enum's text, or a source that does
// not read in place.
template <typename F, RowSource S>
ABSL_ATTRIBUTE_ALWAYS_INLINE inline absl::Status read_through_status_or(const S& source, int column, F& out) {
  absl::StatusOr<SourceValueOf<F>> value = source.template read<SourceValueOf<F>>(column);
  if (ABSL_PREDICT_FALSE(!value.ok())) return std::move(value).status();
  if constexpr (DescribedEnum<F>) {
    std::optional<F> known = enum_from_name<F>(*value);
    if (!known.has_value()) return enum_text_error<F>(*value);
    out = *known;
  } else if constexpr (OptionalEnum<F>) {
    using E = typename F::value_type;
    if (!value->has_value()) {
      out.reset();
    } else {
      std::optional<E> known = enum_from_name<E>(**value);
      if (!known.has_value()) return enum_text_error<E>(**value);
      out = *known;
    }
  } else {
    out = *std::move(value);
  }
  return absl::OkStatus();
}

// Reads column `column` of `source` into `out`; on failure `status` is the
// source's (or the enum's) bare message.
template <typename F, RowSource S>
ABSL_ATTRIBUTE_ALWAYS_INLINE inline absl::Status read_value(const S& source, int column, F& out) {
  if constexpr (!DescribedEnum<F> && !OptionalEnum<F> && ReadsInPlace<S, F>) {
    return source.read_into(column, out);
  } else {
    return read_through_status_or(source, column, out);
  }
}

// Binds one value as `key`, an optional's emptiness as nullptr.
template <ParamSink S, typename Key, typename F>
absl::Status bind_value(S& sink, Key key, const F& value) {
  if constexpr (IsOptional<F>::value) {
    if (!value.has_value()) return sink.bind(key, nullptr);
    return bind_value(sink, key, *value);
  } else if constexpr (DescribedEnum<F>) {
    const char* name = boost::describe::enum_to_string(value, nullptr);
    if (name == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat(enum_name(value), " is not one of ", enum_names<F>()));
    }
    return sink.bind(key, absl::string_view(name));
  } else if constexpr (std::is_same_v<F, std::string>) {
    return sink.bind(key, absl::string_view(value));
  } else if constexpr (std::is_same_v<F, std::vector<std::byte>>) {
    return sink.bind(key, absl::Span<const std::byte>(value));
  } else {
    return sink.bind(key, value);
  }
}

// ":score" for field `score`, made at compile time: what a by-name sink is
// given.
template <typename Member>
struct ParamName {
  static constexpr size_t kSize = std::char_traits<char>::length(Member::name) + 1;
  static constexpr std::array<char, kSize> kText = [] {
    std::array<char, kSize> text{};
    text[0] = ':';
    for (size_t i = 1; i < kSize; ++i) text[i] = Member::name[i - 1];
    return text;
  }();
  static constexpr absl::string_view view() { return absl::string_view(kText.data(), kSize); }
};

// ---------------------------------------------------------------------------
// Rows.

// Which column fills each field of T: found by name once per query, from
// the columns a source has, then used for every row of it with no name
// compared.
//
//   absl::StatusOr<RowMapping<Match>> mapping = RowMapping<Match>::of(cursor, "query");
//   while (...) { Match m; absl::Status s = mapping->read_into(cursor, m); ... }
template <DescribedRow T>
class RowMapping {
 public:
  static_assert(row_fields_are_columns<T>(), UNCOPYABLE_ROW_FIELD_TYPES_);
  static constexpr size_t kFields = kRowFields<T>;

  // The mapping for `source`'s columns, or InvalidArgument naming every
  // column with no field, every field with no column and every column name
  // seen twice. `operation` (a literal: it is kept) begins its messages.
  template <RowSource S>
  [[nodiscard]] static absl::StatusOr<RowMapping> of(const S& source,
                                                     absl::string_view operation = "read") {
    RowMapping mapping(operation);
    mapping.columns_.fill(-1);
    bool refused = false;
    const int count = source.column_count();
    for (int column = 0; column < count; ++column) {
      auto&& name = source.column_name(column);
      const absl::string_view view(name);
      size_t field = 0;
      while (field < kFields && kRowFieldNames<T>[field] != view) ++field;
      if (field == kFields || mapping.columns_[field] != -1) {
        refused = true;
      } else {
        mapping.columns_[field] = column;
      }
    }
    for (int column : mapping.columns_) refused = refused || column == -1;
    if (ABSL_PREDICT_FALSE(refused)) {
      return internal::error_on(
          absl::StatusCode::kInvalidArgument, operation, source.resource(),
          row_shape_problem(row_name<T>(), kRowFieldNames<T>, column_names(source)));
    }
    return mapping;
  }

  // Reads the source's current row into `row`, field by field, assigning
  // each (a string field keeps its buffer). On failure the field that
  // failed and those after it are left as they were, and the Status names
  // the row, the field and the column.
  template <RowSource S>
  [[nodiscard]] absl::Status read_into(const S& source, T& row) const {
    return read_fields(source, row, std::make_index_sequence<kFields>());
  }

  // The source's current row as a T.
  template <RowSource S>
  [[nodiscard]] absl::StatusOr<T> read(const S& source) const {
    T row{};
    absl::Status status = read_into(source, row);
    if (ABSL_PREDICT_FALSE(!status.ok())) return status;
    return row;
  }

  // The column that fills field `field` (in the order of UNCOPYABLE_ROW).
  int column_of(size_t field) const { return columns_[field]; }

 private:
  explicit RowMapping(absl::string_view operation) : operation_(operation) {}

  template <RowSource S, size_t... I>
  ABSL_ATTRIBUTE_ALWAYS_INLINE absl::Status read_fields(const S& source, T& row,
                                                        std::index_sequence<I...>) const {
    absl::Status status;
    (void)(read_field<I>(source, row, status) && ...);
    return status;
  }

  template <size_t I, RowSource S>
  ABSL_ATTRIBUTE_ALWAYS_INLINE bool read_field(const S& source, T& row,
                                               absl::Status& status) const {
    using Member = boost::mp11::mp_at_c<RowMembers<T>, I>;
    const int column = columns_[I];
    absl::Status value = read_value(source, column, row.*Member::pointer);
    if (ABSL_PREDICT_TRUE(value.ok())) return true;
    status = row_field_error(operation_, source.resource(), row_name<T>(), Member::name,
                             absl::string_view(source.column_name(column)), value);
    return false;
  }

  std::array<int, kFields> columns_;
  absl::string_view operation_;
};

// The current row of `source` as a T, columns to fields by name. Looks the
// names up each time: to read many rows of one query, make a RowMapping
// once instead.
template <DescribedRow T, RowSource S>
[[nodiscard]] absl::StatusOr<T> read_row(const S& source) {
  absl::StatusOr<RowMapping<T>> mapping = RowMapping<T>::of(source);
  if (!mapping.ok()) return mapping.status();
  return mapping->read(source);
}

// Binds each field of `row` as a parameter of `sink`: by name (":field") or
// by position (the first field is 1), as the sink's kParamStyle says. Stops
// at the first failure, which names the field and the parameter.
template <DescribedRow T, ParamSink S>
[[nodiscard]] absl::Status bind_row(S& sink, const T& row) {
  static_assert(row_fields_are_columns<T>(), UNCOPYABLE_ROW_FIELD_TYPES_);
  constexpr bool kByName = S::kParamStyle == ParamStyle::by_name;
  if constexpr (requires { { sink.parameter_count() } -> std::convertible_to<int>; }) {
    const int parameters = sink.parameter_count();
    const int fields = static_cast<int>(kRowFields<T>);
    if (kByName ? parameters > fields : parameters != fields) {
      return row_param_count_error(sink.resource(), row_name<T>(), kRowFieldNames<T>, parameters,
                                   S::kParamStyle);
    }
  }
  absl::Status status;
  int position = 0;
  boost::mp11::mp_for_each<RowMembers<T>>([&](auto member) {
    using Member = decltype(member);
    ++position;
    if (!status.ok()) return;
    absl::Status bound;
    if constexpr (kByName) {
      bound = bind_value(sink, ParamName<Member>::view(), row.*Member::pointer);
    } else {
      bound = bind_value(sink, position, row.*Member::pointer);
    }
    if (ABSL_PREDICT_FALSE(!bound.ok())) {
      const std::string parameter =
          kByName ? std::string(ParamName<Member>::view()) : std::to_string(position);
      status = row_param_error(sink.resource(), row_name<T>(), Member::name, parameter, bound);
    }
  });
  return status;
}

// ---------------------------------------------------------------------------
// The connections' query forms, once for both databases, over a cursor
// whose statement has run with its parameters bound.

// Every row. The columns are checked against T's fields even when there is
// no row.
template <DescribedRow T, RowCursor C>
[[nodiscard]] absl::StatusOr<std::vector<T>> query_rows(C& cursor,
                                                        absl::string_view operation = "query") {
  absl::StatusOr<bool> more = cursor.next();
  if (!more.ok()) return more.status();
  absl::StatusOr<RowMapping<T>> mapping = RowMapping<T>::of(cursor, operation);
  if (!mapping.ok()) return mapping.status();
  std::vector<T> rows;
  if constexpr (HintsRows<C>) rows.reserve(cursor.rows_hint());
  while (*more) {
    absl::Status status = mapping->read_into(cursor, rows.emplace_back());
    if (ABSL_PREDICT_FALSE(!status.ok())) return status;
    more = cursor.next();
    if (ABSL_PREDICT_FALSE(!more.ok())) return more.status();
  }
  return rows;
}

// After the one row was read: OK if there is no other, else
// FailedPrecondition (the second is stepped to, not read).
template <RowCursor C>
absl::Status no_second_row(C& cursor, absl::string_view operation) {
  absl::StatusOr<bool> more = cursor.next();
  if (!more.ok()) return more.status();
  if (*more) return more_rows_error(operation, cursor.resource());
  return absl::OkStatus();
}

// Exactly one row: NotFound if there is none, FailedPrecondition if there
// is a second.
template <DescribedRow T, RowCursor C>
[[nodiscard]] absl::StatusOr<T> query_one_row(C& cursor,
                                              absl::string_view operation = "query_one") {
  absl::StatusOr<bool> more = cursor.next();
  if (!more.ok()) return more.status();
  absl::StatusOr<RowMapping<T>> mapping = RowMapping<T>::of(cursor, operation);
  if (!mapping.ok()) return mapping.status();
  if (!*more) return no_row_error(operation, cursor.resource());
  absl::StatusOr<T> row = mapping->read(cursor);
  if (!row.ok()) return row;
  absl::Status alone = no_second_row(cursor, operation);
  if (!alone.ok()) return alone;
  return row;
}

// The one column of exactly one row: InvalidArgument unless there is one
// column; NotFound and FailedPrecondition as query_one_row().
template <RowField T, RowCursor C>
[[nodiscard]] absl::StatusOr<T> query_one_value(C& cursor,
                                                absl::string_view operation = "query_value") {
  absl::StatusOr<bool> more = cursor.next();
  if (!more.ok()) return more.status();
  if (cursor.column_count() != 1) {
    return value_shape_error(operation, cursor.resource(), column_names(cursor));
  }
  if (!*more) return no_row_error(operation, cursor.resource());
  T value{};
  absl::Status status = read_value(cursor, 0, value);
  if (!status.ok()) {
    return row_field_error(operation, cursor.resource(), "", "",
                           absl::string_view(cursor.column_name(0)), status);
  }
  status = no_second_row(cursor, operation);
  if (!status.ok()) return status;
  return value;
}

// Calls fn(const T&) for each row, one T reused (its strings keep their
// buffers); the first non-OK Status fn returns stops it and is returned as
// it is.
template <DescribedRow T, RowCursor C, typename Fn>
  requires std::invocable<Fn&, const T&> &&
           std::same_as<std::invoke_result_t<Fn&, const T&>, absl::Status>
[[nodiscard]] absl::Status for_each_row(C& cursor, Fn&& fn,
                                        absl::string_view operation = "for_each") {
  absl::StatusOr<bool> more = cursor.next();
  if (!more.ok()) return more.status();
  absl::StatusOr<RowMapping<T>> mapping = RowMapping<T>::of(cursor, operation);
  if (!mapping.ok()) return mapping.status();
  T row{};
  while (*more) {
    absl::Status status = mapping->read_into(cursor, row);
    if (ABSL_PREDICT_FALSE(!status.ok())) return status;
    status = fn(std::as_const(row));
    if (!status.ok()) return status;
    more = cursor.next();
    if (ABSL_PREDICT_FALSE(!more.ok())) return more.status();
  }
  return absl::OkStatus();
}

}  // namespace internal
}  // namespace uncopyable

#endif  // UNCOPYABLE_ROWS_H_
