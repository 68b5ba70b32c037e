"""benchmarks/python_bench.py runs (a smoke run with small sizes, no
timing): every benchmark line and ratio is printed for both engines, and
the original's column says why it was skipped."""

import os
import re
import subprocess
import sys

import pytest

BENCH = os.path.join(os.path.dirname(__file__), "..", "..", "benchmarks",
                     "python_bench.py")
NAMES = ["set_str", "get_str", "set_int", "get_int", "set_tuple",
         "get_tuple"]


@pytest.mark.skipif("asan" in os.environ.get("LD_PRELOAD", ""),
                    reason="under ASan it takes 16 s (spawned attaches) and "
                    "checks no code the other tests do not")
def test_python_bench_prints_every_line():
    out = subprocess.run(
        [sys.executable, BENCH, "--num", "2000", "--attach_num", "2000",
         "--passes", "1"], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].startswith("python_bench: Python ")
    for engine in ("dict", "ultradict"):
        for name in NAMES:
            pattern = rf"{engine} +{name} +: +[\d.]+ ns/op \(cpu [\d.]+ ns/op\)"
            assert any(re.match(pattern, l) for l in lines), (engine, name)
    for name in NAMES:
        assert any(re.match(rf"ratio +{name} +: ultradict/dict +[\d.]+x", l)
                   for l in lines), name
    for name in ("locked_inc", "in_tuple", "enc_tuple", "dec_tuple"):
        assert any(re.match(rf"ultradict +{name} +: +[\d.]+ ns/op", l)
                   for l in lines), name
    assert any(re.match(r"ultradict +attach +: +[\d.]+ ms \(2000 entries", l)
               for l in lines), out.stdout
    assert lines[-1] == "original   (skipped: no --original DIR)"
