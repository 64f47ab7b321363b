// MappedFile under faults: every system call of each operation fails in
// turn. Each run must end in a clear Status naming the path and the errno
// (or in success where the library retries), with no descriptor and no
// mapping left behind.
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/fds.h"
#include "uncopyable/internal/quote.h"
#include "uncopyable/mapped_file.h"
#include "uncopyable/temp.h"
#include "uncopyable/testing/fault_injection.h"

namespace uncopyable {
namespace {

using ::testing::HasSubstr;
using testing::FaultInjector;
using testing::open_fds;
using testing::Syscall;

std::string test_tmpdir() {
  const char* dir = std::getenv("TEST_TMPDIR");
  return dir != nullptr ? dir : "/tmp";
}

// Unmaps every mapping of `path` (what a failed munmap left); how many.
int unmap_leftovers(const std::string& path) {
  std::ifstream maps("/proc/self/maps");
  int count = 0;
  for (std::string line; std::getline(maps, line);) {
    if (line.size() < path.size() ||
        line.compare(line.size() - path.size(), path.size(), path) != 0) {
      continue;
    }
    char* end = nullptr;
    const uintptr_t from = std::strtoull(line.c_str(), &end, 16);
    const uintptr_t to = std::strtoull(end + 1, nullptr, 16);
    if (::munmap(reinterpret_cast<void*>(from), to - from) == 0) ++count;
  }
  return count;
}

struct Operation {
  const char* name;
  std::function<absl::Status(MappedFile& mapped, const MappedFileConfig& config)> run;
};

std::vector<Operation> operations() {
  return {
      {"open",
       [](MappedFile&, const MappedFileConfig& config) {
         absl::StatusOr<MappedFile> other = MappedFile::open(config);
         return other.ok() ? other->close() : other.status();
       }},
      {"rebuild",
       [](MappedFile& mapped, const MappedFileConfig&) {
         absl::StatusOr<MappedFile> other = mapped.rebuild();
         return other.ok() ? other->close() : other.status();
       }},
      {"sync", [](MappedFile& mapped, const MappedFileConfig&) { return mapped.sync(); }},
      {"sync range",
       [](MappedFile& mapped, const MappedFileConfig&) { return mapped.sync(5000, 100); }},
      {"close", [](MappedFile& mapped, const MappedFileConfig&) { return mapped.close(); }},
  };
}

std::vector<int> errnos_for(Syscall call) {
  switch (call) {
    case Syscall::kOpen: return {EINTR, EMFILE, EACCES};
    case Syscall::kFcntl: return {EINTR, EIO};
    case Syscall::kMmap: return {ENOMEM, EACCES, ENODEV};
    case Syscall::kMsync: return {EIO, ENOMEM};
    default: return {EIO, ENOSPC};
  }
}

TEST(MappedFileFaultTest, SweepEverySystemCallOfEveryOperation) {
  absl::StatusOr<TempFile> temp = TempFile::open(TempFileConfig{.parent = test_tmpdir()});
  ASSERT_TRUE(temp.ok()) << temp.status();
  ASSERT_TRUE(temp->file().write(std::string(3 * 4096 + 10, 'm')).ok());
  const MappedFileConfig config{
      .file = {.path = temp->path(), .access = FileAccess::read_write},
      .offset = 5000, .access = MapAccess::read_write};
  int runs = 0;
  for (const Operation& operation : operations()) {
    std::vector<Syscall> calls;
    {
      MappedFile mapped = *MappedFile::open(config);
      FaultInjector count;
      ASSERT_TRUE(operation.run(mapped, config).ok()) << operation.name;
      calls = count.calls();
    }
    ASSERT_FALSE(calls.empty()) << operation.name;
    for (size_t n = 1; n <= calls.size(); ++n) {
      for (int error : errnos_for(calls[n - 1])) {
        const std::set<int> fds_before = open_fds();
        absl::Status status;
        std::string description;
        {
          MappedFile mapped = *MappedFile::open(config);
          mapped.mutable_bytes()[0] = std::byte{'w'};
          FaultInjector fault;
          fault.fail_nth(static_cast<int>(n), error);
          status = operation.run(mapped, config);
          description = absl::StrCat(operation.name, ": ", fault.describe());
          EXPECT_EQ(fault.injected(), 1) << description;
        }
        ++runs;
        if (error == EINTR) {
          EXPECT_TRUE(status.ok()) << description << " must be retried, got " << status;
        } else {
          ASSERT_FALSE(status.ok()) << description << " must be reported";
          EXPECT_THAT(status.message(), HasSubstr(internal::quoted(temp->path())))
              << description;
          EXPECT_THAT(status.message(), HasSubstr(absl::StrCat("[", strerrorname_np(error), "]")))
              << description;
        }
        EXPECT_EQ(open_fds(), fds_before) << description << ": a descriptor leaked";
        // A munmap that fails leaves its mapping, as the kernel would (and
        // says so); nothing else may leave one.
        EXPECT_EQ(unmap_leftovers(temp->path()), calls[n - 1] == Syscall::kMunmap ? 1 : 0)
            << description << ": a mapping leaked";
      }
    }
  }
  EXPECT_GE(runs, 15);
}

}  // namespace
}  // namespace uncopyable
