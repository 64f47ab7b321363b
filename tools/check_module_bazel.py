#!/usr/bin/env python3
"""Checks MODULE.bazel against the build it describes, offline.

    check_module_bazel.py MODULE.bazel README.md repositories.bzl PUBLIC_DEPS [--mutations]

No Bazel that can load MODULE.bazel runs here (Bazel 4.2.3 has no Bzlmod), so
this checks what can be checked without one:

  - MODULE.bazel parses (Starlark's syntax is Python's, for what it uses) and
    calls only module(), bazel_dep(), use_repo_rule() and the rules that
    use_repo_rule() returned, with literal arguments;
  - every external target a public library uses (PUBLIC_DEPS, the output of
    the genquery //:public_external_deps) is in a repository MODULE.bazel
    provides under that name; in a repository of aliases, the target is one
    of its aliases, and each alias points into a bazel_dep;
  - every repository the WORKSPACE build declares (repositories.bzl's
    _SYSTEM_LIBRARIES and _STAND_INS, but the stand-ins only Bazel 4 asks
    for) is provided by MODULE.bazel and the other way round, so tests and
    benchmarks (googletest, google_benchmark, the peers) are covered too;
  - the README's table of modules (under the heading that names Bzlmod) has
    exactly MODULE.bazel's bazel_deps and versions, and the README's
    bazel_dep(name = "uncopyable", ...) line has the module's version.

With --mutations it also proves it can fail: MODULE.bazel without each
bazel_dep and each repository rule in turn, and the README with each
version changed, must each be refused.
"""

import ast
import re
import sys

# Repositories only Bazel 4.2.3's WORKSPACE build asks for; Bzlmod has its own.
BAZEL4_ONLY = {"rules_java", "remote_coverage_tools"}


class Refused(Exception):
    pass


def literal(node, where):
    try:
        return ast.literal_eval(node)
    except ValueError:
        raise Refused("%s: only literal arguments are understood here, not %s" %
                      (where, ast.dump(node)))


def parse_module(text):
    """Returns (module kwargs, {dep name: kwargs}, {repo name: (rule, kwargs)})."""
    try:
        tree = ast.parse(text, "MODULE.bazel")
    except SyntaxError as e:
        raise Refused("MODULE.bazel does not parse: line %s: %s" % (e.lineno, e.msg))
    module = None
    deps = {}
    rules = {}  # variable -> rule name, from use_repo_rule
    repos = {}
    for statement in tree.body:
        if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant):
            continue  # the docstring
        if (isinstance(statement, ast.Assign) and len(statement.targets) == 1 and
                isinstance(statement.targets[0], ast.Name) and
                isinstance(statement.value, ast.Call) and
                getattr(statement.value.func, "id", None) == "use_repo_rule"):
            args = [literal(a, "use_repo_rule") for a in statement.value.args]
            if len(args) != 2:
                raise Refused("MODULE.bazel line %d: use_repo_rule wants a file and a rule" %
                              statement.lineno)
            rules[statement.targets[0].id] = args[1]
            continue
        if not (isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call) and
                isinstance(statement.value.func, ast.Name)):
            raise Refused("MODULE.bazel line %d: not a call this check understands" %
                          statement.lineno)
        call = statement.value
        function = call.func.id
        where = "MODULE.bazel line %d: %s()" % (statement.lineno, function)
        if call.args:
            raise Refused("%s: arguments by keyword only, please" % where)
        kwargs = {k.arg: literal(k.value, where) for k in call.keywords}
        if function == "module":
            if module is not None:
                raise Refused("%s: a second module()" % where)
            module = kwargs
        elif function == "bazel_dep":
            name = kwargs.get("name")
            if not name or not kwargs.get("version"):
                raise Refused("%s: a bazel_dep needs a name and a version" % where)
            if name in deps:
                raise Refused("%s: %s twice" % (where, name))
            deps[name] = kwargs
        elif function in rules:
            name = kwargs.get("name")
            if not name:
                raise Refused("%s: no name" % where)
            repos[name] = (rules[function], kwargs)
        else:
            raise Refused("%s: not a call this check understands" % where)
    if module is None:
        raise Refused("MODULE.bazel has no module()")
    return module, deps, repos


