// uncopyable/socket.h: Socket (a connection you made), Listener (one you
// accept on), Connection (one you accepted), and their configs.
//
//   uncopyable::ListenerConfig listen{.endpoint = uncopyable::Endpoint::tcp("127.0.0.1", 0)};
//   absl::StatusOr<uncopyable::Listener> server = uncopyable::rebuild(listen);
//   // server->endpoint() is the address and port bound (the port the
//   // kernel picked); server->config() still says 0, as asked.
//
//   uncopyable::SocketConfig dial{.endpoint = server->endpoint(),
//                                 .connect_timeout = absl::Seconds(2)};
//   absl::StatusOr<uncopyable::Socket> client = uncopyable::rebuild(dial);
//   absl::StatusOr<uncopyable::Connection> peer = server->accept(absl::Seconds(2));
//   absl::Status sent = client->send("hello");        // all of it, or an error
//   std::string buffer(5, '\0');
//   absl::Status got = peer->receive_exactly(absl::MakeSpan(buffer));
//   // After the server restarts: client->rebuild() is a reconnect.
//
// A Socket remembers the SocketConfig it connected with, and rebuild()
// connects again. A Connection came from accept(): nothing describes how to
// make it again, so it has no config and no rebuild() (it is not
// Rebuildable, and code that needs that does not compile with it).
// Its receive and send timeouts are the ListenerConfig's (none by default:
// a server facing clients it does not trust sets them, or calls
// set_timeouts() on the connection); a Socket's are its SocketConfig's.
//
// Errors are absl::Status values saying the operation and the socket, as
// "<operation> <resource>: <what>" (uncopyable/internal/message.h):
//   open socket to tcp://127.0.0.1:9: connect: Connection refused [ECONNREFUSED]  (Unavailable)
//   receive socket to tcp://127.0.0.1:8080: timed out                        (DeadlineExceeded)
//   send connection from tcp://127.0.0.1:53122: sent 0 of 5 bytes, then: Connection reset by
//   peer [ECONNRESET]                                                           (Unavailable)
//   send socket to tcp://127.0.0.1:8080: sent 0 of 5 bytes, then: Broken pipe [EPIPE]
//                                                                      (FailedPrecondition)
// A reset (ECONNRESET) is Unavailable, as a refused connect: reconnect
// (rebuild()) and try again. A send after the peer closed, or after this
// side's shutdown (EPIPE), and an unconnected socket (ENOTCONN) are
// FailedPrecondition, as in Abseil's errno table: no retry of the same call
// on this socket can work, so a loop that retries on Unavailable ends
// (Rust: BrokenPipe vs ConnectionReset; Asio: broken_pipe vs
// connection_reset). Before, EPIPE was Unavailable too.
// the resource being "socket to <endpoint>" (a Socket), "connection from
// <peer>" (a Connection: "connection from a client of unix:///run/app.sock"
// when the peer has no address) or "listener on <endpoint>" (a Listener).
// A closed peer is a Status, never SIGPIPE (MSG_NOSIGNAL); EINTR is retried,
// short transfers finished. Endpoints in messages are cut short past 200
// bytes, with their length said. Misuse aborts, in the same words: any use
// of a moved-from, released or closed Socket, Connection or Listener, and
// closing twice:
//   uncopyable: Socket::send() on a closed handle (socket to tcp://127.0.0.1:8080)
// Ownership messages (uncopyable/fd_ownership.h) name the handle the same
// way, wherever it has moved.
#ifndef UNCOPYABLE_SOCKET_H_
#define UNCOPYABLE_SOCKET_H_

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "uncopyable/config.h"
#include "uncopyable/endpoint.h"
#include "uncopyable/fd.h"
#include "uncopyable/fd_ownership.h"
#include "uncopyable/permissions.h"
#include "uncopyable/internal/rules.h"
#include "uncopyable/rebuildable.h"
#include "uncopyable/unique_handle.h"

namespace uncopyable {

// How to connect: the data behind a Socket.
struct SocketConfig {
  UNCOPYABLE_CONFIG(SocketConfig, endpoint, connect_timeout, send_timeout, receive_timeout,
                    no_delay, keep_alive, send_buffer, receive_buffer, close_on_exec)

