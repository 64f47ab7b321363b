#!/usr/bin/env python3
"""Checks docs/guide.md against the code behind it, so the two cannot drift.

    guide_check.py GUIDE_MD [--examples DIR] [--sources DIR ...]

1. Snippets. The examples in DIR (docs/guide/*.cc, *.h) mark regions:

       // [guide:some-name]
       ...code...
       // [end]

   Every ```cpp block of the guide must equal one region, exactly, once the
   common leading indentation of each is removed (and trailing blanks); and
   every region must appear in the guide. C++ fenced under another name
   (```c++, ```cc, ...) is refused, so no block escapes the check.

2. Messages. Every `uncopyable: ...` the guide quotes in backticks must be
   one a death test in DIR matches whole, written there as
   printed(R"msg(...)msg") in the same words; or, for the few that need a
   PostgreSQL server (`uncopyable: Postgres...`), one that a format string
   in src/postgres.cc prints, most of the message being that format's own
   text. Every message the death tests check must be quoted in the guide.

Exits 1 and says what differs on any failure.
"""

import argparse
import difflib
import glob
import os
import re
import sys

MARK_START = re.compile(r"^\s*// \[guide:([a-z0-9]+(?:-[a-z0-9]+)*)\]\s*$")
MARK_END = re.compile(r"^\s*// \[end\]\s*$")
FENCE = re.compile(r"^(\s*)(```+|~~~+)\s*([^\s`]*)\s*$")
OTHER_CPP_NAMES = {"c++", "cc", "cxx", "hpp", "h", "c", "cplusplus"}
QUOTED_MESSAGE = re.compile(r"`(uncopyable: [^`]+)`")
PRINTED = re.compile(r'printed\(\s*R"msg\((.*?)\)msg"\s*\)', re.S)
PLACEHOLDER = re.compile(r"<[a-z][a-z ]*>")
PREFIX = "uncopyable: "
POSTGRES_PREFIX = PREFIX + "Postgres"
POSTGRES_SOURCE = os.path.join("src", "postgres.cc")
# How much of a message a library format must spell out itself, so that a
# bare "%s::%s on %s" does not vouch for any message at all.
MIN_LITERAL_SHARE = 0.5

errors = []


def fail(message):
    errors.append(message)


def dedent(lines):
    """Removes common leading whitespace and surrounding blank lines."""
    lines = [line.rstrip() for line in lines]
    while lines and not lines[0]:
        lines.pop(0)
    while lines and not lines[-1]:
        lines.pop()
    indents = [len(line) - len(line.lstrip()) for line in lines if line]
    cut = min(indents) if indents else 0
    return "\n".join(line[cut:] for line in lines)


def read_regions(example_dir):
    regions = {}  # name -> (text, where)
    files = sorted(glob.glob(os.path.join(example_dir, "*.cc")) +
                   glob.glob(os.path.join(example_dir, "*.h")))
    if not files:
        fail(f"no example sources in {example_dir}")
    for path in files:
        with open(path, encoding="utf-8") as f:
            lines = f.read().split("\n")
        name, start, body = None, 0, []
        for number, line in enumerate(lines, 1):
            started, ended = MARK_START.match(line), MARK_END.match(line)
            if started:
                if name:
                    fail(f"{path}:{number}: region {started.group(1)} starts inside region {name}")
                name, start, body = started.group(1), number, []
            elif ended:
                if not name:
                    fail(f"{path}:{number}: [end] without a region")
                    continue
                text = dedent(body)
                if not text:
                    fail(f"{path}:{start}: region {name} is empty")
                if name in regions:
                    fail(f"{path}:{start}: region {name} is also at {regions[name][1]}")
                regions[name] = (text, f"{path}:{start}")
                name = None
            elif "[guide:" in line or "[end]" in line:
                fail(f"{path}:{number}: a malformed region mark: {line.strip()}")
            elif name:
                body.append(line)
        if name:
            fail(f"{path}:{start}: region {name} has no [end]")
    return regions


