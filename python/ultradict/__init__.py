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
import importlib
import json
import os
import pickle
import pprint
import secrets
import threading
import weakref
from typing import Any, Dict, Iterator, List, Optional, Tuple

from . import _ultradict

__all__ = ["UltraDict", "DataLossError", "open"]

DataLossError = _ultradict.DataLossError

# A nested dictionary's reference, as include/ultradict/dict.h stores it:
# b"N1" + key tag + value tag + the child's name. Python's tags: "P", "P".
_REF_PREFIX = b"N1"
_REF_TAGS = b"PP"
_MAX_DEPTH = 8  # dict.h's kMaxNestingDepth.
_MIN_LOG = 64 * 1024  # The engine's smallest log.
_MAX_DEFAULT_LOG = 4 << 20  # Options::log_size's default.
_GONE = object()  # A nested dictionary removed while its key was read.
# Settings format: 1 (every key and value through the serializer), 2 (adds
# "format": "typed" or "serializer"; see python/typed_codec.h), 3 (adds
# "tuples": small tuples typed too, python/tuple_codec.h).
_META_VERSION = 3


def _child_name(parent: str, encoded_key: bytes) -> str:
    """dict.h's ChildName: FNV-1a 64 of (parent, 0, key), 12 hex digits."""
    h = 0xCBF29CE484222325
    for c in parent.encode() + b"\0" + encoded_key:
        h ^= c
        h = (h * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return parent[: _ultradict.MAX_NAME_LENGTH - 13] + "-" + f"{h:016x}"[4:]


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


class _Exceptions:
    """UltraDict.Exceptions: the original's names, on sensible builtins."""

    class CannotAttachSharedMemory(_ultradict.NotFoundError, FileNotFoundError):
        """create=False (or attaching by name) and no such dictionary."""

        def __str__(self) -> str:  # Not KeyError's quoted repr.
            return str(self.args[0]) if self.args else ""

    class AlreadyExists(_ultradict.AlreadyExistsError):
        """create=True and the name exists already."""

    class CannotAcquireLock(RuntimeError):
        """The lock could not be taken (block=False and it is held)."""

    class CannotAcquireLockTimeout(CannotAcquireLock, TimeoutError):
        """The lock was held by another process for the whole timeout."""

    class ParameterMismatch(ValueError):
        """A parameter contradicts the attached dictionary's settings."""

    AlreadyClosed = _ultradict.AlreadyClosedError

    class FullDumpMemoryFull(_ultradict.ResourceExhaustedError):
        """Kept for compatibility; this engine raises ResourceExhausted."""

    class ChangesLost(LookupError):
        """changes(): the updates asked for were folded into a snapshot."""

    class MissingDependency(ImportError):
        """Kept for compatibility; nothing here is optional."""

    DataLossError = _ultradict.DataLossError
    ResourceExhausted = _ultradict.ResourceExhaustedError
    FailedPrecondition = _ultradict.FailedPreconditionError


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


def _close(handle: Any, unlink: bool, pid: int, name: str,
           directory: str) -> None:
    """Finalizer: closes the handle; unlinks when asked, in the opener."""
    if os.getpid() != pid:
        return  # A fork child: the parent owns the dictionary's lifetime.
    try:
        if unlink:
            UltraDict._destroy_tree(name, directory, 0)
    finally:
        handle.close()


class UltraDict(_ultradict.FastBase, collections.abc.MutableMapping):
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

    # -- opening -------------------------------------------------------------

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

    # -- serialisation (the codec itself is in C: typed_codec.h) -------------

    def _loads(self, key_bytes: bytes, data: bytes) -> Any:
        """The value stored as data; _GONE for a nested dictionary removed
        meanwhile (its key is being deleted by another process)."""
        if self._is_ref(data):
            return self._load_ref(key_bytes, data)
        return self._decode_value(data)

    def _load_ref(self, key_bytes: bytes, data: bytes) -> Any:
        """A nested-dictionary reference (called from C as well): the child
        UltraDict, or _GONE when it was removed meanwhile."""
        if (self.recurse and data.startswith(_REF_PREFIX + _REF_TAGS) and
                data[4:].decode("ascii", "replace")
                == _child_name(self.name, key_bytes)):
            child = self._child_for(key_bytes, data)
            return _GONE if child is None else child
        if self.typed:
            raise _ultradict.FailedPreconditionError(
                f"dictionary {self.name!r}: the key holds a nested dictionary "
                f"this UltraDict cannot open (recurse={self.recurse}; one of "
                f"a C++ Dict, or damaged)")
        return self._decode_value(data)

    def _child_for(self, key_bytes: bytes, data: bytes) -> Optional["UltraDict"]:
        name = data[4:].decode("ascii", "replace")
        if data[2:4] != _REF_TAGS or name != _child_name(self.name, key_bytes):
            return None
        with self._children_lock:
            child = self._children.get(name)
            if child is None or child._db.closed:
                try:  # Never create it: its key may be going away.
                    child = UltraDict(name=name, create=False,
                                      directory=self.directory,
                                      auto_unlink=False, _depth=self._depth + 1,
                                      _options=self._child_options())
                except _Exceptions.CannotAttachSharedMemory:
                    return None
                self._children[name] = child
            return child

    def _store_value(self, key_bytes: bytes, value: Any) -> bytes:
        """The bytes to store for value (creating a nested dictionary)."""
        if not (self.recurse and isinstance(value, collections.abc.Mapping)):
            return self._encode_value(value)
        if self._depth >= _MAX_DEPTH:
            raise ValueError(f"nested deeper than {_MAX_DEPTH} levels")
        name = _child_name(self.name, key_bytes)
        items = list(value.items())  # Before clearing: value may be the child.
        with self._children_lock:
            child = self._children.get(name)
            if child is None or child._db.closed:
                child = UltraDict(name=name, directory=self.directory,
                                  auto_unlink=False, serializer=self.serializer,
                                  recurse=True, buffer_size=self.buffer_size,
                                  _depth=self._depth + 1,
                                  _options=self._child_options())
                self._children[name] = child
        child.clear()
        child.update(items)
        return _REF_PREFIX + _REF_TAGS + name.encode()

    def _child_options(self) -> Dict[str, Any]:
        """A nested dictionary's engine options: the parent's, persistent
        (as dict.h's ChildOptions)."""
        opts = dict(self._engine_options)
        opts.pop("lifetime", None)
        return opts

    def _drop_ref(self, key_bytes: bytes, old: Optional[bytes]) -> None:
        """After old left key: removes the nested dictionary it named."""
        if old is None or not old.startswith(_REF_PREFIX):
            return
        name = old[4:].decode("ascii", "replace")
        if old[2:4] != _REF_TAGS or name != _child_name(self.name, key_bytes):
            return
        with self._children_lock:
            child = self._children.pop(name, None)
        if child is not None:
            child._finalizer.detach()
            child._db.close()
        UltraDict._destroy_tree(name, self.directory, self._depth + 1)

    @staticmethod
    def _destroy_tree(name: str, directory: str, depth: int) -> None:
        """Destroys name and its nested dictionaries; quiet when missing."""
        if depth <= _MAX_DEPTH:
            try:
                db = _ultradict.DB(name, False, False, 0, 1 << 16, directory)
            except (_ultradict.NotFoundError, OSError, ValueError,
                    RuntimeError):
                db = None
            if db is not None:
                try:
                    for key, value in db.items():
                        if (value.startswith(_REF_PREFIX + _REF_TAGS) and
                                value[4:].decode("ascii", "replace")
                                == _child_name(name, key)):
                            UltraDict._destroy_tree(value[4:].decode(),
                                                    directory, depth + 1)
                finally:
                    db.close()
        try:
            _ultradict.destroy(name, directory)
        except _ultradict.NotFoundError:
            pass

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
        do_unlink = self.auto_unlink if unlink is None else unlink
        self._finalizer.detach()
        if os.getpid() != self._pid:
            do_unlink = False  # A fork child never removes its parent's.
        try:
            if do_unlink:
                UltraDict._destroy_tree(self.name, self.directory, self._depth)
        finally:
            self._db.close()

    def cleanup(self) -> None:
        """The original's name for close()."""
        self.close()

    def unlink(self) -> None:
        """Removes the dictionary (and its nested ones) by name: new opens
        no longer find it; processes that have it open keep using it."""
        UltraDict._destroy_tree(self.name, self.directory, self._depth)

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
            UltraDict._destroy_tree(name, directory, 0)
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

    # -- status ----------------------------------------------------------------

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

    # -- beyond the original ---------------------------------------------------

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
        UltraDict.DELETED) for a deletion. Waits for more (GIL released);
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
                yield decode(kb), (UltraDict.DELETED if value is _GONE
                                  else value)

    @property
    def sequence(self) -> int:
        """Updates committed so far by all processes."""
        return self._db.latest_sequence()

    def load(self, force: bool = False) -> None:
        """Kept for compatibility: reads are always current."""

    def apply_update(self) -> None:
        """Kept for compatibility: reads are always current."""


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
