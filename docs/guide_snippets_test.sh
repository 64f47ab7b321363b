#!/usr/bin/env bash
# guide_snippets_test.sh CHECKER GUIDE_MD: runs guide_check.py (see its top)
# from the runfiles root, where docs/guide/, src/ and include/ are.
set -euo pipefail
python=/usr/bin/python3
[[ -x "${python}" ]] || python="$(command -v python3)"
exec "${python}" "$1" "$2"
