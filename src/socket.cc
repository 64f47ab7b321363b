#include "uncopyable/socket.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "uncopyable/check.h"
#include "uncopyable/internal/message.h"
#include "uncopyable/internal/quote.h"
#include "uncopyable/internal/syscall.h"
#include "uncopyable/internal/transfer.h"

namespace uncopyable {
namespace {

namespace sys = internal::sys;

// An address to bind or connect to.
struct Address {
  sockaddr_storage storage{};
  socklen_t length = 0;
  const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&storage); }
};

// An endpoint's URL for a message, cut short past 200 bytes with its length
// said (a TCP host name can be anything until it is resolved).
std::string text_of(const Endpoint& endpoint) {
  return internal::shortened(endpoint.to_string(), internal::kQuotedBytes);
}

// "<operation> <resource>: <detail>: <strerror> [ENAME]", a closed peer or
// a reset being Unavailable: the other end went away (the rule every byte
// stream shares, internal/transfer.h).
absl::Status io_error(int error, absl::string_view operation, absl::string_view resource,
                      absl::string_view detail = "") {
  return internal::transfer_error(
      error, detail.empty() ? absl::StrCat(operation, " ", resource)
                            : absl::StrCat(operation, " ", resource, ": ", detail));
}

// Unix addresses: a path, or a Linux abstract name (a leading NUL).
Address unix_address(const Endpoint& endpoint) {
  Address address;
  auto* un = reinterpret_cast<sockaddr_un*>(&address.storage);
  un->sun_family = AF_UNIX;
  const std::string& name = endpoint.address();
  const bool abstract = endpoint.kind() == Endpoint::Kind::kAbstractUnix;
  std::memcpy(un->sun_path + (abstract ? 1 : 0), name.data(), name.size());
  // The name and one NUL: before it (abstract) or after it (a path).
  address.length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name.size() + 1);
  return address;
}

// The addresses an endpoint names, looked up now (a TCP host may be a name).
// Errors say "open <resource>: resolve: ...".
absl::StatusOr<std::vector<Address>> resolve(const Endpoint& endpoint, bool passive,
                                             absl::string_view resource) {
  if (endpoint.kind() != Endpoint::Kind::kTcp) return std::vector<Address>{unix_address(endpoint)};
  // An address literal needs no lookup.
  Address literal;
  auto* in = reinterpret_cast<sockaddr_in*>(&literal.storage);
  auto* in6 = reinterpret_cast<sockaddr_in6*>(&literal.storage);
  if (::inet_pton(AF_INET, endpoint.address().c_str(), &in->sin_addr) == 1) {
    in->sin_family = AF_INET;
    in->sin_port = htons(endpoint.port());
    literal.length = sizeof(sockaddr_in);
    return std::vector<Address>{literal};
  }
  if (::inet_pton(AF_INET6, endpoint.address().c_str(), &in6->sin6_addr) == 1) {
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(endpoint.port());
    literal.length = sizeof(sockaddr_in6);
    return std::vector<Address>{literal};
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0);
  addrinfo* found = nullptr;
  const std::string port = absl::StrCat(endpoint.port());
  const int result = ::getaddrinfo(endpoint.address().c_str(), port.c_str(), &hints, &found);
  if (result != 0) {
    const absl::string_view reason =
        result == EAI_SYSTEM ? std::strerror(errno) : ::gai_strerror(result);
    return internal::error_on(
        result == EAI_AGAIN ? absl::StatusCode::kUnavailable : absl::StatusCode::kNotFound,
        "open", resource, absl::StrCat("resolve: ", reason));
  }
  std::vector<Address> addresses;
  for (const addrinfo* info = found; info != nullptr; info = info->ai_next) {
    Address address;
    std::memcpy(&address.storage, info->ai_addr, info->ai_addrlen);
    address.length = info->ai_addrlen;
    addresses.push_back(address);
  }
  ::freeaddrinfo(found);
  return addresses;
}

