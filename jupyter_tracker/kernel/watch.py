"""``tracker.watch(model)``: histograms of a PyTorch model's gradients and parameters.

Hooks on the model record, every ``log_freq`` backward passes (gradients,
``gradients/<name>``) or forward passes (parameters, ``parameters/<name>``), one
:class:`~jupyter_tracker.media.values.Histogram` of 64 bins per tensor, logged
with ``commit=False`` so it joins the step the training loop logs next. The
counts are computed where the tensor lives (``torch.histc``): only 64 numbers
leave a GPU. A failure of ours in a hook is reported once and never raised into
the training loop; after the run ends the hooks do nothing (``unwatch`` removes them).
"""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["watch", "unwatch", "LOG_CHOICES"]

#: What ``watch(log=...)`` may record.
LOG_CHOICES = ("gradients", "parameters", "all", None)
BINS = 64

#: id(model) -> the hook handles ``unwatch`` removes.
_handles: dict[int, list[Any]] = {}


def _torch() -> Any:
    torch = sys.modules.get("torch")
    if torch is not None:
        return torch
    try:
        import torch
    except ImportError:
        raise ImportError("tracker.watch() records PyTorch models and needs torch: pip install torch") from None
    return torch


def _histogram(torch: Any, tensor: Any) -> Any:
    """A Histogram of the finite values of ``tensor``, or ``None`` when it has none."""
    from ..media.values import Histogram

    values = tensor.detach().reshape(-1).float()
    values = values[torch.isfinite(values)]
    if values.numel() == 0:
        return None
    low, high = float(values.min()), float(values.max())
    if low == high:
        counts = [float(values.numel())]
        edges = [low - 0.5, high + 0.5]
    else:
        counts = torch.histc(values, bins=BINS, min=low, max=high).cpu().tolist()
        edges = torch.linspace(low, high, BINS + 1).tolist()
    return Histogram(np_histogram=(counts, edges))


class _Watcher:
    """The hooks of one model in one run."""

    def __init__(self, run: Any, model: Any, log: str | None, log_freq: int, prefix: str) -> None:
        self.run = run
        self.model = model
        self.log = log
        self.log_freq = log_freq
        self.prefix = prefix
        self.forwards = 0
        self.backwards: dict[str, int] = {}
        self.handles: list[Any] = []
        self.torch = _torch()

    def attach(self) -> list[Any]:
        if self.log in ("parameters", "all"):
            self.handles.append(self.model.register_forward_hook(self.after_forward))
        if self.log in ("gradients", "all"):
            for name, parameter in self.model.named_parameters():
                if parameter.requires_grad:
                    self.handles.append(parameter.register_hook(self._gradient_hook(name)))
        return self.handles

    def _live(self) -> bool:
        """Whether the run still records (after it ends the hooks do nothing; ``unwatch`` removes them)."""
        return self.run.state in ("running", "service-stopped")

    def _record(self, tensors: dict[str, Any]) -> None:
        try:
            with self.torch.no_grad():
                row = {key: _histogram(self.torch, tensor) for key, tensor in tensors.items()}
            row = {key: value for key, value in row.items() if value is not None}
            if row:
                self.run.log(row, commit=False)
        except Exception as exc:  # noqa: BLE001 - never into the training loop
            self.run.notices.warn(f"watch(): a histogram was not logged ({exc!r})", "watch-failed")

    def after_forward(self, module: Any, inputs: Any, output: Any) -> None:
        if not self._live():
            return
        self.forwards += 1
        if self.forwards % self.log_freq:
            return
        self._record({f"parameters/{self.prefix}{name}": p for name, p in module.named_parameters()})

    def _gradient_hook(self, name: str) -> Any:
        def hook(gradient: Any) -> None:
            if not self._live():
                return None
            count = self.backwards.get(name, 0) + 1
            self.backwards[name] = count
            if count % self.log_freq == 0:
                self._record({f"gradients/{self.prefix}{name}": gradient})
            return None

        return hook


def watch(run: Any, models: Any, criterion: Any = None, log: str | None = "gradients", log_freq: int = 1000,
          idx: int | None = None, log_graph: bool = False) -> None:
    """Record histograms of ``models``' gradients and/or parameters into ``run``.

    Parameters
    ----------
    models
        A ``torch.nn.Module`` or a list of them (each gets its own key prefix,
        ``"<i>/"``, when there are several).
    log
        ``"gradients"`` (default), ``"parameters"``, ``"all"`` or ``None`` (nothing).
    log_freq
        Every how many backward (forward) passes a histogram is recorded.
    criterion, idx, log_graph
        wandb's; accepted and unused (no model graph is drawn).

    Raises
    ------
    TypeError, ValueError
        For something other than a PyTorch module, an unknown ``log`` or a bad ``log_freq``.
    ImportError
        When torch is not installed.
    """
    if log not in LOG_CHOICES:
        raise ValueError(f"watch(log={log!r}): use 'gradients', 'parameters', 'all' or None")
    if isinstance(log_freq, bool) or not isinstance(log_freq, int) or log_freq < 1:
        raise ValueError(f"watch(log_freq={log_freq!r}) must be a positive integer")
    try:
        from ..media.values import Histogram  # noqa: F401 - what the hooks log
    except ImportError:
        raise NotImplementedError(
            "tracker.watch() logs histograms, and this version of tracker has no tracker.Histogram "
            "(see docs/wandb.md)"
        ) from None
    torch = _torch()
    many = isinstance(models, (list, tuple))
    items = list(models) if many else [models]
    for model in items:
        if not isinstance(model, torch.nn.Module):
            raise TypeError(f"watch() takes a torch.nn.Module (or a list of them), got {type(model).__name__}")
    if log is None:
        return
    for i, model in enumerate(items):
        unwatch(model)
        watcher = _Watcher(run, model, log, log_freq, f"{i}/" if many and len(items) > 1 else "")
        _handles[id(model)] = watcher.attach()


def unwatch(models: Any = None) -> None:
    """Remove the hooks of ``watch`` from ``models`` (every watched model without an argument)."""
    if models is None:
        keys = list(_handles)
    else:
        keys = [id(m) for m in (models if isinstance(models, (list, tuple)) else [models])]
    for key in keys:
        for handle in _handles.pop(key, []):
            handle.remove()
