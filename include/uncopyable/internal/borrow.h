// uncopyable/internal/borrow.h: what the transactions of both databases
// share.
//
// A statement or transaction borrows its connection through an
// internal::Borrowed<Connection> (rules.h): the connection's Lender counts
// it and aborts a close, move or destruction of the connection while it is
// alive, so a borrower never holds a dangling pointer.
#ifndef UNCOPYABLE_INTERNAL_BORROW_H_
#define UNCOPYABLE_INTERNAL_BORROW_H_

#include <string>

#include "absl/base/optimization.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "uncopyable/check.h"
#include "uncopyable/internal/message.h"
#include "uncopyable/internal/rules.h"

namespace uncopyable::internal {

// The Status of a commit() or rollback() (`verb`) whose transaction other
// SQL on the connection (a COMMIT or ROLLBACK run with execute()) ended
// already:
//   commit sqlite "app.db": no transaction is open any more: ...
inline absl::Status ended_elsewhere(const std::string& resource, const char* verb,
                                    const char* sql) {
  return error_on(absl::StatusCode::kFailedPrecondition, verb, resource,
                  absl::StrCat("no transaction is open any more: other SQL on this connection (a "
                               "COMMIT or ROLLBACK run with execute()) ended it, so ",
                               sql, " would end nothing of this one"));
}

// BEGIN ... COMMIT on connection C, rolled back by the destructor unless
// commit() or rollback() ran. Committing or rolling back twice is misuse.
//
// `Self` is the transaction type (SQLite's Transaction, PostgresTransaction),
// derived from this, with its own `static constexpr char kName[]`: misuse
// lines name it ("Transaction::commit() ..."). C provides resource(), a
// `ProcessBound process_`, a `bool transaction_live_` that says one of these
// is alive (so that its begin() refuses a second), and
//   absl::Status end_transaction(const char* type, const char* operation,
//                                const char* verb, const char* sql);
// which ends the transaction with `sql` (COMMIT or ROLLBACK) unless other
// SQL (a COMMIT or ROLLBACK run through execute()) ended it already: then it
// says FailedPrecondition (ended_elsewhere()), and never ends a transaction
// begun later. Errors read "commit <resource>: <what>".
template <typename C, typename Self>
class BasicTransaction {
 public:
  // Moving keeps the one borrow of the connection (see Borrowed).
  BasicTransaction(BasicTransaction&&) noexcept = default;
  // Not assignable: assigning over a live transaction would have to roll it
  // back inside operator=, where the ROLLBACK's error (a lost server, a
  // timeout) could not be reported and a round trip to the server would hide
  // in an `=`. And there is nothing live to assign from: a connection has
  // one transaction at a time. End one with commit() or rollback(), or hold
  // it in a std::optional and emplace() the next.
  BasicTransaction& operator=(BasicTransaction&&) = delete;
  BasicTransaction(const BasicTransaction&) = delete;
  BasicTransaction& operator=(const BasicTransaction&) = delete;
  // Rolls back if still open; an error here is lost (call rollback()). In a
  // fork()ed child it does nothing: the session is the parent's.
  ~BasicTransaction() {
    C* connection = connection_.get();
    if (connection == nullptr || done_) return;
    if (connection->process_.here()) {
      end("rollback()", "rollback", "ROLLBACK").IgnoreError();
    } else {
      connection->transaction_live_ = false;  // the child's copy only
    }
  }

  [[nodiscard]] absl::Status commit() { return end("commit()", "commit", "COMMIT"); }
  [[nodiscard]] absl::Status rollback() { return end("rollback()", "rollback", "ROLLBACK"); }

  // Its connection's resource, as messages name it ("" once moved from).
  std::string resource() const {
    const C* connection = connection_.get();
    return connection != nullptr ? connection->resource() : std::string();
  }

 protected:
  explicit BasicTransaction(C* connection) : connection_(connection) {
    connection->transaction_live_ = true;
    connection->transaction_lost_ = false;
  }

 private:
  absl::Status end(const char* operation, const char* verb, const char* sql) {
    const Self& self = static_cast<const Self&>(*this);
    C* connection = connection_.get();
    if (ABSL_PREDICT_FALSE(connection == nullptr)) {
      misuse_on(Self::kName, operation, "", "on a moved-from handle");
    }
    connection->checked(operation, self);  // closed, or a forked child
    if (ABSL_PREDICT_FALSE(done_)) {
      misuse_on(Self::kName, operation, self.resource(),
                "on a transaction already committed or rolled back");
    }
    done_ = true;
    connection->transaction_live_ = false;
    return connection->end_transaction(Self::kName, operation, verb, sql);
  }

  Borrowed<C> connection_;
  bool done_ = false;
};

}  // namespace uncopyable::internal

#endif  // UNCOPYABLE_INTERNAL_BORROW_H_
