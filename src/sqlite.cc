#include "uncopyable/sqlite.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <string.h>  // NOLINT(modernize-deprecated-headers): GNU strerrorname_np()
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>

#include "absl/strings/ascii.h"
#include "absl/strings/cord.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "uncopyable/check.h"
#include "uncopyable/internal/deadline.h"
#include "uncopyable/internal/errno_status.h"
#include "uncopyable/internal/message.h"
#include "uncopyable/internal/quote.h"
#include "uncopyable/internal/syscall.h"
#include "uncopyable/sql_error.h"

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
    case SQLITE_TOOBIG:
    case SQLITE_ERROR: return absl::StatusCode::kInvalidArgument;
    case SQLITE_INTERRUPT: return absl::StatusCode::kCancelled;
    case SQLITE_IOERR: return absl::StatusCode::kUnavailable;
    default: return absl::StatusCode::kUnknown;
  }
}

// sqlite "<path>": how every message names a database.
std::string resource_of(const SqliteConfig& config) {
  return absl::StrCat("sqlite ", internal::quoted(config.path));
}

// "with mode=rw": the detail of every open error.
std::string open_detail(const SqliteConfig& config) {
  return absl::StrCat("with mode=", enum_name(config.mode));
}

std::string file_of(const SqliteConfig& config);

// SQLite opens the file itself, and blocking: a FIFO with no writer would
// hang the caller forever, a directory or a device would fail later with a
// misleading code. What the config names is looked at first (an O_PATH
// descriptor waits for nothing) and refused unless it is a regular file or
// does not exist yet.
absl::Status refuse_special_file(const SqliteConfig& config) {
  const std::string file = file_of(config);
  if (file.empty()) return absl::OkStatus();
  const int fd = internal::sys::open(file.c_str(), O_PATH | O_CLOEXEC, 0);
  if (fd < 0) return absl::OkStatus();  // missing, or unreadable: SQLite says so
  struct stat info;
  const int stated = internal::sys::fstat(fd, &info);
  const int stat_errno = errno;
  internal::sys::close(fd);
  if (stated != 0) {
    return internal::errno_error_on(stat_errno, "open", resource_of(config), "fstat");
  }
  if (S_ISREG(info.st_mode)) return absl::OkStatus();
  return internal::error_on(absl::StatusCode::kFailedPrecondition, "open", resource_of(config),
                            absl::StrCat(open_detail(config), ": ",
                                         internal::file_kind(info.st_mode),
                                         ", not a database file"));
}

// The extended result code of the error `result`: `result` itself when it
// is one already (extended result codes are on, so most are), else the
// connection's, when it is the same error's.
int extended_code(sqlite3* db, int result) {
  if ((result & ~0xff) != 0 || db == nullptr) return result;
  const int extended = ::sqlite3_extended_errcode(db);
  return (extended & 0xff) == (result & 0xff) ? extended : result;
}

// SQLite's error `result` as a Status: "<verb> <resource>: <detail>:
// <message>" (no "<detail>: " when it is empty), the message SQLite's own
// for `db` (or for the code, without one). SQLite says
// "unable to open database file" (SQLITE_CANTOPEN, or an I/O error) whatever
// the system said; when it was that no descriptor is left (EMFILE, ENFILE),
// the code is ResourceExhausted, as for File and Socket, and the errno is
// named.
absl::Status failure(sqlite3* db, int result, const char* verb, absl::string_view resource,
                     absl::string_view detail, const char* message = nullptr) {
  absl::StatusCode code = code_for(result);
  std::string system;
  const int primary = result & 0xff;
  if (db != nullptr && (primary == SQLITE_CANTOPEN || primary == SQLITE_IOERR)) {
    // What the system said, when it said something: EACCES is
    // PermissionDenied, EMFILE ResourceExhausted, ENOENT NotFound, as for
    // File and Socket, where SQLite's own code would say "cannot open".
    const int error = ::sqlite3_system_errno(db);
    const char* name = error != 0 ? ::strerrorname_np(error) : nullptr;
    if (name != nullptr) {
      code = absl::ErrnoToStatusCode(error);
      system = absl::StrCat(" [", name, "]");
    }
  }
  if (message == nullptr) message = db != nullptr ? ::sqlite3_errmsg(db) : ::sqlite3_errstr(result);
  return with_sql_error(
      internal::error_on(
          code, verb, resource,
          absl::StrCat(detail, detail.empty() ? "" : ": ", internal::shortened(message), system)),
      {.sqlstate = "", .sqlite_code = extended_code(db, result)});
}

// "INTEGER", "REAL", "TEXT", "BLOB", "NULL": SQLite's storage classes.
const char* storage_class(int type) {
  switch (type) {
    case SQLITE_INTEGER: return "INTEGER";
    case SQLITE_FLOAT: return "REAL";
    case SQLITE_TEXT: return "TEXT";
    case SQLITE_BLOB: return "BLOB";
    default: return "NULL";
  }
}

// "an int64_t", "a double": a name with its article.
std::string with_article(absl::string_view name) {
  const bool vowel = !name.empty() && absl::string_view("aeiouAEIOU").find(name[0]) !=
                                          absl::string_view::npos;
  return absl::StrCat(vowel ? "an " : "a ", name);
}

// The shortest text that reads back as `value` exactly.
std::string exactly(double value) {
  char buffer[64];
  const std::to_chars_result end = std::to_chars(buffer, buffer + sizeof buffer, value);
  return std::string(buffer, end.ptr);
}

// `names` quoted, ", "-separated; past 10, how many more.
std::string listed(const std::vector<std::string>& names) {
  constexpr size_t kShown = 10;
  std::string out;
  for (size_t i = 0; i < names.size() && i < kShown; ++i) {
    absl::StrAppend(&out, i == 0 ? "" : ", ", names[i]);
  }
  if (names.size() > kShown) absl::StrAppend(&out, ", and ", names.size() - kShown, " more");
  return out;
}

// "get_text()" with 5 => "get_text(5)": a column accessor's call, for its
// misuse line.
std::string called_with(const char* operation, int column) {
  const absl::string_view name(operation);
  return absl::StrCat(name.substr(0, name.size() - 2), "(", column, ")");
}

