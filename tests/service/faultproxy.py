"""An HTTP proxy in front of a real tracker server that injects faults on demand.

The server behind it is real; the proxy only decides, request by request,
whether to pass it on, answer an error (500, 429 with Retry-After...), wait
first (a slow network), or drop the connection. It keeps a log of what it did.
"""

from __future__ import annotations

import http.client
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

__all__ = ["FaultProxy", "Fault"]


class Fault:
    """What to do with one request: pass it on (None) or answer ``status``."""

    def __init__(self, status: int | None = None, delay: float = 0.0, headers: dict[str, str] | None = None,
                 drop: bool = False, body: bytes = b'{"error": "injected fault"}') -> None:
        self.status, self.delay, self.headers, self.drop = status, delay, headers or {}, drop
        self.body = body


class FaultProxy:
    """``rule(method, path) -> Fault | None`` decides; ``log`` lists (time, method, path, status)."""

    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.rule: Callable[[str, str], Fault | None] = lambda method, path: None
        self.log: list[tuple[float, str, str, int]] = []
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                fault = proxy.rule(self.command, self.path)
                if fault is not None and fault.delay:
                    time.sleep(fault.delay)
                if fault is not None and fault.drop:
                    proxy._record(self.command, self.path, 0)
                    self.close_connection = True
                    return
                if fault is not None and fault.status is not None:
                    payload = fault.body
                    self.send_response(fault.status)
                    for key, value in fault.headers.items():
                        self.send_header(key, value)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    proxy._record(self.command, self.path, fault.status)
                    return
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
                try:
                    conn = http.client.HTTPConnection(*proxy.upstream, timeout=30)
                    conn.request(self.command, self.path, body=body or None, headers=headers)
                    answer = conn.getresponse()
                    data = answer.read()
                except OSError:
                    proxy._record(self.command, self.path, 502)
                    self.send_response(502)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(answer.status)
                for key, value in answer.getheaders():
                    if key.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                conn.close()
                proxy._record(self.command, self.path, answer.status)

            do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def _record(self, method: str, path: str, status: int) -> None:
        with self._lock:
            self.log.append((time.monotonic(), method, path, status))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> FaultProxy:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()
