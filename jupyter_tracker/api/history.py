"""History rows as the Api returns them: keys checked, rows selected, a DataFrame on request."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

#: ``run.history()``'s default ``samples``: wandb's Api reads 500 rows unless told otherwise.
HISTORY_SAMPLES = 500

def _frame(rows: list[dict[str, Any]], pandas: bool) -> Any:
    if not pandas:
        return rows
    try:
        import pandas as pd
    except ImportError:
        raise ImportError("pandas=True needs pandas: pip install 'jupyter-tracker[pandas]'") from None
    return pd.DataFrame.from_records(rows)


def _keys(keys: Sequence[str] | str | None) -> list[str] | None:
    if keys is None:
        return None
    if isinstance(keys, str):
        return [keys]
    keys = list(keys)
    for key in keys:
        if not isinstance(key, str):
            raise TypeError(f"keys must be metric names (strings), got {key!r}")
    return keys


def _select(rows: list[dict[str, Any]], keys: list[str] | None) -> list[dict[str, Any]]:
    """Rows holding every one of ``keys`` (just those, with ``_step`` and ``_timestamp``)."""
    if keys is None:
        return [dict(row) for row in rows]
    wanted = ["_step", "_timestamp", *keys]
    return [{k: row[k] for k in wanted} for row in rows if all(k in row for k in keys)]
