// Reading a program's Google Benchmark JSON into a ProgramReport.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "absl/types/span.h"
#include "benchmarks/report.h"
#include "boost/json/parse.hpp"
#include "boost/json/value.hpp"

namespace uncopyable::report {
namespace {

// The one contender every program shares; a program declares the others
// (see report.h).
constexpr absl::string_view kBaselineName = "Raw";
constexpr absl::string_view kBaselineTitle = "raw";

constexpr absl::string_view kContenderPrefix = "contender ";

std::optional<Role> role_named(absl::string_view name) {
  if (name == "baseline") return Role::kBaseline;
  if (name == "baseline variant") return Role::kBaselineVariant;
  if (name == "uncopyable") return Role::kUncopyable;
  if (name == "uncopyable variant") return Role::kUncopyableVariant;
  if (name == "peer") return Role::kPeer;
  return std::nullopt;
}

// A benchmark's name, taken apart.
struct BenchmarkName {
  std::string family;     // "BM_Contended": the key of its label
  std::string contender;  // "StdMutex"
  std::string variant;    // "2 threads", or empty
};

// "BM_Contended_StdMutex/real_time/threads:2" -> BM_Contended, StdMutex,
// "2 threads". Arguments that only say how it was timed are left out.
std::optional<BenchmarkName> parse_name(absl::string_view run_name) {
  const std::vector<absl::string_view> parts = absl::StrSplit(run_name, '/');
  absl::string_view function = parts[0];
  if (!absl::ConsumePrefix(&function, "BM_")) return std::nullopt;
  const size_t separator = function.find('_');
  if (separator == absl::string_view::npos || separator == 0 ||
      separator + 1 == function.size()) {
    return std::nullopt;
  }
  std::vector<std::string> variant;
  for (absl::string_view argument : absl::MakeConstSpan(parts).subspan(1)) {
    if (absl::ConsumePrefix(&argument, "threads:")) {
      variant.push_back(absl::StrCat(argument, " threads"));
    } else if (argument != "real_time" && argument != "process_time" &&
               argument != "manual_time" && !absl::StrContains(argument, "time:") &&
               !absl::StartsWith(argument, "iterations:") &&
               !absl::StartsWith(argument, "repeats:")) {
      variant.push_back(std::string(argument));
    }
  }
  return BenchmarkName{absl::StrCat("BM_", function.substr(0, separator)),
                       std::string(function.substr(separator + 1)), absl::StrJoin(variant, ", ")};
}

// Of a list that is not empty.
double median_of(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const size_t middle = values.size() / 2;
  return values.size() % 2 == 1 ? values[middle] : (values[middle - 1] + values[middle]) / 2;
}

std::optional<double> nanoseconds_per(absl::string_view time_unit) {
  if (time_unit == "ns") return 1.0;
  if (time_unit == "us") return 1e3;
  if (time_unit == "ms") return 1e6;
  if (time_unit == "s") return 1e9;
  return std::nullopt;
}

std::string string_at(const boost::json::object& object, const char* key) {
  const boost::json::value* value = object.if_contains(key);
  if (value == nullptr || !value->is_string()) return "";
  return std::string(value->get_string());
}

std::optional<double> number_at(const boost::json::object& object, const char* key) {
  const boost::json::value* value = object.if_contains(key);
  if (value == nullptr || !value->is_number()) return std::nullopt;
  return value->to_number<double>();
}

bool true_at(const boost::json::object& object, const char* key) {
  const boost::json::value* value = object.if_contains(key);
  return value != nullptr && value->is_bool() && value->get_bool();
}

// Standard deviation (of a sample, as Google Benchmark's) over mean.
std::optional<double> cv_of(const std::vector<double>& values) {
  if (values.size() < 2) return std::nullopt;
  double sum = 0;
  for (double value : values) sum += value;
  const double mean = sum / values.size();
  double squares = 0;
  for (double value : values) squares += (value - mean) * (value - mean);
  return std::sqrt(squares / (values.size() - 1)) / mean;
}

// One benchmark (one run name): its runs, or the aggregates of a program
// that reported only those, and where the program registered it.
struct Measurement {
  Repetitions runs;                 // by repetition
  std::optional<double> median_ns;  // the aggregates
  std::optional<double> cv;
  int aggregated_repetitions = 0;

