"""HTTP client of a tracking server, shared by the service's sync, ``tracker
sync``, ``tracker login`` and ``tracker.Api(host=...)``.

Errors are sorted into the two kinds the callers act on: :class:`Retryable`
(connection errors, timeouts, 5xx, 408, 429: try again later, honouring
``Retry-After``) and :class:`Refused` (any other 4xx, or a certificate the
machine does not trust: retrying will not help). The token travels in the
``Authorization`` header only, never in a URL, and never appears in a message.
``requests`` honours ``REQUESTS_CA_BUNDLE``.
"""

from __future__ import annotations

import email.utils
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import orjson

from . import records
from .limits import MAX_HISTORY_KEYS

__all__ = ["ServerClient", "ServerError", "Retryable", "Refused", "Gap", "encode_json"]


class ServerError(Exception):
    """A request that did not succeed; ``status`` is the HTTP status (0 without one)."""

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


class Retryable(ServerError):
    """Try again later; ``retry_after`` is the server's wish in seconds, if it said."""

    def __init__(self, message: str, status: int = 0, retry_after: float | None = None) -> None:
        super().__init__(message, status)
        self.retry_after = retry_after


class Refused(ServerError):
    """The server (or TLS) refused the request: retrying will not help."""


class Gap(ServerError):
    """409: the server expects records from ``expected`` on."""

    def __init__(self, expected: int) -> None:
        super().__init__(f"the server expects records from sequence number {expected}", 409)
        self.expected = expected


