// uncopyable/socket.h: Socket (a connection you made), Listener (one you
// accept on), Connection (one you accepted), and their configs.
//
//   uncopyable::ListenerConfig listen{.endpoint = uncopyable::Endpoint::tcp("127.0.0.1", 0)};
//   absl::StatusOr<uncopyable::Listener> server = uncopyable::rebuild(listen);
//   // server->endpoint() is the port the kernel picked; server->config()
//   // still says 0, as asked.
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
//
// Errors are absl::Status values naming the operation and the endpoint:
//   connect to tcp://127.0.0.1:9: Connection refused [ECONNREFUSED]  (Unavailable)
//   receive from tcp://127.0.0.1:8080: timed out after 2s           (DeadlineExceeded)
//   send to tcp://127.0.0.1:8080: Connection reset by peer [ECONNRESET]  (Unavailable)
// A closed peer is a Status, never SIGPIPE (MSG_NOSIGNAL); EINTR is retried,
// short transfers finished. Endpoints in messages are cut short past 200
// bytes, with their length said. Misuse aborts: any use of a moved-from,
// released or closed Socket, Connection or Listener, and closing twice.
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
#include "uncopyable/rebuildable.h"

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
                    remove_stale, close_on_exec)

  Endpoint endpoint{};                 // required: where to listen; TCP port 0: any free port
  int32_t backlog = 128;               // connections waiting for accept()
  bool reuse_address = true;           // SO_REUSEADDR: rebind right after a restart
  bool reuse_port = false;             // SO_REUSEPORT: several listeners on one port
  Permissions socket_mode{};           // 0600: mode of a Unix socket file
  bool remove_stale = true;            // replace a Unix socket file nobody listens on
  bool close_on_exec = true;           // SOCK_CLOEXEC

  static constexpr absl::string_view kRequired[] = {"endpoint"};

  // A valid endpoint; backlog from 0 to 65535.
  absl::Status validate() const;
};

namespace socket_internal {

// The I/O every connected socket has, whoever made it. The peer is named
// in every message (formatted only when a message is made).
class Stream {
 public:
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

  // shutdown(2) of one or both directions.
  enum class Direction { read, write, both };
  [[nodiscard]] absl::Status shutdown(Direction direction);

  // The addresses of this end and the other.
  [[nodiscard]] absl::StatusOr<Endpoint> local_endpoint() const;
  [[nodiscard]] absl::StatusOr<Endpoint> peer_endpoint() const;

  // The descriptor, borrowed.
  [[nodiscard]] FdView fd() const;

  // Closes it now and reports what close(2) said. Closing twice is misuse.
  [[nodiscard]] absl::Status close();

  // Gives up the descriptor (for handing it to another library): the caller
  // owns it now. Misuse if there is none. Any later use of this object is
  // misuse that says so: "Socket::send() on a released handle".
  [[nodiscard]] Fd release();

 protected:
  // `peer` is the other end, or (`client_of`) the listener it came through.
  Stream(Fd fd, Endpoint peer, bool client_of, const char* kind)
      : fd_(std::move(fd)), peer_(std::move(peer)), client_of_(client_of), kind_(kind) {
    // Named by kind alone in ownership messages (uncopyable/fd_ownership.h):
    // a Stream's moves are the implicit ones, and release() hands its Fd on.
    static constexpr FdOwnerKind kSocket{"Socket"}, kConnection{"Connection"};
    fd_.set_owner(std::string_view(kind) == "Socket" ? kSocket : kConnection, nullptr);
  }
  int checked_fd(const char* operation) const;
  // The Status of a failed recv(2): a timeout, or the errno.
  absl::Status receive_error(int error) const;
  // "tcp://127.0.0.1:8080", or "a client of unix:///run/app.sock".
  std::string peer_name() const;

  Fd fd_;
  Endpoint peer_;
  bool client_of_;
  const char* kind_;  // "Socket" or "Connection", for misuse messages
};

}  // namespace socket_internal

// A connection made from a SocketConfig. See the top of this file.
class Socket : public socket_internal::Stream {
 public:
  using config_type = SocketConfig;

