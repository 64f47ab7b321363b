// Pipes under faults: every system call of every operation failing in turn,
// with EINTR (which must be retried) and with real errors (which must be
// reported, naming the pipe and the errno, with nothing leaked).
#include <fcntl.h>

#include <cerrno>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/fds.h"
#include "uncopyable/pipe.h"
#include "uncopyable/testing/fault_injection.h"

namespace uncopyable {
namespace {

using ::testing::HasSubstr;
using testing::FaultInjector;
using testing::open_fds;
using testing::Syscall;

// One operation on a fresh pipe that holds "data" with its writer open.
struct Operation {
  const char* name;
  std::function<absl::Status(Pipe& pipe)> run;
};

std::vector<Operation> operations() {
  const auto make = [](PipeOptions options) {
    return [options](Pipe&) -> absl::Status {
      absl::StatusOr<Pipe> made = make_pipe(options);
      if (!made.ok()) return made.status();
      // Closing both ends is part of the run: a failed close is reported.
      absl::Status reader = made->reader.close();
      absl::Status writer = made->writer.close();
      return reader.ok() ? writer : reader;
    };
  };
  return {
      {"make_pipe", make({})},
      {"make_pipe nonblocking_reader", make({.nonblocking_reader = true})},
      {"make_pipe nonblocking_writer", make({.nonblocking_writer = true})},
      {"make_pipe both nonblocking", make({.nonblocking_reader = true, .nonblocking_writer = true})},
      {"read", [](Pipe& pipe) -> absl::Status {
         std::string buffer(4, '\0');
         absl::StatusOr<size_t> got = pipe.reader.read(absl::MakeSpan(buffer));
         if (got.ok() && buffer.substr(0, *got) != std::string("data").substr(0, *got)) {
           return absl::InternalError("read the wrong bytes: " + buffer);
         }
         return got.status();
       }},
      {"read_to_end", [](Pipe& pipe) -> absl::Status {
         if (absl::Status s = pipe.writer.close(); !s.ok()) return s;
         absl::StatusOr<std::string> text = pipe.reader.read_to_end(100);
         if (text.ok() && *text != "data") return absl::InternalError("read " + *text);
         return text.status();
       }},
      {"write", [](Pipe& pipe) { return pipe.writer.write("more").status(); }},
      {"write_all", [](Pipe& pipe) { return pipe.writer.write_all("more"); }},
      {"close", [](Pipe& pipe) { return pipe.writer.close(); }},
  };
}

// EINTR where the library must retry, and real failures it must report.
std::vector<int> errnos_for(Syscall call) {
  switch (call) {
    case Syscall::kPipe2: return {EMFILE, ENFILE};
    case Syscall::kRead:
    case Syscall::kWrite:
    case Syscall::kFcntl: return {EINTR, EIO};
    default: return {EIO};
  }
}

Pipe fresh() {
  absl::StatusOr<Pipe> made = make_pipe();
  EXPECT_TRUE(made.ok()) << made.status();
  EXPECT_TRUE(made->writer.write_all("data").ok());
  return *std::move(made);
}

TEST(PipeFaultTest, SweepEverySystemCallOfEveryOperation) {
  int runs = 0;
  for (const Operation& operation : operations()) {
    std::vector<Syscall> calls;
    {
      Pipe pipe = fresh();
      FaultInjector count;
      ASSERT_TRUE(operation.run(pipe).ok()) << operation.name;
      calls = count.calls();
    }
    ASSERT_FALSE(calls.empty()) << operation.name;
    for (size_t n = 1; n <= calls.size(); ++n) {
      for (int error : errnos_for(calls[n - 1])) {
        const std::set<int> fds_before = open_fds();
        absl::Status status;
        std::string description;
        {
          Pipe pipe = fresh();
          FaultInjector fault;
          fault.fail_nth(static_cast<int>(n), error);
          status = operation.run(pipe);
          description = absl::StrCat(operation.name, ": ", fault.describe());
          EXPECT_EQ(fault.injected(), 1) << description;
        }
        ++runs;
        if (error == EINTR) {
          EXPECT_TRUE(status.ok()) << description << " must be retried, got " << status;
        } else {
          ASSERT_FALSE(status.ok()) << description << " must be reported";
          EXPECT_THAT(status.message(), HasSubstr(strerrorname_np(error))) << description;
          EXPECT_THAT(status.message(), HasSubstr("pipe")) << description;
        }
        EXPECT_EQ(open_fds(), fds_before) << description << ": a descriptor leaked";
      }
    }
  }
  EXPECT_GE(runs, 20);
}

// A write that fails part way says how much went in first.
TEST(PipeFaultTest, AFailedWriteAllSaysHowMuchWentIn) {
  Pipe pipe = fresh();
  size_t written = 0;
  absl::Status status;
  {
    FaultInjector fault;
    fault.fail_nth(1, ENOSPC, Syscall::kWrite);
    status = pipe.writer.write_all("0123456789", &written);
  }
  EXPECT_EQ(written, 0u);
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(status.message(), absl::StrCat("write to pipe write end fd ", pipe.writer.fd().get(),
                                           ": wrote 0 of 10 bytes, then: No space left on "
                                           "device [ENOSPC]"));
}

TEST(PipeFaultTest, NoDescriptorsLeftIsResourceExhausted) {
  absl::StatusOr<Pipe> made;
  {
    FaultInjector fault;
    fault.fail_nth(1, EMFILE, Syscall::kPipe2);
    made = make_pipe();
  }
  EXPECT_EQ(made.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(made.status().message(), "make pipe: pipe2: Too many open files [EMFILE]");
}

}  // namespace
}  // namespace uncopyable
