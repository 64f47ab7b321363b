// uncopyable/internal/rules.h: a handle's invariants, each written once, as
// a member.
//
// A handle is its owner (a UniqueHandle, or several), its config, and the
// rules that must hold while it lives. Each rule is a small member type
// whose move and destructor do the checking, so that the handle's own move
// constructor and assignment are `= default` and no handle writes a rule by
// hand:
//
//   class File {
//     ...
//     File(File&&) noexcept = default;             // the members check
//     File& operator=(File&&) noexcept = default;
//    private:
//     internal::Lender<File> locks_{this};         // "no FileLock alive"
//     Fd fd_;
//     FileConfig config_;
//     internal::ProcessBound process_;             // "not in a forked child"
//   };
//
// The rules name the handle in their abort lines through the handle itself:
// a handle that holds a Lender or MoveGuard provides
//
//   static constexpr char kName[] = "File";  // the type, as messages say it
//   std::string resource() const;            // file "/tmp/t" (only when aborting)
//
// and the line reads "uncopyable: File::File(File&&) while 1 FileLock(s) on
// it are alive (file "/tmp/t")", in the one grammar of check.h's misuse_on().
//
// The thread rule ("one thread in a call at a time") is internal::SingleUser
// (single_user.h); it is a member the same way.
//
// Self-move-assignment (`file = std::move(file)`) is left as the standard
// library leaves its own types: valid, but with unspecified contents. The
// resource is safe whatever happens (UniqueHandle and Fd ignore a move onto
// themselves, so it stays owned and is closed exactly once), and the rules
// check it as any assignment (a held Mutex aborts); but a config's strings
// may come out empty (libstdc++'s std::string does that), so config() and
// the messages of such a handle may no longer name its resource. State that
// keeps a handle safe is held in a Kept<T>, which a self-move leaves alone.
#ifndef UNCOPYABLE_INTERNAL_RULES_H_
#define UNCOPYABLE_INTERNAL_RULES_H_

#include <sys/types.h>
#include <unistd.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>

#include "absl/base/optimization.h"
#include "absl/status/status.h"
#include "uncopyable/check.h"
#include "uncopyable/internal/process.h"
#include "uncopyable/unique_handle.h"

namespace uncopyable::internal {

// A member that a self-move-assignment leaves as it was: std::string and
// std::vector empty themselves when moved onto themselves, which is harmless
// for most of a handle's state but not for state that keeps it safe (a
// connection retired after a timeout must stay retired). Otherwise it is a T.
template <typename T>
struct Kept : T {
  using T::T;
  using T::operator=;
  Kept() = default;
  Kept(const T& value) : T(value) {}                     // implicit: a Kept<T> is a T
  Kept(T&& value) noexcept : T(std::move(value)) {}      // implicit too
  Kept(const Kept&) = default;
  Kept(Kept&&) noexcept = default;
  Kept& operator=(const Kept&) = default;
  Kept& operator=(Kept&& other) noexcept {
    if (this != &other) T::operator=(std::move(static_cast<T&>(other)));
    return *this;
  }
  ~Kept() = default;
};

// When a rule is checked.
enum class Moment { kMoveConstruction, kMoveAssignment, kDestruction };

// "File(File&&)", "operator=(File&&)", "~File()": `moment` as an operation of
// `Owner`, for an abort line.
template <typename Owner>
std::string operation_at(Moment moment) {
  switch (moment) {
    case Moment::kMoveConstruction:
      return std::string(Owner::kName) + "(" + Owner::kName + "&&)";
    case Moment::kMoveAssignment:
      return std::string("operator=(") + Owner::kName + "&&)";
    case Moment::kDestruction:
      return std::string("~") + Owner::kName + "()";
  }
  return "?";
}

// A member that can find the handle it is a member of. The distance from a
// handle to one of its members is the same in every object of the handle's
// type, so it is measured once, when the handle is made, and copied by every
// move: the member of a moved-to handle finds the moved-to handle.
template <typename Owner>
class MemberOf {
 protected:
  explicit MemberOf(const Owner* owner) noexcept
      : offset_(reinterpret_cast<const char*>(this) - reinterpret_cast<const char*>(owner)) {}
  MemberOf(const MemberOf&) noexcept = default;
  MemberOf& operator=(const MemberOf&) noexcept = default;
  ~MemberOf() = default;

