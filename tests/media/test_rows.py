"""Media from log() to files on disk and back through Api().run(...).media(...)."""

import json
from pathlib import Path
import math

import numpy as np
import pandas as pd
import pytest
from PIL import Image as PILImage

import jupyter_tracker as tracker
from jupyter_tracker import limits, records


def _pixels(height=12, width=16, channels=3):
    shape = (height, width, channels) if channels else (height, width)
    return (np.arange(np.prod(shape)) * 7 % 256).astype(np.uint8).reshape(shape)


def _media_records(run):
    return [r for r in records.read_log(run.path / "events.log") if r[1] == "media"]


def test_every_type_round_trips_through_files_and_the_api(tracker_env):
    rgb, grey, rgba = _pixels(), _pixels(channels=0), _pixels(5, 7, 4)
    floats = np.linspace(0.0, 1.0, 30).reshape(5, 6)
    samples = np.random.default_rng(1).normal(size=5000)
    frame = pd.DataFrame({"name": ["a", "b", "c"], "score": [0.5, math.nan, 2.0], "ok": [True, False, True]})
    run = tracker.init(project="media")
    for step in range(3):
        run.log({
            "loss": 1.0 / (step + 1),
            "samples": tracker.Image(rgb if step < 2 else rgb[::-1].copy(), caption=f"epoch {step}"),
            "grey": tracker.Image(grey), "rgba": tracker.Image(rgba), "floats": tracker.Image(floats),
            "weights": tracker.Histogram(samples + step, num_bins=64),
            "given": tracker.Histogram(np_histogram=([1, 4, 2], [0.0, 0.5, 1.5, 3.0])),
            "preds": tracker.Table(frame),
            "rows": tracker.Table(columns=["x", "label"], data=[[1, "one"], [2, "two"]]),
            "grid": [tracker.Image(rgb), tracker.Image(grey, caption="grey")],
        }, step=step)
    run.finish()

    back = tracker.Api().run(run.id)
    assert back.history(keys=["loss"])[2]["loss"] == pytest.approx(1 / 3)
    assert np.array_equal(np.asarray(back.media("samples", step=1)), rgb)
    assert np.array_equal(np.asarray(back.media("samples")), rgb[::-1])  # the last step
    assert np.array_equal(np.asarray(back.media("grey")), grey)
    assert np.array_equal(np.asarray(back.media("rgba")), rgba) and back.media("rgba").mode == "RGBA"
    assert np.array_equal(np.asarray(back.media("floats")), np.rint(floats * 255).astype(np.uint8))
    counts, edges = back.media("weights", step=0)
    expected_counts, expected_edges = np.histogram(samples, bins=64)
    assert np.array_equal(counts, expected_counts) and np.allclose(edges, expected_edges)
    counts, edges = back.media("given")
    assert counts.tolist() == [1, 4, 2] and edges.tolist() == [0.0, 0.5, 1.5, 3.0]
    table = back.media("preds")
    assert list(table.columns) == ["name", "score", "ok"] and table["name"].tolist() == ["a", "b", "c"]
    assert table["ok"].tolist() == [True, False, True] and math.isnan(table["score"][1])
    assert back.media("rows", pandas=False) == {"columns": ["x", "label"], "data": [[1, "one"], [2, "two"]]}
    grid = back.media("grid")
    assert [np.asarray(i).shape for i in grid] == [rgb.shape, grey.shape]
    assert back.media_steps("samples") == [0, 1, 2]
    rows = back.media_references("samples")
    assert [r["_step"] for r in rows] == [0, 1, 2] and rows[-1]["samples"] == back.summary["samples"]
    with pytest.raises(KeyError, match="nothing at step 7"):
        back.media("samples", step=7)
    with pytest.raises(KeyError, match="no media logged under 'loss'"):
        back.media("loss")

    # wandb's shapes on disk; the summary is the last reference
    summary = back.summary
    image = summary["samples"]
    assert image["_type"] == "image-file" and image["format"] == "png" and image["caption"] == "epoch 2"
    assert (image["width"], image["height"]) == (16, 12)
    assert image["path"].startswith("media/images/samples_2_") and image["path"].endswith(".png")
    assert image["sha256"][:20] in image["path"]
    assert summary["weights"]["_type"] == "histogram" and len(summary["weights"]["bins"]) == 65
    table_ref = summary["preds"]
    assert table_ref["_type"] == "table-file" and (table_ref["nrows"], table_ref["ncols"]) == (3, 3)
    assert table_ref["path"].startswith("media/table/preds_2_") and table_ref["path"].endswith(".table.json")
    stored = json.loads((run.path / "files" / table_ref["path"]).read_text())
    assert stored["columns"] == ["name", "score", "ok"] and stored["data"][0] == ["a", 0.5, True]
    assert stored["data"][1] == ["b", {"$float": "NaN"}, False]  # as every non-finite float in our files
    with PILImage.open(run.path / "files" / image["path"]) as png:
        assert png.format == "PNG" and png.size == (16, 12)
    assert summary["loss"] == pytest.approx(1 / 3)
    # the media files are files of the run (they upload with it)
    files = back.files
    assert image["path"] in files and table_ref["path"] in files and back.files() == files  # wandb's call too
    # identical images at one step share one file; every reference's file exists
    for record in _media_records(run):
        for reference in record[3]["values"].values():
            for item in reference.get("items", [reference]):
                if "path" in item:
                    assert (run.path / "files" / item["path"]).is_file()


