// Descriptor ownership, checked when it is broken (uncopyable/fd_ownership.h).
// This binary links //:fd_ownership_checks, like every test (through the
// test main). Each test fails if its check is removed: the statement would
// close the descriptor and run on without dying, or die with another line.
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "gtest/gtest.h"
#include "tests/testing/forked_child.h"
#include "tests/testing/temp_path.h"
#include "uncopyable/fd.h"
#include "uncopyable/file.h"
#include "uncopyable/socket.h"

namespace uncopyable {
namespace {

using testing::in_forked_child;
using testing::TempPath;

// How a File names itself, for a file made by open(name): the path ends
// with the name.
std::string file_resource(const std::string& name) {
  return "\\(file \"[^\"]*(\"\\.\\.\\.\"[^\"]*)?-" + name + "\"( \\([0-9]+ bytes\\))?\\)";
}

// The end of the messages, for such a File.
std::string owned_by_file(const std::string& name) {
  return "a descriptor owned by File; only its owner may close it " + file_resource(name) + "\n";
}

class FdOwnershipDeathTest : public ::testing::Test {
 protected:
  File open(const std::string& name) {
    paths_.emplace_back(std::make_unique<TempPath>(name));
    absl::StatusOr<File> file = File::open(FileConfig{
        .path = paths_.back()->path(), .access = FileAccess::read_write, .create = true});
    EXPECT_TRUE(file.ok()) << file.status();
    return *std::move(file);
  }
  static int open_null() { return ::open("/dev/null", O_RDONLY | O_CLOEXEC); }

