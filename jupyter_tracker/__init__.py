"""jupyter-tracker: a Jupyter-native experiment tracker.

In a notebook::

    %load_ext tracker
    %tracker init --project mnist lr=0.01
    tracker.log({"train/loss": loss})

In a script::

    import tracker
    with tracker.init(project="mnist", config={"lr": 0.01}) as run:
        run.log({"train/loss": loss})

With wandb code, ``import tracker as wandb`` runs the common surface unchanged
(``wandb.run``, ``init``'s keywords, ``Settings``, ``alert``, ``login``, ...);
what tracker does not have raises ``NotImplementedError`` saying so (docs/wandb.md).

Importing is cheap: widgets, plotting and HTTP libraries load only when used.
"""

from __future__ import annotations

from typing import Any

from ._version import __version__
from .kernel.login import login
from .kernel.run import Run
from .kernel.session import RunLocked, current, init
from .kernel.surface import AlertLevel
from .settings import Settings

__all__ = [
    "__version__",
    "init",
    "log",
    "finish",
    "define_metric",
    "save",
    "panel",
    "compare",
    "config",
    "summary",
    "run",
    "current",
    "alert",
    "AlertLevel",
    "login",
    "mark_preempting",
    "log_code",
    "watch",
    "unwatch",
    "Settings",
    "Run",
    "RunLocked",
    "Api",
    "Artifact",
    "log_artifact",
    "use_artifact",
    "Image",
    "Histogram",
    "Table",
    "load_ipython_extension",
    "unload_ipython_extension",
]


def _active(what: str) -> Any:
    run = current()
    if run is None:
        raise RuntimeError(f"tracker.{what}: no active run; call tracker.init() (or %tracker init) first")
    return run


def log(data: dict[str, Any] | None = None, step: int | None = None, commit: bool | None = None) -> None:
    """``log()`` on the current run; see :meth:`Run.log` (``log()`` alone commits the step)."""
    run = current()
    if run is None:
        _active("log()")
    run.log(data, step, commit)


def finish(exit_code: int = 0, quiet: bool | None = None) -> None:
    """Finish the current run (no-op without one)."""
    run = current()
    if run is not None:
        run.finish(exit_code=exit_code, quiet=quiet)


def define_metric(name: str, step_metric: str | None = None, summary: str | None = None, hidden: bool = False,
                  **wandb_options: Any) -> None:
    """``define_metric()`` on the current run; see :meth:`Run.define_metric` (``goal``, ``step_sync``,
    ``overwrite`` as in wandb)."""
    _active("define_metric()").define_metric(name, step_metric=step_metric, summary=summary, hidden=hidden,
                                             **wandb_options)


def save(glob_str: str | None = None, base_path: str | None = None, policy: str = "live") -> Any:
    """``save()`` on the current run; see :meth:`Run.save` (``save()`` alone returns ``True``)."""
    return _active("save()").save(glob_str, base_path=base_path, policy=policy)


def alert(title: str, text: str, level: Any = "INFO", wait_duration: Any = None) -> None:
    """``alert()`` on the current run; see :meth:`Run.alert`."""
    _active("alert()").alert(title, text, level=level, wait_duration=wait_duration)


def watch(models: Any, criterion: Any = None, log: str | None = "gradients", log_freq: int = 1000,
          idx: int | None = None, log_graph: bool = False) -> None:
    """Record histograms of a PyTorch model's gradients (``log="gradients"``), parameters
    (``"parameters"``) or both (``"all"``) every ``log_freq`` passes into the current run,
    as ``gradients/<name>`` and ``parameters/<name>``; see :func:`jupyter_tracker.kernel.watch.watch`."""
    _active("watch()").watch(models, criterion, log=log, log_freq=log_freq, idx=idx, log_graph=log_graph)


def unwatch(models: Any = None) -> None:
    """Remove the hooks of :func:`watch` (from every watched model without an argument)."""
    from .kernel.watch import unwatch as remove

    remove(models)


def mark_preempting() -> None:
    """``mark_preempting()`` on the current run; see :meth:`Run.mark_preempting`."""
    _active("mark_preempting()").mark_preempting()


def log_code(root: str = ".", name: str | None = None, include_fn: Any = None, exclude_fn: Any = None) -> Any:
    """``log_code()`` on the current run; see :meth:`Run.log_code`."""
    return _active("log_code()").log_code(root, name=name, include_fn=include_fn, exclude_fn=exclude_fn)


def log_artifact(artifact: Any, name: str | None = None, type: str | None = None,  # noqa: A002
                 aliases: Any = None) -> Any:
    """``log_artifact()`` on the current run; see :meth:`Run.log_artifact`."""
    return _active("log_artifact()").log_artifact(artifact, name=name, type=type, aliases=aliases)


def use_artifact(artifact: Any, type: str | None = None, aliases: Any = None) -> Any:  # noqa: A002
    """``use_artifact()`` on the current run; see :meth:`Run.use_artifact`."""
    return _active("use_artifact()").use_artifact(artifact, type=type, aliases=aliases)


