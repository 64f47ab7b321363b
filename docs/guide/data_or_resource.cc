// docs/guide.md, "Is it data or a resource?": a job description is data, a
// running job holds resources. The test checks what the guide says of each.
#include <string>
#include <type_traits>
#include <utility>

#include "absl/status/statusor.h"
#include "docs/guide/guide_testing.h"
#include "gtest/gtest.h"
#include "uncopyable/file.h"
#include "uncopyable/sqlite.h"

namespace guide {
namespace {

// [guide:data-and-resource]
// Data: says what to open. Copy it, compare it, store it, send it.
struct ExportJob {
  uncopyable::SqliteConfig source;
  uncopyable::FileConfig output;
  friend bool operator==(const ExportJob&, const ExportJob&) = default;
};

// Resources: what is open now. Move them; never copy them.
struct RunningExport {
  uncopyable::SqliteConnection source;
  uncopyable::File output;
};

absl::StatusOr<RunningExport> start(const ExportJob& job) {
  absl::StatusOr<uncopyable::SqliteConnection> source = uncopyable::rebuild(job.source);
  if (!source.ok()) return source.status();
  absl::StatusOr<uncopyable::File> output = uncopyable::rebuild(job.output);
  if (!output.ok()) return output.status();
  return RunningExport{*std::move(source), *std::move(output)};
}
// [end]

// The job copies; the running export only moves, and cheaply.
static_assert(std::is_copy_constructible_v<ExportJob>);
static_assert(std::is_copy_assignable_v<ExportJob>);
static_assert(!std::is_copy_constructible_v<RunningExport>);
static_assert(!std::is_copy_assignable_v<RunningExport>);
static_assert(std::is_nothrow_move_constructible_v<RunningExport>);

class DataOrResourceTest : public ::testing::Test {
 protected:
  void SetUp() override { enter_scratch_directory(); }

  const ExportJob job_{
      .source = {.path = "scores.db"},
      .output = {.path = "scores.csv", .access = uncopyable::FileAccess::write,
                 .create = true, .truncate = true},
  };
};

TEST_F(DataOrResourceTest, ACopyOfTheJobIsTheSameJob) {
  ExportJob copy = job_;
  EXPECT_EQ(copy, job_);
  copy.output.path = "other.csv";
  EXPECT_NE(copy, job_);  // the copy is its own value
}

TEST_F(DataOrResourceTest, OneJobStartsTwoIndependentExports) {
  absl::StatusOr<RunningExport> first = start(job_);
  ASSERT_TRUE(first.ok()) << first.status();
  absl::StatusOr<RunningExport> second = start(job_);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_NE(first->output.fd(), second->output.fd());
  EXPECT_NE(first->source.get(), second->source.get());

  RunningExport moved = *std::move(first);  // ownership travels; nothing reopens
  EXPECT_EQ(moved.output.config(), job_.output);
  EXPECT_TRUE(moved.output.close().ok());
  EXPECT_TRUE(second->output.close().ok());
}

TEST_F(DataOrResourceTest, AJobThatCannotStartSaysWhy) {
  ExportJob broken = job_;
  broken.output.path = "missing/scores.csv";
  absl::StatusOr<RunningExport> export_ = start(broken);
  ASSERT_FALSE(export_.ok());
  EXPECT_NE(export_.status().message().find("missing/scores.csv"), absl::string_view::npos)
      << export_.status();
}

}  // namespace
}  // namespace guide
