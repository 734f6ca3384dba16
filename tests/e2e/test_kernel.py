"""Real kernels: the notebooks, silent mode, output hygiene, kill -9 of kernel and service.

These run ipykernel through nbclient / jupyter_client; no browser (see test_lab.py).
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import nbformat
import pytest
from jupyter_client import KernelManager

import jupyter_tracker as tracker
from jupyter_tracker import rundir
from tests.waiting import wait_for

from .kernels import NOTEBOOKS, execute, new_notebook, outputs, text_of

pytestmark = pytest.mark.kernel


@pytest.mark.parametrize("path", sorted(NOTEBOOKS.glob("*.ipynb")), ids=lambda p: p.name)
def test_every_notebook_runs_top_to_bottom(path, tmp_path, tracker_env):
    nb = nbformat.read(path, as_version=4)
    execute(nb, cwd=tmp_path)  # raises CellExecutionError on any error
    errors = [o for cell in outputs(nb) for o in cell if o.get("output_type") == "error"]
    assert not errors
    assert tracker.Api().runs(), "the notebook recorded no run"


def test_quickstart_records_what_it_shows(tmp_path, tracker_env):
    nb = nbformat.read(NOTEBOOKS / "quickstart.ipynb", as_version=4)
    execute(nb, cwd=tmp_path)
    run = tracker.Api().runs(project="quickstart")[0]
    assert run.state == "finished" and run.name == "baseline"
    assert run.config == {"lr": 0.05, "batch": 64, "optimizer": "sgd"}
    assert len(run.history(keys=["train/loss"], samples=None)) == 3000
    assert [r["epoch"] for r in run.history(keys=["val/acc", "epoch"], samples=None)] == [1, 2, 3, 4, 5]
    assert run.summary["notes"] == "toy run"
    listing = "".join(text_of(o) for o in outputs(nb)[-1])
    assert "baseline" in listing and "finished" in listing
    code = [c for c in nb.cells if c.cell_type == "code"]
    system = next(i for i, c in enumerate(code) if "wait_for_system(run)" in c.source)
    shown = "".join(text_of(o) for o in outputs(nb)[system])
    assert "proc/cpu_percent" in shown and "Empty DataFrame" not in shown  # rows, not a race lost


BUSY_CELLS = (
    "%tracker init --project hygiene lr=0.1",
    # warnings from the main thread: a string value, a step going back
    "for i in range(20000):\n    tracker.log({'loss': 1 / (i + 1), 'name': 'x'})\ntracker.log({'loss': 0.0}, step=5)",
    # background threads (writer, service watch) working while a cell runs
    "import time\ntime.sleep(1.5)\nx = 1",
    "tracker.summary['best'] = 0.5\ntracker.define_metric('val/*', step_metric='epoch')",
    "tracker.log({'val/loss': 0.3, 'epoch': 1})\ntime.sleep(0.5)",
    "%tracker finish",
    "time.sleep(0.5)",
)


def test_silent_mode_leaves_every_cell_output_empty(tmp_path, tracker_env):
    nb = new_notebook("%load_ext tracker", "%env TRACKER_SILENT true", *BUSY_CELLS)
    execute(nb, cwd=tmp_path)
    cells = outputs(nb)
    # IPython itself echoes %env; nothing else anywhere, ours included
    assert [text_of(o) for o in cells[1]] == ["env: TRACKER_SILENT=true\n"]
    assert all(not cell for i, cell in enumerate(cells) if i != 1), cells
    run = tracker.Api().runs(project="hygiene")[0]
    debug = (Path(run.dir) / "logs" / "debug.log").read_text()
    assert "'name' is a str" in debug and "lower than the current step" in debug  # said, to the log only
    assert len(run.history(keys=["loss"], samples=None)) == 20000


def test_silent_from_the_kernel_environment(tmp_path, tracker_env):
    nb = new_notebook("%load_ext tracker", *BUSY_CELLS)
    execute(nb, cwd=tmp_path, env={"TRACKER_SILENT": "true"})
    assert all(not cell for cell in outputs(nb))


def test_without_silent_only_the_init_cell_has_output(tmp_path, tracker_env):
    nb = new_notebook("%load_ext tracker", *BUSY_CELLS)
    execute(nb, cwd=tmp_path)
    cells = outputs(nb)
    init = cells[1]
    assert all(not cell for i, cell in enumerate(cells) if i != 1), cells
    assert len(init) == 2  # the live panel, and the place of its final image (filled at finish)
    text = text_of(init[0])
    assert text.count("\n") == 0 and text.startswith("tracker: run ")
    # the run's state reached the init cell's own display, in place
    assert "finished" in text
    assert "image/svg+xml" in init[1]["data"]


KILL_SETUP = """
import tracker, time, pathlib
progress = pathlib.Path({progress!r})
run = tracker.init(project="kill")
pathlib.Path({dirfile!r}).write_text(run.dir)
"""
KILL_LOOP = """
step = 0
while True:
    run.log({"x": float(step)})
    step += 1
    if step % 500 == 0:
        time.sleep(0.25)  # more than the flush interval: all of it is on disk now
        progress.write_text(str(step))
