#include "uncopyable/internal/message.h"

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "uncopyable/internal/errno_status.h"

namespace uncopyable::internal {

absl::Status error_on(absl::StatusCode code, absl::string_view operation,
                      absl::string_view resource, absl::string_view what) {
  return absl::Status(code, absl::StrCat(operation, " ", resource, ": ", what));
}

absl::Status errno_error_on(int error, absl::string_view operation,
                            absl::string_view resource, absl::string_view detail) {
  return errno_status(error, detail.empty()
                                 ? absl::StrCat(operation, " ", resource)
                                 : absl::StrCat(operation, " ", resource, ": ", detail));
}

absl::Status status_on(const absl::Status& status, absl::string_view operation,
                       absl::string_view resource) {
  if (status.ok()) return status;
  absl::Status out = error_on(status.code(), operation, resource, status.message());
  // What travels with it (a database's SqlError code) travels on.
  status.ForEachPayload(
      [&out](absl::string_view type, const absl::Cord& payload) { out.SetPayload(type, payload); });
  return out;
}

}  // namespace uncopyable::internal
