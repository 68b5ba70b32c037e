"""Functions run in child processes (importable by spawned children)."""

import os
import time

from ultradict import UltraDict


def count(name_or_dict, n, key="counter"):
    """n times: with d.lock: d[key] += 1. Accepts the object or its name."""
    d = (name_or_dict if isinstance(name_or_dict, UltraDict)
         else UltraDict(name=name_or_dict, create=False))
    for _ in range(n):
        with d.lock:
            d[key] += 1
    d.close()


def count_nested(name, n):
    d = UltraDict(name=name, create=False)
    for _ in range(n):
        with d.lock:
            d["nested"]["deeper"][0] += 1
    d.close()


def hold_lock_forever(name, ready):
    """Takes the lock, bumps the counter, says so, then waits to be killed."""
    d = UltraDict(name=name, create=False)
    d.lock.acquire()
    d["counter"] += 1
    ready.set()
    while True:
        time.sleep(1)


def hold_lock_for(name, ready, seconds):
    d = UltraDict(name=name, create=False)
    with d.lock:
        ready.set()
        time.sleep(seconds)
    d.close()


def put_and_exit(name, key, value):
    d = UltraDict(name=name, create=False)
    d[key] = value
    d.close()


def child_pid(_):
    return os.getpid()
