#include "uncopyable/sqlite.h"

#include <sqlite3.h>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "uncopyable/check.h"
#include "uncopyable/internal/process.h"

namespace uncopyable {
namespace {

// SQLite's result codes as Status codes.
absl::StatusCode code_for(int result) {
  switch (result & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED: return absl::StatusCode::kUnavailable;
    case SQLITE_NOMEM:
    case SQLITE_FULL: return absl::StatusCode::kResourceExhausted;
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_AUTH: return absl::StatusCode::kPermissionDenied;
    case SQLITE_CANTOPEN:
    case SQLITE_NOTFOUND: return absl::StatusCode::kNotFound;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB: return absl::StatusCode::kDataLoss;
    case SQLITE_CONSTRAINT:
    case SQLITE_MISMATCH: return absl::StatusCode::kFailedPrecondition;
    case SQLITE_RANGE:
    case SQLITE_ERROR: return absl::StatusCode::kInvalidArgument;
    case SQLITE_INTERRUPT: return absl::StatusCode::kCancelled;
    case SQLITE_IOERR: return absl::StatusCode::kUnavailable;
    default: return absl::StatusCode::kUnknown;
  }
}

std::string where(const SqliteConfig& config) {
  return absl::StrCat("sqlite \"", absl::CHexEscape(config.path), "\"");
}

int open_flags(const SqliteConfig& config) {
  int flags = SQLITE_OPEN_URI;
  switch (config.mode) {
    case SqliteMode::ro: flags |= SQLITE_OPEN_READONLY; break;
    case SqliteMode::rw: flags |= SQLITE_OPEN_READWRITE; break;
    case SqliteMode::rwc: flags |= SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE; break;
  }
  flags |= config.threading == SqliteThreading::serialized ? SQLITE_OPEN_FULLMUTEX
                                                           : SQLITE_OPEN_NOMUTEX;
  return flags;
}

const char* journal_pragma(JournalMode mode) {
  switch (mode) {
    case JournalMode::wal: return "WAL";
    case JournalMode::rollback: return "DELETE";
    case JournalMode::truncate: return "TRUNCATE";
    case JournalMode::persist: return "PERSIST";
    case JournalMode::memory: return "MEMORY";
    case JournalMode::off: return "OFF";
  }
  return "DELETE";
}

bool in_memory(const SqliteConfig& config) {
  return config.path == ":memory:" || config.path.find("mode=memory") != std::string::npos;
}

}  // namespace

// ---------------------------------------------------------------------------
// SqliteConfig

absl::Status SqliteConfig::validate() const {
  return ConfigRules(*this)
      .non_empty("path", path)
      .check(path.find('\0') == std::string::npos, "path", "must not contain a NUL byte")
      .non_negative("busy_timeout", busy_timeout)
      .check(busy_timeout <= absl::Hours(24 * 24), "busy_timeout", "must be at most 24 days")
      .status();
}

// ---------------------------------------------------------------------------
// SqliteConnection

absl::Status sqlite_internal::Traits::close(uintptr_t db) {
  const int result = ::sqlite3_close(sqlite_internal::db_of(db));
  if (result == SQLITE_OK) return absl::OkStatus();
  return absl::Status(code_for(result), absl::StrCat("sqlite3_close: ", ::sqlite3_errstr(result)));
}

SqliteConnection::SqliteConnection(UniqueHandle<sqlite_internal::Traits> db, SqliteConfig config)
    : db_(std::move(db)),
      config_(std::move(config)),
      fork_generation_(internal::current_fork_generation()) {}

absl::StatusOr<SqliteConnection> SqliteConnection::open(const SqliteConfig& config) {
  if (absl::Status valid = config.validate(); !valid.ok()) return valid;
  internal::watch_forks();
  sqlite3* raw = nullptr;
  const int result = ::sqlite3_open_v2(config.path.c_str(), &raw, open_flags(config), nullptr);
  // Even a failed open may hand back a handle (for its message): it is
  // owned, and closed, either way.
  UniqueHandle<sqlite_internal::Traits> db;
  if (raw != nullptr) db.reset(reinterpret_cast<uintptr_t>(raw));
  if (result != SQLITE_OK) {
    return absl::Status(code_for(result),
                        absl::StrCat(uncopyable::where(config), ": open with mode=", enum_name(config.mode),
                                     ": ", raw != nullptr ? ::sqlite3_errmsg(raw)
                                                          : ::sqlite3_errstr(result)));
  }
  ::sqlite3_extended_result_codes(raw, 1);
  ::sqlite3_busy_timeout(raw, static_cast<int>(absl::ToInt64Milliseconds(config.busy_timeout)));
  SqliteConnection connection(std::move(db), config);
  std::string pragmas = absl::StrCat(
      "PRAGMA foreign_keys=", config.foreign_keys ? "ON" : "OFF",
      "; PRAGMA synchronous=", absl::AsciiStrToUpper(enum_name(config.synchronous)), ";");
  if (config.mode != SqliteMode::ro && !in_memory(config)) {
    absl::StrAppend(&pragmas, " PRAGMA journal_mode=", journal_pragma(config.journal_mode), ";");
  }
  // The first statement also reads the file's header: a file that is not a
  // database fails here, with SQLite's own words.
  if (absl::Status s = connection.execute(pragmas); !s.ok()) return s;
  return connection;
}

UniqueHandle<sqlite_internal::Traits> SqliteConnection::take_db(SqliteConnection& other) noexcept {
  other.require_no_borrows("moved");
  return std::move(other.db_);
}

SqliteConnection::SqliteConnection(SqliteConnection&& other) noexcept
    : db_(take_db(other)),
      config_(std::move(other.config_)),
      fork_generation_(other.fork_generation_) {}

SqliteConnection& SqliteConnection::operator=(SqliteConnection&& other) noexcept {
  if (this != &other) {
    require_no_borrows("assigned to");
    other.require_no_borrows("moved");
    db_ = std::move(other.db_);
    config_ = std::move(other.config_);
    fork_generation_ = other.fork_generation_;
  }
  return *this;
}

SqliteConnection::~SqliteConnection() {
  require_no_borrows("destroyed");
  // A child must not close its parent's connection either: its memory is a
  // copy, but the file locks and the WAL are shared. It just lets go.
  if (db_.is_valid() && fork_generation_ != internal::current_fork_generation()) {
    (void)db_.release();
  }
}

void SqliteConnection::require_no_borrows(const char* what) const {
  const int borrows = borrows_.load(std::memory_order_acquire);
  if (ABSL_PREDICT_FALSE(borrows != 0)) {
    misuse("SqliteConnection %s: %s while %d statement(s) or transaction(s) on it are alive; "
           "they must go first",
           where().c_str(), what, borrows);
  }
}

sqlite3* SqliteConnection::checked(const char* operation, const char* type) const {
  const uintptr_t db = db_.get_as(type, operation, [&] { return where(); });
  if (ABSL_PREDICT_FALSE(fork_generation_ != internal::current_fork_generation())) {
    internal::used_after_fork(type, operation, where());
  }
  return sqlite_internal::db_of(db);
}

absl::Status SqliteConnection::error(absl::string_view what) const {
  sqlite3* db = sqlite_internal::db_of(db_.get());
  return absl::Status(code_for(::sqlite3_extended_errcode(db)),
                      absl::StrCat(where(), ": ", what, ": ", ::sqlite3_errmsg(db)));
}

std::string SqliteConnection::where() const { return uncopyable::where(config_); }

absl::StatusOr<SqliteConnection> SqliteConnection::rebuild() const {
  checked("rebuild()");
  return open(config_);
}

absl::Status SqliteConnection::execute(absl::string_view sql) {
  sqlite3* db = checked("execute()");
  const std::string text(sql);
  if (::sqlite3_exec(db, text.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK) {
    return error("execute");
  }
  return absl::OkStatus();
}

absl::StatusOr<Statement> SqliteConnection::prepare(absl::string_view sql) {
  sqlite3* db = checked("prepare()");
  sqlite3_stmt* statement = nullptr;
  if (::sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &statement, nullptr) !=
      SQLITE_OK) {
    return error(absl::StrCat("prepare \"", absl::CHexEscape(sql.substr(0, 200)), "\""));
  }
  return Statement(this, statement, std::string(sql));
}

absl::StatusOr<Transaction> SqliteConnection::begin() {
  if (absl::Status s = execute("BEGIN"); !s.ok()) return s;
  return Transaction(this);
}

absl::Status SqliteConnection::backup_to(const SqliteConfig& target) {
  sqlite3* source = checked("backup_to()");
  absl::StatusOr<SqliteConnection> destination = open(target);
  if (!destination.ok()) return destination.status();
  sqlite3_backup* backup = ::sqlite3_backup_init(destination->get(), "main", source, "main");
  if (backup == nullptr) return destination->error(absl::StrCat("backup from ", where()));
  int result;
  // A page batch at a time, so that writers on the source are not shut out
  // for the whole copy; a busy or locked source is waited for.
  while ((result = ::sqlite3_backup_step(backup, 256)) == SQLITE_OK || result == SQLITE_BUSY ||
         result == SQLITE_LOCKED) {
    if (result != SQLITE_OK) ::sqlite3_sleep(5);
  }
  ::sqlite3_backup_finish(backup);
  if (result != SQLITE_DONE) {
    return absl::Status(code_for(result),
                        absl::StrCat(where(), ": backup to ", uncopyable::where(target), ": ",
                                     ::sqlite3_errstr(result)));
  }
  return destination->close();
}

absl::Status SqliteConnection::close() {
  checked("close()");
  require_no_borrows("closed");
  absl::Status status = db_.close();
  if (!status.ok()) {
    return absl::Status(status.code(), absl::StrCat(where(), ": ", status.message()));
  }
  return status;
}

// ---------------------------------------------------------------------------
// Statement

Statement::Statement(SqliteConnection* connection, sqlite3_stmt* statement, std::string sql)
    : connection_(connection), statement_(statement), sql_(std::move(sql)) {}

Statement::Statement(Statement&& other) noexcept
    : connection_(std::move(other.connection_)),
      statement_(std::exchange(other.statement_, nullptr)),
      sql_(std::move(other.sql_)) {}

Statement& Statement::operator=(Statement&& other) noexcept {
  if (this != &other) {
    if (statement_ != nullptr) ::sqlite3_finalize(statement_);
    connection_ = std::move(other.connection_);
    statement_ = std::exchange(other.statement_, nullptr);
    sql_ = std::move(other.sql_);
  }
  return *this;
}

Statement::~Statement() {
  if (statement_ != nullptr) ::sqlite3_finalize(statement_);
}

void Statement::misused(const char* operation) const {
  UNCOPYABLE_CHECK(statement_ != nullptr, "Statement::%s on a moved-from handle", operation);
  connection_.get()->checked(operation, "Statement");  // reports the fork
  misuse("Statement::%s: unexpected state", operation);
}

absl::Status Statement::error(absl::string_view what, int code) const {
  sqlite3* db = sqlite_internal::db_of(connection_.get()->db_.get());
  return absl::Status(code_for(code),
                      absl::StrCat(connection_.get()->where(), ": ", what, " \"",
                                   absl::CHexEscape(absl::string_view(sql_).substr(0, 200)),
                                   "\": ", ::sqlite3_errmsg(db)));
}

absl::Status Statement::bind(int index, int64_t value) {
  const int result = ::sqlite3_bind_int64(checked("bind()"), index, value);
  return result == SQLITE_OK ? absl::OkStatus() : error(absl::StrCat("bind ?", index, " of"), result);
}

absl::Status Statement::bind(int index, double value) {
  const int result = ::sqlite3_bind_double(checked("bind()"), index, value);
  return result == SQLITE_OK ? absl::OkStatus() : error(absl::StrCat("bind ?", index, " of"), result);
}

absl::Status Statement::bind(int index, absl::string_view value) {
  const int result = ::sqlite3_bind_text64(checked("bind()"), index, value.data(), value.size(),
                                           SQLITE_TRANSIENT, SQLITE_UTF8);
  return result == SQLITE_OK ? absl::OkStatus() : error(absl::StrCat("bind ?", index, " of"), result);
}

absl::Status Statement::bind(int index, std::nullptr_t) {
  const int result = ::sqlite3_bind_null(checked("bind()"), index);
  return result == SQLITE_OK ? absl::OkStatus() : error(absl::StrCat("bind ?", index, " of"), result);
}

absl::StatusOr<bool> Statement::step() {
  const int result = ::sqlite3_step(checked("step()"));
  if (result == SQLITE_ROW) return true;
  if (result == SQLITE_DONE) return false;
  absl::Status status = error("step", result);
  ::sqlite3_reset(statement_);
  return status;
}

absl::Status Statement::run() {
  sqlite3_stmt* statement = checked("run()");
  int result;
  while ((result = ::sqlite3_step(statement)) == SQLITE_ROW) {
  }
  if (ABSL_PREDICT_FALSE(result != SQLITE_DONE)) {
    absl::Status status = error("step", result);
    ::sqlite3_reset(statement);
    return status;
  }
  // After SQLITE_DONE, reset cannot fail: it reports the step's error, and
  // there was none.
  ::sqlite3_reset(statement);
  return absl::OkStatus();
}

absl::Status Statement::reset() {
  const int result = ::sqlite3_reset(checked("reset()"));
  return result == SQLITE_OK ? absl::OkStatus() : error("reset", result);
}

int Statement::column_count() const { return ::sqlite3_column_count(checked("column_count()")); }

bool Statement::is_null(int column) const {
  return ::sqlite3_column_type(checked("is_null()"), column) == SQLITE_NULL;
}

int64_t Statement::get_int64(int column) const {
  return ::sqlite3_column_int64(checked("get_int64()"), column);
}

double Statement::get_double(int column) const {
  return ::sqlite3_column_double(checked("get_double()"), column);
}

std::string Statement::get_text(int column) const {
  sqlite3_stmt* statement = checked("get_text()");
  const auto* text = ::sqlite3_column_text(statement, column);
  const int size = ::sqlite3_column_bytes(statement, column);
  return text == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(text), size);
}

}  // namespace uncopyable
