// uncopyable/file.h: File, an open file, and FileConfig, the data behind it.
//
//   uncopyable::FileConfig config{.path = "/var/lib/app/journal",
//                                 .access = uncopyable::FileAccess::read_write,
//                                 .create = true,
//                                 .sync = uncopyable::SyncMode::data};
//   absl::StatusOr<uncopyable::File> journal = uncopyable::rebuild(config);
//   if (!journal.ok()) return journal.status();  // names the path and errno
//
//   size_t written = 0;
//   absl::Status s = journal->write(record, &written);  // all of it, or says
//                                                       // how much went out
//   absl::StatusOr<std::optional<uncopyable::FileLock>> lock =
//       journal->try_lock(uncopyable::LockKind::exclusive);
//   absl::StatusOr<uncopyable::File> reader = journal->rebuild();  // its own
//       // descriptor, offset and locks: a fresh open(2), never a dup(2)
//   if (absl::Status closed = journal->close(); !closed.ok()) return closed;
//
// Ownership: a File owns one descriptor and the FileConfig it was opened
// from; it moves, never copies. A FileLock borrows its File and must be gone
// before the File is closed, moved or destroyed.
//
// Errors are absl::Status values that name the operation, the file and the
// errno: `write file "/var/lib/app/journal": wrote 4096 of 10000 bytes, then:
// No space left on device [ENOSPC]`. Reads and writes retry EINTR and finish
// short transfers; close() never retries. Writing to a file opened for
// reading only is an error Status, not a crash.
//
// Only regular files are opened unless the config says otherwise
// (allow_special_files): a path that names a FIFO, a socket or a device is an
// error, never a hang, and a directory always is (see File::open). Paths
// quoted in messages are escaped and cut past 200 bytes, with their length
// said.
//
// Misuse aborts with one line: any operation on a moved-from or closed File
// ("uncopyable: File::read() on a closed handle (file \"/tmp/t\")"), closing
// twice, a second FileLock on a File that holds one, a FileLock that
// outlives, or is held across a move of, its File ("uncopyable:
// File::close() while 1 FileLock(s) on it is alive; they must end first
// (file \"/tmp/t\")"), and locking in a fork()ed child a File the parent
// opened (the two would share one lock).
#ifndef UNCOPYABLE_FILE_H_
#define UNCOPYABLE_FILE_H_

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "absl/base/optimization.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "uncopyable/config.h"
#include "uncopyable/fd.h"
#include "uncopyable/fd_ownership.h"
#include "uncopyable/internal/process.h"
#include "uncopyable/internal/rules.h"
#include "uncopyable/permissions.h"
#include "uncopyable/rebuildable.h"
#include "uncopyable/unique_handle.h"

namespace uncopyable {

// How a file is opened.
enum class FileAccess { read, write, read_write };
UNCOPYABLE_ENUM(FileAccess, read, write, read_write)

// How writes reach the disk before write() returns.
enum class SyncMode {
  none,  // when the kernel decides (call sync() or datasync() yourself)
  data,  // O_DSYNC: the data and what is needed to read it back
  full,  // O_SYNC: the data and all metadata
};
UNCOPYABLE_ENUM(SyncMode, none, data, full)

// Everything needed to open a file again: plain data.
struct FileConfig {
  UNCOPYABLE_CONFIG(FileConfig, path, access, create, exclusive, truncate, append,
                    permissions, close_on_exec, no_follow, allow_special_files, sync)

  std::string path{};                     // required: the file to open
  FileAccess access = FileAccess::read;   // read, write or read_write
  bool create = false;                    // O_CREAT: create it if missing (needs write)
  bool exclusive = false;                 // O_EXCL: fail if it exists (with create)
  bool truncate = false;                  // O_TRUNC: empty it on open (needs write, no append)
  bool append = false;                    // O_APPEND: every write goes to the end
  Permissions permissions{};              // 0600: mode of a created file, less umask
  bool close_on_exec = true;              // O_CLOEXEC: exec'd programs do not inherit it
  bool no_follow = false;                 // O_NOFOLLOW: refuse a symlink as the last part
  bool allow_special_files = false;       // also FIFOs, devices, and directories to read
  SyncMode sync = SyncMode::none;         // O_DSYNC or O_SYNC

