#include "uncopyable/mapped_file.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <limits>
#include <string>

#include "absl/strings/str_cat.h"
#include "uncopyable/check.h"
#include "uncopyable/internal/errno_status.h"
#include "uncopyable/internal/message.h"
#include "uncopyable/internal/quote.h"
#include "uncopyable/internal/syscall.h"

namespace uncopyable {
namespace {

namespace sys = internal::sys;

constexpr uint64_t kLargestOffset = static_cast<uint64_t>(std::numeric_limits<off_t>::max());

// mapped file "/var/lib/app/index": how a MappedFile names its file in every
// message.
std::string mapped_resource(const MappedFileConfig& config) {
  return absl::StrCat("mapped file ", internal::quoted(config.file.path));
}

}  // namespace

// ---------------------------------------------------------------------------
// MappedFileConfig

absl::Status MappedFileConfig::validate() const {
  return ConfigRules(*this)
      .valid("file", file.validate())
      .check(file.access != FileAccess::write, "file.access",
             "must be read or read_write: a mapping reads the file")
      .check(!file.truncate, "file.truncate",
             "must be false: a mapping maps what is in the file, and truncating it on open "
             "(and again on rebuild(), under the first mapping) destroys it")
      .check(!file.create, "file.create",
             "must be false: a file created here is empty and maps nothing; create and size "
             "it with File (set_size) first")
      .check(access != MapAccess::read_write || !shared || file.access == FileAccess::read_write,
             "file.access",
             "must be read_write for a shared read_write mapping (shared=false writes to a "
             "private copy and needs only read)")
      .check(offset <= kLargestOffset, "offset",
             absl::StrCat(offset, " is past the largest file offset, ", kLargestOffset))
      .check(offset > kLargestOffset || length <= kLargestOffset - offset, "length",
             absl::StrCat(length, " bytes from offset ", offset,
                          " reach past the largest file offset, ", kLargestOffset))
      .status();
}

// ---------------------------------------------------------------------------
// The mapping

namespace mapped_file_internal {

absl::Status MappingTraits::close(uintptr_t address) const {
  if (address == kNothingMapped) return absl::OkStatus();
  if (sys::munmap(reinterpret_cast<void*>(address), length) != 0) {
    return internal::errno_status(errno, "munmap");
  }
  return absl::OkStatus();
}

}  // namespace mapped_file_internal

// ---------------------------------------------------------------------------
// MappedFile

absl::StatusOr<MappedFile> MappedFile::open(const MappedFileConfig& config) {
  if (absl::Status valid = config.validate(); !valid.ok()) return valid;
  absl::StatusOr<File> file = File::open(config.file);
  if (!file.ok()) return file.status();
  absl::StatusOr<uint64_t> file_size = file->size();
  if (!file_size.ok()) return file_size.status();
  const uint64_t end = config.length == 0 ? *file_size : config.offset + config.length;
  if (config.offset > *file_size) {
    return internal::error_on(
        absl::StatusCode::kOutOfRange, "open", mapped_resource(config),
        absl::StrCat("offset ", config.offset, " is past the end of the file (", *file_size,
                     " bytes)"));
  }
  if (end > *file_size) {
    return internal::error_on(
        absl::StatusCode::kOutOfRange, "open", mapped_resource(config),
        absl::StrCat("bytes [", config.offset, ", ", end, ") reach past the end of the file (",
                     *file_size, " bytes)"));
  }
  const auto size = static_cast<size_t>(end - config.offset);
  mapped_file_internal::MappingTraits traits;
  mapped_file_internal::Mapping mapping;
  size_t skip = 0;
  if (size == 0) {
    mapping = mapped_file_internal::Mapping(mapped_file_internal::MappingTraits::kNothingMapped,
                                            traits);
  } else {
    const auto page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
    const uint64_t start = config.offset / page * page;
    skip = static_cast<size_t>(config.offset - start);
    traits.length = skip + size;
    const int protection =
        config.access == MapAccess::read_write ? PROT_READ | PROT_WRITE : PROT_READ;
    const int flags =
        (config.shared ? MAP_SHARED : MAP_PRIVATE) | (config.populate ? MAP_POPULATE : 0);
    void* address = sys::mmap(nullptr, traits.length, protection, flags, file->fd().get(),
                              static_cast<off_t>(start));
    if (address == MAP_FAILED) {
      return internal::errno_error_on(
          errno, "open", mapped_resource(config),
          absl::StrCat("mmap of ", size, " bytes at offset ", config.offset, " with access=",
                       enum_name(config.access), config.shared ? ", shared" : ", private"));
    }
    mapping = mapped_file_internal::Mapping(reinterpret_cast<uintptr_t>(address), traits);
  }
  // The mapping does not need the descriptor: it goes now (its error too is
  // an error of open(), and the mapping is undone).
  if (absl::Status closed = file->close(); !closed.ok()) return closed;
  return absl::StatusOr<MappedFile>(absl::in_place, Key(), config, std::move(mapping), skip,
                                    size);
}

absl::StatusOr<MappedFile> MappedFile::rebuild() const {
  checked_address("rebuild()");
  return open(config_);
}

std::string MappedFile::resource() const { return mapped_resource(config_); }

uintptr_t MappedFile::checked_address(const char* operation) const {
  return mapping_.get_as(kName, operation, [this] { return resource(); });
}

absl::Span<const std::byte> MappedFile::bytes() const {
  const uintptr_t address = checked_address("bytes()");
  if (address == mapped_file_internal::MappingTraits::kNothingMapped) return {};
  return absl::Span<const std::byte>(reinterpret_cast<const std::byte*>(address) + skip_, size_);
}

absl::Span<std::byte> MappedFile::mutable_bytes() {
  const uintptr_t address = checked_address("mutable_bytes()");
  if (config_.access != MapAccess::read_write) {
    misuse_on(kName, "mutable_bytes()", resource(),
              "on a read-only mapping; map it with access=read_write");
  }
  if (address == mapped_file_internal::MappingTraits::kNothingMapped) return {};
  return absl::Span<std::byte>(reinterpret_cast<std::byte*>(address) + skip_, size_);
}

size_t MappedFile::size() const {
  checked_address("size()");
  return size_;
}

absl::Status MappedFile::sync() {
  const uintptr_t address = checked_address("sync()");
  if (address == mapped_file_internal::MappingTraits::kNothingMapped) return absl::OkStatus();
  if (sys::msync(reinterpret_cast<void*>(address), skip_ + size_, MS_SYNC) != 0) {
    return internal::errno_error_on(errno, "sync", resource(), "msync");
  }
  return absl::OkStatus();
}

absl::Status MappedFile::sync(size_t offset, size_t length) {
  const uintptr_t address = checked_address("sync()");
  if (offset > size_ || length > size_ - offset) {
    return internal::error_on(
        absl::StatusCode::kOutOfRange, "sync", resource(),
        absl::StrCat(length, " bytes from offset ", offset,
                     " reach past the end of the mapping (", size_, " bytes)"));
  }
  if (length == 0 || address == mapped_file_internal::MappingTraits::kNothingMapped) {
    return absl::OkStatus();
  }
  // msync(2) wants a page-aligned start: from the page that holds the first
  // byte (the mapping itself starts on a page) to the last byte.
  const auto page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  const size_t first = skip_ + offset;
  const size_t start = first / page * page;
  if (sys::msync(reinterpret_cast<void*>(address + start), first + length - start, MS_SYNC) !=
      0) {
    return internal::errno_error_on(
        errno, "sync", resource(),
        absl::StrCat("msync of bytes [", offset, ", ", offset + length, ")"));
  }
  return absl::OkStatus();
}

absl::Status MappedFile::close() {
  checked_address("close()");
  return internal::status_on(mapping_.close(), "close", resource());
}

}  // namespace uncopyable
