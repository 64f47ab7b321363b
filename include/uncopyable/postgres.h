// uncopyable/postgres.h: PostgresConnection, its statements, results,
// transactions, and PostgresConfig.
//
//   absl::StatusOr<uncopyable::PostgresConfig> config = uncopyable::from_url<uncopyable::PostgresConfig>(
//       "postgresql://app:s3cret@db.internal:5432/tournament?sslmode=require");
//   absl::StatusOr<uncopyable::PostgresConnection> db = uncopyable::rebuild(*config);
//   if (!db.ok()) return db.status();  // the server's words, never the password
//
//   absl::StatusOr<uncopyable::PostgresStatement> insert =
//       db->prepare("INSERT INTO matches VALUES ($1, $2)");
//   absl::StatusOr<uncopyable::PostgresResult> done = insert->execute("ann", "bob");
//   absl::StatusOr<uncopyable::PostgresResult> rows =
//       db->query("SELECT count(*) AS n FROM matches WHERE winner = $1", "ann");
//   absl::StatusOr<int64_t> count = rows->read<int64_t>(0, "n");
//
//   // Parameters are typed values (bytes go binary), NULL is std::nullopt,
//   // and a server error carries its SQLSTATE (sql_error.h):
//   absl::Status added = db->execute("INSERT INTO players VALUES ($1, $2, $3)",
//                                    "ann", std::optional<double>(), photo_bytes);
//   if (uncopyable::is_unique_violation(added)) { /* already there */ }
//
//   // Rows into structs described with UNCOPYABLE_ROW (rows.h), columns to
//   // fields by name; a row as parameters, its fields $1, $2, ... in order:
//   absl::StatusOr<std::vector<Match>> won =
//       db->query<Match>("SELECT winner, loser, score FROM matches WHERE winner = $1", "ann");
//   absl::Status saved = db->execute("INSERT INTO matches VALUES ($1, $2, $3)", match);
//   absl::StatusOr<int64_t> n = db->query_value<int64_t>("SELECT count(*) FROM matches");
//
//   // The server restarted? The next call says Unavailable; rebuild() is a
//   // reconnect from the same config. A connection lost after the server
//   // got a command that may have committed (outside a transaction, or the
//   // COMMIT) is Unknown instead, and is_in_doubt(status) (sql_error.h):
//   // look before running it again, as a blind retry may do it twice.
//
// The password is a Secret: printing the config, its JSON and its URL show
// "***", and error messages never contain it. A connection is move-only and
// must not cross fork(); statements and transactions borrow it and must go
// first. Misuse aborts with one line, as for SqliteConnection; messages name
// the database as postgresql <user>@<host>:<port>/<db>.
//
// Every command waits at most config().query_timeout (a minute by default)
// for the server: a server that stopped answering gives DeadlineExceeded,
// never a hang, and the connection is then abandoned (rebuild() a new one).
// One connection serves one thread at a time: two threads in calls on it at
// once is misuse and aborts, naming both (libpq would hand one thread the
// other's rows). Move it between threads freely.
#ifndef UNCOPYABLE_POSTGRES_H_
#define UNCOPYABLE_POSTGRES_H_

#include <charconv>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "uncopyable/config.h"
#include "uncopyable/internal/borrow.h"
#include "uncopyable/internal/deadline.h"
#include "uncopyable/internal/rules.h"
#include "uncopyable/internal/single_user.h"
#include "uncopyable/internal/statement_cache.h"
#include "uncopyable/rebuildable.h"
#include "uncopyable/rows.h"
#include "uncopyable/secret.h"
#include "uncopyable/sql_error.h"
#include "uncopyable/unique_handle.h"

struct pg_conn;    // libpq's PGconn
struct pg_result;  // libpq's PGresult

namespace uncopyable {

// libpq's sslmode.
enum class SslMode { disable, allow, prefer, require, verify_ca, verify_full };
UNCOPYABLE_ENUM(SslMode, disable, allow, prefer, require, verify_ca, verify_full)

struct PostgresConfig {
  UNCOPYABLE_CONFIG(PostgresConfig, host, port, dbname, user, password, sslmode,
                    connect_timeout, query_timeout, application_name, statement_cache_size)

  std::string host = "localhost";                      // a name, an address, or a socket directory
  uint16_t port = 5432;                                // TCP port (or socket file suffix)
  std::string dbname{};                                // required
  std::string user{};                                  // empty: $PGUSER, else the OS user's name
  Secret<std::string> password{};                      // never printed; empty: $PGPASSWORD, ~/.pgpass
  SslMode sslmode = SslMode::prefer;                   // TLS policy
  absl::Duration connect_timeout = absl::Seconds(10);  // whole seconds, at least 2
  absl::Duration query_timeout = absl::Minutes(1);     // per command; InfiniteDuration(): none
  std::string application_name = "uncopyable";         // shown in pg_stat_activity
  int statement_cache_size = 32;                       // statements kept by SQL text; 0: none

  // The statement cache: execute(sql, values...), query(sql, values...),
  // the row forms (query<T>, query_one<T>, query_value<T>, execute(sql,
  // row)) and for_each<T> run their SQL as a server-side statement that the
  // connection PREPAREs on the text's first use (one more round trip) and
  // keeps, up to statement_cache_size texts; later calls send only the
  // values (no parse, no plan). The least recently used text goes first, its
  // statement DEALLOCATEd before the next command (as PostgresStatement's
  // are). A statement is kept for the parameter types it was prepared with
  // (PostgresParameter's "type given"): a value of another type (an int
  // where an int64_t was, text where a number was) prepares the text again
  // and DEALLOCATEs the old one, so the cache never changes what a command
  // means; NULL fits any type. A failed PREPARE is not kept. A statement the
  // server no longer has (SQLSTATE 26000: a DEALLOCATE ALL or DISCARD ALL of
  // your own, a pooler that moved the session) is prepared again, once,
  // and the call goes on unseen; inside a transaction the server's refusal
  // has already failed the transaction, so the error is returned as it is
  // (the text is prepared again on its next use). The same for a statement
  // the server refuses because what it reads changed under it (SQLSTATE
  // 0A000, "cached plan must not change result type": an ALTER TABLE that
  // adds, drops or retypes a column of a SELECT *, a view replaced), except
  // that the old statement is DEALLOCATEd (inside a failed transaction,
  // after its ROLLBACK); any 0A000 from a kept statement is taken so, since
  // the server may translate its text, and one that is not costs a PREPARE
  // and a second run that fails the same way. (libpqxx's exec_prepared()
  // keeps returning that error until the statement is unprepared by hand.)
  // A server restart ends the
  // session and the cache with it: rebuild() a connection, which starts
  // with an empty cache, and the same SQL text works again. 0 turns the
  // cache off: each call sends its text unprepared (parsed and planned each
  // time, in one round trip). execute(sql) and query(sql) without values
  // (the simple protocol, several statements allowed) and prepare() never
  // use it. libpqxx 6.4 has prepare(name, sql) and exec_prepared(name, ...)
  // on the connection: named by the caller, kept until unprepare(), never
  // evicted (a loop that prepares new texts grows the server without bound);
  // its definitions outlive a connection it reactivates itself, where here
  // the program's SQL text is what outlives the connection.

  // The config is not the whole truth about the session: libpq reads its
  // environment for what the config leaves empty or does not name, so two
  // equal configs (==, the same JSON and URL) can reach different users and
  // sessions in two processes. (libpqxx relies on the same environment,
  // and its pqxx::connection() with no string reads nothing else.)
  //   user empty        $PGUSER, else the OS user's name (and resource()
  //                     then names no user)
  //   password empty    $PGPASSWORD, else the password file ($PGPASSFILE,
  //                     else ~/.pgpass) entry for host, port, dbname and
  //                     user; a password in the config is used as it is,
  //                     and neither is read (libpq asks them only when it
  //                     was given none)
  //   not in the config $PGOPTIONS (server settings for the session: -c
  //                     search_path=..., -c default_transaction_read_only=on),
  //                     $PGCLIENTENCODING, $PGTZ, $PGDATESTYLE,
  //                     $PGTARGETSESSIONATTRS, $PGSSLCERT, $PGSSLKEY,
  //                     $PGSSLROOTCERT (and ~/.postgresql/ for them),
  //                     $PGGSSENCMODE, $PGREQUIREAUTH on newer libpq, $PGSERVICE
  //                     with pg_service.conf, ...
  // host, port, dbname, sslmode, connect_timeout and application_name are
  // always sent, so $PGHOST, $PGPORT, $PGDATABASE, $PGSSLMODE,
  // $PGCONNECT_TIMEOUT and $PGAPPNAME are not read (application_name ""
  // is taken as unset, so $PGAPPNAME fills that one). An empty value
  // cannot override the environment: libpq treats an empty value as unset.
  // A program that must not be steered by its environment should set user
  // and password, and clear the PG* variables it does not want before it
  // connects.
  static constexpr absl::string_view kRequired[] = {"dbname"};

