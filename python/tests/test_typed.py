"""The typed format (python/typed_codec.h, doc/python.md "Encoding"): str,
bytes, int, bool and float skip pickle, their bytes are frozen and a C++
Dict<std::string, V> reads and writes them; dictionaries of the first
release (every key and value pickled) still read; bad bytes never crash."""

import enum
import json
import marshal
import math
import os
import pickle
import subprocess
import threading
import time

import pytest

from ultradict import UltraDict, _ultradict

SIGN = 1 << 63


def q(n):
    """codec.h's int64 payload: big-endian, sign bit flipped."""
    return ((n + (1 << 64)) % (1 << 64) ^ SIGN).to_bytes(8, "big")


class Color(enum.IntEnum):
    RED = 1


class Text(str):
    pass


ROUND_TRIPS = ["", "héllo", "a" * 300, b"", b"\x00\xff", 0, -1, 2**63 - 1,
               -2**63, 2**63, -2**70, True, False, 1.5, -0.0, math.inf, None,
               (1, "a"), [1, 2], Color.RED, Text("t"), "\udc80"]


@pytest.mark.parametrize("obj", ROUND_TRIPS, ids=repr)
def test_keys_and_values_round_trip_with_their_type(name, obj):
    with UltraDict(name=name) as d:
        d["v"] = obj
        if isinstance(obj, (list,)):
            assert d["v"] == obj
            return
        d[obj] = "as key"
        assert d[obj] == "as key" and d.get(obj) == "as key" and obj in d
        got = d["v"]
        assert got == obj and type(got) is type(obj)
        keys = [k for k in d.keys() if k != "v"]
        assert keys == [obj] and type(keys[0]) is type(obj)
        del d[obj]
        assert obj not in d


def test_get_takes_default_by_position_or_keyword(name):
    with UltraDict(name=name) as d:
        d["a"] = 1
        assert d.get("a") == 1 and d.get("b") is None
        assert d.get("b", 2) == 2 and d.get("b", default=3) == 3
        with pytest.raises(TypeError):
            d.get()
        with pytest.raises(TypeError):
            d.get("a", fallback=1)


def test_stored_bytes_are_the_frozen_format(name):
    with UltraDict(name=name) as d:
        assert d.status()["format"] == "typed"
        assert d._encode_key("ab") == b"ab"
        assert d._encode_key(b"ab") == b"\xc0ab"
        assert d._encode_key(b"\xffa") == b"\xffa"  # Not UTF-8: bare.
        assert d._encode_key(b"\xc1a") == b"\xc0\xc1a"
        assert d._encode_key(-2) == b"\xc1" + q(-2)
        assert d._encode_key((1,)) == b"\x81\x01q" + q(1)  # test_tuples.py
        assert d._encode_key([1]).startswith(b"\x80")
        assert d._encode_value("é") == b"s\xc3\xa9"
        assert d._encode_value(b"x") == b"yx"
        assert d._encode_value(7) == b"q" + q(7)
        assert d._encode_value(True) == b"?\x01"
        assert d._encode_value(1.0) == b"d" + bytes([0xBF, 0xF0]) + bytes(6)
        assert d._encode_value(None) == pickle.dumps(None)


# Either side of the encoders' inline paths (python/codec_bits.h): ints of
# one and two 30-bit digits are read without a call, larger ones through
# PyLong_AsLongLongAndOverflow; compact ASCII strs are their own UTF-8.
EDGE_INTS = [0, 1, -1, 2**30 - 1, 2**30, -(2**30 - 1), -(2**30), 2**60 - 1,
             2**60, -(2**60 - 1), -(2**60), 2**62, 2**63 - 1, -2**63]
EDGE_STRS = ["", "a", "abc", "a" * 8, "a" * 16, "a" * 17, "\x7f" * 9, "é",
             "\u2603" * 5, "\U0001f600", "a\u00ff", "\x00" * 3]


def test_ints_and_strs_either_side_of_the_inline_paths(name):
    with UltraDict(name=name) as d:
        for n in EDGE_INTS:
            assert d._encode_key(n) == b"\xc1" + q(n), n
            assert d._encode_value(n) == b"q" + q(n), n
            d[n] = n
        for s in EDGE_STRS:
            assert d._encode_key(s) == s.encode(), s
            assert d._encode_value(s) == b"s" + s.encode(), s
            d[s] = s
        assert len(d) == len(EDGE_INTS) + len(EDGE_STRS)
        for obj in EDGE_INTS + EDGE_STRS:
            assert d[obj] == obj and type(d[obj]) is type(obj), obj
        # One past 64 bits, either sign: pickled, as before.
        for n in (2**63, -2**63 - 1):
            assert d._encode_value(n) == pickle.dumps(n), n


def test_int_keys_iterate_in_numeric_order_and_str_keys_by_code_point(name):
    with UltraDict(name=name) as d:
        for k in [5, -3, 2**40, 0, "b", "a", "é"]:
            d[k] = 1
        # Bytewise: ASCII, then the int tag 0xC1, then 'é' (0xC3 0xA9).
        assert list(d) == ["a", "b", -3, 0, 5, 2**40, "é"]