  const Owner& owner() const noexcept {
    return *reinterpret_cast<const Owner*>(reinterpret_cast<const char*>(this) - offset_);
  }

 private:
  std::ptrdiff_t offset_;
};

// "No borrower alive": the count of borrowers (a FileLock of a File, the
// Statements and Transactions of a connection) kept by the handle they
// borrow. Moving the handle, assigning to it, or destroying it while the
// count is not zero aborts, since each borrower holds the handle's address;
// call require_none() in close(). The count is atomic: a connection shared
// by threads (SQLite serialized) lends from several at once.
//
// Its own destructor runs after the handle's other members are gone (it is
// declared first, so that a move checks before anything moves), so its line
// cannot name the resource: a handle whose line should, calls
// `lender_.require_none("~File()")` at the top of its own destructor.
//
// `Owner::kBorrowers` names the borrowers in the line: "FileLock(s) on it".
template <typename Owner>
class Lender : MemberOf<Owner> {
 public:
  explicit Lender(const Owner* owner) noexcept : MemberOf<Owner>(owner) {}
  // The moved-to handle has no borrowers: the moved-from one may have none.
  Lender(Lender&& other) noexcept : MemberOf<Owner>(other) {
    other.require_none_at([] { return operation_at<Owner>(Moment::kMoveConstruction); });
  }
  Lender& operator=(Lender&& other) noexcept {
    if (this == &other) return *this;  // a self-move moves nothing: no borrower dangles
    require_none_at([] { return operation_at<Owner>(Moment::kMoveAssignment); });
    other.require_none_at([] { return operation_at<Owner>(Moment::kMoveAssignment); });
    return *this;
  }
  Lender(const Lender&) = delete;
  Lender& operator=(const Lender&) = delete;
  ~Lender() {
    const int borrowers = count();
    if (ABSL_PREDICT_FALSE(borrowers != 0)) {
      misuse_on(Owner::kName, operation_at<Owner>(Moment::kDestruction).c_str(), "",
                "while %d %s %s alive; they must end first", borrowers, Owner::kBorrowers,
                borrowers == 1 ? "is" : "are");
    }
  }

  // Aborts if a borrower is alive, naming `operation` ("close()").
  void require_none(const char* operation) const noexcept {
    require_none_at([operation] { return std::string(operation); });
  }

  // How many borrowers are alive now.
  [[nodiscard]] int count() const noexcept { return count_.load(std::memory_order_acquire); }

  // For Borrowed<Owner>.
  void lend() noexcept { count_.fetch_add(1, std::memory_order_relaxed); }
  void take_back() noexcept { count_.fetch_sub(1, std::memory_order_release); }

 private:
  template <typename Operation>
  void require_none_at(Operation&& operation) const noexcept {
    const int borrowers = count();
    if (ABSL_PREDICT_FALSE(borrowers != 0)) {
      const Owner& owner = this->owner();
      misuse_on(Owner::kName, operation().c_str(), owner.resource(),
                "while %d %s %s alive; they must end first", borrowers, Owner::kBorrowers,
                borrowers == 1 ? "is" : "are");
    }
  }

  std::atomic<int> count_{0};
};

// The owner of one borrow of an `Owner`: counted by the Owner's Lender while
// it lives. A borrower (a Statement) holds one as a member and reaches the
// handle it borrows with get(). Owner must let BorrowTraits<Owner> reach its
// Lender: `friend struct internal::BorrowTraits<Owner>;` and a member
// `Lender<Owner> lender_`.
template <typename Owner>
struct BorrowTraits : AddressTraits {
  static constexpr std::string_view kName = "Borrow";
  static uintptr_t lend(Owner* owner) noexcept {
    owner->lender_.lend();
    return reinterpret_cast<uintptr_t>(owner);
  }
  static absl::Status close(uintptr_t owner) {
    close_quietly(owner);
    return absl::OkStatus();
  }
  static void close_quietly(uintptr_t owner) noexcept {
    reinterpret_cast<Owner*>(owner)->lender_.take_back();
  }
};

template <typename Owner>
class Borrowed {
 public:
  // Counts one more borrower of `owner`, which must outlive this.
  explicit Borrowed(Owner* owner) noexcept
      : handle_(BorrowTraits<Owner>::lend(owner)) {}
  // The handle borrowed, or nullptr once moved from or returned.
  [[nodiscard]] Owner* get() const noexcept {
    return handle_.is_valid() ? reinterpret_cast<Owner*>(handle_.get()) : nullptr;
  }
  // The handle borrowed, without the check: only where the borrower has
  // already checked that it holds its borrow (a moved-from borrower holds
  // none, and this is then not an address).
  [[nodiscard]] Owner* get_unchecked() const noexcept {
    return reinterpret_cast<Owner*>(handle_.get_unchecked());
  }
  // Stops borrowing now (the destructor would).
  void give_back() noexcept { handle_.reset(); }

