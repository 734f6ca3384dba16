"""The compare view's run table (CSS class ``tracker-compare-table``), from stock widgets.

Columns: a checkbox (the charts show the checked runs), the run's name in its
colour, state, group, tags, created, duration and steps; then the config keys
whose values differ across the runs shown ("diff only", the default; the
toggle shows every key); then one summary column per metric, headed with its
summary rule (``val/acc (max)``, as ``define_metric`` set it). A click on a
header sorts by that column (again: the other way); the filter box keeps the
rows whose text contains what it holds.
"""

from __future__ import annotations

import html
import json
import math
import time
from collections.abc import Callable
from typing import Any

from .comparedata import RunData, summary_rule

__all__ = ["RunTable", "FIXED", "differing"]

#: The height of a row (px): the checkboxes and the cells of each column line up on it.
ROW_PX = 24
#: The columns every table has, after the checkbox.
FIXED = ("name", "state", "group", "tags", "created", "duration", "steps")
_MISSING = object()


def _canonical(value: Any) -> str:
    if value is _MISSING:
        return "\0missing"
    try:
        return json.dumps(value, sort_keys=True, default=str)
    except (TypeError, ValueError):
        return repr(value)


def differing(runs: list[RunData]) -> list[str]:
    """Config keys (flattened) whose values differ across ``runs`` (a key some run lacks differs), sorted."""
    keys = sorted({k for data in runs for k in data.config})
    return [k for k in keys if len({_canonical(data.config.get(k, _MISSING)) for data in runs}) > 1]


def _text(value: Any) -> str:
    if value is None or value is _MISSING:
        return "–"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return f"{value:.4g}" if math.isfinite(value) else str(value)
    if isinstance(value, (list, tuple)):
        return ", ".join(_text(v) for v in value)
    return str(value)


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _sort_key(value: Any) -> tuple[int, Any]:
    if value is None or value is _MISSING or (isinstance(value, float) and math.isnan(value)):
        return (2, 0)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (0, float(value))
    return (1, _text(value).lower())