  // Host, port 1 to 65535, database; a connect timeout of at least 2 s
  // (libpq's minimum) in whole seconds; a positive query timeout (infinite
  // only when set so: a server that stops answering then hangs the caller);
  // no NUL anywhere; a statement cache of 0 to 10000 statements.
  absl::Status validate() const;
};

// postgresql://user:password@host:port/dbname?sslmode=require&connect_timeout=5
template <>
struct UrlForm<PostgresConfig> {
  static constexpr absl::string_view kScheme = "postgresql";
  static constexpr absl::string_view kUser = "user";
  static constexpr absl::string_view kPassword = "password";
  static constexpr absl::string_view kHost = "host";
  static constexpr absl::string_view kPort = "port";
  static constexpr absl::string_view kPath = "dbname";
  static constexpr bool kPathIsName = true;
};

class PostgresConnection;
class PostgresSavepoint;

// SQL's transaction isolation levels (PostgreSQL runs READ UNCOMMITTED as
// READ COMMITTED, so it is left out).
enum class IsolationLevel {
  read_committed,   // each statement sees what was committed before it began
  repeatable_read,  // one snapshot for the whole transaction
  serializable,     // as if the transactions ran one at a time (40001 otherwise)
};
UNCOPYABLE_ENUM(IsolationLevel, read_committed, repeatable_read, serializable)

// What begin(options) starts: data, printable, with a JSON form. Every
// field is sent (BEGIN ISOLATION LEVEL READ COMMITTED, READ WRITE, NOT
// DEFERRABLE for the defaults), so the transaction is what the options say
// whatever the session's default_transaction_* settings are.
struct PostgresTransactionOptions {
  UNCOPYABLE_CONFIG(PostgresTransactionOptions, isolation, read_only, deferrable)

  IsolationLevel isolation = IsolationLevel::read_committed;  // the isolation level
  bool read_only = false;   // READ ONLY: a write fails (SQLSTATE 25006)
  bool deferrable = false;  // DEFERRABLE: wait for a safe snapshot, then never fail 40001

  // An isolation level that is one of the three, and deferrable only with
  // serializable and read_only: PostgreSQL accepts DEFERRABLE on any
  // transaction but ignores it unless it is both, so asking for it anywhere
  // else is refused here rather than quietly doing nothing.
  absl::Status validate() const;
};

namespace postgres_internal {
// The PGconn*, held as an address. Ended (PQfinish) only in the process
// that connected: a fork()ed child lets go of its copy, since PQfinish
// would say goodbye to the server on the socket it shares with its parent.
struct ConnectionTraits : AddressTraits {
  static constexpr std::string_view kName = "PostgresConnection";
  // Only the process that connected ends the session (a child made even
  // without fork handlers lets go: the socket is shared).
  internal::ProcessBound process = internal::ProcessBound::with_pid();
  absl::Status close(uintptr_t connection) const;
};
struct ResultTraits : AddressTraits {
  static constexpr std::string_view kName = "PostgresResult";
  static absl::Status close(uintptr_t result);
};
// A server-side prepared statement, held as its number n (its name on the
// server is "uncopyable_<n>", n from 1 on; 0 is none, and the top few
// numbers say moved-from, closed, released). Closing it hands it to its
// connection's list of statements to DEALLOCATE (see PostgresStatement); in
// a fork()ed child, where the session is the parent's, it does nothing.
struct PreparedTraits {
  using value_type = uint64_t;
  static constexpr std::string_view kName = "PostgresStatement";
  static constexpr uint64_t invalid() noexcept { return 0; }
  static constexpr uint64_t vacant(HandleState state) noexcept {
    return state == HandleState::kEmpty ? 0 : ~uint64_t{0} - static_cast<uint64_t>(state);
  }
  static constexpr bool is_valid(uint64_t number) noexcept {
    return number != 0 && number < ~uint64_t{0} - 8;
  }
  explicit PreparedTraits(PostgresConnection* of = nullptr) noexcept : connection(of) {}
  PostgresConnection* connection;
  absl::Status close(uint64_t number) const;
};

// A server-side statement kept in its connection's statement cache, held
// as its number (named as PreparedTraits says), owned by the cache's entry
// (a member of the connection, so it moves with it and points at none).
// Its close() does nothing: a statement the cache drops while the session
// goes on is handed to the connection's DEALLOCATE list by the cache
// itself (see PostgresConnection::statements_), and one the cache still
// holds when the session ends ends with the session.
struct CachedPreparedTraits {
  using value_type = uint64_t;
  static constexpr std::string_view kName = "PostgresConnection";
  static constexpr uint64_t invalid() noexcept { return 0; }
  static constexpr bool is_valid(uint64_t number) noexcept { return number != 0; }
  static absl::Status close(uint64_t) { return absl::OkStatus(); }
};
// The parameter types (OIDs; 0: the server's choice) a cached statement was
// prepared with.
struct PreparedTypes {
  std::vector<unsigned> types;
};

// Character types are not numbers here: a char parameter is refused at
// compile time rather than sent as its code.
template <typename T>
inline constexpr bool kIsCharacter =
    std::is_same_v<T, char> || std::is_same_v<T, wchar_t> || std::is_same_v<T, char8_t> ||
    std::is_same_v<T, char16_t> || std::is_same_v<T, char32_t>;

// What PostgresParameter takes by value (std::optional of each as well).
template <typename T>
concept ParameterValue =
    std::same_as<T, bool> || (std::integral<T> && !kIsCharacter<T>) || std::floating_point<T> ||
    std::same_as<T, std::string> || std::same_as<T, std::string_view> ||
    std::same_as<T, absl::string_view> ||
    std::same_as<T, const char*> || std::same_as<T, std::vector<std::byte>> ||
    std::same_as<T, absl::Span<const std::byte>>;

// What PostgresResult::read<T> reads: a value type, or std::optional of one.
template <typename T>
inline constexpr bool kReadable =
    std::is_same_v<T, bool> || std::is_same_v<T, int> || std::is_same_v<T, int64_t> ||
    std::is_same_v<T, double> || std::is_same_v<T, std::string> ||
    std::is_same_v<T, std::vector<std::byte>>;
template <typename T>
struct IsOptional : std::false_type {};
template <typename T>
struct IsOptional<std::optional<T>> : std::true_type {};

// libpq's arrays for one command's parameters (src/postgres.cc).
struct ParameterArrays;

// The rows of a query, one at a time, for rows.h's algorithms (a RowCursor);
// defined after PostgresResult.
class ResultRows;
// A described row's fields as parameters, $1 the first (a ParamSink).
class RowParameters;

// pg_type's name of a built-in type ("int8" for 20), or nullptr.
const char* builtin_type_name(unsigned oid);

}  // namespace postgres_internal

// One parameter value ($1, $2, ...) of PostgresConnection::execute() and
// query() and of PostgresStatement::execute(), made implicitly from the
// C++ value; the variadic forms make them for you:
//
//   db->query("SELECT name FROM players WHERE rating > $1 AND active = $2", 1500.5, true);
//   db->execute("UPDATE files SET data = $2 WHERE name = $1", name, bytes);
//   db->execute("UPDATE players SET team = $1", std::optional<std::string>());  // NULL
//
//   C++ value                                   sent as                    type given
//   bool                                        text true / false          bool
//   int, int64_t, any integer but a character   text, its digits           int4 (signed, 32 bits
//                                                                          or fewer), else int8
//   double, float                               text, the shortest form    float8
//                                               that reads back exactly;
//                                               NaN, Infinity, -Infinity
//   std::string, std::string_view,              text, as it is             none
//     absl::string_view, const char*
//   std::vector<std::byte>,                     BINARY (paramFormats 1),   bytea
//     absl::Span<const std::byte>               NUL bytes and all
//   std::nullopt, nullptr, an empty             NULL                       none
//     std::optional<T>, a null const char*
//   std::optional<T> holding a value            as the T
//
// "Type given" is for execute(sql, ...) and query(sql, ...): the server
// takes a parameter of no given type from its context, so text reaches a
// column of any type (timestamptz, jsonb, an enum) as that type's input
// form, while numbers and bools keep their own (`SELECT $1 + $2` is int8
// arithmetic, `SELECT $1` reads back what was sent). A PostgresStatement's
// parameter types were fixed when it was prepared; each value is read as
// that type (a number's digits into any numeric type), and bytes go only to
// a bytea parameter (write `$1::bytea` where the SQL leaves it open).
//
// Text cannot hold a NUL byte (libpq sends text parameters as C strings):
// a text value with one is InvalidArgument naming the parameter ($2),
// before anything is sent. Send such data as bytes, to a bytea.
//
// A PostgresParameter refers to the caller's text and bytes (a view, as
// std::string_view does): it must not outlive the value it was made from;
// use it within the call it was made for. A number is held inside it.
// (libpqxx 6 sends every parameter as text with no type, and bytea only
// from a pqxx::binarystring; libpq takes text or binary, no C++ types.)
// Its constructors are implicit on purpose: a call lists plain values.
class PostgresParameter {
 public:
  // NULL.
  PostgresParameter(std::nullptr_t) noexcept {}
  PostgresParameter(std::nullopt_t) noexcept {}
  // A template, so that nothing converts to bool on the way (a pointer).
  template <std::same_as<bool> B>
  PostgresParameter(B value) noexcept
      : data_(value ? "true" : "false"),
        size_(value ? 4 : 5),
        type_(kBoolType),
        kind_(Kind::kText),
        terminated_(true) {}
  template <std::integral I>
    requires(!std::same_as<I, bool> && !postgres_internal::kIsCharacter<I>)
  PostgresParameter(I value) noexcept
      : type_(std::is_signed_v<I> && sizeof(I) <= 4 ? kInt4Type : kInt8Type),
        kind_(Kind::kNumber),
        terminated_(true) {
    size_ = static_cast<size_t>(std::to_chars(number_, number_ + kNumberBytes, value).ptr - number_);
    number_[size_] = '\0';
  }
  template <std::floating_point F>
  PostgresParameter(F value) noexcept
      : type_(kFloat8Type), kind_(Kind::kNumber), terminated_(true) {
    set_double(static_cast<double>(value));
  }
  PostgresParameter(const std::string& text) noexcept
      : data_(text.data()), size_(text.size()), kind_(Kind::kText), terminated_(true) {}
  PostgresParameter(std::string_view text) noexcept
      : data_(text.data()), size_(text.size()), kind_(Kind::kText) {}
  // (This Abseil's string_view is a type of its own.)
  template <std::same_as<absl::string_view> View>
    requires(!std::same_as<View, std::string_view>)
  PostgresParameter(View text) noexcept
      : data_(text.data()), size_(text.size()), kind_(Kind::kText) {}
  // A null pointer is NULL (as libpq reads one).
  PostgresParameter(const char* text) noexcept
      : data_(text),
        size_(text != nullptr ? std::char_traits<char>::length(text) : 0),
        kind_(text != nullptr ? Kind::kText : Kind::kNull),
        terminated_(true) {}
  PostgresParameter(absl::Span<const std::byte> bytes) noexcept
      : data_(reinterpret_cast<const char*>(bytes.data())),
        size_(bytes.size()),
        type_(kByteaType),
        kind_(Kind::kBytes) {}
  PostgresParameter(const std::vector<std::byte>& bytes) noexcept
      : PostgresParameter(absl::Span<const std::byte>(bytes)) {}
  template <postgres_internal::ParameterValue T>
  PostgresParameter(const std::optional<T>& value) noexcept
      : PostgresParameter(value.has_value() ? PostgresParameter(*value)
                                            : PostgresParameter(nullptr)) {}