// The Endpoint a socket address is, for local_endpoint() and peer_endpoint().
Endpoint endpoint_of(const sockaddr_storage& storage, socklen_t length) {
  char text[INET6_ADDRSTRLEN] = "";
  if (storage.ss_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&storage);
    ::inet_ntop(AF_INET, &in->sin_addr, text, sizeof text);
    return Endpoint::tcp(text, ntohs(in->sin_port));
  }
  if (storage.ss_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&storage);
    ::inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof text);
    return Endpoint::tcp(text, ntohs(in6->sin6_port));
  }
  const auto* un = reinterpret_cast<const sockaddr_un*>(&storage);
  const size_t size = std::min(length > offsetof(sockaddr_un, sun_path)
                                   ? length - offsetof(sockaddr_un, sun_path)
                                   : 0,
                               sizeof un->sun_path);
  if (size > 0 && un->sun_path[0] == '\0') {
    return Endpoint::abstract_unix(std::string(un->sun_path + 1, size - 1));
  }
  return Endpoint::unix_socket(std::string(un->sun_path, strnlen(un->sun_path, size)));
}

// "listener on <endpoint>": the resource as Listener::resource() says it,
// for the errors of open(), before there is a Listener (socket_to() is
// Socket's).
std::string listener_on(const Endpoint& endpoint) { return "listener on " + text_of(endpoint); }

// Opening failed at `call`: "open <resource>: <call>: <strerror> [ENAME]".
absl::Status open_error(int error, absl::string_view resource, absl::string_view call) {
  return internal::errno_error_on(error, "open", resource, call);
}

// `resource` says whose socket it is, for an error: the words of
// socket_to() or listener_on().
absl::Status set_option(int fd, int level, int name, const void* value, socklen_t size,
                        absl::string_view what, absl::string_view resource) {
  if (sys::setsockopt(fd, level, name, value, size) != 0) {
    return open_error(errno, resource, absl::StrCat("setsockopt ", what));
  }
  return absl::OkStatus();
}

// A positive timeout as SO_SNDTIMEO and SO_RCVTIMEO take it: rounded up to
// whole microseconds, at least one, because {0, 0} tells the kernel "no
// timeout" (500ns would otherwise mean "wait forever"). Infinite is {0, 0}.
timeval kernel_timeval(absl::Duration timeout) {
  if (timeout == absl::InfiniteDuration()) return timeval{0, 0};
  timeval value = absl::ToTimeval(absl::Ceil(timeout, absl::Microseconds(1)));
  if (value.tv_sec <= 0 && value.tv_usec <= 0) value = timeval{0, 1};
  return value;
}

// An on/off option set on, if `wanted`.
absl::Status set_flag(bool wanted, int fd, int level, int name, absl::string_view what,
                      absl::string_view resource) {
  if (!wanted) return absl::OkStatus();
  const int on = 1;
  return set_option(fd, level, name, &on, sizeof on, what, resource);
}

absl::Status set_timeout(int fd, int name, absl::Duration timeout, absl::string_view what,
                         absl::string_view resource) {
  if (timeout == absl::InfiniteDuration()) return absl::OkStatus();
  const timeval value = kernel_timeval(timeout);
  return set_option(fd, SOL_SOCKET, name, &value, sizeof value, what, resource);
}

