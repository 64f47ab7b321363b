#!/usr/bin/env bash
# guide_snippets_test.sh CHECKER PAGE [OPTION...]: runs guide_check.py (see
# its top) on PAGE from the runfiles root, where docs/guide/, src/, include/
# and tests/ are.
set -euo pipefail
python=/usr/bin/python3
[[ -x "${python}" ]] || python="$(command -v python3)"
exec "${python}" "$@"