  bool empty() const { return runs.empty() && !median_ns.has_value(); }
  std::vector<double> times() const {
    std::vector<double> values;
    for (const auto& [key, ns] : runs) values.push_back(ns);
    return values;
  }
  double ns() const { return runs.empty() ? *median_ns : median_of(times()); }
  std::optional<double> spread() const { return runs.empty() ? cv : cv_of(times()); }
  int repetitions() const {
    return runs.empty() ? aggregated_repetitions : static_cast<int>(runs.size());
  }
};

// Every file's measurements, merged; their labels and declarations.
struct Read {
  std::vector<std::string> order;                   // run names, as they first appear
  std::map<std::string, Measurement> measurements;  // by run name
  std::map<std::string, std::string> context;       // date, ..., labels, contenders
  std::string date;                                 // the earliest
};

absl::Status read_file_into(const ResultFile& file, Read& read) {
  const absl::string_view path = file.name;
  boost::system::error_code error;
  const boost::json::value root = boost::json::parse({file.json.data(), file.json.size()}, error);
  if (error) return absl::InvalidArgumentError(absl::StrCat(path, ": ", error.message()));
  const boost::json::value* benchmarks =
      root.is_object() ? root.get_object().if_contains("benchmarks") : nullptr;
  if (benchmarks == nullptr || !benchmarks->is_array()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": not Google Benchmark JSON (no \"benchmarks\" array)"));
  }
  if (const boost::json::value* found = root.get_object().if_contains("context");
      found != nullptr && found->is_object()) {
    for (const auto& [key, value] : found->get_object()) {
      if (value.is_string()) read.context[std::string(key)] = std::string(value.get_string());
    }
    const std::string date = read.context["date"].substr(0, 10);  // 2026-11-25T11:52:05+00:00
    if (!date.empty() && (read.date.empty() || date < read.date)) read.date = date;
  }

