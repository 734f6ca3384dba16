"""Run directories: the one reader and writer of the files of a run.

Naming, creation, finding runs on disk, the run's lock, and every JSON file
of a run (``run.json``, ``summary.json``, ``sync.json``, ``system-live.json``),
each written through :func:`write_json` (a temporary file, then a rename), so a
reader never sees half a file. The logs (``events.log``, ``system.log``) are
appended to through :mod:`jupyter_tracker.records`. The files of the read
cache (``cache/``: two JSON files and raw arrays, see
:mod:`jupyter_tracker.columns`) are read and written by the ``cache_*``
functions here; the cache is never uploaded and can always be deleted.

One process at a time appends to a run's ``events.log``: the one holding the
exclusive lock on the run's ``run.lock`` (``flock``; the system releases it
when that process ends, even by ``kill -9``). ``init`` takes it for a new or
resumed run and ``finish`` lets it go; the service takes it before marking a
run crashed, so it never writes over a process that resumed the run.

Layout (see ``docs/format.md``)::

    $TRACKER_DIR/
      settings
      latest-run -> run-20261121_235959-k3x9p2ab
      run-20261121_235959-k3x9p2ab/      (offline runs: offline-run-...)
        run.json  events.log  system.log  summary.json  run.lock
        files/    logs/debug.log  logs/service.log
        cache/    snapshot.json  columns.json  lock  g<gen>-<name>  (a read cache)
"""

from __future__ import annotations

import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

try:
    import fcntl
except ImportError:  # not a POSIX system: runs are not locked
    fcntl = None  # type: ignore[assignment]

import orjson

from .limits import TERMINAL_STATES
from .records import jsonable, restore_floats, write_all
from .summaries import SummaryState