  Endpoint endpoint{};                                        // required: where to connect
  absl::Duration connect_timeout = absl::Seconds(10);         // per address tried
  absl::Duration send_timeout = absl::InfiniteDuration();     // SO_SNDTIMEO; inf: none
  absl::Duration receive_timeout = absl::InfiniteDuration();  // SO_RCVTIMEO; inf: none
  // (The kernel takes these in whole microseconds, and 0 means "none" to it:
  // each is rounded up to the next microsecond, so that 500ns times out
  // after 1us, or the next clock tick, rather than never.)
  bool no_delay = true;                                       // TCP_NODELAY (TCP only)
  bool keep_alive = false;                                    // SO_KEEPALIVE
  int32_t send_buffer = 0;                                    // SO_SNDBUF bytes; 0: default
  int32_t receive_buffer = 0;                                 // SO_RCVBUF bytes; 0: default
  bool close_on_exec = true;                                  // SOCK_CLOEXEC

  static constexpr absl::string_view kRequired[] = {"endpoint"};

  // A valid endpoint (a TCP port is not 0); positive timeouts; buffer sizes
  // not negative.
  absl::Status validate() const;
};

// How to listen: the data behind a Listener.
struct ListenerConfig {
  UNCOPYABLE_CONFIG(ListenerConfig, endpoint, backlog, reuse_address, reuse_port, socket_mode,
                    remove_stale, close_on_exec, send_timeout, receive_timeout)

  Endpoint endpoint{};                 // required: where to listen; TCP port 0: any free port
  int32_t backlog = 128;               // connections waiting for accept()
  bool reuse_address = true;           // SO_REUSEADDR: rebind right after a restart
  bool reuse_port = false;             // SO_REUSEPORT: several listeners on one port
  Permissions socket_mode{};           // 0600: mode of a Unix socket file
  bool remove_stale = true;            // replace a Unix socket file nobody listens on
  bool close_on_exec = true;           // SOCK_CLOEXEC
  // Set on every connection accept() returns, as SocketConfig's are on a
  // Socket (rounded up to whole microseconds the same way): a client that
  // connects and then sends nothing, or reads nothing, makes receive() or
  // send() DeadlineExceeded ("receive connection from tcp://...: timed
  // out") after this long rather than wait for ever. Infinite (the
  // default, as for a Socket, and as Asio's and Rust's accepted streams
  // have) is none: a server that faces clients it does not trust should set
  // them. Connection::set_timeouts() changes them for one connection.
  absl::Duration send_timeout = absl::InfiniteDuration();     // SO_SNDTIMEO; inf: none
  absl::Duration receive_timeout = absl::InfiniteDuration();  // SO_RCVTIMEO; inf: none

  static constexpr absl::string_view kRequired[] = {"endpoint"};

  // A valid endpoint; backlog from 0 to 65535; positive timeouts.
  absl::Status validate() const;
};

namespace socket_internal {

// How a Socket's messages name it: "socket to tcp://127.0.0.1:8080" (the
// endpoint cut short past 200 bytes).
std::string socket_to(const Endpoint& endpoint);

// Which directions shutdown() ends.
enum class Direction { read, write, both };

// The Unix socket file a Listener made, owned as a resource: its inode, with
// the path and the process that made it in the traits. Closing removes the
// file if it is still that file (someone may have removed it, or bound the
// path again) and this is the process that made it (a fork()ed child
// closing its copy leaves the parent's live file alone). A file that is
// gone already, or is another now, is not an error.
struct SocketFileTraits {
  using value_type = uint64_t;  // st_ino; 0: none
  static constexpr std::string_view kName = "SocketFile";
  static constexpr uint64_t invalid() noexcept { return 0; }
  static constexpr bool is_valid(uint64_t inode) noexcept { return inode != 0; }
  // Errors: `unlink socket file "/run/app.sock": Permission denied [EACCES]`.
  absl::Status close(uint64_t inode) const;
  void close_quietly(uint64_t inode) const noexcept { close(inode).IgnoreError(); }

  std::string path;                // where it was made
  internal::ProcessBound process;  // who made it: only it removes the file
};
using SocketFile = UniqueHandle<SocketFileTraits>;

// The I/O every connected socket has, whoever made it: the base of Socket
// and Connection (`Self`), which name it in every message by their kName
// and resource() (formatted only when a message is made).
template <typename Self>
class Stream {
 public:
  using Direction = socket_internal::Direction;

  // Sends all of `data`. On error, `*sent` (if given) and the message say
  // how much went out first.
  [[nodiscard]] absl::Status send(absl::string_view data, size_t* sent = nullptr);
  // Sends what the kernel takes now (at least 1 byte unless `data` is empty;
  // empty `data` returns 0 at once, without a system call).
  [[nodiscard]] absl::StatusOr<size_t> send_some(absl::string_view data);
  // Receives what has arrived, waiting for at least 1 byte; 0 means the peer
  // closed its side. An empty `buffer` returns 0 at once, without a system
  // call and whatever the peer did (recv(2) itself would wait for a byte):
  // 0 means "peer closed" only for a buffer that is not empty.
  [[nodiscard]] absl::StatusOr<size_t> receive(absl::Span<char> buffer);
  // Receives until `buffer` is full; the peer closing first is an error
  // (OutOfRange) that says how much arrived.
  [[nodiscard]] absl::Status receive_exactly(absl::Span<char> buffer);

