// uncopyable/config_json.h: any described config to and from JSON.
//
//   std::string text = uncopyable::to_json(config);
//   // {"path":"/tmp/t.db","access":"read_write","flush_every":"1.5s","token":"***"}
//   absl::StatusOr<LogConfig> back = uncopyable::from_json<LogConfig>(text);
//
// Fields are written in their described order (strings byte for byte: a
// path that is not UTF-8 stays as it is, and reads back): enums by name, durations as
// strings like "1.5s", std::optional as null, secrets as "***" unless the
// caller passes Secrets::kReveal (a config with a secret round-trips only
// then; reading "***" back as a secret is an error that says so).
//
// Reading is strict and says where it failed, naming the config and field:
//   unknown field         LogConfig: unknown field "pth" (fields: path, ...)
//   wrong type            LogConfig.access: expected a string, got a number
//   bad value             LogConfig.access: "rw" is not one of read, write, ...
//   missing required      LogConfig.path: required field is missing
//   broken JSON           LogConfig: invalid JSON at byte 17: syntax error
//   a key given twice     LogConfig.retry: duplicate key "attempts" (each may be given once)
// Absent fields keep their defaults; the result is validated (validate()).
// A key given twice in any object, at any depth, is refused rather than
// "the last one wins" (Boost.JSON's, and most JSON readers', choice): a
// config that says {"path":"/tmp/x","path":"/etc/shadow"} is not read as
// either.
//
// This header includes Boost.JSON; handle headers never include it.
#ifndef UNCOPYABLE_CONFIG_JSON_H_
#define UNCOPYABLE_CONFIG_JSON_H_

#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "boost/json/value.hpp"
#include "uncopyable/config.h"

