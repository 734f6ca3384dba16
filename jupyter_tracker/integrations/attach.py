"""The run a framework callback logs into: started, reused or resumed, and never a cause of a crash.

A callback holds one :class:`Attachment`. :meth:`Attachment.start` gives the run
to log into:

- the current run when there is one (the user called ``tracker.init()`` before
  training): the callback adds its config to it and leaves it open;
- else a run it starts with the callback's ``tracker.init()`` arguments, which
  it finishes when training ends (:meth:`Attachment.finish`);
- when a run it started was finished and the framework logs again
  (``trainer.evaluate()`` after ``train()``, ``trainer.test()`` after
  ``fit()``), that same run is resumed, so one training session stays one run.

Every call into the tracker goes through :meth:`Attachment.call`: an exception is
reported once per kind (the run's status line in a notebook, one line on stderr
in a script, ``logs/debug.log`` in silent mode) and training goes on. The only
exception is a usage error at the start (an unknown or bad ``tracker.init()``
argument): it raises, before any training step, with the tracker's message.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import jupyter_tracker as _tracker

from .. import settings
from ..limits import TERMINAL_STATES, key_problem

__all__ = ["Attachment", "check_init_kwargs"]

_logger = logging.getLogger("jupyter_tracker.integrations")


def check_init_kwargs(owner: str, kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """``kwargs`` when ``tracker.init()`` takes every one of them; else a ``TypeError`` naming the first that it does not."""
    accepted = set(inspect.signature(_tracker.init).parameters)
    unknown = sorted(set(kwargs) - accepted)
    if unknown:
        raise TypeError(
            f"{owner}: tracker.init() has no argument {unknown[0]!r} (it takes {', '.join(sorted(accepted))})"
        )
    return dict(kwargs)


class Attachment:
    """One callback's link to its run.

    Parameters
    ----------
    owner
        How messages name the callback (``"TrackerCallback (transformers)"``).
    init_kwargs
        Arguments for ``tracker.init()`` when the callback starts a run itself.
    default_project
        The project when neither ``init_kwargs``, the framework nor
        ``TRACKER_PROJECT`` names one.
    setup
        Called with the run once, the first time the callback attaches to it
        (``define_metric`` calls).
    """

    def __init__(self, owner: str, init_kwargs: Mapping[str, Any] | None = None,
                 default_project: str | None = None, setup: Callable[[Any], None] | None = None) -> None:
        self.owner = owner
        self.init_kwargs = check_init_kwargs(owner, init_kwargs or {})
        self.default_project = default_project
        self.setup = setup
        self.run: Any = None
        #: Whether this attachment started ``run`` (and so finishes it).
        self.started = False
        self._base: Path | None = None  # the folder of a run we started, to resume it
        self._set_up: set[str] = set()  # ids of the runs ``setup`` ran on
        self._reported: set[str] = set()
        #: The tracker could not start a run: :meth:`active` stops trying until the next :meth:`start`.
        self._gave_up = False

    # -- copies (scikit-learn's clone() deep-copies an estimator's callbacks) ---------------
    def __getstate__(self) -> dict[str, Any]:
        """A copy or a pickle carries the settings, not the run (which holds threads)."""
        state = self.__dict__.copy()
        state.update(run=None, started=False, _base=None, _set_up=set(), _reported=set(), _gave_up=False)
        return state

    def __deepcopy__(self, memo: dict[int, Any]) -> Attachment:
        import copy

        clone = Attachment.__new__(Attachment)
        clone.__dict__.update(copy.deepcopy(self.__getstate__(), memo))
        return clone

    def finished(self) -> bool:
        """Whether the run this attachment started has ended (the next :meth:`start` would resume it)."""
        return self.run is not None and self.started and self.run.state in TERMINAL_STATES

    # -- the run ------------------------------------------------------------------------
    def start(self, config: Mapping[str, Any] | None = None, project: str | None = None,
              name: str | None = None, group: str | None = None) -> Any:
        """The run to log into (see the module's docstring), or ``None`` when the tracker
        cannot give one (said once; training goes on without tracking).

        ``config`` is the framework's (training arguments, model config): a run
        this attachment starts gets it with the user's ``config=`` on top; a
        reused run gets it through ``config.update(..., allow_val_change=True)``.
        ``project``, ``name`` and ``group`` are the framework's own names for
        them, used when the user's ``init`` arguments name none.

        Raises
        ------
        TypeError, ValueError
            A usage error of the user's ``tracker.init()`` arguments.
        """
        self._gave_up = False
        current = _tracker.current()
        if current is None and self.finished():
            current = self._resume()
        elif current is None:
            current = self._new(project, name, group)
            if current is not None and config:  # the user's config= wins over the framework's
                given = current.config.keys()
                config = {k: v for k, v in config.items() if k not in given}
        elif current is not self.run:
            self.run, self.started = current, False
        if current is None:
            return None
        if config:
            self.add_config(current, config)
        if self.setup is not None and current.id not in self._set_up:
            self._set_up.add(current.id)
            self.call("setup", self.setup, current)
        return current

    def is_current(self) -> bool:
        """Whether the run is set and is the current run of this process."""
        return self.run is not None and self.run is _tracker.current()

    def active(self) -> Any:
        """The run to log into now: ours while it is current, else :meth:`start`'s answer."""
        run = self.run
        if run is not None and run is _tracker.current():
            return run
        if self._gave_up:
            return None
        try:
            return self.start()
        except (TypeError, ValueError) as exc:  # the first start raised it already; here, say it
            self.report(f"{self.owner}: cannot start a run ({exc})", "start-usage")
            return None

    def _new(self, project: str | None, name: str | None, group: str | None) -> Any:
        kwargs = dict(self.init_kwargs)
        if kwargs.get("project") is None:
            kwargs["project"] = project or settings.env("TRACKER_PROJECT") or self.default_project
        for key, value in (("name", name), ("group", group)):
            if kwargs.get(key) is None and value is not None:
                kwargs[key] = value
        try:
            run = _tracker.init(**kwargs)
        except (TypeError, ValueError):
            raise
        except Exception as exc:  # noqa: BLE001 - a problem of ours (a disk, a folder): training goes on
            self.report(f"{self.owner}: cannot start a run ({type(exc).__name__}: {exc}); "
                        "training goes on without tracking", "start")
            self._gave_up = True
            return None
        self.run, self.started = run, True
        self._base = Path(run.dir).parent if getattr(run, "dir", None) else None
        return run

    def _resume(self) -> Any:
        old = self.run
        try:
            run = _tracker.init(id=old.id, resume="allow", dir=self._base, project=old.project,
                                mode=self.init_kwargs.get("mode"))
        except Exception as exc:  # noqa: BLE001
            self.report(f"{self.owner}: cannot resume run {old.id} ({type(exc).__name__}: {exc}); "
                        "these values are not recorded", "resume")
            self._gave_up = True
            return None
        self.run = run
        return run

    def add_config(self, run: Any, config: Mapping[str, Any]) -> None:
        """``run.config.update(config, allow_val_change=True)``, guarded: a key the tracker
        refuses (a value over the size limit) is named once and the other keys are kept."""
        try:
            run.config.update(dict(config), allow_val_change=True)
            return
        except Exception:  # noqa: BLE001 - find the keys at fault, keep the others
            pass
        refused = []
        for key, value in config.items():
            try:
                run.config.update({key: value}, allow_val_change=True)
            except Exception as exc:  # noqa: BLE001
                refused.append(f"{key!r} ({exc})")
        if refused:
            self.report(f"{self.owner}: config keys not recorded: {'; '.join(refused)[:2000]}", "config")

    def detach(self) -> None:
        """Forget the run: the next :meth:`start` reuses the current run or starts a new one."""
        self.run, self.started, self._base = None, False, None

    def finish(self, exit_code: int = 0) -> None:
        """Finish the run if this attachment started it (a reused run stays open)."""
        run = self.run
        if run is None or not self.started or run.state in TERMINAL_STATES:
            return
        self.call("finish", run.finish, exit_code=exit_code)

    # -- calls that never raise ---------------------------------------------------------
    def log(self, data: dict[str, Any]) -> None:
        """``run.log(data)`` on :meth:`active`'s run, guarded."""
        run = self.active()
        if run is None or not data:
            return
        try:
            run.log(data)
        except (TypeError, ValueError) as exc:
            # A framework's key the tracker refuses (reserved, too long): log the others.
            bad = {key: key_problem(key) for key in data if key_problem(key)}
            self.report(f"{self.owner}: log() refused {', '.join(map(repr, bad)) or 'a row'} "
                        f"({'; '.join(filter(None, bad.values())) or exc})", f"log-keys:{','.join(map(str, bad))}")
            if bad:
                self.call("log", run.log, {k: v for k, v in data.items() if k not in bad})
        except Exception as exc:  # noqa: BLE001
            self.report(f"{self.owner}: log failed ({type(exc).__name__}: {exc}); training goes on",
                        f"log:{type(exc).__name__}")

    def summarize(self, values: Mapping[str, Any]) -> None:
        """``run.summary.update(values)`` on :meth:`active`'s run, guarded."""
        run = self.active()
        if run is not None and values:
            self.call("summary", run.summary.update, dict(values))

    def call(self, what: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """``fn(*args, **kwargs)``; an exception is reported (once per kind) and gives ``None``."""
        try:
            return fn(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - never into the training loop
            self.report(f"{self.owner}: {what} failed ({type(exc).__name__}: {exc}); training goes on",
                        f"{what}:{type(exc).__name__}")
            return None

    def report(self, message: str, key: str | None = None) -> None:
        """Say ``message`` once per ``key`` through the run's own messages (its panel's status
        line, stderr in a script, ``logs/debug.log`` in silent mode); without a run, through
        Python's logging (at debug level in silent mode, so nothing is printed)."""
        if key is not None:
            if key in self._reported:
                return
            self._reported.add(key)
        # The run's message channel (its public notices); not after the run ended: it is closed then.
        run = self.run
        notices = getattr(run, "notices", None) if run is not None and run.state not in TERMINAL_STATES else None
        warn = getattr(notices, "warn", None)
        if callable(warn):
            try:
                warn(message, None)
                return
            except Exception:  # noqa: BLE001 - fall back to logging
                pass
        _logger.log(logging.DEBUG if settings.silent() else logging.WARNING, "tracker: %s", message)
