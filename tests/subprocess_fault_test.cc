// Subprocess under faults: every system call of spawn, wait, kill and close
// failing in turn. Each run ends in the right result or a clear Status naming
// the program and the errno, with no descriptor leaked and no child left
// behind, running or unreaped.
#include <signal.h>
#include <sys/wait.h>

#include <cerrno>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/fds.h"
#include "uncopyable/subprocess.h"
#include "uncopyable/testing/fault_injection.h"

namespace uncopyable {
namespace {

using ::testing::HasSubstr;
using testing::FaultInjector;
using testing::open_fds;
using testing::Syscall;

// Whether this process has any child, running or unreaped.
bool has_children() {
  siginfo_t info = {};
  return ::waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT | __WALL) == 0;
}

// Kills and reaps whatever child is left (after a close() whose kill or
// waitid failed on purpose: the one way the library leaves one).
void reap_leftovers(pid_t pid) {
  ::kill(pid, SIGKILL);  // safe: an unreaped child's pid is not reused
  siginfo_t info = {};
  ::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | __WALL);
}

const SubprocessConfig kSleeper{.argv = {"/bin/sleep", "100"}};

Subprocess sleeper() {
  absl::StatusOr<Subprocess> child = Subprocess::open(kSleeper);
  EXPECT_TRUE(child.ok()) << child.status();
  return *std::move(child);
}

// One operation on a running child (`child`, /bin/sleep); one that spawns
// puts what it made in `made`, destroyed after the faults are disarmed.
struct Operation {
  const char* name;
  absl::StatusCode expected;  // what the run gives without faults
  std::function<absl::Status(std::optional<Subprocess>& child, std::optional<Subprocess>& made)>
      run;
};

absl::Status spawned(absl::StatusOr<Subprocess> child, std::optional<Subprocess>& made) {
  if (!child.ok()) return child.status();
  made = *std::move(child);
  return absl::OkStatus();
}

std::vector<Operation> operations() {
  return {
      {"spawn", absl::StatusCode::kOk,
       [](std::optional<Subprocess>&, std::optional<Subprocess>& made) {
         return spawned(Subprocess::open({.argv = {"/bin/true"}}), made);
       }},
      {"spawn with null streams", absl::StatusCode::kOk,
       [](std::optional<Subprocess>&, std::optional<Subprocess>& made) {
         return spawned(Subprocess::open({.argv = {"/bin/true"},
                                          .standard_input = StandardStream::null,
                                          .standard_output = StandardStream::null}),
                        made);
       }},
      {"spawn on PATH", absl::StatusCode::kOk,
       [](std::optional<Subprocess>&, std::optional<Subprocess>& made) {
         return spawned(Subprocess::open({.argv = {"true"}}), made);
       }},
      // Its stdin is closed at once and echo's output comes in one read:
      // the same system calls in the same order every run.
      {"spawn with pipes, then communicate", absl::StatusCode::kOk,
       [](std::optional<Subprocess>&, std::optional<Subprocess>& made) {
         absl::Status status =
             spawned(Subprocess::open({.argv = {"/bin/echo", "out"},
                                       .standard_input = StandardStream::piped,
                                       .standard_output = StandardStream::piped}),
                     made);
         if (!status.ok()) return status;
         absl::StatusOr<SubprocessOutput> output = made->communicate();
         if (!output.ok()) return output.status();
         if (output->standard_output != "out\n" || !output->exit.success()) {
           return absl::InternalError(absl::StrCat("wrong output: ", output->standard_output));
         }
         return absl::OkStatus();
       }},
      {"rebuild", absl::StatusCode::kOk,
       [](std::optional<Subprocess>& child, std::optional<Subprocess>& made) {
         return spawned(child->rebuild(), made);
       }},
      {"wait", absl::StatusCode::kOk,
       [](std::optional<Subprocess>& child, std::optional<Subprocess>&) {
         if (absl::Status s = child->kill(SIGKILL); !s.ok()) return s;
         return child->wait().status();
       }},
      {"wait with a timeout", absl::StatusCode::kDeadlineExceeded,
       [](std::optional<Subprocess>& child, std::optional<Subprocess>&) {
         return child->wait(absl::Milliseconds(5)).status();
       }},
      {"kill", absl::StatusCode::kOk,
       [](std::optional<Subprocess>& child, std::optional<Subprocess>&) {
         return child->kill(SIGTERM);
       }},
      {"close", absl::StatusCode::kOk,
       [](std::optional<Subprocess>& child, std::optional<Subprocess>&) {
         return child->close();
       }},
  };
}

