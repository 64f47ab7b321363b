// The private PostgreSQL server of a benchmark program (as the tests start
// theirs): started on first use, stopped and removed at exit, reached over
// a Unix socket with a password.
#ifndef UNCOPYABLE_BENCHMARKS_POSTGRES_SERVER_H_
#define UNCOPYABLE_BENCHMARKS_POSTGRES_SERVER_H_

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "tests/testing/postgres_server.h"
#include "uncopyable/postgres.h"

namespace bench {

// The server; a program that cannot start it aborts with the reason.
inline uncopyable::testing::PostgresServer& server() {
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

// libpq's connection string for it, for the raw and libpqxx contenders.
inline std::string conninfo() {
  const uncopyable::PostgresConfig c = server().config();
  return absl::StrCat("host=", c.host, " port=", c.port, " dbname=", c.dbname, " user=", c.user,
                      " password=", c.password.reveal(), " sslmode=disable");
}

}  // namespace bench

#endif  // UNCOPYABLE_BENCHMARKS_POSTGRES_SERVER_H_
