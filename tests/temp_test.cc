#include "uncopyable/temp.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <set>
#include <string>
#include <type_traits>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/forked_child.h"
#include "tests/testing/fds.h"
#include "uncopyable/config_json.h"
#include "uncopyable/internal/quote.h"

namespace uncopyable {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::StartsWith;
using testing::open_fds;

static_assert(Rebuildable<TempDir>);
static_assert(Rebuildable<TempFile>);
static_assert(Config<TempDirConfig>);
static_assert(Config<TempFileConfig>);
static_assert(!std::is_copy_constructible_v<TempDir>);
static_assert(!std::is_copy_assignable_v<TempDir>);
static_assert(!std::is_copy_constructible_v<TempFile>);
static_assert(std::is_nothrow_move_constructible_v<TempDir>);
static_assert(std::is_nothrow_move_assignable_v<TempFile>);

// The test's own scratch folder (Bazel's TEST_TMPDIR).
std::string test_tmpdir() {
  const char* dir = std::getenv("TEST_TMPDIR");
  return dir != nullptr ? dir : "/tmp";
}

TempDirConfig here() { return TempDirConfig{.parent = test_tmpdir()}; }
TempFileConfig file_here() { return TempFileConfig{.parent = test_tmpdir()}; }

TempDir make(const TempDirConfig& config) {
  absl::StatusOr<TempDir> dir = TempDir::open(config);
  EXPECT_TRUE(dir.ok()) << dir.status();
  return *std::move(dir);
}

TempFile make_file(const TempFileConfig& config) {
  absl::StatusOr<TempFile> file = TempFile::open(config);
  EXPECT_TRUE(file.ok()) << file.status();
  return *std::move(file);
}

// lstat(2)'s verdict: the type and mode bits, or 0 if nothing is there.
mode_t what_is_at(const std::string& path) {
  struct stat info;
  return ::lstat(path.c_str(), &info) == 0 ? info.st_mode : 0;
}

void write_file(const std::string& path, const std::string& text) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  ASSERT_GE(fd, 0) << path;
  ASSERT_EQ(::write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  ASSERT_EQ(::close(fd), 0);
}

// Restores an environment variable when it goes.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value != nullptr) {
      ::setenv(name, value, 1);
    } else {
      ::unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (old_) {
      ::setenv(name_, old_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

TEST(TempDirTest, MakesAFolderNamedByThePrefixAndRemovesItOnClose) {
  const mode_t old_mask = ::umask(022);
  TempDir dir = make(TempDirConfig{.parent = test_tmpdir(), .prefix = "job-"});
  ::umask(old_mask);
  EXPECT_THAT(dir.path(), MatchesRegex(test_tmpdir() + "/job-[a-z2-7]{12}"));
  EXPECT_EQ(what_is_at(dir.path()), S_IFDIR | 0700);
  const std::string path = dir.path();
  write_file(path + "/a.txt", "a");
  EXPECT_TRUE(dir.close().ok());
  EXPECT_EQ(what_is_at(path), 0u);
}

TEST(TempDirTest, PermissionsAreLessTheUmask) {
  const mode_t old_mask = ::umask(027);
  TempDir open_dir = make(TempDirConfig{.parent = test_tmpdir(), .permissions = Permissions(0777)});
  TempFile open_file =
      make_file(TempFileConfig{.parent = test_tmpdir(), .permissions = Permissions(0666)});
  TempFile default_file = make_file(file_here());
  ::umask(old_mask);
  EXPECT_EQ(what_is_at(open_dir.path()), S_IFDIR | 0750);
  EXPECT_EQ(what_is_at(open_file.path()), S_IFREG | 0640);
  EXPECT_EQ(what_is_at(default_file.path()), S_IFREG | 0600);
}

// The parent: the config's, else $TMPDIR (if set and not empty), else /tmp.
TEST(TempDirTest, TheParentFolderIsTmpdirOrSlashTmpUnlessGiven) {
  {
    ScopedEnv tmpdir("TMPDIR", test_tmpdir().c_str());
    EXPECT_EQ(temp_parent(""), test_tmpdir());
    EXPECT_EQ(temp_parent("/var/cache"), "/var/cache");
    TempDir dir = make(TempDirConfig{});
    EXPECT_THAT(dir.path(), StartsWith(test_tmpdir() + "/tmp-"));
    TempFile file = make_file(TempFileConfig{});
    EXPECT_THAT(file.path(), StartsWith(test_tmpdir() + "/tmp-"));
  }
  {
    ScopedEnv tmpdir("TMPDIR", "");
    EXPECT_EQ(temp_parent(""), "/tmp");
  }
  ScopedEnv tmpdir("TMPDIR", nullptr);
  EXPECT_EQ(temp_parent(""), "/tmp");
  TempDir dir = make(TempDirConfig{});
  EXPECT_THAT(dir.path(), MatchesRegex("/tmp/tmp-[a-z2-7]{12}"));
  EXPECT_TRUE(dir.close().ok());
  // A parent given with a trailing slash is not doubled.
  TempDir slashed = make(TempDirConfig{.parent = test_tmpdir() + "/"});
  EXPECT_THAT(slashed.path(), StartsWith(test_tmpdir() + "/tmp-"));
}

// Everything inside goes; symlinks are removed, never followed, whatever
// they point to.
TEST(TempDirTest, RemovesEverythingInsideWithoutFollowingSymlinks) {
  TempDir outside = make(here());
  const std::string precious = outside.path() + "/precious.txt";
  write_file(precious, "keep me");
  ASSERT_EQ(::mkdir((outside.path() + "/folder").c_str(), 0700), 0);
  write_file(outside.path() + "/folder/also.txt", "keep me too");

  TempDir dir = make(here());
  const std::string root = dir.path();
  ASSERT_EQ(::mkdir((root + "/a").c_str(), 0700), 0);
  ASSERT_EQ(::mkdir((root + "/a/b").c_str(), 0700), 0);
  ASSERT_EQ(::mkdir((root + "/a/b/c").c_str(), 0500), 0);  // read-only: still removed
  write_file(root + "/a/b/one.txt", "1");
  write_file(root + "/a/.hidden", "h");
  ASSERT_EQ(::symlink(outside.path().c_str(), (root + "/link-to-folder").c_str()), 0);
  ASSERT_EQ(::symlink(precious.c_str(), (root + "/a/link-to-file").c_str()), 0);
  ASSERT_EQ(::symlink("/nowhere/at/all", (root + "/dangling").c_str()), 0);
  ASSERT_EQ(::symlink((outside.path() + "/folder").c_str(), (root + "/a/b/c-link").c_str()), 0);
  ASSERT_EQ(::mkfifo((root + "/a/fifo").c_str(), 0600), 0);
  const int sock = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(sock, 0);
  sockaddr_un address = {};
  address.sun_family = AF_UNIX;
  const std::string socket_path = root + "/a/s";
  if (socket_path.size() < sizeof address.sun_path) {
    std::snprintf(address.sun_path, sizeof address.sun_path, "%s", socket_path.c_str());
    ASSERT_EQ(::bind(sock, reinterpret_cast<const sockaddr*>(&address), sizeof address), 0);
  }
  ::close(sock);

  ASSERT_TRUE(dir.close().ok());
  EXPECT_EQ(what_is_at(root), 0u);
  EXPECT_EQ(what_is_at(precious), S_IFREG | 0600);
  EXPECT_EQ(what_is_at(outside.path() + "/folder/also.txt"), S_IFREG | 0600);
  EXPECT_TRUE(outside.close().ok());
}

// More entries than one getdents64(2) returns, removed while listed.
TEST(TempDirTest, RemovesAFolderOfThousandsOfEntries) {
  TempDir dir = make(here());
  const std::string root = dir.path();
  for (int i = 0; i < 3000; ++i) {
    const int fd = ::open(absl::StrCat(root, "/entry-with-a-longish-name-", i).c_str(),
                          O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    ASSERT_GE(fd, 0);
    ::close(fd);
  }
  ASSERT_TRUE(dir.close().ok());
  EXPECT_EQ(what_is_at(root), 0u);
}

TEST(TempDirTest, TheDestructorRemovesItAndKeepLeavesIt) {
  std::string path;
  {
    TempDir dir = make(here());
    path = dir.path();
    write_file(path + "/x", "x");
  }
  EXPECT_EQ(what_is_at(path), 0u);

  TempDirConfig config = here();
  config.keep = true;
  {
    TempDir kept = make(config);
    path = kept.path();
    write_file(path + "/x", "x");
  }
  EXPECT_EQ(what_is_at(path + "/x"), S_IFREG | 0600);
  TempDir closed = make(config);
  const std::string closed_path = closed.path();
  EXPECT_TRUE(closed.close().ok());
  EXPECT_EQ(what_is_at(closed_path), S_IFDIR | 0700);
  ASSERT_EQ(::unlink((path + "/x").c_str()), 0);
  ASSERT_EQ(::rmdir(path.c_str()), 0);
  ASSERT_EQ(::rmdir(closed_path.c_str()), 0);
}

TEST(TempDirTest, RebuildMakesAFreshDifferentEmptyFolder) {
  TempDir first = make(here());
  write_file(first.path() + "/data", "first's");
  absl::StatusOr<TempDir> second = first.rebuild();
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_NE(second->path(), first.path());
  EXPECT_EQ(second->config(), first.config());
  EXPECT_EQ(what_is_at(second->path() + "/data"), 0u);  // nothing copied
  absl::StatusOr<TempDir> third = uncopyable::rebuild(first.config());
  ASSERT_TRUE(third.ok()) << third.status();
  EXPECT_NE(third->path(), first.path());
  EXPECT_NE(third->path(), second->path());
  EXPECT_EQ(what_is_at(first.path() + "/data"), S_IFREG | 0600);  // untouched
}

TEST(TempDirTest, NamesDoNotRepeat) {
  std::set<std::string> names;
  for (int i = 0; i < 200; ++i) {
    TempDir dir = make(here());
    EXPECT_TRUE(names.insert(dir.path()).second) << dir.path();
  }
}

TEST(TempDirTest, MovingHandsTheFolderOverAndAssigningRemovesTheOldOne) {
  TempDir dir = make(here());
  const std::string path = dir.path();
  TempDir moved = std::move(dir);
  EXPECT_EQ(moved.path(), path);
  EXPECT_EQ(what_is_at(path), S_IFDIR | 0700);
  TempDir other = make(here());
  const std::string replaced = other.path();
  other = std::move(moved);
  EXPECT_EQ(other.path(), path);
  EXPECT_EQ(what_is_at(replaced), 0u);  // removed when overwritten
  EXPECT_EQ(what_is_at(path), S_IFDIR | 0700);
}

// It holds one descriptor (its parent folder's, O_PATH) and it is
// close-on-exec; a TempFile's File follows close_on_exec.
TEST(TempDirTest, HoldsOnlyCloseOnExecDescriptors) {
  const std::set<int> before = open_fds();
  TempDir dir = make(here());
  TempFile file = make_file(file_here());
  TempFileConfig inherited = file_here();
  inherited.close_on_exec = false;
  TempFile leaky = make_file(inherited);
  std::set<int> added;
  for (int fd : open_fds()) {
    if (before.count(fd) == 0) added.insert(fd);
  }
  EXPECT_EQ(added.size(), 5u);  // dir: parent; file: parent, File; leaky: parent, File
  for (int fd : added) {
    const bool cloexec = (::fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0;
    EXPECT_EQ(cloexec, fd != leaky.file().fd().get()) << fd;
  }
  EXPECT_TRUE(dir.close().ok());
  EXPECT_TRUE(file.close().ok());
  EXPECT_TRUE(leaky.close().ok());
  EXPECT_EQ(open_fds(), before);
}

// The process that made it removes it; a fork()ed child closing or
// destroying its copy leaves it for the parent.
TEST(TempDirTest, AForkedChildRemovesNothing) {
  TempDir dir = make(here());
  TempFile file = make_file(file_here());
  const std::string inside = dir.path() + "/inside";
  write_file(inside, "x");
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    if (!dir.close().ok()) ::_exit(1);
    { TempFile gone = std::move(file); }  // the destructor
    if (what_is_at(inside) == 0) ::_exit(2);
    ::_exit(0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "the child's check number that failed";
  EXPECT_EQ(what_is_at(dir.path() + "/inside"), S_IFREG | 0600);
  EXPECT_EQ(what_is_at(file.path()), S_IFREG | 0600);
  const std::string path = dir.path();
  EXPECT_TRUE(dir.close().ok());
  EXPECT_EQ(what_is_at(path), 0u);
}

// The same for a child that no fork handler ran in (_Fork(), vfork, a raw
// clone): the process id decides, not only the fork counter.
TEST(TempDirTest, AChildMadeWithoutForkHandlersRemovesNothing) {
  TempDir dir = make(here());
  TempFile file = make_file(file_here());
  ASSERT_TRUE(testing::in_raw_child([&] {
    TempDir gone_dir = std::move(dir);
    TempFile gone_file = std::move(file);
  }));
  EXPECT_EQ(what_is_at(dir.path()), S_IFDIR | 0700);
  EXPECT_EQ(what_is_at(file.path()), S_IFREG | 0600);
}

// What someone else removed or renamed away is not an error: the usual
// "write a temporary file, then rename it into place".
TEST(TempDirTest, WhatIsAlreadyGoneIsFine) {
  TempDir dir = make(here());
  ASSERT_EQ(::rmdir(dir.path().c_str()), 0);
  EXPECT_TRUE(dir.close().ok());

  TempDir target = make(here());
  TempFile file = make_file(file_here());
  ASSERT_TRUE(file.file().write("final").ok());
  const std::string final_path = target.path() + "/final.txt";
  ASSERT_EQ(::rename(file.path().c_str(), final_path.c_str()), 0);
  EXPECT_TRUE(file.close().ok());
  EXPECT_EQ(what_is_at(final_path), S_IFREG | 0600);
}

// A mount point inside is never entered: what is mounted there stays, and
// close() says so. Tried with a tmpfs (another device) and with a bind mount
// of a folder outside (the same device: only the mount itself tells).
// In a child with its own mount namespace (and user namespace if needed).
void enter_private_mount_namespace() {
  if (::unshare(CLONE_NEWNS) != 0) {
    const uid_t uid = ::getuid();
    const gid_t gid = ::getgid();
    if (::unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0) ::_exit(20);
    auto put = [](const char* file, const std::string& text) {
      const int fd = ::open(file, O_WRONLY | O_CLOEXEC);
      if (fd < 0) return;
      (void)!::write(fd, text.data(), text.size());
      ::close(fd);
    };
    put("/proc/self/setgroups", "deny");
    put("/proc/self/uid_map", absl::StrCat(uid, " ", uid, " 1"));
    put("/proc/self/gid_map", absl::StrCat(gid, " ", gid, " 1"));
  }
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) ::_exit(21);
}

TEST(TempDirTest, AMountPointInsideIsLeftAndReported) {
  TempDir outer = make(here());  // removes what the children leave
  TempDir outside = make(here());
  write_file(outside.path() + "/precious.txt", "keep me");
  for (const bool bind : {false, true}) {
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      enter_private_mount_namespace();
      absl::StatusOr<TempDir> dir = TempDir::open(TempDirConfig{.parent = outer.path()});
      if (!dir.ok()) ::_exit(1);
      const std::string mount_point = dir->path() + "/mnt";
      if (::mkdir(mount_point.c_str(), 0700) != 0) ::_exit(2);
      if (bind) {
        if (::mount(outside.path().c_str(), mount_point.c_str(), nullptr, MS_BIND, nullptr) != 0) {
          ::_exit(3);
        }
      } else {
        if (::mount("none", mount_point.c_str(), "tmpfs", 0, nullptr) != 0) ::_exit(3);
        const int fd = ::open((mount_point + "/precious.txt").c_str(),
                              O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0) ::_exit(4);
        ::close(fd);
      }
      const absl::Status closed = dir->close();
      if (closed.code() != absl::StatusCode::kFailedPrecondition) {
        std::fprintf(stderr, "got %s\n", closed.ToString().c_str());
        ::_exit(5);
      }
      if (!absl::StrContains(closed.message(),
                             internal::quoted(mount_point) +
                                 " is a mount point: left in place with what it holds "
                                 "(unmount it first)")) {
        std::fprintf(stderr, "got %s\n", closed.ToString().c_str());
        ::_exit(6);
      }
      if (what_is_at(mount_point + "/precious.txt") == 0) ::_exit(7);
      ::_exit(0);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0) << "bind=" << bind << ": the child's check that failed";
  }
  EXPECT_EQ(what_is_at(outside.path() + "/precious.txt"), S_IFREG | 0600);
  EXPECT_TRUE(outer.close().ok());
}

TEST(TempDirTest, ErrorsNameTheFolderAndTheStep) {
  absl::StatusOr<TempDir> missing = TempDir::open(TempDirConfig{.parent = "/nonexistent/x"});
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(missing.status().message(),
            "open temp dir \"/nonexistent/x/tmp-XXXXXXXXXXXX\": opening the parent folder: No "
            "such file or directory [ENOENT]");

  TempFile a_file = make_file(file_here());
  absl::StatusOr<TempFile> under_a_file =
      TempFile::open(TempFileConfig{.parent = a_file.path(), .suffix = ".json"});
  EXPECT_EQ(under_a_file.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(under_a_file.status().message(),
            "open temp file " + internal::quoted(a_file.path() + "/tmp-XXXXXXXXXXXX.json") +
                ": opening the parent folder: Not a directory [ENOTDIR]");
}

TEST(TempDirTest, InvalidConfigsAreRefusedBeforeAnyCall) {
  const std::set<int> before = open_fds();
  EXPECT_EQ(TempDir::open(TempDirConfig{.prefix = "a/b"}).status().message(),
            "TempDirConfig.prefix: must not contain '/'");
  EXPECT_EQ(TempDir::open(TempDirConfig{.prefix = std::string("a\0b", 3)}).status().message(),
            "TempDirConfig.prefix: must not contain a NUL byte");
  EXPECT_EQ(TempDir::open(TempDirConfig{.prefix = std::string(201, 'p')}).status().message(),
            "TempDirConfig.prefix: is 201 bytes long, more than 200");
  EXPECT_EQ(TempDir::open(TempDirConfig{.parent = std::string("/t\0", 3)}).status().message(),
            "TempDirConfig.parent: must not contain a NUL byte");
  EXPECT_EQ(TempDir::open(TempDirConfig{.permissions = Permissions(010000)}).status().message(),
            "TempDirConfig.permissions: must be at most 07777");
  EXPECT_EQ(TempFile::open(TempFileConfig{.suffix = "x/y"}).status().message(),
            "TempFileConfig.suffix: must not contain '/'");
  EXPECT_EQ(TempFile::open(TempFileConfig{.prefix = std::string(150, 'p'),
                                          .suffix = std::string(51, 's')})
                .status()
                .message(),
            "TempFileConfig.suffix: is 51 bytes long after a prefix of 150, more than 200 "
            "together");
  EXPECT_EQ(open_fds(), before);
}

TEST(TempFileTest, IsAnOpenFileThatGoesOnClose) {
  TempFile temp = make_file(TempFileConfig{.parent = test_tmpdir(), .prefix = "spill-",
                                           .suffix = ".bin"});
  EXPECT_THAT(temp.path(), MatchesRegex(test_tmpdir() + "/spill-[a-z2-7]{12}\\.bin"));
  EXPECT_EQ(what_is_at(temp.path()), S_IFREG | 0600);
  EXPECT_EQ(*temp.file().size(), 0u);
  ASSERT_TRUE(temp.file().write("hello").ok());
  // The File's config reopens the same file (its rebuild() is a second
  // descriptor), and refuses a symlink put in its place.
  EXPECT_EQ(temp.file().config(), (FileConfig{.path = temp.path(),
                                              .access = FileAccess::read_write,
                                              .no_follow = true}));
  absl::StatusOr<File> reader = temp.file().rebuild();
  ASSERT_TRUE(reader.ok()) << reader.status();
  std::string back(5, '\0');
  EXPECT_EQ(*reader->pread(absl::MakeSpan(back), 0), 5u);
  EXPECT_EQ(back, "hello");
  const std::string path = temp.path();
  EXPECT_TRUE(temp.close().ok());
  EXPECT_EQ(what_is_at(path), 0u);
}

TEST(TempFileTest, TheDestructorRemovesItAndKeepLeavesIt) {
  std::string path;
  {
    TempFile temp = make_file(file_here());
    path = temp.path();
  }
  EXPECT_EQ(what_is_at(path), 0u);
  TempFileConfig config = file_here();
  config.keep = true;
  {
    TempFile kept = make_file(config);
    path = kept.path();
    ASSERT_TRUE(kept.file().write("debug me").ok());
  }
  EXPECT_EQ(what_is_at(path), S_IFREG | 0600);
  ASSERT_EQ(::unlink(path.c_str()), 0);
}

std::string read_all(const std::string& path) {
  std::string text;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "<missing>";
  char buffer[256];
  for (ssize_t got; (got = ::read(fd, buffer, sizeof buffer)) > 0;) text.append(buffer, got);
  ::close(fd);
  return text;
}

// tempfile's test_persist_noclobber: an existing target is AlreadyExists,
// names both paths, and is left alone; the TempFile stays usable, and a
// persist to a free name then puts it there and removes nothing.
TEST(TempFileTest, PersistNeverReplacesUnlessAsked) {
  const std::string target = test_tmpdir() + "/persisted.txt";
  write_file(target, "precious");
  TempFile temp = make_file(file_here());
  const std::string path = temp.path();
  ASSERT_TRUE(temp.file().write("new").ok());
  const absl::Status refused = temp.persist(target);
  EXPECT_EQ(refused.code(), absl::StatusCode::kAlreadyExists) << refused;
  EXPECT_EQ(refused.message(),
            absl::StrCat("persist temp file ", internal::quoted(path), ": renameat2 to ",
                         internal::quoted(target), " (no replace): File exists [EEXIST]"));
  EXPECT_EQ(read_all(target), "precious");
  EXPECT_EQ(what_is_at(path), S_IFREG | 0600);
  ASSERT_TRUE(temp.file().write(" text").ok());  // still open and usable

  const std::string free_name = test_tmpdir() + "/persisted-free.txt";
  ASSERT_TRUE(temp.persist(free_name).ok());
  EXPECT_EQ(read_all(free_name), "new text");
  EXPECT_EQ(what_is_at(path), 0u);

  // Asked to replace, it does.
  TempFile other = make_file(file_here());
  ASSERT_TRUE(other.file().write("replaced").ok());
  ASSERT_TRUE(other.persist(target, /*replace=*/true).ok());
  EXPECT_EQ(read_all(target), "replaced");
  ASSERT_EQ(::unlink(target.c_str()), 0);
  ASSERT_EQ(::unlink(free_name.c_str()), 0);
}

// tempfile's test_keep / test_disable_cleanup: decided after open.
TEST(TempFileTest, KeepCanBeDecidedAfterOpen) {
  std::string path;
  {
    TempFile temp = make_file(file_here());
    path = temp.path();
    temp.set_keep(true);
  }
  EXPECT_EQ(what_is_at(path), S_IFREG | 0600);
  ASSERT_EQ(::unlink(path.c_str()), 0);
  TempFileConfig config = file_here();
  config.keep = true;
  TempFile kept = make_file(config);
  path = kept.path();
  kept.set_keep(false);
  EXPECT_TRUE(kept.config().keep);  // the config is what it was made from
  ASSERT_TRUE(kept.close().ok());
  EXPECT_EQ(what_is_at(path), 0u);
}

TEST(TempDirTest, PersistAndKeepAfterOpen) {
  const std::string target = test_tmpdir() + "/persisted-dir";
  ASSERT_EQ(::mkdir(target.c_str(), 0700), 0);  // empty: rename(2) would replace it
  TempDir dir = make(here());
  const std::string path = dir.path();
  write_file(path + "/a.txt", "a");
  const absl::Status refused = dir.persist(target);
  EXPECT_EQ(refused.code(), absl::StatusCode::kAlreadyExists) << refused;
  EXPECT_THAT(refused.message(), HasSubstr(internal::quoted(target)));
  EXPECT_THAT(refused.message(), HasSubstr(internal::quoted(path)));
  EXPECT_EQ(what_is_at(target + "/a.txt"), 0u);
  ASSERT_EQ(::rmdir(target.c_str()), 0);
  ASSERT_TRUE(dir.persist(target).ok());
  EXPECT_EQ(read_all(target + "/a.txt"), "a");
  EXPECT_EQ(what_is_at(path), 0u);
  ASSERT_EQ(::unlink((target + "/a.txt").c_str()), 0);
  ASSERT_EQ(::rmdir(target.c_str()), 0);

  std::string kept_path;
  {
    TempDir kept = make(here());
    kept_path = kept.path();
    kept.set_keep(true);
  }
  EXPECT_EQ(what_is_at(kept_path) & S_IFMT, static_cast<mode_t>(S_IFDIR));
  ASSERT_EQ(::rmdir(kept_path.c_str()), 0);
}

TEST(TempFileTest, RebuildMakesAFreshDifferentEmptyFile) {
  TempFile first = make_file(file_here());
  ASSERT_TRUE(first.file().write("first's").ok());
  absl::StatusOr<TempFile> second = first.rebuild();
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_NE(second->path(), first.path());
  EXPECT_EQ(*second->file().size(), 0u);
  EXPECT_EQ(*first.file().size(), 7u);
  absl::StatusOr<TempFile> third = uncopyable::rebuild(first.config());
  ASSERT_TRUE(third.ok()) << third.status();
  EXPECT_NE(third->path(), first.path());
}

TEST(TempConfigTest, PrintsAndRoundTripsThroughJson) {
  const TempDirConfig dir{.parent = "/var/tmp", .prefix = "job-", .keep = true};
  EXPECT_EQ(to_string(dir),
            "TempDirConfig{parent=\"/var/tmp\", prefix=\"job-\", permissions=0700, keep=true}");
  EXPECT_EQ(to_json(dir),
            "{\"parent\":\"/var/tmp\",\"prefix\":\"job-\",\"permissions\":\"0700\",\"keep\":true}");
  EXPECT_EQ(*from_json<TempDirConfig>(to_json(dir)), dir);
  EXPECT_EQ(*from_json<TempDirConfig>("{}"), TempDirConfig{});
  EXPECT_EQ(from_json<TempDirConfig>(R"({"prefix":"a/b"})").status().message(),
            "TempDirConfig.prefix: must not contain '/'");

  const TempFileConfig file{.prefix = "spill-", .suffix = ".bin",
                            .permissions = Permissions(0640), .close_on_exec = false};
  EXPECT_EQ(to_json(file),
            "{\"parent\":\"\",\"prefix\":\"spill-\",\"suffix\":\".bin\",\"permissions\":\"0640\","
            "\"close_on_exec\":false,\"keep\":false}");
  EXPECT_EQ(*from_json<TempFileConfig>(to_json(file)), file);
}

}  // namespace
}  // namespace uncopyable
