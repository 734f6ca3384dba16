"""The read cache of a run (``cache/``: two JSON files and raw arrays, see
:mod:`jupyter_tracker.columns`): never uploaded, and can always be deleted."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

try:
    import fcntl
except ImportError:  # not a POSIX system: the cache is not locked
    fcntl = None  # type: ignore[assignment]

import orjson

from ..records import restore_floats, write_all
from . import CACHE, write_json

__all__ = [
    "cache_lock",
    "read_cache_json",
    "write_cache_json",
    "cache_append",
    "cache_patch",
    "cache_read_array",
    "cache_size",
    "cache_truncate",
    "cache_prune",
]

@contextmanager
def cache_lock(path: Path, exclusive: bool) -> Iterator[None]:
    """Hold the lock of a run's cache (shared for readers, exclusive for the one
    that updates it), creating ``cache/`` if needed.

    Raises
    ------
    OSError
        The cache cannot be created or locked here (a read-only run directory,
        a platform without ``fcntl``): the caller reads without a cache.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not on Linux or macOS
        raise OSError("no file locks on this platform") from None
    folder = Path(path) / CACHE
    folder.mkdir(exist_ok=True)
    fd = os.open(folder / "lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        yield
    finally:
        os.close(fd)  # releases the lock


def read_cache_json(path: Path, name: str) -> Any:
    """A JSON file of the cache (non-finite floats restored), ``None`` if missing or unreadable."""
    try:
        with open(os.path.join(path, CACHE, name), "rb") as handle:
            data = handle.read()
        value = orjson.loads(data)
    except (OSError, ValueError):
        return None
    return restore_floats(value) if b'"$float"' in data else value


def write_cache_json(path: Path, name: str, value: Any) -> None:
    """Replace a JSON file of the cache atomically. Raises ``OSError``."""
    write_json(Path(path) / CACHE / name, value)


def cache_append(path: Path, name: str, data: bytes) -> None:
    """Append bytes to an array file of the cache (created if missing). Raises ``OSError``."""
    fd = os.open(Path(path) / CACHE / name, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        write_all(fd, data)
    finally:
        os.close(fd)


def cache_patch(path: Path, name: str, offset: int, data: bytes) -> None:
    """Overwrite bytes at ``offset`` of an array file of the cache. Raises ``OSError``."""
    fd = os.open(Path(path) / CACHE / name, os.O_WRONLY)
    try:
        if os.pwrite(fd, data, offset) != len(data):
            raise OSError(f"short write to {name}")
    finally:
        os.close(fd)


def cache_size(path: Path, name: str) -> int:
    """Bytes in an array file of the cache (-1 when it is missing)."""
    try:
        return os.stat(Path(path) / CACHE / name).st_size
    except OSError:
        return -1


def cache_truncate(path: Path, name: str, size: int) -> None:
    """Cut an array file of the cache to ``size`` bytes. Raises ``OSError``."""
    os.truncate(Path(path) / CACHE / name, size)


def cache_read_array(path: Path, name: str, dtype: str, count: int) -> Any:
    """The first ``count`` items of an array file of the cache as a numpy array.

    Raises
    ------
    OSError
        The file is missing or holds fewer items (the cache is then rebuilt).
    """
    import numpy as np

    if count == 0:
        return np.empty(0, dtype=dtype)
    with open(Path(path) / CACHE / name, "rb") as handle:
        out = np.fromfile(handle, dtype=dtype, count=count)
    if out.size != count:
        raise OSError(f"cache file {name} holds {out.size} items, not {count}")
    return out


def cache_prune(path: Path, keep: str) -> None:
    """Delete the array files of the cache whose names do not start with ``keep``."""
    folder = Path(path) / CACHE
    try:
        names = os.listdir(folder)
    except OSError:
        return
    for name in names:
        if name.startswith("g") and not name.startswith(keep):
            try:
                os.unlink(folder / name)
            except OSError:
                pass
