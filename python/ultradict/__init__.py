"""ultradict: a drop-in for the original UltraDict on the UltraDict engine.

    from ultradict import UltraDict
    d = UltraDict({"counter": 0})          # a new dictionary, random name
    other = UltraDict(name=d.name)          # in any process: attach by name
    with other.lock:                        # exact across processes
        other["counter"] += 1

A dictionary lives in shared memory (/dev/shm/ud.<name>*), is read without
locks and written under one robust cross-process lock; every process sees
each write when the call returns. Keys and values are any objects the
serializer (default pickle) can dump and load. See doc/python.md.
"""

from __future__ import annotations

import collections.abc
import os
import pickle
import secrets
import threading
import weakref
from typing import Any, Dict, Iterator, List, Optional, Tuple

from . import _ultradict
from ._exceptions import _Exceptions
from ._lock import SharedLock
from ._nested import _GONE, _REF_PREFIX, _Nested, _child_name, _destroy_tree
from ._observe import _Observe
from ._settings import _Settings

__all__ = ["UltraDict", "DataLossError", "open"]

DataLossError = _ultradict.DataLossError


def _close(handle: Any, unlink: bool, pid: int, name: str,
           directory: str) -> None:
    """Finalizer: closes the handle; unlinks when asked, in the opener."""
    if os.getpid() != pid:
        return  # A fork child: the parent owns the dictionary's lifetime.
    try:
        handle.drain()  # Calls of other threads first (python/handle.h).
        if unlink:
            _destroy_tree(name, directory, 0)
    finally:
        handle.close()



