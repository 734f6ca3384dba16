"""A run's files: ``/tracker/api/runs/{id}/files`` (the list) and ``.../files/{path}``
(the bytes, streamed; never a path outside the run's ``files/`` folder)."""

from __future__ import annotations

import os

from tornado import web

from .endpoint import TrackerHandler
from .runs import check_run_id

__all__ = ["FilesHandler", "FileHandler"]


class FilesHandler(TrackerHandler):
    @web.authenticated
    async def get(self, run_id: str) -> None:
        source = self.source()
        self.send(await self.call(source.files, check_run_id(run_id)))


class FileHandler(TrackerHandler):
    @web.authenticated
    async def get(self, run_id: str, path: str) -> None:
        source = self.source()
        run_id = check_run_id(run_id)
        size, chunks = await self.call(source.open_file, run_id, path)  # tornado unquoted it
        try:
            self.set_header("Content-Type", "application/octet-stream")
            name = os.path.basename(path).replace('"', "").replace("\\", "")
            self.set_header("Content-Disposition", f'attachment; filename="{name}"')
            if size:
                self.set_header("Content-Length", str(size))
            while True:
                chunk = await self.call(next, chunks, None)
                if chunk is None:
                    break
                self.write(chunk)
                await self.flush()
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
        self.finish(set_content_type="application/octet-stream")
