"""Typed tuples (python/tuple_codec.h, doc/python.md "Encoding"): small
tuples skip pickle in dictionaries whose settings say "tuples" (version 3),
come back equal and of the same types, keep one encoding per dictionary,
and damaged bytes raise DataLossError, never crash. Dictionaries of the
previous settings version keep pickling tuples and still read."""

import collections
import json
import math
import pickle
import random
import struct

import pytest

from ultradict import DataLossError, UltraDict, _ultradict

SIGN = 1 << 63


def q(n):
    """codec.h's int64 payload: big-endian, sign bit flipped."""
    return ((n + (1 << 64)) % (1 << 64) ^ SIGN).to_bytes(8, "big")


def raw(name):
    """The byte-level handle of dictionary name."""
    return _ultradict.DB(name, False, False, 0, 1 << 16, "")


def types_of(obj):
    """The types of obj and, for tuples, of every item (recursively)."""
    if type(obj) is tuple:
        return (tuple, [types_of(x) for x in obj])
    return type(obj)


Point = collections.namedtuple("Point", "x y")

TYPED = [(), (1,), (7, "k"), (None, True, False, 0, -1, 2**63 - 1, -2**63),
         (1.5, -0.0, math.inf, -math.inf, "", "héllo\u2603", b"", b"\x00\xff"),
         ((1, ("a", (b"b", (None,)))), ()), ("a" * 300, b"b" * 200),
         (1, True, 1.0)]  # Equal items of different types stay apart.
PICKLED = [(2**64,), ([1],), ("\udc80",), (Point(1, 2),), Point(1, 2),
           ({"a": 1},), (1, 2.5j)]


# One dictionary for all the objects of a test (a dictionary per object
# costs ~0.1 s of set-up and clean-up each).
def test_tuples_round_trip_with_their_item_types(name):
    with UltraDict(name=name) as d:
        for obj in TYPED + PICKLED:
            d.clear()
            d["v"] = obj
            d[obj] = "as key"
            got = d["v"]
            assert got == obj and types_of(got) == types_of(obj), obj
            assert d[obj] == "as key" and obj in d, obj
            assert d.get(obj) == "as key", obj
            keys = [k for k in d if k != "v"]
            assert keys == [obj] and types_of(keys[0]) == types_of(obj), obj
            assert [v for k, v in d.items() if k != "v"] == ["as key"], obj
            del d[obj]
            assert obj not in d, obj


def test_small_tuples_skip_pickle_and_others_do_not(name):
    with UltraDict(name=name) as d:
        assert d.status()["tuples"] is True
        for obj in TYPED:
            assert d._encode_value(obj)[:1] == b"t", obj
            assert d._encode_key(obj)[:1] == b"\x81", obj
        for obj in PICKLED:
            assert d._encode_value(obj) == pickle.dumps(obj), obj
            assert d._encode_key(obj) == pickle.dumps(obj), obj


def test_nan_keeps_its_bits(name):
    with UltraDict(name=name) as d:
        d["v"] = (math.nan, -math.nan)
        a, b = d["v"]
        assert math.isnan(a) and math.isnan(b)
        assert math.copysign(1, a) == 1 and math.copysign(1, b) == -1


def test_nesting_beyond_the_limit_is_pickled(name):
    with UltraDict(name=name) as d:
        deep = ()
        for _ in range(15):  # 16 levels (with the empty one): typed.
            deep = (deep,)
        assert d._encode_value(deep)[:1] == b"t"
        assert d._encode_value((deep,))[:1] == b"\x80"
        d["deep"], d["deeper"] = deep, (deep,)
        assert d["deep"] == deep and d["deeper"] == (deep,)