def test_bad_media_raise_naming_the_key_and_the_rest_is_logged(tracker_env):
    run = tracker.init()
    bad = {
        "4d": tracker.Image(np.zeros((2, 2, 2, 2))),
        "strings": tracker.Image(np.array([["a", "b"], ["c", "d"]])),
        "range": tracker.Image(np.full((2, 2), 3.5)),
        "empty": tracker.Histogram([]),
        "nan": tracker.Histogram([1.0, math.nan, math.inf]),
        "text": tracker.Histogram(["a", "b"]),
        "ragged": tracker.Table(columns=["a", "b"], data=[[1, 2], [3]]),
        "huge": tracker.Image(np.zeros((6000, 6000, 3), dtype=np.uint8)),  # 103 MiB
        "pair": tracker.Histogram(np_histogram=([1, 2], [0, 1])),
        "wide": tracker.Image(np.zeros((1, 20_000), dtype=np.uint8)),
        "long": tracker.Table(columns=["a"], data=[[i] for i in range(200_001)]),
        "bins": tracker.Histogram(np_histogram=(np.ones(600), np.arange(601.0))),
        "list": [tracker.Image(_pixels()), tracker.Image(np.zeros((2, 2, 5)))],
    }
    messages = {
        "4d": "HxW or HxWx1/3/4", "strings": "dtype <U1", "range": "0.0 to 1.0", "empty": "empty",
        "nan": "2 NaN or infinite", "text": "must be numbers", "ragged": "row 1 has 1 values for 2 columns",
        "huge": "the limit is 64 MiB", "pair": "2 counts need 3 edges",
        "wide": "20000x1 pixels; the limit is 16384 a side", "long": "200,001 rows; the limit is 200,000",
        "bins": "600 bins; the limit is 512", "list": "image 1 of the list: an image must be HxW",
    }
    for step, (key, value) in enumerate(bad.items()):
        with pytest.raises(ValueError, match=rf"log\(\): '{key}': .*{messages[key]}") as info:
            run.log({"loss": float(step), key: value, "ok": tracker.Histogram([1.0, 2.0])}, step=step)
        assert "that key was not logged" in str(info.value)
    run.finish()
    back = tracker.Api().run(run.id)
    assert [row["loss"] for row in back.history(keys=["loss"])] == [float(i) for i in range(len(bad))]
    assert back.media_steps("ok") == list(range(len(bad)))
    for key in bad:
        assert back.media_steps(key) == []


def test_argument_errors_are_raised_when_the_value_is_made():
    with pytest.raises(ValueError, match="num_bins=513"):
        tracker.Histogram([1.0], num_bins=513)
    with pytest.raises(TypeError, match="either a sequence"):
        tracker.Histogram()
    with pytest.raises(TypeError, match="caption must be a string"):
        tracker.Image(np.zeros((2, 2)), caption=3)
    with pytest.raises(TypeError, match="not both"):
        tracker.Table(pd.DataFrame({"a": [1]}), data=[[1]])


def test_bytes_per_call_are_limited(tracker_env, monkeypatch):
    from jupyter_tracker.media import rows

    monkeypatch.setattr(rows, "MAX_MEDIA_BYTES_PER_STEP", 1000)
    run = tracker.init()
    with pytest.raises(ValueError, match="the limit is 0 MiB: log them in several calls"):
        run.log({"a": tracker.Image(_pixels()), "b": tracker.Image(_pixels()), "loss": 1.0})
    run.finish()
    back = tracker.Api().run(run.id)
    assert back.history(keys=["loss"])[0]["loss"] == 1.0 and back.media_steps("a") == []
    assert limits.MAX_MEDIA_BYTES_PER_STEP >= limits.MAX_IMAGE_BYTES


