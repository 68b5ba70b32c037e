"""d.lock: exact cross-process read-modify-write, reentrancy, a holder that
is SIGKILLed, fork and spawn children, threads."""

import multiprocessing as mp
import os
import signal
import threading
import time

import pytest

import workers
from ultradict import UltraDict

# 4 processes x COUNT increments must give exactly 4 * COUNT.
COUNT = int(os.environ.get("ULTRADICT_TEST_COUNT", "25000"))


def test_lock_is_a_shared_lock_and_reentrant(name):
    with UltraDict({"counter": 0}, name=name) as d:
        assert isinstance(d.lock, UltraDict.SharedLock)
        assert not d.lock.locked()
        with d.lock:
            with d.lock:  # Reentrant.
                d["counter"] += 1
                with UltraDict(name=name) as other:  # Same dictionary.
                    with other.lock:
                        other["counter"] += 1
            assert d.lock.locked()
        assert not d.lock.locked()
        assert d["counter"] == 2
        with d.lock(timeout=5.0, steal_after_timeout=True):
            d["counter"] += 1
        assert d.lock.acquire(timeout=1)
        d.lock.release()
        with pytest.raises(RuntimeError):
            d.lock.release()
        assert d["counter"] == 3


def test_all_operations_work_under_the_lock(name):
    with UltraDict(name=name) as d:
        with d.lock:
            d.update({1: 1, 2: 2, 3: 3})
            assert d.pop(1) == 1
            assert d.setdefault(4, 4) == 4
            assert d.popitem()[0] in (2, 3, 4)
            del d[next(iter(d))]
            d.clear()
            d["x"] = 1
        assert d == {"x": 1}


def test_writes_inside_the_lock_are_visible_at_once(name):
    ctx = mp.get_context("fork")
    with UltraDict({"k": 0}, name=name) as d:
        with d.lock:
            d["k"] = 1
            q = ctx.Queue()
            p = ctx.Process(target=_read_k, args=(name, q))
            p.start()
            assert q.get(timeout=30) == 1
            p.join(30)


def _read_k(name, q):
    with UltraDict(name=name, create=False) as d:
        q.put(d["k"])


def test_threads_count_exactly(name):
    with UltraDict({"counter": 0}, name=name) as d:
        threads = [threading.Thread(target=workers.count, args=(name, 2000))
                   for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert d["counter"] == 8000


def _run(ctx, target, args_list, timeout=600):
    procs = [ctx.Process(target=target, args=args) for args in args_list]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout)
    codes = [p.exitcode for p in procs]
    for p in procs:
        if p.is_alive():
            p.kill()
    return codes


def test_spawned_processes_count_exactly(name):
    with UltraDict({"counter": 0}, name=name) as d:
        start = time.monotonic()
        codes = _run(mp.get_context("spawn"), workers.count,
                     [(d, COUNT)] * 4)  # The object itself: attaches by name.
        assert codes == [0, 0, 0, 0]
        assert d["counter"] == 4 * COUNT
        print(f"4 x {COUNT} locked increments (spawn): "
              f"{time.monotonic() - start:.1f} s")


