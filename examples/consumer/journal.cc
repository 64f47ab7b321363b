// A program in another Bazel workspace, built against uncopyable as a
// dependency: it writes a journal through a File, reads it back through a
// second File built from a copy of the first one's config, and prints that
// config as JSON. Exits 1 with the error if anything fails.
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/types/span.h"
#include "uncopyable/config_json.h"
#include "uncopyable/file.h"

namespace {

absl::Status run(const std::string& path) {
  absl::StatusOr<uncopyable::File> journal =
      uncopyable::rebuild(uncopyable::FileConfig{.path = path,
                                                 .access = uncopyable::FileAccess::read_write,
                                                 .create = true,
                                                 .truncate = true});
  if (!journal.ok()) return journal.status();
  const std::string entry = "consumer: built against @uncopyable\n";
  if (absl::Status written = journal->write(entry); !written.ok()) return written;

  // A reader is another config: journal->rebuild() would replay create and
  // truncate and empty the file. Copy the config; change what differs.
  uncopyable::FileConfig read_only = journal->config();
  read_only.access = uncopyable::FileAccess::read;
  read_only.create = false;
  read_only.truncate = false;
  absl::StatusOr<uncopyable::File> reader = uncopyable::rebuild(read_only);
  if (!reader.ok()) return reader.status();
  std::string back(entry.size(), '\0');
  absl::StatusOr<size_t> got = reader->read(absl::MakeSpan(back));
  if (!got.ok()) return got.status();
  if (back != entry) return absl::DataLossError(absl::StrCat(path, ": read back \"", back, "\""));

  std::printf("config:  %s\n", uncopyable::to_json(journal->config()).c_str());
  std::printf("read:    %s", back.c_str());
  if (absl::Status closed = reader->close(); !closed.ok()) return closed;
  return journal->close();
}

}  // namespace

int main() {
  // A folder of its own: nothing else's file is ever truncated.
  const char* tmp = std::getenv("TMPDIR");
  std::string dir =
      absl::StrCat(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp", "/uncopyable-consumer-XXXXXX");
  if (::mkdtemp(dir.data()) == nullptr) {
    std::perror("journal: mkdtemp");
    return 1;
  }
  const std::string path = dir + "/journal.log";
  const absl::Status status = run(path);
  std::remove(path.c_str());
  ::rmdir(dir.c_str());
  if (!status.ok()) {
    std::fprintf(stderr, "journal: %s\n", status.ToString().c_str());
    return 1;
  }
  std::printf("consumer: OK\n");
  return 0;
}
