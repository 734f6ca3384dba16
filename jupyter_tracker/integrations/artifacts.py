"""Checkpoints as artifacts, and histograms and tables: where the integrations meet issues 13 and 14.

The callbacks call these at the right moments (``on_save``,
``after_save_checkpoint``, ``after_training``, ``log_summary``):

- model checkpoints (``log_checkpoints=True``) become versions of a ``model``
  artifact named ``model-<run id>`` (:func:`log_checkpoint`): each save that
  changed the bytes is a new version, ``latest`` names the last one.
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


def log_checkpoint(run: Any, path: str, name: str, aliases: list[str], metadata: dict[str, Any]) -> Any:
    """Store the checkpoint at ``path`` (a file or a folder) as a version of the ``model``
    artifact ``name`` of ``run``; returns the artifact (its ``version`` set).

    The callbacks call it through their guard (``attach.call``), so a problem
    is reported in the run's log and training goes on.
    """
    from pathlib import Path

    from ..api.artifacts import Artifact

    art = Artifact(name, "model", metadata=metadata)
    source = Path(path)
    if source.is_dir():
        art.add_dir(source)
    else:
        art.add_file(source)
    return run.log_artifact(art, aliases=aliases)
