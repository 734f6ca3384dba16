"""The request handler every endpoint derives from: auth, bodies, JSON errors.

Bodies are streamed (``stream_request_body``) so that limits hold before a
body is in memory. An error found before the body arrives (bad token, body
too large, unknown run ...) is answered once the body has been read and
dropped, so the client always gets the response rather than a reset
connection; only a body announced as much larger than the limit is refused
at once, and its connection closed.

Nothing here logs a header, a body or a token; access lines hold the method,
the path and the status.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from tornado.web import HTTPError, RequestHandler, stream_request_body

from .access import PUBLIC, Grant
from .context import ServerContext
from .errors import ApiError, BadRequest, TooLarge, Unauthorized
from .payloads import dumps, loads
from .runs import check_run_id
from .tokens import check_token

__all__ = ["BaseHandler", "NotFoundHandler", "log_request", "log"]

log = logging.getLogger("jupyter_tracker.server")

#: An over-limit body is still read (and dropped) up to this much past the limit.
_DRAIN_MAX = 64 * 1024 * 1024


def log_request(handler: RequestHandler) -> None:
    """Tornado's access log without the query string: ``status METHOD path ms``."""
    status = handler.get_status()
    level = logging.INFO if status < 400 else logging.WARNING if status < 500 else logging.ERROR
    log.log(level, "%d %s %s %.1fms", status, handler.request.method, handler.request.path,
            1000.0 * handler.request.request_time())


