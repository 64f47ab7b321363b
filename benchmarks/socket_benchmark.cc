// Socket against raw system calls and Boost.Asio's synchronous sockets, on
// loopback:
//
//   ./bazelw run -c opt //benchmarks:socket_benchmark --
//       --benchmark_repetitions=9 --benchmark_enable_random_interleaving=true
//       --benchmark_report_aggregates_only=true
//
// Results are in docs/benchmarks.md.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "benchmark/benchmark.h"
#include "boost/asio/connect.hpp"
#include "boost/asio/io_context.hpp"
#include "boost/asio/ip/tcp.hpp"
#include "boost/asio/read.hpp"
#include "boost/asio/write.hpp"
#include "uncopyable/socket.h"

namespace {

using uncopyable::Endpoint;
using uncopyable::Listener;
using uncopyable::Socket;
using uncopyable::SocketConfig;

// What each operation is, in words: printed above the results, and the row
// labels of //benchmarks:report.
const bool described = [] {
  benchmark::AddCustomContext("BM_ConnectClose", "connect + close");
  benchmark::AddCustomContext("BM_Echo1MiB", "1 MiB out and back (64 KiB chunks)");
  benchmark::AddCustomContext("BM_RoundTrip64B", "64-byte request + 64-byte response");
  // What each contender is, for //benchmarks:report (see benchmarks/report.h).
  benchmark::AddCustomContext("contender RawWithTimeout", "baseline variant: raw, with a timeout");
  benchmark::AddCustomContext("contender Socket", "uncopyable: `uncopyable::Socket`");
  benchmark::AddCustomContext("contender Asio", "peer: Boost.Asio");
  return true;
}();

constexpr size_t kMiB = 1 << 20;

// A server on 127.0.0.1 for connect + close: it accepts and closes, as fast
// as it can, for the whole run.
const Endpoint& accept_server() {
  static const Endpoint endpoint = [] {
    auto* listener = new Listener(
        *Listener::open({.endpoint = Endpoint::tcp("127.0.0.1", 0), .backlog = 4096}));
    std::thread([listener] {
      while (true) (void)listener->accept();
    }).detach();
    return listener->endpoint();
  }();
  return endpoint;
}

sockaddr_in raw_address(const Endpoint& endpoint) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(endpoint.port());
  ::inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);
  return address;
}

int raw_connect(const Endpoint& endpoint) {
  const sockaddr_in address = raw_address(endpoint);
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int on = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) std::abort();
  return fd;
}


// Closes with a reset, so that no TIME_WAIT is left to slow later connects
// (the same for every contender).
void close_now(int fd) {
  const linger now{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &now, sizeof now);
  ::close(fd);
}

// connect + close.
void BM_ConnectClose_Raw(benchmark::State& state) {
  const Endpoint& server = accept_server();
  for (auto _ : state) close_now(raw_connect(server));
}
BENCHMARK(BM_ConnectClose_Raw);

// The same with a connect timeout, the way it is usually written by hand:
// non-blocking connect, poll, SO_ERROR, back to blocking.
void BM_ConnectClose_RawWithTimeout(benchmark::State& state) {
  const sockaddr_in address = raw_address(accept_server());
  for (auto _ : state) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    const int on = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
      if (errno != EINPROGRESS) std::abort();
      pollfd entry{fd, POLLOUT, 0};
      if (::poll(&entry, 1, 10000) != 1) std::abort();
      int error = 0;
      socklen_t size = sizeof error;
      ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &size);
      if (error != 0) std::abort();
    }
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    close_now(fd);
  }
}
BENCHMARK(BM_ConnectClose_RawWithTimeout);

void BM_ConnectClose_Socket(benchmark::State& state) {
  const SocketConfig c{.endpoint = accept_server()};
  for (auto _ : state) {
    absl::StatusOr<Socket> socket = Socket::open(c);
    if (!socket.ok()) std::abort();
    close_now(socket->release().release());
  }
}
BENCHMARK(BM_ConnectClose_Socket);

void BM_ConnectClose_Asio(benchmark::State& state) {
  boost::asio::io_context io;
  const boost::asio::ip::tcp::endpoint where(boost::asio::ip::make_address("127.0.0.1"),
                                             accept_server().port());
  for (auto _ : state) {
    boost::asio::ip::tcp::socket socket(io);
    socket.connect(where);
    socket.set_option(boost::asio::ip::tcp::no_delay(true));
    socket.set_option(boost::asio::socket_base::linger(true, 0));
  }
}
BENCHMARK(BM_ConnectClose_Asio);

// The I/O benchmarks run both ends in one thread, over a connected loopback
// TCP pair, so that they measure the calls and not the scheduler (with
// threads on two cores, wall times varied by 30% from run to run).

struct RawPair {
  RawPair() {
    Listener listener = *Listener::open({.endpoint = Endpoint::tcp("127.0.0.1", 0)});
    client = raw_connect(listener.endpoint());
    server = listener.accept()->release().release();
  }
  ~RawPair() {
    ::close(client);
    ::close(server);
  }
  int client, server;
};