// The options a SocketConfig asks for, on a socket not yet connected, with
// `send_timeout` for SO_SNDTIMEO (the connect timeout, while connecting).
absl::Status apply_options(int fd, const SocketConfig& config, int family,
                           absl::Duration send_timeout, absl::string_view resource) {
  absl::Status status = set_flag(family != AF_UNIX && config.no_delay, fd, IPPROTO_TCP,
                                 TCP_NODELAY, "TCP_NODELAY", resource);
  if (status.ok()) {
    status = set_flag(config.keep_alive, fd, SOL_SOCKET, SO_KEEPALIVE, "SO_KEEPALIVE", resource);
  }
  if (status.ok() && config.send_buffer > 0) {
    status = set_option(fd, SOL_SOCKET, SO_SNDBUF, &config.send_buffer,
                        sizeof config.send_buffer, "SO_SNDBUF", resource);
  }
  if (status.ok() && config.receive_buffer > 0) {
    status = set_option(fd, SOL_SOCKET, SO_RCVBUF, &config.receive_buffer,
                        sizeof config.receive_buffer, "SO_RCVBUF", resource);
  }
  if (status.ok()) status = set_timeout(fd, SO_SNDTIMEO, send_timeout, "SO_SNDTIMEO", resource);
  if (status.ok()) {
    status = set_timeout(fd, SO_RCVTIMEO, config.receive_timeout, "SO_RCVTIMEO", resource);
  }
  return status;
}

// One connection attempt to one address, within connect_timeout. A blocking
// connect bounded by SO_SNDTIMEO (Linux applies it to connect) costs two
// system calls fewer than a non-blocking one and poll().
absl::StatusOr<Fd> connect_one(const SocketConfig& config, const Address& address,
                               absl::string_view resource) {
  const int family = address.storage.ss_family;
  const int raw = sys::socket(family, SOCK_STREAM | (config.close_on_exec ? SOCK_CLOEXEC : 0), 0);
  if (raw < 0) return open_error(errno, resource, "socket");
  Fd fd(raw);
  // SO_SNDTIMEO bounds the connect itself first; set to send_timeout after.
  if (absl::Status s = apply_options(raw, config, family, config.connect_timeout, resource);
      !s.ok()) {
    return s;
  }
  const internal::Deadline deadline = internal::Deadline::after(config.connect_timeout);
  while (sys::connect(raw, address.get(), address.length) != 0) {
    int error = errno;
    if (error == EISCONN) break;    // an interrupted attempt finished
    if (error == EINTR) continue;   // retried: EALREADY if it goes on in the background
    if (error == EALREADY) {        // in progress: wait for it, then ask how it ended
      error = internal::wait_for(raw, POLLOUT, deadline);
      if (error == 0) {
        socklen_t size = sizeof error;
        if (sys::getsockopt(raw, SOL_SOCKET, SO_ERROR, &error, &size) != 0) error = errno;
      }
      if (error == 0) break;
    }
    if (error == EINPROGRESS || error == ETIMEDOUT) {  // SO_SNDTIMEO ran out
      return internal::error_on(
          absl::StatusCode::kDeadlineExceeded, "open", resource,
          absl::StrCat("connect timed out after ", absl::FormatDuration(config.connect_timeout)));
    }
    if (error == EAGAIN && family == AF_UNIX) error = ECONNREFUSED;  // a full backlog refuses
    return io_error(error, "open", resource, "connect");
  }
  if (config.send_timeout != config.connect_timeout) {
    const timeval value = kernel_timeval(config.send_timeout);  // inf: {0, 0}, none
    if (absl::Status s = set_option(raw, SOL_SOCKET, SO_SNDTIMEO, &value, sizeof value,
                                    "SO_SNDTIMEO", resource);
        !s.ok()) {
      return s;
    }
  }
  return fd;
}

// Whether nobody listens on the Unix socket file at `address` any more: a
// connect to it is refused. Non-blocking: a live listener whose backlog is
// full must not make this wait (it says EAGAIN: alive).
bool nobody_listens(const Address& address) {
  const int raw = sys::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (raw < 0) return false;
  const Fd probe(raw);
  return sys::connect(raw, address.get(), address.length) != 0 && errno == ECONNREFUSED;
}

}  // namespace

// ---------------------------------------------------------------------------
// Configs

