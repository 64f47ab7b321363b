// The arithmetic of the report's ratios, on inputs whose answers are known:
// quantiles, the spread of some values, ratios paired repetition by
// repetition, and a row's ratios to its baseline and best peer.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "benchmarks/report.h"
#include "gtest/gtest.h"

namespace uncopyable::report {
namespace {

TEST(Quantile, InterpolatesBetweenSortedValues) {
  const std::vector<double> sorted = {1, 2, 4, 8};
  EXPECT_DOUBLE_EQ(quantile(sorted, 0.0), 1);
  EXPECT_DOUBLE_EQ(quantile(sorted, 1.0), 8);
  EXPECT_DOUBLE_EQ(quantile(sorted, 0.5), 3);     // position 1.5: between 2 and 4
  EXPECT_DOUBLE_EQ(quantile(sorted, 0.25), 1.75);  // position 0.75
  EXPECT_DOUBLE_EQ(quantile(sorted, 0.75), 5);     // position 2.25
  EXPECT_DOUBLE_EQ(quantile({7}, 0.25), 7);
}

TEST(SpreadOf, OddCountInAnyOrder) {
  const std::optional<Spread> spread = spread_of({1.10, 0.90, 1.00, 1.30, 0.95});
  ASSERT_TRUE(spread.has_value());
  EXPECT_DOUBLE_EQ(spread->median, 1.00);
  EXPECT_DOUBLE_EQ(spread->low, 0.95);   // position 1 of 0.90 0.95 1.00 1.10 1.30
  EXPECT_DOUBLE_EQ(spread->high, 1.10);  // position 3
  EXPECT_DOUBLE_EQ(spread->min, 0.90);
  EXPECT_DOUBLE_EQ(spread->max, 1.30);
  EXPECT_EQ(spread->count, 5u);
}

TEST(SpreadOf, EvenCountTakesTheMeanOfTheMiddleTwo) {
  const std::optional<Spread> spread = spread_of({4, 1, 3, 2});
  ASSERT_TRUE(spread.has_value());
  EXPECT_DOUBLE_EQ(spread->median, 2.5);
  EXPECT_DOUBLE_EQ(spread->low, 1.75);
  EXPECT_DOUBLE_EQ(spread->high, 3.25);
}

TEST(SpreadOf, NothingOfNothing) { EXPECT_FALSE(spread_of({}).has_value()); }

TEST(PairedRatios, OnlyRepetitionsBothHave) {
  const Repetitions uncopyable = {{"a#0", 110}, {"b#0", 300}, {"c#0", 99}};
  const Repetitions raw = {{"a#0", 100}, {"b#0", 200}, {"d#0", 50}};
  EXPECT_EQ(paired_ratios(uncopyable, raw), (std::vector<double>{1.1, 1.5}));
}

// The point of pairing: a machine that slows down for a few repetitions
// moves both times of a pair, and can move a ratio of two medians a long
// way, but not the median of the ratios.
TEST(RatioOf, PairedRatiosAreNotARatioOfMedians) {
  // Repetitions 2 and 3 ran while another build had the cores: both
  // contenders twice as slow there. uncopyable is 5 % slower in each
  // repetition but one, 1, where it alone was held up.
  const double raw_times[] = {100, 104, 200, 208, 98};
  const double handle_times[] = {105, 150, 210, 218.4, 102.9};
  Cell baseline{{"Raw", Role::kBaseline, "raw"}, 0, std::nullopt, {}};
  Cell handle{{"File", Role::kUncopyable, "File"}, 0, std::nullopt, {}};
  for (int i = 0; i < 5; ++i) {
    const std::string key = "g000-r00" + std::to_string(i) + ".json#0";
    baseline.repetitions[key] = raw_times[i];
    handle.repetitions[key] = handle_times[i];
  }
  baseline.ns = 104;  // the medians
  handle.ns = 150;
  const Spread spread = ratio_of(handle, baseline);
  EXPECT_EQ(spread.count, 5u);
  EXPECT_NEAR(spread.median, 1.05, 1e-12);  // 1.05, 150/104, 1.05, 1.05, 1.05
  EXPECT_NEAR(spread.low, 1.05, 1e-12);
  EXPECT_NEAR(spread.high, 1.05, 1e-12);
  EXPECT_NEAR(spread.min, 1.05, 1e-12);
  EXPECT_NEAR(spread.max, 150.0 / 104, 1e-12);
  EXPECT_NEAR(handle.ns / baseline.ns, 1.44, 0.01);  // what a ratio of medians would say
}

TEST(RatioOf, WithoutRepetitionsTheRatioOfMediansAlone) {
  const Cell a{{"Fd", Role::kUncopyable, "Fd"}, 630, std::nullopt, {}};
  const Cell b{{"Raw", Role::kBaseline, "raw"}, 600, std::nullopt, {}};
  const Spread spread = ratio_of(a, b);
  EXPECT_DOUBLE_EQ(spread.median, 1.05);
  EXPECT_DOUBLE_EQ(spread.low, 1.05);
  EXPECT_DOUBLE_EQ(spread.high, 1.05);
  EXPECT_EQ(spread.count, 0u);
}

TEST(RowRatios, ToTheBaselineAndToThePeerWithTheLowestMedian) {
  auto cell = [](const char* name, Role role, std::vector<double> times) {
    Cell c{{name, role, name}, 0, std::nullopt, {}};
    for (size_t i = 0; i < times.size(); ++i) c.repetitions["r#" + std::to_string(i)] = times[i];
    std::vector<double> sorted = times;
    c.ns = spread_of(sorted)->median;
    return c;
  };
  const Row row{"open",
                {cell("Raw", Role::kBaseline, {100, 100, 100}),
                 cell("File", Role::kUncopyable, {102, 110, 104}),
                 cell("Slow", Role::kPeer, {200, 200, 200}),
                 cell("Fast", Role::kPeer, {100, 110, 130})}};
  const Ratios ratios = row.ratios();
  ASSERT_TRUE(ratios.to_baseline.has_value());
  EXPECT_DOUBLE_EQ(ratios.to_baseline->median, 1.04);
  EXPECT_DOUBLE_EQ(ratios.to_baseline->low, 1.03);
  EXPECT_DOUBLE_EQ(ratios.to_baseline->high, 1.07);
  EXPECT_EQ(ratios.baseline, "Raw");
  ASSERT_TRUE(ratios.to_best_peer.has_value());
  EXPECT_EQ(ratios.best_peer, "Fast");
  EXPECT_DOUBLE_EQ(ratios.to_best_peer->median, 1.0);  // 1.02, 1.00, 0.80
  EXPECT_DOUBLE_EQ(ratios.to_best_peer->min, 0.8);
}

TEST(ContenderNamed, AsDeclaredRawOrAPeer) {
  const std::map<std::string, std::string> declared = {
      {"contender Fd", "uncopyable: `uncopyable::Fd`"},
      {"contender RawBlocked", "baseline variant: raw, SIGPIPE blocked"},
      {"contender Bad", "winner: me"}};
  absl::StatusOr<Contender> fd = contender_named("Fd", declared);
  ASSERT_TRUE(fd.ok());
  EXPECT_EQ(fd->role, Role::kUncopyable);
  EXPECT_EQ(fd->title, "`uncopyable::Fd`");
  EXPECT_EQ(contender_named("RawBlocked", declared)->role, Role::kBaselineVariant);
  EXPECT_EQ(contender_named("Raw", declared)->role, Role::kBaseline);
  EXPECT_EQ(contender_named("Raw", declared)->title, "raw");
  EXPECT_EQ(contender_named("Folly", declared)->role, Role::kPeer);
  EXPECT_EQ(contender_named("Folly", declared)->title, "Folly");
  EXPECT_FALSE(contender_named("Bad", declared).ok());
}

}  // namespace
}  // namespace uncopyable::report
