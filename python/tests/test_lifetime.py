"""auto_unlink, unlink, unlink_by_name, garbage collection."""

import gc
import subprocess
import sys

import pytest

from conftest import shm_files
from ultradict import UltraDict


def test_creator_close_removes_attached_close_does_not(name):
    d = UltraDict({1: 1}, name=name)
    other = UltraDict(name=name)
    other.close()
    assert shm_files(name)
    assert d == {1: 1}
    d.close()
    assert not shm_files(name)


def test_attached_keep_reading_after_creator_unlinks(name):
    d = UltraDict({1: 1}, name=name)
    other = UltraDict(name=name)
    d.close()
    assert not shm_files(name)
    assert other[1] == 1  # Its mapping stays valid for reads.
    with pytest.raises(UltraDict.Exceptions.FailedPrecondition) as e:
        other[2] = 2  # A destroyed dictionary takes no more writes.
    assert "destroyed" in str(e.value)
    other.close()
    with pytest.raises(UltraDict.Exceptions.CannotAttachSharedMemory):
        UltraDict(name=name, create=False)


def test_garbage_collection_unlinks(name):
    d = UltraDict({1: 1}, name=name)
    assert shm_files(name)
    del d
    gc.collect()
    assert not shm_files(name)


def test_process_exit_unlinks(name):
    code = ("from ultradict import UltraDict\n"
            f"d = UltraDict({{1: 1}}, name={name!r})\n"
            "d[2] = 2\n")
    subprocess.run([sys.executable, "-c", code], check=True)
    assert not shm_files(name)


def test_auto_unlink_false_persists_until_unlink(name):
    d = UltraDict({1: 1}, name=name, auto_unlink=False)
    d.close()
    assert shm_files(name)
    with UltraDict(name=name, create=False) as other:
        assert other == {1: 1}
        other.unlink()
        assert not shm_files(name)
        assert other[1] == 1


def test_unlink_by_name(name):
    UltraDict(name=name, auto_unlink=False).close()
    UltraDict.unlink_by_name(name)
    assert not shm_files(name)
    with pytest.raises(UltraDict.Exceptions.CannotAttachSharedMemory):
        UltraDict.unlink_by_name(name)
    UltraDict.unlink_by_name(name, ignore_errors=True)


def test_attached_auto_unlink_true_unlinks(name):
    UltraDict(name=name, auto_unlink=False).close()
    with UltraDict(name=name, auto_unlink=True):
        pass
    assert not shm_files(name)