  // Whether it is NULL.
  bool is_null() const { return kind_ == Kind::kNull; }

 private:
  friend struct postgres_internal::ParameterArrays;
  // The built-in types' OIDs (PostgreSQL's pg_type.h).
  static constexpr unsigned kBoolType = 16;
  static constexpr unsigned kByteaType = 17;
  static constexpr unsigned kInt8Type = 20;
  static constexpr unsigned kInt4Type = 23;
  static constexpr unsigned kFloat8Type = 701;
  // The longest number: "-1.2345678901234567e-308", "-9223372036854775808".
  static constexpr size_t kNumberBytes = 31;
  enum class Kind : unsigned char { kNull, kText, kNumber, kBytes };
  void set_double(double value) noexcept;

  const char* data_ = nullptr;  // text or bytes (the caller's); a number's is number_
  size_t size_ = 0;
  unsigned type_ = 0;  // the OID given to the server; 0: none, the server infers it
  Kind kind_ = Kind::kNull;
  bool terminated_ = false;  // a NUL follows the text (libpq reads it as a C string)
  char number_[kNumberBytes + 1] = {};
};

// The rows a query returned (text values, as the server sent them). It owns
// its data: reading it never touches the connection, from any thread. It
// keeps nothing of the connection either, so its misuse lines name no
// database.
//
//   absl::StatusOr<PostgresResult> rows = db->query("SELECT name, rating, photo FROM players");
//   for (int row = 0; row < rows->rows(); ++row) {
//     absl::StatusOr<std::string> name = rows->read<std::string>(row, "name");
//     absl::StatusOr<std::optional<double>> rating = rows->read<std::optional<double>>(row, 1);
//     absl::StatusOr<std::vector<std::byte>> photo = rows->read<std::vector<std::byte>>(row, 2);
//   }
class PostgresResult {
 public:
  static constexpr char kName[] = "PostgresResult";

  int rows() const;
  int columns() const;
  // columns() by the name SqliteConnection's Statement shares.
  int column_count() const { return columns(); }

  // Column `column`'s name, as the server gave it (any bytes, quotes and
  // all: `SELECT 1 AS "a""b"` names it a"b).
  std::string column_name(int column) const;
  // Column `column`'s type, named as pg_type does: "bool", "int2", "int4",
  // "int8", "float4", "float8", "numeric", "text", "varchar", "bpchar",
  // "bytea", "date", "timestamp", "timestamptz", "uuid", "json", "jsonb",
  // arrays as "_int4", ..., for every built-in type; "oid <n>" for any other
  // (a type of the database's own: an enum, a domain, a composite), whose
  // name would take a query (`SELECT typname FROM pg_type WHERE oid = n`).
  // (libpqxx's column_type() gives the OID alone.)
  std::string column_type(int column) const;
  // The number of the column named exactly `name` (bytes compared as they
  // are: no case folding, no quotes parsed, unlike libpq's PQfnumber and
  // libpqxx's column_number(), which read "Score" as score and need
  // "\"Score\"" for the capital). No such column is NotFound, naming it
  // and the result's columns: `find column "scroe": not among the result's
  // 2 columns "name", "score"`. Two columns of that name is InvalidArgument
  // (`SELECT a.id, b.id ...`): name them apart with AS.
  absl::StatusOr<int> column_index(absl::string_view name) const;

  // The value in (row, column) as a T: bool, int, int64_t, double,
  // std::string, std::vector<std::byte>, or std::optional of any of these
  // (NULL is nullopt). The row and column must be inside the result (as for
  // the get_* accessors: anything else is misuse and aborts).
  //  - NULL into a T that is not an optional is FailedPrecondition naming
  //    the column: `read row 0, column 1 "rating" (float8): NULL into
  //    double; read std::optional<double> where NULL can be`.
  //  - A value that does not parse as T is InvalidArgument naming the
  //    column, its type and T: `read row 0, column 0 "n" (text): "seven" is
  //    not an int64_t`; `... (int8): "9000000000" is out of the range of an
  //    int`.
  // Parsing: bool from the server's t / f (a bool column; other text is
  // refused, numbers too); int and int64_t from decimal digits (a numeric
  // "7.0" is refused, not rounded); double from any number, NaN, Infinity,
  // -Infinity; std::string is the text as the server sent it (any column:
  // a bytea's is its \x... form); std::vector<std::byte> only from a bytea
  // column, decoded from the server's text form (hex, or the older escape
  // form when bytea_output says so), so that one result keeps one format
  // and get_text() still works on every column (the cost: a bytea travels
  // as hex, twice its size). A bytea parameter goes binary (see
  // PostgresParameter).
  // (libpqxx: field::as<T>() parses the same text and throws
  // conversion_error; as<T>() of NULL throws too; as<std::optional<T>>()
  // reads NULL as nullopt.)
  template <typename T>
  [[nodiscard]] absl::StatusOr<T> read(int row, int column) const;
  // The same, the column found by name as column_index() finds it (its
  // NotFound or InvalidArgument returned). In a loop over many rows, find
  // the index once.
  template <typename T>
  [[nodiscard]] absl::StatusOr<T> read(int row, absl::string_view name) const {
    const absl::StatusOr<int> column = column_index(name);
    if (!column.ok()) return column.status();
    return read<T>(row, *column);
  }
  // Each accessor takes a cell inside rows() x columns(); any other row or
  // column is misuse and aborts, naming the accessor, for all of them alike
  // (libpq's PQgetisnull would answer "NULL" for a cell that is not there).
  bool is_null(int row, int column) const;
  std::string get_text(int row, int column) const;
  // The value parsed as a number; misuse if it is not one (the column type
  // is the caller's promise).
  int64_t get_int64(int row, int column) const;
  double get_double(int row, int column) const;
  // Rows changed by INSERT, UPDATE, DELETE (with RETURNING or not: the
  // RETURNING rows read like any query's); the rows of a SELECT; 0 for
  // other commands. SqliteConnection's changes() is the same number.
  int64_t affected() const;

