// Reading 100 000 rows of 5 typed columns (an integer key, a text, a real,
// an integer, a text NULL in a third of the rows) into structs, side by
// side, from SQLite: a hand-written sqlite3 loop, SQLiteCpp's idiom
// (Statement, executeStep, getColumn by index), and uncopyable's rows (a
// struct described with UNCOPYABLE_ROW, columns mapped to fields by name
// once per query, then read field by field); and from PostgreSQL (a
// private server this program starts, as the tests do, over a Unix
// socket): a hand-written libpq loop (PQexec, text results parsed with
// std::from_chars), libpqxx 6.4's idiom (exec, then field::as<T>() by
// index, is_null() first for the NULLable one: Debian's 6.4 is built
// without PQXX_HAVE_OPTIONAL, so field::get<T>() has no std::optional to
// default to), and uncopyable's
// PostgresConnection::query<Player>:
//
//   ./bazelw run -c opt //benchmarks:rows_benchmark -- --benchmark_repetitions=3
//
// (docs/benchmarks.md, "Rows into structs", has the figures and the exact
// command they were taken with.)
//
// uncopyable reads with SqliteConnection::query<Player>(sql): prepared,
// columns mapped to fields by name once, each column read with one
// sqlite3_column_value() call (two for text), its type checked. The variant
// "Getters" is a Statement read by hand with the unchecked getters, field
// by field, with no mapping.
#include <sqlite3.h>
#include <unistd.h>

#include <charconv>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "SQLiteCpp/SQLiteCpp.h"
#include "absl/base/attributes.h"
#include "absl/base/optimization.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "benchmarks/postgres_server.h"
#include "libpq-fe.h"
#include "pqxx/pqxx"
#include "uncopyable/postgres.h"
#include "uncopyable/rows.h"
#include "uncopyable/sqlite.h"

namespace bench {

// The row every contender reads into.
struct Player {
  UNCOPYABLE_ROW(Player, id, name, score, wins, note)

  int64_t id = 0;
  std::string name;
  double score = 0;
  int64_t wins = 0;
  std::optional<std::string> note;  // NULL in a third of the rows
};

}  // namespace bench