 private:
  UniqueHandle<BorrowTraits<Owner>> handle_;
};

// "Not in a forked child": the process a handle was made in. A fork()ed
// child has a copy of every handle of its parent; what a handle holds (a
// session, a lock, a child process, a file to remove) belongs to the parent,
// and the child must neither use it nor end it. Moves copy it.
//
// Two ways to ask. here() compares a fork counter that fork()'s handlers
// advance in the child: a load and a compare, for the checks on every call.
// here_surely() also compares the process id, so it sees a child that no
// fork handler ran in (made by _Fork(), vfork, or a raw clone system call,
// as sandboxes and some runtimes do): the decisions that end something the
// parent may still be using (unlocking, removing a file, killing a child
// process, closing a session) use it, once each. It needs the id recorded
// when the handle was made, which costs a getpid() system call: only the
// owners of such a decision pay it (ProcessBound::with_pid()); for the
// others, here_surely() is here().
class ProcessBound {
 public:
  ProcessBound() noexcept : generation_((watch_forks(), current_fork_generation())) {}

  // Records the process id too, for here_surely().
  [[nodiscard]] static ProcessBound with_pid() noexcept {
    ProcessBound bound;
    bound.pid_ = ::getpid();
    return bound;
  }

  // Whether this is, as far as fork()'s handlers know, the process the
  // handle was made in.
  [[nodiscard]] bool here() const noexcept {
    return generation_ == current_fork_generation();
  }

  // Whether this is the process the handle was made in, whatever made the
  // child (with_pid() only; otherwise the same as here()): a getpid()
  // system call more than here().
  [[nodiscard]] bool here_surely() const noexcept {
    return here() && (pid_ == 0 || pid_ == ::getpid());
  }

  // Aborts, naming `owner` and `operation`, in a forked child.
  template <typename Owner>
  void check(const Owner& owner, const char* operation) const {
    if (ABSL_PREDICT_FALSE(!here())) {
      misuse_on(Owner::kName, operation, owner.resource(),
                "in a fork()ed child on what its parent made; the child must rebuild() its own "
                "from config()");
    }
  }

 private:
  uint32_t generation_;
  pid_t pid_ = 0;  // 0: not recorded
};

// Any other rule a handle must check before it is moved from or assigned to
// (a Mutex must not be held then): calls
//   static void Owner::check_move(const Owner& owner, Moment moment);
// (for both sides of an assignment) before anything moves; it builds its
// abort line with operation_at<Owner>(moment). Declare it first among the
// members, so that it runs before the others move. It cannot check the
// destructor (it is destroyed last, after what it would look at): the
// handle's destructor calls check_move(*this, Moment::kDestruction) itself.
template <typename Owner>
class MoveGuard : MemberOf<Owner> {
 public:
  explicit MoveGuard(const Owner* owner) noexcept : MemberOf<Owner>(owner) {}
  MoveGuard(MoveGuard&& other) noexcept : MemberOf<Owner>(other) {
    Owner::check_move(other.owner(), Moment::kMoveConstruction);
  }
  MoveGuard& operator=(MoveGuard&& other) noexcept {
    Owner::check_move(this->owner(), Moment::kMoveAssignment);
    Owner::check_move(other.owner(), Moment::kMoveAssignment);
    return *this;
  }
  MoveGuard(const MoveGuard&) = delete;
  MoveGuard& operator=(const MoveGuard&) = delete;
  ~MoveGuard() = default;
};

}  // namespace uncopyable::internal

#endif  // UNCOPYABLE_INTERNAL_RULES_H_
