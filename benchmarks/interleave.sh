# Functions report.sh and compare_builds.sh share (sourced, not run): which
# programs are in the report, what operations a program has, and one
# repetition of one operation.
#
# A repetition of an operation is one run of its program with
#   --benchmark_filter='^BM_<Operation>_' --benchmark_repetitions=1
#   --benchmark_enable_random_interleaving=true
# so that the operation's contenders (raw, uncopyable, the peers) are
# measured back to back, in an order Google Benchmark shuffles each time,
# and the ratio of two of them is taken between times measured seconds
# apart rather than minutes (Google Benchmark 1.7 runs all repetitions of a
# benchmark before the next one, or, with random interleaving, in an order
# that keeps no pair together).

# report_programs: the names of the programs tagged "report" in
# benchmarks/BUILD.bazel ("fd" for //benchmarks:fd_benchmark), sorted. Run in
# the workspace.
report_programs() {
  ./bazelw query --noshow_progress \
      'attr(tags, "\breport\b", kind(cc_binary, //benchmarks:all))' 2>/dev/null |
    sed -n 's|^//benchmarks:\(.*\)_benchmark$|\1|p' | LC_ALL=C sort
}

# operations BINARY [REGEX]: the program's operations (BM_OpenClose for
# BM_OpenClose_Raw), in the order it registers them, each once; only those
# that REGEX (extended) matches, if given.
operations() {
  "$1" --benchmark_list_tests=true |
    sed -n 's|^\(BM_[A-Za-z0-9]*\)_[A-Za-z0-9]*\(/.*\)\{0,1\}$|\1|p' |
    awk '!seen[$0]++' | grep -E -- "${2:-.}" || true
}

# run_operation BINARY OPERATION MIN_TIME OUT_JSON: one repetition of the
# operation, its results in OUT_JSON; the program's output is kept in
# OUT_JSON.log and shown only if it fails.
run_operation() {
  if ! "$1" "--benchmark_filter=^$2_" --benchmark_repetitions=1 \
      --benchmark_enable_random_interleaving=true "--benchmark_min_time=$3" \
      "--benchmark_out=$4" --benchmark_out_format=json </dev/null >"$4.log" 2>&1; then
    cat "$4.log" >&2
    echo "$(basename "$1") --benchmark_filter=^$2_ failed" >&2
    return 1
  fi
}

# The flags every run has, as the report says them.
operation_flags() {  # operation_flags MIN_TIME
  echo "--benchmark_filter=^BM_<Operation>_ --benchmark_repetitions=1" \
       "--benchmark_enable_random_interleaving=true --benchmark_min_time=$1"
}

# machine_description: cores, CPU, system, kernel.
machine_description() {
  local cpu system
  cpu="$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
  system="$(. /etc/os-release && echo "${PRETTY_NAME}")"
  echo "$(nproc) cores (${cpu:-unknown CPU}), ${system}, Linux $(uname -r)"
}

# quoted_command WORDS...: the words as a shell would read them back.
quoted_command() {
  local command="" word
  for word in "$@"; do
    if [[ "${word}" =~ ^[A-Za-z0-9_./=,:+@-]+$ ]]; then
      command+=" ${word}"
    else
      command+=" $(printf %q "${word}")"
    fi
  done
  echo "${command# }"
}
