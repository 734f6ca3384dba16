"""The OpenAPI 3 document of the API, served at ``/api/v1/openapi.json``.

``docs/openapi.json`` is a copy (``python -m jupyter_tracker.server openapi >
docs/openapi.json``); a test checks that the two are the same.
"""

from __future__ import annotations

import functools
from typing import Any

import orjson

from .._version import __version__
from ..limits import MAX_HISTORY_KEYS, MAX_KEY_LENGTH, STATES
from .openapi_schemas import SCHEMAS, ref as _ref

__all__ = ["document", "document_bytes"]


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _error(description: str) -> dict[str, Any]:
    return _json(_ref("Error"), description)


_RUN_ID = {
    "name": "run_id",
    "in": "path",
    "required": True,
    "description": "The run id: 1 to 128 letters, digits, `_`, `-` or `.` (not first).",
    "schema": {"type": "string", "pattern": "^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,127}$"},
}


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema}


def _operation(
    summary: str,
    ok: dict[str, Any],
    *,
    params: list[dict[str, Any]] | None = None,
    body: dict[str, Any] | None = None,
    auth: bool = True,
    errors: tuple[int, ...] = (),
    operation_id: str,
) -> dict[str, Any]:
    responses: dict[str, Any] = {"200": ok}
    descriptions = {
        400: "Malformed request (the message says what is wrong).",
        401: "Missing, wrong or revoked token.",
        403: "The token may not do this (read-only, limited to other projects, not an admin token): "
        "the message names the project.",
        404: "No such run (or file).",
        409: "Conflict: a gap in the sequence numbers (`expected` says where to resume) or a file path clash.",
        413: "The body is larger than the server's limit.",
    }
    for status in sorted(set(((401, 403) if auth else ()) + errors)):
        responses[str(status)] = _error(descriptions[status])
    out: dict[str, Any] = {"operationId": operation_id, "summary": summary, "responses": responses}
    if params:
        out["parameters"] = params
    if body is not None:
        out["requestBody"] = body
    if not auth:
        out["security"] = []
    return out


def _notes(response: dict[str, Any]) -> dict[str, Any]:
    response["headers"] = {
        "X-Tracker-Notes": {
            "description": "With `filters` or `order`: why the list may surprise (a project without runs, "
                           "a key no run has), a JSON list of strings.",
            "schema": {"type": "string"},
        }
    }
    return response