// Where the next statement of `sql` starts, from `offset` on, skipping what
// SQLite skips between statements (blanks, `--` and `/* */` comments, `;`);
// npos if nothing but those follows.
size_t next_statement(absl::string_view sql, size_t offset) {
  while (offset < sql.size()) {
    const char c = sql[offset];
    if (c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r' || c == ';') {
      ++offset;
    } else if (sql.substr(offset, 2) == "--") {
      const size_t end = sql.find('\n', offset);
      if (end == absl::string_view::npos) return absl::string_view::npos;
      offset = end + 1;
    } else if (sql.substr(offset, 2) == "/*") {
      const size_t end = sql.find("*/", offset + 2);
      if (end == absl::string_view::npos) return absl::string_view::npos;  // to the end
      offset = end + 2;
    } else {
      return offset;
    }
  }
  return absl::string_view::npos;
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

// ":memory:", and the URI forms "file::memory:..." and "file:x?mode=memory".
bool in_memory(const SqliteConfig& config) {
  return config.path == ":memory:" || absl::StartsWith(config.path, "file::memory:") ||
         (absl::StartsWith(config.path, "file:") &&
          config.path.find("mode=memory") != std::string::npos);
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The file a config names, as SQLite will open it: the path itself, or the
// path part of a "file:" URI, %-decoded ("" for an in-memory database or a
// URI SQLite will refuse by itself).
std::string file_of(const SqliteConfig& config) {
  if (in_memory(config) || config.path.empty()) return "";
  absl::string_view path = config.path;
  if (!absl::StartsWith(path, "file:")) return std::string(path);
  path.remove_prefix(5);
  if (absl::StartsWith(path, "//")) {  // an authority: empty or localhost
    const size_t slash = path.find('/', 2);
    if (slash == absl::string_view::npos) return "";
    path.remove_prefix(slash);
  }
  path = path.substr(0, path.find_first_of("?#"));
  std::string decoded;
  for (size_t i = 0; i < path.size(); ++i) {
    if (path[i] == '%' && i + 2 < path.size() && hex_digit(path[i + 1]) >= 0 &&
        hex_digit(path[i + 2]) >= 0) {
      decoded.push_back(static_cast<char>(hex_digit(path[i + 1]) * 16 + hex_digit(path[i + 2])));
      i += 2;
    } else {
      decoded.push_back(path[i]);
    }
  }
  return decoded;
}


}  // namespace

// ---------------------------------------------------------------------------
// SqliteConfig

absl::Status SqliteConfig::validate() const {
  return ConfigRules(*this)
      .non_empty("path", path)
      .check(path.find('\0') == std::string::npos, "path", "must not contain a NUL byte")
      .check(!absl::StartsWith(path, "file:") || path.find("%00") == std::string::npos, "path",
             "must not contain %00 (a NUL byte, at which SQLite would cut the URI short)")
      .non_negative("busy_timeout", busy_timeout)
      .check(busy_timeout <= absl::Hours(24 * 24), "busy_timeout", "must be at most 24 days")
      .in_range("statement_cache_size", statement_cache_size, 0,
                internal::kMaxStatementCacheSize)
      .status();
}

// ---------------------------------------------------------------------------
// SqliteConnection

absl::Status sqlite_internal::Traits::close(uintptr_t db) const {
  if (!process.here_surely()) return absl::OkStatus();  // the parent's: let go
  const int result = ::sqlite3_close(sqlite_internal::db_of(db));
  if (result == SQLITE_OK) return absl::OkStatus();
  return with_sql_error(
      absl::Status(code_for(result), absl::StrCat("sqlite3_close: ", ::sqlite3_errstr(result))),
      {.sqlstate = "", .sqlite_code = result});
}

// A call that reads SQLite's error message when it fails holds the mutex
// (kReadsMessage); one whose message is SQLite's fixed text for the code
// (a bind, a reset) need not, and saves the cost on the hot path. A step
// (kStep) holds it only when it failed, while it reads the message: see
// Statement::step().
class SqliteConnection::Call {
 public:
  enum Kind { kReadsMessage, kOnlyOneUser, kStep };
  Call(const SqliteConnection& connection, const char* type, const char* operation,
       Kind kind = kReadsMessage)
      : user_(connection.config_.threading == SqliteThreading::serialized
                  ? internal::SingleUserScope::unchecked()
                  : connection.user_.enter(type, operation)),
        mutex_(connection.config_.threading == SqliteThreading::serialized && kind == kReadsMessage
                   ? ::sqlite3_db_mutex(sqlite_internal::db_of(connection.db_.get()))
                   : nullptr),
        watched_(kind != kOnlyOneUser ? &connection : nullptr) {
    if (mutex_ != nullptr) ::sqlite3_mutex_enter(mutex_);
  }
  Call(const Call&) = delete;
  Call& operator=(const Call&) = delete;
  ~Call() {
    // SQL that may end a transaction (a COMMIT of the caller's own, in
    // execute() or a statement) ended the live Transaction's: it must not
    // end a later one (see BasicTransaction).
    if (watched_ != nullptr && watched_->transaction_live_ &&
        ::sqlite3_get_autocommit(sqlite_internal::db_of(watched_->db_.get())) != 0) {
      watched_->transaction_lost_ = true;
    }
    if (mutex_ != nullptr) ::sqlite3_mutex_leave(mutex_);
  }

 private:
  internal::SingleUserScope user_;
  sqlite3_mutex* mutex_;
  const SqliteConnection* watched_;
};

SqliteConnection::SqliteConnection(UniqueHandle<sqlite_internal::Traits> db, SqliteConfig config)
    : config_(std::move(config)),
      statements_(static_cast<size_t>(config_.statement_cache_size)),
      db_(std::move(db)) {}

absl::StatusOr<SqliteConnection> SqliteConnection::open(const SqliteConfig& config) {
  if (absl::Status valid = config.validate(); !valid.ok()) return valid;
  if (absl::Status file = refuse_special_file(config); !file.ok()) return file;
  sqlite3* raw = nullptr;
  errno = 0;  // so that the errno SQLite keeps for a failure is this open's
  const int result = ::sqlite3_open_v2(config.path.c_str(), &raw, open_flags(config), nullptr);
  // Even a failed open may hand back a handle (for its message): it is
  // owned, and closed, either way.
  UniqueHandle<sqlite_internal::Traits> db;
  if (raw != nullptr) db.reset(reinterpret_cast<uintptr_t>(raw));
  if (result != SQLITE_OK) return failure(raw, result, "open", resource_of(config), open_detail(config));
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
  if (absl::Status s = connection.exec(pragmas, "open", open_detail(config)); !s.ok()) {
    return s;
  }
  return connection;
}

SqliteConnection::~SqliteConnection() {
  // Checked here, while config_ (which the line quotes) is still alive.
  if (ABSL_PREDICT_FALSE(lender_.count() != 0)) {
    lender_.require_none(internal::operation_at<SqliteConnection>(internal::Moment::kDestruction).c_str());
  }
  // A forked child's copy is let go of by the traits, never closed (its
  // cached statements too).
  if (db_.is_valid() && process_.here()) {
    internal::SingleUserScope in_use = config_.threading == SqliteThreading::serialized
                                           ? internal::SingleUserScope::unchecked()
                                           : user_.enter(kName, "~SqliteConnection()");
    // The cached statements first: SQLite does not close a database that
    // has statements left.
    statements_.clear();
    db_.reset();
  }
}

absl::Status SqliteConnection::error(const char* verb, absl::string_view detail,
                                     int result) const {
  return failure(sqlite_internal::db_of(db_.get()), result, verb, resource(), detail);
}

std::string SqliteConnection::resource() const { return resource_of(config_); }

absl::Status SqliteConnection::refuse_unreadable(sqlite3* db, const char* verb,
                                                 absl::string_view sql) const {
  const int limit = ::sqlite3_limit(db, SQLITE_LIMIT_SQL_LENGTH, -1);
  if (sql.size() > static_cast<size_t>(std::max(limit, 0))) {
    return internal::error_on(
        absl::StatusCode::kInvalidArgument, verb, resource(),
        absl::StrCat(internal::quoted(sql), ": SQL text of ", sql.size(),
                     " bytes is over SQLite's limit of ", limit, " (SQLITE_LIMIT_SQL_LENGTH)"));
  }
  if (const size_t nul = sql.find('\0'); nul != absl::string_view::npos) {
    return internal::error_on(
        absl::StatusCode::kInvalidArgument, verb, resource(),
        absl::StrCat(internal::quoted(sql), ": SQL text contains a NUL byte at offset ", nul));
  }
  return absl::OkStatus();
}

absl::StatusOr<SqliteConnection> SqliteConnection::rebuild() const {
  checked("rebuild()", *this);
  return open(config_);
}

absl::Status SqliteConnection::exec(const std::string& sql, const char* verb,
                                    absl::string_view detail) {
  sqlite3* db = sqlite_internal::db_of(db_.get());
  errno = 0;
  const int result = ::sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr);
  return result == SQLITE_OK ? absl::OkStatus() : error(verb, detail, result);
}

