"""A run's history as a table: ``tracker export RUN_ID --format csv|parquet``.

Columns: ``_step``, ``_timestamp``, then every metric in name order; a cell is
empty (CSV) or null (Parquet) where the metric was not logged in that row.
Floats are written so that they read back exactly (``repr``: ``0.1``, ``nan``,
``inf``), so ``tracker import csv FILE --step-column _step`` gives the same
history back.
"""

from __future__ import annotations

import csv
import io
import sys
from pathlib import Path
from typing import Any

from . import MissingExtra

__all__ = ["FORMATS", "table", "write_csv", "write_parquet"]

FORMATS = ("csv", "parquet")


def table(rows: list[dict[str, Any]]) -> tuple[list[str], list[dict[str, Any]]]:
    """The columns of ``rows`` (history rows): ``_step``, ``_timestamp``, the metrics sorted."""
    metrics = sorted({key for row in rows for key in row} - {"_step", "_timestamp"})
    return ["_step", "_timestamp", *metrics], rows


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    return str(value)


def write_csv(rows: list[dict[str, Any]], out: str | Path) -> None:
    """Write the history rows as CSV to ``out`` (``"-"``: standard output)."""
    columns, rows = table(rows)
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(column)) for column in columns])
    if str(out) == "-":
        sys.stdout.write(buffer.getvalue())
    else:
        Path(out).write_text(buffer.getvalue(), encoding="utf-8")


def write_parquet(rows: list[dict[str, Any]], out: str | Path) -> None:
    """Write the history rows as a Parquet file (pyarrow, else pandas with a Parquet engine).

    Raises
    ------
    MissingExtra
        Neither is installed, naming the extra that brings pyarrow.
    """
    columns, rows = table(rows)
    data = {column: [row.get(column) for row in rows] for column in columns}
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        pa = None
    if pa is not None:
        types = {"_step": pa.int64()}
        arrays = [pa.array([None if v is None else float(v) for v in data[c]] if c != "_step" else data[c],
                           type=types.get(c, pa.float64())) for c in columns]
        pq.write_table(pa.Table.from_arrays(arrays, names=columns), str(out))
        return
    try:
        import pandas as pd

        pd.DataFrame(data, columns=columns).to_parquet(str(out), index=False)
    except ImportError:
        raise MissingExtra("tracker export --format parquet", "parquet", "pyarrow") from None
