#include "uncopyable/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/forked_child.h"
#include "tests/testing/temp_path.h"
#include "uncopyable/config_json.h"
#include "uncopyable/pipe.h"

namespace uncopyable {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using testing::TempPath;

static_assert(Rebuildable<Subprocess>);
static_assert(!std::is_copy_constructible_v<Subprocess>);
static_assert(!std::is_copy_assignable_v<Subprocess>);
static_assert(std::is_nothrow_move_constructible_v<Subprocess>);

constexpr absl::Duration kWait = absl::Seconds(10);  // every wait is bounded

Subprocess spawn(const SubprocessConfig& config, std::vector<FdView> passed = {}) {
  absl::StatusOr<Subprocess> child = Subprocess::spawn(config, passed);
  EXPECT_TRUE(child.ok()) << child.status();
  return *std::move(child);
}

ExitStatus finish(Subprocess& child) {
  absl::StatusOr<ExitStatus> status = child.wait(kWait);
  EXPECT_TRUE(status.ok()) << status.status();
  return status.ok() ? *status : ExitStatus::exited(-1);
}

// Runs `config` with a pipe as its stdout (appended to what it passes) and
// returns what it printed; the program must succeed.
std::string output_of(SubprocessConfig config, std::vector<FdView> passed = {}) {
  absl::StatusOr<Pipe> out = make_pipe();
  EXPECT_TRUE(out.ok()) << out.status();
  config.passed_fds.push_back(1);
  passed.push_back(out->writer.fd());
  Subprocess child = spawn(config, passed);
  EXPECT_TRUE(out->writer.close().ok());  // the child has its own copy
  absl::StatusOr<std::string> text = out->reader.read_to_end(1 << 20);
  EXPECT_TRUE(text.ok()) << text.status();
  EXPECT_TRUE(finish(child).success()) << config;
  return text.ok() ? *text : "";
}

// Whether this process has any child at all, running or not yet reaped (of
// any kind: __WALL also sees children that send no SIGCHLD).
bool has_children() {
  siginfo_t info = {};
  return ::waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT | __WALL) == 0;
}

std::string runfile(const std::string& path) {
  const char* root = std::getenv("TEST_SRCDIR");
  return absl::StrCat(root != nullptr ? root : ".", "/uncopyable/", path);
}

TEST(SubprocessTest, ExitCodesAndSignalsAreReported) {
  Subprocess zero = spawn({.argv = {"/bin/sh", "-c", "exit 0"}});
  Subprocess three = spawn({.argv = {"/bin/sh", "-c", "exit 3"}});
  Subprocess killed = spawn({.argv = {"/bin/sh", "-c", "kill -TERM $$"}});
  const ExitStatus ok = finish(zero);
  EXPECT_TRUE(ok.success());
  EXPECT_EQ(ok, ExitStatus::exited(0));
  const ExitStatus failed = finish(three);
  EXPECT_FALSE(failed.success());
  EXPECT_EQ(failed.code(), 3);
  EXPECT_EQ(failed.signal(), std::nullopt);
  EXPECT_EQ(failed.to_string(), "exited with code 3");
  const ExitStatus terminated = finish(killed);
  EXPECT_EQ(terminated, ExitStatus::killed(SIGTERM));
  EXPECT_EQ(terminated.code(), std::nullopt);
  EXPECT_EQ(terminated.to_string(), "killed by signal 15 (SIGTERM)");
  // Once reaped, wait() answers again at once, the same.
  EXPECT_EQ(*three.wait(), failed);
  EXPECT_EQ(*three.wait(absl::ZeroDuration()), failed);
}

