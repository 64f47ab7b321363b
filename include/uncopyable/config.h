// uncopyable/config.h: configs are data, described once.
//
// A config is a plain struct whose every field has a default. Describe it
// with UNCOPYABLE_CONFIG first thing in its body and give it a validate()
// that states its rules; it
// then is a regular value type with hashing, printing, and (through
// config_json.h and config_url.h) JSON and URL forms, all generic:
//
//   namespace app {
//   enum class Access { read, write, read_write };
//   UNCOPYABLE_ENUM(Access, read, write, read_write)
//
//   struct LogConfig {
//     UNCOPYABLE_CONFIG(LogConfig, path, access, flush_every, token)
//
//     std::string path;                             // required: where to write
//     Access access = Access::write;                // how to open it
//     absl::Duration flush_every = absl::Seconds(1);  // zero: never
//     uncopyable::Secret<std::string> token;        // printed as ***
//
//     static constexpr absl::string_view kRequired[] = {"path"};
//     absl::Status validate() const {
//       return uncopyable::ConfigRules(*this)
//           .non_empty("path", path)
//           .non_negative("flush_every", flush_every)
//           .status();
//     }
//   };
//   }  // namespace app
//
//   app::LogConfig a{.path = "/tmp/app.log"};
//   app::LogConfig b = a;                 // a copy is just data
//   assert(a == b);                       // ==, and != from it
//   absl::flat_hash_set<app::LogConfig> seen{a};  // AbslHashValue
//   std::cout << a;  // LogConfig{path="/tmp/app.log", access=write,
//                    //           flush_every=1s, token=***}
//   absl::Status s = a.validate();        // "LogConfig.path: must not be empty"
//
// Field types the machinery understands: bool, integers, floating point,
// std::string, enums described with UNCOPYABLE_ENUM (printed by name),
// absl::Duration (printed like "1.5s"), Secret<T>, std::optional<T>,
// std::vector<T>, std::vector<std::byte> (printed as b"\x00\xff"), nested
// configs, and any type with a string form (a
// `to_string()` member and a static `from_string(absl::string_view)`
// returning absl::StatusOr<T>, such as Endpoint).
#ifndef UNCOPYABLE_CONFIG_H_
#define UNCOPYABLE_CONFIG_H_

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <ostream>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "boost/describe/class.hpp"
#include "boost/describe/enum.hpp"
#include "boost/describe/enum_to_string.hpp"
#include "boost/describe/enumerators.hpp"
#include "boost/describe/members.hpp"
#include "boost/describe/modifiers.hpp"
#include "boost/mp11/algorithm.hpp"
#include "uncopyable/secret.h"

// Describes an enum so configs print, parse and serialise it by name. Put it
// right after the enum, in the same namespace.
#define UNCOPYABLE_ENUM(Enum, ...) BOOST_DESCRIBE_ENUM(Enum, __VA_ARGS__)

// Describes a config struct: its name, then its fields in order. Put it
// first in the struct's body (member functions written after it, such as
// validate(), can then use the description). It gives the struct ==, AbslHashValue,
// AbslStringify and operator<<, all member by member, as hidden friends; the
// struct stays an aggregate (designated initializers work).
#define UNCOPYABLE_CONFIG(Type, ...)                                           \
  BOOST_DESCRIBE_CLASS(Type, (), (__VA_ARGS__), (), ())                        \
  static constexpr ::absl::string_view kConfigName = #Type;                    \
  friend bool operator==(const Type& a, const Type& b) {                       \
    return ::uncopyable::config_internal::equal(a, b);                         \
  }                                                                            \
  template <typename H>                                                        \
  friend H AbslHashValue(H state, const Type& config) {                        \
    return ::uncopyable::config_internal::hash(std::move(state), config);      \
  }                                                                            \
  template <typename Sink>                                                     \
  friend void AbslStringify(Sink& sink, const Type& config) {                  \
    sink.Append(::uncopyable::to_string(config));                              \
  }                                                                            \
  friend std::ostream& operator<<(std::ostream& stream, const Type& config) {  \
    return stream << ::uncopyable::to_string(config);                          \
  }

