"""Every engine error reaches Python as an exception with the engine's
message; bad input never crashes the interpreter."""

import os
import pickle
import subprocess
import sys

import pytest

import ultradict
from conftest import SHM
from ultradict import UltraDict, _ultradict

E = UltraDict.Exceptions


def test_exception_hierarchy():
    assert issubclass(E.CannotAttachSharedMemory, FileNotFoundError)
    assert issubclass(E.AlreadyExists, FileExistsError)
    assert issubclass(E.CannotAcquireLockTimeout, TimeoutError)
    assert issubclass(E.CannotAcquireLockTimeout, E.CannotAcquireLock)
    assert issubclass(E.CannotAcquireLock, RuntimeError)
    assert issubclass(E.ParameterMismatch, ValueError)
    assert issubclass(E.AlreadyClosed, ValueError)
    assert issubclass(E.DataLossError, OSError)
    assert ultradict.DataLossError is E.DataLossError
    assert issubclass(E.ResourceExhausted, MemoryError)
    assert issubclass(E.ResourceExhausted, OSError)
    assert issubclass(E.FullDumpMemoryFull, E.ResourceExhausted)
    assert issubclass(E.FailedPrecondition, RuntimeError)
    assert issubclass(E.MissingDependency, ImportError)


@pytest.mark.parametrize("bad", ["bad/name", "x" * 65, "a b", "../x"])
def test_bad_names_are_value_errors(bad):
    with pytest.raises(ValueError) as e:
        UltraDict(name=bad)
    assert "name" in str(e.value)


def test_too_large_key_is_a_value_error(name):
    with UltraDict(name=name, serializer=pickle) as d:
        with pytest.raises(ValueError) as e:
            d["k" * (70 * 1024)] = 1
        assert "key" in str(e.value)
        assert len(d) == 0


def test_bad_buffer_size(name):
    with pytest.raises(ValueError):
        UltraDict(name=name, buffer_size=0)


def test_unpicklable_values_raise_not_crash(name):
    with UltraDict(name=name) as d:
        with pytest.raises((pickle.PicklingError, AttributeError, TypeError)):
            d["f"] = lambda: 1
        assert (lambda: 1) not in d
        assert len(d) == 0


def test_serializer_returning_non_bytes(name):
    class Bad:
        @staticmethod
        def dumps(obj):
            return 42

        @staticmethod
        def loads(data):
            return data

    with UltraDict(name=name, serializer=Bad()) as d:
        with pytest.raises(TypeError):
            d[1] = 1


def test_binding_rejects_wrong_types(name):
    db = _ultradict.DB(name, True, False, 2, 1 << 16, "")
    try:
        with pytest.raises(TypeError):
            db.put("str is not bytes", b"v")
        with pytest.raises(TypeError):
            db.get(None)
        with pytest.raises(ValueError):
            _ultradict.DB(name, True, False, 7, 1 << 16, "")
        with pytest.raises(RuntimeError):
            db.unlock()  # Not held.
    finally:
        db.close()
    with pytest.raises(E.AlreadyClosed):
        db.get(b"k")


def test_permission_error_for_another_owners_dictionary(name):
    if os.geteuid() != 0:
        pytest.skip("needs root to chown a segment")
    with UltraDict(name=name) as d:
        os.chown(os.path.join(SHM, "ud." + name), 65534, 65534)
        with pytest.raises(PermissionError) as e:
            UltraDict(name=name, create=False)
        assert str(e.value)
        os.chown(os.path.join(SHM, "ud." + name), 0, 0)
        d[1] = 1


def test_damaged_control_segment_is_data_loss(name):
    UltraDict({1: 1}, name=name, auto_unlink=False).close()
    path = os.path.join(SHM, "ud." + name)
    with open(path, "r+b") as f:
        f.seek(8)
        f.write(b"\xff" * 64)
    with pytest.raises((E.DataLossError, E.FailedPrecondition)) as e:
        UltraDict(name=name, create=False)
    assert name in str(e.value) or "ud." in str(e.value)
    UltraDict.unlink_by_name(name, ignore_errors=True)


def test_damaged_data_never_crashes(name):
    """Scribbles over every segment file; reads may raise, never crash."""
    code = f"""
import os
from ultradict import UltraDict
d = UltraDict({{i: 'v' * 20 for i in range(200)}}, name={name!r},
              auto_unlink=False)
d._db.compact()
for i in range(50):
    d[i] = 'w' * 30
for f in os.listdir('/dev/shm'):
    if f.startswith('ud.{name}.'):
        with open('/dev/shm/' + f, 'r+b') as fh:
            size = os.fstat(fh.fileno()).st_size
            for off in range(64, size, 97):
                fh.seek(off)
                fh.write(b'\\x5a')
errors = 0
try:
    with UltraDict(name={name!r}, create=False) as e:
        for i in range(200):
            try:
                e.get(i)
            except Exception:
                errors += 1
        try:
            list(e.items())
        except Exception:
            errors += 1
except UltraDict.Exceptions.DataLossError as ex:
    errors += 1
    assert 'ud.{name}' in str(ex), ex
print('survived', errors)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True,
                         text=True, timeout=60)
    UltraDict.unlink_by_name(name, ignore_errors=True)
    assert out.returncode == 0, out.stderr
    assert "survived" in out.stdout


def test_lock_timeout_is_timeout_error(name):
    import multiprocessing as mp
    from workers import hold_lock_for
    ctx = mp.get_context("spawn")
    with UltraDict(name=name) as d:
        ready = ctx.Event()
        p = ctx.Process(target=hold_lock_for, args=(name, ready, 2.5))
        p.start()
        try:
            assert ready.wait(30)
            with pytest.raises(E.CannotAcquireLockTimeout) as e:
                with d.lock(timeout=0.2):
                    pass
            assert isinstance(e.value, TimeoutError)
            with pytest.raises(E.CannotAcquireLock):
                with d.lock(block=False):
                    pass
            assert d.lock.acquire(block=False) is False
        finally:
            p.join(30)
            if p.is_alive():
                p.kill()
        with d.lock(timeout=5):
            d[1] = 1


def test_full_segment_directory_is_resource_exhausted(tmp_path, name):
    """A 1 MiB tmpfs fills up: MemoryError/OSError, never SIGBUS."""
    mnt = tmp_path / "tiny"
    mnt.mkdir()
    if os.geteuid() != 0 or subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mnt)],
            capture_output=True).returncode != 0:
        pytest.skip("cannot mount a small tmpfs here")
    try:
        with UltraDict(name=name, directory=str(mnt)) as d:
            with pytest.raises(E.ResourceExhausted) as e:
                for i in range(100):
                    d[i] = os.urandom(100_000)
            assert isinstance(e.value, MemoryError)
            assert isinstance(e.value, OSError)
            assert str(e.value)
            assert d[0] is not None  # Still readable.
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)