  static constexpr absl::string_view kRequired[] = {"path"};

  // The path is not empty and holds no NUL; exclusive needs create;
  // create, truncate and append need write access; append and truncate do
  // not go together; permissions fit in 07777. As Rust's OpenOptions (which
  // refuses the same with InvalidInput), and unlike open(2), which would
  // take them: a reader with create=true would make an empty file where its
  // path is wrong and read nothing, rather than fail with NotFound.
  // InvalidArgument, naming the field: "FileConfig.create: needs write
  // access (access=write or read_write)".
  absl::Status validate() const;
};

// A file's URL: file:///var/lib/app/journal?access=read_write&create=true
template <>
struct UrlForm<FileConfig> {
  static constexpr absl::string_view kScheme = "file";
  static constexpr absl::string_view kPath = "path";
};

class File;

// Shared (many readers) or exclusive (one writer).
enum class LockKind { shared, exclusive };
UNCOPYABLE_ENUM(LockKind, shared, exclusive)

// Where seek() counts from.
enum class Whence { start, current, end };

namespace file_internal {

// The lock a FileLock holds, owned through UniqueHandle: the value is the
// locked File's address; the File stays borrowed (counted by its Lender)
// until the lock is gone. Closing releases the lock (fcntl F_OFD_SETLK,
// F_UNLCK) in the process that took it, and nothing in a fork()ed child
// (the lock belongs to the open file description the child shares with its
// parent), then gives the File back: one owner, so that no order of moves
// or assignments can give the File back before the lock is released.
struct LockTraits : AddressTraits {
  static constexpr std::string_view kName = "FileLock";
  absl::Status close(uintptr_t file) const;
  void close_quietly(uintptr_t file) const noexcept { close(file).IgnoreError(); }

  internal::ProcessBound taken_in;  // only this process releases it
};

}  // namespace file_internal

// An advisory lock on a whole File, held by its open file description (an
// OFD lock): a rebuild() of the same File is a different holder, a fork()ed
// copy of the descriptor is the same one.
//
// Whom it excludes: other FileLocks, and any program's fcntl(2) locks on the
// file (OFD locks, and classic POSIX record locks: lockf(3), Python's
// fcntl.lockf, SQLite's). Not flock(2) locks, which Linux keeps in a table
// of their own: Rust's File::lock, folly's File::lock, Python's fcntl.flock
// and flock(1) lock the file at the same time as a FileLock, and neither
// side waits (tests/file_test.cc,
// AFileLockExcludesFcntlLocksButNotFlockLocks). To exclude such a program,
// agree on one kind of lock with it. Released by unlock() or by the
// destructor, in the process that took it: in a fork()ed child, unlocking or
// destroying the inherited copy releases nothing (the parent still holds the
// lock; a child that wants a lock of its own rebuild()s its own File). It
// borrows its File: the File must not be closed, moved or destroyed while
// the lock lives (that aborts), and gives out no second FileLock meanwhile
// (see File::lock()).
//
// Its one member does the work, so its moves are UniqueHandle's: the lock,
// whose close unlocks and then gives the File back. Assigning to a FileLock
// releases the lock it held first.
class FileLock {
 public:
  static constexpr char kName[] = "FileLock";

  FileLock(FileLock&&) noexcept = default;
  FileLock& operator=(FileLock&&) noexcept = default;
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  // Releases the lock if still held; an error here is lost (see unlock()).
  ~FileLock() = default;

  // Releases the lock now, reporting the error if the kernel gives one (in a
  // fork()ed child: forgets it, releasing nothing, and is OK); the File is
  // no longer borrowed either way. Misuse on a moved-from or already
  // unlocked FileLock.
  [[nodiscard]] absl::Status unlock();