// EINTR where the library must retry, and real failures it must report.
std::vector<int> errnos_for(Syscall call) {
  switch (call) {
    case Syscall::kRead:
    case Syscall::kWaitid:
    case Syscall::kPoll: return {EINTR, EIO};
    case Syscall::kPipe2:
    case Syscall::kOpen: return {EMFILE};
    case Syscall::kClone3: return {EAGAIN, ENOMEM};
    default: return {EIO};
  }
}

TEST(SubprocessFaultTest, SweepEverySystemCallOfEveryOperation) {
  int runs = 0;
  for (const Operation& operation : operations()) {
    std::vector<Syscall> calls;
    {
      std::optional<Subprocess> child = sleeper();
      std::optional<Subprocess> made;
      FaultInjector count;
      EXPECT_EQ(operation.run(child, made).code(), operation.expected) << operation.name;
      calls = count.calls();
    }
    ASSERT_FALSE(calls.empty()) << operation.name;
    ASSERT_FALSE(has_children()) << operation.name;
    for (size_t n = 1; n <= calls.size(); ++n) {
      for (int error : errnos_for(calls[n - 1])) {
        const std::set<int> fds_before = open_fds();
        absl::Status status;
        std::string description;
        pid_t pid = 0;
        {
          std::optional<Subprocess> child = sleeper();
          std::optional<Subprocess> made;
          pid = child->pid();
          FaultInjector fault;
          fault.fail_nth(static_cast<int>(n), error);
          status = operation.run(child, made);
          description = absl::StrCat(operation.name, ": ", fault.describe(), " gave ", status.ToString());
          EXPECT_EQ(fault.injected(), 1) << description;
        }
        ++runs;
        const Syscall failed = calls[n - 1];
        if (error == EINTR) {
          EXPECT_EQ(status.code(), operation.expected) << description << " must be retried";
        } else if (failed == Syscall::kClose && status.ok()) {
          // A descriptor spawn() used inside (the report pipe, /dev/null) is
          // released by a failing close(2) too, and holds nothing to lose:
          // not an error. Only the pidfd's close is reported (below).
          EXPECT_TRUE(std::string(operation.name).find("spawn") == 0 ||
                      std::string(operation.name) == "rebuild")
              << description;
        } else {
          ASSERT_NE(status.code(), operation.expected) << description << " must be reported";
          EXPECT_THAT(status.message(), HasSubstr(strerrorname_np(error))) << description;
          if (failed != Syscall::kClose) {
            EXPECT_THAT(status.message(), HasSubstr("\"")) << description << ": names the program";
          }
        }
        if (std::string(operation.name) == "close" &&
            (failed == Syscall::kPidfdSendSignal || failed == Syscall::kWaitid) && error != EINTR) {
          reap_leftovers(pid);  // documented: a close whose kill or waitid failed says so
        }
        EXPECT_FALSE(has_children()) << description << ": a child was left behind";
        EXPECT_EQ(open_fds(), fds_before) << description << ": a descriptor leaked";
      }
    }
  }
  EXPECT_GE(runs, 25);
}

// The exact words of a spawn that could not make a process.
TEST(SubprocessFaultTest, NoProcessesLeftIsAStatusNamingTheProgram) {
  absl::StatusOr<Subprocess> child;
  {
    FaultInjector fault;
    fault.fail_nth(1, EAGAIN, Syscall::kClone3);
    child = Subprocess::open({.argv = {"/bin/true"}});
  }
  EXPECT_EQ(child.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(child.status().message(),
            "spawn subprocess \"/bin/true\": clone3: Resource temporarily unavailable [EAGAIN]");
  EXPECT_FALSE(has_children());
}

// A close whose kill failed says so, and leaves the child running rather
// than wait for it (which could hang): the one case the owner cannot end it.
TEST(SubprocessFaultTest, ACloseWhoseKillFailedSaysSo) {
  Subprocess child = sleeper();
  const pid_t pid = child.pid();
  absl::Status closed;
  {
    FaultInjector fault;
    fault.fail_nth(1, EPERM, Syscall::kPidfdSendSignal);
    closed = child.close();
  }
  EXPECT_EQ(closed.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(closed.message(), absl::StrCat("close subprocess \"/bin/sleep\" pid ", pid,
                                           ": pidfd_send_signal SIGKILL: Operation not "
                                           "permitted [EPERM]"));
  EXPECT_EQ(::kill(pid, 0), 0);  // still running
  reap_leftovers(pid);
}

}  // namespace
}  // namespace uncopyable
