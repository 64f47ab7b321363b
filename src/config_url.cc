#include "uncopyable/config_url.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "boost/url/encoding_opts.hpp"
#include "boost/url/ipv6_address.hpp"
#include "boost/url/parse.hpp"
#include "boost/url/url_view.hpp"

#include <string_view>

namespace uncopyable::url_internal {
namespace {

std::string text(boost::urls::string_view view) { return std::string(view.data(), view.size()); }

// Percent-encodes every byte but the unreserved characters of RFC 3986 and
// those in `also`. Writing is done by hand, not with boost::urls::url, so
// that text comes back exactly as written: url::set_path adds "/." to paths
// that begin with "/." or "//", and url::set_host lowercases IPv6 literals.
std::string escape(std::string_view raw, std::string_view also) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(raw.size());
  for (const char c : raw) {
    const auto byte = static_cast<unsigned char>(c);
    if (absl::ascii_isalnum(byte) || c == '-' || c == '.' || c == '_' || c == '~' ||
        also.find(c) != std::string_view::npos) {
      out += c;
    } else {
      out += '%';
      out += kHex[byte >> 4];
      out += kHex[byte & 0xf];
    }
  }
  return out;
}

// Sub-delimiters that are safe everywhere they may appear ('&', '=' and '+'
// are left out: query readers give them meanings).
#define UNCOPYABLE_SAFE_SUB_DELIMS "!$'()*,;"

std::string escape_userinfo(std::string_view raw) {
  return escape(raw, UNCOPYABLE_SAFE_SUB_DELIMS);
}
std::string escape_host_name(std::string_view raw) {
  return escape(raw, UNCOPYABLE_SAFE_SUB_DELIMS);
}
std::string escape_segment(std::string_view raw) {
  return escape(raw, UNCOPYABLE_SAFE_SUB_DELIMS ":@&=+");
}
std::string escape_query(std::string_view raw) {
  return escape(raw, UNCOPYABLE_SAFE_SUB_DELIMS ":@/?");
}

#undef UNCOPYABLE_SAFE_SUB_DELIMS

}  // namespace

absl::StatusOr<UrlParts> split_url(absl::string_view url, absl::string_view what) {
  const boost::urls::result<boost::urls::url_view> parsed =
      boost::urls::parse_uri(boost::urls::string_view(url.data(), url.size()));
  if (!parsed) {
    // Never quote the URL: it may carry a password.
    return absl::InvalidArgumentError(absl::StrCat(
        what, ": not a valid URL (", parsed.error().message(), "); expected scheme://..."));
  }
  const boost::urls::url_view& view = *parsed;
  UrlParts parts;
  parts.scheme = text(view.scheme());
  parts.has_authority = view.has_authority();
  if (view.has_userinfo()) {
    parts.user = view.user();
    if (view.has_password()) parts.password = view.password();
  }
  parts.host = view.host_address();
  // Boost.URL 1.81 accepts "x://host:word" as host, an empty port and the
  // path "word"; RFC 3986 wants the path after an authority to start with '/'.
  if (view.has_authority() && !view.encoded_path().empty() &&
      view.encoded_path().front() != '/') {
    return absl::InvalidArgumentError(absl::StrCat(
        what, ": not a valid URL (after host:port the path must start with '/')"));
  }
  if (view.has_port()) parts.port = text(view.port());
  parts.path = view.path();
  // '+' is a plus sign, not a space: this is not an HTML form. An empty
  // query holds no parameters (and Boost.URL 1.81 overruns its buffer
  // iterating the parameters of an empty query followed by a fragment).
  if (!view.encoded_query().empty()) {
    for (const boost::urls::param& param : view.params(boost::urls::encoding_opts(false))) {
      parts.params.emplace_back(param.key, param.has_value
                                               ? std::optional<std::string>(param.value)
                                               : std::nullopt);
    }
  }
  parts.has_fragment = view.has_fragment();
  // A NUL byte would cut the text short for every C API that gets it.
  bool nul = parts.host.find('\0') != std::string::npos ||
             parts.path.find('\0') != std::string::npos ||
             (parts.user && parts.user->find('\0') != std::string::npos) ||
             (parts.password && parts.password->find('\0') != std::string::npos);
  for (const auto& [key, value] : parts.params) {
    nul = nul || key.find('\0') != std::string::npos ||
          (value && value->find('\0') != std::string::npos);
  }
  if (nul) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": %00 (a NUL byte) is not allowed in a URL"));
  }
  return parts;
}

std::string join_url(const UrlParts& parts) {
  std::string out = absl::StrCat(escape(parts.scheme, "+"), ":");
  const bool absolute_path = !parts.path.empty() && parts.path.front() == '/';
  const bool authority = parts.has_authority || parts.user || parts.password ||
                         parts.port || !parts.host.empty() || absolute_path;
  if (authority) {
    out += "//";
    if (parts.user || parts.password) {
      out += escape_userinfo(parts.user.value_or(""));
      if (parts.password) absl::StrAppend(&out, ":", escape_userinfo(*parts.password));
      out += '@';
    }
    if (parts.host.find(':') != std::string::npos &&
        boost::urls::parse_ipv6_address(parts.host)) {
      absl::StrAppend(&out, "[", parts.host, "]");  // as written, in brackets
    } else {
      // A name, an IPv4 address, or anything else (a socket directory such
      // as /run/postgresql comes out as %2Frun%2Fpostgresql).
      out += escape_host_name(parts.host);
    }
    if (parts.port) absl::StrAppend(&out, ":", escape(*parts.port, ""));
    if (!parts.path.empty() && !absolute_path) out += '/';
  }
  if (parts.path_is_one_segment) {
    if (absolute_path) out += '/';
    out += escape_segment(std::string_view(parts.path).substr(absolute_path ? 1 : 0));
  } else {
    out += absl::StrJoin(absl::StrSplit(parts.path, '/'), "/",
                         [](std::string* to, absl::string_view segment) {
                           to->append(escape_segment(std::string_view(segment.data(), segment.size())));
                         });
  }
  for (size_t i = 0; i < parts.params.size(); ++i) {
    const auto& [key, value] = parts.params[i];
    absl::StrAppend(&out, i == 0 ? "?" : "&", escape_query(key));
    if (value) absl::StrAppend(&out, "=", escape_query(*value));
  }
  return out;
}

}  // namespace uncopyable::url_internal
