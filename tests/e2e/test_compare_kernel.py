"""The compare view seen from a real kernel (nbclient, widget state saved in the notebook).

notebooks/compare.ipynb runs top to bottom (a 3 lr × 3 seed sweep, then three
views); the saved widget state must hold the table's rows and diff columns,
one line per run per metric, and group bands whose mean lies within min/max.
A second notebook follows runs written by scripts (other processes) while the
view is open: new points, a new run, a run killed with SIGKILL.
"""

from __future__ import annotations

import json
import sys
import textwrap

import nbformat
import numpy as np
import pytest

from .kernels import NOTEBOOKS, execute, new_notebook, outputs, text_of
from .test_panel_kernel import array, widget_state

pytestmark = pytest.mark.kernel


def _children(state: dict, model_id: str) -> list[str]:
    return [ref.removeprefix("IPY_MODEL_") for ref in state[model_id]["state"].get("children", [])]


def _walk(state: dict, model_id: str) -> list[str]:
    out = [model_id]
    for child in _children(state, model_id):
        out += _walk(state, child)
    return out


def _with_class(state: dict, ids: list[str], css: str) -> list[str]:
    return [i for i in ids if css in state[i]["state"].get("_dom_classes", [])]


def _table(state: dict, table_id: str) -> list[list[str]]:
    """The table's header and rows as text: header buttons, then a column of checkboxes and
    one HTML widget per column holding a cell per row."""
    import re

    children = [state[c] for c in _children(state, table_id)]
    header = [m["state"]["description"].rstrip(" ▲▼") for m in children if m["model_name"] == "ButtonModel"]
    columns = [m for m in children if "tracker-compare-column" in m["state"].get("_dom_classes", [])]
    cells = [[re.sub(r"<[^>]+>", "", cell) for cell in re.findall(r"<div class='tracker-cell'>(.*?)</div>",
                                                                   m["state"]["value"])] for m in columns]
    assert len(columns) == len(header) and len({len(c) for c in cells}) <= 1
    return [header] + [list(row) for row in zip(*cells)]


def test_compare_notebook_saves_table_lines_and_bands(tmp_path, tracker_env):
    nb = nbformat.read(NOTEBOOKS / "compare.ipynb", as_version=4)
    execute(nb, cwd=tmp_path)
    cells = outputs(nb)
    assert [o.get("output_type") for o in cells[0]] == ["stream"]  # %env says what it set
    assert not cells[1]  # the silent sweep prints nothing
    views = [c for c in cells[2:] if c]
    assert len(views) == 3
    for view in views:  # the widget, then its static image for readers without widgets
        assert [sorted(o["data"]) for o in view] == [["application/vnd.jupyter.widget-view+json", "text/plain"],
                                                      ["image/svg+xml", "text/plain"]]
        assert view[1]["data"]["image/svg+xml"].startswith("<svg")
    state = widget_state(nb)
    roots = [view[0]["data"]["application/vnd.jupyter.widget-view+json"]["model_id"] for view in views]
    assert all("tracker-compare" in state[r]["state"]["_dom_classes"] for r in roots)

    # 1. every run of the project: the table, one line per run per metric
    ids = _walk(state, roots[0])
    (table_id,) = _with_class(state, ids, "tracker-compare-table")
    rows = _table(state, table_id)
    header = rows[0]
    assert "lr" in header and "seed" in header and "batch" not in header
    assert "val/acc (max)" in header and "train/loss (min)" in header
    assert len(rows) == 1 + 9
    assert {r[header.index("lr")] for r in rows[1:]} == {"0.1", "0.03", "0.01"}
    figures = _with_class(state, ids, "tracker-compare-chart")
    titles = {state[f]["state"]["title"]: f for f in figures}
    assert set(titles) == {"train/loss", "val/acc"}
    for title, figure in titles.items():
        marks = [m.removeprefix("IPY_MODEL_") for m in state[figure]["state"]["marks"]]
        kinds = [state[m]["model_name"] for m in marks]
        raw = marks[0]  # every run's raw line in one mark (rows of 2-D arrays), then the smoothed ones
        ys = array(state[raw], "y")
        assert ys.ndim == 2 and ys.shape[0] == 9, (title, ys.shape)
        assert len(set(state[raw]["state"]["colors"])) == 8  # nine runs, eight palette colours: all used
        for row in ys:
            assert np.isfinite(row.astype(float)).sum() > 5
        if title == "train/loss":  # 300+ points: smoothed bold over raw faint
            assert kinds == ["LinesModel", "LinesModel", "ScatterModel"]
            assert array(state[marks[1]], "y").shape[0] == 9
            assert state[raw]["state"]["opacities"] == [0.3] * 9
        else:  # 13 to 15 points: raw, with markers
            assert kinds == ["LinesModel", "ScatterModel"]
            assert state[raw]["state"]["marker"] == "circle"
        hover = state[marks[-1]]["state"]["names"]
        assert hover and all(" · step " in n for n in hover)

    # 2. grouped by lr: a band and a mean line per group, the mean within min/max
    ids = _walk(state, roots[1])
    legend = state[_with_class(state, ids, "tracker-compare-legend")[0]]["state"]["value"]
    assert "lr=0.1 (3 runs)" in legend and "lr=0.01 (3 runs)" in legend
    figures = {state[f]["state"]["title"]: f for f in _with_class(state, ids, "tracker-compare-chart")}
    assert list(figures) == ["val/acc", "train/loss"]
    for figure in figures.values():
        marks = [m.removeprefix("IPY_MODEL_") for m in state[figure]["state"]["marks"]]
        bands = [m for m in marks if state[m]["state"].get("fill") == "between"]
        assert len(bands) == 3 and marks[3] not in bands
        means = array(state[marks[3]], "y").astype(float)  # one row per group, in the bands' order
        assert means.shape[0] == 3
        for band, centre in zip(bands, means):
            edges = array(state[band], "y").astype(float)
            centre = centre[: edges.shape[1]]
            ok = np.isfinite(centre)
            assert ok.sum() >= 10
            assert np.all(edges[0][ok] <= centre[ok] + 1e-6) and np.all(centre[ok] <= edges[1][ok] + 1e-6)
            assert np.any(edges[1][ok] > edges[0][ok])  # three seeds: the band has a width

    # 3. the magic, filtered: only lr < 0.05, ± std band
    ids = _walk(state, roots[2])
    rows = _table(state, _with_class(state, ids, "tracker-compare-table")[0])
    assert len(rows) == 1 + 6 and {r[rows[0].index("lr")] for r in rows[1:]} == {"0.03", "0.01"}
    band_menu = _with_class(state, ids, "tracker-compare-band")[0]
    assert state[band_menu]["state"]["index"] == 1  # ± std


