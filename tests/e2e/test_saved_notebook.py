"""A saved notebook shows the final charts where widgets do not render.

The quickstart runs in a real kernel (nbclient), with and without its widget state saved, and goes
through ``nbconvert --to html``: the init cell's output holds the static image of the final charts.
Then Chromium opens those HTML files with the network cut off (as on a laptop offline, or where the
widget manager's CDN is unreachable) and the image is what a reader sees. JupyterLab, where the
widgets do render and the image is hidden under the panel, is checked in test_lab.py.
"""

from __future__ import annotations

import base64
import html
import re
from pathlib import Path

import nbformat
import pytest

from .kernels import NOTEBOOKS, execute
from .lab import CHROMIUM_ARGS, browser_or_skip

IMAGE = re.compile(r'<img[^>]* src="data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)"')


def executed_quickstart(cwd: Path, store_widget_state: bool) -> nbformat.NotebookNode:
    nb = nbformat.read(NOTEBOOKS / "quickstart.ipynb", as_version=4)
    return execute(nb, cwd=cwd, store_widget_state=store_widget_state)


def to_html(nb: nbformat.NotebookNode) -> str:
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter().from_notebook_node(nb)
    return body


def init_cell_html(body: str) -> str:
    """The HTML of the cell that ran ``%tracker init`` (inputs are escaped in the page)."""
    cells = body.split('<div class="jp-Cell ')
    found = [cell for cell in cells if cell.startswith("jp-CodeCell") and "init --project" in html.unescape(cell)]
    assert len(found) == 1, [c[:200] for c in found]
    return found[0]


@pytest.mark.kernel
@pytest.mark.parametrize("state", [True, False], ids=["widget-state-saved", "no-widget-state"])
def test_nbconvert_html_holds_the_charts_image_in_the_init_cell(state, tmp_path, tracker_env):
    nb = executed_quickstart(tmp_path, state)
    assert bool(nb.metadata.get("widgets")) == state
    cell = init_cell_html(to_html(nb))
    images = IMAGE.findall(cell)
    assert len(images) == 1, cell[:2000]
    svg = base64.b64decode(images[0]).decode()
    for title in ("train/loss", "train/acc", "val/acc", "kernel CPU"):
        assert title in svg
    assert "epoch" in svg and "finished" in svg and svg.count("<path") >= 6
    if not state:  # without widget state nbconvert leaves the widget out: only the caption and the image
        assert "tracker: run baseline" in cell and "application/vnd.jupyter.widget-view+json" not in cell


@pytest.mark.browser
def test_offline_readers_see_the_image(tmp_path, tracker_env):
    """Chromium, network cut: with and without widget state, the image shows at its size, the init cell shows
    no broken widget, and nothing else in the notebook displays the charts twice."""
    chromium = browser_or_skip()
    from playwright.sync_api import sync_playwright

    pages = {}
    for state in (True, False):
        path = tmp_path / f"quickstart-{'state' if state else 'nostate'}.html"
        (tmp_path / path.stem).mkdir()
        path.write_text(to_html(executed_quickstart(tmp_path / path.stem, state)))
        pages[state] = path
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
        try:
            for state, path in pages.items():
                context = browser.new_context(viewport={"width": 1280, "height": 1600})
                context.route(re.compile(r"^https?://"), lambda route: route.abort())
                page = context.new_page()
                page.goto(path.as_uri())
                page.wait_for_timeout(1500)
                seen = page.evaluate("""() => Array.from(document.querySelectorAll('img'))
                    .filter(i => i.src.startsWith('data:image/svg+xml'))
                    .map(i => ({w: i.getBoundingClientRect().width, h: i.getBoundingClientRect().height,
                                shown: !!i.offsetParent && getComputedStyle(i).visibility !== 'hidden',
                                loaded: i.complete && i.naturalWidth > 0}))""")
                assert len(seen) == 1 and seen[0]["shown"] and seen[0]["loaded"], (state, seen)
                assert seen[0]["w"] >= 600 and seen[0]["h"] >= 300, (state, seen)
                text = page.evaluate("() => document.body.innerText")
                assert "Error displaying widget" not in text and "VBox(children" not in text, state
                context.close()
        finally:
            browser.close()
