"""Everything uncopyable needs from outside, declared without a single download.

A consumer's WORKSPACE calls:

    load("@uncopyable//:repositories.bzl", "uncopyable_dependencies")
    uncopyable_dependencies()

Each repository below is declared only if the caller has not declared one of
the same name first, so a project that builds Abseil or GoogleTest from source
keeps its own and uncopyable uses it under the same labels:

    @com_google_absl//absl/status:statusor, //absl/strings, ...
    @com_google_googletest//:gtest, :gtest_main
    @com_github_google_benchmark//:benchmark, :benchmark_main
    @boost//:json, :url, :describe, :asio          (the rules_boost names)
    @org_sqlite//:sqlite3, @postgresql//:libpq, @sqlitecpp//:sqlitecpp,
    @libpqxx//:pqxx, @soci//:soci_core, :soci_postgresql

What is declared here reads the Debian packages that ./bazelw installs. Link
lines come from each package's pkg-config file; the few libraries that ship
none (Boost, benchmark_main, SQLiteCpp, SOCI) are named after the CMake
targets their packages (or, for SOCI, its upstream build) declare, and the
repository checks that the library file is there.

Bazel 4.2.3 would also download @rules_cc, @rules_java and
@remote_coverage_tools for any C++ test; offline stand-ins from third_party/
take their place. uncopyable's own BUILD files load cc_library, cc_binary,
cc_test from @rules_cc//cc:<rule>.bzl and sh_test, sh_binary from
@rules_shell//shell:<rule>.bzl (Bazel 9 has no native ones); the stand-ins
of @rules_cc and @rules_shell provide those files too. A caller with real
rules_cc (0.0.10 or later, which have the per-rule files) and rules_shell
declared first keeps them.
"""

# ---------------------------------------------------------------------------
# Stand-ins for the repositories Bazel itself would fetch.

def _stand_in_repository_impl(rctx):
    for label, dest in rctx.attr.files.items():
        rctx.symlink(rctx.path(label), dest)
    rctx.file("WORKSPACE", 'workspace(name = "%s")\n' % rctx.name)

_stand_in_repository = repository_rule(
    implementation = _stand_in_repository_impl,
    attrs = {
        # source file -> its path inside the new repository
        "files": attr.label_keyed_string_dict(allow_files = True),
    },
    doc = "A repository made of files of this one: an offline stand-in.",
)

_STAND_INS = {
    "rules_cc": {
        "//third_party/rules_cc:BUILD.stub": "cc/BUILD",
        "//third_party/rules_cc:cc_binary.bzl": "cc/cc_binary.bzl",
        "//third_party/rules_cc:cc_library.bzl": "cc/cc_library.bzl",
        "//third_party/rules_cc:cc_test.bzl": "cc/cc_test.bzl",
        "//third_party/rules_cc:defs.bzl": "cc/defs.bzl",
        "//third_party/rules_cc:root.BUILD": "BUILD",
    },
    "rules_shell": {
        "//third_party/rules_shell:BUILD.stub": "shell/BUILD",
        "//third_party/rules_shell:root.BUILD": "BUILD",
        "//third_party/rules_shell:sh_binary.bzl": "shell/sh_binary.bzl",
        "//third_party/rules_shell:sh_library.bzl": "shell/sh_library.bzl",
        "//third_party/rules_shell:sh_test.bzl": "shell/sh_test.bzl",
    },
    "rules_java": {
        "//third_party/rules_java:BUILD.stub": "java/BUILD",
        "//third_party/rules_java:defs.bzl": "java/defs.bzl",
        "//third_party/rules_java:root.BUILD": "BUILD",
    },
    "remote_coverage_tools": {
        "//third_party/remote_coverage_tools:BUILD.stub": "BUILD",
        "//third_party/remote_coverage_tools:coverage_unavailable.sh": "coverage_unavailable.sh",
    },
}

# ---------------------------------------------------------------------------
# System libraries under the labels of their upstream projects.

def _fail(rctx, what):
    fail("\n@%s: %s\nInstall the Debian package %s (./bazelw does this for you)." %
         (rctx.name, what, rctx.attr.debian_package))

def _run(rctx, argv):
    result = rctx.execute(argv)
    if result.return_code != 0:
        _fail(rctx, "`%s` failed: %s" % (" ".join(argv), result.stderr.strip()))
    return [word for word in result.stdout.replace("\n", " ").split(" ") if word]