namespace uncopyable {

// ---------------------------------------------------------------------------
// What a field can be.

template <typename T>
concept DescribedEnum =
    std::is_enum_v<T> && boost::describe::has_describe_enumerators<T>::value;

// A struct described with UNCOPYABLE_CONFIG.
template <typename T>
concept DescribedConfig =
    std::is_class_v<T> &&
    boost::describe::has_describe_members<std::remove_cv_t<T>>::value &&
    requires {
      { T::kConfigName } -> std::convertible_to<absl::string_view>;
    };

// A config: described, a regular value type, with its own rules.
template <typename T>
concept Config = DescribedConfig<T> && std::regular<T> &&
                 requires(const T& config) {
                   { config.validate() } -> std::same_as<absl::Status>;
                 };

// A type that is data with a text form, such as an endpoint or file mode.
template <typename T>
concept StringForm = requires(const T& value, absl::string_view text) {
  { value.to_string() } -> std::convertible_to<std::string>;
  { T::from_string(text) } -> std::same_as<absl::StatusOr<T>>;
};

template <typename T>
struct IsOptional : std::false_type {};
template <typename T>
struct IsOptional<std::optional<T>> : std::true_type {};

template <typename T>
struct IsVector : std::false_type {};
template <typename T>
struct IsVector<std::vector<T>> : std::true_type {};

// The name the config was described with: "FileConfig".
template <DescribedConfig T>
constexpr absl::string_view config_name() {
  return T::kConfigName;
}

// Calls `visit(name, field)` for each described field, in order.
template <DescribedConfig T, typename Visit>
constexpr void for_each_field(T& config, Visit&& visit) {
  using Members = boost::describe::describe_members<
      std::remove_const_t<T>, boost::describe::mod_public>;
  boost::mp11::mp_for_each<Members>([&](auto member) {
    visit(absl::string_view(member.name), config.*member.pointer);
  });
}

// Whether `name` is one of T's described fields.
template <DescribedConfig T>
constexpr bool has_field(absl::string_view name) {
  using Members = boost::describe::describe_members<T, boost::describe::mod_public>;
  bool found = false;
  boost::mp11::mp_for_each<Members>(
      [&](auto member) { found = found || absl::string_view(member.name) == name; });
  return found;
}

// Whether `name` is listed in T::kRequired (a field that has no sensible
// default and must be given, in JSON and in URLs).
template <DescribedConfig T>
constexpr bool is_required(absl::string_view name) {
  if constexpr (requires { T::kRequired; }) {
    for (absl::string_view required : T::kRequired) {
      if (required == name) return true;
    }
  }
  return false;
}

// Every name in T::kRequired is a field: checked when the config is used.
template <DescribedConfig T>
constexpr bool required_fields_exist() {
  if constexpr (requires { T::kRequired; }) {
    for (absl::string_view required : T::kRequired) {
      if (!has_field<T>(required)) return false;
    }
  }
  return true;
}

// The name of an enumerator, or "<Enum>(<number>)" for a value that has none.
template <DescribedEnum E>
std::string enum_name(E value) {
  const char* name = boost::describe::enum_to_string(value, nullptr);
  if (name != nullptr) return name;
  return absl::StrCat("(", static_cast<std::underlying_type_t<E>>(value), ")");
}

// "read, write, read_write": for error messages.
template <DescribedEnum E>
std::string enum_names() {
  std::string names;
  boost::mp11::mp_for_each<boost::describe::describe_enumerators<E>>([&](auto e) {
    absl::StrAppend(&names, names.empty() ? "" : ", ", e.name);
  });
  return names;
}

// The enumerator called `name`, if there is one.
template <DescribedEnum E>
std::optional<E> enum_from_name(absl::string_view name) {
  std::optional<E> found;
  boost::mp11::mp_for_each<boost::describe::describe_enumerators<E>>([&](auto e) {
    if (!found && name == e.name) found = e.value;
  });
  return found;
}

// ---------------------------------------------------------------------------
// Printing: FileConfig{path="/tmp/t.db", access=read_write, create=true}

template <typename T>
void append_field_value(std::string& out, const T& value);

template <DescribedConfig T>
std::string to_string(const T& config) {
  static_assert(required_fields_exist<T>(), "kRequired names a field that is not described");
  std::string out(config_name<T>());
  out += '{';
  bool first = true;
  for_each_field(config, [&](absl::string_view name, const auto& value) {
    absl::StrAppend(&out, first ? "" : ", ", name, "=");
    append_field_value(out, value);
    first = false;
  });
  out += '}';
  return out;
}

// "1.5s", "250ms", "0", "inf": absl::FormatDuration.
inline std::string duration_to_string(absl::Duration duration) {
  return absl::FormatDuration(duration);
}

template <typename T>
void append_field_value(std::string& out, const T& value) {
  if constexpr (std::is_same_v<T, bool>) {
    out += value ? "true" : "false";
  } else if constexpr (DescribedEnum<T>) {
    out += enum_name(value);
  } else if constexpr (std::is_arithmetic_v<T>) {
    absl::StrAppend(&out, value);
  } else if constexpr (std::is_same_v<T, std::string>) {
    absl::StrAppend(&out, "\"", absl::CHexEscape(value), "\"");
  } else if constexpr (std::is_same_v<T, absl::Duration>) {
    out += duration_to_string(value);
  } else if constexpr (IsSecret<T>::value) {
    out += kRedacted;
  } else if constexpr (std::is_same_v<T, std::vector<std::byte>>) {
    // Bytes (a row's BLOB or bytea field): escaped like text, b"\x00\xff".
    absl::StrAppend(&out, "b\"",
                    absl::CHexEscape(absl::string_view(
                        reinterpret_cast<const char*>(value.data()), value.size())),
                    "\"");
  } else if constexpr (IsOptional<T>::value) {
    if (value.has_value()) {
      append_field_value(out, *value);
    } else {
      out += "none";
    }
  } else if constexpr (IsVector<T>::value) {
    out += '[';
    for (size_t i = 0; i < value.size(); ++i) {
      if (i > 0) out += ", ";
      append_field_value(out, value[i]);
    }
    out += ']';
  } else if constexpr (DescribedConfig<T>) {
    out += to_string(value);
  } else if constexpr (StringForm<T>) {
    out += value.to_string();
  } else {
    static_assert(sizeof(T) == 0, "a config field of a type the machinery does not know");
  }
}

// ---------------------------------------------------------------------------
// Text forms of single fields, for URL query parameters and the like.

// A field that has a one-line text form: not a nested config, vector or
// optional.
template <typename T>
concept TextField =
    std::is_arithmetic_v<T> || DescribedEnum<T> || std::is_same_v<T, std::string> ||
    std::is_same_v<T, absl::Duration> || StringForm<T> ||
    (IsSecret<T>::value && (std::is_same_v<typename T::value_type, std::string>));

// The text of one field: "true", "42", "read_write", "1.5s", "/tmp/t.db".
// Secrets are "***" unless `secrets` says kReveal.
template <TextField T>
std::string field_text(const T& value, Secrets secrets = Secrets::kRedact) {
  if constexpr (std::is_same_v<T, bool>) {
    return value ? "true" : "false";
  } else if constexpr (DescribedEnum<T>) {
    return enum_name(value);
  } else if constexpr (std::is_arithmetic_v<T>) {
    return absl::StrCat(value);
  } else if constexpr (std::is_same_v<T, std::string>) {
    return value;
  } else if constexpr (std::is_same_v<T, absl::Duration>) {
    return duration_to_string(value);
  } else if constexpr (IsSecret<T>::value) {
    return secrets == Secrets::kReveal ? value.reveal() : std::string(kRedacted);
  } else {
    return value.to_string();
  }
}

namespace config_internal {
// Parses text as a T; the error says what was expected, not which field.
absl::Status parse_bool(absl::string_view text, bool& out);
absl::Status parse_signed(absl::string_view text, int64_t low, int64_t high, int64_t& out);
absl::Status parse_unsigned(absl::string_view text, uint64_t high, uint64_t& out);
absl::Status parse_double(absl::string_view text, double& out);
absl::Status parse_duration(absl::string_view text, absl::Duration& out);
absl::Status not_one_of(absl::string_view text, absl::string_view names);
// Quoted and cut short for messages: "\"abc…\"" (hostile input stays short).
std::string quote_for_message(absl::string_view text);
}  // namespace config_internal

// Parses one field's text form into `out`. A bool is true/false (or 1/0);
// a duration is like "1.5s" or "250ms" (a bare integer counts seconds, as
// libpq's connect_timeout does). The error says what was expected and never
// quotes a secret; the caller adds the field's name.
template <TextField T>
absl::Status parse_field_text(absl::string_view text, T& out) {
  if constexpr (std::is_same_v<T, bool>) {
    return config_internal::parse_bool(text, out);
  } else if constexpr (DescribedEnum<T>) {
    if (std::optional<T> value = enum_from_name<T>(text)) {
      out = *value;
      return absl::OkStatus();
    }
    return config_internal::not_one_of(text, enum_names<T>());
  } else if constexpr (std::is_integral_v<T> && std::is_signed_v<T>) {
    int64_t value = 0;
    absl::Status status = config_internal::parse_signed(
        text, std::numeric_limits<T>::min(), std::numeric_limits<T>::max(), value);
    if (status.ok()) out = static_cast<T>(value);
    return status;
  } else if constexpr (std::is_integral_v<T>) {
    uint64_t value = 0;
    absl::Status status =
        config_internal::parse_unsigned(text, std::numeric_limits<T>::max(), value);
    if (status.ok()) out = static_cast<T>(value);
    return status;
  } else if constexpr (std::is_floating_point_v<T>) {
    double value = 0;
    absl::Status status = config_internal::parse_double(text, value);
    if (status.ok()) out = static_cast<T>(value);
    return status;
  } else if constexpr (std::is_same_v<T, std::string>) {
    out.assign(text.data(), text.size());
    return absl::OkStatus();
  } else if constexpr (std::is_same_v<T, absl::Duration>) {
    return config_internal::parse_duration(text, out);
  } else if constexpr (IsSecret<T>::value) {
    if (text == kRedacted) {
      return absl::InvalidArgumentError(
          "holds the redaction mark \"***\", not a secret: export with "
          "Secrets::kReveal to carry secrets");
    }
    out = T(std::string(text));
    return absl::OkStatus();
  } else {
    absl::StatusOr<T> value = T::from_string(text);
    if (!value.ok()) return value.status();
    out = *std::move(value);
    return absl::OkStatus();
  }
}

// ---------------------------------------------------------------------------
// Rules: each config's validate() states them with ConfigRules.

// Collects the first broken rule of a config, naming the config and the
// field: "SocketConfig.port: 70000 is out of range [1, 65535]".
class ConfigRules {
 public:
  template <DescribedConfig T>
  explicit ConfigRules(const T&) : config_(config_name<T>()) {}

