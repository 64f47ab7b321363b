// uncopyable/sqlite.h: SqliteConnection, Statement, Transaction, SqliteConfig.
//
//   uncopyable::SqliteConfig config{.path = "/var/lib/app/tournament.db"};
//   absl::StatusOr<uncopyable::SqliteConnection> db = uncopyable::rebuild(config);
//   if (!db.ok()) return db.status();  // SQLite's own message, and the path
//
//   absl::Status made = db->execute("CREATE TABLE IF NOT EXISTS matches (a TEXT, b TEXT)");
//   {
//     absl::StatusOr<uncopyable::Transaction> tx = db->begin();
//     absl::StatusOr<uncopyable::Statement> insert =
//         db->prepare("INSERT INTO matches VALUES (?, ?)");
//     absl::Status s = insert->bind_all("ann", "bob");   // values, never SQL
//     s = insert->run();
//     s = tx->commit();  // without it, the destructor rolls back
//   }
//   // Values in and out: named parameters, BLOBs, NULL as std::optional;
//   // read<T>() says when a column is not a T rather than guess.
//   absl::StatusOr<uncopyable::Statement> find =
//       db->prepare("SELECT a, b FROM matches WHERE a = :player");
//   s = find->bind(":player", "ann");
//   while (*find->step()) {
//     absl::StatusOr<std::optional<std::string>> b = find->read<std::optional<std::string>>("b");
//   }
//   // SQLite's extended result code travels with every error it made.
//   absl::Status added = db->execute("INSERT INTO players VALUES ('ann')");
//   if (uncopyable::is_unique_violation(added)) { /* already there */ }
//   // A copy of the data, the right way: SQLite's online backup into a
//   // database built from another config, while `db` stays in use.
//   absl::Status saved = db->backup_to({.path = "/var/backups/tournament.db"});
//   // A second, independent connection: rebuild, never clone.
//   absl::StatusOr<uncopyable::SqliteConnection> reader = db->rebuild();
//
// A connection is a live link: it moves, never copies, and must not cross
// fork() (the child rebuild()s its own from config()). A Statement or
// Transaction borrows its connection and must be gone before the connection
// is closed, moved or destroyed. Misuse aborts with one line: using a
// moved-from or closed connection, a Statement or Transaction outliving its
// connection, committing twice, any use in a forked child, reading a column
// with no current row or outside the row, and two threads in calls on one
// multi_thread connection at once.
//
// Errors. Every Status made from an error SQLite reported carries its
// extended result code (SQLITE_CONSTRAINT_UNIQUE, SQLITE_BUSY_SNAPSHOT, ...)
// as an SqlError payload (sql_error.h): branch with is_unique_violation(),
// is_foreign_key_violation(), is_serialization_failure() (in WAL mode, a
// read transaction that may no longer write: retry the transaction) or
// sql_error(status)->sqlite_code, never on the message. A refusal the
// library makes itself (misshapen SQL text, a value that is not the type
// read<T>() asked for) carries none. SQLiteCpp's SQLite::Exception carries
// the code too (getErrorCode(), getExtendedErrorCode()), as an exception.
//
// Threads. A `serialized` connection (the default) may be shared: SQLite's
// own mutex orders the calls, and a call that may report SQLite's message
// holds it until the message has been read, so that no thread reports
// another's error. A
// `multi_thread` connection (no SQLite mutex, faster) serves one thread at a
// time: it may move from thread to thread, but a call made while another
// thread is inside one on it (or on one of its statements) aborts, naming
// both threads. Its statements follow the same rule.
#ifndef UNCOPYABLE_SQLITE_H_
#define UNCOPYABLE_SQLITE_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/base/optimization.h"
#include "absl/cleanup/cleanup.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "uncopyable/config.h"
#include "uncopyable/internal/borrow.h"
#include "uncopyable/internal/rules.h"
#include "uncopyable/internal/single_user.h"
#include "uncopyable/internal/statement_cache.h"
#include "uncopyable/rebuildable.h"
#include "uncopyable/rows.h"
#include "uncopyable/sql_error.h"
#include "uncopyable/unique_handle.h"

struct sqlite3;
struct sqlite3_stmt;

namespace uncopyable {

// How the database file is opened (SQLite's URI names).
enum class SqliteMode {
  ro,   // read-only
  rw,   // read-write, the file must exist
  rwc,  // read-write, created if missing
};
UNCOPYABLE_ENUM(SqliteMode, ro, rw, rwc)

// PRAGMA journal_mode. `rollback` is SQLite's DELETE mode.
enum class JournalMode { wal, rollback, truncate, persist, memory, off };
UNCOPYABLE_ENUM(JournalMode, wal, rollback, truncate, persist, memory, off)

// PRAGMA synchronous.
enum class Synchronous { off, normal, full, extra };
UNCOPYABLE_ENUM(Synchronous, off, normal, full, extra)

// SQLITE_OPEN_FULLMUTEX (serialized: threads may share the connection) or
// SQLITE_OPEN_NOMUTEX (multi_thread: one thread at a time uses it; two at
// once is misuse, and aborts).
enum class SqliteThreading { serialized, multi_thread };
UNCOPYABLE_ENUM(SqliteThreading, serialized, multi_thread)

struct SqliteConfig {
  UNCOPYABLE_CONFIG(SqliteConfig, path, mode, busy_timeout, journal_mode, synchronous,
                    foreign_keys, threading, statement_cache_size)

  std::string path{};                             // required: a file, ":memory:", or "file:" URI
  SqliteMode mode = SqliteMode::rwc;              // ro, rw or rwc
  absl::Duration busy_timeout = absl::Seconds(5); // wait this long for a lock (backup_to too)
  JournalMode journal_mode = JournalMode::wal;    // for files opened for writing
  Synchronous synchronous = Synchronous::normal;  // safe with WAL
  bool foreign_keys = true;                       // PRAGMA foreign_keys
  SqliteThreading threading = SqliteThreading::serialized;
  int statement_cache_size = 32;                  // statements kept by SQL text; 0: none

  // The statement cache: query<T>, query_one<T>, query_value<T>,
  // for_each<T> and execute(sql, params...) keep the statement they
  // prepare, up to statement_cache_size SQL texts per connection, and the
  // next call with the same text (byte for byte) reuses it: bound, stepped,
  // then reset and its values unbound (a big or private value is not kept
  // alive). The least recently used text goes first, finalized. A statement
  // in use is lent out: a query of the same text from inside for_each()'s
  // fn, or from another thread on a serialized connection, prepares one of
  // its own (finalized after), never resetting the one in use. A failed
  // prepare is not kept. SQLite prepares again by itself after a schema
  // change (sqlite3_prepare_v2). The statements are finalized before the
  // connection closes (SQLite would not close with statements left);
  // rebuild() starts with none. 0 turns the cache off: each call prepares
  // and finalizes its own. execute(sql) without parameters and prepare()
  // never use it. SQLiteCpp 3.2 has no cache: a SQLite::Statement is
  // prepared when made and finalized when destroyed.

  static constexpr absl::string_view kRequired[] = {"path"};

