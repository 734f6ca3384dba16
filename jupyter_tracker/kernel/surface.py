"""The parts of wandb's ``Run`` surface beyond recording metrics.

``run.url``, ``run.entity``, ``run.resumed``, ``run.alert()``, ``run.mark_preempting()`` and
``run.log_code()``, mixed into :class:`~jupyter_tracker.kernel.run.Run` so that
``import tracker as wandb`` scripts find them (docs/wandb.md).
"""

from __future__ import annotations

import enum
import getpass
from typing import Any

from .. import records, settings
from ..limits import ALERT_LEVELS, MAX_NOTES_LENGTH, MAX_TEXT_LENGTH, text_problem

__all__ = ["AlertLevel", "RunSurface", "check_alert"]


class AlertLevel(str, enum.Enum):
    """wandb's ``AlertLevel``: ``run.alert(..., level=tracker.AlertLevel.WARN)``."""

    INFO = "INFO"
    WARN = "WARN"
    ERROR = "ERROR"


def check_alert(title: Any, text: Any, level: Any) -> dict[str, str]:
    """The payload of an alert record; a clear error for a bad argument."""
    for what, value, limit in (("title", title, MAX_TEXT_LENGTH), ("text", text, MAX_NOTES_LENGTH)):
        if not isinstance(value, str):
            raise TypeError(f"alert({what}=...) must be a string, got {type(value).__name__}")
        problem = text_problem(value, limit)
        if problem is not None:
            raise ValueError(f"alert({what}=...) {problem}")
    raw = level.value if isinstance(level, AlertLevel) else level
    name = str(raw).upper() if isinstance(raw, str) else None
    if name == "WARNING":
        name = "WARN"
    if name not in ALERT_LEVELS:
        raise ValueError(f"alert(level={level!r}): use one of {', '.join(ALERT_LEVELS)}")
    return {"title": title, "text": text, "level": name}


class RunSurface:
    """Mixed into ``Run``: it uses ``id``, ``path``, ``mode`` and the companions'
    interface (``info``, ``record``, ``notices``, ``update_info``, ``finished``)."""

    @property
    def entity(self) -> str:
        """``init(entity=...)`` (or ``TRACKER_ENTITY``), else the user's login name."""
        entity = self.info.get("entity")  # type: ignore[attr-defined]
        if entity:
            return entity
        try:
            return getpass.getuser()
        except Exception:  # noqa: BLE001 - no user name: a neutral word
            return "local"

    @property
    def resumed(self) -> bool:
        """Whether this process continues an earlier run (``init(id=..., resume=...)``)."""
        return int(self.info.get("resumes", 0)) > 0  # type: ignore[attr-defined]

    @property
    def url(self) -> str:
        """Where to see the run: the server's API URL of the run when online
        (``<host>/api/v1/runs/<id>``, also what the JupyterLab extension reads),
        else the run directory as a ``file://`` URL."""
        host = settings.host()
        if self.mode == "online" and host:  # type: ignore[attr-defined]
            return f"{host}/api/v1/runs/{self.id}"  # type: ignore[attr-defined]
        return self.path.resolve().as_uri()  # type: ignore[attr-defined]

    def get_url(self) -> str:
        """wandb's older spelling of :attr:`url`."""
        return self.url

    def alert(self, title: str, text: str, level: Any = "INFO", wait_duration: Any = None) -> None:
        """Raise an alert: recorded in the run's log (synced to the server, kept in the
        run's ``alerts``) and shown in the panel's status line (a line on stderr in a
        script; only debug.log under ``TRACKER_SILENT``).

        ``wait_duration`` (wandb's rate limit between alerts of one title) is accepted
        and unused: every alert is recorded.

        Raises
        ------
        TypeError, ValueError
            For a title or text that is not a string within the limits, or an unknown level.
        """
        payload = check_alert(title, text, level)
        self.record(records.ALERT, payload)  # type: ignore[attr-defined]
        self.notices.warn(f"alert ({payload['level']}): {title}: {text}")  # type: ignore[attr-defined]

    def watch(self, models: Any, criterion: Any = None, log: str | None = "gradients", log_freq: int = 1000,
              idx: int | None = None, log_graph: bool = False) -> None:
        """Histograms of a PyTorch model's gradients and/or parameters; see :func:`tracker.watch`."""
        from .watch import watch

        watch(self, models, criterion, log=log, log_freq=log_freq, idx=idx, log_graph=log_graph)

    def unwatch(self, models: Any = None) -> None:
        """Remove what :meth:`watch` added (from every watched model without an argument)."""
        from .watch import unwatch

        unwatch(models)

    def log_artifact(self, artifact: Any, name: str | None = None, type: str | None = None,  # noqa: A002
                     aliases: Any = None) -> Any:
        """Store a :class:`tracker.Artifact` (or a file or folder, with ``name`` and ``type``)
        as the next version of its name; ``latest`` and ``aliases`` name it. Returns the artifact."""
        from .artifacts import log_artifact

        return log_artifact(self, artifact, name, type, aliases)

    def use_artifact(self, artifact: Any, type: str | None = None, aliases: Any = None) -> Any:  # noqa: A002
        """The artifact ``"name:latest"`` (``"name:v1"``, ``"project/name:alias"``), recorded as an input."""
        from .artifacts import use_artifact

        return use_artifact(self, artifact, type, aliases)

    def mark_preempting(self) -> None:
        """Say the job is about to be preempted (a cluster's signal): recorded in
        run.json (``"preempting": true``), so that a crash that follows reads as a
        preemption; resume it with ``init(id=..., resume="allow")``."""
        self.update_info({"preempting": True})  # type: ignore[attr-defined]
        self.notices.debug("mark_preempting(): the run expects to be preempted")  # type: ignore[attr-defined]

    def log_code(
        self, root: str = ".", name: str | None = None, include_fn: Any = None, exclude_fn: Any = None
    ) -> list[str]:
        """Copy the source files under ``root`` (``*.py`` unless ``include_fn(path, root)``
        says otherwise) into the run's ``files/code/``; returns their names.

        ``name`` (wandb's artifact name) is accepted and unused.
        """
        from .files import save_code

        if self.finished:  # type: ignore[attr-defined]
            raise ValueError(f"run {self.id} is finished; log_code() needs a live run")  # type: ignore[attr-defined]
        return save_code(self, root, include_fn, exclude_fn)  # type: ignore[arg-type]
