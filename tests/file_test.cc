#include "uncopyable/file.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <functional>
#include <limits>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/finishes_in_time.h"
#include "tests/testing/forked_child.h"
#include "tests/testing/temp_path.h"
#include "uncopyable/config_json.h"
#include "uncopyable/config_url.h"
#include "uncopyable/internal/quote.h"

namespace uncopyable {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;
using testing::finishes_in_time;
using testing::is;
using testing::TempPath;

static_assert(Rebuildable<File>);
static_assert(Config<FileConfig>);
static_assert(!std::is_copy_constructible_v<File>);
static_assert(!std::is_copy_constructible_v<FileLock>);

FileConfig writable(const std::string& path) {
  return FileConfig{.path = path, .access = FileAccess::read_write, .create = true};
}

File open_or_die(const FileConfig& config) {
  absl::StatusOr<File> file = File::open(config);
  EXPECT_TRUE(file.ok()) << file.status();
  return *std::move(file);
}

std::string slurp(const std::string& path) {
  File file = open_or_die(FileConfig{.path = path});
  std::string out(1 << 16, '\0');
  absl::StatusOr<size_t> got = file.read(absl::MakeSpan(out));
  EXPECT_TRUE(got.ok()) << got.status();
  out.resize(got.ok() ? *got : 0);
  return out;
}

TEST(FileTest, WritesReadsSeeksAndSizes) {
  TempPath temp("data");
  File file = open_or_die(writable(temp.path()));
  ASSERT_TRUE(file.write("hello, world").ok());
  EXPECT_EQ(*file.size(), 12u);
  ASSERT_TRUE(file.pwrite("HELLO", 0).ok());
  EXPECT_EQ(*file.seek(7), 7);
  std::string buffer(10, '\0');
  absl::StatusOr<size_t> got = file.read(absl::MakeSpan(buffer));
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(buffer.substr(0, *got), "world");  // short only at end of file
  std::string head(5, '\0');
  EXPECT_EQ(*file.pread(absl::MakeSpan(head), 0), 5u);
  EXPECT_EQ(head, "HELLO");
  EXPECT_EQ(*file.seek(0, Whence::current), 12);  // pread left the offset alone
  EXPECT_EQ(*file.seek(-5, Whence::end), 7);
  EXPECT_TRUE(file.sync().ok());
  EXPECT_TRUE(file.datasync().ok());
  EXPECT_TRUE(file.close().ok());
  EXPECT_EQ(slurp(temp.path()), "HELLO, world");
}

// Linux pwrite(2) writes at the end of an O_APPEND file whatever the offset
// (its man page, BUGS). File::pwrite() writes at the offset (pwritev2 with
// RWF_NOAPPEND, Linux 6.9+) or refuses; it never appends in silence. Older
// kernels are covered by file_fault_test, which makes pwritev2 refuse the flag.
TEST(FileTest, PwriteOnAnAppendingFileWritesAtTheOffsetOrRefuses) {
  TempPath temp("appendpwrite");
  FileConfig config = writable(temp.path());
  config.append = true;
  File file = open_or_die(config);
  ASSERT_TRUE(file.write("abc").ok());
  size_t written = 99;
  const absl::Status status = file.pwrite("X", 0, &written);
  if (status.ok()) {
    EXPECT_EQ(written, 1u);
    EXPECT_EQ(slurp(temp.path()), "Xbc");
  } else {
    EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition) << status;
    EXPECT_EQ(status.message(), "pwrite file " + internal::quoted(temp.path()) +
                                    ": opened with append=true, where Linux writes at the end "
                                    "whatever the offset");
    EXPECT_EQ(written, 0u);
    EXPECT_EQ(slurp(temp.path()), "abc");
  }
  // write() still appends, and pread() reads at its offset.
  ASSERT_TRUE(file.write("d").ok());
  std::string back(4, '\0');
  ASSERT_EQ(*file.pread(absl::MakeSpan(back), 0), 4u);
  EXPECT_EQ(back, status.ok() ? "Xbcd" : "abcd");
}

