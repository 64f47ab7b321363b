#include "uncopyable/postgres.h"

#include <libpq-fe.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>

#include <algorithm>
#include <climits>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <condition_variable>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <string_view>

#include "absl/cleanup/cleanup.h"
#include "absl/container/inlined_vector.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "uncopyable/check.h"
#include "uncopyable/internal/message.h"
#include "uncopyable/internal/quote.h"
#include "uncopyable/internal/syscall.h"

namespace uncopyable {
namespace {

using internal::quoted;
using internal::shortened;

PGconn* conn_of(uintptr_t address) { return reinterpret_cast<PGconn*>(address); }
PGresult* result_of(uintptr_t address) { return reinterpret_cast<PGresult*>(address); }
uintptr_t address_of(PGresult* result) { return reinterpret_cast<uintptr_t>(result); }

// "postgresql ann@/tmp/pg:5432/shop": how every message names a database
// (never the password). The names are escaped and cut short like any quoted
// data.
std::string resource_of(const PostgresConfig& config) {
  return absl::StrCat(
      "postgresql ",
      config.user.empty() ? "" : shortened(config.user, internal::kQuotedBytes) + "@",
      shortened(config.host, internal::kQuotedBytes), ":", config.port, "/",
      shortened(config.dbname, internal::kQuotedBytes));
}

// libpq's messages span lines and end in a newline; a Status is one line.
// The text is the server's or libpq's: escaped and cut short.
std::string message_of(const char* text) {
  std::string line(absl::StripTrailingAsciiWhitespace(text != nullptr ? text : ""));
  return shortened(absl::StrReplaceAll(line, {{"\n\t", " "}, {"\n", " "}, {"\t", " "}}));
}

// SQLSTATE classes as Status codes.
absl::StatusCode code_for_sqlstate(absl::string_view state) {
  if (state.size() != 5) return absl::StatusCode::kUnknown;
  // protocol_violation, on a connection that goes on: what the server says
  // of parameters it did not expect ("bind message supplies 1 parameters,
  // but prepared statement requires 2"), the caller's mistake. (One that
  // ends the session is a lost connection, Unavailable, checked first.)
  if (state == "08P01") return absl::StatusCode::kInvalidArgument;
  const absl::string_view cls = state.substr(0, 2);
  if (cls == "08" || cls == "57" || cls == "53") return absl::StatusCode::kUnavailable;
  if (cls == "23") return absl::StatusCode::kFailedPrecondition;  // integrity
  if (cls == "42" || cls == "22") return absl::StatusCode::kInvalidArgument;
  if (cls == "28") return absl::StatusCode::kPermissionDenied;
  if (cls == "40") return absl::StatusCode::kAborted;
  if (cls == "3D") return absl::StatusCode::kNotFound;
  // feature_not_supported: what this server does not do (FOR UPDATE with
  // an aggregate; "cached plan must not change result type").
  if (cls == "0A") return absl::StatusCode::kUnimplemented;
  // invalid transaction state (a command of a failed transaction, a write
  // in a READ ONLY one, what cannot run inside one), and object not in
  // prerequisite state (currval() before nextval(), a lock NOWAIT could not
  // take, a database in use): the state must change first.
  if (cls == "25" || cls == "55") return absl::StatusCode::kFailedPrecondition;
  // program limit exceeded: too many columns, arguments, too deep.
  if (cls == "54") return absl::StatusCode::kResourceExhausted;
  return absl::StatusCode::kUnknown;
}

// The first word of the first statement of `sql`, in capitals ("COMMIT"),
// past blanks, comments (PostgreSQL's nest) and empty statements.
std::string first_keyword(absl::string_view sql) {
  size_t i = 0;
  while (i < sql.size()) {
    if (absl::ascii_isspace(static_cast<unsigned char>(sql[i])) || sql[i] == ';') {
      ++i;
    } else if (sql.substr(i, 2) == "--") {
      i = sql.find('\n', i);
      if (i == absl::string_view::npos) return "";
    } else if (sql.substr(i, 2) == "/*") {
      int depth = 0;
      do {
        if (sql.substr(i, 2) == "/*") {
          ++depth;
          i += 2;
        } else if (sql.substr(i, 2) == "*/") {
          --depth;
          i += 2;
        } else {
          ++i;
        }
      } while (depth > 0 && i < sql.size());
    } else {
      break;
    }
  }
  std::string word;
  while (i < sql.size() && word.size() < 16 && absl::ascii_isalpha(static_cast<unsigned char>(sql[i]))) {
    word.push_back(absl::ascii_toupper(static_cast<unsigned char>(sql[i++])));
  }
  return word;
}

// "uncopyable_<n>": the server's name of statement n, made without
// allocating (it is made for every execute()).
struct StatementName {
  explicit StatementName(uint64_t number) {
    *std::to_chars(text + kPrefix, text + sizeof text - 1, number).ptr = '\0';
  }
  static constexpr size_t kPrefix = 11;  // "uncopyable_"
  char text[32] = "uncopyable_";
};

// Statements the server answers with ROLLBACK, and no error, when the
// transaction they would end had failed.
bool ends_a_transaction_for_good(const std::string& keyword) {
  return keyword == "COMMIT" || keyword == "END" || keyword == "PREPARE";
}

// How long a cancel request may take after a timeout: PQcancel connects to
// the server and waits for its answer with no timeout of its own.
constexpr absl::Duration kCancelWait = absl::Seconds(2);

// Waits until the connection's socket is ready for `events` or the
// deadline passes (a socket ready at the deadline still counts). The ready
// events, 0 when the time ran out, -1 when there is no socket to wait on.
int wait_for(PGconn* connection, short events, internal::Deadline deadline) {
  const int socket = ::PQsocket(connection);
  if (socket < 0) return -1;
  while (true) {
    pollfd entry{socket, events, 0};
    const int ready = internal::sys::poll(&entry, 1, deadline.poll_milliseconds());
    if (ready > 0) return entry.revents;
    if (ready == 0) return 0;
    if (errno != EINTR) return -1;
  }
}

enum class Progress { kDone, kTimedOut, kFailed };

// Whether `result` is libpq's report of a connection that went without a
// word from the server (a crash, a cut network): no SQLSTATE, and the
// connection bad. (A server that ends the session says why, with one.)
bool lost_without_a_word(PGconn* connection, const PGresult* result) {
  return ::PQstatus(connection) == CONNECTION_BAD &&
         ::PQresultErrorField(result, PG_DIAG_SQLSTATE) == nullptr;
}

// Whether the server closed the connection while it sat idle (a restart,
// pg_terminate_backend, an idle timeout): what it sent last is read, at
// once, without waiting. A command sent on such a connection never reached
// the server, so its failure is not in doubt. One poll(2) per command.
bool closed_while_idle(PGconn* connection) {
  if (::PQsocket(connection) < 0) return true;
  // POLLRDHUP: the server shut its side (it never does while the session
  // lives), even when what it said last (a WARNING, a FATAL) is still
  // unread ahead of the end. A deadline already passed: a look, no wait.
  const int ready =
      wait_for(connection, POLLIN | POLLRDHUP, internal::Deadline::after(absl::ZeroDuration()));
  if (ready <= 0) return false;
  const bool consumed = ::PQconsumeInput(connection) != 0;
  return !consumed || ::PQstatus(connection) == CONNECTION_BAD ||
         (ready & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
}

// Pushes to the server what libpq has buffered (the connection is
// non-blocking, so a send never waits inside libpq), reading meanwhile so a
// server that answers before it has read everything is not deadlocked.
Progress flush_within(PGconn* connection, internal::Deadline deadline) {
  while (true) {
    const int left = ::PQflush(connection);
    if (left == 0) return Progress::kDone;
    if (left < 0) return Progress::kFailed;
    const int ready = wait_for(connection, POLLIN | POLLOUT, deadline);
    if (ready == 0) return Progress::kTimedOut;
    if (ready < 0) return Progress::kFailed;
    if ((ready & POLLIN) != 0 && ::PQconsumeInput(connection) == 0) return Progress::kFailed;
  }
}

// Until libpq holds a whole result, or found the connection lost (which
// PQgetResult then reports without waiting). kFailed: neither, and libpq
// cannot read on; PQgetResult would wait forever.
Progress read_within(PGconn* connection, internal::Deadline deadline) {
  while (::PQisBusy(connection) != 0) {
    const int ready = wait_for(connection, POLLIN, deadline);
    if (ready == 0) return Progress::kTimedOut;
    if (ready < 0 || ::PQconsumeInput(connection) == 0) {
      return ::PQstatus(connection) == CONNECTION_BAD ? Progress::kDone : Progress::kFailed;
    }
  }
  return Progress::kDone;
}

// A cancel request on a thread of its own, so that its wait can be cut short.
struct CancelRequest {
  PGcancel* cancel = nullptr;
  std::mutex mutex;
  std::condition_variable answered_cv;
  bool answered = false;
  bool sent = false;
};

void* send_cancel(void* argument) {
  std::unique_ptr<std::shared_ptr<CancelRequest>> handed(
      static_cast<std::shared_ptr<CancelRequest>*>(argument));
  const std::shared_ptr<CancelRequest> request = std::move(*handed);
  char error[256];
  const bool sent = ::PQcancel(request->cancel, error, sizeof error) == 1;
  ::PQfreeCancel(request->cancel);
  {
    std::lock_guard<std::mutex> lock(request->mutex);
    request->answered = true;
    request->sent = sent;
  }
  request->answered_cv.notify_all();
  return nullptr;
}

// Asks the server to cancel what `connection` runs, waiting at most `limit`
// for the server to take the request. If it does not (the whole server is
// frozen or unreachable), the request's thread is left behind to finish or
// fail on its own; it touches nothing of the connection. Whether the
// request was delivered.
bool cancel_within(PGconn* connection, absl::Duration limit) {
  auto request = std::make_shared<CancelRequest>();
  request->cancel = ::PQgetCancel(connection);
  if (request->cancel == nullptr) return false;
  auto* handed = new std::shared_ptr<CancelRequest>(request);
  pthread_attr_t attributes;
  ::pthread_attr_init(&attributes);
  ::pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
  pthread_t thread;
  const int made = ::pthread_create(&thread, &attributes, &send_cancel, handed);
  ::pthread_attr_destroy(&attributes);
  if (made != 0) {
    delete handed;
    ::PQfreeCancel(request->cancel);
    return false;
  }
  std::unique_lock<std::mutex> lock(request->mutex);
  request->answered_cv.wait_for(lock, absl::ToChronoMilliseconds(limit),
                                [&] { return request->answered; });
  return request->answered && request->sent;
}

}  // namespace

// ---------------------------------------------------------------------------
// PostgresParameter

void PostgresParameter::set_double(double value) noexcept {
  // The server's own words for the values that have no digits (its float8
  // input also takes C's "inf", but only since PostgreSQL 12).
  const char* word = std::isnan(value) ? "NaN"
                     : std::isinf(value) ? (value > 0 ? "Infinity" : "-Infinity")
                                         : nullptr;
  if (word != nullptr) {
    size_ = std::char_traits<char>::length(word);
    std::memcpy(number_, word, size_ + 1);
    return;
  }
  // The shortest text that reads back as the same double.
  size_ = static_cast<size_t>(std::to_chars(number_, number_ + kNumberBytes, value).ptr - number_);
  number_[size_] = '\0';
}

struct postgres_internal::ParameterArrays {
  absl::InlinedVector<const char*, 8> values;
  absl::InlinedVector<int, 8> lengths;
  absl::InlinedVector<int, 8> formats;
  absl::InlinedVector<Oid, 8> types;
  // Text given as a view with no NUL after it, copied to have one.
  std::vector<std::string> copies;

