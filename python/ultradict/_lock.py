"""UltraDict.lock: SharedLock, the dictionary's cross-process write lock
(the engine's robust lock, held per thread: python/handle.h)."""

from __future__ import annotations

import os
import weakref
from typing import TYPE_CHECKING, Any, Dict, Optional

from ._exceptions import _Exceptions

if TYPE_CHECKING:
    from . import UltraDict


class SharedLock:
    """The dictionary's cross-process write lock (UltraDict.lock).

    `with d.lock:` holds it around any reads and writes; writes inside are
    visible to other processes as each is made. Reentrant in the holding
    thread (also through other UltraDict objects of the same dictionary).
    `with d.lock(timeout=5.0):` bounds the wait (CannotAcquireLockTimeout).
    A holder that dies releases it at once; steal_after_timeout is accepted
    for compatibility and has nothing to do.
    """

    def __init__(self, owner: "UltraDict") -> None:
        self._owner_ref = weakref.ref(owner)
        self._handle = owner._db

    def acquire(self, block: bool = True, timeout: Optional[float] = None,
                steal_after_timeout: bool = False,
                sleep_time: Optional[float] = None) -> bool:
        """Takes the lock; False when not taken (block=False or timeout)."""
        del steal_after_timeout, sleep_time  # Nothing to steal; no polling.
        if not block:
            ms = 0
        elif timeout is None or timeout < 0:
            ms = -1
        else:
            ms = int(timeout * 1000)
        return self._handle.lock(ms)

    def release(self) -> None:
        """Releases one level; RuntimeError when this thread holds none."""
        self._handle.unlock()

    def locked(self) -> bool:
        """Whether this thread holds it."""
        return self._handle.locked_by_me()

    def __enter__(self) -> "SharedLock":
        self.acquire()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release()

    def __call__(self, block: bool = True, timeout: Optional[float] = None,
                 steal_after_timeout: bool = False,
                 sleep_time: Optional[float] = None) -> "_LockContext":
        return _LockContext(self, block, timeout)

    def status(self) -> Dict[str, Any]:
        return {"held_by_this_thread": self.locked(),
                "depth": self._handle.lock_depth(), "pid": os.getpid()}

    def __repr__(self) -> str:
        return (f"SharedLock(name={self._handle.name!r}, "
                f"held_by_this_thread={self.locked()})")


class _LockContext:
    """`with d.lock(timeout=...)`: raises CannotAcquireLock[Timeout]."""

    def __init__(self, lock: SharedLock, block: bool,
                 timeout: Optional[float]) -> None:
        self._lock, self._block, self._timeout = lock, block, timeout

    def __enter__(self) -> SharedLock:
        if not self._lock.acquire(block=self._block, timeout=self._timeout):
            if not self._block:
                raise _Exceptions.CannotAcquireLock(
                    "the lock is held by another writer")
            raise _Exceptions.CannotAcquireLockTimeout(
                f"lock not acquired within {self._timeout} s")
        return self._lock

    def __exit__(self, *exc: Any) -> None:
        self._lock.release()