absl::Status SocketConfig::validate() const {
  return ConfigRules(*this)
      .valid("endpoint", endpoint.validate())
      .check(endpoint.kind() != Endpoint::Kind::kTcp || endpoint.port() != 0, "endpoint",
             "a TCP port to connect to cannot be 0")
      .check(connect_timeout > absl::ZeroDuration(), "connect_timeout", "must be positive")
      .check(send_timeout > absl::ZeroDuration(), "send_timeout", "must be positive (inf: none)")
      .check(receive_timeout > absl::ZeroDuration(), "receive_timeout",
             "must be positive (inf: none)")
      .check(send_buffer >= 0, "send_buffer", "must not be negative")
      .check(receive_buffer >= 0, "receive_buffer", "must not be negative")
      .status();
}

absl::Status ListenerConfig::validate() const {
  return ConfigRules(*this)
      .valid("endpoint", endpoint.validate())
      .in_range("backlog", backlog, 0, 65535)
      .check(socket_mode.bits() <= 0777, "socket_mode", "must be at most 0777")
      .check(send_timeout > absl::ZeroDuration(), "send_timeout", "must be positive (inf: none)")
      .check(receive_timeout > absl::ZeroDuration(), "receive_timeout",
             "must be positive (inf: none)")
      .status();
}

// ---------------------------------------------------------------------------
// Stream

