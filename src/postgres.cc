#include "uncopyable/postgres.h"

#include <libpq-fe.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <condition_variable>
#include <cstring>
#include <memory>
#include <mutex>

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
  const absl::string_view cls = state.substr(0, 2);
  if (cls == "08" || cls == "57" || cls == "53") return absl::StatusCode::kUnavailable;
  if (cls == "23") return absl::StatusCode::kFailedPrecondition;  // integrity
  if (cls == "42" || cls == "22") return absl::StatusCode::kInvalidArgument;
  if (cls == "28") return absl::StatusCode::kPermissionDenied;
  if (cls == "40") return absl::StatusCode::kAborted;
  if (cls == "3D") return absl::StatusCode::kNotFound;
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

// Milliseconds for poll(2), which takes -1 for "forever" and 0 for "now".
int poll_milliseconds(absl::Time deadline) {
  if (deadline == absl::InfiniteFuture()) return -1;
  const absl::Duration left = std::max(deadline - absl::Now(), absl::ZeroDuration());
  const int64_t ms = absl::ToInt64Milliseconds(absl::Ceil(left, absl::Milliseconds(1)));
  return static_cast<int>(std::min<int64_t>(ms, 1 << 30));
}

// Waits until the connection's socket is ready for `events` or the
// deadline passes (a socket ready at the deadline still counts). The ready
// events, 0 when the time ran out, -1 when there is no socket to wait on.
int wait_for(PGconn* connection, short events, absl::Time deadline) {
  const int socket = ::PQsocket(connection);
  if (socket < 0) return -1;
  while (true) {
    pollfd entry{socket, events, 0};
    const int ready = internal::sys::poll(&entry, 1, poll_milliseconds(deadline));
    if (ready > 0) return entry.revents;
    if (ready == 0) return 0;
    if (errno != EINTR) return -1;
  }
}

enum class Progress { kDone, kTimedOut, kFailed };

