"""``run.save()`` and ``run.log_code()``: copying files into the run's ``files/`` folder."""

from __future__ import annotations

import glob
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import records

if TYPE_CHECKING:
    from .run import Run

__all__ = ["save", "save_code", "POLICIES"]

POLICIES = ("live", "now", "end")


class _Watched:
    """Files saved with ``policy="live"`` (copied again when they change) or ``"end"``."""

    def __init__(self, run: Run) -> None:
        self.run = run
        self.live: dict[Path, tuple[str, float]] = {}  # source -> (name, mtime copied)
        self.end: list[tuple[str, str | None]] = []

    def tick(self) -> None:
        for source, (name, mtime) in list(self.live.items()):
            try:
                current = source.stat().st_mtime
            except OSError:
                continue
            if current != mtime:
                _copy(self.run, source, name)
                self.live[source] = (name, current)

    def at_finish(self, state: str) -> None:
        """Copy and record every ``policy="end"`` file (``finish()`` runs this while the
        run still records); problems go to the run's notices, and the next file is tried."""
        self.tick()
        for pattern, base in self.end:
            matches = _matches(pattern, base)
            if not matches:
                self.run.notices.warn(f"save({pattern!r}, policy='end'): no file matches it at finish", f"save-end:{pattern}")
            for source, name in matches:
                if _copy(self.run, source, name):
                    self.run.record(records.FILE, {"path": name, "policy": "end"})


def _watched(run: Run) -> _Watched:
    watched = run.companions.files
    if watched is None:
        watched = _Watched(run)
        run.companions.files = watched
        run.on_tick(watched.tick)
        run.on_finish(watched.at_finish, first=True)
    return watched


def _matches(pattern: str, base_path: str | None) -> list[tuple[Path, str]]:
    paths = sorted(glob.glob(pattern, recursive=True))
    out = []
    for found in paths:
        source = Path(found)
        if not source.is_file():
            continue
        if base_path is not None:
            name = os.path.relpath(source, base_path)
        elif source.is_absolute():
            name = source.name
        else:
            name = os.path.normpath(found)
        if name.startswith(".."):
            name = source.name
        out.append((source, name))
    return out


def _copy(run: Run, source: Path, name: str) -> bool:
    """Copy ``source`` to ``files/name``; whether it worked (a failure is reported)."""
    if not name.isascii():
        try:
            name.encode("utf-8")
        except UnicodeEncodeError:
            run.notices.warn(f"save(): the file name {name!r} is not valid UTF-8; not saved", f"save:{name!r}")
            return False
    target = run.path / "files" / name
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
    except OSError as exc:
        run.notices.warn(f"save(): cannot copy {str(source)!r} ({exc.strerror or exc})", f"save:{source}")
        return False
    return True


def save(run: Run, glob_str: str, base_path: str | None, policy: str) -> list[str]:
    if not isinstance(glob_str, (str, os.PathLike)):
        raise TypeError(f"save() takes a path or glob string, got {type(glob_str).__name__}")
    if policy not in POLICIES:
        raise ValueError(f"save(policy={policy!r}): use one of {', '.join(POLICIES)}")
    pattern = os.fspath(glob_str)
    watched = _watched(run)
    if policy == "end":
        watched.end.append((pattern, base_path))
        return []
    saved = []
    for source, name in _matches(pattern, base_path):
        if not _copy(run, source, name):
            continue
        if policy == "live":
            try:
                watched.live[source] = (name, source.stat().st_mtime)
            except OSError:
                pass
        run.record(records.FILE, {"path": name, "policy": policy})
        saved.append(name)
    return saved


#: Folders ``log_code()`` never walks into (besides hidden ones and the runs' own folder).
_SKIPPED_DIRS = {"__pycache__", "node_modules", "site-packages", "venv", "wandb"}


def _is_python(path: str, root: str) -> bool:
    return path.endswith(".py")


def save_code(run: Run, root: str, include_fn: Any = None, exclude_fn: Any = None) -> list[str]:
    """``run.log_code()``: copy the source files under ``root`` to ``files/code/`` now.

    ``include_fn(path, root)`` picks files (default: ``*.py``); ``exclude_fn(path, root)``
    leaves some out. Hidden folders, virtual environments and the runs' own folder
    are never walked. Returns the saved names (relative to ``files/``).
    """
    include = include_fn or _is_python
    root_path = Path(root).resolve()
    if not root_path.is_dir():
        raise ValueError(f"log_code(root={root!r}): not a folder")
    runs_dir = run.path.resolve().parent
    saved = []
    for folder, dirs, names in os.walk(root_path):
        here = Path(folder)
        dirs[:] = sorted(
            d for d in dirs
            if not d.startswith(".") and d not in _SKIPPED_DIRS and (here / d).resolve() != runs_dir
            and not (here / d / "pyvenv.cfg").exists()
        )
        for file_name in sorted(names):
            source = here / file_name
            text = str(source)
            if not include(text, str(root_path)) or (exclude_fn is not None and exclude_fn(text, str(root_path))):
                continue
            name = "code/" + source.relative_to(root_path).as_posix()
            if _copy(run, source, name):
                run.record(records.FILE, {"path": name, "policy": "now"})
                saved.append(name)
    return saved
