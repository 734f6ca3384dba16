"""wandb's module-level names that tracker does not have, and what to say about each.

``tracker.<name>`` for one of them raises :class:`NotSupported`: a
``NotImplementedError`` naming the wandb feature and pointing to docs/wandb.md.
It is also an ``AttributeError``, so ``hasattr(tracker, "sweep")`` is ``False``
and code that probes for a feature keeps working.
"""

from __future__ import annotations

__all__ = ["NotSupported", "WANDB_UNSUPPORTED", "not_supported"]

DOCS = "docs/wandb.md"

#: wandb name -> (the feature, what to do instead; may be empty).
WANDB_UNSUPPORTED: dict[str, tuple[str, str]] = {
    "sweep": ("sweeps (hyperparameter search)", "run the search with e.g. Optuna and log each trial as a run"),
    "agent": ("sweep agents", "run the search with e.g. Optuna and log each trial as a run"),
    "controller": ("sweep controllers", "run the search with e.g. Optuna and log each trial as a run"),
    "Audio": ("audio media", ""),
    "Video": ("video media", "log frames with tracker.Image"),
    "Html": ("HTML media", ""),
    "Plotly": ("Plotly figures", "log a matplotlib figure (an image) instead"),
    "Object3D": ("3-D point clouds", ""),
    "Molecule": ("molecules", ""),
    "Graph": ("model graphs", ""),
    "box3d": ("3-D boxes", ""),
    "ImageMask": ("image masks", "log the mask as a second tracker.Image"),
    "BoundingBoxes2D": ("bounding boxes", ""),
    "Classes": ("class sets for masks and boxes", ""),
    "plot": ("custom charts (wandb.plot)", "compare runs with tracker.compare() or the JupyterLab extension"),
    "plot_table": ("custom charts (wandb.plot_table)", "log a tracker.Table"),
    "visualize": ("custom charts (wandb.visualize)", "log a tracker.Table"),
    "log_model": ("model registry (log_model)", "save the model with run.save(path)"),
    "use_model": ("model registry (use_model)", ""),
    "link_model": ("model registry (link_model)", ""),
    "link_artifact": ("artifact registry (link_artifact)", ""),
    "ArtifactTTL": ("artifact time-to-live", ""),
    "restore": ("restore of a run's files", "use `tracker restore RUN_ID` or tracker.Api().run(id).files()"),
    "require": ("require() of experimental features", "nothing is needed: remove the call"),
    "setup": ("setup() of its service", "nothing is needed: remove the call"),
    "teardown": ("teardown() of its service", "tracker.finish() ends the run"),
    "join": ("join() (an old name of finish)", "call tracker.finish()"),
    "attach": ("attaching to a run of another process", "resume it with init(id=..., resume='allow')"),
    "sync": ("sync() from Python", "run `tracker sync` in a shell"),
    "termlog": ("wandb's terminal helpers", "use print or logging"),
    "termwarn": ("wandb's terminal helpers", "use print or logging"),
    "termerror": ("wandb's terminal helpers", "use print or logging"),
    "termsetup": ("wandb's terminal helpers", "use print or logging"),
    "tensorboard": ("TensorBoard patching (wandb.tensorboard)", "import event files with `tracker import tensorboard LOGDIR`"),
    "jupyter": ("wandb.jupyter (iframes of wandb's site)", "tracker.panel() shows the live panel"),
    "integration": ("wandb.integration", "see jupyter_tracker.integrations (docs/integrations.md)"),
    "sklearn": ("wandb.sklearn plots", ""),
    "keras": ("wandb.keras", "use jupyter_tracker.integrations.keras (docs/integrations.md)"),
    "xgboost": ("wandb.xgboost", "use jupyter_tracker.integrations.xgboost (docs/integrations.md)"),
    "lightgbm": ("wandb.lightgbm", "use jupyter_tracker.integrations.lightgbm (docs/integrations.md)"),
    "launch": ("wandb Launch", ""),
    "automations": ("wandb automations", ""),
    "Error": ("wandb.Error", "catch the built-in exceptions tracker raises (ValueError, TypeError, RuntimeError)"),
    "errors": ("wandb.errors", "catch the built-in exceptions tracker raises (ValueError, TypeError, RuntimeError)"),
    "apis": ("wandb.apis", "use tracker.Api"),
    "sdk": ("wandb.sdk", ""),
    "util": ("wandb.util", ""),
    "env": ("wandb.env", "read docs/wandb.md for the environment variables"),
    "data_types": ("wandb.data_types", ""),
}


class NotSupported(NotImplementedError, AttributeError):
    """A wandb feature tracker does not have (also an ``AttributeError``, for ``hasattr``)."""


def not_supported(name: str) -> NotSupported | None:
    """The error for ``tracker.<name>`` when ``name`` is a wandb feature we lack, else ``None``."""
    known = WANDB_UNSUPPORTED.get(name)
    if known is None:
        return None
    feature, instead = known
    owner = "" if feature.startswith("wandb") else "wandb's "
    message = f"tracker.{name}: tracker does not support {owner}{feature}"
    if instead:
        message += f"; {instead}"
    return NotSupported(f"{message} (see {DOCS})")
