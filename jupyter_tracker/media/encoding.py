"""PNG through Pillow, imported only when an image is encoded or read.

Pillow is the ``media`` extra (``pip install "jupyter-tracker[media]"``); without
it, logging an image is a usage error that says so, and the other keys log.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np

__all__ = ["pillow", "encode_png", "decode_png", "MISSING_PILLOW"]

MISSING_PILLOW = (
    "images need Pillow: pip install \"jupyter-tracker[media]\" (or pip install Pillow)"
)

#: zlib level of the PNGs written: fast on the writer thread, within ~10% of the smallest.
_PNG_LEVEL = 3


def pillow() -> Any:
    """The ``PIL.Image`` module; an ``ImportError`` naming the extra when Pillow is missing."""
    try:
        from PIL import Image
    except ImportError:
        raise ImportError(MISSING_PILLOW) from None
    return Image


def encode_png(pixels: np.ndarray) -> bytes:
    """PNG bytes of uint8 pixels (HxW grey, HxWx3 RGB, HxWx4 RGBA)."""
    image = pillow().fromarray(pixels)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=_PNG_LEVEL)
    return buffer.getvalue()


def decode_png(data: bytes) -> np.ndarray:
    """The pixels of a PNG (or any image Pillow reads) as a uint8 array."""
    with pillow().open(io.BytesIO(data)) as image:
        image.load()
        if image.mode not in ("L", "RGB", "RGBA"):
            image = image.convert("RGBA")
        return np.asarray(image)