  // Fills the arrays from `parameters` (which must stay alive while they
  // are used). What is wrong with them, or "".
  std::string fill(absl::Span<const PostgresParameter> parameters) {
    using Kind = PostgresParameter::Kind;
    // The protocol counts parameters in 16 bits.
    if (parameters.size() > 65535) {
      return absl::StrCat(parameters.size(), " parameters; at most 65535");
    }
    // Reserved first: a copy's c_str() must not move when another is added.
    copies.reserve(static_cast<size_t>(
        std::count_if(parameters.begin(), parameters.end(), [](const PostgresParameter& p) {
          return p.kind_ == Kind::kText && !p.terminated_;
        })));
    for (const PostgresParameter& parameter : parameters) {
      const size_t number = values.size() + 1;
      const char* value = nullptr;
      int format = 0;
      switch (parameter.kind_) {
        case Kind::kNull:
          break;
        case Kind::kText:
          // libpq reads text parameters as C strings: a NUL byte would cut
          // the value short, so such a value is refused instead.
          if (parameter.size_ != 0 && std::memchr(parameter.data_, '\0', parameter.size_) != nullptr) {
            return absl::StrCat("parameter $", number,
                                " contains a NUL byte, which text parameters cannot carry; send "
                                "it as bytes (std::vector<std::byte>) to a bytea");
          }
          value = parameter.terminated_
                      ? parameter.data_
                      : copies.emplace_back(std::string_view(parameter.data_, parameter.size_))
                            .c_str();
          break;
        case Kind::kNumber:
          value = parameter.number_;
          break;
        case Kind::kBytes:
          if (parameter.size_ > static_cast<size_t>(INT_MAX)) {
            return absl::StrCat("parameter $", number, " is ", parameter.size_,
                                " bytes; a parameter holds at most ", INT_MAX);
          }
          // Never a null pointer, which libpq would send as NULL: no bytes
          // is an empty bytea.
          value = parameter.size_ != 0 ? parameter.data_ : "";
          format = 1;
          break;
      }
      values.push_back(value);
      lengths.push_back(static_cast<int>(std::min<size_t>(parameter.size_, INT_MAX)));
      formats.push_back(format);
      types.push_back(parameter.type_);
    }
    return "";
  }
};

// ---------------------------------------------------------------------------
// PostgresConfig

absl::Status PostgresConfig::validate() const {
  auto no_nul = [](const std::string& text) { return text.find('\0') == std::string::npos; };
  return ConfigRules(*this)
      .non_empty("host", host)
      .in_range("port", port, uint16_t{1}, uint16_t{65535})
      .non_empty("dbname", dbname)
      .check(no_nul(host) && no_nul(dbname) && no_nul(user) && no_nul(application_name) &&
                 no_nul(password.reveal()),
             "host", "no field may contain a NUL byte")
      .check(connect_timeout >= absl::Seconds(2), "connect_timeout",
             "must be at least 2s (libpq's minimum)")
      .check(connect_timeout == absl::Trunc(connect_timeout, absl::Seconds(1)) ||
                 connect_timeout == absl::InfiniteDuration(),
             "connect_timeout", "must be whole seconds (libpq counts seconds)")
      .check(query_timeout > absl::ZeroDuration(), "query_timeout",
             "must be positive (InfiniteDuration() to wait forever)")
      .in_range("statement_cache_size", statement_cache_size, 0,
                internal::kMaxStatementCacheSize)
      .status();
}

// ---------------------------------------------------------------------------
// Traits and borrows

namespace {

// libpq's notice receivers (PQsetNoticeReceiver). The default one prints
// every notice to stderr: every session the library opens gets
// drop_notice instead, and deliver_notice while it has a handler.
void drop_notice(void* /*handler*/, const PGresult* /*notice*/) {}

void deliver_notice(void* handler, const PGresult* notice) {
  // A copy, so that a handler that replaces itself (set_notice_handler()
  // from inside it) runs to its end.
  const std::function<void(const PostgresNotice&)> call =
      *static_cast<const std::function<void(const PostgresNotice&)>*>(handler);
  const auto field = [notice](int code) {
    const char* value = ::PQresultErrorField(notice, code);
    return value != nullptr ? std::string(value) : std::string();
  };
  PostgresNotice delivered{.severity = field(PG_DIAG_SEVERITY_NONLOCALIZED),
                           .sqlstate = field(PG_DIAG_SQLSTATE),
                           .message = field(PG_DIAG_MESSAGE_PRIMARY)};
  // (A server before 9.6 sends only the translated severity.)
  if (delivered.severity.empty()) delivered.severity = field(PG_DIAG_SEVERITY);
  call(delivered);
}

}  // namespace

absl::Status postgres_internal::ConnectionTraits::close(uintptr_t connection) const {
  // A child must not end its parent's session (PQfinish would say goodbye to
  // the server on the shared socket): it just lets go.
  if (!process.here_surely()) return absl::OkStatus();
  // Nothing of the connection's (its notice handler) is used from here on.
  ::PQsetNoticeReceiver(conn_of(connection), drop_notice, nullptr);
  // Non-blocking: the goodbye is sent if the socket takes it, never waited
  // for, so closing cannot hang on a server that stopped reading.
  ::PQfinish(conn_of(connection));
  return absl::OkStatus();
}

absl::Status postgres_internal::ResultTraits::close(uintptr_t result) {
  ::PQclear(result_of(result));
  return absl::OkStatus();
}

absl::Status postgres_internal::PreparedTraits::close(uint64_t number) const {
  // In a forked child: the statement is the parent's, and so is the session.
  if (connection->process_.here()) connection->let_go(number);
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------
// PostgresConnection

PostgresConnection::PostgresConnection(UniqueHandle<postgres_internal::ConnectionTraits> connection,
                                       PostgresConfig config)
    : config_(std::move(config)),
      statements_(static_cast<size_t>(config_.statement_cache_size)),
      connection_(std::move(connection)) {}

absl::StatusOr<PostgresConnection> PostgresConnection::open(const PostgresConfig& config) {
  if (absl::Status valid = config.validate(); !valid.ok()) return valid;
  // A process with no descriptor left cannot connect, and reconnecting will
  // not help: ResourceExhausted, as for a File or a Socket, where libpq
  // would only say "could not create socket" (Unavailable, inviting retries).
  if (const int probe = internal::sys::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0); probe < 0) {
    const int error = errno;
    if (error == EMFILE || error == ENFILE) {
      return internal::errno_error_on(error, "connect", resource_of(config),
                                      "no descriptor for a socket");
    }
  } else {
    internal::sys::close(probe);
  }
  const std::string port = absl::StrCat(config.port);
  const std::string timeout =
      config.connect_timeout == absl::InfiniteDuration()
          ? "0"
          : absl::StrCat(absl::ToInt64Seconds(config.connect_timeout));
  const std::string sslmode = absl::StrReplaceAll(enum_name(config.sslmode), {{"_", "-"}});
  const char* keywords[] = {"host",     "port",    "dbname",          "user",
                            "password", "sslmode", "connect_timeout", "application_name",
                            nullptr};
  const char* values[] = {config.host.c_str(),
                          port.c_str(),
                          config.dbname.c_str(),
                          config.user.empty() ? nullptr : config.user.c_str(),
                          config.password.empty() ? nullptr : config.password.reveal().c_str(),
                          sslmode.c_str(),
                          timeout.c_str(),
                          config.application_name.c_str(),
                          nullptr};
  // expand_dbname=0: every value is taken as it is, none parsed as a
  // connection string, so the password reaches libpq only as itself.
  PGconn* raw = ::PQconnectdbParams(keywords, values, /*expand_dbname=*/0);
  if (raw == nullptr) {
    return internal::error_on(absl::StatusCode::kResourceExhausted, "connect",
                              resource_of(config), "out of memory");
  }
  UniqueHandle<postgres_internal::ConnectionTraits> connection(reinterpret_cast<uintptr_t>(raw));
  // Notices are dropped unless the caller asks for them (set_notice_handler()).
  ::PQsetNoticeReceiver(raw, drop_notice, nullptr);
  if (::PQstatus(raw) != CONNECTION_OK) {
    // libpq's own words, as they are: they name the server and the user,
    // never the password (libpq quotes no password, and the server only
    // ever says that authentication failed). Nothing in the message is
    // derived from the password, not even by masking it: a mask would
    // tell what the password is not.
    const std::string text = message_of(::PQerrorMessage(raw));
    return internal::error_on(absl::StatusCode::kUnavailable, "connect", resource_of(config), text);
  }
  // Non-blocking for good: every wait is ours (poll with a deadline), and
  // PQfinish never blocks on a full socket.
  if (::PQsetnonblocking(raw, 1) != 0) {
    return internal::error_on(absl::StatusCode::kUnavailable, "connect", resource_of(config),
                              message_of(::PQerrorMessage(raw)));
  }
  return PostgresConnection(std::move(connection), config);
}

PostgresConnection::~PostgresConnection() {
  // Checked here, while config_ (which the line quotes) is still alive. The
  // session is ended by its traits (a forked child's copy let go instead).
  if (ABSL_PREDICT_FALSE(lender_.count() != 0)) {
    lender_.require_none(
        internal::operation_at<PostgresConnection>(internal::Moment::kDestruction).c_str());
  }
  // Ended while this thread is its only user: another thread inside a call
  // on it would go on with a freed session, so that aborts, naming both.
  if (connection_.is_valid() && process_.here()) {
    internal::SingleUserScope in_use = user_.enter(kName, "~PostgresConnection()");
    connection_.reset();
  }
}

std::string PostgresConnection::resource() const { return resource_of(config_); }

absl::Status PostgresConnection::before_command(PGconn* connection, const char* verb,
                                                absl::string_view sql, internal::Deadline& deadline) {
  // The message is made only when there is an error to report:
  // "<verb> postgresql <user>@<host>:<port>/<db>: "<SQL>": <what>".
  const auto fail = [&](absl::StatusCode code, absl::string_view what) {
    return internal::error_on(code, verb, resource(), absl::StrCat(quoted(sql), ": ", what));
  };
  // A command from inside for_each()'s fn: libpq is in the middle of
  // for_each()'s, and would refuse it or interleave them.
  if (ABSL_PREDICT_FALSE(streaming_)) {
    misuse_on(kName, absl::StrCat(verb, "()").c_str(), resource(),
              "inside for_each()'s fn, while for_each()'s query is running on this connection; "
              "read the rows first, or use another connection");
  }
  if (const size_t nul = sql.find('\0'); ABSL_PREDICT_FALSE(nul != absl::string_view::npos)) {
    return fail(absl::StatusCode::kInvalidArgument,
                absl::StrCat("SQL text contains a NUL byte at offset ", nul));
  }
  if (ABSL_PREDICT_FALSE(!abandoned_.empty())) {
    return fail(absl::StatusCode::kUnavailable, abandoned_);
  }
  const PGTransactionStatusType state = ::PQtransactionStatus(connection);
  if (state == PQTRANS_INTRANS || state == PQTRANS_INERROR) {
    const std::string keyword = first_keyword(sql);
    if (keyword == "BEGIN" || keyword == "START") {
      return fail(absl::StatusCode::kFailedPrecondition,
                  "a transaction is already open on this connection; nest with a savepoint");
    }
  }
  // One deadline for the whole command, statements released first included.
  deadline = internal::Deadline::after(config_.query_timeout);
  if (!unused_statements_.empty()) {
    if (absl::Status released = release_unused_statements(connection, deadline); !released.ok()) {
      return released;
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<PostgresResult> PostgresConnection::run(PGconn* connection, const char* verb,
                                                       absl::string_view sql, Sender send,
                                                       bool may_commit) {
  internal::Deadline deadline = internal::Deadline::never();
  if (absl::Status ready = before_command(connection, verb, sql, deadline); !ready.ok()) {
    return ready;
  }
  absl::StatusOr<PostgresResult> result =
      exchange(connection, verb, sql, send, deadline, may_commit);
  // Notifications libpq read meanwhile: kept for notifications().
  collect_notifications(connection);
  if (result.ok()) note_listen(sql);
  // SQL of the caller's own that ended the live PostgresTransaction's
  // transaction (a COMMIT run with execute()): it must not end a later one.
  if (transaction_live_ && ::PQtransactionStatus(connection) == PQTRANS_IDLE) {
    transaction_lost_ = true;
  }
  return result;
}

namespace {

// SQLSTATE 08007, transaction_resolution_unknown: what is_in_doubt() looks for.
constexpr char kInDoubt[] = "08007";

// Whether a command the server got whole, then lost with its connection,
// may have taken effect for good: one sent outside a transaction block
// (it committed by itself, or not; a CALL or DO may commit inside), or
// one that ends a transaction with a commit (COMMIT, END, PREPARE
// TRANSACTION). Inside a block, a single other statement is rolled back
// with the lost session; a text of several statements may hold a COMMIT
// after the first, so it counts as possibly committed (a ';' inside a
// quoted string counts too: in doubt is the safe side).
bool may_have_committed(absl::string_view sql, bool outside_transaction) {
  if (outside_transaction || ends_a_transaction_for_good(first_keyword(sql))) return true;
  const size_t semicolon = sql.find(';');
  return semicolon != absl::string_view::npos && !first_keyword(sql.substr(semicolon)).empty();
}

}  // namespace

absl::Status PostgresConnection::lost(PGconn* connection, const char* verb, absl::string_view sql,
                                      Sent sent, bool outside_transaction) {
  // A lost server: libpq says what happened. rebuild() when it is back.
  // A command cut off halfway leaves libpq unable to run another.
  if (::PQstatus(connection) != CONNECTION_BAD || ::PQisBusy(connection) != 0) {
    abandoned_ = "the connection was abandoned when a command on it failed halfway; "
                 "rebuild() a new one";
  }
  std::string why = message_of(::PQerrorMessage(connection));
  if (why.empty()) why = "the server closed the connection";  // seen before libpq saw it
  if (sent == Sent::kWhole && may_have_committed(sql, outside_transaction)) {
    // Not Unavailable: a caller that retries on Unavailable would run a
    // command that did commit a second time.
    return with_sql_error(
        internal::error_on(absl::StatusCode::kUnknown, verb, resource(),
                           absl::StrCat(quoted(sql),
                                        ": the connection was lost after the server got the "
                                        "command (",
                                        why,
                                        "); whether it took effect is unknown: look before "
                                        "running it again [",
                                        kInDoubt, "]")),
        SqlError{.sqlstate = kInDoubt, .sqlite_code = 0});
  }
  return internal::error_on(absl::StatusCode::kUnavailable, verb, resource(),
                            absl::StrCat(quoted(sql), ": ", why));
}

absl::Status PostgresConnection::timed_out(PGconn* connection, const char* verb,
                                           absl::string_view sql, Sent sent,
                                           bool outside_transaction) {
  const absl::Duration timeout = config_.query_timeout;
  const bool cancelled = cancel_within(connection, std::min(timeout, kCancelWait));
  abandoned_ = absl::StrCat("the connection was abandoned when a command on it timed out "
                            "(query_timeout ",
                            absl::FormatDuration(timeout), "); rebuild() a new one");
  absl::Status error = internal::error_on(
      absl::StatusCode::kDeadlineExceeded, verb, resource(),
      absl::StrCat(quoted(sql), ": ", "no answer from the server within query_timeout ",
                   absl::FormatDuration(timeout),
                   cancelled ? "; asked the server to cancel it"
                             : "; the server did not take a request to cancel it either",
                   "; the connection is abandoned: rebuild() a new one"));
  // A cancel asked for is not a cancel done: the command may have finished
  // (and committed) first. Still DeadlineExceeded, marked in doubt.
  if (sent == Sent::kWhole && may_have_committed(sql, outside_transaction)) {
    error = with_sql_error(std::move(error), SqlError{.sqlstate = kInDoubt, .sqlite_code = 0});
  }
  return error;
}

absl::Status PostgresConnection::server_error(PGconn* connection, PGresult* result,
                                              const char* verb, absl::string_view sql) const {
  const char* state = ::PQresultErrorField(result, PG_DIAG_SQLSTATE);
  // A lost server sends no SQLSTATE: libpq reports the broken connection
  // itself. That is Unavailable: rebuild() when the server is back.
  const absl::StatusCode code = ::PQstatus(connection) == CONNECTION_BAD || state == nullptr
                                    ? absl::StatusCode::kUnavailable
                                    : code_for_sqlstate(state);
  absl::Status error = internal::error_on(
      code, verb, resource(),
      absl::StrCat(quoted(sql), ": ", message_of(::PQresultErrorMessage(result)),
                   state != nullptr ? absl::StrCat(" [", state, "]") : ""));
  // The server's code, as a field to branch on (sql_error.h).
  if (state != nullptr) {
    error = with_sql_error(std::move(error), SqlError{.sqlstate = state, .sqlite_code = 0});
  }
  return error;
}

absl::StatusOr<PostgresResult> PostgresConnection::exchange(PGconn* connection, const char* verb,
                                                            absl::string_view sql, Sender send,
                                                            internal::Deadline deadline,
                                                            bool may_commit) {
  // "<verb> postgresql <user>@<host>:<port>/<db>: "<SQL>": <what>"
  const auto fail = [&](absl::StatusCode code, absl::string_view what) {
    return internal::error_on(code, verb, resource(), absl::StrCat(quoted(sql), ": ", what));
  };
  // Until the command is sent whole, a lost connection is just that; after,
  // a command that may have committed is in doubt (lost()).
  const bool outside_transaction = ::PQtransactionStatus(connection) == PQTRANS_IDLE;
  Sent sent_so_far = Sent::kNot;
  const Sent sent_whole = may_commit ? Sent::kWhole : Sent::kNot;
  const auto lost = [&] {
    return this->lost(connection, verb, sql, sent_so_far, outside_transaction);
  };
  const auto timed_out = [&] {
    return this->timed_out(connection, verb, sql, sent_so_far, outside_transaction);
  };

  if (may_commit && ABSL_PREDICT_FALSE(closed_while_idle(connection))) return lost();
  if (send(connection) != 1) {
    if (::PQstatus(connection) == CONNECTION_BAD) return lost();
    return fail(absl::StatusCode::kInternal, message_of(::PQerrorMessage(connection)));
  }
  if (const Progress sent = flush_within(connection, deadline); sent != Progress::kDone) {
    return sent == Progress::kTimedOut ? timed_out() : lost();
  }
  sent_so_far = sent_whole;

  // Every result, as PQexec would: the last one, or the first error.
  UniqueHandle<postgres_internal::ResultTraits> kept;
  bool failed = false;
  bool first = true;
  bool first_rolled_back = false;
  bool copy_refused = false;
  while (true) {
    if (const Progress read = read_within(connection, deadline); read != Progress::kDone) {
      return read == Progress::kTimedOut ? timed_out() : lost();
    }
    PGresult* raw = ::PQgetResult(connection);
    if (raw == nullptr) break;
    UniqueHandle<postgres_internal::ResultTraits> result(address_of(raw));
    if (std::exchange(first, false)) {
      first_rolled_back = std::strcmp(::PQcmdStatus(raw), "ROLLBACK") == 0;
    }
    switch (::PQresultStatus(raw)) {
      case PGRES_COPY_IN:
      case PGRES_COPY_BOTH:
        // Refused: the server ends the COPY with an error, and the
        // connection stays usable.
        copy_refused = true;
        if (::PQputCopyEnd(connection, "COPY FROM STDIN is not supported by uncopyable") < 0) {
          return lost();
        }
        if (const Progress ended = flush_within(connection, deadline); ended != Progress::kDone) {
          return ended == Progress::kTimedOut ? timed_out() : lost();
        }
        continue;
      case PGRES_COPY_OUT:
        // Read to the end and dropped.
        copy_refused = true;
        while (true) {
          char* data = nullptr;
          const int size = ::PQgetCopyData(connection, &data, /*async=*/1);
          if (size > 0) {
            ::PQfreemem(data);
          } else if (size == 0) {
            const int ready = wait_for(connection, POLLIN, deadline);
            if (ready == 0) return timed_out();
            if (ready < 0 || ::PQconsumeInput(connection) == 0) return lost();
          } else if (size == -1) {
            break;  // the end: PQgetResult has the COPY's own result
          } else {
            return lost();
          }
        }
        continue;
      case PGRES_FATAL_ERROR:
      case PGRES_BAD_RESPONSE:
      case PGRES_NONFATAL_ERROR:
        if (!failed) kept = std::move(result);
        failed = true;
        continue;
      default:
        if (!failed) kept = std::move(result);
        continue;
    }
  }

  if (copy_refused) {
    if (::PQstatus(connection) == CONNECTION_BAD) return lost();
    return fail(absl::StatusCode::kUnimplemented,
                "COPY FROM STDIN and COPY TO STDOUT are not supported; COPY to or from a file on "
                "the server, or INSERT with a prepared statement");
  }
  if (!kept.is_valid()) return lost();
  PGresult* result = result_of(kept.get());
  if (!failed) {
    if (ABSL_PREDICT_FALSE(first_rolled_back) &&
        ends_a_transaction_for_good(first_keyword(sql))) {
      return fail(absl::StatusCode::kAborted,
                  "the server rolled the transaction back instead, because a statement in it had "
                  "failed: nothing the transaction did was saved");
    }
    return PostgresResult(std::move(kept));
  }
  // libpq's own error for a connection that went (no SQLSTATE: the server
  // said nothing) is a lost connection, possibly in doubt; so is a session
  // the server ended (57P01 and the like) after it got a command that may
  // have committed (a CALL whose procedure committed, then was stopped).
  if (lost_without_a_word(connection, result) ||
      (::PQstatus(connection) == CONNECTION_BAD && sent_so_far == Sent::kWhole &&
       may_have_committed(sql, outside_transaction))) {
    return lost();
  }
  return server_error(connection, result, verb, sql);
}

absl::Status PostgresConnection::release_unused_statements(PGconn* connection,
                                                          internal::Deadline deadline) {
  // A failed transaction refuses everything but its ROLLBACK: the
  // statements wait until it has ended.
  const PGTransactionStatusType state = ::PQtransactionStatus(connection);
  if (state != PQTRANS_IDLE && state != PQTRANS_INTRANS) return absl::OkStatus();
  // Inside a transaction, under a savepoint: should a DEALLOCATE fail (SQL
  // of the caller's own, DEALLOCATE ALL, got there first), the caller's
  // transaction is left as it was.
  const bool in_transaction = state == PQTRANS_INTRANS;
  const auto simple = [](const std::string& text) {
    return [&text](PGconn* c) { return ::PQsendQuery(c, text.c_str()); };
  };
  // One exchange that DEALLOCATEs `numbers`. OK when released, and when the
  // server refused (`refused` set; inside a transaction the refusal undone);
  // else the error that stops the command (a timeout, a lost connection).
  const auto deallocate = [&](absl::Span<const uint64_t> numbers, bool& refused) -> absl::Status {
    refused = false;
    std::string sql = in_transaction ? "SAVEPOINT uncopyable_deallocate; " : "";
    for (const uint64_t number : numbers) {
      absl::StrAppend(&sql, "DEALLOCATE ", StatementName(number).text, "; ");
    }
    if (in_transaction) sql += "RELEASE SAVEPOINT uncopyable_deallocate";
    absl::StatusOr<PostgresResult> released =
        exchange(connection, "deallocate", sql, simple(sql), deadline,
                 /*may_commit=*/false);
    if (released.ok()) return absl::OkStatus();
    const absl::StatusCode code = released.status().code();
    if (code == absl::StatusCode::kDeadlineExceeded || code == absl::StatusCode::kUnavailable) {
      return released.status();
    }
    refused = true;
    if (in_transaction) {
      const std::string undo =
          "ROLLBACK TO SAVEPOINT uncopyable_deallocate; RELEASE SAVEPOINT uncopyable_deallocate";
      return exchange(connection, "deallocate", undo, simple(undo), deadline,
                      /*may_commit=*/false)
          .status();
    }
    return absl::OkStatus();
  };
  // Released, or not there to release: they are never tried again.
  const std::vector<uint64_t> numbers(unused_statements_.begin(), unused_statements_.end());
  unused_statements_.clear();
  bool refused = false;
  if (absl::Status all = deallocate(numbers, refused); !all.ok() || !refused) return all;
  // The server stops a batch at its first error (a statement already gone):
  // those before it are released (DEALLOCATE is not undone by a rollback),
  // the rest never ran. Each is tried again alone, so that one refusal does
  // not leave the others on the server for the rest of the session.
  if (numbers.size() == 1) return absl::OkStatus();
  for (const uint64_t number : numbers) {
    if (absl::Status one = deallocate({number}, refused); !one.ok()) return one;
  }
  return absl::OkStatus();
}

void PostgresConnection::let_go(uint64_t number) {
  internal::SingleUserScope in_use = user_.enter(PostgresStatement::kName, "~PostgresStatement()");
  unused_statements_.push_back(number);
}

absl::StatusOr<PostgresConnection> PostgresConnection::rebuild() const {
  checked("rebuild()", *this);
  return open(config_);
}

absl::StatusOr<PostgresResult> PostgresConnection::query(absl::string_view sql) {
  PGconn* connection = checked("query()", *this);
  internal::SingleUserScope in_use = user_.enter(kName, "query()");
  return run(connection, "query", sql, [&](PGconn* c) {
    const std::string text(sql);
    return ::PQsendQuery(c, text.c_str());
  });
}

absl::Status PostgresConnection::execute(absl::string_view sql) {
  PGconn* connection = checked("execute()", *this);
  internal::SingleUserScope in_use = user_.enter(kName, "execute()");
  return run(connection, "execute", sql, [&](PGconn* c) {
           const std::string text(sql);
           return ::PQsendQuery(c, text.c_str());
         })
      .status();
}

absl::StatusOr<PostgresResult> PostgresConnection::run_with(
    const char* operation, const char* verb, absl::string_view sql,
    absl::Span<const PostgresParameter> parameters) {
  PGconn* connection = checked(operation, *this);
  internal::SingleUserScope in_use = user_.enter(kName, operation);
  postgres_internal::ParameterArrays arrays;
  if (const std::string wrong = arrays.fill(parameters); ABSL_PREDICT_FALSE(!wrong.empty())) {
    return internal::error_on(absl::StatusCode::kInvalidArgument, verb, resource(),
                              absl::StrCat(quoted(sql), ": ", wrong));
  }
  return run_parameters(connection, verb, sql, arrays);
}

namespace {

// Sends `sql` with `arrays`' values: as the prepared statement `number`, or
// unprepared (number 0). For run() (a Sender) and for stream().
int send_with(PGconn* connection, absl::string_view sql, uint64_t number,
              const postgres_internal::ParameterArrays& arrays) {
  const int count = static_cast<int>(arrays.values.size());
  if (number != 0) {
    // No types: the statement's were fixed when it was prepared.
    return ::PQsendQueryPrepared(connection, StatementName(number).text, count,
                                 arrays.values.data(), arrays.lengths.data(),
                                 arrays.formats.data(), /*resultFormat=*/0);
  }
  const std::string text(sql);
  return ::PQsendQueryParams(connection, text.c_str(), count, arrays.types.data(),
                             arrays.values.data(), arrays.lengths.data(), arrays.formats.data(),
                             /*resultFormat=*/0);
}

// Whether the server said that the prepared statement is not there
// (SQLSTATE 26000, invalid_sql_statement_name): a DEALLOCATE ALL or DISCARD
// ALL of the caller's own, or a pooler in front of the server that gave
// this session's statements to another.
bool statement_vanished(const absl::Status& status) {
  const std::optional<SqlError> error = sql_error(status);
  return error.has_value() && error->sqlstate == "26000";
}

// Whether the server refused a kept statement because what it reads changed
// under it (SQLSTATE 0A000, feature_not_supported: "cached plan must not
// change result type", after an ALTER TABLE or a view replaced): the
// statement is still there, and the server would refuse each later run of
// it the same way. The code alone, not the text, which the server's
// lc_messages may translate: another 0A000 from a kept statement costs one
// more PREPARE and run, which fails the same way and is returned.
bool plan_changed(const absl::Status& status) {
  const std::optional<SqlError> error = sql_error(status);
  return error.has_value() && error->sqlstate == "0A000";
}

// Whether a kept statement that failed with `status` is to be dropped from
// the cache and the text prepared again.
bool stale(const absl::Status& status) {
  return statement_vanished(status) || plan_changed(status);
}

}  // namespace

absl::StatusOr<PostgresConnection::StatementCache::Entry*> PostgresConnection::cached_statement(
    PGconn* connection, const char* verb, absl::string_view sql,
    const postgres_internal::ParameterArrays& arrays, bool& fresh) {
  fresh = false;
  if (statements_.capacity() == 0) return nullptr;
  std::vector<unsigned> types(arrays.types.begin(), arrays.types.end());
  if (StatementCache::Entry* kept = statements_.find(sql); kept != nullptr) {
    // A kept statement fits when each value would be given the type its
    // parameter was prepared with (NULL fits any), so that the cache never
    // changes what a command means: `SELECT $1` prepared for an int8 must
    // not read text as one. Else it is made again, NULLs keeping the types
    // they had.
    const std::vector<unsigned>& had = kept->info.types;
    if (had.size() == types.size()) {
      bool fits = true;
      for (size_t i = 0; i < types.size(); ++i) {
        if (arrays.values[i] == nullptr) {
          types[i] = had[i];
        } else if (types[i] != had[i]) {
          fits = false;
        }
      }
      if (fits) return kept;
    }
    statements_.remove(kept, [this](StatementCache::Handle& evicted) {
      unused_statements_.push_back(evicted.release());
    });
  }
  const uint64_t number = ++statements_made_;
  absl::StatusOr<PostgresResult> prepared = run(
      connection, verb, sql,
      [&](PGconn* c) {
        const std::string text(sql);
        return ::PQsendPrepare(c, StatementName(number).text, text.c_str(),
                               static_cast<int>(types.size()), types.data());
      },
      /*may_commit=*/false);
  // Kept only once made on the server.
  if (!prepared.ok()) return prepared.status();
  fresh = true;
  StatementCache::Entry* made = statements_.add(sql, StatementCache::Handle(number),
                                                postgres_internal::PreparedTypes{std::move(types)});
  statements_.trim([this](StatementCache::Handle& evicted) {
    unused_statements_.push_back(evicted.release());
  });
  return made;
}

void PostgresConnection::forget_stale(StatementCache::Entry* entry, const absl::Status& status) {
  if (statement_vanished(status)) {
    statements_.remove(entry, [](StatementCache::Handle& gone) { (void)gone.release(); });
  } else {
    statements_.remove(entry, [this](StatementCache::Handle& evicted) {
      unused_statements_.push_back(evicted.release());
    });
  }
}

absl::StatusOr<PostgresResult> PostgresConnection::run_parameters(
    PGconn* connection, const char* verb, absl::string_view sql,
    const postgres_internal::ParameterArrays& arrays) {
  bool fresh = false;
  absl::StatusOr<StatementCache::Entry*> entry =
      cached_statement(connection, verb, sql, arrays, fresh);
  if (!entry.ok()) return entry.status();
  const uint64_t number = *entry != nullptr ? (*entry)->statement.get() : 0;
  const bool outside_transaction = ::PQtransactionStatus(connection) == PQTRANS_IDLE;
  absl::StatusOr<PostgresResult> result =
      run(connection, verb, sql, [&](PGconn* c) { return send_with(c, sql, number, arrays); });
  if (result.ok() || fresh || number == 0 || !stale(result.status())) return result;
  // Gone from the server, or refused for a changed plan: forgotten (gone:
  // nothing to DEALLOCATE; refused: DEALLOCATEd before the next command, or
  // after the ROLLBACK of a failed transaction), then, outside a
  // transaction, prepared again, once. Inside one, the error has failed the
  // transaction, and is returned as it is.
  forget_stale(*entry, result.status());
  if (!outside_transaction) return result;
  entry = cached_statement(connection, verb, sql, arrays, fresh);
  if (!entry.ok()) return entry.status();
  const uint64_t again = (*entry)->statement.get();
  return run(connection, verb, sql, [&](PGconn* c) { return send_with(c, sql, again, arrays); });
}

absl::Status PostgresConnection::execute(absl::string_view sql,
                                         absl::Span<const PostgresParameter> parameters) {
  return run_with("execute()", "execute", sql, parameters).status();
}

absl::StatusOr<PostgresResult> PostgresConnection::query(
    absl::string_view sql, absl::Span<const PostgresParameter> parameters) {
  return run_with("query()", "query", sql, parameters);
}

absl::StatusOr<PostgresStatement> PostgresConnection::prepare(absl::string_view sql) {
  PGconn* connection = checked("prepare()", *this);
  internal::SingleUserScope in_use = user_.enter(kName, "prepare()");
  const uint64_t number = ++statements_made_;
  absl::StatusOr<PostgresResult> prepared = run(
      connection, "prepare", sql,
      [&](PGconn* c) {
        const std::string text(sql);
        return ::PQsendPrepare(c, StatementName(number).text, text.c_str(), 0, nullptr);
      },
      /*may_commit=*/false);
  // Made on the server only if prepared; owned by the statement from here.
  if (!prepared.ok()) return prepared.status();
  return PostgresStatement(this, number, std::string(sql));
}

absl::Status PostgresTransactionOptions::validate() const {
  return ConfigRules(*this)
      .check(boost::describe::enum_to_string(isolation, nullptr) != nullptr, "isolation",
             absl::StrCat(enum_name(isolation), " is not one of ", enum_names<IsolationLevel>()))
      .check(!deferrable || (isolation == IsolationLevel::serializable && read_only), "deferrable",
             "takes effect only with isolation=serializable and read_only=true (PostgreSQL "
             "would ignore it here)")
      .status();
}

absl::StatusOr<PostgresTransaction> PostgresConnection::begin() { return begin_with("BEGIN"); }

absl::StatusOr<PostgresTransaction> PostgresConnection::begin(
    const PostgresTransactionOptions& options) {
  checked("begin()", *this);
  if (absl::Status valid = options.validate(); !valid.ok()) {
    return internal::status_on(valid, "begin", resource());
  }
  return begin_with(absl::StrCat(
      "BEGIN ISOLATION LEVEL ",
      absl::StrReplaceAll(absl::AsciiStrToUpper(enum_name(options.isolation)), {{"_", " "}}),
      options.read_only ? ", READ ONLY" : ", READ WRITE",
      options.deferrable ? ", DEFERRABLE" : ", NOT DEFERRABLE"));
}

absl::StatusOr<PostgresTransaction> PostgresConnection::begin_with(const std::string& sql) {
  PGconn* connection = checked("begin()", *this);
  internal::SingleUserScope in_use = user_.enter(kName, "begin()");
  const PGTransactionStatusType state = ::PQtransactionStatus(connection);
  if (abandoned_.empty() &&
      (transaction_live_ || state == PQTRANS_INTRANS || state == PQTRANS_INERROR)) {
    return internal::error_on(
        absl::StatusCode::kFailedPrecondition, "begin", resource(),
        "a transaction is already open on this connection; nest with a savepoint");
  }
  absl::StatusOr<PostgresResult> begun = run(
      connection, "begin", sql, [&sql](PGconn* c) { return ::PQsendQuery(c, sql.c_str()); },
      /*may_commit=*/false);
  if (!begun.ok()) return begun.status();
  return PostgresTransaction(this);
}

absl::Status PostgresConnection::end_transaction(const char* type, const char* operation,
                                                 const char* verb, const char* sql) {
  PGconn* connection = conn_of(connection_.get());
  internal::SingleUserScope in_use = user_.enter(type, operation);
  if (!transaction_open()) {
    return internal::ended_elsewhere(resource(), verb,
                                     absl::StrCat(sql, " would end nothing of this one"));
  }
  return run(connection, verb, sql, [sql](PGconn* c) { return ::PQsendQuery(c, sql); }).status();
}

absl::Status PostgresConnection::savepoint_command(const char* type, const char* operation,
                                                   const char* verb, const std::string& sql,
                                                   absl::string_view so) {
  PGconn* connection = conn_of(connection_.get());
  internal::SingleUserScope in_use = user_.enter(type, operation);
  if (!transaction_open()) return internal::ended_elsewhere(resource(), verb, so);
  return run(connection, verb, sql, [&sql](PGconn* c) { return ::PQsendQuery(c, sql.c_str()); })
      .status();
}

bool PostgresConnection::transaction_open() const {
  // Idle: no transaction. Anything else (open, failed, or a command still
  // running on an abandoned connection) is left to the COMMIT or ROLLBACK
  // to report.
  return !transaction_lost_ &&
         ::PQtransactionStatus(conn_of(connection_.get())) != PQTRANS_IDLE;
}

absl::Status PostgresConnection::check_health(absl::Time deadline) {
  // Read against the wall clock once; waited for on the monotonic clock.
  const internal::Deadline until =
      std::min(internal::Deadline::at(deadline), internal::Deadline::after(config_.query_timeout));
  const auto fail = [&](absl::StatusCode code, absl::string_view what) {
    return internal::error_on(code, "check_health", resource(), what);
  };
  if (!is_open()) {
    return fail(absl::StatusCode::kFailedPrecondition,
                absl::StrCat("on ", describe(connection_.state())));
  }
  if (!process_.here()) {
    return fail(absl::StatusCode::kFailedPrecondition,
                "opened by the parent of this fork()ed child");
  }
  PGconn* connection = conn_of(connection_.get_unchecked());
  internal::SingleUserScope in_use = user_.enter(kName, "check_health()");
  if (!abandoned_.empty()) return fail(absl::StatusCode::kUnavailable, abandoned_);
  if (::PQstatus(connection) != CONNECTION_OK) {
    return fail(absl::StatusCode::kUnavailable, message_of(::PQerrorMessage(connection)));
  }
  if (transaction_live_ || ::PQtransactionStatus(connection) != PQTRANS_IDLE) {
    return fail(absl::StatusCode::kFailedPrecondition, "a transaction is still open on it");
  }
  const auto lost = [&] {
    if (::PQstatus(connection) != CONNECTION_BAD || ::PQisBusy(connection) != 0) {
      abandoned_ = "the connection was abandoned when its health check failed halfway; "
                   "rebuild() a new one";
    }
    return fail(absl::StatusCode::kUnavailable, message_of(::PQerrorMessage(connection)));
  };
  const auto timed_out = [&] {
    abandoned_ = "the connection was abandoned when its health check got no answer by its "
                 "deadline; rebuild() a new one";
    return fail(absl::StatusCode::kDeadlineExceeded,
                "no answer from the server by the deadline; the connection is abandoned");
  };
  // Notifications libpq reads meanwhile: kept for notifications().
  absl::Cleanup collect = [this, connection] { collect_notifications(connection); };
  if (::PQsendQuery(connection, "") != 1) return lost();
  if (const Progress sent = flush_within(connection, until); sent != Progress::kDone) {
    return sent == Progress::kTimedOut ? timed_out() : lost();
  }
  bool answered = false;
  while (true) {
    if (const Progress read = read_within(connection, until); read != Progress::kDone) {
      return read == Progress::kTimedOut ? timed_out() : lost();
    }
    PGresult* raw = ::PQgetResult(connection);
    if (raw == nullptr) break;
    UniqueHandle<postgres_internal::ResultTraits> result(address_of(raw));
    if (::PQresultStatus(raw) != PGRES_EMPTY_QUERY) {
      return fail(absl::StatusCode::kUnavailable, message_of(::PQresultErrorMessage(raw)));
    }
    answered = true;
  }
  if (!answered || ::PQstatus(connection) != CONNECTION_OK) return lost();
  return absl::OkStatus();
}

bool PostgresConnection::reusable() const {
  if (!is_open() || !abandoned_.empty() || transaction_live_) return false;
  // A session subscribed, or with notifications waiting: the next user
  // never asked for them (see the header).
  if (listening_ || !notifications_.empty()) return false;
  // A notice handler is the last user's (it may point into a request that
  // has ended): the next user must not have its notices sent there.
  if (notice_handler_ != nullptr) return false;
  PGconn* connection = conn_of(connection_.get_unchecked());
  return ::PQstatus(connection) == CONNECTION_OK &&
         ::PQtransactionStatus(connection) == PQTRANS_IDLE;
}

void PostgresConnection::collect_notifications(PGconn* connection) {
  while (PGnotify* raw = ::PQnotifies(connection)) {
    std::unique_ptr<PGnotify, decltype(&::PQfreemem)> notify(raw, &::PQfreemem);
    notifications_.push_back(PostgresNotification{
        .channel = notify->relname != nullptr ? notify->relname : "",
        .payload = notify->extra != nullptr ? notify->extra : "",
        .backend_pid = notify->be_pid});
    listening_ = true;
  }
}

void PostgresConnection::note_listen(absl::string_view sql) {
  const std::string keyword = first_keyword(sql);
  if (keyword == "LISTEN") {
    listening_ = true;
    return;
  }
  if (keyword != "UNLISTEN" && keyword != "DISCARD") return;
  // The whole text: "UNLISTEN *" or "DISCARD ALL" (any case, blanks, one
  // trailing ';'), nothing after it.
  std::string whole = absl::AsciiStrToUpper(sql);
  absl::RemoveExtraAsciiWhitespace(&whole);
  absl::string_view rest = whole;
  absl::ConsumeSuffix(&rest, ";");
  rest = absl::StripAsciiWhitespace(rest);
  if (rest == "UNLISTEN *" || rest == "UNLISTEN*" || rest == "DISCARD ALL") listening_ = false;
}

absl::StatusOr<std::vector<PostgresNotification>> PostgresConnection::take_notifications(
    const char* operation, const char* verb, internal::Deadline deadline) {
  PGconn* connection = checked(operation, *this);
  internal::SingleUserScope in_use = user_.enter(kName, operation);
  if (ABSL_PREDICT_FALSE(streaming_)) {
    misuse_on(kName, operation, resource(),
              "inside for_each()'s fn, while for_each()'s query is running on this connection; "
              "read the rows first, or use another connection");
  }
  const auto fail = [&](absl::StatusCode code, absl::string_view what) {
    return internal::error_on(code, verb, resource(), what);
  };
  if (!abandoned_.empty()) return fail(absl::StatusCode::kUnavailable, abandoned_);
  const auto lost = [&] {
    std::string why = message_of(::PQerrorMessage(connection));
    if (why.empty()) why = "the server closed the connection";
    return fail(absl::StatusCode::kUnavailable, why);
  };
  if (::PQstatus(connection) != CONNECTION_OK) return lost();
  collect_notifications(connection);
  // Once what is kept is there: only a look at the socket, no wait.
  const internal::Deadline until =
      notifications_.empty() ? deadline : internal::Deadline::after(absl::ZeroDuration());
  while (true) {
    const int ready = wait_for(connection, POLLIN, until);
    if (ready < 0) return lost();
    if (ready == 0) break;
    if (::PQconsumeInput(connection) == 0 || ::PQstatus(connection) != CONNECTION_OK) {
      return lost();
    }
    collect_notifications(connection);
    // Something came that was not a notification (a notice, a parameter
    // status): wait on for one, or look once more.
    if (!notifications_.empty() || until.passed()) break;
  }
  std::vector<PostgresNotification> taken;
  taken.swap(notifications_);
  return taken;
}

absl::StatusOr<std::vector<PostgresNotification>> PostgresConnection::notifications() {
  return take_notifications("notifications()", "notifications",
                            internal::Deadline::after(absl::ZeroDuration()));
}

absl::StatusOr<std::vector<PostgresNotification>> PostgresConnection::wait_for_notification(
    absl::Duration timeout) {
  return take_notifications("wait_for_notification()", "wait_for_notification",
                            internal::Deadline::after(timeout));
}

absl::StatusOr<std::string> PostgresConnection::quote(const char* operation, const char* verb,
                                                      absl::string_view text, bool identifier) {
  PGconn* connection = checked(operation, *this);
  internal::SingleUserScope in_use = user_.enter(kName, operation);
  // Never the text itself: it may be a secret.
  const auto fail = [&](absl::string_view what) {
    return internal::error_on(absl::StatusCode::kInvalidArgument, verb, resource(),
                              absl::StrCat("the ", text.size(), "-byte ",
                                           identifier ? "name" : "text", " ", what));
  };
  if (const size_t nul = text.find('\0'); nul != absl::string_view::npos) {
    return fail(absl::StrCat("contains a NUL byte at offset ", nul));
  }
  char* escaped = identifier ? ::PQescapeIdentifier(connection, text.data(), text.size())
                             : ::PQescapeLiteral(connection, text.data(), text.size());
  if (escaped == nullptr) {
    // libpq's reason: an invalid multibyte character (its words quote none
    // of the text), or out of memory.
    return fail(absl::StrCat("could not be quoted: ", message_of(::PQerrorMessage(connection))));
  }
  std::string quoted_text(escaped);
  ::PQfreemem(escaped);
  return quoted_text;
}

absl::StatusOr<std::string> PostgresConnection::quote_identifier(absl::string_view name) {
  return quote("quote_identifier()", "quote_identifier", name, /*identifier=*/true);
}

absl::StatusOr<std::string> PostgresConnection::quote_literal(absl::string_view text) {
  return quote("quote_literal()", "quote_literal", text, /*identifier=*/false);
}

std::string PostgresConnection::resource_for(const PostgresConfig& config) {
  return resource_of(config);
}

void PostgresConnection::set_notice_handler(std::function<void(const PostgresNotice&)> handler) {
  PGconn* connection = checked("set_notice_handler()", *this);
  internal::SingleUserScope in_use = user_.enter(kName, "set_notice_handler()");
  if (!handler) {
    ::PQsetNoticeReceiver(connection, drop_notice, nullptr);
    notice_handler_.reset();
    return;
  }
  if (notice_handler_ == nullptr) {
    notice_handler_ =
        std::make_unique<std::function<void(const PostgresNotice&)>>(std::move(handler));
  } else {
    *notice_handler_ = std::move(handler);
  }
  ::PQsetNoticeReceiver(connection, deliver_notice, notice_handler_.get());
}

absl::Status PostgresConnection::close() {
  checked("close()", *this);
  internal::SingleUserScope in_use = user_.enter(kName, "close()");
  lender_.require_none("close()");
  // The session's statements end with it: nothing is left to release.
  unused_statements_.clear();
  statements_.clear();
  return internal::status_on(connection_.close(), "close", resource());
}

// ---------------------------------------------------------------------------
// PostgresStatement

PostgresStatement::PostgresStatement(PostgresConnection* connection, uint64_t number,
                                     std::string sql)
    : prepared_(number, postgres_internal::PreparedTraits(connection)),
      connection_(connection),
      sql_(std::move(sql)) {}

std::string PostgresStatement::resource() const {
  const PostgresConnection* connection = connection_.get();
  return connection != nullptr ? connection->resource() : std::string();
}

absl::StatusOr<PostgresResult> PostgresStatement::execute(
    absl::Span<const PostgresParameter> parameters) {
  const uint64_t number = prepared_.get_as(kName, "execute()", [this] { return resource(); });
  PostgresConnection* connection = connection_.get();
  PGconn* raw = connection->checked("execute()", *this);
  internal::SingleUserScope in_use = connection->user_.enter(kName, "execute()");
  postgres_internal::ParameterArrays arrays;
  if (const std::string wrong = arrays.fill(parameters); ABSL_PREDICT_FALSE(!wrong.empty())) {
    // "execute postgresql <user>@<host>:<port>/<db>: "<SQL>": <what>"
    return internal::error_on(absl::StatusCode::kInvalidArgument, "execute",
                              connection->resource(), absl::StrCat(quoted(sql_), ": ", wrong));
  }
  const StatementName name(number);
  return connection->run(raw, "execute", sql_, [&](PGconn* c) {
    // No types: the statement's were fixed when it was prepared.
    return ::PQsendQueryPrepared(c, name.text, static_cast<int>(arrays.values.size()),
                                 arrays.values.data(), arrays.lengths.data(),
                                 arrays.formats.data(), /*resultFormat=*/0);
  });
}

absl::StatusOr<PostgresResult> PostgresStatement::execute(
    const std::vector<std::optional<std::string>>& parameters) {
  absl::InlinedVector<PostgresParameter, 8> values(parameters.begin(), parameters.end());
  return execute(absl::MakeConstSpan(values));
}

// ---------------------------------------------------------------------------
// PostgresResult

int PostgresResult::rows() const { return ::PQntuples(result_of(result_.get())); }
int PostgresResult::columns() const { return ::PQnfields(result_of(result_.get())); }

namespace {

// "get_int64" and 0, 2 => "get_int64(0, 2)": the call, for a misuse line.
std::string call_of(const char* accessor, int row, int column) {
  return absl::StrCat(accessor, "(", row, ", ", column, ")");
}

}  // namespace

PGresult* PostgresResult::cell(const char* accessor, int row, int column) const {
  PGresult* result = result_of(result_.get_for(accessor));
  if (ABSL_PREDICT_FALSE(row < 0 || row >= ::PQntuples(result) || column < 0 ||
                         column >= ::PQnfields(result))) {
    misuse_on(kName, call_of(accessor, row, column).c_str(), "",
              "outside the result's %d rows x %d columns", ::PQntuples(result),
              ::PQnfields(result));
  }
  return result;
}

void PostgresResult::not_a(const char* accessor, int row, int column, absl::string_view text,
                           const char* what) {
  misuse_on(kName, call_of(accessor, row, column).c_str(), "", "on %s, which is not %s",
            quoted(text).c_str(), what);
}

bool PostgresResult::is_null(int row, int column) const {
  return ::PQgetisnull(cell("is_null", row, column), row, column) != 0;
}

std::string PostgresResult::get_text(int row, int column) const {
  PGresult* result = cell("get_text", row, column);
  return std::string(::PQgetvalue(result, row, column),
                     static_cast<size_t>(::PQgetlength(result, row, column)));
}

int64_t PostgresResult::get_int64(int row, int column) const {
  PGresult* result = cell("get_int64", row, column);
  const absl::string_view text(::PQgetvalue(result, row, column),
                               static_cast<size_t>(::PQgetlength(result, row, column)));
  int64_t value = 0;
  if (ABSL_PREDICT_FALSE(!absl::SimpleAtoi(text, &value))) {
    not_a("get_int64", row, column, text, "an integer");
  }
  return value;
}

double PostgresResult::get_double(int row, int column) const {
  PGresult* result = cell("get_double", row, column);
  const absl::string_view text(::PQgetvalue(result, row, column),
                               static_cast<size_t>(::PQgetlength(result, row, column)));
  double value = 0;
  if (ABSL_PREDICT_FALSE(!absl::SimpleAtod(text, &value))) {
    not_a("get_double", row, column, text, "a number");
  }
  return value;
}

// ---------------------------------------------------------------------------
// PostgresResult: metadata and read<T>

const char* postgres_internal::builtin_type_name(unsigned oid) {
  // pg_type's typname of each built-in type a column can have (its OID is
  // fixed by PostgreSQL's catalog, pg_type.dat); checked against the
  // server's pg_type by postgres_values_test.
  switch (oid) {
    case 16: return "bool";
    case 17: return "bytea";
    case 18: return "char";
    case 19: return "name";
    case 20: return "int8";
    case 21: return "int2";
    case 22: return "int2vector";
    case 23: return "int4";
    case 24: return "regproc";
    case 25: return "text";
    case 26: return "oid";
    case 27: return "tid";
    case 28: return "xid";
    case 29: return "cid";
    case 30: return "oidvector";
    case 114: return "json";
    case 142: return "xml";
    case 194: return "pg_node_tree";
    case 600: return "point";
    case 601: return "lseg";
    case 602: return "path";
    case 603: return "box";
    case 604: return "polygon";
    case 628: return "line";
    case 650: return "cidr";
    case 700: return "float4";
    case 701: return "float8";
    case 705: return "unknown";
    case 718: return "circle";
    case 774: return "macaddr8";
    case 790: return "money";
    case 829: return "macaddr";
    case 869: return "inet";
    case 1033: return "aclitem";
    case 1042: return "bpchar";
    case 1043: return "varchar";
    case 1082: return "date";
    case 1083: return "time";
    case 1114: return "timestamp";
    case 1184: return "timestamptz";
    case 1186: return "interval";
    case 1266: return "timetz";
    case 1560: return "bit";
    case 1562: return "varbit";
    case 1700: return "numeric";
    case 1790: return "refcursor";
    case 2202: return "regprocedure";
    case 2203: return "regoper";
    case 2204: return "regoperator";
    case 2205: return "regclass";
    case 2206: return "regtype";
    case 2249: return "record";
    case 2275: return "cstring";
    case 2278: return "void";
    case 2950: return "uuid";
    case 2970: return "txid_snapshot";
    case 3220: return "pg_lsn";
    case 3614: return "tsvector";
    case 3615: return "tsquery";
    case 3734: return "regconfig";
    case 3769: return "regdictionary";
    case 3802: return "jsonb";
    case 3904: return "int4range";
    case 3906: return "numrange";
    case 3908: return "tsrange";
    case 3910: return "tstzrange";
    case 3912: return "daterange";
    case 3926: return "int8range";
    case 4072: return "jsonpath";
    case 4089: return "regnamespace";
    case 4096: return "regrole";
    case 4191: return "regcollation";
    case 4451: return "int4multirange";
    case 4532: return "nummultirange";
    case 4533: return "tsmultirange";
    case 4534: return "tstzmultirange";
    case 4535: return "datemultirange";
    case 4536: return "int8multirange";
    case 5038: return "pg_snapshot";
    case 5069: return "xid8";
    // Arrays: "_" and the element's name.
    case 143: return "_xml";
    case 199: return "_json";
    case 271: return "_xid8";
    case 629: return "_line";
    case 651: return "_cidr";
    case 719: return "_circle";
    case 775: return "_macaddr8";
    case 791: return "_money";
    case 1000: return "_bool";
    case 1001: return "_bytea";
    case 1002: return "_char";
    case 1003: return "_name";
    case 1005: return "_int2";
    case 1006: return "_int2vector";
    case 1007: return "_int4";
    case 1008: return "_regproc";
    case 1009: return "_text";
    case 1010: return "_tid";
    case 1011: return "_xid";
    case 1012: return "_cid";
    case 1013: return "_oidvector";
    case 1014: return "_bpchar";
    case 1015: return "_varchar";
    case 1016: return "_int8";
    case 1017: return "_point";
    case 1018: return "_lseg";
    case 1019: return "_path";
    case 1020: return "_box";
    case 1021: return "_float4";
    case 1022: return "_float8";
    case 1027: return "_polygon";
    case 1028: return "_oid";
    case 1034: return "_aclitem";
    case 1040: return "_macaddr";
    case 1041: return "_inet";
    case 1115: return "_timestamp";
    case 1182: return "_date";
    case 1183: return "_time";
    case 1185: return "_timestamptz";
    case 1187: return "_interval";
    case 1231: return "_numeric";
    case 1263: return "_cstring";
    case 1270: return "_timetz";
    case 1561: return "_bit";
    case 1563: return "_varbit";
    case 2201: return "_refcursor";
    case 2207: return "_regprocedure";
    case 2208: return "_regoper";
    case 2209: return "_regoperator";
    case 2210: return "_regclass";
    case 2211: return "_regtype";
    case 2287: return "_record";
    case 2949: return "_txid_snapshot";
    case 2951: return "_uuid";
    case 3221: return "_pg_lsn";
    case 3643: return "_tsvector";
    case 3645: return "_tsquery";
    case 3735: return "_regconfig";
    case 3770: return "_regdictionary";
    case 3807: return "_jsonb";
    case 3905: return "_int4range";
    case 3907: return "_numrange";
    case 3909: return "_tsrange";
    case 3911: return "_tstzrange";
    case 3913: return "_daterange";
    case 3927: return "_int8range";
    case 4073: return "_jsonpath";
    case 4090: return "_regnamespace";
    case 4097: return "_regrole";
    case 4192: return "_regcollation";
    case 5039: return "_pg_snapshot";
    default: return nullptr;
  }
}

namespace {

// "int8", or "oid 16384" for a type that is not built in.
std::string type_of(PGresult* result, int column) {
  const Oid oid = ::PQftype(result, column);
  const char* name = postgres_internal::builtin_type_name(oid);
  return name != nullptr ? std::string(name) : absl::StrCat("oid ", oid);
}

// `row 0, column 1 "rating" (float8)`: how read's messages name a cell.
std::string cell_of(PGresult* result, int row, int column) {
  return absl::StrCat("row ", row, ", column ", column, " ", quoted(::PQfname(result, column)),
                      " (", type_of(result, column), ")");
}

// The value of a cell libpq holds (text, NUL-terminated).
absl::string_view text_at(PGresult* result, int row, int column) {
  return absl::string_view(::PQgetvalue(result, row, column),
                           static_cast<size_t>(::PQgetlength(result, row, column)));
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool is_octal(char c) { return c >= '0' && c <= '7'; }

// A bytea's text form into its bytes: hex ("\x0001ff", bytea_output =
// hex, the default) or escape ("\000\001\\", bytea_output = escape).
// False if `text` is neither.
bool decode_bytea(absl::string_view text, std::vector<std::byte>& bytes) {
  bytes.clear();
  if (absl::ConsumePrefix(&text, "\\x")) {
    if (text.size() % 2 != 0) return false;
    bytes.resize(text.size() / 2);
    for (size_t i = 0; i < bytes.size(); ++i) {
      const int high = hex_digit(text[2 * i]);
      const int low = hex_digit(text[2 * i + 1]);
      if (high < 0 || low < 0) return false;
      bytes[i] = static_cast<std::byte>(high * 16 + low);
    }
    return true;
  }
  bytes.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\\') {
      bytes.push_back(static_cast<std::byte>(text[i]));
    } else if (i + 1 < text.size() && text[i + 1] == '\\') {
      bytes.push_back(std::byte{'\\'});
      ++i;
    } else if (i + 3 < text.size() && is_octal(text[i + 1]) && is_octal(text[i + 2]) &&
               is_octal(text[i + 3])) {
      bytes.push_back(static_cast<std::byte>((text[i + 1] - '0') * 64 + (text[i + 2] - '0') * 8 +
                                             (text[i + 3] - '0')));
      i += 3;
    } else {
      return false;
    }
  }
  return true;
}

}  // namespace

std::string PostgresResult::column_name(int column) const {
  PGresult* result = result_of(result_.get_for("column_name"));
  if (ABSL_PREDICT_FALSE(column < 0 || column >= ::PQnfields(result))) {
    misuse_on(kName, absl::StrCat("column_name(", column, ")").c_str(), "",
              "outside the result's %d columns", ::PQnfields(result));
  }
  return ::PQfname(result, column);
}

std::string PostgresResult::column_type(int column) const {
  PGresult* result = result_of(result_.get_for("column_type"));
  if (ABSL_PREDICT_FALSE(column < 0 || column >= ::PQnfields(result))) {
    misuse_on(kName, absl::StrCat("column_type(", column, ")").c_str(), "",
              "outside the result's %d columns", ::PQnfields(result));
  }
  return type_of(result, column);
}

absl::StatusOr<int> PostgresResult::column_index(absl::string_view name) const {
  PGresult* result = result_of(result_.get_for("column_index"));
  const int columns = ::PQnfields(result);
  int found = -1;
  for (int column = 0; column < columns; ++column) {
    if (name != ::PQfname(result, column)) continue;
    if (found >= 0) {
      return internal::error_on(
          absl::StatusCode::kInvalidArgument, "find", absl::StrCat("column ", quoted(name)),
          absl::StrCat("columns ", found, " and ", column,
                       " both have that name; name them apart with AS"));
    }
    found = column;
  }
  if (found >= 0) return found;
  // The result's columns, the first few, to show what there is.
  constexpr int kShown = 8;
  std::string names;
  for (int column = 0; column < columns && column < kShown; ++column) {
    absl::StrAppend(&names, column == 0 ? " " : ", ", quoted(::PQfname(result, column)));
  }
  if (columns > kShown) absl::StrAppend(&names, ", ...");
  return internal::error_on(absl::StatusCode::kNotFound, "find",
                            absl::StrCat("column ", quoted(name)),
                            absl::StrCat("not among the result's ", columns, " columns", names));
}

bool PostgresResult::null_at(int row, int column) const {
  return ::PQgetisnull(cell("read", row, column), row, column) != 0;
}

absl::Status PostgresResult::null_into(int row, int column, const char* type) const {
  return internal::error_on(absl::StatusCode::kFailedPrecondition, "read",
                            cell_of(result_of(result_.get()), row, column),
                            absl::StrCat("NULL into ", type, "; read std::optional<", type,
                                         "> where NULL can be"));
}

absl::Status PostgresResult::null_value(const char* type) {
  return absl::FailedPreconditionError(absl::StrCat("NULL into a non-optional ", type));
}

absl::Status PostgresResult::in_cell(int row, int column, const absl::Status& bare) const {
  return internal::error_on(bare.code(), "read", cell_of(result_of(result_.get()), row, column),
                            bare.message());
}

namespace {

// InvalidArgument: the cell's text `text` is not a `type`; `why` says more.
// The bare message (in_cell() names the cell).
absl::Status not_read(PGresult* result, int row, int column, absl::string_view text,
                      absl::string_view what) {
  (void)result, (void)row, (void)column;
  return absl::InvalidArgumentError(absl::StrCat(quoted(text), " ", what));
}

// The whole of `text` as a number by std::from_chars, which takes the
// server's own output (no space, no '+') at about twice the speed of
// SimpleAtoi / SimpleAtod, correctly rounded as they are; false leaves
// `value` alone. The parsers try it first and give what it refuses to
// SimpleAtoi / SimpleAtod, so what they accept, and its value, stay theirs
// (space around, a '+', a double out of range as infinity).
template <typename T>
ABSL_ATTRIBUTE_ALWAYS_INLINE inline bool whole_number(absl::string_view text, T& value) {
  const char* end = text.data() + text.size();
  T number;  // from_chars writes what it read of a prefix
  const auto [stop, error] = std::from_chars(text.data(), end, number);
  if (ABSL_PREDICT_FALSE(error != std::errc() || stop != end || text.empty())) return false;
  value = number;
  return true;
}

}  // namespace

absl::Status PostgresResult::parse(int row, int column, bool& value) const {
  PGresult* result = result_of(result_.get());
  const absl::string_view text = text_at(result, row, column);
  if (text == "t" || text == "f") {
    value = text == "t";
    return absl::OkStatus();
  }
  return not_read(result, row, column, text, "is not a bool (t or f)");
}

absl::Status PostgresResult::parse(int row, int column, int64_t& value) const {
  PGresult* result = result_of(result_.get());
  const absl::string_view text = text_at(result, row, column);
  if (whole_number(text, value) || absl::SimpleAtoi(text, &value)) return absl::OkStatus();
  return not_read(result, row, column, text, "is not an int64_t");
}

absl::Status PostgresResult::parse(int row, int column, int& value) const {
  PGresult* result = result_of(result_.get());
  const absl::string_view text = text_at(result, row, column);
  if (absl::SimpleAtoi(text, &value)) return absl::OkStatus();
  int64_t wide = 0;
  return not_read(result, row, column, text,
                  absl::SimpleAtoi(text, &wide) ? "is out of the range of an int"
                                                : "is not an int");
}

absl::Status PostgresResult::parse(int row, int column, double& value) const {
  PGresult* result = result_of(result_.get());
  const absl::string_view text = text_at(result, row, column);
  if (whole_number(text, value) || absl::SimpleAtod(text, &value)) return absl::OkStatus();
  return not_read(result, row, column, text, "is not a double");
}

absl::Status PostgresResult::parse(int row, int column, std::string& value) const {
  const absl::string_view text = text_at(result_of(result_.get()), row, column);
  value.assign(text.data(), text.size());
  return absl::OkStatus();
}

absl::Status PostgresResult::parse(int row, int column, std::vector<std::byte>& value) const {
  PGresult* result = result_of(result_.get());
  const absl::string_view text = text_at(result, row, column);
  if (::PQftype(result, column) != 17) {
    return absl::InvalidArgumentError(
        "not a bytea, so not a std::vector<std::byte>; read a std::string, or cast it "
        "(::bytea) in the SQL");
  }
  if (decode_bytea(text, value)) return absl::OkStatus();
  return not_read(result, row, column, text, "is not a bytea's text form");
}

int64_t PostgresResult::affected() const {
  int64_t value = 0;
  (void)absl::SimpleAtoi(::PQcmdTuples(result_of(result_.get())), &value);
  return value;
}

// ---------------------------------------------------------------------------
// Rows into described structs (rows.h)

namespace postgres_internal {

ResultRows::ResultRows(PostgresConnection* connection, const char* verb, absl::string_view sql,
                       internal::Deadline deadline)
    : connection_(connection),
      result_(UniqueHandle<ResultTraits>()),
      streaming_(true),
      verb_(verb),
      sql_(sql),
      deadline_(deadline) {}

absl::string_view ResultRows::column_name(int column) const {
  return ::PQfname(result_of(result_.result_.get()), column);
}

std::string ResultRows::resource() const { return connection_->resource(); }

absl::Status ResultRows::of_type(int column, const absl::Status& bare) const {
  if (bare.code() != absl::StatusCode::kInvalidArgument) return bare;
  return absl::InvalidArgumentError(absl::StrCat(
      bare.message(), " (a ", type_of(result_of(result_.result_.get()), column), " column)"));
}

// NULL, else the cell's text: a text or a number read here, anything else
// (and every refusal) through parse(), into a local (parse() may write a
// value it then refuses), then moved into `out`; an optional's text is
// made in place. libpq gives a NULL the length 0, so only an empty cell is
// asked whether it is NULL: one call a cell fewer, the same answers.
template <typename T>
absl::Status ResultRows::cell_into(int column, T& out) const {
  PGresult* result = result_of(result_.result_.get());
  const int size = ::PQgetlength(result, row_, column);
  const bool null = ABSL_PREDICT_FALSE(size == 0) && ::PQgetisnull(result, row_, column) != 0;
  const auto text = [&] {
    return absl::string_view(::PQgetvalue(result, row_, column), static_cast<size_t>(size));
  };
  // A value that is not text, into `value`.
  const auto parsed = [&](auto& value) -> absl::Status {
    using Value = std::remove_reference_t<decltype(value)>;
    if constexpr (std::is_same_v<Value, int64_t> || std::is_same_v<Value, double>) {
      if (whole_number(text(), value)) return absl::OkStatus();
    }
    Value local{};
    absl::Status status = result_.parse(row_, column, local);
    if (ABSL_PREDICT_TRUE(status.ok())) value = std::move(local);
    return status;
  };
  if constexpr (IsOptional<T>::value) {
    if (null) {
      out.reset();
      return absl::OkStatus();
    }
    if constexpr (std::is_same_v<T, std::optional<std::string>>) {
      const absl::string_view value = text();
      if (out.has_value()) {
        out->assign(value.data(), value.size());
      } else {
        out.emplace(value.data(), value.size());
      }
      return absl::OkStatus();
    } else {
      typename T::value_type value{};
      absl::Status status = parsed(value);
      if (ABSL_PREDICT_TRUE(status.ok())) out = std::move(value);
      return status;
    }
  } else {
    if (null) return PostgresResult::null_value(PostgresResult::type_name(&out));
    if constexpr (std::is_same_v<T, std::string>) {
      const absl::string_view value = text();
      out.assign(value.data(), value.size());
      return absl::OkStatus();
    } else {
      return parsed(out);
    }
  }
}

template absl::Status ResultRows::cell_into(int, bool&) const;
template absl::Status ResultRows::cell_into(int, int&) const;
template absl::Status ResultRows::cell_into(int, int64_t&) const;
template absl::Status ResultRows::cell_into(int, double&) const;
template absl::Status ResultRows::cell_into(int, std::string&) const;
template absl::Status ResultRows::cell_into(int, std::vector<std::byte>&) const;
template absl::Status ResultRows::cell_into(int, std::optional<bool>&) const;
template absl::Status ResultRows::cell_into(int, std::optional<int>&) const;
template absl::Status ResultRows::cell_into(int, std::optional<int64_t>&) const;
template absl::Status ResultRows::cell_into(int, std::optional<double>&) const;
template absl::Status ResultRows::cell_into(int, std::optional<std::string>&) const;
template absl::Status ResultRows::cell_into(int, std::optional<std::vector<std::byte>>&) const;

absl::StatusOr<bool> ResultRows::next() {
  if (!streaming_) return ++row_ < result_.rows();
  return connection_->stream_next(*this);
}

std::string RowParameters::resource() const { return connection_->resource(); }

}  // namespace postgres_internal

absl::Status PostgresConnection::stream(
    const char* operation, const char* verb, absl::string_view sql,
    absl::Span<const PostgresParameter> parameters,
    absl::FunctionRef<absl::Status(postgres_internal::ResultRows&)> consume) {
  PGconn* connection = checked(operation, *this);
  internal::SingleUserScope in_use = user_.enter(kName, operation);
  postgres_internal::ParameterArrays arrays;
  if (const std::string wrong = arrays.fill(parameters); ABSL_PREDICT_FALSE(!wrong.empty())) {
    return internal::error_on(absl::StatusCode::kInvalidArgument, verb, resource(),
                              absl::StrCat(quoted(sql), ": ", wrong));
  }
  internal::Deadline deadline = internal::Deadline::never();
  if (absl::Status ready = before_command(connection, verb, sql, deadline); !ready.ok()) {
    return ready;
  }
  // Notifications libpq read meanwhile: kept for notifications().
  absl::Cleanup collect = [this, connection] { collect_notifications(connection); };
  // Whether a command stopped early may be cancelled (not inside a
  // transaction, which the cancel would fail).
  const bool outside_transaction = ::PQtransactionStatus(connection) == PQTRANS_IDLE;
  bool fresh = false;
  absl::StatusOr<StatementCache::Entry*> entry =
      cached_statement(connection, verb, sql, arrays, fresh);
  if (!entry.ok()) return entry.status();
  const uint64_t number = *entry != nullptr ? (*entry)->statement.get() : 0;
  absl::Status status =
      stream_with(connection, verb, sql, number, arrays, outside_transaction, deadline, consume);
  if (status.ok() || fresh || number == 0 || !stale(status)) return status;
  // Gone from the server, or refused for a changed plan (before any row:
  // the server checks the statement and its plan first), as for
  // run_parameters(): prepared again once, outside a transaction.
  forget_stale(*entry, status);
  if (!outside_transaction) return status;
  entry = cached_statement(connection, verb, sql, arrays, fresh);
  if (!entry.ok()) return entry.status();
  return stream_with(connection, verb, sql, (*entry)->statement.get(), arrays, outside_transaction,
                     deadline, consume);
}

absl::Status PostgresConnection::stream_with(
    PGconn* connection, const char* verb, absl::string_view sql, uint64_t number,
    const postgres_internal::ParameterArrays& arrays, bool outside_transaction,
    internal::Deadline deadline,
    absl::FunctionRef<absl::Status(postgres_internal::ResultRows&)> consume) {
  if (ABSL_PREDICT_FALSE(closed_while_idle(connection))) return lost(connection, verb, sql);
  if (send_with(connection, sql, number, arrays) != 1) {
    if (::PQstatus(connection) == CONNECTION_BAD) return lost(connection, verb, sql);
    return internal::error_on(
        absl::StatusCode::kInternal, verb, resource(),
        absl::StrCat(quoted(sql), ": ", message_of(::PQerrorMessage(connection))));
  }
  postgres_internal::ResultRows rows(this, verb, sql, deadline);
  rows.outside_transaction_ = outside_transaction;
  // Until the command has ended: a command from fn is misuse, and so is
  // moving, closing or destroying the connection (the borrow's check).
  const internal::Borrowed<PostgresConnection> busy(this);
  streaming_ = true;
  const absl::Cleanup done = [this] { streaming_ = false; };
  // Right after the send, before any result: each row its own result.
  // (libpq refuses only when called at another moment.)
  if (::PQsetSingleRowMode(connection) != 1) {
    absl::Status finished = stream_finish(rows);
    if (!finished.ok()) return finished;
    return internal::error_on(absl::StatusCode::kInternal, verb, resource(),
                              absl::StrCat(quoted(sql), ": libpq refused single-row mode"));
  }
  if (const Progress sent = flush_within(connection, deadline); sent != Progress::kDone) {
    rows.ended_ = true;
    return sent == Progress::kTimedOut ? timed_out(connection, verb, sql)
                                       : lost(connection, verb, sql);
  }
  absl::Status status = consume(rows);
  // Stopped early (by fn, a row that did not read, the columns): the rest
  // of the command is dealt with so that the connection can go on.
  if (!rows.ended_) {
    absl::Status finished = stream_finish(rows);
    if (status.ok()) status = finished;
  }
  if (transaction_live_ && ::PQtransactionStatus(connection) == PQTRANS_IDLE) {
    transaction_lost_ = true;
  }
  return status;
}

absl::StatusOr<bool> PostgresConnection::stream_next(postgres_internal::ResultRows& rows) {
  PGconn* connection = conn_of(connection_.get());
  if (rows.ended_) return false;
  while (true) {
    if (const Progress read = read_within(connection, rows.deadline_); read != Progress::kDone) {
      rows.ended_ = true;
      return read == Progress::kTimedOut
                 ? timed_out(connection, rows.verb_, rows.sql_, Sent::kWhole,
                             rows.outside_transaction_)
                 : lost(connection, rows.verb_, rows.sql_, Sent::kWhole, rows.outside_transaction_);
    }
    PGresult* raw = ::PQgetResult(connection);
    if (raw == nullptr) {
      // The end, with no result of rows (a lost connection reports itself
      // with a result first).
      rows.ended_ = true;
      if (!rows.has_result_)
        return lost(connection, rows.verb_, rows.sql_, Sent::kWhole, rows.outside_transaction_);
      rows.row_ = -1;
      return false;
    }
    UniqueHandle<postgres_internal::ResultTraits> result(address_of(raw));
    switch (::PQresultStatus(raw)) {
      case PGRES_SINGLE_TUPLE:
        rows.result_.result_ = std::move(result);
        rows.has_result_ = true;
        rows.row_ = 0;
        return true;
      case PGRES_TUPLES_OK:
      case PGRES_COMMAND_OK:
      case PGRES_EMPTY_QUERY:
        // The last result: no row, the columns (when there are any). Then
        // libpq's end of the command.
        rows.result_.result_ = std::move(result);
        rows.has_result_ = true;
        rows.row_ = -1;
        continue;
      case PGRES_COPY_IN:
      case PGRES_COPY_OUT:
      case PGRES_COPY_BOTH: {
        // A statement run with parameters cannot be COPY ... STDIN/STDOUT
        // (the server refuses it), but should one come, the connection
        // cannot go on.
        rows.ended_ = true;
        abandoned_ = "the connection was abandoned when a command on it failed halfway; "
                     "rebuild() a new one";
        return internal::error_on(
            absl::StatusCode::kUnimplemented, rows.verb_, resource(),
            absl::StrCat(quoted(rows.sql_), ": COPY is not supported by for_each"));
      }
      default: {
        // An error: the server's (with its SqlError) or libpq's. Whatever
        // follows is read to the end.
        if (lost_without_a_word(connection, raw) ||
            (::PQstatus(connection) == CONNECTION_BAD &&
             may_have_committed(rows.sql_, rows.outside_transaction_))) {
          rows.ended_ = true;
          return lost(connection, rows.verb_, rows.sql_, Sent::kWhole, rows.outside_transaction_);
        }
        absl::Status error = server_error(connection, raw, rows.verb_, rows.sql_);
        result.reset();
        rows.outside_transaction_ = false;  // the command has ended: nothing to cancel
        absl::Status rest = stream_finish(rows);
        if (!rest.ok() && (rest.code() == absl::StatusCode::kDeadlineExceeded ||
                           rest.code() == absl::StatusCode::kUnavailable)) {
          return rest;
        }
        return error;
      }
    }
  }
}

absl::Status PostgresConnection::stream_finish(postgres_internal::ResultRows& rows) {
  PGconn* connection = conn_of(connection_.get());
  rows.ended_ = true;
  // Outside a transaction, the server is asked to stop sending: the
  // query's cancel error is dropped with the rest. Inside one, a cancel
  // would fail the transaction, so the rest is only read. (A cancel that
  // reaches the server once the query ended is ignored there: the backend
  // is idle, reading the next command, until this call has read the end.)
  // (Whether the server has ended the query cannot be told from here:
  // PQisBusy() is 0 whenever libpq holds a row, so it is asked always.)
  if (rows.outside_transaction_) {
    (void)cancel_within(connection, std::min(config_.query_timeout, kCancelWait));
  }
  while (true) {
    if (const Progress read = read_within(connection, rows.deadline_); read != Progress::kDone) {
      return read == Progress::kTimedOut
                 ? timed_out(connection, rows.verb_, rows.sql_, Sent::kWhole,
                             rows.outside_transaction_)
                 : lost(connection, rows.verb_, rows.sql_, Sent::kWhole, rows.outside_transaction_);
    }
    PGresult* raw = ::PQgetResult(connection);
    if (raw == nullptr) return absl::OkStatus();
    const ExecStatusType status = ::PQresultStatus(raw);
    ::PQclear(raw);
    if (status == PGRES_COPY_IN || status == PGRES_COPY_OUT || status == PGRES_COPY_BOTH) {
      return lost(connection, rows.verb_, rows.sql_, Sent::kWhole, rows.outside_transaction_);
    }
  }
}

}  // namespace uncopyable
