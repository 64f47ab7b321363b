// The statement cache (statement_cache_size, issue 16): a query form whose
// SQL text is in the cache (a hit) against the same call preparing it each
// time (statement_cache_size = 0), SQLite and PostgreSQL side by side, with
// a hand-held statement prepared once through the C API for scale:
//
//   ./bazelw run -c opt //benchmarks:statement_cache_benchmark --
//       --benchmark_repetitions=5 --benchmark_enable_random_interleaving=true
//       --benchmark_report_aggregates_only=true
//
// PostgreSQL runs on a private server this program starts (as the tests do),
// over a Unix socket. Results are in docs/benchmarks.md.
#include <libpq-fe.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "tests/testing/postgres_server.h"
#include "uncopyable/postgres.h"
#include "uncopyable/sqlite.h"

namespace {

using uncopyable::PostgresConfig;
using uncopyable::PostgresConnection;
using uncopyable::SqliteConfig;
using uncopyable::SqliteConnection;

const bool described = [] {
  benchmark::AddCustomContext("BM_SqliteCachedSelect",
                              "SQLite query_value() of a point select by key, one call");
  benchmark::AddCustomContext("BM_PgCachedSelect",
                              "PostgreSQL query_value() of a point select by key, one call");
  benchmark::AddCustomContext("contender PrepareEachTime",
                              "baseline: statement_cache_size = 0 (prepared on each call)");
  benchmark::AddCustomContext("contender Cached",
                              "uncopyable: statement_cache_size = 32 (a hit)");
  benchmark::AddCustomContext("contender RawPreparedOnce",
                              "baseline variant: C API, one statement prepared once and reused");
  return true;
}();

constexpr int kRows = 1000;
constexpr char kSelect[] =
    "SELECT name FROM players WHERE id = ? AND rating >= 0 ORDER BY id LIMIT 1";
constexpr char kPgSelect[] =
    "SELECT name FROM players WHERE id = $1 AND rating >= 0 ORDER BY id LIMIT 1";

void check(bool ok) {
  if (!ok) std::abort();
}

// ---------------------------------------------------------------------------
// SQLite: a scratch file in WAL mode.

class ScratchFile {
 public:
  ScratchFile()
      : path_("/tmp/uncopyable_cache_benchmark_" + std::to_string(::getpid()) + ".db") {
    remove_all();
  }
  ~ScratchFile() { remove_all(); }
  const std::string& path() const { return path_; }

