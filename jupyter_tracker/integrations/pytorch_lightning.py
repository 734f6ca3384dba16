"""The ``pytorch_lightning`` package: the same :class:`TrackerLogger` as
:mod:`jupyter_tracker.integrations.lightning`, made from ``pytorch_lightning``'s ``Logger``
so that a ``pytorch_lightning.Trainer`` accepts it.

::

    from jupyter_tracker.integrations.pytorch_lightning import TrackerLogger
    trainer = pytorch_lightning.Trainer(logger=TrackerLogger(project="mnist"))
"""

from __future__ import annotations

from lightning_fabric.loggers.logger import _DummyExperiment
from lightning_fabric.utilities.logger import _add_prefix, _convert_params, _sanitize_callable_params
from lightning_fabric.utilities.rank_zero import rank_zero_only
from pytorch_lightning.loggers.logger import Logger

from .lightning_logger import STEP_METRIC, LoggerBody

__all__ = ["TrackerLogger", "STEP_METRIC"]


class TrackerLogger(LoggerBody, Logger):
    """A ``pytorch_lightning`` ``Logger`` recording into a tracker run; see
    :class:`jupyter_tracker.integrations.lightning.TrackerLogger` for the parameters."""

    _framework = "pytorch_lightning"
    _convert_params = staticmethod(_convert_params)
    _sanitize_callable_params = staticmethod(_sanitize_callable_params)
    _add_prefix = staticmethod(_add_prefix)
    _dummy_experiment = staticmethod(_DummyExperiment)

    @staticmethod
    def _rank() -> int:
        return int(getattr(rank_zero_only, "rank", 0) or 0)
