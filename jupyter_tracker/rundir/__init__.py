"""Run directories: the one reader and writer of the files of a run.

Naming, creation, finding runs on disk, the run's lock, and every JSON file
of a run (``run.json``, ``summary.json``, ``sync.json``, ``system-live.json``),
each written through :func:`write_json` (a temporary file, then a rename), so a
reader never sees half a file. The logs (``events.log``, ``system.log``) are
appended to through :mod:`jupyter_tracker.records`. The files of the read
cache (``cache/``: two JSON files and raw arrays, see
:mod:`jupyter_tracker.columns`) are read and written by the ``cache_*``
functions here; the cache is never uploaded and can always be deleted.

The run's lock lives in :mod:`.lock` and the read cache's files in
:mod:`.cache`; every name is importable from ``rundir``.

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
import threading
import time
from pathlib import Path
from typing import Any

import orjson

from ..records import jsonable, restore_floats, write_all
from ..summaries import SummaryState

__all__ = [
    "RUN_JSON",
    "EVENTS",
    "SYSTEM",
    "SUMMARY_JSON",
    "SYSTEM_LIVE",
    "SYNC_JSON",
    "LOCK",
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


# The run's lock and the read cache use the names above: imported after them.
from . import cache, lock  # noqa: E402
from .cache import *  # noqa: E402, F403 - every name of cache.__all__
from .lock import *  # noqa: E402, F403 - every name of lock.__all__

__all__ += cache.__all__ + lock.__all__