  // A path, no NUL in it; a busy timeout from 0 to 24 days; a statement
  // cache of 0 to 10000 statements.
  absl::Status validate() const;
};

// sqlite:///var/lib/app/t.db?mode=ro, sqlite::memory:
template <>
struct UrlForm<SqliteConfig> {
  static constexpr absl::string_view kScheme = "sqlite";
  static constexpr absl::string_view kPath = "path";
};

class SqliteConnection;
class Statement;
class Savepoint;

// How BEGIN takes its locks (SQLite's BEGIN DEFERRED, IMMEDIATE, EXCLUSIVE).
enum class SqliteBegin {
  deferred,   // no lock until the first read or write (SQLite's default)
  immediate,  // the write lock at once: another connection's write waits
  exclusive,  // as immediate; with a rollback journal, readers wait too
};
UNCOPYABLE_ENUM(SqliteBegin, deferred, immediate, exclusive)

// What begin(options) starts: data, printable, with a JSON form.
struct SqliteTransactionOptions {
  UNCOPYABLE_CONFIG(SqliteTransactionOptions, behavior)

  SqliteBegin behavior = SqliteBegin::deferred;  // deferred, immediate or exclusive

  // A behavior that is one of the three.
  absl::Status validate() const;
};

namespace internal {
template <typename T>
inline constexpr bool kSqlitePlain =
    std::is_same_v<T, bool> || std::is_same_v<T, int> || std::is_same_v<T, int64_t> ||
    std::is_same_v<T, double> || std::is_same_v<T, std::string> ||
    std::is_same_v<T, std::vector<std::byte>>;
template <typename T>
inline constexpr bool kSqliteOptional = false;
template <typename T>
inline constexpr bool kSqliteOptional<std::optional<T>> = kSqlitePlain<T>;
// What Statement::read<T>() reads: bool, int, int64_t, double, std::string,
// std::vector<std::byte>, or std::optional of one of these.
template <typename T>
concept SqliteReadable = kSqlitePlain<T> || kSqliteOptional<T>;
}  // namespace internal

namespace sqlite_internal {
// The sqlite3* is held as an address (see AddressTraits). Closed only in
// the process that opened it: a fork()ed child lets go of its copy without
// closing it (its memory is a copy, but the file locks and the WAL's shared
// memory are the parent's).
struct Traits : AddressTraits {
  static constexpr std::string_view kName = "SqliteConnection";
  // Only the process that opened it closes it (a child made even without
  // fork handlers lets go: the file locks and the WAL are shared).
  internal::ProcessBound process = internal::ProcessBound::with_pid();
  absl::Status close(uintptr_t db) const;
};
inline sqlite3* db_of(uintptr_t address) { return reinterpret_cast<sqlite3*>(address); }

// A Statement's sqlite3_stmt*, finalized by the thread rule of its
// connection (on a multi_thread one, another thread in a call on it
// aborts), and only in the process that prepared it: a fork()ed child lets
// go of it without finalizing.
struct StatementTraits;
class StatementRows;
class StatementParams;
struct StatementTraits : AddressTraits {
  static constexpr std::string_view kName = "Statement";
  explicit StatementTraits(const SqliteConnection* of = nullptr) noexcept : connection(of) {}
  const SqliteConnection* connection;
  absl::Status close(uintptr_t statement) const;
};

// A sqlite3_stmt* kept in its connection's statement cache, owned by the
// cache's entry (the connection's member, so it moves with the connection
// and points at none). Finalized when evicted, or when the cache is
// cleared before the connection closes, only in the process that prepared
// it (a fork()ed child lets go of it). The connection orders the calls that
// finalize it (its thread rule, or SQLite's connection mutex).
struct CachedStatementTraits : AddressTraits {
  static constexpr std::string_view kName = "SqliteConnection";
  internal::ProcessBound process;
  absl::Status close(uintptr_t statement) const;
};

// An integer type Statement::bind() takes besides int and int64_t (which
// have overloads of their own): long long, unsigned, size_t, uint64_t,
// int8_t, bool... Not a plain char, nor a wide or UTF character type.
template <typename T>
concept OtherInteger =
    std::is_integral_v<T> && !std::is_same_v<T, int> && !std::is_same_v<T, int64_t> &&
    !std::is_same_v<T, char> && !std::is_same_v<T, wchar_t> && !std::is_same_v<T, char8_t> &&
    !std::is_same_v<T, char16_t> && !std::is_same_v<T, char32_t>;

}  // namespace sqlite_internal

// A prepared statement. Bind values by position (1-based), step through the
// rows, read typed columns. It must not outlive its connection.
//
// It owns its sqlite3_stmt (finalized when it is destroyed or assigned to)
// and one borrow of its connection.
class Statement {
 public:
  static constexpr char kName[] = "Statement";

  Statement(Statement&&) noexcept = default;
  // Finalizes the statement assigned over, then takes `other`'s.
  Statement& operator=(Statement&&) noexcept = default;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  // Finalizes it (before its borrow of the connection ends).
  ~Statement() { statement_.reset(); }

  // Binds a value to parameter `index` (1-based), or to the parameter
  // named `name`, its prefix included:
  //
  //   Statement insert = *db->prepare(
  //       "INSERT INTO players (name, rating, photo) VALUES (:name, :rating, :photo)");
  //   absl::Status s = insert.bind(":name", "ann");
  //   s = insert.bind(":rating", std::optional<double>());   // NULL
  //   s = insert.bind(":photo", png_bytes);                  // a BLOB
  //   s = insert.run();
  //
  // Values are never SQL: a hostile string is stored as the string it is.
  // Text is always text: an empty string_view (even a default one, with no
  // data) binds '', not NULL; bind nullptr (or a null const char*, or an
  // empty std::optional) for NULL. Bytes (`absl::Span<const std::byte>`,
  // `std::vector<std::byte>`) bind as a BLOB, NUL bytes and all; an empty
  // one is an empty BLOB (X''), never NULL (sqlite3_bind_blob() itself
  // would take an empty vector's null data() for NULL). Text and bytes are
  // copied (SQLITE_TRANSIENT): the value may end as soon as bind() returns.
  // A bool binds as the INTEGER 1 or 0, as SQLite's TRUE and FALSE are.
  // Any other integer type (long long, unsigned, size_t, uint64_t,
  // int8_t, ...) binds as an INTEGER too; an unsigned value above INT64_MAX,
  // the largest SQLite stores, is OutOfRange naming the parameter, never
  // wrapped to a negative number. (A plain char or a wide/UTF character
  // type is neither text nor a number here: it does not compile.)
  [[nodiscard]] absl::Status bind(int index, int64_t value) { return bind_to({index}, value); }
  [[nodiscard]] absl::Status bind(int index, int value) { return bind_to({index}, int64_t{value}); }
  template <typename T>
    requires sqlite_internal::OtherInteger<T>
  [[nodiscard]] absl::Status bind(int index, T value) {
    return bind_to({index}, value);
  }
  [[nodiscard]] absl::Status bind(int index, double value) { return bind_to({index}, value); }
  [[nodiscard]] absl::Status bind(int index, absl::string_view value) {
    return bind_to({index}, value);
  }
  [[nodiscard]] absl::Status bind(int index, const char* value) { return bind_to({index}, value); }
  [[nodiscard]] absl::Status bind(int index, std::nullptr_t) { return bind_to({index}, nullptr); }
  [[nodiscard]] absl::Status bind(int index, absl::Span<const std::byte> value) {
    return bind_to({index}, value);
  }
  [[nodiscard]] absl::Status bind(int index, const std::vector<std::byte>& value) {
    return bind_to({index}, absl::Span<const std::byte>(value));
  }
  template <typename T>
  [[nodiscard]] absl::Status bind(int index, const std::optional<T>& value) {
    return bind_to({index}, value);
  }
  [[nodiscard]] absl::Status bind(int index, std::nullopt_t) { return bind_to({index}, nullptr); }
  // By name: ":name", "@name", "$name" (or "?3"), exactly as the SQL spells
  // it, prefix included (as sqlite3_bind_parameter_index() takes it); a name
  // used twice in the SQL is one parameter, bound once. A name the
  // statement does not have (a typo, a missing prefix, a NUL byte in it) is
  // InvalidArgument naming it and the statement's parameters: "bind sqlite
  // "app.db": "<SQL>": no parameter named ":nmae"; its parameters are
  // ":name", ":rating"". SQLiteCpp binds an unknown name to index 0, and
  // throws "column index out of range", naming neither.
  template <typename T>
  [[nodiscard]] absl::Status bind(absl::string_view name, const T& value) {
    absl::StatusOr<int> index = parameter_index(name);
    if (!index.ok()) return index.status();
    return bind_to({*index, name}, value);
  }
  // Binds every parameter in order, starting at 1 (any value bind() takes).
  template <typename... Values>
  [[nodiscard]] absl::Status bind_all(const Values&... values) {
    absl::Status status;
    int index = 0;
    ((status.ok() ? (void)(status = bind(++index, values)) : (void)0), ...);
    return status;
  }

