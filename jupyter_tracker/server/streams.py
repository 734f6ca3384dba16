"""Bodies streamed to disk and files streamed back: what run files and artifact blobs share.

:class:`Incoming` writes a body into a temporary file beside its target, hashing
it as it comes; the caller puts it in place (``os.replace``) only when it is
complete, so a reader never sees half a file. :class:`StreamedHandler` feeds
an ``Incoming`` from tornado's body chunks and sends a stored file back in
pieces.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from .errors import BadRequest
from .handlers import BaseHandler

__all__ = ["Incoming", "StreamedHandler"]

_READ_CHUNK = 1024 * 1024


class Incoming:
    """A body being received into ``<target's folder>/.upload-*.tmp``, hashed (sha256) as it comes."""

    def __init__(self, target: Path) -> None:
        self.target = target
        self.temp = target.with_name(f".upload-{os.getpid()}-{id(self):x}.tmp")
        self._handle = open(self.temp, "wb")  # noqa: SIM115 - closed in finish/abort
        self._hash = hashlib.sha256()
        self.size = 0

    def write(self, chunk: bytes) -> None:
        self._handle.write(chunk)
        self._hash.update(chunk)
        self.size += len(chunk)

    def complete(self) -> str:
        """Close the temporary file; the sha256 of what came."""
        self._handle.close()
        return self._hash.hexdigest()

    def abort(self) -> None:
        try:
            self._handle.close()
        finally:
            try:
                os.unlink(self.temp)
            except OSError:
                pass


class StreamedHandler(BaseHandler):
    """A route whose ``PUT`` body streams into ``self.upload`` (set by ``before_body``),
    finished by its ``finish(engine)`` on a database thread, and whose ``GET`` sends a file."""

    limit = "max_file"
    buffered = False
    upload: Any = None

    def receive(self, chunk: bytes) -> None:
        if self.upload is not None:
            self.upload.write(chunk)

    def drop_body(self) -> None:
        super().drop_body()
        if self.upload is not None:
            self.upload.abort()
            self.upload = None

    async def finish_upload(self) -> Any:
        upload, self.upload = self.upload, None
        if upload is None:
            raise BadRequest("the upload was not started")
        try:
            return await self.context.call(upload.finish, self.context.engine)
        except BaseException:
            upload.abort()
            raise

    async def send_file(self, location: Path, size: int) -> None:
        self.set_header("Content-Type", "application/octet-stream")
        self.set_header("Content-Length", str(size))
        if self.request.method == "HEAD":
            self.finish()
            return
        with open(location, "rb") as handle:
            sent = 0
            while sent < size:
                chunk = handle.read(min(_READ_CHUNK, size - sent))
                if not chunk:
                    break
                sent += len(chunk)
                self.write(chunk)
                await self.flush()
        self.finish()