namespace socket_internal {

std::string socket_to(const Endpoint& endpoint) { return "socket to " + text_of(endpoint); }

absl::Status SocketFileTraits::close(uint64_t inode) const {
  // Only the process that made the file removes it; not an error elsewhere.
  if (!process.here_surely()) return absl::OkStatus();
  const auto failed = [&](const char* call) {
    return internal::errno_error_on(errno, call,
                                    absl::StrCat("socket file ", internal::quoted(path)));
  };
  // Gone already (someone removed it) is what was wanted: not an error.
  // Another file in its place (a new listener's) is not ours to remove.
  struct stat info;
  if (sys::lstat(path.c_str(), &info) != 0) return errno == ENOENT ? absl::OkStatus() : failed("lstat");
  if (info.st_ino != inode || !S_ISSOCK(info.st_mode)) return absl::OkStatus();
  if (sys::unlink(path.c_str()) != 0 && errno != ENOENT) return failed("unlink");
  return absl::OkStatus();
}

template <typename Self>
int Stream<Self>::checked_fd(const char* operation) const {
  return fd_.fd().get_as(Self::kName, operation, [&] { return self().resource(); });
}

template <typename Self>
absl::Status Stream<Self>::send(absl::string_view data, size_t* sent) {
  const int fd = checked_fd("send()");
  const internal::Transferred result = internal::transfer(
      data.size(), internal::TransferMode::kAll, internal::ZeroBytes::kError, [&](size_t done) {
        return sys::send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
      });
  if (sent != nullptr) *sent = result.done;
  if (ABSL_PREDICT_TRUE(result.ok())) return absl::OkStatus();
  if (result.error == EAGAIN || result.error == EWOULDBLOCK) {
    return internal::error_on(
        absl::StatusCode::kDeadlineExceeded, "send", self().resource(),
        absl::StrCat("sent ", result.done, " of ", data.size(), " bytes, then timed out"));
  }
  return internal::transfer_status(result.error, absl::StrCat("send ", self().resource()), "sent",
                                   result.done, data.size());
}

template <typename Self>
absl::StatusOr<size_t> Stream<Self>::send_some(absl::string_view data) {
  const int fd = checked_fd("send_some()");
  // Empty `data`: nothing to wait for room for, and no call is made.
  const internal::Transferred result = internal::transfer(
      data.size(), internal::TransferMode::kSome, internal::ZeroBytes::kEnd,
      [&](size_t) { return sys::send(fd, data.data(), data.size(), MSG_NOSIGNAL); });
  if (ABSL_PREDICT_TRUE(result.ok())) return result.done;
  if (result.error == EAGAIN || result.error == EWOULDBLOCK) {
    return internal::error_on(absl::StatusCode::kDeadlineExceeded, "send_some", self().resource(),
                              "timed out");
  }
  return io_error(result.error, "send_some", self().resource());
}

// What a failed receive says: "receive <resource>: timed out" (a receive
// timeout) or the errno.
template <typename Self>
absl::Status Stream<Self>::receive_error(int error) const {
  if (error == EAGAIN || error == EWOULDBLOCK) {
    return internal::error_on(absl::StatusCode::kDeadlineExceeded, "receive", self().resource(),
                              "timed out");
  }
  return io_error(error, "receive", self().resource());
}

template <typename Self>
absl::StatusOr<size_t> Stream<Self>::receive(absl::Span<char> buffer) {
  const int fd = checked_fd("receive()");
  // recv(2) of 0 bytes waits for 1 to arrive on a stream socket: an empty
  // buffer makes no call.
  const internal::Transferred result = internal::transfer(
      buffer.size(), internal::TransferMode::kSome, internal::ZeroBytes::kEnd,
      [&](size_t) { return sys::recv(fd, buffer.data(), buffer.size(), 0); });
  if (ABSL_PREDICT_TRUE(result.ok())) return result.done;
  return receive_error(result.error);
}

template <typename Self>
absl::Status Stream<Self>::receive_exactly(absl::Span<char> buffer) {
  const int fd = checked_fd("receive_exactly()");
  const internal::Transferred result = internal::transfer(
      buffer.size(), internal::TransferMode::kAll, internal::ZeroBytes::kEnd, [&](size_t done) {
        return sys::recv(fd, buffer.data() + done, buffer.size() - done, 0);
      });
  if (!result.ok()) {
    const absl::Status status = receive_error(result.error);
    return absl::Status(status.code(), absl::StrCat(status.message(), " (", result.done, " of ",
                                                    buffer.size(), " bytes had arrived)"));
  }
  if (result.done < buffer.size()) {
    return internal::error_on(absl::StatusCode::kOutOfRange, "receive", self().resource(),
                              absl::StrCat("the peer closed the connection after ", result.done,
                                           " of ", buffer.size(), " bytes"));
  }
  return absl::OkStatus();
}

template <typename Self>
absl::Status Stream<Self>::set_timeouts(absl::Duration receive, absl::Duration send) {
  const int fd = checked_fd("set_timeouts()");
  const auto refuse = [&](absl::string_view which, absl::Duration timeout) {
    return internal::error_on(absl::StatusCode::kInvalidArgument, "set_timeouts",
                              self().resource(),
                              absl::StrCat("the ", which, " timeout must be positive (inf: none), not ",
                                           absl::FormatDuration(timeout)));
  };
  if (receive <= absl::ZeroDuration()) return refuse("receive", receive);
  if (send <= absl::ZeroDuration()) return refuse("send", send);
  const timeval receive_value = kernel_timeval(receive);  // inf: {0, 0}, none
  const timeval send_value = kernel_timeval(send);
  if (sys::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &receive_value, sizeof receive_value) != 0) {
    return internal::errno_error_on(errno, "set_timeouts", self().resource(),
                                    "setsockopt SO_RCVTIMEO");
  }
  if (sys::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &send_value, sizeof send_value) != 0) {
    return internal::errno_error_on(errno, "set_timeouts", self().resource(),
                                    "setsockopt SO_SNDTIMEO");
  }
  return absl::OkStatus();
}

template <typename Self>
absl::Status Stream<Self>::shutdown(Direction direction) {
  const int fd = checked_fd("shutdown()");
  const int how = direction == Direction::read ? SHUT_RD : direction == Direction::write ? SHUT_WR : SHUT_RDWR;
  if (sys::shutdown(fd, how) != 0) return io_error(errno, "shutdown", self().resource());
  return absl::OkStatus();
}

