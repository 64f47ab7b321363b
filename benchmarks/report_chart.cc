// The chart of the report, an SVG document: for each operation a bar per
// contender, the median of its time over the baseline's, taken repetition
// by repetition, with a whisker over the middle half of those ratios;
// uncopyable highlighted; a line at 1.0.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/string_view.h"
#include "benchmarks/report.h"

namespace uncopyable::report {
namespace {

// Layout, in pixels.
constexpr int kWidth = 820;
constexpr int kNameRight = 232;  // contender names end here, bars start at kPlotLeft
constexpr int kPlotLeft = 240;
constexpr int kPlotWidth = 480;  // for the whole scale; the figures go to the right of it
constexpr int kPlotTop = 84;
constexpr int kBarHeight = 12;
constexpr int kBarPitch = 16;

constexpr absl::string_view kStyle = R"(<style>
text { font: 12px -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif; fill: #24292f; }
.heading { font-size: 15px; font-weight: 600; }
.program { font-size: 14px; font-weight: 600; }
.operation { fill: #57606a; font-style: italic; }
.name { text-anchor: end; }
.tick { text-anchor: middle; fill: #57606a; font-size: 11px; }
.ratio { paint-order: stroke; stroke: #ffffff; stroke-width: 3px; }
text.uncopyable { font-weight: 600; }
rect.uncopyable { fill: #1f6feb; }
rect.variant { fill: #9cc3f7; }
rect.baseline { fill: #afb8c1; }
rect.peer { fill: #f0a94a; }
.grid { stroke: #eaeef2; }
.one { stroke: #24292f; stroke-width: 1.5; stroke-dasharray: 4 3; }
.cut { stroke: #ffffff; stroke-width: 2.5; }
.spread { stroke: #24292f; stroke-width: 1; }
</style>
)";

std::string escape_xml(absl::string_view text) {
  return absl::StrReplaceAll(text,
                             {{"&", "&amp;"}, {"<", "&lt;"}, {">", "&gt;"}, {"\"", "&quot;"}});
}

// Markdown (labels, titles) as chart text.
std::string plain(absl::string_view markdown) {
  return escape_xml(absl::StrReplaceAll(markdown, {{"`", ""}}));
}

const char* css_class(Role role) {
  switch (role) {
    case Role::kBaseline:
    case Role::kBaselineVariant: return "baseline";
    case Role::kUncopyable: return "uncopyable";
    case Role::kUncopyableVariant: return "variant";
    case Role::kPeer: return "peer";
  }
  return "peer";
}

// The scale ends at the highest ratio rounded up to a half, at least 1.5 and
// at most 2.0: a bar that goes further is cut, and its figure tells.
double scale_end_for(const std::vector<ProgramReport>& programs) {
  double highest = 1;
  for (const ProgramReport& program : programs) {
    for (const Row& row : program.rows) {
      const Cell* baseline = row.find(Role::kBaseline);
      if (baseline == nullptr) continue;
      for (const Cell& cell : row.cells) {
        highest = std::max(highest, ratio_of(cell, *baseline).median);
      }
    }
  }
  return std::clamp(std::ceil(highest * 2) / 2, 1.5, 2.0);
}

// The legend: a swatch for each kind of contender the chart has.
std::string legend(const std::vector<ProgramReport>& programs) {
  std::vector<Role> roles;
  std::vector<std::string> baselines;
  for (const ProgramReport& program : programs) {
    for (const Contender& column : program.columns) {
      if (std::find(roles.begin(), roles.end(), column.role) == roles.end()) {
        roles.push_back(column.role);
      }
      const std::string title = plain(column.title);
      if (column.role == Role::kBaseline &&
          std::find(baselines.begin(), baselines.end(), title) == baselines.end()) {
        baselines.push_back(title);
      }
    }
  }
  std::sort(roles.begin(), roles.end());
  std::string svg;
  int x = 8;
  for (Role role : roles) {
    std::string text;
    switch (role) {
      case Role::kBaseline: text = absl::StrCat("baseline (", absl::StrJoin(baselines, ", "), ")");
        break;
      case Role::kBaselineVariant: continue;  // drawn as the baseline
      case Role::kUncopyable: text = "uncopyable"; break;
      case Role::kUncopyableVariant: text = "uncopyable, other settings"; break;
      case Role::kPeer: text = "peers"; break;
    }
    absl::StrAppendFormat(&svg,
                          "<rect class=\"swatch %s\" x=\"%d\" y=\"36\" width=\"12\" height=\"12\"/>"
                          "<text x=\"%d\" y=\"46\">%s</text>\n",
                          css_class(role), x, x + 16, text);
    x += 16 + 6 * static_cast<int>(text.size()) + 24;  // about 6 pixels a letter
  }
  return svg;
}

}  // namespace

std::string chart(const std::vector<ProgramReport>& programs) {
  const double scale_end = scale_end_for(programs);
  auto x_of = [&](double ratio) {
    return kPlotLeft + std::min(ratio, scale_end) / scale_end * kPlotWidth;
  };

  // Top to bottom: a program, its operations, a bar for each contender.
  std::string bars;
  std::string figures;  // drawn last, over the 1.0 line
  int y = kPlotTop;
  for (const ProgramReport& program : programs) {
    const bool charted = std::any_of(program.rows.begin(), program.rows.end(), [](const Row& row) {
      return row.find(Role::kBaseline) != nullptr;
    });
    if (!charted) continue;  // no operation with a baseline: nothing to draw
    absl::StrAppendFormat(&bars, "<text class=\"program\" x=\"8\" y=\"%d\">%s</text>\n", y + 24,
                          escape_xml(program.program));
    y += 32;
    for (const Row& row : program.rows) {
      const Cell* baseline = row.find(Role::kBaseline);
      if (baseline == nullptr) continue;  // nothing to be a ratio to
      absl::StrAppendFormat(&bars, "<text class=\"operation\" x=\"16\" y=\"%d\">%s</text>\n",
                            y + 13, plain(row.label));
      y += 18;
      for (const Cell& cell : row.cells) {
        const Spread spread = ratio_of(cell, *baseline);
        const double ratio = spread.median;
        const double end = x_of(ratio);
        const char* role = css_class(cell.contender.role);
        absl::StrAppendFormat(&bars, "<text class=\"name %s\" x=\"%d\" y=\"%d\">%s</text>\n", role,
                              kNameRight, y + 10, plain(cell.contender.title));
        absl::StrAppendFormat(&bars,
                              "<rect class=\"bar %s\" x=\"%d\" y=\"%d\" width=\"%.1f\" "
                              "height=\"%d\"><title>%s: %s</title></rect>\n",
                              role, kPlotLeft, y, end - kPlotLeft, kBarHeight,
                              plain(cell.contender.title), format_duration(cell.ns));
        if (ratio > scale_end) {  // cut short: two white strokes across its end
          absl::StrAppendFormat(&bars, "<path class=\"cut\" d=\"M%.1f %d l4 -%d m1 %d l4 -%d\"/>\n",
                                end - 14, y + kBarHeight, kBarHeight, kBarHeight, kBarHeight);
        }
        if (spread.high > spread.low) {  // the middle half of the ratios
          absl::StrAppendFormat(&bars,
                                "<line class=\"spread\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" "
                                "y2=\"%d\"/>\n",
                                x_of(spread.low), y + kBarHeight / 2, x_of(spread.high),
                                y + kBarHeight / 2);
        }
        absl::StrAppendFormat(&figures,
                              "<text class=\"ratio %s\" x=\"%.1f\" y=\"%d\">%.2f×</text>\n", role,
                              end + 4, y + 10, ratio);
        y += kBarPitch;
      }
      y += 4;
    }
  }
  const int plot_bottom = y + 6;
  const int height = plot_bottom + 28;

  std::string svg = absl::StrFormat(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
      "viewBox=\"0 0 %d %d\" role=\"img\">\n"
      "<title>uncopyable, raw calls and peers: time over the baseline's</title>\n",
      kWidth, height, kWidth, height);
  absl::StrAppend(&svg, kStyle, "<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n",
                  "<text class=\"heading\" x=\"8\" y=\"22\">Time over the baseline's, per "
                  "operation (median ratio; whisker: middle half; lower is faster)</text>\n",
                  legend(programs));
  // The scale: a line at every quarter, a figure at every half, above and
  // below.
  for (int quarter = 0; quarter <= static_cast<int>(scale_end * 4); ++quarter) {
    const double x = x_of(quarter / 4.0);
    absl::StrAppendFormat(&svg, "<line class=\"grid\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\"/>\n",
                          x, kPlotTop, x, plot_bottom);
    if (quarter % 2 != 0) continue;
    for (int figure_y : {kPlotTop - 6, plot_bottom + 16}) {
      absl::StrAppendFormat(&svg, "<text class=\"tick\" x=\"%.1f\" y=\"%d\">%.1f×</text>\n", x,
                            figure_y, quarter / 4.0);
    }
  }
  absl::StrAppend(&svg, bars);
  absl::StrAppendFormat(&svg, "<line class=\"one\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\"/>\n",
                        x_of(1), kPlotTop - 2, x_of(1), plot_bottom);
  absl::StrAppend(&svg, figures, "</svg>\n");
  return svg;
}

}  // namespace uncopyable::report