  // Sets SO_RCVTIMEO and SO_SNDTIMEO now, for every later receive and send
  // (each call waits at most this long for some progress; a timed-out one
  // is DeadlineExceeded, as with the config's timeouts). Infinite clears
  // one: wait for ever. Each is rounded up to whole microseconds (never to
  // 0, which the kernel reads as "none"). Not positive is InvalidArgument,
  // and nothing is changed. As Rust's set_read_timeout/set_write_timeout,
  // at any time, on a Socket or an accepted Connection (whose first ones
  // come from ListenerConfig). A Socket's config() is not changed: its
  // rebuild() connects with the config's timeouts again.
  [[nodiscard]] absl::Status set_timeouts(absl::Duration receive, absl::Duration send);

  // shutdown(2) of one or both directions.
  [[nodiscard]] absl::Status shutdown(Direction direction);

  // The addresses of this end and the other.
  [[nodiscard]] absl::StatusOr<Endpoint> local_endpoint() const;
  [[nodiscard]] absl::StatusOr<Endpoint> peer_endpoint() const;

  // The descriptor, borrowed.
  [[nodiscard]] FdView fd() const;

  // Closes it now and reports what close(2) said. Closing twice is misuse.
  [[nodiscard]] absl::Status close();

  // For a Pool (pool.h): whether the connection still looks usable, without
  // waiting (`deadline` is not needed): the peer closed it or reset it
  // (poll POLLRDHUP, or a MSG_PEEK reading end of stream) is Unavailable;
  // bytes that arrived and nobody read (a reply to a request that was
  // abandoned) are FailedPrecondition, as the next reader would take them
  // for its own. A closed, released or moved-from socket is
  // FailedPrecondition rather than misuse: a pool asks before it lends.
  [[nodiscard]] absl::Status check_health(absl::Time deadline) const;
  // Whether it holds a descriptor (false once closed, released or moved from).
  [[nodiscard]] bool is_open() const { return fd_.fd().is_valid(); }

  // Gives up the descriptor (for handing it to another library): the caller
  // owns it now. Misuse if there is none. Any later use of this object is
  // misuse that says so: "Socket::send() on a released handle".
  [[nodiscard]] Fd release();

 protected:
  explicit Stream(Fd fd) noexcept : fd_(this, std::move(fd)) {}
  int checked_fd(const char* operation) const;
  // The Status of a failed recv(2): a timeout, or the errno.
  absl::Status receive_error(int error) const;
  const Self& self() const { return static_cast<const Self&>(*this); }

 private:
  internal::NamedFd<Stream, Self> fd_;
};

}  // namespace socket_internal

// A connection made from a SocketConfig. See the top of this file.
class Socket : public socket_internal::Stream<Socket> {
 public:
  using config_type = SocketConfig;
  static constexpr char kName[] = "Socket";

  // Resolves the endpoint (names are looked up now, every time) and
  // connects to each address in turn within connect_timeout.
  [[nodiscard]] static absl::StatusOr<Socket> open(const SocketConfig& config);

  [[nodiscard]] const SocketConfig& config() const { return config_; }
  // Connects again: a fresh connection to the same endpoint, same options.
  [[nodiscard]] absl::StatusOr<Socket> rebuild() const;

  // Takes over a connected descriptor (one coming back from another library)
  // and the config that describes it, for rebuild() and messages.
  [[nodiscard]] static Socket adopt(Fd fd, SocketConfig config);

  // How messages name it: "socket to tcp://127.0.0.1:8080".
  [[nodiscard]] std::string resource() const;
  // The same for a socket `config` describes.
  [[nodiscard]] static std::string resource_for(const SocketConfig& config);

 private:
  Socket(Fd fd, SocketConfig config) : Stream(std::move(fd)), config_(std::move(config)) {}
  SocketConfig config_;
};

// A connection that accept() returned: the same I/O as a Socket, but no
// config and no rebuild(), since nothing can make it again.
class Connection : public socket_internal::Stream<Connection> {
 public:
  static constexpr char kName[] = "Connection";

  // Takes over an accepted descriptor; `peer` names the other end.
  [[nodiscard]] static Connection adopt(Fd fd, Endpoint peer);

  // How messages name it: "connection from tcp://127.0.0.1:53122", or, for
  // a peer with no address (a Unix client), "connection from a client of
  // unix:///run/app.sock".
  [[nodiscard]] std::string resource() const;

