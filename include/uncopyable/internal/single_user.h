// uncopyable/internal/single_user.h: "one thread at a time", as a member.
//
// A PostgreSQL connection, or a SQLite connection opened without SQLite's own
// mutex, must not be used by two threads at once: libpq would hand one
// thread the other's rows, SQLite would corrupt its own state. Such a
// connection holds a SingleUser and enters it for each call that talks to the
// resource:
//
//   absl::Status PostgresConnection::execute(absl::string_view sql) {
//     internal::SingleUser::Scope in_use = user_.enter("PostgresConnection", "execute()", where_fn);
//     ...  // a second thread arriving meanwhile aborts, naming both threads
//   }
//
// A connection may move from thread to thread; only overlapping calls are
// misuse. Entering is one atomic exchange, leaving one store: nothing next to
// a round trip to a server or a sqlite3_step(). Cheap accessors that only
// read (a column of the current row) call check(), a single load.
#ifndef UNCOPYABLE_INTERNAL_SINGLE_USER_H_
#define UNCOPYABLE_INTERNAL_SINGLE_USER_H_

#include <sys/types.h>

#include <atomic>
#include <string>
#include <utility>

#include "absl/base/optimization.h"
#include "uncopyable/internal/process.h"

namespace uncopyable::internal {

// Aborts: `type`::`operation` was called by `thread` while `other` was in a
// call on the same resource, `where` naming it.
[[noreturn]] void used_by_two_threads(const char* type, const char* operation, pid_t thread,
                                      pid_t other, const std::string& where);

// Aborts: a handle was moved by this thread while `other` was in a call on it.
[[noreturn]] void moved_while_in_use(pid_t other);

class SingleUser {
 public:
  SingleUser() = default;
  // A handle moves between calls, never during one: the new owner starts
  // with no user. Moving from (or assigning to) a handle that another thread
  // is inside a call on aborts, naming both threads: that thread would go on
  // using a resource that now has another owner.
  SingleUser(SingleUser&& other) noexcept { other.check_not_in_use(); }
  SingleUser& operator=(SingleUser&& other) noexcept {
    check_not_in_use();
    other.check_not_in_use();
    return *this;
  }
  SingleUser(const SingleUser&) = delete;
  SingleUser& operator=(const SingleUser&) = delete;

  // Marks this thread as the user until the Scope ends; a call nested in
  // another of the same thread (a transaction's COMMIT) is fine.
  class [[nodiscard]] Scope {
   public:
    Scope(Scope&&) = delete;
    Scope& operator=(Scope&&) = delete;
    ~Scope() {
      if (user_ != nullptr) user_->store(previous_, std::memory_order_release);
    }

   private:
    friend class SingleUser;
    Scope(std::atomic<pid_t>* user, pid_t previous) : user_(user), previous_(previous) {}
    std::atomic<pid_t>* user_;
    pid_t previous_;
  };

  // `where` is called only to build the abort message.
  template <typename Where>
  Scope enter(const char* type, const char* operation, Where&& where) {
    const pid_t self = this_thread();
    const pid_t previous = user_.exchange(self, std::memory_order_acquire);
    if (ABSL_PREDICT_FALSE(previous != 0 && previous != self)) {
      used_by_two_threads(type, operation, self, previous, std::forward<Where>(where)());
    }
    return Scope(&user_, previous);
  }

  // Aborts if another thread is inside a call right now.
  template <typename Where>
  void check(const char* type, const char* operation, Where&& where) const {
    const pid_t user = user_.load(std::memory_order_relaxed);
    if (ABSL_PREDICT_FALSE(user != 0) && user != this_thread()) {
      used_by_two_threads(type, operation, this_thread(), user, std::forward<Where>(where)());
    }
  }

  // Enters nothing: for a resource that may be shared (SQLite serialized).
  static Scope unchecked() { return Scope(nullptr, 0); }

 private:
  void check_not_in_use() const {
    const pid_t user = user_.load(std::memory_order_acquire);
    if (ABSL_PREDICT_FALSE(user != 0) && user != this_thread()) moved_while_in_use(user);
  }

  std::atomic<pid_t> user_{0};
};

}  // namespace uncopyable::internal

#endif  // UNCOPYABLE_INTERNAL_SINGLE_USER_H_