  // Runs it to the next row: true if there is one to read (its columns can
  // be read until the next step(), run() or reset()), false when done. Once
  // it said false, step() again is FailedPrecondition until reset() (or
  // run()): SQLite would start the statement over by itself and run an
  // INSERT twice (SQLiteCpp's executeStep() throws there too). A
  // failure resets the statement (so step() again retries it, as after
  // SQLITE_BUSY), and its message is the statement's own
  // even on a serialized connection other threads use: the connection's
  // mutex is taken only then, to read it (not around every step, which
  // would cost a lock a row).
  [[nodiscard]] absl::StatusOr<bool> step();
  // Runs a statement that returns no rows (INSERT, UPDATE, DELETE, CREATE,
  // ...) to the end, then resets it for the next bind. A statement that
  // returns rows (SELECT, INSERT ... RETURNING, most PRAGMAs) is refused
  // with FailedPrecondition before anything runs, since its rows would be
  // thrown away (SQLiteCpp's exec() throws too, but only after a first step
  // has run): step() through it instead.
  [[nodiscard]] absl::Status run();
  // Back to the start, bindings kept. No row is current afterwards.
  [[nodiscard]] absl::Status reset();
  // Every parameter back to NULL (sqlite3_clear_bindings()), as prepared.
  // Whether the statement has run or not; nothing can fail.
  void clear_bindings();

  // How many columns the statement's rows have (0 for one that returns
  // none); known from prepare() on, with or without a current row.
  int column_count() const;
  // Column `column`'s name (0-based): its alias (AS ...), else what SQLite
  // names it (sqlite3_column_name(): the column's name, or the expression's
  // text). Its declared type, as CREATE TABLE wrote it ("INTEGER",
  // "VARCHAR(20)", "" for an expression or a column declared without one):
  // sqlite3_column_decltype(). Both are known from prepare() on. A column
  // outside the statement's columns is misuse and aborts (SQLiteCpp throws;
  // sqlite3_column_name() answers NULL).
  //
  //   for (int i = 0; i < select.column_count(); ++i)
  //     LOG(INFO) << select.column_name(i) << " " << select.column_type(i);
  std::string column_name(int column) const;
  std::string column_type(int column) const;
  // The first column named exactly `name` (bytes compared, case and all),
  // or NotFound naming it and the statement's columns: "find column sqlite
  // "app.db": "<SQL>": no column named "nmae"; its columns are "id",
  // "name"". Known from prepare() on. (SQLiteCpp's getColumnIndex() throws
  // "Unknown column name.", naming neither.)
  absl::StatusOr<int> column_index(absl::string_view name) const;

  // The current row's column `column` (0-based), or the one named `name`,
  // as a T: bool, int, int64_t, double, std::string, std::vector<std::byte>,
  // or std::optional of one of these (NULL is nullopt).
  //
  //   while (*select.step()) {
  //     absl::StatusOr<std::string> name = select.read<std::string>("name");
  //     absl::StatusOr<std::optional<double>> rating =
  //         select.read<std::optional<double>>(2);
  //     if (!name.ok()) return name.status();  // it names the column and the types
  //     ...
  //   }
  //
  // It never converts a value into something else, nor loses any of it:
  // - NULL into a T that is not an optional is FailedPrecondition naming
  //   the column (index and name): "read sqlite "app.db": column 2 "rating"
  //   of "<SQL>": NULL, which double cannot hold; read a std::optional<double>".
  // - A value of another storage class (TEXT into int64_t, INTEGER into
  //   std::string, BLOB into std::string, TEXT into std::vector<std::byte>)
  //   is InvalidArgument naming the column, the storage class and T: "...:
  //   column 0 "name" of "<SQL>": a TEXT value, not an int64_t".
  // - Between INTEGER and REAL it converts only what survives exactly: a
  //   REAL with no fraction into an integer type (2.0 is 2) and an INTEGER
  //   a double holds exactly (up to 2^53, and beyond when exact) into a
  //   double. A REAL with a fraction into an integer, an INTEGER outside
  //   int's range into int, or other than 0 and 1 into bool, is
  //   InvalidArgument naming the value ("INTEGER 4294967296 is out of int's
  //   range").
  // - Text and bytes are read whole, NUL bytes included.
  // SQLite's own sqlite3_column_*() convert anything into anything, quietly:
  // NULL reads as 0 or "", the TEXT "12abc" as the integer 12, "abc" as 0,
  // 2.7 as 2, a BLOB as text, and sqlite3_column_int() keeps the low 32 bits
  // of a larger integer. SQLiteCpp's Column::getInt() / getInt64() /
  // getDouble() / getString() and its implicit conversions are those calls
  // (noexcept; the caller must ask isNull() / getType() first). Here a wrong
  // type is a Status, since a silent 0 for a mistyped or NULL column is a
  // wrong answer that looks right.
  //
  // A column outside the row, or no current row (as for get_int64()), is
  // misuse and aborts: "uncopyable: Statement::read(5) outside the row's 2
  // columns (sqlite "app.db")". A name the row does not have is NotFound,
  // as for column_index().
  template <internal::SqliteReadable T>
  [[nodiscard]] absl::StatusOr<T> read(int column) const {
    row_checked("read()", column);
    T value{};
    if (absl::Status s = read_into(column, value); ABSL_PREDICT_FALSE(!s.ok())) return s;
    return value;
  }
  template <internal::SqliteReadable T>
  [[nodiscard]] absl::StatusOr<T> read(absl::string_view name) const {
    row_checked("read()", 0);  // a current row (it has a column 0)
    absl::StatusOr<int> column = find_column("read", name);
    if (!column.ok()) return column.status();
    return read<T>(*column);
  }

  // The current row's columns (0-based), while step()'s last answer was
  // true, as SQLite's sqlite3_column_*() convert them (NULL is 0 or "", see
  // read() for what else they do): read<T>() says when a value is not a T.
  // Reading one with no current row (before the first step(), after
  // step() returned false or failed, after reset() or run()) or outside the
  // row (a column < 0 or >= the row's columns) is misuse and aborts, where
  // sqlite3_column_*() would quietly answer NULL, 0 or "".
  bool is_null(int column) const;
  int64_t get_int64(int column) const;
  double get_double(int column) const;
  std::string get_text(int column) const;

  // Its connection's: sqlite "<path>" ("" once moved from).
  std::string resource() const;

