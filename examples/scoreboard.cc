#include "examples/scoreboard.h"

#include <poll.h>

#include <cerrno>
#include <cstddef>
#include <string>
#include <utility>

#include "absl/strings/strip.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "absl/types/span.h"

namespace tournament {
namespace {

constexpr absl::string_view kRequest = "standings\n";
// How often the server thread looks up from waiting to see if it should stop.
constexpr absl::Duration kStopCheck = absl::Milliseconds(50);
// How long a client may take over one request line, and how long it may be.
constexpr absl::Duration kRequestTimeout = absl::Seconds(2);
constexpr size_t kLongestRequest = 64;

// Waits until `fd` can be read, for at most kStopCheck. The descriptor is
// borrowed (an FdView): poll() needs the number, never the ownership.
absl::StatusOr<bool> readable(uncopyable::FdView fd) {
  pollfd entry{.fd = fd.get(), .events = POLLIN, .revents = 0};
  const int ready = ::poll(&entry, 1, static_cast<int>(absl::ToInt64Milliseconds(kStopCheck)));
  if (ready < 0 && errno != EINTR) return absl::ErrnoToStatus(errno, "poll");
  return ready > 0;
}

// Reads up to and including the next '\n', one byte at a time (requests are
// a few bytes, and nothing after the line is taken from the stream). An
// empty result: the peer closed first. `wait` is called before each byte and
// says whether to go on (an error stops the read).
template <typename Stream, typename Wait>
absl::StatusOr<std::string> read_line(Stream& stream, Wait wait) {
  std::string line;
  char c = 0;
  while (c != '\n') {
    if (absl::Status waited = wait(); !waited.ok()) return waited;
    absl::StatusOr<size_t> got = stream.receive(absl::MakeSpan(&c, 1));
    if (!got.ok()) return got.status();
    if (*got == 0) {
      if (line.empty()) return line;
      return absl::DataLossError(absl::StrCat("the line \"", line, "\" was cut short"));
    }
    if (line.size() == kLongestRequest) {
      return absl::InvalidArgumentError(absl::StrCat("a line longer than ", kLongestRequest));
    }
    line += c;
  }
  return line;
}

}  // namespace

ScoreBoardServer::ScoreBoardServer(uncopyable::Listener listener, Board& board,
                                   absl::Duration answer_within)
    : listener_(std::move(listener)),
      board_(board),
      answer_within_(answer_within),
      thread_([this](std::stop_token stop) { serve(std::move(stop)); }) {}

ScoreBoardServer::~ScoreBoardServer() {
  if (!stopped_) stop().IgnoreError();
}

absl::Status ScoreBoardServer::stop() {
  if (stopped_) return absl::OkStatus();
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
    if (!connection.ok()) {  // the listener itself failed: that ends the server
      error_ = connection.status();
      return;
    }
    // A client that misbehaves or goes away loses its own connection, and
    // only that: the server goes on to the next one.
    answer(*connection, stop).IgnoreError();
    connection->close().IgnoreError();
  }
}

// Answers requests on one connection until the client hangs up, breaks the
// protocol or is too slow, or the server is told to stop.
absl::Status ScoreBoardServer::answer(uncopyable::Connection& connection,
                                      const std::stop_token& stop) {
  while (!stop.stop_requested()) {
    absl::StatusOr<bool> ready = readable(connection.fd());
    if (!ready.ok()) return ready.status();
    if (!*ready) continue;  // idle between requests: look at `stop` again
    const absl::Time deadline = absl::Now() + kRequestTimeout;
    absl::StatusOr<std::string> request = read_line(connection, [&]() -> absl::Status {
      while (true) {
        if (stop.stop_requested()) return absl::CancelledError("the server is stopping");
        if (absl::Now() > deadline) return absl::DeadlineExceededError("a slow request");
        absl::StatusOr<bool> more = readable(connection.fd());
        if (!more.ok() || *more) return more.status();
      }
    });
    if (!request.ok()) return request.status();
    if (request->empty()) return absl::OkStatus();  // the client hung up
    if (*request != kRequest) {
      return absl::InvalidArgumentError(absl::StrCat("unknown request \"", *request, "\""));
    }
    const absl::StatusOr<std::string> table = board_.read(absl::Now() + answer_within_);
    const std::string answer =
        table.ok() ? absl::StrCat(table->size(), "\n", *table)
                   : absl::StrCat("error ", static_cast<int>(table.status().code()), " ",
                                  table.status().message().size(), "\n", table.status().message());
    if (absl::Status sent = connection.send(answer); !sent.ok()) return sent;
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> read_scoreboard(uncopyable::Socket& client) {
  if (absl::Status sent = client.send(kRequest); !sent.ok()) return sent;
  // The client's own receive_timeout (its SocketConfig) bounds each wait.
  absl::StatusOr<std::string> header = read_line(client, [] { return absl::OkStatus(); });
  if (!header.ok()) return header.status();
  const std::string where = client.config().endpoint.to_string();
  if (header->empty()) {
    return absl::UnavailableError(absl::StrCat("score-board at ", where, " closed the connection"));
  }
  // "<size>\n", or "error <code> <size>\n".
  absl::string_view line = absl::string_view(*header).substr(0, header->size() - 1);
  const bool error = absl::ConsumePrefix(&line, "error ");
  int code = 0;
  if (error) {
    const size_t space = line.find(' ');
    if (space == absl::string_view::npos || !absl::SimpleAtoi(line.substr(0, space), &code) ||
        code <= 0 || code > static_cast<int>(absl::StatusCode::kUnauthenticated)) {
      return absl::DataLossError(absl::StrCat("score-board at ", where, " sent a bad header"));
    }
    line.remove_prefix(space + 1);
  }
  size_t size = 0;
  if (!absl::SimpleAtoi(line, &size) || size > (1 << 20)) {
    return absl::DataLossError(absl::StrCat("score-board at ", where, " sent a bad header"));
  }
  std::string text(size, '\0');
  if (absl::Status got = client.receive_exactly(absl::MakeSpan(text)); !got.ok()) return got;
  if (error) {
    return absl::Status(static_cast<absl::StatusCode>(code),
                        absl::StrCat("score-board at ", where, ": ", text));
  }
  return text;
}

}  // namespace tournament