@stream_request_body
class BaseHandler(RequestHandler):
    """JSON in and out; subclasses define ``do_get``/``do_put``/``do_post``.

    Class attributes say what a route needs: ``auth`` (a token for writes,
    and for reads unless the server is public: :attr:`grant` then says what
    the token may do) and ``limit`` (the settings attribute that bounds the
    body).
    """

    auth = True
    #: Whether ``GET`` needs no token on a ``--public`` server.
    public_reads = True
    limit = "max_body"
    #: Whether the body is kept in memory (``receive``); file uploads stream to disk.
    buffered = True

    def initialize(self, context: ServerContext) -> None:
        self.context = context
        self.settings_ = context.settings
        self._body = bytearray()
        self._size = 0
        self._error: ApiError | None = None
        #: What the request may do (set by ``prepare`` on routes that need auth).
        self.grant: Grant = PUBLIC
        self._limit = getattr(context.settings, self.limit)

    # -- before the body --------------------------------------------------------
    async def prepare(self) -> None:
        self.context.active.add(self)
        announced = self._announced_length()
        connection = self.request.connection
        if announced is not None and announced > self._limit + min(self._limit, _DRAIN_MAX):
            connection.set_max_body_size(announced)  # answered now; tornado then closes the connection
            raise self._too_large()
        if connection is not None:
            connection.set_max_body_size(self._limit + min(self._limit, _DRAIN_MAX))
        if announced is not None and announced > self._limit:
            self._error = self._too_large()
        elif announced and self.buffered:
            self._body = bytearray(announced)  # filled in place: the body is held once
        if self.auth:
            if self.public_reads and self.settings_.public and self.request.method in ("GET", "HEAD"):
                self.grant = PUBLIC
            else:
                grant = await self._authorized()
                if grant is None:
                    self._error = Unauthorized()
                else:
                    self.grant = grant
        if self._error is None:
            try:
                await self.before_body(*self.path_args)
            except ApiError as exc:
                self._error = exc

    def _announced_length(self) -> int | None:
        raw = self.request.headers.get("Content-Length")
        if raw is None:
            return None
        try:
            return int(raw.split(",")[0].strip())
        except ValueError:
            return None

    def _too_large(self) -> TooLarge:
        return TooLarge(f"the body is larger than the limit of {self._limit} bytes")

    async def _authorized(self) -> Grant | None:
        """What the request's token may do; ``None`` without a valid one.

        The scheme is case-insensitive (``Bearer``, ``bearer``), as RFC 7235 has it.
        """
        header = self.request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        return await self.context.auth(check_token, self.context.engine, token.strip())

    async def before_body(self, *args: str) -> None:
        """Checks a route can make before its body arrives (run exists, path is valid ...)."""

    # -- the body ---------------------------------------------------------------
    def data_received(self, chunk: bytes) -> None:
        if self._error is not None:
            return
        self._size += len(chunk)
        if self._size > self._limit:
            self._error = self._too_large()
            self.drop_body()
            return
        self.receive(chunk)

    def receive(self, chunk: bytes) -> None:
        """Keep a piece of the body (subclasses may stream it elsewhere)."""
        start = self._size - len(chunk)
        if start + len(chunk) <= len(self._body):
            self._body[start : start + len(chunk)] = chunk
        else:
            self._body += chunk

    def drop_body(self) -> None:
        """Forget what was received of a body that will not be used."""
        self._body = bytearray()

    def body_bytes(self) -> bytearray:
        """The body as received (a body shorter than announced is cut to what came)."""
        data, self._body = self._body, bytearray()
        if len(data) > self._size:
            del data[self._size :]
        return data

    async def json_body(self) -> Any:
        """The decoded JSON body (400 when it is empty or malformed)."""
        data = self.body_bytes()
        if not data.strip():
            raise BadRequest("the request needs a JSON body")
        if len(data) < 65536:
            return loads(data)
        return await self.context.call(loads, data)

    # -- dispatch -----------------------------------------------------------------
    async def _dispatch(self, name: str, args: tuple[str, ...]) -> None:
        if self._error is not None:
            self.drop_body()
            raise self._error
        method = getattr(self, name, None)
        if method is None:
            raise ApiError("method not allowed", 405)
        result = await method(*args)
        if result is not None and not self._finished:
            self.send_json(result)

    async def get(self, *args: str) -> None:
        await self._dispatch("do_get", args)

    async def delete(self, *args: str) -> None:
        await self._dispatch("do_delete", args)

    async def head(self, *args: str) -> None:
        """Like ``GET`` without the body (tornado drops what is written)."""
        await self._dispatch("do_get", args)

    async def put(self, *args: str) -> None:
        await self._dispatch("do_put", args)

    async def post(self, *args: str) -> None:
        await self._dispatch("do_post", args)

    def on_finish(self) -> None:
        self.context.active.discard(self)

    def on_connection_close(self) -> None:
        self.context.active.discard(self)
        self.drop_body()
        super().on_connection_close()

    # -- answers --------------------------------------------------------------------
    def send_json(self, value: Any, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(value if isinstance(value, bytes) else dumps(value))

    def run_id(self, raw: str) -> str:
        return check_run_id(raw)

    def now(self) -> float:
        return time.time()

    def int_argument(self, name: str, default: int | None, minimum: int = 0, maximum: int = 2**63 - 1) -> int | None:
        raw = self.get_query_argument(name, None)
        if raw is None or raw == "":
            return default
        try:
            value = int(raw)
        except ValueError:
            raise BadRequest(f"{name} must be an integer") from None
        if not minimum <= value <= maximum:
            raise BadRequest(f"{name} must be between {minimum} and {maximum}")
        return value

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, ApiError):
            body = exc.body()
        elif isinstance(exc, HTTPError):
            body = {"error": exc.reason or self._reason or "error"}
        else:
            body = {"error": "internal server error" if status_code >= 500 else self._reason}
        self.set_header("Content-Type", "application/json")
        self.finish(dumps(body))

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        if isinstance(value, HTTPError):
            return  # an answer, not a fault
        log.error("error in %s %s", self.request.method, self.request.path, exc_info=(typ, value, tb))


class NotFoundHandler(BaseHandler):
    """Any path outside the API: a JSON 404."""

    auth = False

    async def _dispatch(self, name: str, args: tuple[str, ...]) -> None:
        raise ApiError("no such endpoint", 404)
