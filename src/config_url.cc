#include "uncopyable/config_url.h"

#include "absl/strings/ascii.h"
#include "boost/url/encode.hpp"
#include "boost/url/encoding_opts.hpp"
#include "boost/url/ipv4_address.hpp"
#include "boost/url/ipv6_address.hpp"
#include "boost/url/parse.hpp"
#include "boost/url/url.hpp"
#include "boost/url/rfc/pchars.hpp"
#include "boost/url/url_view.hpp"

#include <string_view>

namespace uncopyable::url_internal {
namespace {

std::string text(boost::urls::string_view view) { return std::string(view.data(), view.size()); }

// Percent-encodes all but the unreserved characters (RFC 3986): safe in a
// query key or value, and in a path segment, whoever reads it.
std::string escape(std::string_view raw) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(raw.size());
  for (const char c : raw) {
    const auto byte = static_cast<unsigned char>(c);
    if (absl::ascii_isalnum(byte) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += c;
    } else {
      out += '%';
      out += kHex[byte >> 4];
      out += kHex[byte & 0xf];
    }
  }
  return out;
}

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
  if (view.has_port()) parts.port = text(view.port());
  parts.path = view.path();
  // '+' is a plus sign, not a space: this is not an HTML form.
  for (const boost::urls::param& param : view.params(boost::urls::encoding_opts(false))) {
    parts.params.emplace_back(param.key, param.has_value
                                             ? std::optional<std::string>(param.value)
                                             : std::nullopt);
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
  // Boost.URL builds the scheme, authority and query. The path is encoded
  // here, segment by segment: url::set_path adds "/." to paths that begin
  // with "/." or "//", which would not read back as written.
  boost::urls::url url;
  url.set_scheme(parts.scheme);
  const bool absolute_path = !parts.path.empty() && parts.path.front() == '/';
  const bool authority = parts.has_authority || parts.user || parts.password ||
                         parts.port || !parts.host.empty() || absolute_path;
  if (authority) {
    if (parts.host.find(':') != std::string::npos &&
        boost::urls::parse_ipv6_address(parts.host)) {
      url.set_host("[" + parts.host + "]");  // kept as written, in brackets
    } else if (boost::urls::parse_ipv4_address(parts.host)) {
      url.set_host_address(parts.host);
    } else {
      // Anything else is a name, percent-encoded where it must be (a socket
      // directory such as /run/postgresql comes out as %2Frun%2Fpostgresql).
      url.set_host_name(parts.host);
    }
    if (parts.user) url.set_user(*parts.user);
    if (parts.password) url.set_password(*parts.password);
    if (parts.port) url.set_port(*parts.port);
  }
  std::string out = absl::StrCat(parts.scheme, ":");
  if (authority) absl::StrAppend(&out, "//", text(url.encoded_authority()));
  if (authority && !parts.path.empty() && !absolute_path) out += '/';
  size_t start = 0;
  while (!parts.path_is_one_segment) {
    const size_t slash = parts.path.find('/', start);
    const std::string_view segment =
        std::string_view(parts.path).substr(start, slash == std::string::npos ? slash : slash - start);
    out += boost::urls::encode(boost::urls::string_view(segment.data(), segment.size()),
                               boost::urls::pchars);
    if (slash == std::string::npos) break;
    out += '/';
    start = slash + 1;
  }
  if (parts.path_is_one_segment) {
    if (absolute_path) out += '/';
    out += escape(std::string_view(parts.path).substr(absolute_path ? 1 : 0));
  }
  for (size_t i = 0; i < parts.params.size(); ++i) {
    const auto& [key, value] = parts.params[i];
    absl::StrAppend(&out, i == 0 ? "?" : "&", escape(key));
    if (value) absl::StrAppend(&out, "=", escape(*value));
  }
  return out;
}

}  // namespace uncopyable::url_internal
