"""A CSV table as a run: one row per line, the steps from a column (``tracker import csv``).

The first line names the columns. ``--step-column`` gives each line's step (whole
numbers that never go down; lines with the same step form one row). The wall
time of each line comes from ``--time-column`` (seconds since the epoch), else
from a ``_timestamp`` column when there is one (what ``tracker export`` and
wandb's exports write), else it is the file's modification time. Every other
column is a metric: cells that are numbers (``nan``, ``inf`` included) are
logged, empty cells are not, and cells that are not numbers are skipped and
counted per column. ``_runtime`` is ignored.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
from pathlib import Path

from .rundirs import Imported, RowBuilder, stable_id

__all__ = ["read_csv"]

_IGNORED = ("_runtime",)


def _cell_number(cell: str) -> int | float | None:
    try:
        return int(cell)
    except ValueError:
        pass
    try:
        return float(cell)
    except ValueError:
        return None


def _step(raw: str, column: str, where: str) -> int:
    value = _cell_number(raw.strip())
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int) or value < 0:
        raise ValueError(f"{where}: the step {raw!r} in column {column!r} is not a whole number >= 0")
    return value


def read_csv(path: str | os.PathLike, step_column: str, time_column: str | None = None,
             project: str | None = None, name: str | None = None) -> Imported:
    """Read a CSV file into an :class:`Imported` run (see the module's docstring).

    Raises
    ------
    FileNotFoundError
        No such file.
    ValueError
        A missing or repeated column, a line of the wrong length, a step that is not
        a whole number or that goes down: the message names the line and column.
    """
    path = Path(path).resolve()
    data = path.read_bytes()
    mtime = path.stat().st_mtime
    text = data.decode("utf-8-sig")
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if not header:
        raise ValueError(f"{path}: the file is empty; a CSV file with a header line is expected")
    header = [h.strip() for h in header]
    repeated = sorted({h for h in header if header.count(h) > 1})
    if repeated:
        raise ValueError(f"{path.name}: column {repeated[0]!r} appears more than once in the header")
    if step_column not in header:
        raise ValueError(f"--step-column {step_column!r} is not a column of {path.name} (columns: {', '.join(header)})")
    if time_column is not None and time_column not in header:
        raise ValueError(f"--time-column {time_column!r} is not a column of {path.name} (columns: {', '.join(header)})")
    if time_column is None and "_timestamp" in header and step_column != "_timestamp":
        time_column = "_timestamp"
    step_at = header.index(step_column)
    time_at = header.index(time_column) if time_column is not None else None
    metrics = [(i, h) for i, h in enumerate(header) if i not in (step_at, time_at) and h not in _IGNORED]

    project = project or os.environ.get("TRACKER_PROJECT") or "uncategorized"
    name = name or path.stem
    imported = Imported(
        source="csv", path=str(path), project=project, run_id=stable_id("csv", str(path)), name=name,
        created_at=mtime, finished_at=mtime,
        fingerprint=":".join((hashlib.sha256(data).hexdigest(), step_column, time_column or "", project, name)),
    )
    rows = RowBuilder(imported)
    not_numbers: dict[str, int] = {}
    previous = -1
    first_ts = last_ts = None
    for line, cells in enumerate(reader, start=2):
        if not cells or not any(c.strip() for c in cells):
            continue
        where = f"{path.name}, line {line}"
        if len(cells) != len(header):
            raise ValueError(f"{where}: {len(cells)} fields, but the header has {len(header)}")
        step = _step(cells[step_at], step_column, where)
        if step < previous:
            raise ValueError(f"{where}: step {step} is lower than the step before it ({previous}); "
                             f"sort the file by {step_column!r} first")
        previous = step
        ts = mtime
        if time_at is not None and cells[time_at].strip():
            value = _cell_number(cells[time_at].strip())
            if value is None:
                raise ValueError(f"{where}: the time {cells[time_at]!r} in column {time_column!r} is not a number "
                                 "(seconds since the epoch)")
            ts = float(value)
        first_ts = ts if first_ts is None else min(first_ts, ts)
        last_ts = ts if last_ts is None else max(last_ts, ts)
        for index, column in metrics:
            cell = cells[index].strip()
            if not cell:
                continue
            value = _cell_number(cell)
            if value is None:
                not_numbers[column] = not_numbers.get(column, 0) + 1
                continue
            rows.add(step, ts, column, value)
    for column, count in not_numbers.items():
        imported.skip(f"cells of column {column!r} that are not numbers", count)
    imported.body = rows.records()
    if first_ts is not None:
        imported.created_at, imported.finished_at = first_ts, last_ts
    return imported
