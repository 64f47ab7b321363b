// TempDir and TempFile under faults: every system call of making and of
// removing one fails in turn. Each run must end in a clear Status naming
// the path and the errno (or in success, where the library retries), with
// no descriptor leaked and, when making fails, nothing left on disk.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/fds.h"
#include "uncopyable/internal/quote.h"
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

// A folder of its own for each run, so that what a run leaves is seen.
TempDir arena() {
  absl::StatusOr<TempDir> dir = TempDir::open(TempDirConfig{.parent = test_tmpdir()});
  EXPECT_TRUE(dir.ok()) << dir.status();
  return *std::move(dir);
}

// The names in a folder, sorted.
std::vector<std::string> listing(const std::string& path) {
  std::set<std::string> names;
  DIR* dir = ::opendir(path.c_str());
  if (dir == nullptr) return {"<cannot list " + path + ">"};
  while (const dirent* entry = ::readdir(dir)) {
    const std::string name = entry->d_name;
    if (name != "." && name != "..") names.insert(name);
  }
  ::closedir(dir);
  return {names.begin(), names.end()};
}

bool exists(const std::string& path) {
  struct stat info;
  return ::lstat(path.c_str(), &info) == 0;
}

void write_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  ASSERT_GE(fd, 0) << path;
  ASSERT_EQ(::close(fd), 0);
}

// A folder worth removing: nested folders, files, and a symlink out.
void fill(const std::string& root, const std::string& outside) {
  ASSERT_EQ(::mkdir((root + "/a").c_str(), 0700), 0);
  ASSERT_EQ(::mkdir((root + "/a/b").c_str(), 0700), 0);
  write_file(root + "/a/b/one");
  write_file(root + "/two");
  ASSERT_EQ(::symlink(outside.c_str(), (root + "/a/out").c_str()), 0);
}

// The errnos to try on a call: EINTR (and EEXIST for a name) where the
// library must try again, and real failures it must report.
std::vector<int> errnos_for(Syscall call) {
  switch (call) {
    case Syscall::kOpen:
    case Syscall::kOpenat: return {EINTR, EEXIST, EMFILE, EACCES};
    case Syscall::kMkdirat: return {EINTR, EEXIST, ENOSPC, EACCES};
    case Syscall::kGetrandom: return {EINTR, ENOSYS};
    case Syscall::kGetdents64: return {EINTR, EIO};
    case Syscall::kFcntl: return {EINTR, EIO};
    case Syscall::kUnlinkat: return {EACCES, EIO};
    default: return {EIO, ENOSPC};
  }
}

// Whether the library tries again after `error` on `call` (so the result
// is OK): EINTR on calls that loop, and a name that is taken.
bool retried(Syscall call, int error, bool making) {
  if (error == EINTR) {
    return call == Syscall::kOpen || call == Syscall::kOpenat || call == Syscall::kMkdirat ||
           call == Syscall::kGetrandom || call == Syscall::kGetdents64 ||
           call == Syscall::kFcntl;
  }
  // EEXIST from the call that makes the entry: another name. (The first
  // open of a TempFile is its parent folder's; EEXIST there is an error.)
  return error == EEXIST && making && (call == Syscall::kMkdirat || call == Syscall::kOpenat);
}

struct Outcome {
  absl::Status status;
  std::string description;
};