 private:
  void remove_all() {
    for (const char* suffix : {"", "-wal", "-shm"}) ::unlink((path_ + suffix).c_str());
  }
  std::string path_;
};

SqliteConnection sqlite_with_players(const std::string& path, int cache_size) {
  absl::StatusOr<SqliteConnection> db =
      SqliteConnection::open({.path = path, .statement_cache_size = cache_size});
  check(db.ok());
  check(db->execute("CREATE TABLE IF NOT EXISTS players "
                    "(id INTEGER PRIMARY KEY, name TEXT, rating REAL)")
            .ok());
  check(db->execute("DELETE FROM players").ok());
  check(db->execute(absl::StrCat("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
                                 "WHERE i < ",
                                 kRows, ") INSERT INTO players SELECT i, 'player ' || i, i FROM n"))
            .ok());
  return *std::move(db);
}

void sqlite_select(benchmark::State& state, int cache_size) {
  ScratchFile file;
  SqliteConnection db = sqlite_with_players(file.path(), cache_size);
  int64_t id = 0;
  for (auto _ : state) {
    absl::StatusOr<std::string> name = db.query_value<std::string>(kSelect, id % kRows + 1);
    check(name.ok());
    benchmark::DoNotOptimize(name);
    ++id;
  }
}

void BM_SqliteCachedSelect_PrepareEachTime(benchmark::State& state) { sqlite_select(state, 0); }
BENCHMARK(BM_SqliteCachedSelect_PrepareEachTime);

void BM_SqliteCachedSelect_Cached(benchmark::State& state) { sqlite_select(state, 32); }
BENCHMARK(BM_SqliteCachedSelect_Cached);

void BM_SqliteCachedSelect_RawPreparedOnce(benchmark::State& state) {
  ScratchFile file;
  { SqliteConnection made = sqlite_with_players(file.path(), 0); }
  sqlite3* db = nullptr;
  check(sqlite3_open_v2(file.path().c_str(), &db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_URI | SQLITE_OPEN_FULLMUTEX,
                        nullptr) == SQLITE_OK);
  sqlite3_stmt* select = nullptr;
  check(sqlite3_prepare_v2(db, kSelect, -1, &select, nullptr) == SQLITE_OK);
  int64_t id = 0;
  for (auto _ : state) {
    check(sqlite3_bind_int64(select, 1, id % kRows + 1) == SQLITE_OK);
    check(sqlite3_step(select) == SQLITE_ROW);
    std::string name(reinterpret_cast<const char*>(sqlite3_column_text(select, 0)),
                     static_cast<size_t>(sqlite3_column_bytes(select, 0)));
    check(sqlite3_step(select) == SQLITE_DONE);
    sqlite3_reset(select);
    benchmark::DoNotOptimize(name);
    ++id;
  }
  sqlite3_finalize(select);
  sqlite3_close(db);
}
BENCHMARK(BM_SqliteCachedSelect_RawPreparedOnce);

// ---------------------------------------------------------------------------
// PostgreSQL: a private server, over a Unix socket.

uncopyable::testing::PostgresServer& server() {
  static uncopyable::testing::PostgresServer* running = [] {
    auto started = uncopyable::testing::PostgresServer::start();
    if (!started.ok()) {
      std::fprintf(stderr, "%s\n", started.status().ToString().c_str());
      std::abort();
    }
    auto* s = started->release();
    std::atexit([] { delete &server(); });
    return s;
  }();
  return *running;
}

PostgresConnection postgres_with_players(int cache_size) {
  PostgresConfig config = server().config();
  config.statement_cache_size = cache_size;
  absl::StatusOr<PostgresConnection> db = PostgresConnection::open(config);
  check(db.ok());
  check(db->execute(absl::StrCat(
                        "DROP TABLE IF EXISTS players; "
                        "CREATE TABLE players (id int8 PRIMARY KEY, name text, rating float8); "
                        "INSERT INTO players SELECT i, 'player ' || i, i "
                        "FROM generate_series(1, ",
                        kRows, ") i; ANALYZE players"))
            .ok());
  return *std::move(db);
}

void postgres_select(benchmark::State& state, int cache_size) {
  PostgresConnection db = postgres_with_players(cache_size);
  int64_t id = 0;
  for (auto _ : state) {
    absl::StatusOr<std::string> name = db.query_value<std::string>(kPgSelect, id % kRows + 1);
    check(name.ok());
    benchmark::DoNotOptimize(name);
    ++id;
  }
}

void BM_PgCachedSelect_PrepareEachTime(benchmark::State& state) { postgres_select(state, 0); }
BENCHMARK(BM_PgCachedSelect_PrepareEachTime)->Unit(benchmark::kMicrosecond);

void BM_PgCachedSelect_Cached(benchmark::State& state) { postgres_select(state, 32); }
BENCHMARK(BM_PgCachedSelect_Cached)->Unit(benchmark::kMicrosecond);

void BM_PgCachedSelect_RawPreparedOnce(benchmark::State& state) {
  { PostgresConnection made = postgres_with_players(0); }
  const PostgresConfig c = server().config();
  const std::string info =
      absl::StrCat("host=", c.host, " port=", c.port, " dbname=", c.dbname, " user=", c.user,
                   " password=", c.password.reveal(), " sslmode=disable");
  PGconn* conn = PQconnectdb(info.c_str());
  check(PQstatus(conn) == CONNECTION_OK);
  const Oid types[] = {20};  // int8
  PGresult* prepared = PQprepare(conn, "select_player", kPgSelect, 1, types);
  check(PQresultStatus(prepared) == PGRES_COMMAND_OK);
  PQclear(prepared);
  int64_t id = 0;
  for (auto _ : state) {
    const std::string key = std::to_string(id % kRows + 1);
    const char* values[] = {key.c_str()};
    PGresult* result = PQexecPrepared(conn, "select_player", 1, values, nullptr, nullptr, 0);
    check(PQresultStatus(result) == PGRES_TUPLES_OK && PQntuples(result) == 1);
    std::string name(PQgetvalue(result, 0, 0), static_cast<size_t>(PQgetlength(result, 0, 0)));
    PQclear(result);
    benchmark::DoNotOptimize(name);
    ++id;
  }
  PQfinish(conn);
}
BENCHMARK(BM_PgCachedSelect_RawPreparedOnce)->Unit(benchmark::kMicrosecond);

}  // namespace
