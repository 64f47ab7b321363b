// uncopyable/mapped_file.h: MappedFile, a file's bytes in memory (mmap), and
// MappedFileConfig, the data behind it.
//
//   uncopyable::MappedFileConfig config{.file = {.path = "/var/lib/app/index"}};
//   absl::StatusOr<uncopyable::MappedFile> index = uncopyable::rebuild(config);
//   if (!index.ok()) return index.status();  // names the path and errno
//   absl::Span<const std::byte> bytes = index->bytes();  // the whole file
//   lookup(bytes);  // valid until `index` is closed, moved from or destroyed
//
//   config.access = uncopyable::MapAccess::read_write;  // needs a file opened
//   config.file.access = uncopyable::FileAccess::read_write;  // read_write
//   absl::StatusOr<uncopyable::MappedFile> table = uncopyable::rebuild(config);
//   std::memcpy(table->mutable_bytes().data(), header, sizeof header);
//   if (absl::Status s = table->sync(); !s.ok()) return s;  // msync(MS_SYNC)
//
// Ownership: a MappedFile owns one mapping (the address and length it was
// given, unmapped on close() or by its destructor) and the config it was made
// from; it moves, never copies. It keeps no descriptor: the file is opened
// with its FileConfig, mapped, and closed again before open() returns.
//
// The spans it gives are views, like std::string_view: they point into the
// mapping and dangle once it is unmapped, by close(), by the destructor, or
// by assigning another MappedFile over it. Unlike a string_view of a moved
// std::string, they survive a move: the mapping stays where it is and
// belongs to the new MappedFile, so they stay valid exactly as long as that
// one keeps it (as a std::vector's iterators follow its buffer on a move).
//
// SIGBUS: what is checked at open() is checked: a range past the end of the
// file is an error then (OutOfRange), never a SIGBUS later. But if the file
// is made shorter afterwards (ftruncate by anyone, this process or another),
// reading or writing a page of the mapping that is now past the end of the
// file kills the process with SIGBUS, as with any mmap(2) of a file. This is
// the kernel's rule and no wrapper can turn it into a Status cheaply: map
// only files that nobody truncates while they are mapped (files you own, or
// that are replaced by rename rather than rewritten in place), or read them
// with File::pread instead. tests/mapped_file_test.cc shows it happening in a
// child process.
//
// Misuse aborts with one line: any operation on a moved-from or closed
// MappedFile ("uncopyable: MappedFile::bytes() on a closed handle (mapped
// file \"/var/lib/app/index\")"), closing twice, and mutable_bytes() on a
// mapping made with access=read.
#ifndef UNCOPYABLE_MAPPED_FILE_H_
#define UNCOPYABLE_MAPPED_FILE_H_

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "uncopyable/config.h"
#include "uncopyable/file.h"
#include "uncopyable/rebuildable.h"
#include "uncopyable/unique_handle.h"

namespace uncopyable {

// What the mapping's memory allows.
enum class MapAccess {
  read,        // PROT_READ: bytes() only
  read_write,  // PROT_READ | PROT_WRITE: mutable_bytes() too
};
UNCOPYABLE_ENUM(MapAccess, read, read_write)

// Everything needed to map a file again: plain data.
struct MappedFileConfig {
  UNCOPYABLE_CONFIG(MappedFileConfig, file, offset, length, access, shared, populate)

  FileConfig file{};                    // required: the file to map (its path at least)
  uint64_t offset = 0;                  // first byte of the file to map (any, not only a page's)
  uint64_t length = 0;                  // bytes to map; 0: up to the end of the file
  MapAccess access = MapAccess::read;   // read, or read_write
  bool shared = true;                   // MAP_SHARED: writes reach the file; false: MAP_PRIVATE
  bool populate = false;                // MAP_POPULATE: read it all in before open() returns

  static constexpr absl::string_view kRequired[] = {"file"};

  // The file's own rules; file.access is not write (a mapping always reads);
  // file.truncate and file.create are false (InvalidArgument naming the
  // field): O_TRUNC would empty the file before it is mapped, and rebuild()
  // would empty it again under the first mapping, whose next touch is a
  // SIGBUS; a file that create makes is empty and maps nothing (a length
  // then is OutOfRange). To map a new file, make and size it first:
  //   File f = File::open({.path = p, .access = FileAccess::write,
  //                        .create = true}).value();
  //   f.set_size(4096) and f.close(), then map {.file = {.path = p, ...}}.
  // (Rust's memmap2 never opens the file itself, so it cannot truncate it on
  // a remap.)
  // a shared read_write mapping needs file.access=read_write (a private one
  // writes to its own copy, so a file opened for reading will do); offset
  // and offset + length fit in an off_t.
  absl::Status validate() const;
};

namespace mapped_file_internal {

// A mapping, owned through UniqueHandle: its address, and the length to
// munmap(2). kNothingMapped stands for the empty mapping of zero bytes,
// which mmap(2) cannot make and close() need not unmap.
struct MappingTraits : AddressTraits {
  static constexpr std::string_view kName = "MappedFile";
  static constexpr uintptr_t kNothingMapped = 4;  // below any page: never an address
  absl::Status close(uintptr_t address) const;
  size_t length = 0;
};

using Mapping = UniqueHandle<MappingTraits>;

}  // namespace mapped_file_internal

// A mapped file. See the top of this file.
class MappedFile {
 public:
  using config_type = MappedFileConfig;

