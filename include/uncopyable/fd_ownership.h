// uncopyable/fd_ownership.h: who owns each descriptor, checked when it is
// broken (what Android's fdsan does in bionic, here on glibc).
//
//   # BUILD: opt in, for a test or a whole program
//   cc_test(name = "journal_test", ..., deps = [..., "//:fd_ownership_checks"])
//
//   File log = *uncopyable::rebuild(FileConfig{.path = "journal.log", ...});
//   ::close(log.fd().get());  // aborts here, naming the owner:
//   // uncopyable: ::close(7) of a descriptor owned by File; only its owner may
//   // close it (file "journal.log")
//
// Without the checks, that stray close would go unnoticed until the number
// is reused: the next open() gets 7, `log.write()` lands in the other file,
// and `log.close()` closes the other file's descriptor.
//
// The table. Every Fd (so every File, Socket, Connection and Listener) writes
// down in one process-wide table that it owns its descriptor: one 64-bit
// atomic tag per descriptor number, saying which kind of handle owns it,
// which one (an address, for the message only) and in which process (see
// fork below). Taking ownership (Fd(fd), reset(fd)), release() and close()
// each update the tag with one atomic store (taking ownership loads it
// first, to check it); a move touches nothing, since the descriptor does not
// change. A handle that holds its descriptor as an internal::NamedFd (below)
// names itself again after each of its moves (one more store), so the
// message names the handle that owns the descriptor now. The first 1024
// numbers are a fixed
// array; higher ones live in chunks made on first use, each twice the size
// of the one before, never moved or freed, so every number up to the
// largest RLIMIT_NOFILE is covered and a lookup takes no lock. The table is
// always on (it is part of //:fd) and checks one thing by itself: adopting a
// descriptor that another handle owns aborts, naming the owner:
//   uncopyable: Fd::Fd(7) adopting a descriptor already owned by File; a
//   descriptor has one owner, and only it may close it (file "a.log")
//
// The checks (//:fd_ownership_checks, opt-in, alwayslink). Linked into a
// binary, it interposes the C library's functions that close descriptors and
// aborts with one line when one of them would close a descriptor a handle
// owns, unless the owner itself is closing it:
//   close(fd)                     ::close(7) of a descriptor owned by File
//   dup2(old, fd), dup3(old, fd)  ::dup2(3, 7) onto a descriptor owned by File
//                                 (they close `fd` silently first)
//   close_range(first, last, f)   ::close_range(3, 4294967295, 0) would close
//                                 7, a descriptor owned by File
//                                 (not with CLOSE_RANGE_CLOEXEC, which closes
//                                 nothing)
//   closefrom(low)                ::closefrom(3) would close 7, ...
//   fclose(stream)                ::fclose() of a stream on 7, a descriptor
//                                 owned by File (a stream made by
//                                 fdopen(fd.get()))
//   closedir(dir)                 ::closedir() of a stream on 7, ...
//                                 (one made by fdopendir(fd.get()))
// each going on "; only its owner may close it (<the owner's resource>)", in
// the one grammar of misuse lines (check.h's misuse_on(), the C library's
// function standing for "Type::op()"; an owner that is a plain Fd has no
// resource to name, so its lines end after "close it"). fdopen() and fdopendir()
// themselves are let through: they close nothing, and a stream that only
// borrows the descriptor is fine until someone closes it. The owner's own
// close clears the tag first, then calls close(2), which the check lets
// through. The real functions are found with dlsym(RTLD_NEXT), and a
// sanitizer's interceptor by its own name first (clang links the sanitizer
// runtimes into the program, where these definitions take their place), so
// ThreadSanitizer still sees every close.
//
// fork. A fork()ed child may close its copies of the parent's descriptors as
// it likes (before an exec, say): the tags carry the process generation
// they were written in, and a tag from before the fork means "not owned"
// in the child. What the child adopts itself is checked as usual, and the
// parent's table is its own. fdsan instead turns itself off in the child.
//
// What it cannot see, so cannot stop:
//   - syscall(SYS_close, fd), inline assembly, io_uring's IORING_OP_CLOSE,
//     and any other way to the kernel but the C library's functions above;
//   - closes inside the C library that do not go through those functions:
//     fclose's own close(2) (covered by checking fclose itself), closedir's,
//     the closes posix_spawn's file actions make in the child, and the like;
//   - a statically linked program, whose C library calls its own close
//     directly (and where dlsym(RTLD_NEXT) finds nothing): link
//     dynamically to use the checks;
//   - a fork made without pthread_atfork handlers (the raw clone(2) or
//     _Fork()): the child's copies then still look owned;
//   - a race between an owner's close and a stray close of the same number
//     on another thread, in the instant between the owner clearing the tag
//     and the kernel closing the descriptor.
// A descriptor closed by one of these paths keeps its tag, so whoever gets
// the number next is blamed at its own close: the message then names the
// first owner correctly but not the culprit. Adopting the reused number into
// an Fd aborts as double ownership.
//
// Compared with bionic's fdsan: fdsan's tag is the owner's type and address,
// printed as a number, and it is in the C library itself, so it sees
// bionic's internal closes too, and it is on for every Android app. Here the
// tag leads to the owner, so the message names the file or endpoint; the
// checks are opt-in and see only the calls above; and a forked child keeps
// its own checks rather than losing them. Compared with Chromium's table
// (base/files/scoped_file_linux.cc): Chromium interposes close() only, keeps
// one bit per descriptor ("owned or not") for numbers below 4096, and
// reports without naming the owner; this table covers every number, names
// the owner, and checks dup2, dup3, close_range, closefrom, fclose and
// closedir as well.
#ifndef UNCOPYABLE_FD_OWNERSHIP_H_
#define UNCOPYABLE_FD_OWNERSHIP_H_