 private:
  friend class Listener;
  // `peer` is the other end, or (`client_of`) the listener it came through.
  Connection(Fd fd, Endpoint peer, bool client_of)
      : Stream(std::move(fd)), peer_(std::move(peer)), client_of_(client_of) {}
  Endpoint peer_;
  bool client_of_;
};

// A socket listening for connections.
class Listener {
 public:
  using config_type = ListenerConfig;
  static constexpr char kName[] = "Listener";

  // Binds and listens. A Unix socket file left by a listener that is gone is
  // replaced (with remove_stale); one that a live listener holds is an error
  // (EADDRINUSE), also when its backlog is full: the check never waits.
  [[nodiscard]] static absl::StatusOr<Listener> open(const ListenerConfig& config);

  // Moves are the members': the descriptor, and the Unix socket file it
  // made (removed with it, or when a listener is assigned over it).
  Listener(Listener&&) noexcept = default;
  Listener& operator=(Listener&&) noexcept = default;
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;
  // Removes the Unix socket file it made (only in the process that made it;
  // an error here is lost: call close()), then closes the socket.
  ~Listener() = default;

  // What was asked (port 0 stays 0).
  [[nodiscard]] const ListenerConfig& config() const { return config_; }
  // Where it listens, as bound (getsockname(2) at open()): the port the
  // kernel picked for port 0, and for TCP the numeric address, not the
  // configured host: a name (tcp://localhost:0) resolves to one or more
  // addresses and open() binds only the first, so endpoint() says which
  // (tcp://127.0.0.1:41234 or tcp://[::1]:41234), and a client that dials
  // it reaches this listener whatever its own resolver prefers. Like Rust's
  // TcpListener::local_addr and Asio's local_endpoint(). config() keeps the
  // name. Messages about the listener name this address too. "::" binds
  // IPv6 only or both families as the system's IPV6_V6ONLY default says
  // (net.ipv6.bindv6only, usually both). A Unix endpoint is as configured.
  [[nodiscard]] const Endpoint& endpoint() const;
  // A fresh listener from config() (with port 0: a new free port).
  [[nodiscard]] absl::StatusOr<Listener> rebuild() const;

  // Waits up to `timeout` for a connection; DeadlineExceeded if none came.
  // The connection gets the config's receive_timeout and send_timeout.
  [[nodiscard]] absl::StatusOr<Connection> accept(
      absl::Duration timeout = absl::InfiniteDuration());

  [[nodiscard]] FdView fd() const;
  // Closes it now and removes the Unix socket file it made. Closing twice is
  // misuse. The descriptor is closed whatever the result.
  //
  // The file is removed only by the process that bound it: in a fork()ed
  // child, closing (or destroying) the inherited copy closes the child's
  // descriptor and leaves the parent's live socket file where it is (unlike
  // Asio or Rust's UnixListener, which never remove the file, and servers
  // that unlink it in every process that exits). A file that is gone already
  // (someone removed it) or that is another socket now (someone bound the
  // path again) is left alone and is not an error; failing to remove our
  // own is, naming the path: `close listener on unix:///run/app.sock: unlink
  // socket file "/run/app.sock": Permission denied [EACCES]`.
  [[nodiscard]] absl::Status close();

  // How messages name it: "listener on tcp://127.0.0.1:8080" (the port it
  // got).
  [[nodiscard]] std::string resource() const;

 private:
  Listener(Fd fd, ListenerConfig config, socket_internal::SocketFile socket_file)
      : fd_(this, std::move(fd)), config_(std::move(config)), bound_(config_.endpoint),
        socket_file_(std::move(socket_file)) {}
  int checked_fd(const char* operation) const;
  // Sets the config's receive and send timeouts on accepted descriptor `fd`.
  absl::Status accepted_timeouts(int fd) const;

  internal::NamedFd<Listener> fd_;
  ListenerConfig config_;
  Endpoint bound_;
  // Declared after fd_, so that the destructor removes it first: nobody
  // connects to the file of a listener that is closing. (A move assignment
  // goes member by member in declaration order instead: it closes the old
  // socket, then removes its file; a client in between is refused rather
  // than told the file is gone.)
  socket_internal::SocketFile socket_file_;
};

template <>
struct HandleFor<SocketConfig> {
  using type = Socket;
};
template <>
struct HandleFor<ListenerConfig> {
  using type = Listener;
};

namespace socket_internal {
extern template class Stream<Socket>;
extern template class Stream<Connection>;
}  // namespace socket_internal

}  // namespace uncopyable

#endif  // UNCOPYABLE_SOCKET_H_
