"""close() while other threads are inside engine calls that released the GIL
(python/handle.h, "In-flight calls"): close waits for them; a wait that
could last (wait_for_change, changes(), lock acquisition) ends at once with
AlreadyClosed, a write that waits for another writer completes first. Each
case runs in a child interpreter, so that a use-after-free that crashes
fails the test instead of killing pytest (and ASan reports it)."""

import subprocess
import sys
import textwrap

import pytest

from ultradict import UltraDict

PRELUDE = textwrap.dedent("""
    import sys, threading, time
    from ultradict import UltraDict
    Closed = UltraDict.Exceptions.AlreadyClosed
    name = sys.argv[1]
    results = []

    def run_in_thread(fn):
        def body():
            try:
                results.append(("ok", fn()))
            except Closed:
                results.append(("closed", None))
            except BaseException as e:  # Reported to the parent.
                results.append(("error", repr(e)))
        t = threading.Thread(target=body)
        t.start()
        return t

    def close_and_join(d, threads, pause=0.2):
        time.sleep(pause)  # The threads are inside the engine now.
        start = time.monotonic()
        d.close()
        took = time.monotonic() - start
        for t in threads:
            t.join(10)
            assert not t.is_alive(), "thread still running"
        print("close took", round(took, 3), "results", sorted(results, key=repr))
        return took
""")


def run_case(name, body):
    """Runs PRELUDE + body in a fresh interpreter; its stdout."""
    script = PRELUDE + textwrap.dedent(body)
    proc = subprocess.run([sys.executable, "-c", script, name],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, (
        f"child exited with {proc.returncode}\n{proc.stdout}\n"
        f"{proc.stderr[-3000:]}")
    return proc.stdout


def test_close_ends_threads_waiting_for_a_change(name):
    out = run_case(name, """
        for i in range(3):
            owner = UltraDict(name=f"{name}-{i}")
            d = UltraDict(name=owner.name, create=False)
            threads = [run_in_thread(lambda: d.wait_for_change(timeout=30)),
                       run_in_thread(lambda: list(d.changes(timeout=30)))]
            took = close_and_join(d, threads)
            assert results == [("closed", None)] * 2, results
            assert took < 5, took
            owner.close()
            results.clear()
        print("done")
    """)
    assert out.rstrip().endswith("done")


def test_close_ends_threads_waiting_for_the_lock(name):
    out = run_case(name, """
        for i in range(3):
            holder = UltraDict(name=f"{name}-{i}")  # Used by another thread.
            d = UltraDict(name=holder.name, create=False)
            held, stop = threading.Event(), threading.Event()
            def hold():
                with holder.lock:
                    held.set()
                    stop.wait(30)
            h = threading.Thread(target=hold)
            h.start()
            held.wait()
            threads = [run_in_thread(lambda: d.lock.acquire(timeout=30))]
            took = close_and_join(d, threads)
            assert results == [("closed", None)], results
            assert took < 5, took
            stop.set()
            h.join()
            holder.close()
            results.clear()
        print("done")
    """)
    assert out.rstrip().endswith("done")


def test_close_waits_for_a_write_that_waits_for_another_writer(name):
    out = run_case(name, """
        d = UltraDict(name=name)  # The creator: close also unlinks.
        holder = UltraDict(name=name, create=False)
        held = threading.Event()
        def hold():
            with holder.lock:
                held.set()
                time.sleep(0.5)  # The writers below wait (GIL released).
        h = threading.Thread(target=hold)
        h.start()
        held.wait()
        def put(k):
            d[k] = k
            return k
        def pop():
            return d.pop("absent", None)
        threads = [run_in_thread(lambda: put("a")), run_in_thread(pop)]
        close_and_join(d, threads)
        h.join()
        assert sorted(results, key=repr) == [("ok", "a"), ("ok", None)], results
        assert holder["a"] == "a"
        holder.close()
        UltraDict.unlink_by_name(name, ignore_errors=True)
        print("done")
    """)
    assert out.rstrip().endswith("done")


def test_calls_after_close_raise_already_closed(name):
    d = UltraDict(name=name)
    d.close()
    for call in (lambda: d.wait_for_change(0.1), lambda: d.lock.acquire(),
                 lambda: d.pop("x", None), lambda: d["x"]):
        with pytest.raises(UltraDict.Exceptions.AlreadyClosed):
            call()


def test_close_refuses_while_this_thread_holds_the_lock_others_wait_for(name):
    import threading
    import time
    holder = UltraDict(name=name)
    d = UltraDict(name=name, create=False)
    try:
        with holder.lock:  # This thread, through another UltraDict.
            t = threading.Thread(target=d.__setitem__, args=("x", 1))
            t.start()
            deadline = time.monotonic() + 10
            while d._db.in_flight == 0 and time.monotonic() < deadline:
                time.sleep(0.01)
            assert d._db.in_flight == 1  # The write waits for our lock.
            with pytest.raises(UltraDict.Exceptions.FailedPrecondition):
                d.close()  # Waiting for it would wait for ourselves.
            assert not d._db.closed
        t.join(10)
        assert holder["x"] == 1 and d._db.in_flight == 0
        d.close()
    finally:
        d.close()
        holder.close()