  // Resolves the endpoint (names are looked up now, every time) and
  // connects to each address in turn within connect_timeout.
  [[nodiscard]] static absl::StatusOr<Socket> open(const SocketConfig& config);

  [[nodiscard]] const SocketConfig& config() const { return config_; }
  // Connects again: a fresh connection to the same endpoint, same options.
  [[nodiscard]] absl::StatusOr<Socket> rebuild() const;

  // Takes over a connected descriptor (one coming back from another library)
  // and the config that describes it, for rebuild() and messages.
  [[nodiscard]] static Socket adopt(Fd fd, SocketConfig config);

 private:
  Socket(Fd fd, SocketConfig config);
  SocketConfig config_;
};

// A connection that accept() returned: the same I/O as a Socket, but no
// config and no rebuild(), since nothing can make it again.
class Connection : public socket_internal::Stream {
 public:
  // Takes over an accepted descriptor; `peer` names the other end.
  [[nodiscard]] static Connection adopt(Fd fd, Endpoint peer);

 private:
  friend class Listener;
  Connection(Fd fd, Endpoint peer, bool client_of)
      : Stream(std::move(fd), std::move(peer), client_of, "Connection") {}
};

// A socket listening for connections.
class Listener {
 public:
  using config_type = ListenerConfig;

  // Binds and listens. A Unix socket file left by a listener that is gone is
  // replaced (with remove_stale); one that a live listener holds is an error
  // (EADDRINUSE), also when its backlog is full: the check never waits.
  [[nodiscard]] static absl::StatusOr<Listener> open(const ListenerConfig& config);

  Listener(Listener&& other) noexcept
      : fd_(std::move(other.fd_)), config_(std::move(other.config_)),
        bound_(std::move(other.bound_)), socket_inode_(std::exchange(other.socket_inode_, 0)),
        owner_pid_(other.owner_pid_) {
    name_fd_owner();
  }
  Listener& operator=(Listener&& other) noexcept;
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;
  // Closes the socket and removes the Unix socket file it made (only in the
  // process that made it; an error here is lost: call close()).
  ~Listener();

  // What was asked (port 0 stays 0).
  [[nodiscard]] const ListenerConfig& config() const { return config_; }
  // Where it listens: the port the kernel picked for port 0.
  [[nodiscard]] const Endpoint& endpoint() const;
  // A fresh listener from config() (with port 0: a new free port).
  [[nodiscard]] absl::StatusOr<Listener> rebuild() const;

  // Waits up to `timeout` for a connection; DeadlineExceeded if none came.
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
  // own is, naming the path: `close of the listener on unix:///run/app.sock:
  // unlink("/run/app.sock"): Permission denied [EACCES]`.
  [[nodiscard]] absl::Status close();

 private:
  Listener(Fd fd, ListenerConfig config, Endpoint bound, uint64_t socket_inode, pid_t owner_pid)
      : fd_(std::move(fd)), config_(std::move(config)), bound_(std::move(bound)),
        socket_inode_(socket_inode), owner_pid_(owner_pid) {
    name_fd_owner();
  }
  int checked_fd(const char* operation) const;
  // Names this Listener, by its endpoint, as its descriptor's owner in
  // ownership messages (uncopyable/fd_ownership.h); again after every move.
  static std::string describe_fd_owner(const void* listener) {
    return "endpoint " + static_cast<const Listener*>(listener)->bound_.to_string();
  }
  static constexpr FdOwnerKind kFdOwner{"Listener", &describe_fd_owner};
  void name_fd_owner() noexcept { fd_.set_owner(kFdOwner, this); }
  // Removes the Unix socket file, once; see close().
  absl::Status remove_socket_file();

  Fd fd_;
  ListenerConfig config_;
  Endpoint bound_;
  uint64_t socket_inode_ = 0;  // the Unix socket file it made, to remove
  pid_t owner_pid_ = 0;        // the process that bound it: only it removes the file
};

template <>
struct HandleFor<SocketConfig> {
  using type = Socket;
};
template <>
struct HandleFor<ListenerConfig> {
  using type = Listener;
};

}  // namespace uncopyable

#endif  // UNCOPYABLE_SOCKET_H_
