#!/usr/bin/env bash
# CPU-time figures of one benchmark program on a shared machine:
#
#   benchmarks/cpu_pairs.sh PROGRAM [REPETITIONS [MIN_TIME [REGEX]]]
#   benchmarks/cpu_pairs.sh rows 15 0.2
#
# Builds //benchmarks:PROGRAM_benchmark with -c opt, then runs each of its
# operations (those REGEX matches) REPETITIONS times the way the report does
# (interleave.sh: one run per operation and repetition, its contenders back
# to back in random order), and prints, per benchmark, the median CPU time
# of the process (Google Benchmark's cpu_time: its threads, not a server it
# talks to), the coefficient of variation, the median wall time, and the
# median of the ratios to the operation's Raw taken within each repetition,
# with their middle half. CPU time moves much less than wall time when
# other work shares the cores; `./bazelw run //benchmarks:report` gives
# wall-clock time.
set -euo pipefail
cd "$(dirname "$0")/.."
program="${1:?usage: benchmarks/cpu_pairs.sh PROGRAM [REPETITIONS [MIN_TIME [REGEX]]]}"
repetitions="${2:-15}"
min_time="${3:-0.2}"
regex="${4:-.}"
# shellcheck source=interleave.sh
. benchmarks/interleave.sh
./bazelw build -c opt --noshow_progress "//benchmarks:${program}_benchmark" >&2
binary="$(./bazelw info -c opt bazel-bin 2>/dev/null)/benchmarks/${program}_benchmark"
scratch="$(mktemp -d)"
trap 'rm -rf "${scratch}"' EXIT
mapfile -t ops < <(operations "${binary}" "${regex}")
for ((repetition = 0; repetition < repetitions; ++repetition)); do
  for op in "${ops[@]}"; do
    run_operation "${binary}" "${op}" "${min_time}" "${scratch}/${op}.${repetition}.json"
  done
done
python3 - "${scratch}" <<'PY'
import collections, glob, json, os, re, statistics, sys
cpu = collections.defaultdict(dict); wall = collections.defaultdict(dict)
for path in glob.glob(os.path.join(sys.argv[1], "*.json")):
    repetition = int(path.rsplit(".", 2)[1])
    for run in json.load(open(path))["benchmarks"]:
        if run.get("run_type") == "iteration":
            cpu[run["run_name"]][repetition] = run["cpu_time"]
            wall[run["run_name"]][repetition] = run["real_time"]
unit = "ms"
print(f"{'benchmark':44} {'cpu':>9} {'cv':>6} {'wall':>9}  cpu / raw (middle half)")
for name in sorted(cpu):
    times = list(cpu[name].values())
    raw = cpu.get(re.sub(r"_[A-Za-z0-9]+$", "_Raw", name), {})
    ratios = sorted(cpu[name][r] / raw[r] for r in cpu[name] if r in raw)
    quartiles = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else ratios * 3
    cv = statistics.pstdev(times) / statistics.mean(times)
    print(f"{name:44} {statistics.median(times):9.2f} {100 * cv:5.1f}% "
          f"{statistics.median(wall[name].values()):9.2f}  {statistics.median(ratios):.3f} "
          f"({quartiles[0]:.3f}-{quartiles[2]:.3f})")
print(f"(times in the programs' unit; {len(next(iter(cpu.values())))} repetitions)")
PY
