// uncopyable/internal/borrow.h: what statements and transactions share.
//
// A statement or transaction borrows its connection. The connection counts
// its borrowers and refuses (aborts) to be closed, moved or destroyed while
// any is alive, so a borrower never holds a dangling pointer.
#ifndef UNCOPYABLE_INTERNAL_BORROW_H_
#define UNCOPYABLE_INTERNAL_BORROW_H_

#include <atomic>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "uncopyable/check.h"
#include "uncopyable/internal/process.h"

namespace uncopyable::internal {

// A counted pointer to connection C, which lets Borrow<C> touch its
// `std::atomic<int> borrows_`: atomic, since a connection that may be shared
// between threads (SQLite serialized) has statements made and dropped by
// several at once.
template <typename C>
class Borrow {
 public:
  explicit Borrow(C* connection) : connection_(connection) {
    connection_->borrows_.fetch_add(1, std::memory_order_relaxed);
  }
  Borrow(Borrow&& other) noexcept : connection_(std::exchange(other.connection_, nullptr)) {}
  Borrow& operator=(Borrow&& other) noexcept {
    if (this != &other) {
      release();
      connection_ = std::exchange(other.connection_, nullptr);
    }
    return *this;
  }
  Borrow(const Borrow&) = delete;
  Borrow& operator=(const Borrow&) = delete;
  ~Borrow() { release(); }

  C* get() const { return connection_; }

 private:
  void release() {
    if (connection_ != nullptr) {
      std::exchange(connection_, nullptr)->borrows_.fetch_sub(1, std::memory_order_release);
    }
  }
  C* connection_;
};

// The Status of a commit() or rollback() whose transaction other SQL on the
// connection (a COMMIT or ROLLBACK run with execute()) ended already.
inline absl::Status ended_elsewhere(const std::string& where, const char* sql) {
  return absl::FailedPreconditionError(absl::StrCat(
      where, ": no transaction is open any more: other SQL on this connection (a COMMIT or "
             "ROLLBACK run with execute()) ended it, so ",
      sql, " would end nothing of this one"));
}

// BEGIN ... COMMIT on connection C, rolled back by the destructor unless
// commit() or rollback() ran. Committing or rolling back twice is misuse.
// C provides execute(sql), where() (for messages), kTransactionName,
// transaction_open() (whether the server still has a transaction open) and
// a `bool transaction_live_` that says one of these is alive, so that its
// begin() refuses a second. A transaction ended behind its back (a COMMIT or
// ROLLBACK run through execute()) is not ended again: commit() and
// rollback() then say FailedPrecondition, and can never end a transaction
// begun later. Errors name the transaction: "PostgresTransaction::commit():
// <where>: ...".
template <typename C>
class BasicTransaction {
 public:
  BasicTransaction(BasicTransaction&&) noexcept = default;
  BasicTransaction& operator=(BasicTransaction&&) = delete;
  BasicTransaction(const BasicTransaction&) = delete;
  BasicTransaction& operator=(const BasicTransaction&) = delete;
  // Rolls back if still open; an error here is lost (call rollback()). In a
  // fork()ed child it does nothing: the session is the parent's.
  ~BasicTransaction() {
    if (connection_.get() == nullptr || done_) return;
    if (connection_.get()->fork_generation_ == current_fork_generation()) {
      end("rollback()", "ROLLBACK").IgnoreError();
    } else {
      connection_.get()->transaction_live_ = false;  // the child's copy only
    }
  }

  [[nodiscard]] absl::Status commit() { return end("commit()", "COMMIT"); }
  [[nodiscard]] absl::Status rollback() { return end("rollback()", "ROLLBACK"); }

 private:
  friend C;
  explicit BasicTransaction(C* connection) : connection_(connection) {
    connection->transaction_live_ = true;
    connection->transaction_lost_ = false;
  }

  absl::Status end(const char* operation, const char* sql) {
    UNCOPYABLE_CHECK(connection_.get() != nullptr, "%s::%s on a moved-from handle",
                     C::kTransactionName, operation);
    C* connection = connection_.get();
    connection->checked(operation, C::kTransactionName);  // closed, or a forked child
    UNCOPYABLE_CHECK(!done_, "%s::%s on a transaction already committed or rolled back (%s)",
                     C::kTransactionName, operation, connection->where().c_str());
    done_ = true;
    connection->transaction_live_ = false;
    absl::Status status;
    // Optional: C may end it its own way (SQLite holds the connection for
    // the check, the COMMIT and the ROLLBACK after a failed one).
    if constexpr (requires(C& c) { c.end_transaction(operation, sql); }) {
      status = connection->end_transaction(operation, sql);
    } else if (!connection->transaction_open()) {
      status = ended_elsewhere(connection->where(), sql);
    } else {
      status = connection->execute(sql);
    }
    if (status.ok()) return status;
    return absl::Status(status.code(), absl::StrCat(C::kTransactionName, "::", operation, ": ",
                                                    status.message()));
  }

  Borrow<C> connection_;
  bool done_ = false;
};

}  // namespace uncopyable::internal

#endif  // UNCOPYABLE_INTERNAL_BORROW_H_