def provided_repositories(deps, repos):
    """{repository name as the BUILD files write it: where it comes from}."""
    provided = {}
    for name, kwargs in deps.items():
        provided[kwargs.get("repo_name", name)] = "bazel_dep %s" % name
    for name, (rule, _) in repos.items():
        if name in provided:
            raise Refused("MODULE.bazel: @%s is both %s and a %s" % (name, provided[name], rule))
        provided[name] = rule
    return provided


def check_aliases(deps, repos):
    dep_repos = {kwargs.get("repo_name", name) for name, kwargs in deps.items()}
    for name, (rule, kwargs) in repos.items():
        if rule != "alias_repository":
            continue
        for alias, actual in sorted(kwargs.get("aliases", {}).items()):
            m = re.match(r"^@([^/@]+)//", actual)
            if not m or m.group(1) not in dep_repos:
                raise Refused("MODULE.bazel: @%s//:%s stands for %s, which is in no bazel_dep" %
                              (name, alias, actual))


def check_public_deps(labels, deps, repos, provided):
    for label in labels:
        m = re.match(r"^@@?([^/]*)//([^:]*):(.+)$", label)
        if not m:
            raise Refused("%s: not an external label" % label)
        repo, package, target = m.groups()
        if label.startswith("@@"):
            # A canonical name (the query ran under Bzlmod): the module's
            # name comes before the first + or ~.
            module = re.split(r"[+~]", repo)[0]
            if module in deps or repo.rstrip("+~") in provided:
                continue
            raise Refused("%s, used by a public target, is in no bazel_dep of MODULE.bazel" % label)
        if repo not in provided:
            raise Refused("@%s (%s, used by a public target) is not provided by MODULE.bazel: "
                          "add a bazel_dep with repo_name = \"%s\" or an alias" % (repo, label, repo))
        if repo in repos and repos[repo][0] == "alias_repository":
            aliases = repos[repo][1].get("aliases", {})
            if package or target not in aliases:
                raise Refused("%s, used by a public target, is not one of the aliases of @%s in "
                              "MODULE.bazel (%s)" % (label, repo, ", ".join(sorted(aliases))))


def workspace_repositories(text):
    """The repository names repositories.bzl declares: _SYSTEM_LIBRARIES and _STAND_INS."""
    names = set()
    for statement in ast.parse(text, "repositories.bzl").body:
        if (isinstance(statement, ast.Assign) and len(statement.targets) == 1 and
                getattr(statement.targets[0], "id", None) in ("_SYSTEM_LIBRARIES", "_STAND_INS")):
            if not isinstance(statement.value, ast.Dict):
                raise Refused("repositories.bzl: %s is not a dict" % statement.targets[0].id)
            names |= {literal(k, "repositories.bzl") for k in statement.value.keys}
    if not names:
        raise Refused("repositories.bzl: no _SYSTEM_LIBRARIES or _STAND_INS found")
    return names


def alias_targets(repos):
    """The repositories that only aliases point into (@boost.json for @boost//:json)."""
    names = set()
    for rule, kwargs in repos.values():
        if rule == "alias_repository":
            names |= {re.sub(r"^@([^/@]+)//.*$", r"\1", a) for a in kwargs.get("aliases", {}).values()}
    return names


def check_workspace(workspace, provided, behind_aliases):
    for name in sorted(workspace - BAZEL4_ONLY):
        if name not in provided:
            raise Refused("@%s is declared by repositories.bzl (the WORKSPACE build) but not "
                          "provided by MODULE.bazel" % name)
    for name in sorted(set(provided) - workspace - behind_aliases):
        raise Refused("MODULE.bazel provides @%s (%s), which repositories.bzl does not declare: "
                      "the two builds must name the same repositories" % (name, provided[name]))


def readme_modules(readme):
    """{module: version} from the table under the first ## heading that names Bzlmod."""
    section = re.search(r"^#{2,6} [^\n]*Bzlmod[^\n]*\n(.*?)(?=^#{2,6} |\Z)", readme, re.M | re.S)
    if not section:
        raise Refused("README.md has no heading that names Bzlmod")
    table = {}
    for line in section.group(1).splitlines():
        m = re.match(r"^\|\s*`([^`]+)`\s*\|\s*`([^`]+)`\s*\|", line)
        if m:
            if m.group(1) in table:
                raise Refused("README.md: %s twice in the table of modules" % m.group(1))
            table[m.group(1)] = m.group(2)
    if not table:
        raise Refused("README.md: no table of modules (| `module` | `version` | ...) under "
                      "the Bzlmod heading")
    own = re.search(r'bazel_dep\(name = "uncopyable", version = "([^"]+)"\)', section.group(1))
    return table, own.group(1) if own else None


