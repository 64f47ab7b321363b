// The process's open file descriptors, for tests that prove nothing leaked.
#ifndef UNCOPYABLE_TESTS_TESTING_FDS_H_
#define UNCOPYABLE_TESTS_TESTING_FDS_H_

#include <dirent.h>
#include <stdlib.h>

#include <set>

namespace uncopyable::testing {

// Every descriptor open in this process now (from /proc/self/fd, less the
// one used to read it).
inline std::set<int> open_fds() {
  std::set<int> fds;
  DIR* dir = ::opendir("/proc/self/fd");
  if (dir == nullptr) return fds;
  const int own = ::dirfd(dir);
  while (const dirent* entry = ::readdir(dir)) {
    char* end = nullptr;
    const long fd = ::strtol(entry->d_name, &end, 10);
    if (end != entry->d_name && *end == '\0' && fd != own) fds.insert(static_cast<int>(fd));
  }
  ::closedir(dir);
  return fds;
}

}  // namespace uncopyable::testing

#endif  // UNCOPYABLE_TESTS_TESTING_FDS_H_