absl::Status SqliteConnection::execute(absl::string_view sql) {
  sqlite3* db = checked("execute()", *this);
  Call call(*this, kName, "execute()");
  if (absl::Status refused = refuse_unreadable(db, "execute", sql); !refused.ok()) return refused;
  // Statement by statement, as sqlite3_exec() runs them (each compiled,
  // stepped to its end, finalized), except that one with a parameter is
  // refused before it runs: sqlite3_exec() would bind NULL to it.
  // NUL-terminated and its size given, so that SQLite reads it in place.
  const std::string text(sql);
  const char* const end = text.c_str() + text.size();
  const char* next = text.c_str();
  errno = 0;
  while (next < end) {
    sqlite3_stmt* raw = nullptr;
    const char* tail = nullptr;
    int result = ::sqlite3_prepare_v2(db, next, static_cast<int>(end - next) + 1, &raw, &tail);
    // The message, quoting the SQL, is made only for an error.
    if (ABSL_PREDICT_FALSE(result != SQLITE_OK)) {
      return error("execute", internal::quoted(sql), result);
    }
    if (raw == nullptr) break;  // only blanks, comments and `;` were left
    const UniqueHandle<sqlite_internal::CachedStatementTraits> statement(
        reinterpret_cast<uintptr_t>(raw));
    if (const int count = ::sqlite3_bind_parameter_count(raw); ABSL_PREDICT_FALSE(count != 0)) {
      return unbound_parameters(sql, static_cast<size_t>(next - text.c_str()),
                                static_cast<size_t>(tail - next), count);
    }
    do {
      result = ::sqlite3_step(raw);
    } while (result == SQLITE_ROW);  // rows are dropped, as sqlite3_exec() drops them
    // (prepare_v2: the step's own code, and its message, until finalized.)
    if (ABSL_PREDICT_FALSE(result != SQLITE_DONE)) {
      return error("execute", internal::quoted(sql), result);
    }
    next = tail;
  }
  return absl::OkStatus();
}

absl::Status SqliteConnection::unbound_parameters(absl::string_view sql, size_t offset,
                                                  size_t size, int count) const {
  // The statement from its first word (past the blanks and comments before
  // it); where the text holds more, which statement, and what has run.
  const size_t start = std::min(next_statement(sql, offset), offset + size);
  const bool first = next_statement(sql, 0) == start;
  const bool last = next_statement(sql, offset + size) == absl::string_view::npos;
  return internal::error_on(
      absl::StatusCode::kInvalidArgument, "execute", resource(),
      absl::StrCat(
          internal::quoted(sql), ": ",
          first && last ? std::string("the statement")
                        : absl::StrCat("the statement at offset ", start, ", ",
                                       internal::quoted(sql.substr(start, offset + size - start)),
                                       ","),
          " has ", count, count == 1 ? " parameter" : " parameters",
          " and execute(sql) binds none (SQLite would run it with NULL for each); ",
          first ? "nothing was run" : "the statements before it have run, it and those after it have not",
          "; pass the values with execute(sql, params...), one statement at a time"));
}

absl::StatusOr<Statement> SqliteConnection::prepare(absl::string_view sql) {
  return prepare_as("prepare", sql);
}

absl::StatusOr<Statement> SqliteConnection::prepare_as(const char* verb, absl::string_view sql) {
  sqlite3* db = checked("prepare()", *this);
  Call call(*this, kName, "prepare()");
  if (absl::Status refused = refuse_unreadable(db, verb, sql); !refused.ok()) return refused;
  sqlite3_stmt* raw = nullptr;
  const char* tail = nullptr;
  // The size is at most SQLITE_LIMIT_SQL_LENGTH (checked above): an int.
  // (An empty view may have no data: SQLite would call a null text misuse.)
  const char* text = sql.data() != nullptr ? sql.data() : "";
  const int result = ::sqlite3_prepare_v2(db, text, static_cast<int>(sql.size()), &raw, &tail);
  if (result != SQLITE_OK) return error(verb, internal::quoted(sql), result);
  if (raw == nullptr) {
    return internal::error_on(
        absl::StatusCode::kInvalidArgument, verb, resource(),
        absl::StrCat(internal::quoted(sql),
                     ": no SQL statement in the text (it is empty, or only blanks and comments)"));
  }
  Statement statement(this, raw, std::string(sql));  // owns it from here
  const size_t next =
      next_statement(sql, tail != nullptr ? static_cast<size_t>(tail - text) : sql.size());
  if (next != absl::string_view::npos) {
    return internal::error_on(
        absl::StatusCode::kInvalidArgument, verb, resource(),
        absl::StrCat(internal::quoted(sql), ": more SQL after the first statement, from offset ", next, ": ",
                     internal::quoted(sql.substr(next)),
                     " would never run; prepare() takes one statement (execute() runs several)"));
  }
  return statement;
}

absl::StatusOr<Statement> SqliteConnection::take_statement(const char* verb,
                                                            absl::string_view sql,
                                                            StatementCache::Entry*& entry) {
  entry = nullptr;
  if (statements_.capacity() == 0) return prepare_as(verb, sql);
  {
    checked("prepare()", *this);
    Call call(*this, kName, "prepare()");  // SQLite's mutex guards the cache too
    if (StatementCache::Entry* hit = statements_.find(sql); hit != nullptr) {
      entry = hit;
      // Lent to the Statement, its SQL text with it, until give_back().
      return Statement(this, reinterpret_cast<sqlite3_stmt*>(hit->statement.release()),
                       std::move(hit->sql));
    }
  }
  absl::StatusOr<Statement> statement = prepare_as(verb, sql);
  if (!statement.ok()) return statement;
  Call call(*this, kName, "prepare()");
  entry = statements_.add(sql, StatementCache::Handle());
  return statement;
}

void SqliteConnection::give_back(Statement& statement, StatementCache::Entry* entry) {
  if (entry == nullptr) return;
  sqlite3_stmt* raw = statement.checked("reset()");
  Call call(*this, Statement::kName, "reset()");  // SQLite's mutex guards the cache too
  // Its step's error, if any, was reported already.
  ::sqlite3_reset(raw);
  ::sqlite3_clear_bindings(raw);
  statement.columns_ = 0;
  entry->statement.reset(statement.statement_.release());
  entry->sql = std::move(statement.sql_);
  statements_.trim([](StatementCache::Handle&) {});  // each evicted one is finalized
}

absl::Status SqliteTransactionOptions::validate() const {
  return ConfigRules(*this)
      .check(boost::describe::enum_to_string(behavior, nullptr) != nullptr, "behavior",
             absl::StrCat(enum_name(behavior), " is not one of ", enum_names<SqliteBegin>()))
      .status();
}

absl::StatusOr<Transaction> SqliteConnection::begin() { return begin(SqliteTransactionOptions{}); }

absl::StatusOr<Transaction> SqliteConnection::begin(const SqliteTransactionOptions& options) {
  sqlite3* db = checked("begin()", *this);
  if (absl::Status valid = options.validate(); !valid.ok()) {
    return internal::status_on(valid, "begin", resource());
  }
  // Held across the check and the BEGIN, so no other thread's BEGIN (on a
  // shared, serialized connection) comes between them.
  Call call(*this, kName, "begin()");
  if (transaction_live_ || ::sqlite3_get_autocommit(db) == 0) {
    return internal::error_on(
        absl::StatusCode::kFailedPrecondition, "begin", resource(),
        "a transaction is already open on this connection; nest with a savepoint");
  }
  const std::string sql =
      absl::StrCat("BEGIN ", absl::AsciiStrToUpper(enum_name(options.behavior)));
  if (absl::Status s = exec(sql, "begin"); !s.ok()) return s;
  return Transaction(this);
}

absl::Status SqliteConnection::end_transaction(const char* type, const char* operation,
                                               const char* verb, const char* sql) {
  // One call from the check to the ROLLBACK after a failed COMMIT: on a
  // serialized connection shared by threads, nothing of another thread's
  // comes between them.
  Call call(*this, type, operation);
  sqlite3* db = sqlite_internal::db_of(db_.get());
  if (transaction_lost_ || ::sqlite3_get_autocommit(db) != 0) {
    return internal::ended_elsewhere(resource(), verb,
                                     absl::StrCat(sql, " would end nothing of this one"));
  }
  absl::Status failed = exec(sql, verb);  // not const: returned, so moved
  // A COMMIT refused (SQLITE_BUSY) leaves the transaction open; it must not
  // outlive its Transaction, or later statements would join it silently and
  // be lost at close. Ended anyway (SQLite rolls back by itself after some
  // errors): nothing more to do.
  if (failed.ok() || ::sqlite3_get_autocommit(db) != 0) return failed;
  const absl::Status rolled_back = exec("ROLLBACK", "rollback");
  return absl::Status(
      failed.code(),
      rolled_back.ok()
          ? absl::StrCat(failed.message(), "; the transaction was rolled back")
          : absl::StrCat(failed.message(),
                         "; rolling the transaction back failed too: ", rolled_back.message()));
}

