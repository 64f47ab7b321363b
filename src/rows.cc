#include "uncopyable/rows.h"

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "uncopyable/internal/message.h"
#include "uncopyable/internal/quote.h"

namespace uncopyable::internal {
namespace {

// How many problems and how many column names a message lists before it
// says how many more there are: a query of 300 columns into a row of three
// still makes one readable line.
constexpr size_t kListed = 8;
constexpr size_t kColumnsListed = 16;
// Column names are the server's (or the SQL's) text: quoted, and cut short.
constexpr size_t kNameBytes = 64;

std::string column_text(absl::string_view name) { return quoted(name, kNameBytes); }

// "\"winner\", \"loser\"", or the first kColumnsListed and "... (300 columns)".
std::string column_list(absl::Span<const std::string> columns) {
  if (columns.empty()) return "none";
  std::string out;
  for (size_t i = 0; i < columns.size() && i < kColumnsListed; ++i) {
    absl::StrAppend(&out, i == 0 ? "" : ", ", column_text(columns[i]));
  }
  if (columns.size() > kColumnsListed) absl::StrAppend(&out, ", ... (", columns.size(), " columns)");
  return out;
}

// `status`'s code and payloads (a database's error code, say), `message`.
absl::Status keeping_payloads(const absl::Status& status, absl::string_view message) {
  absl::Status out(status.code(), message);
  status.ForEachPayload([&](absl::string_view url, const absl::Cord& payload) {
    out.SetPayload(url, payload);
  });
  return out;
}

}  // namespace

std::string row_shape_problem(absl::string_view row, absl::Span<const absl::string_view> fields,
                              absl::Span<const std::string> columns) {
  std::vector<std::string> problems;
  size_t unlisted = 0;
  auto problem = [&](std::string text) {
    if (problems.size() < kListed) {
      problems.push_back(std::move(text));
    } else {
      ++unlisted;
    }
  };
  bool column_without_field = false;
  std::vector<int> column_of(fields.size(), -1);
  for (size_t c = 0; c < columns.size(); ++c) {
    size_t f = 0;
    while (f < fields.size() && fields[f] != columns[c]) ++f;
    if (f == fields.size()) {
      column_without_field = true;
      problem(absl::StrCat("column ", column_text(columns[c]), " has no field"));
    } else if (column_of[f] != -1) {
      problem(absl::StrCat("columns ", column_of[f], " and ", c, " are both named ",
                           column_text(columns[c])));
    } else {
      column_of[f] = static_cast<int>(c);
    }
  }
  bool field_without_column = false;
  for (size_t f = 0; f < fields.size(); ++f) {
    if (column_of[f] != -1) continue;
    field_without_column = true;
    problem(absl::StrCat("field \"", fields[f], "\" has no column"));
  }
  std::string out = absl::StrCat("row ", row, ": ", absl::StrJoin(problems, ", "));
  if (unlisted > 0) absl::StrAppend(&out, " and ", unlisted, " more");
  if (column_without_field) absl::StrAppend(&out, "; fields are ", absl::StrJoin(fields, ", "));
  if (field_without_column) absl::StrAppend(&out, "; columns are ", column_list(columns));
  return out;
}

absl::Status row_field_error(absl::string_view operation, absl::string_view resource,
                             absl::string_view row, absl::string_view field,
                             absl::string_view column, const absl::Status& status) {
  const std::string where =
      row.empty() ? absl::StrCat("column ", column_text(column))
                  : absl::StrCat("row ", row, ", field ", field, ", column ", column_text(column));
  return keeping_payloads(
      status, absl::StrCat(operation, " ", resource, ": ", where, ": ", status.message()));
}

absl::Status row_param_error(absl::string_view resource, absl::string_view row,
                             absl::string_view field, absl::string_view parameter,
                             const absl::Status& status) {
  return keeping_payloads(status, absl::StrCat("bind ", resource, ": row ", row, ", field ", field,
                                               " as parameter ", parameter, ": ",
                                               status.message()));
}

absl::Status row_param_count_error(absl::string_view resource, absl::string_view row,
                                   absl::Span<const absl::string_view> fields, int parameters,
                                   ParamStyle style) {
  const std::string what = absl::StrCat(
      "row ", row, " has ", fields.size(), fields.size() == 1 ? " field (" : " fields (",
      absl::StrJoin(fields, ", "), "), the statement ", parameters,
      parameters == 1 ? " parameter" : " parameters",
      style == ParamStyle::by_name ? ", some of which no field names"
                                   : ", bound in field order");
  return error_on(absl::StatusCode::kInvalidArgument, "bind", resource, what);
}

absl::Status value_shape_error(absl::string_view operation, absl::string_view resource,
                               absl::Span<const std::string> columns) {
  return error_on(absl::StatusCode::kInvalidArgument, operation, resource,
                  absl::StrCat(columns.size(), columns.size() == 1 ? " column (" : " columns (",
                               column_list(columns), "), where one was expected"));
}

absl::Status no_row_error(absl::string_view operation, absl::string_view resource) {
  return error_on(absl::StatusCode::kNotFound, operation, resource,
                  "no row, where exactly one was expected");
}

absl::Status more_rows_error(absl::string_view operation, absl::string_view resource) {
  return error_on(absl::StatusCode::kFailedPrecondition, operation, resource,
                  "more than one row, where exactly one was expected");
}

}  // namespace uncopyable::internal