 private:
  friend class PostgresConnection;
  friend class PostgresStatement;
  friend class postgres_internal::ResultRows;
  explicit PostgresResult(UniqueHandle<postgres_internal::ResultTraits> result)
      : result_(std::move(result)) {}
  // The result, after the one check every cell accessor makes.
  ::pg_result* cell(const char* accessor, int row, int column) const;
  // The cell is NULL (after cell()'s check, as "read").
  bool null_at(int row, int column) const;
  // The cell as a T, read<T>'s conversions, its errors saying only what is
  // wrong with the value (rows.h's RowSource contract): "NULL into a
  // non-optional double" (FailedPrecondition), "\"seven\" is not an int64_t"
  // (InvalidArgument).
  template <typename T>
  absl::StatusOr<T> value_at(int row, int column) const;
  // FailedPrecondition: NULL into a non-optional `type` (the bare message).
  static absl::Status null_value(const char* type);
  // FailedPrecondition: NULL into `type`, naming the cell.
  absl::Status null_into(int row, int column, const char* type) const;
  // `bare` (value_at's) said of the cell: "read row 0, column 1 ...: <bare>".
  absl::Status in_cell(int row, int column, const absl::Status& bare) const;
  // The cell as each type; NULL is not theirs to see. Bare messages.
  absl::Status parse(int row, int column, bool& value) const;
  absl::Status parse(int row, int column, int& value) const;
  absl::Status parse(int row, int column, int64_t& value) const;
  absl::Status parse(int row, int column, double& value) const;
  absl::Status parse(int row, int column, std::string& value) const;
  absl::Status parse(int row, int column, std::vector<std::byte>& value) const;
  // The names of the types read<T> takes, for messages.
  static const char* type_name(const bool*) { return "bool"; }
  static const char* type_name(const int*) { return "int"; }
  static const char* type_name(const int64_t*) { return "int64_t"; }
  static const char* type_name(const double*) { return "double"; }
  static const char* type_name(const std::string*) { return "std::string"; }
  static const char* type_name(const std::vector<std::byte>*) { return "std::vector<std::byte>"; }
  // The text of a cell that should have parsed as `what`; aborts.
  [[noreturn]] static void not_a(const char* accessor, int row, int column,
                                 absl::string_view text, const char* what);
  UniqueHandle<postgres_internal::ResultTraits> result_;
};

template <typename T>
absl::StatusOr<T> PostgresResult::value_at(int row, int column) const {
  if constexpr (postgres_internal::IsOptional<T>::value) {
    using Value = typename T::value_type;
    if (null_at(row, column)) return T();
    Value value{};
    if (absl::Status parsed = parse(row, column, value); !parsed.ok()) return parsed;
    return T(std::move(value));
  } else {
    if (null_at(row, column)) return null_value(type_name(static_cast<T*>(nullptr)));
    T value{};
    if (absl::Status parsed = parse(row, column, value); !parsed.ok()) return parsed;
    return value;
  }
}

template <typename T>
absl::StatusOr<T> PostgresResult::read(int row, int column) const {
  if constexpr (postgres_internal::IsOptional<T>::value) {
    static_assert(postgres_internal::kReadable<typename T::value_type>,
                  "read<std::optional<T>>: T is bool, int, int64_t, double, std::string or "
                  "std::vector<std::byte>");
  } else {
    static_assert(postgres_internal::kReadable<T>,
                  "read<T>: T is bool, int, int64_t, double, std::string, "
                  "std::vector<std::byte>, or std::optional of one of these");
  }
  absl::StatusOr<T> value = value_at<T>(row, column);
  if (ABSL_PREDICT_FALSE(!value.ok())) {
    if constexpr (!postgres_internal::IsOptional<T>::value) {
      if (value.status().code() == absl::StatusCode::kFailedPrecondition) {
        return null_into(row, column, type_name(static_cast<T*>(nullptr)));
      }
    }
    return in_cell(row, column, value.status());
  }
  return value;
}

namespace postgres_internal {

// A RowCursor (rows.h) over the rows of one query: those of a whole
// PostgresResult (query<T>, query_one<T>, query_value<T>), or those the
// server sends one at a time in libpq's single-row mode (for_each<T>),
// each its own one-row result, fetched by next() within the command's
// query_timeout. Made and used only inside a PostgresConnection call.
class ResultRows {
 public:
  ResultRows(const ResultRows&) = delete;
  ResultRows& operator=(const ResultRows&) = delete;

  int column_count() const { return has_result_ ? result_.columns() : 0; }
  absl::string_view column_name(int column) const;
  // The current row's cell, through read<T>'s conversions; a value of
  // another type says the column's type too ("... is not an int64_t (a
  // text column)").
  template <typename T>
  absl::StatusOr<T> read(int column) const {
    absl::StatusOr<T> value = result_.value_at<T>(row_, column);
    if (ABSL_PREDICT_FALSE(!value.ok())) return of_type(column, value.status());
    return value;
  }
  // read<T>() straight into `out` (rows.h's ReadsInPlace), left as it was
  // when it fails. No cell check: rows.h asks only for the current row
  // (next() made it so) and the result's columns.
  template <typename T>
  absl::Status read_into(int column, T& out) const {
    absl::Status status = cell_into(column, out);
    if (ABSL_PREDICT_FALSE(!status.ok())) return of_type(column, status);
    return status;
  }
  // How many rows a whole result holds (rows.h's HintsRows); 0 streaming.
  size_t rows_hint() const {
    return streaming_ || !has_result_ ? 0 : static_cast<size_t>(result_.rows());
  }
  std::string resource() const;
  absl::StatusOr<bool> next();

 private:
  friend class uncopyable::PostgresConnection;
  // Over a whole result.
  ResultRows(PostgresConnection* connection, PostgresResult result)
      : connection_(connection), result_(std::move(result)), has_result_(true) {}
  // Streaming: the command is sent, in single-row mode.
  ResultRows(PostgresConnection* connection, const char* verb, absl::string_view sql,
             internal::Deadline deadline);
  absl::Status of_type(int column, const absl::Status& bare) const;
  // The current row's cell into `out`, a type read<T>() reads (or an
  // optional of one), with read<T>'s conversions and bare messages, `out`
  // untouched on failure. Defined, for each of those types, in postgres.cc.
  template <typename T>
  absl::Status cell_into(int column, T& out) const;

  PostgresConnection* connection_;
  PostgresResult result_;
  bool has_result_ = false;
  int row_ = -1;
  // Streaming only.
  bool streaming_ = false;
  bool ended_ = false;  // the server's last result for the command was read
  bool outside_transaction_ = false;  // sent outside a transaction: may be cancelled
  const char* verb_ = "";
  absl::string_view sql_;
  internal::Deadline deadline_ = internal::Deadline::never();
};

// Where bind_row() puts a row's fields: PostgresParameters, $1 the first
// field. They refer to the row's text and bytes: the row must outlive the
// command.
class RowParameters {
 public:
  static constexpr ParamStyle kParamStyle = ParamStyle::by_position;
  explicit RowParameters(const PostgresConnection* connection) : connection_(connection) {}
  std::string resource() const;
  template <typename Value>
  absl::Status bind(int position, Value value) {
    // bind_row() gives the fields in order, from 1.
    if (ABSL_PREDICT_FALSE(position != static_cast<int>(parameters_.size()) + 1)) {
      return absl::InternalError("parameters out of order");
    }
    parameters_.emplace_back(value);
    return absl::OkStatus();
  }
  absl::Span<const PostgresParameter> parameters() const { return parameters_; }

 private:
  const PostgresConnection* connection_;
  std::vector<PostgresParameter> parameters_;
};

// A pack of parameters given to query<T>() and the like: values, or one
// described row.
template <typename... Params>
inline constexpr bool kOneRow = sizeof...(Params) == 1 && (DescribedRow<Params> && ...);
template <typename... Params>
concept RowParams = kOneRow<Params...> ||
                    (std::convertible_to<const Params&, PostgresParameter> && ...);

}  // namespace postgres_internal

// A statement prepared on the server, run with parameters ($1, $2, ...)
// that are values, never SQL. It must not outlive its connection.
//
// Who owns the server-side statement: this PostgresStatement, from the
// moment prepare() made it, through a UniqueHandle (moved with it, never
// copied). Destroying it, or assigning another over it, hands the statement
// to the connection's list of statements to release, which DEALLOCATEs them
// on the server before its next command, in one extra round trip for all
// the statements let go since (inside a transaction under a savepoint, so
// that a statement already gone, say by a DEALLOCATE ALL of your own, costs
// the transaction nothing; should one of them fail, the server stops the
// batch there, and the rest are DEALLOCATEd again one per round trip, so
// none is left behind). The destructor itself never talks to the
// server, so it cannot fail or wait on a frozen one. A failed transaction
// refuses everything but its ROLLBACK, so the statements wait until it has
// ended. A session that ends (close(), the connection destroyed or assigned
// over, say by `db = *db.rebuild()`) ends every statement it holds on the
// server, and its list is forgotten with it; a connection abandoned after a
// timeout never sends the list. (libpq before 17 has no call to release
// one, and libpqxx keeps one until unprepare(): a connection that prepares
// in a loop would grow the server's memory without bound.)
class PostgresStatement {
 public:
  static constexpr char kName[] = "PostgresStatement";

  PostgresStatement(PostgresStatement&&) noexcept = default;
  // Lets go of the statement assigned over (see above), then takes `other`'s.
  PostgresStatement& operator=(PostgresStatement&&) noexcept = default;
  PostgresStatement(const PostgresStatement&) = delete;
  PostgresStatement& operator=(const PostgresStatement&) = delete;
  // Lets go of the statement (before its borrow of the connection ends).
  ~PostgresStatement() { prepared_.reset(); }

  // Runs it with these parameters ($1 the first), each any value
  // PostgresParameter takes (see there: text, numbers, bools, bytes sent
  // binary, NULL):
  //   statement->execute("ann", 1510.5, std::nullopt);
  //   statement->execute({"ann", "1510.5"});  // a list, as before
  //   statement->execute(absl::MakeConstSpan(parameters));  // a count known at run time
  //   statement->execute(texts);  // std::vector<std::optional<std::string>>, nullopt is NULL
  // A text parameter holding a NUL byte is InvalidArgument, before
  // anything is sent; a count the statement does not take is
  // InvalidArgument too (the server's words). Waits at most query_timeout,
  // like PostgresConnection::execute.
  template <int&... kExplicitArgumentBarrier, typename... Values>
    requires(std::convertible_to<const Values&, PostgresParameter> && ...)
  [[nodiscard]] absl::StatusOr<PostgresResult> execute(const Values&... values) {
    const PostgresParameter parameters[sizeof...(Values) + 1] = {PostgresParameter(values)...,
                                                                 nullptr};
    return execute(absl::Span<const PostgresParameter>(parameters, sizeof...(Values)));
  }
  [[nodiscard]] absl::StatusOr<PostgresResult> execute(
      absl::Span<const PostgresParameter> parameters);
  [[nodiscard]] absl::StatusOr<PostgresResult> execute(
      std::initializer_list<PostgresParameter> parameters) {
    return execute(absl::Span<const PostgresParameter>(parameters.begin(), parameters.size()));
  }
  [[nodiscard]] absl::StatusOr<PostgresResult> execute(
      const std::vector<std::optional<std::string>>& parameters);

  // Its connection's: postgresql <user>@<host>:<port>/<db> ("" once moved
  // from).
  std::string resource() const;

