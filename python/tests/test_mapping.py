"""UltraDict as a MutableMapping with dict semantics."""

import collections.abc
import json
import marshal
import os
import pickle

import pytest

from conftest import shm_files
from ultradict import UltraDict


class Point:
    def __init__(self, x, y):
        self.x, self.y = x, y

    def __eq__(self, other):
        return (self.x, self.y) == (other.x, other.y)


def test_constructor_initialises_like_dict(name):
    with UltraDict({1: 1}, name=name, some_key="some_value") as d:
        assert d == {1: 1, "some_key": "some_value"}
        assert d.name == name
    with UltraDict([("a", 1), ("b", 2)], name=name) as d:
        assert dict(d) == {"a": 1, "b": 2}


def test_no_name_gives_a_random_one():
    with UltraDict() as a, UltraDict() as b:
        assert a.name != b.name
        assert a.name.startswith("psm_")
        a[1] = 1
        assert shm_files(a.name)
        names = (a.name, b.name)
    assert not shm_files(names[0]) and not shm_files(names[1])


def test_item_access_and_key_errors(name):
    with UltraDict(name=name) as d:
        d["k"] = "v"
        assert d["k"] == "v"
        with pytest.raises(KeyError):
            d["missing"]
        with pytest.raises(KeyError):
            del d["missing"]
        del d["k"]
        assert "k" not in d
        assert len(d) == 0


def test_mutable_mapping_protocol(name):
    with UltraDict(name=name) as d:
        assert isinstance(d, collections.abc.MutableMapping)
        d.update({"a": 1, "b": 2}, c=3)
        d.update([("d", 4)])
        assert len(d) == 4
        assert "a" in d and "z" not in d
        assert sorted(d) == ["a", "b", "c", "d"]
        assert sorted(d.keys()) == ["a", "b", "c", "d"]
        assert sorted(d.values()) == [1, 2, 3, 4]
        assert sorted(d.items()) == [("a", 1), ("b", 2), ("c", 3), ("d", 4)]
        assert ("a", 1) in d.items()
        assert d.get("a") == 1 and d.get("z") is None and d.get("z", 7) == 7
        assert d.pop("a") == 1
        assert d.pop("a", "gone") == "gone"
        with pytest.raises(KeyError):
            d.pop("a")
        assert d.setdefault("b", 99) == 2
        assert d.setdefault("e", 5) == 5 and d["e"] == 5
        assert d.setdefault("n") is None and d["n"] is None
        k, v = d.popitem()
        assert k not in d and (k, v) in [("b", 2), ("c", 3), ("d", 4),
                                         ("e", 5), ("n", None)]
        d.clear()
        assert len(d) == 0 and list(d) == []
        with pytest.raises(KeyError):
            d.popitem()
        with pytest.raises(TypeError):
            d.update({}, {})
        with pytest.raises(ValueError):
            d.update([1, 2])


def test_iteration_is_in_key_byte_order(name):
    with UltraDict(name=name, serializer=json) as d:
        for k in ["b", "a", "c"]:
            d[k] = k
        assert list(d) == ["a", "b", "c"]


def test_copy_equality_repr(name, names):
    with UltraDict({"x": [1, 2]}, name=name) as d:
        c = d.copy()
        assert type(c) is dict and c == {"x": [1, 2]}
        assert d.data == c
        assert d == {"x": [1, 2]} and d != {"x": []} and d != 3
        assert repr(d) == repr({"x": [1, 2]}) and str(d) == str(c)
        with UltraDict({"x": [1, 2]}, name=names()) as e:
            assert d == e
            e["y"] = 1
            assert d != e
        assert (d | {"z": 1}) == {"x": [1, 2], "z": 1}
        d |= {"z": 2}
        assert d["z"] == 2
        with pytest.raises(TypeError):
            hash(d)


def test_any_picklable_keys_and_values(name):
    with UltraDict(name=name) as d:
        d[(1, "a")] = Point(1, 2)
        d[None] = {"nested": [1.5, None]}
        d[b"bytes"] = frozenset({1})
        d[2.5] = True
        assert d[(1, "a")] == Point(1, 2)
        assert d[None] == {"nested": [1.5, None]}
        assert d[b"bytes"] == frozenset({1})
        assert d[2.5] is True


@pytest.mark.parametrize("serializer", [pickle, marshal, json])
def test_serializers(name, serializer):
    with UltraDict(name=name, serializer=serializer) as d:
        d["a"] = [1, 2]
        assert d["a"] == [1, 2]
        with UltraDict(name=name) as other:  # Takes the creator's serializer.
            assert other.serializer is serializer
            assert other["a"] == [1, 2]


def test_custom_serializer_object(name):
    class Codec:
        @staticmethod
        def dumps(obj):
            return repr(obj).encode()

        @staticmethod
        def loads(data):
            return eval(data.decode())  # noqa: S307 - test data only.

    with UltraDict(name=name, serializer=Codec()) as d:
        d[1] = {"x": 2}
        assert d[1] == {"x": 2}
    with pytest.raises(TypeError):
        UltraDict(name=name, serializer=object())


