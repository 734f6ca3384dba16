"""Run directories: naming, creation, ``run.json``, and finding runs on disk.

Layout (see ``docs/format.md``)::

    $TRACKER_DIR/
      settings
      latest-run -> run-20261121_235959-k3x9p2ab
      run-20261121_235959-k3x9p2ab/      (offline runs: offline-run-...)
        run.json  events.log  system.log  summary.json
        files/    logs/debug.log  logs/service.log
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import Any

import orjson

from .records import jsonable

__all__ = [
    "RUN_JSON",
    "EVENTS",
    "SYSTEM",
    "SUMMARY_JSON",
    "SYSTEM_LIVE",
    "TERMINAL_STATES",
    "create",
    "read_info",
    "write_info",
    "update_info",
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
#: States after which nothing more is logged (``running`` and ``service-stopped`` are live).
TERMINAL_STATES = ("finished", "failed", "crashed")

_RUN_DIR = re.compile(r"^(offline-)?run-(\d{8}_\d{6})-([A-Za-z0-9_-]+)$")


def create(base: Path, run_id: str, offline: bool) -> Path:
    """Make a new run directory under ``base`` and point ``latest-run`` at it.

    Raises
    ------
    PermissionError / OSError
        With a message naming the folder, when it cannot be written.
    """
    stamp = time.strftime("%Y%m%d_%H%M%S")
    name = f"{'offline-' if offline else ''}run-{stamp}-{run_id}"
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


def write_info(path: Path, info: dict[str, Any]) -> None:
    """Write ``run.json`` atomically (temporary file, then rename)."""
    target = path / RUN_JSON
    tmp = path / f".{RUN_JSON}.{os.getpid()}.tmp"
    tmp.write_bytes(orjson.dumps(jsonable(info), option=orjson.OPT_INDENT_2))
    os.replace(tmp, target)


def read_info(path: Path) -> dict[str, Any] | None:
    try:
        info = orjson.loads((path / RUN_JSON).read_bytes())
    except (OSError, ValueError):
        return None
    return info if isinstance(info, dict) else None


def update_info(path: Path, **changes: Any) -> dict[str, Any]:
    info = read_info(path) or {}
    info.update(changes)
    info["updated_at"] = time.time()
    write_info(path, info)
    return info


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
