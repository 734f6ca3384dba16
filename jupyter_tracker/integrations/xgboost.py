"""XGBoost: :class:`TrackerCallback` records boosting rounds.

::

    from jupyter_tracker.integrations.xgboost import TrackerCallback
    booster = xgboost.train(params, dtrain, 100, evals=[(dtrain, "train"), (dvalid, "valid")],
                            callbacks=[TrackerCallback(project="higgs")])
    # or the scikit-learn interface: XGBClassifier(callbacks=[TrackerCallback()])

The booster's configuration (``save_config()``) is the run's config; every
evaluation metric is logged as ``<data>/<metric>`` against ``iteration``, with
a ``min`` or ``max`` summary by its direction (``rmse``, ``logloss``,
``error``... are minimised, ``auc``, ``ndcg``, ``map``... maximised); with
early stopping, ``best_score`` and ``best_iteration`` go to the summary.
"""

from __future__ import annotations

import json
from typing import Any

from xgboost.callback import TrainingCallback

from .attach import Attachment

__all__ = ["TrackerCallback", "metric_direction"]

STEP_METRIC = "iteration"
_MAXIMIZE = {"auc", "aucpr", "pre", "ndcg", "map", "interval-regression-accuracy"}
_MINIMIZE = {"rmse", "rmsle", "mae", "mape", "mphe", "logloss", "mlogloss", "error", "merror", "poisson-nloglik",
             "gamma-nloglik", "cox-nloglik", "gamma-deviance", "tweedie-nloglik", "aft-nloglik", "quantile"}


def metric_direction(name: str) -> str | None:
    """``"min"`` or ``"max"`` for an XGBoost metric name (``"ndcg@5"``, ``"error@0.7"``...), ``None`` if unknown."""
    base = name.split("@")[0].split("-std")[0].lower()
    if base in _MAXIMIZE:
        return "max"
    if base in _MINIMIZE or "loss" in base or "error" in base or "nloglik" in base:
        return "min"
    return None


class TrackerCallback(TrainingCallback):
    """An XGBoost ``TrainingCallback`` recording into a tracker run.

    Parameters
    ----------
    log_config
        Record the booster's configuration (``save_config()``) as the run's config.
    define_metrics
        Give each evaluation metric ``iteration`` as its x axis and a min/max summary.
    **init_kwargs
        Arguments for ``tracker.init()`` when no run is active (``project``
        default: ``TRACKER_PROJECT``, else ``"xgboost"``; ``name``, ``config`` ...).

    A run active when training starts is used and left open; a run this
    callback starts is finished when training ends. Each training with the
    same callback starts a new run.
    """

    def __init__(self, log_config: bool = True, define_metrics: bool = True, **init_kwargs: Any) -> None:
        super().__init__()
        self._log_config = log_config
        self._define_metrics = define_metrics
        self._attach = Attachment("TrackerCallback (xgboost)", init_kwargs, "xgboost")
        self._defined: set[str] = set()

    @property
    def run(self) -> Any:
        return self._attach.run

    def before_training(self, model: Any) -> Any:
        attach = self._attach
        if attach.finished():
            attach.detach()  # a new training: a new run
        config = None
        if self._log_config:
            try:
                config = json.loads(model.save_config())
            except Exception as exc:  # noqa: BLE001 - a booster that cannot say (e.g. a cv pack)
                attach.report(f"TrackerCallback (xgboost): the booster's config is not recorded ({exc})", "config")
        run = attach.start(config)
        self._defined = set()
        if run is not None and self._define_metrics:
            attach.call("define_metric", run.define_metric, STEP_METRIC)
        return model

    def after_iteration(self, model: Any, epoch: int, evals_log: dict[str, Any]) -> bool:
        try:
            row: dict[str, Any] = {}
            for data, metrics in evals_log.items():
                for name, values in metrics.items():
                    value = values[-1]
                    if isinstance(value, tuple):  # xgboost.cv: (mean, std)
                        row[f"{data}/{name}"], row[f"{data}/{name}-std"] = value
                    else:
                        row[f"{data}/{name}"] = value
            run = self._attach.active()
            if run is not None and self._define_metrics:
                for key in row:
                    if key not in self._defined:
                        self._defined.add(key)
                        summary = metric_direction(key.rsplit("/", 1)[-1])
                        self._attach.call("define_metric", run.define_metric, key, step_metric=STEP_METRIC,
                                          summary=summary)
            row[STEP_METRIC] = epoch
            self._attach.log(row)
        except Exception as exc:  # noqa: BLE001 - never stop training
            self._attach.report(f"TrackerCallback (xgboost): iteration {epoch} not recorded ({exc})", "iteration")
        return False

    def after_training(self, model: Any) -> Any:
        try:
            best: dict[str, Any] = {}
            attr = getattr(model, "attr", None)
            if callable(attr):
                if attr("best_score") is not None:
                    best["best_score"] = float(attr("best_score"))
                if attr("best_iteration") is not None:
                    best["best_iteration"] = int(attr("best_iteration"))
            if best:
                self._attach.summarize(best)
        except Exception as exc:  # noqa: BLE001
            self._attach.report(f"TrackerCallback (xgboost): best score not recorded ({exc})", "best")
        self._attach.finish()
        return model