// set_size() is ftruncate(2), Rust's File::set_len: it grows the file with
// zeros or cuts it short, and leaves the file offset where it was, so a
// write past the new end leaves a hole of zeros.
TEST(FileTest, SetSizeGrowsWithZerosAndShrinksWithoutMovingTheOffset) {
  TempPath temp("setsize");
  File file = open_or_die(writable(temp.path()));
  ASSERT_TRUE(file.write("foobar").ok());
  ASSERT_TRUE(file.seek(0).ok());
  ASSERT_TRUE(file.set_size(10).ok());
  EXPECT_EQ(*file.size(), 10u);
  EXPECT_EQ(*file.seek(0, Whence::current), 0);
  ASSERT_TRUE(file.write("bar").ok());
  EXPECT_EQ(*file.size(), 10u);
  EXPECT_EQ(slurp(temp.path()), std::string("barbar\0\0\0\0", 10));
  // Cut short below the offset (3), then write at the offset: zeros between.
  ASSERT_TRUE(file.set_size(2).ok());
  EXPECT_EQ(*file.size(), 2u);
  ASSERT_TRUE(file.seek(6).ok());
  ASSERT_TRUE(file.write("wut").ok());
  EXPECT_EQ(*file.size(), 9u);
  EXPECT_EQ(slurp(temp.path()), std::string("ba\0\0\0\0wut", 9));
  ASSERT_TRUE(file.set_size(0).ok());
  EXPECT_EQ(slurp(temp.path()), "");
}

TEST(FileTest, SetSizeNeedsWriteAccessAndASizeAnOffTCanSay) {
  TempPath temp("setsizeerrors");
  File writer = open_or_die(writable(temp.path()));
  ASSERT_TRUE(writer.write("kept").ok());
  File reader = open_or_die(FileConfig{.path = temp.path()});
  const absl::Status status = reader.set_size(0);
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition) << status;
  EXPECT_EQ(status.message(), "set_size file " + internal::quoted(temp.path()) +
                                  ": the file was opened with access=read");
  const uint64_t too_big = uint64_t{1} << 63;
  const absl::Status huge = writer.set_size(too_big);
  EXPECT_EQ(huge.code(), absl::StatusCode::kInvalidArgument) << huge;
  EXPECT_EQ(huge.message(), "set_size file " + internal::quoted(temp.path()) +
                                ": to 9223372036854775808 bytes: Invalid argument [EINVAL]");
  EXPECT_EQ(slurp(temp.path()), "kept");
}

TEST(FileTest, ReadToEndReadsAllThatIsLeftUpToItsLimit) {
  TempPath temp("whole");
  std::string big(10000, '\0');  // over several of its reads
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('a' + i % 26);
  File file = open_or_die(writable(temp.path()));
  ASSERT_TRUE(file.write(big).ok());
  ASSERT_TRUE(file.seek(0).ok());
  absl::StatusOr<std::string> all = file.read_to_end(big.size());  // exactly the limit
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(*all, big);
  ASSERT_TRUE(file.seek(9990).ok());
  EXPECT_EQ(*file.read_to_end(100), big.substr(9990));  // from the current offset
  EXPECT_EQ(*file.read_to_end(100), "");                // at the end: nothing left

  ASSERT_TRUE(file.seek(0).ok());
  absl::StatusOr<std::string> over = file.read_to_end(big.size() - 1);
  EXPECT_EQ(over.status().code(), absl::StatusCode::kOutOfRange) << over.status();
  EXPECT_THAT(over.status().message(),
              HasSubstr("read_to_end file " + internal::quoted(temp.path()) + ": "));
  EXPECT_THAT(over.status().message(), HasSubstr("more than 9999 bytes"));

  File write_only = open_or_die(FileConfig{.path = temp.path(), .access = FileAccess::write});
  EXPECT_FALSE(write_only.read_to_end(10).ok());
}

// SIZE_MAX is "no limit": the limit plus the one byte that tells "exactly
// the limit" from "more" must not wrap to 0 (which read nothing, forever).
TEST(FileTest, ReadToEndWithoutALimit) {
  TempPath temp("nolimit");
  const std::string text(10000, 'x');
  File file = open_or_die(writable(temp.path()));
  ASSERT_TRUE(file.write(text).ok());
  ASSERT_TRUE(file.seek(0).ok());
  constexpr size_t kNoLimit = std::numeric_limits<size_t>::max();
  ASSERT_NO_FATAL_FAILURE(finishes_in_time([&] {
    absl::StatusOr<std::string> all = file.read_to_end(kNoLimit);
    return all.ok() && *all == text;
  }));
  for (const size_t limit : {kNoLimit, kNoLimit - 1, text.size()}) {
    ASSERT_TRUE(file.seek(0).ok());
    absl::StatusOr<std::string> all = file.read_to_end(limit);
    ASSERT_TRUE(all.ok()) << limit << ": " << all.status();
    EXPECT_EQ(*all, text) << limit;
  }
}

