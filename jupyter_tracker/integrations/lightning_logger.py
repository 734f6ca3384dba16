"""The body of ``TrackerLogger``, shared by its ``lightning.pytorch`` and ``pytorch_lightning`` flavours.

It imports no framework: :mod:`.lightning` and :mod:`.pytorch_lightning` each
make ``TrackerLogger`` from this class and their framework's ``Logger``, and
hand it the framework's helpers (parameter cleaning, rank).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from .. import settings
from .artifacts import log_checkpoint, require_artifacts
from .attach import Attachment

__all__ = ["LoggerBody", "STEP_METRIC"]

STEP_METRIC = "trainer/global_step"


def _define_step(run: Any) -> None:
    run.define_metric(STEP_METRIC)


class LoggerBody:
    """Everything ``TrackerLogger`` does; see :class:`jupyter_tracker.integrations.lightning.TrackerLogger`."""

    LOGGER_JOIN_CHAR = "-"
    #: Set by each flavour: the framework's name and helpers.
    _framework = ""
    _convert_params: Callable[[Any], dict[str, Any]]
    _sanitize_callable_params: Callable[[dict[str, Any]], dict[str, Any]]
    _add_prefix: Callable[[dict[str, Any], str, str], dict[str, Any]]
    _dummy_experiment: Callable[[], Any]

    def __init__(self, project: str | None = None, name: str | None = None, prefix: str = "",
                 save_dir: str | os.PathLike | None = None, log_checkpoints: bool = False,
                 **init_kwargs: Any) -> None:
        super().__init__()
        if log_checkpoints:
            require_artifacts("TrackerLogger", "log_checkpoints")
        if project is not None:
            init_kwargs["project"] = project
        if name is not None:
            init_kwargs["name"] = name
        self._attach = Attachment(f"TrackerLogger ({self._framework})", init_kwargs, "lightning_logs", _define_step)
        self._prefix = prefix
        self._save_dir = None if save_dir is None else os.fspath(save_dir)
        self._log_checkpoints = log_checkpoints
        self._defined: dict[str, set[str]] = {}  # run id -> metrics given STEP_METRIC as x axis
        self._tried = False  # whether a first start was attempted

    @staticmethod
    def _rank() -> int:
        return 0

    # -- the run ------------------------------------------------------------------------
    def _run(self) -> Any:
        """The run to record into (started or resumed when needed); ``None`` on another rank or on failure."""
        if self._rank() > 0:
            return None
        attach = self._attach
        if attach.run is None and not self._tried:
            self._tried = True
            return attach.start()  # the first time: a usage error of the init arguments raises here
        return attach.run if attach.is_current() else attach.active()

    @property
    def experiment(self) -> Any:
        """The run (rank 0); a do-nothing stand-in on other ranks or when the tracker failed."""
        run = self._run()
        return run if run is not None else self._dummy_experiment()

    @property
    def name(self) -> str | None:
        """The project (as ``WandbLogger.name``)."""
        run = self._attach.run
        if run is not None:
            return run.project
        return self._attach.init_kwargs.get("project") or settings.env("TRACKER_PROJECT") or "lightning_logs"

    @property
    def version(self) -> str | None:
        """The run id (starting the run on rank 0 when there is none yet)."""
        run = self._attach.run if self._attach.run is not None else self._run()
        return None if run is None else run.id

    @property
    def save_dir(self) -> str | None:
        """Where Lightning puts checkpoints (under ``<save_dir>/<project>/<run id>/``); ``None``
        (the trainer's ``default_root_dir``) unless given."""
        return self._save_dir

    @property
    def log_dir(self) -> str | None:
        """The run directory."""
        run = self._attach.run
        return getattr(run, "dir", None) if run is not None else None

    # -- Logger's methods -----------------------------------------------------------------
    def log_hyperparams(self, params: Any, *args: Any, **kwargs: Any) -> None:
        """Lightning's hyperparameters as config (cleaned as Lightning's loggers do)."""
        run = self._run()
        if run is None:
            return
        try:
            clean = self._sanitize_callable_params(self._convert_params(params))
        except Exception as exc:  # noqa: BLE001
            self._attach.report(f"TrackerLogger: hyperparameters not recorded ({exc})", "hparams")
            return
        self._attach.add_config(run, clean)

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        """One row of metrics, with ``trainer/global_step`` (each metric's x axis) when ``step`` is given."""
        run = self._run()
        if run is None:
            return
        try:
            row = dict(self._add_prefix(metrics, self._prefix, self.LOGGER_JOIN_CHAR))
        except Exception as exc:  # noqa: BLE001
            self._attach.report(f"TrackerLogger: metrics not recorded ({exc})", "metrics")
            return
        defined = self._defined.setdefault(run.id, {STEP_METRIC})
        for key in row:
            if key not in defined:
                defined.add(key)
                self._attach.call("define_metric", run.define_metric, key, step_metric=STEP_METRIC)
        if step is not None:
            row[STEP_METRIC] = step
        self._attach.log(row)

    def finalize(self, status: str) -> None:
        """End of a trainer stage: finish a run this logger started (``failed`` unless the stage succeeded).
        A later stage (``trainer.test()`` after ``fit()``) resumes it."""
        if self._rank() > 0 or self._attach.run is None:
            return
        self._attach.finish(0 if status in ("success", "finished") else 1)

    def after_save_checkpoint(self, checkpoint_callback: Any) -> None:
        if not self._log_checkpoints or self._rank() > 0 or self._attach.run is None:
            return
        path = getattr(checkpoint_callback, "best_model_path", None) or getattr(checkpoint_callback, "last_model_path", None)
        if path:
            run = self._attach.run
            self._attach.call("checkpoint", log_checkpoint, run, path, f"model-{run.id}", ["latest"], {})
