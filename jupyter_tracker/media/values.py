"""``tracker.Image``, ``tracker.Histogram`` and ``tracker.Table``: what a user logs.

A value is built cheaply (only its arguments are checked). ``log()`` calls
:meth:`prepare` with the metric key: it validates the data (a clear error
naming the key) and copies what must not change under the writer (the pixels,
the samples, the cells). The copy is a :class:`Pending`; the writer thread
turns it into a file and a reference (``media.storage``), so PNG and JSON
encoding never happen on the training thread.
"""

from __future__ import annotations

import math
import os
import types
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..limits import (
    MAX_HISTOGRAM_BINS,
    MAX_IMAGE_BYTES,
    MAX_IMAGE_SIDE,
    MAX_IMAGES_PER_VALUE,
    MAX_TABLE_CELLS,
    MAX_TABLE_COLUMNS,
    MAX_TABLE_ROWS,
    MAX_TEXT_LENGTH,
    text_problem,
)

__all__ = ["Image", "Histogram", "Table", "Pending", "MediaError", "prepare", "is_media", "figure_image"]


class MediaError(ValueError):
    """A media value that cannot be logged (its message names the key)."""


@dataclass
class Pending:
    """A validated copy waiting for the writer: ``kind`` is image, images, histogram or table."""

    kind: str
    data: Any
    caption: str | None = None
    nbytes: int = 0


def _caption(caption: Any) -> str | None:
    if caption is None:
        return None
    problem = text_problem(caption, MAX_TEXT_LENGTH)
    if problem is not None:
        raise TypeError(f"caption {problem}") if not isinstance(caption, str) else ValueError(f"caption {problem}")
    return caption


class Image:
    """An image to log: a numpy array (HxW, HxWx1/3/4; uint8, or float in [0, 1]), a
    PIL image, a matplotlib figure (drawn when logged) or the path of an image file.

    Parameters
    ----------
    data
        The pixels. A channels-first array (3xHxW, as torch keeps them) is turned around.
    caption
        Shown under the image.
    """

    def __init__(self, data: Any, caption: str | None = None) -> None:
        self.data = data
        self.caption = _caption(caption)

    def __repr__(self) -> str:
        return f"Image({type(self.data).__name__}, caption={self.caption!r})"


class Histogram:
    """A distribution to log: ``Histogram(values, num_bins=64)`` or
    ``Histogram(np_histogram=(counts, edges))``; at most 512 bins."""

    def __init__(self, sequence: Any = None, np_histogram: Any = None, num_bins: int = 64) -> None:
        if (sequence is None) == (np_histogram is None):
            raise TypeError("Histogram() takes either a sequence of values or np_histogram=(counts, edges)")
        if isinstance(num_bins, bool) or not isinstance(num_bins, int):
            raise TypeError(f"Histogram(num_bins=...) must be an integer, got {num_bins!r}")
        if not 1 <= num_bins <= MAX_HISTOGRAM_BINS:
            raise ValueError(f"Histogram(num_bins={num_bins}): use 1 to {MAX_HISTOGRAM_BINS} bins")
        self.sequence = sequence
        self.np_histogram = np_histogram
        self.num_bins = num_bins

    def __repr__(self) -> str:
        return f"Histogram(num_bins={self.num_bins})"


class Table:
    """A table to log: ``Table(dataframe)`` or ``Table(columns=[...], data=[[...], ...])``.

    Cells are numbers, strings, booleans or ``None`` (anything else is stored as its text).
    """

    def __init__(self, dataframe: Any = None, columns: Any = None, data: Any = None) -> None:
        if dataframe is not None and isinstance(dataframe, (list, tuple)) and columns is None:
            columns, dataframe = dataframe, None  # Table(["a", "b"], data=...) as in wandb
        if dataframe is not None and (columns is not None or data is not None):
            raise TypeError("Table() takes a dataframe or columns=/data=, not both")
        if dataframe is None and data is None:
            raise TypeError("Table() needs a dataframe or data=[[...], ...] (rows)")
        self.dataframe = dataframe
        self.columns = columns
        self.data = data

    def __repr__(self) -> str:
        return "Table(dataframe)" if self.dataframe is not None else f"Table(columns={self.columns!r})"


def figure_image(value: Any) -> Image | None:
    """``log({"fig": plt})``: the pyplot module (its current figure) or a matplotlib figure
    as an :class:`Image`, as wandb logs them; ``None`` for anything else."""
    if isinstance(value, types.ModuleType):
        if value.__name__ == "matplotlib.pyplot":
            return Image(value.gcf())
        return None
    if hasattr(value, "savefig") and hasattr(value, "canvas") and hasattr(value, "get_axes"):
        return Image(value)
    return None


