"""The compare view in a real JupyterLab, seen through headless Chromium (harness: lab.py).

notebooks/compare.ipynb runs top to bottom: its three views must render every run's line
(raw and smoothed) in each chart, the grouped view a shaded band and a mean line per group,
tooltips that name the run, and no console error, in JupyterLab Light and Dark. Screenshots
of both themes go to tests/e2e/artifacts/ (``compare-light-*.png``, ``compare-dark-*.png``).

Run: python -m pytest tests/e2e/test_compare_lab.py -v (needs playwright and Chromium; see test_lab.py).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .lab import Lab, artifacts_dir
from .test_lab import health_problems

pytestmark = pytest.mark.browser

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "compare.ipynb"
VIEW = ".tracker-compare"
SELECTORS = [VIEW, ".tracker-compare-table", ".tracker-compare-chart", ".tracker-compare-scatter", ".tracker-status"]

#: Per view and chart: the title, the lines drawn (a non-empty path), the filled bands, the table's rows.
VIEWS_JS = """() => Array.from(document.querySelectorAll('.tracker-compare')).map(view => ({
  rows: view.querySelectorAll('.tracker-compare-table .tracker-compare-select').length,
  header: (view.querySelector('.tracker-compare-header') || {}).textContent || '',
  legend: (view.querySelector('.tracker-compare-legend') || {}).textContent || '',
  charts: Array.from(view.querySelectorAll('.tracker-compare-chart')).map(fig => ({
    title: (fig.querySelector('.mainheading') || {}).textContent || '',
    lines: Array.from(fig.querySelectorAll('path.line')).filter(p => (p.getAttribute('d') || '').length > 10
      && getComputedStyle(p).display !== 'none').length,
    bands: Array.from(fig.querySelectorAll('path.area')).filter(p => (p.getAttribute('d') || '').length > 10).length,
    width: fig.getBoundingClientRect().width,
  })),
  scatter: view.querySelectorAll('.tracker-compare-scatter .dot').length,
  image_hidden: (() => { const out = view.closest('.jp-OutputArea-child');
    const next = out && out.nextElementSibling; return !next || getComputedStyle(next).display === 'none'; })(),
}))"""


@pytest.fixture(scope="module")
def lab():
    with Lab(viewport=(1280, 2400)) as server:
        yield server


def _problems(views: list[dict]) -> list[str]:
    p = []
    if len(views) != 3:
        return [f"{len(views)} compare views rendered, expected 3"]
    plain, grouped, filtered = views
    if plain["rows"] != 9:
        p.append(f"the first view's table has {plain['rows']} rows, expected 9 runs")
    charts = {c["title"]: c for c in plain["charts"]}
    if set(charts) != {"train/loss", "val/acc"}:
        p.append(f"the first view's charts: {sorted(charts)}")
    elif charts["train/loss"]["lines"] < 18 or charts["val/acc"]["lines"] < 9:
        p.append(f"lines drawn: train/loss {charts['train/loss']['lines']} (expected 9 raw + 9 smoothed), "
                 f"val/acc {charts['val/acc']['lines']} (expected 9)")
    for chart in grouped["charts"]:
        if chart["bands"] < 3 or chart["lines"] < 3:
            p.append(f"grouped {chart['title']}: {chart['bands']} bands and {chart['lines']} lines, expected 3 and 3")
    if "lr=0.1 (3 runs)" not in grouped["legend"]:
        p.append(f"grouped legend: {grouped['legend']!r}")
    if filtered["rows"] != 6:
        p.append(f"the filtered view has {filtered['rows']} rows, expected 6 (lr < 0.05)")
    if plain["scatter"] < 9:
        p.append(f"the scatter shows {plain['scatter']} points, expected 9")
    narrow = [(c["title"], round(c["width"])) for v in views for c in v["charts"] if c["width"] < 290]
    if narrow:
        p.append(f"charts narrower than 290 px: {narrow}")
    if not all(v["image_hidden"] for v in views):
        p.append("the static image shows under a rendered view")
    return p


@pytest.mark.parametrize("theme", ["JupyterLab Light", "JupyterLab Dark"])
def test_compare_notebook_renders_every_line_and_band(lab, tracker_env: Path, tmp_path: Path, theme: str):
    env = {"TRACKER_DIR": str(tracker_env), "TRACKER_CONFIG_DIR": str(tmp_path / "config")}
    short = "dark" if "Dark" in theme else "light"
    with lab.open(json.loads(NOTEBOOK.read_text()), name=f"compare-{short}", kernel_env=env,
                  line_selector=".tracker-compare-chart path.line") as page:
        if short == "dark":
            page.set_theme(theme)
        try:
            res = page.run_all(selectors=SELECTORS, timeout=180, settle=4.0)
            page.page.wait_for_timeout(1500)  # the views' threads: a last redraw
            views = page.page.evaluate(VIEWS_JS)
            dots = page.page.locator(".tracker-compare-chart .dot")
            tooltip = ""
            if dots.count():
                dots.nth(dots.count() // 3).hover(force=True)
                page.page.wait_for_timeout(500)
                tooltip = page.page.evaluate(
                    "() => Array.from(document.querySelectorAll('.bqplot_mark_tooltip'))"
                    ".filter(t => getComputedStyle(t).display !== 'none' && t.textContent).map(t => t.textContent)"
                    ".join(' | ')")
            page.screenshot("page")
            for i in range(min(2, len(views))):
                loc = page.page.locator(VIEW).nth(i)
                loc.scroll_into_view_if_needed(timeout=5000)
                loc.screenshot(path=str(artifacts_dir() / f"compare-{short}-view{i + 1}.png"), timeout=15000)
        finally:
            if short == "dark":
                page.set_theme("JupyterLab Light")
    problems = health_problems(res) + [f"console: {m}" for m in res.console_errors] + _problems(views)
    if " · step " not in tooltip or " · value " not in tooltip:
        problems.append(f"hovering a point shows {tooltip!r}, expected the run's name, step and value")
    assert not problems, "\n".join(problems) + "\n" + json.dumps(views, indent=1)[:3000] + "\n" + res.describe()
