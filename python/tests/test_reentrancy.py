"""Reads that start while another read of the same UltraDict is decoding
(python/fast_dict.cc keeps one value buffer per instance): a finalizer run
by a garbage collection inside the decode, and an unpickled value whose
loading reads the dictionary. Each read must get its own value."""

import gc

from ultradict import UltraDict

BIG = "x" * 100_000  # Reallocates a shared buffer if one were reused.
_current = {}


def test_a_finalizer_that_reads_during_a_decode(name):
    with UltraDict(name=name) as d:
        value = tuple(range(25))  # Past the tuple free lists: GC-allocated.
        d["big"], d["t"] = BIG, value
        seen = []

        class Reader:
            def __del__(self):
                seen.append(d["big"])

        old = gc.get_threshold()
        gc.collect()
        gc.set_threshold(1)  # A collection at each GC allocation.
        try:
            for _ in range(300):
                r = Reader()
                r.cycle = r  # Freed only by a collection.
                del r
                assert d["t"] == value
                assert d.get("t") == value
        finally:
            gc.set_threshold(*old)
        gc.collect()
        assert len(seen) == 300 and all(s == BIG for s in seen)


def _read_big():
    return ("loaded", _current["d"]["big"] == BIG)


class _ReadsWhenLoaded:
    def __reduce__(self):
        return (_read_big, ())


def test_a_value_whose_unpickling_reads_the_dictionary(name):
    with UltraDict(name=name) as d:
        _current["d"] = d
        try:
            d["big"], d["p"] = BIG, _ReadsWhenLoaded()
            for _ in range(3):
                assert d["p"] == ("loaded", True)
        finally:
            _current.clear()
