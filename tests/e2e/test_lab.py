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
    """One JupyterLab server for the module; each test opens its own page and kernel."""
    with Lab() as server:
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
    assert len(run.history(keys=["loss"])) == LOG_STEPS


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