 private:
  friend class SqliteConnection;
  friend class sqlite_internal::StatementRows;
  friend class sqlite_internal::StatementParams;
  Statement(SqliteConnection* connection, sqlite3_stmt* statement, std::string sql);
  // The statement, after the checks that matter while the connection is
  // borrowed (it cannot close or move meanwhile): not moved-from, not in a
  // forked child. Inline: it runs for every bind, step and column.
  sqlite3_stmt* checked(const char* operation) const;
  // checked(), and a current row with `column` in it, and no other thread
  // in a call on a multi_thread connection: what every column accessor
  // checks, one compare and one load on the way.
  sqlite3_stmt* row_checked(const char* operation, int column) const;
  // A parameter: its index, and its name when it was bound by name (for
  // messages).
  struct Parameter {
    int index;
    absl::string_view name = {};
  };
  absl::StatusOr<int> parameter_index(absl::string_view name) const;
  // The checks and the Status of every bind: `bind(statement)` is the
  // sqlite3_bind_*() call. (Defined and used in sqlite.cc only.)
  template <typename Bind>
  absl::Status bind_with(const Parameter& parameter, Bind bind);
  absl::Status bind_to(Parameter parameter, int64_t value);
  absl::Status bind_to(Parameter parameter, double value);
  absl::Status bind_to(Parameter parameter, absl::string_view value);
  absl::Status bind_to(Parameter parameter, std::nullptr_t);
  absl::Status bind_to(Parameter parameter, absl::Span<const std::byte> value);
  absl::Status bind_to(Parameter parameter, int value) { return bind_to(parameter, int64_t{value}); }
  template <typename T>
    requires sqlite_internal::OtherInteger<T>
  absl::Status bind_to(Parameter parameter, T value) {
    if constexpr (std::is_unsigned_v<T> && sizeof(T) >= sizeof(int64_t)) {
      if (ABSL_PREDICT_FALSE(value > static_cast<T>(INT64_MAX))) {
        return too_large(parameter, static_cast<uint64_t>(value));
      }
    }
    return bind_to(parameter, static_cast<int64_t>(value));
  }
  absl::Status too_large(const Parameter& parameter, uint64_t value) const;
  absl::Status bind_to(Parameter parameter, const char* value) {
    return value == nullptr ? bind_to(parameter, nullptr)
                            : bind_to(parameter, absl::string_view(value));
  }
  absl::Status bind_to(Parameter parameter, const std::vector<std::byte>& value) {
    return bind_to(parameter, absl::Span<const std::byte>(value));
  }
  template <typename T>
  absl::Status bind_to(Parameter parameter, const std::optional<T>& value) {
    return value.has_value() ? bind_to(parameter, *value) : bind_to(parameter, nullptr);
  }
  absl::Status bind_to(Parameter parameter, std::nullopt_t) { return bind_to(parameter, nullptr); }
  // The current row's column `column`, checked by read(), into `out`.
  absl::Status read_into(int column, bool& out) const;
  absl::Status read_into(int column, int& out) const;
  absl::Status read_into(int column, int64_t& out) const;
  absl::Status read_into(int column, double& out) const;
  absl::Status read_into(int column, std::string& out) const;
  absl::Status read_into(int column, std::vector<std::byte>& out) const;
  template <typename T>
  absl::Status read_into(int column, std::optional<T>& out) const {
    if (null_at(column)) {
      out.reset();
      return absl::OkStatus();
    }
    return read_into(column, out.emplace());
  }
  bool null_at(int column) const;
  // The INTEGER (or REAL with no fraction) at `column` for read_into(), or
  // why not, naming `type`.
  absl::Status integer_at(int column, const char* type, int64_t& out) const;
  // A value that is not what read() was asked for: "read <resource>: column
  // <i> "<name>" of "<SQL>": <what>".
  absl::Status column_error(absl::StatusCode code, int column, absl::string_view what) const;
  // A value at `column` of SQLite's `storage` class, which a `type` cannot
  // hold: NULL (FailedPrecondition) or another class (InvalidArgument).
  absl::Status storage_error(int column, int storage, const char* type) const;
  // column_index(), its error said as `verb`'s.
  absl::StatusOr<int> find_column(const char* verb, absl::string_view name) const;
  // column_name() / column_type(): the statement, with `column` among its
  // columns.
  sqlite3_stmt* column_checked(const char* operation, int column) const;
  [[noreturn]] void misused(const char* operation) const;
  [[noreturn]] void column_misused(const char* operation, int column) const;
  // SQLite's error `code` as a Status: "<verb> sqlite "<path>": <SQL>:
  // <message>"; the message is the connection's last one unless given.
  absl::Status error(const char* verb, int code, const char* message = nullptr,
                     absl::string_view detail = "") const;
  absl::Status bind_error(Parameter parameter, int code) const;
  // step()'s failure `result`: the statement reset, its error read under
  // the connection's mutex (see step() in sqlite.cc).
  ABSL_ATTRIBUTE_NOINLINE absl::Status step_error(int result);

  // Declared first: assigning to a Statement finalizes the old one while
  // its borrow of the old connection is still held.
  UniqueHandle<sqlite_internal::StatementTraits> statement_;
  internal::Borrowed<SqliteConnection> connection_;
  // The current row's columns; 0 when no row is current.
  int columns_ = 0;
  // step() said SQLITE_DONE and nothing reset it since: stepping again
  // would run the statement again (SQLite resets it by itself).
  bool finished_ = false;
  std::string sql_;
};

namespace sqlite_internal {

// The current row's column `column` into `out`, for StatementRows: the
// value as read<T>() reads it (the same conversions, the same refusals),
// but with a bare message ("NULL into a non-optional int64_t", "a TEXT value,
// not an int64_t"): rows.h adds the operation, resource, row, field and
// column. With `null` given, NULL sets *null and leaves `out` alone.
// Each asks SQLite for the column's value once (sqlite3_column_value(), one
// call, which takes the connection's mutex on a serialized connection) and
// reads its type and number from it; text and bytes add one call
// (sqlite3_column_text()/_blob(), under the mutex, as a conversion may
// allocate). No row check: StatementRows::next() made the row current.
absl::Status read_cell(sqlite3_stmt* statement, int column, bool& out, bool* null);
absl::Status read_cell(sqlite3_stmt* statement, int column, int& out, bool* null);
absl::Status read_cell(sqlite3_stmt* statement, int column, int64_t& out, bool* null);
absl::Status read_cell(sqlite3_stmt* statement, int column, double& out, bool* null);
absl::Status read_cell(sqlite3_stmt* statement, int column, std::string& out, bool* null);
absl::Status read_cell(sqlite3_stmt* statement, int column, std::vector<std::byte>& out,
                       bool* null);
// An optional text: NULL resets it, a text is made in place.
absl::Status read_cell(sqlite3_stmt* statement, int column, std::optional<std::string>& out);

// A RowCursor (rows.h) over a Statement that has its parameters bound:
// next() is step() (with its checks: moved from, forked, another thread on
// a multi_thread connection), then the row's columns are read with no
// check each, the row being current and the columns those of the mapping.
class StatementRows {
 public:
  explicit StatementRows(Statement& statement)
      : statement_(&statement),
        raw_(statement.checked("query()")),
        columns_(statement.column_count()) {}

  int column_count() const { return columns_; }
  std::string column_name(int column) const { return statement_->column_name(column); }
  std::string resource() const { return statement_->resource(); }
  absl::StatusOr<bool> next() { return statement_->step(); }

