"""Checkpoints as artifacts, and histograms and tables: where the integrations meet issues 13 and 14.

The callbacks already call these at the right moments (``on_save``,
``after_save_checkpoint``, ``after_training``, ``log_summary``); what they
need from the tracker does not exist yet:

- model checkpoints as artifacts need ``tracker.Artifact`` and
  ``run.log_artifact`` (the wandb-compat issue, 14). Until then asking for them
  (``log_checkpoints=True``) is refused when the callback is made, with this
  message; :func:`log_checkpoint` is the one function to write then.
- feature importance tables need ``tracker.Table`` (the media issue, 13):
  :func:`table_available` says whether it exists; until then the callbacks
  log scalars only.
"""

from __future__ import annotations

from typing import Any

import jupyter_tracker as _tracker

__all__ = ["artifacts_available", "require_artifacts", "log_checkpoint", "table_available"]


def artifacts_available() -> bool:
    """Whether this tracker can store artifacts (``tracker.Artifact``)."""
    return "Artifact" in getattr(_tracker, "__all__", ())


def table_available() -> bool:
    """Whether this tracker can log tables (``tracker.Table``)."""
    return "Table" in getattr(_tracker, "__all__", ())


def require_artifacts(owner: str, option: str) -> None:
    """Refuse ``option`` (checkpoints as artifacts) while the tracker has no artifacts.

    Raises
    ------
    NotImplementedError
        Naming the option, what is missing, and what to do meanwhile.
    """
    if not artifacts_available():
        raise NotImplementedError(
            f"{owner}({option}=...): saving checkpoints as artifacts needs tracker.Artifact, which this "
            f"version of jupyter-tracker does not have yet; leave {option} off (the framework still "
            "saves its checkpoints on disk), or save them into the run with run.save(path)"
        )


def log_checkpoint(run: Any, path: str, name: str, aliases: list[str], metadata: dict[str, Any]) -> None:
    """Store the checkpoint at ``path`` (a file or a folder) as a ``model`` artifact of ``run``.

    Reached only when :func:`require_artifacts` let a callback ask for it, i.e.
    once ``tracker.Artifact`` exists (issue 14): write it then, with its tests.
    """
    raise NotImplementedError("checkpoint artifacts arrive with tracker.Artifact (issue 14)")
