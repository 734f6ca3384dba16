"""Which runs, in which order: wandb's filter syntax, parsed once into a small tree.

The same tree answers ``Api.runs`` on local run directories (evaluated in
Python by :mod:`.evaluate`: :func:`matches`, :func:`sort_runs`) and on a tracking server
(translated to SQL by ``server/filters.py``), so a filter selects the same
runs in both places. ``tracker ls``, ``tracker.compare()`` and the lab
extension use it too.

Filters (a MongoDB-like dict, as ``wandb.Api().runs(filters=...)``)::

    {"config.lr": 0.1}                                  equality
    {"config.lr": {"$lt": 0.05}, "state": "finished"}   several keys: all must hold
    {"$or": [{"group": "a"}, {"tags": {"$in": ["x"]}}]}
    {"summary_metrics.val/acc": {"$gte": 0.9}, "display_name": {"$regex": "^base"}}

Keys: ``config.<key>`` (nested keys with dots: ``config.optimizer.lr``),
``summary_metrics.<metric>`` (or ``summary.<metric>``), and the run fields
``id``, ``display_name`` (or ``name``), ``project``, ``group``, ``job_type``,
``tags``, ``state``, ``notes``, ``created_at``. A bare key that is none of
these names a config key (``lr`` is ``config.lr``). Operators: ``$eq $ne $gt
$gte $lt $lte $in $nin $regex $exists``, and ``$and`` / ``$or`` lists. The
exact meaning of each (types, missing keys, NaN, tags) is in docs/api.md.
"""

from __future__ import annotations

from .evaluate import (
    Source,
    group_key,
    group_runs,
    holds_when_missing,
    matches,
    missing_key_notes,
    present,
    sort_runs,
    value_of,
)
from .tree import (
    MAX_DEPTH,
    NEWEST_FIRST,
    OPERATORS,
    RUN_FIELDS,
    And,
    Cond,
    Field,
    Node,
    Or,
    Order,
    Query,
    build_query,
    canonical_json,
    compile_regex,
    parse_field,
    parse_filters,
    parse_order,
    split_path,
    to_filters,
)

__all__ = [
    "Field",
    "Cond",
    "And",
    "Or",
    "Node",
    "Order",
    "Query",
    "Source",
    "NEWEST_FIRST",
    "MAX_DEPTH",
    "OPERATORS",
    "RUN_FIELDS",
    "parse_field",
    "parse_filters",
    "parse_order",
    "build_query",
    "split_path",
    "to_filters",
    "compile_regex",
    "canonical_json",
    "value_of",
    "present",
    "holds_when_missing",
    "matches",
    "sort_runs",
    "group_key",
    "group_runs",
    "missing_key_notes",
]