  template <typename T>
  ABSL_ATTRIBUTE_ALWAYS_INLINE absl::StatusOr<T> read(int column) const {
    T value{};
    absl::Status status = read_into(column, value);
    if (ABSL_PREDICT_FALSE(!status.ok())) return status;
    return value;
  }
  // read<T>() straight into `out` (rows.h's ReadsInPlace), which read_cell()
  // leaves alone when it fails; an optional is engaged only for a value
  // that was read.
  template <typename T>
  ABSL_ATTRIBUTE_ALWAYS_INLINE absl::Status read_into(int column, T& out) const {
    if constexpr (std::is_same_v<T, std::optional<std::string>>) {
      return read_cell(raw_, column, out);
    } else if constexpr (IsOptional<T>::value) {
      bool null = false;
      const bool had_value = out.has_value();
      absl::Status status = read_cell(raw_, column, had_value ? *out : out.emplace(), &null);
      if (ABSL_PREDICT_FALSE(null || (!status.ok() && !had_value))) out.reset();
      return status;
    } else {
      return read_cell(raw_, column, out, nullptr);
    }
  }

 private:
  Statement* statement_;
  sqlite3_stmt* raw_;
  int columns_;
};

// A ParamSink (rows.h) over a Statement: a row's field `score` binds the
// parameter ":score" (else "@score", else "$score"); a field the SQL has
// no parameter for is left out (a row may fill a WHERE that names only
// some of its fields). all_bound() then refuses a parameter no field
// filled, so that a typo in the SQL (":scroe") is never a quiet NULL.
class StatementParams {
 public:
  static constexpr ParamStyle kParamStyle = ParamStyle::by_name;
  explicit StatementParams(Statement& statement)
      : statement_(&statement), raw_(statement.checked("bind()")) {}

  std::string resource() const { return statement_->resource(); }
  int parameter_count() const;

  absl::Status bind(absl::string_view name, bool value) { return bind(name, int64_t{value ? 1 : 0}); }
  absl::Status bind(absl::string_view name, int value) { return bind(name, int64_t{value}); }
  absl::Status bind(absl::string_view name, int64_t value);
  absl::Status bind(absl::string_view name, double value);
  absl::Status bind(absl::string_view name, absl::string_view value);
  absl::Status bind(absl::string_view name, absl::Span<const std::byte> value);
  absl::Status bind(absl::string_view name, std::nullptr_t);

  // OK if every parameter of the statement was bound; else InvalidArgument
  // naming those that were not and the row's fields.
  absl::Status all_bound(const char* verb, absl::string_view row,
                         absl::Span<const absl::string_view> fields) const;

  // `given` values bound in order: InvalidArgument unless the statement has
  // exactly that many parameters.
  static absl::Status positional(const char* verb, const Statement& statement, int given);

 private:
  // The parameter ":name", "@name" or "$name" (`name` given as ":name"),
  // or 0.
  int index_of(absl::string_view name) const;
  // Notes `index` bound, or makes the bare error of SQLite's `result`.
  absl::Status bound(int index, int result);

  Statement* statement_;
  sqlite3_stmt* raw_;
  std::vector<int> bound_;
};

// The parameters of a query: values, bound in order (1, 2, ...), or one
// described row, its fields bound by name.
template <typename... Params>
absl::Status bind_params(const char* verb, Statement& statement, const Params&... params) {
  if constexpr (sizeof...(Params) == 1 && (DescribedRow<Params> && ...)) {
    using Row = std::tuple_element_t<0, std::tuple<Params...>>;
    StatementParams sink(statement);
    absl::Status status = internal::bind_row(sink, params...);
    if (!status.ok()) return status;
    return sink.all_bound(verb, row_name<Row>(), internal::kRowFieldNames<Row>);
  } else {
    static_assert(!(DescribedRow<Params> || ...),
                  "a described row is bound alone: pass it as the only parameter");
    if (absl::Status count = StatementParams::positional(verb, statement, sizeof...(Params));
        !count.ok()) {
      return count;
    }
    return statement.bind_all(params...);
  }
}

}  // namespace sqlite_internal

// BEGIN ... COMMIT, rolled back unless commit() ran. It must not outlive its
// connection; committing twice is misuse. A commit() that fails leaves no
// transaction open: where SQLite would keep it open for a retry (the COMMIT
// found the database locked, SQLITE_BUSY, and waited the busy_timeout in
// vain), it is rolled back and the Status says so ("...; the transaction was
// rolled back"), so that later statements never join it unseen. Retry the
// whole transaction, not the COMMIT. Movable, not assignable (see
// BasicTransaction). Its savepoint("name") makes a Savepoint inside it;
// committing or rolling it back while one is alive is misuse.
class Transaction final
    : public internal::BasicTransaction<SqliteConnection, Transaction, Savepoint> {
 public:
  static constexpr char kName[] = "Transaction";
  static constexpr char kBorrowers[] = "Savepoint(s) on it";

 private:
  friend class SqliteConnection;
  explicit Transaction(SqliteConnection* connection) : BasicTransaction(connection) {}
};

// A savepoint inside a Transaction: a part of it that can be undone alone.
//
//   absl::StatusOr<uncopyable::Transaction> tx = db->begin();
//   for (const Match& match : matches) {
//     absl::StatusOr<uncopyable::Savepoint> one = tx->savepoint("one_match");
//     if (!one.ok()) return one.status();
//     if (absl::Status added = add(*db, match); !added.ok()) {
//       absl::Status undone = one->rollback();  // this match only; the others stay
//       continue;
//     }
//     absl::Status kept = one->release();       // kept, as part of the transaction
//   }
//   absl::Status saved = tx->commit();          // nothing is saved before this
//
// SAVEPOINT "<name>" when made; release() is RELEASE (what was done since
// is kept in the transaction; a release() that fails leaves it open, to be
// rolled back to); rollback() is ROLLBACK TO then RELEASE (what was done
// since is undone; the transaction goes on); the destructor rolls back to it
// unless one of them ran, and loses any error (call rollback() to see it).
// savepoint("inner") nests one inside it. The name must be an SQL
// identifier, [A-Za-z_][A-Za-z0-9_]* and at most 63 bytes (InvalidArgument
// naming it otherwise); it is double-quoted in the SQL all the same, so a
// keyword ("select") is a name like any other. Misuse aborts with one line:
// releasing or rolling back (or moving, or destroying) a savepoint while the
// one inside it is alive, a savepoint outliving its transaction, committing
// or rolling back the transaction while a savepoint is alive, a second
// savepoint beside one that is alive (nest it in that one), any use after
// release() or rollback(). If other SQL ended the transaction (a COMMIT run
// with execute()), each call is FailedPrecondition and the destructor does
// nothing.
//
// SQLiteCpp's SQLite::Savepoint takes the Database, not a transaction, so
// nothing stops it outliving one, being ended out of order or beside
// another; it throws on errors and on a second release(); its rollback() is
// ROLLBACK TO alone, leaving the savepoint on SQLite's stack until the
// transaction ends. This one belongs to its transaction, aborts on those
// misuses, and is ended by each of release() and rollback(). Movable, not
// assignable.
class Savepoint final : public internal::BasicSavepoint<Transaction, Savepoint> {
 public:
  static constexpr char kName[] = "Savepoint";
  static constexpr char kBorrowers[] = "Savepoint(s) inside it";

 private:
  friend class internal::BasicSavepoint<Transaction, Savepoint>;
  Savepoint(Transaction* transaction, Savepoint* outer, std::string name)
      : BasicSavepoint(transaction, outer, std::move(name)) {}
};

class SqliteConnection {
 public:
  using config_type = SqliteConfig;
  static constexpr char kName[] = "SqliteConnection";
  static constexpr char kBorrowers[] = "Statement(s) or Transaction(s) on it";

