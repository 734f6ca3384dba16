"""Run files: bytes on disk under ``<data-dir>/files/<run_id>/<path>``, metadata in the database.

Paths come from URLs, so they are checked before they touch the disk: no
absolute paths, no ``..``, no NUL or other control characters, no
backslashes; ``.`` and empty segments are dropped (``a//./b`` is ``a/b``).
An upload streams into a temporary file beside its target and replaces it
when complete, so a reader never sees half a file.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine

from ..limits import MAX_FILE_NAME_BYTES, MAX_FILE_PATH
from . import schema
from .database import dialect_insert, reading, writing
from .errors import Conflict, NotFound
from .runs import find_run_pk
from .streams import Incoming

__all__ = ["clean_path", "Upload", "list_files", "file_location", "stored_file"]


def clean_path(path: str) -> str:
    """The normalised relative form of ``path``; ``ValueError`` when it is unsafe."""
    if not path:
        raise ValueError("empty file path")
    if len(path) > MAX_FILE_PATH:
        raise ValueError(f"file path longer than {MAX_FILE_PATH} characters")
    if any(ord(c) < 32 or c == "\x7f" for c in path):
        raise ValueError("file path with a NUL or control character")
    if "\\" in path:
        raise ValueError("file path with a backslash")
    if path.startswith("/"):
        raise ValueError("absolute file path")
    parts = [part for part in path.split("/") if part not in ("", ".")]
    if any(part == ".." for part in parts):
        raise ValueError("file path with '..'")
    if not parts:
        raise ValueError("empty file path")
    if any(len(part.encode("utf-8", "surrogatepass")) > MAX_FILE_NAME_BYTES for part in parts):
        raise ValueError(f"file name longer than {MAX_FILE_NAME_BYTES} bytes")
    return "/".join(parts)


def file_location(files_dir: Path, run_id: str, path: str) -> Path:
    """Where the bytes of a (clean) path of a run live."""
    return files_dir / run_id / path


class Upload(Incoming):
    """One file being received: written to a temporary file, hashed as it comes."""

    def __init__(self, files_dir: Path, run_id: str, path: str) -> None:
        self.run_id = run_id
        self.path = path
        target = file_location(files_dir, run_id, path)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            raise Conflict(f"{path!r} is inside a path that is a file") from None
        super().__init__(target)

    def finish(self, engine: Engine) -> dict[str, Any]:
        """Put the file in place and record it; return its entry."""
        sha256 = self.complete()
        try:
            os.replace(self.temp, self.target)
        except (IsADirectoryError, NotADirectoryError, FileExistsError):
            self.abort()
            raise Conflict(f"{self.path!r} is a directory of other files") from None
        entry = {"path": self.path, "size": self.size, "sha256": sha256, "uploaded_at": time.time()}
        table = schema.files
        with writing(engine) as conn:
            run_pk = find_run_pk(conn, self.run_id)
            insert = dialect_insert(conn)(table).values(run_pk=run_pk, **entry)
            conn.execute(
                insert.on_conflict_do_update(
                    index_elements=[table.c.run_pk, table.c.path],
                    set_={k: insert.excluded[k] for k in ("size", "sha256", "uploaded_at")},
                )
            )
        return entry


def list_files(engine: Engine, run_id: str, check: Callable[[str], None] | None = None) -> list[dict[str, Any]]:
    """The run's files (recorded by the run and/or uploaded), by path; ``check(project)`` may refuse."""
    table = schema.files
    with reading(engine) as conn:
        run_pk = find_run_pk(conn, run_id, check)
        rows = conn.execute(
            select(table.c.path, table.c.size, table.c.sha256, table.c.policy, table.c.logged_at, table.c.uploaded_at)
            .where(table.c.run_pk == run_pk)
            .order_by(table.c.path)
        )
        return [{**row._mapping, "uploaded": row.size is not None} for row in rows]


def stored_file(
    engine: Engine, files_dir: Path, run_id: str, path: str, check: Callable[[str], None] | None = None
) -> tuple[Path, int]:
    """The location and size of an uploaded file; :class:`NotFound` when it has none."""
    table = schema.files
    with reading(engine) as conn:
        run_pk = find_run_pk(conn, run_id, check)
        size = conn.execute(
            select(table.c.size).where(table.c.run_pk == run_pk, table.c.path == path)
        ).scalar()
    location = file_location(files_dir, run_id, path)
    if size is None or not location.is_file():
        raise NotFound(f"run {run_id!r} has no file {path!r}")
    return location, location.stat().st_size
