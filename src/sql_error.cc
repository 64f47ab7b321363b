#include "uncopyable/sql_error.h"

#include <algorithm>
#include <optional>
#include <string>

#include "absl/strings/cord.h"
#include "absl/types/optional.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace uncopyable {
namespace {

// The payload is text: "sqlstate=23505" or "sqlite=2067".
constexpr absl::string_view kSqlstate = "sqlstate=";
constexpr absl::string_view kSqlite = "sqlite=";

// SQLite's extended result codes the predicates name (sqlite3.h), written
// out so that this file needs no SQLite header.
constexpr int kSqliteConstraintForeignKey = 19 | (3 << 8);
constexpr int kSqliteConstraintPrimaryKey = 19 | (6 << 8);
constexpr int kSqliteConstraintUnique = 19 | (8 << 8);
constexpr int kSqliteBusySnapshot = 5 | (2 << 8);

}  // namespace

std::optional<SqlError> sql_error(const absl::Status& status) {
  if (status.ok()) return std::nullopt;
  const absl::optional<absl::Cord> payload = status.GetPayload(kSqlErrorPayload);
  if (!payload.has_value()) return std::nullopt;
  const std::string text(*payload);
  const absl::string_view view(text);
  if (view.substr(0, kSqlstate.size()) == kSqlstate) {
    return SqlError{.sqlstate = std::string(view.substr(kSqlstate.size()))};
  }
  int code = 0;
  if (view.substr(0, kSqlite.size()) == kSqlite &&
      absl::SimpleAtoi(view.substr(kSqlite.size()), &code)) {
    return SqlError{.sqlstate = "", .sqlite_code = code};
  }
  return std::nullopt;
}

absl::Status with_sql_error(absl::Status status, const SqlError& error) {
  if (status.ok()) return status;
  status.SetPayload(kSqlErrorPayload,
                    absl::Cord(error.sqlstate.empty() ? absl::StrCat(kSqlite, error.sqlite_code)
                                                      : absl::StrCat(kSqlstate, error.sqlstate)));
  return status;
}

namespace {
bool has(const absl::Status& status, absl::string_view sqlstate,
         std::initializer_list<int> sqlite_codes) {
  const std::optional<SqlError> error = sql_error(status);
  if (!error.has_value()) return false;
  if (!error->sqlstate.empty()) return error->sqlstate == sqlstate;
  return std::ranges::any_of(sqlite_codes, [&](int code) { return error->sqlite_code == code; });
}
}  // namespace

bool is_unique_violation(const absl::Status& status) {
  return has(status, "23505", {kSqliteConstraintUnique, kSqliteConstraintPrimaryKey});
}
bool is_foreign_key_violation(const absl::Status& status) {
  return has(status, "23503", {kSqliteConstraintForeignKey});
}
bool is_serialization_failure(const absl::Status& status) {
  return has(status, "40001", {kSqliteBusySnapshot});
}
bool is_deadlock(const absl::Status& status) { return has(status, "40P01", {}); }

bool is_in_doubt(const absl::Status& status) { return has(status, "08007", {}); }

}  // namespace uncopyable
