"""recurse=True: nested dicts become nested UltraDicts."""

import multiprocessing as mp

import pytest

import workers
from conftest import shm_files
from ultradict import UltraDict


def test_nested_dicts_become_ultradicts(name):
    with UltraDict(name=name, recurse=True) as d:
        d["nested"] = {"counter": 0, "deeper": {0: 1}}
        assert isinstance(d["nested"], UltraDict)
        assert isinstance(d["nested"]["deeper"], UltraDict)
        d["nested"]["counter"] += 1
        d["nested"]["deeper"][0] += 1
        # Key-byte order: str keys are their UTF-8 bytes (typed format).
        assert repr(d) == "{'nested': {'counter': 1, 'deeper': {0: 2}}}"
        assert str(d) == repr(d)
        assert d == {"nested": {"counter": 1, "deeper": {0: 2}}}
        assert d.copy() == {"nested": {"counter": 1, "deeper": {0: 2}}}
        with UltraDict(name=name) as other:  # Takes recurse from the creator.
            assert other.recurse
            other["nested"]["deeper"][0] += 1
        assert d["nested"]["deeper"][0] == 3


def test_nested_removed_with_its_key(name):
    with UltraDict(name=name, recurse=True) as d:
        d["a"] = {"b": {"c": 1}}
        child = d["a"].name
        assert shm_files(child)
        del d["a"]
        assert not shm_files(child)
        d["a"] = {"x": 1}
        d["a"] = 5  # Replacing the reference removes the child.
        assert not shm_files(child)
        d["p"] = {"q": 1}
        assert d.pop("p") == {"q": 1}
        d["r"] = {"s": 1}
        d.clear()
        assert shm_files(name) and len(shm_files(name)) <= 3
    assert not shm_files(name)


def test_parent_unlink_removes_children(name):
    d = UltraDict(name=name, recurse=True)
    d["a"] = {"b": {"c": 1}}
    d.close()
    assert not shm_files(name)


def test_recurse_mismatch(name):
    with UltraDict(name=name, recurse=True):
        with pytest.raises(UltraDict.Exceptions.ParameterMismatch):
            UltraDict(name=name, recurse=False)


def test_nested_updates_across_processes(name):
    n = 500
    with UltraDict(name=name, recurse=True) as d:
        d["nested"] = {"deeper": {0: 0}}
        ctx = mp.get_context("spawn")
        procs = [ctx.Process(target=workers.count_nested, args=(name, n))
                 for _ in range(3)]
        for p in procs:
            p.start()
        for p in procs:
            p.join(300)
        assert [p.exitcode for p in procs] == [0, 0, 0]
        assert d["nested"]["deeper"][0] == 3 * n
        assert repr(d) == f"{{'nested': {{'deeper': {{0: {3 * n}}}}}}}"


def test_reading_a_removed_child_never_recreates_it(name):
    with UltraDict(name=name, recurse=True) as d:
        d["a"] = {"x": 1}
        ref = d._db.get(d._encode_key("a"))
        child = d["a"].name
        with UltraDict(name=name) as reader:
            UltraDict.unlink_by_name(child)  # As if a deleter got there first.
            assert reader.get("a", "gone") == "gone"
            with pytest.raises(KeyError):
                reader["a"]
            assert dict(reader.items()) == {}
        assert not shm_files(child)
        assert d._db.get(d._encode_key("a")) == ref
        d._db.delete(d._encode_key("a"))