class RunTable:
    """The table; :meth:`update` brings it to the runs shown. ``on_change`` hears the checkboxes,
    the header clicks, the filter and the toggle: the view redraws (on its own thread when it
    runs one, so that one redraw at a time touches the widgets)."""

    def __init__(self, on_change: Callable[[], None]) -> None:
        import ipywidgets as widgets

        self._widgets = widgets
        self.on_change = on_change
        self.selected: dict[str, bool] = {}
        self.sort_by: str | None = None
        self.descending = False
        self.all_keys = widgets.ToggleButton(value=False, description="all config keys",
                                             tooltip="show every config key, not only those that differ",
                                             layout=widgets.Layout(width="130px"))
        self.all_keys.add_class("tracker-compare-allkeys")
        self.filter = widgets.Text(placeholder="filter runs (any column)", description="filter",
                                   layout=widgets.Layout(width="300px"))
        self.filter.add_class("tracker-compare-filter")
        self.grid = widgets.GridBox([], layout=widgets.Layout(grid_gap="0px 12px", overflow="auto", width="100%",
                                                              align_items="center"))
        self.grid.add_class("tracker-compare-table")
        self.box = widgets.VBox([widgets.HBox([self.filter, self.all_keys]), self.grid],
                                layout=widgets.Layout(width="100%"))
        for control in (self.all_keys, self.filter):
            control.observe(lambda change: self.on_change(), names="value")
        self.columns: list[str] = []
        self.headers: dict[str, Any] = {}
        self.checks: dict[str, Any] = {}
        self.cells: dict[str, Any] = {}  # column -> its HTML widget
        self.check_column = widgets.VBox([], layout=widgets.Layout(width="24px"))
        self.values: dict[tuple[str, str], Any] = {}
        self.runs: list[RunData] = []
        self.colors: dict[str, str] = {}
        self.metrics: list[str] = []
        self.order: list[str] = []
        self.texts: dict[str, tuple[Any, dict[str, str], str]] = {}  # run id -> (key, cell html, plain text)
        self.corner = widgets.HTML("<span class='tracker-dim'>show</span>")  # over the checkboxes

    # -- what is shown ------------------------------------------------------------
    def update(self, runs: list[RunData], colors: dict[str, str], metrics: list[str]) -> None:
        self.runs, self.colors, self.metrics = runs, colors, metrics
        for data in runs:
            self.selected.setdefault(data.id, True)
        self.refresh()

    def checked(self) -> list[str]:
        """Ids of the runs whose box is checked."""
        return [data.id for data in self.runs if self.selected.get(data.id, True)]

    def _column_list(self) -> list[str]:
        keys = sorted({k for d in self.runs for k in d.config}) if self.all_keys.value else differing(self.runs)
        rules = {}
        for metric in self.metrics:
            found = [summary_rule(metric, d.specs) for d in self.runs if metric in d.columns]
            rules[metric] = found[0] if found and all(r == found[0] for r in found) else "last"
        return [*FIXED, *(f"config.{k}" for k in keys), *(f"summary.{m}|{rules[m]}" for m in self.metrics)]

    def _value(self, data: RunData, column: str) -> Any:
        if column.startswith("config."):
            return data.config.get(column[7:], _MISSING)
        if column.startswith("summary."):
            return data.summary.get(column[8:].rsplit("|", 1)[0], _MISSING)
        return {"name": data.name, "state": data.state, "group": data.group, "tags": data.tags,
                "created": data.created, "duration": data.duration(), "steps": data.steps}[column]

    def _cell_html(self, data: RunData, column: str, value: Any) -> str:
        if column == "name":
            color = self.colors.get(data.id, "inherit")
            return (f"<span style='color:{color};font-weight:600' title='{html.escape(data.id)}'>"
                    f"{html.escape(_text(value))}</span>")
        if column == "state":
            css = "tracker-warn" if value in ("crashed", "failed") else ("" if value == "finished" else "tracker-dim")
            return f"<span class='{css}'>{html.escape(str(value))}</span>"
        if column == "created":
            return "–" if value is None else time.strftime("%m-%d %H:%M:%S", time.localtime(float(value)))
        if column == "duration":
            return _duration(value)
        return html.escape(_text(value))

    @staticmethod
    def _title(column: str) -> str:
        if column.startswith("config."):
            return column[7:]
        if column.startswith("summary."):
            metric, rule = column[8:].rsplit("|", 1)
            return f"{metric} ({rule})"
        return column

    def refresh(self) -> None:
        """Rebuild what changed: columns, rows, order, cell texts."""
        widgets = self._widgets
        self.columns = self._column_list()
        for column in self.columns:
            if column not in self.headers:
                button = widgets.Button(description=self._title(column), tooltip=f"sort by {self._title(column)}",
                                        layout=widgets.Layout(width="auto", height="26px", padding="0 4px"))
                button.add_class("tracker-compare-sort")
                button.on_click(lambda _b, c=column: self._sort(c))
                self.headers[column] = button
            arrow = (" ▼" if self.descending else " ▲") if column == self.sort_by else ""
            text = self._title(column) + arrow
            if self.headers[column].description != text:
                self.headers[column].description = text
        needle = self.filter.value.strip().lower()
        rows = []
        columns = tuple(self.columns)
        for data in self.runs:
            duration = data.duration()
            key = (data.version, columns, self.colors.get(data.id), None if duration is None else int(duration))
            texts = self.texts.get(data.id)
            if texts is None or texts[0] != key:  # the run or the columns changed: its cells again
                cells = {}
                for column in self.columns:
                    value = self._value(data, column)
                    self.values[(data.id, column)] = value
                    cells[column] = self._cell_html(data, column, value)
                plain = " ".join(html.unescape(_strip(t)).lower() for t in cells.values())
                texts = self.texts[data.id] = (key, cells, plain)
            if needle and needle not in texts[2]:
                continue
            rows.append(data)
            if data.id not in self.checks:
                check = widgets.Checkbox(value=self.selected.get(data.id, True), indent=False,
                                         layout=widgets.Layout(width="22px", height=f"{ROW_PX}px", margin="0"))
                check.add_class("tracker-compare-select")
                check.observe(lambda change, i=data.id: self._check(i, change["new"]), names="value")
                self.checks[data.id] = check
        if self.sort_by in self.columns:
            rows.sort(key=lambda d: _sort_key(self.values.get((d.id, self.sort_by))), reverse=self.descending)
            if self.descending:  # missing values last either way
                rows.sort(key=lambda d: _sort_key(self.values.get((d.id, self.sort_by)))[0] == 2)
        self.order = [d.id for d in rows]
        # one HTML widget per column (a cell per row, each ROW_PX high, beside the checkboxes):
        # a table of many runs is a few dozen widgets, not one per cell
        children = [self.corner] + [self.headers[c] for c in self.columns]
        checks = [self.checks[d.id] for d in rows]
        if list(self.check_column.children) != checks:
            self.check_column.children = checks
        children.append(self.check_column)
        for column in self.columns:
            body = "".join(f"<div class='tracker-cell'>{self.texts[d.id][1][column]}</div>" for d in rows)
            cell = self.cells.get(column)
            if cell is None:
                cell = self.cells[column] = widgets.HTML(body)
                cell.add_class("tracker-compare-column")
            elif cell.value != body:
                cell.value = body
            children.append(cell)
        template = f"24px repeat({len(self.columns)}, max-content)"
        if self.grid.layout.grid_template_columns != template:
            self.grid.layout.grid_template_columns = template
        if list(self.grid.children) != children:
            self.grid.children = children

    def text_rows(self) -> list[list[str]]:
        """The table as text (header first), as a reader sees it; for tests and plain displays."""
        out = [[self._title(c) for c in self.columns]]
        for run_id in self.order:
            out.append([html.unescape(_strip(self.texts[run_id][1][c])) for c in self.columns])
        return out

    # -- events -------------------------------------------------------------------
    def _sort(self, column: str) -> None:
        if self.sort_by == column:
            self.descending = not self.descending
        else:
            self.sort_by, self.descending = column, column.startswith("summary.")
        self.on_change()

    def _check(self, run_id: str, value: bool) -> None:
        self.selected[run_id] = bool(value)
        self.on_change()

    def sort(self, column: str, descending: bool = False) -> None:
        """Sort by ``column`` (a fixed column, ``config.<key>`` or a summary metric's name)."""
        found = [c for c in self.columns if c == column or c.startswith(f"summary.{column}|")]
        if not found:
            raise ValueError(f"no column {column!r} in the table; columns: {', '.join(map(self._title, self.columns))}")
        self.sort_by, self.descending = found[0], descending
        self.on_change()


def _strip(text: str) -> str:
    import re

    return re.sub(r"<[^>]+>", "", text)
