// docs/guide.md, "What each check catches": every misuse message the guide
// quotes, produced by the library and matched whole. A message is written
// here exactly as the guide quotes it, in R"msg(...)msg" quotes, and
// guide_check.py insists that each one the guide quotes is here (or, for the
// few that need a PostgreSQL server, in the library's own format strings).
#include <dirent.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <sys/types.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <optional>
#include <thread>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "docs/guide/guide_testing.h"
#include "gtest/gtest.h"
#include "tests/testing/forked_child.h"
#include "uncopyable/fd.h"
#include "uncopyable/file.h"
#include "uncopyable/mapped_file.h"
#include "uncopyable/mutex.h"
#include "uncopyable/pipe.h"
#include "uncopyable/pool.h"
#include "uncopyable/socket.h"
#include "uncopyable/sqlite.h"
#include "uncopyable/subprocess.h"
#include "uncopyable/testing/fault_injection.h"

namespace guide {
namespace {

using uncopyable::Fd;
using uncopyable::FdView;
using uncopyable::File;
using uncopyable::FileConfig;
using uncopyable::Mutex;
using uncopyable::MutexConfig;
using uncopyable::SqliteConfig;
using uncopyable::SqliteConnection;

using ::uncopyable::testing::exit_as_the_child_did;
using ::uncopyable::testing::in_forked_child;

class ChecksDeathTest : public ::testing::Test {
 protected:
  void SetUp() override { enter_scratch_directory(); }

  static File journal() {
    ::unlink("journal.log");
    absl::StatusOr<File> file = uncopyable::rebuild(FileConfig{
        .path = "journal.log", .access = uncopyable::FileAccess::read_write, .create = true});
    EXPECT_TRUE(file.ok()) << file.status();
    return *std::move(file);
  }

  static SqliteConnection database(const char* path) {
    absl::StatusOr<SqliteConnection> db = uncopyable::rebuild(SqliteConfig{.path = path});
    EXPECT_TRUE(db.ok()) << db.status();
    return *std::move(db);
  }

  // A pool of File handles on journal.log, for the Pool rows.
  static absl::StatusOr<uncopyable::Pool<File>> journal_pool(
      uncopyable::PoolSettings settings = {}) {
    return uncopyable::Pool<File>::open(
        {.handle = {.path = "journal.log", .access = uncopyable::FileAccess::write, .create = true},
         .pool = settings});
  }

