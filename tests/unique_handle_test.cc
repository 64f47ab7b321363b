#include "uncopyable/unique_handle.h"

#include <type_traits>
#include <utility>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/recording_traits.h"

namespace uncopyable {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using testing::close_log;
using testing::PlainTraits;
using testing::PoolTraits;
using testing::RecordingTraits;

// Zero size overhead: a handle with stateless traits is its value.
static_assert(sizeof(UniqueHandle<RecordingTraits>) == sizeof(int));
static_assert(sizeof(UniqueHandle<PlainTraits>) == sizeof(int));
static_assert(sizeof(UniqueHandle<PoolTraits>) == 2 * sizeof(int));
static_assert(!std::is_copy_constructible_v<UniqueHandle<RecordingTraits>>);
static_assert(!std::is_copy_assignable_v<UniqueHandle<RecordingTraits>>);
static_assert(std::is_nothrow_move_constructible_v<UniqueHandle<RecordingTraits>>);
static_assert(std::is_nothrow_move_assignable_v<UniqueHandle<RecordingTraits>>);
static_assert(!std::is_convertible_v<UniqueHandle<RecordingTraits>, int>);
static_assert(!std::is_constructible_v<UniqueHandle<RecordingTraits>, double*>);

// The same contract, for stateless traits with and without per-state values
// and for traits with state.
template <typename Traits>
class UniqueHandleTest : public ::testing::Test {
 protected:
  using Handle = UniqueHandle<Traits>;
  void SetUp() override { close_log() = {}; }
  static Handle make(int token) { return Handle(token); }
};

using AllTraits = ::testing::Types<RecordingTraits, PlainTraits, PoolTraits>;
TYPED_TEST_SUITE(UniqueHandleTest, AllTraits);

TYPED_TEST(UniqueHandleTest, DefaultIsEmptyAndClosesNothing) {
  {
    typename TestFixture::Handle handle;
    EXPECT_FALSE(handle);
    EXPECT_FALSE(handle.is_valid());
    EXPECT_EQ(handle.state(), HandleState::kEmpty);
  }
  EXPECT_THAT(close_log().closed, IsEmpty());
}

TYPED_TEST(UniqueHandleTest, AdoptsAndClosesOnceOnDestruction) {
  {
    auto handle = TestFixture::make(7);
    EXPECT_TRUE(handle);
    EXPECT_EQ(handle.get(), 7);
    EXPECT_EQ(handle.state(), HandleState::kHeld);
    EXPECT_THAT(close_log().closed, IsEmpty());
  }
  EXPECT_EQ(close_log().closed.size(), 1u);
}

TYPED_TEST(UniqueHandleTest, MoveTransfersOwnershipAndClosesOnce) {
  {
    auto first = TestFixture::make(7);
    typename TestFixture::Handle second = std::move(first);
    EXPECT_FALSE(first);  // NOLINT(bugprone-use-after-move): checking it
    EXPECT_TRUE(second);
    EXPECT_EQ(second.get(), 7);
    typename TestFixture::Handle third;
    third = std::move(second);
    EXPECT_FALSE(second);  // NOLINT(bugprone-use-after-move)
    EXPECT_EQ(third.get(), 7);
    EXPECT_THAT(close_log().closed, IsEmpty());
  }
  EXPECT_EQ(close_log().closed.size(), 1u);
}

TYPED_TEST(UniqueHandleTest, MoveAssignClosesWhatWasHeld) {
  auto target = TestFixture::make(1);
  auto source = TestFixture::make(2);
  target = std::move(source);
  ASSERT_EQ(close_log().closed.size(), 1u);
  EXPECT_EQ(close_log().closed[0] % 1000, 1);
  EXPECT_EQ(target.get(), 2);
}

TYPED_TEST(UniqueHandleTest, SelfMoveAssignChangesNothing) {
  auto handle = TestFixture::make(3);
  auto& alias = handle;
  handle = std::move(alias);
  EXPECT_EQ(handle.get(), 3);
  EXPECT_THAT(close_log().closed, IsEmpty());
}

TYPED_TEST(UniqueHandleTest, ReleaseGivesUpOwnership) {
  {
    auto handle = TestFixture::make(4);
    EXPECT_EQ(handle.release(), 4);
    EXPECT_FALSE(handle);
  }
  EXPECT_THAT(close_log().closed, IsEmpty());
}

TYPED_TEST(UniqueHandleTest, ResetClosesAndEmpties) {
  auto handle = TestFixture::make(5);
  handle.reset();
  EXPECT_EQ(close_log().closed.size(), 1u);
  EXPECT_FALSE(handle);
  EXPECT_EQ(handle.state(), HandleState::kEmpty);
  handle.reset();  // resetting an empty handle is fine and closes nothing
  EXPECT_EQ(close_log().closed.size(), 1u);
}

TYPED_TEST(UniqueHandleTest, ResetToNewValueClosesTheOld) {
  auto handle = TestFixture::make(5);
  handle.reset(6);
  ASSERT_EQ(close_log().closed.size(), 1u);
  EXPECT_EQ(close_log().closed[0] % 1000, 5);
  EXPECT_EQ(handle.get(), 6);
}

TYPED_TEST(UniqueHandleTest, ResetRevivesAMovedFromHandle) {
  auto handle = TestFixture::make(5);
  auto other = std::move(handle);
  handle.reset(8);  // NOLINT(bugprone-use-after-move): reset reinitializes
  EXPECT_EQ(handle.get(), 8);
}

TYPED_TEST(UniqueHandleTest, SwapExchanges) {
  auto a = TestFixture::make(1);
  auto b = TestFixture::make(2);
  swap(a, b);
  EXPECT_EQ(a.get(), 2);
  EXPECT_EQ(b.get(), 1);
  typename TestFixture::Handle empty;
  a.swap(empty);
  EXPECT_FALSE(a);
  EXPECT_EQ(empty.get(), 2);
  EXPECT_THAT(close_log().closed, IsEmpty());
}

TYPED_TEST(UniqueHandleTest, CloseReportsTheErrorAndClosesAnyway) {
  auto handle = TestFixture::make(9);
  close_log().next_close_result = absl::DataLossError("disk said no");
  const absl::Status status = handle.close();
  EXPECT_EQ(status, absl::DataLossError("disk said no"));
  EXPECT_FALSE(handle);
  EXPECT_EQ(close_log().closed.size(), 1u);
}

TYPED_TEST(UniqueHandleTest, CloseSucceeds) {
  auto handle = TestFixture::make(9);
  EXPECT_TRUE(handle.close().ok());
  EXPECT_EQ(close_log().closed.size(), 1u);
}

// Per-state values let the handle say why it is empty.
TEST(UniqueHandleStateTest, StatesAreTrackedInTheValue) {
  close_log() = {};
  UniqueHandle<RecordingTraits> moved(1), closed(2), released(3), reset(4);
  UniqueHandle<RecordingTraits> taker = std::move(moved);
  closed.close().IgnoreError();
  (void)released.release();
  reset.reset();
  EXPECT_EQ(moved.state(), HandleState::kMovedFrom);  // NOLINT
  EXPECT_EQ(closed.state(), HandleState::kClosed);
  EXPECT_EQ(released.state(), HandleState::kReleased);
  EXPECT_EQ(reset.state(), HandleState::kEmpty);
  EXPECT_EQ(taker.state(), HandleState::kHeld);
}

TEST(UniqueHandleStateTest, WithoutStatesEveryEmptinessIsEmpty) {
  close_log() = {};
  UniqueHandle<PlainTraits> moved(1), closed(2);
  UniqueHandle<PlainTraits> taker = std::move(moved);
  closed.close().IgnoreError();
  EXPECT_EQ(moved.state(), HandleState::kEmpty);  // NOLINT
  EXPECT_EQ(closed.state(), HandleState::kEmpty);
}

TEST(UniqueHandleStateTest, StatefulTraitsTravelWithTheValue) {
  close_log() = {};
  {
    UniqueHandle<PoolTraits> a(1, PoolTraits{.pool = 3});
    UniqueHandle<PoolTraits> b(2, PoolTraits{.pool = 5});
    swap(a, b);
    UniqueHandle<PoolTraits> c = std::move(a);
    (void)c;
  }
  // c (pool 5, token 2) dies first, then b (pool 3, token 1).
  EXPECT_THAT(close_log().closed, ElementsAre(5002, 3001));
}

TEST(UniqueHandleStateTest, DescribesEachState) {
  EXPECT_STREQ(describe(HandleState::kMovedFrom), "a moved-from handle");
  EXPECT_STREQ(describe(HandleState::kClosed), "a closed handle");
  EXPECT_STREQ(describe(HandleState::kReleased), "a released handle");
  EXPECT_STREQ(describe(HandleState::kEmpty), "an empty handle");
}

}  // namespace
}  // namespace uncopyable
