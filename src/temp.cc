#include "uncopyable/temp.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>   // NOLINT(modernize-deprecated-headers): GNU renameat2() and RENAME_NOREPLACE
#include <stdlib.h>  // NOLINT(modernize-deprecated-headers): GNU secure_getenv()
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>

#include "absl/base/optimization.h"
#include "absl/strings/str_cat.h"
#include "uncopyable/check.h"
#include "uncopyable/internal/errno_status.h"
#include "uncopyable/internal/message.h"
#include "uncopyable/internal/quote.h"
#include "uncopyable/internal/syscall.h"

namespace uncopyable {
namespace {

namespace sys = internal::sys;

// How many random names are tried before giving up (each taken one is a
// collision of 60 random bits, or someone guessing on purpose).
constexpr int kAttempts = 100;
// Random characters in a name: 12 of 32 (lowercase letters and digits, so
// that names differ on case-insensitive file systems too): 60 bits.
constexpr int kRandomChars = 12;
constexpr absl::string_view kAlphabet = "abcdefghijklmnopqrstuvwxyz234567";
constexpr size_t kLongestAffix = 200;
// Folders nested deeper than this inside a TempDir are left in place (each
// level holds a descriptor and a stack frame while it is removed).
constexpr int kDeepest = 1024;

// temp dir "/tmp/tmp-abc" or temp file "/tmp/tmp-abc": how a TempDir or a
// TempFile names its entry in every message.
std::string temp_resource(bool directory, absl::string_view path) {
  return absl::StrCat(directory ? "temp dir " : "temp file ", internal::quoted(path));
}

// "unlinkat(\"/tmp/tmp-abc/x\")": a call on one path inside, for details.
std::string call_on(absl::string_view call, absl::string_view path) {
  return absl::StrCat(call, "(", internal::quoted(path), ")");
}

// The name part of a path: what follows its last '/'.
std::string name_of(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// `parent` + '/' + `name`, without doubling a trailing slash.
std::string join(absl::string_view parent, absl::string_view name) {
  if (!parent.empty() && parent.back() == '/') return absl::StrCat(parent, name);
  return absl::StrCat(parent, "/", name);
}

// 12 random characters, from getrandom(2) (retrying EINTR), or -1 with errno.
int random_name_part(std::string& out) {
  uint64_t bits = 0;
  ssize_t got;
  do {
    got = sys::getrandom(&bits, sizeof bits, 0);
  } while (got < 0 && errno == EINTR);
  if (got < 0) return -1;
  if (got != static_cast<ssize_t>(sizeof bits)) {  // never for 8 bytes; said anyway
    errno = EIO;
    return -1;
  }
  out.clear();
  for (int i = 0; i < kRandomChars; ++i, bits >>= 5) out += kAlphabet[bits & 31];
  return 0;
}

// The checks shared by both configs.
ConfigRules& affix_rules(ConfigRules& rules, absl::string_view field, const std::string& text) {
  return rules
      .check(text.find('/') == std::string::npos, field, "must not contain '/'")
      .check(text.find('\0') == std::string::npos, field, "must not contain a NUL byte");
}

// What making an entry needs, and what it gives: the parent folder's
// descriptor and the new entry's path; `make_entry(parent_fd, name)` makes
// the entry (mkdirat or openat) and returns >= 0, or -1 with errno.
struct Made {
  Fd parent;
  std::string path;
  int result = -1;  // what make_entry returned for the name that worked
};

template <typename MakeEntry>
absl::StatusOr<Made> make_exclusively(bool directory, const std::string& parent,
                                      absl::string_view prefix, absl::string_view suffix,
                                      MakeEntry make_entry) {
  // temp dir "/tmp/tmp-XXXXXXXXXXXX": the name to be, as a template.
  const std::string pattern = temp_resource(
      directory, join(parent, absl::StrCat(prefix, std::string(kRandomChars, 'X'), suffix)));
  int fd;
  do {
    fd = sys::open(parent.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) {
    return internal::errno_error_on(errno, "open", pattern, "opening the parent folder");
  }
  Made made;
  made.parent = Fd(fd);
  std::string name;
  std::string random;
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    if (random_name_part(random) != 0) {
      return internal::errno_error_on(errno, "open", pattern, "getrandom");
    }
    name = absl::StrCat(prefix, random, suffix);
    made.result = make_entry(made.parent.get(), name.c_str());
    if (made.result >= 0) {
      made.path = join(parent, name);
      return made;
    }
    if (errno != EEXIST && errno != EINTR) {
      return internal::errno_error_on(errno, "open", pattern,
                                      call_on(directory ? "mkdirat" : "openat", name));
    }
  }
  return internal::error_on(absl::StatusCode::kAlreadyExists, "open", pattern,
                            absl::StrCat(kAttempts, " random names in a row were taken"));
}

// ---------------------------------------------------------------------------
// Removing a folder and all it holds, without following symlinks and without
// entering mount points.

class Remover {
 public:
  explicit Remover(const std::string& root) : root_(root) {}

  // Removes the folder `name` of `parent_fd`, whose path is path_ + "/" +
  // name (or the root itself when depth is 0), with everything in it.
  void remove_folder(int parent_fd, const std::string& name, int depth) {
    int fd;
    do {
      fd = sys::openat(parent_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) {
      if (errno == ENOENT) return;  // gone already (the root: renamed or removed)
      if (depth > 0 && (errno == ENOTDIR || errno == ELOOP)) {
        // Replaced by a file or a symlink since it was listed: remove that.
        unlink_entry(parent_fd, name);
        return;
      }
      fail(errno, "openat");
      return;
    }
    Fd folder(fd);
    remove_open_folder(fd, parent_fd, name, depth);
    if (absl::Status closed = folder.close(); !closed.ok()) {
      fail_with(internal::error_on(closed.code(), "close", temp_resource(true, root_),
                                   absl::StrCat(internal::quoted(path_), ": ", closed.message())));
    }
  }

  // The first error met, or OK.
  absl::Status status() && { return std::move(status_); }

 private:
  // remove_folder() once the folder is open as `fd`: checks that it is no
  // mount point, removes what it holds, then the folder itself.
  void remove_open_folder(int fd, int parent_fd, const std::string& name, int depth) {
    struct statx info;
    if (sys::statx(fd, "", AT_EMPTY_PATH, STATX_TYPE, &info) != 0) {
      fail(errno, "statx");
      return;
    }
    const bool mount_root = (info.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) != 0 &&
                            (info.stx_attributes & STATX_ATTR_MOUNT_ROOT) != 0;
    if (depth == 0) {
      device_major_ = info.stx_dev_major;
      device_minor_ = info.stx_dev_minor;
    }
    if (mount_root || info.stx_dev_major != device_major_ ||
        info.stx_dev_minor != device_minor_) {
      fail_with(internal::error_on(
          absl::StatusCode::kFailedPrecondition, "close", temp_resource(true, root_),
          absl::StrCat(internal::quoted(path_),
                       " is a mount point: left in place with what it holds (unmount it first)")));
      return;
    }
    if (depth >= kDeepest) {
      fail_with(internal::error_on(
          absl::StatusCode::kFailedPrecondition, "close", temp_resource(true, root_),
          absl::StrCat(internal::quoted(path_), " is nested ", kDeepest,
                       " folders deep: left in place with what it holds")));
      return;
    }
    // A listing may, in principle, miss entries while entries are removed;
    // and someone may add some meanwhile. Read it again (a bounded number
    // of times) while rmdir says it is not empty and nothing else failed.
    for (int pass = 0;; ++pass) {
      if (!remove_contents(fd, depth)) return;
      if (sys::unlinkat(parent_fd, name.c_str(), AT_REMOVEDIR) == 0 || errno == ENOENT) return;
      if (errno != ENOTEMPTY || pass == 2 || !status_.ok()) {
        fail(errno, "unlinkat");
        return;
      }
      if (sys::lseek(fd, 0, SEEK_SET) != 0) {
        fail(errno, "lseek");
        return;
      }
    }
  }

  // Removes each entry of the folder open as `fd` (whose path is path_),
  // going into folders. False if the listing itself failed.
  bool remove_contents(int fd, int depth) {
    auto buffer = std::make_unique<char[]>(kListingBytes);
    while (true) {
      ssize_t got;
      do {
        got = sys::getdents64(fd, buffer.get(), kListingBytes);
      } while (got < 0 && errno == EINTR);
      if (got < 0) {
        fail(errno, "getdents64");
        return false;
      }
      if (got == 0) return true;
      for (ssize_t at = 0; at < got;) {
        dirent64 entry;
        // Copied out: the kernel packs entries without regard to alignment.
        std::memcpy(&entry, buffer.get() + at, offsetof(dirent64, d_name));
        const char* entry_name = buffer.get() + at + offsetof(dirent64, d_name);
        at += entry.d_reclen;
        if (std::strcmp(entry_name, ".") == 0 || std::strcmp(entry_name, "..") == 0) continue;
        const size_t before = path_.size();
        absl::StrAppend(&path_, "/", entry_name);
        // A folder is said by the entry's type or, on a file system that
        // does not say types (DT_UNKNOWN), by unlink's EISDIR; any other
        // entry is removed by that unlink_entry() itself.
        if (entry.d_type == DT_DIR || (!unlink_entry(fd, entry_name) && errno == EISDIR)) {
          remove_folder(fd, entry_name, depth + 1);
        }
        path_.resize(before);
      }
    }
  }

  // unlinkat(2) of a file, symlink or other non-folder; false with errno set
  // if it failed (and recorded, unless it is a folder: EISDIR).
  bool unlink_entry(int fd, const std::string& name) {
    if (sys::unlinkat(fd, name.c_str(), 0) == 0 || errno == ENOENT) return true;
    const int error = errno;
    if (error != EISDIR) fail(error, "unlinkat");
    errno = error;
    return false;
  }

  void fail(int error, absl::string_view call) {
    fail_with(
        internal::errno_error_on(error, "close", temp_resource(true, root_), call_on(call, path_)));
  }
  void fail_with(absl::Status status) {
    if (status_.ok()) status_ = std::move(status);
  }

  static constexpr size_t kListingBytes = 8192;
  const std::string& root_;
  std::string path_ = root_;  // the entry being worked on
  uint32_t device_major_ = 0;
  uint32_t device_minor_ = 0;
  absl::Status status_;
};

// Renames the entry `path` (made in the folder `parent_fd`) to `target`
// (relative to the working directory if relative): renameat2(2), with
// RENAME_NOREPLACE unless `replace`. Errors name both paths.
absl::Status rename_entry(int parent_fd, bool directory, const std::string& path,
                          absl::string_view target, bool replace) {
  const std::string resource = temp_resource(directory, path);
  if (target.empty() || target.find('\0') != absl::string_view::npos) {
    return internal::error_on(absl::StatusCode::kInvalidArgument, "persist", resource,
                              absl::StrCat("the target ", internal::quoted(target),
                                           " is empty or holds a NUL byte"));
  }
  const std::string name = name_of(path);
  const std::string to(target);
  const unsigned flags = replace ? 0 : RENAME_NOREPLACE;
  int result;
  do {
    result = sys::call("renameat2", [&] {
      return ::renameat2(parent_fd, name.c_str(), AT_FDCWD, to.c_str(), flags);
    });
  } while (result != 0 && errno == EINTR);
  if (result == 0) return absl::OkStatus();
  const int error = errno;
  const std::string detail = absl::StrCat("renameat2 to ", internal::quoted(target),
                                          replace ? "" : " (no replace)");
  if (error == EINVAL && !replace) {
    return internal::errno_error_on(
        error, "persist", resource,
        absl::StrCat(detail, ": the file system cannot rename without replacing"));
  }
  return internal::errno_error_on(error, "persist", resource, detail);
}

// persist()'s close, after the rename moved the entry: an error then must
// not read as if nothing moved (the handle is closed, the entry is at
// `target`, and a retry would be misuse).
absl::Status closed_after_move(absl::Status closed, bool directory, const std::string& path,
                               absl::string_view target) {
  if (closed.ok()) return closed;
  return internal::error_on(closed.code(), "persist", temp_resource(directory, path),
                            absl::StrCat("moved to ", internal::quoted(target),
                                         " and closed, but the close failed: ",
                                         closed.message()));
}

}  // namespace

std::string temp_parent(absl::string_view parent) {
  if (!parent.empty()) return std::string(parent);
  const char* from_environment = ::secure_getenv("TMPDIR");
  if (from_environment != nullptr && from_environment[0] != '\0') return from_environment;
  return "/tmp";
}

// ---------------------------------------------------------------------------
// Configs

absl::Status TempDirConfig::validate() const {
  ConfigRules rules(*this);
  rules.check(parent.find('\0') == std::string::npos, "parent", "must not contain a NUL byte");
  affix_rules(rules, "prefix", prefix)
      .check(prefix.size() <= kLongestAffix, "prefix",
             absl::StrCat("is ", prefix.size(), " bytes long, more than ", kLongestAffix))
      .check(permissions.bits() <= 07777, "permissions", "must be at most 07777");
  return rules.status();
}

absl::Status TempFileConfig::validate() const {
  ConfigRules rules(*this);
  rules.check(parent.find('\0') == std::string::npos, "parent", "must not contain a NUL byte");
  affix_rules(rules, "prefix", prefix);
  affix_rules(rules, "suffix", suffix)
      .check(prefix.size() + suffix.size() <= kLongestAffix, "suffix",
             absl::StrCat("is ", suffix.size(), " bytes long after a prefix of ", prefix.size(),
                          ", more than ", kLongestAffix, " together"))
      .check(permissions.bits() <= 07777, "permissions", "must be at most 07777");
  return rules.status();
}

// ---------------------------------------------------------------------------
// The removal rule

namespace temp_internal {

EntryTraits EntryTraits::make(std::string path, bool directory, bool keep) {
  EntryTraits traits;
  traits.made_in = internal::ProcessBound::with_pid();
  traits.path = std::move(path);
  traits.directory = directory;
  traits.keep = keep;
  return traits;
}

absl::Status EntryTraits::close(int parent_fd) const {
  absl::Status status;
  if (!keep && made_in.here_surely()) {
    if (directory) {
      Remover remover(path);
      remover.remove_folder(parent_fd, name_of(path), 0);
      status = std::move(remover).status();
    } else if (sys::unlinkat(parent_fd, name_of(path).c_str(), 0) != 0 && errno != ENOENT) {
      status = internal::errno_error_on(errno, "close", temp_resource(false, path), "unlinkat");
    }
  }
  absl::Status closed = FdTraits::close(parent_fd);
  if (status.ok() && !closed.ok()) {
    status = internal::error_on(closed.code(), "close", temp_resource(directory, path),
                                absl::StrCat("the parent folder's ", closed.message()));
  }
  return status;
}

void EntryTraits::close_quietly(int parent_fd) const noexcept { close(parent_fd).IgnoreError(); }

}  // namespace temp_internal

// ---------------------------------------------------------------------------
// TempDir

absl::StatusOr<TempDir> TempDir::open(const TempDirConfig& config) {
  if (absl::Status valid = config.validate(); !valid.ok()) return valid;
  const mode_t mode = config.permissions.bits();
  absl::StatusOr<Made> made = make_exclusively(
      /*directory=*/true, temp_parent(config.parent), config.prefix, "",
      [mode](int parent_fd, const char* name) { return sys::mkdirat(parent_fd, name, mode); });
  if (!made.ok()) return made.status();
  temp_internal::Entry entry(
      made->parent.release(),
      temp_internal::EntryTraits::make(made->path, /*directory=*/true, config.keep));
  return absl::StatusOr<TempDir>(absl::in_place, Key(), config, std::move(made->path),
                                 std::move(entry));
}

std::string TempDir::resource() const { return temp_resource(true, path_); }

void TempDir::require_open(const char* operation) const {
  (void)entry_.get_as(kName, operation, [this] { return resource(); });
}

absl::StatusOr<TempDir> TempDir::rebuild() const {
  require_open("rebuild()");
  return open(config_);
}

const std::string& TempDir::path() const {
  require_open("path()");
  return path_;
}

absl::Status TempDir::close() {
  require_open("close()");
  return entry_.close();
}

void TempDir::set_keep(bool keep) {
  require_open("set_keep()");
  entry_.traits().keep = keep;
}

absl::Status TempDir::persist(absl::string_view target, bool replace) {
  require_open("persist()");
  if (absl::Status renamed = rename_entry(entry_.get(), /*directory=*/true, path_, target, replace);
      !renamed.ok()) {
    return renamed;
  }
  entry_.traits().keep = true;  // nothing of ours is left at the old name
  const std::string path = path_;
  return closed_after_move(entry_.close(), /*directory=*/true, path, target);
}

// ---------------------------------------------------------------------------
// TempFile

absl::StatusOr<TempFile> TempFile::open(const TempFileConfig& config) {
  if (absl::Status valid = config.validate(); !valid.ok()) return valid;
  const mode_t mode = config.permissions.bits();
  constexpr int kFlags = O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
  absl::StatusOr<Made> made =
      make_exclusively(/*directory=*/false, temp_parent(config.parent), config.prefix,
                       config.suffix, [mode](int parent_fd, const char* name) {
                         return sys::openat(parent_fd, name, kFlags, mode);
                       });
  if (!made.ok()) return made.status();
  Fd creator(made->result);
  // From here on a failure removes the file again (keep or not).
  temp_internal::Entry entry(
      made->parent.release(),
      temp_internal::EntryTraits::make(made->path, /*directory=*/false, /*keep=*/false));
  absl::StatusOr<File> file = File::open(FileConfig{.path = made->path,
                                                    .access = FileAccess::read_write,
                                                    .permissions = config.permissions,
                                                    .close_on_exec = config.close_on_exec,
                                                    .no_follow = true});
  if (!file.ok()) return file.status();
  // What was opened by path must be what was made: someone who may rename
  // in the parent folder could have swapped it in between.
  struct stat made_info;
  struct stat opened_info;
  if (sys::fstat(creator.get(), &made_info) != 0 ||
      sys::fstat(file->fd().get(), &opened_info) != 0) {
    return internal::errno_error_on(errno, "open", temp_resource(false, made->path), "fstat");
  }
  if (made_info.st_dev != opened_info.st_dev || made_info.st_ino != opened_info.st_ino) {
    // Not ours at that name any more: leave the name alone (the folder's
    // descriptor is closed, nothing is removed).
    Fd folder(entry.release());
    return internal::error_on(
        absl::StatusCode::kFailedPrecondition, "open", temp_resource(false, made->path),
        "the file was replaced between its creation and its opening; left in place");
  }
  if (absl::Status closed = creator.close(); !closed.ok()) {
    return internal::error_on(closed.code(), "open", temp_resource(false, made->path),
                              absl::StrCat("the creating ", closed.message()));
  }
  temp_internal::Entry kept(
      entry.release(),
      temp_internal::EntryTraits::make(std::move(made->path), /*directory=*/false, config.keep));
  return absl::StatusOr<TempFile>(absl::in_place, Key(), config, *std::move(file),
                                  std::move(kept));
}

std::string TempFile::resource() const { return temp_resource(false, file_.config().path); }

void TempFile::require_open(const char* operation) const {
  (void)entry_.get_as(kName, operation, [this] { return resource(); });
}

absl::StatusOr<TempFile> TempFile::rebuild() const {
  require_open("rebuild()");
  return open(config_);
}

const std::string& TempFile::path() const {
  require_open("path()");
  return file_.config().path;
}

File& TempFile::file() {
  require_open("file()");
  return file_;
}

const File& TempFile::file() const {
  require_open("file()");
  return file_;
}

absl::Status TempFile::close() {
  require_open("close()");
  absl::Status closed = file_.close();
  absl::Status removed = entry_.close();
  return closed.ok() ? removed : closed;
}

void TempFile::set_keep(bool keep) {
  require_open("set_keep()");
  entry_.traits().keep = keep;
}

absl::Status TempFile::persist(absl::string_view target, bool replace) {
  require_open("persist()");
  if (absl::Status renamed = rename_entry(entry_.get(), /*directory=*/false,
                                          file_.config().path, target, replace);
      !renamed.ok()) {
    return renamed;
  }
  entry_.traits().keep = true;  // nothing of ours is left at the old name
  const std::string path = file_.config().path;  // not readable once closed
  return closed_after_move(close(), /*directory=*/false, path, target);
}

}  // namespace uncopyable
