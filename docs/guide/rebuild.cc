// docs/guide.md, "Rebuild instead of clone": a second handle is built from
// the config, and is independent of the first. An accepted Connection has
// no config, so it cannot be rebuilt, and the type says so.
#include <unistd.h>

#include <optional>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "docs/guide/guide_testing.h"
#include "gtest/gtest.h"
#include "uncopyable/file.h"
#include "uncopyable/rebuildable.h"
#include "uncopyable/socket.h"
#include "uncopyable/sqlite.h"

namespace guide {
namespace {

struct Pair {
  uncopyable::File writer;
  uncopyable::File reader;
};

absl::StatusOr<Pair> open_pair(const uncopyable::FileConfig& config) {
  // [guide:rebuild]
  absl::StatusOr<uncopyable::File> writer = uncopyable::rebuild(config);  // open(2)
  if (!writer.ok()) return writer.status();
  absl::StatusOr<uncopyable::File> reader = writer->rebuild();  // another open(2), not dup(2)
  if (!reader.ok()) return reader.status();
  // [end]
  return Pair{*std::move(writer), *std::move(reader)};
}

// [guide:reconnect]
template <uncopyable::Rebuildable Handle>
absl::StatusOr<Handle> reconnect(const Handle& broken) {
  return broken.rebuild();  // same config, fresh resource
}
// [end]

// [guide:not-rebuildable]
static_assert(uncopyable::Rebuildable<uncopyable::File>);
static_assert(uncopyable::Rebuildable<uncopyable::SqliteConnection>);
static_assert(uncopyable::Rebuildable<uncopyable::Socket>);       // dialled from a SocketConfig
static_assert(!uncopyable::Rebuildable<uncopyable::Connection>);  // from accept(): no config
// [end]

TEST(RebuildTest, TheRebuiltFileIsIndependent) {
  enter_scratch_directory();
  const uncopyable::FileConfig config{.path = "pair.dat",
                                      .access = uncopyable::FileAccess::read_write,
                                      .create = true,
                                      .truncate = true};
  absl::StatusOr<Pair> pair = open_pair(config);
  ASSERT_TRUE(pair.ok()) << pair.status();
  uncopyable::File& writer = pair->writer;
  uncopyable::File& reader = pair->reader;

  // Its own descriptor, built from the same data.
  EXPECT_NE(writer.fd(), reader.fd());
  EXPECT_EQ(reader.config(), writer.config());

  // Its own offset: the writer's write does not move the reader.
  ASSERT_TRUE(writer.write("hello").ok());
  std::string text(5, '\0');
  absl::StatusOr<size_t> got = reader.read(absl::MakeSpan(text));
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(text, "hello");

  // Its own locks: a dup(2) would share the writer's lock; a rebuild waits.
  absl::StatusOr<uncopyable::FileLock> held = writer.lock(uncopyable::LockKind::exclusive);
  ASSERT_TRUE(held.ok()) << held.status();
  absl::StatusOr<std::optional<uncopyable::FileLock>> second =
      reader.try_lock(uncopyable::LockKind::exclusive);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_FALSE(second->has_value());
  ASSERT_TRUE(held->unlock().ok());

  // Its own life: closing the writer leaves the reader open.
  ASSERT_TRUE(writer.close().ok());
  absl::StatusOr<uint64_t> size = reader.size();
  ASSERT_TRUE(size.ok()) << size.status();
  EXPECT_EQ(*size, 5u);
  EXPECT_TRUE(reader.close().ok());
}

TEST(RebuildTest, ReconnectDialsAgain) {
  absl::StatusOr<uncopyable::Listener> server =
      uncopyable::rebuild(uncopyable::ListenerConfig{.endpoint = uncopyable::Endpoint::tcp("127.0.0.1", 0)});
  ASSERT_TRUE(server.ok()) << server.status();
  absl::StatusOr<uncopyable::Socket> client =
      uncopyable::rebuild(uncopyable::SocketConfig{.endpoint = server->endpoint()});
  ASSERT_TRUE(client.ok()) << client.status();
  absl::StatusOr<uncopyable::Connection> first = server->accept(absl::Seconds(5));
  ASSERT_TRUE(first.ok()) << first.status();

  absl::StatusOr<uncopyable::Socket> again = reconnect(*client);
  ASSERT_TRUE(again.ok()) << again.status();
  absl::StatusOr<uncopyable::Connection> second = server->accept(absl::Seconds(5));
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(again->config(), client->config());
  EXPECT_NE(again->fd(), client->fd());

  // Two connections: what goes down one does not come up the other.
  ASSERT_TRUE(again->send("2").ok());
  ASSERT_TRUE(client->send("1").ok());
  char byte = 0;
  ASSERT_TRUE(second->receive_exactly(absl::MakeSpan(&byte, 1)).ok());
  EXPECT_EQ(byte, '2');
  ASSERT_TRUE(first->receive_exactly(absl::MakeSpan(&byte, 1)).ok());
  EXPECT_EQ(byte, '1');
}

TEST(RebuildTest, ARebuildDoesWhatTheConfigSaysAgain) {
  enter_scratch_directory();
  ::unlink("fresh.lock");
  // "Create it, and fail if it exists": true the first time only.
  absl::StatusOr<uncopyable::File> first = uncopyable::rebuild(uncopyable::FileConfig{
      .path = "fresh.lock", .access = uncopyable::FileAccess::write, .create = true,
      .exclusive = true});
  ASSERT_TRUE(first.ok()) << first.status();
  absl::StatusOr<uncopyable::File> second = first->rebuild();
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.status().message().find("fresh.lock"), absl::string_view::npos)
      << second.status();