__all__ = [
    "RUN_JSON",
    "EVENTS",
    "SYSTEM",
    "SUMMARY_JSON",
    "SYSTEM_LIVE",
    "SYNC_JSON",
    "LOCK",
    "RunLock",
    "RunLocked",
    "try_lock_run",
    "lock_run",
    "lock_holder",
    "creating",
    "CACHE",
    "create",
    "dir_name",
    "write_atomic",
    "write_json",
    "read_json",
    "read_info",
    "write_info",
    "write_summary",
    "read_final",
    "read_sync",
    "write_sync",
    "write_system_live",
    "read_system_live",
    "find_by_id",
    "list_run_dirs",
    "pid_alive",
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

RUN_JSON = "run.json"
EVENTS = "events.log"
SYSTEM = "system.log"
SUMMARY_JSON = "summary.json"
#: The service's latest system sample (JSON, replaced at every sample) for the live panel.
SYSTEM_LIVE = "system-live.json"
#: Upload progress to a tracking server (never a token).
SYNC_JSON = "sync.json"
#: The read cache of a run (columns of its history, a snapshot of its summary):
#: rebuilt from events.log whenever it is missing, stale or damaged.
CACHE = "cache"

#: The run's lock file (``flock``), with the holder's pid, host, start time and role as JSON.
LOCK = "run.lock"
#: Under ``$TRACKER_DIR``: held while ``init`` finds or creates the directory of a run id.
_INIT_LOCK = ".init.lock"

_RUN_DIR = re.compile(r"^(offline-)?run-(\d{8}_\d{6})-([A-Za-z0-9_-]+)$")


def dir_name(run_id: str, offline: bool, started: float | None = None) -> str:
    """The name of a run's directory: ``[offline-]run-<YYYYmmdd_HHMMSS>-<id>`` (local time of ``started``)."""
    stamp = time.strftime("%Y%m%d_%H%M%S", time.localtime(started))
    return f"{'offline-' if offline else ''}run-{stamp}-{run_id}"


def create(base: Path, run_id: str, offline: bool) -> Path:
    """Make a new run directory under ``base`` and point ``latest-run`` at it.

    Raises
    ------
    PermissionError / OSError
        With a message naming the folder, when it cannot be written.
    """
    name = dir_name(run_id, offline)
    path = base / name
    try:
        (path / "files").mkdir(parents=True, exist_ok=False)
        (path / "logs").mkdir()
        probe = path / ".probe"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise type(exc)(
            exc.errno,
            f"tracker cannot write its run directory under {str(base)!r} "
            f"({exc.strerror}); set TRACKER_DIR or pass dir= to a writable folder",
        ) from None
    link = base / "latest-run"
    try:
        tmp = base / f".latest-run.{os.getpid()}"
        if tmp.is_symlink():
            tmp.unlink()
        tmp.symlink_to(name)
        os.replace(tmp, link)
    except OSError:
        pass  # a convenience only (some filesystems have no symlinks)
    return path


def write_atomic(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Replace the file ``path`` with ``data`` atomically: a temporary file in the
    same folder (created with ``mode``), then a rename. Raises ``OSError``."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        try:
            write_all(fd, data)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        try:
            tmp.unlink()
        except OSError:
            pass
        raise


def write_json(path: Path, value: Any, indent: bool = False) -> None:
    """Replace the JSON file ``path`` atomically; non-finite floats are tagged as in
    the record format. Raises ``OSError``."""
    write_atomic(path, orjson.dumps(jsonable(value), option=orjson.OPT_INDENT_2 if indent else 0))


def read_json(path: Path) -> Any:
    """The JSON value in ``path``, or ``None`` when it is missing or unreadable."""
    try:
        return orjson.loads(Path(path).read_bytes())
    except (OSError, ValueError):
        return None


def write_info(path: Path, info: dict[str, Any]) -> None:
    """Write ``run.json`` atomically."""
    write_json(path / RUN_JSON, info, indent=True)


def read_info(path: Path) -> dict[str, Any] | None:
    info = read_json(path / RUN_JSON)
    return info if isinstance(info, dict) else None


def write_summary(path: Path, state: SummaryState, config: dict[str, Any] | None = None) -> bool:
    """Write ``summary.json`` (a cache of the summary at the end of a run); whether it was written.

    With ``config`` (the run's final config), the file also records the size of
    ``events.log`` it describes: :func:`read_final` then answers a finished run's
    list entry (summary, config, steps) without replaying its log.
    """
    summary = state.as_dict()
    data: dict[str, Any] = {"summary": summary, "_step": state.last_step, "_rows": state.rows}
    if config is not None:
        try:
            data["_events_bytes"] = os.stat(path / EVENTS).st_size
            data["config"] = config
        except OSError:
            pass
    try:
        try:
            write_json(path / SUMMARY_JSON, data)
        except (TypeError, ValueError):  # a value JSON cannot hold: leave it out (and the config: replay for it)
            data["summary"] = {k: v for k, v in summary.items() if _encodable(k, v)}
            data.pop("config", None)
            data.pop("_events_bytes", None)
            write_json(path / SUMMARY_JSON, data)
    except (OSError, TypeError, ValueError):
        return False
    return True


def read_final(path: Path) -> dict[str, Any] | None:
    """``summary.json`` when it still describes the whole of ``events.log``: written
    with the config at the end of the run, and nothing appended since (a resume, a
    summary or config update, a crash mark). ``None`` means: replay the log.

    The dict holds ``summary``, ``config``, ``_step`` (the last step) and ``_rows``.
    """
    data = read_json(Path(path) / SUMMARY_JSON)
    if not isinstance(data, dict) or "config" not in data or not isinstance(data.get("_events_bytes"), int):
        return None
    try:
        if os.stat(Path(path) / EVENTS).st_size != data["_events_bytes"]:
            return None
    except OSError:
        return None
    if not isinstance(data.get("summary"), dict) or not isinstance(data["config"], dict):
        return None
    return restore_floats(data)


def _encodable(key: str, value: Any) -> bool:
    try:
        orjson.dumps({key: jsonable(value)})
    except (TypeError, ValueError):
        return False
    return True


def read_sync(path: Path) -> dict[str, Any]:
    """What ``sync.json`` says (``{}`` when the run was never synced)."""
    data = read_json(Path(path) / SYNC_JSON)
    return data if isinstance(data, dict) else {}


def write_sync(path: Path, data: dict[str, Any]) -> None:
    """Replace ``sync.json``. Raises ``OSError``."""
    write_json(Path(path) / SYNC_JSON, data)


def write_system_live(path: Path, data: dict[str, Any]) -> None:
    """Replace ``system-live.json`` (the service's latest sample). Raises ``OSError``."""
    write_json(Path(path) / SYSTEM_LIVE, data)


def read_system_live(path: Path) -> dict[str, Any] | None:
    data = read_json(Path(path) / SYSTEM_LIVE)
    return data if isinstance(data, dict) else None


def list_run_dirs(base: Path) -> list[Path]:
    """Run directories under ``base``, newest first (by the time in their name, then mtime)."""
    try:
        entries = [p for p in base.iterdir() if _RUN_DIR.match(p.name) and p.is_dir()]
    except OSError:
        return []

    def key(p: Path) -> tuple[str, float]:
        match = _RUN_DIR.match(p.name)
        try:
            mtime = (p / RUN_JSON).stat().st_mtime
        except OSError:
            mtime = 0.0
        return (match.group(2) if match else "", mtime)

    return sorted(entries, key=key, reverse=True)


def find_by_id(base: Path, run_id: str) -> Path | None:
    """The newest directory of the run with this id, or ``None``."""
    for path in list_run_dirs(base):
        match = _RUN_DIR.match(path.name)
        if match and match.group(3) == run_id:
            return path
    return None


def pid_alive(pid: int | None, create_time: float | None = None) -> bool:
    """Whether process ``pid`` still runs (and is the same process, when its start time is known)."""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    if create_time:
        try:
            import psutil

            proc = psutil.Process(pid)
            if abs(proc.create_time() - create_time) > 1.0:
                return False
            if proc.status() == psutil.STATUS_ZOMBIE:
                return False
        except Exception:  # noqa: BLE001 - psutil gone or process vanished
            return False
    return True


# -- the run's lock -------------------------------------------------------------------
class RunLocked(RuntimeError):
    """Another live process records the run (holds its lock)."""

    def __init__(self, message: str, holder: dict[str, Any] | None) -> None:
        super().__init__(message)
        self.holder = holder


class RunLock:
    """The exclusive lock on one run directory, held through an open file.

    ``fd`` is ``None`` when the filesystem cannot lock (``problem`` says why):
    the run is recorded unlocked, as it was before locks existed.
    """

    def __init__(self, path: Path, fd: int | None, problem: str | None = None) -> None:
        self.path = Path(path)
        self.fd = fd
        self.problem = problem

    def release(self) -> None:
        """Let the lock go. Unlocked explicitly, not only closed: a child forked
        meanwhile (a subprocess between fork and exec) shares the lock and would
        otherwise keep it until it closes its copy."""
        fd, self.fd = self.fd, None
        if fd is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_UN)
            except OSError:
                pass
            self._close(fd)

    def forget(self) -> None:
        """In a forked child: close the child's copy of the file, without unlocking
        (the lock is the parent's). Otherwise the copy would hold the lock on after
        the parent died, and its run could not be marked crashed or resumed."""
        fd, self.fd = self.fd, None
        if fd is not None:
            self._close(fd)

    @staticmethod
    def _close(fd: int) -> None:
        try:
            os.close(fd)
        except OSError:
            pass


def try_lock_run(path: Path, role: str = "recording") -> RunLock | None:
    """The run's lock, or ``None`` when another process holds it. Never waits."""
    lock_path = Path(path) / LOCK
    if fcntl is None:
        return RunLock(path, None, "this system has no flock")
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        return RunLock(path, None, f"cannot open {LOCK} ({exc.strerror or exc})")
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    except OSError as exc:  # a filesystem without locks (some network mounts)
        os.close(fd)
        return RunLock(path, None, f"the filesystem cannot lock {LOCK} ({exc.strerror or exc})")
    holder = {"pid": os.getpid(), "host": socket.gethostname(), "since": time.time(), "role": role}
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, orjson.dumps(holder), 0)
    except OSError:
        pass  # a full disk: the lock holds without the note
    return RunLock(path, fd)


