"""The JupyterLab extension in a real JupyterLab (headless Chromium): a notebook makes three
runs; the Runs sidebar lists them, live then finished; the run view draws charts;
``tracker:compare`` draws both runs' lines; the status bar names the notebook's run; the
API refuses a request without credentials; no console error. Screenshots in Light and Dark
land in tests/e2e/artifacts/."""

from __future__ import annotations

import re
import time
import urllib.error
import urllib.request

import pytest

from .lab import Lab, NotebookPage, labextension_or_fail
from .test_lab import notebook

pytestmark = pytest.mark.browser

LIVE_SECONDS = 10

CELLS = (
    "%load_ext tracker",
    # two finished runs, two learning rates
    "import math, time\n"
    "for lr in (0.1, 0.01):\n"
    "    with tracker.init(project='e2e', name=f'lr-{lr}', group='sweep', config={'lr': lr, 'batch': 64}) as r:\n"
    "        for i in range(300):\n"
    "            r.log({'train/loss': math.exp(-lr * i) + 0.01 * math.sin(i), 'train/acc': 1 - math.exp(-lr * i)})\n",
    # the notebook's own run, live for a while
    "run = tracker.init(project='e2e', name='live-one', config={'lr': 0.05, 'batch': 64})\n"
    f"for i in range({LIVE_SECONDS * 10}):\n"
    "    run.log({'train/loss': 1 / (i + 1), 'train/acc': i / 100})\n"
    "    time.sleep(0.1)",
    "%tracker finish",
)

SIDEBAR_JS = r"""
() => Array.from(document.querySelectorAll('.tracker-runs .tracker-run-row')).map(row => ({
  id: row.dataset.id, state: row.dataset.state,
  name: row.querySelector('.tracker-col-name').textContent.trim(),
  live: !!row.querySelector('.tracker-state-dot.tracker-live'),
  step: (row.querySelector('.tracker-col-step') || {textContent: ''}).textContent.trim()}))
"""

# every chart's tick labels (as drawn) and whether its canvas has ink in each given colour
CHARTS_JS = r"""
({selector, colors}) => Array.from(document.querySelectorAll(selector + ' .tracker-chart')).map(chart => {
  const canvas = chart.querySelector('canvas');
  const out = {metric: chart.dataset.metric, x: JSON.parse(chart.dataset.xTicks || '[]'),
               y: JSON.parse(chart.dataset.yTicks || '[]'), ink: {}, width: canvas ? canvas.width : 0,
               legend: Array.from(chart.querySelectorAll('.u-legend .u-series .u-label')).map(e => e.textContent)};
  if (!canvas) return out;
  const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  for (const color of colors) {
    const r = parseInt(color.slice(1, 3), 16), g = parseInt(color.slice(3, 5), 16), b = parseInt(color.slice(5, 7), 16);
    let n = 0;
    for (let i = 0; i < data.length; i += 4)
      if (data[i + 3] > 200 && Math.abs(data[i] - r) + Math.abs(data[i + 1] - g) + Math.abs(data[i + 2] - b) < 40) n++;
    out.ink[color] = n;
  }
  return out;
})
"""


def _wait(page: NotebookPage, js: str, what: str, timeout: float = 30.0, arg=None):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = page.page.evaluate(js, arg) if arg is not None else page.page.evaluate(js)
        if last:
            return last
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}; last: {last!r}")


def _rows(page: NotebookPage) -> list[dict]:
    return page.page.evaluate(SIDEBAR_JS)


def _number(label: str) -> float:
    return float(label.replace("\u2212", "-").replace("k", "e3").replace("M", "e6"))


def _check_ticks(chart: dict) -> list[str]:
    """Round, distinct, increasing labels (and no negative step)."""
    problems = []
    for axis in ("x", "y"):
        labels = chart[axis]
        if len(labels) < 2:
            problems.append(f"{chart['metric']} {axis}: {labels}")
            continue
        if len(set(labels)) != len(labels):
            problems.append(f"{chart['metric']} {axis} labels repeat: {labels}")
        try:
            values = [_number(t) for t in labels]
        except ValueError:
            continue  # clock or duration labels
        if values != sorted(values):
            problems.append(f"{chart['metric']} {axis} labels not increasing: {labels}")
        if axis == "x" and values[0] < 0:
            problems.append(f"{chart['metric']} negative step on x: {labels}")
    return problems


def _hex(css: str) -> str:
    """``rgb(r, g, b)`` as ``#rrggbb``."""
    r, g, b = (int(float(v)) for v in re.findall(r"[\d.]+", css)[:3])
    return f"#{r:02x}{g:02x}{b:02x}"