namespace {

using bench::Player;
using uncopyable::SqliteConnection;

const bool described = [] {
  benchmark::AddCustomContext("BM_SqliteRows100k",
                              "SQLite 100 000 rows of 5 typed columns into structs");
  benchmark::AddCustomContext(
      "BM_SqliteRows100kNoMutex",
      "SQLite 100 000 rows of 5 typed columns into structs, multi-thread mode (no mutex)");
  benchmark::AddCustomContext("contender Uncopyable",
                              "uncopyable: uncopyable rows (`UNCOPYABLE_ROW`, by name)");
  benchmark::AddCustomContext("contender Getters",
                              "uncopyable variant: uncopyable `Statement` getters by hand");
  benchmark::AddCustomContext("contender SQLiteCpp", "peer: SQLiteCpp");
  benchmark::AddCustomContext("BM_PgRows100k",
                              "PostgreSQL 100 000 rows of 5 typed columns into structs");
  benchmark::AddCustomContext("contender Pqxx", "peer: libpqxx");
  return true;
}();

constexpr int kRows = 100000;
constexpr char kSelect[] = "SELECT id, name, score, wins, note FROM players";

void check(bool ok) {
  if (!ok) std::abort();
}

// The table, filled once, shared by every benchmark, removed at exit.
const std::string& table() {
  static const std::string path = [] {
    std::string p = absl::StrCat("/tmp/uncopyable_rows_benchmark_", ::getpid(), ".db");
    for (const char* suffix : {"", "-wal", "-shm"}) ::unlink((p + suffix).c_str());
    SqliteConnection db = *SqliteConnection::open({.path = p});
    check(db.execute("CREATE TABLE players (id INTEGER PRIMARY KEY, name TEXT NOT NULL, "
                     "score REAL NOT NULL, wins INTEGER NOT NULL, note TEXT)")
              .ok());
    uncopyable::Transaction tx = *db.begin();
    uncopyable::Statement insert = *db.prepare("INSERT INTO players VALUES (?, ?, ?, ?, ?)");
    for (int i = 0; i < kRows; ++i) {
      check(insert.bind_all(int64_t{i}, absl::StrCat("player ", i), i * 0.5, int64_t{i % 17})
                .ok());
      check((i % 3 == 0 ? insert.bind(5, nullptr) : insert.bind(5, "a note on the match")).ok());
      check(insert.run().ok());
    }
    check(tx.commit().ok());
    std::atexit([] {
      for (const char* suffix : {"", "-wal", "-shm"}) ::unlink((table() + suffix).c_str());
    });
    return p;
  }();
  return path;
}

void expect_all(const std::vector<Player>& rows) {
  check(rows.size() == kRows && rows.back().id == kRows - 1 && !rows[0].note.has_value() &&
        rows[1].note.has_value());
}

// ---------------------------------------------------------------------------

// SQLite's default, serialized (SQLITE_OPEN_FULLMUTEX: every sqlite3_column_*
// call takes the connection's mutex), or multi-thread (SQLITE_OPEN_NOMUTEX;
// uncopyable's SqliteThreading::multi_thread).
enum class Threading { serialized, multi_thread };

int open_flags(Threading threading) {
  return SQLITE_OPEN_READWRITE |
         (threading == Threading::serialized ? SQLITE_OPEN_FULLMUTEX : SQLITE_OPEN_NOMUTEX);
}

SqliteConnection open_uncopyable(Threading threading) {
  return *SqliteConnection::open({.path = table(),
                                  .mode = uncopyable::SqliteMode::rw,
                                  .threading = threading == Threading::serialized
                                                   ? uncopyable::SqliteThreading::serialized
                                                   : uncopyable::SqliteThreading::multi_thread});
}

void rows_raw(benchmark::State& state, Threading threading) {
  sqlite3* db = nullptr;
  check(sqlite3_open_v2(table().c_str(), &db, open_flags(threading), nullptr) == SQLITE_OK);
  for (auto _ : state) {
    sqlite3_stmt* select = nullptr;
    check(sqlite3_prepare_v2(db, kSelect, -1, &select, nullptr) == SQLITE_OK);
    std::vector<Player> rows;
    int result;
    while ((result = sqlite3_step(select)) == SQLITE_ROW) {
      Player& row = rows.emplace_back();
      row.id = sqlite3_column_int64(select, 0);
      row.name.assign(reinterpret_cast<const char*>(sqlite3_column_text(select, 1)),
                      sqlite3_column_bytes(select, 1));
      row.score = sqlite3_column_double(select, 2);
      row.wins = sqlite3_column_int64(select, 3);
      if (sqlite3_column_type(select, 4) != SQLITE_NULL) {
        row.note.emplace(reinterpret_cast<const char*>(sqlite3_column_text(select, 4)),
                         sqlite3_column_bytes(select, 4));
      }
    }
    check(result == SQLITE_DONE);
    sqlite3_finalize(select);
    expect_all(rows);
    benchmark::DoNotOptimize(rows.data());
  }
  sqlite3_close(db);
}

void rows_uncopyable(benchmark::State& state, Threading threading) {
  SqliteConnection db = open_uncopyable(threading);
  for (auto _ : state) {
    absl::StatusOr<std::vector<Player>> rows = db.query<Player>(kSelect);
    check(rows.ok());
    expect_all(*rows);
    benchmark::DoNotOptimize(rows->data());
  }
}

void rows_getters(benchmark::State& state, Threading threading) {
  SqliteConnection db = open_uncopyable(threading);
  for (auto _ : state) {
    uncopyable::Statement select = *db.prepare(kSelect);
    std::vector<Player> rows;
    while (*select.step()) {
      Player& row = rows.emplace_back();
      row.id = select.get_int64(0);
      row.name = select.get_text(1);
      row.score = select.get_double(2);
      row.wins = select.get_int64(3);
      if (!select.is_null(4)) row.note = select.get_text(4);
    }
    expect_all(rows);
    benchmark::DoNotOptimize(rows.data());
  }
}

void rows_sqlitecpp(benchmark::State& state, Threading threading) {
  SQLite::Database db(table(), threading == Threading::serialized
                                   ? SQLite::OPEN_READWRITE | SQLite::OPEN_FULLMUTEX
                                   : SQLite::OPEN_READWRITE | SQLite::OPEN_NOMUTEX);
  for (auto _ : state) {
    SQLite::Statement select(db, kSelect);
    std::vector<Player> rows;
    while (select.executeStep()) {
      Player& row = rows.emplace_back();
      row.id = select.getColumn(0).getInt64();
      row.name = select.getColumn(1).getString();
      row.score = select.getColumn(2).getDouble();
      row.wins = select.getColumn(3).getInt64();
      SQLite::Column note = select.getColumn(4);
      if (!note.isNull()) row.note = note.getString();
    }
    expect_all(rows);
    benchmark::DoNotOptimize(rows.data());
  }
}

#define ROWS_BENCHMARK(operation, contender, function, threading)                    \
  void BM_##operation##_##contender(benchmark::State& state) { function(state, threading); } \
  BENCHMARK(BM_##operation##_##contender)->Unit(benchmark::kMillisecond)

ROWS_BENCHMARK(SqliteRows100k, Raw, rows_raw, Threading::serialized);
ROWS_BENCHMARK(SqliteRows100k, Uncopyable, rows_uncopyable, Threading::serialized);
ROWS_BENCHMARK(SqliteRows100k, Getters, rows_getters, Threading::serialized);
ROWS_BENCHMARK(SqliteRows100k, SQLiteCpp, rows_sqlitecpp, Threading::serialized);
ROWS_BENCHMARK(SqliteRows100kNoMutex, Raw, rows_raw, Threading::multi_thread);
ROWS_BENCHMARK(SqliteRows100kNoMutex, Uncopyable, rows_uncopyable, Threading::multi_thread);
ROWS_BENCHMARK(SqliteRows100kNoMutex, Getters, rows_getters, Threading::multi_thread);
ROWS_BENCHMARK(SqliteRows100kNoMutex, SQLiteCpp, rows_sqlitecpp, Threading::multi_thread);

// ---------------------------------------------------------------------------
// PostgreSQL, on a private server. The same rows, made by the server.

// The table, made once on the program's server.
const std::string& pg_conninfo() {
  static const std::string info = [] {
    uncopyable::PostgresConnection db =
        *uncopyable::PostgresConnection::open(bench::server().config());
    check(db.execute("CREATE TABLE players (id bigint PRIMARY KEY, name text NOT NULL, "
                     "score double precision NOT NULL, wins bigint NOT NULL, note text); "
                     "INSERT INTO players SELECT g, 'player ' || g, g * 0.5, g % 17, "
                     "CASE WHEN g % 3 = 0 THEN NULL ELSE 'a note on the match' END "
                     "FROM generate_series(0, 99999) g; ANALYZE players")
              .ok());
    return bench::conninfo();
  }();
  return info;
}

template <typename T>
T parsed(const char* text, int size) {
  T value{};
  const auto [end, error] = std::from_chars(text, text + size, value);
  check(error == std::errc() && end == text + size);
  return value;
}

void pg_rows_raw(benchmark::State& state) {
  PGconn* c = PQconnectdb(pg_conninfo().c_str());
  check(PQstatus(c) == CONNECTION_OK);
  for (auto _ : state) {
    PGresult* r = PQexec(c, kSelect);
    check(PQresultStatus(r) == PGRES_TUPLES_OK && PQnfields(r) == 5);
    const int count = PQntuples(r);
    std::vector<Player> rows;
    rows.reserve(count);
    for (int i = 0; i < count; ++i) {
      Player& row = rows.emplace_back();
      row.id = parsed<int64_t>(PQgetvalue(r, i, 0), PQgetlength(r, i, 0));
      row.name.assign(PQgetvalue(r, i, 1), PQgetlength(r, i, 1));
      row.score = parsed<double>(PQgetvalue(r, i, 2), PQgetlength(r, i, 2));
      row.wins = parsed<int64_t>(PQgetvalue(r, i, 3), PQgetlength(r, i, 3));
      if (!PQgetisnull(r, i, 4)) row.note.emplace(PQgetvalue(r, i, 4), PQgetlength(r, i, 4));
    }
    PQclear(r);
    expect_all(rows);
    benchmark::DoNotOptimize(rows.data());
  }
  PQfinish(c);
}

void pg_rows_uncopyable(benchmark::State& state) {
  pg_conninfo();
  uncopyable::PostgresConnection db =
      *uncopyable::PostgresConnection::open(bench::server().config());
  for (auto _ : state) {
    absl::StatusOr<std::vector<Player>> rows = db.query<Player>(kSelect);
    check(rows.ok());
    expect_all(*rows);
    benchmark::DoNotOptimize(rows->data());
  }
}

void pg_rows_pqxx(benchmark::State& state) {
  pqxx::connection c(pg_conninfo());
  for (auto _ : state) {
    pqxx::nontransaction w(c);
    const pqxx::result r = w.exec(kSelect);
    std::vector<Player> rows;
    rows.reserve(r.size());
    for (const pqxx::row& field : r) {
      Player& row = rows.emplace_back();
      row.id = field[0].as<int64_t>();
      row.name = field[1].as<std::string>();
      row.score = field[2].as<double>();
      row.wins = field[3].as<int64_t>();
      if (!field[4].is_null()) row.note = field[4].as<std::string>();
    }
    expect_all(rows);
    benchmark::DoNotOptimize(rows.data());
  }
}

void BM_PgRows100k_Raw(benchmark::State& state) { pg_rows_raw(state); }
void BM_PgRows100k_Uncopyable(benchmark::State& state) { pg_rows_uncopyable(state); }
void BM_PgRows100k_Pqxx(benchmark::State& state) { pg_rows_pqxx(state); }
BENCHMARK(BM_PgRows100k_Raw)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_PgRows100k_Uncopyable)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_PgRows100k_Pqxx)->Unit(benchmark::kMillisecond);

}  // namespace
