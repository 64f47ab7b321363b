// Runs the README's main command end to end, as a user would: the program
// itself, in a child process, on SQLite and on a private PostgreSQL server,
// then again from the configs it saved. Checks what it says, what it exits
// with, and what it leaves behind.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/postgres_server.h"
#include "tests/testing/postgres_suite.h"
#include "uncopyable/config_url.h"
#include "uncopyable/postgres.h"

namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

struct Outcome {
  int exit_code = -1;  // 128 + the signal if it was killed
  std::string output;  // stdout and stderr, interleaved as written
};

// How long one run may take before it is killed (it takes well under a
// second; a hang must fail the test with what the run printed, not time it
// out silently).
constexpr int kRunSeconds = 60;

// Runs the tournament binary with `arguments`, TMPDIR set to `tmpdir` and
// the extra `environment` ("NAME=value"), and waits for it.
Outcome run_tournament(const std::vector<std::string>& arguments, const std::string& tmpdir,
                       const std::vector<std::string>& environment = {}) {
  // Everything the child needs is made before fork(): after it, the child
  // only redirects and execs.
  const std::string binary = absl::StrCat(std::getenv("TEST_SRCDIR"), "/",
                                          std::getenv("TEST_WORKSPACE"), "/examples/tournament");
  std::vector<std::string> env_strings = environment;
  env_strings.push_back("TMPDIR=" + tmpdir);
  for (char** entry = environ; *entry != nullptr; ++entry) {
    if (!absl::StartsWith(*entry, "TMPDIR=")) env_strings.push_back(*entry);
  }
  std::vector<char*> envp;
  for (std::string& entry : env_strings) envp.push_back(entry.data());
  envp.push_back(nullptr);
  std::vector<std::string> argv_strings = {binary};
  argv_strings.insert(argv_strings.end(), arguments.begin(), arguments.end());
  std::vector<char*> argv;
  for (std::string& argument : argv_strings) argv.push_back(argument.data());
  argv.push_back(nullptr);

  Outcome outcome;
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
    ADD_FAILURE() << "pipe2: " << std::strerror(errno);
    return outcome;
  }
  const pid_t child = ::fork();
  if (child == 0) {
    ::dup2(pipe_fds[1], STDOUT_FILENO);
    ::dup2(pipe_fds[1], STDERR_FILENO);
    ::execve(binary.c_str(), argv.data(), envp.data());
    ::_exit(127);
  }
  ::close(pipe_fds[1]);
  if (child < 0) {
    ADD_FAILURE() << "fork: " << std::strerror(errno);
    ::close(pipe_fds[0]);
    return outcome;
  }
  const absl::Time deadline = absl::Now() + absl::Seconds(kRunSeconds);
  char buffer[4096];
  while (true) {
    pollfd entry{.fd = pipe_fds[0], .events = POLLIN, .revents = 0};
    const int64_t left = absl::ToInt64Milliseconds(deadline - absl::Now());
    if (left <= 0) {
      ::kill(child, SIGKILL);
      ADD_FAILURE() << "the run took over " << kRunSeconds << " s and was killed; it said:\n"
                    << outcome.output;
      break;
    }
    if (::poll(&entry, 1, static_cast<int>(left)) <= 0) continue;
    const ssize_t got = ::read(pipe_fds[0], buffer, sizeof buffer);
    if (got <= 0) break;
    outcome.output.append(buffer, static_cast<size_t>(got));
  }
  ::close(pipe_fds[0]);
  int status = 0;
  EXPECT_EQ(::waitpid(child, &status, 0), child);
  outcome.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return outcome;
}