def read_blocks(guide_text):
    """Yields (language, dedented text, line number) for each fenced block."""
    lines = guide_text.split("\n")
    i = 0
    while i < len(lines):
        opened = FENCE.match(lines[i])
        if not opened:
            i += 1
            continue
        fence, language, start = opened.group(2), opened.group(3).lower(), i + 1
        body = []
        i += 1
        while i < len(lines):
            closing = FENCE.match(lines[i])
            if closing and closing.group(2).startswith(fence[0] * len(fence)) and not closing.group(3):
                break
            body.append(lines[i])
            i += 1
        else:
            fail(f"guide.md:{start}: a fenced block that never closes")
        yield language, dedent(body), start
        i += 1


def check_snippets(guide_text, regions):
    by_text = {}
    for name, (text, _) in regions.items():
        by_text.setdefault(text, []).append(name)
    used = set()
    blocks = 0
    for language, text, line in read_blocks(guide_text):
        if language in OTHER_CPP_NAMES:
            fail(f"guide.md:{line}: fence C++ as ```cpp, not ```{language}, so that it is checked")
            continue
        if language != "cpp":
            continue
        blocks += 1
        if text in by_text:
            used.update(by_text[text])
            continue
        closest = max(regions.items(), default=None,
                      key=lambda item: difflib.SequenceMatcher(None, item[1][0], text).ratio())
        report = f"guide.md:{line}: this ```cpp block is no marked region of the examples"
        if closest:
            name, (region, where) = closest
            diff = difflib.unified_diff(region.split("\n"), text.split("\n"),
                                        f"{where} [guide:{name}]", f"guide.md:{line}", lineterm="")
            report += ". Closest, with the difference:\n  " + "\n  ".join(diff)
        fail(report)
    for name, (_, where) in sorted(regions.items()):
        if name not in used:
            fail(f"{where}: region [guide:{name}] is not in guide.md (paste it as a ```cpp block)")
    return blocks


# --- messages --------------------------------------------------------------------


def cpp_string_groups(text):
    """The string literals of C++ source, adjacent ones joined, unescaped."""
    groups, current, i, n = [], None, 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            i = text.find("\n", i)
            i = n if i < 0 else i
        elif text.startswith("/*", i):
            i = text.find("*/", i + 2)
            i = n if i < 0 else i + 2
        elif c == "'":
            j = i + 1
            while j < n and text[j] != "'":
                j += 2 if text[j] == "\\" else 1
            i = j + 1
        elif c == '"' or (c == "R" and text.startswith('R"', i) and not (i and (text[i - 1].isalnum() or text[i - 1] == "_"))):
            if c == "R":
                delimiter = text[i + 2:text.index("(", i)]
                end = text.index(")" + delimiter + '"', i)
                value = text[text.index("(", i) + 1:end]
                i = end + len(delimiter) + 2
            else:
                j, chars = i + 1, []
                while j < n and text[j] != '"':
                    if text[j] == "\\" and j + 1 < n:
                        chars.append({"n": "\n", "t": "\t"}.get(text[j + 1], text[j + 1]))
                        j += 2
                    else:
                        chars.append(text[j])
                        j += 1
                value = "".join(chars)
                i = j + 1
            current = value if current is None else current + value
            continue
        elif c.isspace():
            i += 1
            continue
        else:
            i += 1
        if current is not None and not c.isspace():
            groups.append(current)
            current = None
    if current is not None:
        groups.append(current)
    return groups


CONVERSION = re.compile(r"%(%|[-+ #0]*(?:\d+|\*)?(?:\.(?:\d+|\*))?(?:hh|h|ll|l|z|j|t)?([diuxXcspfeg]))")