TEST(SubprocessTest, ANameWithoutASlashIsLookedUpOnPath) {
  Subprocess child = spawn({.argv = {"sh", "-c", "exit 7"}});
  EXPECT_EQ(finish(child).code(), 7);
  // The child's own PATH is the one searched; without one, /bin:/usr/bin.
  Subprocess bare = spawn({.argv = {"sh", "-c", "exit 8"}, .inherit_environment = false});
  EXPECT_EQ(finish(bare).code(), 8);
  absl::StatusOr<Subprocess> nowhere = Subprocess::spawn(
      {.argv = {"sh"}, .environment = {{.name = "PATH", .value = Secret<std::string>("/nonexistent:")}}},
      {});
  EXPECT_EQ(nowhere.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(
      nowhere.status().message(),
      "spawn subprocess \"sh\" (looked up on PATH): execve: No such file or directory [ENOENT]");
}

// A program that cannot run is a Status from spawn(), naming it and the
// errno, never a child that exits 127; the child that tried is reaped (the
// leak guard fails any test that leaves a child behind).
TEST(SubprocessTest, AProgramThatCannotRunIsAStatusNamingIt) {
  absl::StatusOr<Subprocess> missing = Subprocess::open({.argv = {"/no/such/program", "-x"}});
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(missing.status().message(),
            "spawn subprocess \"/no/such/program\": execve: No such file or directory [ENOENT]");
  absl::StatusOr<Subprocess> unknown = Subprocess::open({.argv = {"no-such-program-of-uncopyable"}});
  EXPECT_EQ(unknown.status().message(),
            "spawn subprocess \"no-such-program-of-uncopyable\" (looked up on PATH): execve: No "
            "such file or "
            "directory [ENOENT]");
  EXPECT_FALSE(has_children());

  TempPath script("not-executable");
  std::ofstream(script.path()) << "#!/bin/sh\nexit 0\n";
  ASSERT_EQ(::chmod(script.path().c_str(), 0644), 0);
  absl::StatusOr<Subprocess> denied = Subprocess::open({.argv = {script.path()}});
  EXPECT_EQ(denied.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(denied.status().message(), HasSubstr(": execve: Permission denied [EACCES]"));
  // No #! line: not handed to /bin/sh, unlike execvp.
  std::ofstream(script.path()) << "exit 0\n";
  ASSERT_EQ(::chmod(script.path().c_str(), 0755), 0);
  absl::StatusOr<Subprocess> format = Subprocess::open({.argv = {script.path()}});
  EXPECT_THAT(format.status().message(), HasSubstr(": execve: Exec format error [ENOEXEC]"));
  EXPECT_FALSE(has_children());
}

TEST(SubprocessTest, WorkingDirectory) {
  EXPECT_EQ(output_of({.argv = {"/bin/pwd"}, .working_directory = "/usr"}), "/usr\n");
  absl::StatusOr<Subprocess> missing =
      Subprocess::open({.argv = {"/bin/pwd"}, .working_directory = "/no/such/folder"});
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(missing.status().message(),
            "spawn subprocess \"/bin/pwd\": chdir(\"/no/such/folder\"): No such file or directory "
            "[ENOENT]");
}

TEST(SubprocessTest, EnvironmentIsInheritedWithChangesOrGivenWhole) {
  ASSERT_EQ(::setenv("UNCOPYABLE_INHERITED", "from the parent", 1), 0);
  ASSERT_EQ(::setenv("UNCOPYABLE_REPLACED", "old", 1), 0);
  const std::string inherited = output_of(
      {.argv = {"/usr/bin/env"},
       .environment = {{.name = "UNCOPYABLE_REPLACED", .value = Secret<std::string>("new")}}});
  EXPECT_THAT(inherited, HasSubstr("\nUNCOPYABLE_INHERITED=from the parent\n"));
  EXPECT_THAT(inherited, HasSubstr("UNCOPYABLE_REPLACED=new\n"));
  EXPECT_THAT(inherited, Not(HasSubstr("UNCOPYABLE_REPLACED=old")));
  EXPECT_EQ(output_of({.argv = {"/usr/bin/env"},
                       .inherit_environment = false,
                       .environment = {{.name = "A", .value = Secret<std::string>("1")},
                                       {.name = "EMPTY"}}}),
            "A=1\nEMPTY=\n");
  ::unsetenv("UNCOPYABLE_INHERITED");
  ::unsetenv("UNCOPYABLE_REPLACED");
}

// An inherited variable can be kept from the child (review PEERS6 finding
// 11): neither its value nor its name reaches it.
TEST(SubprocessTest, RemovedVariablesAreNotInherited) {
  ASSERT_EQ(::setenv("UNCOPYABLE_SECRET", "hunter2", 1), 0);
  ASSERT_EQ(::setenv("UNCOPYABLE_KEPT", "kept", 1), 0);
  const std::string printed = output_of(
      {.argv = {"/usr/bin/env"},
       .environment = {{.name = "UNCOPYABLE_SET", .value = Secret<std::string>("set")}},
       .remove_environment = {"UNCOPYABLE_SECRET", "UNCOPYABLE_NEVER_DEFINED"}});
  EXPECT_THAT(printed, Not(HasSubstr("UNCOPYABLE_SECRET")));
  EXPECT_THAT(printed, Not(HasSubstr("hunter2")));
  EXPECT_THAT(printed, HasSubstr("\nUNCOPYABLE_KEPT=kept\n"));
  EXPECT_THAT(printed, HasSubstr("UNCOPYABLE_SET=set\n"));
  // Without it, the same config passes it on (the test can fail).
  EXPECT_THAT(output_of({.argv = {"/usr/bin/env"}}), HasSubstr("UNCOPYABLE_SECRET=hunter2\n"));
  // A removed PATH is not searched either: execvp's default is.
  // (A line of its own: LIBRARY_PATH=, say, may well be there.)
  EXPECT_THAT(output_of({.argv = {"env"}, .remove_environment = {"PATH"}}),
              Not(::testing::ContainsRegex("(^|\n)PATH=")));
  ::unsetenv("UNCOPYABLE_SECRET");
  ::unsetenv("UNCOPYABLE_KEPT");
}

// What a helper process that spawned `sleep 30` (from `config`) and then
// died without running destructors (`die`) left running: whether its child
// was gone within 10 s. The grandchild's pidfd is opened while it surely
// runs, so its pid cannot be reused meanwhile.
enum class Fate { gone, running, setup_failed };
template <typename Die>
Fate grandchild_after_parent_died(const SubprocessConfig& config, Die die) {
  int to_test[2];
  int to_helper[2];
  if (::pipe2(to_test, O_CLOEXEC) != 0 || ::pipe2(to_helper, O_CLOEXEC) != 0) {
    return Fate::setup_failed;
  }
  const pid_t helper = ::fork();
  if (helper == 0) {
    const rlimit no_core = {0, 0};
    ::setrlimit(RLIMIT_CORE, &no_core);
    absl::StatusOr<Subprocess> child = Subprocess::open(config);
    const pid_t pid = child.ok() ? child->pid() : 0;
    (void)!::write(to_test[1], &pid, sizeof pid);
    char go;
    (void)!::read(to_helper[0], &go, 1);
    if (child.ok()) die(*child);
    ::_exit(3);  // `die` must not return
  }
  ::close(to_test[1]);
  ::close(to_helper[0]);
  pid_t grandchild = 0;
  pollfd ready = {to_test[0], POLLIN, 0};
  const bool got = ::poll(&ready, 1, 10000) == 1 &&
                   ::read(to_test[0], &grandchild, sizeof grandchild) == sizeof grandchild;
  const int pidfd = got && grandchild > 0
                        ? static_cast<int>(::syscall(SYS_pidfd_open, grandchild, 0))
                        : -1;
  (void)!::write(to_helper[1], "x", 1);  // die now
  ::close(to_test[0]);
  ::close(to_helper[1]);
  int status = 0;
  const bool helper_died = ::waitpid(helper, &status, 0) == helper && WIFSIGNALED(status) &&
                           WTERMSIG(status) == SIGABRT;
  if (pidfd < 0 || !helper_died) {
    if (pidfd >= 0) ::syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, nullptr, 0);
    ADD_FAILURE() << "pid " << grandchild << ", helper status " << status;
    return Fate::setup_failed;
  }
  // The kernel signals the child as the helper exits, before waitpid sees
  // it; a process killed that way is gone within moments.
  pollfd exited = {pidfd, POLLIN, 0};
  const bool gone = ::poll(&exited, 1, config.parent_death_signal != 0 ? 10000 : 0) == 1;
  if (!gone) ::syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, nullptr, 0);  // no leak
  ::close(pidfd);
  return gone ? Fate::gone : Fate::running;
}

// A parent that aborts runs no destructor; its child goes anyway (review
// PEERS6 finding 3).
TEST(SubprocessTest, AChildDiesWithAParentThatAborts) {
  EXPECT_EQ(grandchild_after_parent_died({.argv = {"sleep", "30"}, .parent_death_signal = SIGKILL},
                                         [](Subprocess&) { std::abort(); }),
            Fate::gone);
}