  // Opens the database and applies the config's pragmas. Errors carry
  // SQLite's message and the path (quoted, cut short past 200 bytes with
  // its length said): "open sqlite "<path>": with mode=rw: <SQLite's
  // words>". No file descriptor left (EMFILE, ENFILE) is
  // ResourceExhausted, as for File and Socket, not the NotFound that
  // SQLite's "unable to open database file" would suggest; other system
  // errors get their own code and name too (EACCES is PermissionDenied
  // [EACCES]). What the path names is looked at before SQLite opens it
  // (SQLite opens blocking): a FIFO, a device, a socket or a directory is
  // FailedPrecondition at once, never a hang on a FIFO with no writer. A
  // "file:" URI is decoded for that check; %00 in one is refused by
  // validate(), since SQLite would cut the name short there.
  [[nodiscard]] static absl::StatusOr<SqliteConnection> open(const SqliteConfig& config);

  // Moving a connection while a Statement or Transaction borrows it, or
  // while another thread is in a call on it, aborts (the rule members
  // check); so does assigning to one in either state.
  SqliteConnection(SqliteConnection&&) noexcept = default;
  SqliteConnection& operator=(SqliteConnection&&) noexcept = default;
  SqliteConnection(const SqliteConnection&) = delete;
  SqliteConnection& operator=(const SqliteConnection&) = delete;
  // Closes it; a Statement or Transaction still alive is misuse. A fork()ed
  // child lets go of its copy without closing it.
  ~SqliteConnection();

  [[nodiscard]] const SqliteConfig& config() const { return config_; }
  // A second, independent connection to the same database.
  [[nodiscard]] absl::StatusOr<SqliteConnection> rebuild() const;

  // Runs SQL text with no parameters (one or more statements; rows they
  // return are dropped). Text holding a NUL byte is refused with
  // InvalidArgument before anything runs: SQLite would stop reading at the
  // NUL and run only what came before it (`DELETE FROM t\0 WHERE ...` would
  // empty the table). Text longer than SQLite's SQLITE_LIMIT_SQL_LENGTH is
  // refused likewise. Empty text runs nothing and is OK. Errors read
  // "execute sqlite "<path>": "<SQL>": <SQLite's words>".
  //
  // A statement with a parameter (`?`, `?3`, `:name`, `@name`, `$name`) is
  // InvalidArgument before it runs, saying how many it has: this form binds
  // none, and SQLite (its sqlite3_exec(), SQLiteCpp's Database::exec())
  // would run it with NULL for each, so `execute("INSERT INTO t VALUES
  // (?)")` would store a NULL. Pass the values with execute(sql, params...)
  // (one statement). The statements are run in turn, each to its end, and
  // the first error stops the text: the statements before it have run (and
  // are not undone outside a transaction), whether the error is SQLite's or
  // this refusal of a statement with a parameter.
  [[nodiscard]] absl::Status execute(absl::string_view sql);
  // Compiles ONE statement. InvalidArgument, and nothing compiled, for text
  // with a NUL byte or over SQLITE_LIMIT_SQL_LENGTH, for text with no
  // statement at all ("", blanks, only comments), and for text with a
  // second statement after the first (only blanks, comments and `;` may
  // follow it): sqlite3_prepare_v2() (and SQLiteCpp) would compile the
  // first and quietly ignore the rest; Python's sqlite3 refuses it too.
  [[nodiscard]] absl::StatusOr<Statement> prepare(absl::string_view sql);

  // Rows into described structs (rows.h): columns to fields by name, all of
  // them, checked once per query before any row is read.
  //
  //   absl::StatusOr<std::vector<app::Match>> won =
  //       db->query<app::Match>("SELECT * FROM matches WHERE winner = ?", "ann");
  //   absl::StatusOr<app::Match> one =
  //       db->query_one<app::Match>("SELECT * FROM matches WHERE rowid = ?", 7);
  //   absl::StatusOr<int64_t> count = db->query_value<int64_t>("SELECT count(*) FROM matches");
  //   absl::Status shown = db->for_each<app::Match>(
  //       "SELECT * FROM matches", [](const app::Match& m) { return print(m); });
  //   absl::Status added = db->execute(
  //       "INSERT INTO matches VALUES (:winner, :loser, :score, :outcome, :note)", m);
  //
  // `sql` is ONE statement (as prepare() takes it; kept in the connection's
  // statement cache, see SqliteConfig's statement_cache_size). `params` are
  // values bound in
  // order to ?1, ?2, ... (as many as the statement has parameters, else
  // InvalidArgument: a missing one is never a quiet NULL), or ONE described
  // row, whose field `score` binds the parameter ":score" (or "@score", or
  // "$score"). A field the SQL has no parameter for is left out, so that a
  // row can fill a WHERE naming some of its fields; a parameter no field
  // fills is InvalidArgument naming it. Values are read as read<T>() reads
  // them (no conversion that loses anything; NULL only into an optional).
  // Errors: "query sqlite "t.db": row Match, field score, column "score":
  // NULL into a non-optional int64_t" and the others rows.h lists; SQLite's
  // own errors keep their SqlError payload (is_unique_violation() works on
  // what query() returns). The columns are checked against the fields
  // before the statement runs (SQLite knows them from prepare()): a row that
  // does not fit an "INSERT ... RETURNING" is refused with nothing inserted.
  // A struct not described with UNCOPYABLE_ROW does
  // not compile. (SQLiteCpp reads by position, or looks a name up per call
  // with getColumn("name"), and has no row or one-row form; see rows.h.)
  template <DescribedRow T, typename... Params>
  [[nodiscard]] absl::StatusOr<std::vector<T>> query(absl::string_view sql,
                                                     const Params&... params) {
    return with_bound(
        "query", sql,
        [](Statement& statement) -> absl::StatusOr<std::vector<T>> {
          sqlite_internal::StatementRows rows(statement);
          if (absl::Status shape = shape_first<T>(rows, "query"); !shape.ok()) return shape;
          return internal::query_rows<T>(rows, "query");
        },
        params...);
  }
  // Exactly one row: none is NotFound, more than one FailedPrecondition
  // (libpqxx's query1 / exec1; SQLiteCpp has no such form).
  template <DescribedRow T, typename... Params>
  [[nodiscard]] absl::StatusOr<T> query_one(absl::string_view sql, const Params&... params) {
    return with_bound(
        "query_one", sql,
        [](Statement& statement) -> absl::StatusOr<T> {
          sqlite_internal::StatementRows rows(statement);
          if (absl::Status shape = shape_first<T>(rows, "query_one"); !shape.ok()) return shape;
          return internal::query_one_row<T>(rows, "query_one");
        },
        params...);
  }
  // The one column of exactly one row ("SELECT count(*) FROM t"): a row
  // field type (int64_t, std::optional<std::string>, an enum, ...). Other
  // than one column is InvalidArgument; no row NotFound, more
  // FailedPrecondition. (SQLiteCpp: Database::execAndGet(), which takes the
  // first column of the first row and ignores the rest.)
  template <RowField T, typename... Params>
  [[nodiscard]] absl::StatusOr<T> query_value(absl::string_view sql, const Params&... params) {
    return with_bound(
        "query_value", sql,
        [](Statement& statement) -> absl::StatusOr<T> {
          sqlite_internal::StatementRows rows(statement);
          if (rows.column_count() != 1) {
            return internal::value_shape_error("query_value", rows.resource(),
                                               internal::column_names(rows));
          }
          return internal::query_one_value<T>(rows, "query_value");
        },
        params...);
  }
  // Each row in turn, stepped, never all held: fn(const T&) -> absl::Status,
  // the last argument, after the parameters. The first non-OK Status fn
  // returns stops the query and is returned as it is. The T passed is one
  // object reused for every row: copy it to keep it. fn may use this
  // connection (the query's statement stays open meanwhile).
  template <DescribedRow T, typename... ParamsThenFn>
  [[nodiscard]] absl::Status for_each(absl::string_view sql, ParamsThenFn&&... params_then_fn) {
    static_assert(sizeof...(ParamsThenFn) >= 1, "for_each<T>(sql, params..., fn): fn is missing");
    auto arguments = std::forward_as_tuple(std::forward<ParamsThenFn>(params_then_fn)...);
    return for_each_of<T>(sql, arguments,
                          std::make_index_sequence<sizeof...(ParamsThenFn) - 1>());
  }
  // execute() with parameters: ONE statement (as prepare() takes it) with
  // its values bound, in order or from one described row by name (as for
  // query()), run to the end. A statement returning rows is
  // FailedPrecondition, as run() says; read them with query<T>().
  template <typename First, typename... Rest>
  [[nodiscard]] absl::Status execute(absl::string_view sql, const First& first,
                                     const Rest&... rest) {
    return with_bound(
        "execute", sql, [](Statement& statement) { return statement.run(); }, first, rest...);
  }
  // BEGIN (deferred); the Transaction rolls back unless committed. A
  // transaction already open on this connection, whether by another
  // Transaction or by "BEGIN" (or SAVEPOINT) run through execute(), is
  // FailedPrecondition and nothing runs; the open one is left as it was.
  // SQLite has no nested BEGIN: nest with the Transaction's savepoint().
  // (PostgresConnection::begin() says the same.)
  [[nodiscard]] absl::StatusOr<Transaction> begin();
  // BEGIN DEFERRED, IMMEDIATE or EXCLUSIVE, as options.behavior says; the
  // same otherwise. begin() is begin({}). IMMEDIATE takes the write lock at
  // once: while another connection holds it, this waits up to busy_timeout
  // and then is Unavailable (SQLITE_BUSY), where a deferred transaction
  // would fail only at its first write, after work that is then lost; use
  // it for a transaction that reads, then writes. Options that fail
  // validate() are InvalidArgument and nothing runs. (SQLiteCpp has the
  // same three as a TransactionBehavior constructor argument.)
  [[nodiscard]] absl::StatusOr<Transaction> begin(const SqliteTransactionOptions& options);

