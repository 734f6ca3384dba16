"""``tracker import tensorboard`` on event files written by TensorBoard's writers (torch's SummaryWriter),
and the imported runs synced to a real server like any other."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from torch.utils.tensorboard import SummaryWriter

import jupyter_tracker as tracker
from jupyter_tracker import rundir
from jupyter_tracker.cli import main
from jupyter_tracker.importers.rundirs import stable_id

pytestmark = pytest.mark.integration
T0 = 1_800_000_000.0


def image_at(step: int) -> np.ndarray:
    pixels = np.zeros((6, 10, 3), dtype=np.uint8)
    pixels[:, step % 10, 1] = 255
    pixels[:, :, 2] = (20 * step) % 256
    return pixels


def write_events(folder: Path, steps: range, t0: float = T0, hparams: bool = False) -> None:
    """Scalars at their own steps and wall times, a histogram, an image, text (not imported), hparams."""
    writer = SummaryWriter(str(folder))
    for step in steps:
        writer.add_scalar("train/loss", 1.0 / (step + 1), step, walltime=t0 + step)
        if step % 2 == 0:
            writer.add_scalar("val/acc", step / 10, step, walltime=t0 + step + 0.5)
        writer.add_histogram("weights", np.arange(10.0) + step, step, walltime=t0 + step)
        writer.add_image("samples", image_at(step), step, walltime=t0 + step, dataformats="HWC")
    writer.add_text("notes", "hello", 0, walltime=t0)
    writer.close()
    if hparams:
        with SummaryWriter(str(folder / "hp")) as hp:
            hp.add_hparams({"lr": 0.1, "optimizer": "adam"}, {"hparam/final": 0.9}, run_name=".")


def test_every_run_folder_becomes_a_run_with_its_steps_and_wall_times(tmp_path, tracker_env, capsys):
    logdir = tmp_path / "logs"
    write_events(logdir / "baseline", range(6), hparams=True)
    write_events(logdir / "bigger", range(4), t0=T0 + 100)
    assert main(["import", "tensorboard", str(logdir), "--project", "tb"]) == 0
    out = capsys.readouterr().out
    assert out.count("imported as run") == 3  # baseline, baseline/hp, bigger
    assert "histogram" not in out and "image" not in out  # both imported
    assert "series of TensorBoard's text plugin" in out
    runs = {run.name: run for run in tracker.Api().runs(project="tb")}
    assert set(runs) == {"baseline", "baseline/hp", "bigger"}
    base = runs["baseline"]
    assert base.state == "finished" and base.id == stable_id("tensorboard", str((logdir / "baseline").resolve()))
    rows = base.history()
    assert [r["_step"] for r in rows] == list(range(6))
    assert [r["train/loss"] for r in rows] == pytest.approx([1 / (s + 1) for s in range(6)])
    assert [r["val/acc"] for r in rows if "val/acc" in r] == pytest.approx([0.0, 0.2, 0.4])
    assert [r["_timestamp"] for r in rows] == [T0 + s + (0.5 if s % 2 == 0 else 0) for s in range(6)]
    assert base.info["created_at"] <= T0 and base.info["finished_at"] == T0 + 5
    assert base.info["import"]["source"] == "tensorboard"
    assert os.path.basename(base.dir).startswith("offline-run-")
    # histograms and images: media records at their steps, as tracker.Histogram and tracker.Image make them
    assert base.media_steps("weights") == list(range(6)) == base.media_steps("samples")
    for step in range(6):
        counts, edges = base.media("weights", step=step)
        assert counts.sum() == 10 and edges[0] == pytest.approx(step) and edges[-1] == pytest.approx(step + 9)
        assert np.array_equal(np.asarray(base.media("samples", step=step)), image_at(step))
    assert base.summary["samples"]["_type"] == "image-file" and base.summary["samples"]["path"] in base.files
    hp = runs["baseline/hp"]
    assert hp.config == {"lr": 0.1, "optimizer": "adam"}  # add_hparams -> config
    assert hp.summary["hparam/final"] == pytest.approx(0.9)


def test_importing_again_is_idempotent_and_a_grown_log_is_appended(tmp_path, tracker_env, capsys):
    logdir = tmp_path / "logs"
    write_events(logdir / "run", range(3))
    assert main(["import", "tensorboard", str(logdir)]) == 0
    (run,) = tracker.Api().runs()
    events = Path(run.dir) / rundir.EVENTS
    first = events.read_bytes()
    assert main(["import", "tensorboard", str(logdir)]) == 0
    assert "unchanged since: nothing written" in capsys.readouterr().out
    assert events.read_bytes() == first
    write_events(logdir / "run", range(3, 6), t0=T0)  # training resumed: a second event file, later steps
    assert main(["import", "tensorboard", str(logdir)]) == 0
    assert "updated from the grown source: 3 new rows (6 in all)" in capsys.readouterr().out
    assert events.read_bytes().startswith(first)
    assert [r["_step"] for r in tracker.Api().run(run.id).history()] == list(range(6))
    assert len(rundir.list_run_dirs(tracker_env)) == 1


def test_tensorboard_missing_names_the_extra(tmp_path, tracker_env):
    code = ("import sys; sys.modules['tensorboard'] = None\n"
            "from jupyter_tracker.cli import main; sys.exit(main(sys.argv[1:]))")
    done = subprocess.run([sys.executable, "-c", code, "import", "tensorboard", str(tmp_path)], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 2
    assert "needs tensorboard: pip install 'jupyter-tracker[tensorboard]'" in done.stderr
    assert main(["import", "tensorboard", str(tmp_path / "nowhere")]) == 2


def test_imported_runs_sync_like_any_other_and_a_grown_source_uploads_only_what_is_new(tmp_path, tracker_env, server):
    logdir = tmp_path / "logs"
    write_events(logdir / "run", range(50))
    env = dict(os.environ, TRACKER_HOST=f"http://127.0.0.1:{server.port}", TRACKER_API_KEY=server.token)

    def tracker_cli(*args: str) -> subprocess.CompletedProcess:
        done = subprocess.run([sys.executable, "-m", "jupyter_tracker", *args], capture_output=True, text=True,
                              env=env, timeout=120)
        return done

    assert tracker_cli("import", "tensorboard", str(logdir), "--project", "tbsync").returncode == 0
    (local,) = tracker.Api().runs(project="tbsync")
    assert tracker_cli("sync", local.dir).returncode == 0
    remote = tracker.Api(host=f"http://127.0.0.1:{server.port}", api_key=server.token)
    back = remote.run(local.id)
    assert back.state == "finished" and back.project == "tbsync" and back.name == "run"
    assert [r["train/loss"] for r in back.history(keys=["train/loss"])] == pytest.approx([1 / (s + 1) for s in range(50)])

    write_events(logdir / "run", range(50, 60))
    done = tracker_cli("import", "tensorboard", str(logdir), "--project", "tbsync")
    assert done.returncode == 0 and "10 new rows" in done.stdout
    synced = tracker_cli("sync", local.dir)
    assert synced.returncode == 0, synced.stderr
    back = remote.run(local.id)
    steps = [r["_step"] for r in back.history(keys=["train/loss"])]
    assert steps == list(range(60))  # nothing doubled, nothing lost
    assert back.state == "finished"

    # a source rewritten at steps the server has already: refused, nothing written
    write_events(logdir / "run", range(5), t0=T0 + 1000)
    before = (Path(local.dir) / rundir.EVENTS).read_bytes()
    refused = tracker_cli("import", "tensorboard", str(logdir), "--project", "tbsync")
    assert refused.returncode == 1
    assert "already synced to a server: nothing was written" in refused.stderr
    assert (Path(local.dir) / rundir.EVENTS).read_bytes() == before
