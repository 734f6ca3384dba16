"""Typical wandb scripts and notebooks (tests/wandb_compat/scripts), run unchanged but for
``import tracker as wandb``, and their results read back."""

from __future__ import annotations

import csv
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import jupyter_tracker as tracker
from jupyter_tracker import records, rundir
from jupyter_tracker.client import Refused, ServerClient
from tests.e2e.kernels import execute, new_notebook, outputs, text_of
from tests.waiting import wait_for

SCRIPTS = Path(__file__).resolve().parent / "scripts"
TIMEOUT = 120


def run_script(name: str, cwd: Path, *args: str, env: dict[str, str] | None = None,
               check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, str(SCRIPTS / name), *args], cwd=cwd, env={**os.environ, **(env or {})},
                          capture_output=True, text=True, timeout=TIMEOUT)
    if check:
        assert proc.returncode == 0, proc.stderr[-4000:]
    return proc


def result_line(proc: subprocess.CompletedProcess) -> list[str]:
    return next(line for line in proc.stdout.splitlines() if line.startswith("RESULT ")).split()[1:]


def alerts_in_log(path: Path) -> list[dict]:
    return [r[3] for line in (path / rundir.EVENTS).read_bytes().splitlines()
            for r in records.decode_line(line) if r[1] == records.ALERT]


def test_the_training_script_offline(tracker_env, tmp_path):
    proc = run_script("train.py", tmp_path, "--epochs", "3", "--lr", "0.05")
    name, run_id, entity, project, url = result_line(proc)
    assert (entity, project) == ("my-team", "wandb-compat")
    run = tracker.Api().run(f"{entity}/{project}/{run_id}")
    path = rundir.find_by_id(tracker_env, run_id)
    assert url == path.resolve().as_uri()
    assert run.name == name and run.state == "finished"
    assert run.config == {"epochs": 3, "batches": 10, "lr": 0.05, "batch_size": 32, "optimizer": "sgd"}
    assert run.summary["best_val_loss"] == pytest.approx(1 / 3)
    assert run.summary["val/loss"] == pytest.approx(1 / 3)  # summary="min"
    assert run.summary["val/acc"] == pytest.approx(1 - 1 / 6)  # summary="max"
    assert run.summary["epochs_trained"] == 3
    train = run.history(keys=["train/loss", "train/lr"])
    assert len(train) == 30 and all(row["train/lr"] == 0.05 for row in train)  # commit=False joined the rows
    val = run.history(keys=["val/loss", "epoch"])
    assert [row["epoch"] for row in val] == [0, 1, 2]
    info = rundir.read_info(path)
    assert info["tags"] == ["baseline", "toy"] and info["job_type"] == "train" and info["entity"] == "my-team"
    model = run.logged_artifacts()[0]
    assert (model.name, model.type) == ("toy-model", "model") and "best" in model.aliases
    with open(Path(model.download(str(tmp_path / "model"))) / "model.json") as f:
        assert json.load(f) == {"lr": 0.05, "best_val_loss": pytest.approx(1 / 3)}
    images = run.media("val/examples", step=run.media_steps("val/examples")[-1])
    assert [image.size for image in images] == [(8, 8), (8, 8)]
    assert len(run.media_steps("val/scores")) == 3
    counts, edges = run.media("val/scores")
    assert sum(counts) == 1000 and len(edges) == len(counts) + 1
    curve = run.media("val/curve")  # log({"val/curve": plt}): the current figure as an image
    assert curve.size[0] > 100 and curve.size[1] > 100
    table = run.media("val/table", pandas=True)
    assert list(table.columns) == ["epoch", "loss", "acc"] and table["epoch"].tolist() == [0, 1, 2]
    assert alerts_in_log(path) == [
        {"title": "Training finished", "text": f"{name}: best val loss 0.333", "level": "INFO"}]
    assert "tracker: alert (INFO): Training finished" in proc.stderr
    assert "start_method='thread' is accepted" in (path / "logs" / "debug.log").read_text()