absl::Status SqliteConnection::savepoint_command(const char* type, const char* operation,
                                                 const char* verb, const std::string& sql,
                                                 absl::string_view so) {
  // One call from the check to the end of the SQL (see end_transaction).
  Call call(*this, type, operation);
  if (transaction_lost_ || ::sqlite3_get_autocommit(sqlite_internal::db_of(db_.get())) != 0) {
    return internal::ended_elsewhere(resource(), verb, so);
  }
  return exec(sql, verb, internal::quoted(sql));
}

absl::Status SqliteConnection::backup_to(const SqliteConfig& target) {
  sqlite3* source = checked("backup_to()", *this);
  // Only the one-user check: a serialized connection's mutex is not held
  // across the copy, so that other threads may use it between batches.
  internal::SingleUserScope in_use = config_.threading == SqliteThreading::serialized
                                         ? internal::SingleUserScope::unchecked()
                                         : user_.enter(kName, "backup_to()");
  // "backup sqlite "<source>": to sqlite "<target>": <what>"
  const std::string source_resource = resource();
  const std::string to = absl::StrCat("to ", resource_of(target));
  // An in-memory or temporary database ends with the connection this
  // would open for it (a shared-cache one too, unless another connection
  // happens to hold it open): the copy would be thrown away unseen.
  if (target.path.empty() || in_memory(target)) {
    return internal::error_on(
        absl::StatusCode::kInvalidArgument, "backup", source_resource,
        absl::StrCat(to, ": ", target.path.empty() ? "a temporary" : "an in-memory",
                     " database is gone when backup_to() returns, and the copy with it; back "
                     "up to a file, or into an open connection (backup_to(SqliteConnection&))"));
  }
  if (absl::Status busy = refuse_own_write_transaction(source, to); !busy.ok()) return busy;
  absl::StatusOr<SqliteConnection> destination = open(target);
  if (!destination.ok()) {
    // "backup sqlite "<source>": open sqlite "<target>": ..."
    return internal::status_on(destination.status(), "backup", source_resource);
  }
  if (absl::Status copied = copy_into(source, destination->get(), to); !copied.ok()) {
    return copied;
  }
  return destination->close();
}

absl::Status SqliteConnection::backup_to(SqliteConnection& target) {
  sqlite3* source = checked("backup_to()", *this);
  sqlite3* copy = target.checked("backup_to()", target);
  const std::string to = absl::StrCat("to ", target.resource());
  if (copy == source) {
    return internal::error_on(absl::StatusCode::kInvalidArgument, "backup", resource(),
                              absl::StrCat(to, ": a connection cannot be copied into itself"));
  }
  internal::SingleUserScope in_use = config_.threading == SqliteThreading::serialized
                                         ? internal::SingleUserScope::unchecked()
                                         : user_.enter(kName, "backup_to()");
  internal::SingleUserScope target_in_use =
      target.config_.threading == SqliteThreading::serialized
          ? internal::SingleUserScope::unchecked()
          : target.user_.enter(kName, "backup_to()");
  if (absl::Status busy = refuse_own_write_transaction(source, to); !busy.ok()) return busy;
  // SQLite refuses a destination with a read or write transaction open
  // ("destination database is in use"), which a statement mid-step holds.
  if (::sqlite3_get_autocommit(copy) == 0 || ::sqlite3_txn_state(copy, "main") != SQLITE_TXN_NONE) {
    return internal::error_on(
        absl::StatusCode::kFailedPrecondition, "backup", resource(),
        absl::StrCat(to, ": the target has a transaction open (or a statement mid-step); end "
                         "it first"));
  }
  return copy_into(source, copy, to);
}

absl::Status SqliteConnection::refuse_own_write_transaction(sqlite3* source,
                                                            absl::string_view to) const {
  // The copy would wait for this very connection's write transaction to
  // end, which it cannot while the caller waits: say so at once.
  if (::sqlite3_txn_state(source, "main") == SQLITE_TXN_WRITE) {
    return internal::error_on(
        absl::StatusCode::kFailedPrecondition, "backup", resource(),
        absl::StrCat(to, ": this connection has a write transaction open; commit or roll it "
                         "back first"));
  }
  return absl::OkStatus();
}

absl::Status SqliteConnection::copy_into(sqlite3* source, sqlite3* copy,
                                         absl::string_view to) const {
  const std::string source_resource = resource();
  sqlite3_backup* backup = ::sqlite3_backup_init(copy, "main", source, "main");
  if (backup == nullptr) {
    return failure(copy, ::sqlite3_extended_errcode(copy), "backup", source_resource, to);
  }
  // A page batch at a time, so that writers on the source are not shut out
  // for the whole copy. A locked source or target is waited for, up to the
  // busy_timeout in all: sqlite3_backup_step() does not wait itself.
  // (A step can itself wait in the source's or the target's busy handler
  // before it says SQLITE_BUSY: that time counts too.)
  const absl::Duration patience = config_.busy_timeout;
  absl::Duration waited = absl::ZeroDuration();
  int result;
  while (true) {
    const absl::Time start = internal::monotonic_now();
    errno = 0;
    result = ::sqlite3_backup_step(backup, 256);
    if (result == SQLITE_OK) continue;
    if (result != SQLITE_BUSY && result != SQLITE_LOCKED) break;
    if (waited + (internal::monotonic_now() - start) >= patience) {
      waited += internal::monotonic_now() - start;
      break;
    }
    ::sqlite3_sleep(
        static_cast<int>(std::clamp<int64_t>(absl::ToInt64Milliseconds(patience - waited), 1, 5)));
    waited += internal::monotonic_now() - start;
  }
  const int finished = ::sqlite3_backup_finish(backup);
  if (result == SQLITE_BUSY || result == SQLITE_LOCKED) {
    return internal::error_on(
        absl::StatusCode::kUnavailable, "backup", source_resource,
        absl::StrCat(to, ": ", ::sqlite3_errstr(result), "; gave up after waiting ",
                     absl::FormatDuration(waited), " (the source's busy_timeout is ",
                     absl::FormatDuration(patience), ")"));
  }
  if (result != SQLITE_DONE) {
    // The error is the target's (its message, its errno), unless the
    // source failed to read.
    return failure(copy, finished != SQLITE_OK ? finished : result, "backup", source_resource, to);
  }
  return absl::OkStatus();
}

absl::Status SqliteConnection::close() {
  checked("close()", *this);
  lender_.require_none("close()");
  absl::Status status;
  {
    internal::SingleUserScope in_use = config_.threading == SqliteThreading::serialized
                                           ? internal::SingleUserScope::unchecked()
                                           : user_.enter(kName, "close()");
    statements_.clear();
    status = db_.close();
  }
  return internal::status_on(status, "close", resource());
}

absl::Status SqliteConnection::check_health(absl::Time) const {
  const auto fail = [&](absl::string_view what) {
    return internal::error_on(absl::StatusCode::kFailedPrecondition, "check_health", resource(),
                              what);
  };
  if (!is_open()) return fail(absl::StrCat("on ", describe(db_.state())));
  if (!process_.here()) return fail("opened by the parent of this fork()ed child");
  if (::sqlite3_get_autocommit(sqlite_internal::db_of(db_.get_unchecked())) == 0) {
    return fail("a transaction is still open on it");
  }
  return absl::OkStatus();
}

bool SqliteConnection::reusable() const {
  return is_open() && !transaction_live_ &&
         ::sqlite3_get_autocommit(sqlite_internal::db_of(db_.get_unchecked())) != 0;
}

std::string SqliteConnection::resource_for(const SqliteConfig& config) {
  return resource_of(config);
}

