// uncopyable/config_url.h: configs with a natural URL, to and from it.
//
// A config whose resource has a URL (a database, a server) says which of its
// fields are which URL parts; every other field is a query parameter of its
// own name, written only when it differs from the default:
//
//   template <>
//   struct uncopyable::UrlForm<app::DbConfig> {
//     static constexpr absl::string_view kScheme = "postgresql";
//     static constexpr absl::string_view kUser = "user";
//     static constexpr absl::string_view kPassword = "password";  // a Secret
//     static constexpr absl::string_view kHost = "host";
//     static constexpr absl::string_view kPort = "port";
//     static constexpr absl::string_view kPath = "dbname";
//     static constexpr bool kPathIsName = true;  // "/shop" holds "shop"
//   };
//
//   auto config = uncopyable::from_url<app::DbConfig>(
//       "postgresql://ann:s3cret@[::1]:5432/shop?sslmode=require");
//   uncopyable::to_url(*config);  // postgresql://ann:***@[::1]:5432/shop?sslmode=require
//   uncopyable::to_url(*config, uncopyable::Secrets::kReveal);  // with the password
//
// from_url(to_url(c, Secrets::kReveal)) == c for every valid config. Text is
// percent-decoded on the way in and encoded on the way out; IPv6 literals
// go in brackets. Errors name the config and the part or field, and never
// quote a password or the URL it came in:
//   DbConfig: URL scheme must be postgresql, got "mysql"
//   DbConfig: unknown URL parameter "sslmod" (parameters: sslmode, ...)
//   DbConfig.port: 70000 is out of range [0, 65535]
//   DbConfig: not a valid URL (bad percent-encoding or syntax at byte 19)
//
// The parsing is Boost.URL's, inside the library: this header does not
// include it.
#ifndef UNCOPYABLE_CONFIG_URL_H_
#define UNCOPYABLE_CONFIG_URL_H_

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "uncopyable/config.h"

namespace uncopyable {

// UrlForm<T>, the specialisation that gives a config its URL form, is
// declared in config.h, so that a handle's header can give its config one
// without its users compiling or linking Boost.URL.

template <typename T>
concept HasUrlForm = DescribedConfig<T> && requires {
  { UrlForm<T>::kScheme } -> std::convertible_to<absl::string_view>;
};

namespace url_internal {

// A URL taken apart, every piece percent-decoded.
struct UrlParts {
  std::string scheme;
  bool has_authority = false;  // "//" present
  std::optional<std::string> user;
  std::optional<std::string> password;
  std::string host;  // IPv6 without brackets
  std::optional<std::string> port;
  std::string path;
  bool path_is_one_segment = false;  // join_url: encode '/' inside it too
  std::vector<std::pair<std::string, std::optional<std::string>>> params;
  bool has_fragment = false;
};

// Parses `url` with Boost.URL. Errors start with `what` and never quote the
// input (it may hold a password).
absl::StatusOr<UrlParts> split_url(absl::string_view url, absl::string_view what);

// Builds the URL text, percent-encoding each piece. An absolute path with no
// authority still gets an empty one ("scheme:///path").
std::string join_url(const UrlParts& parts);

// The URL parts a config maps, by field name ("" if none).
template <typename T>
struct Parts {
  static constexpr absl::string_view get_user() {
    if constexpr (requires { UrlForm<T>::kUser; }) return UrlForm<T>::kUser; else return {};
  }
  static constexpr absl::string_view get_password() {
    if constexpr (requires { UrlForm<T>::kPassword; }) return UrlForm<T>::kPassword; else return {};
  }
  static constexpr absl::string_view get_host() {
    if constexpr (requires { UrlForm<T>::kHost; }) return UrlForm<T>::kHost; else return {};
  }
  static constexpr absl::string_view get_port() {
    if constexpr (requires { UrlForm<T>::kPort; }) return UrlForm<T>::kPort; else return {};
  }
  static constexpr absl::string_view get_path() {
    if constexpr (requires { UrlForm<T>::kPath; }) return UrlForm<T>::kPath; else return {};
  }
  static constexpr bool path_is_name() {
    if constexpr (requires { UrlForm<T>::kPathIsName; }) return UrlForm<T>::kPathIsName; else return false;
  }
  static constexpr absl::string_view user = get_user();
  static constexpr absl::string_view password = get_password();
  static constexpr absl::string_view host = get_host();
  static constexpr absl::string_view port = get_port();
  static constexpr absl::string_view path = get_path();