template <typename Self>
absl::StatusOr<Endpoint> Stream<Self>::local_endpoint() const {
  const int fd = checked_fd("local_endpoint()");
  sockaddr_storage storage{};
  socklen_t length = sizeof storage;
  if (sys::getsockname(fd, reinterpret_cast<sockaddr*>(&storage), &length) != 0) {
    return internal::errno_error_on(errno, "local_endpoint", self().resource(), "getsockname");
  }
  return endpoint_of(storage, length);
}

template <typename Self>
absl::StatusOr<Endpoint> Stream<Self>::peer_endpoint() const {
  const int fd = checked_fd("peer_endpoint()");
  sockaddr_storage storage{};
  socklen_t length = sizeof storage;
  if (sys::getpeername(fd, reinterpret_cast<sockaddr*>(&storage), &length) != 0) {
    return io_error(errno, "peer_endpoint", self().resource(), "getpeername");
  }
  return endpoint_of(storage, length);
}

template <typename Self>
FdView Stream<Self>::fd() const {
  return FdView(checked_fd("fd()"));
}

template <typename Self>
absl::Status Stream<Self>::close() {
  checked_fd("close()");
  return internal::status_on(fd_.fd().close(), "close", self().resource());
}

template <typename Self>
absl::Status Stream<Self>::check_health(absl::Time) const {
  const auto fail = [&](absl::StatusCode code, absl::string_view what) {
    return internal::error_on(code, "check_health", self().resource(), what);
  };
  if (!is_open()) {
    return fail(absl::StatusCode::kFailedPrecondition,
                absl::StrCat("on ", describe(fd_.fd().state())));
  }
  const int fd = fd_.fd().get_unchecked();
  pollfd entry{fd, POLLIN | POLLRDHUP, 0};
  int ready;
  do {
    ready = sys::poll(&entry, 1, 0);
  } while (ready < 0 && errno == EINTR);
  if (ready < 0) return internal::errno_error_on(errno, "check_health", self().resource(), "poll");
  if (ready == 0) return absl::OkStatus();
  if ((entry.revents & (POLLERR | POLLHUP | POLLRDHUP | POLLNVAL)) != 0) {
    return fail(absl::StatusCode::kUnavailable, "the peer closed or reset the connection");
  }
  char byte;
  const ssize_t peeked = sys::recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  if (peeked == 0) return fail(absl::StatusCode::kUnavailable, "the peer closed the connection");
  if (peeked < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return absl::OkStatus();
    return io_error(errno, "check_health", self().resource());
  }
  return fail(absl::StatusCode::kFailedPrecondition,
              "bytes arrived on it that nobody read (the answer to an abandoned request?)");
}

template <typename Self>
Fd Stream<Self>::release() {
  checked_fd("release()");
  return Fd(fd_.fd().release());  // leaves fd_ released, not moved-from, for messages
}

template class Stream<Socket>;
template class Stream<Connection>;

}  // namespace socket_internal

// ---------------------------------------------------------------------------
// Socket

std::string Socket::resource() const { return socket_internal::socket_to(config_.endpoint); }

std::string Socket::resource_for(const SocketConfig& config) {
  return socket_internal::socket_to(config.endpoint);
}

absl::StatusOr<Socket> Socket::open(const SocketConfig& config) {
  if (absl::Status valid = config.validate(); !valid.ok()) return valid;
  const std::string resource = socket_internal::socket_to(config.endpoint);
  absl::StatusOr<std::vector<Address>> addresses =
      resolve(config.endpoint, /*passive=*/false, resource);
  if (!addresses.ok()) return addresses.status();
  absl::Status last;
  for (const Address& address : *addresses) {
    absl::StatusOr<Fd> fd = connect_one(config, address, resource);
    if (fd.ok()) return Socket(*std::move(fd), config);
    last = fd.status();
  }
  return last;
}

absl::StatusOr<Socket> Socket::rebuild() const {
  checked_fd("rebuild()");
  return open(config_);
}

Socket Socket::adopt(Fd fd, SocketConfig config) { return Socket(std::move(fd), std::move(config)); }

// ---------------------------------------------------------------------------
// Connection

