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
#include "uncopyable/internal/message.h"
#include "uncopyable/socket.h"

namespace uncopyable {

namespace asio_internal {

template <typename AsioSocket, typename Protocol, typename Self>
absl::StatusOr<AsioSocket> hand_over(socket_internal::Stream<Self>&& stream, Protocol protocol,
                                     boost::asio::io_context& io) {
  const Self& handle = static_cast<const Self&>(stream);
  Fd fd = stream.release();
  AsioSocket socket(io);
  boost::system::error_code error;
  socket.assign(protocol, fd.get(), error);
  if (error) {  // `fd` closes it: nothing leaks
    return internal::error_on(absl::StatusCode::kInternal, "to_asio", handle.resource(),
                              absl::StrCat("Asio refused fd ", fd.get(), ": ", error.message()));
  }
  (void)fd.release();  // Asio owns it now
  return socket;
}

template <typename AsioSocket>
absl::StatusOr<Fd> take_back(AsioSocket& socket, const SocketConfig& config) {
  boost::system::error_code error;
  const int fd = socket.release(error);
  if (error) {
    return internal::error_on(absl::StatusCode::kInternal, "from_asio",
                              socket_internal::socket_to(config.endpoint), error.message());
  }
  return Fd(fd);
}

}  // namespace asio_internal

// A TCP Socket or Connection to an Asio TCP socket on `io`. Not TCP is an
// error (InvalidArgument) that leaves the handle as it was.
template <typename Self>
absl::StatusOr<boost::asio::ip::tcp::socket> to_asio(socket_internal::Stream<Self>&& stream,
                                                     boost::asio::io_context& io) {
  absl::StatusOr<Endpoint> local = stream.local_endpoint();
  if (!local.ok()) return local.status();
  if (local->kind() != Endpoint::Kind::kTcp) {
    return internal::error_on(absl::StatusCode::kInvalidArgument, "to_asio",
                              static_cast<const Self&>(stream).resource(),
                              "not a TCP socket; use to_asio_local");
  }
  const bool v4 = local->address().find(':') == std::string::npos;
  return asio_internal::hand_over<boost::asio::ip::tcp::socket>(
      std::move(stream), v4 ? boost::asio::ip::tcp::v4() : boost::asio::ip::tcp::v6(), io);
}

// A Unix-domain Socket or Connection to an Asio local stream socket on `io`.
template <typename Self>
absl::StatusOr<boost::asio::local::stream_protocol::socket> to_asio_local(
    socket_internal::Stream<Self>&& stream, boost::asio::io_context& io) {
  return asio_internal::hand_over<boost::asio::local::stream_protocol::socket>(
      std::move(stream), boost::asio::local::stream_protocol(), io);
}

// An Asio socket back as a Socket, with the config that describes it (for
// rebuild() and messages). The Asio socket is left empty.
template <typename AsioSocket>
absl::StatusOr<Socket> from_asio(AsioSocket&& socket, SocketConfig config) {
  absl::StatusOr<Fd> fd = asio_internal::take_back(socket, config);
  if (!fd.ok()) return fd.status();
  return Socket::adopt(*std::move(fd), std::move(config));
}

}  // namespace uncopyable

#endif  // UNCOPYABLE_SOCKET_ASIO_H_
