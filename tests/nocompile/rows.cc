// No-compile cases for rows: see nocompile_test in tests/defs.bzl.
// Without a case defined this file must compile (the control).
#include "uncopyable/rows.h"

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace app {

struct Match {
  UNCOPYABLE_ROW(Match, winner, score)
  std::string winner;
  int64_t score = 0;
};

// Looks like a row, is not described as one.
struct Plain {
  std::string winner;
  int64_t score = 0;
};

// Described, but as a config: a config is not a row.
struct Settings {
  UNCOPYABLE_CONFIG(Settings, winner)
  std::string winner;
  absl::Status validate() const { return absl::OkStatus(); }
};

// A row with a field no column holds.
struct Odd {
  UNCOPYABLE_ROW(Odd, ratio)
  float ratio = 0;
};

}  // namespace app

// The smallest cursor and sink.
struct Cursor {
  int column_count() const { return 2; }
  std::string column_name(int column) const { return column == 0 ? "winner" : "score"; }
  template <typename T>
  absl::StatusOr<T> read(int) const {
    return T{};
  }
  std::string resource() const { return "cursor"; }
  absl::StatusOr<bool> next() { return false; }
};

struct Sink {
  static constexpr uncopyable::ParamStyle kParamStyle = uncopyable::ParamStyle::by_name;
  std::string resource() const { return "sink"; }
  template <typename V>
  absl::Status bind(absl::string_view, V) {
    return absl::OkStatus();
  }
};

namespace internal = uncopyable::internal;

void control() {
  Cursor cursor;
  Sink sink;
  (void)internal::read_row<app::Match>(cursor);
  (void)internal::query_rows<app::Match>(cursor);
  (void)internal::query_one_row<app::Match>(cursor);
  (void)internal::query_one_value<int64_t>(cursor);
  (void)internal::for_each_row<app::Match>(cursor, [](const app::Match&) {
    return absl::OkStatus();
  });
  (void)internal::bind_row(sink, app::Match{});
  (void)internal::RowMapping<app::Match>::of(cursor);
}

#if defined(READ_PLAIN_STRUCT)
void read_plain(const Cursor& cursor) { (void)internal::read_row<app::Plain>(cursor); }
#endif

#if defined(READ_CONFIG)
void read_config(const Cursor& cursor) { (void)internal::read_row<app::Settings>(cursor); }
#endif

#if defined(QUERY_PLAIN_STRUCT)
void query_plain(Cursor& cursor) { (void)internal::query_rows<app::Plain>(cursor); }
#endif

#if defined(QUERY_ONE_PLAIN_STRUCT)
void query_one_plain(Cursor& cursor) { (void)internal::query_one_row<app::Plain>(cursor); }
#endif

#if defined(FOR_EACH_PLAIN_STRUCT)
void for_each_plain(Cursor& cursor) {
  (void)internal::for_each_row<app::Plain>(cursor,
                                           [](const app::Plain&) { return absl::OkStatus(); });
}
#endif

#if defined(BIND_PLAIN_STRUCT)
void bind_plain(Sink& sink) { (void)internal::bind_row(sink, app::Plain{}); }
#endif

#if defined(MAPPING_OF_PLAIN_STRUCT)
void mapping_of_plain(const Cursor& cursor) {
  (void)internal::RowMapping<app::Plain>::of(cursor);
}
#endif

#if defined(FIELD_OF_ANOTHER_TYPE)
void read_odd(const Cursor& cursor) { (void)internal::read_row<app::Odd>(cursor); }
#endif

#if defined(BIND_FIELD_OF_ANOTHER_TYPE)
void bind_odd(Sink& sink) { (void)internal::bind_row(sink, app::Odd{}); }
#endif

#if defined(QUERY_VALUE_OF_A_ROW)
void query_value_of_a_row(Cursor& cursor) {
  (void)internal::query_one_value<app::Match>(cursor);  // a row is not one value
}
#endif