 private:
  friend class PostgresConnection;
  PostgresStatement(PostgresConnection* connection, uint64_t number, std::string sql);
  // Declared first: assigning to a statement lets go of the old one while
  // its borrow of the old connection is still held.
  UniqueHandle<postgres_internal::PreparedTraits> prepared_;
  internal::Borrowed<PostgresConnection> connection_;
  std::string sql_;
};

// BEGIN ... COMMIT, rolled back unless commit() ran; committing twice is
// misuse. Movable, not assignable (see BasicTransaction). Its
// savepoint("name") makes a PostgresSavepoint inside it; committing or
// rolling it back while one is alive is misuse.
//
// commit() says what the server did, not what was asked: once a statement
// in the transaction failed, PostgreSQL answers COMMIT with a ROLLBACK (and
// no error), and commit() returns Aborted, naming the database and saying
// the transaction was rolled back: nothing in it was saved. (libpq's
// PQexec("COMMIT") reports success then; only the command tag tells.) The
// same holds for a COMMIT, END or PREPARE TRANSACTION run with execute(),
// query() or a statement. A commit() that timed out (DeadlineExceeded) or
// whose connection was lost once the server had it (Unknown) may or may not
// have committed: is_in_doubt() says so of both (sql_error.h). To go on after a failed statement, run it
// under a savepoint and roll back to that (see PostgresSavepoint).
class PostgresTransaction final
    : public internal::BasicTransaction<PostgresConnection, PostgresTransaction,
                                        PostgresSavepoint> {
 public:
  static constexpr char kName[] = "PostgresTransaction";
  static constexpr char kBorrowers[] = "PostgresSavepoint(s) on it";

 private:
  friend class PostgresConnection;
  explicit PostgresTransaction(PostgresConnection* connection) : BasicTransaction(connection) {}
};

// A savepoint inside a PostgresTransaction: a part of it that can be undone
// alone, and the way to go on after a statement failed.
//
//   absl::StatusOr<uncopyable::PostgresTransaction> tx = db->begin();
//   absl::Status kept = db->execute("INSERT INTO players VALUES ('ann')");
//   absl::StatusOr<uncopyable::PostgresSavepoint> maybe = tx->savepoint("maybe");
//   if (absl::Status added = db->execute("INSERT INTO players VALUES ('bob')"); !added.ok()) {
//     absl::Status undone = maybe->rollback();  // the failure is undone; ann stays
//   } else {
//     absl::Status released = maybe->release();
//   }
//   absl::Status saved = tx->commit();          // OK: ann is saved
//
// The same API and rules as SQLite's Savepoint (see sqlite.h): SAVEPOINT
// "<name>"; release() is RELEASE; rollback() is ROLLBACK TO then RELEASE;
// the destructor rolls back to it unless one of them ran; savepoint("inner")
// nests; the name is an SQL identifier of at most 63 bytes, double-quoted
// in the SQL (case kept); misuse (out-of-order ends, outliving the
// transaction, a second beside one alive, use after release) aborts.
//
// After a statement failed, the server refuses every command of the
// transaction but a rollback (SQLSTATE 25P02, "current transaction is
// aborted"): savepoint() and release() then return that error, and
// rollback() of a savepoint made before the failure is what recovers the
// transaction: the work since the savepoint is undone, the work before it
// kept, and commit() then succeeds. A release() that failed leaves the
// savepoint open for that rollback.
//
// libpqxx's pqxx::subtransaction is a transaction object of its own, with
// commit() and abort(), whose name is optional; it reports errors as
// exceptions, and a second one open on the same parent throws at run time.
// This one is a part of its transaction, not a transaction (the connection
// keeps running the SQL), and misuse aborts.
class PostgresSavepoint final
    : public internal::BasicSavepoint<PostgresTransaction, PostgresSavepoint> {
 public:
  static constexpr char kName[] = "PostgresSavepoint";
  static constexpr char kBorrowers[] = "PostgresSavepoint(s) inside it";

 private:
  friend class internal::BasicSavepoint<PostgresTransaction, PostgresSavepoint>;
  PostgresSavepoint(PostgresTransaction* transaction, PostgresSavepoint* outer, std::string name)
      : BasicSavepoint(transaction, outer, std::move(name)) {}
};

// A notice the server sent while a command ran: a NOTICE, WARNING, INFO
// (`RAISE NOTICE 'x'` in PL/pgSQL, "there is no transaction in progress"
// after a stray COMMIT, "table "t" does not exist, skipping" after DROP
// TABLE IF EXISTS). libpq's fields, as the server sent them: not
// reformatted, quoted or shortened (they may hold user data; quote them
// with internal::quoted() before they reach a log). See
// PostgresConnection::set_notice_handler().
struct PostgresNotice {
  std::string severity;  // "NOTICE", "WARNING", "INFO", ... (never translated)
  std::string sqlstate;  // "00000" for RAISE NOTICE, "25P01", ...
  std::string message;   // the primary message ("there is no transaction in progress")
};

// A notification (NOTIFY channel, 'payload', or pg_notify()) the server
// sent to a session that ran LISTEN channel; see
// PostgresConnection::notifications(). The fields as the server sent them
// (user data: quote them with internal::quoted() before they reach a log).
struct PostgresNotification {
  std::string channel;   // the channel's name, as LISTEN folded it ("jobs")
  std::string payload;   // "" when NOTIFY gave none
  int backend_pid = 0;   // the sending session's pg_backend_pid()

  friend bool operator==(const PostgresNotification&, const PostgresNotification&) = default;
};

class PostgresConnection {
 public:
  using config_type = PostgresConfig;
  static constexpr char kName[] = "PostgresConnection";
  static constexpr char kBorrowers[] =
      "PostgresStatement(s), PostgresTransaction(s) or for_each() call(s) on it";

  // Connects (libpq, blocking, within connect_timeout). A refused, lost or
  // unreachable server, or a failed login, is Unavailable with libpq's own
  // words (which never hold the password: it is handed to libpq as a value
  // of its own, never parsed, and libpq quotes no password): "connect
  // postgresql <user>@<host>:<port>/<db>: <libpq's words>". No free file
  // descriptor in the process (or the system) is ResourceExhausted: a
  // rebuild() in a loop would not help, unlike for Unavailable.
  [[nodiscard]] static absl::StatusOr<PostgresConnection> open(const PostgresConfig& config);

  // Moving a connection while a statement or transaction borrows it, or
  // while another thread is in a call on it, aborts (the rule members
  // check); so does assigning to one in either state. Assigning ends the
  // session assigned over (with its prepared statements).
  PostgresConnection(PostgresConnection&&) noexcept = default;
  PostgresConnection& operator=(PostgresConnection&&) noexcept = default;
  PostgresConnection(const PostgresConnection&) = delete;
  PostgresConnection& operator=(const PostgresConnection&) = delete;
  // Ends the session (a fork()ed child lets go of its copy instead); a
  // statement or transaction still alive is misuse.
  ~PostgresConnection();

  [[nodiscard]] const PostgresConfig& config() const { return config_; }
  // A fresh connection from config(): after a server restart, a reconnect.
  // It only reads config(), never this connection's session, so any thread
  // may call it, even while another is in a call on this connection.
  [[nodiscard]] absl::StatusOr<PostgresConnection> rebuild() const;

  // Hands each notice the server sends on this session (PostgresNotice) to
  // `handler`, from now on, replacing the one set before; an empty handler
  // drops them again. By default (and after a rebuild(): a handler is not
  // config, and is never copied to a new connection, a Pool's included)
  // they are dropped: libpq's own default prints each to the process's
  // stderr, text nobody asked for that may quote user data. (libpqxx 6
  // prints them too, unless a pqxx::errorhandler is registered.)
  //
  // `handler` runs on the thread running the command, inside that call on
  // this connection (execute(), query(), a transaction's commit(), ...),
  // before the call returns; it must not throw, and must not run commands
  // on, move or destroy this connection (it may set_notice_handler(), even
  // to replace itself). It stays with the connection when the
  // connection moves (a move keeps it, as it keeps the session), and it
  // ends with the session. Not covered: a notice the server sends while
  // connecting (a collation version warning at login), which libpq's
  // PQconnectdbParams() hands its default (stderr) before open() returns.
  void set_notice_handler(std::function<void(const PostgresNotice&)> handler);

  // The notifications that came for this session's LISTENs and were not
  // taken yet, oldest first, and taken now: those read during earlier
  // commands plus those already readable on the socket (no wait: a poll
  // with a zero timeout). Empty when none. The server sends one only
  // between transactions (a NOTIFY is delivered when its transaction
  // commits, and to a session when it is not inside one), and libpq keeps
  // each it reads for the life of the session, the payload (up to 8000
  // bytes) included, until taken: a session that LISTENs must take them,
  // or its memory grows with every NOTIFY. (libpqxx 6: a
  // notification_receiver per channel, called from get_notifs() /
  // await_notification().) A lost connection is Unavailable with libpq's
  // words; an abandoned one (a command timed out) is Unavailable too. From
  // inside for_each()'s fn it is misuse, as any command there is.
  [[nodiscard]] absl::StatusOr<std::vector<PostgresNotification>> notifications();
  // The same, waiting at most `timeout` for the first one when none is
  // there yet (InfiniteDuration(): until one comes). None by then is an
  // EMPTY result, not DeadlineExceeded: nothing was asked of the server, so
  // nothing is in doubt and the connection stays usable (a command's
  // timeout abandons it). Waits on the monotonic clock. Waiting inside a
  // transaction returns none until its timeout: the server holds
  // notifications back until the transaction ends.
  [[nodiscard]] absl::StatusOr<std::vector<PostgresNotification>> wait_for_notification(
      absl::Duration timeout);

