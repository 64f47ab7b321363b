// uncopyable/temp.h: TempDir and TempFile, scratch space that removes itself.
//
//   absl::StatusOr<uncopyable::TempDir> scratch =
//       uncopyable::rebuild(uncopyable::TempDirConfig{.prefix = "export-"});
//   if (!scratch.ok()) return scratch.status();  // names the folder and errno
//   std::string out = scratch->path() + "/report.csv";  // e.g. /tmp/export-q3k…/report.csv
//   ...
//   // Removes the folder and all it holds, and says what could not go:
//   if (absl::Status removed = scratch->close(); !removed.ok()) return removed;
//
//   absl::StatusOr<uncopyable::TempFile> spill =
//       uncopyable::TempFile::open({.prefix = "spill-", .suffix = ".bin"});
//   if (!spill.ok()) return spill.status();
//   absl::Status s = spill->file().write(chunk);  // a File, read_write
//   // ~TempFile: removed (an error there is lost; call close() to see it)
//
// A TempDir or TempFile owns an entry on disk that it made, under a name no
// one could predict (the prefix, 12 characters from getrandom(2), the
// suffix), created exclusively: mkdir(2), or open(2) with O_CREAT|O_EXCL, in
// the parent folder, trying another name if one is taken. No other process
// can have made it first or be handed it by a race. It removes the entry on
// close() (reporting what could not be removed) or quietly in its
// destructor, unless the config says `keep` (or set_keep(true) said so
// since); persist(target) moves it to a lasting name instead, never over an
// existing one unless asked.
//
// Ownership: the handle owns the entry and one descriptor of the folder it
// was made in (O_PATH, close-on-exec), through which it removes the entry:
// if that folder is renamed or replaced by a symlink meanwhile, what is
// removed is still what was made. A TempFile also owns an open File. Both
// move, never copy.
//
// Not across fork(): the process that made an entry removes it. A fork()ed
// child that closes or destroys its copy of the handle removes nothing
// (close() is OK there); the parent's directory stays the parent's.
//
// rebuild() makes a fresh, DIFFERENT, empty one from the same config: a new
// name, nothing copied from the first. (Rebuilding a temp dir's config never
// gives you "the same" folder back; that one belongs to its handle.)
//
// Misuse aborts with one line: any operation on a moved-from or closed
// TempDir or TempFile ("uncopyable: TempDir::path() on a closed handle (temp
// dir \"/tmp/tmp-q3k…\")"), closing twice.
#ifndef UNCOPYABLE_TEMP_H_
#define UNCOPYABLE_TEMP_H_

#include <sys/types.h>

#include <string>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "uncopyable/config.h"
#include "uncopyable/fd.h"
#include "uncopyable/file.h"
#include "uncopyable/internal/rules.h"
#include "uncopyable/rebuildable.h"
#include "uncopyable/unique_handle.h"

namespace uncopyable {

// Everything needed to make a temporary folder: plain data. Two configs that
// are equal make two different folders.
struct TempDirConfig {
  UNCOPYABLE_CONFIG(TempDirConfig, parent, prefix, permissions, keep)

  std::string parent{};                   // empty: $TMPDIR if set, else /tmp (see below)
  std::string prefix = "tmp-";            // the name's start; 12 random characters follow
  Permissions permissions{0700};          // 0700: mode of the folder, less umask
  bool keep = false;                      // leave it on disk at close (for debugging)

  // The parent holds no NUL; the prefix holds no '/' or NUL and is at most
  // 200 bytes; permissions fit in 07777.
  absl::Status validate() const;
};

// Everything needed to make a temporary file: plain data. Two configs that
// are equal make two different files.
struct TempFileConfig {
  UNCOPYABLE_CONFIG(TempFileConfig, parent, prefix, suffix, permissions, close_on_exec, keep)

  std::string parent{};                   // empty: $TMPDIR if set, else /tmp (see below)
  std::string prefix = "tmp-";            // the name's start; 12 random characters follow
  std::string suffix{};                   // the name's end, after them (".json")
  Permissions permissions{0600};          // 0600: mode of the file, less umask
  bool close_on_exec = true;              // O_CLOEXEC: exec'd programs do not inherit it
  bool keep = false;                      // leave it on disk at close (for debugging)

  // As for TempDirConfig; the suffix too holds no '/' or NUL, and prefix and
  // suffix are at most 200 bytes together.
  absl::Status validate() const;
};

// Where the parent folder comes from: the config's `parent` if not empty;
// otherwise the environment's TMPDIR, read with secure_getenv(3) each time a
// TempDir or TempFile is made (so a setuid program ignores it), if set and
// not empty; otherwise "/tmp". A relative folder is relative to the working
// directory at that moment, and path() is then relative too.
std::string temp_parent(absl::string_view parent);

namespace temp_internal {

// The removal rule of a TempDir or TempFile, owned through UniqueHandle: the
// value is a descriptor (O_PATH) of the folder the entry was made in; close
// removes the entry from it (a folder with everything in it) and then
// closes the descriptor. The entry is left in place with `keep`, or when
// closed in a process other than the one that made it.
struct EntryTraits : FdTraits {
  static constexpr std::string_view kName = "TempEntry";
  static EntryTraits make(std::string path, bool directory, bool keep);