"""


def start_kernel(cwd: Path) -> KernelManager:
    km = KernelManager(kernel_name="python3")
    km.start_kernel(cwd=str(cwd), env=dict(os.environ))
    return km


def run_cell(client, code: str, wait: bool = True) -> str:
    msg_id = client.execute(code)
    if wait:
        while True:  # skip replies to other requests (wait_for_ready may ask more than once)
            reply = client.get_shell_msg(timeout=60)
            if reply["parent_header"].get("msg_id") == msg_id:
                break
        assert reply["content"]["status"] == "ok", reply["content"]
    return msg_id


def test_kill_9_of_the_kernel_marks_crashed_and_keeps_flushed_rows(tmp_path, tracker_env):
    progress, dirfile = tmp_path / "progress", tmp_path / "rundir"
    km = start_kernel(tmp_path)
    client = km.client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=60)
        run_cell(client, KILL_SETUP.format(progress=str(progress), dirfile=str(dirfile)))
        run_cell(client, KILL_LOOP, wait=False)
        flushed = wait_for(lambda: progress.exists() and int(progress.read_text() or 0) >= 3000 and int(progress.read_text()))
        pid = km.provisioner.process.pid
        os.killpg(os.getpgid(pid), signal.SIGKILL)  # the kernel's whole process group
        killed = time.monotonic()
        run_dir = Path(dirfile.read_text())
        wait_for(lambda: rundir.read_info(run_dir)["state"] == "crashed", timeout=10)
        assert time.monotonic() - killed < 6
    finally:
        client.stop_channels()
        km.shutdown_kernel(now=True)  # reaps the killed process
    run = tracker.Api().run(rundir.read_info(run_dir)["id"])
    xs = [r["x"] for r in run.history(samples=None)]
    assert len(xs) >= flushed and xs == [float(i) for i in range(len(xs))]


def test_kill_9_of_the_service_mid_run_keeps_the_loop_going(tmp_path, tracker_env):
    km = start_kernel(tmp_path)
    client = km.client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=60)
        run_cell(client, "import tracker, os, signal, time\nrun = tracker.init(project='svc')")
        # a kernel does not exit: its sys.exit and excepthook stay as they are
        run_cell(client, "import sys\nfrom jupyter_tracker.kernel import exits\n"
                         "assert not exits.installed() and not hasattr(sys.exit, '__wrapped__')")
        run_cell(client, "for i in range(5000):\n    run.log({'x': float(i)})")
        run_cell(client, "os.kill(run.companions.service.pid, signal.SIGKILL)\ntime.sleep(0.3)")
        run_cell(client, "for i in range(5000, 10000):\n    run.log({'x': float(i)})\ntime.sleep(1.5)\nassert run.state == 'service-stopped', run.state")
        run_cell(client, "run.finish()")
    finally:
        client.stop_channels()
        km.shutdown_kernel(now=True)
    run = tracker.Api().runs(project="svc")[0]
    assert run.state == "finished", (run.info, (Path(run.dir) / "logs" / "debug.log").read_text())
    assert [r["x"] for r in run.history(samples=None)] == [float(i) for i in range(10000)]