namespace uncopyable {

namespace json_internal {

// "a string", "a number", ...: for type errors.
const char* kind_name(const boost::json::value& json);

absl::Status type_error(absl::string_view path, absl::string_view expected,
                        const boost::json::value& json);

absl::Status with_path(absl::string_view path, const absl::Status& status);

// Parses `text` as one JSON document; errors name `config` and the byte.
absl::StatusOr<boost::json::value> parse(absl::string_view text,
                                         absl::string_view config);

std::string serialize(const boost::json::value& json);

template <typename T>
boost::json::value write(const T& value, Secrets secrets);

template <DescribedConfig T>
boost::json::object write_object(const T& config, Secrets secrets) {
  boost::json::object object;
  for_each_field(config, [&](absl::string_view name, const auto& value) {
    object[boost::json::string_view(name.data(), name.size())] = write(value, secrets);
  });
  return object;
}

template <typename T>
boost::json::value write(const T& value, Secrets secrets) {
  if constexpr (IsOptional<T>::value) {
    return value.has_value() ? write(*value, secrets) : boost::json::value(nullptr);
  } else if constexpr (IsVector<T>::value) {
    boost::json::array array;
    for (const auto& element : value) array.push_back(write(element, secrets));
    return array;
  } else if constexpr (DescribedConfig<T>) {
    return write_object(value, secrets);
  } else if constexpr (std::is_same_v<T, bool>) {
    return boost::json::value(value);
  } else if constexpr (std::is_integral_v<T> && std::is_signed_v<T>) {
    return boost::json::value(static_cast<int64_t>(value));
  } else if constexpr (std::is_integral_v<T>) {
    return boost::json::value(static_cast<uint64_t>(value));
  } else if constexpr (std::is_floating_point_v<T>) {
    return boost::json::value(static_cast<double>(value));
  } else {
    const std::string text = field_text(value, secrets);
    return boost::json::value(boost::json::string_view(text.data(), text.size()));
  }
}

template <typename T>
absl::Status read(const boost::json::value& json, T& out, const std::string& path);

template <DescribedConfig T>
absl::Status read_object(const boost::json::value& json, T& out, const std::string& path) {
  const boost::json::object* object = json.if_object();
  if (object == nullptr) return type_error(path, "an object", json);
  for (const auto& entry : *object) {
    const absl::string_view key(entry.key().data(), entry.key().size());
    if (!has_field<T>(absl::string_view(key.data(), key.size()))) {
      std::string fields;
      for_each_field(out, [&](absl::string_view name, const auto&) {
        absl::StrAppend(&fields, fields.empty() ? "" : ", ", name);
      });
      return absl::InvalidArgumentError(absl::StrCat(
          path, ": unknown field ", config_internal::quote_for_message(key),
          " (fields: ", fields, ")"));
    }
  }
  absl::Status status;
  for_each_field(out, [&](absl::string_view name, auto& field) {
    if (!status.ok()) return;
    const std::string field_path = absl::StrCat(path, ".", name);
    const auto* const found = object->find(boost::json::string_view(name.data(), name.size()));
    if (found == object->end()) {
      if (is_required<T>(name)) {
        status = absl::InvalidArgumentError(
            absl::StrCat(field_path, ": required field is missing"));
      }
      return;
    }
    status = read(found->value(), field, field_path);
  });
  return status;
}

template <typename T>
absl::Status read(const boost::json::value& json, T& out, const std::string& path) {
  if constexpr (IsOptional<T>::value) {
    if (json.is_null()) {
      out.reset();
      return absl::OkStatus();
    }
    typename T::value_type inner{};
    if (absl::Status status = read(json, inner, path); !status.ok()) return status;
    out = std::move(inner);
    return absl::OkStatus();
  } else if constexpr (IsVector<T>::value) {
    const boost::json::array* array = json.if_array();
    if (array == nullptr) return type_error(path, "an array", json);
    T values;
    values.reserve(array->size());
    for (size_t i = 0; i < array->size(); ++i) {
      typename T::value_type element{};
      if (absl::Status status = read((*array)[i], element, absl::StrCat(path, "[", i, "]"));
          !status.ok()) {
        return status;
      }
      values.push_back(std::move(element));
    }
    out = std::move(values);
    return absl::OkStatus();
  } else if constexpr (DescribedConfig<T>) {
    return read_object(json, out, path);
  } else if constexpr (std::is_same_v<T, bool>) {
    const bool* value = json.if_bool();
    if (value == nullptr) return type_error(path, "a boolean", json);
    out = *value;
    return absl::OkStatus();
  } else if constexpr (std::is_integral_v<T>) {
    // Integers arrive as int64 or uint64; anything else is not an integer.
    std::string text;
    if (const int64_t* value = json.if_int64()) {
      text = absl::StrCat(*value);
    } else if (const uint64_t* unsigned_value = json.if_uint64()) {
      text = absl::StrCat(*unsigned_value);
    } else {
      return type_error(path, "an integer", json);
    }
    return with_path(path, parse_field_text(text, out));
  } else if constexpr (std::is_floating_point_v<T>) {
    if (!json.is_number()) return type_error(path, "a number", json);
    out = static_cast<T>(json.to_number<double>());
    return absl::OkStatus();
  } else {
    const boost::json::string* text = json.if_string();
    if (text == nullptr) return type_error(path, "a string", json);
    return with_path(path, parse_field_text(absl::string_view(text->data(), text->size()), out));
  }
}

}  // namespace json_internal

// The config as a JSON value (an object). Secrets are "***" unless
// `secrets` is Secrets::kReveal.
template <DescribedConfig T>
boost::json::value to_json_value(const T& config, Secrets secrets = Secrets::kRedact) {
  return json_internal::write_object(config, secrets);
}

// The config as compact JSON text. Secrets are "***" unless `secrets` is
// Secrets::kReveal.
template <DescribedConfig T>
std::string to_json(const T& config, Secrets secrets = Secrets::kRedact) {
  return json_internal::serialize(to_json_value(config, secrets));
}

// Reads a config from a JSON value: strict, validated, errors name the
// config and the field (see the top of this file). A boost::json::value
// holds each key once: whoever parsed it chose among duplicates already
// (boost::json::parse keeps the last). Read text with from_json, which
// refuses them.
template <Config T>
absl::StatusOr<T> from_json_value(const boost::json::value& json) {
  static_assert(required_fields_exist<T>(), "kRequired names a field that is not described");
  T config{};
  if (absl::Status status =
          json_internal::read_object(json, config, std::string(config_name<T>()));
      !status.ok()) {
    return status;
  }
  if (absl::Status status = config.validate(); !status.ok()) return status;
  return config;
}

// Reads a config from JSON text (one object, nothing after it, no key
// given twice in any object).
template <Config T>
absl::StatusOr<T> from_json(absl::string_view text) {
  absl::StatusOr<boost::json::value> json = json_internal::parse(text, config_name<T>());
  if (!json.ok()) return json.status();
  return from_json_value<T>(*json);
}

}  // namespace uncopyable

#endif  // UNCOPYABLE_CONFIG_JSON_H_
