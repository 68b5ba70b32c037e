"""ultradict.open(): the engine's Options (include/ultradict/options.h)
from Python; bad values are ValueError."""

import os
import stat
import threading
import time

import pytest

import ultradict
from conftest import shm_files
from ultradict import UltraDict


def test_persistent_outlives_its_creator(name):
    d = ultradict.open(name)  # lifetime="persistent" (the C++ default).
    d["a"] = 1
    d.close()
    assert shm_files(name)
    with ultradict.open(name, create=False) as again:
        assert again["a"] == 1
    UltraDict.unlink_by_name(name)


def test_until_last_close_goes_with_the_last_handle(name):
    first = ultradict.open(name, lifetime="until_last_close")
    second = ultradict.open(name, create=False)
    first["a"] = 1
    first.close()
    assert second["a"] == 1 and shm_files(name)
    second.close()
    assert shm_files(name) == []


def test_until_creator_closes_goes_with_the_creator(name):
    creator = ultradict.open(name, lifetime="until_creator_closes")
    other = ultradict.open(name, create=False)
    creator.close()
    assert shm_files(name) == []
    other.close()


def test_zstd_compression_and_threshold(name):
    with ultradict.open(name, lifetime="until_creator_closes",
                        compression="zstd", compression_threshold=64) as d:
        d["big"] = "x" * 100_000
        assert d._property("ultradict.compression") == "zstd"
        assert d["big"] == "x" * 100_000
    with ultradict.open(name + "p", lifetime="until_creator_closes") as plain:
        plain["big"] = "x" * 100_000
        assert plain._property("ultradict.compression") == "none"


def test_directory_and_mode(name, tmp_path):
    with ultradict.open(name, directory=str(tmp_path), mode=0o660,
                        lifetime="until_creator_closes", recurse=True) as d:
        d["nested"] = {"a": 1}  # Nested ones go to the same directory.
        files = sorted(os.listdir(tmp_path))
        assert files and all(f.startswith("ud." + name) for f in files)
        assert any(f.startswith("ud." + name + "-") for f in files)
        assert shm_files(name) == []
        control = os.stat(tmp_path / ("ud." + name))
        assert stat.S_IMODE(control.st_mode) == 0o660
        assert d["nested"]["a"] == 1
    assert os.listdir(tmp_path) == []


def test_write_lock_timeout_bounds_a_write(name):
    with ultradict.open(name, lifetime="until_creator_closes",
                        write_lock_timeout=0.2) as d:
        held, done = threading.Event(), threading.Event()

        def holder():
            with d.lock:
                held.set()
                done.wait(5)

        t = threading.Thread(target=holder)
        t.start()
        held.wait()
        start = time.monotonic()
        try:
            with pytest.raises(TimeoutError):
                d["x"] = 1
        finally:
            done.set()
            t.join()
        assert 0.15 < time.monotonic() - start < 3
        d["x"] = 1
        assert d["x"] == 1


def test_log_size_sets_the_buffer(name):
    with ultradict.open(name, lifetime="until_creator_closes",
                        log_size=1 << 20) as d:
        assert d.buffer_size == 1 << 20
        d.update({i: i for i in range(1000)})
        assert len(d) == 1000


@pytest.mark.parametrize("kwargs", [
    {"lifetime": "forever"}, {"compression": "lz4"}, {"log_size": -1},
    {"log_size": 1}, {"log_size": "big"}, {"mode": 0o777}, {"mode": -1},
    {"mode": 0o400}, {"write_lock_timeout": 0}, {"write_lock_timeout": -1.0},
    {"compression_threshold": -5}, {"directory": 5}, {"log_size": True},
], ids=repr)
def test_bad_values_are_value_errors(name, kwargs):
    with pytest.raises(ValueError):
        ultradict.open(name, **kwargs)
    assert shm_files(name) == []