std::string Connection::resource() const {
  return client_of_ ? absl::StrCat("connection from a client of ", text_of(peer_))
                    : absl::StrCat("connection from ", text_of(peer_));
}

Connection Connection::adopt(Fd fd, Endpoint peer) {
  return Connection(std::move(fd), std::move(peer), /*client_of=*/false);
}

// ---------------------------------------------------------------------------
// Listener

std::string Listener::resource() const { return listener_on(bound_); }

absl::StatusOr<Listener> Listener::open(const ListenerConfig& config) {
  if (absl::Status valid = config.validate(); !valid.ok()) return valid;
  const std::string resource = listener_on(config.endpoint);
  absl::StatusOr<std::vector<Address>> addresses =
      resolve(config.endpoint, /*passive=*/true, resource);
  if (!addresses.ok()) return addresses.status();
  const Address& address = addresses->front();
  const int family = address.storage.ss_family;
  // Non-blocking, so that accept() after poll() never waits on a connection
  // another thread took first; accepted connections block as usual.
  const int raw = sys::socket(
      family, SOCK_STREAM | SOCK_NONBLOCK | (config.close_on_exec ? SOCK_CLOEXEC : 0), 0);
  if (raw < 0) return open_error(errno, resource, "socket");
  Fd fd(raw);
  absl::Status options = set_flag(family != AF_UNIX && config.reuse_address, raw, SOL_SOCKET,
                                  SO_REUSEADDR, "SO_REUSEADDR", resource);
  if (options.ok()) {
    options = set_flag(config.reuse_port, raw, SOL_SOCKET, SO_REUSEPORT, "SO_REUSEPORT", resource);
  }
  if (!options.ok()) return options;
  const bool unix_file = config.endpoint.kind() == Endpoint::Kind::kUnix;
  const std::string& path = config.endpoint.address();
  if (sys::bind(raw, address.get(), address.length) != 0) {
    int error = errno;
    // A socket file left by a listener that is gone: nobody answers on it.
    if (error == EADDRINUSE && unix_file && config.remove_stale && nobody_listens(address)) {
      struct stat info;
      if (sys::lstat(path.c_str(), &info) == 0 && S_ISSOCK(info.st_mode) &&
          sys::unlink(path.c_str()) == 0) {
        error = sys::bind(raw, address.get(), address.length) == 0 ? 0 : errno;
      }
    }
    if (error != 0) return open_error(error, resource, "bind");
  }
  // The socket file this process made, owned from here on: removed if
  // anything below fails, and by the Listener after.
  socket_internal::SocketFile socket_file;
  if (unix_file) {
    struct stat info;
    if (sys::lstat(path.c_str(), &info) != 0) {
      const int error = errno;
      sys::unlink(path.c_str());  // just bound: ours, whatever lstat says
      return open_error(error, resource, "lstat socket file");
    }
    socket_file = socket_internal::SocketFile(info.st_ino, socket_internal::SocketFileTraits{path, internal::ProcessBound::with_pid()});
    if (sys::chmod(path.c_str(), config.socket_mode.bits()) != 0) {
      return open_error(errno, resource, "chmod socket file");
    }
  }
  Listener listener(std::move(fd), config, std::move(socket_file));
  if (sys::listen(raw, config.backlog) != 0) return open_error(errno, resource, "listen");
  if (config.endpoint.kind() == Endpoint::Kind::kTcp) {
    sockaddr_storage storage{};
    socklen_t length = sizeof storage;
    if (sys::getsockname(raw, reinterpret_cast<sockaddr*>(&storage), &length) != 0) {
      return open_error(errno, resource, "getsockname");
    }
    // The address as bound: a name becomes the one address it was bound to
    // (only the first of those it resolves to is), so that a client dialing
    // endpoint() reaches this socket and not whatever holds the same port on
    // another of the name's addresses. A scoped IPv6 address (fe80::1%eth0)
    // keeps its configured text, which has the scope the number lacks.
    const Endpoint bound = endpoint_of(storage, length);
    const bool scoped = storage.ss_family == AF_INET6 &&
                        reinterpret_cast<const sockaddr_in6*>(&storage)->sin6_scope_id != 0;
    listener.bound_ = scoped ? Endpoint::tcp(config.endpoint.address(), bound.port()) : bound;
  }
  return listener;
}

