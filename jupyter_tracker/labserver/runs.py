"""Listing and reading runs: ``/tracker/api/sources``, ``projects``, ``runs``,
``runs/{id}`` and ``status`` (the current notebook's run)."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import orjson
from tornado import web

from ..limits import STATES
from ..records import restore_floats
from .endpoint import LabError, TrackerHandler
from .sources import ListQuery

__all__ = ["SourcesHandler", "ProjectsHandler", "RunsHandler", "RunHandler", "StatusHandler", "check_run_id"]

_RUN_ID = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.-]{0,127}")


def check_run_id(run_id: str) -> str:
    """``run_id`` when it is a valid run id (the tracking server's rule), else a 400."""
    if not _RUN_ID.fullmatch(run_id):
        raise LabError(400, "invalid run id: use 1 to 128 letters, digits, '_', '-' or '.' (not first)")
    return run_id


class SourcesHandler(TrackerHandler):
    """``[{"id": "local", "label", "dirs"}, {"id": "server", "label", "host"}]``: where runs can be read."""

    @web.authenticated
    async def get(self) -> None:
        self.send([source.describe() for source in await self.call(self.sources.all)])


class ProjectsHandler(TrackerHandler):
    @web.authenticated
    async def get(self) -> None:
        source = self.source()
        self.send(await self.call(source.projects))


class RunsHandler(TrackerHandler):
    """``GET /runs?project=&state=&filters=&order=&limit=&offset=``: the tracking server's listing."""

    @web.authenticated
    async def get(self) -> None:
        source = self.source()
        state = self.get_query_argument("state", None) or None
        if state is not None and state not in STATES:
            raise LabError(400, f"state must be one of {', '.join(STATES)}")
        raw = self.get_query_argument("filters", None)
        filters = None
        if raw:
            try:
                filters = restore_floats(orjson.loads(raw))
            except orjson.JSONDecodeError as exc:
                raise LabError(400, f"filters is not valid JSON: {exc}") from None
            if not isinstance(filters, dict):
                raise LabError(400, "filters must be a JSON object")
        query = ListQuery(project=self.get_query_argument("project", None) or None, state=state, filters=filters,
                          order=self.get_query_argument("order", None) or None,
                          limit=self.int_argument("limit", 1000, 1, 10_000),
                          offset=self.int_argument("offset", 0, 0, 2**31))
        body, notes = await self.call(source.runs_json, query)
        self.send(body, {"X-Tracker-Notes": orjson.dumps(notes).decode()} if notes else None)


class RunHandler(TrackerHandler):
    @web.authenticated
    async def get(self, run_id: str) -> None:
        source = self.source()
        self.send(await self.call(source.run, check_run_id(run_id)))


class StatusHandler(TrackerHandler):
    """``GET /status?path=<notebook>&kernel=<id>``: ``{"run": <run or null>, "live": n}``: the
    run the notebook's kernel records now (or recorded last), and how many local runs are live."""

    @web.authenticated
    async def get(self) -> None:
        path = self.get_query_argument("path", None) or None
        kernel = self.get_query_argument("kernel", None) or None
        pid = self._kernel_pid(kernel) if kernel else None
        notebook = self._absolute(path) if path else None
        if notebook is not None:
            self.sources.notebook_folders.add(Path(notebook).parent)
        self.send(await self.call(self.sources.local.status, notebook, pid))

    def _kernel_pid(self, kernel_id: str) -> int | None:
        try:
            manager: Any = self.kernel_manager.get_kernel(kernel_id)
        except KeyError:
            return None
        provisioner = getattr(manager, "provisioner", None)
        process = getattr(provisioner, "process", None)
        return getattr(process, "pid", None)

    def _absolute(self, path: str) -> str:
        """The notebook's file, as its kernel sees it (``JPY_SESSION_NAME``)."""
        root = self.settings.get("server_root_dir") or "."
        return os.path.normpath(os.path.join(os.path.expanduser(root), path.lstrip("/")))
