// Mutex::open() under faults: every system call of each kind of open fails
// in turn. Each run must end in a clear Status naming the mutex, the
// shared-memory object where there is one, and the errno, with no
// descriptor, no mapping and no half-made shared-memory object left behind.
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/fds.h"
#include "uncopyable/mutex.h"
#include "uncopyable/testing/fault_injection.h"

namespace uncopyable {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using testing::FaultInjector;
using testing::open_fds;
using testing::Syscall;

// How many of this process's mappings name `needle` ("/dev/shm/<name>",
// or "/dev/zero (deleted)" for an anonymous shared one).
int mappings_of(const std::string& needle) {
  std::ifstream maps("/proc/self/maps");
  int count = 0;
  for (std::string line; std::getline(maps, line);) {
    if (line.find(needle) != std::string::npos) ++count;
  }
  return count;
}

bool shared_memory_exists(const std::string& name) {
  return ::access(("/dev/shm" + name).c_str(), F_OK) == 0;
}

std::vector<int> errnos_for(Syscall call) {
  switch (call) {
    case Syscall::kShmOpen: return {EACCES, EMFILE};
    case Syscall::kFtruncate: return {ENOSPC, EIO};
    case Syscall::kMmap: return {ENOMEM, EACCES};
    default: return {EIO};
  }
}

struct Case {
  const char* name;
  MutexConfig config;
  bool exists;  // another handle created the named lock first
  std::vector<Syscall> calls;  // what an open makes, in order
};

std::vector<Case> cases() {
  const std::string shm = absl::StrCat("/uncopyable-fault-", ::getpid());
  return {
      {"process_shared", {.name = "jobs", .process_shared = true}, false, {Syscall::kMmap}},
      {"named, created",
       {.name = "jobs", .process_shared = true, .shared_memory_name = shm + "-new"},
       false,
       {Syscall::kShmOpen, Syscall::kFtruncate, Syscall::kMmap, Syscall::kClose}},
      {"named, existing",
       {.name = "jobs", .process_shared = true, .shared_memory_name = shm + "-old"},
       true,
       {Syscall::kShmOpen, Syscall::kShmOpen, Syscall::kFstat, Syscall::kMmap, Syscall::kClose}},
  };
}

TEST(MutexFaultTest, SweepEverySystemCallOfEveryOpen) {
  int runs = 0;
  for (const Case& c : cases()) {
    const MutexConfig& config = c.config;
    const bool named = !config.shared_memory_name.empty();
    const std::string mapped = named ? "/dev/shm" + config.shared_memory_name : "/dev/zero";
    std::optional<Mutex> first;  // the creator, for "existing"
    if (c.exists) first.emplace(*Mutex::open(config));
    std::vector<Syscall> calls;
    {
      std::optional<absl::StatusOr<Mutex>> opened;
      {
        FaultInjector count;
        opened = Mutex::open(config);
        calls = count.calls();
      }
      ASSERT_TRUE(opened->ok()) << c.name << ": " << opened->status();
    }
    EXPECT_EQ(calls, c.calls) << c.name;
    if (named && !c.exists) {
      ASSERT_TRUE(Mutex::remove_shared(config).ok());
    }
    for (size_t n = 1; n <= calls.size(); ++n) {
      for (int error : errnos_for(calls[n - 1])) {
        const std::set<int> fds_before = open_fds();
        const int mappings_before = mappings_of(mapped);
        std::optional<absl::StatusOr<Mutex>> opened;
        std::string description;
        {
          FaultInjector fault;
          fault.fail_nth(static_cast<int>(n), error);
          opened = Mutex::open(config);
          description = absl::StrCat(c.name, ": ", fault.describe());
          EXPECT_EQ(fault.injected(), 1) << description;
        }
        ++runs;
        const absl::Status status = opened->status();
        if (calls[n - 1] == Syscall::kClose) {
          // The descriptor is released whatever close says, and the
          // mapping made before it keeps the object: the lock is usable.
          ASSERT_TRUE(status.ok()) << description << ": " << status;
          (*opened)->lock();
          (*opened)->unlock();
        } else {
          ASSERT_FALSE(status.ok()) << description << " must be reported";
          EXPECT_THAT(std::string(status.message()), StartsWith("open mutex \"jobs\": "))
              << description;
          if (named) {
            EXPECT_THAT(status.message(),
                        HasSubstr(absl::StrCat(" of shared memory \"", config.shared_memory_name,
                                               "\": ")))
                << description;
          }
          EXPECT_THAT(status.message(), HasSubstr(absl::StrCat("[", strerrorname_np(error), "]")))
              << description;
        }
        opened.reset();
        EXPECT_EQ(open_fds(), fds_before) << description << ": a descriptor leaked";
        EXPECT_EQ(mappings_of(mapped), mappings_before) << description << ": a mapping leaked";
        if (named && !c.exists) {
          if (status.ok()) {
            ASSERT_TRUE(Mutex::remove_shared(config).ok()) << description;
          }
          EXPECT_FALSE(shared_memory_exists(config.shared_memory_name))
              << description << ": a shared-memory object without a lock was left behind";
        }
      }
    }
    if (c.exists) {
      EXPECT_TRUE(shared_memory_exists(config.shared_memory_name)) << c.name;
      first.reset();
      EXPECT_TRUE(Mutex::remove_shared(config).ok()) << c.name;
    }
  }
  EXPECT_EQ(runs, 17);
}

// A heap lock makes no system call: nothing to fail, and the count says so
// (were one added, the sweep above would need a case for it).
TEST(MutexFaultTest, AHeapLockMakesNoSystemCall) {
  std::optional<absl::StatusOr<Mutex>> opened;
  FaultInjector count;
  opened = Mutex::open({.name = "jobs"});
  EXPECT_TRUE(opened->ok());
  EXPECT_EQ(count.calls_seen(), 0);
}

}  // namespace
}  // namespace uncopyable
