"""Keras 3: :class:`MetricsLogger` records ``model.fit()``'s metrics.

::

    from jupyter_tracker.integrations.keras import MetricsLogger
    model.fit(x, y, epochs=5, validation_split=0.2, callbacks=[MetricsLogger(project="mnist")])

Works with every Keras 3 backend (``KERAS_BACKEND=torch``, ``jax``, ``tensorflow``).
Each epoch's logs become ``epoch/<name>`` against ``epoch/epoch``; with
``log_freq="batch"`` (or every N batches) the batch logs also become
``batch/<name>`` against ``batch/batch_step``. The learning rate is logged
when the optimizer's is readable.
"""

from __future__ import annotations

from typing import Any

import keras

from .attach import Attachment

__all__ = ["MetricsLogger"]


def _define_metrics(run: Any) -> None:
    run.define_metric("epoch/epoch")
    run.define_metric("epoch/*", step_metric="epoch/epoch")
    run.define_metric("batch/batch_step")
    run.define_metric("batch/*", step_metric="batch/batch_step")


class MetricsLogger(keras.callbacks.Callback):
    """A Keras callback recording metrics into a tracker run.

    Parameters
    ----------
    log_freq
        ``"epoch"`` (default): one row per epoch; ``"batch"``: also one row per
        batch; an int N: also one row every N batches.
    initial_global_step
        The batch step to count from (when resuming training).
    **init_kwargs
        Arguments for ``tracker.init()`` when no run is active (``project``
        default: ``TRACKER_PROJECT``, else ``"keras"``; ``name``, ``config``, ...).

    A run active when ``fit()`` starts is used and left open; a run this
    callback starts is finished when ``fit()`` ends (and resumed by a later
    ``fit()`` with the same callback).
    """

    def __init__(self, log_freq: str | int = "epoch", initial_global_step: int = 0, **init_kwargs: Any) -> None:
        super().__init__()
        if log_freq == "epoch":
            every = 0
        elif log_freq == "batch":
            every = 1
        elif isinstance(log_freq, int) and not isinstance(log_freq, bool) and log_freq > 0:
            every = log_freq
        else:
            raise ValueError(f"MetricsLogger(log_freq={log_freq!r}): use 'epoch', 'batch' or a positive int")
        if isinstance(initial_global_step, bool) or not isinstance(initial_global_step, int) or initial_global_step < 0:
            raise ValueError(f"MetricsLogger(initial_global_step={initial_global_step!r}) must be an int >= 0")
        self._every = every
        self._global_step = initial_global_step
        # Keras may call batch hooks from a thread pool when callbacks say so; the batch
        # counter needs them in order, so only an epoch-only logger allows it.
        self.async_safe = every == 0
        self._attach = Attachment("MetricsLogger (keras)", init_kwargs, "keras", _define_metrics)

    @property
    def run(self) -> Any:
        """The run this callback records into (``None`` before ``fit()``)."""
        return self._attach.run

    def _config(self) -> dict[str, Any]:
        config: dict[str, Any] = {}
        params = getattr(self, "params", None) or {}
        if params.get("epochs") is not None:
            config["epochs"] = params["epochs"]
        if params.get("steps") is not None:
            config["steps_per_epoch"] = params["steps"]
        model = getattr(self, "model", None)
        optimizer = getattr(model, "optimizer", None)
        if optimizer is not None:
            try:
                config["optimizer"] = optimizer.get_config()
            except Exception:  # noqa: BLE001 - a custom optimizer without a config
                config["optimizer"] = type(optimizer).__name__
        try:
            config["model/num_parameters"] = int(model.count_params())
        except Exception:  # noqa: BLE001 - not built yet
            pass
        return config

    def _learning_rate(self) -> float | None:
        optimizer = getattr(getattr(self, "model", None), "optimizer", None)
        if optimizer is None:
            return None
        try:
            return float(keras.ops.convert_to_numpy(optimizer.learning_rate))
        except Exception:  # noqa: BLE001 - a schedule or optimizer that cannot say
            return None

    def _row(self, prefix: str, logs: dict[str, Any] | None) -> dict[str, Any]:
        row = {f"{prefix}/{key}": value for key, value in (logs or {}).items()}
        lr = self._learning_rate()
        if lr is not None:
            row[f"{prefix}/learning_rate"] = lr
        return row

    # -- Keras hooks -----------------------------------------------------------------------
    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        try:
            config = self._config()
        except Exception:  # noqa: BLE001
            config = {}
        self._attach.start(config)

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        if not self._every:
            return
        if self._global_step % self._every == 0:
            try:
                row = self._row("batch", logs)
                row["batch/batch_step"] = self._global_step
            except Exception as exc:  # noqa: BLE001
                self._attach.report(f"MetricsLogger: batch logs not recorded ({exc})", "batch")
            else:
                self._attach.log(row)
        self._global_step += 1

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        try:
            row = self._row("epoch", logs)
            row["epoch/epoch"] = epoch
        except Exception as exc:  # noqa: BLE001
            self._attach.report(f"MetricsLogger: epoch logs not recorded ({exc})", "epoch")
            return
        self._attach.log(row)

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        self._attach.finish()
