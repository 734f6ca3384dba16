"""The live panel in a real JupyterLab, seen through headless Chromium (harness: lab.py).

1. The harness itself, on a FAKE panel built from stock widgets in the product's shape
   (VBox.tracker-panel > HTML.tracker-status, bqplot Figure.tracker-chart x3, HTML.tracker-system,
   HTML.tracker-summary; the lines grow from a background thread while a cell "trains"), and a
   negative control: the same notebook with the widget manager disabled must be reported broken.
2. The product: ``%tracker init`` shows the panel in its own cell and nowhere else, the charts
   grow while a cell logs, no widget error, nothing leaves 127.0.0.1.

Run: python -m pytest tests/e2e/test_lab.py -v   (-m browser selects every browser test).
Needs the playwright package and Debian's chromium (or TRACKER_TEST_CHROMIUM); skips without
them, fails instead when CI is set. Screenshots go to tests/e2e/artifacts/ (TRACKER_TEST_ARTIFACTS).
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pytest

from .lab import WIDGETS_PLUGIN, Lab, LabResult

pytestmark = pytest.mark.browser

PANEL = ".tracker-panel"
CHART = ".tracker-chart"
LINE = ".tracker-chart path.line"
SYSTEM = ".tracker-system"
SUMMARY = ".tracker-summary"
STATUS = ".tracker-status"
SELECTORS = [PANEL, CHART, LINE, SYSTEM, SUMMARY, STATUS]


@pytest.fixture(scope="module")
def lab():
    """One JupyterLab server for the module; each test opens its own page and kernel (a tall page, so that
    screenshots show whole panels)."""
    with Lab(viewport=(1280, 1800)) as server:
        yield server


def notebook(*sources: str) -> dict:
    """An nbformat 4 notebook of code cells (lab.open pins the kernelspec)."""
    cells = [{"cell_type": "code", "metadata": {}, "source": src, "outputs": [], "execution_count": None}
             for src in sources]
    return {"nbformat": 4, "nbformat_minor": 5, "metadata": {"language_info": {"name": "python"}}, "cells": cells}


def panel_problems(res: LabResult, *, panel_cell: int, log_cell: int, min_charts: int) -> list[str]:
    """Everything that must hold for a healthy live panel; [] when all is well."""
    p = []
    if res.counts[PANEL] < 1:
        p.append(f"no {PANEL} rendered")
    if res.cells_matching(PANEL) not in ([], [panel_cell]):
        p.append(f"{PANEL} in code cells {res.cells_matching(PANEL)}, expected only {panel_cell}")
    if res.cells_with_output != [panel_cell]:
        p.append(f"code cells with output: {res.cells_with_output}, expected only [{panel_cell}]")
    if res.counts[CHART] < min_charts:
        p.append(f"{res.counts[CHART]} {CHART} element(s), expected >= {min_charts}")
    if res.counts[LINE] < min_charts:
        p.append(f"{res.counts[LINE]} {LINE} path(s), expected >= {min_charts}")
    live = res.live_counts(cell=log_cell)
    if len(live) < 3:
        p.append(f"chart not live: increasing point counts while cell {log_cell} showed [*]: {live}")
    if res.counts[SYSTEM] < 1 or not any(t.strip() for t in res.texts[SYSTEM]):
        p.append(f"{SYSTEM} missing or empty: {res.texts[SYSTEM]}")
    if res.counts[SUMMARY] < 1:
        p.append(f"no {SUMMARY}")
    return p + health_problems(res)


def health_problems(res: LabResult) -> list[str]:
    """What must never happen in any notebook: widget errors, exceptions, external requests."""
    p = list(res.widget_errors)
    p += [f"widget console error: {m}" for m in res.widget_console_errors]
    p += [f"cell {c.index} raised {e}" for c in res.cells for e in c.errors]
    if res.external_requests:
        p.append(f"requests left 127.0.0.1: {res.external_requests}")
    if res.kernel.get("argv", [None])[0] != os.path.abspath(sys.executable):
        p.append(f"kernel runs {res.kernel.get('argv')}, not {sys.executable}")
    if res.run_error:
        p.append(f"run-all failed: {res.run_error}")
    return p


def run_product(lab: Lab, nb: dict, name: str, tracker_env: Path, tmp_path: Path, timeout: float) -> LabResult:
    """Run a notebook of the product in Lab, in an isolated TRACKER_DIR; screenshots as artifacts."""
    env = {"TRACKER_DIR": str(tracker_env), "TRACKER_CONFIG_DIR": str(tmp_path / "config"),
           "TRACKER_STATS_INTERVAL": "0.5", "TRACKER_STATS_WINDOW": "2"}
    with lab.open(nb, name=name, kernel_env=env) as page:
        res = page.run_all(selectors=SELECTORS, timeout=timeout)
        page.screenshot("page")
        if res.counts[PANEL]:
            page.screenshot("panel", PANEL)
    return res


# --------------------------------------------------------------------------- the fake panel

FAKE_INIT = '''\
import os, threading, time
import bqplot as bq
import ipywidgets as W
import numpy as np
from IPython.display import display

LOG = []  # rows appended by the "training" cell, drawn by a background thread (like the product)

def _chart(key):
    xs, ys = bq.LinearScale(), bq.LinearScale()
    line = bq.Lines(x=np.zeros(1), y=np.zeros(1), scales={"x": xs, "y": ys})
    fig = bq.Figure(marks=[line], title=key, animation_duration=0, fig_margin=dict(top=30, bottom=30, left=40, right=10),
                    axes=[bq.Axis(scale=xs), bq.Axis(scale=ys, orientation="vertical")],
                    layout=W.Layout(width="300px", height="200px"))
    fig.add_class("tracker-chart")
    return fig, line

CHARTS = {k: _chart(k) for k in ("loss", "acc", "lr")}
RUN = os.environ.get("FAKE_RUN", "?")  # proves that kernel_env reaches the kernel
status, system, summary = W.HTML(f"run {RUN}: starting"), W.HTML("cpu -"), W.HTML("")
for w, cls in ((status, "tracker-status"), (system, "tracker-system"), (summary, "tracker-summary")):
    w.add_class(cls)
panel = W.VBox([status, W.HBox([fig for fig, _ in CHARTS.values()]), system, summary])
panel.add_class("tracker-panel")
display(panel)

def _draw():
    rows = list(LOG)
    if rows:
        for key, (_, line) in CHARTS.items():
            with line.hold_sync():
                line.x, line.y = np.arange(len(rows), dtype=float), np.array([r[key] for r in rows])
        status.value = f"run {RUN}: step {len(rows)}"
    system.value = f"cpu {time.process_time():.2f} s"

_stop = threading.Event()
def _pump():
    while not _stop.wait(0.2):
        _draw()
_thread = threading.Thread(target=_pump, daemon=True)
_thread.start()
'''

FAKE_TRAIN = '''\
for i in range({steps}):
    LOG.append({{"loss": 1 / (i + 1), "acc": i / {steps}, "lr": 0.1 * 0.99 ** i}})
    time.sleep({sleep})
'''

FAKE_FINISH = '''\
_stop.set()
_thread.join()
_draw()
summary.value = f"<b>loss</b> {LOG[-1]['loss']:.3f} <b>acc</b> {LOG[-1]['acc']:.2f}"
status.value = f"run {RUN}: finished"
'''


def fake_panel_notebook(steps: int = 40, sleep: float = 0.1) -> dict:
    """Cell 0 shows the fake panel (its only output), cell 1 "trains" for steps*sleep s, cell 2
    finishes; cells 1 and 2 print nothing."""
    return notebook(FAKE_INIT, FAKE_TRAIN.format(steps=steps, sleep=sleep), FAKE_FINISH)


def test_harness_sees_a_live_fake_panel(lab):
    with lab.open(fake_panel_notebook(), name="fake-panel", kernel_env={"FAKE_RUN": "fake-1"}) as page:
        res = page.run_all(selectors=SELECTORS)
        page.screenshot("page")
        shot = page.screenshot("panel", PANEL)
    problems = panel_problems(res, panel_cell=0, log_cell=1, min_charts=3)
    assert not problems, f"{problems}\n{res.describe()}"
    assert res.live_counts(cell=1)[-1] >= 20  # drew most of the 40 steps while the cell ran
    assert res.counts[LINE] == 3 and res.texts[STATUS] == ["run fake-1: finished"]
    assert "loss" in res.texts[SUMMARY][0]
    assert any("/api/kernels/" in u for u in res.requests)  # requests are recorded
    assert shot.stat().st_size > 1000


def test_harness_fails_without_the_widget_manager(lab):
    """Negative control: with the widget manager plugin disabled the very same notebook must be
    reported as broken (no panel, widget output not rendered), so the checks above can fail."""
    with lab.open(fake_panel_notebook(steps=10), name="no-widget-manager",
                  disabled_extensions=[WIDGETS_PLUGIN]) as page:
        res = page.run_all(selectors=SELECTORS)
        page.screenshot("page")
    problems = panel_problems(res, panel_cell=0, log_cell=1, min_charts=3)
    assert problems, res.describe()
    assert res.counts[PANEL] == 0, res.describe()
    assert any("widget output rendered as text/plain" in e for e in res.widget_errors), res.describe()
    assert "VBox(children=" in res.cells[0].texts[0]
    assert not res.live_counts()


# --------------------------------------------------------------------------- the product

LOG_STEPS, LOG_SLEEP = 50, 0.1  # ~5 s of logging


def test_panel_renders_and_updates_live(lab, tracker_env: Path, tmp_path: Path):
    """``%tracker init`` shows the live panel in its own output and nowhere else; its charts grow
    while a cell logs."""
    nb = notebook(
        "%load_ext tracker",
        "%tracker init --project lab",
        "import time\n"
        f"for i in range({LOG_STEPS}):\n"
        "    tracker.log({'loss': 1 / (i + 1), 'acc': i / 50, 'lr': 0.1 * 0.99 ** i})\n"
        f"    time.sleep({LOG_SLEEP})",
        "%tracker finish",
    )
    res = run_product(lab, nb, "panel-live", tracker_env, tmp_path, timeout=60)
    problems = panel_problems(res, panel_cell=1, log_cell=2, min_charts=3)
    logs = "".join(f"\n--- {p}\n{p.read_text(errors='replace')[-3000:]}" for p in tracker_env.glob("*/logs/debug.log"))
    assert not problems, f"{problems}\n{res.describe()}{logs}"

    import jupyter_tracker

    run = jupyter_tracker.Api().runs(project="lab")[0]  # the kernel really recorded the run
    assert run.state == "finished"
    assert len(run.history(keys=["loss"], samples=None)) == LOG_STEPS


def test_quickstart_notebook_in_lab(lab, tracker_env: Path, tmp_path: Path):
    """The README's main job: the quickstart runs top to bottom in JupyterLab, its panel renders
    in the init cell with a chart per metric and the system strip, and nothing goes wrong."""
    import json

    quickstart = Path(__file__).resolve().parents[2] / "notebooks" / "quickstart.ipynb"
    nb = json.loads(quickstart.read_text())
    res = run_product(lab, nb, "quickstart", tracker_env, tmp_path, timeout=120)
    problems = []
    if res.cells_matching(PANEL) != [1]:
        problems.append(f"{PANEL} in code cells {res.cells_matching(PANEL)}, expected [1] (the init cell)")
    if res.counts[CHART] < 3 or res.counts[LINE] < 3:  # train/loss, train/acc, val/acc
        problems.append(f"{res.counts[CHART]} charts, {res.counts[LINE]} lines")
    if res.counts[SYSTEM] < 1:
        problems.append("no system strip")
    problems += health_problems(res)
    assert not problems, f"{problems}\n{res.describe()}"


# --------------------------------------------------------------------------- what the charts show

CHARTS_JS = r"""
() => {
  const rect = (e) => { const r = e.getBoundingClientRect();
    return {left: r.left, right: r.right, top: r.top, bottom: r.bottom, width: r.width, height: r.height}; };
  return Array.from(document.querySelectorAll('.tracker-chart, .tracker-system-chart')).map(fig => {
    const svg = fig.querySelector('svg.svg-figure') || fig.querySelector('svg');
    const plot = fig.querySelector('.plotarea_background') || fig.querySelector('.plotarea_events');
    const axes = Array.from(fig.querySelectorAll('g.axis')).map(g => {
      const texts = Array.from(g.querySelectorAll('.tick text'));
      const label = g.querySelector('.axislabel');
      return {labels: texts.map(t => t.textContent), boxes: texts.map(rect),
              label: label ? label.textContent : ''};
    });
    const lines = Array.from(fig.querySelectorAll('path.line')).filter(p => (p.getAttribute('d') || '').length > 1)
      .map(p => ({box: rect(p), points: ((p.getAttribute('d') || '').match(/[ML]/g) || []).length}));
    return {kind: fig.classList.contains('tracker-chart') ? 'metric' : 'system',
            title: (fig.querySelector('.mainheading') || {}).textContent || '',
            figure: rect(fig), svg: svg ? rect(svg) : null, plot: plot ? rect(plot) : null, axes, lines};
  });
}
"""

CONTRAST_JS = r"""
() => {
  const rgba = (s) => { const m = s.match(/rgba?\(([^)]+)\)/); if (!m) return null;
    const v = m[1].split(/[ ,\/]+/).filter(Boolean).map(Number); return [v[0], v[1], v[2], v.length > 3 ? v[3] : 1]; };
  const lum = (c) => { const f = (x) => { x /= 255; return x <= 0.04045 ? x / 12.92 : Math.pow((x + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2]); };
  const background = (el) => {  // the first opaque background behind el, blended down the ancestors
    const layers = [];
    for (let e = el; e; e = e.parentElement) {
      const c = rgba(getComputedStyle(e).backgroundColor);
      if (c && c[3] > 0) { layers.push(c); if (c[3] >= 1) break; }
    }
    let out = [255, 255, 255];
    for (const c of layers.reverse()) out = out.map((v, i) => c[i] * c[3] + v * (1 - c[3]));
    return out;
  };
  const texts = Array.from(document.querySelectorAll('.tracker-chart .tick text, .tracker-system-chart .tick text'));
  return {theme: document.body.dataset.jpThemeName, labels: texts.map(t => {
    const fg = rgba(getComputedStyle(t).fill), bg = background(t.closest('.bqplot'));
    const blended = fg.slice(0, 3).map((v, i) => v * fg[3] + bg[i] * (1 - fg[3]));
    const [a, b] = [lum(blended), lum(bg)].sort((x, y) => y - x);
    return {text: t.textContent, fill: getComputedStyle(t).fill, background: bg, contrast: (a + 0.05) / (b + 0.05)};
  })};
}
"""

SUFFIX = {"k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}


def label_value(label: str):
    """The exact number a tick label states (2.5k, 1e-5, \u22123), or None when it is not a number."""
    from decimal import Decimal, InvalidOperation

    text = label.replace("\u2212", "-").strip()
    power = 0
    if text and text[-1] in SUFFIX:
        text, power = text[:-1], SUFFIX[text[-1]]
    try:
        return Decimal(text).scaleb(power)
    except InvalidOperation:
        return None


def axis_problems(charts: list[dict]) -> list[str]:
    """What a reader would see as wrong on any chart: labels not round, repeated, out of order, overlapping or
    outside the chart; negative step ticks; lines outside their plot."""
    p = []
    for chart in charts:
        name = chart["title"].split("   ")[0] or "?"
        plot, figure = chart["plot"], chart["figure"]
        if plot is None or plot["width"] < 50 or plot["height"] < 50:
            p.append(f"{name}: no plot area ({plot})")
            continue
        for axis in chart["axes"]:
            labels, boxes = axis["labels"], axis["boxes"]
            if not labels:
                continue
            values = [label_value(s) for s in labels]
            if None in values:
                p.append(f"{name}: tick labels that are not numbers {labels}")
                continue
            if len(set(labels)) != len(labels):
                p.append(f"{name}: repeated tick labels {labels}")
            if values != sorted(values) or len(set(values)) != len(values):
                p.append(f"{name}: tick labels not increasing {labels}")
            steps = {b - a for a, b in zip(values, values[1:])}
            if len(steps) > 1:
                p.append(f"{name}: tick labels not evenly spaced {labels}")
            for step in steps:
                if step.normalize().as_tuple().digits not in ((1,), (2,), (2, 5), (5,)):
                    p.append(f"{name}: tick step {step} is not 1, 2, 2.5 or 5 x 10^k: {labels}")
            if axis["label"] == "step" and values[0] < 0:
                p.append(f"{name}: negative step ticks {labels}")
            for i, a in enumerate(boxes):
                if a["left"] < figure["left"] - 1 or a["right"] > figure["right"] + 1 or \
                        a["top"] < figure["top"] - 1 or a["bottom"] > figure["bottom"] + 1:
                    p.append(f"{name}: tick label {labels[i]!r} spills outside the chart")
                for j, b in enumerate(boxes[i + 1:], i + 1):
                    if a["left"] < b["right"] and b["left"] < a["right"] and a["top"] < b["bottom"] and b["top"] < a["bottom"]:
                        p.append(f"{name}: tick labels {labels[i]!r} and {labels[j]!r} overlap")
        others = [b for axis in chart["axes"] for b in axis["boxes"]]
        xs = [a for a in chart["axes"] if a["boxes"] and len({round(b["top"]) for b in a["boxes"]}) == 1]
        ys = [a for a in chart["axes"] if a not in xs]
        for x in xs:
            for y in ys:
                for bx in x["boxes"]:
                    for by in y["boxes"]:
                        if bx["left"] < by["right"] and by["left"] < bx["right"] and bx["top"] < by["bottom"] \
                                and by["top"] < bx["bottom"]:
                            p.append(f"{name}: an x label and a y label overlap in the corner")
        del others
        for line in chart["lines"]:
            box = line["box"]
            if box["left"] < plot["left"] - 1.5 or box["right"] > plot["right"] + 1.5 or \
                    box["top"] < plot["top"] - 1.5 or box["bottom"] > plot["bottom"] + 1.5:
                p.append(f"{name}: a line ({box}) leaves its plot area ({plot})")
    return p


def inspect_product(lab: Lab, nb: dict, name: str, tracker_env: Path, tmp_path: Path, *, theme: str | None = None,
                    timeout: float = 120) -> tuple[LabResult, list[dict], dict]:
    """Run a notebook of the product; return the result, what each chart shows, the tick labels' contrast and
    (in ``contrast["hover"]``) the tooltip shown when the mouse is on a point of the first chart."""
    env = {"TRACKER_DIR": str(tracker_env), "TRACKER_CONFIG_DIR": str(tmp_path / "config"),
           "TRACKER_STATS_INTERVAL": "0.5", "TRACKER_STATS_WINDOW": "2"}
    with lab.open(nb, name=name, kernel_env=env) as page:
        if theme:
            page.set_theme(theme)
        try:
            res = page.run_all(selectors=SELECTORS, timeout=timeout)
            page.page.wait_for_timeout(500)
            charts = page.page.evaluate(CHARTS_JS)
            contrast = page.page.evaluate(CONTRAST_JS)
            dots = page.page.locator(".tracker-chart .dot")
            contrast["hover"] = ""
            if dots.count():
                dots.nth(dots.count() // 2).hover(force=True)
                page.page.wait_for_timeout(500)
                contrast["hover"] = page.page.evaluate(
                    "() => Array.from(document.querySelectorAll('.bqplot_mark_tooltip'))"
                    ".filter(t => getComputedStyle(t).display !== 'none' && t.textContent).map(t => t.textContent)"
                    ".join(' | ')")
            page.screenshot("page")
            if res.counts[PANEL]:
                page.screenshot("panel", PANEL)
        finally:
            if theme:
                page.set_theme("JupyterLab Light")  # the theme is saved in the lab's settings
    return res, charts, contrast


AXES_NOTEBOOK = (
    "%load_ext tracker",
    "%tracker init --project axes",
    "import math, random, time\n"
    "random.seed(1)\n"
    "tracker.define_metric('val/*', step_metric='epoch')\n"
    "for step in range(500):\n"
    "    loss = 0.05 + 2 * math.exp(-step / 120) + abs(random.gauss(0, 0.03))\n"
    "    tracker.log({'train/loss': loss, 'lr': 0.1})\n"
    "    if step % 100 == 99:\n"
    "        tracker.log({'val/acc': 0.6 + step / 1500, 'epoch': (step + 1) // 100})\n"
    "        time.sleep(0.3)",
    "%tracker finish",
)


def test_axes_a_reader_can_trust(lab, tracker_env: Path, tmp_path: Path):
    """A step metric, a constant series and a positive loss: round, distinct, increasing tick labels that do not
    overlap or spill; no negative step; every line inside its plot; no chart for the step metric; the static
    image hidden under the live panel; no console error."""
    res, charts, seen = inspect_product(lab, notebook(*AXES_NOTEBOOK), "axes", tracker_env, tmp_path)
    problems = health_problems(res) + [f"console: {m}" for m in res.console_errors]
    if not re.fullmatch(r"step \d+ · value \S+ · smoothed \S+", seen["hover"]):
        problems.append(f"hovering a point shows {seen['hover']!r}, expected its step, value and smoothed value")
    problems += axis_problems(charts)
    titles = {c["title"].split("   ")[0] for c in charts if c["kind"] == "metric"}
    if titles != {"train/loss", "lr", "val/acc"}:
        problems.append(f"metric charts {sorted(titles)}, expected train/loss, lr, val/acc (no chart for epoch)")
    by_title = {c["title"].split("   ")[0]: c for c in charts}
    if "lr" in by_title:
        lr = by_title["lr"]
        y = next(a for a in lr["axes"] if a["label"] != "step")
        if len(y["labels"]) < 3:
            problems.append(f"lr (constant 0.1): y labels {y['labels']}, expected a centred range of several")
        line = lr["lines"][0]["box"] if lr["lines"] else None
        if line is None or abs((line["top"] + line["bottom"]) / 2 - (lr["plot"]["top"] + lr["plot"]["bottom"]) / 2) > 2:
            problems.append(f"lr (constant): line {line} not centred in its plot {lr['plot']}")
    if "train/loss" in by_title:
        y = next(a for a in by_title["train/loss"]["axes"] if a["label"] != "step")
        if any(label_value(s) < 0 for s in y["labels"]):
            problems.append(f"train/loss is positive but has negative ticks {y['labels']}")
    if "val/acc" in by_title:
        x = next(a for a in by_title["val/acc"]["axes"] if a["label"])
        if x["label"] != "epoch" or x["labels"] != ["1", "2", "3", "4", "5"]:
            problems.append(f"val/acc x axis {x['label']!r} {x['labels']}, expected epoch 1..5")
    narrow = [(c["title"], round(c["figure"]["width"])) for c in charts if c["kind"] == "metric" and c["figure"]["width"] < 290]
    if narrow:
        problems.append(f"charts narrower than the 300 px columns they fill: {narrow}")
    system = [c for c in charts if c["kind"] == "system"]
    if len(system) < 4:
        problems.append(f"{len(system)} system charts, expected kernel/host CPU and memory at least")
    init = res.cells[1]
    if [o.mime for o in init.outputs][1:] != ["image/svg+xml"]:
        problems.append(f"init cell outputs {[o.mime for o in init.outputs]}, expected the panel then its image")
    assert not problems, "\n".join(problems) + "\n" + res.describe()


def test_quickstart_axes_and_console(lab, tracker_env: Path, tmp_path: Path):
    import json

    quickstart = Path(__file__).resolve().parents[2] / "notebooks" / "quickstart.ipynb"
    res, charts, _ = inspect_product(lab, json.loads(quickstart.read_text()), "quickstart-axes", tracker_env,
                                     tmp_path)
    problems = health_problems(res) + [f"console: {m}" for m in res.console_errors] + axis_problems(charts)
    titles = {c["title"].split("   ")[0] for c in charts if c["kind"] == "metric"}
    if titles != {"train/loss", "train/acc", "val/acc"}:
        problems.append(f"metric charts {sorted(titles)}, expected train/loss, train/acc, val/acc")
    if not any("is a str, not a number" in t for t in res.texts[STATUS]):
        problems.append(f"the quickstart's warning is not on the status line: {res.texts[STATUS]}")
    assert not problems, "\n".join(problems) + "\n" + res.describe()


def test_dark_theme_tick_labels_contrast(lab, tracker_env: Path, tmp_path: Path):
    """In JupyterLab Dark every tick label stands out from its background (WCAG AA: 4.5:1)."""
    res, charts, contrast = inspect_product(lab, notebook(*AXES_NOTEBOOK), "axes-dark", tracker_env, tmp_path,
                                            theme="JupyterLab Dark")
    assert contrast["theme"] == "JupyterLab Dark"
    labels = contrast["labels"]
    assert len(labels) >= 10, contrast
    low = [(c["text"], round(c["contrast"], 2), c["fill"], c["background"]) for c in labels if c["contrast"] < 4.5]
    assert not low, low
    assert max(sum(c["background"]) / 3 for c in labels) < 80  # the background really is dark
    assert not axis_problems(charts) and not res.console_errors and not health_problems(res)