  // "Empty it on open": a rebuilt writer empties the file again. A reader
  // is another config: copy this one and change what differs.
  absl::StatusOr<uncopyable::File> log = uncopyable::rebuild(uncopyable::FileConfig{
      .path = "run.log", .access = uncopyable::FileAccess::write, .create = true,
      .truncate = true});
  ASSERT_TRUE(log.ok()) << log.status();
  ASSERT_TRUE(log->write("kept?").ok());
  absl::StatusOr<uncopyable::File> again = log->rebuild();
  ASSERT_TRUE(again.ok()) << again.status();
  absl::StatusOr<uint64_t> emptied = log->size();
  ASSERT_TRUE(emptied.ok()) << emptied.status();
  EXPECT_EQ(*emptied, 0u);
  uncopyable::FileConfig reading = log->config();
  reading.access = uncopyable::FileAccess::read;
  EXPECT_FALSE(uncopyable::rebuild(reading).ok());  // create and truncate need write access
  reading.create = false;
  reading.truncate = false;
  absl::StatusOr<uncopyable::File> reader = uncopyable::rebuild(reading);
  ASSERT_TRUE(reader.ok()) << reader.status();

  // "Any free port": a rebuilt listener gets a port of its own.
  absl::StatusOr<uncopyable::Listener> server = uncopyable::rebuild(
      uncopyable::ListenerConfig{.endpoint = uncopyable::Endpoint::tcp("127.0.0.1", 0)});
  ASSERT_TRUE(server.ok()) << server.status();
  absl::StatusOr<uncopyable::Listener> other = server->rebuild();
  ASSERT_TRUE(other.ok()) << other.status();
  EXPECT_EQ(other->config(), server->config());
  EXPECT_EQ(other->config().endpoint.port(), 0);
  EXPECT_NE(other->endpoint(), server->endpoint());
}

TEST(RebuildTest, ASecondSqliteConnectionSeesCommittedData) {
  enter_scratch_directory();
  ::unlink("league.db");
  absl::StatusOr<uncopyable::SqliteConnection> writer =
      uncopyable::rebuild(uncopyable::SqliteConfig{.path = "league.db"});
  ASSERT_TRUE(writer.ok()) << writer.status();
  absl::StatusOr<uncopyable::SqliteConnection> reader = reconnect(*writer);
  ASSERT_TRUE(reader.ok()) << reader.status();
  EXPECT_NE(reader->get(), writer->get());
  ASSERT_TRUE(writer->execute("CREATE TABLE teams (name TEXT); INSERT INTO teams VALUES ('owls')").ok());
  absl::StatusOr<uncopyable::Statement> count = reader->prepare("SELECT count(*) FROM teams");
  ASSERT_TRUE(count.ok()) << count.status();
  ASSERT_TRUE(*count->step());
  EXPECT_EQ(count->get_int64(0), 1);
}

}  // namespace
}  // namespace guide