def test_stored_bytes_are_the_frozen_format(name):
    with UltraDict(name=name) as d:
        # The worked example of tuple_codec.h.
        assert d._encode_value((7, "k")) == b"t\x02q" + q(7) + b"s\x01k"
        assert d._encode_key((7, "k")) == b"\x81\x02q" + q(7) + b"s\x01k"
        assert d._encode_value((None, True, 1.0, b"x", ())) == (
            b"t\x05n?\x01d" + bytes([0xBF, 0xF0]) + bytes(6) +
            b"y\x01xt\x00")
        assert d._encode_value(("a" * 200,)) == b"t\x01s\xc8\x01" + b"a" * 200
        # A bytes key that would read as a tuple gets the bytes tag.
        assert d._encode_key(b"\x81\x00") == b"\xc0\x81\x00"


def test_pickled_tuples_still_read(name):
    with UltraDict(name=name) as d:
        db = raw(name)
        try:
            db.put(b"v", pickle.dumps((1, "a")))
        finally:
            db.close()
        got = d["v"]
        assert got == (1, "a") and types_of(got) == (tuple, [int, str])


def test_version_2_dictionaries_keep_pickled_tuple_keys(name):
    db = _ultradict.DB(name, True, True, 0, 1 << 16, "")
    try:
        meta = {"version": 2, "recurse": False, "buffer_size": 10000,
                "serializer": "pickle", "format": "typed"}
        db.put(_ultradict.META_KEY, json.dumps(meta).encode())
        db.put(pickle.dumps((1, "a")), pickle.dumps((2, "b")))
        db.put(b"\x81\x00", b"sbinary")  # A binary key, not a tuple here.
    finally:
        db.close()
    with UltraDict(name=name, create=False) as d:
        assert d.status()["tuples"] is False
        assert d[(1, "a")] == (2, "b")
        d[(3,)] = (4,)
        assert d._encode_key((3,)) == pickle.dumps((3,))
        assert d._encode_value((4,)) == pickle.dumps((4,))
        assert d[b"\x81\x00"] == "binary"
        assert dict(d) == {(1, "a"): (2, "b"), (3,): (4,),
                           b"\x81\x00": "binary"}
    UltraDict.unlink_by_name(name)


def test_an_attached_instance_follows_the_creator(name):
    with UltraDict(name=name) as d:
        d[(1, "x")] = (2.5, None)
        with UltraDict(name=name, create=False) as other:
            assert other.status()["tuples"] is True
            assert other[(1, "x")] == (2.5, None)
            other[(2, "y")] = ()
        assert d[(2, "y")] == ()


def test_a_binary_key_that_is_no_tuple_reads_as_bytes(name):
    with UltraDict(name=name) as d:
        db = raw(name)
        try:
            db.put(b"\x81\x05q", b"q" + q(1))  # Count beyond the end.
        finally:
            db.close()
        assert list(d) == [b"\x81\x05q"] and d.to_dict() == {b"\x81\x05q": 1}
        # Python stores those bytes as a key with the bytes tag, as it does
        # bytes starting 0xC0 or 0xC1: a different key (doc/python.md).
        assert d._encode_key(b"\x81\x05q") == b"\xc0\x81\x05q"


DAMAGED = [
    b"", b"\x01", b"\x02n", b"\x01q\x00", b"\x01d\x00\x00", b"\x01?\x02",
    b"\x01s\x05ab", b"\x01s\x01\xff", b"\x01x", b"\x00n",  # Trailing.
    b"\x80\x00", b"\x81\x80\x80\x80\x80\x80\x80\x80\x80\x02",
    b"\xff" * 11, b"\x01t\x01t\x01t\x01t\x01t\x01t\x01t\x01t\x01t\x01t\x01t"
    b"\x01t\x01t\x01t\x01t\x01t\x00",  # 17 levels.
    b"\x01y\xff\xff\xff\xff\x0f"]


def test_damaged_tuples_raise_data_loss(name):
    with UltraDict(name=name) as d:
        db = raw(name)
        try:
            for i, body in enumerate(DAMAGED):
                db.put(b"k%d" % i, b"t" + body)
        finally:
            db.close()
        for i, body in enumerate(DAMAGED):
            with pytest.raises(DataLossError):
                d["k%d" % i]
                pytest.fail(f"no error for {body!r}")


