// Connection pools side by side (issue 15), on one PostgreSQL server this
// program starts, reached over TCP on 127.0.0.1 by every contender:
//
//   ./bazelw run -c opt //benchmarks:pool_benchmark --
//       --benchmark_repetitions=5 --benchmark_enable_random_interleaving=true
//       --benchmark_report_aggregates_only=true
//
// Two operations, each at 1, 2, 8 and 32 threads sharing one pool of 16:
//   BM_AcquireRelease  take a connection from the pool and give it back
//   BM_Select1         the same with SELECT 1 run (and its row read) between
// Time is per operation, all threads together (wall time / operations).
// Contenders:
//   Stack      the floor: 16 libpq connections on a mutex-guarded stack (a
//              condition variable for the threads that find it empty)
//   Fresh      no pool: PQconnectdb + PQfinish for every operation
//   Pool       uncopyable::Pool<PostgresConnection>
//   Soci       SOCI 4.0's soci::connection_pool (soci::session leased from it)
//   HikariCP   HikariCP 2.7 + PostgreSQL JDBC 42.5 in a JVM, driven by this
//              program through benchmarks/hikari/PoolBench.java (compiled
//              with javac on first use); its runs are timed in the JVM and
//              reported here as manual time
//   PgBouncer  (BM_Select1 only) pgbouncer 1.18 in transaction pooling mode
//              with a server pool of 16, started by this program; each
//              operation is a fresh libpq connection to pgbouncer, as a
//              client that relies on an external pooler makes
//   PgBouncerKept  (BM_Select1 only) the same pgbouncer, each thread keeping
//              one connection to it: pgbouncer lends a server connection
//              per transaction (here per SELECT 1)
// Every contender also reports the counter cpu_ns: the CPU time of the
// client process per operation (this program's for the C++ contenders, the
// JVM's for HikariCP, this program's plus pgbouncer's for PgBouncer). The
// server's own CPU time is in none of them.
//
// Only one contender holds connections at a time: switching to another
// closes the previous one's, so the server (max_connections 100) never sees
// more than 16 pooled plus 32 fresh ones.
//
// Results are in docs/benchmarks.md ("Pools").
#include <fcntl.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <grp.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "benchmark/benchmark.h"
#include "soci/connection-pool.h"
#include "soci/postgresql/soci-postgresql.h"
#include "soci/soci.h"
#include "tests/testing/postgres_server.h"
#include "uncopyable/pool.h"
#include "uncopyable/postgres.h"
#include "uncopyable/sqlite.h"