// Runs `operation` once per system call it makes and per errno, failing
// that call; `check` looks at each outcome. `setup` runs before arming.
template <typename State>
int sweep(const char* name, const std::function<State(const std::string& arena)>& setup,
          const std::function<absl::Status(State&)>& operation,
          const std::function<void(const Outcome&, Syscall, int, const std::string& arena,
                                   State&)>& check) {
  std::vector<Syscall> calls;
  {
    TempDir place = arena();
    State state = setup(place.path());
    FaultInjector count;
    const absl::Status status = operation(state);
    EXPECT_TRUE(status.ok()) << name << ": " << status;
    calls = count.calls();
  }
  EXPECT_FALSE(calls.empty()) << name;
  int runs = 0;
  for (size_t n = 1; n <= calls.size(); ++n) {
    for (int error : errnos_for(calls[n - 1])) {
      TempDir place = arena();
      const std::set<int> fds_before = open_fds();
      Outcome outcome;
      {
        State state = setup(place.path());
        {
          FaultInjector fault;
          fault.fail_nth(static_cast<int>(n), error);
          outcome.status = operation(state);
          outcome.description = absl::StrCat(name, ": ", fault.describe());
          EXPECT_EQ(fault.injected(), 1) << outcome.description;
        }
        check(outcome, calls[n - 1], error, place.path(), state);
      }
      EXPECT_EQ(open_fds(), fds_before) << outcome.description << ": a descriptor leaked";
      const absl::Status cleaned = place.close();
      EXPECT_TRUE(cleaned.ok()) << outcome.description << ": " << cleaned;
      ++runs;
    }
  }
  return runs;
}

void expect_reported(const Outcome& outcome, Syscall call, int error, bool making,
                     const std::string& path_part) {
  if (retried(call, error, making)) {
    EXPECT_TRUE(outcome.status.ok()) << outcome.description << " must be retried, got "
                                     << outcome.status;
    return;
  }
  ASSERT_FALSE(outcome.status.ok()) << outcome.description << " must be reported";
  EXPECT_THAT(outcome.status.message(), HasSubstr(path_part)) << outcome.description;
  EXPECT_THAT(outcome.status.message(), HasSubstr(absl::StrCat("[", strerrorname_np(error), "]")))
      << outcome.description;
}

// The quoted start of a path: `"<arena>/tmp-` (the rest is random).
std::string quoted_start(const std::string& arena_path) {
  std::string start = internal::quoted(arena_path + "/tmp-");
  start.pop_back();
  return start;
}

TEST(TempFaultTest, MakingATempDirFailsCleanlyAtEveryCall) {
  struct State {
    std::string arena;
    std::optional<TempDir> made;
  };
  const int runs = sweep<State>(
      "TempDir::open", [](const std::string& arena) { return State{arena, std::nullopt}; },
      [](State& state) {
        absl::StatusOr<TempDir> dir = TempDir::open(TempDirConfig{.parent = state.arena});
        if (!dir.ok()) return dir.status();
        state.made.emplace(*std::move(dir));
        return absl::OkStatus();
      },
      [](const Outcome& outcome, Syscall call, int error, const std::string& arena, State&) {
        expect_reported(outcome, call, error, /*making=*/true, quoted_start(arena));
        if (!outcome.status.ok()) {
          EXPECT_THAT(outcome.status.message(), HasSubstr("open temp dir " + quoted_start(arena)));
          EXPECT_EQ(listing(arena), std::vector<std::string>{}) << outcome.description
                                                                << ": left behind";
        }
      });
  EXPECT_GE(runs, 8);
}

TEST(TempFaultTest, MakingATempFileFailsCleanlyAtEveryCall) {
  struct State {
    std::string arena;
    std::optional<TempFile> made;
  };
  const int runs = sweep<State>(
      "TempFile::open", [](const std::string& arena) { return State{arena, std::nullopt}; },
      [](State& state) {
        absl::StatusOr<TempFile> file = TempFile::open(TempFileConfig{.parent = state.arena});
        if (!file.ok()) return file.status();
        state.made.emplace(*std::move(file));
        return absl::OkStatus();
      },
      [](const Outcome& outcome, Syscall call, int error, const std::string& arena,
         State& state) {
        expect_reported(outcome, call, error, /*making=*/true, quoted_start(arena));
        if (!outcome.status.ok()) {
          EXPECT_EQ(listing(arena), std::vector<std::string>{}) << outcome.description
                                                                << ": left behind";
        } else {
          EXPECT_EQ(listing(arena).size(), 1u) << outcome.description;
          EXPECT_TRUE(state.made->file().write("ok").ok()) << outcome.description;
        }
      });
  EXPECT_GE(runs, 20);
}

