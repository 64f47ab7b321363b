// uncopyable/internal/single_user.h: "one thread at a time", as a member.
//
// A PostgreSQL connection, or a SQLite connection opened without SQLite's own
// mutex, must not be used by two threads at once: libpq would hand one
// thread the other's rows, SQLite would corrupt its own state. Such a
// connection holds a SingleUser and enters it for each call that talks to the
// resource:
//
//   class PostgresConnection {
//     ...
//     internal::SingleUser<PostgresConnection> user_{this};
//   };
//   absl::Status PostgresConnection::execute(absl::string_view sql) {
//     auto in_use = user_.enter(kName, "execute()");
//     ...  // a second thread arriving meanwhile aborts, naming both threads
//   }
//
// A connection may move from thread to thread; only overlapping calls are
// misuse. The abort line names the handle and its resource through the
// handle it is a member of (Owner::kName, Owner::resource(), as the rules of
// rules.h do):
//
//   uncopyable: PostgresConnection::query() by thread 12 while thread 11 is
//   in a call on it; a connection serves one thread at a time (postgresql ...)
//
// Entering is one atomic exchange, leaving one store: nothing next to a round
// trip to a server or a sqlite3_step(). Cheap accessors that only read (a
// column of the current row) call check(), a single load.
#ifndef UNCOPYABLE_INTERNAL_SINGLE_USER_H_
#define UNCOPYABLE_INTERNAL_SINGLE_USER_H_

#include <sys/types.h>

#include <atomic>
#include <string>

#include "absl/base/attributes.h"
#include "absl/base/optimization.h"
#include "uncopyable/internal/process.h"
#include "uncopyable/internal/rules.h"

namespace uncopyable::internal {

// The Scope of one call: marks its thread as the user until it ends. A call
// nested in another of the same thread (a transaction's COMMIT) is fine.
class [[nodiscard]] SingleUserScope {
 public:
  SingleUserScope(SingleUserScope&&) = delete;
  SingleUserScope& operator=(SingleUserScope&&) = delete;
  ~SingleUserScope() {
    if (user_ != nullptr) user_->store(previous_, std::memory_order_release);
  }

  // Enters nothing: for a resource that may be shared (SQLite serialized).
  static SingleUserScope unchecked() { return SingleUserScope(nullptr, 0); }

 private:
  template <typename Owner>
  friend class SingleUser;
  SingleUserScope(std::atomic<pid_t>* user, pid_t previous) : user_(user), previous_(previous) {}
  std::atomic<pid_t>* user_;
  pid_t previous_;
};

// `Owner` provides `static constexpr char kName[]` and
// `std::string resource() const` (called only when aborting).
template <typename Owner>
class SingleUser : MemberOf<Owner> {
 public:
  using Scope = SingleUserScope;

  explicit SingleUser(const Owner* owner) noexcept : MemberOf<Owner>(owner) {}
  // A handle moves between calls, never during one: the new owner starts
  // with no user. Moving from (or assigning to) a handle that another thread
  // is inside a call on aborts, naming both threads, the move and the
  // resource: that thread would go on using a resource that now has another
  // owner. Declare it before the members resource() reads, so that it checks
  // before they move.
  SingleUser(SingleUser&& other) noexcept : MemberOf<Owner>(other) {
    other.check_not_in_use(Moment::kMoveConstruction);
  }
  SingleUser& operator=(SingleUser&& other) noexcept {
    check_not_in_use(Moment::kMoveAssignment);
    other.check_not_in_use(Moment::kMoveAssignment);
    return *this;
  }
  SingleUser(const SingleUser&) = delete;
  SingleUser& operator=(const SingleUser&) = delete;
  ~SingleUser() = default;

  // Marks this thread as the user until the Scope ends; `type` is the handle
  // the call is on (the Owner, or a Statement of it).
  Scope enter(const char* type, const char* operation) {
    const pid_t self = this_thread();
    const pid_t previous = user_.exchange(self, std::memory_order_acquire);
    if (ABSL_PREDICT_FALSE(previous != 0 && previous != self)) {
      two_threads(type, operation, self, previous);
    }
    return Scope(&user_, previous);
  }

  // Aborts if another thread is inside a call right now.
  void check(const char* type, const char* operation) const {
    const pid_t user = user_.load(std::memory_order_relaxed);
    if (ABSL_PREDICT_FALSE(user != 0) && user != this_thread()) {
      two_threads(type, operation, this_thread(), user);
    }
  }

 private:
  void check_not_in_use(Moment moment) const {
    const pid_t user = user_.load(std::memory_order_acquire);
    if (ABSL_PREDICT_FALSE(user != 0) && user != this_thread()) {
      two_threads(Owner::kName, operation_at<Owner>(moment).c_str(), this_thread(), user);
    }
  }

  // Out of line, so that the checks above stay small enough to inline into
  // every column accessor: the line's resource() is built only here.
  [[noreturn]] ABSL_ATTRIBUTE_NOINLINE ABSL_ATTRIBUTE_COLD void two_threads(
      const char* type, const char* operation, pid_t thread, pid_t other) const {
    used_by_two_threads(type, operation, thread, other, this->owner().resource());
  }

  std::atomic<pid_t> user_{0};
};

}  // namespace uncopyable::internal

#endif  // UNCOPYABLE_INTERNAL_SINGLE_USER_H_
