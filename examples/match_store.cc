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
std::string insert_sql() {
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

absl::Status insert(uncopyable::SqliteConnection& db, const std::vector<Match>& matches) {
  absl::StatusOr<uncopyable::Statement> statement = db.prepare(insert_sql());
  if (!statement.ok()) return statement.status();
  for (const Match& match : matches) {
    absl::Status done = statement->bind_all(match.round, match.winner, match.loser,
                                            match.winner_points, match.loser_points);
    if (done.ok()) done = statement->run();
    if (!done.ok()) return done;
  }
  return absl::OkStatus();
}

absl::Status insert(uncopyable::PostgresConnection& db, const std::vector<Match>& matches) {
  absl::StatusOr<uncopyable::PostgresStatement> statement = db.prepare(insert_sql());
  if (!statement.ok()) return statement.status();
  for (const Match& match : matches) {
    const std::string round = absl::StrCat(match.round);
    const std::string winner_points = absl::StrCat(match.winner_points);
    const std::string loser_points = absl::StrCat(match.loser_points);
    absl::StatusOr<uncopyable::PostgresResult> done =
        statement->execute({round, match.winner, match.loser, winner_points, loser_points});
    if (!done.ok()) return done.status();
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<Match>> load(uncopyable::SqliteConnection& db) {
  absl::StatusOr<uncopyable::Statement> select = db.prepare(select_sql());
  if (!select.ok()) return select.status();
  std::vector<Match> matches;
  while (true) {
    absl::StatusOr<bool> row = select->step();
    if (!row.ok()) return row.status();
    if (!*row) return matches;
    matches.push_back({.round = select->get_int64(0),
                       .winner = select->get_text(1),
                       .loser = select->get_text(2),
                       .winner_points = select->get_int64(3),
                       .loser_points = select->get_int64(4)});
  }
}

absl::StatusOr<std::vector<Match>> load(uncopyable::PostgresConnection& db) {
  absl::StatusOr<uncopyable::PostgresResult> rows = db.query(select_sql());
  if (!rows.ok()) return rows.status();
  std::vector<Match> matches;
  for (int row = 0; row < rows->rows(); ++row) {
    matches.push_back({.round = rows->get_int64(row, 0),
                       .winner = rows->get_text(row, 1),
                       .loser = rows->get_text(row, 2),
                       .winner_points = rows->get_int64(row, 3),
                       .loser_points = rows->get_int64(row, 4)});
  }
  return matches;
}

absl::StatusOr<int64_t> count(uncopyable::SqliteConnection& db) {
  absl::StatusOr<uncopyable::Statement> select = db.prepare(count_sql());
  if (!select.ok()) return select.status();
  absl::StatusOr<bool> row = select->step();
  if (!row.ok()) return row.status();
  if (!*row) return absl::InternalError(absl::StrCat(count_sql(), ": no row"));
  return select->get_int64(0);
}

absl::StatusOr<int64_t> count(uncopyable::PostgresConnection& db) {
  absl::StatusOr<uncopyable::PostgresResult> rows = db.query(count_sql());
  if (!rows.ok()) return rows.status();
  if (rows->rows() != 1) return absl::InternalError(absl::StrCat(count_sql(), ": no row"));
  return rows->get_int64(0, 0);
}

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
