"""External repositories for UltraDict (used by //:WORKSPACE and by consumers).

  ultradict_offline_bazel_repos(): repositories Bazel 4.2.3 itself wants
      (rules_cc, rules_java, platforms, remote_coverage_tools), all local so
      builds work without network access.
  ultradict_deps(): the host's system libraries (Debian packages) under the
      canonical repository names (com_google_absl, com_google_googletest,
      zstd, xxhash, lmdb, com_github_google_benchmark, nlohmann_json), and
      Python's headers and pybind11 (local_config_python, pybind11; see python.bzl).

Every repository is only defined if the caller has not already defined one
with the same name; a consumer with real Abseil/GoogleTest sources may also
simply not call ultradict_deps().
"""

load("//bazel:python.bzl", "pybind11_headers", "python_headers")
load("//bazel:system_library.bzl", "system_library")

def _maybe(rule, name, **kwargs):
    if not native.existing_rule(name):
        rule(name = name, **kwargs)

def _in_repo_dir_impl(rctx):
    # Root of the repository holding this .bzl file (ours, or @ultradict when
    # loaded by a consumer); //bazel is a package we own, so it always exists.
    root = rctx.path(Label("//bazel:deps.bzl")).dirname.dirname
    src = root
    for part in rctx.attr.dir.split("/"):
        src = src.get_child(part)
    for child in src.readdir():
        rctx.symlink(child, child.basename)

# Like local_repository, but the directory is relative to *this* repository,
# so it also works when UltraDict is itself an external repository.
_in_repo_dir = repository_rule(
    implementation = _in_repo_dir_impl,
    attrs = {"dir": attr.string(mandatory = True)},
)

def ultradict_offline_bazel_repos():
    """Local repositories that let Bazel 4.2.3 run fully offline."""
    _maybe(
        _in_repo_dir,
        name = "rules_cc",
        dir = "third_party/rules_cc",
    )
    _maybe(
        native.local_repository,
        name = "rules_java",
        path = "/usr/share/bazel/rules/java",
    )
    _maybe(
        native.local_repository,
        name = "platforms",
        path = "/usr/share/bazel/platforms",
    )
    _maybe(
        _in_repo_dir,
        name = "remote_coverage_tools",
        dir = "third_party/remote_coverage_tools",
    )

_ABSL = {
    "//absl/status:status": ["absl_status"],
    "//absl/status:statusor": ["absl_statusor"],
    "//absl/strings:strings": ["absl_strings"],
    "//absl/strings:str_format": ["absl_str_format"],
    "//absl/strings:cord": ["absl_cord"],
    "//absl/container:flat_hash_map": ["absl_flat_hash_map"],
    "//absl/container:flat_hash_set": ["absl_flat_hash_set"],
    "//absl/container:node_hash_map": ["absl_node_hash_map"],
    "//absl/container:node_hash_set": ["absl_node_hash_set"],
    "//absl/container:btree": ["absl_btree"],
    "//absl/container:inlined_vector": ["absl_inlined_vector"],
    "//absl/container:fixed_array": ["absl_fixed_array"],
    "//absl/synchronization:synchronization": ["absl_synchronization"],
    "//absl/time:time": ["absl_time"],
    "//absl/hash:hash": ["absl_hash"],
    "//absl/random:random": ["absl_random_random"],
    "//absl/random:distributions": ["absl_random_distributions"],
    "//absl/types:optional": ["absl_optional"],
    "//absl/types:span": ["absl_span"],
    "//absl/types:variant": ["absl_variant"],
    "//absl/base:base": ["absl_base"],
    "//absl/base:core_headers": [],
    "//absl/cleanup:cleanup": [],
    "//absl/functional:function_ref": [],
    "//absl/functional:bind_front": [],
    "//absl/memory:memory": [],
    "//absl/meta:type_traits": [],
    "//absl/numeric:bits": [],
    "//absl/numeric:int128": ["absl_int128"],
    "//absl/algorithm:container": [],
    "//absl/flags:flag": ["absl_flags"],
    "//absl/flags:parse": ["absl_flags_parse"],
    "//absl/flags:usage": ["absl_flags_usage"],
    "//absl/debugging:failure_signal_handler": ["absl_failure_signal_handler"],
    "//absl/debugging:symbolize": ["absl_symbolize"],
    "//absl/debugging:stacktrace": ["absl_stacktrace"],
}

def ultradict_deps():
    """System libraries as Bazel repositories (headers from /usr/include)."""
    _maybe(
        system_library,
        "com_google_absl",
        targets = _ABSL,
    )
    _maybe(
        system_library,
        "com_google_googletest",
        targets = {
            # gtest includes gmock, as upstream's //:gtest does.
            "//:gtest": ["gmock", "-pthread"],
            "//:gtest_main": ["-lgtest_main", "gmock", "-pthread"],
        },
    )
    _maybe(system_library, "zstd", targets = {"//:zstd": ["libzstd"]})
    _maybe(system_library, "xxhash", targets = {"//:xxhash": ["libxxhash"]})
    _maybe(system_library, "lmdb", targets = {"//:lmdb": ["lmdb", "-pthread"]})
    _maybe(
        system_library,
        "com_github_google_benchmark",
        targets = {
            "//:benchmark": ["benchmark", "-pthread"],
            "//:benchmark_main": ["-lbenchmark_main", "benchmark", "-pthread"],
        },
    )
    # Header-only (nlohmann-json3-dev: /usr/include/nlohmann); the target's
    # name is upstream's, so a consumer may bind its own copy instead.
    _maybe(system_library, "nlohmann_json", targets = {"//:json": []})
    _maybe(python_headers, "local_config_python")
    _maybe(pybind11_headers, "pybind11")
