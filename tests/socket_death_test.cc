// Misuse of a Socket, Connection or Listener aborts with one line naming it.
#include <unistd.h>

#include <string>
#include <utility>

#include "gtest/gtest.h"
#include "uncopyable/socket.h"

namespace uncopyable {
namespace {

TEST(SocketDeathTest, AnyOperationOnAMovedFromOrClosedSocket) {
  absl::StatusOr<Listener> listener = Listener::open({.endpoint = Endpoint::tcp("127.0.0.1", 0)});
  ASSERT_TRUE(listener.ok());
  absl::StatusOr<Socket> client = Socket::open({.endpoint = listener->endpoint()});
  ASSERT_TRUE(client.ok());
  Socket taker = *std::move(client);
  char byte;
  // NOLINTBEGIN(bugprone-use-after-move): the misuse under test
  EXPECT_DEATH((void)client->send("x"), "^uncopyable: Socket::send\\(\\) on a moved-from handle");
  EXPECT_DEATH((void)client->receive(absl::MakeSpan(&byte, 1)),
               "^uncopyable: Socket::receive\\(\\) on a moved-from handle");
  EXPECT_DEATH((void)client->rebuild(), "^uncopyable: Socket::rebuild\\(\\) on a moved-from handle");
  // NOLINTEND(bugprone-use-after-move)
  ASSERT_TRUE(taker.close().ok());
  const std::string closed = "on a closed handle \\(socket to tcp://127\\.0\\.0\\.1:[0-9]+\\)\n";
  EXPECT_DEATH((void)taker.send("x"), "^uncopyable: Socket::send\\(\\) " + closed);
  EXPECT_DEATH((void)taker.close(), "^uncopyable: Socket::close\\(\\) " + closed);
  EXPECT_DEATH((void)taker.shutdown(Socket::Direction::both),
               "^uncopyable: Socket::shutdown\\(\\) " + closed);
}

// receive_exactly() checks its handle before anything else, as every other
// operation does: even asked for nothing, a moved-from Socket aborts.
TEST(SocketDeathTest, ReceiveExactlyOnAMovedFromSocketEvenForNothing) {
  absl::StatusOr<Listener> listener = Listener::open({.endpoint = Endpoint::tcp("127.0.0.1", 0)});
  ASSERT_TRUE(listener.ok());
  absl::StatusOr<Socket> client = Socket::open({.endpoint = listener->endpoint()});
  ASSERT_TRUE(client.ok());
  Socket taker = *std::move(client);
  char byte;
  // NOLINTBEGIN(bugprone-use-after-move): the misuse under test
  EXPECT_DEATH((void)client->receive_exactly(absl::Span<char>()),
               "^uncopyable: Socket::receive_exactly\\(\\) on a moved-from handle\n");
  EXPECT_DEATH((void)client->receive_exactly(absl::MakeSpan(&byte, 1)),
               "^uncopyable: Socket::receive_exactly\\(\\) on a moved-from handle\n");
  // NOLINTEND(bugprone-use-after-move)
}

// After release() the handle says "released", as an Fd does, not
// "moved-from".
TEST(SocketDeathTest, AnyOperationOnAReleasedSocketOrConnection) {
  absl::StatusOr<Listener> listener = Listener::open({.endpoint = Endpoint::tcp("127.0.0.1", 0)});
  ASSERT_TRUE(listener.ok());
  absl::StatusOr<Socket> client = Socket::open({.endpoint = listener->endpoint()});
  ASSERT_TRUE(client.ok());
  absl::StatusOr<Connection> server = listener->accept(absl::Seconds(5));
  ASSERT_TRUE(server.ok());
  Fd client_fd = client->release();
  Fd server_fd = server->release();
  char byte;
  EXPECT_DEATH((void)client->send("x"), "^uncopyable: Socket::send\\(\\) on a released handle\n");
  EXPECT_DEATH((void)client->release(),
               "^uncopyable: Socket::release\\(\\) on a released handle\n");
  EXPECT_DEATH((void)client->rebuild(),
               "^uncopyable: Socket::rebuild\\(\\) on a released handle\n");
  EXPECT_DEATH((void)server->receive(absl::MakeSpan(&byte, 1)),
               "^uncopyable: Connection::receive\\(\\) on a released handle\n");
  EXPECT_TRUE(client_fd.close().ok());  // the caller owns them now
  EXPECT_TRUE(server_fd.close().ok());
}

TEST(SocketDeathTest, AcceptOnAMovedFromListener) {
  absl::StatusOr<Listener> listener = Listener::open({.endpoint = Endpoint::tcp("127.0.0.1", 0)});
  ASSERT_TRUE(listener.ok());
  Listener taker = *std::move(listener);
  EXPECT_DEATH((void)listener->accept(absl::Milliseconds(10)),  // NOLINT(bugprone-use-after-move)
               "^uncopyable: Listener::accept\\(\\) on a moved-from handle");
  ASSERT_TRUE(taker.close().ok());
  EXPECT_DEATH((void)taker.close(),
               "^uncopyable: Listener::close\\(\\) on a closed handle \\(listener on "
               "tcp://127\\.0\\.0\\.1:[0-9]+\\)\n");
}

TEST(SocketDeathTest, AConnectionAfterClose) {
  absl::StatusOr<Listener> listener = Listener::open({.endpoint = Endpoint::tcp("127.0.0.1", 0)});
  absl::StatusOr<Socket> client = Socket::open({.endpoint = listener->endpoint()});
  absl::StatusOr<Connection> server = listener->accept(absl::Seconds(5));
  ASSERT_TRUE(server.ok());
  ASSERT_TRUE(server->close().ok());
  EXPECT_DEATH((void)server->send("x"),
               "^uncopyable: Connection::send\\(\\) on a closed handle \\(connection from "
               "tcp://127\\.0\\.0\\.1:[0-9]+\\)\n");
}

// An accepted Unix connection has no peer address: it is named by the
// listener it came through.
TEST(SocketDeathTest, AUnixConnectionAfterCloseNamesItsListener) {
  const std::string name = "uncopyable-death-" + std::to_string(::getpid());
  absl::StatusOr<Listener> listener = Listener::open({.endpoint = Endpoint::abstract_unix(name)});
  ASSERT_TRUE(listener.ok()) << listener.status();
  absl::StatusOr<Socket> client = Socket::open({.endpoint = listener->endpoint()});
  ASSERT_TRUE(client.ok()) << client.status();
  absl::StatusOr<Connection> server = listener->accept(absl::Seconds(5));
  ASSERT_TRUE(server.ok()) << server.status();
  ASSERT_TRUE(server->close().ok());
  EXPECT_DEATH((void)server->send("x"),
               "^uncopyable: Connection::send\\(\\) on a closed handle \\(connection from a "
               "client of unix-abstract:uncopyable-death-[0-9]+\\)\n");
}

}  // namespace
}  // namespace uncopyable
