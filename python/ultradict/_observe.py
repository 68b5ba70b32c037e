"""What UltraDict offers to watch a dictionary: status(), the compaction
counter, and beyond the original, wait_for_change() and the change feed
(the engine's WaitForChange and ReadChanges)."""

from __future__ import annotations

import pprint
from typing import Any, Dict, Iterator, Optional, Tuple

from ._exceptions import _Exceptions
from ._nested import _GONE


class _Observe:
    """UltraDict's status and change feed (a mixin)."""

    def _property(self, prop: str) -> Optional[str]:
        return self._db.property(prop)

    @property
    def full_dump_counter(self) -> int:
        """Compactions of the update log into a new snapshot so far (the
        original's full dumps)."""
        gen = self._property("ultradict.generation")
        return max(int(gen) - 1, 0) if gen else 0

    def status(self) -> Dict[str, Any]:
        return {
            "name": self.name,
            "created": self.created,
            "auto_unlink": self.auto_unlink,
            "buffer_size": self.buffer_size,
            "serializer": getattr(self.serializer, "__name__",
                                  repr(self.serializer)),
            "recurse": self.recurse,
            "format": "typed" if self.typed else "serializer",
            "tuples": self.tuples,
            "entries": len(self),
            "full_dump_counter": self.full_dump_counter,
            "sequence": self._db.latest_sequence(),
            "members": self._property("ultradict.members"),
            "lifetime": self._property("ultradict.lifetime"),
            "memory_bytes": self._property("ultradict.approximate-memory-usage"),
            "lock": self.lock.status(),
            "stats": self._property("ultradict.stats"),
        }

    def print_status(self) -> None:
        pprint.pprint(self.status())

    def wait_for_change(self, timeout: Optional[float] = None,
                        since: Optional[int] = None) -> int:
        """Blocks (GIL released) until some process writes after `since`
        (default: now) or timeout seconds pass; returns the sequence."""
        if since is None:
            since = self._db.latest_sequence()
        ms = -1 if timeout is None else int(timeout * 1000)
        return self._db.wait_for_change(since, ms)

    DELETED = object()  # changes() yields (key, DELETED) for a deletion.

    def changes(self, since: Optional[int] = None,
                timeout: Optional[float] = None) -> Iterator[Tuple[Any, Any]]:
        """Yields (key, value) for each update any process commits after
        sequence `since` (default: now), in commit order; (key,
        self.DELETED) for a deletion. Waits for more (GIL released);
        returns once `timeout` seconds pass without a change (None: never).
        Raises Exceptions.ChangesLost when updates were folded into a
        snapshot before they were read (read the whole dictionary instead)."""
        if since is None:
            since = self._db.latest_sequence()
        ms = -1 if timeout is None else int(timeout * 1000)
        decode = self._decode_key
        while True:
            if self._db.latest_sequence() <= since:
                if self._db.wait_for_change(since, ms) <= since:
                    return
            try:
                since, batch = self._db.read_changes(since)
            except ValueError as e:
                raise _Exceptions.ChangesLost(str(e)) from None
            for kb, data in batch:
                value = _GONE if data is None else self._loads(kb, data)
                yield decode(kb), (self.DELETED if value is _GONE
                                  else value)

    @property
    def sequence(self) -> int:
        """Updates committed so far by all processes."""
        return self._db.latest_sequence()

    def load(self, force: bool = False) -> None:
        """Kept for compatibility: reads are always current."""

    def apply_update(self) -> None:
        """Kept for compatibility: reads are always current."""