def _find_library(rctx, lib):
    for d in rctx.attr.library_dirs:
        for ext in (".so", ".a"):
            if rctx.path("%s/lib%s%s" % (d, lib, ext)).exists:
                return
    _fail(rctx, "lib%s not found in %s" % (lib, ", ".join(rctx.attr.library_dirs)))

def _check_version(rctx):
    header, macro, minimum = rctx.attr.min_version
    path = rctx.path(header)
    if not path.exists:
        _fail(rctx, "%s not found" % header)
    for line in rctx.read(path).splitlines():
        words = [word for word in line.replace("\t", " ").split(" ") if word]
        if len(words) == 3 and words[0] == "#define" and words[1] == macro:
            if int(words[2]) < int(minimum):
                _fail(rctx, "%s is %s in %s; uncopyable needs at least %s" %
                            (macro, words[2], header, minimum))
            return
    _fail(rctx, "%s does not define %s" % (header, macro))

def _library(rctx, package, name, spec, deps):
    """Returns the cc_library text for one target; spec is 'pkg-config M...', 'lib L...' or 'headers'."""
    kind = spec.split(" ")[0]
    args = spec.split(" ")[1:]
    defines, linkopts, includes, hdrs = [], [], [], []
    if kind == "pkg-config":
        for flag in _run(rctx, ["pkg-config", "--cflags"] + args):
            if flag.startswith("-D"):
                defines.append(flag[2:])
            elif flag.startswith("-I"):
                # Headers outside the default search path are linked into the
                # package, so Bazel knows them and adds the -I itself.
                local = "_include_%s_%d" % (name, len(includes))
                rctx.symlink(flag[2:], "%s/%s" % (package, local) if package else local)
                includes.append(local)
                hdrs.append('glob(["%s/**"])' % local)
            elif flag == "-pthread":
                linkopts.append(flag)
            else:
                _fail(rctx, "unexpected compile flag %s from pkg-config %s" % (flag, " ".join(args)))
        linkopts += _run(rctx, ["pkg-config", "--libs"] + args)
    elif kind == "lib":
        for lib in args:
            _find_library(rctx, lib)
            linkopts.append("-l" + lib)
    elif kind == "headers":
        linkopts += args
    else:
        fail("bad library spec %r for %s:%s" % (spec, package, name))
    return """
cc_library(
    name = {name},
    hdrs = {hdrs},
    defines = {defines},
    includes = {includes},
    linkopts = {linkopts},
    deps = {deps},
)
""".format(
        name = repr(name),
        hdrs = " + ".join(hdrs) if hdrs else "[]",
        defines = repr(defines),
        includes = repr(includes),
        linkopts = repr(linkopts),
        deps = repr(deps),
    )

def _system_library_repository_impl(rctx):
    if rctx.attr.min_version:
        _check_version(rctx)
    packages = {}
    for label, spec in rctx.attr.targets.items():
        if ":" in label:
            package, name = label.split(":")
        else:
            package, name = label, label.split("/")[-1]
        text = _library(rctx, package, name, spec, rctx.attr.deps.get(label, []))
        packages[package] = packages.get(package, "") + text
    for package, text in packages.items():
        header = ("# Generated by uncopyable's repositories.bzl from the system's " +
                  "%s.\npackage(default_visibility = [\"//visibility:public\"])\n") % rctx.attr.debian_package
        rctx.file(package + "/BUILD.bazel" if package else "BUILD.bazel", header + text)
    rctx.file("WORKSPACE", 'workspace(name = "%s")\n' % rctx.name)

system_library_repository = repository_rule(
    implementation = _system_library_repository_impl,
    attrs = {
        # "package:target" (or "package" for package:basename) -> how to link
        "targets": attr.string_dict(mandatory = True),
        # "package:target" -> labels it depends on
        "deps": attr.string_list_dict(),
        "debian_package": attr.string(mandatory = True),
        # [header, macro, minimum]: fail early on a too-old installed version
        "min_version": attr.string_list(),
        "library_dirs": attr.string_list(default = ["/usr/lib/x86_64-linux-gnu", "/usr/lib"]),
    },
    environ = ["PKG_CONFIG_PATH"],
    local = True,
    doc = "Exposes installed system libraries as cc_library targets.",
)

def _absl(names, renamed):
    # Abseil's pkg-config modules are absl_<target name>, but for the renamed.
    targets = {label: "pkg-config absl_" + label.split(":")[-1].split("/")[-1] for label in names}
    for label, module in renamed.items():
        targets[label] = "pkg-config " + module
    return targets