def check_readme(readme, module, deps):
    table, own_version = readme_modules(readme)
    for name, kwargs in sorted(deps.items()):
        if name not in table:
            raise Refused("README.md: bazel_dep %s %s of MODULE.bazel is not in its table" %
                          (name, kwargs["version"]))
        if table[name] != kwargs["version"]:
            raise Refused("README.md says %s %s, MODULE.bazel %s" %
                          (name, table[name], kwargs["version"]))
    for name in sorted(set(table) - set(deps)):
        raise Refused("README.md lists %s %s, which MODULE.bazel has no bazel_dep on" %
                      (name, table[name]))
    if own_version != module.get("version"):
        raise Refused('README.md: bazel_dep(name = "uncopyable", version = "%s") but '
                      "MODULE.bazel's module() has version %s" % (own_version, module.get("version")))
    if module.get("name") != "uncopyable":
        raise Refused("MODULE.bazel: module(name = %r), not \"uncopyable\"" % module.get("name"))


def check(module_text, readme, repositories, public_labels):
    module, deps, repos = parse_module(module_text)
    provided = provided_repositories(deps, repos)
    check_aliases(deps, repos)
    check_public_deps(public_labels, deps, repos, provided)
    check_workspace(workspace_repositories(repositories), provided, alias_targets(repos))
    check_readme(readme, module, deps)
    return module, deps, repos


def calls(text, function_names):
    """(start, end, text) of each top-level call statement to one of function_names."""
    tree = ast.parse(text)
    lines = text.splitlines(keepends=True)
    found = []
    for statement in tree.body:
        if (isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call) and
                getattr(statement.value.func, "id", None) in function_names):
            start = sum(len(l) for l in lines[:statement.lineno - 1])
            end = sum(len(l) for l in lines[:statement.end_lineno])
            found.append((start, end, text[start:end]))
    return found


def mutations(module_text, readme, repositories, public_labels, deps, repos):
    """Each way of breaking the files must be refused; returns the failures to refuse."""
    rule_variables = set(re.findall(r"^(\w+) = use_repo_rule\(", module_text, re.M))
    broken = []
    for start, end, text in calls(module_text, {"bazel_dep"} | rule_variables):
        what = text.split("\n")[0].strip()
        broken.append(("MODULE.bazel without %s" % what,
                       module_text[:start] + module_text[end:], readme))
    for name, kwargs in sorted(deps.items()):
        row = "`%s` | `%s`" % (name, kwargs["version"])
        if row in readme:
            broken.append(("README.md with %s at another version" % name, module_text,
                           readme.replace(row, "`%s` | `0.0.0`" % name)))
    not_refused = []
    for what, module_variant, readme_variant in broken:
        try:
            check(module_variant, readme_variant, repositories, public_labels)
            not_refused.append(what)
        except Refused as e:
            print("ok   refused %s: %s" % (what, e))
    return len(broken), not_refused


def main(argv):
    if len(argv) not in (5, 6) or (len(argv) == 6 and argv[5] != "--mutations"):
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    module_text, readme, repositories, public = (open(p, encoding="utf-8").read() for p in argv[1:5])
    public_labels = [l.strip() for l in public.splitlines() if l.strip()]
    if not public_labels:
        print("check_module_bazel: %s lists no external target" % argv[4], file=sys.stderr)
        return 1
    try:
        module, deps, repos = check(module_text, readme, repositories, public_labels)
    except Refused as e:
        print("check_module_bazel: %s" % e, file=sys.stderr)
        return 1
    print("ok   MODULE.bazel: module %s %s, %d bazel_deps, %d repositories of its own; "
          "%d external targets of the public libraries provided" %
          (module["name"], module["version"], len(deps), len(repos), len(public_labels)))
    if len(argv) == 6:
        count, not_refused = mutations(module_text, readme, repositories, public_labels, deps, repos)
        for what in not_refused:
            print("check_module_bazel: %s was not refused" % what, file=sys.stderr)
        if not_refused or count < len(deps) + len(repos):
            return 1
        print("ok   all %d broken variants refused" % count)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
