"""The data of charts: ``/tracker/api/runs/{id}/history``, ``.../system`` and ``compare``.

History answers in the tracking server's history schema (docs/api.md), never
more than :data:`~.sources.MAX_SAMPLES` points per metric (min/max decimation,
extremes and both ends kept); ``smoothing=ema&amount=0.6`` adds ``smoothed``
to each metric, computed on every point before the decimation. ``compare``
is several runs' history in one request: ``{run_id: history}``.
"""

from __future__ import annotations

from typing import Any

from tornado import web

from .endpoint import LabError, TrackerHandler
from .lines import encode_history, encode_runs, parse_smoothing
from .runs import check_run_id
from .sources import MAX_SAMPLES, BadInput

__all__ = ["HistoryHandler", "SystemHandler", "CompareHandler", "MAX_RUNS"]

#: The most runs one compare request may ask for.
MAX_RUNS = 200


class _ColumnsHandler(TrackerHandler):
    def chart_arguments(self) -> tuple[list[str] | None, int, int | None, int | None, tuple[str, float] | None]:
        samples = self.int_argument("samples", MAX_SAMPLES, 1, MAX_SAMPLES)
        try:
            smoothing = parse_smoothing(self.get_query_argument("smoothing", None),
                                        self.get_query_argument("amount", None))
        except BadInput as exc:
            raise LabError(400, str(exc)) from None
        return (self.keys_argument(), samples, self.int_argument("min_step", None),
                self.int_argument("max_step", None), smoothing)

    async def read(self, run_ids: list[str], one: bool) -> bytes:
        """The JSON of the runs' history (``one``: the single run's history alone)."""
        source = self.source()
        keys, samples, lo, hi, smoothing = self.chart_arguments()

        def work() -> bytes:
            found = source.columns(run_ids, keys, samples, lo, hi, smoothing)
            return encode_history(found[run_ids[0]]) if one else encode_runs(found)

        return await self.call(work)


class HistoryHandler(_ColumnsHandler):
    @web.authenticated
    async def get(self, run_id: str) -> None:
        run_id = check_run_id(run_id)
        self.send(await self.read([run_id], one=True))


class CompareHandler(_ColumnsHandler):
    """``GET /compare?ids=a,b&keys=&samples=&smoothing=``: ``{run_id: history}``."""

    @web.authenticated
    async def get(self) -> None:
        ids = [i for raw in self.get_query_arguments("ids") for i in raw.split(",") if i]
        if not ids:
            raise LabError(400, "ids is needed: the runs to compare, comma-separated")
        if len(ids) > MAX_RUNS:
            raise LabError(400, f"at most {MAX_RUNS} runs can be compared at once")
        self.send(await self.read([check_run_id(i) for i in ids], one=False))


def _thin(records: list[dict[str, Any]], samples: int | None) -> list[dict[str, Any]]:
    """At most ``samples`` records, evenly spread, the first and last kept."""
    if samples is None or len(records) <= samples:
        return records
    if samples == 1:
        return records[-1:]
    last = len(records) - 1
    picks = sorted({round(i * last / (samples - 1)) for i in range(samples)})
    return [records[i] for i in picks]


class SystemHandler(TrackerHandler):
    """``GET /runs/{id}/system?samples=N``: system records, oldest first (at most N, evenly spread)."""

    @web.authenticated
    async def get(self, run_id: str) -> None:
        source = self.source()
        run_id = check_run_id(run_id)
        samples = self.int_argument("samples", None, 1, 1_000_000)
        self.send(_thin(await self.call(source.system, run_id), samples))
