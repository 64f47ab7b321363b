// The main() of every uncopyable test: GoogleTest with a leak guard.
//
// After each test, the guard compares the process's open file descriptors
// (/proc/self/fd) with those it had when the test started, and looks for
// child processes that are still there (running or not yet reaped). Any
// descriptor the test opened and left open, and any child it left behind,
// fails that test with a message that names them:
//
//   leak guard: the test left fd 7 open (/tmp/t.db)
//   leak guard: the test left child process 4242 behind (sleep, state S)
//   leak guard: the test left 1 pool lease alive (pool of sqlite "t.db",
//   acquired at tests/app_test.cc:12)
//
// A lease of a Pool (uncopyable/pool.h) still alive at the end of a test is
// a leak like a descriptor: the guard lists each one the test took and
// left, with the line it was taken at.
//
// The target also links //:fd_ownership_checks, so in every test a close(),
// dup2(), fclose(), ... of a descriptor that a handle owns, by anyone but the
// handle, aborts with a line naming the owner (uncopyable/fd_ownership.h).
//
// Death tests run with the threadsafe style: the child re-executes the test
// binary instead of forking a process that may hold locks.
#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "absl/strings/str_join.h"
#include "tests/testing/fds.h"
#include "uncopyable/pool.h"

namespace {

using uncopyable::testing::open_fds;

std::string fd_target(int fd) {
  char target[4096];
  const ssize_t n = ::readlink(absl::StrCat("/proc/self/fd/", fd).c_str(),
                               target, sizeof target - 1);
  return n < 0 ? "?" : std::string(target, static_cast<size_t>(n));
}

struct Child {
  int pid;
  std::string command;
  char state;
};

// Processes whose parent is this process, from /proc/<pid>/stat.
std::vector<Child> children() {
  std::vector<Child> found;
  const int self = ::getpid();
  DIR* dir = ::opendir("/proc");
  if (dir == nullptr) return found;
  while (const dirent* entry = ::readdir(dir)) {
    int pid;
    if (!absl::SimpleAtoi(entry->d_name, &pid)) continue;
    // With read(2), not a stream: a process may vanish while we read, and
    // a stream reports that by throwing.
    const int fd = ::open(absl::StrCat("/proc/", pid, "/stat").c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    char buffer[1024];
    const ssize_t size = ::read(fd, buffer, sizeof buffer);
    ::close(fd);
    if (size <= 0) continue;
    const std::string stat(buffer, static_cast<size_t>(size));
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses.
    const size_t open = stat.find('(');
    const size_t close = stat.rfind(')');
    if (open == std::string::npos || close == std::string::npos) continue;
    const std::vector<std::string> rest =
        absl::StrSplit(stat.substr(close + 2), ' ');
    int parent;
    if (rest.size() < 2 || !absl::SimpleAtoi(rest[1], &parent)) continue;
    if (parent == self) {
      found.push_back({pid, stat.substr(open + 1, close - open - 1),
                       rest[0].empty() ? '?' : rest[0][0]});
    }
  }
  ::closedir(dir);
  return found;
}

class LeakGuard : public ::testing::EmptyTestEventListener {
 public:
  void OnTestStart(const ::testing::TestInfo&) override {
    before_ = open_fds();
    leases_before_ = uncopyable::pool_internal::live_leases();
  }

  // Listeners hear OnTestEnd in reverse order of registration, so this runs
  // before the result printer: a failure added here shows as the test's own.
  void OnTestEnd(const ::testing::TestInfo&) override {
    for (int fd : open_fds()) {
      if (before_.count(fd) == 0) {
        ADD_FAILURE() << "leak guard: the test left fd " << fd << " open ("
                      << fd_target(fd) << ")";
      }
    }
    std::vector<std::string> leases = uncopyable::pool_internal::live_leases();
    for (const std::string& before : leases_before_) {
      const auto same = std::find(leases.begin(), leases.end(), before);
      if (same != leases.end()) leases.erase(same);
    }
    if (!leases.empty()) {
      ADD_FAILURE() << "leak guard: the test left " << leases.size() << " pool lease"
                    << (leases.size() == 1 ? "" : "s") << " alive ("
                    << absl::StrJoin(leases, "; ") << ")";
    }
    for (const Child& child : children()) {
      ADD_FAILURE() << "leak guard: the test left child process " << child.pid
                    << " behind (" << child.command << ", state "
                    << child.state << ")";
    }
  }

 private:
  std::set<int> before_;
  std::vector<std::string> leases_before_;
};

}  // namespace

int main(int argc, char** argv) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::UnitTest::GetInstance()->listeners().Append(new LeakGuard);
  return RUN_ALL_TESTS();
}