def format_pattern(fmt):
    """A printf format as a regex, and how many of its characters are its own."""
    pattern, literal, at = "", 0, 0
    for spec in CONVERSION.finditer(fmt):
        pattern += re.escape(fmt[at:spec.start()])
        literal += spec.start() - at
        kind = spec.group(2)
        if spec.group(1) == "%":
            pattern += "%"
            literal += 1
        elif kind in "diu":
            pattern += r"-?[0-9]+"
        elif kind in "xX":
            pattern += r"[0-9a-fA-F]+"
        elif kind == "c":
            pattern += "."
        else:
            pattern += ".*"
        at = spec.end()
    pattern += re.escape(fmt[at:])
    literal += len(fmt) - at
    return re.compile(pattern, re.S), literal


def library_formats(source_dirs):
    formats = []
    for directory in source_dirs:
        for path in sorted(glob.glob(os.path.join(directory, "**", "*"), recursive=True)):
            if not path.endswith((".cc", ".h")):
                continue
            with open(path, encoding="utf-8") as f:
                for group in cpp_string_groups(f.read()):
                    formats.append((group, path) + format_pattern(group))
    return formats


def printed_messages(example_dir):
    messages = {}
    for path in sorted(glob.glob(os.path.join(example_dir, "*.cc"))):
        with open(path, encoding="utf-8") as f:
            for found in PRINTED.finditer(f.read()):
                messages.setdefault(found.group(1), path)
    return messages


def check_messages(guide_text, example_dir, source_dirs):
    quoted = []
    for number, line in enumerate(guide_text.split("\n"), 1):
        quoted += [(m, number) for m in QUOTED_MESSAGE.findall(line)]
    if not quoted:
        fail("guide.md quotes no `uncopyable: ...` message at all")
    printed = printed_messages(example_dir)
    if not printed:
        fail(f"no printed(R\"msg(...)msg\") death-test messages in {example_dir}")
    formats = library_formats(source_dirs)
    if not formats:
        fail(f"no format strings found in {source_dirs}")
    from_tests = from_sources = 0
    for message, line in quoted:
        if message in printed:
            from_tests += 1
            continue
        sample = PLACEHOLDER.sub("0", message[len(PREFIX):])
        # Only PostgreSQL's messages (they need a server, so the guide's
        # death tests cannot print them) may be vouched for by a format, and
        # only by one in the PostgreSQL source.
        matches = [(fmt, path) for fmt, path, pattern, literal in formats
                   if message.startswith(POSTGRES_PREFIX) and path.endswith(POSTGRES_SOURCE)
                   and pattern.fullmatch(sample) and literal >= MIN_LITERAL_SHARE * len(sample)]
        if matches:
            from_sources += 1
            continue
        closest = difflib.get_close_matches(message, list(printed), n=1, cutoff=0.6)
        hint = f"; the closest a death test checks is\n    {closest[0]}" if closest else ""
        fail(f"guide.md:{line}: no death test in {example_dir} prints `{message}` (as "
             f"printed(R\"msg(...)msg\")), and no format in {', '.join(source_dirs)} makes it{hint}")
    quoted_set = {m for m, _ in quoted}
    for message, path in sorted(printed.items()):
        if message not in quoted_set:
            fail(f"{path}: the death tests check `{message}`, which guide.md does not quote")
    return from_tests, from_sources


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("guide")
    parser.add_argument("--examples", default="docs/guide")
    parser.add_argument("--sources", nargs="+", default=["src", "include"])
    args = parser.parse_args()
    with open(args.guide, encoding="utf-8") as f:
        guide_text = f.read()
    regions = read_regions(args.examples)
    blocks = check_snippets(guide_text, regions)
    from_tests, from_sources = check_messages(guide_text, args.examples, args.sources)
    if errors:
        for error in errors:
            print("FAIL " + error)
        print(f"guide_check: {len(errors)} problem(s)")
        return 1
    print(f"ok   {blocks} ```cpp blocks, each one of the {len(regions)} regions in {args.examples}")
    print(f"ok   {from_tests} quoted messages printed by death tests, "
          f"{from_sources} made by the library's format strings")
    return 0


if __name__ == "__main__":
    sys.exit(main())
