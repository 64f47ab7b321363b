// uncopyable/internal/named_fd.h: an Fd that names the handle it is a member
// of as its descriptor's owner (uncopyable/fd_ownership.h), again after every
// move, so that the handle's own moves can be `= default`.
//
//   class File {
//     ...
//     File(File&&) noexcept = default;
//    private:
//     internal::NamedFd<File> fd_{this};  // "owned by File (file "/tmp/t")"
//   };
//
// The ownership table keeps the owner's address and reads it only to print
// a message, with Owner::resource(); Owner::kName is the type it names. A
// handle that moves must name itself again at its new address: this member
// does it in its own moves (one atomic store each), as Lender does its check.
#ifndef UNCOPYABLE_INTERNAL_NAMED_FD_H_
#define UNCOPYABLE_INTERNAL_NAMED_FD_H_

#include <string>
#include <utility>

#include "uncopyable/fd.h"
#include "uncopyable/fd_ownership.h"
#include "uncopyable/internal/rules.h"

namespace uncopyable::internal {

template <typename Owner>
class NamedFd : MemberOf<Owner> {
 public:
  // Holds nothing yet.
  explicit NamedFd(const Owner* owner) noexcept : MemberOf<Owner>(owner) {}
  // Owns `fd`, named as `owner`'s.
  NamedFd(const Owner* owner, Fd fd) noexcept : MemberOf<Owner>(owner), fd_(std::move(fd)) {
    name();
  }
  NamedFd(NamedFd&& other) noexcept : MemberOf<Owner>(other), fd_(std::move(other.fd_)) { name(); }
  // Closes what it held (quietly), then owns `other`'s descriptor.
  NamedFd& operator=(NamedFd&& other) noexcept {
    fd_ = std::move(other.fd_);
    name();
    return *this;
  }
  NamedFd(const NamedFd&) = delete;
  NamedFd& operator=(const NamedFd&) = delete;
  ~NamedFd() = default;

  Fd& operator*() noexcept { return fd_; }
  const Fd& operator*() const noexcept { return fd_; }
  Fd* operator->() noexcept { return &fd_; }
  const Fd* operator->() const noexcept { return &fd_; }

 private:
  static std::string describe(const void* owner) {
    return static_cast<const Owner*>(owner)->resource();
  }
  static constexpr FdOwnerKind kKind{Owner::kName, &describe};
  void name() noexcept { fd_.set_owner(kKind, &this->owner()); }

  Fd fd_;
};

}  // namespace uncopyable::internal

#endif  // UNCOPYABLE_INTERNAL_NAMED_FD_H_
