"""LightGBM: :func:`tracker_callback` records boosting rounds, :func:`log_summary` the result.

::

    from jupyter_tracker.integrations.lightgbm import log_summary, tracker_callback
    booster = lightgbm.train(params, train_set, 100, valid_sets=[valid_set], valid_names=["valid"],
                             callbacks=[tracker_callback(project="higgs")])
    log_summary(booster)

The training parameters are the run's config; every evaluation result is
logged as ``<data>/<metric>`` against ``iteration`` (counted from 1, as
LightGBM prints rounds and counts ``best_iteration``), with a ``max`` or ``min``
summary as LightGBM says the metric is better higher or lower.
:func:`log_summary` puts ``best_iteration`` and ``best_score/<data>/<metric>``
in the summary (a feature importance table waits for ``tracker.Table``).

A run active when training starts is used and left open. A run the callback
starts stays the current run after training, as after ``tracker.init()``, so
that :func:`log_summary` can add to it; :func:`log_summary` then finishes it
(else ``tracker.finish()``, the next run or the end of the process does).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .attach import Attachment

__all__ = ["tracker_callback", "log_summary"]

STEP_METRIC = "iteration"
#: The callback of the last training that started a run, for log_summary().
_last: list[Attachment] = []


def tracker_callback(log_params: bool = True, define_metric: bool = True, **init_kwargs: Any) -> Callable[[Any], None]:
    """A LightGBM callback recording into a tracker run.

    Parameters
    ----------
    log_params
        Record the training parameters as the run's config.
    define_metric
        Give each metric ``iteration`` as its x axis and a min/max summary.
    **init_kwargs
        Arguments for ``tracker.init()`` when no run is active (``project``
        default: ``TRACKER_PROJECT``, else ``"lightgbm"``; ``name``, ``config`` ...).
    """
    attach = Attachment("tracker_callback (lightgbm)", init_kwargs, "lightgbm")
    defined: set[str] = set()

    def _callback(env: Any) -> None:
        if env.iteration == env.begin_iteration:  # a usage error of the init arguments raises here
            if attach.finished():
                attach.detach()  # a new training: a new run
            attach.start(dict(env.params) if log_params else None)
            defined.clear()
            _last[:] = [attach]
        try:
            run = attach.active()
            if run is None:
                return
            row: dict[str, Any] = {}
            for item in env.evaluation_result_list or ():
                data, metric, value, higher_better = item[0], item[1], item[2], item[3]
                key = f"{data}/{metric}"
                row[key] = value
                if len(item) > 4 and item[4] is not None:  # lightgbm.cv: (..., stdv)
                    row[f"{key}-stdv"] = item[4]
                if define_metric and key not in defined:
                    defined.add(key)
                    attach.call("define_metric", run.define_metric, key, step_metric=STEP_METRIC,
                                summary="max" if higher_better else "min")
            row[STEP_METRIC] = env.iteration + 1  # LightGBM counts rounds from 1 (its log, best_iteration)
            attach.log(row)
        except Exception as exc:  # noqa: BLE001 - never stop training
            attach.report(f"tracker_callback (lightgbm): iteration {env.iteration} not recorded ({exc})", "iteration")

    _callback.order = 20  # type: ignore[attr-defined] - after log_evaluation (10), before early_stopping (30)
    _callback.before_iteration = False  # type: ignore[attr-defined]
    _callback.attachment = attach  # type: ignore[attr-defined]
    return _callback


def log_summary(booster: Any, feature_importance: bool = True, finish: bool = True) -> None:
    """Put the booster's best iteration and scores in the summary of the run.

    The run is the current one, else the one the last :func:`tracker_callback`
    recorded into. With ``finish`` (default), a run that a callback started is
    finished afterwards.

    With ``feature_importance`` (default), the booster's feature importances are
    logged as a table ``feature_importance`` (columns ``feature``, ``split``,
    ``gain``; most important first by gain), as wandb's ``log_summary`` does.
    """
    import jupyter_tracker

    attach = _last[0] if _last else None
    current = jupyter_tracker.current()
    if attach is not None and (attach.is_current() or current is None):
        run = attach.active()  # the callback's run (resumed if it was finished since)
        if run is None:
            return  # the tracker could not start it: said already, nothing to record into
    elif current is not None:
        attach = Attachment("log_summary (lightgbm)")
        attach.run = current
    else:
        raise RuntimeError("log_summary(): no run: train with tracker_callback() or call tracker.init() first")
    summary: dict[str, Any] = {}
    best_iteration = getattr(booster, "best_iteration", None)
    if best_iteration is not None and best_iteration > 0:
        summary["best_iteration"] = int(best_iteration)
    for data, scores in (getattr(booster, "best_score", None) or {}).items():
        for metric, value in scores.items():
            summary[f"best_score/{data}/{metric}"] = value
    if summary:
        attach.call("summary", attach.run.summary.update, summary)
    if feature_importance:
        table = attach.call("feature importance", _importance_table, booster)
        if table is not None:
            attach.call("feature importance", attach.run.log, {"feature_importance": table})
    if finish:
        attach.finish()


def _importance_table(booster: Any) -> Any:
    """The booster's importances as a ``tracker.Table`` (feature, split count, total gain)."""
    from ..media.values import Table

    names = list(booster.feature_name())
    split = [int(v) for v in booster.feature_importance(importance_type="split")]
    gain = [float(v) for v in booster.feature_importance(importance_type="gain")]
    rows = sorted(zip(names, split, gain), key=lambda row: -row[2])
    return Table(columns=["feature", "split", "gain"], data=[list(row) for row in rows])
