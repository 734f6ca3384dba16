"""JSON in and out of the server, with NaN and infinities kept.

JSON has no NaN or infinity, so the wire format (like the events log) writes
them as ``{"$float": "NaN" | "Infinity" | "-Infinity"}`` in both directions.
The same text is what the JSON columns of the database hold.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import orjson

from ..records import restore_floats
from .errors import BadRequest

__all__ = ["ParseError", "loads", "dumps", "dumps_column", "loads_column", "float_list"]

_TAGS = {math.inf: {"$float": "Infinity"}, -math.inf: {"$float": "-Infinity"}}


class ParseError(BadRequest):
    """A request body that is not valid JSON (400)."""


def loads(body: bytes | bytearray) -> Any:
    """Parse a request body; tagged non-finite floats become floats again.

    orjson refuses JSON nested more than 1,024 levels deep; a value deep
    enough to exhaust Python's recursion while its tags are restored is
    refused too (both 400). Limits on what may be stored (``MAX_JSON_DEPTH``)
    are checked by the endpoints.
    """
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ParseError(f"malformed JSON: {exc}") from None
    if b'"$float"' in body:
        try:
            value = restore_floats(value)
        except RecursionError:
            raise ParseError("malformed JSON: nested too deeply") from None
    return value


def _tagged(value: Any) -> Any:
    """``value`` with its non-finite floats tagged, at any depth.

    What the server writes came from JSON (and is at most
    ``limits.MAX_JSON_DEPTH`` deep plus the few levels of the resource around
    it), so unlike :func:`jupyter_tracker.records.jsonable` nothing is cut at
    some depth or turned into a string.
    """
    if isinstance(value, float):
        return value if math.isfinite(value) else _tag(value)
    if isinstance(value, dict):  # (keys may be str subclasses, SQLAlchemy's quoted_name: orjson wants str)
        return {key if type(key) is str else str(key): _tagged(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_tagged(item) for item in value]
    if isinstance(value, np.generic):
        return _tagged(value.item())
    return value


def _tag(value: float) -> dict[str, str]:
    return {"$float": "NaN"} if value != value else _TAGS[value]


def dumps(value: Any) -> bytes:
    """``value`` as JSON with non-finite floats tagged (any JSON-like value)."""
    return orjson.dumps(_tagged(value))


def dumps_column(value: Any) -> str:
    """Text for a JSON column."""
    return orjson.dumps(_tagged(value)).decode()


def loads_column(text: str | None, default: Any = None) -> Any:
    """The value of a JSON column (``default`` when it is NULL)."""
    if text is None:
        return default
    value = orjson.loads(text)
    if '"$float"' in text:
        value = restore_floats(value)
    return value


def float_list(values: np.ndarray) -> list:
    """A float array as a JSON-ready list, non-finite values tagged."""
    out = values.tolist()
    if values.size and not np.isfinite(values).all():
        for i in np.flatnonzero(~np.isfinite(values)).tolist():
            value = out[i]
            out[i] = {"$float": "NaN"} if value != value else _TAGS[value]
    return out
