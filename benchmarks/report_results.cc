// Reading a program's Google Benchmark JSON into a ProgramReport.
#include <algorithm>
#include <cmath>
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

struct KnownContender {
  absl::string_view name;
  Role role;
  absl::string_view title;
};

// Every contender name the benchmark programs use.
constexpr KnownContender kContenders[] = {
    {"Raw", Role::kBaseline, "raw"},
    {"StdMutex", Role::kBaseline, "`std::mutex`"},
    {"RawWithTimeout", Role::kBaselineVariant, "raw, with a timeout"},
    {"Fd", Role::kUncopyable, "`uncopyable::Fd`"},
    {"File", Role::kUncopyable, "`uncopyable::File`"},
    {"Mutex", Role::kUncopyable, "`uncopyable::Mutex`"},
    {"Socket", Role::kUncopyable, "`uncopyable::Socket`"},
    {"Uncopyable", Role::kUncopyable, "uncopyable"},
    {"FdWithoutTable", Role::kUncopyableVariant, "`Fd` without the ownership table"},
    {"RawPastTheChecks", Role::kBaselineVariant, "raw, past the ownership checks"},
    {"MutexNormal", Role::kUncopyableVariant, "`Mutex`, normal kind"},
    {"MutexOrderChecking", Role::kUncopyableVariant, "`Mutex`, lock-order checking"},
    {"UniquePtr", Role::kPeer, "`std::unique_ptr`"},
    {"Fopen", Role::kPeer, "`std::fopen`"},
    {"AbslMutex", Role::kPeer, "`absl::Mutex`"},
    {"Asio", Role::kPeer, "Boost.Asio"},
    {"SQLiteCpp", Role::kPeer, "SQLiteCpp"},
    {"Pqxx", Role::kPeer, "libpqxx"},
};

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

// One benchmark (one run name): its median and spread, and where the
// program registered it (random interleaving shuffles the entries).
struct Measurement {
  std::optional<double> median_ns;  // the aggregates
  std::optional<double> cv;
  std::vector<double> times_ns;     // the runs, if there are no aggregates
  int repetitions = 1;
  std::pair<double, double> registered;  // family_index, per_family_instance_index

  double ns() const { return median_ns.has_value() ? *median_ns : median_of(times_ns); }
  std::optional<double> spread() const { return median_ns.has_value() ? cv : cv_of(times_ns); }
};

struct Measured {
  BenchmarkName name;
  double ns;
  std::optional<double> cv;
};

// Fills the rows, the columns and the breakdown from the measurements.
void arrange(const std::vector<Measured>& measured,
             const std::map<std::string, std::string>& labels, ProgramReport& report) {
  auto label_of = [&](absl::string_view key) {
    auto it = labels.find(std::string(key));
    return it != labels.end() ? it->second : absl::StrCat("`", key, "`");
  };
  std::map<std::string, size_t> row_of_operation;
  for (const auto& [name, ns, cv] : measured) {
    if (name.family == "BM_Cost") {
      report.breakdown.push_back({label_of(absl::StrCat(name.family, "_", name.contender)), ns});
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
    const Contender contender = contender_named(name.contender);
    report.rows[row->second].cells.push_back({contender, ns, cv});
    if (std::none_of(report.columns.begin(), report.columns.end(),
                     [&](const Contender& column) { return column.name == contender.name; })) {
      report.columns.push_back(contender);
    }
  }
  auto by_role = [](const Contender& a, const Contender& b) { return a.role < b.role; };
  std::stable_sort(report.columns.begin(), report.columns.end(), by_role);
  for (Row& row : report.rows) {
    std::stable_sort(row.cells.begin(), row.cells.end(),
                     [&](const Cell& a, const Cell& b) { return by_role(a.contender, b.contender); });
  }
}

}  // namespace

Contender contender_named(absl::string_view name) {
  for (const KnownContender& known : kContenders) {
    if (known.name == name) return {std::string(name), known.role, std::string(known.title)};
  }
  return {std::string(name), Role::kPeer, std::string(name)};
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
  if (baseline != nullptr) ratios.to_baseline = uncopyable->ns / baseline->ns;
  const Cell* best_peer = nullptr;
  for (const Cell& cell : cells) {
    if (cell.contender.role == Role::kPeer && (best_peer == nullptr || cell.ns < best_peer->ns)) {
      best_peer = &cell;
    }
  }
  if (best_peer != nullptr) {
    ratios.to_best_peer = uncopyable->ns / best_peer->ns;
    ratios.best_peer = best_peer->contender.title;
  }
  return ratios;
}

absl::StatusOr<ProgramReport> read_program(absl::string_view program, absl::string_view json,
                                           absl::string_view path) {
  boost::system::error_code error;
  const boost::json::value root = boost::json::parse({json.data(), json.size()}, error);
  if (error) return absl::InvalidArgumentError(absl::StrCat(path, ": ", error.message()));
  const boost::json::value* benchmarks =
      root.is_object() ? root.get_object().if_contains("benchmarks") : nullptr;
  if (benchmarks == nullptr || !benchmarks->is_array()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": not Google Benchmark JSON (no \"benchmarks\" array)"));
  }

  ProgramReport report;
  report.program = std::string(program);
  std::map<std::string, std::string> context;  // date, ..., and the labels
  if (const boost::json::value* found = root.get_object().if_contains("context");
      found != nullptr && found->is_object()) {
    for (const auto& [key, value] : found->get_object()) {
      if (value.is_string()) context[std::string(key)] = std::string(value.get_string());
    }
    report.date = context["date"].substr(0, 10);  // 2026-11-25T11:52:05+00:00
  }

  std::vector<std::string> order;
  std::map<std::string, Measurement> measurements;  // by run name
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
    auto [it, inserted] = measurements.try_emplace(run_name);
    Measurement& measurement = it->second;
    if (inserted) {
      order.push_back(run_name);
      measurement.registered = {number_at(run, "family_index").value_or(0),
                                number_at(run, "per_family_instance_index").value_or(0)};
    }
    if (cv) {
      measurement.cv = *time;  // a fraction, whatever the time_unit says
    } else if (median) {
      measurement.median_ns = *time * *unit;
    } else {
      measurement.times_ns.push_back(*time * *unit);
    }
    measurement.repetitions = static_cast<int>(number_at(run, "repetitions").value_or(1));
  }
  std::stable_sort(order.begin(), order.end(), [&](const std::string& a, const std::string& b) {
    return measurements.at(a).registered < measurements.at(b).registered;
  });

  std::vector<Measured> measured;
  for (const std::string& run_name : order) {
    std::optional<BenchmarkName> name = parse_name(run_name);
    if (!name.has_value()) {
      std::fprintf(stderr, "report: %.*s: %s is not named BM_<Operation>_<Contender>, left out\n",
                   static_cast<int>(path.size()), path.data(), run_name.c_str());
      continue;
    }
    const Measurement& measurement = measurements.at(run_name);
    if (!measurement.median_ns.has_value() && measurement.times_ns.empty()) continue;  // a cv only
    measured.push_back({*std::move(name), measurement.ns(), measurement.spread()});
    if (std::find(report.repetitions.begin(), report.repetitions.end(),
                  measurement.repetitions) == report.repetitions.end()) {
      report.repetitions.push_back(measurement.repetitions);
    }
  }
  if (measured.empty()) return absl::InvalidArgumentError(absl::StrCat(path, ": no results"));
  arrange(measured, context, report);
  return report;
}

}  // namespace uncopyable::report
