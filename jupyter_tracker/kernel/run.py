"""``Run``: one experiment being recorded from this process.

The hot path is :meth:`Run.log`: it checks the call, copies the row and
appends one record to the writer's queue; everything else (numbering,
encoding, writing, summaries, the live panel) happens on the writer thread.

A run belongs to the process that started it. In a child made by ``fork``
(``multiprocessing`` with the fork start method, ``os.fork()``) there is no
writer thread: the first recording call raises instead of losing the data
(the switch happens once, at fork, so the parent's hot path pays nothing).
"""

from __future__ import annotations

import os
import threading
import time
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .. import records
from ..records.queued import ROW_STEP as _ROW_STEP, ROW_TIME as _ROW_TIME
from ..limits import MAX_EXIT_CODE, MAX_KEYS_PER_RECORD, MAX_STEP, key_problem
from ..summaries import SummaryState
from .checks import TEXT_LIMITS, check_tags, check_text, exit_status, metric_spec
from .companions import CompanionInterface, Companions
from .configs import Config
from .surface import RunSurface
from .notices import Notices
from .summary import Summary
from .mediawriter import MediaWriter

__all__ = ["Run", "Summary", "Companions", "check_text", "check_tags", "exit_status"]

#: Explicit steps from here on make every ``log()`` check that it stays within MAX_STEP.
_STEP_GUARD = MAX_STEP // 2

#: Every run of this process that is not finished (for the fork hook).
_live: weakref.WeakSet = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for run in list(_live):
        run._forked()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


_time = time.time
_HISTORY = records.HISTORY
_NEW_HISTORY = records.NEW_HISTORY