  // Whether this object still holds the lock.
  bool held() const { return lock_.is_valid(); }

  // The locked File's resource() (file "/tmp/t"); "" once not held.
  std::string resource() const;

 private:
  friend class File;
  explicit FileLock(File* file);

  UniqueHandle<file_internal::LockTraits> lock_;
};

// An open file. See the top of this file.
class File {
 public:
  using config_type = FileConfig;

  // Opens the file `config` describes. The config is validated first; errors
  // name the path and the errno (EMFILE and ENFILE are ResourceExhausted).
  //
  // open(2) is called with O_NONBLOCK, so that no path makes it wait: then
  // fstat(2) says what was opened. A directory is an error
  // (FailedPrecondition: `open file "/var/lib": with access=read: a
  // directory, not a regular file`), and so is anything else that is not a
  // regular file (a FIFO, a device), unless allow_special_files is set: then
  // a FIFO or a device opens, and a directory opens for reading only (to
  // sync() it after a rename into it, as a durable rename needs; read() on
  // it is EISDIR). A Unix socket file can never be opened as a file (its
  // error says what it is). What is kept is switched back to blocking I/O
  // (fcntl F_SETFL), as if opened without O_NONBLOCK, except that:
  //   - a FIFO (allow_special_files) opens at once even with no process at
  //     the other end: for reading it then reads as end of file until a
  //     writer comes; for writing with no reader yet it is an error (ENXIO);
  //   - a regular file on which another process holds a lease (fcntl
  //     F_SETLEASE) is an error (EAGAIN) rather than a wait for the lease to
  //     be broken.
  // A device that is refused was still opened and closed once (its driver
  // sees both), and so was a FIFO that had a process at its other end (a
  // reader then sees end of file, a writer SIGPIPE or EPIPE, as when any
  // writer or reader goes). Unlike std::fstream or Rust's File::open, which
  // open a FIFO or a directory as asked (and may block), this refuses them by
  // default.
  //
  // Cost: open(2), fstat(2) and fcntl(2), where a bare open is one call. With
  // create and exclusive (O_CREAT|O_EXCL) it is open(2) alone, without
  // O_NONBLOCK: such an open makes a new, empty regular file or fails, so
  // there is nothing to wait for and nothing to refuse. Otherwise the
  // fcntl(2) stays even for a regular file, on purpose: O_NONBLOCK left on
  // would be seen by whoever gets fd() or inherits it (fcntl F_GETFL, a
  // child process), by io_uring (which may then return EAGAIN to its caller
  // rather than wait), by file systems that honour it on regular files
  // (FUSE servers see it in every request; 9p; /proc/kmsg, tracefs's
  // trace_pipe and other pseudo files then answer EAGAIN), and by mandatory
  // locks on kernels before 5.15. Opening without O_NONBLOCK when the path
  // "looks" regular would need a stat(2) first (no cheaper, and racy). So an
  // open of an existing file costs two system calls more than a bare
  // open(2) and close(2): about 1.5x their time in
  // //benchmarks:file_benchmark (BM_OpenClose), each call being a sixth of
  // it or more.
  [[nodiscard]] static absl::StatusOr<File> open(const FileConfig& config);
  // The same, taking the config over instead of copying it.
  [[nodiscard]] static absl::StatusOr<File> open(FileConfig&& config);

  static constexpr char kName[] = "File";
  static constexpr char kBorrowers[] = "FileLock(s) on it";

  // Moves are the members' own: moving from, or assigning to or from, a
  // File that a FileLock borrows aborts (its Lender); the descriptor names
  // its new owner (NamedFd). Assigning closes the descriptor it held first.
  File(File&&) noexcept = default;
  File& operator=(File&&) noexcept = default;
  File(const File&) = delete;
  File& operator=(const File&) = delete;
  // Closes the file if open; a close error is lost here (call close()).
  // A FileLock still alive aborts (checked here, while the path is there to
  // name it).
  ~File() { lender_.require_none("~File()"); }