namespace {

using uncopyable::PostgresConfig;
using uncopyable::PostgresConnection;

constexpr int kPoolSize = 16;

// What each operation and contender is, in words: printed above the
// results, and the row and column labels of //benchmarks:report.
const bool described = [] {
  benchmark::AddCustomContext("BM_AcquireRelease",
                              "PostgreSQL pool of 16: acquire + release, no query");
  benchmark::AddCustomContext("BM_Select1", "PostgreSQL pool of 16: acquire + SELECT 1 + release");
  benchmark::AddCustomContext("BM_SqliteAcquireRelease",
                              "SQLite :memory: pool of 16: acquire + release, one thread");
  benchmark::AddCustomContext("contender Stack",
                              "baseline: floor, a mutex-guarded stack of 16 `PGconn*`");
  benchmark::AddCustomContext("contender Fresh",
                              "baseline variant: no pool, `PQconnectdb` + `PQfinish` each time");
  benchmark::AddCustomContext("contender Pool", "uncopyable: `uncopyable::Pool`");
  benchmark::AddCustomContext("contender Soci", "peer: SOCI 4.0 `connection_pool`");
  benchmark::AddCustomContext("contender HikariCP", "peer: HikariCP 2.7 (Java, JDBC 42.5)");
  benchmark::AddCustomContext("contender PgBouncer",
                              "peer: pgbouncer 1.18, transaction mode, a connection to it each time");
  benchmark::AddCustomContext("contender PgBouncerKept",
                              "peer: pgbouncer 1.18, transaction mode, a connection to it per thread");
  return true;
}();

void stop_server();

// Says why, stops the server (pgbouncer has PR_SET_PDEATHSIG, the JVM ends
// when its stdin closes) and aborts.
[[noreturn]] void die(const std::string& why) {
  std::fprintf(stderr, "pool_benchmark: %s\n", why.c_str());
  std::fflush(stderr);
  static std::atomic<bool> dying{false};
  if (!dying.exchange(true)) stop_server();
  std::abort();
}

void check(bool ok, const char* what) {
  if (!ok) die(what);
}

const char* g_argv0 = "";

// ---------------------------------------------------------------------------
// The server, started on first use (so that --benchmark_list_tests starts
// nothing) and stopped at the end of main().

std::unique_ptr<uncopyable::testing::PostgresServer> g_server;

void stop_server() { g_server.reset(); }

const PostgresConfig& pg() {
  static const PostgresConfig config = [] {
    absl::StatusOr<std::unique_ptr<uncopyable::testing::PostgresServer>> started =
        uncopyable::testing::PostgresServer::start(/*tcp=*/true);
    if (!started.ok()) die(started.status().ToString());
    g_server = *std::move(started);
    return g_server->tcp_config();
  }();
  return config;
}

std::string libpq_conninfo(const std::string& host, int port) {
  return absl::StrCat("host=", host, " port=", port, " dbname=", pg().dbname, " user=", pg().user,
                      " password=", pg().password.reveal(), " sslmode=disable");
}

const std::string& conninfo() {
  static const std::string info = libpq_conninfo(pg().host, pg().port);
  return info;
}

PGconn* connect_libpq(const std::string& info) {
  PGconn* c = PQconnectdb(info.c_str());
  if (PQstatus(c) != CONNECTION_OK) die(absl::StrCat("connect: ", PQerrorMessage(c)));
  return c;
}

void select1_libpq(PGconn* c) {
  PGresult* r = PQexec(c, "SELECT 1");
  check(PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 &&
            std::strcmp(PQgetvalue(r, 0, 0), "1") == 0,
        "SELECT 1 through libpq failed");
  PQclear(r);
}

// ---------------------------------------------------------------------------
// Child processes: spawned with pipes or a log file, stopped with bounded
// waits.

// Waits (at most `limit`) for the child to end; kills it if it does not.
void reap(pid_t pid, absl::Duration limit) {
  const absl::Time deadline = absl::Now() + limit;
  int status = 0;
  while (::waitpid(pid, &status, WNOHANG) == 0) {
    if (absl::Now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      return;
    }
    absl::SleepFor(absl::Milliseconds(10));
  }
}

// Runs argv to its end (at most `limit`), its output into `log`; true if it
// exited with 0.
bool run_to_end(const std::vector<std::string>& argv, const std::string& log,
                absl::Duration limit) {
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) return false;
  if (pid == 0) {
    const int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (out >= 0) {
      ::dup2(out, 1);
      ::dup2(out, 2);
    }
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  const absl::Time deadline = absl::Now() + limit;
  int status = 0;
  while (::waitpid(pid, &status, WNOHANG) == 0) {
    if (absl::Now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      return false;
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

std::string read_all(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

bool exists(const std::string& path) { return ::access(path.c_str(), R_OK) == 0; }

std::string make_temp_dir(const char* what) {
  std::string pattern = absl::StrCat("/tmp/uncopyable-poolbench-", what, "-XXXXXX");
  if (::mkdtemp(pattern.data()) == nullptr) die(absl::StrCat("mkdtemp: ", std::strerror(errno)));
  return pattern;
}

// A TCP port on 127.0.0.1 that nothing listens on right now.
int free_port() {
  const int probe = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  check(probe >= 0, "socket() for a free port failed");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t size = sizeof address;
  check(::bind(probe, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
            ::getsockname(probe, reinterpret_cast<sockaddr*>(&address), &size) == 0,
        "no free TCP port on 127.0.0.1");
  ::close(probe);
  return ntohs(address.sin_port);
}

// Whether something accepts connections on 127.0.0.1:port.
bool accepts(int port) {
  const int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0) return false;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(static_cast<uint16_t>(port));
  const bool ok = ::connect(s, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  ::close(s);
  return ok;
}

// CPU time (user + system) of this process, and of another one (from
// /proc/PID/stat, in clock ticks of 10 ms).
int64_t self_cpu_ns() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  return (int64_t{usage.ru_utime.tv_sec} + usage.ru_stime.tv_sec) * 1'000'000'000 +
         (int64_t{usage.ru_utime.tv_usec} + usage.ru_stime.tv_usec) * 1000;
}

int64_t process_cpu_ns(pid_t pid) {
  const std::string stat = read_all(absl::StrCat("/proc/", pid, "/stat"));
  // The fields after the command name, which is in parentheses: state is
  // field 3, utime 14 and stime 15.
  const size_t close = stat.rfind(')');
  if (close == std::string::npos) return 0;
  const std::vector<std::string> fields = absl::StrSplit(stat.substr(close + 2), ' ');
  if (fields.size() < 13) return 0;
  const int64_t ticks = std::stoll(fields[11]) + std::stoll(fields[12]);
  return ticks * (1'000'000'000 / ::sysconf(_SC_CLK_TCK));
}

// ---------------------------------------------------------------------------
// One contender holds connections at a time.

struct Live {
  virtual ~Live() = default;
};

std::unique_ptr<Live> g_live;
std::string g_live_name;

// The live contender `name`, made (after the previous one is closed) if
// another one is live. Thread 0 only, before its benchmark loop; the other
// threads wait at Google Benchmark's start barrier meanwhile.
template <typename T>
T* activate(const std::string& name) {
  if (g_live_name != name) {
    g_live.reset();
    g_live_name.clear();
    g_live = std::make_unique<T>();
    g_live_name = name;
  }
  return static_cast<T*>(g_live.get());
}

struct Nothing : Live {};

// Sets the counter cpu_ns (client CPU time per operation, all threads
// together) from thread 0, which starts before the start barrier and ends
// after the stop barrier of Google Benchmark's loop.
class CpuMeter {
 public:
  explicit CpuMeter(const benchmark::State& state, pid_t other = 0)
      : other_(other), start_(state.thread_index() == 0 ? cpu() : 0) {}
  void finish(benchmark::State& state) const {
    if (state.thread_index() != 0) return;
    set(state, static_cast<double>(cpu() - start_));
  }
  static void set(benchmark::State& state, double cpu_ns) {
    const double operations = static_cast<double>(state.iterations()) * state.threads();
    if (operations > 0) state.counters["cpu_ns"] = cpu_ns / operations;
  }

 private:
  int64_t cpu() const { return self_cpu_ns() + (other_ > 0 ? process_cpu_ns(other_) : 0); }
  pid_t other_;
  int64_t start_;
};

// ---------------------------------------------------------------------------
// Stack: the floor.

class Stack : public Live {
 public:
  Stack() {
    for (int i = 0; i < kPoolSize; ++i) idle_.push_back(connect_libpq(conninfo()));
  }
  ~Stack() override {
    for (PGconn* c : idle_) PQfinish(c);
  }
  PGconn* take() {
    std::unique_lock<std::mutex> lock(mutex_);
    returned_.wait(lock, [&] { return !idle_.empty(); });
    PGconn* c = idle_.back();
    idle_.pop_back();
    return c;
  }
  void give(PGconn* c) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      idle_.push_back(c);
    }
    returned_.notify_one();
  }

 private:
  std::mutex mutex_;
  std::condition_variable returned_;
  std::vector<PGconn*> idle_;
};

Stack* g_stack = nullptr;

template <bool kSelect1>
void stack_operation(benchmark::State& state) {
  if (state.thread_index() == 0) g_stack = activate<Stack>("Stack");
  CpuMeter meter(state);
  for (auto _ : state) {
    PGconn* c = g_stack->take();
    if constexpr (kSelect1) select1_libpq(c);
    benchmark::DoNotOptimize(c);
    g_stack->give(c);
  }
  meter.finish(state);
}

// ---------------------------------------------------------------------------
// Fresh: a connection per operation.

template <bool kSelect1>
void fresh_operation(benchmark::State& state) {
  if (state.thread_index() == 0) activate<Nothing>("Fresh");
  CpuMeter meter(state);
  for (auto _ : state) {
    PGconn* c = connect_libpq(conninfo());
    if constexpr (kSelect1) select1_libpq(c);
    PQfinish(c);
  }
  meter.finish(state);
}

// ---------------------------------------------------------------------------
// uncopyable::Pool<PostgresConnection>: 16 handles, all built ahead
// (min_idle = 16, as HikariCP's fixed pool), the other settings at their
// defaults (a handle given back within 500 ms is not health checked again,
// as HikariCP's alive bypass).

class UncopyablePool : public Live {
 public:
  UncopyablePool() : pool_(open_pool()) {
    // The pool builds in the background: wait (at most 30 s) until all 16
    // are idle, so that no run measures connection set-up.
    const absl::Time deadline = absl::Now() + absl::Seconds(30);
    while (pool_.metrics().idle < kPoolSize) {
      if (absl::Now() > deadline) {
        die(absl::StrCat("uncopyable::Pool did not fill within 30 s (",
                         pool_.metrics().idle, " idle)"));
      }
      absl::SleepFor(absl::Milliseconds(10));
    }
  }
  uncopyable::Pool<PostgresConnection>& pool() { return pool_; }

 private:
  static uncopyable::Pool<PostgresConnection> open_pool() {
    absl::StatusOr<uncopyable::Pool<PostgresConnection>> opened =
        uncopyable::Pool<PostgresConnection>::open(
            {.handle = pg(), .pool = {.max_size = kPoolSize, .min_idle = kPoolSize}});
    if (!opened.ok()) die(opened.status().ToString());
    return *std::move(opened);
  }
  uncopyable::Pool<PostgresConnection> pool_;
};

UncopyablePool* g_pool = nullptr;

template <bool kSelect1>
void pool_operation(benchmark::State& state) {
  if (state.thread_index() == 0) g_pool = activate<UncopyablePool>("Pool");
  CpuMeter meter(state);
  for (auto _ : state) {
    absl::StatusOr<uncopyable::PoolLease<PostgresConnection>> lease = g_pool->pool().acquire();
    if (!lease.ok()) die(lease.status().ToString());
    if constexpr (kSelect1) {
      absl::StatusOr<uncopyable::PostgresResult> one = (*lease)->query("SELECT 1");
      check(one.ok() && one->rows() == 1 && one->get_int64(0, 0) == 1,
            "SELECT 1 through uncopyable::Pool failed");
    }
    benchmark::DoNotOptimize(&*lease);
  }
  meter.finish(state);
}

// ---------------------------------------------------------------------------
// The pool's own cost, with no network: SQLite :memory: connections, one
// thread, acquire + release against the floor (a mutex-guarded stack of 16
// SqliteConnection).

class SqliteStack {
 public:
  SqliteStack() {
    for (int i = 0; i < kPoolSize; ++i) {
      absl::StatusOr<uncopyable::SqliteConnection> c =
          uncopyable::SqliteConnection::open({.path = ":memory:"});
      if (!c.ok()) die(c.status().ToString());
      idle_.push_back(*std::move(c));
    }
  }
  uncopyable::SqliteConnection take() {
    std::lock_guard<std::mutex> lock(mutex_);
    uncopyable::SqliteConnection c = std::move(idle_.back());
    idle_.pop_back();
    return c;
  }
  void give(uncopyable::SqliteConnection c) {
    std::lock_guard<std::mutex> lock(mutex_);
    idle_.push_back(std::move(c));
  }

 private:
  std::mutex mutex_;
  std::vector<uncopyable::SqliteConnection> idle_;
};

void BM_SqliteAcquireRelease_Stack(benchmark::State& state) {
  SqliteStack stack;
  for (auto _ : state) {
    uncopyable::SqliteConnection c = stack.take();
    benchmark::DoNotOptimize(&c);
    stack.give(std::move(c));
  }
}

void BM_SqliteAcquireRelease_Pool(benchmark::State& state) {
  absl::StatusOr<uncopyable::Pool<uncopyable::SqliteConnection>> pool =
      uncopyable::Pool<uncopyable::SqliteConnection>::open(
          {.handle = {.path = ":memory:"}, .pool = {.max_size = kPoolSize, .min_idle = kPoolSize}});
  if (!pool.ok()) die(pool.status().ToString());
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (pool->metrics().idle < kPoolSize) {
    if (absl::Now() > deadline) die("the SQLite pool did not fill within 30 s");
    absl::SleepFor(absl::Milliseconds(1));
  }
  for (auto _ : state) {
    absl::StatusOr<uncopyable::PoolLease<uncopyable::SqliteConnection>> lease = pool->acquire();
    if (!lease.ok()) die(lease.status().ToString());
    benchmark::DoNotOptimize(&*lease);
  }
}
// ---------------------------------------------------------------------------
// SOCI's connection_pool, each of its sessions opened with the PostgreSQL
// backend; soci::session(pool) leases one and gives it back when destroyed.

class Soci : public Live {
 public:
  Soci() : pool_(kPoolSize) {
    for (int i = 0; i < kPoolSize; ++i) pool_.at(i).open(soci::postgresql, conninfo());
  }
  soci::connection_pool& pool() { return pool_; }

 private:
  soci::connection_pool pool_;
};

Soci* g_soci = nullptr;

template <bool kSelect1>
void soci_operation(benchmark::State& state) {
  if (state.thread_index() == 0) g_soci = activate<Soci>("Soci");
  CpuMeter meter(state);
  for (auto _ : state) {
    soci::session session(g_soci->pool());
    if constexpr (kSelect1) {
      int one = 0;
      session << "SELECT 1", soci::into(one);
      check(one == 1, "SELECT 1 through SOCI gave no 1");
    }
    benchmark::DoNotOptimize(&session);
  }
  meter.finish(state);
}

// ---------------------------------------------------------------------------
// HikariCP, in a JVM this program starts once and talks to over pipes (see
// benchmarks/hikari/PoolBench.java for the commands).

class Jvm {
 public:
  static Jvm& get() {
    static Jvm* jvm = new Jvm();
    return *jvm;
  }
  static bool started() { return started_; }

  // Sends one command; returns what follows "ok" in the answer, or dies
  // with the harness's error.
  std::string command(const std::string& line, absl::Duration limit) {
    const std::string text = line + "\n";
    check(::write(to_, text.data(), text.size()) == static_cast<ssize_t>(text.size()),
          "writing to the HikariCP harness failed");
    std::string answer;
    const absl::Time deadline = absl::Now() + limit;
    while (true) {
      const size_t newline = buffer_.find('\n');
      if (newline != std::string::npos) {
        answer = buffer_.substr(0, newline);
        buffer_.erase(0, newline + 1);
        break;
      }
      const int64_t left = absl::ToInt64Milliseconds(deadline - absl::Now());
      if (left <= 0) die(absl::StrCat("the HikariCP harness did not answer \"", line, "\" within ",
                                      absl::FormatDuration(limit)));
      pollfd p{from_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(std::min<int64_t>(left, 1000))) <= 0) continue;
      char chunk[4096];
      const ssize_t n = ::read(from_, chunk, sizeof chunk);
      if (n <= 0) die(absl::StrCat("the HikariCP harness ended while answering \"", line, "\""));
      buffer_.append(chunk, static_cast<size_t>(n));
    }
    if (answer == "ok") return "";
    if (answer.rfind("ok ", 0) == 0) return answer.substr(3);
    die(absl::StrCat("the HikariCP harness answered \"", line, "\" with: ", answer));
  }

  void quit() {
    command("quit", absl::Seconds(30));
    ::close(to_);
    ::close(from_);
    reap(pid_, absl::Seconds(10));
    run_to_end({"rm", "-rf", dir_}, "/dev/null", absl::Seconds(30));
  }

 private:
  static constexpr const char* kJars[] = {
      "/usr/share/java/HikariCP.jar", "/usr/share/java/postgresql.jar",
      "/usr/share/java/slf4j-api.jar", "/usr/share/java/slf4j-nop.jar"};

  static std::string source() {
    const std::string relative = "benchmarks/hikari/PoolBench.java";
    std::vector<std::string> candidates;
    if (const char* runfiles = std::getenv("RUNFILES_DIR")) {
      candidates.push_back(absl::StrCat(runfiles, "/uncopyable/", relative));
    }
    candidates.push_back(absl::StrCat(g_argv0, ".runfiles/uncopyable/", relative));
    candidates.push_back(relative);
    if (const char* workspace = std::getenv("BUILD_WORKSPACE_DIRECTORY")) {
      candidates.push_back(absl::StrCat(workspace, "/", relative));
    }
    for (const std::string& c : candidates) {
      if (exists(c)) return c;
    }
    die(absl::StrCat("cannot find ", relative, " (looked beside the program's runfiles and in ",
                     "the working folder)"));
  }

  Jvm() {
    std::string classpath;
    for (const char* jar : kJars) {
      if (!exists(jar)) {
        die(absl::StrCat(jar, " is missing: install libhikaricp-java, libpostgresql-jdbc-java ",
                         "and libslf4j-java (./bazelw does)"));
      }
      absl::StrAppend(&classpath, jar, ":");
    }
    dir_ = make_temp_dir("hikari");
    const std::string log = dir_ + "/javac.log";
    if (!run_to_end({"javac", "-d", dir_, "-cp", classpath, source()}, log, absl::Minutes(3))) {
      die(absl::StrCat("javac PoolBench.java failed (default-jdk-headless installed?):\n",
                       read_all(log)));
    }
    classpath += dir_;
    const std::string url =
        absl::StrCat("jdbc:postgresql://", pg().host, ":", pg().port, "/", pg().dbname,
                     "?sslmode=disable");
    std::vector<std::string> argv = {"java", "-cp", classpath, "PoolBench", "serve", url,
                                     pg().user, pg().password.reveal(), std::to_string(kPoolSize)};
    std::vector<char*> args;
    for (std::string& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    int in[2], out[2];
    check(::pipe2(in, O_CLOEXEC) == 0 && ::pipe2(out, O_CLOEXEC) == 0, "pipe2 failed");
    pid_ = ::fork();
    check(pid_ >= 0, "fork failed");
    if (pid_ == 0) {
      ::dup2(in[0], 0);
      ::dup2(out[1], 1);
      ::execvp(args[0], args.data());
      ::_exit(127);
    }
    ::close(in[0]);
    ::close(out[1]);
    to_ = in[1];
    from_ = out[0];
    started_ = true;
  }

  static inline bool started_ = false;
  std::string dir_;
  pid_t pid_ = -1;
  int to_ = -1;
  int from_ = -1;
  std::string buffer_;
};

class Hikari : public Live {
 public:
  Hikari() { Jvm::get().command("open", absl::Seconds(120)); }
  ~Hikari() override { Jvm::get().command("close", absl::Seconds(60)); }
};

struct HikariRun {
  double wall_ns = 0;
  double cpu_ns = 0;
};
HikariRun g_hikari_run;

// Thread 0 has the JVM run all threads' operations (threads x max_iterations)
// before the start barrier; then every thread books its share of the JVM's
// wall time, so that Google Benchmark reports wall time / operations.
void hikari_operation(benchmark::State& state, const char* workload) {
  if (state.thread_index() == 0) {
    activate<Hikari>("HikariCP");
    const std::string answer = Jvm::get().command(
        absl::StrCat("run ", workload, " ", state.threads(), " ", state.max_iterations),
        absl::Minutes(10));
    const std::vector<std::string> numbers = absl::StrSplit(answer, ' ');
    check(numbers.size() == 2, "the HikariCP harness answered run with no two numbers");
    g_hikari_run = {std::stod(numbers[0]), std::stod(numbers[1])};
  }
  for (auto _ : state) {
    state.SetIterationTime(g_hikari_run.wall_ns * 1e-9 / static_cast<double>(state.max_iterations));
  }
  if (state.thread_index() == 0) CpuMeter::set(state, g_hikari_run.cpu_ns);
}

// ---------------------------------------------------------------------------
// pgbouncer, run as the postgres user (it refuses root), in transaction
// pooling mode with a server pool of 16, on a free 127.0.0.1 port.

class Bouncer : public Live {
 public:
  Bouncer() {
    dir_ = make_temp_dir("pgbouncer");
    port_ = free_port();
    const std::string ini = dir_ + "/pgbouncer.ini";
    {
      std::ofstream out(ini);
      out << "[databases]\n"
          << pg().dbname << " = host=" << pg().host << " port=" << pg().port
          << " dbname=" << pg().dbname << "\n"
          << "[pgbouncer]\n"
          << "listen_addr = 127.0.0.1\n"
          << "listen_port = " << port_ << "\n"
          << "unix_socket_dir =\n"
          << "auth_type = scram-sha-256\n"
          << "auth_file = " << dir_ << "/userlist.txt\n"
          << "pool_mode = transaction\n"
          << "default_pool_size = " << kPoolSize << "\n"
          << "max_client_conn = 200\n"
          << "logfile = " << dir_ << "/pgbouncer.log\n"
          << "log_connections = 0\n"
          << "log_disconnections = 0\n";
      std::ofstream users(dir_ + "/userlist.txt");
      users << '"' << pg().user << "\" \"" << pg().password.reveal() << "\"\n";
    }
    uid_t uid = ::getuid();
    gid_t gid = ::getgid();
    if (::geteuid() == 0) {
      const passwd* postgres = ::getpwnam("postgres");
      check(postgres != nullptr, "no postgres user to run pgbouncer as");
      uid = postgres->pw_uid;
      gid = postgres->pw_gid;
      for (const std::string& path : {dir_, ini, dir_ + "/userlist.txt"}) {
        check(::chown(path.c_str(), uid, gid) == 0, "cannot hand pgbouncer's files to postgres");
      }
    }
    const std::string log = dir_ + "/stderr.log";
    std::vector<std::string> argv = {"/usr/sbin/pgbouncer", ini};
    std::vector<char*> args;
    for (std::string& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    const bool as_root = ::geteuid() == 0;
    pid_ = ::fork();
    check(pid_ >= 0, "fork failed");
    if (pid_ == 0) {
      const int err = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      if (err >= 0) {
        ::dup2(err, 1);
        ::dup2(err, 2);
      }
      if (as_root && (::setgroups(0, nullptr) != 0 || ::setgid(gid) != 0 || ::setuid(uid) != 0)) {
        ::_exit(126);
      }
      ::prctl(PR_SET_PDEATHSIG, SIGTERM);  // after setuid, which clears it
      ::execv(args[0], args.data());
      ::_exit(127);
    }
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    while (!accepts(port_)) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        die(absl::StrCat("pgbouncer ended at start:\n", read_all(log), read_all(dir_ + "/pgbouncer.log")));
      }
      if (absl::Now() > deadline) die("pgbouncer did not listen within 10 s:\n" + read_all(log));
      absl::SleepFor(absl::Milliseconds(10));
    }
    info_ = libpq_conninfo("127.0.0.1", port_);
    // Fill its server pool: 16 clients each holding a server connection in
    // a transaction at the same time.
    std::vector<PGconn*> clients;
    for (int i = 0; i < kPoolSize; ++i) {
      clients.push_back(connect_libpq(info_));
      PQclear(PQexec(clients.back(), "BEGIN"));
      select1_libpq(clients.back());
    }
    for (PGconn* c : clients) {
      PQclear(PQexec(c, "COMMIT"));
      PQfinish(c);
    }
  }
  ~Bouncer() override {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      reap(pid_, absl::Seconds(10));
    }
    run_to_end({"rm", "-rf", dir_}, "/dev/null", absl::Seconds(30));
  }
  const std::string& conninfo() const { return info_; }
  pid_t pid() const { return pid_; }

 private:
  std::string dir_;
  int port_ = 0;
  pid_t pid_ = -1;
  std::string info_;
};

Bouncer* g_bouncer = nullptr;

void BM_Select1_PgBouncer(benchmark::State& state) {
  // Only thread 0 may look at g_bouncer before the loop: the others are not
  // past Google Benchmark's start barrier yet.
  const bool first = state.thread_index() == 0;
  if (first) g_bouncer = activate<Bouncer>("PgBouncer");
  CpuMeter meter(state, first ? g_bouncer->pid() : 0);
  for (auto _ : state) {
    PGconn* c = connect_libpq(g_bouncer->conninfo());
    select1_libpq(c);
    PQfinish(c);
  }
  meter.finish(state);
}

// The same pgbouncer, each thread keeping its own connection to it (as an
// application pool in front of pgbouncer would): pgbouncer lends one of its
// 16 server connections for each transaction, here each SELECT 1.
void BM_Select1_PgBouncerKept(benchmark::State& state) {
  // Only thread 0 may look at g_bouncer before the loop: the others are not
  // past Google Benchmark's start barrier yet.
  const bool first = state.thread_index() == 0;
  if (first) g_bouncer = activate<Bouncer>("PgBouncer");
  CpuMeter meter(state, first ? g_bouncer->pid() : 0);
  PGconn* c = nullptr;
  for (auto _ : state) {
    if (c == nullptr) {  // the first time round, untimed
      state.PauseTiming();
      c = connect_libpq(g_bouncer->conninfo());
      state.ResumeTiming();
    }
    select1_libpq(c);
  }
  if (c != nullptr) PQfinish(c);
  meter.finish(state);
}

// ---------------------------------------------------------------------------
// The benchmarks: every contender at 1, 2, 8 and 32 threads.

void threads(benchmark::internal::Benchmark* b) {
  for (int n : {1, 2, 8, 32}) b->Threads(n);
}

void BM_AcquireRelease_Stack(benchmark::State& state) { stack_operation<false>(state); }
void BM_AcquireRelease_Fresh(benchmark::State& state) { fresh_operation<false>(state); }
void BM_AcquireRelease_Pool(benchmark::State& state) { pool_operation<false>(state); }
void BM_AcquireRelease_Soci(benchmark::State& state) { soci_operation<false>(state); }
void BM_AcquireRelease_HikariCP(benchmark::State& state) {
  hikari_operation(state, "AcquireRelease");
}
void BM_Select1_Stack(benchmark::State& state) { stack_operation<true>(state); }
void BM_Select1_Fresh(benchmark::State& state) { fresh_operation<true>(state); }
void BM_Select1_Pool(benchmark::State& state) { pool_operation<true>(state); }
void BM_Select1_Soci(benchmark::State& state) { soci_operation<true>(state); }
void BM_Select1_HikariCP(benchmark::State& state) { hikari_operation(state, "Select1"); }

BENCHMARK(BM_AcquireRelease_Stack)->Apply(threads)->UseRealTime();
BENCHMARK(BM_AcquireRelease_Fresh)->Apply(threads)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_AcquireRelease_Pool)->Apply(threads)->UseRealTime();
BENCHMARK(BM_AcquireRelease_Soci)->Apply(threads)->UseRealTime();
BENCHMARK(BM_AcquireRelease_HikariCP)->Apply(threads)->UseManualTime();
BENCHMARK(BM_Select1_Stack)->Apply(threads)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Select1_Fresh)->Apply(threads)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Select1_Pool)->Apply(threads)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Select1_Soci)->Apply(threads)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_SqliteAcquireRelease_Stack);
BENCHMARK(BM_SqliteAcquireRelease_Pool);
BENCHMARK(BM_Select1_HikariCP)->Apply(threads)->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Select1_PgBouncer)->Apply(threads)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Select1_PgBouncerKept)->Apply(threads)->UseRealTime()->Unit(benchmark::kMicrosecond);

}  // namespace

int main(int argc, char** argv) {
  g_argv0 = argv[0];
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  // Connections first, then the JVM and pgbouncer, then the server.
  g_live.reset();
  if (Jvm::started()) Jvm::get().quit();
  g_server.reset();
  return 0;
}
