"""Running the server: the tornado application, worker processes, clean stops.

One process (``--workers 1``) serves alone. With ``--workers N`` the parent
binds the listening socket, migrates the database, then forks N workers that
accept on the shared socket; it forwards SIGTERM/SIGINT to them, restarts a
worker that dies, and exits when they all have. A worker whose parent is
killed stops by itself within a second.

A worker stops cleanly on SIGTERM/SIGINT: it stops accepting, lets the
requests under way finish (a few seconds at most), waits for the database
threads, and closes its connections.
"""

from __future__ import annotations

import asyncio
import gc
import os
import signal
import sys
import time
import traceback
from socket import socket

from tornado.httpserver import HTTPServer
from tornado.ioloop import PeriodicCallback
from tornado.netutil import bind_sockets
from tornado.web import Application

from .context import ServerContext, connections
from .database import open_engine
from .endpoints import ROUTES
from .handlers import NotFoundHandler, log, log_request
from .logs import setup_logging
from .migrations import migrate
from .runs import sweep_crashed
from .settings import ServerSettings, display_url

__all__ = ["make_app", "serve"]

#: How long a stopping worker waits for requests under way.
STOP_GRACE = 5.0
#: The request line and headers may hold this many bytes (``history?keys=`` with many keys).
MAX_HEADER = 1 << 20


def make_app(context: ServerContext) -> Application:
    """The tornado application of one worker."""
    handlers = [(pattern, handler, {"context": context}) for pattern, handler in ROUTES]
    return Application(
        handlers,
        default_handler_class=NotFoundHandler,
        default_handler_args={"context": context},
        log_function=log_request,
        serve_traceback=False,
        compress_response=False,
    )


def serve(settings: ServerSettings) -> int:
    """Migrate the database, listen, print the listening line, serve until stopped."""
    setup_logging()
    engine = open_engine(settings.db_url, pool_size=1)
    try:
        before, after = migrate(engine)
    finally:
        engine.dispose()
    if after != before:
        log.info("database schema migrated from version %d to %d", before, after)
    settings.files_dir.mkdir(parents=True, exist_ok=True)
    sockets = bind_sockets(settings.port, address=settings.host)
    port = sockets[0].getsockname()[1]
    host = f"[{settings.host}]" if ":" in settings.host else settings.host
    print(f"tracker server listening on http://{host}:{port} ({display_url(settings.db_url)})", flush=True)
    if settings.workers <= 1:
        asyncio.run(_worker(settings, sockets, None))
        return 0
    return _supervise(settings, sockets)


async def _worker(settings: ServerSettings, sockets: list[socket], parent: int | None) -> None:
    # A batch holds ~10^4 fresh lists and dicts: with the default thresholds the
    # cyclic collector would walk every surviving object several times a batch.
    gc.set_threshold(100_000, 50, 100)
    # One connection per database thread, none more: a thread holds one at a time.
    context = ServerContext(settings, open_engine(settings.db_url, pool_size=connections(settings), overflow=0))
    server = HTTPServer(
        make_app(context),
        max_body_size=max(settings.max_body, settings.max_file) * 2,
        max_header_size=MAX_HEADER,
        chunk_size=256 * 1024,
        idle_connection_timeout=600,
    )
    server.add_sockets(sockets)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    sweep_every = min(max(settings.heartbeat_timeout / 4, 0.2), 10.0)
    sweeping = False

    async def sweep() -> None:
        nonlocal sweeping
        if sweeping:
            return
        sweeping = True
        try:
            marked = await context.call(sweep_crashed, context.engine, settings.heartbeat_timeout, time.time())
            for run_id in marked:
                log.info("run %s marked crashed: no heartbeat for %g s", run_id, settings.heartbeat_timeout)
        except Exception:  # noqa: BLE001 - a failed sweep is retried at the next tick
            log.warning("crash sweep failed", exc_info=True)
        finally:
            sweeping = False

    callbacks = [PeriodicCallback(sweep, sweep_every * 1000, jitter=0.1)]
    if parent is not None:
        callbacks.append(PeriodicCallback(lambda: os.getppid() != parent and stop.set(), 1000))
    for callback in callbacks:
        callback.start()
    try:
        await stop.wait()
    finally:
        for callback in callbacks:
            callback.stop()
        server.stop()
        deadline = time.monotonic() + STOP_GRACE
        while context.busy and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        try:
            await asyncio.wait_for(server.close_all_connections(), timeout=1.0)
        except asyncio.TimeoutError:
            pass
        await loop.run_in_executor(None, context.close)


def _supervise(settings: ServerSettings, sockets: list[socket]) -> int:
    """Fork the workers and wait for them (the parent of ``--workers N``)."""
    parent = os.getpid()
    children: dict[int, int] = {}
    stopping = False
    restarts: list[float] = []

    def spawn(index: int) -> None:
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                signal.signal(signal.SIGINT, signal.SIG_DFL)
                asyncio.run(_worker(settings, sockets, parent))
            except BaseException:  # noqa: BLE001 - report, then leave without running the parent's code
                traceback.print_exc()
                code = 1
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        children[pid] = index

    def on_signal(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True
        for pid in list(children):
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    for index in range(settings.workers):
        spawn(index)
    code = 0
    while children:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            break
        index = children.pop(pid, None)
        if index is None or stopping:
            continue
        now = time.monotonic()
        restarts[:] = [t for t in restarts if now - t < 60] + [now]
        log.warning("worker %d (pid %d) exited with status %d", index, pid, os.waitstatus_to_exitcode(status))
        if len(restarts) > 10:
            log.error("workers keep dying; stopping the server")
            on_signal(signal.SIGTERM, None)
            code = 1
            continue
        spawn(index)
    for sock in sockets:
        sock.close()
    return code
