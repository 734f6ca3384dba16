"""The routes of ``/tracker/api/`` (joined to the Jupyter server's ``base_url``) and
the folders of local runs.

| route | answer |
|---|---|
| ``sources`` | where runs can be read: ``local`` and, when configured, ``server`` |
| ``projects``, ``runs``, ``runs/{id}`` | as the tracking server (``?source=local|server``) |
| ``runs/{id}/history``, ``runs/{id}/system`` | as the tracking server, at most 2,000 points per metric |
| ``runs/{id}/files``, ``runs/{id}/files/{path}`` | the list, and one file's bytes |
| ``compare?ids=a,b`` | ``{run_id: history}`` |
| ``status?path=&kernel=`` | the notebook's run and the number of live runs |
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from jupyter_server.utils import url_path_join

from .files import FileHandler, FilesHandler
from .history import CompareHandler, HistoryHandler, SystemHandler
from .localruns import LocalSource
from .runs import (
    ProjectsHandler,
    RunHandler,
    RunsHandler,
    SourcesHandler,
    StatusHandler,
)
from .sources import Sources

__all__ = ["API", "setup", "run_folders"]

API = "tracker/api"
_RUN = r"/runs/([^/]+)"


def run_folders(root: Path, notebook_folders: list[Path] | None = None) -> list[Path]:
    """The folders of local runs for a Jupyter server rooted at ``root``.

    ``$TRACKER_DIR`` when it is set (relative to ``root``); else ``<root>/tracker``,
    the ``tracker`` folders one level below the root (a notebook in
    ``notebooks/`` writes to ``notebooks/tracker``, as its kernel runs there),
    and the ``tracker`` folder beside each notebook the browser asked about
    (``notebook_folders``). Folders that do not exist are left out.
    """
    env = os.environ.get("TRACKER_DIR", "").strip()
    if env:
        return [root / os.path.expanduser(env)]
    found = [root / "tracker"]
    try:
        with os.scandir(root) as entries:
            for entry in entries:
                if not entry.name.startswith(".") and entry.is_dir(follow_symlinks=False):
                    found.append(Path(entry.path) / "tracker")
    except OSError:
        pass
    found += [folder / "tracker" for folder in notebook_folders or []]
    return [path for path in dict.fromkeys(found) if path.is_dir()]


def setup(serverapp: Any) -> None:
    """Add the routes to ``serverapp``'s web app."""
    web_app = serverapp.web_app
    root = Path(os.path.expanduser(serverapp.root_dir)).resolve()
    notebooks: set[Path] = set()

    def folders() -> list[Path]:
        return run_folders(root, sorted(notebooks))

    sources = Sources(LocalSource(folders), notebooks)
    base = url_path_join(web_app.settings["base_url"], API)
    handlers = [
        (r"/sources", SourcesHandler),
        (r"/projects", ProjectsHandler),
        (r"/runs", RunsHandler),
        (_RUN, RunHandler),
        (_RUN + r"/history", HistoryHandler),
        (_RUN + r"/system", SystemHandler),
        (_RUN + r"/files", FilesHandler),
        (_RUN + r"/files/(.+)", FileHandler),
        (r"/compare", CompareHandler),
        (r"/status", StatusHandler),
    ]
    web_app.add_handlers(".*$", [(base + pattern, handler, {"sources": sources}) for pattern, handler in handlers])
    serverapp.log.info("jupyter-tracker: /%s/ serves the runs under %s", API,
                       ", ".join(str(p) for p in folders()) or f"{root / 'tracker'} (none yet)")
