"""``ApiRun``: what every run reader offers (a local run directory or a run on a server)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from typing import Any

from .edits import Editable, Pending
from .history import HISTORY_SAMPLES, _frame, _keys, _select


class FileList(list):
    """``run.files``: the run's file paths (relative to ``files/``, media included), sorted;
    ``run.files()`` gives the same list, as wandb's ``run.files()`` is called."""

    def __call__(self) -> FileList:
        return self


class ApiRun(ABC):
    """What every run reader offers; ``LocalRun`` and ``RemoteRun`` fill it in."""

    _info: dict[str, Any]

    def _get(self, key: str, default: Any = None) -> Any:
        return self._info.get(key, default)

    @property
    def id(self) -> str:
        return self._get("id") or ""

    @property
    def name(self) -> str | None:
        return self._get("name")

    @property
    def project(self) -> str | None:
        return self._get("project")

    @property
    def group(self) -> str | None:
        return self._get("group")

    @property
    def job_type(self) -> str | None:
        return self._get("job_type")

    @property
    def tags(self) -> list[str]:
        return list(self._get("tags") or [])

    @property
    def notes(self) -> str | None:
        return self._get("notes")

    @property
    def created_at(self) -> float | None:
        return self._get("created_at")

    @property
    def info(self) -> dict[str, Any]:
        """Everything known about the run's identity (host, python, git, times...)."""
        return dict(self._info)

    @property
    def state(self) -> str:
        return self._get("state") or "running"

    @property
    def _pending(self) -> Pending:
        pending = self.__dict__.get("_pending_edits")
        if pending is None:
            pending = self.__dict__["_pending_edits"] = Pending()
        return pending

    @property
    def config(self) -> dict[str, Any]:
        """The run's config: a dict; ``config.update({...})`` changes the run (see :meth:`update`)."""
        return Editable(self, "config", self._pending.apply("config", self._config_data()))

    @property
    def summary(self) -> dict[str, Any]:
        """The run's summary (each metric's last value unless a rule or a manual value says
        otherwise): a dict; ``summary.update({...})`` changes the run (see :meth:`update`)."""
        return Editable(self, "summary", self._pending.apply("summary", self._summary_data()))

    @abstractmethod
    def _config_data(self) -> dict[str, Any]:
        """The config as stored."""

    @abstractmethod
    def _summary_data(self) -> dict[str, Any]:
        """The summary as stored."""

    def update(self) -> None:
        """Write the changes made to ``run.summary`` and ``run.config`` (``summary[k] = v``,
        ``del summary[k]``, ``config[k] = v``) as new records after the run's last one.

        Raises
        ------
        RuntimeError
            When the run is still being recorded by its process (change it there).
        """
        import time

        pending = self._pending
        out = pending.records(time.time())
        if not out:
            return
        self._append_records(out)
        self.__dict__["_pending_edits"] = Pending()
        self.refresh()

    @abstractmethod
    def _append_records(self, out: list[list]) -> None:
        """Add records after the run's last one (numbered by the callee)."""

    @abstractmethod
    def refresh(self) -> ApiRun:
        """Read the run again."""

    def _field(self, name: str) -> Any:
        """A field as the query layer names it (``config``, ``summary``, ``display_name`` ...)."""
        if name == "config":
            return self._config_data()
        if name == "summary":
            return self._summary_data()
        if name == "display_name":
            return self.name
        if name in ("id", "state", "tags"):
            return getattr(self, name)
        return self._get(name)

    # -- data ---------------------------------------------------------------------
    @abstractmethod
    def columns(self, keys: Sequence[str] | str | None = None, samples: int | None = None,
                min_step: int | None = None, max_step: int | None = None) -> dict[str, dict[str, Any]]:
        """Each metric's points as numpy arrays: ``{metric: {"step": int64, "timestamp":
        float64, "value": float64}}``, the shape of the server's history (docs/api.md).

        ``keys`` (default: every metric, by name; a metric without points gets
        empty arrays), an inclusive step range, and ``samples=N``: at most about N
        points per metric, keeping each bucket's min and max and both ends (every
        point returned is a real point, NaN and infinities included).
        """

    @abstractmethod
    def _rows(self, keys: list[str] | None, samples: int | None) -> list[dict[str, Any]]:
        """History rows in step order (each reader knows where they are)."""

    @abstractmethod
    def system(self, pandas: bool = False) -> Any:
        """System-metric records, oldest first."""

    def history(self, keys: Sequence[str] | str | None = None, pandas: bool = False,
                samples: int | None = HISTORY_SAMPLES) -> Any:
        """History rows (dicts with ``_step``, ``_timestamp`` and the metrics).

        With ``keys``, only rows in which every one of them was logged, holding
        just those keys. ``samples`` (500 by default, as in wandb's Api)
        downsamples each metric to about that many points keeping every
        bucket's min and max and the endpoints (on a server the downsampling
        runs there) and returns the rows they fall in; ``samples=None`` returns
        every row, as :meth:`scan_history` does. ``pandas=True`` returns a DataFrame.
        """
        keys = _keys(keys)
        return _frame(_select(self._rows(keys, samples), keys), pandas)

    def scan_history(self, keys: Sequence[str] | str | None = None, page_size: int = 1000,
                     min_step: int | None = None, max_step: int | None = None) -> Iterator[dict[str, Any]]:
        """Every history row (with ``keys``, the rows holding all of them), read a page at a time."""
        keys = _keys(keys)
        for row in _select(self._rows(keys, None), keys):
            if (min_step is None or row["_step"] >= min_step) and (max_step is None or row["_step"] <= max_step):
                yield row

    def media(self, key: str, step: int | None = None, pandas: bool | None = None) -> Any:
        """A media value logged under ``key``, at ``step`` (the last one without it): a PIL
        image, a list of them, ``(counts, edges)`` arrays for a histogram, a table as a
        DataFrame (``{"columns", "data"}`` without pandas or with ``pandas=False``)."""
        from ..media.reading import load, pick

        return load(pick(self._media_references(key), key, step), self._read_file, pandas)

    def media_steps(self, key: str) -> list[int]:
        """The steps at which ``key`` holds media."""
        return [step for step, _ in self._media_references(key)]

    def media_references(self, key: str) -> list[dict[str, Any]]:
        """Every reference logged under ``key``, oldest first, as ``{"_step": step, key: reference}``
        rows (the shapes are in docs/format.md, "Media")."""
        return [{"_step": step, key: reference} for step, reference in self._media_references(key)]

    @abstractmethod
    def _media_references(self, key: str) -> list[tuple[int, dict[str, Any]]]:
        """``(step, reference)`` of each media value logged under ``key``, in log order."""

    @abstractmethod
    def _read_file(self, path: str) -> bytes:
        """The bytes of one of the run's files (a path relative to ``files/``)."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} id={self.id} project={self.project!r} state={self.state}>"