  // Copies the whole database, with SQLite's online backup, into a fresh
  // database built from `target` (created or overwritten), while this one
  // stays in use. A target that would be gone when this returns (":memory:",
  // a "file::memory:" or "mode=memory" URI, shared cache or not, the empty
  // path of a temporary database) is InvalidArgument before anything is copied,
  // where SQLite would copy into it and throw the copy away: copy into an
  // open connection instead, with the overload below. While the source or target is locked (another connection
  // in BEGIN EXCLUSIVE, or writing), it waits, at most this connection's
  // busy_timeout in all, then gives up with Unavailable naming both
  // databases; the target is then incomplete. A target that cannot be
  // opened fails as open() does (ResourceExhausted when no file descriptor
  // is left), named after the source. A backup from inside this
  // connection's own write transaction could only wait for itself: it is
  // FailedPrecondition at once.
  [[nodiscard]] absl::Status backup_to(const SqliteConfig& target);
  // The same into a connection the caller keeps open (an in-memory one,
  // say: `file_db.backup_to(memory_db)` loads a file into memory, and
  // `memory_db.backup_to({.path = "saved.db"})` saves it), whose database
  // is overwritten. The target must be another connection, with no
  // transaction open and no statement mid-step on it (FailedPrecondition
  // otherwise: SQLite would refuse it as "destination database is in
  // use"); its statements stay usable (SQLite prepares them again).
  [[nodiscard]] absl::Status backup_to(SqliteConnection& target);

  // How many rows the last INSERT, UPDATE or DELETE that finished on this
  // connection inserted, changed or deleted (sqlite3_changes64()): read it
  // after the statement's run(), or after its step() said false.
  //
  //   absl::Status s = db->execute("UPDATE players SET rating = 0 WHERE rating < 0");
  //   if (s.ok() && db->changes() == 0) ...  // nobody had a negative rating
  //
  // SQLite's rules: rows changed by triggers and by foreign-key actions (ON
  // DELETE CASCADE) are not counted; other statements (CREATE, SELECT,
  // BEGIN) leave the count as it was; an INSERT ... RETURNING counts once
  // it has been stepped to the end. It is the connection's, not a
  // statement's: on a serialized connection shared by threads, another
  // thread's statement may have finished in between (read it where no
  // other thread uses the connection, or count with RETURNING). SQLiteCpp
  // has Database::getChanges() and Statement::getChanges() (both
  // sqlite3_changes(), an int, and the statement's is the connection's
  // too).
  [[nodiscard]] int64_t changes() const;
  // The rowid of the last row a successful INSERT put into a table with
  // rowids on this connection (0 if none yet; an INTEGER PRIMARY KEY is the
  // rowid): sqlite3_last_insert_rowid(). A failed INSERT, or one into a
  // WITHOUT ROWID table, leaves it as it was; the same thread caveat as
  // changes() holds, and `INSERT ... RETURNING id` read with step() and
  // read<int64_t>() is the form no other statement can come between
  // (PostgreSQL's only form: it has no connection-wide last id). SQLiteCpp:
  // Database::getLastInsertRowid().
  [[nodiscard]] int64_t last_insert_rowid() const;

  // The raw handle, borrowed, for SQLite calls this class does not wrap.
  [[nodiscard]] sqlite3* get() const { return checked("get()", *this); }

  // Closes it now and reports the error.
  [[nodiscard]] absl::Status close();

  // For a Pool (pool.h): whether it can be lent as a fresh connection,
  // without waiting (SQLite is in the process: `deadline` is not needed).
  // A transaction left open on it (sqlite3_get_autocommit() is 0: a
  // Transaction or an execute("BEGIN") whose end never came) is
  // FailedPrecondition: the next user would run inside it. A closed or
  // moved-from connection, or one its parent opened (in a fork()ed child),
  // is FailedPrecondition rather than misuse: a pool asks before it lends.
  [[nodiscard]] absl::Status check_health(absl::Time deadline) const;
  // For a Pool (pool.h), when a lease gives it back: whether it can be
  // lent again as it is, with a look at its own state only (no system
  // call, no lock but SQLite's own flag): open, and no transaction left
  // open on it (no Transaction alive, sqlite3_get_autocommit() not 0). A
  // pool drops one that is not, which rolls the transaction back.
  [[nodiscard]] bool reusable() const;
  // Whether it holds a database handle (false once closed or moved from).
  [[nodiscard]] bool is_open() const { return db_.is_valid(); }
  // sqlite "<path>" for the database `config` describes.
  [[nodiscard]] static std::string resource_for(const SqliteConfig& config);

  // sqlite "<path>": how messages name the database (the path quoted, cut
  // short past 200 bytes with its length said).
  std::string resource() const;

