#include "uncopyable/config_json.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "boost/json/basic_parser_impl.hpp"
#include "boost/json/serialize.hpp"
#include "boost/json/value_stack.hpp"

namespace uncopyable::json_internal {
namespace {

// Boost.JSON's own parser keeps the last of duplicate keys, so that
// {"path":"/tmp/x","path":"/etc/shadow"} would open /etc/shadow. This
// handler builds the same value (through Boost.JSON's value_stack) and stops
// at the first key an object already has, remembering where it was.
class RefusingDuplicates {
 public:
  static constexpr std::size_t max_object_size = boost::json::object::max_size();
  static constexpr std::size_t max_array_size = boost::json::array::max_size();
  static constexpr std::size_t max_key_size = boost::json::string::max_size();
  static constexpr std::size_t max_string_size = boost::json::string::max_size();

  RefusingDuplicates() { stack_.reset(); }

  boost::json::value release() { return stack_.release(); }

  // The key given twice and the path of the object holding it
  // ("Config.field[2]"), once parsing stopped at one.
  const std::optional<std::string>& duplicate() const { return duplicate_; }
  std::string duplicate_path(absl::string_view config) const {
    std::string path(config);
    for (size_t i = 0; i + 1 < frames_.size(); ++i) {
      const Frame& frame = frames_[i];
      if (frame.object) {
        absl::StrAppend(&path, ".",
                        plain(frame.key) ? frame.key
                                         : config_internal::quote_for_message(frame.key));
      } else {
        absl::StrAppend(&path, "[", frame.index, "]");
      }
    }
    return path;
  }

  bool on_document_begin(boost::json::error_code&) { return true; }
  bool on_document_end(boost::json::error_code&) { return true; }

  bool on_object_begin(boost::json::error_code&) {
    frames_.push_back(Frame{.object = true});
    return true;
  }
  bool on_object_end(std::size_t n, boost::json::error_code&) {
    frames_.pop_back();
    stack_.push_object(n);
    return value_done();
  }
  bool on_array_begin(boost::json::error_code&) {
    frames_.push_back(Frame{.object = false});
    return true;
  }
  bool on_array_end(std::size_t n, boost::json::error_code&) {
    frames_.pop_back();
    stack_.push_array(n);
    return value_done();
  }

  bool on_key_part(boost::json::string_view s, std::size_t, boost::json::error_code&) {
    key_.append(s.data(), s.size());
    stack_.push_chars(s);
    return true;
  }
  bool on_key(boost::json::string_view s, std::size_t, boost::json::error_code& ec) {
    key_.append(s.data(), s.size());
    Frame& frame = frames_.back();
    if (!frame.keys.insert(key_).second) {
      duplicate_ = std::move(key_);
      key_.clear();
      ec = boost::json::error::syntax;  // stops the parser; duplicate_ says why
      return false;
    }
    frame.key = std::move(key_);
    key_.clear();
    stack_.push_key(s);
    return true;
  }

  bool on_string_part(boost::json::string_view s, std::size_t, boost::json::error_code&) {
    stack_.push_chars(s);
    return true;
  }
  bool on_string(boost::json::string_view s, std::size_t, boost::json::error_code&) {
    stack_.push_string(s);
    return value_done();
  }
  bool on_number_part(boost::json::string_view, boost::json::error_code&) { return true; }
  bool on_int64(std::int64_t i, boost::json::string_view, boost::json::error_code&) {
    stack_.push_int64(i);
    return value_done();
  }
  bool on_uint64(std::uint64_t u, boost::json::string_view, boost::json::error_code&) {
    stack_.push_uint64(u);
    return value_done();
  }
  bool on_double(double d, boost::json::string_view, boost::json::error_code&) {
    stack_.push_double(d);
    return value_done();
  }
  bool on_bool(bool b, boost::json::error_code&) {
    stack_.push_bool(b);
    return value_done();
  }
  bool on_null(boost::json::error_code&) {
    stack_.push_null();
    return value_done();
  }
  bool on_comment_part(boost::json::string_view, boost::json::error_code&) { return true; }
  bool on_comment(boost::json::string_view, boost::json::error_code&) { return true; }

 private:
  // One open object (its keys so far, and the last) or array (the index of
  // the element being read).
  struct Frame {
    bool object = false;
    absl::flat_hash_set<std::string> keys{};
    std::string key{};
    size_t index = 0;
  };

  // A value ended: the next one in an array has the next index.
  bool value_done() {
    if (!frames_.empty() && !frames_.back().object) ++frames_.back().index;
    return true;
  }

  // A key that can stand in a path as it is: a field name.
  static bool plain(absl::string_view key) {
    if (key.empty() || key.size() > 64) return false;
    return std::ranges::all_of(key, [](const char c) {
      return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_';
    });
  }

  boost::json::value_stack stack_;
  std::vector<Frame> frames_;
  std::string key_;  // the key being read, in parts
  std::optional<std::string> duplicate_;
};

}  // namespace

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
  boost::json::basic_parser<RefusingDuplicates> parser(options);
  boost::system::error_code error;
  const size_t used = parser.write_some(/*more=*/false, text.data(), text.size(), error);
  if (const std::optional<std::string>& key = parser.handler().duplicate()) {
    return absl::InvalidArgumentError(
        absl::StrCat(parser.handler().duplicate_path(config), ": duplicate key ",
                     config_internal::quote_for_message(*key), " (each may be given once)"));
  }
  if (!error && used < text.size()) error = boost::json::error::extra_data;
  if (error) {
    return absl::InvalidArgumentError(absl::StrCat(
        config, ": invalid JSON at byte ", used, ": ", error.message()));
  }
  return parser.handler().release();
}

std::string serialize(const boost::json::value& json) {
  return boost::json::serialize(json);
}

}  // namespace uncopyable::json_internal