  absl::Status close(int parent_fd) const;
  void close_quietly(int parent_fd) const noexcept;

  std::string path;        // the entry's whole path, for messages
  bool directory = false;  // remove recursively, as a folder
  bool keep = false;       // leave it in place
  internal::ProcessBound made_in;  // only the process that made it removes it
};

using Entry = UniqueHandle<EntryTraits>;

}  // namespace temp_internal

// A temporary folder, removed with all it holds on close(). See the top of
// this file.
class TempDir {
 public:
  using config_type = TempDirConfig;

  // Makes a new folder in the parent folder (see temp_parent()), named the
  // prefix and 12 random characters, with the config's permissions less the
  // umask. The config is validated first. Errors name the folder as a
  // template of its name and say which step failed:
  //   open temp dir "/nope/tmp-XXXXXXXXXXXX": opening the parent folder: No
  //   such file or directory [ENOENT]
  // If 100 random names in a row are taken, that is AlreadyExists. A failure
  // leaves nothing behind on disk.
  [[nodiscard]] static absl::StatusOr<TempDir> open(const TempDirConfig& config);

  static constexpr char kName[] = "TempDir";

  TempDir(TempDir&&) noexcept = default;
  TempDir& operator=(TempDir&&) noexcept = default;  // removes what it held first
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  // Removes the folder, as close() does; an error is lost here.
  ~TempDir() = default;

  // Only TempDir::open can make the key: the constructor is public so that
  // absl::StatusOr can build a TempDir in place, and for nothing else.
  class Key {
    friend class TempDir;
    Key() = default;
  };
  TempDir(Key, TempDirConfig config, std::string path, temp_internal::Entry entry)
      : entry_(std::move(entry)), config_(std::move(config)), path_(std::move(path)) {}

  // What it was made from. Available until the TempDir is moved from.
  [[nodiscard]] const TempDirConfig& config() const { return config_; }

  // How messages name it: temp dir "/tmp/tmp-q3k…" (quoted, cut past 200
  // bytes).
  [[nodiscard]] std::string resource() const;

  // Makes another, fresh and empty folder from config(): a different name,
  // nothing copied. This one is untouched.
  [[nodiscard]] absl::StatusOr<TempDir> rebuild() const;

  // The folder's path: the parent folder, '/', the name. Valid while the
  // TempDir is open (misuse after close() or a move: the folder is gone or
  // no longer this handle's).
  [[nodiscard]] const std::string& path() const;

  // Removes the folder and everything in it, then closes the descriptor of
  // the parent folder, and reports the first error; the TempDir is closed
  // either way, and any further use, closing again included, is misuse.
  //
  // Symbolic links inside are removed, never followed: every folder is
  // opened with O_NOFOLLOW relative to its parent's descriptor (openat(2),
  // getdents64(2), unlinkat(2)), so a link to /home removes the link only.
  // A mount point inside is never entered: it is left with what it holds,
  // and close() says so (FailedPrecondition, naming it); unmount it first.
  // What cannot be removed is skipped, the rest is removed, and the first
  // failure is reported with the path that failed:
  //   close temp dir "/tmp/tmp-q3k…": unlinkat("/tmp/tmp-q3k…/out/a.txt"):
  //   Permission denied [EACCES]
  // A folder that is already gone (removed or renamed away by someone) is
  // not an error. With keep, nothing is removed. In a fork()ed child,
  // nothing is removed and the result is OK (the parent removes it).
  //
  // Unlike Rust's remove_dir_all (tempfile::TempDir) and Python's
  // shutil.rmtree (TemporaryDirectory), which go into a mount point and
  // empty it, this stops there; and unlike them, a child's copy after
  // fork() never removes the parent's folder.
  [[nodiscard]] absl::Status close();

  // Decides now whether close() and the destructor remove the folder (the
  // config's `keep` decided it at open()): set_keep(true) leaves it on disk
  // (say, to look at what a failed run left), set_keep(false) removes it
  // again. config() is not changed: a rebuild() still follows it. As
  // tempfile's TempDir::keep()/disable_cleanup(), but the handle stays
  // usable and the choice can be taken back. Misuse after close() or a move.
  void set_keep(bool keep);

  // Moves the folder to `target` (renameat2(2); a relative target is
  // relative to the working directory) and closes the TempDir, which then
  // removes nothing. An existing target is AlreadyExists, never replaced,
  // unless `replace` (rename(2)'s rule then: an empty folder is replaced,
  // one with entries is FailedPrecondition [ENOTEMPTY]); errors name both
  // paths: `persist temp dir "/tmp/tmp-q3k…": renameat2 to "/srv/out" (no
  // replace): File exists [EEXIST]`. On a rename error nothing moved and
  // the TempDir is still open and usable (try another target, or close()
  // it). Once the rename succeeded the TempDir is closed whatever follows:
  // if closing its descriptor then fails, the error says `moved to
  // "/srv/out" and closed, but the close failed: ...`; the folder is at the
  // target, and persist() or close() again is misuse.
  // Both must be on one file system (EXDEV otherwise: copy instead).
  [[nodiscard]] absl::Status persist(absl::string_view target, bool replace = false);

