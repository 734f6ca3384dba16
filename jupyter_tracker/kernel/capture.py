"""Code capture: git SHA and ``diff.patch``, and the notebook's executed cells.

Skipped entirely when ``TRACKER_DISABLE_CODE`` is set.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from typing import TYPE_CHECKING, Any

from .. import records, settings
from .notices import ipython

if TYPE_CHECKING:
    from .run import Run

__all__ = ["start", "notebook_path", "as_text"]


def as_text(path: str) -> str:
    """A path from the system as valid UTF-8 text: bytes no encoding decodes (kept by
    Python as lone surrogates) become U+FFFD, so run.json and the log can hold it."""
    return path.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def notebook_path() -> str | None:
    """The notebook's path when the frontend tells the kernel (JupyterLab, VS Code)."""
    for name in ("JPY_SESSION_NAME", "__vsc_ipynb_file__"):
        value = os.environ.get(name)
        if value:
            return value
    shell = ipython()
    if shell is not None:
        value = shell.user_ns.get("__vsc_ipynb_file__")
        if value:
            return str(value)
    return None


def _git(args: list[str], cwd: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, timeout=10, stdin=subprocess.DEVNULL
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if done.returncode != 0:
        return None
    return done.stdout.decode("utf-8", "replace")


def _capture_git(run: Run) -> None:
    cwd = os.getcwd()
    sha = _git(["rev-parse", "HEAD"], cwd)
    if not sha:
        return
    meta: dict[str, Any] = {"git": {"sha": sha.strip()}}
    remote = _git(["config", "--get", "remote.origin.url"], cwd)
    if remote:
        meta["git"]["remote"] = remote.strip()
    diff = _git(["diff", "HEAD"], cwd)
    if diff:
        code = run.path / "files" / "code"
        code.mkdir(parents=True, exist_ok=True)
        (code / "diff.patch").write_text(diff, encoding="utf-8")
        meta["git"]["dirty"] = True
    try:
        run.record(records.META, meta)
    except ValueError:
        pass  # finished already


def _save_cells(run: Run, state: str) -> None:
    shell = ipython()
    if shell is None:
        return
    cells = shell.user_ns.get("In") or []
    text = "".join(f"# In[{i}]:\n{cell}\n\n" for i, cell in enumerate(cells) if i and cell)
    if text:
        code = run.path / "files" / "code"
        code.mkdir(parents=True, exist_ok=True)
        (code / "cells.py").write_text(text, encoding="utf-8")


def start(run: Run, enabled: bool | None = None) -> None:
    """Capture code in the background (git can be slow) and the cells at finish.

    ``enabled`` (``init(save_code=...)``) overrides ``TRACKER_DISABLE_CODE``.
    """
    if enabled is False or (enabled is None and settings.code_disabled()):
        return
    path = notebook_path()
    if path:
        run.update_info({"notebook": as_text(path)}, save=False)
    else:
        program = as_text(os.path.abspath(sys.argv[0])) if sys.argv and sys.argv[0] else None
        run.update_info({"program": program}, save=False)
    thread = threading.Thread(target=_capture_git, args=(run,), name="tracker-git", daemon=True)
    thread.start()
    run.on_finish(lambda state: _save_cells(run, state))
