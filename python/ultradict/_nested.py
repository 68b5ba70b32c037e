"""Nested dictionaries (recurse=True): a dict value becomes a dictionary
of its own, named after its parent and key as include/ultradict/dict.h
names them, and referenced from the parent's entry; removed with the key.
Also the value decoding that resolves those references."""

from __future__ import annotations

import collections.abc
from typing import TYPE_CHECKING, Any, Dict, Optional

from . import _ultradict
from ._exceptions import _Exceptions

if TYPE_CHECKING:
    from . import UltraDict

# A nested dictionary's reference, as include/ultradict/dict.h stores it:
# b"N1" + key tag + value tag + the child's name. Python's tags: "P", "P".
_REF_PREFIX = b"N1"
_REF_TAGS = b"PP"
_MAX_DEPTH = 8  # dict.h's kMaxNestingDepth.
_GONE = object()  # A nested dictionary removed while its key was read.


def _child_name(parent: str, encoded_key: bytes) -> str:
    """dict.h's ChildName: FNV-1a 64 of (parent, 0, key), 12 hex digits."""
    h = 0xCBF29CE484222325
    for c in parent.encode() + b"\0" + encoded_key:
        h ^= c
        h = (h * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return parent[: _ultradict.MAX_NAME_LENGTH - 13] + "-" + f"{h:016x}"[4:]



def _cls() -> type:
    """UltraDict (imported late: it is defined after this module)."""
    from . import UltraDict
    return UltraDict


class _Nested:
    """UltraDict's nested dictionaries (a mixin)."""

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
                    child = _cls()(name=name, create=False,
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
                child = _cls()(name=name, directory=self.directory,
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
        _destroy_tree(name, self.directory, self._depth + 1)

    @staticmethod
    def _destroy_tree(name: str, directory: str, depth: int) -> None:
        _destroy_tree(name, directory, depth)


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
                        _destroy_tree(value[4:].decode(),
                                                directory, depth + 1)
            finally:
                db.close()
    try:
        _ultradict.destroy(name, directory)
    except _ultradict.NotFoundError:
        pass