def raw(name):
    """The byte-level handle of dictionary name (the C++ view of it)."""
    return _ultradict.DB(name, False, False, 0, 1 << 16, "")


def test_values_written_by_cpp_codecs_read_as_python_objects(name):
    with UltraDict(name=name) as d:
        db = raw(name)
        try:
            db.put(b"s", b"shi")
            db.put(b"bin", b"s\xff\xfe")  # Not UTF-8: bytes.
            db.put(b"i8", b"b" + bytes([0x80 ^ 0xFE]))  # int8 -2
            db.put(b"u16", b"H\x01\x00")
            db.put(b"i32", b"i" + (0x80000000 ^ 5).to_bytes(4, "big"))
            db.put(b"u64", b"Q" + (2**64 - 1).to_bytes(8, "big"))
            db.put(b"f", b"f" + bytes([0xBF, 0xC0, 0, 0]))  # float 1.5
            db.put(b"\xff\xfe", b"q" + q(3))  # A binary C++ key.
        finally:
            db.close()
        assert d["s"] == "hi" and d["bin"] == b"\xff\xfe"
        assert d["i8"] == -2 and d["u16"] == 256 and d["i32"] == 5
        assert d["u64"] == 2**64 - 1 and d["f"] == 1.5
        assert d[b"\xff\xfe"] == 3


@pytest.mark.parametrize("stored", [b"", b"q\x00", b"?\x02", b"d12", b"\x01x",
                                    b"\x80garbage"])
def test_damaged_values_raise_never_crash(name, stored):
    with UltraDict(name=name) as d:
        db = raw(name)
        try:
            db.put(b"k", stored)
        finally:
            db.close()
        with pytest.raises(Exception) as e:
            d["k"]
        assert isinstance(e.value, (OSError, pickle.UnpicklingError,
                                    ValueError, EOFError))


def test_first_release_dictionaries_still_read_and_write(name):
    # Format 1: settings without "format", keys and values pickled.
    db = _ultradict.DB(name, True, True, 0, 1 << 16, "")
    try:
        meta = {"version": 1, "recurse": False, "buffer_size": 10000,
                "serializer": "pickle"}
        db.put(_ultradict.META_KEY, json.dumps(meta).encode())
        db.put(pickle.dumps("old"), pickle.dumps("value"))
    finally:
        db.close()
    with UltraDict(name=name, create=False) as d:
        assert d.status()["format"] == "serializer"
        assert d["old"] == "value" and list(d) == ["old"]
        d["new"] = 1
        assert d._encode_key("new") == pickle.dumps("new")
        assert dict(d) == {"old": "value", "new": 1}
    UltraDict.unlink_by_name(name)


def test_other_serializers_keep_the_serializer_format(name):
    with UltraDict(name=name, serializer=marshal) as d:
        d["a"] = 1
        assert d.status()["format"] == "serializer"
        assert d._encode_key("a") == marshal.dumps("a")
        with UltraDict(name=name) as other:  # Takes the creator's.
            assert other["a"] == 1 and other.status()["format"] == "serializer"


def test_write_waits_without_the_gil_for_a_lock_another_thread_holds(name):
    with UltraDict(name=name) as d:
        held = threading.Event()

        def holder():
            with d.lock:
                held.set()
                time.sleep(0.3)  # Needs the GIL to leave the block.
                d["by_holder"] = 1

        t = threading.Thread(target=holder)
        t.start()
        held.wait()
        d["by_main"] = 2  # Waits for the holder (would deadlock with GIL).
        del d["by_holder"]
        t.join()
        assert dict(d) == {"by_main": 2}


def run_tool(*args):
    """Runs //python:interop_tool; its output. Without LD_PRELOAD: under
    --asan the tool carries its own ASan runtime."""
    tool = os.environ.get("ULTRADICT_INTEROP_TOOL")
    if not tool:
        pytest.fail("ULTRADICT_INTEROP_TOOL is not set (tools/python_test.sh "
                    "builds //python:interop_tool)")
    env = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD"}
    return subprocess.run([tool, *args], check=True, capture_output=True,
                          text=True, env=env).stdout


def test_cpp_dict_reads_what_python_writes(name):
    with UltraDict(name=name) as d:
        d.update({"str": "héllo", "int": -42, "float": 2.5, "bool": True,
                  "bytes": b"x"})
        out = run_tool("read", name)
    lines = out.splitlines()
    assert lines[:4] == ["str=héllo", "int=-42", "float=2.5", "bool=true"]
    assert lines[4].startswith("bytes: ") and "codec mismatch" in lines[4]


def test_python_reads_what_a_cpp_dict_writes(name):
    with UltraDict(name=name) as d:
        run_tool("write", name)
        assert d.to_dict() == {"greeting": "héllo", "answer": -42,
                               "pi": 3.25, "yes": True}
