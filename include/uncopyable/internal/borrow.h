// uncopyable/internal/borrow.h: what the transactions and savepoints of both
// databases share.
//
// A statement or transaction borrows its connection through an
// internal::Borrowed<Connection> (rules.h): the connection's Lender counts
// it and aborts a close, move or destruction of the connection while it is
// alive, so a borrower never holds a dangling pointer. A savepoint borrows
// its transaction (and its outer savepoint, if it is nested) the same way.
#ifndef UNCOPYABLE_INTERNAL_BORROW_H_
#define UNCOPYABLE_INTERNAL_BORROW_H_

#include <cstddef>
#include <optional>
#include <string>
#include <utility>

#include "absl/base/optimization.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "uncopyable/check.h"
#include "uncopyable/internal/message.h"
#include "uncopyable/internal/quote.h"
#include "uncopyable/internal/rules.h"

namespace uncopyable::internal {

// The Status of a commit(), rollback() or savepoint operation (`verb`) whose
// transaction other SQL on the connection (a COMMIT or ROLLBACK run with
// execute()) ended already; `so` says what follows:
//   commit sqlite "app.db": no transaction is open any more: ..., so COMMIT
//   would end nothing of this one
inline absl::Status ended_elsewhere(const std::string& resource, const char* verb,
                                    absl::string_view so) {
  return error_on(absl::StatusCode::kFailedPrecondition, verb, resource,
                  absl::StrCat("no transaction is open any more: other SQL on this connection (a "
                               "COMMIT or ROLLBACK run with execute()) ended it, so ",
                               so));
}

// The longest savepoint name: PostgreSQL's identifiers (NAMEDATALEN - 1).
inline constexpr size_t kMaxSavepointName = 63;

// InvalidArgument unless `name` is an SQL identifier of at most 63 bytes,
// [A-Za-z_][A-Za-z0-9_]*:
//   savepoint sqlite "app.db": the savepoint name "a b" is not an SQL
//   identifier ([A-Za-z_][A-Za-z0-9_]*, at most 63 bytes)
inline absl::Status check_savepoint_name(absl::string_view name, const std::string& resource) {
  const auto letter = [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
  };
  bool valid = !name.empty() && name.size() <= kMaxSavepointName && letter(name[0]);
  for (size_t i = 1; valid && i < name.size(); ++i) {
    valid = letter(name[i]) || (name[i] >= '0' && name[i] <= '9');
  }
  if (ABSL_PREDICT_TRUE(valid)) return absl::OkStatus();
  return error_on(absl::StatusCode::kInvalidArgument, "savepoint", resource,
                  absl::StrCat("the savepoint name ", internal::quoted(name),
                               " is not an SQL identifier ([A-Za-z_][A-Za-z0-9_]*, at most ",
                               kMaxSavepointName, " bytes)"));
}

template <typename Transaction, typename Self>
class BasicSavepoint;

// BEGIN ... COMMIT on connection C, rolled back by the destructor unless
// commit() or rollback() ran. Committing or rolling back twice is misuse.
// It lends itself to its savepoints (`SavepointT`, made by savepoint()):
// committing, rolling back, moving or destroying it while one is alive is
// misuse.
//
// `Self` is the transaction type (SQLite's Transaction, PostgresTransaction),
// derived from this, with its own `static constexpr char kName[]` (misuse
// lines name it: "Transaction::commit() ...") and `kBorrowers[]` ("Savepoint(s)
// on it"). C provides resource(), a `ProcessBound process_`, a `bool
// transaction_live_` that says one of these is alive (so that its begin()
// refuses a second), and
//   absl::Status end_transaction(const char* type, const char* operation,
//                                const char* verb, const char* sql);
// which ends the transaction with `sql` (COMMIT or ROLLBACK) unless other
// SQL (a COMMIT or ROLLBACK run through execute()) ended it already: then it
// says FailedPrecondition (ended_elsewhere()), and never ends a transaction
// begun later. Errors read "commit <resource>: <what>". For the savepoints,
// C also provides
//   absl::Status savepoint_command(const char* type, const char* operation,
//                                  const char* verb, const std::string& sql,
//                                  absl::string_view so);
// which runs `sql` (SAVEPOINT, RELEASE, ROLLBACK TO) in the open
// transaction, or says ended_elsewhere(resource, verb, so) if other SQL
// ended it.
template <typename C, typename Self, typename SavepointT>
class BasicTransaction {
 public:
  using connection_type = C;

