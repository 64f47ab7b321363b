// uncopyable/internal/fd_table.h: the descriptor ownership table behind Fd
// and //:fd_ownership_checks (see uncopyable/fd_ownership.h).
//
// One 64-bit atomic tag per descriptor number:
//
//   bits 63..56  the fork generation it was written in (low 8 bits)
//   bits 55..48  the owner's kind: 0 none, 1 a plain Fd, 2.. a registered
//                FdOwnerKind
//   bits 47..0   the owner's address, or 0 (an address that does not fit is
//                left out: the message then names the kind alone)
//
// A tag whose kind is 0, or whose generation is not the process's, means
// "owned by no handle of this process".
//
// Not part of the public API.
#ifndef UNCOPYABLE_INTERNAL_FD_TABLE_H_
#define UNCOPYABLE_INTERNAL_FD_TABLE_H_

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/base/optimization.h"
#include "uncopyable/internal/process.h"

namespace uncopyable {
struct FdOwnerKind;  // uncopyable/fd_ownership.h
}  // namespace uncopyable

namespace uncopyable::internal::fd_table {

using Tag = uint64_t;

inline constexpr int kGenerationShift = 56;
inline constexpr int kKindShift = 48;
inline constexpr Tag kAddressMask = (Tag{1} << kKindShift) - 1;
inline constexpr unsigned kPlainFdKind = 1;

// The slots of descriptors 0..1023, in the program image (zero: unowned)
// from before any constructor runs; higher numbers are in chunks.
inline constexpr int kFirstChunkSize = 1024;
extern std::atomic<Tag> first_chunk[kFirstChunkSize];

// The slot of a higher number: null if its chunk is not there and `create`
// is false (or the memory for it could not be had).
std::atomic<Tag>* slot_in_chunks(int fd, bool create) noexcept;

// The slot of `fd` (>= 0).
inline std::atomic<Tag>* slot(int fd, bool create) noexcept {
  if (ABSL_PREDICT_TRUE(fd < kFirstChunkSize)) return &first_chunk[fd];
  return slot_in_chunks(fd, create);
}

inline Tag this_generation() noexcept {
  return Tag{current_fork_generation() & 0xffU} << kGenerationShift;
}

// Whether `tag` says a handle of this process owns the descriptor.
inline bool owned_here(Tag tag) noexcept {
  return ((tag >> kKindShift) & 0xffU) != 0 &&
         (tag & (Tag{0xff} << kGenerationShift)) == this_generation();
}

// Aborts: `fd` is owned by `old` and a plain Fd is adopting it.
[[noreturn]] void already_owned(int fd, std::string_view operation, Tag old) noexcept;

// An Fd takes `fd`: a check of what was there, and one store. (Not one
// exchange: a locked instruction costs more than the rest of the Fd together.
// The check would miss two threads adopting one number at the same instant,
// which needs a stray close already, and of that the checks tell.)
inline void adopt(int fd, std::string_view operation) noexcept {
  std::atomic<Tag>* s = slot(fd, /*create=*/true);
  if (ABSL_PREDICT_FALSE(s == nullptr)) return;
  const Tag old = s->load(std::memory_order_acquire);
  if (ABSL_PREDICT_FALSE(owned_here(old))) already_owned(fd, operation, old);
  s->store(this_generation() | (Tag{kPlainFdKind} << kKindShift), std::memory_order_release);
}

// No handle owns `fd` any more: release(), and the owner's close just before
// it calls close(2). One store.
inline void disown(int fd) noexcept {
  if (std::atomic<Tag>* s = slot(fd, /*create=*/false); ABSL_PREDICT_TRUE(s != nullptr)) {
    s->store(0, std::memory_order_release);
  }
}

// The owner of `fd` (already an Fd's) is `owner`, of kind `kind`.
void set_owner(int fd, const FdOwnerKind& kind, const void* owner) noexcept;

// The tag of `fd` if a handle of this process owns it, else 0.
inline Tag owner_of(int fd) noexcept {
  if (fd < 0) return 0;
  std::atomic<Tag>* s = slot(fd, /*create=*/false);
  if (s == nullptr) return 0;
  const Tag tag = s->load(std::memory_order_acquire);
  return owned_here(tag) ? tag : 0;
}

// The lowest descriptor in [first, last] that a handle of this process
// owns, or -1.
int first_owned(unsigned first, unsigned last) noexcept;

// The owner a tag names, for a message: its type ("File", "Fd") and its
// resource as the handle names it (`file "journal.log"`; empty for a plain
// Fd, or a handle named by type alone).
struct OwnerText {
  std::string type;
  std::string resource;
};
OwnerText describe(Tag tag);

// The owner of `fd` as `Type (resource)` or `Type`, or "" if no handle owns
// it (for tests).
std::string owner_name(int fd);

}  // namespace uncopyable::internal::fd_table

#endif  // UNCOPYABLE_INTERNAL_FD_TABLE_H_
