// uncopyable/sql_error.h: a database's own error code, as a field of the
// Status, for both databases.
//
//   absl::Status added = db->execute("INSERT INTO players VALUES ('ann')");
//   if (uncopyable::is_unique_violation(added)) return already_there();
//   if (std::optional<uncopyable::SqlError> e = uncopyable::sql_error(added)) {
//     LOG(INFO) << e->sqlstate << " " << e->sqlite_code;  // "23505" 0, or "" 2067
//   }
//
// A failed statement's Status carries, beside its message, the code the
// database gave: PostgreSQL's SQLSTATE ("23505") or SQLite's extended
// result code (SQLITE_CONSTRAINT_UNIQUE, 2067), as a payload under
// kSqlErrorPayload. Branch on the code, or on the named predicates below,
// never on the message text, which is for people and may change.
#ifndef UNCOPYABLE_SQL_ERROR_H_
#define UNCOPYABLE_SQL_ERROR_H_

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace uncopyable {

// The code a database gave for a failed statement.
struct SqlError {
  std::string sqlstate;  // PostgreSQL's five-character SQLSTATE; "" for SQLite
  int sqlite_code = 0;   // SQLite's extended result code; 0 for PostgreSQL

  friend bool operator==(const SqlError&, const SqlError&) = default;
};

// The payload's type URL (absl::Status::GetPayload).
inline constexpr absl::string_view kSqlErrorPayload = "type.uncopyable.dev/SqlError";

// The code `status` carries, if a database gave one (nullopt for OK, for a
// Status the library made itself, say a misuse of the API that never
// reached the database, and for any Status not from a database).
[[nodiscard]] std::optional<SqlError> sql_error(const absl::Status& status);

// `status` with `error` attached (replacing any attached before). For the
// database handles, and for code that wraps their errors and wants to keep
// the code: the payload survives copying a Status, not rebuilding one from
// its code and message.
[[nodiscard]] absl::Status with_sql_error(absl::Status status, const SqlError& error);

// A UNIQUE or PRIMARY KEY constraint refused a row (PostgreSQL 23505;
// SQLite SQLITE_CONSTRAINT_UNIQUE, SQLITE_CONSTRAINT_PRIMARYKEY).
[[nodiscard]] bool is_unique_violation(const absl::Status& status);
// A FOREIGN KEY constraint refused a change (PostgreSQL 23503; SQLite
// SQLITE_CONSTRAINT_FOREIGNKEY).
[[nodiscard]] bool is_foreign_key_violation(const absl::Status& status);
// The transaction lost a race with another and must be retried whole
// (PostgreSQL 40001 serialization_failure; SQLite SQLITE_BUSY_SNAPSHOT: a
// read transaction in WAL mode may not become a write one, since another
// connection wrote since it began).
[[nodiscard]] bool is_serialization_failure(const absl::Status& status);
// The server broke a deadlock by failing this transaction; retry it whole
// (PostgreSQL 40P01). SQLite reports no deadlock as such: where one could
// arise it answers SQLITE_BUSY at once, which is none of these.
[[nodiscard]] bool is_deadlock(const absl::Status& status);
// Whether the command took effect is unknown: the server got it whole, then
// the connection was lost (Unknown) or the query_timeout passed
// (DeadlineExceeded) before its answer came, and it could have committed
// (it ran outside a transaction block, or it was the COMMIT). Look at the
// database before running it again: a blind retry may do it twice
// (libpqxx's in_doubt_error; SQLSTATE 08007, transaction_resolution_unknown,
// which the Status carries). A connection lost inside a transaction, before
// its COMMIT, is Unavailable and not in doubt: the server rolled it back.
// PostgreSQL only; SQLite, in process, is never in doubt.
[[nodiscard]] bool is_in_doubt(const absl::Status& status);

}  // namespace uncopyable

#endif  // UNCOPYABLE_SQL_ERROR_H_
