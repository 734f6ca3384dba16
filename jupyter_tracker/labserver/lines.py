"""What the browser draws: each line decimated to at most a few thousand points,
its extremes kept, with the smoothed value at each point computed on every point.

Smoothing runs on the full series before decimation (as in the live panel), so a
smoothed curve does not change with the history's length or the zoom.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import orjson

from ..numerics.decimate import minmax_indices
from ..numerics.smoothing import smooth
from .sources import BadInput

__all__ = ["KINDS", "parse_smoothing", "smoothed_columns", "float_list", "encode_history", "encode_runs"]

#: The smoothing kinds of the live panel (``numerics.smoothing.smooth``).
KINDS = ("ema", "time-ema", "average", "gaussian", "none")
_TAGS = {np.inf: {"$float": "Infinity"}, -np.inf: {"$float": "-Infinity"}}


def parse_smoothing(kind: str | None, amount: str | None) -> tuple[str, float] | None:
    """``(kind, amount)`` from the query (``smoothing=ema&amount=0.6``), checked; ``None`` for none."""
    if not kind:
        return None
    if kind not in KINDS:
        raise BadInput(f"smoothing must be one of {', '.join(KINDS)}, got {kind!r}")
    try:
        value = float(amount) if amount not in (None, "") else 0.6
    except ValueError:
        raise BadInput(f"amount must be a number, got {amount!r}") from None
    try:
        smooth(kind, np.arange(3.0), np.arange(3.0), value)
    except ValueError as exc:
        raise BadInput(str(exc)) from None
    return kind, value


def smoothed_columns(columns: dict[str, dict[str, dict[str, Any]]], samples: int,
                     smoothing: tuple[str, float]) -> dict[str, dict[str, dict[str, Any]]]:
    """Full-resolution ``{run: {metric: column}}`` decimated to ``samples`` points per
    metric, each column with ``smoothed`` (the smoothed value at each point kept)."""
    kind, amount = smoothing
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for run_id, metrics in columns.items():
        out[run_id] = {}
        for name, column in metrics.items():
            values = np.asarray(column["value"], dtype=np.float64)
            steps = np.asarray(column["step"])
            smoothed = smooth(kind, steps.astype(np.float64), values, amount) if values.size else values
            keep = minmax_indices(values, samples)
            out[run_id][name] = {"step": steps[keep], "timestamp": np.asarray(column["timestamp"])[keep],
                                 "value": values[keep], "smoothed": smoothed[keep]}
    return out


def float_list(values: Any) -> list:
    """A float array as a JSON-ready list, non-finite values tagged ``{"$float": ...}``."""
    array = np.asarray(values, dtype=np.float64)
    out = array.tolist()
    if array.size and not np.isfinite(array).all():
        for i in np.flatnonzero(~np.isfinite(array)).tolist():
            value = out[i]
            out[i] = {"$float": "NaN"} if value != value else _TAGS[value]
    return out


def _wire(values: Any, integer: bool) -> Any:
    """An array as orjson serialises it fast: numpy when every value is finite, else a tagged list."""
    array = np.asarray(values, dtype=np.int64 if integer else np.float64)
    if integer or np.isfinite(array).all():
        return np.ascontiguousarray(array)
    return float_list(array)


def encode_history(history: dict[str, dict[str, Any]]) -> bytes:
    """One run's history (numpy arrays or lists) as the JSON of the history schema."""
    wire = {name: {key: _wire(values, key == "step") for key, values in column.items()}
            for name, column in history.items()}
    return orjson.dumps(wire, option=orjson.OPT_SERIALIZE_NUMPY)


def encode_runs(found: dict[str, dict[str, dict[str, Any]]]) -> bytes:
    """``{run_id: history}`` as JSON, each run encoded by :func:`encode_history`."""
    parts = [orjson.dumps(run_id) + b":" + encode_history(history) for run_id, history in found.items()]
    return b"{" + b",".join(parts) + b"}"
