#include "uncopyable/config_json.h"

#include "boost/json/parser.hpp"
#include "boost/json/serialize.hpp"

namespace uncopyable::json_internal {

const char* kind_name(const boost::json::value& json) {
  switch (json.kind()) {
    case boost::json::kind::null: return "null";
    case boost::json::kind::bool_: return "a boolean";
    case boost::json::kind::int64:
    case boost::json::kind::uint64: return "an integer";
    case boost::json::kind::double_: return "a number";
    case boost::json::kind::string: return "a string";
    case boost::json::kind::array: return "an array";
    case boost::json::kind::object: return "an object";
  }
  return "something else";
}

absl::Status type_error(absl::string_view path, absl::string_view expected,
                        const boost::json::value& json) {
  return absl::InvalidArgumentError(
      absl::StrCat(path, ": expected ", expected, ", got ", kind_name(json)));
}

absl::Status with_path(absl::string_view path, const absl::Status& status) {
  if (status.ok()) return status;
  return absl::Status(status.code(), absl::StrCat(path, ": ", status.message()));
}

absl::StatusOr<boost::json::value> parse(absl::string_view text, absl::string_view config) {
  boost::json::parse_options options;
  options.max_depth = 32;  // configs are shallow; hostile nesting stops here
  // Paths on Linux are bytes, not always UTF-8; to_json writes them as they
  // are, so reading must take them back.
  options.allow_invalid_utf8 = true;
  boost::json::parser parser(boost::json::storage_ptr(), options);
  boost::system::error_code error;
  const size_t used = parser.write(text.data(), text.size(), error);
  if (!error && used < text.size()) error = boost::json::error::extra_data;
  if (error) {
    return absl::InvalidArgumentError(absl::StrCat(
        config, ": invalid JSON at byte ", used, ": ", error.message()));
  }
  return parser.release();
}

std::string serialize(const boost::json::value& json) {
  return boost::json::serialize(json);
}

}  // namespace uncopyable::json_internal
