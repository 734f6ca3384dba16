"""References back to values: ``run.media(key, step=None)`` of the Api.

A reader gives the references of a key in step order (from the events log,
or from a tracking server) and a way to read a file of the run by its path
relative to ``files/``; this module turns them into what was logged.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import orjson

from .. import records
from .encoding import pillow

__all__ = ["media_references", "load", "pick"]


def media_references(frames: Iterable[list], key: str) -> list[tuple[int, dict[str, Any]]]:
    """``(step, reference)`` of ``key`` in the ``media`` records of ``frames``, in log order."""
    out = []
    for record in frames:
        if record[1] == records.MEDIA and len(record) > 3 and isinstance(record[3], dict):
            values = record[3].get("values") or {}
            if key in values:
                out.append((record[3].get("step"), values[key]))
    return out


def pick(references: list[tuple[int, dict[str, Any]]], key: str, step: int | None) -> dict[str, Any]:
    """The reference at ``step`` (the last one logged without it); a clear ``KeyError`` else."""
    if not references:
        raise KeyError(f"media(): the run has no media logged under {key!r}")
    if step is None:
        return references[-1][1]
    for logged, reference in reversed(references):
        if logged == step:
            return reference
    steps = [s for s, _ in references]
    shown = ", ".join(map(str, steps[:10])) + (" ..." if len(steps) > 10 else "")
    raise KeyError(f"media(): {key!r} has nothing at step {step}; it was logged at steps {shown}")


def _table(data: bytes, pandas: bool | None) -> Any:
    table = records.restore_floats(orjson.loads(data))
    columns, rows = table.get("columns") or [], table.get("data") or []
    if pandas is False:
        return {"columns": columns, "data": rows}
    try:
        import pandas as pd
    except ImportError:
        if pandas:
            raise ImportError("pandas=True needs pandas: pip install 'jupyter-tracker[pandas]'") from None
        return {"columns": columns, "data": rows}
    return pd.DataFrame(rows, columns=columns)


def load(reference: dict[str, Any], read: Callable[[str], bytes], pandas: bool | None = None) -> Any:
    """What ``reference`` stands for: a PIL image, a list of them, ``(counts, edges)`` numpy
    arrays, or a table (a DataFrame when pandas is installed, else ``{"columns", "data"}``)."""
    kind = reference.get("_type")
    if kind == "image-file":
        image = pillow().open(io.BytesIO(read(reference["path"])))
        image.load()
        return image
    if kind == "images/list":
        return [load(item, read) for item in reference.get("items") or []]
    if kind == "histogram":
        return np.asarray(reference["values"], dtype=np.float64), np.asarray(reference["bins"], dtype=np.float64)
    if kind == "table-file":
        return _table(read(reference["path"]), pandas)
    raise ValueError(f"media(): a reference of an unknown type {kind!r}")
