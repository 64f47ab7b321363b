// uncopyable/internal/borrow.h: what statements and transactions share.
//
// A statement or transaction borrows its connection. The connection counts
// its borrowers and refuses (aborts) to be closed, moved or destroyed while
// any is alive, so a borrower never holds a dangling pointer.
#ifndef UNCOPYABLE_INTERNAL_BORROW_H_
#define UNCOPYABLE_INTERNAL_BORROW_H_

#include <atomic>
#include <utility>

#include "absl/status/status.h"
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

// BEGIN ... COMMIT on connection C, rolled back by the destructor unless
// commit() or rollback() ran. Committing or rolling back twice is misuse.
// C provides execute(sql), where() (for messages) and kTransactionName.
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
    if (connection_.get() != nullptr && !done_ &&
        connection_.get()->fork_generation_ == current_fork_generation()) {
      end("rollback()", "ROLLBACK").IgnoreError();
    }
  }

  [[nodiscard]] absl::Status commit() { return end("commit()", "COMMIT"); }
  [[nodiscard]] absl::Status rollback() { return end("rollback()", "ROLLBACK"); }

 private:
  friend C;
  explicit BasicTransaction(C* connection) : connection_(connection) {}

  absl::Status end(const char* operation, const char* sql) {
    UNCOPYABLE_CHECK(connection_.get() != nullptr, "%s::%s on a moved-from handle",
                     C::kTransactionName, operation);
    connection_.get()->checked(operation, C::kTransactionName);  // closed, or a forked child
    UNCOPYABLE_CHECK(!done_, "%s::%s on a transaction already committed or rolled back (%s)",
                     C::kTransactionName, operation, connection_.get()->where().c_str());
    done_ = true;
    absl::Status status = connection_.get()->execute(sql);
    // Optional: C may see to a COMMIT that failed but left the transaction
    // open (SQLite on SQLITE_BUSY), so it cannot outlive this object.
    if constexpr (requires(C& c) { c.transaction_end_failed(std::move(status)); }) {
      if (!status.ok()) status = connection_.get()->transaction_end_failed(std::move(status));
    }
    return status;
  }

  Borrow<C> connection_;
  bool done_ = false;
};

}  // namespace uncopyable::internal

#endif  // UNCOPYABLE_INTERNAL_BORROW_H_
