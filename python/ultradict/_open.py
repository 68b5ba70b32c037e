"""ultradict.open(): an UltraDict opened with the engine's Options
(include/ultradict/options.h); doc/python.md lists each option."""

import pickle
from typing import Any, Optional

from . import UltraDict, _ultradict

_LIFETIMES = {
    "persistent": _ultradict.LIFETIME_PERSISTENT,
    "until_last_close": _ultradict.LIFETIME_UNTIL_LAST_CLOSE,
    "until_creator_closes": _ultradict.LIFETIME_UNTIL_CREATOR_CLOSES,
}
_COMPRESSIONS = {None: _ultradict.COMPRESSION_NONE,
                 "none": _ultradict.COMPRESSION_NONE,
                 "zstd": _ultradict.COMPRESSION_ZSTD}


def _count(field: str, value: Any) -> int:
    """A non-negative int option, else ValueError."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{field} must be a non-negative int, not {value!r}")
    return value


def open(name: Optional[str] = None, *,  # noqa: A001 - ultradict.open.
         create: Optional[bool] = None, lifetime: str = "persistent",
         compression: Optional[str] = None, compression_threshold: int = 256,
         directory: str = "", log_size: int = 4 << 20, mode: int = 0o600,
         allow_other_owner: bool = False,
         write_lock_timeout: Optional[float] = 60.0,
         background_compaction: bool = True, recurse: bool = False,
         serializer: Any = pickle) -> UltraDict:
    """Opens (or creates) the dictionary `name` with the engine's options
    (include/ultradict/options.h); doc/python.md lists each one. Options
    that shape a dictionary (lifetime, compression, compression_threshold,
    log_size) only apply when this call creates it. Bad values raise
    ValueError; the engine's other errors are UltraDict's."""
    if lifetime not in _LIFETIMES:
        raise ValueError(f"lifetime must be one of {sorted(_LIFETIMES)}, "
                         f"not {lifetime!r}")
    if compression not in _COMPRESSIONS:
        raise ValueError(f"compression must be None, 'none' or 'zstd', not "
                         f"{compression!r}")
    if not isinstance(directory, str):
        raise ValueError(f"directory must be a str, not {directory!r}")
    if write_lock_timeout is None:
        timeout_ms = 2**63 - 1  # INT64_MAX: no limit.
    elif (isinstance(write_lock_timeout, bool) or
          not isinstance(write_lock_timeout, (int, float)) or
          not write_lock_timeout > 0):
        raise ValueError(f"write_lock_timeout must be positive seconds or "
                         f"None, not {write_lock_timeout!r}")
    else:
        timeout_ms = max(1, min(int(write_lock_timeout * 1000), 2**63 - 1))
    options = {
        "lifetime": _LIFETIMES[lifetime],
        "log_size": _count("log_size", log_size),
        "compression": _COMPRESSIONS[compression],
        "compression_threshold": _count("compression_threshold",
                                        compression_threshold),
        "mode": _count("mode", mode),
        "allow_other_owner": bool(allow_other_owner),
        "write_lock_timeout_ms": timeout_ms,
        "background_compaction": bool(background_compaction),
    }
    return UltraDict(name=name, create=create, recurse=recurse,
                     serializer=serializer, directory=directory,
                     buffer_size=max(log_size, 1),
                     auto_unlink=lifetime == "until_creator_closes",
                     _options=options)