def is_media(value: Any) -> bool:
    """Whether ``value`` is a media value (or a non-empty list of images)."""
    if isinstance(value, (Image, Histogram, Table, Pending)):
        return True
    return isinstance(value, (list, tuple)) and bool(value) and all(isinstance(v, Image) for v in value)


def prepare(key: str, value: Any) -> Pending:
    """Validate and copy ``value`` logged under ``key``; a :class:`MediaError` names the key."""
    try:
        if not isinstance(value, (Histogram, Table)):
            _need_pillow()
        if isinstance(value, Image):
            return _image(value)
        if isinstance(value, Histogram):
            return _histogram(value)
        if isinstance(value, Table):
            return _table(value)
        if len(value) > MAX_IMAGES_PER_VALUE:
            raise MediaError(f"{len(value):,} images in one value; the limit is {MAX_IMAGES_PER_VALUE:,}")
        items = []
        for index, image in enumerate(value):
            try:
                items.append(_image(image))
            except MediaError as exc:
                raise MediaError(f"image {index} of the list: {exc}") from None
        return Pending("images", items, None, sum(item.nbytes for item in items))
    except MediaError as exc:
        raise MediaError(f"log(): {key!r}: {exc}; that key was not logged") from None


# -- images ---------------------------------------------------------------------
_pillow_found = False


def _image(value: Image) -> Pending:
    pixels = _pixels(value.data)
    return Pending("image", pixels, value.caption, pixels.nbytes)


def _need_pillow() -> None:
    global _pillow_found
    if not _pillow_found:
        from .encoding import pillow

        try:
            pillow()
        except ImportError as exc:
            raise MediaError(str(exc)) from None
        _pillow_found = True


def _as_array(data: Any) -> np.ndarray:
    if isinstance(data, (str, os.PathLike)):  # an image file (PNG, JPEG...), read now
        from .encoding import pillow

        try:
            with pillow().open(data) as image:
                return _as_array(image.copy())
        except OSError as exc:
            raise MediaError(f"cannot read the image file {os.fspath(data)!r} ({exc.strerror or exc})") from None
    module = type(data).__module__ or ""
    if module.startswith("PIL."):
        image = data
        if image.mode not in ("L", "RGB", "RGBA"):
            image = image.convert("RGBA" if "A" in image.mode or image.mode == "P" else "RGB")
        return np.asarray(image)
    if hasattr(data, "savefig") and hasattr(data, "canvas"):  # a matplotlib figure
        return _figure_pixels(data)
    if hasattr(data, "detach") and hasattr(data, "cpu"):  # a torch tensor
        data = data.detach().cpu().numpy()
    try:
        return np.asarray(data)
    except (TypeError, ValueError) as exc:
        raise MediaError(f"cannot read a {type(data).__name__} as an image ({exc})") from None


def _figure_pixels(figure: Any) -> np.ndarray:
    """A matplotlib figure drawn now (it may change later), as RGBA pixels."""
    canvas = figure.canvas
    try:
        canvas.draw()
        return np.array(canvas.buffer_rgba(), copy=True)
    except AttributeError:  # a canvas without a pixel buffer: through a PNG
        import io

        from .encoding import decode_png

        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
        return decode_png(buffer.getvalue())


def _pixels(data: Any) -> np.ndarray:
    array = _as_array(data)
    if array.ndim == 3 and array.shape[0] in (1, 3, 4) and array.shape[-1] not in (1, 3, 4):
        array = array.transpose(1, 2, 0)  # channels first (torch)
    shape = array.shape
    if array.ndim not in (2, 3) or (array.ndim == 3 and shape[2] not in (1, 3, 4)):
        raise MediaError(
            f"an image must be HxW or HxWx1/3/4 (grey, RGB, RGBA), got shape {shape}"
        )
    if array.ndim == 3 and shape[2] == 1:
        array = array[:, :, 0]
    height, width = array.shape[:2]
    if not height or not width:
        raise MediaError(f"an image needs pixels, got shape {shape}")
    if height > MAX_IMAGE_SIDE or width > MAX_IMAGE_SIDE:
        raise MediaError(f"an image is {width}x{height} pixels; the limit is {MAX_IMAGE_SIDE} a side")
    size = array.size  # one byte a value once stored
    if size > MAX_IMAGE_BYTES:
        raise MediaError(
            f"an image of {width}x{height} pixels holds {size / 2**20:.0f} MiB; the limit is "
            f"{MAX_IMAGE_BYTES >> 20} MiB (make it smaller)"
        )
    kind = array.dtype.kind
    if kind == "u" and array.dtype.itemsize == 1:
        return np.array(array, dtype=np.uint8, copy=True, order="C")
    if kind in "iu":
        low, high = (int(array.min()), int(array.max()))
        if low < 0 or high > 255:
            raise MediaError(f"integer pixels must be 0 to 255, got {low} to {high}")
        return np.ascontiguousarray(array, dtype=np.uint8)
    if kind == "f":
        low, high = float(np.min(array)), float(np.max(array))
        if not (math.isfinite(low) and math.isfinite(high)):
            raise MediaError("float pixels hold NaN or infinity")
        if low < 0.0 or high > 1.0:
            raise MediaError(f"float pixels must be 0.0 to 1.0, got {low:g} to {high:g} (or give uint8 0 to 255)")
        return np.ascontiguousarray(np.rint(array * 255.0), dtype=np.uint8)
    raise MediaError(f"pixels must be uint8 or float in [0, 1], got dtype {array.dtype}")


