"""Images, histograms and tables of other tools, as the tracker's media references.

- wandb keeps media as we do (its shapes are ours, see ``media.storage``); its
  history items spell a value as nested keys (``img/_type``, ``img/path``...):
  :func:`wandb_values` gathers them back, :func:`from_wandb` checks a reference
  and finds its file among the run's files;
- TensorBoard keeps histograms as ``(k, 3)`` tensors of ``[left, right, count]``
  (:func:`tensorboard_histogram`) and images as encoded bytes in string tensors
  ``[width, height, image...]`` (:func:`tensorboard_images`, made PNG when they
  are not).
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path
from typing import Any

import numpy as np

from ..limits import MAX_HISTOGRAM_BINS
from ..media.storage import MEDIA_TYPES, histogram_reference, image_file

__all__ = ["wandb_values", "from_wandb", "tensorboard_histogram", "tensorboard_images"]

_PNG = b"\x89PNG\r\n\x1a\n"
_WANDB_TYPES = (*MEDIA_TYPES, "images/separated")


def wandb_values(values: dict[str, Any]) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """``values`` (flat keys) split into the plain ones and the media ones, each media value
    gathered back from its nested keys (``img/_type``, ``img/path``... -> ``img``)."""
    media: dict[str, dict[str, Any]] = {}
    for key, value in values.items():
        if isinstance(value, dict) and value.get("_type") in _WANDB_TYPES:
            media[key] = dict(value)
        elif key.endswith("/_type") and value in _WANDB_TYPES:
            media[key[: -len("/_type")]] = {}
    plain = {}
    for key, value in values.items():
        if key in media:
            continue
        owner = next((m for m in media if key.startswith(m + "/")), None)
        if owner is None:
            plain[key] = value
        else:
            media[owner][key[len(owner) + 1:]] = value
    return plain, media


def _file(path: Any, sha: Any, files: dict[str, Path]) -> Path | None:
    """The run's file at ``path``; else one of the same content (wandb writes a table logged
    again unchanged once, under its first step's name)."""
    if not isinstance(path, str):
        return None
    if path in files:
        return files[path]
    if isinstance(sha, str) and len(sha) >= 20:
        folder = path.rsplit("/", 1)[0]
        for name, source in files.items():
            if name.startswith(folder + "/") and f"_{sha[:20]}." in name:
                return source
    return None


def _image(reference: dict[str, Any], files: dict[str, Path], extra: dict[str, Path]) -> dict[str, Any] | None:
    source = _file(reference.get("path"), reference.get("sha256"), files)
    if source is None or reference.get("format", "png") != "png":
        return None
    if reference["path"] not in files:
        extra[reference["path"]] = source
    data = source.read_bytes()
    return {"_type": "image-file", "path": reference["path"], "width": reference.get("width"),
            "height": reference.get("height"), "format": "png", "sha256": hashlib.sha256(data).hexdigest(),
            "size": len(data), "caption": reference.get("caption")}


def from_wandb(reference: dict[str, Any], files: dict[str, Path]) -> tuple[dict[str, Any] | None, dict[str, Path]]:
    """Our reference for a wandb media value (``None`` when it cannot be kept: a file
    missing, an unknown shape), and files to add to the run (path -> a file of the same content)."""
    extra: dict[str, Path] = {}
    kind = reference.get("_type")
    if kind == "histogram":
        values, bins = reference.get("values"), reference.get("bins")
        if isinstance(values, list) and isinstance(bins, list) and len(bins) == len(values) + 1 and values:
            return histogram_reference(values, bins), extra
        return None, extra
    if kind == "image-file":
        return _image(reference, files, extra), extra
    if kind == "images/separated":
        names = reference.get("filenames") or []
        captions = reference.get("captions") or [None] * len(names)
        items = [_image({"path": name, "width": reference.get("width"), "height": reference.get("height"),
                         "format": reference.get("format", "png"), "caption": caption}, files, extra)
                 for name, caption in zip(names, captions)]
        if not items or any(item is None for item in items):
            return None, extra
        return {"_type": "images/list", "count": len(items), "items": items}, extra
    if kind == "table-file":
        source = _file(reference.get("path"), reference.get("sha256"), files)
        if source is None:
            return None, extra
        if reference["path"] not in files:
            extra[reference["path"]] = source
        data = source.read_bytes()
        return {"_type": "table-file", "path": reference["path"], "nrows": reference.get("nrows"),
                "ncols": reference.get("ncols"), "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}, extra
    return None, extra


def tensorboard_histogram(array: np.ndarray) -> dict[str, Any] | None:
    """A TensorBoard histogram tensor (``[[left, right, count], ...]``) as our reference."""
    array = np.asarray(array, dtype=np.float64)
    if array.ndim != 2 or array.shape[1] != 3 or not 0 < len(array) <= MAX_HISTOGRAM_BINS:
        return None
    if not np.isfinite(array).all():
        return None
    edges = np.append(array[:, 0], array[-1, 1])
    if len(edges) > 2 and not (np.diff(edges) > 0).all():
        return None
    if len(edges) == 2 and not edges[1] > edges[0]:  # every value the same: a bin of width one
        edges = np.array([edges[0] - 0.5, edges[0] + 0.5])
    return histogram_reference(array[:, 2], edges)


def tensorboard_images(key: str, step: int, blobs: list[bytes]) -> tuple[dict[str, Any] | None, dict[str, bytes]]:
    """A TensorBoard image tensor's values (``[width, height, image, ...]``) as our reference
    (one image, or a list) and the PNG files to write; ``None`` when an image cannot be read."""
    from ..media.encoding import decode_png, encode_png, pillow

    items, out = [], {}
    for data in blobs[2:]:
        try:
            if not data.startswith(_PNG):  # JPEG and others: stored as PNG, as every image here
                data = encode_png(decode_png(data))
            with pillow().open(io.BytesIO(data)) as image:
                width, height = image.size
        except (ImportError, OSError, ValueError):
            return None, {}
        path, reference = image_file(key, step, data, width, height)
        out[path] = data
        items.append(reference)
    if not items:
        return None, {}
    if len(items) == 1:
        return items[0], out
    return {"_type": "images/list", "count": len(items), "items": items}, out
