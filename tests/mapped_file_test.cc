#include "uncopyable/mapped_file.h"

#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <set>
#include <string>
#include <type_traits>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/fds.h"
#include "uncopyable/config_json.h"
#include "uncopyable/internal/quote.h"
#include "uncopyable/temp.h"

namespace uncopyable {
namespace {

using ::testing::HasSubstr;
using testing::open_fds;

static_assert(Rebuildable<MappedFile>);
static_assert(Config<MappedFileConfig>);
static_assert(!std::is_copy_constructible_v<MappedFile>);
static_assert(!std::is_copy_assignable_v<MappedFile>);
static_assert(std::is_nothrow_move_constructible_v<MappedFile>);
static_assert(std::is_nothrow_move_assignable_v<MappedFile>);

const size_t kPage = static_cast<size_t>(::sysconf(_SC_PAGESIZE));

std::string test_tmpdir() {
  const char* dir = std::getenv("TEST_TMPDIR");
  return dir != nullptr ? dir : "/tmp";
}

// A scratch file holding `text`, removed at the end of the test.
TempFile file_with(const std::string& text) {
  absl::StatusOr<TempFile> temp = TempFile::open(TempFileConfig{.parent = test_tmpdir()});
  EXPECT_TRUE(temp.ok()) << temp.status();
  EXPECT_TRUE(temp->file().write(text).ok());
  return *std::move(temp);
}

// `size` bytes that differ from page to page and within each.
std::string pattern(size_t size) {
  std::string text(size, '\0');
  for (size_t i = 0; i < size; ++i) text[i] = static_cast<char>('a' + (i * 7 + i / 4096) % 26);
  return text;
}

MappedFile map(const MappedFileConfig& config) {
  absl::StatusOr<MappedFile> mapped = MappedFile::open(config);
  EXPECT_TRUE(mapped.ok()) << mapped.status();
  return *std::move(mapped);
}

std::string text_of(absl::Span<const std::byte> bytes) {
  return std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

std::string contents(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Whether [address, address + length) is mapped in this process now.
bool is_mapped(const void* address, size_t length) {
  // msync on memory that is not mapped fails with ENOMEM.
  return ::msync(const_cast<void*>(address), length, MS_ASYNC) == 0;
}

// The line of /proc/self/maps for the mapping at `address`.
std::string maps_line(const void* address) {
  std::ifstream maps("/proc/self/maps");
  const uintptr_t at = reinterpret_cast<uintptr_t>(address) & ~(uintptr_t{kPage} - 1);
  for (std::string line; std::getline(maps, line);) {
    if (std::strtoull(line.c_str(), nullptr, 16) == at) return line;
  }
  return "";
}

TEST(MappedFileTest, MapsTheWholeFileAndKeepsNoDescriptor) {
  const std::string text = pattern(3 * kPage + 100);
  TempFile temp = file_with(text);
  const std::set<int> before = open_fds();
  MappedFile mapped = map(MappedFileConfig{.file = {.path = temp.path()}});
  EXPECT_EQ(open_fds(), before);  // the file was closed again
  EXPECT_EQ(mapped.size(), text.size());
  EXPECT_EQ(text_of(mapped.bytes()), text);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(mapped.bytes().data()) % kPage, 0u);
  const void* address = mapped.bytes().data();
  EXPECT_THAT(maps_line(address), HasSubstr(" r--s "));  // read-only, shared
  EXPECT_TRUE(mapped.close().ok());
  EXPECT_FALSE(is_mapped(address, text.size()));
}

TEST(MappedFileTest, AnyOffsetAndLength) {
  const std::string text = pattern(4 * kPage);
  TempFile temp = file_with(text);
  for (const uint64_t offset : {uint64_t{0}, uint64_t{1}, uint64_t{kPage - 1}, uint64_t{kPage},
                                uint64_t{kPage + 17}, uint64_t{3 * kPage + 5}}) {
    for (const uint64_t length : {uint64_t{0}, uint64_t{1}, uint64_t{kPage - 17}}) {
      const MappedFileConfig config{.file = {.path = temp.path()}, .offset = offset,
                                    .length = length};
      MappedFile mapped = map(config);
      const size_t expected = length == 0 ? text.size() - offset : length;
      EXPECT_EQ(text_of(mapped.bytes()), text.substr(offset, expected)) << config;
    }
  }
}

// mmap(2) refuses zero bytes; a MappedFile maps nothing and gives an empty
// span (an empty file, or the end of one).
TEST(MappedFileTest, ZeroBytesIsAnEmptySpan) {
  TempFile empty = file_with("");
  MappedFile nothing = map(MappedFileConfig{.file = {.path = empty.path()}});
  EXPECT_TRUE(nothing.bytes().empty());
  EXPECT_EQ(nothing.size(), 0u);
  EXPECT_TRUE(nothing.sync().ok());
  MappedFileConfig writable{.file = {.path = empty.path(), .access = FileAccess::read_write},
                            .access = MapAccess::read_write};
  MappedFile also_nothing = map(writable);
  EXPECT_TRUE(also_nothing.mutable_bytes().empty());
  EXPECT_TRUE(also_nothing.close().ok());
  EXPECT_TRUE(nothing.close().ok());

  TempFile some = file_with("abc");
  MappedFile at_the_end = map(MappedFileConfig{.file = {.path = some.path()}, .offset = 3});
  EXPECT_TRUE(at_the_end.bytes().empty());
}

// Past the end is an error when mapping, never a SIGBUS when reading.
TEST(MappedFileTest, ARangePastTheEndIsOutOfRange) {
  TempFile temp = file_with(std::string(6000, 'x'));
  absl::StatusOr<MappedFile> too_long =
      MappedFile::open(MappedFileConfig{.file = {.path = temp.path()}, .offset = 4096,
                                        .length = 4096});
  EXPECT_EQ(too_long.status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(too_long.status().message(),
            "open mapped file " + internal::quoted(temp.path()) +
                ": bytes [4096, 8192) reach past the end of the file (6000 bytes)");
  absl::StatusOr<MappedFile> too_far =
      MappedFile::open(MappedFileConfig{.file = {.path = temp.path()}, .offset = 6001});
  EXPECT_EQ(too_far.status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(too_far.status().message(),
            "open mapped file " + internal::quoted(temp.path()) +
                ": offset 6001 is past the end of the file (6000 bytes)");
  EXPECT_TRUE(MappedFile::open(MappedFileConfig{.file = {.path = temp.path()}, .offset = 4096,
                                                .length = 1904})
                  .ok());
}

TEST(MappedFileTest, ASharedWritableMappingWritesTheFile) {
  TempFile temp = file_with(pattern(2 * kPage));
  MappedFile mapped = map(MappedFileConfig{
      .file = {.path = temp.path(), .access = FileAccess::read_write},
      .offset = kPage + 10, .length = 5, .access = MapAccess::read_write});
  EXPECT_THAT(maps_line(mapped.bytes().data()), HasSubstr(" rw-s "));
  std::memcpy(mapped.mutable_bytes().data(), "HELLO", 5);
  ASSERT_TRUE(mapped.sync().ok());
  std::string back(5, '\0');
  EXPECT_EQ(*temp.file().pread(absl::MakeSpan(back), static_cast<off_t>(kPage + 10)), 5u);
  EXPECT_EQ(back, "HELLO");
}

// A private mapping writes to its own copy: a file opened for reading will
// do, and the file does not change.
// memmap2's flush_range: part of the mapping, from any offset of bytes(),
// range checked against the mapping.
TEST(MappedFileTest, SyncOfARangeWritesItAndChecksTheRange) {
  TempFile temp = file_with(pattern(3 * kPage));
  MappedFile mapped = map({.file = {.path = temp.path(), .access = FileAccess::read_write},
                           .offset = 100, .length = 2 * kPage,
                           .access = MapAccess::read_write});
  mapped.mutable_bytes()[5] = std::byte{'X'};
  mapped.mutable_bytes()[kPage + 50] = std::byte{'Y'};
  EXPECT_TRUE(mapped.sync(5, 1).ok());
  EXPECT_TRUE(mapped.sync(kPage + 50, 1).ok());  // a start in the mapping's second page
  EXPECT_TRUE(mapped.sync(0, mapped.size()).ok());
  EXPECT_TRUE(mapped.sync(mapped.size(), 0).ok());
  char got[2] = {};
  ASSERT_EQ(::pread(temp.file().fd().get(), &got[0], 1, 105), 1);
  ASSERT_EQ(::pread(temp.file().fd().get(), &got[1], 1, 100 + kPage + 50), 1);
  EXPECT_EQ(std::string(got, 2), "XY");

  const absl::Status past = mapped.sync(2 * kPage - 5, 10);
  EXPECT_EQ(past.code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(past.message(),
            absl::StrCat("sync mapped file ", internal::quoted(temp.path()), ": 10 bytes from "
                         "offset ", 2 * kPage - 5, " reach past the end of the mapping (",
                         2 * kPage, " bytes)"));
  EXPECT_EQ(mapped.sync(2 * kPage + 1, 0).code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(mapped.sync(1, ~size_t{0}).code(), absl::StatusCode::kOutOfRange);  // no overflow
}

TEST(MappedFileTest, APrivateWritableMappingLeavesTheFileAlone) {
  const std::string text = pattern(kPage);
  TempFile temp = file_with(text);
  MappedFile mapped = map(MappedFileConfig{.file = {.path = temp.path()},
                                           .access = MapAccess::read_write, .shared = false,
                                           .populate = true});
  EXPECT_THAT(maps_line(mapped.bytes().data()), HasSubstr(" rw-p "));
  std::memcpy(mapped.mutable_bytes().data(), "PRIVATE", 7);
  EXPECT_TRUE(mapped.sync().ok());
  EXPECT_EQ(text_of(mapped.bytes()).substr(0, 7), "PRIVATE");
  EXPECT_EQ(contents(temp.path()), text);
}

TEST(MappedFileTest, RebuildMapsTheSameRangeAgain) {
  TempFile temp = file_with(pattern(2 * kPage));
  const MappedFileConfig config{.file = {.path = temp.path(), .access = FileAccess::read_write},
                                .offset = 3, .access = MapAccess::read_write};
  MappedFile first = map(config);
  absl::StatusOr<MappedFile> second = first.rebuild();
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_NE(second->bytes().data(), first.bytes().data());  // a mapping of its own
  EXPECT_EQ(second->config(), config);
  // Shared: both map the file's pages, so each sees what the other writes.
  first.mutable_bytes()[0] = std::byte{'!'};
  EXPECT_EQ(second->bytes()[0], std::byte{'!'});
  absl::StatusOr<MappedFile> third = uncopyable::rebuild(config);
  ASSERT_TRUE(third.ok()) << third.status();
  EXPECT_EQ(text_of(third->bytes()), text_of(first.bytes()));
}

// Spans follow the mapping across a move, into the new owner, and dangle
// when it is unmapped (by close(), the destructor, or an assignment over it).
TEST(MappedFileTest, SpansSurviveAMoveAndDangleWhenUnmapped) {
  const std::string text = pattern(kPage + 1);
  TempFile temp = file_with(text);
  MappedFile mapped = map(MappedFileConfig{.file = {.path = temp.path()}});
  const absl::Span<const std::byte> view = mapped.bytes();
  MappedFile moved = std::move(mapped);
  EXPECT_EQ(moved.bytes().data(), view.data());
  EXPECT_EQ(text_of(view), text);
  MappedFile other = map(MappedFileConfig{.file = {.path = temp.path()}, .offset = 1});
  const void* replaced = other.bytes().data();
  other = std::move(moved);
  EXPECT_FALSE(is_mapped(replaced, 1));  // unmapped when overwritten
  EXPECT_EQ(other.bytes().data(), view.data());
  {
    MappedFile last = std::move(other);
  }
  EXPECT_FALSE(is_mapped(view.data(), view.size()));
}

// If someone makes the file shorter after it was mapped, touching a page past
// its new end is SIGBUS: the kernel's rule for every mapping of a file. Seen
// in a child, which dies of it.
TEST(MappedFileTest, ATruncatedFileIsSigbusWhenTouchedPastItsNewEnd) {
  TempFile temp = file_with(pattern(3 * kPage));
  MappedFile mapped = map(MappedFileConfig{.file = {.path = temp.path()}});
  for (const bool truncate : {false, true}) {
    if (truncate) {
      ASSERT_EQ(::ftruncate(temp.file().fd().get(), 100), 0);
    }
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      ::signal(SIGBUS, SIG_DFL);  // not a sanitizer's handler: die of it
      volatile std::byte last = mapped.bytes()[2 * kPage + 1];
      (void)last;
      ::_exit(0);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    if (truncate) {
      ASSERT_TRUE(WIFSIGNALED(status)) << status;
      EXPECT_EQ(WTERMSIG(status), SIGBUS);
    } else {
      ASSERT_TRUE(WIFEXITED(status)) << status;  // the control: whole, it reads fine
      EXPECT_EQ(WEXITSTATUS(status), 0);
    }
  }
  // The bytes still within the file read as before.
  EXPECT_EQ(text_of(mapped.bytes().subspan(0, 100)), pattern(100));
}

TEST(MappedFileTest, ErrorsNameThePath) {
  absl::StatusOr<MappedFile> missing =
      MappedFile::open(MappedFileConfig{.file = {.path = "/nonexistent/index"}});
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(missing.status().message(),
            "open file \"/nonexistent/index\": with access=read: No such file or directory "
            "[ENOENT]");
  // A directory is refused by File::open, before mmap could say ENODEV.
  absl::StatusOr<MappedFile> folder =
      MappedFile::open(MappedFileConfig{.file = {.path = test_tmpdir()}});
  EXPECT_EQ(folder.status().code(), absl::StatusCode::kFailedPrecondition);
  // What mmap(2) refuses: a device that cannot be mapped.
  absl::StatusOr<MappedFile> device = MappedFile::open(MappedFileConfig{
      .file = {.path = "/dev/null", .allow_special_files = true}});
  EXPECT_TRUE(device.ok()) << device.status();  // size 0: nothing to map
  EXPECT_TRUE(device->bytes().empty());
}

TEST(MappedFileTest, InvalidConfigsAreRefusedBeforeAnyCall) {
  const std::set<int> before = open_fds();
  EXPECT_EQ(MappedFile::open(MappedFileConfig{}).status().message(),
            "MappedFileConfig.file: FileConfig.path: must not be empty");
  EXPECT_EQ(MappedFile::open(MappedFileConfig{.file = {.path = "/x", .access = FileAccess::write}})
                .status()
                .message(),
            "MappedFileConfig.file.access: must be read or read_write: a mapping reads the file");
  EXPECT_EQ(MappedFile::open(MappedFileConfig{.file = {.path = "/x"},
                                              .access = MapAccess::read_write})
                .status()
                .message(),
            "MappedFileConfig.file.access: must be read_write for a shared read_write mapping "
            "(shared=false writes to a private copy and needs only read)");
  EXPECT_EQ(MappedFile::open(MappedFileConfig{.file = {.path = "/x"},
                                              .offset = uint64_t{1} << 63})
                .status()
                .message(),
            "MappedFileConfig.offset: 9223372036854775808 is past the largest file offset, "
            "9223372036854775807");
  EXPECT_EQ(MappedFile::open(MappedFileConfig{.file = {.path = "/x"}, .offset = 10,
                                              .length = ~uint64_t{0} >> 1})
                .status()
                .message(),
            "MappedFileConfig.length: 9223372036854775807 bytes from offset 10 reach past the "
            "largest file offset, 9223372036854775807");
  EXPECT_EQ(open_fds(), before);
}

// Before, truncate was taken: open() emptied the file (and rebuild() emptied
// it under the first mapping, a SIGBUS on its next touch); create made an
// empty file that maps nothing.
TEST(MappedFileTest, TruncateAndCreateAreRefusedAndTheFileKeepsItsBytes) {
  TempFile temp = file_with(pattern(8192));
  const MappedFileConfig truncating{
      .file = {.path = temp.path(), .access = FileAccess::read_write, .truncate = true},
      .access = MapAccess::read_write};
  const absl::Status truncated = MappedFile::open(truncating).status();
  EXPECT_EQ(truncated.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(truncated.message(), HasSubstr("MappedFileConfig.file.truncate: must be false"));
  EXPECT_EQ(contents(temp.path()), pattern(8192));

  const std::string fresh = temp.path() + ".new";
  const absl::Status created =
      MappedFile::open(MappedFileConfig{
                           .file = {.path = fresh, .access = FileAccess::read_write,
                                    .create = true},
                           .length = 4096})
          .status();
  EXPECT_EQ(created.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(created.message(), HasSubstr("MappedFileConfig.file.create: must be false"));
  EXPECT_NE(::access(fresh.c_str(), F_OK), 0) << "no file may be made";
  ::unlink(fresh.c_str());
}

TEST(MappedFileConfigTest, PrintsAndRoundTripsThroughJson) {
  const MappedFileConfig config{.file = {.path = "/var/lib/app/index"}, .offset = 4096,
                                .length = 100, .access = MapAccess::read_write,
                                .shared = false, .populate = true};
  EXPECT_EQ(to_string(config),
            "MappedFileConfig{file=FileConfig{path=\"/var/lib/app/index\", access=read, "
            "create=false, exclusive=false, truncate=false, append=false, permissions=0600, "
            "close_on_exec=true, no_follow=false, allow_special_files=false, sync=none}, "
            "offset=4096, length=100, access=read_write, shared=false, populate=true}");
  EXPECT_EQ(*from_json<MappedFileConfig>(to_json(config)), config);
  EXPECT_EQ(*from_json<MappedFileConfig>(R"({"file":{"path":"/x"}})"),
            (MappedFileConfig{.file = {.path = "/x"}}));
  EXPECT_EQ(from_json<MappedFileConfig>(R"({"offset":1})").status().message(),
            "MappedFileConfig.file: required field is missing");
  EXPECT_EQ(from_json<MappedFileConfig>(R"({"file":{"path":"/x"},"access":"write"})")
                .status()
                .message(),
            "MappedFileConfig.access: \"write\" is not one of read, read_write");
}

}  // namespace
}  // namespace uncopyable
