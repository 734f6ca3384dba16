"""Run ids and readable random run names."""

from __future__ import annotations

import re
import secrets

__all__ = ["new_id", "random_name", "check_id"]

_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"
_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")

_ADJECTIVES = (
    "amber autumn bold brisk calm clever cosmic crimson curious daring dawn deep "
    "eager electric fancy fiery fluent frosty gentle giddy golden graceful hardy "
    "hidden honest icy jolly keen lively lucky lunar mellow misty noble odd olive "
    "patient polar proud quiet rapid rosy rustic sandy serene silent silver smooth "
    "snowy solar spry stellar stormy sunny swift tidy twilight vivid warm wild witty"
).split()
_NOUNS = (
    "aurora badger bamboo beacon breeze brook canyon cedar cloud comet coral cosmos "
    "dune eagle ember falcon fern field firefly forest galaxy glade glacier grove "
    "harbor hawk horizon island lake lantern leaf meadow meteor moon mountain nebula "
    "oak ocean orbit otter pebble pine planet pond prairie rain river sea shadow "
    "sky snow sparrow spring star stone storm sun thunder tide valley violet wave wind"
).split()


def new_id() -> str:
    """Eight random lowercase letters and digits."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(8))


def random_name(number: int | None = None) -> str:
    """``adjective-noun-number``; the number defaults to a random one."""
    if number is None:
        number = secrets.randbelow(1000)
    return f"{secrets.choice(_ADJECTIVES)}-{secrets.choice(_NOUNS)}-{number}"


def check_id(run_id: object) -> str:
    """A run id given by the user: letters, digits, ``_`` and ``-``, at most 64."""
    if not isinstance(run_id, str) or not _ID.match(run_id):
        raise ValueError(
            f"id={run_id!r} is not a valid run id: use 1 to 64 letters, digits, '_' or '-'"
        )
    return run_id
