"""PyTorch Lightning (``lightning.pytorch``): :class:`TrackerLogger` records a ``Trainer``'s logging.

::

    from jupyter_tracker.integrations.lightning import TrackerLogger
    trainer = lightning.Trainer(logger=TrackerLogger(project="mnist"), max_epochs=3)

``self.log(...)`` in the module becomes history, each metric against
``trainer/global_step``; ``self.save_hyperparameters()`` becomes config.
A run active before ``fit()`` is used and left open; a run the logger starts is
finished at the end of each trainer stage (failed if the stage raised) and
resumed by the next (``trainer.test()`` after ``fit()``): one run per logger.
For the older ``pytorch_lightning`` package use
:mod:`jupyter_tracker.integrations.pytorch_lightning`.
"""

from __future__ import annotations

from lightning.fabric.loggers.logger import _DummyExperiment
from lightning.fabric.utilities.logger import _add_prefix, _convert_params, _sanitize_callable_params
from lightning.fabric.utilities.rank_zero import rank_zero_only
from lightning.pytorch.loggers.logger import Logger

from .lightning_logger import STEP_METRIC, LoggerBody

__all__ = ["TrackerLogger", "STEP_METRIC"]


class TrackerLogger(LoggerBody, Logger):
    """A Lightning ``Logger`` that records into a tracker run.

    Parameters
    ----------
    project, name
        For ``tracker.init()`` (project default: ``TRACKER_PROJECT``, else
        ``"lightning_logs"``).
    prefix
        Put before every metric name (joined with ``-``), as Lightning's loggers do.
    save_dir
        Where Lightning saves checkpoints: ``<save_dir>/<project>/<run id>/checkpoints``
        (default: the trainer's ``default_root_dir``).
    log_checkpoints
        Store each checkpoint Lightning saves (the best, else the last) as a version
        of the ``model`` artifact ``model-<run id>`` (``run.use_artifact`` reads it back).
    **init_kwargs
        Other ``tracker.init()`` arguments (``config``, ``group``, ``tags``, ``mode``, ``dir`` ...).

    Attributes
    ----------
    experiment
        The run on rank 0 (a do-nothing stand-in elsewhere).
    """

    _framework = "lightning"
    _convert_params = staticmethod(_convert_params)
    _sanitize_callable_params = staticmethod(_sanitize_callable_params)
    _add_prefix = staticmethod(_add_prefix)
    _dummy_experiment = staticmethod(_DummyExperiment)

    @staticmethod
    def _rank() -> int:
        return int(getattr(rank_zero_only, "rank", 0) or 0)
