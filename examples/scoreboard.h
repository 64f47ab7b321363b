// The score-board: a tiny server on a loopback Listener that answers each
// "standings" request with the current table, and the client side that asks.
//
// Protocol, one request per line: the client sends "standings\n"; the server
// answers "<byte count>\n<table>".
#ifndef UNCOPYABLE_EXAMPLES_SCOREBOARD_H_
#define UNCOPYABLE_EXAMPLES_SCOREBOARD_H_

#include <stop_token>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "examples/standings.h"
#include "uncopyable/socket.h"

namespace tournament {

// Serves `standings` on one thread until stop() or destruction, one client
// at a time (a client that sends something else, or takes longer than 2 s
// over a request, is disconnected). It owns its Listener (moved in) and
// every connection it accepts; `standings` must outlive it.
class ScoreBoardServer {
 public:
  ScoreBoardServer(uncopyable::Listener listener, const Standings& standings);
  // Stops and joins the thread; an error at that point is lost (call stop()).
  ~ScoreBoardServer();
  // A running thread refers to `this`: it stays where it was made.
  ScoreBoardServer(ScoreBoardServer&&) = delete;
  ScoreBoardServer& operator=(ScoreBoardServer&&) = delete;

  // Where clients connect: the address and the port the kernel picked.
  const uncopyable::Endpoint& endpoint() const { return listener_.endpoint(); }

  // Stops serving: the thread ends, the open connection and the listener are
  // closed. Returns what ended the server early (the listener failing), or
  // what closing the listener said. Once stopped, it does nothing more.
  [[nodiscard]] absl::Status stop();

 private:
  void serve(std::stop_token stop);
  absl::Status answer(uncopyable::Connection& connection, const std::stop_token& stop);

  uncopyable::Listener listener_;
  const Standings& standings_;
  absl::Status error_;  // why the thread ended early; read after it is joined
  bool stopped_ = false;
  std::jthread thread_;  // last: starts once everything it uses exists
};

// Asks the server at the other end of `client` for the table.
absl::StatusOr<std::string> read_scoreboard(uncopyable::Socket& client);

}  // namespace tournament

#endif  // UNCOPYABLE_EXAMPLES_SCOREBOARD_H_