  // `name` as an SQL identifier, double-quoted, for SQL that cannot take a
  // parameter (a table or column named at run time): libpq's
  // PQescapeIdentifier, which knows the session's encoding:
  //   absl::StatusOr<std::string> table = db->quote_identifier(name);
  //   absl::Status made = db->execute(absl::StrCat("CREATE TABLE ", *table, " (x int)"));
  // A name holding a NUL byte is InvalidArgument before libpq sees it (it
  // reads a C string, and would quote the part before the NUL alone); one
  // that is not valid text in the session's encoding is InvalidArgument
  // too. The message never quotes the text (it could be a secret): it
  // says how long it was. PostgreSQL cuts an identifier past 63 bytes
  // (with a NOTICE), which is not checked here. (libpqxx: quote_name().)
  // Values are parameters, never quoted text: use these only for names,
  // and quote_literal() only where the SQL takes no parameter (DDL).
  [[nodiscard]] absl::StatusOr<std::string> quote_identifier(absl::string_view name);
  // `text` as an SQL string literal: 'it''s'; text holding a backslash
  // becomes E'a\\b', with a space before the E (libpq's PQescapeLiteral,
  // right whatever standard_conforming_strings says). The same rules and
  // errors as quote_identifier(). (libpqxx: quote(), which is
  // PQescapeStringConn between quotes.)
  [[nodiscard]] absl::StatusOr<std::string> quote_literal(absl::string_view text);

  // Runs SQL with no parameters (several statements, separated by ';', run
  // as one implicit transaction); a lost server is Unavailable. Errors read
  // "execute postgresql <user>@<host>:<port>/<db>: "<SQL>": <the server's
  // words> [SQLSTATE]".
  //
  // Every error the server gave (here, in query(), prepare(), a
  // statement's execute(), a transaction's commit()) carries its SQLSTATE
  // as a field, a SqlError payload (sql_error.h): branch on
  // is_unique_violation(status), is_foreign_key_violation(),
  // is_serialization_failure(), is_deadlock() or sql_error(status)->sqlstate,
  // never on the words. An error the library made itself (a NUL byte in the
  // SQL, a lost connection, a timeout) carries none. The code follows the
  // SQLSTATE's class:
  //   08 (connection), 53 (insufficient resources: disk full, too many
  //     connections), 57 (operator intervention: shutdown)  Unavailable,
  //     except 08P01 on a connection that goes on (the server refusing
  //     the count of parameters given), which is InvalidArgument
  //   0A (feature not supported: FOR UPDATE with an aggregate, "cached
  //     plan must not change result type")                 Unimplemented
  //   22 (data exception), 42 (syntax error or access rule
  //     violation: no such table, a typo)                  InvalidArgument
  //   23 (integrity constraint violation)                  FailedPrecondition
  //   25 (invalid transaction state: 25P02, a command in a failed
  //     transaction; 25006, a write in a READ ONLY one; 25001, what
  //     cannot run inside a transaction)                   FailedPrecondition
  //   55 (object not in prerequisite state: currval() before nextval(),
  //     55P03 a lock NOWAIT could not take, 55006 an object in use)
  //                                                        FailedPrecondition
  //   28 (invalid authorization)                           PermissionDenied
  //   3D (invalid catalog name: no such database)          NotFound
  //   40 (transaction rollback: serialization failure,
  //     deadlock)                                          Aborted
  //   54 (program limit exceeded: too many columns or
  //     arguments, a statement too complex)                ResourceExhausted
  //   any other                                            Unknown
  // (libpqxx throws a class per SQLSTATE: pqxx::unique_violation,
  // pqxx::deadlock_detected, pqxx::feature_not_supported, ..., with
  // sql_error::sqlstate().)
  //
  // SQL text holding a NUL byte is InvalidArgument before anything runs:
  // libpq reads a C string, and would run the text up to the NUL alone
  // ("DELETE FROM t\0 WHERE ..." would empty t).
  //
  // Waits at most config().query_timeout for the server, sending included
  // (a huge text to a server that does not read cannot block either). When
  // the time runs out the call asks the server to cancel the command, giving
  // that request at most 2 s more (or query_timeout, if shorter): libpq's
  // PQcancel has no timeout of its own, so it runs on a thread of its own,
  // left to finish by itself if the whole server is frozen. Then the call
  // returns DeadlineExceeded naming the database and the SQL, and abandons
  // the connection: the command may still be running, so every later call
  // on it is Unavailable and says to rebuild() a new one. (libpq and libpqxx
  // wait forever unless the server's statement_timeout fires, which a frozen
  // or unreachable server never does.) Empty SQL (or only a comment) is OK.
  //
  // A COMMIT (or END, or PREPARE TRANSACTION) that the server turned into a
  // ROLLBACK, because a statement before it failed, is Aborted. BEGIN (or
  // START TRANSACTION) while a transaction is open is FailedPrecondition, as
  // for begin(). COPY ... FROM STDIN / TO STDOUT is Unimplemented (the
  // connection stays usable). Messages quote the SQL and the server's words
  // escaped and cut past a few hundred bytes, with the length said.
  [[nodiscard]] absl::Status execute(absl::string_view sql);
  // The same, returning the rows (of the last statement).
  [[nodiscard]] absl::StatusOr<PostgresResult> query(absl::string_view sql);

  // One statement with parameters ($1 the first), each any value
  // PostgresParameter takes (text, numbers, bools, bytes sent binary, NULL;
  // see there for the types the server is given):
  //   db->execute("INSERT INTO players (name, rating, photo) VALUES ($1, $2, $3)",
  //               name, 1510.5, photo_bytes);
  //   db->query("SELECT id FROM players WHERE name = $1", name);
  //   db->query(sql, absl::MakeConstSpan(parameters));  // a count known at run time
  // Unlike execute(sql) it runs ONE statement (the server's extended
  // protocol: several separated by ';' is an error), as the connection's
  // cached statement for this text (see PostgresConfig's
  // statement_cache_size), with the same rules for the SQL, the time and
  // the errors otherwise. A text parameter holding a NUL byte is
  // InvalidArgument naming it ($2) before anything is sent; a count the SQL
  // does not take is InvalidArgument (the server's words).
  // (libpqxx: exec_params(sql, args...).)
  template <int&... kExplicitArgumentBarrier, typename... Values>
    requires(sizeof...(Values) > 0 &&
             (std::convertible_to<const Values&, PostgresParameter> && ...))
  [[nodiscard]] absl::Status execute(absl::string_view sql, const Values&... values) {
    const PostgresParameter parameters[] = {PostgresParameter(values)...};
    return execute(sql, absl::Span<const PostgresParameter>(parameters));
  }
  [[nodiscard]] absl::Status execute(absl::string_view sql,
                                     absl::Span<const PostgresParameter> parameters);
  template <int&... kExplicitArgumentBarrier, typename... Values>
    requires(sizeof...(Values) > 0 &&
             (std::convertible_to<const Values&, PostgresParameter> && ...))
  [[nodiscard]] absl::StatusOr<PostgresResult> query(absl::string_view sql,
                                                     const Values&... values) {
    const PostgresParameter parameters[] = {PostgresParameter(values)...};
    return query(sql, absl::Span<const PostgresParameter>(parameters));
  }
  [[nodiscard]] absl::StatusOr<PostgresResult> query(
      absl::string_view sql, absl::Span<const PostgresParameter> parameters);
  // Rows into described structs (rows.h): columns to fields BY NAME, every
  // column and every field matched (a column with no field, a field with
  // no column, NULL into a field that is not optional, a value of another
  // type are each an error naming the row, the field and the column), with
  // `params` either values, $1 the first (as query(sql, values...)), or ONE
  // described row whose fields are the parameters in field order: its
  // first field is $1, its second $2, ... (PostgreSQL has no named
  // parameters; write the SQL's $n in the row's field order). The SQL is
  // one statement, sent unprepared, under the rules of query(sql, values...)
  // (query_timeout, NUL bytes, the server's errors with their SqlError
  // payload, returned as they are).
  //
  //   absl::StatusOr<std::vector<Match>> won =
  //       db->query<Match>("SELECT winner, loser, score FROM matches WHERE winner = $1", "ann");
  //   absl::Status added =
  //       db->execute("INSERT INTO matches (winner, loser, score) VALUES ($1, $2, $3)", match);
  //
  // Every row (all held in the one result libpq reads, then in the vector).
  // (libpqxx 6: exec_params() then row.to(a, b, c) or field::as<T>(), by
  // position or a name looked up per call; no struct.)
  template <DescribedRow T, typename... Params>
    requires postgres_internal::RowParams<Params...>
  [[nodiscard]] absl::StatusOr<std::vector<T>> query(absl::string_view sql,
                                                     const Params&... params) {
    absl::StatusOr<PostgresResult> result = run_params("query()", "query", sql, params...);
    if (!result.ok()) return result.status();
    postgres_internal::ResultRows rows(this, *std::move(result));
    return internal::query_rows<T>(rows, "query");
  }
  // Exactly one row: none is NotFound, more than one FailedPrecondition
  // ("query_one <resource>: no row, where exactly one was expected").
  // (libpqxx: exec1() / exec_params1(), whose row is read by position.)
  template <DescribedRow T, typename... Params>
    requires postgres_internal::RowParams<Params...>
  [[nodiscard]] absl::StatusOr<T> query_one(absl::string_view sql, const Params&... params) {
    absl::StatusOr<PostgresResult> result =
        run_params("query_one()", "query_one", sql, params...);
    if (!result.ok()) return result.status();
    postgres_internal::ResultRows rows(this, *std::move(result));
    return internal::query_one_row<T>(rows, "query_one");
  }
  // One row of one column, as a RowField: "SELECT count(*) FROM matches".
  // Another number of columns is InvalidArgument; no row NotFound, more
  // FailedPrecondition.
  template <RowField T, typename... Params>
    requires postgres_internal::RowParams<Params...>
  [[nodiscard]] absl::StatusOr<T> query_value(absl::string_view sql, const Params&... params) {
    absl::StatusOr<PostgresResult> result =
        run_params("query_value()", "query_value", sql, params...);
    if (!result.ok()) return result.status();
    postgres_internal::ResultRows rows(this, *std::move(result));
    return internal::query_one_value<T>(rows, "query_value");
  }
  // Runs one statement with a described row's fields as its parameters,
  // in field order ($1 is the first field).
  template <DescribedRow R>
  [[nodiscard]] absl::Status execute(absl::string_view sql, const R& row) {
    return run_params("execute()", "execute", sql, row).status();
  }
  // Each row in turn, without holding them all: the command runs in
  // libpq's single-row mode, each row read from the server as fn is ready
  // for it, and one T reused. fn(const T&) returns absl::Status; the
  // first non-OK one stops the query and is returned as it is. The last
  // argument is fn, those before it the parameters:
  //
  //   int64_t total = 0;
  //   absl::Status summed = db->for_each<Match>(
  //       "SELECT winner, loser, score FROM matches WHERE score > $1", 2,
  //       [&](const Match& m) { total += m.score; return absl::OkStatus(); });
  //
  // The whole command, every row and fn's time included, is bounded by
  // query_timeout, as any command is (on timeout the server is asked to
  // cancel it, DeadlineExceeded, and the connection is abandoned). When fn
  // (or a row that does not read) stops it early, the rest is dealt with
  // before for_each returns, so the connection is ready for the next
  // command: outside a transaction the server is asked to cancel the
  // query and the rows it still sends are dropped; inside one the rest is
  // read and dropped (a cancel would fail the transaction). A server
  // error partway (after some rows reached fn) is returned with its
  // SqlError payload. fn must not use this connection, which is in the
  // middle of the command (libpq runs one at a time): a command from fn (on
  // the connection, a statement or a transaction of it) is misuse and
  // aborts, "uncopyable: PostgresConnection::query() inside for_each()'s
  // fn, ...", and so is moving, assigning, closing or destroying it there
  // (a for_each() call borrows the connection).
  // (libpqxx 6.4: stream_from reads a whole table by COPY, no query and
  // no parameters, into a tuple by position; a query's rows come in chunks
  // only through a server-side cursor (icursorstream). libpq:
  // PQsetSingleRowMode, which this uses.)
  template <DescribedRow T, typename... ParamsThenFn>
    requires(sizeof...(ParamsThenFn) >= 1)
  [[nodiscard]] absl::Status for_each(absl::string_view sql, ParamsThenFn&&... params_then_fn) {
    constexpr size_t kParams = sizeof...(ParamsThenFn) - 1;
    auto all = std::forward_as_tuple(params_then_fn...);
    auto& fn = std::get<kParams>(all);
    using Fn = std::remove_reference_t<decltype(fn)>;
    static_assert(std::invocable<Fn&, const T&> &&
                      std::same_as<std::invoke_result_t<Fn&, const T&>, absl::Status>,
                  "for_each<T>(sql, params..., fn): fn(const T&) returns absl::Status");
    return [&]<size_t... I>(std::index_sequence<I...>) {
      return for_each_with<T>(sql, fn, std::get<I>(all)...);
    }(std::make_index_sequence<kParams>());
  }