  // Moving keeps the one borrow of the connection (see Borrowed); moving it
  // while a savepoint is alive aborts (the savepoint holds its address).
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
  // fork()ed child it does nothing: the session is the parent's. A savepoint
  // still alive is misuse.
  ~BasicTransaction() {
    if (ABSL_PREDICT_FALSE(lender_.count() != 0)) {
      lender_.require_none(operation_at<Self>(Moment::kDestruction).c_str());
    }
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

  // SAVEPOINT "<name>": a savepoint inside this transaction (see the
  // savepoint types). One at a time: a second while one is alive is misuse
  // (the server would nest it inside the first; make it with that one's
  // savepoint() instead).
  [[nodiscard]] absl::StatusOr<SavepointT> savepoint(absl::string_view name) {
    live("savepoint()");
    if (ABSL_PREDICT_FALSE(lender_.count() != 0)) {
      SavepointT::nested_wrongly(static_cast<const Self&>(*this), lender_.count());
    }
    return SavepointT::make(static_cast<Self*>(this), nullptr, name, Self::kName);
  }

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
  template <typename, typename>
  friend class BasicSavepoint;
  friend struct BorrowTraits<Self>;

  // The connection, after the checks every operation makes: not moved from,
  // the connection open and this process's, not committed or rolled back.
  C* live(const char* operation) const {
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
    return connection;
  }

  absl::Status end(const char* operation, const char* verb, const char* sql) {
    C* connection = live(operation);
    lender_.require_none(operation);
    done_ = true;
    connection->transaction_live_ = false;
    return connection->end_transaction(Self::kName, operation, verb, sql);
  }

  // First: it checks before anything moves. The owner is the transaction
  // type itself (this is its only base), so that the lines name it.
  Lender<Self> lender_{static_cast<const Self*>(this)};
  Borrowed<C> connection_;
  bool done_ = false;
};

// SAVEPOINT "<name>" ... RELEASE inside a transaction, rolled back to by the
// destructor unless release() or rollback() ran. Made by a transaction's
// savepoint(), or nested by a savepoint's savepoint().
//
// It borrows its transaction (every savepoint does, nested or not) and, if
// nested, its outer savepoint, until it is released or rolled back (or
// destroyed); it lends itself to its inner one. So these abort with one
// line: releasing, rolling back, moving or destroying it while its inner
// savepoint is alive; committing, rolling back, moving or destroying the
// transaction while a savepoint is alive; any use after release() or
// rollback(); a second savepoint made beside one alive.
//
// `Transaction` is the transaction type (it gives connection_type); `Self`
// is the savepoint type, derived from this, with its own kName ("Savepoint")
// and kBorrowers ("Savepoint(s) inside it").
template <typename Transaction, typename Self>
class BasicSavepoint {
  using C = typename Transaction::connection_type;

 public:
  // Moving keeps its borrows; moving it while its inner savepoint is alive
  // aborts (the inner one holds its address).
  BasicSavepoint(BasicSavepoint&&) noexcept = default;
  // Not assignable, as for the transaction: assigning over a live savepoint
  // would have to roll back to it inside operator=, losing the error.
  BasicSavepoint& operator=(BasicSavepoint&&) = delete;
  BasicSavepoint(const BasicSavepoint&) = delete;
  BasicSavepoint& operator=(const BasicSavepoint&) = delete;
  // Rolls back to it and releases it (as rollback()) unless release() or
  // rollback() ran; an error here is lost (call rollback()). Nothing in a
  // fork()ed child, or once other SQL ended the transaction. An inner
  // savepoint still alive is misuse.
  ~BasicSavepoint() {
    if (ABSL_PREDICT_FALSE(lender_.count() != 0)) {
      lender_.require_none(operation_at<Self>(Moment::kDestruction).c_str());
    }
    Transaction* transaction = transaction_.get();
    if (transaction == nullptr) return;  // moved from, released or rolled back
    C* connection = transaction->connection_.get();
    if (!connection->process_.here()) return;  // the parent's session
    const std::string operation = operation_at<Self>(Moment::kDestruction);
    connection
        ->savepoint_command(Self::kName, operation.c_str(), "rollback", rollback_sql(), gone())
        .IgnoreError();
  }

  // RELEASE SAVEPOINT "<name>": keeps what was done since it was made, as
  // part of the transaction (nothing is saved before the transaction
  // commits), and ends the savepoint: its borrows end, so the transaction
  // (or the outer savepoint) may end while this object is still in scope.
  // One that fails leaves the savepoint as it was: roll back to it (in a
  // failed PostgreSQL transaction the server refuses RELEASE, and only a
  // rollback to a savepoint made before the failure recovers it).
  [[nodiscard]] absl::Status release() {
    C* connection = live("release()");
    lender_.require_none("release()");
    absl::Status released = connection->savepoint_command(
        Self::kName, "release()", "release", absl::StrCat("RELEASE SAVEPOINT ", identifier()),
        gone());
    if (released.ok()) finish();
    return released;
  }

