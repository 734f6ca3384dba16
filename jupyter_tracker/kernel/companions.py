"""What a run offers the tracker's own code that works alongside it (the service
handle, the live panel, saved files, code capture, the sync watch): records to
queue, hooks at every housekeeping tick and at finish, its ``run.json`` fields
and its notices. They use this interface, never the run's private attributes."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..summaries import SummaryState
from .notices import Notices
from .writer import Writer

__all__ = ["Companions", "CompanionInterface"]

_time = time.time


@dataclass
class Companions:
    """What works alongside a run in this process, each set once by the code that starts it
    (:mod:`.session`, :mod:`.files`, :mod:`.sync_watch`); ``None`` when there is none."""

    service: Any = None  # service_handle.ServiceHandle: the service process
    panel: Any = None  # livepanel.Panel: the live panel in the notebook
    files: Any = None  # files._Watched: files saved with policy "live" or "end"
    sync_watch: Any = None  # sync_watch.SyncWatch: tells a script about upload trouble


class CompanionInterface:
    """The part of :class:`~.run.Run` its companions use (a base class of it)."""

    id: str
    path: Path
    companions: Companions
    _writer: Writer
    _info: dict[str, Any]
    _notices: Notices
    _summary_state: SummaryState
    _finished: bool
    _tick_hooks: list[Callable[[], None]]
    _finish_hooks: list[Callable[[str], None]]
    _after_hooks: list[Callable[[str], None]]

    def record(self, kind: str, payload: Any) -> None:
        """Queue one record of ``kind`` (a :mod:`~jupyter_tracker.records` kind other than
        history) with ``payload``, in order with the rows ``log()`` queues."""
        if self._finished:
            raise ValueError(f"run {self.id} is finished; call tracker.init() for a new run")
        self._writer.append([0, kind, _time(), payload])

    def on_tick(self, hook: Callable[[], None]) -> None:
        """Call ``hook()`` about once a second on the writer thread (housekeeping; an
        exception is reported, never raised)."""
        self._tick_hooks.append(hook)

    def on_finish(self, hook: Callable[[str], None], first: bool = False) -> None:
        """Call ``hook(state)`` at ``finish()`` while the run still records (``first``: before
        the hooks added so far)."""
        if first:
            self._finish_hooks.insert(0, hook)
        else:
            self._finish_hooks.append(hook)

    def after_finish(self, hook: Callable[[str], None]) -> None:
        """Call ``hook(state)`` at the end of ``finish()``, once the log is closed and
        ``run.json`` says the run is over."""
        self._after_hooks.append(hook)

    @property
    def notices(self) -> Notices:
        """Where the tracker's messages about this run go (once per key)."""
        return self._notices

    @property
    def info(self) -> dict[str, Any]:
        """The run's ``run.json`` fields as this process knows them (read them; change them
        with :meth:`update_info`)."""
        return self._info

    def update_info(self, fields: dict[str, Any], save: bool = True) -> None:
        """Change fields of ``run.json`` (written now, or with the next write unless ``save``)."""
        self._info.update(fields)
        if save:
            self._save_info()

    def synced_summary(self) -> SummaryState:
        """The summary with everything logged so far taken in (the writer is drained first)."""
        self._sync()
        return self._summary_state

    @property
    def finished(self) -> bool:
        return self._finished

    @property
    def writer(self) -> Writer:
        """The run's writer (``seq``: the last record numbered; ``cut_tail``; ``subscribe()``)."""
        return self._writer

    # -- housekeeping on the writer thread ------------------------------------
    def _warn(self, message: str, key: str | None = None) -> None:
        self._notices.warn(message, key)

    def _tick(self) -> None:
        for hook in list(self._tick_hooks):
            try:
                hook()
            except Exception as exc:  # noqa: BLE001
                self._notices.debug(f"housekeeping failed: {exc!r}")

    def _save_info(self) -> None:
        from ..rundir import write_info

        self._info["updated_at"] = time.time()
        try:
            write_info(self.path, self._info)
        except OSError as exc:
            self._warn(f"cannot write run.json ({exc.strerror or exc})", "run-json")
        except (TypeError, ValueError) as exc:  # a value of ours JSON cannot hold: say it, go on
            self._warn(f"cannot write run.json ({exc})", "run-json-value")
