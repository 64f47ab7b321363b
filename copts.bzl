"""Compiler flags for uncopyable's own code (never for the system libraries),
and the rule every library of the project is declared with."""

load("@rules_cc//cc:cc_library.bzl", "cc_library")

# Warnings are errors in the project's own builds (its .bazelrc sets
# --define=uncopyable_werror=true), never in a consumer's build of
# @uncopyable//...: a newer compiler's new warning must not break a user.
# System headers are included with -isystem by the toolchain, so their
# warnings stay silent.
UNCOPYABLE_COPTS = [
    "-Wall",
    "-Wextra",
    "-Wshadow",
    "-Wnon-virtual-dtor",
    "-Woverloaded-virtual",
    "-Wcast-align",
    "-Wformat=2",
    "-Wimplicit-fallthrough",
    "-Wmissing-declarations",
] + select({
    str(Label("//:werror")): ["-Werror"],
    "//conditions:default": [],
})

# The tag that puts a library in the umbrella //:uncopyable (see
# uncopyable_umbrella below); set it with `umbrella = True`.
UMBRELLA_TAG = "uncopyable_umbrella"

def uncopyable_library(name, visibility = ["//visibility:public"], umbrella = False, **attrs):
    """A cc_library of uncopyable: its warnings, its include root, public by default.

    `umbrella = True` puts it in //:uncopyable ("everything"): a kind's one
    rule says so itself, and nothing else lists it.
    """
    if umbrella:
        attrs["tags"] = attrs.get("tags", []) + [UMBRELLA_TAG]
    cc_library(
        name = name,
        copts = UNCOPYABLE_COPTS,
        includes = ["include"],
        visibility = visibility,
        **attrs
    )

def uncopyable_umbrella(name):
    """The library that depends on every uncopyable_library with `umbrella = True`.

    It sees only the rules declared before it (native.existing_rules()), so
    it is called last in its BUILD file. The members must be public and not
    testonly: the umbrella is what a user depends on.

    Args:
      name: the umbrella library's name.
    """
    members = []
    for rule_name, rule in native.existing_rules().items():
        if UMBRELLA_TAG not in rule.get("tags", []):
            continue
        if rule.get("testonly"):
            fail("%s: //:%s is testonly and cannot be part of everything" % (name, rule_name))
        if "//visibility:public" not in [str(v) for v in rule.get("visibility", [])]:
            fail("%s: //:%s is not public and cannot be part of everything" % (name, rule_name))
        members.append(":" + rule_name)
    if not members:
        fail("%s: no uncopyable_library with umbrella = True is declared before it" % name)
    uncopyable_library(
        name = name,
        deps = sorted(members),
    )

def uncopyable_public_external_deps(name):
    """A genquery: every target outside the project the public libraries use.

    It lists the external rules that the project's own targets in the deps
    of every public cc_library declared before it name directly (called last in its BUILD file, like the umbrella),
    for //tools:module_bazel_test's check that MODULE.bazel provides each.

    Args:
      name: the genquery's name.
    """
    public = []
    for rule_name, rule in native.existing_rules().items():
        if rule["kind"] != "cc_library":
            continue
        if "//visibility:public" in [str(v) for v in rule.get("visibility", [])]:
            public.append("//%s:%s" % (native.package_name(), rule_name))
    if not public:
        fail("%s: no public cc_library is declared before it" % name)
    public = sorted(public)
    native.genquery(
        name = name,
        testonly = True,
        # The external rules that a target of the project in their closure
        # names itself (not what those use in turn).
        expression = ("let own = filter('^//', deps(set(%s))) in " % " ".join(public) +
                      "kind(rule, filter('^@', deps($own, 1)))"),
        opts = ["--noimplicit_deps"],
        scope = public,
        visibility = ["//tools:__pkg__"],
    )