def test_a_step_back_with_media_releases_its_memory(tracker_env):
    run = tracker.init()
    run.log({"a": tracker.Image(_pixels())}, step=5)
    run.log({"a": tracker.Image(_pixels())}, step=2)  # lower: not written
    run._sync()
    assert run._writer.media_budget.used == 0
    run.finish()
    assert tracker.Api().run(run.id).media_steps("a") == [5]


def test_log_waits_while_too_much_media_waits_for_the_writer(tracker_env, monkeypatch):
    from jupyter_tracker.media import rows

    run = tracker.init()
    run.log({"first": tracker.Image(_pixels())})
    budget = run._writer.media_budget
    budget.limit = 1000  # about two images of 576 bytes
    for i in range(20):
        run.log({"img": tracker.Image(_pixels())})
        assert budget.used <= 1000 + 576
    run.finish()
    assert tracker.Api().run(run.id).media_steps("img") == list(range(1, 21))
    assert budget.used == 0 and rows.Budget is type(budget)


def test_a_matplotlib_figure_is_drawn_when_logged(tracker_env):
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    figure = Figure(figsize=(2, 1), dpi=50)
    figure.add_subplot().plot([0, 1], [0, 1], color="red")
    run = tracker.init()
    run.log({"plot": tracker.Image(figure, caption="a line")})
    figure.clear()  # changed after log(): what was logged is what the figure showed then
    run.finish()
    back = tracker.Api().run(run.id)
    pixels = np.asarray(back.media("plot"))
    assert pixels.shape == (50, 100, 4) and back.summary["plot"]["caption"] == "a line"
    red = (pixels[:, :, 0] > 200) & (pixels[:, :, 1] < 80) & (pixels[:, :, 2] < 80)
    assert red.sum() > 20  # the line


def test_without_pillow_an_image_names_the_extra_and_the_rest_logs(tracker_env, tmp_path):
    """A real process where Pillow cannot be imported."""
    import subprocess
    import sys

    script = tmp_path / "no_pillow.py"
    script.write_text(
        "import sys\n"
        "sys.modules['PIL'] = None  # import PIL fails, as where Pillow is not installed\n"
        "import numpy as np\n"
        "import tracker\n"
        "run = tracker.init(project='nopil')\n"
        "try:\n"
        "    run.log({'loss': 1.0, 'img': tracker.Image(np.zeros((2, 2), dtype=np.uint8)),\n"
        "             'hist': tracker.Histogram([1.0, 2.0])})\n"
        "except ValueError as exc:\n"
        "    print('ERROR', exc)\n"
        "run.finish()\n"
        "back = tracker.Api().run(run.id)\n"
        "print('LOGGED', back.history(keys=['loss'])[0]['loss'], back.media_steps('hist'), back.media_steps('img'))\n"
    )
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "ERROR log(): 'img': images need Pillow: pip install \"jupyter-tracker[media]\"" in done.stdout
    assert "LOGGED 1.0 [0] []" in done.stdout


def test_an_image_file_path_and_a_pil_image(tracker_env, tmp_path):
    rgb = _pixels()
    path = tmp_path / "in.png"
    PILImage.fromarray(rgb).save(path)
    run = tracker.init()
    run.log({"file": tracker.Image(str(path)), "pil": tracker.Image(PILImage.fromarray(rgb).convert("P"))})
    with pytest.raises(ValueError, match=r"'missing': cannot read the image file '.*nope.png'"):
        run.log({"missing": tracker.Image(tmp_path / "nope.png")})
    run.finish()
    back = tracker.Api().run(run.id)
    assert np.array_equal(np.asarray(back.media("file")), rgb)
    assert np.asarray(back.media("pil")).shape == (12, 16, 4)  # a palette image: RGBA


def test_a_torch_tensor_channels_first(tracker_env):
    import torch
    tensor = torch.linspace(0, 1, 3 * 4 * 5).reshape(3, 4, 5)  # C, H, W as torch keeps images
    run = tracker.init()
    run.log({"t": tracker.Image(tensor)})
    run.finish()
    pixels = np.asarray(tracker.Api().run(run.id).media("t"))
    assert pixels.shape == (4, 5, 3)
    assert np.array_equal(pixels, np.rint(tensor.permute(1, 2, 0).numpy() * 255).astype(np.uint8))