  // Only File::open can make the key: this constructor is public so that
  // absl::StatusOr can build a File in place, and for nothing else.
  class Key {
    friend class File;
    Key() = default;
  };
  File(Key, const FileConfig& config, Fd fd) : fd_(this, std::move(fd)), config_(config) {}
  File(Key, FileConfig&& config, Fd fd) noexcept
      : fd_(this, std::move(fd)), config_(std::move(config)) {}

  // How messages name it: file "/var/lib/app/journal" (quoted, cut past 200
  // bytes); file "" once moved from.
  [[nodiscard]] std::string resource() const;

  // What it was opened from. Available until the File is moved from.
  [[nodiscard]] const FileConfig& config() const { return config_; }

  // Opens the same file again from config(): a new, independent descriptor
  // with its own offset and its own locks (never a dup(2)). With create and
  // exclusive in the config this fails, as it should: the file exists.
  [[nodiscard]] absl::StatusOr<File> rebuild() const;

  // The descriptor, borrowed; it stays owned by this File.
  [[nodiscard]] FdView fd() const;

  // Reads at the current offset until `buffer` is full or the file ends;
  // returns how many bytes arrived (fewer only at end of file). An empty
  // buffer returns 0 at once, without a system call.
  [[nodiscard]] absl::StatusOr<size_t> read(absl::Span<char> buffer);
  // The same at `offset`, leaving the file offset alone. A negative offset,
  // or one that `buffer` would carry past the largest off_t, is EINVAL.
  [[nodiscard]] absl::StatusOr<size_t> pread(absl::Span<char> buffer, off_t offset);
  // Reads from the current offset to the end of the file, however long it
  // turns out to be. More than `max_bytes` is an error (OutOfRange) naming
  // the path; what was read is then dropped, and the offset has moved on.
  // SIZE_MAX (std::numeric_limits<size_t>::max()) means no limit but memory.
  [[nodiscard]] absl::StatusOr<std::string> read_to_end(size_t max_bytes);

  // Writes all of `data` at the current offset (at the end with append). On
  // error, `*written` (if given) and the message say how many bytes went out
  // first; those bytes are in the file. Empty `data` is OK at once, without a
  // system call. A FIFO (allow_special_files) whose reader is gone is an
  // EPIPE Status (FailedPrecondition, as for a PipeWriter), never SIGPIPE: with allow_special_files,
  // SIGPIPE is blocked in the calling thread for each write(2) (two
  // sigprocmask calls more; see sys::write_without_sigpipe).
  [[nodiscard]] absl::Status write(absl::string_view data, size_t* written = nullptr);
  // The same at `offset`, leaving the file offset alone (EINVAL as for
  // pread()).
  //
  // On a File opened with append, Linux's pwrite(2) ignores the offset and
  // writes at the end (its man page, BUGS; Rust's FileExt::write_at and
  // folly's pwriteFull do just that). This one writes at `offset` with
  // pwritev2(2) and RWF_NOAPPEND (Linux 6.9 and later), or, where the kernel
  // refuses that flag (EOPNOTSUPP: Debian 12's 6.1, say), writes nothing
  // and is FailedPrecondition: `pwrite file "/tmp/t": opened with
  // append=true, where Linux writes at the end whatever the offset`. It
  // never appends where an offset was asked for. Any other error, EINVAL
  // from a device or special file among them, is reported as it is
  // (InvalidArgument [EINVAL] naming the path). write() still appends.
  [[nodiscard]] absl::Status pwrite(absl::string_view data, off_t offset,
                                    size_t* written = nullptr);

