// uncopyable/endpoint.h: where a socket connects or listens, as data.
//
//   Endpoint web = Endpoint::tcp("127.0.0.1", 8080);     // tcp://127.0.0.1:8080
//   Endpoint v6 = Endpoint::tcp("::1", 8080);            // tcp://[::1]:8080
//   Endpoint local = Endpoint::unix_socket("/run/app.sock");  // unix:///run/app.sock
//   Endpoint hidden = Endpoint::abstract_unix("app");    // unix-abstract:app
//   absl::StatusOr<Endpoint> parsed = Endpoint::from_string("tcp://db:5432");
//
// An Endpoint is a regular value: it compares, hashes and prints (as its URL),
// and configs hold it as a field that is a string in JSON. A host name is kept
// as written and resolved only when a socket is built from it.
#ifndef UNCOPYABLE_ENDPOINT_H_
#define UNCOPYABLE_ENDPOINT_H_

#include <cstdint>
#include <ostream>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace uncopyable {

class Endpoint {
 public:
  enum class Kind : unsigned char {
    kTcp,           // host and port
    kUnix,          // a socket file's path
    kAbstractUnix,  // a Linux abstract socket name (no file)
  };

  // tcp://localhost:0: a TCP endpoint on loopback, any port.
  Endpoint() = default;

  static Endpoint tcp(std::string host, uint16_t port) {
    return Endpoint(Kind::kTcp, std::move(host), port);
  }
  static Endpoint unix_socket(std::string path) {
    return Endpoint(Kind::kUnix, std::move(path), 0);
  }
  static Endpoint abstract_unix(std::string name) {
    return Endpoint(Kind::kAbstractUnix, std::move(name), 0);
  }

  Kind kind() const { return kind_; }
  // The host name or address (TCP), the path (Unix) or the name (abstract).
  const std::string& address() const { return address_; }
  // The TCP port; 0 for Unix endpoints (and "any" for a listener).
  uint16_t port() const { return port_; }

  // Its URL: tcp://host:port (IPv6 in brackets), unix:///path (or
  // unix:relative/path), unix-abstract:name; percent-encoded where needed.
  std::string to_string() const;

  // Parses the forms to_string() writes. Errors say what was wrong.
  static absl::StatusOr<Endpoint> from_string(absl::string_view text);

  // A TCP host must not be empty, longer than 255 bytes (a DNS name has at
  // most 253 characters) or hold a NUL; a path or name must not be empty and
  // must fit in a sockaddr_un (107 bytes for a path or an abstract name),
  // and a path must hold no NUL. Messages give lengths, never quote.
  absl::Status validate() const;

  friend bool operator==(const Endpoint&, const Endpoint&) = default;

  template <typename H>
  friend H AbslHashValue(H state, const Endpoint& endpoint) {
    return H::combine(std::move(state), endpoint.kind_, endpoint.address_, endpoint.port_);
  }
  template <typename Sink>
  friend void AbslStringify(Sink& sink, const Endpoint& endpoint) {
    sink.Append(endpoint.to_string());
  }
  friend std::ostream& operator<<(std::ostream& stream, const Endpoint& endpoint) {
    return stream << endpoint.to_string();
  }

 private:
  Endpoint(Kind kind, std::string address, uint16_t port)
      : kind_(kind), address_(std::move(address)), port_(port) {}

  Kind kind_ = Kind::kTcp;
  std::string address_ = "localhost";
  uint16_t port_ = 0;
};

}  // namespace uncopyable

#endif  // UNCOPYABLE_ENDPOINT_H_