int64_t SqliteConnection::changes() const {
  sqlite3* db = checked("changes()", *this);
  Call call(*this, kName, "changes()", Call::kOnlyOneUser);
  return ::sqlite3_changes64(db);
}

int64_t SqliteConnection::last_insert_rowid() const {
  sqlite3* db = checked("last_insert_rowid()", *this);
  Call call(*this, kName, "last_insert_rowid()", Call::kOnlyOneUser);
  return ::sqlite3_last_insert_rowid(db);
}

// ---------------------------------------------------------------------------
// Statement

absl::Status sqlite_internal::StatementTraits::close(uintptr_t statement) const {
  // A forked child lets go of the parent's statement, as of its connection.
  if (!connection->process_.here()) return absl::OkStatus();
  SqliteConnection::Call call(*connection, Statement::kName, "~Statement()",
                              SqliteConnection::Call::kOnlyOneUser);
  ::sqlite3_finalize(reinterpret_cast<sqlite3_stmt*>(statement));
  return absl::OkStatus();
}

absl::Status sqlite_internal::CachedStatementTraits::close(uintptr_t statement) const {
  // A forked child lets go of the parent's statement, as of its connection.
  if (process.here()) ::sqlite3_finalize(reinterpret_cast<sqlite3_stmt*>(statement));
  return absl::OkStatus();
}

Statement::Statement(SqliteConnection* connection, sqlite3_stmt* statement, std::string sql)
    : statement_(reinterpret_cast<uintptr_t>(statement),
                 sqlite_internal::StatementTraits(connection)),
      connection_(connection),
      sql_(std::move(sql)) {}

std::string Statement::resource() const {
  const SqliteConnection* connection = connection_.get();
  return connection != nullptr ? connection->resource() : std::string();
}

void Statement::misused(const char* operation) const {
  (void)statement_.get_as(kName, operation, [this] { return resource(); });  // moved from
  connection_.get()->checked(operation, *this);  // reports the fork
  misuse_on(kName, operation, resource(), "in an unexpected state");
}

void Statement::column_misused(const char* operation, int column) const {
  checked(operation);  // moved from, or in a forked child
  if (columns_ == 0) {
    misuse_on(kName, operation, resource(), "with no current row; step() must return true first");
  }
  const std::string call = called_with(operation, column);
  misuse_on(kName, call.c_str(), resource(), "outside the row's %d column%s", columns_,
            columns_ == 1 ? "" : "s");
}

absl::Status Statement::error(const char* verb, int code, const char* message,
                              absl::string_view detail) const {
  const SqliteConnection& connection = *connection_.get();
  return failure(sqlite_internal::db_of(connection.db_.get()), code, verb, connection.resource(),
                 absl::StrCat(detail, internal::quoted(sql_)), message);
}

absl::Status Statement::bind_error(Parameter parameter, int code) const {
  // SQLite's message for a bind is the code's own (no mutex is held for
  // binds, so the connection's last message may be another thread's).
  return error("bind", code, ::sqlite3_errstr(code),
               parameter.name.empty()
                   ? absl::StrCat("?", parameter.index, " of ")
                   : absl::StrCat(internal::quoted(parameter.name), " of "));
}

absl::StatusOr<int> Statement::parameter_index(absl::string_view name) const {
  sqlite3_stmt* statement = checked("bind()");
  connection_.get()->user_.check(kName, "bind()");
  // SQLite reads the name up to a NUL: ":a\0b" would find ":a".
  if (name.find('\0') == absl::string_view::npos) {
    const std::string text(name);
    if (const int index = ::sqlite3_bind_parameter_index(statement, text.c_str()); index > 0) {
      return index;
    }
  }
  const int count = ::sqlite3_bind_parameter_count(statement);
  std::vector<std::string> parameters;
  std::string meant;
  for (int i = 1; i <= count; ++i) {
    const char* parameter = ::sqlite3_bind_parameter_name(statement, i);
    if (parameter == nullptr) {
      parameters.push_back(absl::StrCat("?", i));
      continue;
    }
    parameters.push_back(internal::quoted(parameter));
    // The name without its prefix.
    if (meant.empty() && absl::string_view(parameter).substr(1) == name) {
      meant = absl::StrCat("; did you mean ", internal::quoted(parameter),
                           " (a name includes its prefix)?");
    }
  }
  return internal::error_on(
      absl::StatusCode::kInvalidArgument, "bind", resource(),
      absl::StrCat(internal::quoted(sql_), ": no parameter named ", internal::quoted(name),
                   parameters.empty() ? "; it has no parameters"
                                      : absl::StrCat("; its parameters are ", listed(parameters)),
                   meant));
}

template <typename Bind>
absl::Status Statement::bind_with(const Parameter& parameter, Bind bind) {
  sqlite3_stmt* statement = checked("bind()");
  SqliteConnection::Call call(*connection_.get(), kName, "bind()",
                              SqliteConnection::Call::kOnlyOneUser);
  const int result = bind(statement);
  if (ABSL_PREDICT_TRUE(result == SQLITE_OK)) return absl::OkStatus();
  if (result == SQLITE_MISUSE && (finished_ || ::sqlite3_stmt_busy(statement) != 0)) {
    // SQLite's own word for it is "bad parameter or other API misuse".
    return internal::error_on(
        absl::StatusCode::kFailedPrecondition, "bind", resource(),
        absl::StrCat(internal::quoted(sql_),
                     ": the statement has run since it was prepared or reset; reset() it "
                     "before binding new values"));
  }
  return bind_error(parameter, result);
}

absl::Status Statement::too_large(const Parameter& parameter, uint64_t value) const {
  checked("bind()");
  return internal::error_on(
      absl::StatusCode::kOutOfRange, "bind", resource(),
      absl::StrCat(parameter.name.empty() ? absl::StrCat("?", parameter.index)
                                          : internal::quoted(parameter.name),
                   " of ", internal::quoted(sql_), ": ", value,
                   " is above the largest INTEGER SQLite stores (", INT64_MAX, ")"));
}

void Statement::clear_bindings() {
  sqlite3_stmt* statement = checked("clear_bindings()");
  SqliteConnection::Call call(*connection_.get(), kName, "clear_bindings()",
                              SqliteConnection::Call::kOnlyOneUser);
  ::sqlite3_clear_bindings(statement);
}

absl::Status Statement::bind_to(Parameter parameter, int64_t value) {
  return bind_with(parameter, [&](sqlite3_stmt* statement) {
    return ::sqlite3_bind_int64(statement, parameter.index, value);
  });
}

absl::Status Statement::bind_to(Parameter parameter, double value) {
  return bind_with(parameter, [&](sqlite3_stmt* statement) {
    return ::sqlite3_bind_double(statement, parameter.index, value);
  });
}

absl::Status Statement::bind_to(Parameter parameter, absl::string_view value) {
  // An empty view may have no data at all; SQLite would take a null
  // pointer for NULL, where an empty string was meant.
  const char* text = value.data() != nullptr ? value.data() : "";
  return bind_with(parameter, [&](sqlite3_stmt* statement) {
    return ::sqlite3_bind_text64(statement, parameter.index, text, value.size(), SQLITE_TRANSIENT,
                                 SQLITE_UTF8);
  });
}

absl::Status Statement::bind_to(Parameter parameter, absl::Span<const std::byte> value) {
  // As for text: a null pointer would bind NULL, where an empty BLOB was
  // meant (an empty vector's data() may well be null).
  static constexpr std::byte kNothing{};
  const void* bytes = value.data() != nullptr ? value.data() : &kNothing;
  return bind_with(parameter, [&](sqlite3_stmt* statement) {
    return ::sqlite3_bind_blob64(statement, parameter.index, bytes, value.size(),
                                 SQLITE_TRANSIENT);
  });
}

absl::Status Statement::bind_to(Parameter parameter, std::nullptr_t) {
  return bind_with(parameter, [&](sqlite3_stmt* statement) {
    return ::sqlite3_bind_null(statement, parameter.index);
  });
}

