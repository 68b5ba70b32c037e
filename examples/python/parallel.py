"""Two independent (spawned) processes increment one counter under d.lock:
the result is exact (a port of the original's examples/parallel.py)."""

import multiprocessing

from ultradict import UltraDict

COUNT = 100_000


def run(name, n):
    d = UltraDict(name=name)             # Attach by name.
    for _ in range(n):
        with d.lock:                     # Read, modify, write: nobody between.
            d["counter"] += 1


if __name__ == "__main__":
    with UltraDict(counter=0) as ultra:
        ctx = multiprocessing.get_context("spawn")
        procs = [ctx.Process(target=run, args=(ultra.name, COUNT // 2))
                 for _ in range(2)]
        for p in procs:
            p.start()
        print("Started 2 processes..")
        for p in procs:
            p.join()
        print("Joined 2 processes")
        print("Counter: ", ultra["counter"], " == ", COUNT)
