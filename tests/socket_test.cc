#include "uncopyable/socket.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/temp_path.h"
#include "uncopyable/config_json.h"

namespace uncopyable {
namespace {

using ::testing::HasSubstr;
using testing::TempPath;

static_assert(Rebuildable<Socket>);
static_assert(Rebuildable<Listener>);
// An accepted connection cannot be made again from data: its type says so.
static_assert(!Rebuildable<Connection>);
static_assert(!std::is_copy_constructible_v<Socket>);
static_assert(!std::is_copy_constructible_v<Connection>);

constexpr absl::Duration kWait = absl::Seconds(5);

Listener listen_on(Endpoint endpoint) {
  absl::StatusOr<Listener> listener = Listener::open({.endpoint = std::move(endpoint)});
  EXPECT_TRUE(listener.ok()) << listener.status();
  return *std::move(listener);
}

Socket dial(const Endpoint& endpoint) {
  absl::StatusOr<Socket> socket = Socket::open({.endpoint = endpoint, .connect_timeout = kWait});
  EXPECT_TRUE(socket.ok()) << socket.status();
  return *std::move(socket);
}

// A round trip both ways over a fresh pair.
void exchange(Listener& listener) {
  Socket client = dial(listener.endpoint());
  absl::StatusOr<Connection> server = listener.accept(kWait);
  ASSERT_TRUE(server.ok()) << server.status();
  ASSERT_TRUE(client.send("ping").ok());
  std::string buffer(4, '\0');
  ASSERT_TRUE(server->receive_exactly(absl::MakeSpan(buffer)).ok());
  EXPECT_EQ(buffer, "ping");
  ASSERT_TRUE(server->send("pong").ok());
  ASSERT_TRUE(client.receive_exactly(absl::MakeSpan(buffer)).ok());
  EXPECT_EQ(buffer, "pong");
  EXPECT_TRUE(client.close().ok());
  EXPECT_TRUE(server->close().ok());
}

TEST(SocketTest, EchoesOverEveryKindOfEndpoint) {
  Listener v4 = listen_on(Endpoint::tcp("127.0.0.1", 0));
  exchange(v4);
  Listener v6 = listen_on(Endpoint::tcp("::1", 0));
  exchange(v6);
  Listener named = listen_on(Endpoint::tcp("localhost", 0));
  exchange(named);
  TempPath path = TempPath::for_socket("echo.sock");
  Listener local = listen_on(Endpoint::unix_socket(path.path()));
  exchange(local);
  Listener abstract = listen_on(Endpoint::abstract_unix("uncopyable-test-" + std::to_string(::getpid())));
  exchange(abstract);
}

TEST(SocketTest, PortZeroReportsThePortItGotAndKeepsTheConfig) {
  Listener listener = listen_on(Endpoint::tcp("127.0.0.1", 0));
  EXPECT_NE(listener.endpoint().port(), 0);
  EXPECT_EQ(listener.config().endpoint.port(), 0);
  absl::StatusOr<Listener> again = listener.rebuild();
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_NE(again->endpoint().port(), listener.endpoint().port());
}

TEST(SocketTest, KnowsBothEnds) {
  Listener listener = listen_on(Endpoint::tcp("127.0.0.1", 0));
  Socket client = dial(listener.endpoint());
  absl::StatusOr<Connection> server = listener.accept(kWait);
  ASSERT_TRUE(server.ok());
  absl::StatusOr<Endpoint> peer = client.peer_endpoint();
  ASSERT_TRUE(peer.ok()) << peer.status();
  EXPECT_EQ(*peer, listener.endpoint());
  absl::StatusOr<Endpoint> local = client.local_endpoint();
  ASSERT_TRUE(local.ok());
  EXPECT_EQ(*server->peer_endpoint(), *local);
}

TEST(SocketTest, PeerClosingIsEndOfStreamThenOutOfRange) {
  Listener listener = listen_on(Endpoint::tcp("127.0.0.1", 0));
  Socket client = dial(listener.endpoint());
  absl::StatusOr<Connection> server = listener.accept(kWait);
  ASSERT_TRUE(server.ok());
  ASSERT_TRUE(server->send("ab").ok());
  ASSERT_TRUE(server->close().ok());
  std::string buffer(5, '\0');
  const absl::Status status = client.receive_exactly(absl::MakeSpan(buffer));
  EXPECT_EQ(status.code(), absl::StatusCode::kOutOfRange);
  EXPECT_THAT(status.message(), HasSubstr("the peer closed the connection after 2 of 5 bytes"));
  EXPECT_EQ(*client.receive(absl::MakeSpan(buffer)), 0u);
}

TEST(SocketTest, TimeoutsAreDeadlineExceeded) {
  Listener listener = listen_on(Endpoint::tcp("127.0.0.1", 0));
  absl::StatusOr<Connection> none = listener.accept(absl::Milliseconds(50));
  EXPECT_EQ(none.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(none.status().message(), HasSubstr("no connection within 50ms"));
  absl::StatusOr<Socket> client = Socket::open(
      {.endpoint = listener.endpoint(), .receive_timeout = absl::Milliseconds(50)});
  ASSERT_TRUE(client.ok()) << client.status();
  char byte;
  absl::StatusOr<size_t> got = client->receive(absl::MakeSpan(&byte, 1));
  EXPECT_EQ(got.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(got.status().message(), HasSubstr(listener.endpoint().to_string()));
}

TEST(SocketTest, OptionsFromTheConfigAreSet) {
  Listener listener = listen_on(Endpoint::tcp("127.0.0.1", 0));
  absl::StatusOr<Socket> client = Socket::open({.endpoint = listener.endpoint(),
                                                .no_delay = true,
                                                .keep_alive = true,
                                                .receive_buffer = 65536});
  ASSERT_TRUE(client.ok()) << client.status();
  int value = 0;
  socklen_t size = sizeof value;
  ASSERT_EQ(::getsockopt(client->fd().get(), IPPROTO_TCP, TCP_NODELAY, &value, &size), 0);
  EXPECT_NE(value, 0);
  ASSERT_EQ(::getsockopt(client->fd().get(), SOL_SOCKET, SO_KEEPALIVE, &value, &size), 0);
  EXPECT_NE(value, 0);
  EXPECT_NE(::fcntl(client->fd().get(), F_GETFD) & FD_CLOEXEC, 0);
  EXPECT_EQ(::fcntl(client->fd().get(), F_GETFL) & O_NONBLOCK, 0);  // blocking after connect
}

TEST(SocketTest, UnixSocketFileHasItsModeAndGoesWithTheListener) {
  TempPath path = TempPath::for_socket("mode.sock");
  {
    absl::StatusOr<Listener> listener = Listener::open(
        {.endpoint = Endpoint::unix_socket(path.path()), .socket_mode = Permissions(0660)});
    ASSERT_TRUE(listener.ok()) << listener.status();
    struct stat info;
    ASSERT_EQ(::stat(path.path().c_str(), &info), 0);
    EXPECT_EQ(info.st_mode & 0777, 0660u);
    // A second listener on a live socket file is refused, not a takeover.
    absl::StatusOr<Listener> second = Listener::open({.endpoint = Endpoint::unix_socket(path.path())});
    EXPECT_THAT(second.status().message(), HasSubstr("[EADDRINUSE]"));
  }
  EXPECT_NE(::access(path.path().c_str(), F_OK), 0) << "the socket file was left behind";
}

// Leaves a socket file nobody listens on, as a crashed server would.
void leave_stale_socket(const std::string& path) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, path.c_str(), sizeof address.sun_path - 1);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  ::close(fd);
}

TEST(SocketTest, StaleUnixSocketFileIsReplacedOnlyIfAsked) {
  TempPath path = TempPath::for_socket("stale.sock");
  leave_stale_socket(path.path());
  absl::StatusOr<Listener> strict =
      Listener::open({.endpoint = Endpoint::unix_socket(path.path()), .remove_stale = false});
  EXPECT_THAT(strict.status().message(), HasSubstr("[EADDRINUSE]"));
  Listener listener = listen_on(Endpoint::unix_socket(path.path()));  // remove_stale: the default
  exchange(listener);
}

TEST(SocketTest, RebuildReconnectsToTheSameEndpoint) {
  Listener listener = listen_on(Endpoint::tcp("127.0.0.1", 0));
  Socket client = dial(listener.endpoint());
  absl::StatusOr<Socket> again = client.rebuild();
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->config(), client.config());
  EXPECT_NE(*again->local_endpoint(), *client.local_endpoint());  // a new connection
  EXPECT_TRUE(listener.accept(kWait).ok());
  EXPECT_TRUE(listener.accept(kWait).ok());
}

TEST(SocketConfigTest, RulesAndJson) {
  EXPECT_EQ(SocketConfig{}.validate().message(),
            "SocketConfig.endpoint: a TCP port to connect to cannot be 0");
  const SocketConfig impatient{.endpoint = Endpoint::tcp("h", 1),
                               .connect_timeout = absl::ZeroDuration()};
  EXPECT_EQ(impatient.validate().message(), "SocketConfig.connect_timeout: must be positive");
  EXPECT_EQ(ListenerConfig{.backlog = -1}.validate().message(),
            "ListenerConfig.backlog: -1 is out of range [0, 65535]");
  const SocketConfig config{.endpoint = Endpoint::tcp("::1", 5432),
                            .receive_timeout = absl::Milliseconds(1500)};
  EXPECT_EQ(to_json(config),
            "{\"endpoint\":\"tcp://[::1]:5432\",\"connect_timeout\":\"10s\","
            "\"send_timeout\":\"inf\",\"receive_timeout\":\"1.5s\",\"no_delay\":true,"
            "\"keep_alive\":false,\"send_buffer\":0,\"receive_buffer\":0,"
            "\"close_on_exec\":true}");
  EXPECT_EQ(*from_json<SocketConfig>(to_json(config)), config);
  EXPECT_EQ(from_json<SocketConfig>(R"({"endpoint":"tcp://h:0"})").status().message(),
            "SocketConfig.endpoint: a TCP port to connect to cannot be 0");
}

}  // namespace
}  // namespace uncopyable
