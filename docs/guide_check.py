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
   one a death test checks whole:
   - one in DIR, written there as printed(R"msg(...)msg") in the same words;
   - or one of the death tests beside the code (--death-tests, the project's
     tests/*_test.cc): an EXPECT_DEATH / ASSERT_DEATH / EXPECT_EXIT /
     ASSERT_EXIT whose pattern matches the whole quoted line, from
     "uncopyable: " to its end ("...\n"), with <thread>, <fd>, <port>, ...
     read as a number. The pattern may be built of literals, of constants
     the same file defines, and of printed(R"msg(...)msg"); a part it cannot
     read (a call such as path_pattern(dir)) stands for any text, but only
     for quoted data and numbers (no word of the message outside quotes), and
     not for more than half the line. So a new kind's row is proved by the
     death test in its own test file;
   - or, for the few that need a PostgreSQL server (`uncopyable: Postgres...`),
     one that a format string in src/postgres.cc prints, most of the message
     being that format's own text.
   Every message the death tests in DIR check must be quoted in the guide.

3. Paths. Every relative link names a file of the project, and every Bazel
   label (`//pkg:name`) a rule or file of that package. A package whose
   BUILD file calls automatic_tests() (tests/defs.bzl) also has the rules it
   makes: `<stem>` for each `<stem>.cc` ending in _test.cc, and
   `<stem>_nocompile_test` for each nocompile/`<stem>`.cc.

4. With --how-to (docs/adding_a_handle.md), a page that walks through real
   files rather than examples:
   - every fenced block is checked: a ```cpp block is a marked region of DIR
     (as above) or an excerpt; an excerpt is a block right under a line
     `<!-- excerpt: PATH -->` and must be in PATH as it is shown (each run of
     lines in order, a line `...` or `// ...` standing for lines left out);
   - every path it names in backticks (a `path/with/slashes`, a
     `file.ext`, from the repository root or include/) exists;
   and, as for the guide, its quoted messages are checked death-test lines.
   Regions of DIR need not all be on such a page.

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


# --- death tests beside the code -----------------------------------------------

DEATH_MACRO = re.compile(r"\b(?:EXPECT|ASSERT)_(?:DEATH|EXIT)(?:_IF_SUPPORTED)?\s*\(")
NUMBER_SAMPLE = "40213"
WILD = object()  # a part of a pattern this script cannot read
MAX_WILD_SHARE = 0.5
QUOTED_DATA = re.compile(r'"(?:[^"\\]|\\.)*"')


def skip_literal(text, i):
    """The index just past the string or char literal at text[i], and its value."""
    if text.startswith('R"', i):
        open_paren = text.index("(", i)
        delimiter = text[i + 2:open_paren]
        end = text.index(")" + delimiter + '"', open_paren)
        return end + len(delimiter) + 2, text[open_paren + 1:end]
    quote, j, chars = text[i], i + 1, []
    while j < len(text) and text[j] != quote:
        if text[j] == "\\" and j + 1 < len(text):
            chars.append({"n": "\n", "t": "\t", "0": "\0"}.get(text[j + 1], text[j + 1]))
            j += 2
        else:
            chars.append(text[j])
            j += 1
    return j + 1, "".join(chars)


def is_literal_start(text, i):
    if text[i] == '"':
        return True
    return text.startswith('R"', i) and not (i and (text[i - 1].isalnum() or text[i - 1] == "_"))


def split_arguments(text, start):
    """The top-level arguments of the call whose '(' is at text[start - 1]."""
    arguments, depth, i, at = [], 0, start, start
    while i < len(text):
        c = text[i]
        if text.startswith("//", i):
            i = text.find("\n", i)
            i = len(text) if i < 0 else i
            continue
        if text.startswith("/*", i):
            i = text.find("*/", i + 2) + 2
            continue
        if is_literal_start(text, i) or c == "'":
            i, _ = skip_literal(text, i)
            continue
        if c in "([{":
            depth += 1
        elif c in ")]}":
            if depth == 0:
                arguments.append(text[at:i])
                return arguments
            depth -= 1
        elif c == "," and depth == 0:
            arguments.append(text[at:i])
            at = i + 1
        i += 1
    return None


def printed_pattern(message):
    """The pattern docs/guide/guide_testing.h's printed() makes of `message`."""
    pattern = "^"
    for part in re.split(r"(<thread>|<fd>|<port>)", message):
        if part in ("<thread>", "<fd>", "<port>"):
            pattern += "[0-9]+"
        else:
            pattern += "".join("\\" + c if c in "\\.^$|()[*+?{" else c for c in part)
    return pattern + "\n$"


def read_expression(text, definitions, depth=0):
    """A death-test pattern expression as parts: regex text, or WILD."""
    text = text.strip()
    if depth > 8 or not text:
        return [WILD]
    terms, level, at, i = [], 0, 0, 0
    while i < len(text):  # split on top-level '+'
        if is_literal_start(text, i) or text[i] == "'":
            i, _ = skip_literal(text, i)
            continue
        if text[i] in "([{":
            level += 1
        elif text[i] in ")]}":
            level -= 1
        elif text[i] == "+" and level == 0:
            terms.append(text[at:i])
            at = i + 1
        i += 1
    terms.append(text[at:])
    parts = []
    for term in terms:
        term = term.strip()
        literal, i = None, 0
        while i < len(term) and is_literal_start(term, i):
            i, value = skip_literal(term, i)
            literal = (literal or "") + value
            while i < len(term) and term[i].isspace():
                i += 1
        if literal is not None and i == len(term):
            parts.append(literal)
            continue
        call = re.fullmatch(r"(?:guide::)?printed\(\s*(R\"msg\(.*\)msg\")\s*\)", term, re.S)
        if call:
            parts.append(printed_pattern(skip_literal(call.group(1), 0)[1]))
            continue
        wrapped = re.fullmatch(r"(?:std::string|absl::string_view|std::string_view)\s*\((.*)\)", term, re.S)
        if wrapped:
            parts += read_expression(wrapped.group(1), definitions, depth + 1)
            continue
        if re.fullmatch(r"[A-Za-z_]\w*", term) and term in definitions:
            parts += read_expression(definitions[term], definitions, depth + 1)
            continue
        parts.append(WILD)
    return parts


DEFINITION = re.compile(
    r"\b(?:static\s+)?(?:const(?:expr)?\s+)?(?:std::string|absl::string_view|std::string_view|"
    r"char|auto)\s+(?:const\s+)?\*?\s*([A-Za-z_]\w*)\s*(?:\[\])?\s*=\s*")


def statement_end(text, i):
    """The index of the ';' that ends the statement text[i:] is in."""
    depth = 0
    while i < len(text):
        if is_literal_start(text, i) or text[i] == "'":
            i, _ = skip_literal(text, i)
            continue
        if text[i] in "([{":
            depth += 1
        elif text[i] in ")]}":
            depth -= 1
        elif text[i] == ";" and depth <= 0:
            return i
        i += 1
    return len(text)


def definitions_before(text, end):
    """Constants the file defines before `end`: name -> the expression's text
    (the nearest definition of each name wins)."""
    found = {}
    for match in DEFINITION.finditer(text, 0, end):
        found[match.group(1)] = text[match.end():statement_end(text, match.end())]
    return found


POSIX_CLASSES = {"[:digit:]": "0-9", "[:alpha:]": "A-Za-z", "[:alnum:]": "A-Za-z0-9",
                 "[:space:]": " \\t\\n\\r\\f\\v", "[:upper:]": "A-Z", "[:lower:]": "a-z",
                 "[:xdigit:]": "0-9A-Fa-f", "[:punct:]": "!-/:-@\\[-`{-~"}


def death_patterns(paths):
    """(compiled regex, whole pattern text, where) for each readable death-test pattern."""
    patterns = []
    for path in paths:
        with open(path, encoding="utf-8") as f:
            text = f.read()
        for match in DEATH_MACRO.finditer(text):
            arguments = split_arguments(text, match.end())
            if not arguments or len(arguments) < 2:
                continue
            parts = read_expression(arguments[-1], definitions_before(text, match.start()))
            regex, wilds = "", 0
            for part in parts:
                if part is WILD:
                    regex += f"(?P<wild{wilds}>[^\n]+?)"
                    wilds += 1
                else:
                    for posix, python in POSIX_CLASSES.items():
                        part = part.replace(posix, python)
                    regex += part
            if parts and parts[0] is WILD:
                continue  # it must say at least how the line starts
            regex = regex[1:] if regex.startswith("^") else regex
            if regex.endswith("$"):
                regex = regex[:-1]
            try:
                compiled = re.compile(regex)
            except re.error:
                continue
            line = text.count("\n", 0, match.start()) + 1
            patterns.append((compiled, f"{path}:{line}"))
    return patterns


def matched_by_death_test(message, patterns):
    """Where a death test checks `message` whole, or None."""
    sample = PLACEHOLDER.sub(NUMBER_SAMPLE, message) + "\n"
    for compiled, where in patterns:
        found = compiled.fullmatch(sample)
        if not found:
            continue
        wilds = [value for name, value in found.groupdict().items()
                 if name.startswith("wild") and value]
        # What the test could not spell out may stand for quoted data and
        # numbers (a temporary path, a pid), never for words of the message.
        if any(re.search(r"[A-Za-z]", QUOTED_DATA.sub("", value)) for value in wilds):
            continue
        if sum(len(value) for value in wilds) <= MAX_WILD_SHARE * len(sample):
            return where
    return None


def check_messages(guide_text, example_dir, source_dirs, death_test_paths=(), name="guide.md",
                   require_all_printed=True):
    quoted = []
    for number, line in enumerate(guide_text.split("\n"), 1):
        quoted += [(m, number) for m in QUOTED_MESSAGE.findall(line)]
    if not quoted:
        fail("guide.md quotes no `uncopyable: ...` message at all")
    printed = printed_messages(example_dir)
    if not printed and require_all_printed:
        fail(f"no printed(R\"msg(...)msg\") death-test messages in {example_dir}")
    formats = library_formats(source_dirs)
    if not formats:
        fail(f"no format strings found in {source_dirs}")
    patterns = death_patterns(death_test_paths)
    if death_test_paths and not patterns:
        fail(f"no death-test patterns read in {len(death_test_paths)} test file(s)")
    from_tests = from_sources = from_beside = 0
    for message, line in quoted:
        if message in printed:
            from_tests += 1
            continue
        if matched_by_death_test(message, patterns):
            from_beside += 1
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
        fail(f"{name}:{line}: no death test in {example_dir} prints `{message}` (as "
             f"printed(R\"msg(...)msg\")), no death test beside the code matches it whole "
             f"(^uncopyable: ...\\n), and no format in {', '.join(source_dirs)} makes it{hint}")
    quoted_set = {m for m, _ in quoted}
    if require_all_printed:
        for message, path in sorted(printed.items()):
            if message not in quoted_set:
                fail(f"{path}: the death tests check `{message}`, which {name} does not quote")
    return from_tests, from_beside, from_sources


# --- how-to pages: excerpts of real files, paths and labels ------------------------

EXCERPT = re.compile(r"^\s*<!--\s*excerpt:\s*(\S+)\s*-->\s*$")
ELISION = re.compile(r"^\s*(?:(?://|#)\s*)?\.\.\.\s*$")
UNCHECKED_LANGUAGES = {"", "text", "sh", "shell", "console"}
LINK = re.compile(r"\]\(([^)\s#]+)(?:#[^)]*)?\)")
TICKED = re.compile(r"`([^`\s]+)`")
PATH_LIKE = re.compile(r"^(?:[\w.-]+/)+[\w.-]*$|^[\w-]+\.(?:h|cc|md|bazel|bzl|py|sh|json)$")
LABEL = re.compile(r"(?<![\w:/])//([\w/.-]*)(?::([\w.+-]+))?")


def dedented_lines(lines):
    return dedent(lines).split("\n") if any(line.strip() for line in lines) else []


def find_run(chunk, lines, start):
    """The first index >= start where `chunk` (dedented) is lines[i:i+len], or -1."""
    for i in range(start, len(lines) - len(chunk) + 1):
        if dedented_lines(lines[i:i + len(chunk)]) == chunk:
            return i
    return -1


def check_excerpt(body, path, where):
    if not os.path.isfile(path):
        fail(f"{where}: the excerpt's file {path} does not exist")
        return
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    chunks, current = [], []
    for line in body.split("\n"):
        if ELISION.match(line):
            chunks.append(current)
            current = []
        else:
            current.append(line)
    chunks.append(current)
    at = 0
    for chunk in chunks:
        chunk = dedented_lines(chunk)
        if not chunk:
            continue
        found = find_run(chunk, lines, at)
        if found < 0:
            closest = difflib.get_close_matches(chunk[0].strip(), [l.strip() for l in lines], n=1)
            hint = f" (closest line there: {closest[0]!r})" if closest else ""
            fail(f"{where}: this excerpt is not in {path} as shown, from the line "
                 f"{chunk[0].strip()!r}{hint}")
            return
        at = found + len(chunk)


def check_how_to_blocks(text, regions, name):
    by_text = {region: region_name for region_name, (region, _) in regions.items()}
    lines = text.split("\n")
    counts = {"excerpts": 0, "regions": 0}
    for language, body, line in read_blocks(text):
        before = line - 2
        while before >= 0 and not lines[before].strip():
            before -= 1
        excerpt = EXCERPT.match(lines[before]) if before >= 0 else None
        if excerpt:
            check_excerpt(body, excerpt.group(1), f"{name}:{line}")
            counts["excerpts"] += 1
        elif language in OTHER_CPP_NAMES:
            fail(f"{name}:{line}: fence C++ as ```cpp, not ```{language}, so that it is checked")
        elif language == "cpp":
            if body in by_text:
                counts["regions"] += 1
            else:
                fail(f"{name}:{line}: this ```cpp block is neither a marked region of the examples "
                     f"nor an excerpt (put <!-- excerpt: PATH --> above it)")
        elif language not in UNCHECKED_LANGUAGES:
            fail(f"{name}:{line}: a ```{language} block must be an excerpt "
                 f"(<!-- excerpt: PATH --> above it)")
    for number, line_text in enumerate(lines, 1):
        if EXCERPT.match(line_text):
            following = number  # the next non-blank line must open a fence
            while following < len(lines) and not lines[following].strip():
                following += 1
            if following >= len(lines) or not FENCE.match(lines[following]):
                fail(f"{name}:{number}: an excerpt mark with no fenced block under it")
    return counts


def package_has(package, target):
    for build in ("BUILD.bazel", "BUILD"):
        path = os.path.join(package, build) if package else build
        if os.path.isfile(path):
            with open(path, encoding="utf-8") as f:
                text = f.read()
            return (target is None or re.search(r'\bname\s*=\s*"' + re.escape(target) + '"', text)
                    or os.path.exists(os.path.join(package, target))
                    or automatic_test_of(package, target, text))
    return False


def automatic_test_of(package, target, build_text):
    """Whether automatic_tests() (tests/defs.bzl) in this BUILD file makes `target`.

    It makes `<stem>` for a `<stem>.cc` ending in _test.cc and
    `<stem>_nocompile_test` for nocompile/`<stem>`.cc, when no rule above the
    call already covers the file. (A rule that does is taken to have that
    name too, as every rule in tests/ has; a differently named one would make
    this answer wrong.)
    """
    if not re.search(r"^automatic_tests\(", build_text, re.M):
        return False
    if target.endswith("_nocompile_test"):
        stem = target[:-len("_nocompile_test")]
        return os.path.isfile(os.path.join(package, "nocompile", stem + ".cc"))
    return target.endswith("_test") and os.path.isfile(os.path.join(package, target + ".cc"))


def check_paths(text, doc_path, name, ticked=True):
    named = 0
    doc_dir = os.path.dirname(doc_path)
    for number, line in enumerate(text.split("\n"), 1):
        for link in LINK.findall(line):
            if re.match(r"^[a-z]+:", link) or "<" in link:
                continue
            named += 1
            if not os.path.exists(os.path.normpath(os.path.join(doc_dir, link))):
                fail(f"{name}:{number}: the link {link} names nothing (from {doc_dir or '.'})")
        for token in TICKED.findall(line) if ticked else []:
            if token.startswith("//") or "<" in token or "*" in token or not PATH_LIKE.match(token):
                continue
            named += 1
            path = token[2:] if token.startswith("./") else token
            if not (os.path.exists(path) or os.path.exists(os.path.join("include", path))):
                fail(f"{name}:{number}: `{token}` names no file or folder of the project")
        for package, target in LABEL.findall(line):
            if "<" in line[line.find("//" + package):][:len(package) + 3]:
                continue
            named += 1
            if package.endswith("...") :
                if not os.path.isdir(package[:-3].rstrip("/") or "."):
                    fail(f"{name}:{number}: //{package} names no folder")
            elif not package_has(package, target or None):
                fail(f"{name}:{number}: //{package}{':' + target if target else ''} "
                     f"names no rule or file of the project")
    return named


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("guide")
    parser.add_argument("--examples", default="docs/guide")
    parser.add_argument("--sources", nargs="+", default=["src", "include"])
    parser.add_argument("--death-tests", nargs="*", default=None,
                        help="test sources whose death tests may vouch for a quoted message "
                             "(default: tests/*_test.cc)")
    parser.add_argument("--how-to", action="store_true",
                        help="check a how-to page (excerpts, paths, labels) rather than the guide")
    parser.add_argument("--as", dest="as_path", default=None,
                        help="where the page is in the project, for its relative links "
                             "(default: where it is)")
    parser.add_argument("--explain", action="store_true",
                        help="print, for each quoted message, what vouches for it")
    args = parser.parse_args()
    if args.death_tests is None:
        args.death_tests = sorted(glob.glob(os.path.join("tests", "*_test.cc")))
    name = os.path.basename(args.guide)
    with open(args.guide, encoding="utf-8") as f:
        guide_text = f.read()
    regions = read_regions(args.examples)
    if args.how_to:
        counts = check_how_to_blocks(guide_text, regions, name)
    else:
        blocks = check_snippets(guide_text, regions)
    # The guide names other projects' files in backticks; its links and
    # labels are the project's.
    named = check_paths(guide_text, args.as_path or args.guide, name, ticked=args.how_to)
    from_tests, from_beside, from_sources = check_messages(
        guide_text, args.examples, args.sources, args.death_tests, name,
        require_all_printed=not args.how_to)
    if args.explain:
        explain(guide_text, args.examples, args.death_tests)
    if errors:
        for error in errors:
            print("FAIL " + error)
        print(f"guide_check: {len(errors)} problem(s)")
        return 1
    if args.how_to:
        print(f"ok   {counts['excerpts']} excerpts of the project's files as they are, "
              f"{counts['regions']} ```cpp blocks from {args.examples}")
    else:
        print(f"ok   {blocks} ```cpp blocks, each one of the {len(regions)} regions in {args.examples}")
    print(f"ok   {named} paths and labels, each naming a real file or rule")
    print(f"ok   {from_tests} quoted messages printed by the death tests in {args.examples}, "
          f"{from_beside} matched whole by death tests beside the code, "
          f"{from_sources} made by the library's format strings")
    return 0


def explain(guide_text, example_dir, death_test_paths):
    printed = printed_messages(example_dir)
    patterns = death_patterns(death_test_paths)
    for message in sorted(set(QUOTED_MESSAGE.findall(guide_text))):
        beside = matched_by_death_test(message, patterns)
        print(f"{'printed' if message in printed else '-':8} {beside or '-':40} {message}")


if __name__ == "__main__":
    sys.exit(main())