  std::vector<std::unique_ptr<TempPath>> paths_;
};

// --- Someone other than the owner closes --------------------------------------

TEST_F(FdOwnershipDeathTest, ForeignCloseNamesTheOwningFile) {
  File file = open("journal.log");
  EXPECT_DEATH(::close(file.fd().get()),
               "^uncopyable: ::close\\([0-9]+\\) of " + owned_by_file("journal.log"));
}

TEST_F(FdOwnershipDeathTest, ForeignCloseOfAPlainFd) {
  Fd fd(open_null());
  EXPECT_DEATH(::close(fd.get()),
               "^uncopyable: ::close\\(" + std::to_string(fd.get()) +
                   "\\) of a descriptor owned by Fd; only its owner may close it\n");
}

TEST_F(FdOwnershipDeathTest, ForeignDup2OntoAnOwnedDescriptor) {
  File file = open("journal.log");
  const int other = open_null();
  EXPECT_DEATH(::dup2(other, file.fd().get()),
               "^uncopyable: ::dup2\\(" + std::to_string(other) + ", [0-9]+\\) onto " +
                   owned_by_file("journal.log"));
  ::close(other);
}

TEST_F(FdOwnershipDeathTest, ForeignDup3OntoAnOwnedDescriptor) {
  File file = open("journal.log");
  const int other = open_null();
  EXPECT_DEATH(::dup3(other, file.fd().get(), O_CLOEXEC),
               "^uncopyable: ::dup3\\(" + std::to_string(other) + ", [0-9]+\\) onto " +
                   owned_by_file("journal.log"));
  ::close(other);
}

TEST_F(FdOwnershipDeathTest, CloseRangeOverAnOwnedDescriptor) {
  File file = open("journal.log");
  const unsigned fd = static_cast<unsigned>(file.fd().get());
  EXPECT_DEATH(::close_range(fd - 1, fd + 5, 0),
               "^uncopyable: ::close_range\\(" + std::to_string(fd - 1) + ", " +
                   std::to_string(fd + 5) + ", 0\\) would close " + std::to_string(fd) + ", " +
                   owned_by_file("journal.log"));
  // Everything from 3 up, as a program about to exec might.
  EXPECT_DEATH(::close_range(3, ~0u, 0),
               "^uncopyable: ::close_range\\(3, 4294967295, 0\\) would close [0-9]+, a descriptor "
               "owned by");
}

TEST_F(FdOwnershipDeathTest, ClosefromBelowAnOwnedDescriptor) {
  File file = open("journal.log");
  const int fd = file.fd().get();
  EXPECT_DEATH(::closefrom(fd),
               "^uncopyable: ::closefrom\\(" + std::to_string(fd) + "\\) would close " +
                   std::to_string(fd) + ", " + owned_by_file("journal.log"));
}

// fclose() closes its descriptor inside the C library, so fclose itself is
// checked: a stream made on a descriptor a handle still owns.
TEST_F(FdOwnershipDeathTest, FcloseOfAStreamOnAnOwnedDescriptor) {
  File file = open("journal.log");
  EXPECT_DEATH(
      {
        FILE* stream = ::fdopen(file.fd().get(), "r+");  // borrows: fine so far
        if (stream != nullptr) ::fclose(stream);
      },
      "^uncopyable: ::fclose\\(\\) of a stream on [0-9]+, " + owned_by_file("journal.log"));
}

TEST_F(FdOwnershipDeathTest, ClosedirOfADirectoryStreamOnAnOwnedDescriptor) {
  Fd dir_fd(::open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  ASSERT_TRUE(dir_fd);
  EXPECT_DEATH(
      {
        DIR* dir = ::fdopendir(dir_fd.get());
        if (dir != nullptr) ::closedir(dir);
      },
      "^uncopyable: ::closedir\\(\\) of a stream on " + std::to_string(dir_fd.get()) +
          ", a descriptor owned by Fd; only its owner may close it\n");
}

// Descriptors past the first 1024 live in chunks made on first use, up to
// the highest number the limit allows.
TEST_F(FdOwnershipDeathTest, HighNumbersAreCoveredToo) {
  rlimit limit{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &limit), 0);
  const int top = static_cast<int>(std::min<rlim_t>(limit.rlim_cur, 1 << 24)) - 1;
  ASSERT_GT(top, 2048) << "RLIMIT_NOFILE is too low here for this test";
  for (int at : {1024, 2048, top}) {
    const int low = open_null();
    const int raw = ::fcntl(low, F_DUPFD_CLOEXEC, at);
    ::close(low);
    ASSERT_EQ(raw, at);
    Fd fd(raw);
    EXPECT_DEATH(::close(fd.get()),
                 "^uncopyable: ::close\\(" + std::to_string(at) +
                     "\\) of a descriptor owned by Fd; only its owner may close it\n");
  }
}

// --- The handle named is the one that owns it now ------------------------------

TEST_F(FdOwnershipDeathTest, AMovedFileIsStillNamed) {
  std::vector<File> files;
  files.push_back(open("first.log"));
  files.push_back(open("second.log"));  // reallocates: the first File moves
  files.reserve(100);                   // and again, both of them
  File assigned = open("third.log");
  assigned = std::move(files[1]);  // assignment: closes third.log, takes second.log
  EXPECT_DEATH(::close(files[0].fd().get()),
               "^uncopyable: ::close\\([0-9]+\\) of " + owned_by_file("first.log"));
  EXPECT_DEATH(::close(assigned.fd().get()),
               "^uncopyable: ::close\\([0-9]+\\) of " + owned_by_file("second.log"));
}

TEST_F(FdOwnershipDeathTest, SocketsAndListenersAreNamed) {
  absl::StatusOr<Listener> server =
      Listener::open({.endpoint = Endpoint::tcp("127.0.0.1", 0)});
  ASSERT_TRUE(server.ok()) << server.status();
  Listener moved = *std::move(server);
  absl::StatusOr<Socket> client = Socket::open({.endpoint = moved.endpoint()});
  ASSERT_TRUE(client.ok()) << client.status();
  Socket moved_client = *std::move(client);
  absl::StatusOr<Connection> accepted = moved.accept(absl::Seconds(5));
  ASSERT_TRUE(accepted.ok()) << accepted.status();
  Connection moved_accepted = *std::move(accepted);
  EXPECT_DEATH(::close(moved.fd().get()),
               "^uncopyable: ::close\\([0-9]+\\) of a descriptor owned by Listener; only its "
               "owner may close it \\(listener on tcp://127\\.0\\.0\\.1:[0-9]+\\)\n");
  EXPECT_DEATH(::close(moved_client.fd().get()),
               "^uncopyable: ::close\\([0-9]+\\) of a descriptor owned by Socket; only its owner "
               "may close it \\(socket to tcp://127\\.0\\.0\\.1:[0-9]+\\)\n");
  EXPECT_DEATH(::close(moved_accepted.fd().get()),
               "^uncopyable: ::close\\([0-9]+\\) of a descriptor owned by Connection; only its "
               "owner may close it \\(connection from tcp://127\\.0\\.0\\.1:[0-9]+\\)\n");
}

// --- Double ownership: in the table itself, checks linked or not -------------

TEST_F(FdOwnershipDeathTest, AdoptingADescriptorAnotherFdOwns) {
  Fd first(open_null());
  EXPECT_DEATH(Fd second(first.get()),
               "^uncopyable: Fd::Fd\\(" + std::to_string(first.get()) +
                   "\\) adopting a descriptor already owned by Fd; a descriptor has one owner, "
                   "and only it may close it\n");
}

TEST_F(FdOwnershipDeathTest, ResetToADescriptorAFileOwns) {
  File file = open("journal.log");
  Fd other(open_null());
  EXPECT_DEATH(other.reset(file.fd().get()),
               "^uncopyable: Fd::reset\\([0-9]+\\) adopting a descriptor already owned by File; "
               "a descriptor has one owner, and only it may close it " +
                   file_resource("journal.log") + "\n");
}

// --- The reuse scenario of issue 14 ----------------------------------------------

// A stray close of file A's descriptor, then file B opens and gets the same
// number. Before: A's writes landed in B, A's close closed B's descriptor,
// and the final abort blamed B. Now the stray close aborts, naming A.
TEST_F(FdOwnershipDeathTest, StrayCloseThenReuseAbortsAtTheStrayClose) {
  File a = open("a.log");
  EXPECT_DEATH(
      {
        ::close(a.fd().get());
        File b = open("b.log");
        (void)a.write("meant for a\n");
      },
      "^uncopyable: ::close\\([0-9]+\\) of " + owned_by_file("a.log"));
}

// The same close by a way the checks cannot see: B's adoption of the reused
// number still aborts, naming A, before anything is written.
TEST_F(FdOwnershipDeathTest, UnseenStrayCloseThenReuseAbortsAtTheAdoption) {
  File a = open("a.log");
  EXPECT_DEATH(
      {
        ::syscall(SYS_close, a.fd().get());
        File b = open("b.log");
        (void)a.write("meant for a\n");
      },
      "^uncopyable: Fd::Fd\\([0-9]+\\) adopting a descriptor already owned by File; a "
      "descriptor has one owner, and only it may close it " +
          file_resource("a.log"));
}

// --- fork ----------------------------------------------------------------------

// A forked child's own handles are checked as in any process.
TEST_F(FdOwnershipDeathTest, AForkedChildsOwnHandlesAreChecked) {
  EXPECT_DEATH(in_forked_child([] {
                 Fd own(open_null());
                 ::close(own.get());
               }),
               "uncopyable: ::close\\([0-9]+\\) of a descriptor owned by Fd; only its owner may "
               "close it\n");
}

}  // namespace
}  // namespace uncopyable
