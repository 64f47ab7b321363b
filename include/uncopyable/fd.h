// uncopyable/fd.h: Fd, an owned file descriptor, and FdView, a borrowed one.
//
//   int raw = ::open("/tmp/log", O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
//   if (raw < 0) return ...;            // check first: Fd adopts only a real fd
//   uncopyable::Fd fd(raw);              // fd owns it now
//   write_header(fd);                    // borrowed as an FdView for the call
//   uncopyable::Fd moved = std::move(fd);  // moved owns it; fd is empty
//   if (absl::Status s = moved.close(); !s.ok()) return s;  // EIO etc. reach you
//
//   void write_header(uncopyable::FdView fd);  // borrows, never closes
//
// An Fd is exactly one int. It cannot be copied (a copy would close the same
// descriptor twice) and does not convert to int: get() shows the number and
// keeps ownership, release() gives ownership away. Using an Fd that holds
// nothing aborts with a line naming the misuse, e.g.
//   uncopyable: Fd::get() on a moved-from handle
//
// Closing never retries on EINTR: on Linux the descriptor is gone once
// close(2) returns, whatever it reports, and retrying could close a
// descriptor another thread has just been given. Its error names the
// descriptor ("close fd 7: Input/output error [EIO]"; a handle built on an
// Fd says it again about its own resource). A close that fails with EBADF
// means someone closed the descriptor behind its owner's back; that is
// misuse, and aborts:
//   uncopyable: Fd::close() found the descriptor not open; something closed
//   it behind its owner's back (fd 7)
//
// Who owns which descriptor is also written down, in one process-wide table
// (uncopyable/fd_ownership.h): taking ownership (the constructor, reset(fd)),
// release() and close() each update one 64-bit atomic tag per descriptor,
// and a move touches nothing. Adopting a descriptor that another handle owns
// already aborts, naming that owner:
//   uncopyable: Fd::Fd(7) adopting a descriptor already owned by File; a
//   descriptor has one owner, and only it may close it (file "a.log")
// Link //:fd_ownership_checks into a binary and a close(2), dup2(2), ... of
// an owned descriptor by anyone but its owner aborts at that very call,
// before the number can be reused; see uncopyable/fd_ownership.h.
#ifndef UNCOPYABLE_FD_H_
#define UNCOPYABLE_FD_H_

#include <string>
#include <string_view>
#include <type_traits>

#include "absl/base/optimization.h"
#include "absl/status/status.h"
#include "uncopyable/check.h"
#include "uncopyable/internal/fd_table.h"
#include "uncopyable/unique_handle.h"

namespace uncopyable {

struct FdOwnerKind;  // uncopyable/fd_ownership.h

// The traits of an owned file descriptor: -1 is empty, and each other kind of
// emptiness has its own negative value.
struct FdTraits {
  using value_type = int;
  static constexpr std::string_view kName = "Fd";
  static constexpr int invalid() noexcept { return -1; }
  static constexpr int vacant(HandleState state) noexcept {
    return -static_cast<int>(state);  // kEmpty -1, kMovedFrom -2, ...
  }
  static constexpr bool is_valid(int fd) noexcept { return fd >= 0; }
  // close(2), once. Errors (EIO, EINTR, ...) are returned; the descriptor
  // is released either way. EBADF is misuse and aborts.
  static absl::Status close(int fd);
  // The same, for destructors and reset(): errors other than EBADF are lost.
  static void close_quietly(int fd) noexcept;
  // The ownership table: an Fd owns `fd` now (misuse if another handle owns
  // it; `operation` "reset", or "" for the constructor, names the call), and
  // no handle owns it any more (release()). close() clears it itself.
  static void adopt(int fd, std::string_view operation) noexcept {
    internal::fd_table::adopt(fd, operation);
  }
  static void disown(int fd) noexcept { internal::fd_table::disown(fd); }
};
static_assert(FdTraits::vacant(HandleState::kEmpty) == FdTraits::invalid());

// An owned file descriptor. See the top of this file.
class Fd : public UniqueHandle<FdTraits> {
 public:
  // An empty Fd; Fd(fd) adopts an open descriptor (negative is misuse, and
  // so is one another handle owns).
  using UniqueHandle::UniqueHandle;

  // Names the handle this Fd is part of in ownership messages, e.g. `File`
  // and its resource rather than `Fd`: `kind` gives the type's name and how
  // to describe `owner` (uncopyable/fd_ownership.h). Does nothing on an
  // empty Fd; a move of the Fd keeps the name. The table keeps the address
  // of `owner`, not a copy, and reads it only to print a message: an owner
  // that moves must name itself again after its moves, which is what
  // internal::NamedFd (fd_ownership.h) does for a handle that holds one
  // (Listener, Socket and Connection do), and one that gives its Fd away for
  // good gives it with release() (the table forgets the owner) or names it
  // again with a null `owner` first.
  void set_owner(const FdOwnerKind& kind, const void* owner) noexcept;
};

namespace fd_internal {
// How messages name a descriptor no handle describes: "fd 7".
std::string resource_of(int fd);
// Aborts: "FdView::FdView(-3) borrowing a negative descriptor".
[[noreturn]] void borrowed_negative(int fd) noexcept;
}  // namespace fd_internal
static_assert(sizeof(Fd) == sizeof(int), "an Fd is exactly one int");

// A borrowed file descriptor: a plain int with a type, for parameters. It
// never closes anything, is trivially copyable, and must not outlive the Fd
// it was taken from (like std::string_view and its string).
class FdView {
 public:
  // Borrows a descriptor someone else owns (e.g. STDERR_FILENO). A negative
  // number is misuse.
  constexpr explicit FdView(int fd) noexcept : fd_(fd) {
    if (ABSL_PREDICT_FALSE(fd < 0)) fd_internal::borrowed_negative(fd);
  }

  // Borrows from an owner; the Fd must hold a descriptor (misuse otherwise).
  FdView(const Fd& fd) noexcept : fd_(fd.get()) {}  // implicit: borrowing is
  // Borrowing from a temporary Fd would dangle at once.
  FdView(Fd&&) = delete;

  // The descriptor number. The caller does not own it.
  [[nodiscard]] constexpr int get() const noexcept { return fd_; }

  friend constexpr bool operator==(FdView, FdView) noexcept = default;

 private:
  int fd_;
};
static_assert(std::is_trivially_copyable_v<FdView>);
static_assert(sizeof(FdView) == sizeof(int));

}  // namespace uncopyable

#endif  // UNCOPYABLE_FD_H_
