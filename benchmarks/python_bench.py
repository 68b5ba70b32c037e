#!/usr/bin/env python3
"""python_bench.py: the `ultradict` Python package against a plain dict (the
floor) and, when --original points at a checkout of it, the original
UltraDict, in one run. One line per benchmark and engine:

    <engine> <benchmark> : X ns/op (cpu Y ns/op)

X is wall time, Y the CPU time of the benchmark's thread (time.thread_time):
on a shared machine the wall time also counts the time other processes had
the CPU; Y does not (nor the engine's background compaction thread).

Benchmarks (100 k keys unless --num):
  get_str     d[k], small str keys and values (typed: no pickle)
  set_str     d[k] = v, small str keys and values
  get_int     d[k], int keys and values (typed)
  set_int     d[k] = v, int keys and values
  get_tuple   d[k], small tuple keys and values (pickled)
  set_tuple   d[k] = v, small tuple keys and values
  locked_inc  with d.lock: d['c'] += 1
  (ultradict only, the pieces of a tuple get, each a call from the loop:)
  in_tuple    k in d: the key's encoding and the engine's lookup
  enc_tuple   d._encode_key(k): the key's encoding (and a bytes object)
  dec_tuple   d._decode_value(b): the value's decoding (object creation)
  attach      a new process attaches to --attach_num entries (1 M) and
              reads one key (median of 5, process start excluded)

  python3 benchmarks/python_bench.py [--num N] [--attach_num N] [--original DIR]
      [--passes N] [--tuples_only]

Measure an optimised build (tools/dev.sh install, or PYTHONPATH at a -c opt
build of //python:package).
"""

import argparse
import multiprocessing
import os
import platform
import statistics
import sys
import time


PASSES = 3  # --passes


def per_op(fn, n):
    """Best of PASSES runs of fn() (which does n operations): (wall, thread
    CPU) ns per op."""
    best = cpu = float("inf")
    for _ in range(PASSES):
        start, start_cpu = time.perf_counter(), time.thread_time()
        fn()
        best = min(best, time.perf_counter() - start)
        cpu = min(cpu, time.thread_time() - start_cpu)
    return best / n * 1e9, cpu / n * 1e9


def run_suite(engine, make, num, tuples_only=False):
    str_items = [(f"key{i:08d}", f"value{i}") for i in range(num)]
    int_items = [(i, i * 7) for i in range(num)]
    tuple_items = [((i, "k"), (i, 1.5, "v")) for i in range(num)]
    if tuples_only:
        str_items = int_items = []
    d = make()
    try:
        def set_all(items):
            def fn():
                for k, v in items:
                    d[k] = v
            return fn

        def get_all(items):
            def fn():
                for k, _ in items:
                    d[k]
            return fn

        results = {}
        if not tuples_only:
            results.update({
                "set_str": per_op(set_all(str_items), num),
                "get_str": per_op(get_all(str_items), num),
                "set_int": per_op(set_all(int_items), num),
                "get_int": per_op(get_all(int_items), num),
            })
        results["set_tuple"] = per_op(set_all(tuple_items), num)
        results["get_tuple"] = per_op(get_all(tuple_items), num)
        if hasattr(d, "_encode_key"):
            results.update(tuple_pieces(d, tuple_items, num))
        lock = getattr(d, "lock", None)
        if lock is not None and not tuples_only:
            d["c"] = 0
            n = min(num, 20_000)

            def inc():
                for _ in range(n):
                    with d.lock:
                        d["c"] += 1
            results["locked_inc"] = per_op(inc, n)
        for name, (ns, cpu) in results.items():
            print(f"{engine:<10} {name:<11}: {ns:10.1f} ns/op (cpu {cpu:.1f} "
                  f"ns/op)", flush=True)
        return results
    finally:
        close = getattr(d, "close", None) or getattr(d, "cleanup", None)
        if close:
            close()


def tuple_pieces(d, items, num):
    """The parts of d[k] for small tuples, timed like the rest (each
    through a call, which the loop of d[k] does not make)."""
    encoded = [d._encode_value(v) for _, v in items]
    encode, decode = d._encode_key, d._decode_value

    def contains():
        for k, _ in items:
            k in d

    def enc():
        for k, _ in items:
            encode(k)

    def dec():
        for b in encoded:
            decode(b)
    return {"in_tuple": per_op(contains, num), "enc_tuple": per_op(enc, num),
            "dec_tuple": per_op(dec, num)}


def _attach_child(module_dir, cls_module, name, key, conn):
    if module_dir:
        sys.path.insert(0, module_dir)
    mod = __import__(cls_module, fromlist=["UltraDict"])
    start = time.perf_counter()
    d = mod.UltraDict(name=name)
    value = d[key]
    elapsed = time.perf_counter() - start
    conn.send((elapsed, value))


def attach(engine, cls_module, module_dir, num):
    mod = __import__(cls_module, fromlist=["UltraDict"])
    d = mod.UltraDict(buffer_size=64 << 20)
    try:
        batch = {i: i for i in range(num)}
        d.update(batch)
        ctx = multiprocessing.get_context("spawn")
        times = []
        for _ in range(5):
            parent, child = ctx.Pipe()
            p = ctx.Process(target=_attach_child,
                            args=(module_dir, cls_module, d.name, num // 2,
                                  child))
            p.start()
            elapsed, value = parent.recv()
            p.join()
            assert value == num // 2
            times.append(elapsed)
        ms = statistics.median(times) * 1e3
        print(f"{engine:<10} attach     : {ms:10.2f} ms ({num} entries, "
              f"then one read)", flush=True)
    finally:
        d.close() if hasattr(d, "close") else d.cleanup()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--num", type=int, default=100_000)
    ap.add_argument("--attach_num", type=int, default=1_000_000)
    ap.add_argument("--original", default="",
                    help="directory holding the original UltraDict package")
    ap.add_argument("--passes", type=int, default=3,
                    help="each figure is the best of this many passes")
    ap.add_argument("--tuples_only", action="store_true",
                    help="only the tuple benchmarks (and no attach)")
    args = ap.parse_args()
    global PASSES
    PASSES = max(1, args.passes)

    import ultradict
    print(f"python_bench: Python {platform.python_version()}, load average "
          f"{os.getloadavg()[0]:.1f}, "
          f"{os.cpu_count()} CPUs, ultradict from {ultradict.__file__}, "
          f"{time.strftime('%Y-%m-%d %H:%M:%S')}")
    base = run_suite("dict", dict, args.num, args.tuples_only)
    ours = run_suite("ultradict", ultradict.UltraDict, args.num,
                     args.tuples_only)
    for name in base:
        print(f"ratio      {name:<11}: ultradict/dict "
              f"{ours[name][0] / base[name][0]:6.1f}x")
    if args.tuples_only:
        return
    attach("ultradict", "ultradict", "", args.attach_num)
    if args.original:
        sys.path.insert(0, args.original)
        try:
            from UltraDict import UltraDict as Original
        except ImportError as e:
            print(f"original   (skipped: {e})")
        else:
            orig = run_suite("original", lambda: Original(shared_lock=True),
                             args.num)
            for name in orig:
                print(f"ratio      {name:<11}: ultradict/original "
                      f"{ours[name][0] / orig[name][0]:6.2f}x")
            attach("original", "UltraDict", args.original, args.attach_num)
    else:
        print("original   (skipped: no --original DIR)")


if __name__ == "__main__":
    main()
