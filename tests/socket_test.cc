#include "uncopyable/socket.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/finishes_in_time.h"
#include "tests/testing/forked_child.h"
#include "tests/testing/temp_path.h"
#include "uncopyable/config_json.h"

namespace uncopyable {
namespace {

using ::testing::HasSubstr;
using testing::finishes_in_time;
using testing::is;
using testing::TempPath;

static_assert(Rebuildable<Socket>);
static_assert(Rebuildable<Listener>);
// An accepted connection cannot be made again from data: its type says so.
static_assert(!Rebuildable<Connection>);
static_assert(!std::is_copy_constructible_v<Socket>);
static_assert(!std::is_copy_constructible_v<Connection>);
// Their moves are the members' own (= default or implicit), and never throw.
static_assert(std::is_nothrow_move_constructible_v<Socket> &&
              std::is_nothrow_move_assignable_v<Socket>);
static_assert(std::is_nothrow_move_constructible_v<Connection> &&
              std::is_nothrow_move_assignable_v<Connection>);
static_assert(std::is_nothrow_move_constructible_v<Listener> &&
              std::is_nothrow_move_assignable_v<Listener>);

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

// endpoint() is the address bound, not the configured name: "localhost"
// binds only the first address it resolves to, and a client dialing the
// name could reach another. Before, endpoint() said tcp://localhost:<port>.
TEST(SocketTest, EndpointIsTheAddressBoundNotTheName) {
  Listener named = listen_on(Endpoint::tcp("localhost", 0));
  EXPECT_EQ(named.config().endpoint.address(), "localhost");
  const std::string bound = named.endpoint().address();
  EXPECT_THAT(bound, ::testing::AnyOf("127.0.0.1", "::1"));
  sockaddr_storage storage{};
  socklen_t length = sizeof storage;
  ASSERT_EQ(::getsockname(named.fd().get(), reinterpret_cast<sockaddr*>(&storage), &length), 0);
  EXPECT_EQ(storage.ss_family == AF_INET ? "127.0.0.1" : "::1", bound);
  EXPECT_NE(named.endpoint().port(), 0);
  EXPECT_THAT(named.resource(), HasSubstr(named.endpoint().to_string()));
  Socket client = dial(named.endpoint());
  absl::StatusOr<Connection> server = named.accept(kWait);
  ASSERT_TRUE(server.ok()) << server.status();
  absl::StatusOr<Endpoint> peer = client.peer_endpoint();
  ASSERT_TRUE(peer.ok()) << peer.status();
  EXPECT_EQ(*peer, named.endpoint());

  for (const char* literal : {"127.0.0.1", "::1"}) {
    Listener listener = listen_on(Endpoint::tcp(literal, 0));
    EXPECT_EQ(listener.endpoint().address(), literal);
    EXPECT_EQ(listener.config().endpoint.port(), 0);
    EXPECT_NE(listener.endpoint().port(), 0);
  }
  // An address written another way is said the usual way.
  Listener long_form = listen_on(Endpoint::tcp("0:0:0:0:0:0:0:1", 0));
  EXPECT_EQ(long_form.endpoint().address(), "::1");
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
  const std::string endpoint = listener.endpoint().to_string();
  EXPECT_EQ(none.status().message(),
            "accept listener on " + endpoint + ": no connection within 50ms");
  absl::StatusOr<Socket> client = Socket::open(
      {.endpoint = listener.endpoint(), .receive_timeout = absl::Milliseconds(50)});
  ASSERT_TRUE(client.ok()) << client.status();
  char byte;
  absl::StatusOr<size_t> got = client->receive(absl::MakeSpan(&byte, 1));
  EXPECT_EQ(got.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(got.status().message(), "receive socket to " + endpoint + ": timed out");
}

// The kernel takes timeouts in microseconds and reads {0, 0} as "none": a
// timeout under 1us is rounded up, never down to "wait forever".
TEST(SocketTest, SubMicrosecondTimeoutsStillTimeOut) {
  Listener listener = listen_on(Endpoint::tcp("127.0.0.1", 0));
  absl::StatusOr<Socket> receiver =
      Socket::open({.endpoint = listener.endpoint(), .receive_timeout = absl::Nanoseconds(500)});
  ASSERT_TRUE(receiver.ok()) << receiver.status();
  char byte;
  ASSERT_NO_FATAL_FAILURE(finishes_in_time([&] {
    return is(receiver->receive(absl::MakeSpan(&byte, 1)).status(),
              absl::StatusCode::kDeadlineExceeded);
  }));

  // The same written in JSON.
  absl::StatusOr<SocketConfig> from_text = from_json<SocketConfig>(
      R"({"endpoint":")" + listener.endpoint().to_string() + R"(","receive_timeout":"0.5us"})");
  ASSERT_TRUE(from_text.ok()) << from_text.status();
  EXPECT_EQ(from_text->receive_timeout, absl::Nanoseconds(500));
  absl::StatusOr<Socket> parsed = Socket::open(*from_text);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  ASSERT_NO_FATAL_FAILURE(finishes_in_time([&] {
    return is(parsed->receive(absl::MakeSpan(&byte, 1)).status(),
              absl::StatusCode::kDeadlineExceeded);
  }));

  // Sending to a peer that never reads.
  absl::StatusOr<Socket> sender =
      Socket::open({.endpoint = listener.endpoint(), .send_timeout = absl::Nanoseconds(500)});
  ASSERT_TRUE(sender.ok()) << sender.status();
  ASSERT_NO_FATAL_FAILURE(finishes_in_time([&] {
    return is(sender->send(std::string(64 << 20, 'x')), absl::StatusCode::kDeadlineExceeded);
  }));

  // Connecting to a listener whose backlog is full: the SYN is dropped.
  Listener full = *Listener::open({.endpoint = Endpoint::tcp("127.0.0.1", 0), .backlog = 0});
  ASSERT_NO_FATAL_FAILURE(finishes_in_time([&] {
    std::vector<Socket> waiting;  // never accepted
    absl::Status status;
    for (int i = 0; i < 64 && status.ok(); ++i) {
      absl::StatusOr<Socket> client =
          Socket::open({.endpoint = full.endpoint(), .connect_timeout = absl::Nanoseconds(500)});
      status = client.status();
      if (client.ok()) waiting.push_back(*std::move(client));
    }
    return is(status, absl::StatusCode::kDeadlineExceeded);
  }));
}

// The socket option `name` (SO_RCVTIMEO or SO_SNDTIMEO) as the kernel has it.
absl::Duration kernel_timeout(FdView fd, int name) {
  timeval value{-1, -1};
  socklen_t size = sizeof value;
  EXPECT_EQ(::getsockopt(fd.get(), SOL_SOCKET, name, &value, &size), 0) << std::strerror(errno);
  return absl::DurationFromTimeval(value);
}

// A client that connects and sends nothing cannot make the server's
// receive() wait for ever: the listener's timeouts go on every connection
// it accepts (review PEERS6 finding 2).
TEST(SocketTest, AnAcceptedConnectionTimesOutASilentClient) {
  absl::StatusOr<Listener> listener = Listener::open({.endpoint = Endpoint::tcp("127.0.0.1", 0),
                                                      .send_timeout = absl::Milliseconds(100),
                                                      .receive_timeout = absl::Milliseconds(100)});
  ASSERT_TRUE(listener.ok()) << listener.status();
  Socket client = dial(listener->endpoint());
  absl::StatusOr<Connection> server = listener->accept(kWait);
  ASSERT_TRUE(server.ok()) << server.status();
  EXPECT_EQ(kernel_timeout(server->fd(), SO_RCVTIMEO), absl::Milliseconds(100));
  EXPECT_EQ(kernel_timeout(server->fd(), SO_SNDTIMEO), absl::Milliseconds(100));
  const std::string peer = client.local_endpoint()->to_string();
  char byte;
  ASSERT_NO_FATAL_FAILURE(finishes_in_time([&] {
    const absl::Status status = server->receive(absl::MakeSpan(&byte, 1)).status();
    return is(status, absl::StatusCode::kDeadlineExceeded) &&
           status.message() == "receive connection from " + peer + ": timed out";
  }));
  // Part of a message, then silence.
  ASSERT_TRUE(client.send("ab").ok());
  ASSERT_NO_FATAL_FAILURE(finishes_in_time([&] {
    std::string buffer(5, '\0');
    const absl::Status status = server->receive_exactly(absl::MakeSpan(buffer));
    return is(status, absl::StatusCode::kDeadlineExceeded) &&
           status.message() ==
               "receive connection from " + peer + ": timed out (2 of 5 bytes had arrived)";
  }));
  // A client that never reads.
  ASSERT_NO_FATAL_FAILURE(finishes_in_time([&] {
    return is(server->send(std::string(64 << 20, 'x')), absl::StatusCode::kDeadlineExceeded);
  }));
  // A listener without timeouts leaves the kernel's default: none.
  Listener plain = listen_on(Endpoint::tcp("127.0.0.1", 0));
  Socket other = dial(plain.endpoint());
  absl::StatusOr<Connection> unbounded = plain.accept(kWait);
  ASSERT_TRUE(unbounded.ok()) << unbounded.status();
  EXPECT_EQ(kernel_timeout(unbounded->fd(), SO_RCVTIMEO), absl::ZeroDuration());
  EXPECT_EQ(kernel_timeout(unbounded->fd(), SO_SNDTIMEO), absl::ZeroDuration());
}

TEST(SocketTest, SetTimeoutsBoundsOneConnectionAndInfiniteClearsIt) {
  Listener listener = listen_on(Endpoint::tcp("127.0.0.1", 0));
  Socket client = dial(listener.endpoint());
  absl::StatusOr<Connection> server = listener.accept(kWait);
  ASSERT_TRUE(server.ok()) << server.status();
  ASSERT_TRUE(server->set_timeouts(absl::Milliseconds(100), absl::InfiniteDuration()).ok());
  EXPECT_EQ(kernel_timeout(server->fd(), SO_RCVTIMEO), absl::Milliseconds(100));
  EXPECT_EQ(kernel_timeout(server->fd(), SO_SNDTIMEO), absl::ZeroDuration());
  char byte;
  ASSERT_NO_FATAL_FAILURE(finishes_in_time([&] {
    return is(server->receive(absl::MakeSpan(&byte, 1)).status(),
              absl::StatusCode::kDeadlineExceeded);
  }));
  ASSERT_TRUE(server->set_timeouts(absl::InfiniteDuration(), absl::Seconds(2)).ok());
  EXPECT_EQ(kernel_timeout(server->fd(), SO_RCVTIMEO), absl::ZeroDuration());
  EXPECT_EQ(kernel_timeout(server->fd(), SO_SNDTIMEO), absl::Seconds(2));

  // Not positive: InvalidArgument, and nothing changes.
  const std::string peer = client.local_endpoint()->to_string();
  const absl::Status zero = server->set_timeouts(absl::ZeroDuration(), absl::Seconds(1));
  EXPECT_EQ(zero.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(zero.message(), "set_timeouts connection from " + peer +
                                ": the receive timeout must be positive (inf: none), not 0");
  const absl::Status negative = server->set_timeouts(absl::Seconds(1), absl::Seconds(-1));
  EXPECT_EQ(negative.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(negative.message(), HasSubstr("the send timeout must be positive"));
  EXPECT_EQ(kernel_timeout(server->fd(), SO_RCVTIMEO), absl::ZeroDuration());
  EXPECT_EQ(kernel_timeout(server->fd(), SO_SNDTIMEO), absl::Seconds(2));

  // A Socket too, rounded up as its config's are (never to 0, "none"; the
  // kernel then rounds up to its clock tick); its config stays as it was.
  ASSERT_TRUE(client.set_timeouts(absl::Nanoseconds(500), absl::Nanoseconds(1500)).ok());
  EXPECT_GT(kernel_timeout(client.fd(), SO_RCVTIMEO), absl::ZeroDuration());
  EXPECT_GT(kernel_timeout(client.fd(), SO_SNDTIMEO), absl::ZeroDuration());
  EXPECT_EQ(client.config().receive_timeout, absl::InfiniteDuration());
}

// A zero-length receive or send asks for nothing and waits for nothing
// (recv(2) of 0 bytes would wait for a byte).
TEST(SocketTest, ZeroLengthTransfersReturnAtOnce) {
  Listener listener = listen_on(Endpoint::tcp("127.0.0.1", 0));
  Socket client = dial(listener.endpoint());
  absl::StatusOr<Connection> server = listener.accept(kWait);
  ASSERT_TRUE(server.ok()) << server.status();
  ASSERT_NO_FATAL_FAILURE(finishes_in_time([&] {
    absl::StatusOr<size_t> got = client.receive(absl::Span<char>());
    absl::StatusOr<size_t> accepted_got = server->receive(absl::Span<char>());
    return got.ok() && *got == 0 && accepted_got.ok() && *accepted_got == 0;
  }));
  EXPECT_EQ(*client.receive(absl::Span<char>()), 0u);
  EXPECT_EQ(*client.send_some(""), 0u);
  EXPECT_TRUE(client.send("").ok());
  EXPECT_TRUE(client.receive_exactly(absl::Span<char>()).ok());
  // Data waiting changes nothing for an empty buffer, and stays for the next.
  ASSERT_TRUE(server->send("x").ok());
  EXPECT_EQ(*client.receive(absl::Span<char>()), 0u);
  char byte = 0;
  EXPECT_EQ(*client.receive(absl::MakeSpan(&byte, 1)), 1u);
  EXPECT_EQ(byte, 'x');
}

// Only the process that bound a Unix socket file removes it: a fork()ed
// child closing or destroying its copy of the Listener leaves the parent
// serving on it.
TEST(SocketTest, AForkedChildLeavesTheParentsSocketFileAlone) {
  TempPath path = TempPath::for_socket("forked.sock");
  Listener listener = listen_on(Endpoint::unix_socket(path.path()));
  for (const bool destroy : {false, true}) {
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      if (destroy) {
        Listener gone = std::move(listener);
      } else if (!listener.close().ok()) {
        ::_exit(1);
      }
      ::_exit(0);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
    EXPECT_EQ(::access(path.path().c_str(), F_OK), 0)
        << "the child " << (destroy ? "destroying" : "closing")
        << " its copy removed the parent's socket file";
    exchange(listener);  // still served
  }
  ASSERT_TRUE(listener.close().ok());
  EXPECT_NE(::access(path.path().c_str(), F_OK), 0) << "the parent left its socket file behind";
}

// The same for a child that no fork handler ran in (_Fork(), vfork, a raw
// clone): the process id decides, not only the fork counter.
TEST(SocketTest, AChildMadeWithoutForkHandlersLeavesTheSocketFileAlone) {
  TempPath path = TempPath::for_socket("rawforked.sock");
  Listener listener = listen_on(Endpoint::unix_socket(path.path()));
  ASSERT_TRUE(testing::in_raw_child([&] { Listener gone = std::move(listener); }));
  EXPECT_EQ(::access(path.path().c_str(), F_OK), 0) << "the raw child removed the socket file";
  exchange(listener);  // still served
}

// A socket file that someone else removed first: gone, as close() wanted.
TEST(SocketTest, ClosingAfterTheSocketFileWasRemovedIsOk) {
  TempPath path = TempPath::for_socket("removed.sock");
  Listener listener = listen_on(Endpoint::unix_socket(path.path()));
  ASSERT_EQ(::unlink(path.path().c_str()), 0);
  EXPECT_TRUE(listener.close().ok());
}

// Checking whether a socket file is stale must not wait on a live listener
// whose backlog is full (a blocking connect(2) to it would).
TEST(SocketTest, ALiveListenerWithAFullBacklogIsNeverTakenOver) {
  TempPath path = TempPath::for_socket("busy.sock");
  const int busy = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(busy, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, path.path().c_str(), sizeof address.sun_path - 1);
  ASSERT_EQ(::bind(busy, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  ASSERT_EQ(::listen(busy, 0), 0);
  std::vector<int> waiting;
  int error = 0;
  for (int i = 0; i < 64 && error == 0; ++i) {
    const int client = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    ASSERT_GE(client, 0);
    waiting.push_back(client);
    if (::connect(client, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
      error = errno;
    }
  }
  ASSERT_EQ(error, EAGAIN) << "the backlog never filled";
  auto refused = [&] {
    const absl::Status status =
        Listener::open({.endpoint = Endpoint::unix_socket(path.path())}).status();
    if (status.message().find("[EADDRINUSE]") == absl::string_view::npos) {
      std::fprintf(stderr, "got %s\n", status.ToString().c_str());
      return false;
    }
    return true;
  };
  ASSERT_NO_FATAL_FAILURE(finishes_in_time(refused));
  EXPECT_TRUE(refused());
  EXPECT_EQ(::access(path.path().c_str(), F_OK), 0);
  for (const int fd : waiting) ::close(fd);
  ::close(busy);
}

// An endpoint of any length is cut short in messages, its length said.
TEST(SocketTest, AHugeEndpointIsCutShortInMessages) {
  const Endpoint huge = Endpoint::tcp(std::string(10 << 20, 'h'), 80);
  // Refused before any lookup: no DNS name is that long.
  EXPECT_EQ(Socket::open({.endpoint = huge}).status().message(),
            "SocketConfig.endpoint: Endpoint: the TCP host must be at most 255 bytes without NUL, "
            "got 10485760");
  // A Unix path cannot be that long; the message says how long it was.
  EXPECT_EQ(Listener::open({.endpoint = Endpoint::unix_socket(std::string(10 << 20, 'p'))})
                .status()
                .message(),
            "ListenerConfig.endpoint: Endpoint: the socket path must be at most 107 bytes "
            "without NUL, got 10485760");
  // Adopted with such a config, a socket still speaks of it briefly.
  int pair[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
  Socket adopted = Socket::adopt(Fd(pair[0]), SocketConfig{.endpoint = huge});
  ::close(pair[1]);
  const absl::Status sent = adopted.send("x");
  ASSERT_FALSE(sent.ok());
  EXPECT_LT(sent.message().size(), 1000u) << sent.message().substr(0, 300);
  EXPECT_THAT(sent.message(),
              HasSubstr("... (" + std::to_string(huge.to_string().size()) + " bytes)"));
  EXPECT_THAT(sent.message(), HasSubstr("[EPIPE]"));
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

TEST(ListenerConfigTest, TimeoutRulesPrintingAndJson) {
  const Endpoint endpoint = Endpoint::tcp("127.0.0.1", 0);
  EXPECT_EQ((ListenerConfig{.endpoint = endpoint, .send_timeout = absl::ZeroDuration()})
                .validate()
                .message(),
            "ListenerConfig.send_timeout: must be positive (inf: none)");
  EXPECT_EQ((ListenerConfig{.endpoint = endpoint, .receive_timeout = absl::Seconds(-1)})
                .validate()
                .message(),
            "ListenerConfig.receive_timeout: must be positive (inf: none)");
  EXPECT_EQ(Listener::open({.endpoint = endpoint, .receive_timeout = absl::ZeroDuration()})
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  const ListenerConfig defaults{.endpoint = Endpoint::unix_socket("/run/app.sock")};
  EXPECT_EQ(defaults.send_timeout, absl::InfiniteDuration());
  EXPECT_EQ(defaults.receive_timeout, absl::InfiniteDuration());
  const ListenerConfig config{.endpoint = Endpoint::unix_socket("/run/app.sock"),
                              .receive_timeout = absl::Milliseconds(1500)};
  EXPECT_EQ(to_json(config),
            "{\"endpoint\":\"unix:///run/app.sock\",\"backlog\":128,\"reuse_address\":true,"
            "\"reuse_port\":false,\"socket_mode\":\"0600\",\"remove_stale\":true,"
            "\"close_on_exec\":true,\"send_timeout\":\"inf\",\"receive_timeout\":\"1.5s\"}");
  EXPECT_THAT(to_string(config), HasSubstr("send_timeout=inf, receive_timeout=1.5s"));
  EXPECT_EQ(*from_json<ListenerConfig>(to_json(config)), config);
  absl::StatusOr<ListenerConfig> parsed = from_json<ListenerConfig>(
      R"({"endpoint":"tcp://127.0.0.1:0","send_timeout":"250ms","receive_timeout":"0.5us"})");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->send_timeout, absl::Milliseconds(250));
  EXPECT_EQ(parsed->receive_timeout, absl::Nanoseconds(500));
  EXPECT_NE(*parsed, ListenerConfig{.endpoint = endpoint});
  EXPECT_EQ(from_json<ListenerConfig>(R"({"endpoint":"tcp://127.0.0.1:0","send_timeout":"0s"})")
                .status()
                .message(),
            "ListenerConfig.send_timeout: must be positive (inf: none)");
}

}  // namespace
}  // namespace uncopyable
