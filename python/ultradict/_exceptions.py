"""UltraDict.Exceptions: the original UltraDict's exception names, each a
subclass of a sensible builtin (and of the engine's own classes, which map
the engine's Status codes: python/errors.h)."""

from . import _ultradict


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