class UltraDict(_ultradict.FastBase, _Settings, _Nested, _Observe,
                collections.abc.MutableMapping):
    """A dict shared by processes (see the module docstring).

    d[k], d.get(k), k in d, d[k] = v and del d[k] run in C (the base class,
    python/fast_dict.h); the rest is here."""

    Exceptions = _Exceptions
    SharedLock = SharedLock

    def __init__(self, *arg: Any, name: Optional[str] = None,
                 create: Optional[bool] = None, buffer_size: int = 10_000,
                 serializer: Any = pickle, shared_lock: Optional[bool] = None,
                 full_dump_size: Optional[int] = None,
                 auto_unlink: Optional[bool] = None,
                 recurse: Optional[bool] = None, directory: str = "",
                 **kwargs: Any) -> None:
        self._db = None
        if not hasattr(serializer, "dumps") or not hasattr(serializer, "loads"):
            raise TypeError("serializer must have dumps() and loads()")
        if buffer_size is None or int(buffer_size) <= 0:
            raise ValueError("buffer_size must be positive")
        explicit = {"serializer": serializer is not pickle,
                    "recurse": recurse is not None,
                    "buffer_size": buffer_size != 10_000}
        self._depth = int(kwargs.pop("_depth", 0))
        # Engine options from open() (DB keyword arguments), kept for the
        # nested dictionaries.
        self._engine_options = dict(kwargs.pop("_options", None) or {})
        if name is None:
            if create is False:
                raise _Exceptions.CannotAttachSharedMemory(
                    "create=False needs the name of an existing dictionary")
            name = "psm_" + secrets.token_hex(4)
        self._db, self.created = self._open(
            name, create, auto_unlink, int(buffer_size), directory)
        self.name: str = self._db.name
        self.directory = directory
        self._pid = os.getpid()
        self._children: Dict[str, "UltraDict"] = {}
        self._children_lock = threading.Lock()
        meta = self._db.get(_ultradict.META_KEY)
        if self.created or meta is None:
            # A dictionary without settings (made by a C++ program, or by
            # the byte-level API) is read in the typed format with pickle.
            self.serializer = serializer
            self.recurse = bool(recurse)
            self.buffer_size = int(buffer_size)
            self.typed = serializer is pickle
            # Also without settings: a creator writes them just after
            # creating, and one that attaches meanwhile must agree.
            self.tuples = self.typed
            if self.created:
                self._write_meta(serializer)
        else:
            self._adopt_meta(meta, serializer, recurse, buffer_size, explicit)
        self._bind(self._db, self.serializer.dumps, self.serializer.loads,
                   self.typed, self.recurse, _GONE, self.tuples)
        self.shared_lock = True  # Every lock here is cross-process.
        self.full_dump_size = full_dump_size
        self.auto_unlink = self.created if auto_unlink is None else bool(
            auto_unlink)
        self.lock = SharedLock(self)
        self._finalizer = weakref.finalize(
            self, _close, self._db, self.auto_unlink, self._pid, self.name,
            directory)
        if arg or kwargs:
            self.update(*arg, **kwargs)


    # -- the mapping protocol -------------------------------------------------

    # __getitem__, get and __contains__ are FastBase's (C); so are
    # __setitem__ and __delitem__, which call these when recurse is set.

    def _py_setitem(self, key: Any, value: Any) -> None:
        kb = self._encode_key(key)
        if self.recurse:
            if isinstance(value, UltraDict) and value.name == _child_name(
                    self.name, kb):
                return  # d[k] = d[k] (e.g. after d[k][x] += 1): unchanged.
            old = self._db.get(kb)
            self._db.put(kb, self._store_value(kb, value))
            if old is not None and old != self._db.get(kb):
                self._drop_ref(kb, old)
            return
        self._db.put(kb, self._encode_value(value))

    def _py_delitem(self, key: Any) -> None:
        kb = self._encode_key(key)
        old = self._db.pop(kb)
        if old is None:
            raise KeyError(key)
        if self.recurse:
            self._drop_ref(kb, old)

    def __len__(self) -> int:
        return self._db.size()

    def __iter__(self) -> Iterator[Any]:
        decode = self._decode_key
        return iter([decode(k) for k in self._db.keys()])

    def keys(self):  # type: ignore[override]
        return collections.abc.KeysView(self)

    def items(self):  # type: ignore[override]
        return _ItemsView(self)

    def values(self):  # type: ignore[override]
        return _ValuesView(self)

    def _items(self) -> List[Tuple[Any, Any]]:
        decode = self._decode_key
        items = [(decode(k), self._loads(k, v)) for k, v in self._db.items()]
        return [kv for kv in items if kv[1] is not _GONE]

    _MISSING = object()

    def pop(self, key: Any, default: Any = _MISSING) -> Any:
        kb = self._encode_key(key)
        old = self._db.pop(kb)
        if old is None:
            if default is UltraDict._MISSING:
                raise KeyError(key)
            return default
        if self.recurse and old.startswith(_REF_PREFIX):
            child = self._child_for(kb, old)
            value = child.to_dict() if child is not None else None
            self._drop_ref(kb, old)
            if child is not None:
                return value
        return self._decode_value(old)

    def popitem(self) -> Tuple[Any, Any]:
        """Removes and returns the (key, value) whose key bytes sort last."""
        item = self._db.popitem()
        if item is None:
            raise KeyError("popitem(): dictionary is empty")
        kb, old = item
        key = self._decode_key(kb)
        if self.recurse and old.startswith(_REF_PREFIX):
            child = self._child_for(kb, old)
            if child is not None:
                value = child.to_dict()
                self._drop_ref(kb, old)
                return key, value
        return key, self._decode_value(old)

    def setdefault(self, key: Any, default: Any = None) -> Any:
        kb = self._encode_key(key)
        if self.recurse and isinstance(default, collections.abc.Mapping):
            with self.lock:
                data = self._db.get(kb)
                if data is None:
                    self[key] = default
                    data = self._db.get(kb)
                return self._loads(kb, data)
        data = self._db.setdefault(kb, self._encode_value(default))
        return self._loads(kb, data)

    def update(self, *arg: Any, **kwargs: Any) -> None:  # type: ignore[override]
        """Like dict.update; atomic (one write) unless recurse nests dicts."""
        if len(arg) > 1:
            raise TypeError(f"update expected at most 1 argument, got {len(arg)}")
        pairs: List[Tuple[Any, Any]] = []
        if arg:
            src = arg[0]
            if isinstance(src, collections.abc.Mapping):
                pairs.extend((k, src[k]) for k in src.keys())
            elif hasattr(src, "keys"):
                pairs.extend((k, src[k]) for k in src.keys())
            else:
                for i, item in enumerate(src):
                    try:
                        k, v = item
                    except (TypeError, ValueError):
                        raise ValueError(
                            f"dictionary update sequence element #{i} is not "
                            f"a pair") from None
                    pairs.append((k, v))
        pairs.extend(kwargs.items())
        if self.recurse and any(isinstance(v, collections.abc.Mapping)
                                for _, v in pairs):
            with self.lock:
                for k, v in pairs:
                    self[k] = v
            return
        encoded: Dict[bytes, bytes] = {}
        for k, v in pairs:
            encoded[self._encode_key(k)] = self._encode_value(v)
        if self.recurse:
            with self.lock:
                olds = {kb: self._db.get(kb) for kb in encoded}
                self._db.write_many(list(encoded.items()), [])
                for kb, old in olds.items():
                    self._drop_ref(kb, old)
            return
        if encoded:
            self._db.write_many(list(encoded.items()), [])

    def clear(self) -> None:
        refs = self._db.clear(_REF_PREFIX if self.recurse else b"")
        for kb, old in refs:
            self._drop_ref(kb, old)

    def copy(self) -> Dict[Any, Any]:
        """A plain dict of the contents (nested dictionaries as dicts)."""
        return self.to_dict()

    def to_dict(self) -> Dict[Any, Any]:
        return {k: (v.to_dict() if isinstance(v, UltraDict) else v)
                for k, v in self._items()}

    @property
    def data(self) -> Dict[Any, Any]:
        """A plain dict snapshot (the original's local copy)."""
        return self.to_dict()

    def __eq__(self, other: object) -> bool:
        if isinstance(other, UltraDict):
            return self.to_dict() == other.to_dict()
        if isinstance(other, collections.abc.Mapping):
            return self.to_dict() == dict(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return repr(self.to_dict())

    def __str__(self) -> str:
        return str(self.to_dict())

    def __or__(self, other: Any) -> Dict[Any, Any]:
        if not isinstance(other, collections.abc.Mapping):
            return NotImplemented
        out = self.to_dict()
        out.update(other)
        return out

    def __ior__(self, other: Any) -> "UltraDict":
        self.update(other)
        return self

    # -- lifetime --------------------------------------------------------------

    def close(self, unlink: Optional[bool] = None) -> None:
        """Closes this instance (and its nested ones). unlink: also remove
        the dictionary (default: auto_unlink). Idempotent."""
        if self._db is None or self._db.closed:
            return
        self._db.check_closable()  # Another thread in `with d.lock`?
        with self._children_lock:
            children = list(self._children.values())
            self._children.clear()
        for child in children:
            child.close(unlink=False)
        # Refuses new calls and waits for those in flight in other threads
        # (a write waiting for the lock, wait_for_change...): they end
        # before the dictionary is removed and closed.
        self._db.drain()
        do_unlink = self.auto_unlink if unlink is None else unlink
        self._finalizer.detach()
        if os.getpid() != self._pid:
            do_unlink = False  # A fork child never removes its parent's.
        try:
            if do_unlink:
                _destroy_tree(self.name, self.directory, self._depth)
        finally:
            self._db.close()

    def cleanup(self) -> None:
        """The original's name for close()."""
        self.close()

    def unlink(self) -> None:
        """Removes the dictionary (and its nested ones) by name: new opens
        no longer find it; processes that have it open keep using it."""
        _destroy_tree(self.name, self.directory, self._depth)

    @staticmethod
    def unlink_by_name(name: str, ignore_errors: bool = False,
                       directory: str = "") -> None:
        """Removes the dictionary `name`; CannotAttachSharedMemory when it
        does not exist (unless ignore_errors)."""
        try:
            if not ignore_errors:
                try:
                    probe = _ultradict.DB(name, False, False, 0, 1 << 16,
                                          directory)
                    probe.close()
                except _ultradict.NotFoundError as e:
                    raise _Exceptions.CannotAttachSharedMemory(
                        e.args[0] if e.args else name) from None
            _destroy_tree(name, directory, 0)
        except Exception:
            if not ignore_errors:
                raise

    def __enter__(self) -> "UltraDict":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __reduce__(self) -> Any:
        """Pickles as a reference: the receiver attaches by name."""
        return (_attach, (self.name, self.directory))

class _ItemsView(collections.abc.ItemsView):
    def __iter__(self):  # type: ignore[override]
        return iter(self._mapping._items())


class _ValuesView(collections.abc.ValuesView):
    def __iter__(self):  # type: ignore[override]
        return iter([v for _, v in self._mapping._items()])


def _attach(name: str, directory: str = "") -> UltraDict:
    """Unpickling an UltraDict (e.g. in a spawned process)."""
    return UltraDict(name=name, create=False, directory=directory)


from ._open import open  # noqa: E402,A001 - needs UltraDict defined above.
