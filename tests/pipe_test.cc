#include "uncopyable/pipe.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "uncopyable/rebuildable.h"
#include "uncopyable/testing/fault_injection.h"

namespace uncopyable {
namespace {

using ::testing::HasSubstr;
using testing::FaultInjector;

// A pipe cannot be made again from data: neither end is Rebuildable (see
// //tests:pipe_nocompile_test for uncopyable::rebuild(PipeOptions{})).
static_assert(!Rebuildable<PipeReader>);
static_assert(!Rebuildable<PipeWriter>);
static_assert(!std::is_copy_constructible_v<PipeReader>);
static_assert(!std::is_copy_assignable_v<PipeWriter>);
static_assert(!std::is_copy_constructible_v<Pipe>);
static_assert(std::is_nothrow_move_constructible_v<PipeReader>);
static_assert(std::is_nothrow_move_constructible_v<PipeWriter>);
static_assert(std::is_nothrow_move_constructible_v<Pipe>);
static_assert(sizeof(PipeReader) == sizeof(int), "an end is one descriptor");

Pipe pipe(PipeOptions options = {}) {
  absl::StatusOr<Pipe> made = make_pipe(options);
  EXPECT_TRUE(made.ok()) << made.status();
  return *std::move(made);
}

bool has_flag(FdView fd, int flag) { return (::fcntl(fd.get(), F_GETFL) & flag) != 0; }

TEST(PipeTest, WhatIsWrittenIsReadToTheEndOnceTheWriterCloses) {
  auto [reader, writer] = pipe();
  ASSERT_TRUE(writer.write_all("hello, ").ok());
  absl::StatusOr<size_t> sent = writer.write("pipe");
  ASSERT_TRUE(sent.ok()) << sent.status();
  EXPECT_EQ(*sent, 4u);
  ASSERT_TRUE(writer.close().ok());
  absl::StatusOr<std::string> text = reader.read_to_end(1 << 20);
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_EQ(*text, "hello, pipe");
  // At the end, read() says 0, again and again.
  char byte;
  EXPECT_EQ(*reader.read(absl::MakeSpan(&byte, 1)), 0u);
  EXPECT_EQ(*reader.read(absl::MakeSpan(&byte, 1)), 0u);
}

TEST(PipeTest, ReadReturnsWhatIsThereWithoutWaitingToFillTheBuffer) {
  Pipe ends = pipe();
  ASSERT_TRUE(ends.writer.write_all("abc").ok());
  std::string buffer(100, '\0');
  absl::StatusOr<size_t> got = ends.reader.read(absl::MakeSpan(buffer));
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(buffer.substr(0, *got), "abc");
}

// Asked for nothing, read() and write() make no system call (the seam sees
// none) and return at once, even on an empty pipe whose writer is open.
TEST(PipeTest, ZeroLengthTransfersMakeNoCall) {
  Pipe ends = pipe();
  FaultInjector count;
  EXPECT_EQ(*ends.reader.read(absl::Span<char>()), 0u);
  EXPECT_EQ(*ends.writer.write(""), 0u);
  size_t written = 99;
  EXPECT_TRUE(ends.writer.write_all("", &written).ok());
  EXPECT_EQ(written, 0u);
  EXPECT_EQ(count.calls_seen(), 0) << count.describe();
}

TEST(PipeTest, BothEndsAreCloseOnExecAndBlockingByDefault) {
  Pipe ends = pipe();
  EXPECT_EQ(::fcntl(ends.reader.fd().get(), F_GETFD), FD_CLOEXEC);
  EXPECT_EQ(::fcntl(ends.writer.fd().get(), F_GETFD), FD_CLOEXEC);
  EXPECT_FALSE(has_flag(ends.reader.fd(), O_NONBLOCK));
  EXPECT_FALSE(has_flag(ends.writer.fd(), O_NONBLOCK));
}

TEST(PipeTest, NonblockingIsPerEnd) {
  Pipe reading = pipe({.nonblocking_reader = true});
  EXPECT_TRUE(has_flag(reading.reader.fd(), O_NONBLOCK));
  EXPECT_FALSE(has_flag(reading.writer.fd(), O_NONBLOCK));
  Pipe writing = pipe({.nonblocking_writer = true});
  EXPECT_FALSE(has_flag(writing.reader.fd(), O_NONBLOCK));
  EXPECT_TRUE(has_flag(writing.writer.fd(), O_NONBLOCK));
  Pipe both = pipe({.nonblocking_reader = true, .nonblocking_writer = true});
  EXPECT_TRUE(has_flag(both.reader.fd(), O_NONBLOCK));
  EXPECT_TRUE(has_flag(both.writer.fd(), O_NONBLOCK));
  EXPECT_EQ(::fcntl(both.writer.fd().get(), F_GETFD), FD_CLOEXEC);
}

TEST(PipeTest, NonblockingReadOfAnEmptyPipeIsUnavailableAtOnce) {
  Pipe ends = pipe({.nonblocking_reader = true});
  char byte;
  absl::StatusOr<size_t> got = ends.reader.read(absl::MakeSpan(&byte, 1));
  EXPECT_EQ(got.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(got.status().message(), "read from pipe read end fd " +
                                        std::to_string(ends.reader.fd().get()) +
                                        ": Resource temporarily unavailable [EAGAIN]");
  absl::StatusOr<std::string> all = ends.reader.read_to_end(100);
  EXPECT_EQ(all.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(all.status().message(), HasSubstr("read 0 of 101 bytes, then"));
}

// A full nonblocking pipe takes what fits, and write_all() says how much.
TEST(PipeTest, NonblockingWriteIntoAFullPipeSaysHowMuchWentIn) {
  Pipe ends = pipe({.nonblocking_writer = true});
  const int capacity = ::fcntl(ends.writer.fd().get(), F_GETPIPE_SZ);
  ASSERT_GT(capacity, 0);
  const std::string data(static_cast<size_t>(capacity) * 2, 'x');
  size_t written = 0;
  const absl::Status status = ends.writer.write_all(data, &written);
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
  EXPECT_EQ(written, static_cast<size_t>(capacity));
  EXPECT_EQ(
      status.message(),
      absl::StrCat("write to pipe write end fd ", ends.writer.fd().get(), ": wrote ", capacity,
                   " of ", data.size(), " bytes, then: Resource temporarily unavailable [EAGAIN]"));
  absl::StatusOr<size_t> more = ends.writer.write("y");
  EXPECT_EQ(more.status().code(), absl::StatusCode::kUnavailable);
}

// Would-block and peer-gone differ: a full nonblocking pipe is Unavailable
// (poll, try again), a pipe whose reader closed is FailedPrecondition, so a
// writer that retries on Unavailable stops. Before, both were Unavailable.
TEST(PipeTest, AFullPipeIsUnavailableAGoneReaderIsFailedPrecondition) {
  Pipe ends = pipe({.nonblocking_writer = true});
  const int capacity = ::fcntl(ends.writer.fd().get(), F_GETPIPE_SZ);
  ASSERT_GT(capacity, 0);
  ASSERT_TRUE(ends.writer.write_all(std::string(static_cast<size_t>(capacity), 'x')).ok());
  absl::StatusOr<size_t> full = ends.writer.write("y");
  EXPECT_EQ(full.status().code(), absl::StatusCode::kUnavailable) << full.status();
  EXPECT_THAT(full.status().message(), HasSubstr("[EAGAIN]"));
  ASSERT_TRUE(ends.reader.close().ok());
  // The retry loop a caller writes: bounded here, ended by the code.
  absl::Status last;
  int tries = 0;
  for (; tries < 1000; ++tries) {
    absl::StatusOr<size_t> more = ends.writer.write("y");
    last = more.status();
    if (!absl::IsUnavailable(last)) break;
  }
  EXPECT_EQ(tries, 0);
  EXPECT_EQ(last.code(), absl::StatusCode::kFailedPrecondition) << last;
  EXPECT_THAT(last.message(), HasSubstr("Broken pipe [EPIPE]"));
}

// The reader is gone: every write is EPIPE as a Status, and the process
// lives on, with SIGPIPE at its default (deadly) disposition. Run in a
// death-test child so that a SIGPIPE would kill only the child, and be seen.
TEST(PipeTest, AReaderThatIsGoneIsAStatusNeverSigpipe) {
  EXPECT_EXIT(
      {
        ::signal(SIGPIPE, SIG_DFL);
        Pipe ends = pipe();
        const int fd = ends.writer.fd().get();
        if (!ends.reader.close().ok()) ::_exit(2);
        absl::StatusOr<size_t> one = ends.writer.write("x");
        if (one.status().code() != absl::StatusCode::kFailedPrecondition) ::_exit(3);
        if (one.status().message() !=
            absl::StrCat("write to pipe write end fd ", fd, ": Broken pipe [EPIPE]")) {
          ::_exit(4);
        }
        size_t written = 99;
        const absl::Status all = ends.writer.write_all("hello", &written);
        if (all.message() != absl::StrCat("write to pipe write end fd ", fd,
                                          ": wrote 0 of 5 bytes, then: Broken pipe [EPIPE]")) {
          ::_exit(5);
        }
        if (written != 0) ::_exit(6);
        ::_exit(0);
      },
      ::testing::ExitedWithCode(0), "");
}

bool sigpipe_blocked() {
  sigset_t mask;
  ::pthread_sigmask(SIG_SETMASK, nullptr, &mask);
  return sigismember(&mask, SIGPIPE) == 1;
}

bool sigpipe_pending() {
  sigset_t pending;
  ::sigpending(&pending);
  return sigismember(&pending, SIGPIPE) == 1;
}

// Runs `check` in a death-test child whose SIGPIPE has its default, deadly,
// disposition (whatever the test runner set): a SIGPIPE kills the child and
// fails the test. `check` returns 0 if all is well, or the number of the
// check that failed (the exit code the failure shows).
void with_deadly_sigpipe(int (*check)()) {
  EXPECT_EXIT(
      {
        ::signal(SIGPIPE, SIG_DFL);
        ::_exit(check());
      },
      ::testing::ExitedWithCode(0), "");
}

// Taking back this write's SIGPIPE leaves the thread as it was: the mask
// restored, nothing pending.
TEST(PipeTest, AWriteToAPipeWithNoReaderLeavesTheSignalMaskAndNothingPending) {
  with_deadly_sigpipe([] {
    Pipe ends = pipe();
    if (!ends.reader.close().ok() || sigpipe_blocked()) return 1;
    if (ends.writer.write_all("x").ok()) return 2;
    if (sigpipe_blocked()) return 3;
    if (sigpipe_pending()) return 4;
    return 0;
  });
}

// A thread that blocks SIGPIPE itself keeps it blocked, and is not left a
// SIGPIPE of ours to find (it would be delivered when it unblocks).
TEST(PipeTest, ACallerThatBlocksSigpipeFindsNoneOfOursPending) {
  with_deadly_sigpipe([] {
    sigset_t sigpipe;
    sigemptyset(&sigpipe);
    sigaddset(&sigpipe, SIGPIPE);
    if (::pthread_sigmask(SIG_BLOCK, &sigpipe, nullptr) != 0) return 1;
    Pipe ends = pipe();
    if (!ends.reader.close().ok()) return 2;
    if (ends.writer.write("x").ok()) return 3;
    if (!sigpipe_blocked()) return 4;
    if (sigpipe_pending()) return 5;
    if (::pthread_sigmask(SIG_UNBLOCK, &sigpipe, nullptr) != 0) return 6;  // would die here
    return 0;
  });
}

// One it had pending already is its own, and stays.
TEST(PipeTest, ASigpipeTheCallerHadPendingStays) {
  with_deadly_sigpipe([] {
    sigset_t sigpipe;
    sigemptyset(&sigpipe);
    sigaddset(&sigpipe, SIGPIPE);
    if (::pthread_sigmask(SIG_BLOCK, &sigpipe, nullptr) != 0) return 1;
    if (::pthread_kill(::pthread_self(), SIGPIPE) != 0 || !sigpipe_pending()) return 2;
    Pipe ends = pipe();
    if (!ends.reader.close().ok()) return 3;
    if (ends.writer.write_all("x").ok()) return 4;
    if (!sigpipe_pending()) return 5;
    const timespec now = {0, 0};
    if (::sigtimedwait(&sigpipe, nullptr, &now) != SIGPIPE) return 6;
    if (sigpipe_pending()) return 7;  // signals of one kind do not queue
    return 0;
  });
}

TEST(PipeTest, ReadToEndStopsPastItsLimit) {
  auto [reader, writer] = pipe();
  ASSERT_TRUE(writer.write_all("0123456789").ok());
  ASSERT_TRUE(writer.close().ok());
  Pipe second = pipe();
  ASSERT_TRUE(second.writer.write_all("0123456789x").ok());
  ASSERT_TRUE(second.writer.close().ok());
  // Exactly the limit is fine; one byte more is OutOfRange.
  absl::StatusOr<std::string> exact = reader.read_to_end(10);
  ASSERT_TRUE(exact.ok()) << exact.status();
  EXPECT_EQ(*exact, "0123456789");
  absl::StatusOr<std::string> over = second.reader.read_to_end(10);
  EXPECT_EQ(over.status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(over.status().message(),
            absl::StrCat("read_to_end from pipe read end fd ", second.reader.fd().get(),
                         ": more than 10 bytes"));
}

// More than a pipe holds, from another thread: write_all() waits for room,
// read_to_end() for the end.
TEST(PipeTest, AMegabyteFromAnotherThread) {
  auto [reader, writer] = pipe();
  std::string data(1 << 20, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 7 + i / 4096);
  absl::Status sent;
  std::thread writing([&, &writer = writer] {
    sent = writer.write_all(data);
    if (sent.ok()) sent = writer.close();
  });
  absl::StatusOr<std::string> got = reader.read_to_end(2 << 20);
  writing.join();
  ASSERT_TRUE(sent.ok()) << sent;
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_TRUE(*got == data);
}

TEST(PipeTest, EndsMoveAndReleaseLikeAnyHandle) {
  Pipe ends = pipe();
  PipeWriter writer = std::move(ends.writer);
  ASSERT_TRUE(writer.write_all("z").ok());
  PipeReader reader = std::move(ends.reader);
  Fd raw = reader.release();  // the caller owns it now
  char byte = 0;
  ASSERT_EQ(::read(raw.get(), &byte, 1), 1);
  EXPECT_EQ(byte, 'z');
  EXPECT_TRUE(raw.close().ok());
}

TEST(PipeTest, OptionsAreData) {
  const PipeOptions a{.nonblocking_reader = true};
  PipeOptions b = a;
  EXPECT_EQ(a, b);
  b.nonblocking_writer = true;
  EXPECT_NE(a, b);
  EXPECT_EQ(to_string(a), "PipeOptions{nonblocking_reader=true, nonblocking_writer=false}");
  EXPECT_TRUE(a.validate().ok());
}

}  // namespace
}  // namespace uncopyable
