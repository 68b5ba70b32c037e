"""wait_for_change and the change feed, changes()."""

import multiprocessing as mp

import pytest

import workers
from ultradict import UltraDict


def test_changes_yields_updates_in_order(name):
    with UltraDict(name=name) as d:
        seq = d.sequence
        d["a"] = 1
        d.update({"b": 2, "c": 3})
        del d["a"]
        got = list(d.changes(since=seq, timeout=0.05))
        assert got[0] == ("a", 1)
        assert sorted(got[1:3]) == [("b", 2), ("c", 3)]
        assert got[3] == ("a", UltraDict.DELETED)
        assert len(got) == 4


def test_changes_sees_other_processes(name):
    with UltraDict(name=name) as d:
        seq = d.sequence
        ctx = mp.get_context("spawn")
        p = ctx.Process(target=workers.put_and_exit, args=(name, "k", "v"))
        p.start()
        feed = d.changes(since=seq, timeout=30)
        assert next(feed) == ("k", "v")
        p.join(30)
        assert p.exitcode == 0


def test_changes_lost_after_compaction(name):
    with UltraDict(name=name) as d:
        seq = d.sequence
        d["a"] = 1
        d._db.compact()
        d["b"] = 2
        with pytest.raises(UltraDict.Exceptions.ChangesLost):
            list(d.changes(since=seq, timeout=0.05))
        assert list(d.changes(since=d.sequence - 1, timeout=0.05)) == [
            ("b", 2)]