def test_a_killed_process_leaves_no_reference_to_a_missing_or_torn_file(tracker_env, tmp_path):
    """SIGKILL while images are being written: every reference in the log names a whole PNG."""
    import os
    import signal
    import subprocess
    import sys
    import time

    script = tmp_path / "images.py"
    script.write_text(
        "import numpy as np, sys, tracker\n"
        "run = tracker.init(project='kill')\n"
        "print(run.dir, flush=True)\n"
        "rng = np.random.default_rng(0)\n"
        "step = 0\n"
        "while True:\n"
        "    run.log({'x': float(step), 'img': tracker.Image(rng.integers(0, 255, (256, 256, 3), dtype=np.uint8))})\n"
        "    step += 1\n"
    )
    process = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    run_dir = Path(process.stdout.readline().strip())
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(list((run_dir / "files").rglob("*.png"))) < 20:
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    process.stdout.close()
    references = [ref for r in records.read_log(run_dir / "events.log") if r[1] == "media"
                  for ref in r[3]["values"].values()]
    assert len(references) >= 5
    for reference in references:
        with PILImage.open(run_dir / "files" / reference["path"]) as png:
            png.load()  # whole: it decodes
            assert png.size == (256, 256)


def test_a_disk_that_refuses_media_files_loses_nothing_and_says_so(tracker_env, monkeypatch):
    """ENOSPC at the media file boundary (no tmpfs needed): the numbers go on being written, the
    media wait in memory in order and are written once the disk takes them; log() pauses only
    past the budget."""
    import errno
    import os
    import threading
    import time

    from jupyter_tracker.media import storage

    full = threading.Event()
    full.set()
    real_write = storage._write_atomic

    def write_atomic(target, data):
        if full.is_set():
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_write(target, data)

    monkeypatch.setattr(storage, "_write_atomic", write_atomic)
    run = tracker.init()
    said = []
    run._notices.warn = lambda message, key=None: said.append(message)
    for step in range(5):
        run.log({"x": float(step), "img": tracker.Image(_pixels() + step), "h": tracker.Histogram([1.0, 2.0 + step])},
                step=step)
    run._sync()
    assert [r["x"] for r in tracker.Api().run(run.id).history(keys=["x"])] == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert tracker.Api().run(run.id).media_steps("img") == []  # nothing written, nothing lost yet
    assert sum(len(v) for _, _, v in run._writer.media_budget.waiting) == 10
    assert said[0] == ("cannot write media files (No space left on device); keeping them in memory and retrying: "
                       "training goes on, and pauses only if more than 256 MiB of media wait")

    run._writer.media_budget.limit = 3000  # about five images: the sixth waits for room
    done = threading.Event()

    def more():
        for step in range(5, 10):
            run.log({"x": float(step), "img": tracker.Image(_pixels() + step)}, step=step)
        done.set()

    threading.Thread(target=more, daemon=True).start()
    time.sleep(1.5)
    assert not done.is_set()  # log() is paused
    assert any(m.startswith("training is paused: media files cannot be written") for m in said), said
    full.clear()  # space again
    assert done.wait(30)
    run.finish()
    back = tracker.Api().run(run.id)
    assert back.media_steps("img") == list(range(10)) and back.media_steps("h") == list(range(5))
    for step in range(10):
        assert np.array_equal(np.asarray(back.media("img", step=step)), _pixels() + step)
    assert back.summary["img"]["path"].startswith("media/images/img_9_")  # the last reference, in order
    assert any(m.startswith("media files are writable again") and m.endswith("nothing was lost") for m in said)


def test_media_still_refused_at_finish_are_said_lost(tracker_env, monkeypatch):
    import errno
    import os

    from jupyter_tracker.media import storage

    def refuse(target, data):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(storage, "_write_atomic", refuse)
    run = tracker.init()
    said = []
    run._notices.warn = lambda message, key=None: said.append(message)
    run.log({"img": tracker.Image(_pixels())}, step=3)
    run.log({"img": tracker.Image(_pixels())}, step=4)
    run.finish()
    assert "at finish, 2 media values (steps 3 to 4) could not be written (No space left on device): they are lost" \
        in said
