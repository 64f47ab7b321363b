#include "tests/testing/postgres_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <glob.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <iterator>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace uncopyable::testing {
namespace {

// Where Debian puts the server's programs: /usr/lib/postgresql/<version>/bin.
std::string server_bin() {
  glob_t found{};
  std::string bin;
  if (::glob("/usr/lib/postgresql/*/bin/initdb", 0, nullptr, &found) == 0 && found.gl_pathc > 0) {
    bin = found.gl_pathv[found.gl_pathc - 1];
    bin.resize(bin.size() - std::string("/initdb").size());
  }
  ::globfree(&found);
  return bin;
}

// Runs `argv` (as the postgres user when we are root: the server refuses
// root), its output to `log`. The exit status, or -1.
int run(std::vector<std::string> argv, const std::string& log, bool as_postgres = true) {
  if (as_postgres && ::geteuid() == 0) {
    argv.insert(argv.begin(), {"runuser", "-u", "postgres", "--"});
  }
  const pid_t child = ::fork();
  if (child < 0) return -1;
  if (child == 0) {
    const int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (out >= 0) {
      ::dup2(out, STDOUT_FILENO);
      ::dup2(out, STDERR_FILENO);
    }
    if (::chdir("/") != 0) ::_exit(126);
    std::vector<char*> args;
    for (std::string& arg : argv) args.push_back(arg.data());
    args.push_back(nullptr);
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  int status = 0;
  if (::waitpid(child, &status, 0) != child) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// A TCP port on 127.0.0.1 that nothing listens on right now, or 0.
uint16_t free_port() {
  const int probe = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (probe < 0) return 0;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t size = sizeof address;
  uint16_t port = 0;
  if (::bind(probe, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
      ::getsockname(probe, reinterpret_cast<sockaddr*>(&address), &size) == 0) {
    port = ntohs(address.sin_port);
  }
  ::close(probe);
  return port;
}

}  // namespace

absl::StatusOr<std::unique_ptr<PostgresServer>> PostgresServer::start(bool tcp) {
  const std::string bin = server_bin();
  if (bin.empty()) {
    return absl::FailedPreconditionError(
        "no PostgreSQL server in /usr/lib/postgresql/*/bin: install the postgresql package "
        "(./bazelw does)");
  }
  char pattern[] = "/tmp/uncopyable-pg-XXXXXX";
  if (::mkdtemp(pattern) == nullptr) return absl::InternalError("mkdtemp failed");
  std::unique_ptr<PostgresServer> server(new PostgresServer(pattern));
  if (tcp) {
    server->tcp_ = true;
    server->port_ = free_port();
    if (server->port_ == 0) return absl::InternalError("no free TCP port on 127.0.0.1");
  }
  const std::string& dir = server->dir_;
  if (::geteuid() == 0) {
    const passwd* postgres = ::getpwnam("postgres");
    if (postgres == nullptr || ::chown(dir.c_str(), postgres->pw_uid, postgres->pw_gid) != 0) {
      return absl::FailedPreconditionError("cannot hand " + dir + " to the postgres user");
    }
  }
  {
    std::ofstream password(dir + "/password");
    password << kPassword << "\n";
  }
  ::chmod((dir + "/password").c_str(), 0644);
  const std::string log = dir + "/setup.log";
  // The C locale and SQL_ASCII whatever the caller's LANG: what `bazel test`
  // (which passes no LANG) always gave, and what the tests expect (raw bytes
  // reach the server; under a UTF-8 LANG, ctest's runs would get UTF8).
  if (run({bin + "/initdb", "-D", dir + "/data", "-U", "uncopyable", "--auth=scram-sha-256",
           "--pwfile=" + dir + "/password", "-N", "--no-locale", "--encoding=SQL_ASCII"},
          log) != 0) {
    return absl::InternalError("initdb failed:\n" + read_file(log));
  }
  if (absl::Status started = server->restart(); !started.ok()) return started;
  return server;
}

absl::Status PostgresServer::pg_ctl(const std::vector<std::string>& arguments) {
  std::vector<std::string> argv = {server_bin() + "/pg_ctl", "-D", dir_ + "/data"};
  argv.insert(argv.end(), arguments.begin(), arguments.end());
  const std::string log = dir_ + "/pg_ctl.log";
  if (run(argv, log) != 0) {
    return absl::InternalError(absl::StrCat("pg_ctl ", absl::StrJoin(arguments, " "),
                                            " failed:\n", read_file(log), "\nserver log:\n",
                                            read_file(dir_ + "/server.log")));
  }
  return absl::OkStatus();
}

absl::Status PostgresServer::restart() {
  return pg_ctl({"-w", "-t", "30", "-l", dir_ + "/server.log", "-o",
                 absl::StrCat("-k ", dir_, " -p ", port_, " -c listen_addresses=",
                              tcp_ ? "127.0.0.1" : "", " -c fsync=off"),
                 "start"});
}

absl::Status PostgresServer::stop_immediately() { return pg_ctl({"-w", "-m", "immediate", "stop"}); }

PostgresServer::~PostgresServer() {
  stop_immediately().IgnoreError();
  run({"rm", "-rf", dir_}, "/dev/null", /*as_postgres=*/false);
}

int PostgresServer::postmaster_pid() const {
  // Its first line is the postmaster's process id.
  std::ifstream in(dir_ + "/data/postmaster.pid");
  int pid = -1;
  if (!(in >> pid)) return -1;
  return pid;
}

PostgresConfig PostgresServer::tcp_config() const {
  PostgresConfig tcp = config();
  tcp.host = "127.0.0.1";
  return tcp;
}

PostgresConfig PostgresServer::config() const {
  return PostgresConfig{.host = dir_,
                        .port = port_,
                        .dbname = "postgres",
                        .user = "uncopyable",
                        .password = Secret<std::string>(kPassword),
                        .sslmode = SslMode::disable,
                        .connect_timeout = absl::Seconds(10),
                        .application_name = "uncopyable-test"};
}

void PostgresServer::wait_until_running(const PostgresConfig& config, const std::string& sql) {
  absl::StatusOr<PostgresConnection> watcher = PostgresConnection::open(config);
  if (!watcher.ok()) return;
  const std::string running = absl::StrCat(
      "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query = '", sql, "'");
  for (int i = 0; i < 500; ++i) {
    absl::StatusOr<PostgresResult> found = watcher->query(running);
    if (found.ok() && found->get_int64(0, 0) == 1) return;
    ::usleep(10'000);
  }
}

}  // namespace uncopyable::testing