@pytest.mark.server
def test_the_training_script_online_sends_the_alert_to_the_server(tracker_env, tmp_path, server):
    host = f"http://127.0.0.1:{server.port}"
    env = {"TRACKER_HOST": host, "TRACKER_API_KEY": server.token, "WANDB_MODE": "online"}
    proc = run_script("train.py", tmp_path, env=env)
    name, run_id, _entity, _project, url = result_line(proc)
    assert url == f"{host}/api/v1/runs/{run_id}"
    client = ServerClient(host, server.token)
    try:
        def synced():
            try:
                resource = client.get_run(run_id)
            except Refused as exc:  # 404 until the service's first upload
                assert exc.status == 404
                return None
            return resource if resource["state"] == "finished" and resource["info"].get("alerts") else None

        resource = wait_for(synced, timeout=60)
        alert = resource["info"]["alerts"][0]
        assert (alert["title"], alert["level"]) == ("Training finished", "INFO")
        assert alert["text"] == f"{name}: best val loss 0.333" and alert["ts"] > time.time() - 600
        remote = tracker.Api(host=host, api_key=server.token).run(run_id)
        assert remote.summary["best_val_loss"] == pytest.approx(1 / 3)
    finally:
        client.close()


def test_the_cluster_job_requeued_resumes_one_run(tracker_env, tmp_path):
    env = {"WANDB_RUN_ID": "job-1234", "WANDB_RESUME": "allow", "WANDB_RUN_GROUP": "array-7",
           "WANDB_JOB_TYPE": "train", "WANDB_TAGS": "slurm,requeue", "WANDB_MODE": "offline",
           "CHECKPOINT_DIR": str(tmp_path)}
    first = run_script("cluster_job.py", tmp_path, env={**env, "PREEMPT_AFTER": "1"}, check=False)
    assert first.returncode == 1, first.stderr[-2000:]
    info = rundir.read_info(rundir.find_by_id(tracker_env, "job-1234"))
    assert info["preempting"] is True and info["state"] == "failed"
    run_script("cluster_job.py", tmp_path, env=env)
    runs = tracker.Api().runs("cluster")
    assert [r.id for r in runs] == ["job-1234"]
    run = runs[0]
    assert run.state == "finished" and run.group == "array-7" and run.job_type == "train"
    assert run.tags == ["slurm", "requeue"]
    assert [row["epoch"] for row in run.history(keys=["epoch"])] == [0, 1, 2, 3]


def test_the_export_script_reads_the_runs_back(tracker_env, tmp_path):
    for lr in ("0.1", "0.01"):
        run_script("train.py", tmp_path, "--lr", lr, "--epochs", "2")
    proc = run_script("export_runs.py", tmp_path, "my-team", "wandb-compat")
    assert "EXPORTED 2 2" in proc.stdout
    with open(tmp_path / "project.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert sorted(eval(row["config"])["lr"] for row in rows) == [0.01, 0.1]  # noqa: S307 - our own CSV
    assert all(eval(row["summary"])["best_val_loss"] == 0.5 for row in rows)  # noqa: S307
    with open(tmp_path / "history.csv", newline="") as f:
        history = list(csv.DictReader(f))
    assert [float(row["epoch"]) for row in history] == [0.0, 1.0]


REINIT_LOOP = """\
import math
for lr in [0.1, 0.01, 0.001]:
    run = wandb.init(project="by-hand", group="lr-search", config={"lr": lr}, reinit=True)
    for step in range(20):
        wandb.log({"loss": math.exp(-lr * step)})
    wandb.run.summary["final_loss"] = math.exp(-lr * 19)
wandb.finish()
"""


@pytest.mark.kernel
def test_a_notebook_with_reinit_in_a_loop(tracker_env, tmp_path):
    nb = new_notebook("import tracker as wandb", REINIT_LOOP, "print(wandb.run)")
    execute(nb, cwd=tmp_path)
    cells = outputs(nb)
    assert cells[0] == []
    views = [o for o in cells[1] if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert len(views) == 3 and all(o["output_type"] == "display_data" for o in cells[1])  # a panel per run, no text
    assert text_of(cells[2][0]).strip() == "None"
    runs = sorted(tracker.Api().runs("by-hand"), key=lambda r: r.config["lr"])
    assert [r.config["lr"] for r in runs] == [0.001, 0.01, 0.1]
    assert all(r.state == "finished" and r.group == "lr-search" for r in runs)
    assert [len(r.history(keys=["loss"])) for r in runs] == [20, 20, 20]
    assert runs[2].summary["final_loss"] == pytest.approx(math.exp(-0.1 * 19))