  static constexpr bool is_part(absl::string_view field) {
    return !field.empty() && (field == user || field == password || field == host ||
                              field == port || field == path);
  }
  static constexpr bool all_parts_are_fields() {
    for (absl::string_view field : {user, password, host, port, path}) {
      if (!field.empty() && !has_field<T>(field)) return false;
    }
    return true;
  }
};

}  // namespace url_internal

// The config as a URL. Fields that hold their default values are left out;
// secrets are "***" unless `secrets` is Secrets::kReveal.
template <HasUrlForm T>
std::string to_url(const T& config, Secrets secrets = Secrets::kRedact) {
  using P = url_internal::Parts<T>;
  static_assert(P::all_parts_are_fields(), "UrlForm names a field the config does not describe");
  url_internal::UrlParts parts;
  parts.scheme = std::string(UrlForm<T>::kScheme);
  const T defaults{};
  for_each_field(config, [&](absl::string_view name, const auto& value) {
    using Field = std::decay_t<decltype(value)>;
    static_assert(TextField<Field>, "a config with a URL form may hold only one-line fields");
    const std::string text = field_text(value, secrets);
    if (name == P::user) {
      if (!text.empty()) parts.user = text;
    } else if (name == P::password) {
      if (!text.empty() && !(IsSecret<Field>::value && value == Field{})) parts.password = text;
    } else if (name == P::host) {
      parts.host = text;
      parts.has_authority = true;
    } else if (name == P::port) {
      parts.port = text;
    } else if (name == P::path) {
      parts.path = P::path_is_name() && !text.empty() ? "/" + text : text;
      parts.path_is_one_segment = P::path_is_name();
    } else {
      bool same_as_default = false;
      for_each_field(defaults, [&](absl::string_view other, const auto& default_value) {
        if constexpr (std::is_same_v<std::decay_t<decltype(default_value)>, Field>) {
          if (other == name) same_as_default = default_value == value;
        }
      });
      if (!same_as_default) parts.params.emplace_back(std::string(name), text);
    }
  });
  if (parts.password && !parts.user) parts.user = "";
  return url_internal::join_url(parts);
}

// Reads a config from a URL: strict, validated, errors name the config and
// the part or field (see the top of this file).
template <HasUrlForm T>
  requires Config<T>
absl::StatusOr<T> from_url(absl::string_view url) {
  using P = url_internal::Parts<T>;
  static_assert(P::all_parts_are_fields(), "UrlForm names a field the config does not describe");
  const absl::string_view name = config_name<T>();
  absl::StatusOr<url_internal::UrlParts> parts = url_internal::split_url(url, name);
  if (!parts.ok()) return parts.status();

  auto error = [&](auto&&... pieces) {
    return absl::InvalidArgumentError(absl::StrCat(name, ": ", pieces...));
  };
  if (parts->scheme != UrlForm<T>::kScheme) {
    return error("URL scheme must be ", UrlForm<T>::kScheme, ", got ",
                 config_internal::quote_for_message(parts->scheme));
  }
  if (parts->has_fragment) return error("a URL fragment (#...) has no meaning here");
  if (parts->user && P::user.empty()) return error("a user name has no meaning in this URL");
  if (parts->password && P::password.empty()) return error("a password has no meaning in this URL");
  if (parts->port && P::port.empty()) return error("a port has no meaning in this URL");
  if (!parts->host.empty() && P::host.empty()) return error("a host has no meaning in this URL");
  if (P::path.empty() && !parts->path.empty() && parts->path != "/") {
    return error("a path has no meaning in this URL");
  }

  // Each query parameter once, naming a field that is not a URL part.
  for (size_t i = 0; i < parts->params.size(); ++i) {
    const std::string& key = parts->params[i].first;
    if (!has_field<T>(key) || P::is_part(key)) {
      std::string known;
      T probe{};
      for_each_field(probe, [&](absl::string_view field, const auto&) {
        if (!P::is_part(field)) absl::StrAppend(&known, known.empty() ? "" : ", ", field);
      });
      return error("unknown URL parameter ", config_internal::quote_for_message(key),
                   " (parameters: ", known, ")");
    }
    for (size_t j = 0; j < i; ++j) {
      if (parts->params[j].first == key) {
        return error("URL parameter ", config_internal::quote_for_message(key), " given twice");
      }
    }
    if (!parts->params[i].second) {
      return error("URL parameter ", config_internal::quote_for_message(key), " has no value");
    }
  }

  T config{};
  absl::Status status;
  for_each_field(config, [&](absl::string_view field, auto& value) {
    if (!status.ok()) return;
    std::optional<std::string> text;
    if (field == P::user) {
      text = parts->user;
    } else if (field == P::password) {
      text = parts->password;
    } else if (field == P::host) {
      if (parts->has_authority && !parts->host.empty()) text = parts->host;
    } else if (field == P::port) {
      if (parts->port && !parts->port->empty()) text = parts->port;
    } else if (field == P::path) {
      absl::string_view path = parts->path;
      if (P::path_is_name() && !path.empty() && path.front() == '/') path.remove_prefix(1);
      if (!path.empty()) text = std::string(path);
    } else {
      for (const auto& [key, param] : parts->params) {
        if (key == field) text = param;
      }
    }
    if (!text) {
      if (is_required<T>(field)) {
        status = absl::InvalidArgumentError(
            absl::StrCat(name, ".", field, ": required field is missing"));
      }
      return;
    }
    if (absl::Status parsed = parse_field_text(*text, value); !parsed.ok()) {
      status = absl::Status(parsed.code(), absl::StrCat(name, ".", field, ": ", parsed.message()));
    }
  });
  if (!status.ok()) return status;
  if (absl::Status valid = config.validate(); !valid.ok()) return valid;
  return config;
}

}  // namespace uncopyable

#endif  // UNCOPYABLE_CONFIG_URL_H_
