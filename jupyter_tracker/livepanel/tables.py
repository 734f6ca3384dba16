"""A logged table in the panel: the latest one, a page at a time, sorted by a column."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import orjson

from .. import records

__all__ = ["TableView", "PAGE_ROWS", "sorted_rows"]

#: Rows a page shows.
PAGE_ROWS = 20


def _order(value: Any) -> tuple:
    """Numbers before text, ``None`` (and NaN) last, so mixed columns sort without errors."""
    if value is None or (isinstance(value, float) and value != value):
        return (2, 0, "")
    if isinstance(value, (int, float)):
        return (0, float(value), "")
    return (1, 0, str(value))


def sorted_rows(rows: list[list[Any]], column: int | None, descending: bool) -> list[list[Any]]:
    """``rows`` sorted by ``column`` (kept as logged when it is ``None``); ``None`` stays last."""
    if column is None:
        return rows
    present = [r for r in rows if _order(r[column])[0] < 2]
    missing = [r for r in rows if _order(r[column])[0] == 2]
    return sorted(present, key=lambda r: _order(r[column]), reverse=descending) + missing


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    if value is None:
        return ""
    text = value if isinstance(value, str) else orjson.dumps(value).decode()
    return html.escape(text if len(text) <= 200 else text[:200] + "…")


class TableView:
    """One table key (``VBox.tracker-table``): the latest step's table, paged and sortable."""

    def __init__(self, key: str, files: Path) -> None:
        import ipywidgets as widgets

        self.key = key
        self.files = files
        self.latest: tuple[int, dict[str, Any]] | None = None
        self.loaded: tuple[int, str] | None = None
        self.columns: list[str] = []
        self.rows: list[list[Any]] = []
        self.page = 0
        self.sort = widgets.Dropdown(options=[("as logged", -1)], value=-1, description="sort by",
                                     layout=widgets.Layout(width="240px"))
        self.descending = widgets.ToggleButton(value=False, description="descending",
                                               layout=widgets.Layout(width="100px"))
        self.previous = widgets.Button(description="◀", layout=widgets.Layout(width="40px"))
        self.next = widgets.Button(description="▶", layout=widgets.Layout(width="40px"))
        self.where = widgets.HTML()
        self.previous.on_click(lambda _: self._turn(-1))
        self.next.on_click(lambda _: self._turn(1))
        for control in (self.sort, self.descending):
            control.observe(self._resort, names="value")
        self.table = widgets.HTML()
        self.title = widgets.HTML(f"<b>{html.escape(key)}</b>")
        self.box = widgets.VBox([self.title, widgets.HBox([self.sort, self.descending, self.previous, self.next,
                                                           self.where]), self.table])
        self.box.add_class("tracker-table")

    def add(self, step: int, reference: dict[str, Any]) -> None:
        self.latest = (step, reference)

    def _turn(self, by: int) -> None:
        self.page += by
        self._render()

    def _resort(self, change: Any) -> None:
        self.page = 0
        self._render()

    def draw(self) -> None:
        if self.latest is None:
            return
        step, reference = self.latest
        mark = (step, reference.get("path", ""))
        if mark == self.loaded:
            return
        try:
            table = records.restore_floats(orjson.loads((self.files / reference["path"]).read_bytes()))
        except (OSError, KeyError, ValueError):
            return  # not readable (yet): the next redraw tries again
        self.loaded = mark
        self.columns = [str(c) for c in table.get("columns") or []]
        self.rows = table.get("data") or []
        options = [("as logged", -1)] + [(name, i) for i, name in enumerate(self.columns)]
        if list(self.sort.options) != options:
            value = self.sort.value if self.sort.value < len(self.columns) else -1
            with self.sort.hold_sync():
                self.sort.options = options
                self.sort.value = value
        self.title.value = f"<b>{html.escape(self.key)}</b> <span class='tracker-dim'>step {step} · " \
                           f"{len(self.rows):,} rows</span>"
        self._render()

    def _render(self) -> None:
        pages = max(1, -(-len(self.rows) // PAGE_ROWS))
        self.page = min(max(self.page, 0), pages - 1)
        column = None if self.sort.value < 0 else self.sort.value
        rows = sorted_rows(self.rows, column, self.descending.value)
        shown = rows[self.page * PAGE_ROWS:(self.page + 1) * PAGE_ROWS]
        head = "".join(f"<th>{html.escape(name)}</th>" for name in self.columns)
        body = "".join("<tr>" + "".join(f"<td>{_cell(v)}</td>" for v in row) + "</tr>" for row in shown)
        self.table.value = f"<table class='tracker-table-cells'><tr>{head}</tr>{body}</table>"
        self.where.value = f"<span class='tracker-dim'>page {self.page + 1} of {pages}</span>"
        self.previous.disabled = self.page == 0
        self.next.disabled = self.page >= pages - 1
