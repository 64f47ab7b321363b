#!/usr/bin/env python3
"""compile_commands.json for clang-tidy, from Bazel 4.2.3's action graph.

    ./bazelw aquery 'mnemonic("CppCompile", //:all)' --output=jsonproto |
      tools/compile_commands.py EXECUTION_ROOT WORKSPACE > compile_commands.json

Bazel 4.2.3 writes no compile database. Each C++ compile action of the
query becomes one entry run from EXECUTION_ROOT (`./bazelw info
execution_root`), where the paths of its arguments resolve, with what
clang-tidy (clang) would trip on taken out: the GCC-only
-fno-canonical-system-headers, -Werror (a warning is a finding, counted by
clang-tidy, not a compile failure), Bazel's redefinitions of __DATE__ and
the like and the dependency-file flags. Each
source is named by its path in WORKSPACE (not the execution root's link to
it), where clang-tidy finds the project's .clang-tidy. The
project's own include roots, which Bazel passes as -isystem for `includes =
["include"]`, become -I, so that clang-tidy looks into its headers. Each entry also includes
tools/clang14_source_location.h first: clang 14's clang-tidy has no
std::source_location with GCC 12's libstdc++ (see that file).
"""

import json
import sys

DROPPED = {"-fno-canonical-system-headers", "-Werror"}
DROPPED_WITH_VALUE = {"-MF"}
# Bazel's -D__DATE__="redacted" and the like, which clang warns about
# whatever -Wno- says.
REDACTED = ("-D__DATE__=", "-D__TIME__=", "-D__TIMESTAMP__=")


def own(path):
    """Whether an include root is the project's (not a library's or the system's)."""
    return not path.startswith(("/", "external/", "bazel-out/k8-fastbuild/bin/external/")) and (
        path == "include" or path.endswith("/bin/include"))


def entry(arguments, directory, workspace):
    out = []
    source = None
    i = 0
    while i < len(arguments):
        arg = arguments[i]
        if arg in DROPPED or arg == "-MD" or arg.startswith(REDACTED):
            pass
        elif arg in DROPPED_WITH_VALUE:
            i += 1
        elif arg == "-isystem" and i + 1 < len(arguments) and own(arguments[i + 1]):
            out += ["-I", arguments[i + 1]]
            i += 1
        else:
            if arg == "-c" and i + 1 < len(arguments):
                source = arguments[i + 1]
            out.append(arg)
        i += 1
    if source is None:
        raise SystemExit("compile_commands.py: an action with no -c: %s" % " ".join(arguments))
    if not source.startswith(("/", "external/", "bazel-out/")):
        source = "%s/%s" % (workspace.rstrip("/"), source)
        out[out.index("-c") + 1] = source
    out[out.index("-c"):out.index("-c")] = [
        "-include", "%s/tools/clang14_source_location.h" % workspace.rstrip("/")]
    return {"directory": directory, "file": source, "arguments": out}


def main(argv):
    if len(argv) != 3:
        raise SystemExit(__doc__)
    actions = json.load(sys.stdin).get("actions", [])
    entries = [entry(a["arguments"], argv[1], argv[2]) for a in actions if a.get("mnemonic") == "CppCompile"]
    if not entries:
        raise SystemExit("compile_commands.py: no CppCompile action in the query's output")
    json.dump(sorted(entries, key=lambda e: e["file"]), sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main(sys.argv)