// A step that fails leaves its error in the statement (SQLite's
// prepare_v2 statements keep it until reset): sqlite3_reset() makes it the
// connection's error again, so the message read under the mutex right
// after it is this statement's, whatever another thread did on a
// serialized connection in between. A step holds the mutex only then, not
// for every row: on a serialized connection that saves a lock and an
// unlock of the connection's recursive mutex per row (sqlite3_step() takes
// it itself), about 3 % of reading a row of five columns. What that gives
// up: the transaction watch (Call's destructor) reads
// sqlite3_get_autocommit() just after the step instead of under the same
// lock, so on a serialized connection another thread's statement could
// come between them, as it can between any two calls of this thread.
absl::StatusOr<bool> Statement::step() {
  sqlite3_stmt* statement = checked("step()");
  if (ABSL_PREDICT_FALSE(finished_)) {
    return internal::error_on(
        absl::StatusCode::kFailedPrecondition, "step", resource(),
        absl::StrCat(internal::quoted(sql_),
                     ": the statement already ran to its end (step() said false); reset() it "
                     "to run it again"));
  }
  const SqliteConnection& connection = *connection_.get();
  SqliteConnection::Call call(connection, kName, "step()", SqliteConnection::Call::kStep);
  const int result = ::sqlite3_step(statement);
  if (ABSL_PREDICT_TRUE(result == SQLITE_ROW)) {
    columns_ = ::sqlite3_data_count(statement);
    return true;
  }
  columns_ = 0;
  if (result == SQLITE_DONE) {
    finished_ = true;
    return false;
  }
  return step_error(result);
}

absl::Status Statement::step_error(int result) {
  auto* statement = reinterpret_cast<sqlite3_stmt*>(statement_.get_unchecked());
  sqlite3* db = sqlite_internal::db_of(connection_.get()->db_.get());
  sqlite3_mutex* mutex = ::sqlite3_db_mutex(db);  // nullptr unless serialized
  if (mutex != nullptr) ::sqlite3_mutex_enter(mutex);
  ::sqlite3_reset(statement);
  absl::Status status = error("step", result);
  if (mutex != nullptr) ::sqlite3_mutex_leave(mutex);
  return status;
}

absl::Status Statement::run() {
  sqlite3_stmt* statement = checked("run()");
  SqliteConnection::Call call(*connection_.get(), kName, "run()");
  columns_ = 0;
  if (const int columns = ::sqlite3_column_count(statement); ABSL_PREDICT_FALSE(columns != 0)) {
    return internal::error_on(
        absl::StatusCode::kFailedPrecondition, "run", resource(),
        absl::StrCat(internal::quoted(sql_), ": the statement returns rows (", columns,
                     columns == 1 ? " column" : " columns",
                     "), which run() would throw away; nothing was run: step() through them"));
  }
  finished_ = false;  // run() starts it over, whatever step() did
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
  sqlite3_stmt* statement = checked("reset()");
  SqliteConnection::Call call(*connection_.get(), kName, "reset()",
                              SqliteConnection::Call::kOnlyOneUser);
  columns_ = 0;
  finished_ = false;
  // An error here is the last step()'s again; step() reported it (and reset).
  const int result = ::sqlite3_reset(statement);
  return result == SQLITE_OK ? absl::OkStatus() : error("reset", result, ::sqlite3_errstr(result));
}

int Statement::column_count() const {
  sqlite3_stmt* statement = checked("column_count()");
  const SqliteConnection* connection = connection_.get();
  connection->user_.check(kName, "column_count()");
  return ::sqlite3_column_count(statement);
}

sqlite3_stmt* Statement::column_checked(const char* operation, int column) const {
  sqlite3_stmt* statement = checked(operation);
  connection_.get()->user_.check(kName, operation);
  const int columns = ::sqlite3_column_count(statement);
  if (ABSL_PREDICT_FALSE(column < 0 || column >= columns)) {
    const std::string call = called_with(operation, column);
    misuse_on(kName, call.c_str(), resource(), "outside the statement's %d column%s", columns,
              columns == 1 ? "" : "s");
  }
  return statement;
}

std::string Statement::column_name(int column) const {
  const char* name = ::sqlite3_column_name(column_checked("column_name()", column), column);
  return name != nullptr ? std::string(name) : std::string();  // null: out of memory
}

std::string Statement::column_type(int column) const {
  const char* type = ::sqlite3_column_decltype(column_checked("column_type()", column), column);
  return type != nullptr ? std::string(type) : std::string();
}

absl::StatusOr<int> Statement::column_index(absl::string_view name) const {
  return find_column("find column", name);
}

absl::StatusOr<int> Statement::find_column(const char* verb, absl::string_view name) const {
  sqlite3_stmt* statement = checked("column_index()");
  connection_.get()->user_.check(kName, "column_index()");
  const int columns = ::sqlite3_column_count(statement);
  for (int i = 0; i < columns; ++i) {
    const char* column = ::sqlite3_column_name(statement, i);
    if (column != nullptr && absl::string_view(column) == name) return i;
  }
  std::vector<std::string> names;
  for (int i = 0; i < columns; ++i) {
    const char* column = ::sqlite3_column_name(statement, i);
    names.push_back(internal::quoted(column != nullptr ? column : ""));
  }
  return internal::error_on(
      absl::StatusCode::kNotFound, verb, resource(),
      absl::StrCat(internal::quoted(sql_), ": no column named ", internal::quoted(name),
                   names.empty() ? "; it returns no columns"
                                 : absl::StrCat("; its columns are ", listed(names))));
}

absl::Status Statement::column_error(absl::StatusCode code, int column,
                                     absl::string_view what) const {
  const char* name = ::sqlite3_column_name(reinterpret_cast<sqlite3_stmt*>(statement_.get()),
                                           column);
  return internal::error_on(code, "read", resource(),
                            absl::StrCat("column ", column, " ",
                                         internal::quoted(name != nullptr ? name : ""), " of ",
                                         internal::quoted(sql_), ": ", what));
}

bool Statement::null_at(int column) const {
  return ::sqlite3_column_type(reinterpret_cast<sqlite3_stmt*>(statement_.get()), column) ==
         SQLITE_NULL;
}

absl::Status Statement::storage_error(int column, int storage, const char* type) const {
  if (storage == SQLITE_NULL) {
    return column_error(
        absl::StatusCode::kFailedPrecondition, column,
        absl::StrCat("NULL, which ", type, " cannot hold; read a std::optional<", type, ">"));
  }
  return column_error(absl::StatusCode::kInvalidArgument, column,
                      absl::StrCat(with_article(storage_class(storage)), " value, not ",
                                   with_article(type)));
}

absl::Status Statement::integer_at(int column, const char* type, int64_t& out) const {
  auto* statement = reinterpret_cast<sqlite3_stmt*>(statement_.get());
  const int storage = ::sqlite3_column_type(statement, column);
  if (ABSL_PREDICT_TRUE(storage == SQLITE_INTEGER)) {
    out = ::sqlite3_column_int64(statement, column);
    return absl::OkStatus();
  }
  if (storage != SQLITE_FLOAT) return storage_error(column, storage, type);
  // A REAL with no fraction, within range, is that integer exactly.
  const double real = ::sqlite3_column_double(statement, column);
  constexpr double kTwoTo63 = 9223372036854775808.0;
  if (std::trunc(real) != real) {
    return column_error(absl::StatusCode::kInvalidArgument, column,
                        absl::StrCat("REAL ", exactly(real), " has a fraction, which ", with_article(type),
                                     " would lose"));
  }
  if (!(real >= -kTwoTo63 && real < kTwoTo63)) {
    return column_error(absl::StatusCode::kInvalidArgument, column,
                        absl::StrCat("REAL ", exactly(real), " is out of ", type, "'s range"));
  }
  out = static_cast<int64_t>(real);
  return absl::OkStatus();
}

absl::Status Statement::read_into(int column, int64_t& out) const {
  return integer_at(column, "int64_t", out);
}

