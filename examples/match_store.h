// The tournament's table of matches, on SQLite or PostgreSQL. The story is
// written once, as templates over the connection type; these overloads are
// the few places where the two databases differ.
#ifndef UNCOPYABLE_EXAMPLES_MATCH_STORE_H_
#define UNCOPYABLE_EXAMPLES_MATCH_STORE_H_

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "examples/standings.h"
#include "uncopyable/postgres.h"
#include "uncopyable/sqlite.h"

namespace tournament {

// The same SQL runs on both, but for the INSERT's parameters: a Match is
// bound by field name on SQLite (":round") and in field order on
// PostgreSQL ($1 is its first field, round), which has no named parameters.
inline constexpr char kTable[] = "tournament_matches";

// Whether to make the table, or use the one a kept earlier run left.
enum class Tables { kCreate, kReuse };

absl::Status create_table(uncopyable::SqliteConnection& db, Tables tables);
absl::Status create_table(uncopyable::PostgresConnection& db, Tables tables);

// Inserts `matches` (the caller decides the transaction).
absl::Status insert(uncopyable::SqliteConnection& db, const std::vector<Match>& matches);
absl::Status insert(uncopyable::PostgresConnection& db, const std::vector<Match>& matches);

// Every match, by round (and by winner within a round).
absl::StatusOr<std::vector<Match>> load(uncopyable::SqliteConnection& db);
absl::StatusOr<std::vector<Match>> load(uncopyable::PostgresConnection& db);

absl::StatusOr<int64_t> count(uncopyable::SqliteConnection& db);
absl::StatusOr<int64_t> count(uncopyable::PostgresConnection& db);

// Copies the data into the SQLite database `target` describes, replacing
// what was there, while `db` stays open and usable. SQLite: the online
// backup API, page by page. PostgreSQL has no client-side backup API: one
// SELECT (one snapshot) copied in one transaction.
absl::Status back_up(uncopyable::SqliteConnection& db, const uncopyable::SqliteConfig& target);
absl::Status back_up(uncopyable::PostgresConnection& db, const uncopyable::SqliteConfig& target);

// Drops the table a run created.
template <typename Connection>
absl::Status drop_table(Connection& db) {
  return db.execute(absl::StrCat("DROP TABLE ", kTable));
}

}  // namespace tournament

#endif  // UNCOPYABLE_EXAMPLES_MATCH_STORE_H_