int Listener::checked_fd(const char* operation) const {
  return fd_.fd().get_as(kName, operation, [&] { return resource(); });
}

const Endpoint& Listener::endpoint() const {
  checked_fd("endpoint()");
  return bound_;
}

absl::StatusOr<Listener> Listener::rebuild() const {
  checked_fd("rebuild()");
  return open(config_);
}

FdView Listener::fd() const { return FdView(checked_fd("fd()")); }

absl::Status Listener::accepted_timeouts(int fd) const {
  const std::pair<int, absl::Duration> timeouts[] = {{SO_RCVTIMEO, config_.receive_timeout},
                                                     {SO_SNDTIMEO, config_.send_timeout}};
  for (const auto& [name, timeout] : timeouts) {
    if (timeout == absl::InfiniteDuration()) continue;  // the kernel's default: none
    const timeval value = kernel_timeval(timeout);
    if (sys::setsockopt(fd, SOL_SOCKET, name, &value, sizeof value) != 0) {
      return internal::errno_error_on(
          errno, "accept", resource(),
          name == SO_RCVTIMEO ? "setsockopt SO_RCVTIMEO" : "setsockopt SO_SNDTIMEO");
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<Connection> Listener::accept(absl::Duration timeout) {
  const int fd = checked_fd("accept()");
  const internal::Deadline deadline = internal::Deadline::after(timeout);
  while (true) {
    if (const int error = internal::wait_for(fd, POLLIN, deadline); error != 0) {
      if (error == ETIMEDOUT) {
        return internal::error_on(
            absl::StatusCode::kDeadlineExceeded, "accept", resource(),
            absl::StrCat("no connection within ", absl::FormatDuration(timeout)));
      }
      return internal::errno_error_on(error, "accept", resource(), "poll");
    }
    sockaddr_storage storage{};
    socklen_t length = sizeof storage;
    const int accepted = sys::accept4(fd, reinterpret_cast<sockaddr*>(&storage), &length,
                                      config_.close_on_exec ? SOCK_CLOEXEC : 0);
    if (accepted >= 0) {
      Fd connection(accepted);
      // The config's timeouts, so that a silent client cannot make a
      // receive() wait for ever. A failure closes the connection: the
      // caller asked for a bound this one would not have.
      if (absl::Status s = accepted_timeouts(accepted); !s.ok()) return s;
      // A TCP client has an address; a Unix one usually has none.
      if (bound_.kind() == Endpoint::Kind::kTcp) {
        return Connection(std::move(connection), endpoint_of(storage, length), false);
      }
      return Connection(std::move(connection), bound_, /*client_of=*/true);
    }
    // Gone before we took it, interrupted, or taken by another acceptor:
    // wait again.
    if (errno == EINTR || errno == EAGAIN || errno == ECONNABORTED || errno == EPROTO) continue;
    return internal::errno_error_on(errno, "accept", resource());
  }
}

absl::Status Listener::close() {
  checked_fd("close()");
  // The file goes first, so that nobody connects to it while it closes. The
  // descriptor is closed whatever happened to the file.
  absl::Status removed = socket_file_.is_valid() ? socket_file_.close() : absl::OkStatus();
  absl::Status closed = fd_.fd().close();
  if (!removed.ok()) {
    return internal::error_on(
        removed.code(), "close", resource(),
        closed.ok() ? removed.message() : absl::StrCat(removed.message(), "; then ", closed.message()));
  }
  return internal::status_on(closed, "close", resource());
}

}  // namespace uncopyable
