#!/usr/bin/env bash
# module_bazel_test.sh CHECKER MODULE.bazel README.md repositories.bzl PUBLIC_DEPS:
# runs check_module_bazel.py (see its top) on the files, then on broken
# variants of them, each of which it must refuse.
set -euo pipefail
python=/usr/bin/python3
[[ -x "${python}" ]] || python="$(command -v python3)"
exec "${python}" "$@" --mutations