WRITER = textwrap.dedent("""
    import sys, time
    import jupyter_tracker as tracker
    run = tracker.init(project="stream", name=sys.argv[1], mode="offline")
    for i in range(int(sys.argv[2])):
        run.log({"loss": 1 / (i + 1)})
        time.sleep(0.02)
    run.finish()
""")


def test_live_update_while_scripts_write_runs(tmp_path, tracker_env):
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    start = textwrap.dedent(f"""
        import json, os, signal, subprocess, sys, time
        import jupyter_tracker as tracker
        def writer(name, rows):
            return subprocess.Popen([{sys.executable!r}, {str(script)!r}, name, str(rows)],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        first = writer("first", 400)  # about 8 s of logging
        deadline = time.time() + 60
        while not tracker.Api().runs(project="stream") or not tracker.Api().runs(project="stream")[0].brief()["steps"]:
            assert time.time() < deadline
            time.sleep(0.1)
    """)
    follow = textwrap.dedent("""
        def points(name):
            data = [d for d in v.source.shown() if d.name == name]
            line = v.charts["loss"].line("raw", data[0].id) if data and "loss" in v.charts else None
            return 0 if line is None else len(line[0])
        seen = [points("first")]
        second = writer("second", 100000)  # logs until killed
        for _ in range(30):
            time.sleep(0.2)
            seen.append(points("first"))
        appeared = points("second") > 0
        os.kill(second.pid, signal.SIGKILL)
        second.wait()
        deadline = time.time() + 20
        while "crashed" not in v.status.value and time.time() < deadline:
            time.sleep(0.2)
        first.wait(60)
        deadline = time.time() + 20
        while " live</b>" in v.header.value and time.time() < deadline:
            time.sleep(0.2)
        print(json.dumps({"seen": seen, "appeared": appeared, "status": v.status.value, "header": v.header.value,
                          "final": points("first")}))
    """)
    nb = new_notebook("%load_ext tracker", start, "v = tracker.compare(project='stream')\nv", follow)
    execute(nb, cwd=tmp_path, timeout=240)
    cells = outputs(nb)
    assert len(cells[2]) == 2  # the view and its image, once (the cell's value adds nothing)
    image = cells[2][1]["data"]["image/svg+xml"]  # brought up to date when the last live run ended
    assert "second (crashed)" in image and "first" in image and "(running)" not in image, image[:400]
    found = json.loads("".join(text_of(o) for o in cells[3]))
    seen = found["seen"]
    # the view redrew while the script logged: several different counts within 6 s, growing
    assert seen[-1] > seen[0] and len(set(seen)) >= 4, seen
    assert found["appeared"], "a run started after the view opened did not appear"
    assert "second" in found["status"] and "crashed" in found["status"], found["status"]
    assert found["final"] == 400
    assert " live</b>" not in found["header"], found["header"]
