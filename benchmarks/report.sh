#!/usr/bin/env bash
# The side-by-side report of every benchmark program:
#
#   ./bazelw run //benchmarks:report [-- OPTIONS]
#
#   --repetitions=N  repetitions of each benchmark, reported as their median
#                    (default 15)
#   --min_time=S     at least S seconds per repetition (default 0.2)
#   --only=A,B       only these programs, of: fd file mutex socket database
#                    (default all; the database one starts a PostgreSQL server)
#   --out=PATH       the Markdown to update (default docs/benchmarks.md); the
#                    chart is written beside it with the extension .svg
#
# Runs each program once with all its contenders side by side in random
# interleaving, then report_generator rewrites the section of the Markdown
# between <!-- report:begin --> and <!-- report:end --> and the chart.
# A quick try: --only=fd --repetitions=2 --min_time=0.01 --out=/tmp/x.md
#
# Benchmarks must be optimised, and `bazel run` builds in its own mode
# (fastbuild by default), so this script builds the programs itself with
# `bazel build -c opt`: `bazel run` has released Bazel's lock by the time it
# starts this script. The binaries are found with `bazel info -c opt
# bazel-bin`, and the bazel-* links of the workspace are left alone.
set -euo pipefail

readonly ALL_PROGRAMS=(fd file mutex socket database)

usage() {  # usage EXIT_STATUS
  sed -n '2,/A quick try/s/^# \{0,1\}//p' "$0" >&2
  exit "$1"
}

fail() {
  echo "report: $*" >&2
  exit 1
}

workspace="${BUILD_WORKSPACE_DIRECTORY:-}"
[[ -n "${workspace}" ]] || fail "run me with ./bazelw run //benchmarks:report"

repetitions=15
min_time=0.2
programs=("${ALL_PROGRAMS[@]}")
out="${workspace}/docs/benchmarks.md"
for argument in "$@"; do
  case "${argument}" in
    --repetitions=*) repetitions="${argument#*=}" ;;
    --min_time=*) min_time="${argument#*=}" ;;
    --only=*) IFS=, read -r -a programs <<<"${argument#*=}" ;;
    --out=*) out="${argument#*=}" ;;
    -h | --help) usage 0 ;;
    *) echo "report: unknown option ${argument}" >&2; usage 2 ;;
  esac
done

[[ "${repetitions}" =~ ^[1-9][0-9]*$ ]] || fail "--repetitions wants a positive whole number"
[[ "${min_time}" =~ ^[0-9]*\.?[0-9]+$ ]] || fail "--min_time wants seconds, like 0.2"
((${#programs[@]} > 0)) || fail "--only names no program"
for program in "${programs[@]}"; do
  [[ " ${ALL_PROGRAMS[*]} " == *" ${program} "* ]] ||
    fail "no program '${program}'; there are: ${ALL_PROGRAMS[*]}"
done
# A relative --out is relative to where ./bazelw was run.
[[ "${out}" == /* ]] || out="${BUILD_WORKING_DIRECTORY:-${workspace}}/${out}"

cd "${workspace}"
targets=(//benchmarks:report_generator)
for program in "${programs[@]}"; do targets+=("//benchmarks:${program}_benchmark"); done
echo "== building, optimised: ${targets[*]}" >&2
./bazelw build -c opt --experimental_convenience_symlinks=ignore "${targets[@]}"
bin="$(./bazelw info -c opt bazel-bin 2>/dev/null)"

results="$(mktemp -d)"
trap 'rm -rf "${results}"' EXIT

program_flags=(
  "--benchmark_repetitions=${repetitions}"
  --benchmark_enable_random_interleaving=true
  --benchmark_report_aggregates_only=true
  "--benchmark_min_time=${min_time}"
)
generator_inputs=()
for program in "${programs[@]}"; do
  echo "== ${program}_benchmark ${program_flags[*]}" >&2
  "${bin}/benchmarks/${program}_benchmark" "${program_flags[@]}" \
      --benchmark_out="${results}/${program}.json" --benchmark_out_format=json
  generator_inputs+=("${program}=${results}/${program}.json")
done

# What the report says the machine is.
cpu="$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
system="$(. /etc/os-release && echo "${PRETTY_NAME}")"
machine="$(nproc) cores (${cpu:-unknown CPU}), ${system}, Linux $(uname -r)"
command="./bazelw run //benchmarks:report"
if (($# > 0)); then
  command+=" --"
  for argument in "$@"; do
    if [[ "${argument}" =~ ^[A-Za-z0-9_./=,:+-]+$ ]]; then
      command+=" ${argument}"
    else
      command+=" $(printf %q "${argument}")"
    fi
  done
fi

"${bin}/benchmarks/report_generator" --markdown="${out}" --machine="${machine}" \
    --command="${command}" --program_flags="${program_flags[*]}" "${generator_inputs[@]}"
echo "== wrote ${out} and ${out%.md}.svg" >&2