 private:
  // Aborts naming `operation` unless the folder is still this handle's.
  void require_open(const char* operation) const;

  temp_internal::Entry entry_;
  TempDirConfig config_;
  std::string path_;
};

// A temporary file, open for reading and writing, removed on close(). See the
// top of this file.
class TempFile {
 public:
  using config_type = TempFileConfig;

  // Makes a new, empty file in the parent folder (see temp_parent()), named
  // the prefix, 12 random characters and the suffix, created exclusively
  // (O_CREAT|O_EXCL: never an existing file, never through a symlink) with
  // the config's permissions less the umask, and opens it as a File with
  // FileConfig{.path = path(), .access = read_write, .permissions,
  // .close_on_exec, .no_follow = true}. That File's rebuild() opens the
  // same file again. Errors as for TempDir::open (open temp file
  // "/tmp/tmp-XXXXXXXXXXXX.json": ...); a failure leaves nothing behind on
  // disk.
  [[nodiscard]] static absl::StatusOr<TempFile> open(const TempFileConfig& config);

  static constexpr char kName[] = "TempFile";

  TempFile(TempFile&&) noexcept = default;
  TempFile& operator=(TempFile&&) noexcept = default;  // removes what it held first
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  // Closes the File and removes the file; errors are lost here.
  ~TempFile() = default;

  // Only TempFile::open can make the key (as for TempDir).
  class Key {
    friend class TempFile;
    Key() = default;
  };
  TempFile(Key, TempFileConfig config, File file, temp_internal::Entry entry)
      : file_(std::move(file)), entry_(std::move(entry)), config_(std::move(config)) {}

  // What it was made from. Available until the TempFile is moved from.
  [[nodiscard]] const TempFileConfig& config() const { return config_; }

  // How messages name it: temp file "/tmp/tmp-q3k….json" (quoted, cut past
  // 200 bytes).
  [[nodiscard]] std::string resource() const;

  // Makes another, fresh and empty file from config(): a different name,
  // nothing copied (to open this same file again, use file().rebuild()).
  [[nodiscard]] absl::StatusOr<TempFile> rebuild() const;

  // The file's path (misuse after close() or a move).
  [[nodiscard]] const std::string& path() const;

  // The open file, lent: read, write, lock, sync or rebuild() it as any
  // File, but leave closing to the TempFile. Closing or moving the File
  // itself is misuse, caught when the TempFile closes it ("uncopyable:
  // File::close() on a closed handle ..."). Misuse after close() or a move.
  [[nodiscard]] File& file();
  [[nodiscard]] const File& file() const;

  // Closes the File, then removes the file and closes the descriptor of the
  // parent folder; reports the first error (what close(2) said, or what
  // unlinkat(2) said, naming the path). Closed either way; further use is
  // misuse. A file that is already gone is not an error: writing a
  // TempFile and then renaming it into place is the usual way to replace a
  // file atomically, and close() afterwards is OK and leaves the renamed
  // file alone (but rename(2) replaces whatever is at the target without a
  // word: persist() below refuses to unless asked). With keep, the file
  // stays; in a fork()ed child, the file stays and only the child's
  // descriptors are closed.
  [[nodiscard]] absl::Status close();

  // Decides now whether close() and the destructor remove the file (the
  // config's `keep` decided it at open()), as for TempDir::set_keep().
  void set_keep(bool keep);

  // Puts the file at `target` (renameat2(2); a relative target is relative
  // to the working directory), then closes it as close() does, removing
  // nothing. An existing target is AlreadyExists and is left as it was,
  // unless `replace` (then it is replaced atomically, as rename(2) does):
  // `persist temp file "/tmp/tmp-q3k…": renameat2 to "/srv/out.json" (no
  // replace): File exists [EEXIST]`. On a rename error nothing moved and
  // the TempFile is still open and usable (as tempfile's
  // persist_noclobber, which hands the file back). Once the rename
  // succeeded the TempFile is closed whatever follows: if close(2) then
  // fails (EIO, ENOSPC: NFS reports a failed write-back there), the error
  // says `moved to "/srv/out.json" and closed, but the close failed: ...`;
  // the file is at the target (its data may be incomplete), and persist()
  // or close() again is misuse. Data is not synced here: call
  // file().sync() first if it must be on disk before the name is. Both
  // must be on one file system (EXDEV otherwise). A file system that
  // cannot rename without replacing (EINVAL) says so.
  [[nodiscard]] absl::Status persist(absl::string_view target, bool replace = false);

 private:
  // Aborts naming `operation` unless the file is still this handle's.
  void require_open(const char* operation) const;

  File file_;
  temp_internal::Entry entry_;
  TempFileConfig config_;
};

template <>
struct HandleFor<TempDirConfig> {
  using type = TempDir;
};

template <>
struct HandleFor<TempFileConfig> {
  using type = TempFile;
};

}  // namespace uncopyable

#endif  // UNCOPYABLE_TEMP_H_