def test_random_bytes_never_crash(name):
    rng = random.Random(20)
    good = UltraDict(name=name)
    try:
        sample = good._encode_value((1, "ab", (None, b"c", 2.5), True))
        for i in range(3000):
            b = bytearray(sample)
            for _ in range(rng.randint(1, 4)):
                b[rng.randrange(1, len(b))] = rng.randrange(256)
            if i % 3 == 0:
                b = b[:rng.randrange(1, len(b))]
            try:
                got = good._decode_value(bytes(b))
            except DataLossError:
                continue
            assert type(got) is tuple
            assert good._encode_value(got) == bytes(b)  # Canonical.
    finally:
        good.close()


def reference_body(t):
    """tuple_codec.h's body of t, written from the grammar (for checking
    the C encoder's one-pass and two-pass paths against each other)."""
    def varint(n):
        out = bytearray()
        while n >= 0x80:
            out.append(n & 0x7F | 0x80)
            n >>= 7
        return bytes(out + bytes([n]))

    def item(x):
        if x is None:
            return b"n"
        if type(x) is bool:
            return b"?" + bytes([x])
        if type(x) is int:
            return b"q" + q(x)
        if type(x) is float:
            bits = int.from_bytes(struct.pack(">d", x), "big")
            bits = bits ^ ((1 << 64) - 1) if bits >> 63 else bits | SIGN
            return b"d" + bits.to_bytes(8, "big")
        if type(x) is str:
            return b"s" + varint(len(x.encode())) + x.encode()
        if type(x) is bytes:
            return b"y" + varint(len(x)) + x
        return b"t" + reference_body(x)

    return varint(len(t)) + b"".join(item(x) for x in t)


def test_items_either_side_of_the_encoders_inline_paths(name):
    # Ints of up to two 30-bit digits and compact ASCII strs are encoded
    # without a call into CPython (python/codec_bits.h), short strs and
    # bytes copied without memcpy: the grammar's bytes on both sides.
    ints = [0, 1, -1, 2**30 - 1, 2**30, -(2**30), 2**60 - 1, 2**60,
            -(2**60), 2**63 - 1, -2**63]
    strs = ["", "k", "ab", "abc", "abcd", "a" * 7, "a" * 8, "a" * 16,
            "a" * 17, "a" * 127, "a" * 128, "é", "\u2603k", "\U0001f600"]
    blobs = [s.encode() for s in strs] + [b"\xff" * 5]
    with UltraDict(name=name) as d:
        for obj in ([(n,) for n in ints] + [(s,) for s in strs] +
                    [(b,) for b in blobs] + [tuple(ints), tuple(strs[:9]),
                                             (ints[3], strs[1], 1.5)]):
            body = reference_body(obj)
            assert d._encode_value(obj) == b"t" + body, obj
            assert d._encode_key(obj) == b"\x81" + body, obj
            d[obj] = obj
            assert d[obj] == obj and types_of(d[obj]) == types_of(obj), obj
        assert (2**63,) not in d and d._encode_value((2**63,)) == \
            pickle.dumps((2**63,))


def test_encodings_either_side_of_the_inline_buffer(name):
    # The encoder writes tuples of up to 128 bytes (lead included) in one
    # pass and larger ones in two: both give the grammar's bytes.
    with UltraDict(name=name) as d:
        for n in range(100, 140):
            for obj in [("a" * n,), (1, ("b" * (n - 20), -2.5), None),
                        (b"x" * (n - 12), (), True), (("s" * n,),),
                        tuple(range(n // 9)), ("é" * (n // 2), 7)]:
                body = reference_body(obj)
                assert d._encode_value(obj) == b"t" + body, (n, obj)
                assert d._encode_key(obj) == b"\x81" + body, (n, obj)
                d[obj] = obj
                assert d[obj] == obj and types_of(d[obj]) == types_of(obj)
        # An item the codec does not take, before or after the end of the
        # inline buffer: the whole tuple is pickled.
        for obj in [("a" * 200, [1]), ([1], "a" * 200), ("a" * 100, 2**64),
                    ("a" * 10, "\udc80")]:
            assert d._encode_value(obj) == pickle.dumps(obj), obj
