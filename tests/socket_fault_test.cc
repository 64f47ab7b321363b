// Sockets under faults, on loopback only: a peer that resets, a closed port,
// a full backlog, a server restart, thousands of cycles, and every system
// call of connect, accept, send, receive and close failing in turn.
#include <fcntl.h>
#include <sys/socket.h>

#include <cerrno>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/fds.h"
#include "tests/testing/temp_path.h"
#include "uncopyable/socket.h"
#include "uncopyable/testing/fault_injection.h"

namespace uncopyable {
namespace {

using ::testing::HasSubstr;
using testing::FaultInjector;
using testing::open_fds;
using testing::Syscall;
using testing::TempPath;

constexpr absl::Duration kWait = absl::Seconds(5);

Listener listen_on(int port = 0, int backlog = 128) {
  absl::StatusOr<Listener> listener =
      Listener::open({.endpoint = Endpoint::tcp("127.0.0.1", static_cast<uint16_t>(port)),
                      .backlog = backlog});
  EXPECT_TRUE(listener.ok()) << listener.status();
  return *std::move(listener);
}

TEST(SocketFaultTest, PeerResetMidStreamIsUnavailable) {
  Listener listener = listen_on();
  absl::StatusOr<Socket> client = Socket::open({.endpoint = listener.endpoint()});
  ASSERT_TRUE(client.ok());
  absl::StatusOr<Connection> server = listener.accept(kWait);
  ASSERT_TRUE(server.ok());
  ASSERT_TRUE(client->send("half a request").ok());
  // Close with unread data and SO_LINGER 0: the kernel sends a reset.
  const linger now{1, 0};
  ASSERT_EQ(::setsockopt(server->fd().get(), SOL_SOCKET, SO_LINGER, &now, sizeof now), 0);
  ASSERT_TRUE(server->close().ok());
  char buffer[16];
  absl::StatusOr<size_t> got = client->receive(absl::MakeSpan(buffer));
  EXPECT_EQ(got.status().code(), absl::StatusCode::kUnavailable) << got.status();
  EXPECT_THAT(got.status().message(), HasSubstr("[ECONNRESET]"));
  EXPECT_THAT(got.status().message(), HasSubstr(listener.endpoint().to_string()));
  // Writing to the dead connection is a Status too, never SIGPIPE: the reset
  // was reported, so it is EPIPE now, FailedPrecondition (gone for good).
  absl::Status sent;
  for (int i = 0; i < 100 && sent.ok(); ++i) sent = client->send(std::string(65536, 'x'));
  EXPECT_EQ(sent.code(), absl::StatusCode::kFailedPrecondition) << sent;
  EXPECT_THAT(sent.message(), HasSubstr("[EPIPE]"));
}

// A send after this side shut down writing is EPIPE: FailedPrecondition, not
// Unavailable (which a retry loop would take as "try again" for ever).
TEST(SocketFaultTest, SendAfterShutdownIsFailedPrecondition) {
  Listener listener = listen_on();
  absl::StatusOr<Socket> client = Socket::open({.endpoint = listener.endpoint()});
  ASSERT_TRUE(client.ok());
  absl::StatusOr<Connection> server = listener.accept(kWait);
  ASSERT_TRUE(server.ok());
  ASSERT_TRUE(client->shutdown(Socket::Direction::write).ok());
  const absl::Status sent = client->send("late");
  EXPECT_EQ(sent.code(), absl::StatusCode::kFailedPrecondition) << sent;
  EXPECT_THAT(sent.message(), HasSubstr("Broken pipe [EPIPE]"));
  EXPECT_THAT(sent.message(), HasSubstr(listener.endpoint().to_string()));
  absl::StatusOr<size_t> some = client->send_some("late");
  EXPECT_EQ(some.status().code(), absl::StatusCode::kFailedPrecondition) << some.status();
}

TEST(SocketFaultTest, ClosedPortIsUnavailableAndNamed) {
  Endpoint gone;
  {
    Listener listener = listen_on();
    gone = listener.endpoint();
  }
  absl::StatusOr<Socket> client = Socket::open({.endpoint = gone});
  EXPECT_EQ(client.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(client.status().message(),
            "open socket to " + gone.to_string() + ": connect: Connection refused [ECONNREFUSED]");
}

TEST(SocketFaultTest, FullBacklogMakesConnectTimeOut) {
  Listener listener = listen_on(0, /*backlog=*/0);
  std::vector<Socket> waiting;  // never accepted
  absl::Status status;
  for (int i = 0; i < 16 && status.ok(); ++i) {
    absl::StatusOr<Socket> client = Socket::open(
        {.endpoint = listener.endpoint(), .connect_timeout = absl::Milliseconds(200)});
    status = client.status();
    if (client.ok()) waiting.push_back(*std::move(client));
  }
  EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded) << status;
  EXPECT_THAT(status.message(), HasSubstr("timed out after 200ms"));
  EXPECT_LT(waiting.size(), 16u);
}

// A Unix socket file that close() could not remove is an error naming the
// path (the file is still there); the descriptor is closed all the same.
TEST(SocketFaultTest, ListenerCloseReportsASocketFileItCouldNotRemove) {
  TempPath path = TempPath::for_socket("stuck.sock");
  absl::StatusOr<Listener> listener =
      Listener::open({.endpoint = Endpoint::unix_socket(path.path())});
  ASSERT_TRUE(listener.ok()) << listener.status();
  const std::string endpoint = listener->endpoint().to_string();
  const int fd = listener->fd().get();
  absl::Status closed;
  {
    FaultInjector fault;
    fault.fail_nth(1, EACCES, Syscall::kUnlink);
    closed = listener->close();
    EXPECT_EQ(fault.injected(), 1) << fault.describe();
  }
  EXPECT_EQ(closed.code(), absl::StatusCode::kPermissionDenied) << closed;
  EXPECT_EQ(closed.message(), "close listener on " + endpoint + ": unlink socket file \"" +
                                  path.path() + "\": Permission denied [EACCES]");
  EXPECT_EQ(::access(path.path().c_str(), F_OK), 0);  // left behind, and said so
  EXPECT_EQ(::fcntl(fd, F_GETFD), -1);                // closed anyway

  // Looking at the file failing is reported the same way.
  absl::StatusOr<Listener> again = Listener::open({.endpoint = Endpoint::unix_socket(path.path())});
  ASSERT_TRUE(again.ok()) << again.status();  // the file was stale: replaced
  {
    FaultInjector fault;
    fault.fail_nth(1, EIO, Syscall::kLstat);
    closed = again->close();
  }
  EXPECT_EQ(closed.message(), "close listener on " + endpoint + ": lstat socket file \"" +
                                  path.path() + "\": Input/output error [EIO]");
}

TEST(SocketFaultTest, RebuildReconnectsAfterTheServerRestarts) {
  absl::StatusOr<Listener> first = Listener::open({.endpoint = Endpoint::tcp("127.0.0.1", 0)});
  ASSERT_TRUE(first.ok());
  const Endpoint where = first->endpoint();
  absl::StatusOr<Socket> client = Socket::open({.endpoint = where});
  ASSERT_TRUE(client.ok());
  {
    absl::StatusOr<Connection> server = first->accept(kWait);
    ASSERT_TRUE(server.ok());
    ASSERT_TRUE(first->close().ok());
  }  // the server is gone, connection and all
  // The same port again, as a restarted server would (SO_REUSEADDR).
  absl::StatusOr<Listener> second = Listener::open({.endpoint = where});
  ASSERT_TRUE(second.ok()) << second.status();
  char byte;
  EXPECT_EQ(*client->receive(absl::MakeSpan(&byte, 1)), 0u);  // the old link ended
  absl::StatusOr<Socket> again = client->rebuild();
  ASSERT_TRUE(again.ok()) << again.status();
  absl::StatusOr<Connection> server = second->accept(kWait);
  ASSERT_TRUE(server.ok());
  ASSERT_TRUE(again->send("after restart").ok());
  std::string buffer(13, '\0');
  ASSERT_TRUE(server->receive_exactly(absl::MakeSpan(buffer)).ok());
  EXPECT_EQ(buffer, "after restart");
}

TEST(SocketFaultTest, ThousandsOfCyclesLeakNothing) {
  Listener listener = listen_on();
  const std::set<int> before = open_fds();
  for (int i = 0; i < 2000; ++i) {
    absl::StatusOr<Socket> client = Socket::open({.endpoint = listener.endpoint()});
    ASSERT_TRUE(client.ok()) << "cycle " << i << ": " << client.status();
    absl::StatusOr<Connection> server = listener.accept(kWait);
    ASSERT_TRUE(server.ok()) << "cycle " << i << ": " << server.status();
    ASSERT_TRUE(client->close().ok());
  }
  EXPECT_EQ(open_fds(), before);
}

// One operation on a fresh pair, for the sweep.
struct Operation {
  const char* name;
  std::function<absl::Status(Listener&, Socket&, Connection&)> run;
};

std::vector<Operation> operations() {
  return {
      {"connect", [](Listener& listener, Socket&, Connection&) {
         absl::StatusOr<Socket> socket = Socket::open({.endpoint = listener.endpoint()});
         if (!socket.ok()) return socket.status();
         return socket->close();
       }},
      {"accept", [](Listener& listener, Socket&, Connection&) {
         absl::StatusOr<Connection> accepted = listener.accept(absl::Seconds(1));
         return accepted.ok() ? accepted->close() : accepted.status();
       }},
      {"send", [](Listener&, Socket& client, Connection&) { return client.send("0123456789"); }},
      {"receive", [](Listener&, Socket&, Connection& server) {
         std::string buffer(4, '\0');
         absl::Status status = server.receive_exactly(absl::MakeSpan(buffer));
         if (status.ok() && buffer != "head") return absl::InternalError("wrong bytes: " + buffer);
         return status;
       }},
      {"close", [](Listener&, Socket& client, Connection&) { return client.close(); }},
  };
}

// The listener's timeouts go on each accepted descriptor; if that fails,
// accept() says so, naming the listener, and the descriptor is closed.
TEST(SocketFaultTest, AcceptedTimeoutsThatCannotBeSetAreAStatus) {
  absl::StatusOr<Listener> listener = Listener::open({.endpoint = Endpoint::tcp("127.0.0.1", 0),
                                                      .send_timeout = absl::Seconds(1),
                                                      .receive_timeout = absl::Seconds(1)});
  ASSERT_TRUE(listener.ok()) << listener.status();
  const std::string resource = listener->resource();
  absl::StatusOr<Socket> client = Socket::open({.endpoint = listener->endpoint()});
  ASSERT_TRUE(client.ok()) << client.status();
  for (int n : {1, 2}) {
    absl::StatusOr<Socket> again = Socket::open({.endpoint = listener->endpoint()});
    ASSERT_TRUE(again.ok()) << again.status();
    const std::set<int> with_client = open_fds();
    absl::StatusOr<Connection> server;
    {
      FaultInjector fault;
      fault.fail_nth(n, ENOMEM, Syscall::kSetsockopt);
      server = listener->accept(kWait);
    }
    EXPECT_EQ(server.status().code(), absl::StatusCode::kResourceExhausted) << server.status();
    EXPECT_EQ(server.status().message(),
              absl::StrCat("accept ", resource, ": setsockopt ",
                           n == 1 ? "SO_RCVTIMEO" : "SO_SNDTIMEO",
                           ": Cannot allocate memory [ENOMEM]"));
    EXPECT_EQ(open_fds(), with_client) << "the accepted descriptor leaked";
  }
  absl::StatusOr<Connection> server = listener->accept(kWait);
  ASSERT_TRUE(server.ok()) << server.status();
  {
    FaultInjector fault;
    fault.fail_nth(1, EIO, Syscall::kSetsockopt);
    const absl::Status status = server->set_timeouts(absl::Seconds(1), absl::Seconds(1));
    EXPECT_THAT(status.message(), HasSubstr("set_timeouts connection from tcp://127.0.0.1:"));
    EXPECT_THAT(status.message(), HasSubstr("setsockopt SO_RCVTIMEO: "));
  }
}

std::vector<int> errnos_for(Syscall call) {
  switch (call) {
    case Syscall::kSend:
    case Syscall::kRecv:
    case Syscall::kPoll:
    case Syscall::kAccept:
      return {EINTR, ECONNRESET, EIO};
    case Syscall::kSocket:
      return {EMFILE, ENOBUFS};
    case Syscall::kConnect:
      return {EINTR, ECONNREFUSED, ENETUNREACH};
    default:
      return {EIO, ENOMEM};
  }
}

TEST(SocketFaultTest, SweepEverySystemCallOfEveryOperation) {
  int runs = 0;
  for (const Operation& operation : operations()) {
    std::vector<Syscall> calls;
    {
      // Count the operation's own calls (setup and teardown not counted).
      Listener listener = listen_on();
      absl::StatusOr<Socket> client = Socket::open({.endpoint = listener.endpoint()});
      absl::StatusOr<Connection> server = listener.accept(kWait);
      ASSERT_TRUE(client->send("head").ok());
      absl::StatusOr<Socket> waiting = Socket::open({.endpoint = listener.endpoint()});
      FaultInjector count;
      ASSERT_TRUE(operation.run(listener, *client, *server).ok()) << operation.name;
      calls = count.calls();
    }
    ASSERT_FALSE(calls.empty()) << operation.name;
    for (size_t n = 1; n <= calls.size(); ++n) {
      for (int error : errnos_for(calls[n - 1])) {
        const std::set<int> before = open_fds();
        absl::Status status;
        std::string description;
        {
          Listener listener = listen_on();
          absl::StatusOr<Socket> client = Socket::open({.endpoint = listener.endpoint()});
          ASSERT_TRUE(client.ok());
          absl::StatusOr<Connection> server = listener.accept(kWait);
          ASSERT_TRUE(server.ok());
          ASSERT_TRUE(client->send("head").ok());
          absl::StatusOr<Socket> waiting = Socket::open({.endpoint = listener.endpoint()});
          ASSERT_TRUE(waiting.ok());
          FaultInjector fault;
          fault.fail_nth(static_cast<int>(n), error);
          status = operation.run(listener, *client, *server);
          description = absl::StrCat(operation.name, ": ", fault.describe());
        }
        ++runs;
        const Syscall call = calls[n - 1];
        const bool retried = error == EINTR && call != Syscall::kClose;
        if (retried) {
          EXPECT_TRUE(status.ok()) << description << " must be retried, got " << status;
        } else {
          EXPECT_FALSE(status.ok()) << description << " must be reported";
          EXPECT_THAT(status.message(), HasSubstr("127.0.0.1")) << description;
        }
        EXPECT_EQ(open_fds(), before) << description << ": a descriptor leaked";
      }
    }
  }
  EXPECT_GE(runs, 20);
}

}  // namespace
}  // namespace uncopyable