# -- histograms -----------------------------------------------------------------
def _numbers(values: Any, what: str) -> np.ndarray:
    try:
        array = np.array(values, dtype=np.float64, copy=True)
    except (TypeError, ValueError):
        raise MediaError(f"a histogram's {what} must be numbers") from None
    array = array.reshape(-1)
    if not array.size:
        raise MediaError(f"a histogram needs values, got an empty {what}")
    bad = int(np.count_nonzero(~np.isfinite(array)))
    if bad:
        raise MediaError(f"a histogram's {what} hold {bad:,} NaN or infinite values (drop them first)")
    return array


def _histogram(value: Histogram) -> Pending:
    if value.sequence is not None:
        samples = _numbers(value.sequence, "values")
        return Pending("histogram", (samples, value.num_bins), None, samples.nbytes)
    try:
        counts, edges = value.np_histogram
    except (TypeError, ValueError):
        raise MediaError("np_histogram must be a pair (counts, edges), as numpy.histogram returns") from None
    counts, edges = _numbers(counts, "counts"), _numbers(edges, "edges")
    if len(edges) != len(counts) + 1:
        raise MediaError(f"np_histogram: {len(counts)} counts need {len(counts) + 1} edges, got {len(edges)}")
    if len(counts) > MAX_HISTOGRAM_BINS:
        raise MediaError(f"np_histogram has {len(counts)} bins; the limit is {MAX_HISTOGRAM_BINS}")
    if (counts < 0).any():
        raise MediaError("np_histogram: counts must not be negative")
    if len(edges) > 1 and not (np.diff(edges) > 0).all():
        raise MediaError("np_histogram: edges must increase")
    return Pending("histogram", (counts, edges), None, counts.nbytes + edges.nbytes)


# -- tables ---------------------------------------------------------------------
def _table(value: Table) -> Pending:
    frame = value.dataframe
    if frame is not None:
        if not (hasattr(frame, "columns") and hasattr(frame, "itertuples")):
            raise MediaError(f"Table() takes a pandas DataFrame, got {type(frame).__name__}")
        columns = [str(c) for c in frame.columns]
        rows = [list(row) for row in frame.itertuples(index=False, name=None)]
    else:
        try:
            rows = [list(row) for row in value.data]
        except TypeError:
            raise MediaError("Table(data=...) must be a list of rows (lists)") from None
        width = len(rows[0]) if rows else len(value.columns or ())
        columns = [str(i) for i in range(width)] if value.columns is None else list(value.columns)
        bad = [c for c in columns if not isinstance(c, str)]
        if bad:
            raise MediaError(f"table column names must be strings, got {bad[0]!r}")
        for number, row in enumerate(rows):
            if len(row) != len(columns):
                raise MediaError(
                    f"table row {number} has {len(row)} values for {len(columns)} columns (every row needs one "
                    "value a column)"
                )
    if len(rows) > MAX_TABLE_ROWS:
        raise MediaError(f"a table of {len(rows):,} rows; the limit is {MAX_TABLE_ROWS:,}")
    if len(columns) > MAX_TABLE_COLUMNS:
        raise MediaError(f"a table of {len(columns):,} columns; the limit is {MAX_TABLE_COLUMNS:,}")
    cells = len(rows) * len(columns)
    if cells > MAX_TABLE_CELLS:
        raise MediaError(f"a table of {cells:,} cells; the limit is {MAX_TABLE_CELLS:,}")
    return Pending("table", (columns, rows), None, 16 * cells + 64)