absl::Status Statement::read_into(int column, int& out) const {
  int64_t value = 0;
  if (absl::Status s = integer_at(column, "int", value); !s.ok()) return s;
  if (value < std::numeric_limits<int>::min() || value > std::numeric_limits<int>::max()) {
    return column_error(absl::StatusCode::kInvalidArgument, column,
                        absl::StrCat("INTEGER ", value, " is out of int's range"));
  }
  out = static_cast<int>(value);
  return absl::OkStatus();
}

absl::Status Statement::read_into(int column, bool& out) const {
  int64_t value = 0;
  if (absl::Status s = integer_at(column, "bool", value); !s.ok()) return s;
  if (value != 0 && value != 1) {
    return column_error(absl::StatusCode::kInvalidArgument, column,
                        absl::StrCat("INTEGER ", value, " is not a bool (0 or 1)"));
  }
  out = value == 1;
  return absl::OkStatus();
}

absl::Status Statement::read_into(int column, double& out) const {
  auto* statement = reinterpret_cast<sqlite3_stmt*>(statement_.get());
  const int storage = ::sqlite3_column_type(statement, column);
  if (ABSL_PREDICT_TRUE(storage == SQLITE_FLOAT)) {
    out = ::sqlite3_column_double(statement, column);
    return absl::OkStatus();
  }
  if (storage != SQLITE_INTEGER) return storage_error(column, storage, "double");
  // An INTEGER a double holds exactly.
  const int64_t integer = ::sqlite3_column_int64(statement, column);
  const auto real = static_cast<double>(integer);
  constexpr double kTwoTo63 = 9223372036854775808.0;
  if (real >= kTwoTo63 || static_cast<int64_t>(real) != integer) {
    return column_error(absl::StatusCode::kInvalidArgument, column,
                        absl::StrCat("INTEGER ", integer, " is not exactly a double (it would read as ",
                                     exactly(real), ")"));
  }
  out = real;
  return absl::OkStatus();
}

absl::Status Statement::read_into(int column, std::string& out) const {
  auto* statement = reinterpret_cast<sqlite3_stmt*>(statement_.get());
  const int storage = ::sqlite3_column_type(statement, column);
  if (ABSL_PREDICT_FALSE(storage != SQLITE_TEXT)) {
    return storage_error(column, storage, "std::string");
  }
  // The text, then its size (in that order: SQLite's rule).
  const auto* text = ::sqlite3_column_text(statement, column);
  const int size = ::sqlite3_column_bytes(statement, column);
  if (ABSL_PREDICT_FALSE(text == nullptr && size != 0)) {
    return column_error(absl::StatusCode::kResourceExhausted, column, "out of memory");
  }
  out.assign(reinterpret_cast<const char*>(text), static_cast<size_t>(size));
  return absl::OkStatus();
}

absl::Status Statement::read_into(int column, std::vector<std::byte>& out) const {
  auto* statement = reinterpret_cast<sqlite3_stmt*>(statement_.get());
  const int storage = ::sqlite3_column_type(statement, column);
  if (ABSL_PREDICT_FALSE(storage != SQLITE_BLOB)) {
    return storage_error(column, storage, "std::vector<std::byte>");
  }
  // An empty BLOB's data is a null pointer.
  const auto* bytes = static_cast<const std::byte*>(::sqlite3_column_blob(statement, column));
  const int size = ::sqlite3_column_bytes(statement, column);
  if (ABSL_PREDICT_FALSE(bytes == nullptr && size != 0)) {
    return column_error(absl::StatusCode::kResourceExhausted, column, "out of memory");
  }
  out.assign(bytes, bytes + size);
  return absl::OkStatus();
}

bool Statement::is_null(int column) const {
  return ::sqlite3_column_type(row_checked("is_null()", column), column) == SQLITE_NULL;
}

int64_t Statement::get_int64(int column) const {
  return ::sqlite3_column_int64(row_checked("get_int64()", column), column);
}

double Statement::get_double(int column) const {
  return ::sqlite3_column_double(row_checked("get_double()", column), column);
}

std::string Statement::get_text(int column) const {
  sqlite3_stmt* statement = row_checked("get_text()", column);
  const auto* text = ::sqlite3_column_text(statement, column);
  const int size = ::sqlite3_column_bytes(statement, column);
  return text == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(text), size);
}

// ---------------------------------------------------------------------------
// Rows (rows.h): the cursor's reads and the parameter sink.

namespace sqlite_internal {
namespace {

// A value `type` cannot hold, said bare (rows.h adds the rest).
absl::Status cell_error(int storage, const char* type) {
  if (storage == SQLITE_NULL) {
    return absl::FailedPreconditionError(absl::StrCat("NULL into a non-optional ", type));
  }
  return absl::InvalidArgumentError(absl::StrCat(with_article(storage_class(storage)),
                                                 " value, not ", with_article(type)));
}

// The column's value (one call to SQLite) and its storage class. The value
// is the statement's own, used by this thread only until the next step;
// only its type and numbers are read from it directly (no allocation).
ABSL_ATTRIBUTE_ALWAYS_INLINE inline sqlite3_value* cell(sqlite3_stmt* statement, int column,
                                                        int& storage) {
  sqlite3_value* value = ::sqlite3_column_value(statement, column);
  storage = ::sqlite3_value_type(value);
  return value;
}

absl::Status integer_from_other(sqlite3_value* value, int storage, const char* type,
                                int64_t& out, bool* null);

// The INTEGER at `column`: the common case inline, the others out of line.
ABSL_ATTRIBUTE_ALWAYS_INLINE inline absl::Status integer_cell(sqlite3_stmt* statement, int column,
                                                             const char* type, int64_t& out,
                                                             bool* null) {
  int storage;
  sqlite3_value* value = cell(statement, column, storage);
  if (ABSL_PREDICT_TRUE(storage == SQLITE_INTEGER)) {
    out = ::sqlite3_value_int64(value);
    return absl::OkStatus();
  }
  return integer_from_other(value, storage, type, out, null);
}

// NULL, or a REAL with no fraction, or a refusal.
ABSL_ATTRIBUTE_NOINLINE absl::Status integer_from_other(sqlite3_value* value, int storage,
                                                        const char* type, int64_t& out,
                                                        bool* null) {
  if (storage == SQLITE_NULL && null != nullptr) {
    *null = true;
    return absl::OkStatus();
  }
  if (storage != SQLITE_FLOAT) return cell_error(storage, type);
  const double real = ::sqlite3_value_double(value);
  constexpr double kTwoTo63 = 9223372036854775808.0;
  if (std::trunc(real) != real) {
    return absl::InvalidArgumentError(absl::StrCat(
        "REAL ", exactly(real), " has a fraction, which ", with_article(type), " would lose"));
  }
  if (!(real >= -kTwoTo63 && real < kTwoTo63)) {
    return absl::InvalidArgumentError(
        absl::StrCat("REAL ", exactly(real), " is out of ", type, "'s range"));
  }
  out = static_cast<int64_t>(real);
  return absl::OkStatus();
}

}  // namespace

absl::Status read_cell(sqlite3_stmt* statement, int column, int64_t& out, bool* null) {
  return integer_cell(statement, column, "int64_t", out, null);
}

absl::Status read_cell(sqlite3_stmt* statement, int column, int& out, bool* null) {
  int64_t value = 0;
  if (absl::Status s = integer_cell(statement, column, "int", value, null); !s.ok()) return s;
  if (value < std::numeric_limits<int>::min() || value > std::numeric_limits<int>::max()) {
    return absl::InvalidArgumentError(absl::StrCat("INTEGER ", value, " is out of int's range"));
  }
  out = static_cast<int>(value);
  return absl::OkStatus();
}

absl::Status read_cell(sqlite3_stmt* statement, int column, bool& out, bool* null) {
  int64_t value = 0;
  if (absl::Status s = integer_cell(statement, column, "bool", value, null); !s.ok()) return s;
  if (value != 0 && value != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("INTEGER ", value, " is not a bool (0 or 1)"));
  }
  out = value == 1;
  return absl::OkStatus();
}

