"""The writer of a run that logs media: :class:`~.writer.Writer` plus the media's files.

A row with media reaches the writer as a :data:`~jupyter_tracker.records.MEDIA_ROW`
record. This writer writes such rows a piece at a time: each row's files, then
its history record of numbers and its ``media`` record of references
(:func:`jupyter_tracker.media.rows.write_rows`), so a reference never names a
file not yet complete and a kill loses the records after one image, not after
all those queued. Media the disk refuses wait in the run's media budget and are
written first at each drain once it takes them; what still waits at the end is
said lost. A run without media pays for this one set of the kinds of each drain's records (built in C).
"""

from __future__ import annotations

from operator import itemgetter
from typing import Any

from .. import records
from ..records import queued
from .writer import Writer

__all__ = ["MediaWriter"]

_KIND = itemgetter(1)


class MediaWriter(Writer):
    """:class:`~.writer.Writer` that also writes media (see the module)."""

    #: Bytes of media copied by ``log()`` not yet written (``media.rows.Budget``, made when first needed).
    media_budget: Any = None

    def _take(self) -> list[list]:
        items = super()._take()
        budget = self.media_budget
        if budget is not None and budget.waiting:  # media the disk refused: written first, in order
            items[:0] = budget.retry(self.path.parent, self._notify)
        return items

    def _encode(self, items: list) -> list[list]:
        if not queued.all_rows(items):
            queued.unqueue(items)
            if records.MEDIA_ROW in set(map(_KIND, items)):
                from ..media.rows import write_rows

                write_rows(self, items)  # back here a piece at a time, without media rows
                return items
        return super()._encode(items)

    def close(self, timeout: float = 5.0, fsync: bool = True) -> bool:
        complete = super().close(timeout, fsync)
        lost = self.media_budget.lost() if self.media_budget is not None else None
        if lost:
            self._notify(f"at finish, {lost}: they are lost", "media-lost")
        return complete

