"""The jupyter-tracker server: a tornado app over SQLite or PostgreSQL.

Clients send the same records the local events log holds
(``docs/format.md``) to ``/api/v1``; the server applies them exactly once and
serves runs, summaries, history (downsampled on request), system metrics and
files back. ``python -m jupyter_tracker.server --help`` (``tracker server``)
runs it; ``docs/api.md`` describes the API.
"""

from __future__ import annotations

from .commands import main

__all__ = ["main"]
