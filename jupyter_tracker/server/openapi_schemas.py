"""The component schemas of the OpenAPI document (:mod:`.openapi` holds the paths)."""

from __future__ import annotations

from typing import Any

from ..limits import STATES
from .batches import LOGS

__all__ = ["SCHEMAS", "ref"]


def ref(name: str) -> dict[str, str]:
    """A reference to the component schema ``name``."""
    return {"$ref": f"#/components/schemas/{name}"}


_FLOAT = {
    "oneOf": [
        {"type": "number"},
        ref("TaggedFloat"),
    ]
}

_RANGE = {"type": "array", "items": {"type": "integer", "minimum": 1}, "minItems": 2, "maxItems": 2}

#: What a run is called and where it stands: the same in a run.json sent and a run read back.
_RUN_LABELS = {
    "name": {"type": "string", "nullable": True},
    "group": {"type": "string", "nullable": True},
    "job_type": {"type": "string", "nullable": True},
    "tags": {"type": "array", "items": {"type": "string"}},
    "notes": {"type": "string", "nullable": True},
    "state": {"type": "string", "enum": list(STATES)},
}

SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {"error": {"type": "string"}, "expected": {"type": "integer"}},
    },
    "TaggedFloat": {
        "type": "object",
        "description": "A float JSON cannot hold, in requests and responses alike.",
        "required": ["$float"],
        "properties": {"$float": {"type": "string", "enum": ["NaN", "Infinity", "-Infinity"]}},
        "additionalProperties": False,
    },
    "Health": {
        "type": "object",
        "required": ["ok", "version"],
        "properties": {"ok": {"type": "boolean"}, "version": {"type": "string"}},
    },
    "RunInfo": {
        "type": "object",
        "description": "The run's run.json (docs/format.md); other keys are kept in `info`.",
        "properties": {
            "id": {"type": "string"},
            "project": {"type": "string", "maxLength": 256},
            **_RUN_LABELS,
            "created_at": {"type": "number"},
        },
        "additionalProperties": True,
    },
    "Run": {
        "type": "object",
        "required": ["id", "project", "state", "hwm", "summary", "config"],
        "properties": {
            "id": {"type": "string"},
            "project": {"type": "string"},
            **_RUN_LABELS,
            "exit_code": {"type": "integer", "nullable": True},
            "created_at": {"type": "number"},
            "updated_at": {"type": "number"},
            "heartbeat_at": {"type": "number"},
            "last_step": {"type": "integer", "nullable": True},
            "hwm": {
                "type": "object",
                "description": "The last sequence number applied, per log.",
                "properties": {"events": {"type": "integer"}, "system": {"type": "integer"}},
            },
            "summary": {"type": "object", "additionalProperties": True},
            "config": {"type": "object", "additionalProperties": True},
            "info": {"type": "object", "additionalProperties": True, "description": "Only on GET /runs/{run_id}."},
            "metrics": {"type": "array", "items": {"type": "object"}, "description": "define_metric records."},
            "missing": {
                "type": "object",
                "description": "Holes the client declared in each log (records unreadable in its local log), "
                "as inclusive [from_seq, to_seq] ranges, adjacent ones merged. Not in GET /runs.",
                "properties": {log: {"type": "array", "items": _RANGE} for log in LOGS},
            },
            "missing_records": {
                "type": "object",
                "description": "How many records each log is missing (the sizes of the ranges). Not in GET /runs.",
                "properties": {log: {"type": "integer", "minimum": 0} for log in LOGS},
            },
        },
    },
    "Project": {
        "type": "object",
        "required": ["name", "runs"],
        "properties": {"name": {"type": "string"}, "runs": {"type": "integer"}},
    },
    "Batch": {
        "type": "object",
        "required": ["log", "first_seq", "last_seq", "records"],
        "properties": {
            "log": {"type": "string", "enum": list(LOGS)},
            "first_seq": {"type": "integer", "minimum": 1},
            "last_seq": {"type": "integer", "minimum": 1},
            "records": {
                "type": "array",
                "description": "Records as in docs/format.md, numbered first_seq..last_seq without gaps "
                "except across the `missing` ranges, e.g. `[7, \"h\", 3, 1795311223.5, {\"loss\": 0.9}]`.",
                "items": {"type": "array", "minItems": 3},
            },
            "missing": {
                "type": "array",
                "description": "Permanent holes of the client's log: inclusive [from_seq, to_seq] ranges, sorted, "
                "not overlapping, not adjacent, within first_seq..last_seq. Records and ranges cover "
                "first_seq..last_seq exactly once. Optional (absent or [] = no holes).",
                "items": _RANGE,
            },
        },
    },
    "Ack": {
        "type": "object",
        "required": ["acked"],
        "properties": {"acked": {"type": "integer", "description": "Every record up to this seq is applied."}},
    },
    "Series": {
        "type": "object",
        "required": ["step", "timestamp", "value"],
        "properties": {
            "step": {"type": "array", "items": {"type": "integer"}},
            "timestamp": {"type": "array", "items": _FLOAT},
            "value": {"type": "array", "items": _FLOAT},
        },
    },
    "Heartbeat": {
        "type": "object",
        "required": ["state", "heartbeat_at"],
        "properties": {"state": {"type": "string"}, "heartbeat_at": {"type": "number"}},
    },
    "TokenRequest": {
        "type": "object",
        "required": ["name"],
        "properties": {
            "name": {"type": "string", "minLength": 1, "maxLength": 128},
            "access": {"type": "string", "enum": ["read", "write", "admin"], "default": "write"},
            "projects": {"type": "array", "items": {"type": "string", "minLength": 1}, "nullable": True,
                         "description": "Only these projects (null: every project; not for admin tokens)."},
        },
    },
    "Token": {
        "type": "object",
        "required": ["name", "access"],
        "properties": {
            "name": {"type": "string"},
            "access": {"type": "string", "enum": ["read", "write", "admin"]},
            "projects": {"type": "array", "items": {"type": "string"}, "nullable": True},
            "created_at": {"type": "number"},
            "revoked_at": {"type": "number", "nullable": True},
        },
    },
    "NewToken": {
        "type": "object",
        "required": ["name", "access", "token"],
        "properties": {
            "name": {"type": "string"},
            "access": {"type": "string"},
            "projects": {"type": "array", "items": {"type": "string"}, "nullable": True},
            "token": {"type": "string", "description": "The token: shown this once."},
        },
    },
    "File": {
        "type": "object",
        "required": ["path", "uploaded"],
        "properties": {
            "path": {"type": "string"},
            "size": {"type": "integer", "nullable": True},
            "sha256": {"type": "string", "nullable": True},
            "policy": {"type": "string", "nullable": True},
            "logged_at": {"type": "number", "nullable": True},
            "uploaded_at": {"type": "number", "nullable": True},
            "uploaded": {"type": "boolean"},
        },
    },
}

