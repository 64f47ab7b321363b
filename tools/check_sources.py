#!/usr/bin/env python3
"""Fails when the Bazel and the CMake builds do not list the same sources.

    tools/check_sources.py BUILD_DIR

BUILD_DIR is a configured CMake build of the project; CMake wrote there
uncopyable_sources.txt (every source and header of every target it declares,
see uncopyable_write_source_list in cmake/uncopyable_rules.cmake). The Bazel
side is every source file in `srcs` or `hdrs` of a cc_library / cc_binary /
cc_test of //... (`./bazelw query --output=xml`, so macros such as
automatic_tests() are seen as Bazel expands them), but for the packages that
are Bazel-only on purpose (BAZEL_ONLY below). Every .cc/.h file under src/
and include/ must be in both builds, named or not.

Each file found in one build and not in the other is printed on a line of
its own, with the Bazel rule that names it, and the exit status is 1.
"""

import os
import subprocess
import sys
import xml.etree.ElementTree as ElementTree

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Packages whose programs only Bazel builds (said in the README too).
BAZEL_ONLY = {
    "benchmarks": "Google Benchmark programs and their report tools",
    "tests/fuzz": "libFuzzer targets (clang, tests/fuzz/run.sh)",
}

# Folders whose every .cc/.h file must be in both builds.
LIBRARY_FOLDERS = ["src", "include"]


def bazel_query_xml():
    command = [os.path.join(ROOT, "bazelw"), "query", "--output=xml",
               'kind("cc_(library|binary|test) rule", //...)']
    result = subprocess.run(command, cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    if result.returncode != 0:
        sys.exit("check_sources: `%s` failed:\n%s" % (" ".join(command), result.stderr))
    return result.stdout


def label_path(label):
    """include/uncopyable/fd.h of //:include/uncopyable/fd.h; None if external."""
    if not label.startswith("//"):
        return None
    package, _, name = label[2:].partition(":")
    return os.path.join(package, name) if package else name


def bazel_sources(xml_text):
    """{path: rule label} of every source file a cc rule names."""
    sources = {}
    for rule in ElementTree.fromstring(xml_text).iter("rule"):
        name = rule.get("name")
        package = name[2:].split(":")[0]
        if any(package == p or package.startswith(p + "/") for p in BAZEL_ONLY):
            continue
        for attribute in rule.iter("list"):
            if attribute.get("name") not in ("srcs", "hdrs", "textual_hdrs"):
                continue
            for item in attribute.iter("label"):
                path = label_path(item.get("value"))
                if path and os.path.isfile(os.path.join(ROOT, path)):
                    sources.setdefault(path, name)
    return sources


def cmake_sources(build_dir):
    listing = os.path.join(build_dir, "uncopyable_sources.txt")
    if not os.path.isfile(listing):
        sys.exit("check_sources: %s is missing: configure the CMake build first "
                 "(cmake -S . -B %s)" % (listing, build_dir))
    with open(listing, encoding="utf-8") as f:
        return {line.strip() for line in f if line.strip()}


def files_on_disk():
    found = set()
    for folder in LIBRARY_FOLDERS:
        for directory, _, names in os.walk(os.path.join(ROOT, folder)):
            for name in names:
                if name.endswith((".cc", ".h")):
                    found.add(os.path.relpath(os.path.join(directory, name), ROOT))
    return found


def cmake_file_for(path):
    """Where a file of `path`'s folder is declared in the CMake build."""
    if path.startswith(("src/", "include/")):
        return "the uncopyable_library() of its target in CMakeLists.txt"
    folder = path.split("/")[0]
    return "%s/CMakeLists.txt" % folder


def bazel_file_for(path):
    if path.startswith(("src/", "include/")):
        return "the uncopyable_library() of its target in BUILD.bazel"
    return "%s/BUILD.bazel" % os.path.dirname(path)


def main(argv):
    if len(argv) not in (2, 3):
        sys.exit("usage: tools/check_sources.py CMAKE_BUILD_DIR [BAZEL_QUERY_XML]")
    cmake = cmake_sources(argv[1])
    if len(argv) == 3:
        with open(argv[2], encoding="utf-8") as f:
            xml_text = f.read()
    else:
        xml_text = bazel_query_xml()
    bazel = bazel_sources(xml_text)
    problems = []
    for path in sorted(set(bazel) - cmake):
        problems.append("%s: in the Bazel build (%s) but not in the CMake build; add it to %s"
                        % (path, bazel[path], cmake_file_for(path)))
    for path in sorted(cmake - set(bazel)):
        problems.append("%s: in the CMake build but not in the Bazel build; add it to %s"
                        % (path, bazel_file_for(path)))
    for path in sorted(files_on_disk() - cmake - set(bazel)):
        problems.append("%s: in neither build; add it to BUILD.bazel and "
                        "CMakeLists.txt (or remove it)" % path)
    for line in problems:
        print("check_sources: " + line)
    both = len(cmake & set(bazel))
    if problems:
        print("check_sources: %d file(s) differ; %d are in both builds" % (len(problems), both))
        return 1
    print("check_sources: the Bazel and CMake builds list the same %d source files "
          "(Bazel-only: %s)" % (both, ", ".join("%s/ (%s)" % item for item in BAZEL_ONLY.items())))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