def panel() -> None:
    """Show the current run's live panel in this cell (also in silent mode).

    Raises
    ------
    RuntimeError
        Outside a Jupyter kernel (a plain terminal or script has no widgets).
    ImportError
        When ipywidgets or bqplot is missing, saying what to install.
    """
    from .kernel.notices import in_kernel
    from .kernel.session import open_panel

    run = _active("panel()")
    if not in_kernel():
        raise RuntimeError(
            "tracker.panel() needs a Jupyter kernel with a widget frontend (JupyterLab, Notebook 7, "
            "VS Code) and ipywidgets + bqplot installed (pip install ipywidgets bqplot); "
            "here, read the run with tracker.Api() instead"
        )
    if getattr(run, "_panel", None) is None and getattr(run, "mode", None) == "disabled":
        raise RuntimeError("tracker.panel(): the run is disabled (mode='disabled'), nothing to show")
    open_panel(run)


def compare(project: str | None = None, *, runs: Any = None, filters: dict[str, Any] | None = None,
            order: str | None = None, group_by: str | None = None, metrics: Any = None, band: str = "minmax",
            group: str | None = None, tags: Any = None, state: Any = None, dir: str | None = None,  # noqa: A002
            live: bool = True) -> Any:
    """Compare runs in this cell: a live view of a project's runs (or of ``runs``), also in silent mode.

    ``tracker.compare(project="sweep", group_by="lr", metrics=["val/acc"])`` shows a run table
    (config keys that differ, summaries), one chart per metric with a line per run (or a mean
    line and band per group), a scatter of a config key against a summary metric, and follows
    running runs live (from this kernel, another one or a script).

    Parameters
    ----------
    project
        The project whose runs to show (all projects when None and no ``runs``).
    runs
        Runs to show instead: ids, ``tracker.Api()`` runs or ``tracker.init()`` runs.
    filters, order, group, tags, state
        Which runs and in which order, as :meth:`tracker.Api.runs` takes them (wandb's syntax).
    group_by
        A config key (``"lr"``), ``"group"`` or ``"job_type"``: one mean line and band per group.
    metrics
        The metrics to chart (default: every metric a run logged).
    band
        The band around a group's mean: ``"minmax"`` (default), ``"std"`` or ``"sem"``.
    dir
        The folder of the run directories (default ``$TRACKER_DIR``).
    live
        Follow the runs as they record (default); ``False`` draws them once.

    Returns
    -------
    CompareView
        The view (already shown; as a cell's value it adds nothing): ``.table``, ``.charts``,
        ``.close()`` to stop following the runs.

    Raises
    ------
    ValueError
        An invalid filter operator (named) or band kind.
    RuntimeError
        Outside a Jupyter kernel.
    ImportError
        When ipywidgets or bqplot is missing.
    """
    from .kernel.notices import in_kernel
    from .kernel.session import open_compare

    if not in_kernel():
        raise RuntimeError(
            "tracker.compare() needs a Jupyter kernel with a widget frontend and ipywidgets + bqplot "
            "(pip install ipywidgets bqplot); here, read the runs with tracker.Api().runs() instead"
        )
    return open_compare(project=project, runs=runs, filters=filters, order=order, group_by=group_by, metrics=metrics,
                 band=band, group=group, tags=tags, state=state, dir=dir, live=live)


class _Unbound:
    """``tracker.config`` / ``tracker.summary`` before ``init()``: explains on use,
    setting a value included (it would be lost: there is no run to hold it)."""

    def __init__(self, what: str) -> None:
        object.__setattr__(self, "_what", what)

    def _fail(self, *args: Any, **kwargs: Any) -> Any:
        _active(self._what)

    __getitem__ = __setitem__ = __delitem__ = __iter__ = __len__ = update = _fail

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        _active(self._what)

    def __setattr__(self, name: str, value: Any) -> None:
        _active(f"{self._what}.{name} = ...")

    def __delattr__(self, name: str) -> None:
        _active(f"del {self._what}.{name}")

    def __repr__(self) -> str:
        return f"<tracker.{self._what}: no active run>"


def __getattr__(name: str) -> Any:
    if name == "run":
        return current()
    if name in ("config", "summary"):
        run = current()
        return getattr(run, name) if run is not None else _Unbound(name)
    if name == "Api":
        from .api import Api

        return Api
    if name in ("Image", "Histogram", "Table"):
        from .media import values

        return getattr(values, name)
    if name == "Artifact":
        from .api.artifacts import Artifact

        return Artifact
    if name in ("load_ipython_extension", "unload_ipython_extension"):
        from .kernel import magic

        return getattr(magic, name)
    from .kernel.unsupported import not_supported

    error = not_supported(name)
    if error is not None:
        raise error
    raise AttributeError(f"module 'tracker' has no attribute {name!r}")


def __dir__() -> list[str]:
    """The public API only (what tab completion on ``tracker.`` shows)."""
    return sorted(__all__)