 private:
  friend class Statement;
  friend struct sqlite_internal::StatementTraits;
  friend struct internal::BorrowTraits<SqliteConnection>;
  template <typename, typename, typename>
  friend class internal::BasicTransaction;
  template <typename, typename>
  friend class internal::BasicSavepoint;
  // One call on the connection, for its length: on a multi_thread
  // connection this thread is its only user (another arriving aborts); on a
  // serialized one, SQLite's connection mutex is held by the calls that
  // read SQLite's error message (execute, prepare, begin, step, run), so
  // that the message is the call's own, not another thread's.
  class Call;
  SqliteConnection(UniqueHandle<sqlite_internal::Traits> db, SqliteConfig config);
  // prepare(), its errors said as `verb`'s ("query sqlite ...").
  absl::StatusOr<Statement> prepare_as(const char* verb, absl::string_view sql);
  using StatementCache = internal::StatementCache<sqlite_internal::CachedStatementTraits>;
  // The statement of a query form for `sql`: the cache's, lent out until
  // give_back() (`entry` then says which), else freshly prepared, and kept
  // by the cache from give_back() on when it has room (`entry` set too), or
  // not (`entry` null: its Statement finalizes it). One lent out already (a
  // query re-entering the same SQL from for_each()'s fn, or another thread
  // on a serialized connection) is never lent twice: a fresh one is made.
  // A failure to prepare is not kept.
  absl::StatusOr<Statement> take_statement(const char* verb, absl::string_view sql,
                                           StatementCache::Entry*& entry);
  // Hands `statement` back to the cache's `entry` (nothing with none),
  // reset and its values unbound (they may be big, or private), then evicts
  // the least recently used statements past the cache's size.
  void give_back(Statement& statement, StatementCache::Entry* entry);
  // take_statement(), the parameters bound (sqlite_internal::bind_params),
  // use(statement), then give_back(), however use() ends.
  template <typename Use, typename... Params>
  auto with_bound(const char* verb, absl::string_view sql, Use&& use, const Params&... params)
      -> decltype(use(std::declval<Statement&>())) {
    StatementCache::Entry* entry = nullptr;
    absl::StatusOr<Statement> statement = take_statement(verb, sql, entry);
    if (!statement.ok()) return statement.status();
    absl::Cleanup back = [&] { give_back(*statement, entry); };
    absl::Status bound = sqlite_internal::bind_params(verb, *statement, params...);
    if (!bound.ok()) return bound;
    return use(*statement);
  }
  // SQLite knows a statement's columns before it runs: a row that does not
  // fit them is refused before the first step, so that a mistyped
  // "INSERT ... RETURNING" has changed nothing. (rows.h checks them again
  // after the first step, where PostgreSQL first knows them.)
  template <DescribedRow T>
  static absl::Status shape_first(const sqlite_internal::StatementRows& rows, const char* verb) {
    return internal::RowMapping<T>::of(rows, verb).status();
  }
  template <typename T, typename Arguments, size_t... I>
  absl::Status for_each_of(absl::string_view sql, Arguments& arguments,
                           std::index_sequence<I...>) {
    auto& fn = std::get<sizeof...(I)>(arguments);
    return with_bound(
        "for_each", sql,
        [&fn](Statement& statement) -> absl::Status {
          sqlite_internal::StatementRows rows(statement);
          if (absl::Status shape = shape_first<T>(rows, "for_each"); !shape.ok()) return shape;
          return internal::for_each_row<T>(rows, fn, "for_each");
        },
        std::get<I>(arguments)...);
  }
  // The connection, or an abort naming `Who::kName`::`operation` if it is
  // closed, moved from, or the parent's in a forked child. `who` is this,
  // or the Statement or Transaction the call is on.
  template <typename Who>
  sqlite3* checked(const char* operation, const Who& who) const {
    const uintptr_t db = db_.get_as(Who::kName, operation, [this] { return resource(); });
    process_.check(who, operation);
    return sqlite_internal::db_of(db);
  }
  // SQLite's error `result` of the last call, as a Status: "<verb> sqlite
  // "<path>": <detail>: <SQLite's message>".
  absl::Status error(const char* verb, absl::string_view detail, int result) const;
  // backup_to()'s parts: FailedPrecondition while this connection has a
  // write transaction open (the copy would wait for itself); the copy
  // itself, batch by batch, waiting for locks up to busy_timeout.
  absl::Status refuse_own_write_transaction(sqlite3* source, absl::string_view to) const;
  absl::Status copy_into(sqlite3* source, sqlite3* copy, absl::string_view to) const;
  // Ends the live Transaction with `sql` (COMMIT or ROLLBACK) for
  // BasicTransaction: refused if other SQL ended it already; a COMMIT that
  // failed but left it open (SQLITE_BUSY) is rolled back, and the Status
  // says so.
  absl::Status end_transaction(const char* type, const char* operation, const char* verb,
                               const char* sql);
  // For BasicSavepoint: runs `sql` (SAVEPOINT, RELEASE, ROLLBACK TO) in the
  // live Transaction; refused, saying `so`, if other SQL ended it already.
  absl::Status savepoint_command(const char* type, const char* operation, const char* verb,
                                 const std::string& sql, absl::string_view so);
  // Runs `sql` (no NUL in it) with sqlite3_exec; errors say `verb` and
  // `detail`.
  absl::Status exec(const std::string& sql, const char* verb, absl::string_view detail = "");
  // execute(sql)'s InvalidArgument for the statement at `offset` (`size`
  // bytes) of `sql`, which has `count` parameters.
  absl::Status unbound_parameters(absl::string_view sql, size_t offset, size_t size,
                                  int count) const;
  // InvalidArgument if SQLite would not read `sql` whole: a NUL byte in it,
  // or more bytes than its SQLITE_LIMIT_SQL_LENGTH.
  absl::Status refuse_unreadable(sqlite3* db, const char* verb, absl::string_view sql) const;

  // The rules first, so that they check before anything they name moves:
  // no Statement or Transaction alive when it moves or dies; on a
  // multi_thread connection, which thread is in a call (checking is not a
  // change).
  internal::Lender<SqliteConnection> lender_{this};
  mutable internal::SingleUser<SqliteConnection> user_{this};
  SqliteConfig config_;
  // Not in a forked child.
  internal::ProcessBound process_;
  // A Transaction of this connection is alive (see BasicTransaction), and
  // whether other SQL has ended the server's transaction under it.
  bool transaction_live_ = false;
  mutable bool transaction_lost_ = false;
  // The statements of the query forms, by SQL text (config_'s
  // statement_cache_size of them at most). Before db_: an assignment
  // finalizes the old statements while their database is still open; the
  // destructor and close() clear it before closing db_.
  StatementCache statements_;
  UniqueHandle<sqlite_internal::Traits> db_;
};

inline sqlite3_stmt* Statement::checked(const char* operation) const {
  // A held statement has its connection (they move together).
  if (ABSL_PREDICT_FALSE(!statement_.is_valid() || !connection_.get_unchecked()->process_.here())) {
    misused(operation);
  }
  return reinterpret_cast<sqlite3_stmt*>(statement_.get_unchecked());
}

inline sqlite3_stmt* Statement::row_checked(const char* operation, int column) const {
  // One unsigned compare: a negative column, a column past the row, no row
  // (columns_ == 0); then moved from (a held statement has its connection:
  // they move together), and one load for the fork. Every abort is out of
  // line, in column_misused().
  const SqliteConnection* connection = connection_.get_unchecked();
  if (ABSL_PREDICT_FALSE(static_cast<unsigned>(column) >= static_cast<unsigned>(columns_) ||
                         !statement_.is_valid() || !connection->process_.here())) {
    column_misused(operation, column);
  }
  connection->user_.check(kName, operation);
  return reinterpret_cast<sqlite3_stmt*>(statement_.get_unchecked());
}

template <>
struct HandleFor<SqliteConfig> {
  using type = SqliteConnection;
};

}  // namespace uncopyable

#endif  // UNCOPYABLE_SQLITE_H_
