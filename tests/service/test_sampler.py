import subprocess
import sys
import time
from pathlib import Path

import pytest

from jupyter_tracker.service.sampler import Gpus, Sampler, Window

FAKE = Path(__file__).parent / "fake_nvml"


@pytest.fixture
def fake_nvml(monkeypatch):
    monkeypatch.syspath_prepend(str(FAKE))
    monkeypatch.delitem(sys.modules, "pynvml", raising=False)
    yield
    sys.modules.pop("pynvml", None)


def test_sample_has_process_tree_host_disk_and_network_metrics(tmp_path):
    # a "kernel" with a child of its own; the sampling process leaves itself out
    code = "import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(30)']); time.sleep(30)"
    kernel = subprocess.Popen([sys.executable, "-c", code])
    try:
        time.sleep(0.5)
        sampler = Sampler(kernel.pid, str(tmp_path))
        time.sleep(0.2)
        sample = sampler.sample()
        assert len(sampler._procs) == 2  # the kernel and its child
    finally:
        import psutil

        for child in psutil.Process(kernel.pid).children(recursive=True):
            child.kill()
        kernel.kill()
        kernel.wait()
    for key in ("proc/cpu_percent", "proc/rss_mb", "host/cpu_percent", "host/memory_percent",
                "disk/percent", "disk/read_mb_s", "net/sent_mb_s"):
        assert key in sample, key
    assert sample["proc/rss_mb"] > 10


def test_gpu_metrics_through_a_fake_nvml(fake_nvml, tmp_path):
    gpus = Gpus()
    out = {}
    gpus.sample(out)
    assert out["gpu/0/util_percent"] == 40 and out["gpu/1/util_percent"] == 50
    assert out["gpu/0/memory_percent"] == pytest.approx(12.5)
    assert out["gpu/1/memory_used_mb"] == pytest.approx(2048)
    assert out["gpu/0/temp_c"] == 60 and out["gpu/0/power_w"] == 150
    assert "gpu/1/power_w" not in out  # one metric failing loses only itself


def test_no_nvml_means_no_gpu_metrics_and_no_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "pynvml", None)  # import fails
    out = {}
    Gpus().sample(out)
    assert out == {}


def test_window_means_skip_nan_and_count_samples():
    window = Window(seconds=100)
    assert window.take() is None
    window.add({"a": 1.0, "b": float("nan")})
    window.add({"a": 3.0, "b": 4.0})
    means = window.take()
    assert means["a"] == 2.0 and means["b"] == 4.0 and means["_samples"] == 2.0
    assert window.samples == 0


def test_cpu_is_measured_over_a_real_interval_and_never_beyond_the_machine(tmp_path):
    # CPU times come in 10 ms ticks: a share over a few milliseconds read 519 % of one core
    # for an idle kernel on a 2-core machine (the quickstart's first system record).
    import os

    burn = "import threading\ndef spin():\n    while True: pass\nfor _ in range(2): threading.Thread(target=spin, daemon=True).start()\nspin()"
    kernel = subprocess.Popen([sys.executable, "-c", burn])
    try:
        sampler = Sampler(kernel.pid, str(tmp_path))
        first = sampler.sample()  # right after the start: no interval to measure over
        assert "proc/cpu_percent" not in first and "host/cpu_percent" not in first
        cores = os.cpu_count() or 1
        shares = []
        for _ in range(5):
            time.sleep(0.25)
            shares.append(sampler.sample()["proc/cpu_percent"])
        assert all(0 < share <= 100.0 * cores for share in shares)
        assert max(shares) > 50  # three spinning threads keep at least half a core busy
        quick = sampler.sample()  # a sample right after another: no new figure
        assert "proc/cpu_percent" not in quick
        time.sleep(0.25)
        assert 0 < sampler.sample()["proc/cpu_percent"] <= 100.0 * cores
    finally:
        kernel.kill()
        kernel.wait()
