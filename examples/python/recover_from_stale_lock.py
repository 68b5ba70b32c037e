"""Five processes count to 100 under d.lock; the one that finds the counter
at 10 kills itself (SIGKILL) while holding the lock. The others go on at
once: the engine's lock is robust, so nothing waits for a timeout and
nothing has to be stolen (the original's examples/recover_from_stale_lock.py
needed both).
"""

import multiprocessing
import os
import signal
import time

from ultradict import UltraDict

COUNT = 100
PROCESSES = 5
CRASH_AT = 10


def run(d, target):
    while True:
        with d.lock(timeout=5.0):
            if d["counter"] >= target:
                return
            d["counter"] += 1
            if d["counter"] == CRASH_AT:
                print(f"Simulating a crash in pid {os.getpid()} holding the lock",
                      flush=True)
                os.kill(os.getpid(), signal.SIGKILL)


if __name__ == "__main__":
    with UltraDict(counter=0) as ultra:
        start = time.monotonic()
        procs = [multiprocessing.Process(target=run, args=(ultra, COUNT))
                 for _ in range(PROCESSES)]
        for p in procs:
            p.start()
        for p in procs:
            p.join()
        killed = sum(p.exitcode == -signal.SIGKILL for p in procs)
        print(f"{killed} process killed; finished in "
              f"{time.monotonic() - start:.2f} s")
        print("Counter: ", ultra["counter"], " == ", COUNT)
