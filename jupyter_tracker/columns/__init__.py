"""A run's history as columns, read fast, from a cache built out of its events log.

Reading a run by replaying its JSON log costs seconds for a long run; the
compare view and the lab extension read many runs at once. So each run
directory gets a read cache, ``cache/``, built incrementally from
``events.log`` and never the source of truth:

- ``snapshot.json``: everything but the history rows (config, summary state,
  metric definitions, identity changes, state, the read report), as
  :class:`~jupyter_tracker.replay.RunLog` keeps it, so listing and filtering
  many runs reads one small file per run;
- ``columns.json`` and raw little-endian arrays: one row table (the step and
  timestamp of each history row) and, per metric, the row of each point and
  its value (``g<gen>-rows.step``, ``g<gen>-rows.ts``, ``g<gen>-<n>.row``,
  ``g<gen>-<n>.val``).

Both JSON files record how far the log was read (byte offset of the last
complete line, lines, last sequence number) and what the log looked like then
(inode, size, mtime, checksums of its first bytes and of the bytes before the
offset). A reader whose log has the same inode, size and mtime uses the cache
as it is; a log that grew is read from the offset on (the arrays are appended
to, the last row patched in place); a log that shrank, was replaced or was
rewritten in place, a cache of another version, unreadable JSON or arrays
shorter than the JSON says are rebuilt from scratch under a new generation
name (readers of the old one are not disturbed). Updates hold an exclusive
lock on ``cache/lock``, write the arrays first and the JSON files last (atomically), and cut arrays back to the length the JSON
says before appending, so a builder killed half-way costs nothing. A run
directory that cannot be written is read into memory instead.

:func:`~jupyter_tracker.replay.replay` stays the reference: the tests check
that both agree on random logs.
"""

from __future__ import annotations

from .cache import RunCache, build_many
from .history import History, empty_column
from .store import COLUMNS_JSON, SNAPSHOT_JSON, VERSION

__all__ = ["VERSION", "SNAPSHOT_JSON", "COLUMNS_JSON", "RunCache", "History", "build_many", "empty_column"]
