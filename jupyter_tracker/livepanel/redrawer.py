"""The panel's own thread: it reads the run's log and redraws, within a CPU budget.

Each cycle calls ``cycle()`` (read what the log gained, redraw). Cycles come
when woken and at least once a second (``idle``), at most :data:`MAX_RATE` times a
second, and rarer when they are costly, so that the thread uses no more than
:data:`CPU_BUDGET` of a core on average while the run trains. A cycle that
returns ``True`` is catching up with a log that stopped growing (the panel
opened late, or the run finished): the next one follows at once.

:meth:`Redrawer.finish` asks for a last cycle: the thread catches up with the
whole log, calls ``final()`` and ends; :attr:`Redrawer.done` is set then.
Nobody waits for it but whoever wants to (the end of the cell, see
:meth:`~jupyter_tracker.livepanel.panel.Panel.finish`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

__all__ = ["Redrawer", "MAX_RATE", "CPU_BUDGET"]

#: Redraws per second, at most.
MAX_RATE = 5.0
#: The share of one core the panel may use while the run trains.
CPU_BUDGET = 0.05
#: The longest pause between two cycles (s).
MAX_PAUSE = 2.0


class Redrawer:
    """Calls ``cycle`` on a thread of its own, within the budget; newest state wins."""

    def __init__(self, cycle: Callable[[], bool], rate: float = MAX_RATE,
                 on_error: Callable[[Exception], None] | None = None,
                 warmup: Callable[[], None] | None = None, idle: float = 1.0,
                 budget: float = CPU_BUDGET) -> None:
        self._cycle = cycle
        self._idle = idle  # the longest wait for a wake-up before a cycle
        self._budget = budget
        self._warmup = warmup
        self._period = 1.0 / rate
        self._on_error = on_error
        self._wake = threading.Event()
        self._hurry = threading.Event()  # set by finish and stop: no more resting
        self._stop = False
        self._final: Callable[[], None] | None = None
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, name="tracker-panel", daemon=True)
        self.thread.start()

    def wake(self) -> None:
        self._wake.set()

    def _call(self, fn: Callable[[], object]) -> object:
        try:
            return fn()
        except Exception as exc:  # noqa: BLE001 - the panel must never break the run
            if self._on_error is not None:
                self._on_error(exc)
            return None

    def _run(self) -> None:
        try:
            if self._warmup is not None:  # one-off work (loading bqplot) outside the budget
                self._call(self._warmup)
            busy = False
            while not self._stop:
                started = time.monotonic()
                if not busy:
                    self._wake.wait(self._idle)
                    self._wake.clear()
                if self._stop:
                    return
                final = self._final
                began = time.thread_time()
                busy = bool(self._call(self._cycle))
                if final is not None and not busy:
                    self._call(final)
                    return
                if busy:
                    time.sleep(0)  # catching up: let the other threads in, then go on
                    continue
                # at most MAX_RATE cycles a second, and no more than CPU_BUDGET of a core over
                # each cycle and the rest after it (a costly one-off, like creating charts,
                # pauses at most MAX_PAUSE)
                cost = time.thread_time() - began
                rest = min(max(self._period, cost / self._budget), MAX_PAUSE) - (time.monotonic() - started)
                if rest > 0:
                    self._hurry.wait(rest)  # a wake-up meanwhile is kept for the next cycle
        finally:
            self.done.set()

    def finish(self, final: Callable[[], None]) -> None:
        """Catch up, call ``final`` once, and end the thread (returns at once)."""
        self._final = final
        self._wake.set()
        self._hurry.set()

    def stop(self, timeout: float = 2.0) -> None:
        """End the thread without a last cycle."""
        self._stop = True
        self._wake.set()
        self._hurry.set()
        if self.thread is not threading.current_thread():
            self.thread.join(timeout)