def _legend_colour(page: NotebookPage, selector: str, label: str) -> str:
    """The colour of the series ``label`` in the chart's legend (its marker)."""
    css = page.page.evaluate("""([selector, label]) => {
      for (const s of document.querySelectorAll(selector + ' .u-legend .u-series'))
        if (s.querySelector('.u-label').textContent === label)
          return getComputedStyle(s.querySelector('.u-marker')).borderColor; }""", [selector, label])
    return _hex(css)


@pytest.fixture(scope="module")
def lab():
    labextension_or_fail()
    with Lab() as server:
        yield server


def test_the_lab_extension_end_to_end(lab: Lab):
    # silent: no live panel in the notebook (it has tests of its own), so every console message is ours
    env = {"TRACKER_SILENT": "true", "TRACKER_STATS_INTERVAL": "0.5", "TRACKER_STATS_WINDOW": "2"}
    with lab.open(notebook(*CELLS), name="labext", kernel_env=env) as page:
        p = page.page
        p.evaluate("() => window.jupyterapp.commands.execute('tracker:open-runs')")
        page.start_all()
        # while the live run records: three runs, the live one with its pulsing dot
        rows = _wait(page, f"""() => {{ const rows = ({SIDEBAR_JS})();
                        return rows.length === 3 && rows.some(r => r.live && r.name === 'live-one') ? rows : null; }}""",
                     "three runs in the sidebar, one live", timeout=60)
        assert page.running_cell() == 2, "the live run was seen after its cell ended"
        assert [r["name"] for r in rows if not r["live"]] == ["lr-0.01", "lr-0.1"]
        assert all(r["state"] == "finished" for r in rows if not r["live"])
        page.screenshot("sidebar-live", ".tracker-runs")
        status = _wait(page, "() => { const s = document.querySelector('.tracker-statusbar');"
                             " return s && s.textContent.includes('live-one') ? s.textContent : null; }",
                       "the status bar naming the notebook's run")
        assert "running" in status and "1 live" in status
        res = page.finish_all(timeout=120)
        assert not res.console_errors, res.console_errors

        rows = _wait(page, f"""() => {{ const rows = ({SIDEBAR_JS})();
                        return rows.length === 3 && rows.every(r => r.state === 'finished' && !r.live) ? rows : null; }}""",
                     "every run finished in the sidebar")
        live_id = next(r["id"] for r in rows if r["name"] == "live-one")
        assert next(r["step"] for r in rows if r["name"] == "live-one") == str(LIVE_SECONDS * 10 - 1)
        _wait(page, "() => { const s = document.querySelector('.tracker-statusbar');"
                    " return s && /live-one · finished/.test(s.textContent) && /0 live/.test(s.textContent); }",
              "the status bar saying the run finished")
        p.evaluate("() => window.jupyterapp.shell.collapseLeft()")
        p.click(".tracker-statusbar")
        _wait(page, f"() => {{ const row = document.querySelector(\".tracker-run-row[data-id='{live_id}']\");"
                    " return row && row.classList.contains('tracker-revealed') && row.offsetParent !== null; }",
              "the status bar's click revealing the run in the sidebar")

        # the run view: a chart per metric, round ticks, the run's colour drawn
        p.click(f".tracker-run-row[data-id='{live_id}'] .tracker-run-link")
        _wait(page, "() => document.querySelectorAll('.tracker-run-view .tracker-metric-section .tracker-chart canvas').length >= 2",
              "the run view's charts")
        charts = _wait(page, CHARTS_JS, "run view charts", arg={"selector": ".tracker-run-view .tracker-metric-section",
                                                                 "colors": ["#000000"]})
        assert sorted(c["metric"] for c in charts) == ["train/acc", "train/loss"]
        problems = [p_ for c in charts for p_ in _check_ticks(c)]
        assert not problems, problems
        loss_colour = _legend_colour(page, ".tracker-run-view .tracker-chart[data-metric='train/loss']", "train/loss")
        metric_ink = p.evaluate(CHARTS_JS, {"selector": ".tracker-run-view .tracker-metric-section",
                                            "colors": [loss_colour]})
        loss = next(c for c in metric_ink if c["metric"] == "train/loss")
        assert loss["ink"][loss_colour] > 100, loss
        _wait(page, "() => document.querySelectorAll('.tracker-run-view .tracker-system-chart canvas').length >= 1",
              "system charts in the run view")
        page.screenshot("runview-light", ".tracker-run-view")

        # select two runs in the sidebar, then tracker:compare: both lines drawn in their colours
        two = [r["id"] for r in rows if r["name"] in ("lr-0.1", "lr-0.01")]
        p.evaluate("() => window.jupyterapp.commands.execute('tracker:open-runs')")
        for run_id in two:
            p.check(f".tracker-run-row[data-id='{run_id}'] .tracker-col-check input")
        assert p.inner_text(".tracker-compare-button") == "Compare (2)"
        p.evaluate("() => window.jupyterapp.commands.execute('tracker:compare')")
        _wait(page, "() => document.querySelectorAll('.tracker-compare-view .tracker-chart canvas').length >= 2",
              "the compare view's charts")
        colours = {run_id: _hex(p.evaluate(
            f"() => getComputedStyle(document.querySelector(\".tracker-compare-table tr[data-id='{run_id}'] .tracker-swatch\")).backgroundColor"))
            for run_id in two}
        assert len(set(colours.values())) == 2, colours
        charts = _wait(page, CHARTS_JS, "compare charts", arg={"selector": ".tracker-compare-view",
                                                                "colors": list(colours.values())})
        for chart in charts:
            for run_id, colour in colours.items():
                assert chart["ink"][colour] > 100, (chart["metric"], run_id, chart["ink"])
            assert not _check_ticks(chart), _check_ticks(chart)
        table = p.evaluate("() => Array.from(document.querySelectorAll('.tracker-compare-table th')).map(e => e.textContent)")
        assert "lr" in table and "batch" not in table  # the config diff: only what differs
        page.screenshot("compare-light", ".tracker-compare-view")
        p.select_option(".tracker-compare-view .tracker-group-by", "group")
        _wait(page, "() => document.querySelector('.tracker-compare-view .u-legend') &&"
                    " document.querySelector('.tracker-compare-view .u-legend').textContent.includes('sweep (2 runs)')",
              "one group's mean line with its band")
        page.screenshot("compare-group-light", ".tracker-compare-view")

        # the selection as a notebook cell; a refresh of everything
        nb_area = p.evaluate("() => window.__e2e.panel.id")
        p.evaluate(f"() => window.jupyterapp.shell.activateById('{nb_area}')")
        p.evaluate("() => window.jupyterapp.commands.execute('tracker:insert-compare-cell')")
        sources = p.evaluate("() => window.__e2e.panel.content.widgets.map(c => c.model.sharedModel.getSource())")
        inserted = [src for src in sources if "tracker.compare(" in src]
        assert len(inserted) == 1 and all(run_id in inserted[0] for run_id in two), sources
        p.evaluate("() => window.jupyterapp.commands.execute('tracker:refresh')")

        # Dark: the same views, readable
        p.evaluate("() => window.jupyterapp.commands.execute('apputils:change-theme', {theme: 'JupyterLab Dark'})")
        _wait(page, "() => document.body.dataset.jpThemeLight === 'false'", "the dark theme")
        p.evaluate("() => window.jupyterapp.shell.activateById(document.querySelector('.tracker-compare-view').id + '-area')")
        time.sleep(1.0)
        page.screenshot("compare-dark", ".tracker-compare-view")
        p.evaluate(f"() => window.jupyterapp.shell.activateById('tracker-run-local-{live_id}-area')")
        time.sleep(1.0)
        page.screenshot("runview-dark", ".tracker-run-view")
        page.screenshot("sidebar-dark", ".tracker-runs")
        page.screenshot("page-dark")
        contrast = p.evaluate("""() => {
          const lum = c => { const m = c.match(/\\d+(\\.\\d+)?/g).map(Number).slice(0, 3).map(v => v / 255)
                                   .map(v => v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
                             return 0.2126 * m[0] + 0.7152 * m[1] + 0.0722 * m[2]; };
          const cell = document.querySelector('.tracker-runs .tracker-col-name');
          const bg = getComputedStyle(document.querySelector('.tracker-runs')).backgroundColor;
          const fg = getComputedStyle(cell).color;
          const [a, b] = [lum(fg), lum(bg)].sort((x, y) => y - x);
          return (a + 0.05) / (b + 0.05); }""")
        assert contrast >= 4.5, contrast

        console = list(page.console)
    assert not console, console


def test_the_api_refuses_a_request_without_credentials(lab: Lab):
    for headers in ({}, {"Authorization": "token not-the-token"}):
        request = urllib.request.Request(f"{lab.base}/tracker/api/runs", headers=headers)
        with pytest.raises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(request, timeout=10)
        caught.value.close()  # the error holds the response's socket
        assert caught.value.code == 403
    assert isinstance(lab.api("GET", "/tracker/api/runs"), list)  # with the token: answered

