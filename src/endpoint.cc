#include "uncopyable/endpoint.h"

#include <sys/un.h>

#include "absl/strings/str_cat.h"
#include "uncopyable/config.h"
#include "uncopyable/config_url.h"

namespace uncopyable {
namespace {

using url_internal::UrlParts;

constexpr char kWhat[] = "Endpoint";
// sun_path holds 108 bytes: a path needs its terminating NUL, an abstract
// name its leading one.
constexpr size_t kLongestPath = sizeof(sockaddr_un::sun_path) - 1;
constexpr size_t kLongestAbstractName = sizeof(sockaddr_un::sun_path) - 1;
// A DNS name is at most 253 characters (255 bytes on the wire); an address
// literal, with an IPv6 zone, is shorter.
constexpr size_t kLongestHost = 255;

absl::Status endpoint_error(absl::string_view message) {
  return absl::InvalidArgumentError(absl::StrCat(kWhat, ": ", message));
}

}  // namespace

std::string Endpoint::to_string() const {
  UrlParts parts;
  switch (kind_) {
    case Kind::kTcp:
      parts.scheme = "tcp";
      parts.has_authority = true;
      parts.host = address_;
      parts.port = absl::StrCat(port_);
      break;
    case Kind::kUnix:
      parts.scheme = "unix";
      parts.path = address_;
      break;
    case Kind::kAbstractUnix:
      parts.scheme = "unix-abstract";
      parts.path = address_;
      break;
  }
  return url_internal::join_url(parts);
}

absl::StatusOr<Endpoint> Endpoint::from_string(absl::string_view text) {
  absl::StatusOr<UrlParts> parts = url_internal::split_url(text, kWhat);
  if (!parts.ok()) return parts.status();
  if (parts->user || parts->password) return endpoint_error("user info has no meaning here");
  if (!parts->params.empty()) return endpoint_error("query parameters have no meaning here");
  if (parts->has_fragment) return endpoint_error("a fragment (#...) has no meaning here");
  Endpoint endpoint;
  if (parts->scheme == "tcp") {
    if (!parts->path.empty() && parts->path != "/") {
      return endpoint_error("a tcp:// endpoint has no path");
    }
    if (parts->host.empty()) return endpoint_error("tcp:// needs a host, as in tcp://127.0.0.1:8080");
    if (!parts->port || parts->port->empty()) {
      return endpoint_error("tcp:// needs a port, as in tcp://127.0.0.1:8080");
    }
    uint16_t port = 0;
    if (absl::Status status = parse_field_text(*parts->port, port); !status.ok()) {
      return endpoint_error(absl::StrCat("port ", status.message()));
    }
    endpoint = tcp(parts->host, port);
  } else if (parts->scheme == "unix" || parts->scheme == "unix-abstract") {
    if (!parts->host.empty() || parts->port) {
      return endpoint_error(absl::StrCat(parts->scheme, ": takes a path, not a host: write ",
                                         parts->scheme, ":///path or ", parts->scheme,
                                         ":name"));
    }
    endpoint = parts->scheme == "unix" ? unix_socket(parts->path) : abstract_unix(parts->path);
  } else {
    return endpoint_error(absl::StrCat("scheme must be tcp, unix or unix-abstract, got ",
                                       config_internal::quote_for_message(parts->scheme)));
  }
  if (absl::Status status = endpoint.validate(); !status.ok()) return status;
  return endpoint;
}

absl::Status Endpoint::validate() const {
  switch (kind_) {
    case Kind::kTcp:
      if (address_.empty()) return endpoint_error("the TCP host is empty");
      // A NUL would cut the name short for getaddrinfo(3): another host.
      if (address_.size() > kLongestHost || address_.find('\0') != std::string::npos) {
        return endpoint_error(absl::StrCat("the TCP host must be at most ", kLongestHost,
                                           " bytes without NUL, got ", address_.size()));
      }
      return absl::OkStatus();
    case Kind::kUnix:
      if (address_.empty()) return endpoint_error("the socket path is empty");
      if (address_.size() > kLongestPath || address_.find('\0') != std::string::npos) {
        return endpoint_error(absl::StrCat("the socket path must be at most ", kLongestPath,
                                           " bytes without NUL, got ", address_.size()));
      }
      return absl::OkStatus();
    case Kind::kAbstractUnix:
      if (address_.empty()) return endpoint_error("the abstract socket name is empty");
      if (address_.size() > kLongestAbstractName) {
        return endpoint_error(absl::StrCat("the abstract socket name must be at most ",
                                           kLongestAbstractName, " bytes, got ",
                                           address_.size()));
      }
      return absl::OkStatus();
  }
  return endpoint_error("unknown kind");
}

}  // namespace uncopyable
