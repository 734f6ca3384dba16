"""Media in the run directory, in wandb's shapes (see docs/format.md, "Media").

The writer thread calls :func:`resolve`: each :class:`~.values.Pending` becomes
a reference, and the file it names is complete on disk before the reference
is numbered and written to ``events.log`` (written to a temporary name, then
renamed), so a reader never meets a reference to a missing or torn file.

Files live under the run's ``files/`` folder, so they upload with the run like
every saved file; references hold paths relative to ``files/``::

    {"_type": "image-file", "path": "media/images/<key>_<step>_<sha>.png", "width", "height",
     "format": "png", "sha256", "caption"}
    {"_type": "images/list", "count", "items": [image-file references]}
    {"_type": "histogram", "values": [counts], "bins": [edges]}
    {"_type": "table-file", "path": "media/table/<key>_<step>_<sha>.table.json", "nrows", "ncols", "sha256"}
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from .. import records
from ..limits import MAX_FILE
from .encoding import encode_png
from .values import Pending

__all__ = ["resolve", "file_stem", "record_problem", "image_file", "histogram_reference", "table_file",
           "MEDIA_TYPES", "IMAGES_DIR", "TABLES_DIR"]

IMAGES_DIR = "media/images"
TABLES_DIR = "media/table"
#: Every ``_type`` a media reference may have.
MEDIA_TYPES = ("image-file", "images/list", "histogram", "table-file")

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
#: Longest part of a key kept in a file name (bytes; file systems allow 255 a name).
_PART = 150


def file_stem(key: str, step: int, sha: str) -> str:
    """``<key>_<step>_<sha20>``; a key ``a/b`` makes a folder ``a``, odd characters become ``_``."""
    parts = [_UNSAFE.sub("_", part)[:_PART].strip(".") or "_" for part in key.split("/")]
    return "/".join(parts) + f"_{step}_{sha[:20]}"


def record_problem(payload: dict[str, Any]) -> str | None:
    """Why a ``media`` record's payload is not ``{"step": int, "values": {key: reference}}``."""
    from ..limits import MAX_STEP, key_problem

    step = payload.get("step")
    if type(step) is not int or not 0 <= step <= MAX_STEP:
        return "a media record needs an integer 'step' from 0"
    values = payload.get("values")
    if type(values) is not dict:
        return "a media record needs 'values': {key: reference}"
    for key, reference in values.items():
        problem = key_problem(key)
        if problem is not None:
            return problem
        if type(reference) is not dict or reference.get("_type") not in MEDIA_TYPES:
            return f"the media of {key!r} is not a reference ({', '.join(MEDIA_TYPES)})"
    return None


def _write_atomic(target: Path, data: bytes) -> None:
    """``data`` at ``target``, whole or not at all (a temporary file renamed over it)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    with open(temporary, "wb") as handle:
        handle.write(data)
    os.replace(temporary, target)


def image_file(key: str, step: int, png: bytes, width: int, height: int,
               caption: str | None = None) -> tuple[str, dict[str, Any]]:
    """The path (under ``files/``) and the reference of a PNG logged under ``key`` at ``step``."""
    sha = hashlib.sha256(png).hexdigest()
    path = f"{IMAGES_DIR}/{file_stem(key, step, sha)}.png"
    return path, {"_type": "image-file", "path": path, "width": int(width), "height": int(height),
                  "format": "png", "sha256": sha, "size": len(png), "caption": caption}


def histogram_reference(counts: Any, edges: Any) -> dict[str, Any]:
    """The inline reference of a histogram (counts stay integers when they are)."""
    values = [int(c) if float(c).is_integer() else float(c) for c in np.asarray(counts).tolist()]
    return {"_type": "histogram", "values": values, "bins": np.asarray(edges, dtype=np.float64).tolist()}


def table_file(key: str, step: int, columns: list[str], rows: list[list[Any]]) -> tuple[str, bytes, dict[str, Any]]:
    """The path (under ``files/``), the bytes and the reference of a table."""
    data = orjson.dumps({"columns": columns, "data": records.jsonable(rows)}, option=orjson.OPT_SERIALIZE_NUMPY)
    if len(data) > MAX_FILE:
        raise ValueError(f"the table file would be {len(data) >> 20} MiB; the limit is {MAX_FILE >> 20} MiB")
    sha = hashlib.sha256(data).hexdigest()
    path = f"{TABLES_DIR}/{file_stem(key, step, sha)}.table.json"
    return path, data, {"_type": "table-file", "path": path, "nrows": len(rows), "ncols": len(columns),
                        "sha256": sha, "size": len(data)}


def _store(files: Path, path: str, data: bytes) -> None:
    target = files / path
    if not target.exists():  # the same content under the same key and step: one file
        _write_atomic(target, data)


def _image(files: Path, key: str, step: int, pending: Pending) -> dict[str, Any]:
    pixels = pending.data
    png = encode_png(pixels)
    path, ref = image_file(key, step, png, pixels.shape[1], pixels.shape[0], pending.caption)
    _store(files, path, png)
    return ref


def _histogram(pending: Pending) -> dict[str, Any]:
    first, second = pending.data
    if isinstance(second, int):  # samples and a bin count
        return histogram_reference(*np.histogram(first, bins=second))
    return histogram_reference(first, second)


def _table(files: Path, key: str, step: int, pending: Pending) -> dict[str, Any]:
    path, data, ref = table_file(key, step, *pending.data)
    _store(files, path, data)
    return ref


def reference(files: Path, key: str, step: int, pending: Pending) -> dict[str, Any]:
    """Write what ``pending`` needs under ``files`` and return its reference."""
    kind = pending.kind
    if kind == "image":
        return _image(files, key, step, pending)
    if kind == "images":
        items = [_image(files, key, step, item) for item in pending.data]
        return {"_type": "images/list", "count": len(items), "items": items}
    if kind == "histogram":
        return _histogram(pending)
    return _table(files, key, step, pending)


def resolve(run_dir: Path, step: int, values: dict[str, Pending],
            notify: Any) -> tuple[dict[str, dict[str, Any]], dict[str, Pending], OSError | None]:
    """References of ``values`` logged at ``step``, their files written first.

    Returns the references, the values not written because the disk refused (the
    first ``OSError`` and every value after it: kept to be written later, in order)
    and that error. A value that can never be written (a table too large) is
    reported through ``notify(message, key)`` and left out.
    """
    files = run_dir / "files"
    out: dict[str, dict[str, Any]] = {}
    kept: dict[str, Pending] = {}
    failure: OSError | None = None
    for key, pending in values.items():
        if failure is not None:
            kept[key] = pending
            continue
        try:
            out[key] = reference(files, key, step, pending)
        except OSError as exc:
            failure = exc
            kept[key] = pending
        except (ValueError, TypeError, MemoryError) as exc:
            notify(f"log(): {key!r} at step {step} cannot be written ({exc or repr(exc)}); that value is lost, the "
                   "rest of the row is logged", f"media-write:{key}")
    return out, kept, failure
