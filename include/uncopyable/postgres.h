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
//   absl::StatusOr<uncopyable::PostgresResult> done = insert->execute({"ann", "bob"});
//   absl::StatusOr<uncopyable::PostgresResult> rows = db->query("SELECT count(*) FROM matches");
//   int64_t count = rows->get_int64(0, 0);
//
//   // The server restarted? The next call says Unavailable; rebuild() is a
//   // reconnect from the same config.
//
// The password is a Secret: printing the config, its JSON and its URL show
// "***", and error messages never contain it. A connection is move-only and
// must not cross fork(); statements and transactions borrow it and must go
// first. Misuse aborts with one line, as for SqliteConnection.
#ifndef UNCOPYABLE_POSTGRES_H_
#define UNCOPYABLE_POSTGRES_H_

#include <atomic>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "uncopyable/config.h"
#include "uncopyable/config_url.h"
#include "uncopyable/internal/borrow.h"
#include "uncopyable/rebuildable.h"
#include "uncopyable/secret.h"
#include "uncopyable/unique_handle.h"

struct pg_conn;    // libpq's PGconn
struct pg_result;  // libpq's PGresult

namespace uncopyable {

// libpq's sslmode.
enum class SslMode { disable, allow, prefer, require, verify_ca, verify_full };
UNCOPYABLE_ENUM(SslMode, disable, allow, prefer, require, verify_ca, verify_full)

struct PostgresConfig {
  UNCOPYABLE_CONFIG(PostgresConfig, host, port, dbname, user, password, sslmode,
                    connect_timeout, application_name)

  std::string host = "localhost";                      // a name, an address, or a socket directory
  uint16_t port = 5432;                                // TCP port (or socket file suffix)
  std::string dbname{};                                // required
  std::string user{};                                  // empty: the OS user's name
  Secret<std::string> password{};                      // never printed
  SslMode sslmode = SslMode::prefer;                   // TLS policy
  absl::Duration connect_timeout = absl::Seconds(10);  // whole seconds, at least 2
  std::string application_name = "uncopyable";         // shown in pg_stat_activity

  static constexpr absl::string_view kRequired[] = {"dbname"};

  // Host, port 1 to 65535, database; a connect timeout of at least 2 s
  // (libpq's minimum) in whole seconds; no NUL anywhere.
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

namespace postgres_internal {
struct ConnectionTraits : AddressTraits {
  static constexpr std::string_view kName = "PostgresConnection";
  static absl::Status close(uintptr_t connection);
};
struct ResultTraits : AddressTraits {
  static constexpr std::string_view kName = "PostgresResult";
  static absl::Status close(uintptr_t result);
};

}  // namespace postgres_internal

// The rows a query returned (text values, as the server sent them).
class PostgresResult {
 public:
  int rows() const;
  int columns() const;
  bool is_null(int row, int column) const;
  std::string get_text(int row, int column) const;
  // The value parsed as a number; misuse if it is not one (the column type
  // is the caller's promise).
  int64_t get_int64(int row, int column) const;
  double get_double(int row, int column) const;
  // Rows changed by INSERT, UPDATE, DELETE.
  int64_t affected() const;

 private:
  friend class PostgresConnection;
  friend class PostgresStatement;
  explicit PostgresResult(UniqueHandle<postgres_internal::ResultTraits> result)
      : result_(std::move(result)) {}
  UniqueHandle<postgres_internal::ResultTraits> result_;
};

// A statement prepared on the server, run with parameters ($1, $2, ...)
// that are values, never SQL. It must not outlive its connection.
class PostgresStatement {
 public:
  PostgresStatement(PostgresStatement&&) noexcept = default;
  PostgresStatement& operator=(PostgresStatement&&) = delete;

  // Runs it; nullopt parameters are NULL.
  [[nodiscard]] absl::StatusOr<PostgresResult> execute(
      const std::vector<std::optional<std::string>>& parameters);
  [[nodiscard]] absl::StatusOr<PostgresResult> execute(
      std::initializer_list<absl::string_view> parameters);

 private:
  friend class PostgresConnection;
  PostgresStatement(PostgresConnection* connection, std::string name, std::string sql)
      : connection_(connection), name_(std::move(name)), sql_(std::move(sql)) {}
  internal::Borrow<PostgresConnection> connection_;
  std::string name_;
  std::string sql_;
};

// BEGIN ... COMMIT, rolled back unless commit() ran; committing twice is
// misuse.
using PostgresTransaction = internal::BasicTransaction<PostgresConnection>;

class PostgresConnection {
 public:
  using config_type = PostgresConfig;

  // Connects (libpq, blocking, within connect_timeout).
  [[nodiscard]] static absl::StatusOr<PostgresConnection> open(const PostgresConfig& config);

  PostgresConnection(PostgresConnection&& other) noexcept;
  PostgresConnection& operator=(PostgresConnection&& other) noexcept;
  PostgresConnection(const PostgresConnection&) = delete;
  PostgresConnection& operator=(const PostgresConnection&) = delete;
  ~PostgresConnection();

  [[nodiscard]] const PostgresConfig& config() const { return config_; }
  // A fresh connection from config(): after a server restart, a reconnect.
  [[nodiscard]] absl::StatusOr<PostgresConnection> rebuild() const;

  // Runs SQL with no parameters; a lost server is Unavailable.
  [[nodiscard]] absl::Status execute(absl::string_view sql);
  // The same, returning the rows.
  [[nodiscard]] absl::StatusOr<PostgresResult> query(absl::string_view sql);
  [[nodiscard]] absl::StatusOr<PostgresStatement> prepare(absl::string_view sql);
  [[nodiscard]] absl::StatusOr<PostgresTransaction> begin();

  [[nodiscard]] absl::Status close();

 private:
  friend class PostgresStatement;
  friend class internal::BasicTransaction<PostgresConnection>;
  friend class internal::Borrow<PostgresConnection>;
  static constexpr const char* kTransactionName = "PostgresTransaction";
  // postgresql user@host:port/dbname, for messages (never the password).
  std::string where() const;
  PostgresConnection(UniqueHandle<postgres_internal::ConnectionTraits> connection,
                     PostgresConfig config);
  static UniqueHandle<postgres_internal::ConnectionTraits> take(PostgresConnection& other) noexcept;
  // The connection, or an abort naming `type`::`operation` if it is closed,
  // moved from, or the parent's in a forked child.
  ::pg_conn* checked(const char* operation, const char* type = "PostgresConnection") const;
  void require_no_borrows(const char* what) const;
  // The result of a libpq call as a PostgresResult or a Status.
  absl::StatusOr<PostgresResult> finish(::pg_result* result, const char* verb,
                                        absl::string_view sql) const;

  UniqueHandle<postgres_internal::ConnectionTraits> connection_;
  PostgresConfig config_;
  uint32_t fork_generation_ = 0;
  std::atomic<int> borrows_{0};
  int statements_made_ = 0;
};

template <>
struct HandleFor<PostgresConfig> {
  using type = PostgresConnection;
};

}  // namespace uncopyable

#endif  // UNCOPYABLE_POSTGRES_H_
