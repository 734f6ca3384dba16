"""Stable colours: a metric's colour inside a run, and a run's colour across views.

The colour of a name (a metric key, a run id) is ``PALETTE[fnv1a32(utf8(name)) % 8]``:
the same name gets the same colour in the live panel, the static image, the compare
view and the JupyterLab extension, run after run, with no state kept anywhere.

The hash is 32-bit FNV-1a over the UTF-8 bytes of the name: start from
``0x811c9dc5``; for each byte ``h = ((h ^ byte) * 0x01000193) mod 2**32``.
In TypeScript: ``h = Math.imul(h ^ byte, 0x01000193) >>> 0`` over
``new TextEncoder().encode(name)``.

The palette was chosen for charts read by everyone, on light and dark pages:

- each colour has a contrast of at least 3:1 (the WCAG figure for graphics)
  against white and against ``#212121`` (JupyterLab Dark's plot background),
  so one palette serves both themes;
- every pair differs by a CIELAB distance of at least 18 for normal vision and
  under simulated protanopia and deuteranopia (Machado et al. 2009, severity 1),
  and at least 14 under tritanopia.

Eight colours for any number of names means that two names can share one.
Inside a panel that does not matter (one metric per chart); where several names
are drawn together, :func:`colors_for` keeps each name's own colour unless it is
already taken in that view, and then takes the next free one (so up to eight
names in one view always get eight different colours).
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["PALETTE", "fnv1a32", "color_index", "color_of", "colors_for"]

PALETTE = (
    "#1895e0",  # blue
    "#a95c03",  # brown orange
    "#147e6b",  # teal
    "#db0462",  # crimson
    "#4f62e2",  # indigo
    "#06a43f",  # green
    "#c22da4",  # magenta
    "#f945a3",  # pink
)

_FNV_OFFSET = 0x811C9DC5
_FNV_PRIME = 0x01000193


def fnv1a32(text: str) -> int:
    """32-bit FNV-1a hash of the UTF-8 bytes of ``text``."""
    h = _FNV_OFFSET
    for byte in text.encode("utf-8"):
        h = ((h ^ byte) * _FNV_PRIME) & 0xFFFFFFFF
    return h


def color_index(name: str) -> int:
    """The palette index of ``name``."""
    return fnv1a32(name) % len(PALETTE)


def color_of(name: str) -> str:
    """The colour of ``name`` (a metric key, or a run id): ``#rrggbb``."""
    return PALETTE[color_index(name)]


def colors_for(names: Iterable[str]) -> dict[str, str]:
    """A colour per name, each name's own colour when it is free in this set.

    Names are served in sorted order; a name whose colour is taken gets the
    next free palette entry after it (wrapping). Once all eight are taken,
    names keep their own colours (shared).
    """
    taken: set[int] = set()
    out: dict[str, str] = {}
    for name in sorted(set(names)):
        index = color_index(name)
        if len(taken) < len(PALETTE):
            while index in taken:
                index = (index + 1) % len(PALETTE)
            taken.add(index)
        out[name] = PALETTE[index]
    return out
