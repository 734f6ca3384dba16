"""``python -m jupyter_tracker.columns PATH...``: build the read caches of these run
directories (the worker processes of :func:`~.cache.build_many`); prints nothing."""

from __future__ import annotations

import sys

from .cache import RunCache


def _main(paths: list[str]) -> int:
    for path in paths:
        try:
            RunCache(path).history(())
        except Exception:  # noqa: BLE001 - the reader will try again, and say what is wrong
            pass
    return 0


sys.exit(_main(sys.argv[1:]))
