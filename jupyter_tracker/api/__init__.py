"""``tracker.Api()``: read runs back, in this or any other process.

``Api()`` reads local run directories (``$TRACKER_DIR`` by default): all of it
comes from the events log, through a read cache in each run directory
(:mod:`jupyter_tracker.columns`), so a run still being written, or one that
crashed, reads as far as it got. ``Api(host=...)`` reads the same things from
a tracking server, with the same interface; its filters run on the server.
Which runs and in which order is the query layer's (:mod:`jupyter_tracker.query`).
"""

from __future__ import annotations

from .apirun import ApiRun
from .artifacts import Artifact
from .local import LocalRun
from .remote import RemoteRun
from .runs import SERVER_PAGE, Api, Runs

__all__ = ["Api", "ApiRun", "Artifact", "LocalRun", "RemoteRun", "Runs", "SERVER_PAGE"]