absl::Status read_cell(sqlite3_stmt* statement, int column, double& out, bool* null) {
  int storage;
  sqlite3_value* value = cell(statement, column, storage);
  if (ABSL_PREDICT_TRUE(storage == SQLITE_FLOAT)) {
    out = ::sqlite3_value_double(value);
    return absl::OkStatus();
  }
  if (storage == SQLITE_NULL && null != nullptr) {
    *null = true;
    return absl::OkStatus();
  }
  if (storage != SQLITE_INTEGER) return cell_error(storage, "double");
  const int64_t integer = ::sqlite3_value_int64(value);
  const auto real = static_cast<double>(integer);
  constexpr double kTwoTo63 = 9223372036854775808.0;
  if (real >= kTwoTo63 || static_cast<int64_t>(real) != integer) {
    return absl::InvalidArgumentError(absl::StrCat(
        "INTEGER ", integer, " is not exactly a double (it would read as ", exactly(real), ")"));
  }
  out = real;
  return absl::OkStatus();
}

namespace {

// The TEXT at `column`, as a view into the statement valid until its next
// step, or NULL (*null set, when given), or a refusal.
ABSL_ATTRIBUTE_ALWAYS_INLINE inline absl::Status text_cell(sqlite3_stmt* statement, int column,
                                                          absl::string_view& out, bool* null) {
  int storage;
  sqlite3_value* value = cell(statement, column, storage);
  if (ABSL_PREDICT_FALSE(storage != SQLITE_TEXT)) {
    if (storage == SQLITE_NULL && null != nullptr) {
      *null = true;
      return absl::OkStatus();
    }
    return cell_error(storage, "std::string");
  }
  // The text through the statement (under the connection's mutex: a UTF-16
  // database's text is converted, which allocates), then its size.
  const auto* text = ::sqlite3_column_text(statement, column);
  const int size = ::sqlite3_value_bytes(value);
  if (ABSL_PREDICT_FALSE(text == nullptr && size != 0)) {
    return absl::ResourceExhaustedError("out of memory");
  }
  out = absl::string_view(reinterpret_cast<const char*>(text), static_cast<size_t>(size));
  return absl::OkStatus();
}

}  // namespace

absl::Status read_cell(sqlite3_stmt* statement, int column, std::string& out, bool* null) {
  absl::string_view text;
  absl::Status status = text_cell(statement, column, text, null);
  if (ABSL_PREDICT_TRUE(status.ok())) out.assign(text.data(), text.size());
  return status;
}

absl::Status read_cell(sqlite3_stmt* statement, int column, std::optional<std::string>& out) {
  absl::string_view text;
  bool null = false;
  absl::Status status = text_cell(statement, column, text, &null);
  if (ABSL_PREDICT_FALSE(!status.ok())) return status;
  if (null) {
    out.reset();
  } else if (out.has_value()) {
    out->assign(text.data(), text.size());
  } else {
    out.emplace(text.data(), text.size());  // made at its size, not grown
  }
  return status;
}

absl::Status read_cell(sqlite3_stmt* statement, int column, std::vector<std::byte>& out,
                       bool* null) {
  int storage;
  sqlite3_value* value = cell(statement, column, storage);
  if (ABSL_PREDICT_FALSE(storage != SQLITE_BLOB)) {
    if (storage == SQLITE_NULL && null != nullptr) {
      *null = true;
      return absl::OkStatus();
    }
    return cell_error(storage, "std::vector<std::byte>");
  }
  // Through the statement too: a zeroblob() is made real, which allocates.
  const auto* bytes = static_cast<const std::byte*>(::sqlite3_column_blob(statement, column));
  const int size = ::sqlite3_value_bytes(value);
  if (ABSL_PREDICT_FALSE(bytes == nullptr && size != 0)) {
    return absl::ResourceExhaustedError("out of memory");
  }
  out.assign(bytes, bytes + size);
  return absl::OkStatus();
}

int StatementParams::parameter_count() const { return ::sqlite3_bind_parameter_count(raw_); }

int StatementParams::index_of(absl::string_view name) const {
  // `name` is ":field" (rows.h makes it, no NUL in it).
  std::string text(name);
  for (const char prefix : {':', '@', '$'}) {
    text[0] = prefix;
    if (const int index = ::sqlite3_bind_parameter_index(raw_, text.c_str()); index > 0) {
      return index;
    }
  }
  return 0;
}

absl::Status StatementParams::bound(int index, int result) {
  if (ABSL_PREDICT_TRUE(result == SQLITE_OK)) {
    bound_.push_back(index);
    return absl::OkStatus();
  }
  return with_sql_error(absl::Status(code_for(result), ::sqlite3_errstr(result)),
                        {.sqlstate = "", .sqlite_code = result});
}

absl::Status StatementParams::bind(absl::string_view name, int64_t value) {
  const int index = index_of(name);
  if (index == 0) return absl::OkStatus();
  return bound(index, ::sqlite3_bind_int64(raw_, index, value));
}

absl::Status StatementParams::bind(absl::string_view name, double value) {
  const int index = index_of(name);
  if (index == 0) return absl::OkStatus();
  return bound(index, ::sqlite3_bind_double(raw_, index, value));
}

absl::Status StatementParams::bind(absl::string_view name, absl::string_view value) {
  const int index = index_of(name);
  if (index == 0) return absl::OkStatus();
  const char* text = value.data() != nullptr ? value.data() : "";  // '' is not NULL
  return bound(index, ::sqlite3_bind_text64(raw_, index, text, value.size(), SQLITE_TRANSIENT,
                                            SQLITE_UTF8));
}

absl::Status StatementParams::bind(absl::string_view name, absl::Span<const std::byte> value) {
  const int index = index_of(name);
  if (index == 0) return absl::OkStatus();
  static constexpr std::byte kNothing{};  // X'' is not NULL
  const void* bytes = value.data() != nullptr ? value.data() : &kNothing;
  return bound(index, ::sqlite3_bind_blob64(raw_, index, bytes, value.size(), SQLITE_TRANSIENT));
}

absl::Status StatementParams::bind(absl::string_view name, std::nullptr_t) {
  const int index = index_of(name);
  if (index == 0) return absl::OkStatus();
  return bound(index, ::sqlite3_bind_null(raw_, index));
}

absl::Status StatementParams::all_bound(const char* verb, absl::string_view row,
                                        absl::Span<const absl::string_view> fields) const {
  const int count = parameter_count();
  if (static_cast<int>(bound_.size()) == count) return absl::OkStatus();
  std::vector<std::string> unbound;
  for (int i = 1; i <= count; ++i) {
    if (std::find(bound_.begin(), bound_.end(), i) != bound_.end()) continue;
    const char* name = ::sqlite3_bind_parameter_name(raw_, i);
    unbound.push_back(name != nullptr ? internal::quoted(name) : absl::StrCat("?", i));
  }
  std::string listed_fields;
  for (const absl::string_view field : fields) {
    absl::StrAppend(&listed_fields, listed_fields.empty() ? "" : ", ", field);
  }
  return internal::error_on(
      absl::StatusCode::kInvalidArgument, verb, resource(),
      absl::StrCat(internal::quoted(statement_->sql_), ": row ", row, " has no field for ",
                   unbound.size() == 1 ? "parameter " : "parameters ", listed(unbound),
                   " (a field `f` binds :f, @f or $f; its fields are ", listed_fields, ")"));
}

absl::Status StatementParams::positional(const char* verb, const Statement& statement,
                                         int given) {
  const int count = ::sqlite3_bind_parameter_count(statement.checked("bind()"));
  if (count == given) return absl::OkStatus();
  return internal::error_on(
      absl::StatusCode::kInvalidArgument, verb, statement.resource(),
      absl::StrCat(internal::quoted(statement.sql_), ": ", given,
                   given == 1 ? " value was" : " values were", " given for ", count,
                   count == 1 ? " parameter" : " parameters", "; nothing was run"));
}

}  // namespace sqlite_internal

}  // namespace uncopyable
