#!/usr/bin/env bash
# import_test.sh: Debian's python3 imports the package built by Bazel and
# round-trips a few entries through a fresh dictionary (the full suite is
# python/tests, run by tools/python_test.sh).
set -euo pipefail
pkg_dir=$(dirname "$(readlink -f python/ultradict/__init__.py)")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/ultradict"
cp "$pkg_dir"/*.py "$tmp/ultradict/"
cp python/ultradict/_ultradict.so "$tmp/ultradict/"
PYTHONPATH=$tmp /usr/bin/python3 - <<'PY'
import os
from ultradict import UltraDict
with UltraDict({1: "one"}, k=[2]) as d:
    d[(3, 4)] = {"x": 1.5}
    assert d == {1: "one", "k": [2], (3, 4): {"x": 1.5}}, repr(d)
    name = d.name
assert not any(f.startswith("ud." + name + ".") for f in os.listdir("/dev/shm"))
print("import_test: OK")
PY