  // Prepares a statement on the server, owned by the PostgresStatement
  // returned (see there for when it is released). Same rules for the SQL
  // and the time as execute().
  [[nodiscard]] absl::StatusOr<PostgresStatement> prepare(absl::string_view sql);
  // BEGIN. A transaction already open on this connection (by begin() or by
  // SQL of your own) is FailedPrecondition,
  //   "begin <resource>: a transaction is already open on this connection;
  //    nest with a savepoint",
  // where PostgreSQL would only warn and go on: the inner transaction's
  // commit() or rollback() would then end the outer one. For a nested unit
  // of work use the transaction's savepoint(). The session's defaults
  // (default_transaction_isolation, _read_only, _deferrable) apply.
  [[nodiscard]] absl::StatusOr<PostgresTransaction> begin();
  // BEGIN ISOLATION LEVEL <isolation>, READ ONLY or READ WRITE, DEFERRABLE
  // or NOT DEFERRABLE, each as `options` says (the session's defaults do not
  // apply, unlike for begin(): begin({}) is READ COMMITTED and READ WRITE
  // even where a default says otherwise; on a hot standby, which refuses
  // READ WRITE, ask for read_only or use begin()). The same otherwise.
  // Options that fail validate() are InvalidArgument and nothing is sent.
  // (libpqxx fixes the isolation level and read-only as template arguments
  // of its transaction types, sending a plain BEGIN for read committed, and
  // has no DEFERRABLE.)
  [[nodiscard]] absl::StatusOr<PostgresTransaction> begin(
      const PostgresTransactionOptions& options);

  // Ends the session (never waits on the server), and with it every
  // statement prepared on it. A statement or transaction still alive is
  // misuse.
  [[nodiscard]] absl::Status close();

  // For a Pool (pool.h): whether the session still answers, by `deadline`
  // (or query_timeout, if that comes first). An empty query goes to the
  // server and back: a lost connection is Unavailable with libpq's words; a
  // server that accepts but never answers is DeadlineExceeded at the
  // deadline, never later: unlike a command's timeout no cancel request is
  // sent (that could wait 2 s more), and the connection is abandoned
  // (every later call on it says so). A transaction left open on it is
  // FailedPrecondition: the next user would run inside it. A closed,
  // abandoned or moved-from connection, or one its parent opened (in a
  // fork()ed child), is an error rather than misuse: a pool asks before it
  // lends.
  [[nodiscard]] absl::Status check_health(absl::Time deadline);
  // For a Pool (pool.h), when a lease gives it back: whether it can be
  // lent again as it is, from what libpq already knows (no system call, no
  // round trip): open, not abandoned, the session CONNECTION_OK, and no
  // transaction left open on it (no Transaction alive, and
  // PQtransactionStatus() is PQTRANS_IDLE: not in a transaction, a failed
  // one, or a command still running), no notification read and not taken,
  // no LISTEN in force, and no notice handler set (it is the last user's,
  // and may capture what ended with its request: clear it with
  // set_notice_handler(nullptr) before the lease ends, or the pool drops
  // the connection). A pool drops one that is not: closing the
  // session makes the server roll the transaction back, and ends its
  // LISTENs. Why drop, not drain, a LISTENing one: draining would hand the
  // next user a session still subscribed, whose notifications (which it
  // never asked for) would pile up unseen; UNLISTEN * would cost a round
  // trip here. A LISTEN is seen when a command starts with it, or when a
  // notification came; an UNLISTEN * or DISCARD ALL command ends it (one
  // inside a function or after another statement in the same text is not
  // seen: such a session is lent again).
  [[nodiscard]] bool reusable() const;
  // Whether it holds a session (false once closed or moved from; true for
  // an abandoned one, which close() still ends).
  [[nodiscard]] bool is_open() const { return connection_.is_valid(); }
  // postgresql <user>@<host>:<port>/<db> for the database `config` describes.
  [[nodiscard]] static std::string resource_for(const PostgresConfig& config);

  // postgresql <user>@<host>:<port>/<db>: how messages name the database
  // (never the password; the names escaped and cut short).
  std::string resource() const;

 private:
  friend class PostgresStatement;
  friend struct postgres_internal::PreparedTraits;
  friend struct internal::BorrowTraits<PostgresConnection>;
  friend class postgres_internal::ResultRows;
  template <typename, typename, typename>
  friend class internal::BasicTransaction;
  template <typename, typename>
  friend class internal::BasicSavepoint;
  // Whether the server has a transaction open on this session (one ended
  // by other SQL is not ended again).
  bool transaction_open() const;
  PostgresConnection(UniqueHandle<postgres_internal::ConnectionTraits> connection,
                     PostgresConfig config);
  // The connection, or an abort naming `Who::kName`::`operation` if it is
  // closed, moved from, or the parent's in a forked child. `who` is this,
  // or the statement or transaction the call is on.
  template <typename Who>
  ::pg_conn* checked(const char* operation, const Who& who) const {
    const uintptr_t connection =
        connection_.get_as(Who::kName, operation, [this] { return resource(); });
    process_.check(who, operation);
    return reinterpret_cast<::pg_conn*>(connection);
  }
  // For BasicTransaction: COMMIT or ROLLBACK (`sql`), unless other SQL
  // ended the transaction already.
  absl::Status end_transaction(const char* type, const char* operation, const char* verb,
                               const char* sql);
  // For BasicSavepoint: runs `sql` (SAVEPOINT, RELEASE, ROLLBACK TO) in the
  // open transaction; refused, saying `so`, if other SQL ended it already.
  absl::Status savepoint_command(const char* type, const char* operation, const char* verb,
                                 const std::string& sql, absl::string_view so);
  // BEGIN with `sql`, once nothing is open.
  absl::StatusOr<PostgresTransaction> begin_with(const std::string& sql);