// ... also one that aborts on misuse: every `uncopyable:` line is an abort.
TEST(SubprocessTest, AChildDiesWithAParentThatAbortsOnMisuse) {
  EXPECT_EQ(grandchild_after_parent_died({.argv = {"sleep", "30"}, .parent_death_signal = SIGKILL},
                                         [](Subprocess& child) {
                                           Subprocess taken = std::move(child);
                                           (void)child.pid();  // NOLINT: use after move, on purpose
                                         }),
            Fate::gone);
}

// With 0, the default, the child is left running, as folly and Rust leave it.
TEST(SubprocessTest, WithoutAParentDeathSignalTheChildRunsOnOrphaned) {
  EXPECT_EQ(grandchild_after_parent_died({.argv = {"sleep", "30"}},
                                         [](Subprocess&) { std::abort(); }),
            Fate::running);
}

// Linux sends it when the spawning THREAD ends, as the header says: a child
// spawned from a thread that exits goes with it, unless the config says 0.
TEST(SubprocessTest, TheParentDeathSignalFollowsTheSpawningThread) {
  std::optional<Subprocess> child;
  std::thread([&] {
    child.emplace(spawn({.argv = {"sleep", "30"}, .parent_death_signal = SIGKILL}));
  }).join();
  ASSERT_TRUE(child.has_value());
  EXPECT_EQ(finish(*child), ExitStatus::killed(SIGKILL));
  std::optional<Subprocess> kept;
  std::thread([&] {
    kept.emplace(spawn({.argv = {"sleep", "30"}}));  // the default: none
  }).join();
  ASSERT_TRUE(kept.has_value());
  EXPECT_EQ(kept->wait(absl::ZeroDuration()).status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_TRUE(kept->close().ok());
}

// The child inherits 0, 1, 2 and what the config passes, nothing else: not
// even descriptors this process opened without O_CLOEXEC.
TEST(SubprocessTest, TheChildInheritsOnlyTheDescriptorsItIsGiven) {
  const int leaky = ::open("/dev/null", O_RDONLY);  // no O_CLOEXEC, on purpose
  ASSERT_GE(leaky, 0);
  const int leaky_too = ::dup(leaky);
  ASSERT_GE(leaky_too, 0);
  ASSERT_EQ(::fcntl(leaky_too, F_GETFD), 0);
  const std::string listed = output_of(
      {.argv = {runfile("tests/testing/list_fds")}, .passed_fds = {9}}, {FdView(leaky)});
  EXPECT_EQ(listed, "0\n1\n2\n9\n");
  ::close(leaky);
  ::close(leaky_too);
}

// Passed descriptors land at their numbers even where a source sits at
// another's target: here 60 goes to 61 and 61 to 60.
TEST(SubprocessTest, PassedDescriptorsMayTradePlaces) {
  absl::StatusOr<Pipe> a = make_pipe();
  absl::StatusOr<Pipe> b = make_pipe();
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_EQ(::dup3(a->writer.fd().get(), 60, O_CLOEXEC), 60);
  ASSERT_EQ(::dup3(b->writer.fd().get(), 61, O_CLOEXEC), 61);
  ASSERT_TRUE(a->writer.close().ok());
  ASSERT_TRUE(b->writer.close().ok());
  Subprocess child = spawn(
      {.argv = {"/bin/bash", "-c", "echo to-60 >&60; echo to-61 >&61"}, .passed_fds = {61, 60}},
      {FdView(60), FdView(61)});
  ::close(60);
  ::close(61);
  EXPECT_TRUE(finish(child).success());
  EXPECT_EQ(*a->reader.read_to_end(100), "to-61\n");  // a was at 60, passed as 61
  EXPECT_EQ(*b->reader.read_to_end(100), "to-60\n");
}

TEST(SubprocessTest, StandardStreamsInheritOrNull) {
  const std::string null = output_of(
      {.argv = {"/bin/sh", "-c", "readlink /proc/self/fd/0 /proc/self/fd/2"},
       .standard_input = StandardStream::null,
       .standard_error = StandardStream::null});
  EXPECT_EQ(null, "/dev/null\n/dev/null\n");
  // standard_output = null does not apply to a stream the config passes.
  const std::string passed = output_of({.argv = {"/bin/echo", "still here"},
                                        .standard_output = StandardStream::null});
  EXPECT_EQ(passed, "still here\n");
}

TEST(SubprocessTest, APassedDescriptorThatIsNotOpenIsAStatus) {
  absl::StatusOr<Subprocess> child =
      Subprocess::spawn({.argv = {"/bin/true"}, .passed_fds = {3}}, {FdView(1000)});
  EXPECT_EQ(child.status().code(), absl::StatusCode::kFailedPrecondition) << child.status();
  EXPECT_EQ(
      child.status().message(),
      "spawn subprocess \"/bin/true\": passing fd 1000 as child fd 3: Bad file descriptor [EBADF]");
  absl::StatusOr<Subprocess> uneven =
      Subprocess::spawn({.argv = {"/bin/true"}, .passed_fds = {3, 4}}, {FdView(0)});
  EXPECT_EQ(uneven.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(
      uneven.status().message(),
      "spawn subprocess \"/bin/true\": the config passes 2 descriptor(s) (passed_fds), but spawn() "
      "was given 1");
  EXPECT_FALSE(has_children());
}

TEST(SubprocessTest, WaitWithATimeoutLeavesTheChildRunning) {
  Subprocess sleeper = spawn({.argv = {"/bin/sleep", "100"}});
  absl::StatusOr<ExitStatus> early = sleeper.wait(absl::Milliseconds(20));
  EXPECT_EQ(early.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(early.status().message(), absl::StrCat("wait subprocess \"/bin/sleep\" pid ",
                                                   sleeper.pid(), ": still running after 20ms"));
  EXPECT_EQ(sleeper.wait(absl::ZeroDuration()).status().code(),
            absl::StatusCode::kDeadlineExceeded);
  ASSERT_TRUE(sleeper.kill(SIGTERM).ok());
  EXPECT_EQ(finish(sleeper), ExitStatus::killed(SIGTERM));
  // Reaped: there is nothing to signal any more, and that is fine.
  EXPECT_TRUE(sleeper.kill(SIGKILL).ok());
  EXPECT_TRUE(sleeper.close().ok());
}

TEST(SubprocessTest, ThePidfdIsReadableOnceTheChildExits) {
  Subprocess child = spawn({.argv = {"/bin/true"}});
  pollfd entry{child.fd().get(), POLLIN, 0};
  ASSERT_EQ(::poll(&entry, 1, 10000), 1);
  EXPECT_EQ(*child.wait(absl::ZeroDuration()), ExitStatus::exited(0));
}

TEST(SubprocessTest, AnInvalidSignalIsInvalidArgument) {
  Subprocess sleeper = spawn({.argv = {"/bin/sleep", "100"}});
  const absl::Status status = sleeper.kill(12345);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), absl::StrCat("kill subprocess \"/bin/sleep\" pid ", sleeper.pid(),
                                           ": sending signal 12345: Invalid argument [EINVAL]"));
}

// A waitpid(-1) elsewhere in the program can reap the child behind its
// Subprocess's back; the Subprocess then says so, and its pidfd keeps any
// signal from reaching another process that got the pid.
TEST(SubprocessTest, AChildReapedBehindItsBackIsAStatus) {
  Subprocess child = spawn({.argv = {"/bin/true"}});
  const pid_t pid = child.pid();
  int status = 0;
  ASSERT_EQ(::waitpid(-1, &status, 0), pid);
  const absl::StatusOr<ExitStatus> waited = child.wait(kWait);
  EXPECT_EQ(waited.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(waited.status().message(), absl::StrCat("wait subprocess \"/bin/true\" pid ", pid,
                                                    ": No child processes [ECHILD]"));
  const absl::Status killed = child.kill(SIGKILL);
  EXPECT_EQ(killed.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(killed.message(), absl::StrCat("kill subprocess \"/bin/true\" pid ", pid,
                                           ": sending SIGKILL: No such process [ESRCH]"));
  EXPECT_TRUE(child.close().ok());  // nothing left to kill or reap: not an error
}

// A Subprocess that goes while its child runs kills it and reaps it: no
// child runs on, none is left a zombie.
TEST(SubprocessTest, DestroyingARunningSubprocessKillsAndReapsTheChild) {
  pid_t pid = 0;
  {
    Subprocess sleeper = spawn({.argv = {"/bin/sleep", "100"}});
    pid = sleeper.pid();
    ASSERT_EQ(::kill(pid, 0), 0);  // running, ours
  }
  siginfo_t info = {};
  EXPECT_EQ(::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG), -1);
  EXPECT_EQ(errno, ECHILD);  // not our child any more: reaped
  EXPECT_FALSE(has_children());

  // Assigning over one does the same to the child it held.
  Subprocess first = spawn({.argv = {"/bin/sleep", "100"}});
  const pid_t first_pid = first.pid();
  first = spawn({.argv = {"/bin/true"}});
  EXPECT_EQ(::waitid(P_PID, static_cast<id_t>(first_pid), &info, WEXITED | WNOHANG), -1);
  EXPECT_EQ(errno, ECHILD);
  EXPECT_TRUE(finish(first).success());
  EXPECT_TRUE(first.close().ok());  // a group leader waited for stays a zombie until then

  // And close() too.
  Subprocess closed = spawn({.argv = {"/bin/sleep", "100"}});
  const pid_t closed_pid = closed.pid();
  EXPECT_TRUE(closed.close().ok());
  EXPECT_EQ(::waitid(P_PID, static_cast<id_t>(closed_pid), &info, WEXITED | WNOHANG), -1);
  EXPECT_FALSE(has_children());
}

// Whether process `pid` is gone: no such process, or a zombie (which its
// new parent, whoever reaps orphans here, has yet to collect).
bool gone(pid_t pid) {
  if (::kill(pid, 0) != 0) return errno == ESRCH;
  // read(2), not std::ifstream: libstdc++ throws when the read fails with
  // ESRCH, which it does when the process is reaped meanwhile.
  const int fd = ::open(absl::StrCat("/proc/", pid, "/stat").c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return true;
  char buffer[1024];
  const ssize_t n = ::read(fd, buffer, sizeof buffer);
  ::close(fd);
  if (n <= 0) return true;  // gone while we looked
  const std::string text(buffer, static_cast<size_t>(n));
  const size_t paren = text.rfind(')');
  return paren == std::string::npos || text.substr(paren + 2, 1) == "Z";
}

// Whether `pid` is gone within kWait.
bool gone_soon(pid_t pid) {
  const absl::Time until = absl::Now() + kWait;
  while (!gone(pid)) {
    if (absl::Now() > until) return false;
    absl::SleepFor(absl::Milliseconds(10));
  }
  return true;
}

// Whether `reader` reaches the end of its stream within kWait (polled, so
// that a writer left open fails the test instead of hanging it).
bool ends_soon(PipeReader& reader) {
  const absl::Time until = absl::Now() + kWait;
  char buffer[256];
  while (absl::Now() < until) {
    pollfd entry{reader.fd().get(), POLLIN, 0};
    if (::poll(&entry, 1, 100) <= 0) continue;
    absl::StatusOr<size_t> got = reader.read(absl::MakeSpan(buffer));
    if (!got.ok()) return false;
    if (*got == 0) return true;
  }
  return false;
}

// The first line `reader` gives, without the newline.
std::string first_line(PipeReader& reader) {
  std::string line;
  char c = 0;
  while (true) {
    absl::StatusOr<size_t> got = reader.read(absl::MakeSpan(&c, 1));
    if (!got.ok() || *got == 0 || c == '\n') return line;
    line += c;
  }
}

// A shell that starts `sleep 30` in the background, prints its pid and
// waits (or, with `then_exit`, exits at once), its stdout a pipe.
struct ShellWithAGrandchild {
  explicit ShellWithAGrandchild(bool then_exit, bool new_process_group = true) {
    absl::StatusOr<Pipe> pipe = make_pipe();
    EXPECT_TRUE(pipe.ok()) << pipe.status();
    out.emplace(*std::move(pipe));
    child.emplace(spawn({.argv = {"/bin/sh", "-c",
                                  then_exit ? "sleep 30 & echo $!" : "sleep 30 & echo $!; wait"},
                         .passed_fds = {1},
                         .new_process_group = new_process_group},
                        {out->writer.fd()}));
    EXPECT_TRUE(out->writer.close().ok());
    const std::string line = first_line(out->reader);
    EXPECT_TRUE(absl::SimpleAtoi(line, &grandchild)) << line;
  }
  ~ShellWithAGrandchild() {
    if (grandchild > 0 && !gone(grandchild)) ::kill(grandchild, SIGKILL);  // a failed test's
  }
  std::optional<Pipe> out;
  std::optional<Subprocess> child;
  pid_t grandchild = 0;
};

// Closing a Subprocess ends what its child started too: the child leads a
// process group, and the group is killed. The grandchild held the pipe's
// write end; with it gone the reader sees the end instead of hanging.
TEST(SubprocessTest, ClosingKillsTheChildsProcessGroup) {
  ShellWithAGrandchild shell(/*then_exit=*/false);
  ASSERT_GT(shell.grandchild, 0);
  ASSERT_FALSE(gone(shell.grandchild));
  EXPECT_TRUE(shell.child->close().ok());
  EXPECT_TRUE(gone_soon(shell.grandchild)) << "the grandchild outlived the Subprocess";
  EXPECT_TRUE(ends_soon(shell.out->reader)) << "a descendant still holds the pipe";
}

// The same by destruction, and after wait() saw the child itself exit:
// the leader stays a zombie until close(), so its group can still be found.
TEST(SubprocessTest, DestroyingKillsTheGroupEvenAfterTheChildWasWaitedFor) {
  ShellWithAGrandchild shell(/*then_exit=*/true);
  ASSERT_GT(shell.grandchild, 0);
  EXPECT_TRUE(finish(*shell.child).success());
  ASSERT_FALSE(gone(shell.grandchild));  // the shell is gone, its job runs
  shell.child.reset();
  EXPECT_TRUE(gone_soon(shell.grandchild)) << "the grandchild outlived the Subprocess";
  EXPECT_TRUE(ends_soon(shell.out->reader));
  EXPECT_FALSE(has_children());
}

// kill_group() signals the whole group; kill() the child alone.
TEST(SubprocessTest, KillGroupSignalsTheWholeGroup) {
  ShellWithAGrandchild shell(/*then_exit=*/false);
  ASSERT_GT(shell.grandchild, 0);
  EXPECT_TRUE(shell.child->kill_group(0).ok());  // only checks
  EXPECT_TRUE(shell.child->kill_group(SIGTERM).ok());
  EXPECT_TRUE(gone_soon(shell.grandchild));
  EXPECT_EQ(finish(*shell.child), ExitStatus::killed(SIGTERM));
  EXPECT_TRUE(ends_soon(shell.out->reader));
  // After wait() the group can still be signalled (its leader is a zombie
  // until close()); 99 is no signal.
  EXPECT_EQ(shell.child->kill_group(99).code(), absl::StatusCode::kInvalidArgument);
}

// Without new_process_group the child shares this process's group, as in
// folly and Rust: its descendants outlive it, and kill_group() refuses.
TEST(SubprocessTest, WithoutANewProcessGroupDescendantsRunOn) {
  ShellWithAGrandchild shell(/*then_exit=*/false, /*new_process_group=*/false);
  ASSERT_GT(shell.grandchild, 0);
  absl::Status group = shell.child->kill_group(SIGTERM);
  EXPECT_EQ(group.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(group.message(), HasSubstr("leads no process group of its own"));
  EXPECT_TRUE(shell.child->close().ok());
  EXPECT_FALSE(gone(shell.grandchild));  // documented: it runs on
}

// The child's process group is its own pid (new_process_group), or this
// process's group (the default).
TEST(SubprocessTest, TheChildLeadsAProcessGroupOfItsOwnWhenAsked) {
  EXPECT_FALSE(SubprocessConfig{}.new_process_group);  // as in folly and Rust
  for (const bool own : {true, false}) {
    absl::StatusOr<Pipe> out = make_pipe();
    ASSERT_TRUE(out.ok());
    Subprocess child = spawn({.argv = {"/bin/cat", "/proc/self/stat"},
                              .passed_fds = {1},
                              .new_process_group = own},
                             {out->writer.fd()});
    ASSERT_TRUE(out->writer.close().ok());
    absl::StatusOr<std::string> stat = out->reader.read_to_end(1 << 16);
    ASSERT_TRUE(stat.ok()) << stat.status();
    // pid (comm) state ppid pgrp ...
    const std::vector<std::string> fields =
        absl::StrSplit(stat->substr(stat->rfind(')') + 2), ' ');
    ASSERT_GE(fields.size(), 3U);
    EXPECT_EQ(fields[2], absl::StrCat(own ? child.pid() : ::getpgrp())) << own;
    EXPECT_TRUE(finish(child).success());
  }
}

// communicate() reads both outputs at once: a child that fills its stderr
// pipe (64 KiB) before it writes a byte to stdout would deadlock a caller
// reading stdout to the end first.
TEST(SubprocessTest, CommunicateReadsStdoutAndStderrTogether) {
  Subprocess child = spawn({.argv = {"/bin/sh", "-c", "head -c 1000000 /dev/zero >&2; echo out"},
                            .standard_output = StandardStream::piped,
                            .standard_error = StandardStream::piped});
  absl::StatusOr<SubprocessOutput> output = child.communicate({}, kWait);
  ASSERT_TRUE(output.ok()) << output.status();
  EXPECT_TRUE(output->exit.success());
  EXPECT_EQ(output->standard_output, "out\n");
  EXPECT_EQ(output->standard_error, std::string(1000000, '\0'));
  EXPECT_TRUE(child.close().ok());
  EXPECT_FALSE(has_children());
}

// Input and output at once: 4 MiB through cat fills both pipes many times.
TEST(SubprocessTest, CommunicateWritesInputWhileItReads) {
  std::string input(4 << 20, 'x');
  for (size_t i = 0; i < input.size(); i += 997) input[i] = static_cast<char>('a' + i % 26);
  Subprocess child = spawn({.argv = {"/bin/cat"},
                            .standard_input = StandardStream::piped,
                            .standard_output = StandardStream::piped});
  absl::StatusOr<SubprocessOutput> output = child.communicate(input, kWait);
  ASSERT_TRUE(output.ok()) << output.status();
  EXPECT_TRUE(output->exit.success());
  EXPECT_TRUE(output->standard_output == input) << output->standard_output.size();
  EXPECT_EQ(output->standard_error, "");  // not piped: inherited, so empty here
  // The pipes went with it: a second call has nothing to read.
  absl::StatusOr<SubprocessOutput> again = child.communicate();
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->standard_output, "");
  EXPECT_TRUE(again->exit.success());
}

// Input the child does not read is dropped, not an error.
TEST(SubprocessTest, CommunicateDropsInputTheChildDoesNotRead) {
  Subprocess child = spawn({.argv = {"/bin/sh", "-c", "echo no reader"},
                            .standard_input = StandardStream::piped,
                            .standard_output = StandardStream::piped});
  absl::StatusOr<SubprocessOutput> output = child.communicate(std::string(1 << 20, 'x'), kWait);
  ASSERT_TRUE(output.ok()) << output.status();
  EXPECT_EQ(output->standard_output, "no reader\n");
  EXPECT_TRUE(output->exit.success());
}

// Past the timeout the child (and its group) is killed and reaped: no hang,
// no zombie.
TEST(SubprocessTest, CommunicatePastItsTimeoutKillsTheChild) {
  ShellWithAGrandchild shell(/*then_exit=*/false);
  ASSERT_GT(shell.grandchild, 0);
  Subprocess& child = *shell.child;
  // The shell's stdout is the test's pipe here; the Subprocess holds none.
  absl::StatusOr<SubprocessOutput> output = child.communicate({}, absl::Milliseconds(100));
  EXPECT_EQ(output.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(output.status().message(),
            absl::StrCat("communicate subprocess \"/bin/sh\" pid ", child.pid(),
                         ": not done after 100ms; killed (SIGKILL)"));
  EXPECT_EQ(finish(child), ExitStatus::killed(SIGKILL));
  EXPECT_TRUE(gone_soon(shell.grandchild));
  EXPECT_FALSE(has_children());

  Subprocess sleeper = spawn({.argv = {"/bin/sleep", "30"},
                              .standard_output = StandardStream::piped});
  output = sleeper.communicate({}, absl::Milliseconds(50));
  EXPECT_EQ(output.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(finish(sleeper), ExitStatus::killed(SIGKILL));
  EXPECT_FALSE(has_children());
}

// A shell that starts `sleep 600 &` and exits: the sleep holds the piped
// standard output. Its pid comes through a pipe of the test's (fd 3), which
// the sleep does not hold; a test that fails leaves no sleep behind.
struct ShellLeavingABackgroundJob {
  explicit ShellLeavingABackgroundJob(bool new_process_group) {
    absl::StatusOr<Pipe> pipe = make_pipe();
    EXPECT_TRUE(pipe.ok()) << pipe.status();
    child.emplace(spawn({.argv = {"/bin/sh", "-c", "sleep 600 3>&- & echo $! >&3; echo done"},
                         .passed_fds = {3},
                         .standard_output = StandardStream::piped,
                         .new_process_group = new_process_group},
                        {pipe->writer.fd()}));
    EXPECT_TRUE(pipe->writer.close().ok());
    const std::string line = first_line(pipe->reader);
    EXPECT_TRUE(absl::SimpleAtoi(line, &grandchild)) << line;
  }
  ~ShellLeavingABackgroundJob() {
    if (grandchild > 0 && !gone(grandchild)) ::kill(grandchild, SIGKILL);
  }
  std::optional<Subprocess> child;
  pid_t grandchild = 0;
};

// The child exits at once, but its background job holds the pipe: with a
// group of its own, the group is killed once the child exits, and the pipe
// ends (review 6, finding 6: this read for 600 s).
TEST(SubprocessTest, CommunicateReturnsWhenTheChildExitsLeavingABackgroundJob) {
  ShellLeavingABackgroundJob shell(/*new_process_group=*/true);
  ASSERT_GT(shell.grandchild, 0);
  absl::StatusOr<SubprocessOutput> output = shell.child->communicate({}, absl::Seconds(5));
  ASSERT_TRUE(output.ok()) << output.status();
  EXPECT_EQ(output->standard_output, "done\n");
  EXPECT_TRUE(output->exit.success()) << output->exit;
  EXPECT_TRUE(gone_soon(shell.grandchild)) << "the background job outlived communicate()";
}

// Without a group nothing is killed: communicate() reads until the pipe
// ends or its timeout, which then reaps the child and names the cause.
TEST(SubprocessTest, CommunicateWithoutAGroupWaitsForTheBackgroundJobUntilItsTimeout) {
  ShellLeavingABackgroundJob shell(/*new_process_group=*/false);
  ASSERT_GT(shell.grandchild, 0);
  Subprocess& child = *shell.child;
  absl::StatusOr<SubprocessOutput> output = child.communicate({}, absl::Seconds(1));
  EXPECT_EQ(output.status().code(), absl::StatusCode::kDeadlineExceeded) << output.status();
  EXPECT_THAT(output.status().message(),
              HasSubstr("not done after 1s; the child has exited, but a process it started"));
  EXPECT_EQ(finish(child), ExitStatus::exited(0));  // reaped by communicate()
  EXPECT_FALSE(has_children());
  EXPECT_FALSE(gone(shell.grandchild));  // left alone, as documented
  ::kill(shell.grandchild, SIGKILL);
  EXPECT_TRUE(gone_soon(shell.grandchild));
}

// Input without a piped standard input is refused before anything: the
// child runs on and keeps its pipes (review 6, finding 9).
TEST(SubprocessTest, CommunicateInputWithoutPipeLeavesTheChildRunning) {
  Subprocess child = spawn({.argv = {"/bin/sleep", "30"},
                            .standard_input = StandardStream::null,
                            .standard_output = StandardStream::piped});
  absl::StatusOr<SubprocessOutput> output = child.communicate("x", kWait);
  EXPECT_EQ(output.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(child.wait(absl::ZeroDuration()).status().code(),
            absl::StatusCode::kDeadlineExceeded);  // still running
  EXPECT_TRUE(child.take_standard_output().has_value());
  EXPECT_TRUE(child.kill(SIGKILL).ok());
  EXPECT_EQ(finish(child), ExitStatus::killed(SIGKILL));
}

// More than max_bytes on a stream is ResourceExhausted naming it; exactly
// max_bytes is fine.
TEST(SubprocessTest, CommunicateStopsAtMaxBytes) {
  Subprocess chatty = spawn({.argv = {"/bin/sh", "-c", "echo ok; head -c 100000 /dev/zero >&2"},
                             .standard_output = StandardStream::piped,
                             .standard_error = StandardStream::piped});
  absl::StatusOr<SubprocessOutput> output = chatty.communicate({}, kWait, 1000);
  EXPECT_EQ(output.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(output.status().message(),
            absl::StrCat("communicate subprocess \"/bin/sh\" pid ", chatty.pid(),
                         ": its standard error is longer than max_bytes (1000 bytes); "
                         "killed (SIGKILL)"));
  EXPECT_EQ(finish(chatty), ExitStatus::killed(SIGKILL));  // blocked writing, then killed
  EXPECT_FALSE(has_children());

  Subprocess exact = spawn({.argv = {"/usr/bin/printf", "abc"},
                            .standard_output = StandardStream::piped});
  output = exact.communicate({}, kWait, 3);
  ASSERT_TRUE(output.ok()) << output.status();
  EXPECT_EQ(output->standard_output, "abc");
}

// Input needs a piped standard input; a piped end can be taken instead.
TEST(SubprocessTest, CommunicateInputNeedsAPipedStandardInput) {
  Subprocess child = spawn({.argv = {"/bin/cat"},
                            .standard_input = StandardStream::null,
                            .standard_output = StandardStream::piped});
  absl::StatusOr<SubprocessOutput> output = child.communicate("x", kWait);
  EXPECT_EQ(output.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(output.status().message(),
              HasSubstr("1 bytes of input, but standard_input is not piped"));
  EXPECT_FALSE(child.take_standard_input().has_value());
  std::optional<PipeReader> out = child.take_standard_output();
  ASSERT_TRUE(out.has_value());
  EXPECT_FALSE(child.take_standard_output().has_value());
  absl::StatusOr<std::string> text = out->read_to_end(16);
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_EQ(*text, "");
  EXPECT_TRUE(finish(child).success());
}

// A piped stream that passed_fds also names is the passed descriptor.
TEST(SubprocessTest, PassedFdsWinOverAPipedStream) {
  absl::StatusOr<Pipe> out = make_pipe();
  ASSERT_TRUE(out.ok());
  Subprocess child = spawn({.argv = {"/bin/echo", "passed"},
                            .passed_fds = {1},
                            .standard_output = StandardStream::piped},
                           {out->writer.fd()});
  ASSERT_TRUE(out->writer.close().ok());
  EXPECT_FALSE(child.take_standard_output().has_value());
  absl::StatusOr<std::string> text = out->reader.read_to_end(64);
  EXPECT_EQ(text.value_or(""), "passed\n");
  EXPECT_TRUE(finish(child).success());
}

// A fork()ed child that lets go of the parent's Subprocess (destroys or
// closes its copy) neither kills nor reaps the parent's child.
TEST(SubprocessTest, AForkedChildLettingGoLeavesTheParentsChildAlone) {
  std::optional<Subprocess> sleeper = spawn({.argv = {"/bin/sleep", "100"}});
  std::optional<Subprocess> other = spawn({.argv = {"/bin/sleep", "100"}});
  const pid_t forked = ::fork();
  ASSERT_GE(forked, 0);
  if (forked == 0) {
    sleeper.reset();                              // the destructor
    const bool closed = other->close().ok();     // and close()
    ::_exit(closed ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(forked, &status, 0), forked);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  // Still running, still ours: the signal that ends each is the parent's
  // (a SIGKILL from the forked child would have come first, and won).
  ASSERT_TRUE(sleeper->kill(SIGTERM).ok());
  ASSERT_TRUE(other->kill(SIGTERM).ok());
  EXPECT_EQ(finish(*sleeper), ExitStatus::killed(SIGTERM));
  EXPECT_EQ(finish(*other), ExitStatus::killed(SIGTERM));
}

// The same for a child that no fork handler ran in (_Fork(), vfork, a raw
// clone): the process id decides, not only the fork counter.
TEST(SubprocessTest, AChildMadeWithoutForkHandlersLeavesTheParentsChildAlone) {
  std::optional<Subprocess> sleeper = spawn({.argv = {"/bin/sleep", "100"}});
  ASSERT_TRUE(testing::in_raw_child([&] { sleeper.reset(); }));
  ASSERT_TRUE(sleeper->kill(SIGTERM).ok());
  EXPECT_EQ(finish(*sleeper), ExitStatus::killed(SIGTERM));
}

TEST(SubprocessTest, RebuildSpawnsTheSameProgramAgain) {
  const SubprocessConfig config{.argv = {"/bin/sh", "-c", "exit 5"}};
  absl::StatusOr<Subprocess> first = uncopyable::rebuild(config);
  ASSERT_TRUE(first.ok()) << first.status();
  absl::StatusOr<Subprocess> second = first->rebuild();
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_NE(first->pid(), second->pid());
  EXPECT_EQ(second->config(), config);
  EXPECT_EQ(finish(*first).code(), 5);
  EXPECT_EQ(finish(*second).code(), 5);
  // Finished or not, the config spawns again.
  absl::StatusOr<Subprocess> third = first->rebuild();
  ASSERT_TRUE(third.ok());
  EXPECT_EQ(finish(*third).code(), 5);
}

// Descriptors are resources: a config that passes some is rebuilt only with
// them given again.
TEST(SubprocessTest, RebuildOfAConfigThatPassesDescriptorsNeedsThemAgain) {
  const SubprocessConfig config{.argv = {"/bin/echo", "hi"}, .passed_fds = {1}};
  absl::StatusOr<Pipe> out = make_pipe();
  ASSERT_TRUE(out.ok());
  Subprocess child = spawn(config, {out->writer.fd()});
  absl::StatusOr<Subprocess> again = child.rebuild();
  EXPECT_EQ(again.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(again.status().message(),
              HasSubstr("the config passes 1 descriptor(s) (passed_fds): descriptors are "
                        "resources, not data"));
  EXPECT_EQ(uncopyable::rebuild(config).status().code(), absl::StatusCode::kFailedPrecondition);
  absl::StatusOr<Subprocess> given = child.rebuild({out->writer.fd()});
  ASSERT_TRUE(given.ok()) << given.status();
  ASSERT_TRUE(out->writer.close().ok());
  EXPECT_TRUE(finish(child).success());
  EXPECT_TRUE(finish(*given).success());
  EXPECT_EQ(*out->reader.read_to_end(100), "hi\nhi\n");
}

TEST(SubprocessTest, ConfigIsDataWhoseEnvironmentValuesNeverPrint) {
  const SubprocessConfig config{
      .argv = {"deploy", "--fast"},
      .environment = {{.name = "TOKEN", .value = Secret<std::string>("hunter2")}},
      .remove_environment = {"PGPASSWORD"},
      .passed_fds = {3},
      .standard_input = StandardStream::null,
      .parent_death_signal = SIGKILL};
  SubprocessConfig copy = config;
  EXPECT_EQ(copy, config);
  copy.environment[0].value = Secret<std::string>("other");
  EXPECT_NE(copy, config);
  const std::string printed = to_string(config);
  EXPECT_EQ(printed,
            "SubprocessConfig{argv=[\"deploy\", \"--fast\"], inherit_environment=true, "
            "environment=[EnvironmentVariable{name=\"TOKEN\", value=***}], "
            "remove_environment=[\"PGPASSWORD\"], "
            "working_directory=\"\", passed_fds=[3], standard_input=null, "
            "standard_output=inherit, standard_error=inherit, parent_death_signal=9, "
            "new_process_group=false}");
  EXPECT_THAT(to_json(config), HasSubstr("\"remove_environment\":[\"PGPASSWORD\"]"));
  EXPECT_THAT(to_json(config), HasSubstr("\"parent_death_signal\":9"));
  EXPECT_THAT(to_json(config), Not(HasSubstr("hunter2")));
  absl::StatusOr<SubprocessConfig> back = from_json<SubprocessConfig>(to_json(config, Secrets::kReveal));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, config);
  copy = config;
  copy.remove_environment.clear();
  EXPECT_NE(copy, config);
  copy = config;
  copy.parent_death_signal = 0;
  EXPECT_NE(copy, config);
  absl::StatusOr<SubprocessConfig> parsed = from_json<SubprocessConfig>(
      R"({"argv":["env"],"remove_environment":["A","B"],"parent_death_signal":0})");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->remove_environment, (std::vector<std::string>{"A", "B"}));
  EXPECT_EQ(parsed->parent_death_signal, 0);
  EXPECT_EQ(SubprocessConfig{}.parent_death_signal, 0);
}

TEST(SubprocessTest, ArgvIsRequiredInJson) {
  absl::StatusOr<SubprocessConfig> empty = from_json<SubprocessConfig>("{}");
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(std::string(empty.status().message()),
            "SubprocessConfig.argv: required field is missing");
  absl::StatusOr<SubprocessConfig> no_argv =
      from_json<SubprocessConfig>(R"({"standard_input":"null"})");
  ASSERT_FALSE(no_argv.ok());
  EXPECT_EQ(std::string(no_argv.status().message()),
            "SubprocessConfig.argv: required field is missing");
}

TEST(SubprocessTest, ValidateSaysWhatIsWrong) {
  EXPECT_EQ(SubprocessConfig{}.validate().message(),
            "SubprocessConfig.argv: must not be empty: argv[0] is the program");
  EXPECT_EQ(SubprocessConfig{.argv = {""}}.validate().message(),
            "SubprocessConfig.argv: argv[0], the program, must not be empty");
  EXPECT_EQ((SubprocessConfig{.argv = {"x", std::string("a\0b", 3)}}.validate().message()),
            "SubprocessConfig.argv: argv[1] must not contain a NUL byte");
  EXPECT_EQ((SubprocessConfig{.argv = {"x"}, .environment = {{.name = "A=B"}}}.validate().message()),
            "SubprocessConfig.environment[0]: EnvironmentVariable.name: must not contain '='");
  EXPECT_EQ(
      (SubprocessConfig{.argv = {"x"}, .environment = {{.name = "A"}, {.name = "A"}}}
           .validate()
           .message()),
      "SubprocessConfig.environment[1]: \"A\" is set twice");
  EXPECT_EQ((SubprocessConfig{.argv = {"x"}, .passed_fds = {-1}}.validate().message()),
            "SubprocessConfig.passed_fds[0]: -1 is out of range [0, 1048575]");
  EXPECT_EQ((SubprocessConfig{.argv = {"x"}, .passed_fds = {4, 4}}.validate().message()),
            "SubprocessConfig.passed_fds[1]: fd 4 is passed twice");
  EXPECT_EQ((SubprocessConfig{.argv = {"x"}, .remove_environment = {"A=B"}}.validate().message()),
            "SubprocessConfig.remove_environment[0]: must not contain '='");
  EXPECT_EQ((SubprocessConfig{.argv = {"x"}, .remove_environment = {""}}.validate().message()),
            "SubprocessConfig.remove_environment[0]: must not be empty");
  EXPECT_EQ((SubprocessConfig{.argv = {"x"}, .remove_environment = {std::string("A\0B", 3)}}
                 .validate()
                 .message()),
            "SubprocessConfig.remove_environment[0]: must not contain a NUL byte");
  EXPECT_EQ((SubprocessConfig{.argv = {"x"}, .remove_environment = {"A", "A"}}.validate().message()),
            "SubprocessConfig.remove_environment[1]: \"A\" is removed twice");
  EXPECT_EQ((SubprocessConfig{.argv = {"x"}, .environment = {{.name = "A"}},
                              .remove_environment = {"A"}}
                 .validate()
                 .message()),
            "SubprocessConfig.remove_environment[0]: \"A\" is also set in environment: set it or "
            "remove it");
  EXPECT_EQ((SubprocessConfig{.argv = {"x"}, .parent_death_signal = -1}.validate().message()),
            "SubprocessConfig.parent_death_signal: must be 0 (none) or a signal number from 1 to "
            "64, not -1");
  EXPECT_EQ((SubprocessConfig{.argv = {"x"}, .parent_death_signal = 65}.validate().message()),
            "SubprocessConfig.parent_death_signal: must be 0 (none) or a signal number from 1 to "
            "64, not 65");
  EXPECT_TRUE((SubprocessConfig{.argv = {"x"}, .parent_death_signal = 64}.validate().ok()));
  absl::StatusOr<Subprocess> refused = Subprocess::open(SubprocessConfig{});
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(SubprocessTest, AMessageQuotesALongProgramNameCutShort) {
  const std::string long_name = "/no/" + std::string(5000, 'x');
  absl::StatusOr<Subprocess> child = Subprocess::open({.argv = {long_name}});
  EXPECT_THAT(child.status().message(), HasSubstr("(5004 bytes)"));
  EXPECT_LT(child.status().message().size(), 400u);
}

}  // namespace
}  // namespace uncopyable
