#include "uncopyable/file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <limits>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "uncopyable/check.h"
#include "uncopyable/internal/errno_status.h"
#include "uncopyable/internal/message.h"
#include "uncopyable/internal/quote.h"
#include "uncopyable/internal/syscall.h"
#include "uncopyable/internal/transfer.h"

namespace uncopyable {
namespace {

namespace sys = internal::sys;

// file "/tmp/t.db": how a File names its file in every message (a long
// path is cut short, its length said).
std::string file_resource(const FileConfig& config) {
  return absl::StrCat("file ", internal::quoted(config.path));
}

// "write file \"/tmp/t.db\"": the start of a transfer's message.
std::string operation_on(absl::string_view operation, const FileConfig& config) {
  return absl::StrCat(operation, " ", file_resource(config));
}

// Whether [offset, offset + size) lies within what an off_t can say, as
// pread(2) and pwrite(2) require (they fail with EINVAL otherwise).
bool offset_range_ok(off_t offset, size_t size) {
  return offset >= 0 &&
         size <= static_cast<uint64_t>(std::numeric_limits<off_t>::max() - offset);
}

// RWF_NOAPPEND (linux/fs.h since Linux 6.9; Debian 12's headers are older):
// pwritev2 writes at the offset given even on an O_APPEND file.
constexpr int kRwfNoAppend = 0x00000020;

int open_flags(const FileConfig& config) {
  int flags = 0;
  switch (config.access) {
    case FileAccess::read: flags = O_RDONLY; break;
    case FileAccess::write: flags = O_WRONLY; break;
    case FileAccess::read_write: flags = O_RDWR; break;
  }
  if (config.create) flags |= O_CREAT;
  if (config.exclusive) flags |= O_EXCL;
  if (config.truncate) flags |= O_TRUNC;
  if (config.append) flags |= O_APPEND;
  if (config.close_on_exec) flags |= O_CLOEXEC;
  if (config.no_follow) flags |= O_NOFOLLOW;
  if (config.sync == SyncMode::data) flags |= O_DSYNC;
  if (config.sync == SyncMode::full) flags |= O_SYNC;
  return flags;
}

bool can_read(const FileConfig& config) { return config.access != FileAccess::write; }
bool can_write(const FileConfig& config) { return config.access != FileAccess::read; }

absl::Status wrong_access(absl::string_view operation, const FileConfig& config) {
  return internal::error_on(
      absl::StatusCode::kFailedPrecondition, operation, file_resource(config),
      absl::StrCat("the file was opened with access=", enum_name(config.access)));
}

// Writes all of `data` with `call(buffer, size, done)` through the one I/O
// loop (EINTR retried, short writes finished); `done` is how much already
// went out.
template <typename Call>
absl::Status write_all(absl::string_view operation, const FileConfig& config,
                       absl::string_view data, size_t* written, Call call) {
  const internal::Transferred sent = internal::transfer(
      data.size(), internal::TransferMode::kAll, internal::ZeroBytes::kError,
      [&](size_t done) { return call(data.data() + done, data.size() - done, done); });
  if (written != nullptr) *written = sent.done;
  if (ABSL_PREDICT_TRUE(sent.ok())) return absl::OkStatus();
  return internal::transfer_status(sent.error, operation_on(operation, config), "wrote", sent.done,
                                   data.size());
}

// Reads until `buffer` is full or the end of the file, through the one I/O
// loop.
template <typename Call>
absl::StatusOr<size_t> read_all(absl::string_view operation, const FileConfig& config,
                                absl::Span<char> buffer, Call call) {
  const internal::Transferred got = internal::transfer(
      buffer.size(), internal::TransferMode::kAll, internal::ZeroBytes::kEnd,
      [&](size_t done) { return call(buffer.data() + done, buffer.size() - done, done); });
  if (ABSL_PREDICT_TRUE(got.ok())) return got.done;
  return internal::transfer_status(got.error, operation_on(operation, config), "read", got.done,
                                   buffer.size());
}

}  // namespace

// ---------------------------------------------------------------------------
// FileConfig

absl::Status FileConfig::validate() const {
  // The common case costs a few comparisons; the rules below say what failed.
  const bool writes = access != FileAccess::read;
  if (ABSL_PREDICT_TRUE(!path.empty() && (!exclusive || create) && (!create || writes) &&
                        (!truncate || writes) && (!append || writes) &&
                        !(append && truncate) && permissions.bits() <= 07777 &&
                        path.find('\0') == std::string::npos)) {
    return absl::OkStatus();
  }
  return ConfigRules(*this)
      .non_empty("path", path)
      .check(path.find('\0') == std::string::npos, "path", "must not contain a NUL byte")
      .check(!exclusive || create, "exclusive", "needs create=true")
      .check(!create || writes, "create", "needs write access (access=write or read_write)")
      .check(!truncate || access != FileAccess::read, "truncate",
             "needs write access (access=write or read_write)")
      .check(!append || access != FileAccess::read, "append",
             "needs write access (access=write or read_write)")
      .check(!(append && truncate), "truncate", "cannot be combined with append=true")
      .check(permissions.bits() <= 07777, "permissions", "must be at most 07777")
      .status();
}

// ---------------------------------------------------------------------------
// File

int File::open_fd(const FileConfig& config, absl::Status& error) {
  if (absl::Status valid = config.validate(); ABSL_PREDICT_FALSE(!valid.ok())) {
    error = std::move(valid);
    return -1;
  }
  const int flags = open_flags(config);
  // create and exclusive (O_CREAT|O_EXCL): open(2) makes a new, empty
  // regular file or fails; it never opens an entry that exists, nor follows
  // a symlink, so there is no FIFO, device, directory or lease to wait for
  // or to refuse: the plain open(2) is all (see File::open).
  const bool made_new = config.create && config.exclusive;
  // Otherwise O_NONBLOCK: a FIFO with no writer, a device, or a lease must
  // not make open(2) wait. What it opened is checked, then switched back to
  // blocking.
  int fd;
  do {
    fd = sys::open(config.path.c_str(), made_new ? flags : flags | O_NONBLOCK,
                   config.permissions.bits());
  } while (fd < 0 && errno == EINTR);
  if (ABSL_PREDICT_FALSE(fd < 0)) {
    const int open_errno = errno;
    // ENXIO: a Unix socket file, or a FIFO with no reader: say which.
    struct stat info;
    if (open_errno == ENXIO && sys::lstat(config.path.c_str(), &info) == 0 &&
        (S_ISSOCK(info.st_mode) || S_ISFIFO(info.st_mode))) {
      error = S_ISFIFO(info.st_mode) && config.allow_special_files
                  ? open_error(config, open_errno, " (a FIFO with no reader yet)")
                  : not_regular(config, info.st_mode);
    } else {
      error = open_error(config, open_errno);
    }
    return -1;
  }
  if (made_new) return fd;
  Fd owned(fd);  // closed on the way out unless kept
  struct stat info;
  if (ABSL_PREDICT_FALSE(sys::fstat(fd, &info) != 0)) {
    error = internal::errno_error_on(errno, "open", file_resource(config), "fstat");
    return -1;
  }
  // A directory only for reading, and only when asked: what it is good for
  // is sync() after a rename or an unlink in it (a durable rename).
  if (ABSL_PREDICT_FALSE(!S_ISREG(info.st_mode)) &&
      (!config.allow_special_files ||
       (S_ISDIR(info.st_mode) && config.access != FileAccess::read))) {
    error = not_regular(config, info.st_mode);
    return -1;
  }
  int result;
  do {
    result = sys::fcntl(fd, F_SETFL, flags);  // O_NONBLOCK off, O_APPEND kept
  } while (result != 0 && errno == EINTR);
  if (ABSL_PREDICT_FALSE(result != 0)) {
    error = internal::errno_error_on(errno, "open", file_resource(config), "fcntl F_SETFL");
    return -1;
  }
  return owned.release();
}

absl::Status File::not_regular(const FileConfig& config, mode_t mode) {
  const bool special = !S_ISDIR(mode) && !S_ISSOCK(mode);
  const char* hint = "";
  if (special && !config.allow_special_files) hint = " (allow_special_files=true opens one)";
  if (S_ISDIR(mode)) {
    hint = config.access == FileAccess::read
               ? " (allow_special_files=true opens one for reading, e.g. to sync() it)"
               : " (a directory opens for reading only)";
  }
  return internal::error_on(absl::StatusCode::kFailedPrecondition, "open", file_resource(config),
                            absl::StrCat("with access=", enum_name(config.access), ": ",
                                         internal::file_kind(mode), ", not a regular file", hint));
}

absl::Status File::open_error(const FileConfig& config, int error, absl::string_view note) {
  return internal::errno_error_on(
      error, "open", file_resource(config),
      absl::StrCat("with access=", enum_name(config.access), config.create ? ", create" : "",
                   config.exclusive ? ", exclusive" : "", config.no_follow ? ", no_follow" : "",
                   note));
}

absl::StatusOr<File> File::open(const FileConfig& config) {
  absl::Status error;
  const int fd = open_fd(config, error);
  if (ABSL_PREDICT_FALSE(fd < 0)) return error;
  return absl::StatusOr<File>(absl::in_place, Key(), config, Fd(fd));
}

absl::StatusOr<File> File::open(FileConfig&& config) {
  absl::Status error;
  const int fd = open_fd(config, error);
  if (ABSL_PREDICT_FALSE(fd < 0)) return error;
  return absl::StatusOr<File>(absl::in_place, Key(), std::move(config), Fd(fd));
}

std::string File::resource() const { return file_resource(config_); }

absl::StatusOr<File> File::rebuild() const {
  checked_fd("rebuild()");
  return open(config_);
}

FdView File::fd() const { return FdView(checked_fd("fd()")); }

absl::StatusOr<size_t> File::read(absl::Span<char> buffer) {
  const int fd = checked_fd("read()");
  if (!can_read(config_)) return wrong_access("read", config_);
  return read_all("read", config_, buffer, [fd](char* to, size_t size, size_t) {
    return sys::read(fd, to, size);
  });
}

absl::StatusOr<std::string> File::read_to_end(size_t max_bytes) {
  const int fd = checked_fd("read_to_end()");
  if (!can_read(config_)) return wrong_access("read_to_end", config_);
  return internal::read_to_end(
      max_bytes,
      [&](absl::Span<char> buffer) {
        return read_all("read_to_end", config_, buffer,
                        [fd](char* to, size_t size, size_t) { return sys::read(fd, to, size); });
      },
      [&] {
        return internal::error_on(absl::StatusCode::kOutOfRange, "read_to_end", resource(),
                                  absl::StrCat("more than ", max_bytes, " bytes"));
      });
}

absl::StatusOr<size_t> File::pread(absl::Span<char> buffer, off_t offset) {
  const int fd = checked_fd("pread()");
  if (!can_read(config_)) return wrong_access("pread", config_);
  if (!offset_range_ok(offset, buffer.size())) {
    return internal::errno_error_on(EINVAL, "pread", resource(),
                                    absl::StrCat(buffer.size(), " bytes at ", offset));
  }
  return read_all("pread", config_, buffer, [fd, offset](char* to, size_t size, size_t done) {
    return sys::pread(fd, to, size, offset + static_cast<off_t>(done));
  });
}

absl::Status File::write(absl::string_view data, size_t* written) {
  const int fd = checked_fd("write()");
  if (written != nullptr) *written = 0;
  if (!can_write(config_)) return wrong_access("write", config_);
  // Only a special file (a FIFO) can raise SIGPIPE: regular files pay
  // nothing for the guard.
  if (ABSL_PREDICT_FALSE(config_.allow_special_files)) {
    return write_all("write", config_, data, written,
                     [fd](const char* from, size_t size, size_t) {
                       return sys::write_without_sigpipe(fd, from, size);
                     });
  }
  return write_all("write", config_, data, written, [fd](const char* from, size_t size, size_t) {
    return sys::write(fd, from, size);
  });
}

absl::Status File::pwrite(absl::string_view data, off_t offset, size_t* written) {
  const int fd = checked_fd("pwrite()");
  if (written != nullptr) *written = 0;
  if (!can_write(config_)) return wrong_access("pwrite", config_);
  if (!offset_range_ok(offset, data.size())) {
    return internal::errno_error_on(EINVAL, "pwrite", resource(),
                                    absl::StrCat(data.size(), " bytes at ", offset));
  }
  if (ABSL_PREDICT_FALSE(config_.append)) {
    // pwrite(2) on an O_APPEND file writes at the end whatever the offset;
    // pwritev2 with RWF_NOAPPEND (Linux 6.9+) writes at the offset. An older
    // kernel refuses the flag: then refuse too, rather than append where the
    // caller said an offset. Its answer to a flag it does not know is
    // EOPNOTSUPP (kiocb_set_rw_flags, and the loop for files without
    // write_iter; glibc says the same where pwritev2 itself is missing).
    // EINVAL is not that answer: the offset and size were checked above, so
    // it comes from the file (a device, a special file) and is reported as
    // it is, not blamed on the flag; no probe is needed to tell them apart.
    bool flag_refused = false;
    absl::Status status = write_all(
        "pwrite", config_, data, written,
        [fd, offset, &flag_refused](const char* from, size_t size, size_t done) {
          iovec piece = {const_cast<char*>(from), size};
          const ssize_t n = sys::call("pwritev2", [&] {
            return ::pwritev2(fd, &piece, 1, offset + static_cast<off_t>(done), kRwfNoAppend);
          });
          if (n < 0 && done == 0 && errno == EOPNOTSUPP) flag_refused = true;
          return n;
        });
    if (ABSL_PREDICT_FALSE(flag_refused)) {
      return internal::error_on(absl::StatusCode::kFailedPrecondition, "pwrite", resource(),
                                "opened with append=true, where Linux writes at the end "
                                "whatever the offset");
    }
    return status;
  }
  return write_all("pwrite", config_, data, written,
                   [fd, offset](const char* from, size_t size, size_t done) {
                     return sys::pwrite(fd, from, size, offset + static_cast<off_t>(done));
                   });
}

absl::StatusOr<off_t> File::seek(off_t offset, Whence whence) {
  const int fd = checked_fd("seek()");
  const int how = whence == Whence::start ? SEEK_SET : whence == Whence::current ? SEEK_CUR : SEEK_END;
  const off_t result = sys::lseek(fd, offset, how);
  if (result < 0) {
    return internal::errno_error_on(errno, "seek", resource(), absl::StrCat("to ", offset));
  }
  return result;
}

absl::StatusOr<uint64_t> File::size() const {
  const int fd = checked_fd("size()");
  struct stat info;
  if (sys::fstat(fd, &info) != 0) {
    return internal::errno_error_on(errno, "size", resource(), "fstat");
  }
  return static_cast<uint64_t>(info.st_size);
}

absl::Status File::set_size(uint64_t size) {
  const int fd = checked_fd("set_size()");
  if (!can_write(config_)) return wrong_access("set_size", config_);
  if (size > static_cast<uint64_t>(std::numeric_limits<off_t>::max())) {
    return internal::errno_error_on(EINVAL, "set_size", resource(),
                                    absl::StrCat("to ", size, " bytes"));
  }
  int result;
  do {
    result = sys::ftruncate(fd, static_cast<off_t>(size));
  } while (result != 0 && errno == EINTR);
  if (result != 0) {
    return internal::errno_error_on(errno, "set_size", resource(),
                                    absl::StrCat("to ", size, " bytes"));
  }
  return absl::OkStatus();
}

absl::Status File::sync() {
  const int fd = checked_fd("sync()");
  if (sys::fsync(fd) != 0) return internal::errno_error_on(errno, "sync", resource(), "fsync");
  return absl::OkStatus();
}

absl::Status File::datasync() {
  const int fd = checked_fd("datasync()");
  if (sys::fdatasync(fd) != 0) {
    return internal::errno_error_on(errno, "datasync", resource(), "fdatasync");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::optional<FileLock>> File::set_lock(LockKind kind, bool wait) {
  const char* operation = wait ? "lock" : "try_lock";
  const char* call = wait ? "lock()" : "try_lock()";
  const int fd = checked_fd(call);
  if (ABSL_PREDICT_FALSE(lender_.count() != 0)) {
    misuse_on(kName, call, resource(),
              "while a FileLock on it is held; a File holds one lock at a time: unlock it "
              "first, or rebuild() another File");
  }
  if (ABSL_PREDICT_FALSE(!process_.here())) {
    misuse_on(kName, call, resource(),
              "in a fork()ed child on a File its parent opened: the two share one lock (one "
              "open file description), so the child's lock would be the parent's; the child "
              "must rebuild() its own File");
  }
  const bool shared = kind == LockKind::shared;
  if (shared ? !can_read(config_) : !can_write(config_)) {
    return internal::error_on(
        absl::StatusCode::kFailedPrecondition, operation, resource(),
        absl::StrCat(shared ? "a " : "an ", enum_name(kind), " lock needs ",
                     shared ? "read" : "write",
                     " access, but the file was opened with access=", enum_name(config_.access)));
  }
  struct flock request = {};
  request.l_type = shared ? F_RDLCK : F_WRLCK;
  request.l_whence = SEEK_SET;  // l_start 0, l_len 0: the whole file
  int result;
  do {
    result = sys::fcntl(fd, wait ? F_OFD_SETLKW : F_OFD_SETLK, &request);
  } while (result != 0 && errno == EINTR);
  if (result != 0) {
    const int error = errno;
    if (!wait && (error == EAGAIN || error == EACCES)) return std::nullopt;  // held elsewhere
    return internal::errno_error_on(error, operation, resource(),
                                    absl::StrCat(shared ? "a " : "an ", enum_name(kind), " lock"));
  }
  return std::optional<FileLock>(FileLock(this));
}

absl::StatusOr<FileLock> File::lock(LockKind kind) {
  absl::StatusOr<std::optional<FileLock>> lock = set_lock(kind, /*wait=*/true);
  if (!lock.ok()) return lock.status();
  return std::move(**lock);
}

absl::StatusOr<std::optional<FileLock>> File::try_lock(LockKind kind) {
  return set_lock(kind, /*wait=*/false);
}

absl::Status File::check_health(absl::Time) const {
  if (!is_open()) {
    return internal::error_on(absl::StatusCode::kFailedPrecondition, "check_health", resource(),
                              absl::StrCat("on ", describe(fd_.fd().state())));
  }
  if (!process_.here()) {
    return internal::error_on(absl::StatusCode::kFailedPrecondition, "check_health", resource(),
                              "opened by the parent of this fork()ed child");
  }
  if (sys::fcntl(fd_.fd().get_unchecked(), F_GETFD) < 0) {
    return internal::errno_error_on(errno, "check_health", resource(), "fcntl F_GETFD");
  }
  return absl::OkStatus();
}

std::string File::resource_for(const FileConfig& config) { return file_resource(config); }

absl::Status File::close() {
  checked_fd("close()");
  lender_.require_none("close()");
  return internal::status_on(fd_.fd().close(), "close", resource());
}

// ---------------------------------------------------------------------------
// FileLock

namespace file_internal {

absl::Status LockTraits::close(uintptr_t file) const {
  File* const locked = reinterpret_cast<File*>(file);
  absl::Status status;
  // In a fork()ed child the lock is the parent's (one open file description,
  // one holder): letting go of the copy must not release it for the parent.
  if (taken_in.here_surely()) {
    struct flock request = {};
    request.l_type = F_UNLCK;
    request.l_whence = SEEK_SET;
    int result;
    do {
      result = sys::fcntl(locked->fd_.fd().get(), F_OFD_SETLK, &request);
    } while (result != 0 && errno == EINTR);
    if (result != 0) status = internal::errno_status(errno, "fcntl F_OFD_SETLK F_UNLCK");
  }
  internal::BorrowTraits<File>::close_quietly(file);  // the File is free again
  return status;
}

}  // namespace file_internal

FileLock::FileLock(File* file)
    : lock_(internal::BorrowTraits<File>::lend(file),
            file_internal::LockTraits{{}, internal::ProcessBound::with_pid()}) {}

std::string FileLock::resource() const {
  return lock_.is_valid() ? reinterpret_cast<const File*>(lock_.get())->resource()
                          : std::string();
}

absl::Status FileLock::unlock() {
  if (ABSL_PREDICT_FALSE(!lock_.is_valid())) {
    misuse_on(kName, "unlock()", "", "on a lock that is not held: %s",
              lock_.state() == HandleState::kMovedFrom ? "moved from" : "unlocked already");
  }
  const File* file = reinterpret_cast<const File*>(lock_.get());
  // The File outlives the lock (it was borrowed until now): it can name itself.
  absl::Status status = lock_.close();
  if (!status.ok()) return internal::status_on(status, "unlock", file->resource());
  return status;
}

}  // namespace uncopyable
