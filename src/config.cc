#include "uncopyable/config.h"

#include <cmath>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "uncopyable/internal/quote.h"

namespace uncopyable::config_internal {

std::string quote_for_message(absl::string_view text) {
  return internal::quoted(text, /*limit=*/64);
}

absl::Status parse_bool(absl::string_view text, bool& out) {
  if (text == "true" || text == "1") {
    out = true;
  } else if (text == "false" || text == "0") {
    out = false;
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat(quote_for_message(text), " is not a boolean (true or false)"));
  }
  return absl::OkStatus();
}

absl::Status parse_signed(absl::string_view text, int64_t low, int64_t high,
                          int64_t& out) {
  int64_t value = 0;
  if (!absl::SimpleAtoi(text, &value) || absl::ascii_isspace(text.front()) ||
      absl::ascii_isspace(text.back())) {
    return absl::InvalidArgumentError(
        absl::StrCat(quote_for_message(text), " is not an integer"));
  }
  if (value < low || value > high) {
    return absl::InvalidArgumentError(
        absl::StrCat(value, " is out of range [", low, ", ", high, "]"));
  }
  out = value;
  return absl::OkStatus();
}

absl::Status parse_unsigned(absl::string_view text, uint64_t high, uint64_t& out) {
  uint64_t value = 0;
  if (text.empty() || !absl::ascii_isdigit(text.front()) ||
      !absl::SimpleAtoi(text, &value) || absl::ascii_isspace(text.back())) {
    return absl::InvalidArgumentError(
        absl::StrCat(quote_for_message(text), " is not a non-negative integer"));
  }
  if (value > high) {
    return absl::InvalidArgumentError(
        absl::StrCat(value, " is out of range [0, ", high, "]"));
  }
  out = value;
  return absl::OkStatus();
}

absl::Status parse_double(absl::string_view text, double& out) {
  double value = 0;
  if (text.empty() || absl::ascii_isspace(text.front()) ||
      absl::ascii_isspace(text.back()) || !absl::SimpleAtod(text, &value) ||
      !std::isfinite(value)) {
    return absl::InvalidArgumentError(
        absl::StrCat(quote_for_message(text), " is not a finite number"));
  }
  out = value;
  return absl::OkStatus();
}

absl::Status parse_duration(absl::string_view text, absl::Duration& out) {
  uint32_t seconds;
  if (!text.empty() && absl::ascii_isdigit(text.front()) &&
      absl::SimpleAtoi(text, &seconds)) {
    out = absl::Seconds(seconds);  // "5": whole seconds, as libpq writes them
    return absl::OkStatus();
  }
  absl::Duration value;
  if (!absl::ParseDuration(text, &value)) {
    return absl::InvalidArgumentError(absl::StrCat(
        quote_for_message(text), R"( is not a duration (write it like "1.5s", "250ms" or "2m"))"));
  }
  out = value;
  return absl::OkStatus();
}

absl::Status not_one_of(absl::string_view text, absl::string_view names) {
  return absl::InvalidArgumentError(
      absl::StrCat(quote_for_message(text), " is not one of ", names));
}

}  // namespace uncopyable::config_internal
