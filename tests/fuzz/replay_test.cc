// Runs a fuzz target over its seed corpus as an ordinary test (with the leak
// guard), so every build (default, asan, ubsan) checks the seeds; `.ci/run`
// also fuzzes for real with libFuzzer under --config=fuzz. The corpus
// directory comes in FUZZ_CORPUS.
#include <dirent.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "gtest/gtest.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

TEST(FuzzCorpusReplay, EverySeedRunsClean) {
  const char* corpus = std::getenv("FUZZ_CORPUS");
  ASSERT_NE(corpus, nullptr) << "FUZZ_CORPUS is not set";
  DIR* dir = ::opendir(corpus);
  ASSERT_NE(dir, nullptr) << "cannot open corpus directory " << corpus;
  std::vector<std::string> files;
  while (const dirent* entry = ::readdir(dir)) {
    if (entry->d_name[0] != '.') files.push_back(std::string(corpus) + "/" + entry->d_name);
  }
  ::closedir(dir);
  ASSERT_FALSE(files.empty()) << "no seeds in " << corpus;
  for (const std::string& file : files) {
    SCOPED_TRACE(file);
    std::ifstream in(file, std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    // A failure aborts inside the target, which fails this test.
    EXPECT_EQ(LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()),
              0);
  }
}

}  // namespace
