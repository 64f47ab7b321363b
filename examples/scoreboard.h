// The score-board: a tiny server on a loopback Listener that answers each
// "standings" request with the current table, and the client side that asks.
//
// Protocol, one request per line: the client sends "standings\n"; the server
// answers "<byte count>\n<table>", or, when its Board cannot give the table
// in time (the database is down), "error <absl::StatusCode number> <byte
// count>\n<message>" and goes on serving that client.
#ifndef UNCOPYABLE_EXAMPLES_SCOREBOARD_H_
#define UNCOPYABLE_EXAMPLES_SCOREBOARD_H_

#include <stop_token>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "examples/board.h"
#include "uncopyable/socket.h"

namespace tournament {

// Serves `board` on one thread until stop() or destruction, one client at a
// time (a client that sends something else, or takes longer than 2 s over a
// request, is disconnected). Each answer is what board.read(now +
// `answer_within`) gave: the table, or its error, sent to the client. It
// owns its Listener (moved in) and every connection it accepts; `board`
// must outlive it (its thread calls board.read()).
class ScoreBoardServer {
 public:
  ScoreBoardServer(uncopyable::Listener listener, Board& board,
                   absl::Duration answer_within = absl::Seconds(1));
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
  Board& board_;
  const absl::Duration answer_within_;
  absl::Status error_;  // why the thread ended early; read after it is joined
  bool stopped_ = false;
  std::jthread thread_;  // last: starts once everything it uses exists
};

// Asks the server at the other end of `client` for the table. The server's
// error comes back with its code, as "score-board at <endpoint>: <its
// message>"; the client's connection stays usable for the next request.
absl::StatusOr<std::string> read_scoreboard(uncopyable::Socket& client);

}  // namespace tournament

#endif  // UNCOPYABLE_EXAMPLES_SCOREBOARD_H_