// 100 taken names in a row: AlreadyExists, and nothing made; 99: the 100th
// name works.
TEST(TempFaultTest, AHundredTakenNamesInARowIsAlreadyExists) {
  TempDir place = arena();
  {
    FaultInjector fault;
    fault.fail_nth(1, EEXIST, Syscall::kMkdirat, /*times=*/100);
    absl::StatusOr<TempDir> dir = TempDir::open(TempDirConfig{.parent = place.path()});
    EXPECT_EQ(dir.status().code(), absl::StatusCode::kAlreadyExists) << dir.status();
    EXPECT_EQ(dir.status().message(), "open temp dir " +
                                          internal::quoted(place.path() + "/tmp-XXXXXXXXXXXX") +
                                          ": 100 random names in a row were taken");
    EXPECT_EQ(fault.injected(), 100);
  }
  EXPECT_EQ(listing(place.path()), std::vector<std::string>{});
  {
    FaultInjector fault;
    fault.fail_nth(1, EEXIST, Syscall::kOpenat, /*times=*/99);
    absl::StatusOr<TempFile> file = TempFile::open(TempFileConfig{.parent = place.path()});
    EXPECT_TRUE(file.ok()) << file.status();
    EXPECT_EQ(fault.injected(), 99);
  }
}

// persist() through the seam: a failed renameat2 names both paths, moves
// nothing, and leaves the TempFile open; EINTR is retried; EINVAL (a file
// system without RENAME_NOREPLACE) says so.
TEST(TempFaultTest, PersistFailuresNameBothPathsAndKeepTheFile) {
  TempDir place = arena();
  absl::StatusOr<TempFile> file = TempFile::open(TempFileConfig{.parent = place.path()});
  ASSERT_TRUE(file.ok()) << file.status();
  const std::string path = file->path();
  const std::string target = place.path() + "/final";
  for (const int error : {EXDEV, EINVAL, EACCES}) {
    FaultInjector fault;
    fault.fail_nth(1, error, "renameat2");
    const absl::Status status = file->persist(target);
    EXPECT_EQ(fault.injected(), 1);
    ASSERT_FALSE(status.ok());
    EXPECT_THAT(status.message(),
                HasSubstr(absl::StrCat("persist temp file ", internal::quoted(path),
                                       ": renameat2 to ", internal::quoted(target))));
    EXPECT_THAT(status.message(), HasSubstr(absl::StrCat("[", strerrorname_np(error), "]")));
    if (error == EINVAL) {
      EXPECT_THAT(status.message(), HasSubstr("cannot rename without replacing"));
    }
    EXPECT_TRUE(file->file().write("x").ok());
  }
  {
    FaultInjector fault;
    fault.fail_nth(1, EINTR, "renameat2");
    EXPECT_TRUE(file->persist(target).ok());
    EXPECT_EQ(fault.injected(), 1);
  }
  EXPECT_EQ(listing(place.path()), std::vector<std::string>{"final"});
}

// A close that fails after the rename moved the entry says it moved: the
// handle is closed and the entry is at the target (review 6, finding 7).
TEST(TempFaultTest, PersistWhoseCloseFailsSaysTheFileMoved) {
  TempDir place = arena();
  const std::set<int> fds_before = open_fds();
  absl::StatusOr<TempFile> file = TempFile::open(TempFileConfig{.parent = place.path()});
  ASSERT_TRUE(file.ok()) << file.status();
  const std::string path = file->path();
  const std::string target = place.path() + "/final";
  absl::Status status;
  {
    FaultInjector fault;
    fault.fail_nth(1, EIO, Syscall::kClose);
    status = file->persist(target);
    EXPECT_EQ(fault.injected(), 1);
  }
  EXPECT_THAT(status.message(),
              HasSubstr(absl::StrCat("persist temp file ", internal::quoted(path), ": moved to ",
                                     internal::quoted(target),
                                     " and closed, but the close failed: ")));
  EXPECT_THAT(status.message(), HasSubstr("[EIO]"));
  EXPECT_EQ(listing(place.path()), std::vector<std::string>{"final"});
  EXPECT_EQ(open_fds(), fds_before) << "the TempFile still holds a descriptor";
}

