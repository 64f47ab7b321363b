// SqliteConnection and PostgresConnection against the raw C APIs (sqlite3,
// libpq) and the usual C++ wrappers (SQLiteCpp, libpqxx), side by side:
//
//   ./bazelw run -c opt //benchmarks:database_benchmark --
//       --benchmark_repetitions=5 --benchmark_enable_random_interleaving=true
//       --benchmark_report_aggregates_only=true
//
// PostgreSQL runs on a private server this program starts (as the tests do),
// over a Unix socket. Results are in docs/benchmarks.md.
#include <libpq-fe.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cstdlib>
#include <memory>
#include <string>

#include "SQLiteCpp/SQLiteCpp.h"
#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "benchmarks/postgres_server.h"
#include "pqxx/pqxx"
#include "uncopyable/postgres.h"
#include "uncopyable/sqlite.h"

namespace {

using uncopyable::PostgresConfig;
using uncopyable::PostgresConnection;
using uncopyable::SqliteConfig;
using uncopyable::SqliteConnection;

// What each operation is, in words: printed above the results, and the row
// labels of //benchmarks:report.
const bool described = [] {
  benchmark::AddCustomContext("BM_SqliteOpen", "SQLite open (+ pragmas)");
  benchmark::AddCustomContext("BM_SqliteInsert100k", "SQLite 100 000-row insert, one transaction");
  benchmark::AddCustomContext("BM_SqlitePointSelect", "SQLite 1 000 point selects by key");
  benchmark::AddCustomContext("BM_SqlitePointSelectNoMutex",
                              "SQLite 1 000 point selects by key, multi-thread mode (no mutex)");
  benchmark::AddCustomContext("BM_SqliteColumns", "SQLite 1 000 column reads of one row");
  benchmark::AddCustomContext("BM_SqliteColumnsNoMutex",
                              "SQLite 1 000 column reads of one row, multi-thread mode (no mutex)");
  benchmark::AddCustomContext("BM_SqliteExecute",
                              "SQLite 1 000 runs of two-statement SQL text, no values");
  benchmark::AddCustomContext("BM_PgConnect", "PostgreSQL connect");
  benchmark::AddCustomContext("BM_PgInsert100k",
                              "PostgreSQL 100 000 prepared inserts, one transaction");
  benchmark::AddCustomContext("BM_PgPointSelect",
                              "PostgreSQL 1 000 point selects by key over 100 000 rows");
  // What each contender is, for //benchmarks:report (see benchmarks/report.h).
  benchmark::AddCustomContext("contender Uncopyable", "uncopyable: uncopyable");
  benchmark::AddCustomContext("contender SQLiteCpp", "peer: SQLiteCpp");
  benchmark::AddCustomContext("contender Pqxx", "peer: libpqxx");
  return true;
}();

constexpr int kRows = 100000;
constexpr int kPgRows = 100000;  // one network round trip each
constexpr int kLookups = 1000;

void check(bool ok) {
  if (!ok) std::abort();
}

// ---------------------------------------------------------------------------
// SQLite: a scratch file per benchmark, in WAL mode for every contender.

class ScratchFile {
 public:
  ScratchFile() : path_("/tmp/uncopyable_db_benchmark_" + std::to_string(::getpid()) + ".db") {
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

constexpr char kPragmas[] =
    "PRAGMA foreign_keys=ON; PRAGMA synchronous=NORMAL; PRAGMA journal_mode=WAL;";

void BM_SqliteOpen_Raw(benchmark::State& state) {
  ScratchFile file;
  for (auto _ : state) {
    sqlite3* db = nullptr;
    check(sqlite3_open_v2(file.path().c_str(), &db,
                          SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_URI |
                              SQLITE_OPEN_FULLMUTEX,
                          nullptr) == SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    check(sqlite3_exec(db, kPragmas, nullptr, nullptr, nullptr) == SQLITE_OK);
    sqlite3_close(db);
  }
}
BENCHMARK(BM_SqliteOpen_Raw);

void BM_SqliteOpen_Uncopyable(benchmark::State& state) {
  ScratchFile file;
  const SqliteConfig config{.path = file.path()};
  for (auto _ : state) check(SqliteConnection::open(config).ok());
}
BENCHMARK(BM_SqliteOpen_Uncopyable);

void BM_SqliteOpen_SQLiteCpp(benchmark::State& state) {
  ScratchFile file;
  for (auto _ : state) {
    SQLite::Database db(file.path(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE | SQLite::OPEN_FULLMUTEX, 5000);
    db.exec(kPragmas);
  }
}
BENCHMARK(BM_SqliteOpen_SQLiteCpp);

constexpr char kCreate[] = "CREATE TABLE players (id INTEGER PRIMARY KEY, name TEXT)";
constexpr char kInsert[] = "INSERT INTO players (id, name) VALUES (?, ?)";
constexpr char kSelect[] = "SELECT name FROM players WHERE id = ?";

// 100 000 rows in one transaction, a prepared insert, an int and a text each.
void BM_SqliteInsert100k_Raw(benchmark::State& state) {
  for (auto _ : state) {
    state.PauseTiming();
    ScratchFile file;
    sqlite3* db = nullptr;
    sqlite3_open_v2(file.path().c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
    sqlite3_exec(db, kPragmas, nullptr, nullptr, nullptr);
    sqlite3_exec(db, kCreate, nullptr, nullptr, nullptr);
    state.ResumeTiming();
    check(sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr) == SQLITE_OK);
    sqlite3_stmt* insert = nullptr;
    sqlite3_prepare_v2(db, kInsert, -1, &insert, nullptr);
    for (int i = 0; i < kRows; ++i) {
      sqlite3_bind_int64(insert, 1, i);
      sqlite3_bind_text(insert, 2, "player", 6, SQLITE_TRANSIENT);
      check(sqlite3_step(insert) == SQLITE_DONE);
      sqlite3_reset(insert);
    }
    sqlite3_finalize(insert);
    check(sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr) == SQLITE_OK);
    state.PauseTiming();
    sqlite3_close(db);
    state.ResumeTiming();
  }
}
BENCHMARK(BM_SqliteInsert100k_Raw)->Unit(benchmark::kMillisecond);

void BM_SqliteInsert100k_Uncopyable(benchmark::State& state) {
  for (auto _ : state) {
    state.PauseTiming();
    ScratchFile file;
    std::optional<SqliteConnection> db(*SqliteConnection::open({.path = file.path()}));
    check(db->execute(kCreate).ok());
    state.ResumeTiming();
    {
      uncopyable::Transaction tx = *db->begin();
      uncopyable::Statement insert = *db->prepare(kInsert);
      for (int i = 0; i < kRows; ++i) {
        check(insert.bind(1, int64_t{i}).ok() && insert.bind(2, "player").ok());
        check(insert.run().ok());
      }
      check(tx.commit().ok());
    }
    state.PauseTiming();
    db.reset();
    state.ResumeTiming();
  }
}
BENCHMARK(BM_SqliteInsert100k_Uncopyable)->Unit(benchmark::kMillisecond);

void BM_SqliteInsert100k_SQLiteCpp(benchmark::State& state) {
  for (auto _ : state) {
    state.PauseTiming();
    ScratchFile file;
    std::optional<SQLite::Database> db(std::in_place, file.path(),
                                       SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    db->exec(kPragmas);
    db->exec(kCreate);
    state.ResumeTiming();
    {
      SQLite::Transaction tx(*db);
      SQLite::Statement insert(*db, kInsert);
      for (int i = 0; i < kRows; ++i) {
        insert.bind(1, static_cast<int64_t>(i));
        insert.bind(2, "player");
        insert.exec();
        insert.reset();
      }
      tx.commit();
    }
    state.PauseTiming();
    db.reset();
    state.ResumeTiming();
  }
}
BENCHMARK(BM_SqliteInsert100k_SQLiteCpp)->Unit(benchmark::kMillisecond);

// A filled table shared by the point-select benchmarks.
const std::string& lookup_table() {
  static const std::string path = [] {
    std::string p = "/tmp/uncopyable_db_benchmark_lookup_" + std::to_string(::getpid()) + ".db";
    for (const char* suffix : {"", "-wal", "-shm"}) ::unlink((p + suffix).c_str());
    SqliteConnection db = *SqliteConnection::open({.path = p});
    check(db.execute(kCreate).ok());
    uncopyable::Transaction tx = *db.begin();
    uncopyable::Statement insert = *db.prepare(kInsert);
    for (int i = 0; i < kRows; ++i) check(insert.bind_all(i, "player").ok() && insert.run().ok());
    check(tx.commit().ok());
    std::atexit([] {
      for (const char* suffix : {"", "-wal", "-shm"}) ::unlink((lookup_table() + suffix).c_str());
    });
    return p;
  }();
  return path;
}

// 1 000 lookups by primary key, one prepared SELECT.
void BM_SqlitePointSelect_Raw(benchmark::State& state) {
  sqlite3* db = nullptr;
  sqlite3_open_v2(lookup_table().c_str(), &db, SQLITE_OPEN_READWRITE, nullptr);
  sqlite3_stmt* select = nullptr;
  sqlite3_prepare_v2(db, kSelect, -1, &select, nullptr);
  for (auto _ : state) {
    for (int i = 0; i < kLookups; ++i) {
      sqlite3_bind_int64(select, 1, (i * 7919) % kRows);
      check(sqlite3_step(select) == SQLITE_ROW);
      benchmark::DoNotOptimize(std::string(reinterpret_cast<const char*>(sqlite3_column_text(select, 0))));
      sqlite3_reset(select);
    }
  }
  sqlite3_finalize(select);
  sqlite3_close(db);
}
BENCHMARK(BM_SqlitePointSelect_Raw);

void BM_SqlitePointSelect_Uncopyable(benchmark::State& state) {
  SqliteConnection db = *SqliteConnection::open({.path = lookup_table(), .mode = uncopyable::SqliteMode::rw});
  {
    uncopyable::Statement select = *db.prepare(kSelect);
    for (auto _ : state) {
      for (int i = 0; i < kLookups; ++i) {
        check(select.bind(1, int64_t{(i * 7919) % kRows}).ok());
        check(*select.step());
        benchmark::DoNotOptimize(select.get_text(0));
        check(select.reset().ok());
      }
    }
  }
}
BENCHMARK(BM_SqlitePointSelect_Uncopyable);

void BM_SqlitePointSelect_SQLiteCpp(benchmark::State& state) {
  SQLite::Database db(lookup_table(), SQLite::OPEN_READWRITE);
  SQLite::Statement select(db, kSelect);
  for (auto _ : state) {
    for (int i = 0; i < kLookups; ++i) {
      select.bind(1, static_cast<int64_t>((i * 7919) % kRows));
      check(select.executeStep());
      benchmark::DoNotOptimize(select.getColumn(0).getString());
      select.reset();
    }
  }
}
BENCHMARK(BM_SqlitePointSelect_SQLiteCpp);

// The same lookups on a connection opened without SQLite's mutex
// (SQLITE_OPEN_NOMUTEX; uncopyable's SqliteThreading::multi_thread, whose
// calls check that one thread at a time uses the connection).
void BM_SqlitePointSelectNoMutex_Raw(benchmark::State& state) {
  sqlite3* db = nullptr;
  sqlite3_open_v2(lookup_table().c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
                  nullptr);
  sqlite3_stmt* select = nullptr;
  sqlite3_prepare_v2(db, kSelect, -1, &select, nullptr);
  for (auto _ : state) {
    for (int i = 0; i < kLookups; ++i) {
      sqlite3_bind_int64(select, 1, (i * 7919) % kRows);
      check(sqlite3_step(select) == SQLITE_ROW);
      benchmark::DoNotOptimize(std::string(reinterpret_cast<const char*>(sqlite3_column_text(select, 0))));
      sqlite3_reset(select);
    }
  }
  sqlite3_finalize(select);
  sqlite3_close(db);
}
BENCHMARK(BM_SqlitePointSelectNoMutex_Raw);

void BM_SqlitePointSelectNoMutex_Uncopyable(benchmark::State& state) {
  SqliteConnection db = *SqliteConnection::open({.path = lookup_table(),
                                                 .mode = uncopyable::SqliteMode::rw,
                                                 .threading = uncopyable::SqliteThreading::multi_thread});
  {
    uncopyable::Statement select = *db.prepare(kSelect);
    for (auto _ : state) {
      for (int i = 0; i < kLookups; ++i) {
        check(select.bind(1, int64_t{(i * 7919) % kRows}).ok());
        check(*select.step());
        benchmark::DoNotOptimize(select.get_text(0));
        check(select.reset().ok());
      }
    }
  }
}
BENCHMARK(BM_SqlitePointSelectNoMutex_Uncopyable);

// Reading the columns of the current row: the accessors' own cost (their
// checks: a current row, a column in range, one thread), next to SQLite's.
constexpr char kRow[] = "SELECT 1, 2, 3, 4";

void columns_raw(benchmark::State& state, int threading_flag) {
  sqlite3* db = nullptr;
  sqlite3_open_v2(":memory:", &db, SQLITE_OPEN_READWRITE | threading_flag, nullptr);
  sqlite3_stmt* row = nullptr;
  sqlite3_prepare_v2(db, kRow, -1, &row, nullptr);
  check(sqlite3_step(row) == SQLITE_ROW);
  for (auto _ : state) {
    int64_t sum = 0;
    for (int i = 0; i < kLookups; ++i) sum += sqlite3_column_int64(row, i & 3);
    benchmark::DoNotOptimize(sum);
  }
  sqlite3_finalize(row);
  sqlite3_close(db);
}

void columns_uncopyable(benchmark::State& state, uncopyable::SqliteThreading threading) {
  SqliteConnection db = *SqliteConnection::open({.path = ":memory:", .threading = threading});
  {
    uncopyable::Statement row = *db.prepare(kRow);
    check(*row.step());
    for (auto _ : state) {
      int64_t sum = 0;
      for (int i = 0; i < kLookups; ++i) sum += row.get_int64(i & 3);
      benchmark::DoNotOptimize(sum);
    }
  }
}

void BM_SqliteColumns_Raw(benchmark::State& state) { columns_raw(state, SQLITE_OPEN_FULLMUTEX); }
BENCHMARK(BM_SqliteColumns_Raw);
void BM_SqliteColumns_Uncopyable(benchmark::State& state) {
  columns_uncopyable(state, uncopyable::SqliteThreading::serialized);
}
BENCHMARK(BM_SqliteColumns_Uncopyable);
void BM_SqliteColumnsNoMutex_Raw(benchmark::State& state) {
  columns_raw(state, SQLITE_OPEN_NOMUTEX);
}
BENCHMARK(BM_SqliteColumnsNoMutex_Raw);
void BM_SqliteColumnsNoMutex_Uncopyable(benchmark::State& state) {
  columns_uncopyable(state, uncopyable::SqliteThreading::multi_thread);
}
BENCHMARK(BM_SqliteColumnsNoMutex_Uncopyable);

// SQL text with no values, run whole (execute(sql), sqlite3_exec): each
// statement compiled, stepped to the end and finalized, in memory.
constexpr char kScript[] = "INSERT INTO t VALUES (1, 'player'); DELETE FROM t WHERE id = 1";
constexpr char kScriptTable[] = "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)";

void BM_SqliteExecute_Raw(benchmark::State& state) {
  sqlite3* db = nullptr;
  sqlite3_open_v2(":memory:", &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX, nullptr);
  check(sqlite3_exec(db, kScriptTable, nullptr, nullptr, nullptr) == SQLITE_OK);
  for (auto _ : state) {
    for (int i = 0; i < kLookups; ++i) {
      check(sqlite3_exec(db, kScript, nullptr, nullptr, nullptr) == SQLITE_OK);
    }
  }
  sqlite3_close(db);
}
BENCHMARK(BM_SqliteExecute_Raw);

void BM_SqliteExecute_Uncopyable(benchmark::State& state) {
  SqliteConnection db = *SqliteConnection::open({.path = ":memory:"});
  check(db.execute(kScriptTable).ok());
  for (auto _ : state) {
    for (int i = 0; i < kLookups; ++i) check(db.execute(kScript).ok());
  }
}
BENCHMARK(BM_SqliteExecute_Uncopyable);

void BM_SqliteExecute_SQLiteCpp(benchmark::State& state) {
  SQLite::Database db(":memory:", SQLite::OPEN_READWRITE);
  db.exec(kScriptTable);
  for (auto _ : state) {
    for (int i = 0; i < kLookups; ++i) db.exec(kScript);
  }
}
BENCHMARK(BM_SqliteExecute_SQLiteCpp);

// ---------------------------------------------------------------------------
// PostgreSQL, on a private server.

using bench::conninfo;
using bench::server;

void BM_PgConnect_Raw(benchmark::State& state) {
  const std::string info = conninfo();
  for (auto _ : state) {
    PGconn* c = PQconnectdb(info.c_str());
    check(PQstatus(c) == CONNECTION_OK);
    PQfinish(c);
  }
}
BENCHMARK(BM_PgConnect_Raw)->Unit(benchmark::kMicrosecond);

void BM_PgConnect_Uncopyable(benchmark::State& state) {
  const PostgresConfig config = server().config();
  for (auto _ : state) check(PostgresConnection::open(config).ok());
}
BENCHMARK(BM_PgConnect_Uncopyable)->Unit(benchmark::kMicrosecond);

void BM_PgConnect_Pqxx(benchmark::State& state) {
  const std::string info = conninfo();
  for (auto _ : state) pqxx::connection c(info);
}
BENCHMARK(BM_PgConnect_Pqxx)->Unit(benchmark::kMicrosecond);

void reset_pg_table() {
  PostgresConnection db = *PostgresConnection::open(server().config());
  check(db.execute("DROP TABLE IF EXISTS players; CREATE TABLE players (id int PRIMARY KEY, name text)").ok());
}

// 100 000 rows in one transaction, a prepared insert each (a round trip each).
void BM_PgInsert100k_Raw(benchmark::State& state) {
  reset_pg_table();  // the table the statement names must exist to prepare it
  PGconn* c = PQconnectdb(conninfo().c_str());
  PGresult* prepared = PQprepare(c, "insert", "INSERT INTO players VALUES ($1, $2)", 2, nullptr);
  check(PQresultStatus(prepared) == PGRES_COMMAND_OK);
  PQclear(prepared);
  for (auto _ : state) {
    state.PauseTiming();
    reset_pg_table();
    state.ResumeTiming();
    PQclear(PQexec(c, "BEGIN"));
    for (int i = 0; i < kPgRows; ++i) {
      const std::string id = std::to_string(i);
      const char* values[] = {id.c_str(), "player"};
      PGresult* r = PQexecPrepared(c, "insert", 2, values, nullptr, nullptr, 0);
      check(PQresultStatus(r) == PGRES_COMMAND_OK);
      PQclear(r);
    }
    PQclear(PQexec(c, "COMMIT"));
  }
  PQfinish(c);
}
BENCHMARK(BM_PgInsert100k_Raw)->Unit(benchmark::kMillisecond);

void BM_PgInsert100k_Uncopyable(benchmark::State& state) {
  PostgresConnection db = *PostgresConnection::open(server().config());
  for (auto _ : state) {
    state.PauseTiming();
    reset_pg_table();
    state.ResumeTiming();
    uncopyable::PostgresStatement insert = *db.prepare("INSERT INTO players VALUES ($1, $2)");
    uncopyable::PostgresTransaction tx = *db.begin();
    for (int i = 0; i < kPgRows; ++i) check(insert.execute({std::to_string(i), "player"}).ok());
    check(tx.commit().ok());
  }
}
BENCHMARK(BM_PgInsert100k_Uncopyable)->Unit(benchmark::kMillisecond);

void BM_PgInsert100k_Pqxx(benchmark::State& state) {
  reset_pg_table();
  pqxx::connection c(conninfo());
  c.prepare("insert", "INSERT INTO players VALUES ($1, $2)");
  for (auto _ : state) {
    state.PauseTiming();
    reset_pg_table();
    state.ResumeTiming();
    pqxx::work w(c);
    for (int i = 0; i < kPgRows; ++i) w.exec_prepared("insert", i, "player");
    w.commit();
  }
}
BENCHMARK(BM_PgInsert100k_Pqxx)->Unit(benchmark::kMillisecond);

// 1 000 lookups by primary key over 100 000 rows, one prepared SELECT.
void fill_pg_table() {
  reset_pg_table();
  PostgresConnection db = *PostgresConnection::open(server().config());
  check(db.execute("INSERT INTO players SELECT g, 'player' FROM generate_series(0, 99999) g").ok());
}

void BM_PgPointSelect_Raw(benchmark::State& state) {
  fill_pg_table();
  PGconn* c = PQconnectdb(conninfo().c_str());
  PQclear(PQprepare(c, "select", "SELECT name FROM players WHERE id = $1", 1, nullptr));
  for (auto _ : state) {
    for (int i = 0; i < kLookups; ++i) {
      const std::string id = std::to_string((i * 7919) % kPgRows);
      const char* values[] = {id.c_str()};
      PGresult* r = PQexecPrepared(c, "select", 1, values, nullptr, nullptr, 0);
      check(PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1);
      benchmark::DoNotOptimize(std::string(PQgetvalue(r, 0, 0)));
      PQclear(r);
    }
  }
  PQfinish(c);
}
BENCHMARK(BM_PgPointSelect_Raw)->Unit(benchmark::kMillisecond);

void BM_PgPointSelect_Uncopyable(benchmark::State& state) {
  fill_pg_table();
  PostgresConnection db = *PostgresConnection::open(server().config());
  uncopyable::PostgresStatement select = *db.prepare("SELECT name FROM players WHERE id = $1");
  for (auto _ : state) {
    for (int i = 0; i < kLookups; ++i) {
      absl::StatusOr<uncopyable::PostgresResult> row =
          select.execute({std::to_string((i * 7919) % kPgRows)});
      check(row.ok() && row->rows() == 1);
      benchmark::DoNotOptimize(row->get_text(0, 0));
    }
  }
}
BENCHMARK(BM_PgPointSelect_Uncopyable)->Unit(benchmark::kMillisecond);

void BM_PgPointSelect_Pqxx(benchmark::State& state) {
  fill_pg_table();
  pqxx::connection c(conninfo());
  c.prepare("select", "SELECT name FROM players WHERE id = $1");
  for (auto _ : state) {
    pqxx::nontransaction w(c);
    for (int i = 0; i < kLookups; ++i) {
      pqxx::result r = w.exec_prepared("select", (i * 7919) % kPgRows);
      check(r.size() == 1);
      benchmark::DoNotOptimize(r[0][0].as<std::string>());
    }
  }
}
BENCHMARK(BM_PgPointSelect_Pqxx)->Unit(benchmark::kMillisecond);

}  // namespace