#include <string>
#include <string_view>
#include <utility>

#include "uncopyable/fd.h"
#include "uncopyable/internal/rules.h"

namespace uncopyable {

// A kind of handle that owns descriptors, for messages: a handle type
// declares one (a constant with static storage, e.g. an inline constexpr
// static member) and passes it to Fd::set_owner() with its own address.
//
//   static constexpr FdOwnerKind kFdOwner{"File", &describe_owner};
//   static std::string describe_owner(const void* file) {  // file "journal.log"
//     return static_cast<const File*>(file)->resource();
//   }
//
// A handle that moves must then name itself again after every move; rather
// than write its moves for that, it holds its descriptor as an
// internal::NamedFd (below), which does it.
struct FdOwnerKind {
  // The handle type: "File".
  std::string_view name;
  // What says which handle it is, in the words of the handle's other
  // messages (its resource(): `file "journal.log"`). Called only to print a
  // message, with the non-null address given to set_owner(); null for none.
  std::string (*describe)(const void* owner) = nullptr;
};

namespace internal {

// The descriptor of a handle, named in ownership messages by the handle's
// `Named::kName` and `Named::resource()` ("Listener", "listener on
// tcp://127.0.0.1:8080"), whoever holds it now: a member whose own moves
// name the moved-to handle in the table (one store each), so that the
// handle's moves are `= default`.
//
//   class Listener {
//     ...
//     static constexpr char kName[] = "Listener";
//     std::string resource() const;
//    private:
//     internal::NamedFd<Listener> fd_{this};  // fd_.fd() is the Fd
//   };
//
// `Owner` is the object that holds this member (the handle, or the base
// class of it that declares the member); `Named` the handle (Owner, or a
// class derived from it), reached from Owner by static_cast only when a
// message is printed. An empty NamedFd (no descriptor, or moved from,
// closed, released) names nobody.
template <typename Owner, typename Named = Owner>
class NamedFd : MemberOf<Owner> {
 public:
  explicit NamedFd(const Owner* owner) noexcept : MemberOf<Owner>(owner) {}
  NamedFd(const Owner* owner, Fd fd) noexcept : MemberOf<Owner>(owner), fd_(std::move(fd)) {
    name();
  }
  NamedFd(NamedFd&& other) noexcept : MemberOf<Owner>(other), fd_(std::move(other.fd_)) {
    name();
  }
  // Closes what this one held, as an Fd's assignment does, and takes over
  // `other`'s descriptor under this handle's name.
  NamedFd& operator=(NamedFd&& other) noexcept {
    fd_ = std::move(other.fd_);
    name();
    return *this;
  }
  NamedFd(const NamedFd&) = delete;
  NamedFd& operator=(const NamedFd&) = delete;
  ~NamedFd() = default;

  // The descriptor's owner. Moving an Fd out of it with std::move is not
  // giving it away: use release(), which leaves the table clean.
  [[nodiscard]] Fd& fd() noexcept { return fd_; }
  [[nodiscard]] const Fd& fd() const noexcept { return fd_; }

 private:
  static std::string describe(const void* owner) {
    return static_cast<const Named*>(static_cast<const Owner*>(owner))->resource();
  }
  void name() noexcept {
    static constexpr FdOwnerKind kKind{Named::kName, &describe};
    fd_.set_owner(kKind, &this->owner());
  }

  Fd fd_;
};

}  // namespace internal

}  // namespace uncopyable

#endif  // UNCOPYABLE_FD_OWNERSHIP_H_