  // Moves the file offset; returns the new offset from the start.
  [[nodiscard]] absl::StatusOr<off_t> seek(off_t offset, Whence whence = Whence::start);
  // The file's size in bytes now.
  [[nodiscard]] absl::StatusOr<uint64_t> size() const;
  // Makes the file `size` bytes long (ftruncate(2); Rust's File::set_len):
  // bytes past it are dropped, and a file that grows reads as zeros up to
  // it. The file offset stays where it was, even past the new end (a write
  // there leaves a hole of zeros). Needs write access (FailedPrecondition
  // otherwise, as write() gives); a size larger than the largest off_t is
  // EINVAL. Errors name the path. With append, the next write() goes to the
  // new end.
  [[nodiscard]] absl::Status set_size(uint64_t size);
  // fsync(2): data and metadata reach the disk.
  [[nodiscard]] absl::Status sync();
  // fdatasync(2): data, and the metadata needed to read it back.
  [[nodiscard]] absl::Status datasync();

  // Waits for the lock. Shared needs read access, exclusive write access
  // (flock(2), which Rust's and folly's File::lock use, has no such rule).
  // An OFD lock (fcntl F_OFD_SETLKW): it waits for other fcntl locks on the
  // file, never for flock(2) locks (see FileLock).
  //
  // A File holds one lock at a time: asking a File for a second FileLock
  // while one from it is alive is misuse and aborts ("File::lock() while a
  // FileLock on it is held"). The kernel counts no such nesting (a second
  // fcntl lock on one open file description would be granted at once and
  // converted, and one unlock would drop it for both), so neither does this.
  // To change the kind, unlock() and lock again (not atomic); to contend
  // with yourself, rebuild() a second File, which is a holder of its own.
  [[nodiscard]] absl::StatusOr<FileLock> lock(LockKind kind);
  // Takes the lock if free; nullopt if another holder has it. A second lock
  // on this File is misuse, as for lock().
  [[nodiscard]] absl::StatusOr<std::optional<FileLock>> try_lock(LockKind kind);

  // Closes the descriptor now and reports what close(2) said. The File is
  // closed either way; any further use, closing again included, is misuse.
  [[nodiscard]] absl::Status close();

  // For a Pool (pool.h): whether the descriptor is still open (fcntl
  // F_GETFD: something may have closed it behind the File's back). Never
  // waits, so `deadline` is not needed. A closed or moved-from File, or one
  // its parent opened (in a fork()ed child), is FailedPrecondition rather
  // than misuse: a pool asks before it lends.
  [[nodiscard]] absl::Status check_health(absl::Time deadline) const;
  // Whether it holds a descriptor (false once closed or moved from).
  [[nodiscard]] bool is_open() const { return fd_.fd().is_valid(); }
  // How messages name the file `config` describes: file "<path>".
  [[nodiscard]] static std::string resource_for(const FileConfig& config);

 private:
  friend struct internal::BorrowTraits<File>;
  friend struct file_internal::LockTraits;

  // The descriptor, or abort naming `operation` if there is none.
  int checked_fd(const char* operation) const {
    return fd_.fd().get_as(kName, operation, [this] { return resource(); });
  }
  absl::StatusOr<std::optional<FileLock>> set_lock(LockKind kind, bool wait);
  // Validates `config` and opens it: the descriptor, or -1 with `error` set.
  static int open_fd(const FileConfig& config, absl::Status& error);
  static absl::Status open_error(const FileConfig& config, int error,
                                 absl::string_view note = "");
  // What open(2) gave is not what may be kept (a directory, a FIFO, ...).
  static absl::Status not_regular(const FileConfig& config, mode_t mode);

  internal::Lender<File> lender_{this};  // "no FileLock alive": checked first
  internal::NamedFd<File> fd_{this};
  FileConfig config_;
  // The process it was opened in: a fork()ed child shares its open file
  // description, and so its lock, with the parent, and may not lock it.
  internal::ProcessBound process_;
};

template <>
struct HandleFor<FileConfig> {
  using type = File;
};

}  // namespace uncopyable

#endif  // UNCOPYABLE_FILE_H_
