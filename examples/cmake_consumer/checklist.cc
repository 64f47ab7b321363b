// A program of a CMake project built against the installed uncopyable
// (find_package(uncopyable)): it writes a checklist through a File, reads it
// back through a second File built from a copy of the first one's config,
// and prints that config as JSON. Exits 1 with the error if anything fails.
// .ci/run also compiles this one file alone against uncopyable.pc:
//   c++ checklist.cc $(pkg-config --cflags --libs uncopyable)
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/types/span.h"
#include "uncopyable/config_json.h"
#include "uncopyable/file.h"

namespace {

absl::Status write_and_read(const std::string& path) {
  absl::StatusOr<uncopyable::File> list = uncopyable::rebuild(uncopyable::FileConfig{
      .path = path, .access = uncopyable::FileAccess::read_write, .create = true});
  if (!list.ok()) return list.status();
  const std::string items = "[x] find_package(uncopyable)\n[x] uncopyable::file\n";
  if (absl::Status written = list->write(items); !written.ok()) return written;

  // Another File from a copy of the config, read-only: the first File is
  // not copied (it cannot be), its config is.
  uncopyable::FileConfig reading = list->config();
  reading.access = uncopyable::FileAccess::read;
  reading.create = false;
  absl::StatusOr<uncopyable::File> reader = uncopyable::rebuild(reading);
  if (!reader.ok()) return reader.status();
  std::string back(items.size(), '\0');
  absl::StatusOr<size_t> got = reader->read(absl::MakeSpan(back));
  if (!got.ok()) return got.status();
  if (back != items) {
    return absl::DataLossError(absl::StrCat(path, ": read back \"", back, "\""));
  }
  std::printf("config: %s\n%s", uncopyable::to_json(list->config()).c_str(), back.c_str());
  if (absl::Status closed = reader->close(); !closed.ok()) return closed;
  return list->close();
}

}  // namespace

int main() {
  const char* tmp = std::getenv("TMPDIR");
  std::string dir = absl::StrCat(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp",
                                 "/uncopyable-checklist-XXXXXX");
  if (::mkdtemp(dir.data()) == nullptr) {
    std::perror("checklist: mkdtemp");
    return 1;
  }
  const std::string path = dir + "/checklist.txt";
  const absl::Status status = write_and_read(path);
  std::remove(path.c_str());
  ::rmdir(dir.c_str());
  if (!status.ok()) {
    std::fprintf(stderr, "checklist: %s\n", status.ToString().c_str());
    return 1;
  }
  std::printf("checklist: OK\n");
  return 0;
}
