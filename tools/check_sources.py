#!/usr/bin/env python3
"""check_sources.py: Bazel's and CMake's builds compile the same files.

Compares the source files of every Bazel C++/shell rule under //... (srcs and
hdrs, from `bazel query --output=xml`) with the lists in cmake/sources.cmake
(read by `cmake -P`). Prints each file that is in one build and not in the
other, with the Bazel targets that use it and the CMake list to add it to;
exits 1 if there is any, 0 otherwise. Run from anywhere in the repository:

    tools/check_sources.py            # needs bazel and cmake on PATH

Not compared, on purpose (both builds must agree with this list):
  python/        the Python package: Bazel only (tools/python_test.sh)
"""

import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BAZEL_ONLY_DIRS = ("python/",)
SOURCE_EXTS = (".cc", ".h", ".sh")
QUERY = 'kind("(cc|sh)_(library|binary|test) rule", //...)'

CMAKE_DUMP = """
include("%s/cmake/sources.cmake")
get_cmake_property(vars VARIABLES)
foreach(var IN LISTS vars)
  if(var MATCHES "^ULTRADICT_")
    foreach(file IN LISTS ${var})
      message("${var} ${file}")
    endforeach()
  endif()
endforeach()
"""


def bazel_sources():
    """{path: set of Bazel rule labels} for the repository's own files."""
    out = subprocess.run(
        ["bazel", "query", "--noshow_progress", "--output=xml", QUERY],
        cwd=ROOT, check=True, stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL).stdout
    files = {}
    for rule in ET.fromstring(out).iter("rule"):
        for attr in rule.findall("list"):
            if attr.get("name") not in ("srcs", "hdrs"):
                continue
            for label in attr.iter("label"):
                value = label.get("value")
                if not value.startswith("//"):
                    continue  # Another repository's file.
                pkg, _, name = value[2:].partition(":")
                path = os.path.join(pkg, name) if pkg else name
                if not path.endswith(SOURCE_EXTS):
                    continue
                if not os.path.isfile(os.path.join(ROOT, path)):
                    continue  # A generated file or a rule, not a source.
                files.setdefault(path, set()).add(rule.get("name"))
    return files


def cmake_sources():
    """{path: set of CMake list names} from cmake/sources.cmake."""
    with tempfile.NamedTemporaryFile("w", suffix=".cmake") as script:
        script.write(CMAKE_DUMP % ROOT)
        script.flush()
        out = subprocess.run(["cmake", "-P", script.name], check=True,
                             stderr=subprocess.PIPE, text=True).stderr
    files = {}
    for line in out.splitlines():
        var, _, path = line.partition(" ")
        if path:
            files.setdefault(path, set()).add(var)
    return files


def main():
    bazel = bazel_sources()
    cmake = cmake_sources()
    problems = 0
    for path in sorted(set(bazel) - set(cmake)):
        if path.startswith(BAZEL_ONLY_DIRS):
            continue
        # The CMake lists holding the other files of the same Bazel targets.
        lists = sorted({var for other, rules in bazel.items()
                        if rules & bazel[path] and other in cmake
                        for var in cmake[other]})
        hint = ("add it to %s in cmake/sources.cmake" % " or ".join(lists)
                if lists else "add it to a list in cmake/sources.cmake")
        print("missing from CMake: %s (Bazel: %s); %s"
              % (path, ", ".join(sorted(bazel[path])), hint))
        problems += 1
    for path in sorted(set(cmake) - set(bazel)):
        where = ("no such file" if not os.path.isfile(os.path.join(ROOT, path))
                 else "in no Bazel target's srcs/hdrs")
        print("missing from Bazel: %s (CMake: %s): %s"
              % (path, ", ".join(sorted(cmake[path])), where))
        problems += 1
    for path in sorted(cmake):
        if path.startswith(BAZEL_ONLY_DIRS):
            print("CMake lists a Bazel-only file: %s" % path)
            problems += 1
    if problems:
        print("check_sources: %d file(s) differ between Bazel's build and "
              "cmake/sources.cmake" % problems)
        return 1
    print("check_sources: Bazel and CMake build the same %d files (python/ "
          "is Bazel-only)" % len(cmake))
    return 0


if __name__ == "__main__":
    sys.exit(main())