// Pushes to the server what libpq has buffered (the connection is
// non-blocking, so a send never waits inside libpq), reading meanwhile so a
// server that answers before it has read everything is not deadlocked.
Progress flush_within(PGconn* connection, absl::Time deadline) {
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
Progress read_within(PGconn* connection, absl::Time deadline) {
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
      .status();
}

// ---------------------------------------------------------------------------
// Traits and borrows

absl::Status postgres_internal::ConnectionTraits::close(uintptr_t connection) const {
  // A child must not end its parent's session (PQfinish would say goodbye to
  // the server on the shared socket): it just lets go.
  if (!process.here()) return absl::OkStatus();
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
    : config_(std::move(config)), connection_(std::move(connection)) {}

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
}

std::string PostgresConnection::resource() const { return resource_of(config_); }

absl::StatusOr<PostgresResult> PostgresConnection::run(PGconn* connection, const char* verb,
                                                       absl::string_view sql, Sender send) {
  // The message is made only when there is an error to report:
  // "<verb> postgresql <user>@<host>:<port>/<db>: "<SQL>": <what>".
  const auto fail = [&](absl::StatusCode code, absl::string_view what) {
    return internal::error_on(code, verb, resource(), absl::StrCat(quoted(sql), ": ", what));
  };
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
  const absl::Time deadline = config_.query_timeout == absl::InfiniteDuration()
                                  ? absl::InfiniteFuture()
                                  : absl::Now() + config_.query_timeout;
  if (!unused_statements_.empty()) {
    if (absl::Status released = release_unused_statements(connection, deadline); !released.ok()) {
      return released;
    }
  }
  absl::StatusOr<PostgresResult> result = exchange(connection, verb, sql, send, deadline);
  // SQL of the caller's own that ended the live PostgresTransaction's
  // transaction (a COMMIT run with execute()): it must not end a later one.
  if (transaction_live_ && ::PQtransactionStatus(connection) == PQTRANS_IDLE) {
    transaction_lost_ = true;
  }
  return result;
}

absl::StatusOr<PostgresResult> PostgresConnection::exchange(PGconn* connection, const char* verb,
                                                            absl::string_view sql, Sender send,
                                                            absl::Time deadline) {
  const absl::Duration timeout = config_.query_timeout;
  // "<verb> postgresql <user>@<host>:<port>/<db>: "<SQL>": <what>"
  const auto fail = [&](absl::StatusCode code, absl::string_view what) {
    return internal::error_on(code, verb, resource(), absl::StrCat(quoted(sql), ": ", what));
  };
  // A lost server: libpq says what happened. rebuild() when it is back.
  // A command cut off halfway leaves libpq unable to run another.
  const auto lost = [&] {
    if (::PQstatus(connection) != CONNECTION_BAD || ::PQisBusy(connection) != 0) {
      abandoned_ = "the connection was abandoned when a command on it failed halfway; "
                   "rebuild() a new one";
    }
    return fail(absl::StatusCode::kUnavailable, message_of(::PQerrorMessage(connection)));
  };
  const auto timed_out = [&] {
    const bool cancelled = cancel_within(connection, std::min(timeout, kCancelWait));
    abandoned_ = absl::StrCat("the connection was abandoned when a command on it timed out "
                              "(query_timeout ",
                              absl::FormatDuration(timeout), "); rebuild() a new one");
    return fail(absl::StatusCode::kDeadlineExceeded,
                absl::StrCat("no answer from the server within query_timeout ",
                             absl::FormatDuration(timeout),
                             cancelled ? "; asked the server to cancel it"
                                       : "; the server did not take a request to cancel it either",
                             "; the connection is abandoned: rebuild() a new one"));
  };

  if (send(connection) != 1) {
    if (::PQstatus(connection) == CONNECTION_BAD) return lost();
    return fail(absl::StatusCode::kInternal, message_of(::PQerrorMessage(connection)));
  }
  if (const Progress sent = flush_within(connection, deadline); sent != Progress::kDone) {
    return sent == Progress::kTimedOut ? timed_out() : lost();
  }

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
  const char* state = ::PQresultErrorField(result, PG_DIAG_SQLSTATE);
  // A lost server sends no SQLSTATE: libpq reports the broken connection
  // itself. That is Unavailable: rebuild() when the server is back.
  const absl::StatusCode code = ::PQstatus(connection) == CONNECTION_BAD || state == nullptr
                                    ? absl::StatusCode::kUnavailable
                                    : code_for_sqlstate(state);
  return fail(code, absl::StrCat(message_of(::PQresultErrorMessage(result)),
                                 state != nullptr ? absl::StrCat(" [", state, "]") : ""));
}

absl::Status PostgresConnection::release_unused_statements(PGconn* connection,
                                                          absl::Time deadline) {
  // A failed transaction refuses everything but its ROLLBACK: the
  // statements wait until it has ended.
  const PGTransactionStatusType state = ::PQtransactionStatus(connection);
  if (state != PQTRANS_IDLE && state != PQTRANS_INTRANS) return absl::OkStatus();
  // Inside a transaction, under a savepoint: should a DEALLOCATE fail (SQL
  // of the caller's own, DEALLOCATE ALL, got there first), the caller's
  // transaction is left as it was.
  const bool in_transaction = state == PQTRANS_INTRANS;
  std::string sql = in_transaction ? "SAVEPOINT uncopyable_deallocate; " : "";
  for (const uint64_t number : unused_statements_) {
    absl::StrAppend(&sql, "DEALLOCATE ", StatementName(number).text, "; ");
  }
  if (in_transaction) sql += "RELEASE SAVEPOINT uncopyable_deallocate";
  const auto simple = [](const std::string& text) {
    return [&text](PGconn* c) { return ::PQsendQuery(c, text.c_str()); };
  };
  absl::StatusOr<PostgresResult> released =
      exchange(connection, "deallocate", sql, simple(sql), deadline);
  // Released, or not there to release: they are never tried again.
  unused_statements_.clear();
  if (released.ok()) return absl::OkStatus();
  const absl::StatusCode code = released.status().code();
  if (code == absl::StatusCode::kDeadlineExceeded || code == absl::StatusCode::kUnavailable) {
    return released.status();
  }
  if (in_transaction) {
    const std::string undo =
        "ROLLBACK TO SAVEPOINT uncopyable_deallocate; RELEASE SAVEPOINT uncopyable_deallocate";
    return exchange(connection, "deallocate", undo, simple(undo), deadline).status();
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

absl::StatusOr<PostgresStatement> PostgresConnection::prepare(absl::string_view sql) {
  PGconn* connection = checked("prepare()", *this);
  internal::SingleUserScope in_use = user_.enter(kName, "prepare()");
  const uint64_t number = ++statements_made_;
  absl::StatusOr<PostgresResult> prepared = run(connection, "prepare", sql, [&](PGconn* c) {
    const std::string text(sql);
    return ::PQsendPrepare(c, StatementName(number).text, text.c_str(), 0, nullptr);
  });
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
  absl::StatusOr<PostgresResult> begun =
      run(connection, "begin", sql, [&sql](PGconn* c) { return ::PQsendQuery(c, sql.c_str()); });
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

absl::Status PostgresConnection::close() {
  checked("close()", *this);
  internal::SingleUserScope in_use = user_.enter(kName, "close()");
  lender_.require_none("close()");
  // The session's statements end with it: nothing is left to release.
  unused_statements_.clear();
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
    const std::vector<std::optional<std::string>>& parameters) {
  const uint64_t number = prepared_.get_as(kName, "execute()", [this] { return resource(); });
  PostgresConnection* connection = connection_.get();
  PGconn* raw = connection->checked("execute()", *this);
  internal::SingleUserScope in_use = connection->user_.enter(kName, "execute()");
  // "execute postgresql <user>@<host>:<port>/<db>: "<SQL>": <what>"
  const auto fail = [&](absl::string_view what) {
    return internal::error_on(absl::StatusCode::kInvalidArgument, "execute",
                              connection->resource(), absl::StrCat(quoted(sql_), ": ", what));
  };
  // The protocol counts parameters in 16 bits.
  if (parameters.size() > 65535) {
    return fail(absl::StrCat(parameters.size(), " parameters; at most 65535"));
  }
  // Text parameters: libpq reads each up to its NUL, so a value with a NUL
  // byte in it would be cut short; such a value is refused instead.
  absl::InlinedVector<const char*, 8> values;
  for (const std::optional<std::string>& parameter : parameters) {
    if (parameter && parameter->find('\0') != std::string::npos) {
      return fail(absl::StrCat("parameter $", values.size() + 1,
                               " contains a NUL byte, which text parameters cannot carry"));
    }
    values.push_back(parameter ? parameter->c_str() : nullptr);
  }
  const StatementName name(number);
  return connection->run(raw, "execute", sql_, [&](PGconn* c) {
    return ::PQsendQueryPrepared(c, name.text, static_cast<int>(values.size()),
                                 values.data(), nullptr, nullptr, /*resultFormat=*/0);
  });
}

absl::StatusOr<PostgresResult> PostgresStatement::execute(
    std::initializer_list<absl::string_view> parameters) {
  std::vector<std::optional<std::string>> values;
  for (absl::string_view parameter : parameters) values.emplace_back(std::string(parameter));
  return execute(values);
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

int64_t PostgresResult::affected() const {
  int64_t value = 0;
  (void)absl::SimpleAtoi(::PQcmdTuples(result_of(result_.get())), &value);
  return value;
}

}  // namespace uncopyable
