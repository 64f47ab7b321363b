#!/usr/bin/env python3
"""What .ci/run's clang-tidy stage lints: every src/*.cc, and every header.

    tools/tidy_units.py            one unit a line: SOURCE [HEADER]
    tools/tidy_units.py --targets  the Bazel targets that compile them

clang-tidy sees a header only through a source that includes it. Each
src/*.cc is a unit of its own (its findings and those of the headers of
include/uncopyable/ it includes, by .clang-tidy's HeaderFilterRegex). A
header that no src/*.cc includes, even through other headers (a header-only
target such as socket_asio.h), is linted through the first tests/*_test.cc
that includes it, with only that header's findings reported ("SOURCE
HEADER": the stage passes HEADER as clang-tidy's --line-filter); the test's
target is named after its file, as tests/BUILD.bazel does. A header that
nothing includes fails, naming it.
"""

import glob
import os
import re
import sys

INCLUDE = re.compile(r'^\s*#\s*include\s+"(uncopyable/[^"]+)"', re.M)


def included(path):
    with open(path, encoding="utf-8") as f:
        return INCLUDE.findall(f.read())


def reached(sources):
    """The uncopyable/... headers the sources include, directly or not."""
    seen = set()
    stack = [h for s in sources for h in included(s)]
    while stack:
        header = stack.pop()
        if header in seen:
            continue
        seen.add(header)
        if os.path.exists(os.path.join("include", header)):
            stack += included(os.path.join("include", header))
    return seen


def main(argv):
    sources = sorted(glob.glob("src/*.cc"))
    tests = sorted(glob.glob("tests/*_test.cc"))
    headers = sorted(os.path.relpath(h, "include")
                     for h in glob.glob("include/uncopyable/**/*.h", recursive=True))
    done = reached(sources)
    units = [(s, None) for s in sources]
    for header in headers:
        if header in done:
            continue
        test = next((t for t in tests if header in reached([t])), None)
        if test is None:
            raise SystemExit("tidy_units.py: include/%s is included by no src/*.cc and no "
                             "tests/*_test.cc, so clang-tidy cannot see it" % header)
        units.append((test, "include/" + header))
    if argv[1:] == ["--targets"]:
        targets = ["//:all"] + sorted({"//tests:" + os.path.basename(s)[:-len(".cc")]
                                       for s, h in units if h is not None})
        print("\n".join(targets))
    elif argv[1:]:
        raise SystemExit(__doc__)
    else:
        for source, header in units:
            print(source if header is None else "%s %s" % (source, header))


if __name__ == "__main__":
    main(sys.argv)
