// uncopyable/socket_asio.h: handing sockets to Boost.Asio and taking them back.
//
//   boost::asio::io_context io;
//   absl::StatusOr<boost::asio::ip::tcp::socket> async =
//       uncopyable::to_asio(*std::move(socket), io);   // `socket` is empty now
//   ... asynchronous work ...
//   absl::StatusOr<uncopyable::Socket> back =
//       uncopyable::from_asio(*std::move(async), config);  // `async` is empty now
//
// Ownership moves exactly once each way: the descriptor is released by one
// side and adopted by the other, never duplicated; if the adopting side
// refuses it, it is closed, not leaked, and the error says why.
//
// This header includes Boost.Asio; socket.h does not.
#ifndef UNCOPYABLE_SOCKET_ASIO_H_
#define UNCOPYABLE_SOCKET_ASIO_H_

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "boost/asio/io_context.hpp"
#include "boost/asio/ip/tcp.hpp"
#include "boost/asio/local/stream_protocol.hpp"
#include "uncopyable/socket.h"

namespace uncopyable {

namespace asio_internal {

template <typename AsioSocket, typename Protocol>
absl::StatusOr<AsioSocket> hand_over(socket_internal::Stream&& stream, Protocol protocol,
                                     boost::asio::io_context& io) {
  Fd fd = stream.release();
  AsioSocket socket(io);
  boost::system::error_code error;
  socket.assign(protocol, fd.get(), error);
  if (error) {
    return absl::InternalError(absl::StrCat("handing fd ", fd.get(), " to Asio: ", error.message()));
  }  // `fd` closes it: nothing leaks
  (void)fd.release();  // Asio owns it now
  return socket;
}

template <typename AsioSocket>
absl::StatusOr<Fd> take_back(AsioSocket& socket) {
  boost::system::error_code error;
  const int fd = socket.release(error);
  if (error) return absl::InternalError(absl::StrCat("taking a socket back from Asio: ", error.message()));
  return Fd(fd);
}

}  // namespace asio_internal

// A TCP Socket or Connection to an Asio TCP socket on `io`.
inline absl::StatusOr<boost::asio::ip::tcp::socket> to_asio(socket_internal::Stream&& stream,
                                                             boost::asio::io_context& io) {
  const int family = [&] {
    sockaddr_storage storage{};
    socklen_t length = sizeof storage;
    ::getsockname(stream.fd().get(), reinterpret_cast<sockaddr*>(&storage), &length);
    return static_cast<int>(storage.ss_family);
  }();
  if (family != AF_INET && family != AF_INET6) {
    return absl::InvalidArgumentError("to_asio: not a TCP socket; use to_asio_local");
  }
  return asio_internal::hand_over<boost::asio::ip::tcp::socket>(
      std::move(stream), family == AF_INET ? boost::asio::ip::tcp::v4() : boost::asio::ip::tcp::v6(),
      io);
}

// A Unix-domain Socket or Connection to an Asio local stream socket on `io`.
inline absl::StatusOr<boost::asio::local::stream_protocol::socket> to_asio_local(
    socket_internal::Stream&& stream, boost::asio::io_context& io) {
  return asio_internal::hand_over<boost::asio::local::stream_protocol::socket>(
      std::move(stream), boost::asio::local::stream_protocol(), io);
}

// An Asio socket back as a Socket, with the config that describes it (for
// rebuild() and messages). The Asio socket is left empty.
template <typename AsioSocket>
absl::StatusOr<Socket> from_asio(AsioSocket&& socket, SocketConfig config) {
  absl::StatusOr<Fd> fd = asio_internal::take_back(socket);
  if (!fd.ok()) return fd.status();
  return Socket::adopt(*std::move(fd), std::move(config));
}

}  // namespace uncopyable

#endif  // UNCOPYABLE_SOCKET_ASIO_H_