TEST(TempFaultTest, TempDirPersistWhoseCloseFailsSaysTheFolderMoved) {
  TempDir place = arena();
  const std::set<int> fds_before = open_fds();
  absl::StatusOr<TempDir> dir = TempDir::open(TempDirConfig{.parent = place.path()});
  ASSERT_TRUE(dir.ok()) << dir.status();
  const std::string path = dir->path();
  const std::string target = place.path() + "/final";
  absl::Status status;
  {
    FaultInjector fault;
    fault.fail_nth(1, EIO, Syscall::kClose);
    status = dir->persist(target);
    EXPECT_EQ(fault.injected(), 1);
  }
  EXPECT_THAT(status.message(),
              HasSubstr(absl::StrCat("persist temp dir ", internal::quoted(path), ": moved to ",
                                     internal::quoted(target),
                                     " and closed, but the close failed: ")));
  EXPECT_THAT(status.message(), HasSubstr("[EIO]"));
  EXPECT_EQ(listing(place.path()), std::vector<std::string>{"final"});
  EXPECT_EQ(open_fds(), fds_before) << "the TempDir still holds a descriptor";
}

TEST(TempFaultTest, RemovingATempDirReportsEachFailureWithItsPath) {
  struct State {
    std::string outside;
    std::optional<TempDir> dir;
  };
  const int runs = sweep<State>(
      "TempDir::close",
      [](const std::string& arena) {
        State state;
        state.outside = arena + "/outside";
        write_file(state.outside);
        absl::StatusOr<TempDir> dir = TempDir::open(TempDirConfig{.parent = arena});
        EXPECT_TRUE(dir.ok()) << dir.status();
        fill(dir->path(), state.outside);
        state.dir.emplace(*std::move(dir));
        return state;
      },
      [](State& state) { return state.dir->close(); },
      [](const Outcome& outcome, Syscall call, int error, const std::string& arena,
         State& state) {
        expect_reported(outcome, call, error, /*making=*/false, quoted_start(arena));
        if (!outcome.status.ok()) {
          EXPECT_THAT(outcome.status.message(), HasSubstr("close temp dir " + quoted_start(arena)));
        } else {
          EXPECT_EQ(listing(arena), std::vector<std::string>{"outside"}) << outcome.description;
        }
        EXPECT_TRUE(exists(state.outside)) << outcome.description << ": followed a symlink";
      });
  EXPECT_GE(runs, 15);
}

TEST(TempFaultTest, RemovingATempFileReportsEachFailure) {
  struct State {
    std::optional<TempFile> file;
  };
  const int runs = sweep<State>(
      "TempFile::close",
      [](const std::string& arena) {
        State state;
        absl::StatusOr<TempFile> file = TempFile::open(TempFileConfig{.parent = arena});
        EXPECT_TRUE(file.ok()) << file.status();
        state.file.emplace(*std::move(file));
        return state;
      },
      [](State& state) { return state.file->close(); },
      [](const Outcome& outcome, Syscall call, int error, const std::string& arena, State&) {
        expect_reported(outcome, call, error, /*making=*/false, quoted_start(arena));
        if (call == Syscall::kUnlinkat) {
          EXPECT_EQ(listing(arena).size(), 1u) << outcome.description;
        } else {
          EXPECT_EQ(listing(arena), std::vector<std::string>{}) << outcome.description;
        }
      });
  EXPECT_GE(runs, 5);
}

}  // namespace
}  // namespace uncopyable