def lock_holder(path: Path) -> dict[str, Any] | None:
    """Who holds (or last held) the run's lock, as written in ``run.lock``."""
    holder = read_json(Path(path) / LOCK)
    return holder if isinstance(holder, dict) else None


def lock_run(path: Path, run_id: str, role: str = "recording", wait: float = 5.0) -> RunLock:
    """The run's lock for a process that records it.

    A service marking the run crashed holds it for milliseconds: that is waited
    for (at most ``wait`` seconds). A process recording the run is not.

    Raises
    ------
    RunLocked
        Naming the run, the holder's pid and host, and what to do.
    """
    deadline = time.monotonic() + wait
    while True:
        lock = try_lock_run(path, role)
        if lock is not None:
            return lock
        holder = lock_holder(path)
        if holder is not None and holder.get("role") == "service" and time.monotonic() < deadline:
            time.sleep(0.05)
            continue
        raise RunLocked(_locked_message(run_id, holder), holder)


def _locked_message(run_id: str, holder: dict[str, Any] | None) -> str:
    who = "another process"
    if holder is not None and holder.get("pid"):
        who = f"process {holder['pid']} on host {holder.get('host') or '?'}"
        since = holder.get("since")
        if isinstance(since, (int, float)):
            who += f" (since {time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(since))})"
    return (
        f"run {run_id!r} is being recorded by {who}: one process records a run at a time. "
        "Finish the run there (run.finish() or %tracker finish) or let that process end, then "
        "resume it; or start a new run with another id."
    )


@contextmanager
def creating(base: Path) -> Iterator[None]:
    """Hold ``$TRACKER_DIR``'s init lock while finding or creating a run's directory,
    so that two processes starting the same run id at once make one directory."""
    fd = None
    if fcntl is not None:
        try:
            fd = os.open(Path(base) / _INIT_LOCK, os.O_RDWR | os.O_CREAT, 0o644)
            fcntl.flock(fd, fcntl.LOCK_EX)
        except OSError:
            pass  # no locks here: as before
    try:
        yield
    finally:
        if fd is not None:
            os.close(fd)


# -- the read cache (cache/) ---------------------------------------------------------
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