class Run(CompanionInterface, RunSurface):
    """A run recording into its own directory. Create it with :func:`tracker.init`.

    Attributes
    ----------
    id, project, dir
        Fixed for the run's life.
    name, tags, notes, group, job_type
        Settable; changes are recorded.
    config, summary
        See :class:`~jupyter_tracker.config.Config` and :class:`Summary`.

    Notes
    -----
    The tracker's own companions (the service, the live panel, saved files,
    code capture) work with a run through :meth:`record`, :meth:`on_tick`,
    :meth:`on_finish`, :meth:`after_finish`, :meth:`update_info`,
    :attr:`notices`, :attr:`info` and :attr:`companions`, never through its
    private attributes.
    """

    def __init__(
        self,
        *,
        run_id: str,
        path: Path,
        info: dict[str, Any],
        notices: Notices,
        seq: int = 0,
        step: int = 0,
        summary_state: SummaryState | None = None,
        config: dict[str, Any] | None = None,
        dir_lock: Any = None,
    ) -> None:
        self.id = run_id
        self.path = Path(path)
        self._info = info
        self._notices = notices
        self._summary_state = summary_state or SummaryState()
        self._step = step
        self._known: set[str] = set()  # top-level keys last logged as numbers (fast path)
        self._logged: set[str] = set(self._summary_state.last)  # every flat key logged
        self._media_found: list[str] = []  # media keys of the row being cleaned
        self._finished = False
        self._lock = threading.Lock()
        self._writer = MediaWriter(
            self.path / "events.log",
            self._summary_state,
            seq=seq,
            notify=self._warn,
            tick=self._tick,
        )
        self._tick_hooks: list[Callable[[], None]] = []
        self._finish_hooks: list[Callable[[str], None]] = []
        self._after_hooks: list[Callable[[str], None]] = []
        self.companions = Companions()
        self.config = Config(emit=lambda changes: self.record(records.CONFIG, changes))
        if config:
            self.config._load(config)
        self.summary = Summary(self)
        self._pid = os.getpid()  # the owner, named when a forked child records
        self._dir_lock = dir_lock  # rundir.RunLock: this process records the run
        self._finishing = False
        _live.add(self)

    # -- identity -------------------------------------------------------------
    @property
    def dir(self) -> str:
        return str(self.path)

    @property
    def project(self) -> str:
        return self._info["project"]

    @property
    def mode(self) -> str:
        return self._info["mode"]

    @property
    def state(self) -> str:
        return self._info.get("state", "running")

    @property
    def step(self) -> int:
        """The step the next ``log()`` without ``step=`` writes to."""
        return self._step

    def _meta_property(key: str):  # noqa: N805 - a small property factory
        def getter(self: Run) -> Any:
            return self._info.get(key)

        def setter(self: Run, value: Any) -> None:
            if key == "tags":
                value = check_tags("run.tags", [str(t) for t in (value or [])])
            elif value is not None:
                value = check_text(f"run.{key}", str(value), TEXT_LIMITS[key])
            self._info[key] = value
            self.record(records.META, {key: value})
            self._save_info()

        return property(getter, setter)

    name = _meta_property("name")
    tags = _meta_property("tags")
    notes = _meta_property("notes")
    group = _meta_property("group")
    job_type = _meta_property("job_type")
    del _meta_property

    def __repr__(self) -> str:
        return f"<Run {self.name!r} id={self.id} project={self.project!r} state={self.state} dir={self.dir!r}>"

    # -- the hot path ---------------------------------------------------------
    def log(self, data: dict[str, Any] | None = None, step: int | None = None, commit: bool | None = None) -> None:
        """Record one row of metrics.

        Parameters
        ----------
        data
            ``{name: number}``; nested dicts flatten to ``"a/b"``. ``None`` (``log()``)
            logs nothing and commits the current step, as in wandb. Numbers are
            int, float, bool, numpy scalars and 0-d arrays/tensors; NaN and inf
            are kept. A key whose value is not a number is dropped with a message
            and the other keys are logged. ``tracker.Image``, ``Histogram``, ``Table``
            (and a list of images) are media: checked and copied here, written by
            the writer thread (see :mod:`jupyter_tracker.media`).
        step
            The step of this row. Without it, each committed call is one step.
            A step lower than the current one is not written.
        commit
            ``False`` keeps adding to the current step. Defaults to ``True``
            without ``step`` and to ``False`` with it (the row is complete when a
            higher step arrives), as in wandb.

        Raises
        ------
        TypeError, ValueError
            For a non-dict, a non-string or reserved key, a bad step, or a call
            after ``finish()``; nothing is logged by that call. For a media value
            that cannot be logged (shape, type, limits): raised after the other
            keys of the row are logged, naming the key.
        """
        kind = _HISTORY
        if type(data) is dict and self._known.issuperset(data):
            row = data.copy()
            for value in row.values():
                value_type = type(value)
                if value_type is not float and value_type is not int:
                    row, kind = self._clean(row, step, commit)
                    break
        else:
            row, kind = self._clean(self._check_keys(data), step, commit)
        current = self._step
        if step is None:
            if commit is not False:
                self._step = current + 1
        elif type(step) is int and current <= step < _STEP_GUARD:
            current = step
            self._step = step + 1 if commit else step
        else:
            current = self._check_step(step, row, commit)
            if current is None:
                if kind == records.MEDIA_ROW:
                    from ..media.rows import release_row

                    release_row(row, self._writer)
                return
        if row:
            if kind == _HISTORY:  # queued as the row itself: no container for the cyclic GC (records.queued)
                row[_ROW_STEP] = current
                row[_ROW_TIME] = _time()
                self._writer.append(row)
            else:
                self._writer.append([0, kind, current, _time(), row])

    def _check_keys(self, data: Any) -> dict:
        if self._finished:
            raise ValueError(f"log() called after run {self.id} finished; call tracker.init() for a new run")
        if data is None:
            return {}
        if not isinstance(data, dict):
            if hasattr(data, "keys") and hasattr(data, "__getitem__"):
                data = {k: data[k] for k in data.keys()}
            else:
                raise TypeError(f"log() takes a dict of metrics, got {type(data).__name__}")
        for key in data:
            if key not in self._known:
                self._check_key(key)
        return data

    def _check_key(self, key: Any, prefix: str = "") -> str:
        """A key seen for the first time: the limits every reader and the server apply."""
        if not isinstance(key, str):
            raise TypeError(f"log(): metric keys must be strings, got {prefix}{key!r} ({type(key).__name__})")
        if not key:
            raise ValueError(f"log(): empty metric key{' under ' + repr(prefix) if prefix else ''}")
        full = prefix + key
        problem = key_problem(full)
        if problem is not None:
            raise ValueError(f"log(): {problem}")
        return full

    def _clean(self, row: dict, step: int | None = None, commit: bool | None = None) -> tuple[dict, str]:
        """The slow path: flatten dicts, convert scalars, drop non-numbers with a message.

        Returns the row and its record kind: ``NEW_HISTORY`` when it holds a key
        never logged before (the writer then registers it), else ``HISTORY``.
        """
        out: dict[str, float] = {}
        self._media_found = []
        self._flatten(row, "", out)
        if len(out) > MAX_KEYS_PER_RECORD:
            raise ValueError(
                f"log(): {len(out):,} metric keys in one call; the limit is {MAX_KEYS_PER_RECORD:,} "
                "(split them over several log() calls with the same step)"
            )
        if self._media_found:
            media = self._prepare_media(out, step, commit)
        else:
            media = False
        known = self._known
        for key in row:
            # A number: later calls with numbers only take the fast path. The fast path
            # checks no key count, so it knows at most MAX_KEYS_PER_RECORD keys.
            if key in out and len(known) < MAX_KEYS_PER_RECORD:
                known.add(key)
        if media:
            self._logged.update(out)
            return out, records.MEDIA_ROW  # the writer writes the media and splits the row (media.rows)
        if self._logged.issuperset(out):
            return out, _HISTORY
        self._logged.update(out)
        return out, _NEW_HISTORY

    def _prepare_media(self, out: dict, step: int | None, commit: bool | None) -> bool:
        """Validate and copy the media values of ``out`` in place; whether any is left. Waits
        while too much media waits for the writer. A bad value is taken out: the rest of the
        row is logged (this very call, again) and then its error raised."""
        from ..media.rows import prepare_row

        found, self._media_found = self._media_found, []
        error = prepare_row(out, found, self._writer)
        if error is not None:
            self.log(out, step, commit)  # the values prepared already pass through as they are
            raise error
        return any(key in out for key in found)

    def _flatten(self, row: dict, prefix: str, out: dict) -> None:
        for key, value in row.items():
            full = self._check_key(key, prefix) if prefix else key
            value_type = type(value)
            if value_type is float or value_type is int:
                out[full] = value
            elif isinstance(value, dict):
                self._flatten(value, full + "/", out)
            else:
                number = records.to_float(value)
                if number is None:
                    from ..media.values import figure_image, is_media

                    value = figure_image(value) or value  # log({"chart": plt}), as in wandb
                    if is_media(value):
                        out[full] = value
                        self._media_found.append(full)
                        continue
                    self._warn(
                        f"log(): {full!r} is a {type(value).__name__}, not a number; that key was not logged",
                        f"bad-value:{full}:{type(value).__name__}",
                    )
                else:
                    out[full] = number

    def _check_step(self, step: Any, row: dict, commit: bool | None) -> int | None:
        if self._finished:
            raise ValueError(f"log() called after run {self.id} finished; call tracker.init() for a new run")
        if isinstance(step, bool) or not hasattr(step, "__index__"):
            raise TypeError(f"log(step=...) must be an integer, got {step!r}")
        step = step.__index__()
        if step < 0:
            raise ValueError(f"log(step={step}): steps start at 0")
        if step > MAX_STEP:
            raise ValueError(f"log(step={step}): the largest step is {MAX_STEP} (2**63 - 1)")
        current = self._step
        if step < current:
            for key in row:
                self._warn(
                    f"log(step={step}) is lower than the current step {current}: {key!r} was not "
                    "written (steps only go forward)",
                    f"step-back:{key}",
                )
            return None
        self._step = step + 1 if commit else step
        if step >= _STEP_GUARD and "log" not in self.__dict__:
            self.log = self._log_near_max_step  # type: ignore[method-assign]
        return step

    def _log_near_max_step(self, data: dict[str, Any], step: int | None = None, commit: bool | None = None) -> None:
        """``log()`` once steps come near MAX_STEP: no step past it, implicit ones included."""
        if step is None and self._step > MAX_STEP:
            raise ValueError(
                f"log(): the run is at step {MAX_STEP} (2**63 - 1), the largest there is; "
                "no further step can be logged"
            )
        Run.log(self, data, step, commit)

    # -- a forked child -------------------------------------------------------
    def _forked(self) -> None:
        """In a child made by fork: every recording call raises from now on."""
        self._writer.forked(self._forked_call)
        self._sync = self._forked_call  # the writer's lock may have been held at fork
        self.finish = self._forked_call  # type: ignore[method-assign]
        self.save = self._forked_call  # type: ignore[method-assign]
        lock = self._dir_lock
        if lock is not None:
            lock.forget()  # the lock is the parent's; the child must not hold it past it

    def _forked_call(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(
            f"run {self.id} belongs to process {self._pid}, and this is a forked child "
            f"(pid {os.getpid()}): a child cannot record to its parent's run (nothing of it would "
            "reach the run). Log from the parent (send values back, e.g. as the results of a "
            "multiprocessing pool), or start a run of the child's own with tracker.init() "
            "(another id; group= keeps them together), or use the 'spawn' start method"
        )

    def _sync(self) -> None:
        """Make everything logged so far visible to summaries (and on disk)."""
        if not self._finished:
            self._writer.drain()

    def define_metric(
        self,
        name: str,
        step_metric: str | None = None,
        summary: str | None = None,
        hidden: bool = False,
        goal: str | None = None,
        step_sync: bool | None = None,
        overwrite: bool | None = None,
    ) -> None:
        """Say how a metric (or a ``"prefix/*"`` glob) is plotted and summarised.

        ``step_metric`` names the metric used as its x axis (e.g. ``"epoch"``);
        ``summary`` is one of min, max, mean, last, first, none. wandb's ``goal``
        (``"minimize"``/``"maximize"``), ``step_sync`` and ``overwrite`` are
        accepted and unused.
        """
        if goal is not None and goal not in ("minimize", "maximize"):
            raise ValueError(f"define_metric({name!r}, goal={goal!r}): use 'minimize' or 'maximize'")
        self.record(records.METRIC, metric_spec(name, step_metric, summary, hidden))

    def save(self, glob_str: str | None = None, base_path: str | None = None, policy: str = "live") -> Any:
        """Copy files matching ``glob_str`` into the run's ``files/`` folder.

        ``policy``: ``"now"`` copies once now, ``"end"`` at finish, ``"live"``
        now and again whenever the file changes while the run lives.
        Returns the paths saved now (relative to ``files/``). Without
        ``glob_str`` (wandb's ``run.save()``, meaning "sync now"), does nothing
        and returns ``True``: records are written and synced continuously.
        """
        from .files import save

        if glob_str is None:
            return True

        if self._finished:
            raise ValueError(f"run {self.id} is finished; save() needs a live run")
        return save(self, glob_str, base_path, policy)

    # -- finishing ------------------------------------------------------------
    def finish(self, exit_code: int = 0, quiet: bool | None = None) -> None:
        """End the run: write everything, mark it finished (or failed) and stop its service.

        Files saved with ``policy="end"`` are copied and recorded first. Returns
        within about half a second (a few seconds while the disk is full);
        from then on every process reads the run as finished. A problem of
        the tracker's own is reported, never raised.
        """
        if isinstance(exit_code, bool) or not isinstance(exit_code, int):
            raise TypeError(f"finish(exit_code=...) must be an integer, got {exit_code!r}")
        if abs(exit_code) > MAX_EXIT_CODE:
            raise ValueError(f"finish(exit_code={exit_code}): exit codes go from -{MAX_EXIT_CODE} to {MAX_EXIT_CODE}")
        exit_code = int(exit_code)
        with self._lock:
            if self._finished or self._finishing:
                return
            self._finishing = True
        self._writer.finishing()  # a full disk must not hold finish() up
        state = "finished" if not exit_code else "failed"
        try:
            for hook in list(self._finish_hooks):  # they may still record (end files)
                try:
                    hook(state)
                except Exception as exc:  # noqa: BLE001 - finishing must complete
                    self._warn(f"finish(): {getattr(hook, '__name__', 'a step')} failed ({exc!r})", None)
        except BaseException:  # interrupted (Ctrl-C): the run is not finished, finish() can run again
            self._finishing = False
            self._writer.finishing(False)
            raise
        with self._lock:
            self._finished = True
            append = self._writer.seal(self._closed_append)
        _live.discard(self)
        try:
            append([0, records.STATE, _time(), {"state": state, "exit_code": exit_code}])
            # the service makes the log durable (fsync) after we return; without one, we do
            service = self.companions.service
            complete = self._writer.close(fsync=service is None or service.exited() is not None)
        except Exception as exc:  # noqa: BLE001 - finishing must complete
            self._warn(f"finish(): writing events.log failed ({exc!r})", "finish-writer")
            complete = True
        if not complete:
            self._warn(f"at finish, {self._writer.unwritten_report()}: they are lost", "finish-unwritten")
        self._info.update(state=state, exit_code=exit_code, finished_at=time.time())
        self._info["steps"] = self._summary_state.last_step
        self._save_info()
        from ..rundir import write_summary

        if not write_summary(self.path, self._summary_state, config=self.config.as_dict()):
            self._warn("finish(): cannot write summary.json (replay events.log for the summary)", "summary-json")
        lock, self._dir_lock = self._dir_lock, None
        if lock is not None:
            lock.release()
        for hook in list(self._after_hooks):
            try:
                hook(state)
            except Exception as exc:  # noqa: BLE001 - finishing must complete
                self._notices.debug(f"finish(): {getattr(hook, '__name__', 'a step')} failed ({exc!r})")

    def _closed_append(self, item: Any) -> None:
        raise ValueError(f"run {self.id} is finished; call tracker.init() for a new run")

    def __enter__(self) -> Run:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            code = 0
        elif issubclass(exc_type, SystemExit):
            code = exit_status(exc.code)
        else:
            code = 130 if issubclass(exc_type, KeyboardInterrupt) else 1
        self.finish(exit_code=code)