def test_attached_instance_sees_writes_and_settings(name):
    with UltraDict({1: 1}, name=name, buffer_size=123_456) as d:
        with UltraDict(name=name) as other:
            assert not other.created and d.created
            assert other == {1: 1}
            other[2] = 2
            assert d[2] == 2
            assert other.buffer_size == 123_456
            assert d.buffer_size == 123_456


def test_parameters_this_engine_does_not_need_are_accepted(name):
    # The original's shared_lock and full_dump_size: accepted, kept on the
    # object, and the lock is cross-process (an UltraDict.SharedLock)
    # whatever shared_lock says.
    for shared_lock in (False, True, None):
        with UltraDict({1: 1}, name=name, shared_lock=shared_lock,
                       full_dump_size=4096) as d:
            assert d.shared_lock is True
            assert d.full_dump_size == 4096
            assert isinstance(d.lock, UltraDict.SharedLock)
            with d.lock:
                d[1] += 1
            assert d == {1: 2}


def test_create_flags(name):
    with pytest.raises(UltraDict.Exceptions.CannotAttachSharedMemory) as e:
        UltraDict(name=name, create=False)
    assert isinstance(e.value, FileNotFoundError)
    with pytest.raises(UltraDict.Exceptions.CannotAttachSharedMemory):
        UltraDict(create=False)
    with UltraDict(name=name, create=True):
        with pytest.raises(UltraDict.Exceptions.AlreadyExists) as e:
            UltraDict(name=name, create=True)
        assert isinstance(e.value, FileExistsError)
        with UltraDict(name=name, create=False) as other:
            assert not other.created


def test_context_manager_and_closed_use(name):
    with UltraDict(name=name) as d:
        d[1] = 1
    with pytest.raises(UltraDict.Exceptions.AlreadyClosed):
        d[1]
    with pytest.raises(ValueError):  # AlreadyClosed is a ValueError.
        d[2] = 2
    d.close()  # Idempotent.
    d.cleanup()


def test_status_and_full_dump_counter(name, capsys):
    with UltraDict(name=name) as d:
        assert d.full_dump_counter == 0
        d["v"] = "x" * 1000
        d._db.compact()
        assert d.full_dump_counter == 1
        st = d.status()
        assert st["name"] == name and st["entries"] == 1
        assert st["full_dump_counter"] == 1
        d.print_status()
        assert name in capsys.readouterr().out


def test_many_writes_compact_by_themselves(name):
    with UltraDict(name=name, buffer_size=10_000) as d:
        for i in range(3000):
            d[i] = "v" * 50
        assert len(d) == 3000 and d[2999] == "v" * 50
        assert d.full_dump_counter >= 1


def test_wait_for_change(name):
    with UltraDict(name=name) as d:
        seq = d.sequence
        assert d.wait_for_change(timeout=0.05) == seq  # Nothing happened.
        d[1] = 1
        assert d.wait_for_change(timeout=0.05, since=seq) > seq


def test_pickling_attaches_by_name(name):
    with UltraDict({1: 1}, name=name) as d:
        other = pickle.loads(pickle.dumps(d))
        assert not other.created and other == {1: 1}
        other.close()


def test_serializer_mismatch(name):
    with UltraDict(name=name, serializer=pickle):
        with pytest.raises(UltraDict.Exceptions.ParameterMismatch):
            UltraDict(name=name, serializer=marshal)


def test_values_of_any_size(name):
    with UltraDict(name=name, buffer_size=1000) as d:
        d["big"] = b"x" * (5 * 1024 * 1024)  # Far beyond buffer_size.
        assert len(d["big"]) == 5 * 1024 * 1024


@pytest.mark.skipif("asan" in os.environ.get("LD_PRELOAD", ""),
                    reason="forks while other threads may be in clang-14's "
                    "ASan allocator, which takes no lock around fork(): a "
                    "child hung once in CI (as fork_test's cases did, "
                    "doc/reliability.md); runs in the default build")
def test_setdefault_is_atomic_across_processes(name):
    import multiprocessing as mp
    with UltraDict(name=name):
        ctx = mp.get_context("fork")
        q = ctx.Queue()
        procs = [ctx.Process(target=_claim, args=(name, q)) for _ in range(4)]
        for p in procs:
            p.start()
        results = [q.get(timeout=60) for _ in procs]
        for p in procs:
            p.join(60)
        # Each key was claimed by exactly one process.
        claimed = [k for r in results for k in r]
        assert sorted(claimed) == list(range(200))


def _claim(name, q):
    with UltraDict(name=name, create=False) as d:
        mine = []
        for k in range(200):
            if d.setdefault(k, os.getpid()) == os.getpid():
                mine.append(k)
        q.put(mine)
