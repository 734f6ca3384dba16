"""Hugging Face Transformers: :class:`TrackerCallback` records a ``Trainer``'s training.

::

    from jupyter_tracker.integrations.transformers import TrackerCallback
    trainer = Trainer(model=model, args=args, train_dataset=ds, callbacks=[TrackerCallback()])

Importing this module also registers the callback in transformers' table of
reporting integrations, so ``TrainingArguments(report_to="tracker")`` works
from then on.

What is recorded: the training arguments, the model's config and any PEFT
config as the run's config (and ``model/num_parameters``); every logged value
as ``train/<name>``, ``eval/<name>`` or ``test/<name>`` against
``train/global_step``; the one-off values of the end of training
(``train_runtime``, ``train_loss``, ``total_flos``, ...) and the best metric
in the summary.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from transformers import TrainerCallback

from .artifacts import log_checkpoint, require_artifacts
from .attach import Attachment

__all__ = ["TrackerCallback", "ONE_OFF", "rewrite_keys"]

#: Values the Trainer logs once, at the end of training: summary values, not history.
ONE_OFF = ("train_runtime", "train_samples_per_second", "train_steps_per_second", "train_loss", "total_flos")
STEP_METRIC = "train/global_step"


def rewrite_keys(logs: Mapping[str, Any]) -> dict[str, Any]:
    """``eval_loss`` -> ``eval/loss``, ``test_acc`` -> ``test/acc``, anything else -> ``train/<key>``."""
    out = {}
    for key, value in logs.items():
        for prefix in ("eval", "test"):
            if key.startswith(prefix + "_"):
                out[f"{prefix}/{key[len(prefix) + 1:]}"] = value
                break
        else:
            out[f"train/{key}"] = value
    return out


def _define_metrics(run: Any) -> None:
    run.define_metric(STEP_METRIC)
    for prefix in ("train", "eval", "test"):
        run.define_metric(f"{prefix}/*", step_metric=STEP_METRIC)


def _model_config(model: Any) -> dict[str, Any]:
    config: dict[str, Any] = {}
    model_config = getattr(model, "config", None)
    if model_config is not None:
        config.update(model_config if isinstance(model_config, dict) else model_config.to_dict())
    peft = getattr(model, "peft_config", None)
    if peft:
        config["peft_config"] = {
            name: (c.to_dict() if hasattr(c, "to_dict") else c) for name, c in dict(peft).items()
        }
    num_parameters = getattr(model, "num_parameters", None)
    if callable(num_parameters):
        config["model/num_parameters"] = num_parameters()
    return config


class TrackerCallback(TrainerCallback):
    """A ``TrainerCallback`` that records training into a tracker run.

    Parameters
    ----------
    log_checkpoints
        Store each checkpoint folder the Trainer saves as a version of the ``model``
        artifact ``model-<run id>``, with the alias ``step_<global step>``.
    **init_kwargs
        Arguments for ``tracker.init()`` when no run is active (``project``,
        ``name``, ``config``, ``group``, ``tags``, ``mode``, ``dir`` ...). The
        project defaults to ``TrainingArguments.project`` when set to other than
        ``"huggingface"``, then ``TRACKER_PROJECT``, then ``"huggingface"``; the
        name to ``TrainingArguments.run_name``.

    A run active when training starts (``tracker.init()`` before
    ``trainer.train()``) is used and left open; a run the callback starts is
    finished when training ends, and resumed for a later ``trainer.evaluate()``.
    Only the main process (``state.is_world_process_zero``) records.
    """

    def __init__(self, log_checkpoints: bool = False, **init_kwargs: Any) -> None:
        if log_checkpoints:
            require_artifacts("TrackerCallback", "log_checkpoints")
        self.log_checkpoints = log_checkpoints
        self._attach = Attachment("TrackerCallback (transformers)", init_kwargs, "huggingface", _define_metrics)
        self._training = False
        self._reopened = False  # a finished run resumed for an evaluate() after training
        self._tried = False  # whether a start was attempted (a failed one is not retried at every log)

    @property
    def run(self) -> Any:
        """The run this callback records into (``None`` before training)."""
        return self._attach.run

    # -- the run ------------------------------------------------------------------------
    def _setup(self, args: Any, state: Any, model: Any) -> None:
        try:
            config = _model_config(model) if model is not None else {}
            config.update(args.to_dict())
        except Exception as exc:  # noqa: BLE001 - an exotic model: record the rest
            self._attach.report(f"TrackerCallback: the training arguments and model config are not recorded ({exc})",
                                "config")
            config = {}
        name, group = args.run_name, None
        if getattr(state, "trial_name", None) is not None:
            name, group = state.trial_name, args.run_name or args.output_dir
        project = getattr(args, "project", None)
        self._attach.start(config, project=None if project == "huggingface" else project, name=name, group=group)

    def _ensure(self, args: Any, state: Any, model: Any) -> bool:
        """Whether there is a run to record into, starting or resuming it when needed.

        A run started or resumed outside ``train()`` (an ``evaluate()`` after
        training) is finished again by ``on_evaluate``/``on_predict``.
        """
        attach = self._attach
        if attach.is_current():
            return True
        if attach.run is None and not self._tried:
            self._tried = True
            self._setup(args, state, model)
            run = attach.run if attach.is_current() else None
        else:
            run = attach.active()
        if run is not None and not self._training and attach.started:
            self._reopened = True
        return run is not None

    # -- events -------------------------------------------------------------------------
    def on_train_begin(self, args, state, control, model=None, **kwargs):  # noqa: ANN001 - transformers' signature
        if not state.is_world_process_zero:
            return
        if getattr(state, "is_hyper_param_search", False) and self._attach.run is not None:
            self._attach.finish()  # one run per trial
            self._attach.detach()
        self._training, self._reopened, self._tried = True, False, True
        self._setup(args, state, model)

    def on_log(self, args, state, control, model=None, logs=None, **kwargs):  # noqa: ANN001
        if not state.is_world_process_zero or not logs:
            return
        try:
            if not self._ensure(args, state, model):
                return
            one_off = {k: v for k, v in logs.items() if k in ONE_OFF}
            row = rewrite_keys({k: v for k, v in logs.items() if k not in ONE_OFF})
            row[STEP_METRIC] = state.global_step
            self._attach.log(row)
            if one_off:
                self._attach.summarize(one_off)
        except Exception as exc:  # noqa: BLE001 - never into training
            self._attach.report(f"TrackerCallback: on_log failed ({type(exc).__name__}: {exc})", "on_log")

    def on_evaluate(self, args, state, control, metrics=None, **kwargs):  # noqa: ANN001
        # The metrics came through on_log already; an evaluate() after training ends here.
        if state.is_world_process_zero and self._reopened and not self._training:
            self._reopened = False
            self._attach.finish()

    def on_predict(self, args, state, control, metrics=None, **kwargs):  # noqa: ANN001
        if not state.is_world_process_zero or not metrics:
            return
        try:
            if self._ensure(args, state, kwargs.get("model")):
                self._attach.log({**rewrite_keys(metrics), STEP_METRIC: state.global_step})
            if self._reopened and not self._training:
                self._reopened = False
                self._attach.finish()
        except Exception as exc:  # noqa: BLE001
            self._attach.report(f"TrackerCallback: on_predict failed ({type(exc).__name__}: {exc})", "on_predict")

    def on_save(self, args, state, control, **kwargs):  # noqa: ANN001
        if not (self.log_checkpoints and state.is_world_process_zero and self._attach.run is not None):
            return
        import os

        path = os.path.join(args.output_dir, f"checkpoint-{state.global_step}")
        self._attach.call("checkpoint", log_checkpoint, self._attach.run, path, f"model-{self._attach.run.id}",
                          [f"step_{state.global_step}"], {"global_step": state.global_step})

    def on_train_end(self, args, state, control, **kwargs):  # noqa: ANN001
        if not state.is_world_process_zero:
            return
        self._training = False
        best = {}
        if getattr(state, "best_metric", None) is not None:
            best["best_metric"] = state.best_metric
        if getattr(state, "best_model_checkpoint", None):
            best["best_model_checkpoint"] = state.best_model_checkpoint
        if best and self._attach.run is not None:
            self._attach.summarize(best)
        self._attach.finish()


def _register() -> None:
    """``report_to="tracker"``: transformers looks integrations up in this table."""
    try:
        from transformers.integrations import integration_utils
    except ImportError:  # pragma: no cover - a transformers without the table
        return
    table = getattr(integration_utils, "INTEGRATION_TO_CALLBACK", None)
    if isinstance(table, dict):
        table.setdefault("tracker", TrackerCallback)


_register()