def encode_json(value: Any) -> bytes:
    """JSON with non-finite floats tagged as in the record format."""
    return orjson.dumps(records.jsonable(value))


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class ServerClient:
    """Requests to one tracking server with one token.

    Parameters
    ----------
    host
        Base URL, e.g. ``http://127.0.0.1:8765``.
    api_key
        The bearer token (``None`` for a ``--public`` server's reads).
    timeout
        Seconds for connecting and for each read.
    """

    def __init__(self, host: str, api_key: str | None, timeout: float = 10.0) -> None:
        import requests

        self.host = host.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()
        self.session.headers["User-Agent"] = "jupyter-tracker"
        if api_key:
            self.session.headers["Authorization"] = f"Bearer {api_key}"

    def url(self, path: str) -> str:
        return f"{self.host}/api/v1/{path.lstrip('/')}"

    def request(self, method: str, path: str, body: bytes | None = None, params: dict | None = None,
                content_type: str = "application/json", raw: bool = False,
                headers_out: dict | None = None) -> Any:
        """One request; the decoded JSON answer (or bytes with ``raw``); ``headers_out``
        receives the response's headers."""
        import requests

        headers = {"Content-Type": content_type} if body is not None else {}
        try:
            response = self.session.request(method, self.url(path), data=body, params=params,
                                            headers=headers, timeout=self.timeout)
        except requests.exceptions.SSLError as exc:
            raise Refused(
                f"TLS certificate of {self.host} not trusted ({_reason(exc)}); point REQUESTS_CA_BUNDLE "
                "at the certificate authority's bundle"
            ) from None
        except (requests.exceptions.ConnectionError, requests.exceptions.Timeout,
                requests.exceptions.ChunkedEncodingError) as exc:
            raise Retryable(f"cannot reach {self.host} ({_reason(exc)})") from None
        status = response.status_code
        if headers_out is not None:
            headers_out.update(response.headers)
        if status < 300:
            if raw:
                return response.content
            if not response.content:
                return None
            try:
                return records.restore_floats(orjson.loads(response.content))
            except ValueError:
                raise Retryable(f"{self.host} answered {status} with something that is not JSON", status) from None
        message = _error_text(response)
        if status == 409:
            try:
                expected = int(orjson.loads(response.content).get("expected"))
            except (ValueError, TypeError, AttributeError):
                raise Refused(f"{method} {path}: 409 {message}", status) from None
            raise Gap(expected)
        if status >= 500 or status in (408, 429):
            raise Retryable(f"{self.host} answered {status} ({message})", status,
                            _retry_after(response.headers.get("Retry-After")))
        if status == 401:
            raise Refused(f"{self.host} refused the token (401): check TRACKER_API_KEY or run `tracker login`", status)
        raise Refused(f"{method} {path}: {status} {message}", status)

    # -- the API ----------------------------------------------------------------
    def health(self) -> dict:
        return self.request("GET", "health")

    def put_run(self, run_id: str, info: dict) -> dict:
        return self.request("PUT", f"runs/{quote(run_id, safe='')}", encode_json(info))

    def get_run(self, run_id: str) -> dict:
        return self.request("GET", f"runs/{quote(run_id, safe='')}")

    def list_runs(self, project: str | None = None, state: str | None = None, limit: int = 1000) -> list[dict]:
        params = {k: v for k, v in (("project", project), ("state", state)) if v}
        params["limit"] = str(limit)
        return self.request("GET", "runs", params=params)

    def query_runs(self, project: str | None = None, filters: dict | None = None, order: str | None = None,
                   limit: int = 1000, offset: int = 0) -> tuple[list[dict], list[str]]:
        """One page of the runs a filter selects (evaluated by the server), and the
        server's notes (``X-Tracker-Notes``: why the page may be empty)."""
        params: dict[str, str] = {"limit": str(limit), "offset": str(offset)}
        if project is not None:
            params["project"] = project
        if filters:
            params["filters"] = encode_json(filters).decode()
        if order:
            params["order"] = order
        headers: dict = {}
        answer = self.request("GET", "runs", params=params, headers_out=headers)
        try:
            notes = orjson.loads(headers.get("X-Tracker-Notes") or "[]")
        except ValueError:
            notes = []
        return list(answer or []), [str(n) for n in notes] if isinstance(notes, list) else []

    def post_records(self, run_id: str, body: bytes) -> int:
        """Send one batch (already encoded); the acknowledged sequence number."""
        answer = self.request("POST", f"runs/{quote(run_id, safe='')}/records", body)
        return int(answer["acked"])

    def heartbeat(self, run_id: str) -> None:
        self.request("POST", f"runs/{quote(run_id, safe='')}/heartbeat", b"{}")

    def put_file(self, run_id: str, path: str, data: bytes) -> None:
        self.request("PUT", f"runs/{quote(run_id, safe='')}/files/{quote(path)}", data,
                     content_type="application/octet-stream")

    def has_blob(self, sha256: str) -> bool:
        """Whether the server holds the artifact blob ``sha256``."""
        try:
            self.request("HEAD", f"artifacts/blobs/{sha256}")
        except Refused as exc:
            if exc.status == 404:
                return False
            raise
        return True

    def missing_blobs(self, shas: list[str]) -> list[str]:
        """Those of ``shas`` the server does not hold (asked 10,000 at a time)."""
        out: list[str] = []
        for start in range(0, len(shas), 10_000):
            answer = self.request("POST", "artifacts/missing", encode_json({"sha256": shas[start:start + 10_000]}))
            out += list(answer.get("missing") or [])
        return out

    def put_blob(self, sha256: str, data: bytes | Path) -> None:
        """Upload an artifact blob: bytes, or a file streamed from disk (a checkpoint may not fit in memory)."""
        if isinstance(data, Path):
            with open(data, "rb") as handle:
                self.request("PUT", f"artifacts/blobs/{sha256}", handle,  # type: ignore[arg-type]
                             content_type="application/octet-stream")
            return
        self.request("PUT", f"artifacts/blobs/{sha256}", data, content_type="application/octet-stream")

    def get_blob(self, sha256: str) -> bytes:
        return self.request("GET", f"artifacts/blobs/{sha256}", raw=True)

    def download_blob(self, sha256: str, dest: Path) -> None:
        """Write a blob to ``dest`` a piece at a time (a checkpoint may not fit in memory)."""
        import requests

        try:
            with self.session.get(self.url(f"artifacts/blobs/{sha256}"), stream=True, timeout=self.timeout) as answer:
                if answer.status_code != 200:
                    self.request("GET", f"artifacts/blobs/{sha256}", raw=True)  # raises what the status means
                with open(dest, "wb") as handle:
                    for chunk in answer.iter_content(1 << 20):
                        handle.write(chunk)
        except (requests.exceptions.ConnectionError, requests.exceptions.Timeout,
                requests.exceptions.ChunkedEncodingError) as exc:
            raise Retryable(f"cannot reach {self.host} ({_reason(exc)})") from None

    def post_artifact(self, run_id: str, entry: dict) -> dict:
        """Register a logged artifact (its blobs uploaded); the version the server gave it."""
        return self.request("POST", f"runs/{quote(run_id, safe='')}/artifacts", encode_json(entry))

    def find_artifacts(self, project: str, name: str | None = None, alias: str | None = None) -> list[dict]:
        params = {k: v for k, v in (("project", project), ("name", name), ("alias", alias)) if v is not None}
        return list(self.request("GET", "artifacts", params=params) or [])

    def history(self, run_id: str, keys: list[str] | None = None, samples: int | None = None,
                min_step: int | None = None, max_step: int | None = None) -> dict:
        """``{key: {"step", "timestamp", "value"}}`` of the metrics named (all without ``keys``).

        One request reads at most :data:`~jupyter_tracker.limits.MAX_HISTORY_KEYS`
        metrics: more are read a page of keys at a time, and the pages joined.
        """
        steps = (samples, min_step, max_step)
        if keys is not None:
            keys = list(keys)
            out: dict = {}
            for start in range(0, max(len(keys), 1), MAX_HISTORY_KEYS):
                out.update(self._history(run_id, keys[start:start + MAX_HISTORY_KEYS], *steps))
            return out
        out, offset = {}, 0
        while True:  # every metric, by name, a page at a time
            page = self._history(run_id, None, *steps, offset=offset, limit=MAX_HISTORY_KEYS)
            out.update(page)
            if len(page) < MAX_HISTORY_KEYS:
                return out
            offset += MAX_HISTORY_KEYS

    def _history(self, run_id: str, keys: list[str] | None, samples: int | None, min_step: int | None,
                 max_step: int | None, offset: int | None = None, limit: int | None = None) -> dict:
        params: dict[str, Any] = {}
        if keys is not None:
            if any("," in key for key in keys):
                params["key"] = list(keys)  # names holding a comma: one parameter each
            else:
                params["keys"] = ",".join(keys)
        for name, value in (("samples", samples), ("min_step", min_step), ("max_step", max_step),
                            ("offset", offset), ("limit", limit)):
            if value is not None:
                params[name] = str(value)
        return self.request("GET", f"runs/{quote(run_id, safe='')}/history", params=params)

    def system(self, run_id: str) -> list[dict]:
        return self.request("GET", f"runs/{quote(run_id, safe='')}/system")

    def media(self, run_id: str, key: str) -> list[dict]:
        """``[{"step", "value"}]``: the media references logged under ``key``."""
        return self.request("GET", f"runs/{quote(run_id, safe='')}/media", params={"key": key})

    def get_file(self, run_id: str, path: str) -> bytes:
        return self.request("GET", f"runs/{quote(run_id, safe='')}/files/{quote(path)}", raw=True)

    def files(self, run_id: str) -> list[dict]:
        return self.request("GET", f"runs/{quote(run_id, safe='')}/files")

    def close(self) -> None:
        self.session.close()


def _reason(exc: BaseException) -> str:
    """A short reason without URLs' query strings or headers."""
    text = str(exc)
    for cut in (" (Caused by", "(Caused by"):
        if cut in text:
            inner = text.split(cut, 1)[1]
            text = inner.split(":", 1)[-1].strip(" )'\"") or text
    return text[:200]


def _error_text(response: Any) -> str:
    try:
        return str(orjson.loads(response.content).get("error", ""))[:300]
    except (ValueError, AttributeError):
        return (response.text or "")[:200]
