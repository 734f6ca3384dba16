"""The checks of the records a client sends: keys, metric values and each kind's
payload; a record the server could not apply is refused with a :class:`BadBatch`
naming the record and what is wrong. Every limit is :mod:`jupyter_tracker.limits`'."""

from __future__ import annotations

from typing import Any

from ..limits import (
    ALERT_LEVELS, MAX_EXIT_CODE, MAX_NOTES_LENGTH, MAX_TEXT_LENGTH, STATES, depth_problem, key_problem, text_problem,
)
from ..records import START, Visitor
from ..summaries import SUMMARY_KINDS
from .errors import BadRequest

__all__ = ["BadBatch", "is_number", "check_key", "check_metrics", "check_payload"]


class BadBatch(BadRequest):
    """A batch (or one of its records) the server refuses (400): the message says why."""


def is_number(value: Any) -> bool:
    kind = type(value)
    return kind is float or kind is int


def check_key(key: str, seq: int) -> None:
    problem = key_problem(key)
    if problem is not None:
        raise BadBatch(f"record {seq}: {problem}")


def check_metrics(data: Any, seq: int, max_keys: int, what: str) -> None:
    if type(data) is not dict:
        raise BadBatch(f"record {seq}: the {what} must be a JSON object of metric: number")
    if len(data) > max_keys:
        raise BadBatch(f"record {seq}: {len(data)} keys in one record; the limit is {max_keys}")
    for key, value in data.items():
        check_key(key, seq)
        if not is_number(value):
            raise BadBatch(f"record {seq}: the value of {key!r} is not a number")


def check_payload(kind: str, payload: Any, seq: int) -> None:
    """Refuse the payload of a non-history record the server could not apply."""
    if kind == START and payload is None:
        return
    if type(payload) is not dict:
        raise BadBatch(f"record {seq}: the payload of a {kind!r} record must be a JSON object")
    problem = depth_problem(payload)
    if problem is not None:
        raise BadBatch(f"record {seq}: the payload of the {kind!r} record {problem}")
    _PAYLOADS.visit_kind(kind, seq, None, payload)


class _PayloadChecks(Visitor):
    """What each kind's payload must hold (a payload is a JSON object of bounded depth here)."""

    __slots__ = ()

    def on_summary(self, seq: int, ts: Any, payload: dict) -> None:
        if not isinstance(payload.get("set") or {}, dict):
            raise BadBatch(f"record {seq}: 'set' must be an object")
        dels = payload.get("del") or []
        if not isinstance(dels, list) or not all(isinstance(k, str) for k in dels):
            raise BadBatch(f"record {seq}: 'del' must be a list of keys")

    def on_metric(self, seq: int, ts: Any, payload: dict) -> None:
        name = payload.get("name")
        if not isinstance(name, str) or not name:
            raise BadBatch(f"record {seq}: a metric definition needs a 'name'")
        if payload.get("summary") not in (None, *SUMMARY_KINDS):
            raise BadBatch(f"record {seq}: summary must be one of {', '.join(SUMMARY_KINDS)}")
        step_metric = payload.get("step_metric")
        if step_metric is not None and not isinstance(step_metric, str):
            raise BadBatch(f"record {seq}: step_metric must be a string")

    def on_media(self, seq: int, ts: Any, payload: dict) -> None:
        from ..media.storage import record_problem

        problem = record_problem(payload)
        if problem is not None:
            raise BadBatch(f"record {seq}: {problem}")

    def on_file(self, seq: int, ts: Any, payload: dict) -> None:
        path = payload.get("path")
        if not isinstance(path, str) or not path:
            raise BadBatch(f"record {seq}: a file record needs a 'path'")

    def on_meta(self, seq: int, ts: Any, payload: dict) -> None:
        from .runs import identity_problem

        problem = identity_problem(payload)
        if problem is not None:
            raise BadBatch(f"record {seq}: {problem}")

    def on_alert(self, seq: int, ts: Any, payload: dict) -> None:
        for field, limit in (("title", MAX_TEXT_LENGTH), ("text", MAX_NOTES_LENGTH)):
            value = payload.get(field)
            problem = text_problem(value, limit) if isinstance(value, str) else "must be a string"
            if problem is not None:
                raise BadBatch(f"record {seq}: the alert's {field} {problem}")
        if payload.get("level") not in ALERT_LEVELS:
            raise BadBatch(f"record {seq}: an alert's level must be one of {', '.join(ALERT_LEVELS)}")

    def on_state(self, seq: int, ts: Any, payload: dict) -> None:
        if payload.get("state") not in STATES:
            raise BadBatch(f"record {seq}: state must be one of {', '.join(STATES)}")
        exit_code = payload.get("exit_code")
        if exit_code is not None and (type(exit_code) is not int or abs(exit_code) > MAX_EXIT_CODE):
            raise BadBatch(f"record {seq}: exit_code must be an integer from {-MAX_EXIT_CODE} to {MAX_EXIT_CODE}")


_PAYLOADS = _PayloadChecks()