  // ROLLBACK TO SAVEPOINT "<name>", then RELEASE it: undoes what was done
  // since it was made, keeps the transaction (and what it did before) open,
  // and ends the savepoint (as release() does), whatever the answer.
  [[nodiscard]] absl::Status rollback() {
    C* connection = live("rollback()");
    lender_.require_none("rollback()");
    absl::Status rolled_back = connection->savepoint_command(Self::kName, "rollback()",
                                                             "rollback", rollback_sql(), gone());
    finish();
    return rolled_back;
  }

  // A savepoint inside this one, with the same rules. One at a time.
  [[nodiscard]] absl::StatusOr<Self> savepoint(absl::string_view name) {
    live("savepoint()");
    if (ABSL_PREDICT_FALSE(lender_.count() != 0)) {
      nested_wrongly(static_cast<const Self&>(*this), lender_.count());
    }
    return make(transaction_.get(), static_cast<Self*>(this), name, Self::kName);
  }

  // Its name, as given ("" once moved from).
  const std::string& name() const { return name_; }

  // Its connection's resource, as messages name it ("" once moved from).
  const std::string& resource() const { return resource_; }

 protected:
  BasicSavepoint(Transaction* transaction, Self* outer, std::string name)
      : transaction_(transaction), name_(std::move(name)), resource_(transaction->resource()) {
    if (outer != nullptr) outer_.emplace(outer);
  }

 private:
  template <typename, typename, typename>
  friend class BasicTransaction;
  friend struct BorrowTraits<Self>;

  // Checks the name, runs SAVEPOINT, and makes the savepoint that owns it.
  // `type` made the call (the transaction or the outer savepoint).
  static absl::StatusOr<Self> make(Transaction* transaction, Self* outer, absl::string_view name,
                                   const char* type) {
    const std::string resource = transaction->resource();
    if (absl::Status bad = check_savepoint_name(name, resource); !bad.ok()) return bad;
    C* connection = transaction->connection_.get();
    absl::Status made = connection->savepoint_command(
        type, "savepoint()", "savepoint", absl::StrCat("SAVEPOINT \"", name, "\""),
        "no savepoint can be made in it");
    if (!made.ok()) return made;
    return Self(transaction, outer, std::string(name));
  }

  // Aborts: `parent` (a transaction or savepoint) made a second savepoint
  // while `alive` of its own are alive.
  template <typename Parent>
  [[noreturn]] static void nested_wrongly(const Parent& parent, int alive) {
    misuse_on(Parent::kName, "savepoint()", parent.resource(),
              "while %d %s %s alive; a new savepoint nests inside the innermost one: call its "
              "savepoint()",
              alive, Parent::kBorrowers, alive == 1 ? "is" : "are");
  }

  // The connection, after the checks every operation makes: not released
  // or rolled back, not moved from, the connection this process's.
  C* live(const char* operation) const {
    const Transaction* transaction = transaction_.get();
    if (ABSL_PREDICT_FALSE(done_)) {
      misuse_on(Self::kName, operation, resource_,
                "on a savepoint already released or rolled back");
    }
    if (ABSL_PREDICT_FALSE(transaction == nullptr)) {
      misuse_on(Self::kName, operation, "", "on a moved-from handle");
    }
    C* connection = transaction->connection_.get();
    connection->checked(operation, static_cast<const Self&>(*this));  // a forked child
    return connection;
  }

  // Released or rolled back: its borrows end.
  void finish() {
    done_ = true;
    outer_.reset();
    transaction_.give_back();
  }

  // "<name>", quoted as an identifier (the name has no quote in it).
  std::string identifier() const { return absl::StrCat("\"", name_, "\""); }
  std::string rollback_sql() const {
    return absl::StrCat("ROLLBACK TO SAVEPOINT ", identifier(), "; RELEASE SAVEPOINT ",
                        identifier());
  }
  // What an ended transaction means for this savepoint.
  std::string gone() const {
    return absl::StrCat("the savepoint ", internal::quoted(name_), " went with it");
  }

  // First: it checks before anything moves.
  Lender<Self> lender_{static_cast<const Self*>(this)};
  Borrowed<Transaction> transaction_;
  std::optional<Borrowed<Self>> outer_;
  std::string name_;
  std::string resource_;  // for its messages, after its borrows ended too
  bool done_ = false;
};

}  // namespace uncopyable::internal

#endif  // UNCOPYABLE_INTERNAL_BORROW_H_