  // What a command hands libpq once the connection is ready: 1 if sent.
  using Sender = absl::FunctionRef<int(::pg_conn*)>;
  // One command, every path alike: the SQL checked (no NUL byte, no nested
  // BEGIN), statements let go released first, then sent and answered within
  // query_timeout; the answer as rows or a Status. `verb` and `sql` are for
  // messages and checks.
  // `may_commit`: false for what cannot make a change last (PREPARE,
  // BEGIN, DEALLOCATE), whose lost connection is never in doubt.
  absl::StatusOr<PostgresResult> run(::pg_conn* connection, const char* verb, absl::string_view sql,
                                     Sender send, bool may_commit = true);
  // execute() and query() with parameters: checked, then sent as the
  // cache's statement for `sql` (see statement_cache_size), or unprepared
  // with the cache off.
  absl::StatusOr<PostgresResult> run_with(const char* operation, const char* verb,
                                          absl::string_view sql,
                                          absl::Span<const PostgresParameter> parameters);
  // The exchange itself: send, flush, wait, read every result, by `deadline`.
  absl::StatusOr<PostgresResult> exchange(::pg_conn* connection, const char* verb,
                                          absl::string_view sql, Sender send,
                                          internal::Deadline deadline, bool may_commit = true);
  // The command of query<T>() and the like, with values or one row.
  template <typename... Params>
  absl::StatusOr<PostgresResult> run_params(const char* operation, const char* verb,
                                            absl::string_view sql, const Params&... params) {
    if constexpr (postgres_internal::kOneRow<Params...>) {
      postgres_internal::RowParameters sink(this);
      if (absl::Status bound = internal::bind_row(sink, params...); !bound.ok()) return bound;
      return run_with(operation, verb, sql, sink.parameters());
    } else {
      const PostgresParameter parameters[sizeof...(Params) + 1] = {PostgresParameter(params)...,
                                                                   nullptr};
      return run_with(operation, verb, sql,
                      absl::Span<const PostgresParameter>(parameters, sizeof...(Params)));
    }
  }
  template <DescribedRow T, typename Fn, typename... Params>
  absl::Status for_each_with(absl::string_view sql, Fn& fn, const Params&... params) {
    static_assert(postgres_internal::RowParams<Params...>,
                  "for_each<T>(sql, params..., fn): params are values PostgresParameter takes, "
                  "or one described row");
    const auto consume = [&fn](postgres_internal::ResultRows& rows) {
      return internal::for_each_row<T>(rows, fn, "for_each");
    };
    if constexpr (postgres_internal::kOneRow<Params...>) {
      postgres_internal::RowParameters sink(this);
      if (absl::Status bound = internal::bind_row(sink, params...); !bound.ok()) return bound;
      return stream("for_each()", "for_each", sql, sink.parameters(), consume);
    } else {
      const PostgresParameter parameters[sizeof...(Params) + 1] = {PostgresParameter(params)...,
                                                                   nullptr};
      return stream("for_each()", "for_each", sql,
                    absl::Span<const PostgresParameter>(parameters, sizeof...(Params)), consume);
    }
  }
  // for_each(): sends the command in single-row mode, hands `consume` the
  // rows, then (however it ended) leaves the connection ready for the next.
  absl::Status stream(const char* operation, const char* verb, absl::string_view sql,
                      absl::Span<const PostgresParameter> parameters,
                      absl::FunctionRef<absl::Status(postgres_internal::ResultRows&)> consume);
  // stream()'s command, sent as the prepared statement `number` (0:
  // unprepared), its rows handed to `consume`.
  absl::Status stream_with(::pg_conn* connection, const char* verb, absl::string_view sql,
                           uint64_t number, const postgres_internal::ParameterArrays& arrays,
                           bool outside_transaction, internal::Deadline deadline,
                           absl::FunctionRef<absl::Status(postgres_internal::ResultRows&)> consume);
  // The streamed command's next result into `rows`: true with a row, false
  // at the end, or the error.
  absl::StatusOr<bool> stream_next(postgres_internal::ResultRows& rows);
  // Reads what is left of a streamed command, asking the server to cancel
  // it first outside a transaction.
  absl::Status stream_finish(postgres_internal::ResultRows& rows);
  // What run() checks and does before sending: the SQL (no NUL byte, no
  // nested BEGIN), the connection not abandoned, the statements let go
  // released. Sets `deadline`.
  absl::Status before_command(::pg_conn* connection, const char* verb, absl::string_view sql,
                              internal::Deadline& deadline);
  // The errors of exchange(): a lost connection, a timeout (cancelled,
  // abandoned), a failed result from the server (with its SqlError).
  // `sent` says whether the command had reached the server whole, and
  // `outside_transaction` whether it was sent outside a transaction block:
  // then one that may have committed is in doubt (see is_in_doubt()).
  enum class Sent { kNot, kWhole };
  absl::Status lost(::pg_conn* connection, const char* verb, absl::string_view sql,
                    Sent sent = Sent::kNot, bool outside_transaction = false);
  absl::Status timed_out(::pg_conn* connection, const char* verb, absl::string_view sql,
                         Sent sent = Sent::kNot, bool outside_transaction = false);
  absl::Status server_error(::pg_conn* connection, ::pg_result* result, const char* verb,
                            absl::string_view sql) const;
  // The cache's statement for `sql` that takes `arrays`' parameter types,
  // made (PREPARE, one more round trip) if there is none; nullptr with the
  // cache off. A kept one whose types do not fit is DEALLOCATEd. `fresh`
  // says whether it was made just now.
  using StatementCache = internal::StatementCache<postgres_internal::CachedPreparedTraits,
                                                  postgres_internal::PreparedTypes>;
  absl::StatusOr<StatementCache::Entry*> cached_statement(
      ::pg_conn* connection, const char* verb, absl::string_view sql,
      const postgres_internal::ParameterArrays& arrays, bool& fresh);
  // Runs the command of `sql` with `arrays`' values: the cached statement
  // (prepared again once if the server lost it, see statement_cache_size),
  // or, with the cache off, unprepared.
  // Drops `entry`, whose statement failed with `status`: the server no
  // longer has it (26000: forgotten), or refused it for a changed plan
  // (0A000: DEALLOCATEd with the statements let go).
  void forget_stale(StatementCache::Entry* entry, const absl::Status& status);
  absl::StatusOr<PostgresResult> run_parameters(::pg_conn* connection, const char* verb,
                                                absl::string_view sql,
                                                const postgres_internal::ParameterArrays& arrays);
  // DEALLOCATEs the statements let go, when the transaction state allows.
  absl::Status release_unused_statements(::pg_conn* connection,
                                         internal::Deadline deadline);
  // Called by PreparedTraits: statement `number` is no longer used.
  void let_go(uint64_t number);
  // Moves what libpq has read of notifications into notifications_; notes
  // a LISTEN or its end run by `sql` (after a command that succeeded).
  void collect_notifications(::pg_conn* connection);
  void note_listen(absl::string_view sql);
  // notifications() and wait_for_notification(): waits until `deadline`
  // for the first one when none is kept.
  absl::StatusOr<std::vector<PostgresNotification>> take_notifications(
      const char* operation, const char* verb, internal::Deadline deadline);
  // quote_identifier() and quote_literal().
  absl::StatusOr<std::string> quote(const char* operation, const char* verb,
                                    absl::string_view text, bool identifier);

  // The rules first, so that they check before anything they name moves:
  // no statement or transaction alive when it moves or dies; which thread
  // is in a call.
  internal::Lender<PostgresConnection> lender_{this};
  internal::SingleUser<PostgresConnection> user_{this};
  PostgresConfig config_;
  // Not in a forked child.
  internal::ProcessBound process_;
  // A PostgresTransaction of this connection is alive (see BasicTransaction),
  // and whether other SQL has ended the server's transaction under it.
  bool transaction_live_ = false;
  bool transaction_lost_ = false;
  uint64_t statements_made_ = 0;
  // Server-side statements whose PostgresStatement is gone, to DEALLOCATE:
  // owned here from then on, and ended with the session.
  internal::Kept<std::vector<uint64_t>> unused_statements_;
  // A for_each() is reading its rows: no other command may run.
  bool streaming_ = false;
  // Notifications read and not taken yet (see notifications()), and
  // whether a LISTEN may be in force (see reusable()).
  internal::Kept<std::vector<PostgresNotification>> notifications_;
  bool listening_ = false;
  // Why the connection can no longer be used (a command timed out on it);
  // empty while it can.
  internal::Kept<std::string> abandoned_;
  // The statements of run_with() and stream(), by SQL text (config_'s
  // statement_cache_size at most). One it evicts goes to
  // unused_statements_, to be DEALLOCATEd; the rest end with the session.
  StatementCache statements_;
  // set_notice_handler()'s handler, on the heap so that its address, which
  // libpq keeps for the session, stays the same when the connection moves;
  // null while notices are dropped. Declared before connection_, so that it
  // outlives the session (which the traits also tell to drop notices before
  // it ends).
  std::unique_ptr<std::function<void(const PostgresNotice&)>> notice_handler_;
  UniqueHandle<postgres_internal::ConnectionTraits> connection_;
};

template <>
struct HandleFor<PostgresConfig> {
  using type = PostgresConnection;
};

}  // namespace uncopyable

#endif  // UNCOPYABLE_POSTGRES_H_