  static Mutex mutex(MutexConfig config) {
    absl::StatusOr<Mutex> made = uncopyable::rebuild(config);
    EXPECT_TRUE(made.ok()) << made.status();
    return *std::move(made);
  }
};

// --- Any handle -------------------------------------------------------------

TEST_F(ChecksDeathTest, UseAfterMove) {
  absl::StatusOr<File> log = journal();
  EXPECT_DEATH(
      {
        // [guide:use-after-move]
        File owner = *std::move(log);
        (void)log->write("late\n");  // aborts: `log` was moved from
        // [end]
      },
      printed(R"msg(uncopyable: File::write() on a moved-from handle)msg"));
}

TEST_F(ChecksDeathTest, UseAfterClose) {
  File file = journal();
  ASSERT_TRUE(file.close().ok());
  EXPECT_DEATH((void)file.write("late\n"),
               printed(R"msg(uncopyable: File::write() on a closed handle (file "journal.log"))msg"));
}

TEST_F(ChecksDeathTest, CloseTwice) {
  File file = journal();
  EXPECT_DEATH(
      {
        // [guide:close-twice]
        absl::Status closed = file.close();  // what close(2) said
        absl::Status again = file.close();   // aborts: closed already
        // [end]
      },
      printed(R"msg(uncopyable: File::close() on a closed handle (file "journal.log"))msg"));
}

TEST_F(ChecksDeathTest, SocketAfterClose) {
  absl::StatusOr<uncopyable::Listener> server = uncopyable::rebuild(
      uncopyable::ListenerConfig{.endpoint = uncopyable::Endpoint::tcp("127.0.0.1", 0)});
  ASSERT_TRUE(server.ok()) << server.status();
  absl::StatusOr<uncopyable::Socket> client =
      uncopyable::rebuild(uncopyable::SocketConfig{.endpoint = server->endpoint()});
  ASSERT_TRUE(client.ok()) << client.status();
  ASSERT_TRUE(client->close().ok());
  EXPECT_DEATH((void)client->send("x"),
               printed(R"msg(uncopyable: Socket::send() on a closed handle (socket to tcp://127.0.0.1:<port>))msg"));
  ASSERT_TRUE(server->close().ok());
  EXPECT_DEATH((void)server->accept(absl::Seconds(1)),
               printed(R"msg(uncopyable: Listener::accept() on a closed handle (listener on tcp://127.0.0.1:<port>))msg"));
}

TEST_F(ChecksDeathTest, SocketAfterRelease) {
  absl::StatusOr<uncopyable::Listener> server = uncopyable::rebuild(
      uncopyable::ListenerConfig{.endpoint = uncopyable::Endpoint::tcp("127.0.0.1", 0)});
  ASSERT_TRUE(server.ok()) << server.status();
  absl::StatusOr<uncopyable::Socket> client =
      uncopyable::rebuild(uncopyable::SocketConfig{.endpoint = server->endpoint()});
  ASSERT_TRUE(client.ok()) << client.status();
  Fd handed_over = client->release();  // another library owns it now
  EXPECT_DEATH((void)client->send("x"),
               printed(R"msg(uncopyable: Socket::send() on a released handle)msg"));
}

TEST_F(ChecksDeathTest, SqliteConnectionAfterClose) {
  SqliteConnection db = database("app.db");
  ASSERT_TRUE(db.close().ok());
  EXPECT_DEATH((void)db.execute("SELECT 1"),
               printed(R"msg(uncopyable: SqliteConnection::execute() on a closed handle (sqlite "app.db"))msg"));
}

TEST_F(ChecksDeathTest, PipeEndAfterClose) {
  absl::StatusOr<uncopyable::Pipe> pipe = uncopyable::make_pipe();
  ASSERT_TRUE(pipe.ok()) << pipe.status();
  ASSERT_TRUE(pipe->writer.close().ok());
  EXPECT_DEATH((void)pipe->writer.write("x"),
               printed(R"msg(uncopyable: PipeWriter::write() on a closed handle (pipe write end))msg"));
}

TEST_F(ChecksDeathTest, SubprocessAfterClose) {
  absl::StatusOr<uncopyable::Subprocess> sleeper =
      uncopyable::rebuild(uncopyable::SubprocessConfig{.argv = {"sleep", "100"}});
  ASSERT_TRUE(sleeper.ok()) << sleeper.status();
  ASSERT_TRUE(sleeper->close().ok());  // killed and reaped
  EXPECT_DEATH((void)sleeper->wait(),
               printed(R"msg(uncopyable: Subprocess::wait() on a closed handle (subprocess "sleep"))msg"));
}

// --- Fd and FdView ------------------------------------------------------------

TEST_F(ChecksDeathTest, AdoptingAFailedOpen) {
  EXPECT_DEATH(Fd(::open("missing.txt", O_RDONLY | O_CLOEXEC)),
               printed(R"msg(uncopyable: Fd::Fd(-1): adopting an invalid value)msg"));
}

TEST_F(ChecksDeathTest, ResetToAFailedOpen) {
  Fd fd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  EXPECT_DEATH(fd.reset(::open("missing.txt", O_RDONLY | O_CLOEXEC)),
               printed(R"msg(uncopyable: Fd::reset(-1): adopting an invalid value)msg"));
}

TEST_F(ChecksDeathTest, ResetToTheSameDescriptor) {
  Fd fd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  EXPECT_DEATH(fd.reset(fd.get()),
               printed(R"msg(uncopyable: Fd::reset(<fd>): the value it already holds would be closed and kept)msg"));
}

TEST_F(ChecksDeathTest, BorrowingFromAnEmptyFd) {
  Fd fd;
  EXPECT_DEATH(FdView{fd}, printed(R"msg(uncopyable: Fd::get() on an empty handle)msg"));
}

TEST_F(ChecksDeathTest, UsingAReleasedFd) {
  Fd fd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  const int raw = fd.release();
  EXPECT_DEATH((void)fd.get(), printed(R"msg(uncopyable: Fd::get() on a released handle)msg"));
  ::close(raw);
}

TEST_F(ChecksDeathTest, BorrowingANegativeNumber) {
  EXPECT_DEATH(FdView(-1),
               printed(R"msg(uncopyable: FdView::FdView(-1) borrowing a negative descriptor)msg"));
}

TEST_F(ChecksDeathTest, ClosedBehindTheOwnersBack) {
  EXPECT_DEATH(
      {
        Fd fd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
        ::syscall(SYS_close, fd.get());  // unseen by the ownership checks
        (void)fd.close();
      },
      printed(R"msg(uncopyable: Fd::close() found the descriptor not open; something closed it behind its owner's back (fd <fd>))msg"));
}

// --- File and FileLock ---------------------------------------------------------

TEST_F(ChecksDeathTest, ALockOutlivesItsFile) {
  EXPECT_DEATH(
      {
        std::optional<uncopyable::FileLock> lock;
        {
          File file = journal();
          lock.emplace(*file.lock(uncopyable::LockKind::exclusive));
        }
      },
      printed(R"msg(uncopyable: File::~File() while 1 FileLock(s) on it is alive; they must end first (file "journal.log"))msg"));
}

TEST_F(ChecksDeathTest, ClosingALockedFile) {
  File file = journal();
  absl::StatusOr<uncopyable::FileLock> lock = file.lock(uncopyable::LockKind::shared);
  ASSERT_TRUE(lock.ok()) << lock.status();
  EXPECT_DEATH((void)file.close(),
               printed(R"msg(uncopyable: File::close() while 1 FileLock(s) on it is alive; they must end first (file "journal.log"))msg"));
  ASSERT_TRUE(lock->unlock().ok());
}

TEST_F(ChecksDeathTest, ASecondLockOnOneFile) {
  File file = journal();
  absl::StatusOr<uncopyable::FileLock> lock = file.lock(uncopyable::LockKind::shared);
  ASSERT_TRUE(lock.ok()) << lock.status();
  EXPECT_DEATH((void)file.lock(uncopyable::LockKind::shared),
               printed(R"msg(uncopyable: File::lock() while a FileLock on it is held; a File holds one lock at a time: unlock it first, or rebuild() another File (file "journal.log"))msg"));
  ASSERT_TRUE(lock->unlock().ok());
}

TEST_F(ChecksDeathTest, LockingInAForkedChildAFileTheParentOpened) {
  File file = journal();
  EXPECT_DEATH(uncopyable::testing::in_forked_child(
                   [&] { (void)file.lock(uncopyable::LockKind::shared); }),
               printed(R"msg(uncopyable: File::lock() in a fork()ed child on a File its parent opened: the two share one lock (one open file description), so the child's lock would be the parent's; the child must rebuild() its own File (file "journal.log"))msg"));
}

TEST_F(ChecksDeathTest, UnlockingTwice) {
  File file = journal();
  absl::StatusOr<uncopyable::FileLock> lock = file.lock(uncopyable::LockKind::shared);
  ASSERT_TRUE(lock.ok()) << lock.status();
  ASSERT_TRUE(lock->unlock().ok());
  EXPECT_DEATH((void)lock->unlock(),
               printed(R"msg(uncopyable: FileLock::unlock() on a lock that is not held: unlocked already)msg"));
}

// --- Who may close a descriptor (the test main links //:fd_ownership_checks) ---------

TEST_F(ChecksDeathTest, AdoptingADescriptorAFileOwns) {
  File file = journal();
  EXPECT_DEATH(Fd(file.fd().get()),
               printed(R"msg(uncopyable: Fd::Fd(<fd>) adopting a descriptor already owned by File; a descriptor has one owner, and only it may close it (file "journal.log"))msg"));
}

TEST_F(ChecksDeathTest, AStrayClose) {
  File journal = ChecksDeathTest::journal();
  EXPECT_DEATH(
      {
        // [guide:stray-close]
        ::close(journal.fd().get());  // aborts here: only `journal` may close it
        File other = uncopyable::rebuild(FileConfig{.path = "other.log", .access = uncopyable::FileAccess::write, .create = true}).value();
        (void)journal.write("entry\n");  // would have gone to other.log
        // [end]
      },
      printed(R"msg(uncopyable: ::close(<fd>) of a descriptor owned by File; only its owner may close it (file "journal.log"))msg"));
}

TEST_F(ChecksDeathTest, AStrayCloseOfAListener) {
  absl::StatusOr<uncopyable::Listener> server = uncopyable::rebuild(
      uncopyable::ListenerConfig{.endpoint = uncopyable::Endpoint::tcp("127.0.0.1", 0)});
  ASSERT_TRUE(server.ok()) << server.status();
  EXPECT_DEATH(::close(server->fd().get()),
               printed(R"msg(uncopyable: ::close(<fd>) of a descriptor owned by Listener; only its owner may close it (listener on tcp://127.0.0.1:<port>))msg"));
}

TEST_F(ChecksDeathTest, Dup2OntoAnOwnedDescriptor) {
  File file = journal();
  EXPECT_DEATH(::dup2(STDERR_FILENO, file.fd().get()),
               printed(R"msg(uncopyable: ::dup2(<fd>, <fd>) onto a descriptor owned by File; only its owner may close it (file "journal.log"))msg"));
}

TEST_F(ChecksDeathTest, Dup3OntoAnOwnedDescriptor) {
  File file = journal();
  EXPECT_DEATH(::dup3(STDERR_FILENO, file.fd().get(), O_CLOEXEC),
               printed(R"msg(uncopyable: ::dup3(<fd>, <fd>) onto a descriptor owned by File; only its owner may close it (file "journal.log"))msg"));
}

TEST_F(ChecksDeathTest, CloseRangeOverAnOwnedDescriptor) {
  File file = journal();
  EXPECT_DEATH(::close_range(static_cast<unsigned>(file.fd().get()), ~0u, 0),
               printed(R"msg(uncopyable: ::close_range(<fd>, 4294967295, 0) would close <fd>, a descriptor owned by File; only its owner may close it (file "journal.log"))msg"));
}

TEST_F(ChecksDeathTest, ClosefromBelowAnOwnedDescriptor) {
  File file = journal();
  EXPECT_DEATH(::closefrom(file.fd().get()),
               printed(R"msg(uncopyable: ::closefrom(<fd>) would close <fd>, a descriptor owned by File; only its owner may close it (file "journal.log"))msg"));
}

TEST_F(ChecksDeathTest, FcloseOfAStreamOnAnOwnedDescriptor) {
  File file = journal();
  EXPECT_DEATH(
      {
        FILE* stream = ::fdopen(file.fd().get(), "r+");
        if (stream != nullptr) ::fclose(stream);
      },
      printed(R"msg(uncopyable: ::fclose() of a stream on <fd>, a descriptor owned by File; only its owner may close it (file "journal.log"))msg"));
}

TEST_F(ChecksDeathTest, ClosedirOfAStreamOnAnOwnedDescriptor) {
  Fd dir_fd(::open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  EXPECT_DEATH(
      {
        DIR* dir = ::fdopendir(dir_fd.get());
        if (dir != nullptr) ::closedir(dir);
      },
      printed(R"msg(uncopyable: ::closedir() of a stream on <fd>, a descriptor owned by Fd; only its owner may close it)msg"));
}

// What to do instead: give the descriptor away, then the stream may close it.
TEST_F(ChecksDeathTest, ReleaseToAStreamThatClosesIt) {
  Fd fd(::open("journal.log", O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  ASSERT_TRUE(fd);
  const int number = fd.get();
  // [guide:release-to-a-stream]
  FILE* stream = ::fdopen(fd.get(), "r+");    // borrows: `fd` still owns it
  if (stream != nullptr) (void)fd.release();  // the stream owns it now: fclose() may close it
  // [end]
  ASSERT_NE(stream, nullptr);
  EXPECT_EQ(::fileno(stream), number);
  EXPECT_EQ(::fclose(stream), 0);  // fine: the descriptor is the stream's
}

// --- MappedFile -----------------------------------------------------------------

TEST_F(ChecksDeathTest, WritableBytesOfAReadOnlyMapping) {
  absl::StatusOr<File> index = uncopyable::rebuild(FileConfig{
      .path = "index.bin", .access = uncopyable::FileAccess::write, .create = true,
      .truncate = true});
  ASSERT_TRUE(index.ok()) << index.status();
  ASSERT_TRUE(index->write("keys and offsets").ok());
  ASSERT_TRUE(index->close().ok());
  absl::StatusOr<uncopyable::MappedFile> mapped =
      uncopyable::rebuild(uncopyable::MappedFileConfig{.file = {.path = "index.bin"}});
  ASSERT_TRUE(mapped.ok()) << mapped.status();
  EXPECT_DEATH((void)mapped->mutable_bytes(),
               printed(R"msg(uncopyable: MappedFile::mutable_bytes() on a read-only mapping; map it with access=read_write (mapped file "index.bin"))msg"));
}

// --- SQLite ---------------------------------------------------------------------

TEST_F(ChecksDeathTest, AStatementOutlivesItsConnection) {
  EXPECT_DEATH(
      {
        std::optional<uncopyable::Statement> statement;
        {
          SqliteConnection db = database("app.db");
          statement.emplace(*db.prepare("SELECT 1"));
        }
      },
      printed(R"msg(uncopyable: SqliteConnection::~SqliteConnection() while 1 Statement(s) or Transaction(s) on it is alive; they must end first (sqlite "app.db"))msg"));
}

TEST_F(ChecksDeathTest, AMovedFromStatement) {
  SqliteConnection db = database("app.db");
  absl::StatusOr<uncopyable::Statement> select = db.prepare("SELECT 1");
  ASSERT_TRUE(select.ok()) << select.status();
  uncopyable::Statement taker = *std::move(select);
  EXPECT_DEATH((void)select->step(),
               printed(R"msg(uncopyable: Statement::step() on a moved-from handle)msg"));
}

TEST_F(ChecksDeathTest, AMovedFromTransaction) {
  SqliteConnection db = database("app.db");
  absl::StatusOr<uncopyable::Transaction> tx = db.begin();
  ASSERT_TRUE(tx.ok()) << tx.status();
  uncopyable::Transaction taker = *std::move(tx);
  EXPECT_DEATH((void)tx->commit(),
               printed(R"msg(uncopyable: Transaction::commit() on a moved-from handle)msg"));
  ASSERT_TRUE(taker.commit().ok());
}

TEST_F(ChecksDeathTest, CommittingTwice) {
  SqliteConnection db = database("app.db");
  absl::StatusOr<uncopyable::Transaction> tx = db.begin();
  ASSERT_TRUE(tx.ok()) << tx.status();
  ASSERT_TRUE(tx->commit().ok());
  EXPECT_DEATH((void)tx->commit(),
               printed(R"msg(uncopyable: Transaction::commit() on a transaction already committed or rolled back (sqlite "app.db"))msg"));
}

TEST_F(ChecksDeathTest, ASavepointOutlivesItsTransaction) {
  EXPECT_DEATH(
      {
        SqliteConnection db = database("app.db");
        std::optional<uncopyable::Savepoint> savepoint;
        {
          uncopyable::Transaction tx = *db.begin();
          savepoint.emplace(*tx.savepoint("work"));
        }
      },
      printed(R"msg(uncopyable: Transaction::~Transaction() while 1 Savepoint(s) on it is alive; they must end first (sqlite "app.db"))msg"));
}

TEST_F(ChecksDeathTest, EndingTheTransactionOrASavepointBeforeWhatIsInIt) {
  SqliteConnection db = database("app.db");
  uncopyable::Transaction tx = *db.begin();
  uncopyable::Savepoint outer = *tx.savepoint("outer");
  uncopyable::Savepoint inner = *outer.savepoint("inner");
  EXPECT_DEATH((void)outer.release(),
               printed(R"msg(uncopyable: Savepoint::release() while 1 Savepoint(s) inside it is alive; they must end first (sqlite "app.db"))msg"));
  ASSERT_TRUE(inner.release().ok());
  EXPECT_DEATH((void)tx.commit(),
               printed(R"msg(uncopyable: Transaction::commit() while 1 Savepoint(s) on it is alive; they must end first (sqlite "app.db"))msg"));
  EXPECT_DEATH((void)tx.savepoint("beside"),
               printed(R"msg(uncopyable: Transaction::savepoint() while 1 Savepoint(s) on it is alive; a new savepoint nests inside the innermost one: call its savepoint() (sqlite "app.db"))msg"));
  ASSERT_TRUE(outer.release().ok());
  ASSERT_TRUE(tx.commit().ok());
  EXPECT_DEATH((void)tx.savepoint("late"),
               printed(R"msg(uncopyable: Transaction::savepoint() on a transaction already committed or rolled back (sqlite "app.db"))msg"));
}

TEST_F(ChecksDeathTest, ANestedSavepointOutlivesItsOuterOne) {
  EXPECT_DEATH(
      {
        SqliteConnection db = database("app.db");
        uncopyable::Transaction tx = *db.begin();
        std::optional<uncopyable::Savepoint> inner;
        {
          uncopyable::Savepoint outer = *tx.savepoint("outer");
          inner.emplace(*outer.savepoint("inner"));
        }
      },
      printed(R"msg(uncopyable: Savepoint::~Savepoint() while 1 Savepoint(s) inside it is alive; they must end first (sqlite "app.db"))msg"));
}

TEST_F(ChecksDeathTest, ASavepointUsedAfterItEndedOrMoved) {
  SqliteConnection db = database("app.db");
  uncopyable::Transaction tx = *db.begin();
  uncopyable::Savepoint released = *tx.savepoint("released");
  ASSERT_TRUE(released.release().ok());
  EXPECT_DEATH((void)released.release(),
               printed(R"msg(uncopyable: Savepoint::release() on a savepoint already released or rolled back (sqlite "app.db"))msg"));
  uncopyable::Savepoint moving = *tx.savepoint("moving");
  uncopyable::Savepoint taker = std::move(moving);
  EXPECT_DEATH((void)moving.rollback(),
               printed(R"msg(uncopyable: Savepoint::rollback() on a moved-from handle)msg"));
  ASSERT_TRUE(taker.rollback().ok());
}

TEST_F(ChecksDeathTest, AColumnWithNoCurrentRow) {
  SqliteConnection db = database("app.db");
  absl::StatusOr<uncopyable::Statement> select = db.prepare("SELECT 1, 'one'");
  ASSERT_TRUE(select.ok()) << select.status();
  EXPECT_DEATH((void)select->get_int64(0),  // step() has not run yet
               printed(R"msg(uncopyable: Statement::get_int64() with no current row; step() must return true first (sqlite "app.db"))msg"));
}

TEST_F(ChecksDeathTest, AColumnOutsideTheRow) {
  SqliteConnection db = database("app.db");
  absl::StatusOr<uncopyable::Statement> select = db.prepare("SELECT 1, 'one'");
  ASSERT_TRUE(select.ok()) << select.status();
  ASSERT_TRUE(*select->step());
  EXPECT_DEATH((void)select->get_text(5),
               printed(R"msg(uncopyable: Statement::get_text(5) outside the row's 2 columns (sqlite "app.db"))msg"));
}

TEST_F(ChecksDeathTest, AColumnNameOutsideTheStatement) {
  SqliteConnection db = database("app.db");
  absl::StatusOr<uncopyable::Statement> select = db.prepare("SELECT 1, 'one'");
  ASSERT_TRUE(select.ok()) << select.status();
  EXPECT_DEATH((void)select->column_name(5),  // no step() needed
               printed(R"msg(uncopyable: Statement::column_name(5) outside the statement's 2 columns (sqlite "app.db"))msg"));
}

// Holds the thread that runs `SELECT wait_at_gate()` inside sqlite3_step()
// until released (or 10 s pass).
struct Gate {
  std::atomic<bool> inside{false};
  std::atomic<bool> release{false};

  static void wait(sqlite3_context* context, int, sqlite3_value**) {
    Gate* gate = static_cast<Gate*>(::sqlite3_user_data(context));
    gate->inside = true;
    for (int i = 0; i < 1000 && !gate->release; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ::sqlite3_result_int(context, 1);
  }
};

TEST_F(ChecksDeathTest, TwoThreadsOnAMultiThreadConnection) {
  EXPECT_DEATH(
      {
        absl::StatusOr<SqliteConnection> db = uncopyable::rebuild(
            SqliteConfig{.path = "app.db", .threading = uncopyable::SqliteThreading::multi_thread});
        Gate gate;
        ::sqlite3_create_function(db->get(), "wait_at_gate", 0, SQLITE_UTF8, &gate, &Gate::wait,
                                  nullptr, nullptr);
        std::thread slow([&] { (void)db->execute("SELECT wait_at_gate()"); });
        for (int i = 0; i < 1000 && !gate.inside; ++i) {
          std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        (void)db->execute("SELECT 1");  // aborts: the other thread is in a call
        gate.release = true;
        slow.join();
      },
      printed(R"msg(uncopyable: SqliteConnection::execute() by thread <thread> while thread <thread> is in a call on it; a connection serves one thread at a time (sqlite "app.db"))msg"));
}

TEST_F(ChecksDeathTest, MovingAConnectionAnotherThreadIsInACallOn) {
  EXPECT_DEATH(
      {
        absl::StatusOr<SqliteConnection> db = uncopyable::rebuild(
            SqliteConfig{.path = "app.db", .threading = uncopyable::SqliteThreading::multi_thread});
        Gate gate;
        ::sqlite3_create_function(db->get(), "wait_at_gate", 0, SQLITE_UTF8, &gate, &Gate::wait,
                                  nullptr, nullptr);
        std::thread slow([&] { (void)db->execute("SELECT wait_at_gate()"); });
        for (int i = 0; i < 1000 && !gate.inside; ++i) {
          std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        SqliteConnection taken = *std::move(db);  // aborts: the other thread is in a call
        gate.release = true;
        slow.join();
      },
      printed(R"msg(uncopyable: SqliteConnection::SqliteConnection(SqliteConnection&&) by thread <thread> while thread <thread> is in a call on it; a connection serves one thread at a time (sqlite "app.db"))msg"));
}

// --- fork ---------------------------------------------------------------------

TEST_F(ChecksDeathTest, TheParentsConnectionInAChild) {
  SqliteConnection db = database("runs.db");
  ASSERT_TRUE(db.execute("CREATE TABLE IF NOT EXISTS runs (who TEXT)").ok());
  EXPECT_DEATH(
      {
        // [guide:fork-misuse]
        if (::fork() == 0) {
          (void)db.execute("INSERT INTO runs VALUES ('child')");  // aborts, in the child
        }
        // [end]
        exit_as_the_child_did();
      },
      printed(R"msg(uncopyable: SqliteConnection::execute() in a fork()ed child on what its parent made; the child must rebuild() its own from config() (sqlite "runs.db"))msg"));
}

TEST_F(ChecksDeathTest, TheParentsStatementInAChild) {
  SqliteConnection db = database("app.db");
  absl::StatusOr<uncopyable::Statement> select = db.prepare("SELECT 1");
  ASSERT_TRUE(select.ok()) << select.status();
  EXPECT_DEATH(in_forked_child([&] { (void)select->step(); }),
               printed(R"msg(uncopyable: Statement::step() in a fork()ed child on what its parent made; the child must rebuild() its own from config() (sqlite "app.db"))msg"));
}

TEST_F(ChecksDeathTest, ASavepointReleasedInAForkedChild) {
  SqliteConnection db = database("app.db");
  uncopyable::Transaction tx = *db.begin();
  uncopyable::Savepoint savepoint = *tx.savepoint("parents");
  EXPECT_DEATH(in_forked_child([&] { (void)savepoint.release(); }),
               printed(R"msg(uncopyable: Savepoint::release() in a fork()ed child on what its parent made; the child must rebuild() its own from config() (sqlite "app.db"))msg"));
  ASSERT_TRUE(savepoint.release().ok());
}

TEST_F(ChecksDeathTest, AMutexHeldAcrossFork) {
  Mutex jobs = mutex({.name = "jobs"});
  EXPECT_DEATH(
      {
        jobs.lock();
        in_forked_child([&] { jobs.lock(); });  // nobody in the child would ever unlock it
      },
      printed(R"msg(uncopyable: Mutex::lock() in a fork()ed child (thread <thread>), but the lock was held by thread <thread> when the process forked; the child must rebuild() its own (mutex "jobs"))msg"));
}

// `cat` reads a pipe this test holds, so that one a dying death-test
// process leaves behind ends with it.
TEST_F(ChecksDeathTest, TheParentsSubprocessInAChild) {
  absl::StatusOr<uncopyable::Pipe> input = uncopyable::make_pipe();
  ASSERT_TRUE(input.ok()) << input.status();
  absl::StatusOr<uncopyable::Subprocess> cat = uncopyable::Subprocess::spawn(
      {.argv = {"cat"}, .passed_fds = {0}}, {input->reader.fd()});
  ASSERT_TRUE(cat.ok()) << cat.status();
  // <pid> is a number that changes from run to run (the death test's child
  // spawns its own `cat`).
  std::string line = printed(R"msg(uncopyable: Subprocess::wait() in a fork()ed child: the process belongs to the process that spawned it, which alone waits for and kills it (subprocess "cat" pid <pid>))msg");
  line.replace(line.find("<pid>"), 5, "[0-9]+");
  EXPECT_DEATH(in_forked_child([&] { (void)cat->wait(); }), line);
}

// --- Mutex --------------------------------------------------------------------

TEST_F(ChecksDeathTest, AMovedFromMutex) {
  Mutex jobs = mutex({.name = "jobs"});
  Mutex taker = std::move(jobs);
  EXPECT_DEATH(jobs.lock(), printed(R"msg(uncopyable: Mutex::lock() on a moved-from handle)msg"));
}

TEST_F(ChecksDeathTest, UnlockingAFreeMutex) {
  Mutex jobs = mutex({.name = "jobs"});
  EXPECT_DEATH(jobs.unlock(),
               printed(R"msg(uncopyable: Mutex::unlock() by thread <thread>, which does not hold it; no thread does (mutex "jobs"))msg"));
}

TEST_F(ChecksDeathTest, UnlockingAnotherThreadsMutex) {
  Mutex jobs = mutex({.name = "jobs"});
  EXPECT_DEATH(
      {
        std::thread([&] { jobs.lock(); }).join();
        jobs.unlock();
      },
      printed(R"msg(uncopyable: Mutex::unlock() by thread <thread>, which does not hold it; thread <thread> does (mutex "jobs"))msg"));
}

TEST_F(ChecksDeathTest, LockingTwice) {
  Mutex jobs = mutex({.name = "jobs"});
  EXPECT_DEATH(
      {
        jobs.lock();
        jobs.lock();
      },
      printed(R"msg(uncopyable: Mutex::lock() by thread <thread>, which already holds it: a self-deadlock (mutex "jobs"))msg"));
}

TEST_F(ChecksDeathTest, DestroyingAHeldMutex) {
  EXPECT_DEATH(
      {
        Mutex jobs = mutex({.name = "jobs"});
        jobs.lock();
      },
      printed(R"msg(uncopyable: Mutex::~Mutex() while held by thread <thread> (mutex "jobs"))msg"));
}

TEST_F(ChecksDeathTest, MovingAHeldMutex) {
  Mutex jobs = mutex({.name = "jobs"});
  EXPECT_DEATH(
      {
        jobs.lock();
        Mutex elsewhere = std::move(jobs);
      },
      printed(R"msg(uncopyable: Mutex::Mutex(Mutex&&) while held by thread <thread> (mutex "jobs"))msg"));
}

TEST_F(ChecksDeathTest, AssigningToAHeldMutex) {
  Mutex jobs = mutex({.name = "jobs"});
  EXPECT_DEATH(
      {
        jobs.lock();
        jobs = mutex({.name = "fresh"});  // the holder would be left holding nothing
      },
      printed(R"msg(uncopyable: Mutex::operator=(Mutex&&) while held by thread <thread> (mutex "jobs"))msg"));
}

TEST_F(ChecksDeathTest, LockOrderInversion) {
  const MutexConfig checked{.name = "accounts", .lock_order_checking = true};
  Mutex accounts = mutex(checked);
  Mutex ledger = mutex({.name = "ledger", .lock_order_checking = true});
  {
    uncopyable::MutexLock a(accounts);
    uncopyable::MutexLock b(ledger);
  }
  EXPECT_DEATH(
      {
        uncopyable::MutexLock b(ledger);
        uncopyable::MutexLock a(accounts);
      },
      printed(R"msg(uncopyable: Mutex::lock() while holding mutex "ledger", which was taken earlier while holding this one: a lock-order inversion (mutex "accounts"))msg"));
}

TEST_F(ChecksDeathTest, AssertHeldByTheWrongThread) {
  Mutex jobs = mutex({.name = "jobs"});
  EXPECT_DEATH(jobs.assert_held(),
               printed(R"msg(uncopyable: Mutex::assert_held() by thread <thread>, which does not hold it; no thread does (mutex "jobs"))msg"));
}

TEST_F(ChecksDeathTest, PlainLockAfterTheOwnerDied) {
  const MutexConfig robust{.name = "jobs", .robust = true};
  Mutex jobs = mutex(robust);
  EXPECT_DEATH(
      {
        std::thread([&] { jobs.lock(); }).join();  // the thread ends holding it
        jobs.lock();
      },
      printed(R"msg(uncopyable: Mutex::lock() found that the previous owner died holding it; use lock_robust(), which reports this so the guarded data can be repaired (mutex "jobs"))msg"));
}

TEST_F(ChecksDeathTest, LockingAnUnrecoverableMutex) {
  const MutexConfig robust{.name = "jobs", .robust = true};
  Mutex jobs = mutex(robust);
  EXPECT_DEATH(
      {
        std::thread([&] { jobs.lock(); }).join();
        if (jobs.lock_robust() != uncopyable::LockOutcome::owner_died) ::_exit(0);
        jobs.unlock();  // not marked consistent: nobody can have it now
        jobs.lock();
      },
      printed(R"msg(uncopyable: Mutex::lock() on a lock made unrecoverable (an owner died and it was never marked consistent); rebuild the lock (mutex "jobs"))msg"));
}

TEST_F(ChecksDeathTest, MarkingAHealthyMutexConsistent) {
  Mutex jobs = mutex({.name = "jobs", .robust = true});
  EXPECT_DEATH(
      {
        jobs.lock();
        jobs.mark_consistent();  // nothing died: there is nothing to mark
      },
      printed(R"msg(uncopyable: Mutex::mark_consistent() on a lock that no dead owner left inconsistent; call it only after lock_robust() returned owner_died (mutex "jobs"))msg"));
}

TEST_F(ChecksDeathTest, WaitingForAHolderThatExited) {
  Mutex jobs = mutex({.name = "jobs"});
  EXPECT_DEATH(
      {
        ::alarm(10);  // without the check the wait never ends; the alarm fails the test
        std::thread([&] { jobs.lock(); }).join();  // the thread ends holding it
        jobs.lock();
      },
      printed(R"msg(uncopyable: Mutex::lock() by thread <thread> waits for thread <thread>, which exited while holding it (mutex "jobs"))msg"));
}

// --- Testing helpers --------------------------------------------------------------

TEST_F(ChecksDeathTest, TwoFaultInjectors) {
  EXPECT_DEATH(
      {
        uncopyable::testing::FaultInjector first;
        uncopyable::testing::FaultInjector second;
      },
      printed(R"msg(uncopyable: FaultInjector: a second injector armed while one is)msg"));
}

TEST_F(ChecksDeathTest, AFaultPlanThatCannotHappen) {
  uncopyable::testing::FaultInjector fault;
  EXPECT_DEATH(fault.fail_nth(0, EIO),
               printed(R"msg(uncopyable: FaultInjector::fail_nth(0, 5, times=1): needs n >= 1, errno > 0, times >= 1)msg"));
}

// --- Pool -------------------------------------------------------------------

TEST_F(ChecksDeathTest, PoolDestroyedWithALeaseAlive) {
  ::unlink("journal.log");
  EXPECT_DEATH(
      {
        std::optional<uncopyable::PoolLease<File>> lease;
        absl::StatusOr<uncopyable::Pool<File>> pool = journal_pool();
        lease.emplace(*pool->acquire());
        pool = absl::InvalidArgumentError("gone");  // destroys the pool: aborts
      },
      printed(R"msg(uncopyable: Pool::~Pool() while 1 PoolLease(s) or acquire() call(s) on it is alive; they must end first (pool of file "journal.log"))msg"));
}

TEST_F(ChecksDeathTest, PoolAssignedOverWithALeaseAlive) {
  ::unlink("journal.log");
  EXPECT_DEATH(
      {
        absl::StatusOr<uncopyable::Pool<File>> pool = journal_pool();
        absl::StatusOr<uncopyable::Pool<File>> other = journal_pool();
        auto lease = pool->acquire();
        *pool = *std::move(other);  // aborts
      },
      printed(
          R"msg(uncopyable: Pool::operator=(Pool&&) while 1 PoolLease(s) or acquire() call(s) on it is alive; they must end first (pool of file "journal.log"))msg"));
}

TEST_F(ChecksDeathTest, PoolLeaseAfterMove) {
  ::unlink("journal.log");
  absl::StatusOr<uncopyable::Pool<File>> pool = journal_pool();
  ASSERT_TRUE(pool.ok()) << pool.status();
  EXPECT_DEATH(
      {
        absl::StatusOr<uncopyable::PoolLease<File>> lease = pool->acquire();
        uncopyable::PoolLease<File> mine = *std::move(lease);
        (void)lease->get();  // aborts
      },
      printed(R"msg(uncopyable: PoolLease::get() on a moved-from handle)msg"));
}

TEST_F(ChecksDeathTest, PoolAfterMove) {
  ::unlink("journal.log");
  absl::StatusOr<uncopyable::Pool<File>> pool = journal_pool();
  ASSERT_TRUE(pool.ok()) << pool.status();
  uncopyable::Pool<File> mine = *std::move(pool);
  EXPECT_DEATH((void)pool->acquire(),
               printed(R"msg(uncopyable: Pool::acquire() on a moved-from handle)msg"));
}

TEST_F(ChecksDeathTest, PoolLeaseReleasedTwice) {
  ::unlink("journal.log");
  absl::StatusOr<uncopyable::Pool<File>> pool = journal_pool();
  ASSERT_TRUE(pool.ok()) << pool.status();
  EXPECT_DEATH(
      {
        absl::StatusOr<uncopyable::PoolLease<File>> lease = pool->acquire();
        lease->release();
        lease->release();  // aborts
      },
      printed(R"msg(uncopyable: PoolLease::release() on a closed handle (a lease))msg"));
}

TEST_F(ChecksDeathTest, PoolDestroyedInItsOwnLeakHandler) {
  ::unlink("journal.log");
  EXPECT_DEATH(
      {
        auto* pool = new std::optional<uncopyable::Pool<File>>(
            *journal_pool({.leak_threshold = absl::Milliseconds(1)}));
        (*pool)->set_leak_handler([pool](const uncopyable::PoolLeak&) {
          std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the lease ended
          pool->reset();  // aborts
        });
        {
          absl::StatusOr<uncopyable::PoolLease<File>> lease = (*pool)->acquire();
          std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        std::this_thread::sleep_for(std::chrono::seconds(10));
      },
      printed(
          R"msg(uncopyable: Pool::~Pool() from its own thread, in its leak handler (pool of file "journal.log"))msg"));
}

}  // namespace
}  // namespace guide
