"""Media to a real tracking server (online, and ``tracker sync``) and back through Api(host=...)."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import jupyter_tracker as tracker
from tests.waiting import service_ended, wait_for

pytestmark = pytest.mark.server


def _remote(server):
    return tracker.Api(host=f"http://127.0.0.1:{server.port}", api_key=server.token)


def _log_media(run, steps=3):
    logged = []
    for step in range(steps):
        pixels = np.full((8, 10, 3), step * 40, dtype=np.uint8)
        pixels[step, :, 0] = 255
        samples = np.arange(100.0) * (step + 1)
        table = pd.DataFrame({"id": [step, step + 1], "label": ["cat", "dog"]})
        run.log({"x": float(step), "img": tracker.Image(pixels, caption=f"s{step}"),
                 "hist": tracker.Histogram(samples, num_bins=10), "table": tracker.Table(table)}, step=step)
        logged.append((pixels, samples, table))
    return logged


def _synced(server, run, steps):
    api = _remote(server)

    def complete():
        try:
            back = api.run(run.id)
        except KeyError:
            return None
        if back.state != "finished" or len(back.media_steps("img")) < steps:
            return None
        local = tracker.Api().run(run.id).files
        return back if set(local) <= set(back.files) else None

    return wait_for(complete, timeout=60)


def _assert_same(back, logged):
    for step, (pixels, samples, table) in enumerate(logged):
        assert np.array_equal(np.asarray(back.media("img", step=step)), pixels)
        counts, edges = back.media("hist", step=step)
        expected = np.histogram(samples, bins=10)
        assert np.array_equal(counts, expected[0]) and np.allclose(edges, expected[1])
        pd.testing.assert_frame_equal(back.media("table", step=step), table)
    assert back.media_steps("hist") == list(range(len(logged)))
    assert back.media_references("img") == tracker.Api().run(back.id).media_references("img")
    assert back.summary["img"]["_type"] == "image-file" and back.summary["img"]["caption"] == f"s{len(logged) - 1}"


def test_an_online_run_uploads_its_media(server, monkeypatch, tracker_env):
    monkeypatch.setenv("TRACKER_HOST", f"http://127.0.0.1:{server.port}")
    monkeypatch.setenv("TRACKER_API_KEY", server.token)
    monkeypatch.setenv("TRACKER_MODE", "online")
    run = tracker.init(project="media-online")
    logged = _log_media(run)
    run.finish()
    back = _synced(server, run, 3)
    _assert_same(back, logged)
    local = tracker.Api().run(run.id)
    assert back.summary == local.summary
    assert back.files() == back.files
    assert sorted(f for f in back.files if f.startswith("media/")) == sorted(
        f for f in local.files if f.startswith("media/"))


def test_tracker_sync_uploads_media_once(server, tracker_env):
    run = tracker.init(project="media-offline", mode="offline")
    logged = _log_media(run, steps=2)
    run.finish()
    service_ended(run)
    env = dict(os.environ, TRACKER_HOST=f"http://127.0.0.1:{server.port}", TRACKER_API_KEY=server.token)
    command = [sys.executable, "-m", "jupyter_tracker", "sync", run.dir]
    first = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)
    assert first.returncode == 0, first.stderr
    second = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)
    assert second.returncode == 0 and "nothing new" in second.stdout, second.stdout
    back = _synced(server, run, 2)
    _assert_same(back, logged)
    with pytest.raises(KeyError, match="nothing at step 5"):
        back.media("img", step=5)