def _paths() -> dict[str, Any]:
    runs = {"type": "array", "items": _ref("Run")}
    step = {"type": "integer", "minimum": 0}
    return {
        "/api/v1/health": {
            "get": _operation("Liveness and version", _json(_ref("Health"), "The server is up."),
                              auth=False, operation_id="health")
        },
        "/api/v1/openapi.json": {
            "get": _operation("This document", _json({"type": "object"}, "The OpenAPI document."),
                              auth=False, operation_id="openapi")
        },
        "/api/v1/projects": {
            "get": _operation("Projects and their number of runs",
                              _json({"type": "array", "items": _ref("Project")}, "Projects by name."),
                              operation_id="listProjects")
        },
        "/api/v1/runs": {
            "get": _operation(
                "Runs, newest first (or in the order asked), matching the filters",
                _notes(_json(runs, "Runs (without info and metrics).")),
                params=[
                    _query("project", {"type": "string"}, "Only runs of this project."),
                    _query("state", {"type": "string", "enum": list(STATES)}, "Only runs in this state."),
                    _query("filters", {"type": "string"},
                           "A filter in wandb's syntax, as JSON: `{\"config.lr\": {\"$lt\": 0.05}}` (see docs/api.md)."),
                    _query("order", {"type": "string"},
                           "`-summary_metrics.val/acc` (descending), `+config.lr` or `config.lr` (ascending); "
                           "default `-created_at`. Runs without the key come last."),
                    _query("limit", {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100}, "At most this many."),
                    _query("offset", {"type": "integer", "minimum": 0, "default": 0}, "Skip this many."),
                ],
                errors=(400,),
                operation_id="listRuns",
            )
        },
        "/api/v1/runs/{run_id}": {
            "parameters": [_RUN_ID],
            "get": _operation("One run: identity, state, config, summary, hwm, info",
                              _json(_ref("Run"), "The run."), errors=(400, 404), operation_id="getRun"),
            "put": _operation(
                "Create or update a run from its run.json",
                _json(_ref("Run"), "The run as stored."),
                body={"required": True, "content": {"application/json": {"schema": _ref("RunInfo")}}},
                errors=(400, 413),
                operation_id="putRun",
            ),
        },
        "/api/v1/runs/{run_id}/records": {
            "parameters": [_RUN_ID],
            "post": _operation(
                "Append records (idempotent; resend from hwm + 1 after any failure)",
                _json(_ref("Ack"), "Applied (or already applied) up to `acked`."),
                body={"required": True, "content": {"application/json": {"schema": _ref("Batch")}}},
                errors=(400, 404, 409, 413),
                operation_id="postRecords",
            ),
        },
        "/api/v1/runs/{run_id}/history": {
            "parameters": [_RUN_ID],
            "get": _operation(
                "History of some or all metrics, optionally downsampled",
                _json({"type": "object", "additionalProperties": _ref("Series")}, "One series per metric."),
                params=[
                    _query("keys", {"type": "string"}, "Comma-separated metric names (default: all)."),
                    _query("key", {"type": "string"}, "One metric name (repeatable; for names with commas)."),
                    _query("samples", {"type": "integer", "minimum": 1}, "At most this many points per metric "
                           "(at least 4): per bucket of consecutive points its finite min and max and one "
                           "non-finite point, and both ends."),
                    _query("min_step", step, "First step (inclusive)."),
                    _query("max_step", step, "Last step (inclusive)."),
                    _query("offset", {"type": "integer", "minimum": 0, "default": 0},
                           "Without keys: skip this many metrics (in name order)."),
                    _query("limit", {"type": "integer", "minimum": 1, "maximum": MAX_HISTORY_KEYS},
                           f"Without keys: at most this many metrics. A request reads at most {MAX_HISTORY_KEYS} "
                           "metrics: more keys, or a run with more metrics and no limit, is a 400."),
                ],
                errors=(400, 404),
                operation_id="getHistory",
            ),
        },
        "/api/v1/runs/{run_id}/keys": {
            "parameters": [_RUN_ID],
            "get": _operation(
                "The run's metrics and their number of points, by name",
                _json({"type": "object", "additionalProperties": {"type": "integer"}}, "metric: points"),
                errors=(400, 404),
                operation_id="getKeys",
            ),
        },
        "/api/v1/runs/{run_id}/system": {
            "parameters": [_RUN_ID],
            "get": _operation(
                "System-metric records, oldest first",
                _json({"type": "array", "items": {"type": "object", "required": ["_timestamp"]}},
                      "`_timestamp` and the metrics of each record."),
                errors=(400, 404),
                operation_id="getSystem",
            ),
        },
        "/api/v1/runs/{run_id}/media": {
            "parameters": [_RUN_ID],
            "get": _operation(
                "Media references logged under `key` (images, histograms, tables), oldest first; "
                "without `key`, each media key and how many times it was logged",
                _json({"oneOf": [
                    {"type": "array", "items": {"type": "object", "required": ["step", "value"],
                                                "properties": {"step": {"type": "integer"},
                                                               "value": {"type": "object"}}}},
                    {"type": "object", "additionalProperties": {"type": "integer"}},
                ]}, "References by step (see docs/format.md, Media), or counts by key."),
                errors=(400, 404),
                operation_id="getMedia",
                params=[{"name": "key", "in": "query", "required": False, "schema": {"type": "string"}}],
            ),
        },
        "/api/v1/runs/{run_id}/heartbeat": {
            "parameters": [_RUN_ID],
            "post": _operation("The run's process is alive", _json(_ref("Heartbeat"), "Recorded."),
                               errors=(400, 404), operation_id="postHeartbeat"),
        },
        "/api/v1/runs/{run_id}/files": {
            "parameters": [_RUN_ID],
            "get": _operation("The run's files", _json({"type": "array", "items": _ref("File")}, "By path."),
                              errors=(400, 404), operation_id="listFiles"),
        },
        "/api/v1/tokens": {
            "get": _operation("Every token's name and scope (admin tokens only)",
                              _json({"type": "array", "items": _ref("Token")}, "By name."), operation_id="listTokens"),
            "post": _operation(
                "Create a token (admin tokens only); the answer holds it, the only time it is seen",
                _json(_ref("NewToken"), "Created."),
                body={"required": True, "content": {"application/json": {"schema": _ref("TokenRequest")}}},
                errors=(400, 413),
                operation_id="createToken",
            ),
        },
        "/api/v1/tokens/{name}": {
            "parameters": [{"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}],
            "delete": _operation("Revoke a token (admin tokens only)",
                                 _json({"type": "object", "properties": {"name": {"type": "string"},
                                                                         "revoked": {"type": "boolean"}}}, "Revoked."),
                                 errors=(404,), operation_id="revokeToken"),
        },
        "/api/v1/artifacts": {
            "get": _operation(
                "Artifact versions of a project (of a name; with alias, the one it names: latest, v2, best)",
                _json({"type": "array", "items": _ARTIFACT}, "By name and version."), errors=(400,),
                operation_id="listArtifacts",
                params=[{"name": n, "in": "query", "required": n == "project", "schema": {"type": "string"}}
                            for n in ("project", "name", "alias")]),
        },
        "/api/v1/artifacts/missing": {
            "post": _operation(
                "Which of these blobs the server does not hold (at most 10,000 sha256s)",
                _json({"type": "object", "properties": {"missing": {"type": "array", "items": {"type": "string"}}}},
                      "Those missing, in the order asked."),
                body={"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["sha256"],
                    "properties": {"sha256": {"type": "array", "items": {"type": "string"}}}}}}},
                errors=(400, 413), operation_id="missingBlobs"),
        },
        "/api/v1/artifacts/blobs/{sha256}": {
            "parameters": [{"name": "sha256", "in": "path", "required": True,
                            "schema": {"type": "string", "pattern": "^[0-9a-f]{64}$"}}],
            "get": _operation("Download an artifact blob", {"description": "The bytes.", "content": _BINARY},
                              errors=(404,), operation_id="getBlob"),
            "put": _operation("Upload an artifact blob (its sha256 must be the path's; idempotent)",
                              _json({"type": "object"}, "Stored."), body={"required": True, "content": _BINARY},
                              errors=(400, 413), operation_id="putBlob"),
        },
        "/api/v1/runs/{run_id}/artifacts": {
            "parameters": [_RUN_ID],
            "post": _operation(
                "Register an artifact version logged by the run (its blobs uploaded first); idempotent per digest",
                _json(_ARTIFACT, "The version."), errors=(400, 404, 413), operation_id="logArtifact",
                body={"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["name", "type", "digest"], "properties": {
                        "name": {"type": "string"}, "type": {"type": "string"}, "digest": {"type": "string"},
                        "aliases": {"type": "array", "items": {"type": "string"}},
                        "metadata": {"type": "object"}, "description": {"type": "string"}}}}}}),
        },
        "/api/v1/runs/{run_id}/files/{path}": {
            "parameters": [
                _RUN_ID,
                {"name": "path", "in": "path", "required": True, "schema": {"type": "string", "minLength": 1},
                 "description": "Relative path (may hold `/`); no `..`, no absolute paths, no NUL."},
            ],
            "get": _operation(
                "Download a file",
                {"description": "The bytes.", "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}},
                errors=(400, 404),
                operation_id="getFile",
            ),
            "put": _operation(
                "Upload a file (raw bytes; replaces an earlier upload)",
                _json(_ref("File"), "Stored."),
                body={"required": True, "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}},
                errors=(400, 404, 409, 413),
                operation_id="putFile",
            ),
        },
    }


_BINARY = {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}
_ARTIFACT = {"type": "object", "properties": {k: {"type": t} for k, t in (
    ("project", "string"), ("name", "string"), ("version", "string"), ("digest", "string"), ("type", "string"),
    ("run_id", "string"), ("size", "integer"), ("files", "integer"), ("created_at", "number"),
    ("aliases", "array"), ("metadata", "object"))}}
_ARTIFACT["properties"]["aliases"]["items"] = {"type": "string"}


def document() -> dict[str, Any]:
    """The OpenAPI 3.0 document."""
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "jupyter-tracker server",
            "version": __version__,
            "description": "Runs, records, history, system metrics and files of jupyter-tracker. "
            "Every request but health and this document needs `Authorization: Bearer <token>` "
            "(reads do not when the server runs with --public). A token reads, or reads and writes, every "
            "project or only some; admin tokens also manage tokens (403 otherwise, naming the project). "
            "Errors are `{\"error\": message}`. "
            "Non-finite floats are written `{\"$float\": \"NaN\" | \"Infinity\" | \"-Infinity\"}` both ways. "
            f"Metric keys are at most {MAX_KEY_LENGTH} characters. See docs/api.md.",
        },
        "servers": [{"url": "/"}],
        "security": [{"bearerAuth": []}],
        "paths": _paths(),
        "components": {
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
            "schemas": SCHEMAS,
        },
    }


@functools.lru_cache(maxsize=1)
def document_bytes() -> bytes:
    """The document as indented JSON (what the server sends and docs/openapi.json holds)."""
    return orjson.dumps(document(), option=orjson.OPT_INDENT_2)
