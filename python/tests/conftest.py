"""Fixtures of the ultradict test suite: unique dictionary names, and a check
that each test leaves nothing in /dev/shm (cleaning up even when it fails)."""

import gc
import itertools
import os

import pytest

from ultradict import UltraDict

SHM = "/dev/shm"
_counter = itertools.count()


def shm_files(name):
    """Segment files of dictionary `name` and of its nested ones."""
    try:
        entries = os.listdir(SHM)
    except FileNotFoundError:
        return []
    return sorted(f for f in entries
                  if f == "ud." + name or f.startswith("ud." + name + ".")
                  or f.startswith("ud." + name + "-"))


def _remove(n):
    """Removes every segment of dictionary n; returns those that were left."""
    left = shm_files(n)
    UltraDict.unlink_by_name(n, ignore_errors=True)
    for f in shm_files(n):
        try:
            os.unlink(os.path.join(SHM, f))
        except OSError:
            pass
    return left


@pytest.fixture
def name():
    """A fresh dictionary name; its segments are checked and removed after."""
    n = f"pyt{os.getpid()}_{next(_counter)}"
    yield n
    gc.collect()  # Finalizes instances the test dropped (auto_unlink).
    left = _remove(n)
    assert left == [], f"left in {SHM}: {left}"


@pytest.fixture
def names(name):
    """A factory of more fresh names, all checked like `name`."""
    made = []

    def make():
        n = f"{name}x{len(made)}"
        made.append(n)
        return n

    yield make
    gc.collect()
    left = []
    for n in made:
        left += _remove(n)
    assert left == [], f"left in {SHM}: {left}"
