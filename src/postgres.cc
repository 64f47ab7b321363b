#include "uncopyable/postgres.h"

#include <libpq-fe.h>

#include "absl/container/inlined_vector.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "uncopyable/check.h"
#include "uncopyable/internal/process.h"

namespace uncopyable {
namespace {

PGconn* conn_of(uintptr_t address) { return reinterpret_cast<PGconn*>(address); }
PGresult* result_of(uintptr_t address) { return reinterpret_cast<PGresult*>(address); }

// "postgresql ann@/tmp/pg:5432/shop": where, for messages (never the password).
std::string where(const PostgresConfig& config) {
  return absl::StrCat("postgresql ", config.user.empty() ? "" : config.user + "@", config.host,
                      ":", config.port, "/", config.dbname);
}

// libpq's messages span lines and end in a newline; a Status is one line.
std::string message_of(const char* text) {
  std::string line(absl::StripTrailingAsciiWhitespace(text != nullptr ? text : ""));
  return absl::StrReplaceAll(line, {{"\n\t", " "}, {"\n", " "}, {"\t", " "}});
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
      .status();
}

// ---------------------------------------------------------------------------
// Traits and borrows

absl::Status postgres_internal::ConnectionTraits::close(uintptr_t connection) {
  ::PQfinish(conn_of(connection));  // reports nothing; there is nothing to lose
  return absl::OkStatus();
}

absl::Status postgres_internal::ResultTraits::close(uintptr_t result) {
  ::PQclear(result_of(result));
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------
// PostgresConnection

PostgresConnection::PostgresConnection(UniqueHandle<postgres_internal::ConnectionTraits> connection,
                                       PostgresConfig config)
    : connection_(std::move(connection)),
      config_(std::move(config)),
      fork_generation_(internal::current_fork_generation()) {}

absl::StatusOr<PostgresConnection> PostgresConnection::open(const PostgresConfig& config) {
  if (absl::Status valid = config.validate(); !valid.ok()) return valid;
  internal::watch_forks();
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
  PGconn* raw = ::PQconnectdbParams(keywords, values, /*expand_dbname=*/0);
  if (raw == nullptr) return absl::ResourceExhaustedError(absl::StrCat(uncopyable::where(config), ": out of memory"));
  UniqueHandle<postgres_internal::ConnectionTraits> connection(reinterpret_cast<uintptr_t>(raw));
  if (::PQstatus(raw) != CONNECTION_OK) {
    // libpq's own words; they name the server and the user, never the password.
    std::string text = message_of(::PQerrorMessage(raw));
    if (!config.password.empty()) {
      text = absl::StrReplaceAll(text, {{config.password.reveal(), "***"}});
    }
    return absl::UnavailableError(absl::StrCat(uncopyable::where(config), ": connect: ", text));
  }
  return PostgresConnection(std::move(connection), config);
}

UniqueHandle<postgres_internal::ConnectionTraits> PostgresConnection::take(
    PostgresConnection& other) noexcept {
  other.require_no_borrows("moved");
  return std::move(other.connection_);
}

PostgresConnection::PostgresConnection(PostgresConnection&& other) noexcept
    : connection_(take(other)),
      config_(std::move(other.config_)),
      fork_generation_(other.fork_generation_),
      statements_made_(other.statements_made_) {}

PostgresConnection& PostgresConnection::operator=(PostgresConnection&& other) noexcept {
  if (this != &other) {
    require_no_borrows("assigned to");
    connection_ = take(other);
    config_ = std::move(other.config_);
    fork_generation_ = other.fork_generation_;
    statements_made_ = other.statements_made_;
  }
  return *this;
}

PostgresConnection::~PostgresConnection() {
  require_no_borrows("destroyed");
  // A child must not end its parent's session (PQfinish would say goodbye to
  // the server on the shared socket): it just lets go.
  if (connection_.is_valid() && fork_generation_ != internal::current_fork_generation()) {
    (void)connection_.release();
  }
}

void PostgresConnection::require_no_borrows(const char* what) const {
  const int borrows = borrows_.load(std::memory_order_acquire);
  if (ABSL_PREDICT_FALSE(borrows != 0)) {
    misuse("PostgresConnection %s: %s while %d statement(s) or transaction(s) on it are alive; "
           "they must go first",
           where().c_str(), what, borrows);
  }
}

PGconn* PostgresConnection::checked(const char* operation, const char* type) const {
  const uintptr_t connection = connection_.get_as(type, operation, [&] { return where(); });
  if (ABSL_PREDICT_FALSE(fork_generation_ != internal::current_fork_generation())) {
    internal::used_after_fork(type, operation, where());
  }
  return conn_of(connection);
}

absl::StatusOr<PostgresResult> PostgresConnection::finish(PGresult* raw, const char* verb,
                                                          absl::string_view sql) const {
  PGconn* connection = conn_of(connection_.get());
  // The message is made only when there is an error to report.
  const auto what = [&] {
    return absl::StrCat(verb, " \"", absl::CHexEscape(sql.substr(0, 200)), "\"");
  };
  if (raw == nullptr) {
    return absl::UnavailableError(
        absl::StrCat(where(), ": ", what(), ": ", message_of(::PQerrorMessage(connection))));
  }
  UniqueHandle<postgres_internal::ResultTraits> result(reinterpret_cast<uintptr_t>(raw));
  const ExecStatusType status = ::PQresultStatus(raw);
  if (ABSL_PREDICT_TRUE(status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK)) {
    return PostgresResult(std::move(result));
  }
  const char* state = ::PQresultErrorField(raw, PG_DIAG_SQLSTATE);
  // A lost server sends no SQLSTATE: libpq reports the broken connection
  // itself. That is Unavailable: rebuild() when the server is back.
  const absl::StatusCode code = ::PQstatus(connection) == CONNECTION_BAD || state == nullptr
                                    ? absl::StatusCode::kUnavailable
                                    : code_for_sqlstate(state);
  return absl::Status(code, absl::StrCat(where(), ": ", what(), ": ",
                                         message_of(::PQresultErrorMessage(raw)),
                                         state != nullptr ? absl::StrCat(" [", state, "]") : ""));
}

std::string PostgresConnection::where() const { return uncopyable::where(config_); }

absl::StatusOr<PostgresConnection> PostgresConnection::rebuild() const {
  checked("rebuild()");
  return open(config_);
}

absl::StatusOr<PostgresResult> PostgresConnection::query(absl::string_view sql) {
  PGconn* connection = checked("query()");
  const std::string text(sql);
  return finish(::PQexec(connection, text.c_str()), "query", sql);
}

absl::Status PostgresConnection::execute(absl::string_view sql) {
  PGconn* connection = checked("execute()");
  const std::string text(sql);
  return finish(::PQexec(connection, text.c_str()), "execute", sql).status();
}

absl::StatusOr<PostgresStatement> PostgresConnection::prepare(absl::string_view sql) {
  PGconn* connection = checked("prepare()");
  std::string name = absl::StrCat("uncopyable_", ++statements_made_);
  const std::string text(sql);
  absl::StatusOr<PostgresResult> prepared =
      finish(::PQprepare(connection, name.c_str(), text.c_str(), 0, nullptr), "prepare", sql);
  if (!prepared.ok()) return prepared.status();
  return PostgresStatement(this, std::move(name), text);
}

absl::StatusOr<PostgresTransaction> PostgresConnection::begin() {
  if (absl::Status s = execute("BEGIN"); !s.ok()) return s;
  return PostgresTransaction(this);
}

absl::Status PostgresConnection::close() {
  checked("close()");
  require_no_borrows("closed");
  return connection_.close();
}

// ---------------------------------------------------------------------------
// PostgresStatement

absl::StatusOr<PostgresResult> PostgresStatement::execute(
    const std::vector<std::optional<std::string>>& parameters) {
  UNCOPYABLE_CHECK(connection_.get() != nullptr,
                   "PostgresStatement::execute() on a moved-from handle");
  PostgresConnection* connection = connection_.get();
  PGconn* raw = connection->checked("execute()", "PostgresStatement");
  // Text parameters: libpq reads each up to its NUL, so a value with a NUL
  // byte in it would be cut short; such a value is refused instead.
  absl::InlinedVector<const char*, 8> values;
  for (const std::optional<std::string>& parameter : parameters) {
    if (parameter && parameter->find('\0') != std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat(
          connection->where(), ": execute \"", absl::CHexEscape(absl::string_view(sql_).substr(0, 200)),
          "\": parameter $", values.size() + 1, " contains a NUL byte, which text parameters cannot carry"));
    }
    values.push_back(parameter ? parameter->c_str() : nullptr);
  }
  return connection->finish(
      ::PQexecPrepared(raw, name_.c_str(), static_cast<int>(values.size()), values.data(),
                       nullptr, nullptr, /*resultFormat=*/0),
      "execute", sql_);
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

bool PostgresResult::is_null(int row, int column) const {
  return ::PQgetisnull(result_of(result_.get()), row, column) != 0;
}

std::string PostgresResult::get_text(int row, int column) const {
  PGresult* result = result_of(result_.get());
  UNCOPYABLE_CHECK(row >= 0 && row < ::PQntuples(result) && column >= 0 &&
                       column < ::PQnfields(result),
                   "PostgresResult::get_text(%d, %d): outside %d rows x %d columns", row, column,
                   ::PQntuples(result), ::PQnfields(result));
  return std::string(::PQgetvalue(result, row, column),
                     static_cast<size_t>(::PQgetlength(result, row, column)));
}

int64_t PostgresResult::get_int64(int row, int column) const {
  const std::string text = get_text(row, column);
  int64_t value = 0;
  UNCOPYABLE_CHECK(absl::SimpleAtoi(text, &value),
                   "PostgresResult::get_int64(%d, %d): \"%s\" is not an integer", row, column,
                   absl::CHexEscape(text.substr(0, 40)).c_str());
  return value;
}

double PostgresResult::get_double(int row, int column) const {
  const std::string text = get_text(row, column);
  double value = 0;
  UNCOPYABLE_CHECK(absl::SimpleAtod(text, &value),
                   "PostgresResult::get_double(%d, %d): \"%s\" is not a number", row, column,
                   absl::CHexEscape(text.substr(0, 40)).c_str());
  return value;
}

int64_t PostgresResult::affected() const {
  int64_t value = 0;
  (void)absl::SimpleAtoi(::PQcmdTuples(result_of(result_.get())), &value);
  return value;
}

}  // namespace uncopyable
