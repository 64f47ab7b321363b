#include "uncopyable/socket_asio.h"

#include <fcntl.h>

#include <string>

#include "boost/asio/read.hpp"
#include "boost/asio/write.hpp"
#include "gtest/gtest.h"
#include "tests/testing/temp_path.h"

namespace uncopyable {
namespace {

constexpr absl::Duration kWait = absl::Seconds(5);

TEST(SocketAsioTest, TcpSocketGoesToAsioAndComesBack) {
  absl::StatusOr<Listener> listener = Listener::open({.endpoint = Endpoint::tcp("127.0.0.1", 0)});
  ASSERT_TRUE(listener.ok());
  const SocketConfig config{.endpoint = listener->endpoint()};
  absl::StatusOr<Socket> socket = Socket::open(config);
  ASSERT_TRUE(socket.ok());
  absl::StatusOr<Connection> server = listener->accept(kWait);
  ASSERT_TRUE(server.ok());
  const int number = socket->fd().get();

  boost::asio::io_context io;
  absl::StatusOr<boost::asio::ip::tcp::socket> async = to_asio(*std::move(socket), io);
  ASSERT_TRUE(async.ok()) << async.status();
  EXPECT_EQ(async->native_handle(), number);  // the same descriptor, moved
  boost::asio::write(*async, boost::asio::buffer(std::string("via asio")));
  std::string buffer(8, '\0');
  ASSERT_TRUE(server->receive_exactly(absl::MakeSpan(buffer)).ok());
  EXPECT_EQ(buffer, "via asio");

  absl::StatusOr<Socket> back = from_asio(*std::move(async), config);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->fd().get(), number);
  EXPECT_FALSE(async->is_open());  // Asio gave it up
  ASSERT_TRUE(back->send("home").ok());
  buffer.resize(4);
  ASSERT_TRUE(server->receive_exactly(absl::MakeSpan(buffer)).ok());
  EXPECT_EQ(buffer, "home");
  EXPECT_TRUE(back->close().ok());
  EXPECT_EQ(::fcntl(number, F_GETFD), -1);  // closed once, by its last owner
}

TEST(SocketAsioTest, UnixConnectionGoesToAsio) {
  testing::TempPath path = testing::TempPath::for_socket("asio.sock");
  absl::StatusOr<Listener> listener = Listener::open({.endpoint = Endpoint::unix_socket(path.path())});
  ASSERT_TRUE(listener.ok());
  absl::StatusOr<Socket> client = Socket::open({.endpoint = listener->endpoint()});
  ASSERT_TRUE(client.ok());
  absl::StatusOr<Connection> accepted = listener->accept(kWait);
  ASSERT_TRUE(accepted.ok());
  boost::asio::io_context io;
  absl::StatusOr<boost::asio::local::stream_protocol::socket> async =
      to_asio_local(*std::move(accepted), io);
  ASSERT_TRUE(async.ok()) << async.status();
  ASSERT_TRUE(client->send("local").ok());
  std::string buffer(5, '\0');
  boost::asio::read(*async, boost::asio::buffer(buffer));
  EXPECT_EQ(buffer, "local");
  const absl::StatusOr<boost::asio::ip::tcp::socket> refused = to_asio(std::move(*client), io);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(client->send("x").ok());  // left as it was
  EXPECT_EQ(refused.status().message(), "to_asio socket to " + listener->endpoint().to_string() +
                                            ": not a TCP socket; use to_asio_local");
}

}  // namespace
}  // namespace uncopyable