  // This file's run names in the order the program registered them (random
  // interleaving shuffles the entries).
  std::vector<std::pair<std::pair<double, double>, std::string>> registered;
  for (const boost::json::value& entry : benchmarks->get_array()) {
    if (!entry.is_object()) continue;
    const boost::json::object& run = entry.get_object();
    const std::string run_name = string_at(run, "run_name");
    if (true_at(run, "error_occurred")) {  // a report with a hole in it would mislead
      return absl::FailedPreconditionError(absl::StrCat(path, ": ", run_name, " failed: ",
                                                        string_at(run, "error_message")));
    }
    const std::string type = string_at(run, "run_type");
    const std::string aggregate = string_at(run, "aggregate_name");
    const bool median = type == "aggregate" && aggregate == "median";
    const bool cv = type == "aggregate" && aggregate == "cv";
    if (type != "iteration" && !median && !cv) continue;  // mean, stddev
    const std::optional<double> time = number_at(run, "real_time");
    const std::optional<double> unit = nanoseconds_per(string_at(run, "time_unit"));
    if (run_name.empty() || !time.has_value() || !unit.has_value()) {
      return absl::InvalidArgumentError(absl::StrCat(
          path, ": a benchmark without run_name, real_time or a known time_unit"));
    }
    auto [it, inserted] = read.measurements.try_emplace(run_name);
    Measurement& measurement = it->second;
    if (std::none_of(registered.begin(), registered.end(),
                     [&](const auto& known) { return known.second == run_name; })) {
      registered.push_back({{number_at(run, "family_index").value_or(0),
                             number_at(run, "per_family_instance_index").value_or(0)},
                            run_name});
    }
    if (cv) {
      measurement.cv = *time;  // a fraction, whatever the time_unit says
    } else if (median) {
      measurement.median_ns = *time * *unit;
      measurement.aggregated_repetitions =
          static_cast<int>(number_at(run, "repetitions").value_or(1));
    } else {
      const std::string key = absl::StrCat(
          path, "#", static_cast<int64_t>(number_at(run, "repetition_index").value_or(0)));
      if (!measurement.runs.try_emplace(key, *time * *unit).second) {
        return absl::InvalidArgumentError(
            absl::StrCat(path, ": ", run_name, " twice in one repetition"));
      }
    }
  }
  std::stable_sort(registered.begin(), registered.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  for (const auto& [where, run_name] : registered) {
    if (std::find(read.order.begin(), read.order.end(), run_name) == read.order.end()) {
      read.order.push_back(run_name);
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<Read> read_all(const std::vector<ResultFile>& files) {
  if (files.empty()) return absl::InvalidArgumentError("no result files");
  Read read;
  for (const ResultFile& file : files) {
    if (absl::Status status = read_file_into(file, read); !status.ok()) return status;
  }
  return read;
}

struct Measured {
  BenchmarkName name;
  const Measurement* measurement;
};

// Fills the rows, the columns and the breakdown from the measurements.
absl::Status arrange(const std::vector<Measured>& measured,
                     const std::map<std::string, std::string>& context, ProgramReport& report) {
  auto label_of = [&](absl::string_view key) {
    auto it = context.find(std::string(key));
    return it != context.end() ? it->second : absl::StrCat("`", key, "`");
  };
  std::map<std::string, size_t> row_of_operation;
  for (const auto& [name, measurement] : measured) {
    if (name.family == "BM_Cost") {
      report.breakdown.push_back(
          {label_of(absl::StrCat(name.family, "_", name.contender)), measurement->ns()});
      continue;
    }
    auto [row, inserted] =
        row_of_operation.try_emplace(absl::StrCat(name.family, "/", name.variant), 0);
    if (inserted) {
      row->second = report.rows.size();
      std::string label = label_of(name.family);
      if (!name.variant.empty()) absl::StrAppend(&label, ", ", name.variant);
      report.rows.push_back({std::move(label), {}});
    }
    absl::StatusOr<Contender> contender = contender_named(name.contender, context);
    if (!contender.ok()) return contender.status();
    report.rows[row->second].cells.push_back(
        {*contender, measurement->ns(), measurement->spread(), measurement->runs});
    if (std::none_of(report.columns.begin(), report.columns.end(),
                     [&](const Contender& column) { return column.name == contender->name; })) {
      report.columns.push_back(*contender);
    }
  }
  auto by_role = [](const Contender& a, const Contender& b) { return a.role < b.role; };
  std::stable_sort(report.columns.begin(), report.columns.end(), by_role);
  for (Row& row : report.rows) {
    std::stable_sort(row.cells.begin(), row.cells.end(),
                     [&](const Cell& a, const Cell& b) { return by_role(a.contender, b.contender); });
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Contender> contender_named(absl::string_view name,
                                          const std::map<std::string, std::string>& declared) {
  auto it = declared.find(absl::StrCat(kContenderPrefix, name));
  if (it == declared.end()) {
    if (name == kBaselineName) return Contender{std::string(name), Role::kBaseline,
                                                std::string(kBaselineTitle)};
    return Contender{std::string(name), Role::kPeer, std::string(name)};
  }
  const std::pair<absl::string_view, absl::string_view> role_title =
      absl::StrSplit(it->second, absl::MaxSplits(": ", 1));
  const std::optional<Role> role = role_named(role_title.first);
  if (!role.has_value() || role_title.second.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "\"", it->first, "\" is \"", it->second,
        "\", not \"ROLE: TITLE\" with a ROLE of baseline, baseline variant, uncopyable, "
        "uncopyable variant, peer"));
  }
  return Contender{std::string(name), *role, std::string(role_title.second)};
}

double quantile(const std::vector<double>& sorted, double q) {
  const double position = q * static_cast<double>(sorted.size() - 1);
  const size_t below = static_cast<size_t>(std::floor(position));
  if (below + 1 >= sorted.size()) return sorted.back();
  const double fraction = position - static_cast<double>(below);
  return sorted[below] + fraction * (sorted[below + 1] - sorted[below]);
}

std::optional<Spread> spread_of(std::vector<double> values) {
  if (values.empty()) return std::nullopt;
  std::sort(values.begin(), values.end());
  return Spread{.median = quantile(values, 0.5),
                .low = quantile(values, 0.25),
                .high = quantile(values, 0.75),
                .min = values.front(),
                .max = values.back(),
                .count = values.size()};
}

std::vector<double> paired_ratios(const Repetitions& numerator, const Repetitions& denominator) {
  std::vector<double> ratios;
  for (const auto& [repetition, ns] : numerator) {
    auto other = denominator.find(repetition);
    if (other != denominator.end()) ratios.push_back(ns / other->second);
  }
  return ratios;
}

Spread ratio_of(const Cell& a, const Cell& b) {
  if (std::optional<Spread> paired = spread_of(paired_ratios(a.repetitions, b.repetitions))) {
    return *paired;
  }
  const double ratio = a.ns / b.ns;
  return Spread{.median = ratio, .low = ratio, .high = ratio, .min = ratio, .max = ratio,
                .count = 0};
}

const Cell* Row::find(Role role) const {
  for (const Cell& cell : cells) {
    if (cell.contender.role == role) return &cell;
  }
  return nullptr;
}

std::optional<double> Row::largest_cv() const {
  std::optional<double> largest;
  for (const Cell& cell : cells) {
    if (cell.cv.has_value() && (!largest.has_value() || *cell.cv > *largest)) largest = cell.cv;
  }
  return largest;
}

Ratios Row::ratios() const {
  Ratios ratios;
  const Cell* baseline = find(Role::kBaseline);
  if (baseline != nullptr) ratios.baseline = baseline->contender.title;
  const Cell* uncopyable = find(Role::kUncopyable);
  if (uncopyable == nullptr) return ratios;
  if (baseline != nullptr) ratios.to_baseline = ratio_of(*uncopyable, *baseline);
  const Cell* best_peer = nullptr;
  for (const Cell& cell : cells) {
    if (cell.contender.role == Role::kPeer && (best_peer == nullptr || cell.ns < best_peer->ns)) {
      best_peer = &cell;
    }
  }
  if (best_peer != nullptr) {
    ratios.to_best_peer = ratio_of(*uncopyable, *best_peer);
    ratios.best_peer = best_peer->contender.title;
  }
  return ratios;
}

absl::StatusOr<ProgramReport> read_program(absl::string_view program,
                                           const std::vector<ResultFile>& files) {
  absl::StatusOr<Read> read = read_all(files);
  if (!read.ok()) return read.status();
  ProgramReport report;
  report.program = std::string(program);
  report.date = read->date;
  std::vector<Measured> measured;
  for (const std::string& run_name : read->order) {
    std::optional<BenchmarkName> name = parse_name(run_name);
    if (!name.has_value()) {
      std::fprintf(stderr, "report: %.*s: %s is not named BM_<Operation>_<Contender>, left out\n",
                   static_cast<int>(program.size()), program.data(), run_name.c_str());
      continue;
    }
    const Measurement& measurement = read->measurements.at(run_name);
    if (measurement.empty()) continue;  // a cv only
    measured.push_back({*std::move(name), &measurement});
    if (std::find(report.repetitions.begin(), report.repetitions.end(),
                  measurement.repetitions()) == report.repetitions.end()) {
      report.repetitions.push_back(measurement.repetitions());
    }
  }
  if (measured.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(files.front().name, ": no results"));
  }
  if (absl::Status status = arrange(measured, read->context, report); !status.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(program, ": ", status.message()));
  }
  return report;
}

absl::StatusOr<std::vector<Benchmark>> read_benchmarks(const std::vector<ResultFile>& files) {
  absl::StatusOr<Read> read = read_all(files);
  if (!read.ok()) return read.status();
  std::vector<Benchmark> benchmarks;
  for (const std::string& run_name : read->order) {
    const Measurement& measurement = read->measurements.at(run_name);
    if (!measurement.runs.empty()) benchmarks.push_back({run_name, measurement.runs});
  }
  return benchmarks;
}

}  // namespace uncopyable::report
