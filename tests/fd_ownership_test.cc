// The ownership table follows each descriptor's owner, and what the owner
// itself does passes the checks (this binary links them, like every test).
// What breaks ownership is in fd_ownership_death_test.cc.
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/temp_path.h"
#include "uncopyable/fd.h"
#include "uncopyable/file.h"
#include "uncopyable/internal/quote.h"
#include "uncopyable/internal/fd_table.h"
#include "uncopyable/socket.h"

namespace uncopyable {
namespace {

using internal::fd_table::owner_name;
using testing::TempPath;
using ::testing::MatchesRegex;

int open_null() { return ::open("/dev/null", O_RDONLY | O_CLOEXEC); }

bool is_open(int fd) { return ::fcntl(fd, F_GETFD) != -1; }

File open_file(const TempPath& path) {
  absl::StatusOr<File> file = File::open(
      FileConfig{.path = path.path(), .access = FileAccess::read_write, .create = true});
  EXPECT_TRUE(file.ok()) << file.status();
  return *std::move(file);
}

TEST(FdOwnershipTest, AnFdOwnsWhatItAdoptsUntilItLetsGo) {
  Fd fd(open_null());
  const int number = fd.get();
  EXPECT_EQ(owner_name(number), "Fd");
  Fd moved = std::move(fd);  // a move changes nothing in the table
  EXPECT_EQ(owner_name(number), "Fd");
  Fd other;
  other.swap(moved);
  EXPECT_EQ(owner_name(number), "Fd");
  const int released = other.release();
  EXPECT_EQ(owner_name(released), "");
  Fd again(released);  // adopting a released descriptor is fine
  EXPECT_EQ(owner_name(released), "Fd");
  ASSERT_TRUE(again.close().ok());
  EXPECT_EQ(owner_name(released), "");
}

TEST(FdOwnershipTest, ResetAndDestructionLetGoToo) {
  int first, second;
  {
    Fd fd(open_null());
    first = fd.get();
    fd.reset(open_null());
    second = fd.get();
    EXPECT_EQ(owner_name(first), "");
    EXPECT_EQ(owner_name(second), "Fd");
    fd.reset();
    EXPECT_EQ(owner_name(second), "");
    fd.reset(open_null());
    second = fd.get();
  }
  EXPECT_EQ(owner_name(second), "");
  EXPECT_FALSE(is_open(second));
}

TEST(FdOwnershipTest, AFileIsNamedByItsPathWhereverItMoves) {
  TempPath path("journal.log");
  File file = open_file(path);
  const int number = file.fd().get();
  const std::string expected = "File (file " + internal::quoted(path.path()) + ")";
  EXPECT_EQ(owner_name(number), expected);
  File moved = std::move(file);
  EXPECT_EQ(owner_name(number), expected);
  {
    TempPath other_path("other.log");
    File assigned = open_file(other_path);
    assigned = std::move(moved);
    EXPECT_EQ(owner_name(number), expected);
    ASSERT_TRUE(assigned.close().ok());
  }
  EXPECT_EQ(owner_name(number), "");
}

TEST(FdOwnershipTest, SocketsAndListenersAreNamed) {
  absl::StatusOr<Listener> server = Listener::open({.endpoint = Endpoint::tcp("127.0.0.1", 0)});
  ASSERT_TRUE(server.ok()) << server.status();
  Listener listener = *std::move(server);
  const std::string endpoint = listener.endpoint().to_string();
  EXPECT_EQ(owner_name(listener.fd().get()), "Listener (listener on " + endpoint + ")");
  absl::StatusOr<Socket> client = Socket::open({.endpoint = listener.endpoint()});
  ASSERT_TRUE(client.ok()) << client.status();
  absl::StatusOr<Connection> accepted = listener.accept(absl::Seconds(5));
  ASSERT_TRUE(accepted.ok()) << accepted.status();
  EXPECT_EQ(owner_name(client->fd().get()), "Socket (socket to " + endpoint + ")");
  EXPECT_EQ(owner_name(accepted->fd().get()),
            "Connection (connection from " + client->local_endpoint()->to_string() + ")");
  // Given away, the descriptor is a plain Fd's.
  Fd released = client->release();
  EXPECT_EQ(owner_name(released.get()), "Fd");
  const int raw = released.release();
  EXPECT_EQ(owner_name(raw), "");
  EXPECT_EQ(::close(raw), 0);
}

// A Socket, Connection or Listener is named by its resource wherever it
// moves (its moves are the implicit ones: the descriptor member names the
// moved-to handle), and a moved-from one names nothing.
TEST(FdOwnershipTest, SocketsAndListenersAreNamedWhereverTheyMove) {
  absl::StatusOr<Listener> server = Listener::open({.endpoint = Endpoint::tcp("127.0.0.1", 0)});
  ASSERT_TRUE(server.ok()) << server.status();
  const std::string endpoint = server->endpoint().to_string();
  std::vector<Listener> listeners;
  listeners.push_back(*std::move(server));
  listeners.reserve(10);  // moves it again
  Listener& listener = listeners.front();
  absl::StatusOr<Socket> client = Socket::open({.endpoint = listener.endpoint()});
  ASSERT_TRUE(client.ok()) << client.status();
  Socket moved = *std::move(client);
  absl::StatusOr<Socket> other = Socket::open({.endpoint = listener.endpoint()});
  ASSERT_TRUE(other.ok()) << other.status();
  Socket assigned = *std::move(other);
  const int other_number = assigned.fd().get();
  assigned = std::move(moved);  // closes `other`'s descriptor, takes `moved`'s
  EXPECT_EQ(owner_name(other_number), "");
  EXPECT_EQ(owner_name(assigned.fd().get()), "Socket (socket to " + endpoint + ")");
  EXPECT_EQ(owner_name(listener.fd().get()), "Listener (listener on " + endpoint + ")");
  absl::StatusOr<Connection> accepted = listener.accept(absl::Seconds(5));
  ASSERT_TRUE(accepted.ok()) << accepted.status();
  std::vector<Connection> connections;
  connections.push_back(*std::move(accepted));
  connections.reserve(10);
  const std::string peer = "Connection (connection from " +
                           connections.front().peer_endpoint()->to_string() + ")";
  EXPECT_EQ(owner_name(connections.front().fd().get()), peer);
}

// The checks let through every call that closes no owned descriptor, and
// the real function still does its work and reports its errors.
TEST(FdOwnershipTest, CallsThatCloseNoOwnedDescriptorPass) {
  Fd fd(open_null());
  // Closes nothing: marks the range close-on-exec.
  ASSERT_EQ(::fcntl(fd.get(), F_SETFD, 0), 0);
  EXPECT_EQ(::close_range(fd.get(), fd.get(), CLOSE_RANGE_CLOEXEC), 0);
  EXPECT_EQ(::fcntl(fd.get(), F_GETFD), FD_CLOEXEC);
  // Onto itself: closes nothing.
  EXPECT_EQ(::dup2(fd.get(), fd.get()), fd.get());
  // Onto a descriptor no handle owns.
  const int spare = open_null();
  EXPECT_EQ(::dup2(fd.get(), spare), spare);
  EXPECT_EQ(::dup3(fd.get(), spare, O_CLOEXEC), spare);
  EXPECT_EQ(::close_range(spare, spare, 0), 0);
  EXPECT_FALSE(is_open(spare));
  EXPECT_EQ(::close(spare), -1);
  EXPECT_EQ(errno, EBADF);
  EXPECT_EQ(::close(-1), -1);
  EXPECT_TRUE(is_open(fd.get()));
  ASSERT_TRUE(fd.close().ok());
}

TEST(FdOwnershipTest, StreamsOnReleasedDescriptorsMayCloseThem) {
  Fd file_fd(open_null());
  FILE* stream = ::fdopen(file_fd.release(), "r");
  ASSERT_NE(stream, nullptr);
  EXPECT_EQ(::fclose(stream), 0);
  Fd dir_fd(::open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  DIR* dir = ::fdopendir(dir_fd.release());
  ASSERT_NE(dir, nullptr);
  EXPECT_EQ(::closedir(dir), 0);
}

// Threads opening and closing at once get each other's numbers all the time.
// The owner clears its tag before close(2) frees the number, so whoever gets
// the number next finds it unowned (clearing it after would make the next
// adopter see a second owner, or lose its own tag).
TEST(FdOwnershipTest, NumbersPassBetweenThreadsWithoutFalseAlarms) {
  TempPath path("threads.log");
  {
    absl::StatusOr<File> made = File::open(
        FileConfig{.path = path.path(), .access = FileAccess::write, .create = true});
    ASSERT_TRUE(made.ok()) << made.status();
  }
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 2000; ++i) {
        Fd fd(open_null());
        Fd moved = std::move(fd);
        if (!moved.close().ok()) failures.fetch_add(1);
        absl::StatusOr<File> file = File::open(FileConfig{.path = path.path()});
        if (!file.ok()) {
          failures.fetch_add(1);
          continue;
        }
        File kept = *std::move(file);
        if (owner_name(kept.fd().get()).rfind("File (", 0) != 0) failures.fetch_add(1);
        if (!kept.close().ok()) failures.fetch_add(1);
        ::close(open_null());  // a plain descriptor in between, closed by hand
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
}

// Waits (bounded) for `child` and returns its wait status.
int wait_for(pid_t child) {
  int status = 0;
  for (int i = 0; i < 10000; ++i) {
    const pid_t done = ::waitpid(child, &status, WNOHANG);
    if (done == child) return status;
    if (done < 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ::kill(child, SIGKILL);
  ::waitpid(child, &status, 0);
  ADD_FAILURE() << "the child did not finish within 10 s";
  return status;
}

// As in fdsan, a fork()ed child's copies are its own: it may close them by
// any means, reuse their numbers, and the parent's handles do not notice.
TEST(FdOwnershipTest, AForkedChildMayCloseItsCopies) {
  TempPath path("shared.log");
  File file = open_file(path);
  Fd fd(open_null());
  Fd high(::fcntl(fd.get(), F_DUPFD_CLOEXEC, 2000));
  ASSERT_TRUE(file.write("parent\n").ok());
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    const int number = file.fd().get();
    ::close(number);
    ::dup2(STDERR_FILENO, fd.get());  // closes the child's copy of fd
    ::close_range(static_cast<unsigned>(high.get()), ~0u, 0);
    // Its number again, adopted by the child: not the parent's any more.
    Fd reused(::fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, number));
    const bool same = reused.get() == number;
    const bool closed = reused.close().ok();
    ::_exit(same && closed ? 0 : 1);
  }
  const int status = wait_for(child);
  ASSERT_TRUE(WIFEXITED(status)) << "the child died: " << status;
  EXPECT_EQ(WEXITSTATUS(status), 0);
  // The parent's handles are as they were.
  ASSERT_TRUE(file.write("after\n").ok());
  ASSERT_TRUE(file.seek(0).ok());
  absl::StatusOr<std::string> text = file.read_to_end(100);
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_EQ(*text, "parent\nafter\n");
  EXPECT_THAT(owner_name(file.fd().get()), MatchesRegex("File \\(file .*\\)"));
  EXPECT_EQ(owner_name(fd.get()), "Fd");
  EXPECT_EQ(owner_name(high.get()), "Fd");
  EXPECT_TRUE(file.close().ok());
  EXPECT_TRUE(fd.close().ok());
  EXPECT_TRUE(high.close().ok());
}

}  // namespace
}  // namespace uncopyable