  // Opens config.file as File::open does (same errors), measures it, maps
  // [offset, offset + length) of it and closes the file again. The config is
  // validated first.
  //
  // - A range that reaches past the end of the file is an error
  //   (OutOfRange), checked here so that it is not a SIGBUS later:
  //   `open mapped file "/var/lib/app/index": bytes [4096, 8192) reach past
  //   the end of the file (6000 bytes)`.
  // - An offset that is not a multiple of the page size is fine: the mapping
  //   starts at the page that holds it, and bytes() starts at the offset.
  // - Zero bytes to map (an empty file, or offset at its end with length 0)
  //   is not an error, although mmap(2) refuses it: the MappedFile then maps
  //   nothing, and bytes() is an empty span.
  // Python's mmap refuses an empty file and wants offsets on its allocation
  // granularity; Rust's memmap2 takes any offset like this, but does not
  // hold a length given explicitly to the file's size (the SIGBUS comes on
  // first touch).
  [[nodiscard]] static absl::StatusOr<MappedFile> open(const MappedFileConfig& config);

  static constexpr char kName[] = "MappedFile";

  MappedFile(MappedFile&&) noexcept = default;
  MappedFile& operator=(MappedFile&&) noexcept = default;  // unmaps what it held first
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  // Unmaps; an error is lost here (call close()).
  ~MappedFile() = default;

  // Only MappedFile::open can make the key: the constructor is public so that
  // absl::StatusOr can build a MappedFile in place, and for nothing else.
  class Key {
    friend class MappedFile;
    Key() = default;
  };
  MappedFile(Key, MappedFileConfig config, mapped_file_internal::Mapping mapping, size_t skip,
             size_t size)
      : mapping_(std::move(mapping)), config_(std::move(config)), skip_(skip), size_(size) {}

  // What it was made from. Available until the MappedFile is moved from.
  [[nodiscard]] const MappedFileConfig& config() const { return config_; }

  // How messages name it: mapped file "/var/lib/app/index" (quoted, cut past
  // 200 bytes).
  [[nodiscard]] std::string resource() const;

  // Maps the same range of the same file again (opening it as config().file
  // says, which never truncates: validate() refuses file.truncate): a new
  // mapping, never a copy
  // of this one's bytes. With shared=true both map the file's own pages, so
  // each sees what the other writes; with shared=false, the new one sees the
  // file, not this one's private changes.
  [[nodiscard]] absl::StatusOr<MappedFile> rebuild() const;

  // The mapped bytes, read-only: valid until this MappedFile is closed, moved
  // from or destroyed (see the top of this file). Empty when nothing was
  // mapped.
  [[nodiscard]] absl::Span<const std::byte> bytes() const;

  // The same, writable: needs access=read_write (misuse otherwise: the
  // memory is PROT_READ, and writing would be a SIGSEGV). With shared=true
  // writes reach the file (when the kernel writes the pages back, or at
  // sync()); with shared=false they stay in this process's copy.
  [[nodiscard]] absl::Span<std::byte> mutable_bytes();

  // How many bytes are mapped (bytes().size()).
  [[nodiscard]] size_t size() const;

  // msync(2) with MS_SYNC of the whole mapping: the pages written through
  // mutable_bytes() reach the file before it returns (see sync(offset,
  // length) for part of it). Errors name the path:
  // `sync mapped file "/var/lib/app/index": msync: Input/output error [EIO]`. OK at once when
  // nothing is mapped; on a private or read-only mapping there is nothing
  // to write back, and it is OK.
  [[nodiscard]] absl::Status sync();

  // The same for `length` bytes from `offset` of bytes() only (memmap2's
  // flush_range): msync(2) of the pages that hold them (the start rounded
  // down to its page, so a few bytes around the range may be written back
  // too), MS_SYNC. A range past size() is OutOfRange, naming the mapping:
  // `sync mapped file "/var/lib/app/index": 10 bytes from offset 4090 reach
  // past the end of the mapping (4096 bytes)`; a failed msync names the
  // range: `sync mapped file "...": msync of bytes [5, 6): Input/output
  // error [EIO]`. Zero bytes is OK at once. For a small change (a header)
  // in a large mapping, this writes back its page rather than every dirty
  // page of the mapping.
  //
  // There is no asynchronous flush (memmap2's flush_async, msync with
  // MS_ASYNC): on Linux MS_ASYNC does nothing, since the kernel already
  // writes dirty shared pages back on its own schedule; a write through
  // mutable_bytes() needs no call to reach the file eventually, and sync()
  // is for when it must be there now.
  [[nodiscard]] absl::Status sync(size_t offset, size_t length);

  // Unmaps now and reports what munmap(2) said, naming the path:
  // `close mapped file "/var/lib/app/index": munmap: Invalid argument
  // [EINVAL]` (the
  // kernel then keeps the memory mapped; nothing retries). Closed either
  // way; any further use, closing again included, is misuse, and every span
  // taken from it dangles.
  [[nodiscard]] absl::Status close();

 private:
  // The mapping's address, or abort naming `operation` if there is none.
  uintptr_t checked_address(const char* operation) const;

  mapped_file_internal::Mapping mapping_;
  MappedFileConfig config_;
  size_t skip_ = 0;  // from the mapping's first page to the first byte asked for
  size_t size_ = 0;  // bytes asked for
};

template <>
struct HandleFor<MappedFileConfig> {
  using type = MappedFile;
};

}  // namespace uncopyable

#endif  // UNCOPYABLE_MAPPED_FILE_H_