// A fresh, empty folder for one run's TMPDIR.
std::string fresh_dir(const std::string& name) {
  const std::string dir = absl::StrCat(std::getenv("TEST_TMPDIR"), "/", name);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

bool is_empty(const std::string& dir) { return std::filesystem::is_empty(dir); }

std::string read_file(const std::string& path) {
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

// The path after "--from=" in the hint a --keep run prints.
std::string saved_config_path(const std::string& output) {
  const size_t at = output.find("--from=");
  if (at == std::string::npos) return "";
  const size_t start = at + 7;
  return output.substr(start, output.find('\n', start) - start);
}

// Every step of the story, in order, and the claims it checks along the way.
void expect_whole_story(const Outcome& outcome) {
  EXPECT_EQ(outcome.exit_code, 0) << outcome.output;
  const std::vector<std::string> steps = {
      "1. Open the tournament database from its config",
      "2. The standings, in memory, behind a Mutex named \"standings\"",
      "3. Record two rounds, each in one transaction",
      "4. A score-board on a loopback Listener, read by a Socket client",
      "5. A backup, the right way, while the original stays in use",
      "6. A second connection: rebuilt from the first one's config, never cloned",
      "7. The score-board server restarts",
      "8. Save the configs to a JSON file",
      "9. Close everything explicitly: each close reports its own error",
  };
  size_t position = 0;
  for (const std::string& step : steps) {
    const size_t found = outcome.output.find(step, position);
    ASSERT_NE(found, std::string::npos) << "missing or out of order: " << step << "\n"
                                        << outcome.output;
    position = found;
  }
  EXPECT_THAT(outcome.output,
              AllOf(HasSubstr("listening on tcp://127.0.0.1:"),
                    HasSubstr("(its config asked for tcp://127.0.0.1:0)"),
                    HasSubstr("the client read the board:"),
                    HasSubstr("the server read it from the database through pool of "),
                    HasSubstr("it agrees with the standings in memory: true"),
                    HasSubstr("the new server reads through the same pool"),
                    HasSubstr("reader.config() == db.config(): true"),
                    HasSubstr("the client's next read fails, as it should: "),
                    HasSubstr("client.rebuild(): a new connection from the same SocketConfig"),
                    HasSubstr("reads back equal to what this run used: true"),
                    HasSubstr("database: closed, OK"), HasSubstr("\nDone.\n")));
}

TEST(TournamentTest, TellsTheWholeStoryOnSqliteAndRemovesItsFiles) {
  const std::string tmpdir = fresh_dir("sqlite");
  const Outcome outcome = run_tournament({}, tmpdir);
  expect_whole_story(outcome);
  EXPECT_THAT(outcome.output, HasSubstr("connected to sqlite://" + tmpdir));
  EXPECT_THAT(outcome.output, HasSubstr("created table tournament_matches"));
  // Two rounds (4 matches) before the backup, one after.
  EXPECT_THAT(outcome.output, HasSubstr("original: 6 matches, backup: still 4"));
  EXPECT_THAT(outcome.output, HasSubstr("removed " + tmpdir + "/uncopyable-tournament-"));
  EXPECT_TRUE(is_empty(tmpdir)) << "files left behind in " << tmpdir;
}

TEST(TournamentTest, ASecondRunRebuildsEverythingFromTheSavedConfigs) {
  const std::string tmpdir = fresh_dir("from");
  const Outcome first = run_tournament({"--keep"}, tmpdir);
  expect_whole_story(first);
  const std::string config_path = saved_config_path(first.output);
  ASSERT_FALSE(config_path.empty()) << first.output;
  struct stat info {};
  ASSERT_EQ(::stat(config_path.c_str(), &info), 0) << config_path;
  EXPECT_EQ(info.st_mode & 0777, 0600u);

  const std::string saved = read_file(config_path);

  const Outcome second = run_tournament({"--from=" + config_path}, tmpdir);
  expect_whole_story(second);
  EXPECT_THAT(second.output,
              AllOf(HasSubstr("Everything below is rebuilt from " + config_path),
                    HasSubstr("found 8 matches recorded by an earlier run"), HasSubstr("round 5: "),
                    HasSubstr("original: 14 matches, backup: still 12")));
  // The file it was given is read, never written: the second run saved its
  // configs in a folder of its own, and removed that folder at the end.
  EXPECT_EQ(read_file(config_path), saved);
  const std::filesystem::path kept = std::filesystem::path(config_path).parent_path();
  std::filesystem::remove_all(kept);
  EXPECT_TRUE(is_empty(tmpdir)) << "the --from run left files in " << tmpdir;
}

TEST(TournamentTest, BadFlagsPrintUsageAndExit2) {
  const std::string tmpdir = fresh_dir("flags");
  const Outcome outcome = run_tournament({"--frm=x.json"}, tmpdir);
  EXPECT_EQ(outcome.exit_code, 2);
  EXPECT_THAT(outcome.output, AllOf(HasSubstr("unknown argument \"--frm=x.json\""),
                                    HasSubstr("usage: tournament")));
  const Outcome both = run_tournament({"--from=a.json", "--db=sqlite:///x.db"}, tmpdir);
  EXPECT_EQ(both.exit_code, 2);
  EXPECT_TRUE(is_empty(tmpdir));
}

TEST(TournamentTest, FailuresNameWhatWasWrongAndLeaveNothingBehind) {
  const std::string tmpdir = fresh_dir("failures");
  const Outcome missing = run_tournament({"--from=" + tmpdir + "/nowhere.json"}, tmpdir);
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_THAT(missing.output, HasSubstr(tmpdir + "/nowhere.json"));

  const std::string broken = tmpdir + "/broken.json";
  {
    std::FILE* file = std::fopen(broken.c_str(), "w");
    ASSERT_NE(file, nullptr);
    std::fputs(R"({"name":"x","sqlite":{"pth":"/tmp/x.db"},"backup":{"path":"/tmp/b.db"}})", file);
    std::fclose(file);
  }
  const Outcome bad_config = run_tournament({"--from=" + broken}, tmpdir);
  EXPECT_EQ(bad_config.exit_code, 1);
  EXPECT_THAT(bad_config.output, AllOf(HasSubstr(broken), HasSubstr("unknown field \"pth\""),
                                       Not(HasSubstr("Done."))));
  std::filesystem::remove(broken);

  // Nothing listens on port 1: the connect fails, the folder made for the
  // run's files is removed all the same.
  const Outcome refused = run_tournament(
      {"--db=postgresql://nobody@127.0.0.1:1/tournament?connect_timeout=2s"}, tmpdir);
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_THAT(refused.output, AllOf(HasSubstr("tournament: failed:"), HasSubstr("127.0.0.1")));
  EXPECT_TRUE(is_empty(tmpdir)) << "files left behind in " << tmpdir;
}

// The same story on a PostgreSQL server the test starts for itself.
class TournamentPostgresTest : public uncopyable::testing::PostgresSuite {
 protected:
  // Whether the matches table exists on the server.
  static bool table_exists() {
    absl::StatusOr<uncopyable::PostgresConnection> db = uncopyable::rebuild(server().config());
    EXPECT_TRUE(db.ok()) << db.status();
    if (!db.ok()) return false;
    absl::StatusOr<uncopyable::PostgresResult> found =
        db->query("SELECT to_regclass('tournament_matches') IS NOT NULL");
    EXPECT_TRUE(found.ok()) << found.status();
    return found.ok() && found->get_text(0, 0) == "t";
  }
};

TEST_F(TournamentPostgresTest, TellsTheWholeStoryAndDropsItsTable) {
  const std::string tmpdir = fresh_dir("postgres");
  const std::string url = uncopyable::to_url(server().config(), uncopyable::Secrets::kReveal);
  const Outcome outcome = run_tournament({"--db=" + url}, tmpdir);
  expect_whole_story(outcome);
  EXPECT_THAT(outcome.output, AllOf(HasSubstr("connected to postgresql://uncopyable:***@"),
                                    HasSubstr("original: 6 matches, backup: still 4"),
                                    HasSubstr("removed table tournament_matches")));
  EXPECT_THAT(outcome.output, Not(HasSubstr(uncopyable::testing::PostgresServer::kPassword)));
  EXPECT_FALSE(table_exists());
  EXPECT_TRUE(is_empty(tmpdir));
}

TEST_F(TournamentPostgresTest, NeverDropsATableItDidNotMake) {
  absl::StatusOr<uncopyable::PostgresConnection> db = uncopyable::rebuild(server().config());
  ASSERT_TRUE(db.ok()) << db.status();
  ASSERT_TRUE(db->execute("CREATE TABLE tournament_matches (someone_elses TEXT)").ok());

  const std::string tmpdir = fresh_dir("postgres_taken");
  const std::string url = uncopyable::to_url(server().config(), uncopyable::Secrets::kReveal);
  const Outcome outcome = run_tournament({"--db=" + url}, tmpdir);
  EXPECT_EQ(outcome.exit_code, 1) << outcome.output;
  EXPECT_THAT(outcome.output, AllOf(HasSubstr("already exists"),
                                    Not(HasSubstr("removed table tournament_matches"))));
  EXPECT_TRUE(table_exists());
  EXPECT_TRUE(is_empty(tmpdir));

  ASSERT_TRUE(db->execute("DROP TABLE tournament_matches").ok());
  ASSERT_TRUE(db->close().ok());
}

TEST_F(TournamentPostgresTest, SavedConfigsLeaveThePasswordOutAndRebuildWithPgpassword) {
  const std::string tmpdir = fresh_dir("postgres_from");
  // The way the README shows: no password in the URL, the password in PGPASSWORD.
  uncopyable::PostgresConfig without = server().config();
  without.password = {};
  const std::string url = uncopyable::to_url(without, uncopyable::Secrets::kReveal);
  const std::string pgpassword =
      absl::StrCat("PGPASSWORD=", uncopyable::testing::PostgresServer::kPassword);
  const Outcome first = run_tournament({"--db=" + url, "--keep"}, tmpdir, {pgpassword});
  expect_whole_story(first);
  EXPECT_TRUE(table_exists());
  const std::string config_path = saved_config_path(first.output);
  ASSERT_FALSE(config_path.empty()) << first.output;

  EXPECT_THAT(read_file(config_path),
              AllOf(HasSubstr("\"password\":\"\""),
                    Not(HasSubstr(uncopyable::testing::PostgresServer::kPassword))));

  // The server wants a password, and the file has none: libpq says so.
  const Outcome without_password = run_tournament({"--from=" + config_path}, tmpdir);
  EXPECT_EQ(without_password.exit_code, 1) << without_password.output;
  EXPECT_THAT(without_password.output,
              AllOf(HasSubstr("tournament: failed:"), HasSubstr("no password supplied")));

  const Outcome second = run_tournament({"--from=" + config_path}, tmpdir, {pgpassword});
  expect_whole_story(second);
  EXPECT_THAT(second.output, HasSubstr("found 8 matches recorded by an earlier run"));

  absl::StatusOr<uncopyable::PostgresConnection> db = uncopyable::rebuild(server().config());
  ASSERT_TRUE(db.ok()) << db.status();
  ASSERT_TRUE(db->execute("DROP TABLE tournament_matches").ok());
  ASSERT_TRUE(db->close().ok());
  std::filesystem::remove_all(std::filesystem::path(config_path).parent_path());
}

}  // namespace