def test_forked_processes_count_exactly(name):
    with UltraDict({"counter": 0}, name=name) as d:
        codes = _run(mp.get_context("fork"), workers.count,
                     [(d, COUNT // 5)] * 4)
        assert codes == [0, 0, 0, 0]
        assert d["counter"] == 4 * (COUNT // 5)
        assert d.created  # The children did not unlink it.


def test_os_fork_child_uses_the_parents_instance(name):
    with UltraDict({"counter": 0}, name=name) as d:
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                for _ in range(100):
                    with d.lock:
                        d["counter"] += 1
                d.close()  # A fork child never unlinks its parent's.
                code = 0
            finally:
                os._exit(code)
        for _ in range(100):
            with d.lock:
                d["counter"] += 1
        _, status = os.waitpid(pid, 0)
        assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
        assert d["counter"] == 200
        d["after"] = 1  # Still there.


def test_killed_holder_releases_the_lock_at_once(name):
    ctx = mp.get_context("spawn")
    n = 2000
    with UltraDict({"counter": 0}, name=name) as d:
        ready = ctx.Event()
        holder = ctx.Process(target=workers.hold_lock_forever,
                             args=(name, ready))
        holder.start()
        try:
            assert ready.wait(60)
            others = [ctx.Process(target=workers.count, args=(name, n))
                      for _ in range(3)]
            for p in others:
                p.start()
            time.sleep(0.3)
            assert d["counter"] == 1  # Everyone waits for the holder.
            killed = time.monotonic()
            os.kill(holder.pid, signal.SIGKILL)
            holder.join(30)
            with d.lock(timeout=4.0):  # Well under the original's 5 s.
                waited = time.monotonic() - killed
            for p in others:
                p.join(300)
            assert [p.exitcode for p in others] == [0, 0, 0]
        finally:
            if holder.is_alive():
                holder.kill()
        assert d["counter"] == 1 + 3 * n
        assert waited < 4.0
        print(f"lock taken over {waited * 1000:.0f} ms after SIGKILL "
              "(3 other processes were waiting too)")


def test_fork_child_of_a_holder_holds_nothing(name):
    with UltraDict({"counter": 0}, name=name) as d:
        with d.lock:
            pid = os.fork()
            if pid == 0:
                ok = not d.lock.locked()
                os._exit(0 if ok else 1)
            _, status = os.waitpid(pid, 0)
            assert os.WEXITSTATUS(status) == 0
            d["counter"] += 1  # Still held here.
        assert d["counter"] == 1


def test_gil_is_released_while_waiting(name):
    """A thread waiting for the lock (held by another process) or for a
    change lets the others run Python code."""
    ctx = mp.get_context("spawn")
    with UltraDict({"counter": 0}, name=name) as d:
        ready = ctx.Event()
        p = ctx.Process(target=workers.hold_lock_for, args=(name, ready, 1.0))
        p.start()
        try:
            assert ready.wait(60)
            got = []
            t = threading.Thread(target=lambda: got.append(
                d.lock.acquire(timeout=30) and (d.lock.release() or True)))
            t.start()
            spins = 0
            while t.is_alive():
                spins += 1  # Runs only if the waiter released the GIL.
                time.sleep(0.001)
            assert got == [True] and spins > 50
        finally:
            p.join(30)
        changes = []
        t = threading.Thread(target=lambda: changes.append(
            d.wait_for_change(timeout=30)))
        t.start()
        time.sleep(0.2)
        d["counter"] = 1  # Needs the GIL while the waiter waits.
        t.join(30)
        assert changes and changes[0] >= d.sequence - 1


def test_other_threads_writes_wait_for_the_holder(name):
    with UltraDict(name=name) as d:
        done = threading.Event()

        def writer():
            d["k"] = "thread"
            done.set()

        with d.lock:
            t = threading.Thread(target=writer)
            t.start()
            time.sleep(0.2)
            assert not done.is_set()
            d["k"] = "holder"
        t.join(30)
        assert done.is_set() and d["k"] == "thread"


def test_thread_that_ends_holding_the_lock_releases_it(name):
    with UltraDict({"counter": 0}, name=name) as d:
        t = threading.Thread(target=d.lock.acquire)
        t.start()
        t.join()
        with d.lock(timeout=5):  # Its owner (a thread) died: taken over.
            d["counter"] += 1
        assert not d.lock.locked()
        d["counter"] += 1
        assert d["counter"] == 2


def test_close_while_another_thread_holds_the_lock_raises(name):
    d = UltraDict(name=name)
    acquired, release = threading.Event(), threading.Event()

    def hold():
        with d.lock:
            acquired.set()
            release.wait(30)

    t = threading.Thread(target=hold)
    t.start()
    assert acquired.wait(30)
    with pytest.raises(RuntimeError):
        d.close()
    release.set()
    t.join(30)
    d.close()