  // `field` must hold `condition`; otherwise the rule's `message`.
  ConfigRules& check(bool condition, absl::string_view field, absl::string_view message) {
    if (!condition && status_.ok()) {
      status_ = absl::InvalidArgumentError(
          absl::StrCat(config_, ".", field, ": ", message));
    }
    return *this;
  }

  ConfigRules& non_empty(absl::string_view field, const std::string& value) {
    return check(!value.empty(), field, "must not be empty");
  }

  template <typename N>
  ConfigRules& in_range(absl::string_view field, N value, N low, N high) {
    return check(low <= value && value <= high, field,
                 absl::StrCat(value, " is out of range [", low, ", ", high, "]"));
  }

  ConfigRules& non_negative(absl::string_view field, absl::Duration value) {
    return check(value >= absl::ZeroDuration(), field,
                 absl::StrCat(duration_to_string(value), " is negative"));
  }

  ConfigRules& finite(absl::string_view field, absl::Duration value) {
    return check(value != absl::InfiniteDuration() && value != -absl::InfiniteDuration(),
                 field, "must be finite");
  }

  // A field's own verdict (a nested config's or an Endpoint's validate()),
  // its message prefixed with this field.
  ConfigRules& valid(absl::string_view field, const absl::Status& verdict) {
    if (status_.ok() && !verdict.ok()) {
      status_ = absl::Status(verdict.code(),
                             absl::StrCat(config_, ".", field, ": ", verdict.message()));
    }
    return *this;
  }

