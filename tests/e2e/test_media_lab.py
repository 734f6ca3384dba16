"""Media in the live panel, in a real JupyterLab through headless Chromium (harness: lab.py).

An image key shows its PNG at its natural size (a plain <img>, nothing scaled or re-encoded),
a histogram key's heat map draws, a table key shows its rows, in Light and in Dark, with no
widget error and nothing printed into another cell.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .lab import Lab
from .test_lab import health_problems, notebook

pytestmark = pytest.mark.browser

SELECTORS = [".tracker-panel", ".tracker-media", ".tracker-media img", ".tracker-histogram", ".tracker-table td"]

NOTEBOOK = (
    "%load_ext tracker",
    "%tracker init --project media-lab",
    "import numpy as np\n"
    "rng = np.random.default_rng(0)\n"
    "for step in range(8):\n"
    "    pixels = np.zeros((48, 64, 3), dtype=np.uint8)\n"
    "    pixels[:, :, 0] = np.linspace(0, 255, 64, dtype=np.uint8)\n"
    "    pixels[8 + step * 4:12 + step * 4, :, 1] = 255\n"
    "    tracker.log({'train/loss': 1 / (step + 1), 'samples': tracker.Image(pixels, caption=f'epoch {step}'),\n"
    "                 'weights': tracker.Histogram(rng.normal(step, 1, 2000), num_bins=40),\n"
    "                 'preds': tracker.Table(columns=['id', 'score'], data=[[i, i / 7] for i in range(50)])})",
    "%tracker finish",
)

MEDIA_JS = """() => {
  const img = document.querySelector('.tracker-media img');
  const rect = img.getBoundingClientRect();
  const heat = document.querySelector('.tracker-histogram');
  const drawn = heat ? heat.querySelectorAll('.heatmap image, .heatmap rect, canvas, image').length : 0;
  return {natural: [img.naturalWidth, img.naturalHeight], shown: [rect.width, rect.height],
          complete: img.complete, src: img.src.slice(0, 5), heatDrawn: drawn,
          heatBox: heat ? [heat.getBoundingClientRect().width, heat.getBoundingClientRect().height] : null,
          caption: (document.querySelector('.tracker-media-caption') || {}).textContent || '',
          cells: document.querySelectorAll('.tracker-table td').length};
}"""


@pytest.fixture(scope="module")
def lab():
    with Lab(viewport=(1280, 2400)) as server:
        yield server


@pytest.mark.parametrize("theme", ["JupyterLab Light", "JupyterLab Dark"], ids=["light", "dark"])
def test_image_histogram_and_table_render_in_the_panel(lab, tracker_env: Path, tmp_path: Path, theme: str):
    env = {"TRACKER_DIR": str(tracker_env), "TRACKER_CONFIG_DIR": str(tmp_path / "config"),
           "TRACKER_STATS_INTERVAL": "0.5", "TRACKER_STATS_WINDOW": "2"}
    name = f"media-{theme.split()[-1].lower()}"
    with lab.open(notebook(*NOTEBOOK), name=name, kernel_env=env) as page:
        page.set_theme(theme)
        try:
            res = page.run_all(selectors=SELECTORS, timeout=120)
            page.page.wait_for_timeout(1000)
            seen = page.page.evaluate(MEDIA_JS)
            page.screenshot("panel", ".tracker-panel")
            page.screenshot("media", ".tracker-media-section")
        finally:
            page.set_theme("JupyterLab Light")
    assert not health_problems(res), health_problems(res)
    assert res.cells_with_output == [1], res.cells_with_output  # the panel's cell only
    assert seen["complete"] and seen["natural"] == [64, 48], seen
    assert seen["shown"] == [64, 48], seen  # at its natural size
    assert seen["src"] == "blob:", seen  # the PNG bytes as they are, in a plain <img>
    assert "step 7" in seen["caption"] and "epoch 7" in seen["caption"], seen
    assert seen["heatDrawn"] >= 1 and seen["heatBox"][1] > 100, seen
    assert seen["cells"] == 2 * 20, seen  # one page of the table


COMPARE_NOTEBOOK = (
    "%load_ext tracker\n%env TRACKER_SILENT true",
    "import numpy as np\n"
    "for lr in (0.1, 0.3):\n"
    "    run = tracker.init(project='cmp-media', config={'lr': lr})\n"
    "    for step in range(4):\n"
    "        pixels = np.zeros((40, 60, 3), dtype=np.uint8)\n"
    "        pixels[:, :, 0 if lr < 0.2 else 2] = 60 * step\n"
    "        run.log({'loss': lr / (step + 1), 'samples': tracker.Image(pixels, caption=f'lr {lr}')})\n"
    "    run.finish()",
    "tracker.compare(project='cmp-media', live=False)",
)

COMPARE_JS = """() => Array.from(document.querySelectorAll('.tracker-compare-media img')).map(img => {
  const rect = img.getBoundingClientRect();
  return [img.naturalWidth, img.naturalHeight, rect.width, rect.height, img.complete];
})"""


@pytest.mark.parametrize("theme", ["JupyterLab Light", "JupyterLab Dark"], ids=["light", "dark"])
def test_compare_shows_the_runs_images_side_by_side(lab, tracker_env: Path, tmp_path: Path, theme: str):
    env = {"TRACKER_DIR": str(tracker_env), "TRACKER_CONFIG_DIR": str(tmp_path / "config")}
    name = f"compare-media-{theme.split()[-1].lower()}"
    with lab.open(notebook(*COMPARE_NOTEBOOK), name=name, kernel_env=env) as page:
        page.set_theme(theme)
        try:
            res = page.run_all(selectors=[".tracker-compare", ".tracker-compare-media img"], timeout=120)
            page.page.wait_for_timeout(1000)
            images = page.page.evaluate(COMPARE_JS)
            page.screenshot("compare", ".tracker-compare")
        finally:
            page.set_theme("JupyterLab Light")
    assert not health_problems(res), health_problems(res)
    assert images == [[60, 40, 60, 40, True]] * 2, images  # one per run, at its natural size
