"""Images of the compared runs side by side, at a chosen step (``VBox.tracker-compare-media``).

A key menu (every image key of the runs shown), a step slider over the steps
any of them logged that key at (it follows the latest step until moved), and
one column per run: its name in its colour and its image at that step, or at
the last step before it when it has none there (the caption says which). The
PNG files are shown as they are on disk, in stock ``Image`` widgets. A run's
references are read from its log once, and again only when its last
reference of the key changed.
"""

from __future__ import annotations

import bisect
import html
from typing import Any

__all__ = ["CompareImages", "image_keys"]

_IMAGE_TYPES = ("image-file", "images/list")


def image_keys(summaries: list[dict[str, Any]]) -> list[str]:
    """The keys whose summary is an image reference in any of ``summaries``, sorted."""
    return sorted({key for summary in summaries for key, value in summary.items()
                   if isinstance(value, dict) and value.get("_type") in _IMAGE_TYPES})


class CompareImages:
    """The images part of a compare view; :meth:`draw` takes the runs shown, in order."""

    def __init__(self) -> None:
        import ipywidgets as widgets

        self.key = widgets.Dropdown(options=[], description="image", layout=widgets.Layout(width="260px"))
        self.slider = widgets.IntSlider(value=0, min=0, max=0, description="step", readout=False,
                                        layout=widgets.Layout(width="320px"))
        self.step_label = widgets.HTML()
        self.row = widgets.HBox([], layout=widgets.Layout(flex_flow="row wrap", align_items="flex-start"))
        self.box = widgets.VBox([widgets.HBox([self.key, self.slider, self.step_label]), self.row],
                                layout=widgets.Layout(display="none"))
        self.box.add_class("tracker-compare-media")
        self._cache: dict[tuple[str, str], tuple[Any, list[tuple[int, dict[str, Any]]]]] = {}
        self._runs: list[tuple[Any, str, str]] = []
        self._steps: list[int] = []
        self._follow = True
        self._drawing = False
        self._shown: tuple = ()  # what the row shows: redrawn only when it changes
        self.key.observe(self._key_changed, names="value")
        self.slider.observe(self._moved, names="value")

    def _key_changed(self, change: Any) -> None:
        self._follow = True
        self._render()

    def _moved(self, change: Any) -> None:
        if not self._drawing:
            self._follow = change["new"] == self.slider.max
            self._render()

    def _references(self, run: Any, key: str) -> list[tuple[int, dict[str, Any]]]:
        last = (run.summary or {}).get(key)
        cached = self._cache.get((run.id, key))
        if cached is not None and cached[0] == last:
            return cached[1]
        references = [(row["_step"], row[key]) for row in run.media_references(key)] if last is not None else []
        self._cache[(run.id, key)] = (last, references)
        return references

    def draw(self, runs: list[tuple[Any, str, str]]) -> None:
        """``runs``: (an Api run, its name, its colour) for each run shown."""
        self._runs = runs
        keys = image_keys([run.summary or {} for run, _, _ in runs])
        self.box.layout.display = None if keys else "none"
        if list(self.key.options) != keys:
            current = self.key.value
            self.key.options = keys
            self.key.value = current if current in keys else (keys[0] if keys else None)
        self._render()

    def _render(self) -> None:
        key = self.key.value
        if not key:
            self.row.children = ()
            return
        import ipywidgets as widgets

        per_run = [(run, name, color, self._references(run, key)) for run, name, color in self._runs]
        steps = sorted({step for *_, references in per_run for step, _ in references})
        self._drawing = True
        try:
            if steps != self._steps:
                self._steps = steps
                self.slider.max = max(len(steps) - 1, 0)  # the range first: the browser clamps the value to it
                if self._follow:
                    self.slider.value = self.slider.max
        finally:
            self._drawing = False
        if not steps:
            self.row.children = ()
            return
        chosen = steps[min(self.slider.value, len(steps) - 1)]
        self.step_label.value = f"<span class='tracker-dim'>step {chosen}</span>"
        picked = []
        for run, name, color, references in per_run:
            at = bisect.bisect_right([step for step, _ in references], chosen) - 1
            picked.append((run.id, name, color, references[at][0] if at >= 0 else None,
                           str(references[at][1]) if at >= 0 else ""))
        if tuple(picked) == self._shown:
            return
        self._shown = tuple(picked)
        columns = []
        spaced = widgets.Layout(margin="0 16px 8px 0")
        for run, name, color, references in per_run:
            at = bisect.bisect_right([step for step, _ in references], chosen) - 1
            title = f"<b style='color:{color}'>{html.escape(name)}</b>"
            if at < 0:
                columns.append(widgets.VBox([widgets.HTML(title), widgets.HTML(
                    f"<span class='tracker-dim'>no image at step {chosen} or before</span>")], layout=spaced))
                continue
            step, reference = references[at]
            items = reference.get("items") if reference.get("_type") == "images/list" else [reference]
            images = []
            for item in items:
                try:
                    data = run._read_file(item["path"])
                except (OSError, KeyError, ValueError):
                    continue
                image = widgets.Image(value=data, format="png", width=str(item.get("width", "")),
                                      height=str(item.get("height", "")))
                image.add_class("tracker-media-image")
                images.append(image)
            note = "" if step == chosen else f" (step {step})"
            caption = " · ".join(html.escape(str(i["caption"])) for i in items if i.get("caption"))
            columns.append(widgets.VBox([widgets.HTML(title + f"<span class='tracker-dim'>{note}</span>"),
                                         widgets.HBox(images),
                                         widgets.HTML(f"<span class='tracker-dim'>{caption}</span>")], layout=spaced))
        self.row.children = tuple(columns)
