"""How an UltraDict opens its dictionary and agrees on its settings: the
creator records them (serializer, recurse, buffer size, format) under the
reserved key META_KEY, an instance that attaches adopts them."""

from __future__ import annotations

import importlib
import json
from typing import Any, Dict, Optional, Tuple

from . import _ultradict
from ._exceptions import _Exceptions

DataLossError = _ultradict.DataLossError

_MIN_LOG = 64 * 1024  # The engine's smallest log.
_MAX_DEFAULT_LOG = 4 << 20  # Options::log_size's default.
# Settings format: 1 (every key and value through the serializer), 2 (adds
# "format": "typed" or "serializer"; see python/typed_codec.h), 3 (adds
# "tuples": small tuples typed too, python/tuple_codec.h).
_META_VERSION = 3


def _serializer_name(serializer: Any) -> Optional[str]:
    """The importable module name of serializer, or None."""
    name = getattr(serializer, "__name__", None)
    if isinstance(name, str):
        try:
            if importlib.import_module(name) is serializer:
                return name
        except Exception:  # noqa: BLE001 - any import failure: not a module.
            pass
    return None



class _Settings:
    """UltraDict's opening and settings (a mixin)."""

    def _open(self, name: str, create: Optional[bool],
              auto_unlink: Optional[bool], buffer_size: int,
              directory: str) -> Tuple[Any, bool]:
        lifetime = (_ultradict.LIFETIME_PERSISTENT if auto_unlink is False
                    or self._depth > 0
                    else _ultradict.LIFETIME_UNTIL_CREATOR_CLOSES)
        opts = dict(self._engine_options)
        lifetime = opts.pop("lifetime", lifetime)
        # buffer_size sizes the log, within [64 KiB, 4 MiB]: a new process
        # indexes the records of the log when it opens the dictionary (1.5 s
        # for 1 M entries in a 64 MiB log, against ~10 ms once compacted),
        # and a log of at most 4 MiB is compacted before it holds that many.
        log_size = opts.pop("log_size",
                            min(max(buffer_size, _MIN_LOG), _MAX_DEFAULT_LOG))
        for _ in range(100):  # Create-or-attach races with a destroyer.
            if create is not False:
                try:
                    return _ultradict.DB(name, True, True, lifetime, log_size,
                                         directory, **opts), True
                except _ultradict.AlreadyExistsError as e:
                    if create:
                        raise _Exceptions.AlreadyExists(str(e)) from None
            try:
                return _ultradict.DB(name, False, False, lifetime, log_size,
                                     directory, **opts), False
            except _ultradict.NotFoundError as e:
                if create is False:
                    raise _Exceptions.CannotAttachSharedMemory(
                        e.args[0] if e.args else name) from None
        raise _Exceptions.CannotAttachSharedMemory(
            f"dictionary {name!r} keeps disappearing")

    def _write_meta(self, serializer: Any) -> None:
        meta = {"version": _META_VERSION, "recurse": self.recurse,
                "buffer_size": self.buffer_size,
                "serializer": _serializer_name(serializer),
                "format": "typed" if self.typed else "serializer",
                "tuples": self.tuples}
        self._db.put(_ultradict.META_KEY, json.dumps(meta).encode())

    def _adopt_meta(self, raw: bytes, serializer: Any, recurse: Any,
                    buffer_size: int, explicit: Dict[str, bool]) -> None:
        """An attached instance takes the creator's settings."""
        try:
            meta = json.loads(raw)
        except ValueError:
            raise DataLossError(
                f"dictionary {self.name!r}: damaged settings") from None
        self.recurse = bool(meta.get("recurse", False))
        # Version 1 (the first release) knew one format: the serializer's.
        self.typed = meta.get("format") == "typed"
        # Version 2 pickled every tuple: its tuple keys keep that encoding.
        self.tuples = self.typed and bool(meta.get("tuples", False))
        if explicit["recurse"] and bool(recurse) != self.recurse:
            raise _Exceptions.ParameterMismatch(
                f"recurse={recurse!r}, but the dictionary was created with "
                f"recurse={self.recurse!r}")
        self.buffer_size = int(meta.get("buffer_size", buffer_size))
        stored = meta.get("serializer")
        if explicit["serializer"]:
            if stored is not None and _serializer_name(serializer) not in (
                    None, stored):
                raise _Exceptions.ParameterMismatch(
                    f"serializer {_serializer_name(serializer)!r}, but the "
                    f"dictionary uses {stored!r}")
            self.serializer = serializer
        elif stored is not None:
            self.serializer = importlib.import_module(stored)
        else:
            self.serializer = serializer

