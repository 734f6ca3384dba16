"""The run ``mode="disabled"`` returns: every call works and records nothing."""

from __future__ import annotations

from typing import Any

from .configs import Config
from ..names import new_id, random_name

__all__ = ["DisabledRun"]


class DisabledRun:
    """Same surface as :class:`~jupyter_tracker.kernel.run.Run`; nothing is written anywhere."""

    mode = "disabled"
    state = "disabled"
    dir = None
    path = None

    def __init__(
        self, project: str | None = None, name: str | None = None, config: Any = None, entity: str | None = None
    ) -> None:
        self.id = new_id()
        self.entity = entity  # type: ignore[misc]
        self.name = name or random_name()
        self.project = project
        self.tags: list[str] = []
        self.notes = self.group = self.job_type = None
        self.config = Config()
        if config:
            self.config.update(config)
        self.summary: dict[str, Any] = {}
        self.step = 0

    def log(self, data: Any, step: int | None = None, commit: bool | None = None) -> None:
        return None

    def define_metric(self, *args: Any, **kwargs: Any) -> None:
        return None

    def save(self, glob_str: Any = None, *args: Any, **kwargs: Any) -> Any:
        return True if glob_str is None else []

    entity = None
    url = None
    resumed = False

    def alert(self, title: str, text: str, level: Any = "INFO", wait_duration: Any = None) -> None:
        from .surface import check_alert

        check_alert(title, text, level)

    def mark_preempting(self) -> None:
        return None

    def get_url(self) -> None:
        return None

    def watch(self, *args: Any, **kwargs: Any) -> None:
        return None

    def unwatch(self, *args: Any, **kwargs: Any) -> None:
        return None

    def log_code(self, *args: Any, **kwargs: Any) -> list[str]:
        return []

    def log_artifact(self, artifact: Any, *args: Any, **kwargs: Any) -> Any:
        return artifact

    def use_artifact(self, artifact: Any, type: str | None = None, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
        """The artifact when given one; for a name, an empty artifact of that name (a disabled run
        reads nothing: its ``download()`` says so)."""
        if isinstance(artifact, str):
            from ..api.artifacts import Artifact, parse_ref

            return Artifact(parse_ref(artifact)[1], type or "unspecified")
        return artifact

    def finish(self, exit_code: int = 0, quiet: bool | None = None) -> None:
        from .session import _after_finish

        _after_finish(self, "disabled")

    def __enter__(self) -> DisabledRun:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.finish()

    def __repr__(self) -> str:
        return f"<DisabledRun {self.name!r}>"