void raw_send_all(int fd, const char* data, size_t size) {
  for (size_t done = 0; done < size;) {
    const ssize_t n = ::send(fd, data + done, size - done, MSG_NOSIGNAL);
    if (n <= 0) std::abort();
    done += static_cast<size_t>(n);
  }
}

void raw_receive_all(int fd, char* data, size_t size) {
  for (size_t done = 0; done < size;) {
    const ssize_t n = ::recv(fd, data + done, size - done, 0);
    if (n <= 0) std::abort();
    done += static_cast<size_t>(n);
  }
}

struct SocketPair {
  SocketPair()
      : listener(*Listener::open({.endpoint = Endpoint::tcp("127.0.0.1", 0)})),
        client(*Socket::open({.endpoint = listener.endpoint()})),
        server(*listener.accept()) {}
  Listener listener;
  Socket client;
  uncopyable::Connection server;
};

struct AsioPair {
  AsioPair() : acceptor(io, {boost::asio::ip::make_address("127.0.0.1"), 0}), client(io), server(io) {
    client.connect(acceptor.local_endpoint());
    client.set_option(boost::asio::ip::tcp::no_delay(true));
    acceptor.accept(server);
    server.set_option(boost::asio::ip::tcp::no_delay(true));
  }
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor acceptor;
  boost::asio::ip::tcp::socket client, server;
};

constexpr size_t kChunk = 64 * 1024;

// 1 MiB out and back in 64 KiB chunks: client to server, server to client.
void BM_Echo1MiB_Raw(benchmark::State& state) {
  RawPair pair;
  std::string chunk(kChunk, 'x');
  for (auto _ : state) {
    for (size_t done = 0; done < kMiB; done += kChunk) {
      raw_send_all(pair.client, chunk.data(), kChunk);
      raw_receive_all(pair.server, chunk.data(), kChunk);
      raw_send_all(pair.server, chunk.data(), kChunk);
      raw_receive_all(pair.client, chunk.data(), kChunk);
    }
  }
  state.SetBytesProcessed(state.iterations() * kMiB * 2);
}
BENCHMARK(BM_Echo1MiB_Raw);

void BM_Echo1MiB_Socket(benchmark::State& state) {
  SocketPair pair;
  std::string chunk(kChunk, 'x');
  for (auto _ : state) {
    for (size_t done = 0; done < kMiB; done += kChunk) {
      if (!pair.client.send(chunk).ok()) std::abort();
      if (!pair.server.receive_exactly(absl::MakeSpan(chunk)).ok()) std::abort();
      if (!pair.server.send(chunk).ok()) std::abort();
      if (!pair.client.receive_exactly(absl::MakeSpan(chunk)).ok()) std::abort();
    }
  }
  state.SetBytesProcessed(state.iterations() * kMiB * 2);
}
BENCHMARK(BM_Echo1MiB_Socket);

void BM_Echo1MiB_Asio(benchmark::State& state) {
  AsioPair pair;
  std::string chunk(kChunk, 'x');
  for (auto _ : state) {
    for (size_t done = 0; done < kMiB; done += kChunk) {
      boost::asio::write(pair.client, boost::asio::buffer(chunk));
      boost::asio::read(pair.server, boost::asio::buffer(chunk));
      boost::asio::write(pair.server, boost::asio::buffer(chunk));
      boost::asio::read(pair.client, boost::asio::buffer(chunk));
    }
  }
  state.SetBytesProcessed(state.iterations() * kMiB * 2);
}
BENCHMARK(BM_Echo1MiB_Asio);

// A 64-byte request and a 64-byte response.
void BM_RoundTrip64B_Raw(benchmark::State& state) {
  RawPair pair;
  char message[64] = {};
  for (auto _ : state) {
    raw_send_all(pair.client, message, sizeof message);
    raw_receive_all(pair.server, message, sizeof message);
    raw_send_all(pair.server, message, sizeof message);
    raw_receive_all(pair.client, message, sizeof message);
  }
}
BENCHMARK(BM_RoundTrip64B_Raw);

void BM_RoundTrip64B_Socket(benchmark::State& state) {
  SocketPair pair;
  char message[64] = {};
  const absl::string_view view(message, sizeof message);
  for (auto _ : state) {
    if (!pair.client.send(view).ok()) std::abort();
    if (!pair.server.receive_exactly(absl::MakeSpan(message)).ok()) std::abort();
    if (!pair.server.send(view).ok()) std::abort();
    if (!pair.client.receive_exactly(absl::MakeSpan(message)).ok()) std::abort();
  }
}
BENCHMARK(BM_RoundTrip64B_Socket);

void BM_RoundTrip64B_Asio(benchmark::State& state) {
  AsioPair pair;
  char message[64] = {};
  for (auto _ : state) {
    boost::asio::write(pair.client, boost::asio::buffer(message));
    boost::asio::read(pair.server, boost::asio::buffer(message));
    boost::asio::write(pair.server, boost::asio::buffer(message));
    boost::asio::read(pair.client, boost::asio::buffer(message));
  }
}
BENCHMARK(BM_RoundTrip64B_Asio);

}  // namespace
