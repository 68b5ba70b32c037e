"""The ports of the original UltraDict's examples (examples/python) run and
print the expected last line."""

import os
import subprocess
import sys

import pytest

EXAMPLES = os.path.join(os.path.dirname(__file__), "..", "..", "examples",
                        "python")
EXPECTED = {
    "simple.py": "Length:  100000  ==  100000  ==  100000",
    "parallel.py": "Counter:  100000  ==  100000",
    "nested.py": ("{'nested': {'deeper': {0: 2}}}  ==  "
                  "{'nested': {'deeper': {0: 2}}}"),
    "recover_from_stale_lock.py": "Counter:  100  ==  100",
}


@pytest.mark.parametrize("example", sorted(EXPECTED))
def test_example(example):
    out = subprocess.run([sys.executable, os.path.join(EXAMPLES, example)],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    assert lines and lines[-1] == EXPECTED[example], out.stdout