_SYSTEM_LIBRARIES = {
    "com_google_absl": dict(
        debian_package = "libabsl-dev",
        targets = _absl([
            "absl/algorithm:container",
            "absl/base",
            "absl/base:core_headers",
            "absl/cleanup",
            "absl/container:btree",
            "absl/container:fixed_array",
            "absl/container:flat_hash_map",
            "absl/container:flat_hash_set",
            "absl/container:inlined_vector",
            "absl/container:node_hash_map",
            "absl/debugging:failure_signal_handler",
            "absl/debugging:stacktrace",
            "absl/debugging:symbolize",
            "absl/flags:flag",
            "absl/flags:parse",
            "absl/functional:any_invocable",
            "absl/functional:bind_front",
            "absl/functional:function_ref",
            "absl/hash",
            "absl/hash:hash_testing",
            "absl/memory",
            "absl/meta:type_traits",
            "absl/numeric:bits",
            "absl/numeric:int128",
            "absl/random",
            "absl/status",
            "absl/status:statusor",
            "absl/strings",
            "absl/strings:cord",
            "absl/strings:str_format",
            "absl/synchronization",
            "absl/time",
            "absl/types:optional",
            "absl/types:span",
            "absl/types:variant",
            "absl/utility",
        ], renamed = {
            "absl/algorithm:container": "absl_algorithm_container",
            "absl/flags:flag": "absl_flags",
            "absl/flags:parse": "absl_flags_parse",
            "absl/hash:hash_testing": "absl_hash absl_str_format",
            "absl/random": "absl_random_random",
        }),
    ),
    "com_google_googletest": dict(
        debian_package = "libgtest-dev and libgmock-dev",
        # Upstream's :gtest holds GoogleMock as well.
        targets = {
            ":gtest": "pkg-config gmock gtest",
            ":gtest_main": "pkg-config gtest_main",
        },
        deps = {":gtest_main": [":gtest"]},
    ),
    "com_github_google_benchmark": dict(
        debian_package = "libbenchmark-dev",
        targets = {
            ":benchmark": "pkg-config benchmark",
            ":benchmark_main": "lib benchmark_main",
        },
        deps = {":benchmark_main": [":benchmark"]},
    ),
    "boost": dict(
        debian_package = "libboost1.81-dev, libboost-json1.81-dev and libboost-url1.81-dev",
        min_version = ["/usr/include/boost/version.hpp", "BOOST_VERSION", "108100"],
        targets = {
            ":asio": "headers -pthread",
            ":describe": "headers",
            ":json": "lib boost_json",
            ":mp11": "headers",
            ":pfr": "headers",
            ":system": "headers",
            ":url": "lib boost_url",
        },
        deps = {
            ":asio": [":system"],
            ":describe": [":mp11"],
            ":json": [":system"],
            ":url": [":system"],
        },
    ),
    "org_sqlite": dict(
        debian_package = "libsqlite3-dev",
        targets = {":sqlite3": "pkg-config sqlite3"},
    ),
    "postgresql": dict(
        debian_package = "libpq-dev",
        targets = {":libpq": "pkg-config libpq"},
    ),
    "sqlitecpp": dict(
        debian_package = "libsqlitecpp-dev",
        targets = {":sqlitecpp": "lib SQLiteCpp"},
        deps = {":sqlitecpp": ["@org_sqlite//:sqlite3"]},
    ),
    # SOCI 4.0: the core and the PostgreSQL backend, for the pool benchmark's
    # soci::connection_pool. Debian ships no pkg-config file for SOCI; the
    # backend's header includes libpq-fe.h.
    "soci": dict(
        debian_package = "libsoci-dev",
        targets = {
            ":soci_core": "lib soci_core",
            ":soci_postgresql": "lib soci_postgresql",
        },
        deps = {":soci_postgresql": [":soci_core", "@postgresql//:libpq"]},
    ),
    "libpqxx": dict(
        debian_package = "libpqxx-dev",
        targets = {":pqxx": "pkg-config libpqxx"},
        deps = {":pqxx": ["@postgresql//:libpq"]},
    ),
}

def uncopyable_dependencies():
    """Declares every repository uncopyable needs that the caller has not."""
    for name, files in _STAND_INS.items():
        if not native.existing_rule(name):
            _stand_in_repository(
                name = name,
                files = {Label(src): dest for src, dest in files.items()},
            )
    for name, attrs in _SYSTEM_LIBRARIES.items():
        if not native.existing_rule(name):
            system_library_repository(name = name, **attrs)