// Offsets past what an off_t can say are refused before any arithmetic on
// them can overflow, with the kernel's EINVAL.
TEST(FileTest, OffsetsPastTheLargestAreInvalid) {
  TempPath temp("offsets");
  File file = open_or_die(writable(temp.path()));
  char buffer[8];
  const off_t last = std::numeric_limits<off_t>::max();
  absl::StatusOr<size_t> read = file.pread(absl::MakeSpan(buffer), last - 2);
  EXPECT_EQ(read.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(read.status().message(), HasSubstr("[EINVAL]"));
  EXPECT_THAT(read.status().message(), HasSubstr(internal::quoted(temp.path())));
  EXPECT_EQ(file.pwrite("abc", -1).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(file.pwrite("", last).ok());  // nothing goes past the end
}

// A config naming a FIFO, a socket, a device or a directory never makes
// open() wait, and only a regular file is kept unless the config allows
// special files (a directory never is).
TEST(FileTest, AFifoWithNoWriterIsRefusedAtOnce) {
  TempPath fifo("fifo");
  ASSERT_EQ(::mkfifo(fifo.path().c_str(), 0600), 0);
  ASSERT_NO_FATAL_FAILURE(finishes_in_time(
      [&] { return is(File::open(FileConfig{.path = fifo.path()}).status(),
                      absl::StatusCode::kFailedPrecondition); }));
  absl::StatusOr<File> reader = File::open(FileConfig{.path = fifo.path()});
  EXPECT_EQ(reader.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(reader.status().message(),
            "open file " + internal::quoted(fifo.path()) +
                ": with access=read: a FIFO, not a regular file (allow_special_files=true "
                "opens one)");
  // Write-only with no reader: the same answer, not ENXIO's "No such device".
  absl::StatusOr<File> writer =
      File::open(FileConfig{.path = fifo.path(), .access = FileAccess::write});
  EXPECT_EQ(writer.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(writer.status().message(), HasSubstr("a FIFO, not a regular file"));
}

TEST(FileTest, AnAllowedFifoOpensAtOnceAndThenBlocksAsUsual) {
  TempPath fifo("fifo");
  ASSERT_EQ(::mkfifo(fifo.path().c_str(), 0600), 0);
  const FileConfig read_end{.path = fifo.path(), .allow_special_files = true};
  FileConfig write_end = read_end;
  write_end.access = FileAccess::write;
  ASSERT_NO_FATAL_FAILURE(finishes_in_time([&] {
    absl::StatusOr<File> reader = File::open(read_end);
    if (!reader.ok()) return is(reader.status(), absl::StatusCode::kOk);
    char byte;
    absl::StatusOr<size_t> got = reader->read(absl::MakeSpan(&byte, 1));
    return got.ok() && *got == 0;  // no writer yet: end of file, not a wait
  }));
  // For writing, with no reader yet: an error that says so.
  absl::StatusOr<File> early = File::open(write_end);
  EXPECT_EQ(early.status().code(), absl::StatusCode::kNotFound) << early.status();
  EXPECT_THAT(early.status().message(), HasSubstr("(a FIFO with no reader yet)"));
  EXPECT_THAT(early.status().message(), HasSubstr("[ENXIO]"));

  File reader = open_or_die(read_end);
  File writer = open_or_die(write_end);
  EXPECT_EQ(::fcntl(reader.fd().get(), F_GETFL) & O_NONBLOCK, 0);  // blocking, as asked
  EXPECT_EQ(::fcntl(writer.fd().get(), F_GETFL) & O_NONBLOCK, 0);
  ASSERT_TRUE(writer.write("hi").ok());
  std::string buffer(2, '\0');
  EXPECT_EQ(*reader.read(absl::MakeSpan(buffer)), 2u);
  EXPECT_EQ(buffer, "hi");
}

TEST(FileTest, ADirectoryIsAClearError) {
  const std::string directory = ::testing::TempDir();
  absl::StatusOr<File> file = File::open(FileConfig{.path = directory});
  EXPECT_EQ(file.status().code(), absl::StatusCode::kFailedPrecondition) << file.status();
  EXPECT_EQ(file.status().message(),
            "open file " + internal::quoted(directory) +
                ": with access=read: a directory, not a regular file (allow_special_files=true "
                "opens one for reading, e.g. to sync() it)");
  // For writing, the kernel says it first.
  absl::StatusOr<File> writer =
      File::open(FileConfig{.path = directory, .access = FileAccess::write});
  EXPECT_THAT(writer.status().message(), HasSubstr("[EISDIR]"));
  EXPECT_THAT(writer.status().message(), HasSubstr(internal::quoted(directory)));
}

// A durable rename needs the folder synced after it: a directory opens for
// reading when allow_special_files says so (as folly::File and Rust's
// File::open would open it), and sync() works on it. Never for writing.
TEST(FileTest, ADirectoryOpensForReadingWhenAllowedSoItCanBeSynced) {
  const std::string directory = ::testing::TempDir();
  absl::StatusOr<File> folder =
      File::open(FileConfig{.path = directory, .allow_special_files = true});
  ASSERT_TRUE(folder.ok()) << folder.status();
  EXPECT_TRUE(folder->sync().ok());
  EXPECT_TRUE(folder->close().ok());
  absl::StatusOr<File> writer = File::open(
      FileConfig{.path = directory, .access = FileAccess::read_write, .allow_special_files = true});
  EXPECT_FALSE(writer.ok());
}

TEST(FileTest, AUnixSocketFileIsNamedForWhatItIs) {
  TempPath path = TempPath::for_socket("file.sock");
  const int listening = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(listening, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, path.path().c_str(), sizeof address.sun_path - 1);
  ASSERT_EQ(::bind(listening, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  ASSERT_EQ(::listen(listening, 1), 0);
  for (const bool allowed : {false, true}) {
    absl::StatusOr<File> file =
        File::open(FileConfig{.path = path.path(), .allow_special_files = allowed});
    EXPECT_EQ(file.status().code(), absl::StatusCode::kFailedPrecondition) << file.status();
    EXPECT_EQ(file.status().message(), "open file " + internal::quoted(path.path()) +
                                           ": with access=read: a Unix socket, not a regular file");
  }
  ::close(listening);
}

TEST(FileTest, ADeviceOpensOnlyWhenAllowed) {
  absl::StatusOr<File> refused = File::open(FileConfig{.path = "/dev/null"});
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(refused.status().message(),
            "open file \"/dev/null\": with access=read: a character device, not a regular file "
            "(allow_special_files=true opens one)");
  File null = open_or_die(FileConfig{
      .path = "/dev/null", .access = FileAccess::read_write, .allow_special_files = true});
  EXPECT_EQ(::fcntl(null.fd().get(), F_GETFL) & O_NONBLOCK, 0);
  EXPECT_TRUE(null.write("gone").ok());
  EXPECT_EQ(*null.read_to_end(10), "");
}

// A path of any length is quoted short: its start and end, then its length.
TEST(FileTest, AHugePathIsCutShortInMessages) {
  const std::string path = "/" + std::string(10 << 20, 'a');
  absl::StatusOr<File> file = File::open(FileConfig{.path = path});
  ASSERT_FALSE(file.ok());
  EXPECT_LT(file.status().message().size(), 1000u);
  EXPECT_THAT(file.status().message(), HasSubstr("aaa\" (10485761 bytes)"));
  EXPECT_THAT(file.status().message(), HasSubstr("[ENAMETOOLONG]"));
}

TEST(FileTest, ErrorsNameThePathAndTheErrno) {
  absl::StatusOr<File> missing = File::open(FileConfig{.path = "/nonexistent/dir/file"});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(missing.status().message(),
            "open file \"/nonexistent/dir/file\": with access=read: No such file or directory "
            "[ENOENT]");
  TempPath temp("exists");
  File first = open_or_die(writable(temp.path()));
  FileConfig again = writable(temp.path());
  again.exclusive = true;
  absl::StatusOr<File> exclusive = File::open(again);
  EXPECT_EQ(exclusive.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(exclusive.status().message(),
              HasSubstr("with access=read_write, create, exclusive: File exists [EEXIST]"));
}

TEST(FileTest, InvalidConfigsAreRefusedBeforeAnyCall) {
  auto error = [](FileConfig config) { return std::string(File::open(config).status().message()); };
  EXPECT_EQ(error(FileConfig{}), "FileConfig.path: must not be empty");
  EXPECT_EQ(error(FileConfig{.path = "/tmp/x", .exclusive = true}),
            "FileConfig.exclusive: needs create=true");
  EXPECT_EQ(error(FileConfig{.path = "/tmp/x", .truncate = true}),
            "FileConfig.truncate: needs write access (access=write or read_write)");
  EXPECT_EQ(error(FileConfig{.path = "/tmp/x", .append = true}),
            "FileConfig.append: needs write access (access=write or read_write)");
  // As Rust's OpenOptions: creating needs write access, and append with
  // truncate is refused (InvalidArgument, Rust's InvalidInput).
  EXPECT_EQ(error(FileConfig{.path = "/tmp/x", .create = true}),
            "FileConfig.create: needs write access (access=write or read_write)");
  EXPECT_EQ(error(FileConfig{.path = "/tmp/x", .create = true, .exclusive = true}),
            "FileConfig.create: needs write access (access=write or read_write)");
  EXPECT_EQ(error(FileConfig{.path = "/tmp/x", .access = FileAccess::write, .truncate = true,
                             .append = true}),
            "FileConfig.truncate: cannot be combined with append=true");
  EXPECT_EQ(error(FileConfig{.path = std::string("/tmp/x\0y", 8)}),
            "FileConfig.path: must not contain a NUL byte");
  EXPECT_EQ(error(FileConfig{.path = "/tmp/x", .permissions = Permissions(010000)}),
            "FileConfig.permissions: must be at most 07777");
}

// A reader's config with create=true (say, a typo in its path) is refused,
// not an empty file made and read as nothing.
TEST(FileTest, AReaderWithCreateIsRefusedAndCreatesNothing) {
  TempPath temp("readcreate");
  absl::StatusOr<File> reader = File::open(FileConfig{.path = temp.path(), .create = true});
  EXPECT_EQ(reader.status().code(), absl::StatusCode::kInvalidArgument) << reader.status();
  struct stat info;
  EXPECT_NE(::lstat(temp.path().c_str(), &info), 0) << "the refused open created the file";
  // Without create, a reader of a missing file is NotFound, naming it.
  reader = File::open(FileConfig{.path = temp.path()});
  EXPECT_EQ(reader.status().code(), absl::StatusCode::kNotFound) << reader.status();
  EXPECT_EQ(from_url<FileConfig>("file:///x?create=true").status().message(),
            "FileConfig.create: needs write access (access=write or read_write)");
}

TEST(FileTest, WritingAReadOnlyFileIsAStatusNotACrash) {
  TempPath temp("ro");
  open_or_die(writable(temp.path()));
  File file = open_or_die(FileConfig{.path = temp.path()});
  size_t written = 99;
  const absl::Status status = file.write("x", &written);
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(status.message(), "write file " + internal::quoted(temp.path()) +
                                  ": the file was opened with access=read");
  EXPECT_EQ(written, 0u);
  File write_only = open_or_die(FileConfig{.path = temp.path(), .access = FileAccess::write});
  char byte;
  EXPECT_EQ(write_only.read(absl::MakeSpan(&byte, 1)).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(FileTest, RebuildOpensAFreshIndependentDescriptor) {
  TempPath temp("rebuild");
  File file = open_or_die(writable(temp.path()));
  ASSERT_TRUE(file.write("abcdef").ok());
  absl::StatusOr<File> again = file.rebuild();
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->config(), file.config());
  EXPECT_NE(again->fd().get(), file.fd().get());
  // Its own offset: the original is at 6, the rebuilt one at 0.
  char byte;
  ASSERT_EQ(*again->read(absl::MakeSpan(&byte, 1)), 1u);
  EXPECT_EQ(byte, 'a');
  EXPECT_EQ(*file.seek(0, Whence::current), 6);
  // Its own locks: an OFD lock held by one blocks the other.
  absl::StatusOr<FileLock> held = file.lock(LockKind::exclusive);
  ASSERT_TRUE(held.ok()) << held.status();
  absl::StatusOr<std::optional<FileLock>> contended = again->try_lock(LockKind::shared);
  ASSERT_TRUE(contended.ok()) << contended.status();
  EXPECT_FALSE(contended->has_value());
  ASSERT_TRUE(held->unlock().ok());
  contended = again->try_lock(LockKind::shared);
  ASSERT_TRUE(contended.ok());
  EXPECT_TRUE(contended->has_value());
}

TEST(FileTest, FreeRebuildFindsFileFromItsConfig) {
  TempPath temp("free");
  absl::StatusOr<File> file = uncopyable::rebuild(writable(temp.path()));
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_EQ(file->config().path, temp.path());
}

TEST(FileTest, SharedLocksShareAndExclusiveExcludes) {
  TempPath temp("locks");
  File a = open_or_die(writable(temp.path()));
  File b = open_or_die(writable(temp.path()));
  {
    absl::StatusOr<FileLock> shared_a = a.lock(LockKind::shared);
    ASSERT_TRUE(shared_a.ok()) << shared_a.status();
    absl::StatusOr<std::optional<FileLock>> shared_b = b.try_lock(LockKind::shared);
    ASSERT_TRUE(shared_b.ok());
    EXPECT_TRUE(shared_b->has_value());
    shared_b->reset();
    absl::StatusOr<std::optional<FileLock>> exclusive_b = b.try_lock(LockKind::exclusive);
    ASSERT_TRUE(exclusive_b.ok());
    EXPECT_FALSE(exclusive_b->has_value());
  }  // the guard releases a's lock
  absl::StatusOr<std::optional<FileLock>> exclusive_b = b.try_lock(LockKind::exclusive);
  ASSERT_TRUE(exclusive_b.ok());
  EXPECT_TRUE(exclusive_b->has_value());
}

// One lock per File at a time (a second is misuse: file_death_test): the
// kernel lock lives exactly as long as the FileLock that says it is held.
TEST(FileTest, TheKernelLockLivesExactlyAsLongAsItsFileLock) {
  TempPath temp("lockspan");
  File file = open_or_die(writable(temp.path()));
  File other = open_or_die(writable(temp.path()));
  auto other_can_lock = [&] {
    absl::StatusOr<std::optional<FileLock>> probe = other.try_lock(LockKind::exclusive);
    EXPECT_TRUE(probe.ok()) << probe.status();
    return probe.ok() && probe->has_value();
  };
  for (int round = 0; round < 2; ++round) {
    absl::StatusOr<FileLock> lock = file.lock(LockKind::exclusive);
    ASSERT_TRUE(lock.ok()) << lock.status();
    EXPECT_TRUE(lock->held());
    EXPECT_FALSE(other_can_lock());
    FileLock moved = *std::move(lock);  // the lock moves; the kernel's stays
    EXPECT_TRUE(moved.held());
    EXPECT_FALSE(other_can_lock());
    ASSERT_TRUE(moved.unlock().ok());
    EXPECT_FALSE(moved.held());
    EXPECT_TRUE(other_can_lock());  // and the File may lock again
  }
}

// A fork()ed child shares the parent's open file description, and so its
// lock: unlocking or destroying the inherited FileLock there must not
// release the lock the parent still holds.
TEST(FileTest, AForkedChildLettingGoOfALockKeepsItForTheParent) {
  TempPath temp("forklock");
  File file = open_or_die(writable(temp.path()));
  File other = open_or_die(writable(temp.path()));
  absl::StatusOr<FileLock> lock = file.lock(LockKind::exclusive);
  ASSERT_TRUE(lock.ok()) << lock.status();
  for (const bool destroy : {false, true}) {
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      if (destroy) {
        FileLock gone = *std::move(lock);
      } else if (!lock->unlock().ok()) {
        ::_exit(1);
      }
      ::_exit(0);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
    absl::StatusOr<std::optional<FileLock>> probe = other.try_lock(LockKind::exclusive);
    ASSERT_TRUE(probe.ok()) << probe.status();
    EXPECT_FALSE(probe->has_value()) << "the child " << (destroy ? "destroying" : "unlocking")
                                     << " its copy released the parent's lock";
  }
  ASSERT_TRUE(lock->unlock().ok());  // the parent's own unlock releases it
  absl::StatusOr<std::optional<FileLock>> probe = other.try_lock(LockKind::exclusive);
  ASSERT_TRUE(probe.ok()) << probe.status();
  EXPECT_TRUE(probe->has_value());
}

// The same for a child that no fork handler ran in (_Fork(), vfork, a raw
// clone): the process id decides, not only the fork counter.
TEST(FileTest, AChildMadeWithoutForkHandlersKeepsTheParentsLock) {
  TempPath temp("rawforklock");
  File file = open_or_die(writable(temp.path()));
  File other = open_or_die(writable(temp.path()));
  absl::StatusOr<FileLock> lock = file.lock(LockKind::exclusive);
  ASSERT_TRUE(lock.ok()) << lock.status();
  ASSERT_TRUE(testing::in_raw_child([&] { FileLock gone = *std::move(lock); }));
  absl::StatusOr<std::optional<FileLock>> probe = other.try_lock(LockKind::exclusive);
  ASSERT_TRUE(probe.ok()) << probe.status();
  EXPECT_FALSE(probe->has_value()) << "the raw child destroying its copy released the lock";
  ASSERT_TRUE(lock->unlock().ok());
}

// How another process tries to lock the whole file at `path` without
// waiting, from a descriptor of its own: an OFD lock (fcntl F_OFD_SETLK), a
// classic POSIX record lock (fcntl F_SETLK: lockf(3), SQLite) or flock(2)
// (Rust's File::lock, folly's File::lock, flock(1)).
enum class OtherLock { ofd, posix, flock };

// 0 if that process got the lock, 1 if it was refused because someone holds
// it, more if something else went wrong.
int lock_from_another_process(const std::string& path, OtherLock how) {
  const pid_t child = ::fork();
  if (child < 0) return 100;
  if (child == 0) {
    const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) ::_exit(2);
    int result;
    if (how == OtherLock::flock) {
      result = ::flock(fd, LOCK_EX | LOCK_NB);
    } else {
      struct flock request = {};
      request.l_type = F_WRLCK;
      request.l_whence = SEEK_SET;
      result = ::fcntl(fd, how == OtherLock::ofd ? F_OFD_SETLK : F_SETLK, &request);
    }
    if (result == 0) ::_exit(0);
    ::_exit(errno == EAGAIN || errno == EWOULDBLOCK || errno == EACCES ? 1 : 3);
  }
  int status = 0;
  if (::waitpid(child, &status, 0) != child || !WIFEXITED(status)) return 101;
  return WEXITSTATUS(status);
}

// What file.h and docs/guide.md say a FileLock excludes: another process's
// fcntl locks (OFD or POSIX) on the same file, and not its flock(2) locks,
// which Linux keeps in a table of their own, in both directions.
TEST(FileTest, AFileLockExcludesFcntlLocksButNotFlockLocks) {
  TempPath temp("flock");
  File file = open_or_die(writable(temp.path()));
  ASSERT_EQ(lock_from_another_process(temp.path(), OtherLock::flock), 0) << "nothing held yet";
  absl::StatusOr<FileLock> lock = file.lock(LockKind::exclusive);
  ASSERT_TRUE(lock.ok()) << lock.status();
  EXPECT_EQ(lock_from_another_process(temp.path(), OtherLock::ofd), 1);
  EXPECT_EQ(lock_from_another_process(temp.path(), OtherLock::posix), 1);
  EXPECT_EQ(lock_from_another_process(temp.path(), OtherLock::flock), 0)
      << "a flock(2) lock now conflicts with a FileLock: say so in file.h and the guide";
  ASSERT_TRUE(lock->unlock().ok());
  // The other way: a flock(2) holder leaves the FileLock free.
  const int opened = ::open(temp.path().c_str(), O_RDWR | O_CLOEXEC);
  ASSERT_GE(opened, 0);
  const Fd holder(opened);  // closed on every way out
  ASSERT_EQ(::flock(holder.get(), LOCK_EX | LOCK_NB), 0);
  absl::StatusOr<std::optional<FileLock>> taken = file.try_lock(LockKind::exclusive);
  ASSERT_TRUE(taken.ok()) << taken.status();
  EXPECT_TRUE(taken->has_value());
}

TEST(FileTest, LockKindNeedsTheMatchingAccess) {
  TempPath temp("lockaccess");
  open_or_die(writable(temp.path()));
  File reader = open_or_die(FileConfig{.path = temp.path()});
  absl::StatusOr<FileLock> lock = reader.lock(LockKind::exclusive);
  EXPECT_EQ(lock.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(lock.status().message(),
              HasSubstr("an exclusive lock needs write access, but the file was opened with "
                        "access=read"));
}

TEST(FileTest, CreatesFilesOwnerOnlyByDefault) {
  const mode_t old_mask = ::umask(0);
  TempPath temp("mode");
  File file = open_or_die(writable(temp.path()));
  TempPath other("mode640");
  FileConfig config = writable(other.path());
  config.permissions = Permissions(0640);
  File shared = open_or_die(config);
  ::umask(old_mask);
  struct stat info;
  ASSERT_EQ(::stat(temp.path().c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 07777, 0600u);
  ASSERT_EQ(::stat(other.path().c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 07777, 0640u);
}

TEST(FileTest, FlagsFollowTheConfig) {
  TempPath temp("flags");
  FileConfig config = writable(temp.path());
  config.append = true;
  config.sync = SyncMode::data;
  File file = open_or_die(config);
  const int flags = ::fcntl(file.fd().get(), F_GETFL);
  EXPECT_NE(flags & O_APPEND, 0);
  EXPECT_EQ(flags & O_SYNC, O_DSYNC);
  EXPECT_NE(::fcntl(file.fd().get(), F_GETFD) & FD_CLOEXEC, 0);
  ASSERT_TRUE(file.write("ab").ok());
  ASSERT_TRUE(file.seek(0).ok());
  ASSERT_TRUE(file.write("cd").ok());  // append: at the end, whatever the offset
  EXPECT_EQ(slurp(temp.path()), "abcd");

  config.append = false;
  config.truncate = true;
  config.close_on_exec = false;
  config.sync = SyncMode::full;
  File truncated = open_or_die(config);
  EXPECT_EQ(*truncated.size(), 0u);
  EXPECT_EQ(::fcntl(truncated.fd().get(), F_GETFD) & FD_CLOEXEC, 0);
  EXPECT_EQ(::fcntl(truncated.fd().get(), F_GETFL) & O_SYNC, O_SYNC);
}

TEST(FileTest, NoFollowRefusesASymlink) {
  TempPath target("target");
  TempPath link("link");
  open_or_die(writable(target.path()));
  ASSERT_EQ(::symlink(target.path().c_str(), link.path().c_str()), 0);
  FileConfig config{.path = link.path(), .no_follow = true};
  absl::StatusOr<File> file = File::open(config);
  ASSERT_FALSE(file.ok());
  EXPECT_THAT(file.status().message(), HasSubstr("[ELOOP]"));
  config.no_follow = false;
  EXPECT_TRUE(File::open(config).ok());
}

// With close_on_exec (the default), a program exec'd from a fork inherits
// nothing; with it off, it does (the control).
TEST(FileTest, AnExecdChildInheritsNothing) {
  TempPath kept("cloexec");
  TempPath leaked("inherited");
  File file = open_or_die(writable(kept.path()));
  FileConfig inherit = writable(leaked.path());
  inherit.close_on_exec = false;
  File leaky = open_or_die(inherit);
  int out[2];
  ASSERT_EQ(::pipe2(out, O_CLOEXEC), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::dup2(out[1], STDOUT_FILENO);
    ::execl("/bin/ls", "ls", "-l", "/proc/self/fd", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(out[1]);
  std::string listing;
  char chunk[4096];
  for (ssize_t n; (n = ::read(out[0], chunk, sizeof chunk)) > 0;) listing.append(chunk, n);
  ::close(out[0]);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << listing;
  EXPECT_THAT(listing, Not(HasSubstr(kept.path()))) << listing;
  EXPECT_THAT(listing, HasSubstr(leaked.path())) << listing;
}

TEST(FileTest, CloseReportsAndEmpties) {
  TempPath temp("close");
  File file = open_or_die(writable(temp.path()));
  const int number = file.fd().get();
  EXPECT_TRUE(file.close().ok());
  EXPECT_EQ(::fcntl(number, F_GETFD), -1);
}

TEST(FileTest, MovingKeepsTheDescriptorAndConfig) {
  TempPath temp("move");
  File file = open_or_die(writable(temp.path()));
  const int number = file.fd().get();
  File moved = std::move(file);
  EXPECT_EQ(moved.fd().get(), number);
  EXPECT_EQ(moved.config().path, temp.path());
  File assigned = open_or_die(writable(temp.path()));
  const int replaced = assigned.fd().get();
  assigned = std::move(moved);
  EXPECT_EQ(assigned.fd().get(), number);
  EXPECT_EQ(::fcntl(replaced, F_GETFD), -1);  // the old one was closed
}

TEST(FileConfigTest, PrintsJsonAndUrl) {
  FileConfig config{.path = "/tmp/t.db", .access = FileAccess::read_write, .create = true};
  EXPECT_EQ(to_string(config),
            "FileConfig{path=\"/tmp/t.db\", access=read_write, create=true, exclusive=false, "
            "truncate=false, append=false, permissions=0600, close_on_exec=true, "
            "no_follow=false, allow_special_files=false, sync=none}");
  EXPECT_EQ(to_json(config),
            "{\"path\":\"/tmp/t.db\",\"access\":\"read_write\",\"create\":true,"
            "\"exclusive\":false,\"truncate\":false,\"append\":false,\"permissions\":\"0600\","
            "\"close_on_exec\":true,\"no_follow\":false,\"allow_special_files\":false,"
            "\"sync\":\"none\"}");
  EXPECT_EQ(*from_json<FileConfig>(to_json(config)), config);
  EXPECT_EQ(to_url(config), "file:///tmp/t.db?access=read_write&create=true");
  EXPECT_EQ(*from_url<FileConfig>(to_url(config)), config);
  EXPECT_EQ(from_json<FileConfig>(R"({"path":"/x","permissions":"0999"})").status().message(),
            "FileConfig.permissions: \"0999\" is not a file mode (three or four octal digits, "
            "like \"0640\")");
  EXPECT_EQ(from_json<FileConfig>(R"({"path":"/x","permissions":600})").status().message(),
            "FileConfig.permissions: expected a string, got an integer");
  EXPECT_EQ(from_url<FileConfig>("file:///x?exclusive=true").status().message(),
            "FileConfig.exclusive: needs create=true");
}

// A move onto itself is left as std types leave theirs (rules.h): the
// descriptor stays owned, usable, and is closed exactly once.
TEST(FileTest, ASelfMoveKeepsTheDescriptorOwnedAndClosesItOnce) {
  TempPath temp("self");
  File file = open_or_die(writable(temp.path()));
  const int fd = file.fd().get();
  File& alias = file;
  file = std::move(alias);  // what a swap-by-moves of a value with itself does
  ASSERT_EQ(file.fd().get(), fd);
  EXPECT_TRUE(file.write("kept").ok());
  EXPECT_TRUE(file.close().ok());
  EXPECT_EQ(::fcntl(fd, F_GETFD), -1);  // closed, once (a second close would abort: ownership)
  EXPECT_EQ(slurp(temp.path()), "kept");
}

}  // namespace
}  // namespace uncopyable
