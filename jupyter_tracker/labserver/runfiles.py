"""A run's saved files (``files/`` in its directory): listing and reading, never
outside that folder.

A path from the browser is relative to ``files/``: an empty path, an absolute
one, a ``..`` segment, a backslash or a control character is refused (400),
and the file it names must resolve, symlinks followed, inside ``files/``
(else 404, as for a file that does not exist). Listing skips what a download
would refuse.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .sources import BadInput, NotFound

__all__ = ["FILES", "CHUNK", "check_path", "resolve", "list_files", "open_file"]

FILES = "files"
CHUNK = 1024 * 1024


def check_path(path: str) -> str:
    """``path`` normalised (``a//./b`` is ``a/b``) when it is an acceptable relative path."""
    if not isinstance(path, str) or not path:
        raise BadInput("a file path is needed")
    if any(ord(c) < 32 or ord(c) == 127 for c in path) or "\\" in path:
        raise BadInput("bad file path: no backslashes or control characters")
    if path.startswith("/"):
        raise BadInput("bad file path: it must be relative to the run's files/ folder")
    parts = [p for p in path.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise BadInput("bad file path: '..' is not allowed")
    if not parts:
        raise BadInput("a file path is needed")
    return "/".join(parts)


def resolve(run_dir: Path, path: str) -> Path:
    """The real location of ``files/<path>`` of a run, inside its ``files/`` folder."""
    relative = check_path(path)
    base = os.path.realpath(run_dir / FILES)
    target = os.path.realpath(os.path.join(base, relative))
    if os.path.commonpath([base, target]) != base or not os.path.isfile(target):
        raise NotFound(f"the run has no file {relative!r}")
    return Path(target)


def list_files(run_dir: Path) -> list[dict[str, Any]]:
    """``[{"path", "size", "sha256", "policy", "logged_at", "uploaded_at", "uploaded"}]`` by path
    (the tracking server's shape; ``uploaded_at`` is the file's mtime here)."""
    base = run_dir / FILES
    real_base = os.path.realpath(base)
    out = []
    for folder, dirs, names in os.walk(base):
        dirs.sort()
        for name in names:
            location = os.path.join(folder, name)
            real = os.path.realpath(location)
            if os.path.commonpath([real_base, real]) != real_base or not os.path.isfile(real):
                continue
            st = os.stat(real)
            out.append({"path": os.path.relpath(location, base).replace(os.sep, "/"), "size": st.st_size,
                        "sha256": None, "policy": None, "logged_at": None, "uploaded_at": st.st_mtime,
                        "uploaded": True})
    return sorted(out, key=lambda f: f["path"])


def _chunks(handle: Any, size: int) -> Iterator[bytes]:
    with handle:
        sent = 0
        while sent < size:
            chunk = handle.read(min(CHUNK, size - sent))
            if not chunk:
                break
            sent += len(chunk)
            yield chunk


def open_file(run_dir: Path, path: str) -> tuple[int, Iterator[bytes]]:
    """``(size, chunks)`` of ``files/<path>``."""
    location = resolve(run_dir, path)
    handle = open(location, "rb")
    size = os.fstat(handle.fileno()).st_size
    return size, _chunks(handle, size)
