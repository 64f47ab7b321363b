#include "examples/scoreboard.h"

#include <poll.h>

#include <cerrno>
#include <cstddef>
#include <string>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "absl/types/span.h"

namespace tournament {
namespace {

constexpr absl::string_view kRequest = "standings\n";
// How often the server thread looks up from waiting to see if it should stop.
constexpr absl::Duration kStopCheck = absl::Milliseconds(50);

// Waits until `fd` can be read, for at most kStopCheck. The descriptor is
// borrowed (an FdView): poll() needs the number, never the ownership.
absl::StatusOr<bool> readable(uncopyable::FdView fd) {
  pollfd entry{.fd = fd.get(), .events = POLLIN, .revents = 0};
  const int ready = ::poll(&entry, 1, static_cast<int>(absl::ToInt64Milliseconds(kStopCheck)));
  if (ready < 0 && errno != EINTR) return absl::ErrnoToStatus(errno, "poll");
  return ready > 0;
}

// Reads up to and including the next '\n'. An empty result: the peer closed.
template <typename Stream>
absl::StatusOr<std::string> read_line(Stream& stream) {
  std::string line;
  char c = 0;
  while (c != '\n') {
    absl::StatusOr<size_t> got = stream.receive(absl::MakeSpan(&c, 1));
    if (!got.ok()) return got.status();
    if (*got == 0) {
      if (line.empty()) return line;
      return absl::DataLossError(absl::StrCat("the line \"", line, "\" was cut short"));
    }
    line += c;
  }
  return line;
}

}  // namespace

ScoreBoardServer::ScoreBoardServer(uncopyable::Listener listener, const Standings& standings)
    : listener_(std::move(listener)),
      standings_(standings),
      thread_([this](std::stop_token stop) { serve(std::move(stop)); }) {}

ScoreBoardServer::~ScoreBoardServer() {
  if (!stopped_) stop().IgnoreError();
}

absl::Status ScoreBoardServer::stop() {
  stopped_ = true;
  thread_.request_stop();
  thread_.join();
  absl::Status closed = listener_.close();
  return error_.ok() ? closed : error_;
}

void ScoreBoardServer::serve(std::stop_token stop) {
  while (!stop.stop_requested()) {
    absl::StatusOr<uncopyable::Connection> connection = listener_.accept(kStopCheck);
    if (absl::IsDeadlineExceeded(connection.status())) continue;  // nobody yet
    if (!connection.ok()) {
      error_ = connection.status();
      return;
    }
    absl::Status answered = answer(*connection, stop);
    // Closed here, explicitly: a failed close is an error worth reporting.
    absl::Status closed = connection->close();
    if (!answered.ok() || !closed.ok()) {
      error_ = answered.ok() ? closed : answered;
      return;
    }
  }
}

// Answers requests on one connection until the client hangs up or the
// server is told to stop.
absl::Status ScoreBoardServer::answer(uncopyable::Connection& connection,
                                      const std::stop_token& stop) {
  while (!stop.stop_requested()) {
    absl::StatusOr<bool> ready = readable(connection.fd());
    if (!ready.ok()) return ready.status();
    if (!*ready) continue;
    absl::StatusOr<std::string> request = read_line(connection);
    if (!request.ok()) return request.status();
    if (request->empty()) return absl::OkStatus();  // the client hung up
    if (*request != kRequest) {
      return absl::InvalidArgumentError(
          absl::StrCat("score-board: unknown request \"", *request, "\""));
    }
    const std::string table = standings_.table();
    if (absl::Status sent = connection.send(absl::StrCat(table.size(), "\n", table)); !sent.ok()) {
      return sent;
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> read_scoreboard(uncopyable::Socket& client) {
  if (absl::Status sent = client.send(kRequest); !sent.ok()) return sent;
  absl::StatusOr<std::string> header = read_line(client);
  if (!header.ok()) return header.status();
  const std::string where = client.config().endpoint.to_string();
  if (header->empty()) {
    return absl::UnavailableError(absl::StrCat("score-board at ", where, " closed the connection"));
  }
  size_t size = 0;
  if (!absl::SimpleAtoi(absl::string_view(*header).substr(0, header->size() - 1), &size) ||
      size > (1 << 20)) {
    return absl::DataLossError(absl::StrCat("score-board at ", where, " sent a bad header"));
  }
  std::string table(size, '\0');
  if (absl::Status got = client.receive_exactly(absl::MakeSpan(table)); !got.ok()) return got;
  return table;
}

}  // namespace tournament