  // OK, or the first broken rule.
  [[nodiscard]] absl::Status status() const { return status_; }

 private:
  absl::string_view config_;
  absl::Status status_;
};

// ---------------------------------------------------------------------------
// The generic members behind UNCOPYABLE_CONFIG.

namespace config_internal {

template <DescribedConfig T>
bool equal(const T& a, const T& b) {
  bool same = true;
  using Members = boost::describe::describe_members<T, boost::describe::mod_public>;
  boost::mp11::mp_for_each<Members>([&](auto member) {
    same = same && (a.*member.pointer == b.*member.pointer);
  });
  return same;
}

// Abseil hashes most field types itself; std::optional (which this Abseil
// does not know) and vectors of it are done here.
template <typename H, typename T>
H hash_field(H state, const T& value) {
  if constexpr (IsOptional<T>::value) {
    state = H::combine(std::move(state), value.has_value());
    return value.has_value() ? hash_field(std::move(state), *value) : std::move(state);
  } else if constexpr (IsVector<T>::value) {
    for (const auto& element : value) state = hash_field(std::move(state), element);
    return H::combine(std::move(state), value.size());
  } else {
    return H::combine(std::move(state), value);
  }
}

template <typename H, DescribedConfig T>
H hash(H state, const T& config) {
  using Members = boost::describe::describe_members<T, boost::describe::mod_public>;
  boost::mp11::mp_for_each<Members>([&](auto member) {
    state = hash_field(std::move(state), config.*member.pointer);
  });
  return state;
}

}  // namespace config_internal
// Specialise for a config that has a URL form: kScheme, and for each URL
// part that holds a field, that field's name (kUser, kPassword, kHost,
// kPort, kPath). With kPathIsName the path holds a name without its leading
// slash (a database name), otherwise a filesystem path. Declared here, with
// the configs, so that giving one a URL form costs nothing; to_url() and
// from_url() are in config_url.h (//:config_url, Boost.URL).
template <typename T>
struct UrlForm;

}  // namespace uncopyable

#endif  // UNCOPYABLE_CONFIG_H_
