#include "examples/match_store.h"

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"

namespace tournament {
namespace {

std::string create_sql(Tables tables) {
  return absl::StrCat("CREATE TABLE ", tables == Tables::kReuse ? "IF NOT EXISTS " : "", kTable,
                      " (round INTEGER NOT NULL, winner TEXT NOT NULL, loser TEXT NOT NULL,"
                      " winner_points INTEGER NOT NULL, loser_points INTEGER NOT NULL)");
}
// A Match's fields by name (SQLite) or in field order (PostgreSQL).
std::string insert_sql(const uncopyable::SqliteConnection&) {
  return absl::StrCat("INSERT INTO ", kTable,
                      " VALUES (:round, :winner, :loser, :winner_points, :loser_points)");
}
std::string insert_sql(const uncopyable::PostgresConnection&) {
  return absl::StrCat("INSERT INTO ", kTable, " VALUES ($1, $2, $3, $4, $5)");
}
std::string select_sql() {
  return absl::StrCat("SELECT round, winner, loser, winner_points, loser_points FROM ", kTable,
                      " ORDER BY round, winner");
}
std::string count_sql() { return absl::StrCat("SELECT count(*) FROM ", kTable); }

}  // namespace

absl::Status create_table(uncopyable::SqliteConnection& db, Tables tables) {
  return db.execute(create_sql(tables));
}
absl::Status create_table(uncopyable::PostgresConnection& db, Tables tables) {
  return db.execute(create_sql(tables));
}

// Each match is a row: its fields are the statement's parameters.
template <typename Connection>
absl::Status insert_rows(Connection& db, const std::vector<Match>& matches) {
  const std::string sql = insert_sql(db);
  for (const Match& match : matches) {
    if (absl::Status done = db.execute(sql, match); !done.ok()) return done;
  }
  return absl::OkStatus();
}

// Columns to fields by name: a column missing or too many, NULL, or a
// value of another type is an error naming the field and the column.
template <typename Connection>
absl::StatusOr<std::vector<Match>> load_rows(Connection& db) {
  return db.template query<Match>(select_sql());
}

template <typename Connection>
absl::StatusOr<int64_t> count_rows(Connection& db) {
  return db.template query_value<int64_t>(count_sql());
}

absl::Status insert(uncopyable::SqliteConnection& db, const std::vector<Match>& matches) {
  return insert_rows(db, matches);
}
absl::Status insert(uncopyable::PostgresConnection& db, const std::vector<Match>& matches) {
  return insert_rows(db, matches);
}

absl::StatusOr<std::vector<Match>> load(uncopyable::SqliteConnection& db) {
  return load_rows(db);
}
absl::StatusOr<std::vector<Match>> load(uncopyable::PostgresConnection& db) {
  return load_rows(db);
}

absl::StatusOr<int64_t> count(uncopyable::SqliteConnection& db) { return count_rows(db); }
absl::StatusOr<int64_t> count(uncopyable::PostgresConnection& db) { return count_rows(db); }

absl::Status back_up(uncopyable::SqliteConnection& db, const uncopyable::SqliteConfig& target) {
  return db.backup_to(target);
}

absl::Status back_up(uncopyable::PostgresConnection& db, const uncopyable::SqliteConfig& target) {
  absl::StatusOr<std::vector<Match>> snapshot = load(db);
  if (!snapshot.ok()) return snapshot.status();
  absl::StatusOr<uncopyable::SqliteConnection> copy = uncopyable::rebuild(target);
  if (!copy.ok()) return copy.status();
  {
    // All or nothing: a failure part-way leaves the old backup as it was.
    absl::StatusOr<uncopyable::Transaction> transaction = copy->begin();
    if (!transaction.ok()) return transaction.status();
    absl::Status done = copy->execute(absl::StrCat("DROP TABLE IF EXISTS ", kTable));
    if (done.ok()) done = create_table(*copy, Tables::kCreate);
    if (done.ok()) done = insert(*copy, *snapshot);
    if (done.ok()) done = transaction->commit();
    if (!done.ok()) return done;
  }
  return copy->close();
}

}  // namespace tournament
