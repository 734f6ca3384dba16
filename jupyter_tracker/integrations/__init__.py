"""Framework integrations: callbacks and loggers that record training into a run.

Each lives in its own module and imports its framework when that module is
imported, so none of the frameworks is a dependency of the tracker::

    from jupyter_tracker.integrations.transformers import TrackerCallback   # Hugging Face Trainer
    from jupyter_tracker.integrations.lightning import TrackerLogger        # lightning.pytorch
    from jupyter_tracker.integrations.pytorch_lightning import TrackerLogger
    from jupyter_tracker.integrations.keras import MetricsLogger            # Keras 3
    from jupyter_tracker.integrations.xgboost import TrackerCallback
    from jupyter_tracker.integrations.lightgbm import tracker_callback, log_summary

They use the public API only (``tracker.init``, ``run.log``, ``run.define_metric``,
``run.summary``, ``run.config``, ``run.finish``) through :mod:`.attach`, which
starts or reuses the run and keeps a problem of the tracker from ever stopping
training. See ``docs/integrations.md``.
"""

__all__: list[str] = []
