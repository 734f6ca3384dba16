"""``Api().runs(...)`` and ``Api(host=...).runs(...)`` give the same runs in the same order.

Real runs are recorded locally, synced to a real ``tracker server`` (SQLite,
and PostgreSQL), then read back both ways with the same filters and orders;
their columns and ``tracker ls`` agree too, and the read cache never reaches
the server.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys

import numpy as np
import pytest

import jupyter_tracker as tracker
from jupyter_tracker.records import jsonable

QUERIES = [
    (None, None),
    ({"config.lr": {"$lt": 0.05}}, None),
    ({"config.lr": 0.1}, "-summary_metrics.val/acc"),
    (None, "-summary_metrics.val/acc"),
    (None, "+summary_metrics.val/acc"),
    (None, "config.lr"),
    (None, "-config.opt.beta"),
    ({"$or": [{"job_type": "eval"}, {"config.opt.name": "sgd"}]}, "created_at"),
    ({"tags": {"$in": ["seed1"]}, "group": {"$ne": "lr=0.1"}}, None),
    ({"summary_metrics.val/acc": {"$gte": 0.3}}, "-config.seed"),
    ({"display_name": {"$regex": "^r-0"}}, "display_name"),
    ({"config.opt.beta": {"$exists": False}}, None),
    ({"config.missing": 1}, None),
    ({"state": "finished", "created_at": {"$gt": 0}}, "-id"),
    ({"summary.train/loss": {"$lt": 0.5}}, None),
    # the rest of the operators, as tracker.compare(filters=...) passes them
    ({"config.lr": {"$nin": [0.1]}, "config.seed": {"$ne": 0}}, "+config.lr"),
    ({"config.lr": {"$in": [0.1, 0.01]}, "config.seed": {"$lte": 0}}, "-config.lr"),
    ({"$and": [{"config.lr": {"$gt": 0.01}}, {"$or": [{"tags": "seed0"}, {"job_type": "train"}]}]}, None),
    ({"summary_metrics.val/acc": {"$gt": 0.1, "$lt": 0.5}}, "summary_metrics.val/acc"),
]


def _sweep(project: str) -> list:
    runs = []
    for index, lr in enumerate((0.1, 0.03, 0.01)):
        for seed in range(2):
            opt = {"name": "adam" if seed == 0 else "sgd"}
            if lr != 0.03:
                opt["beta"] = lr * 9
            run = tracker.init(project=project, name=f"r-{index}{seed}", group=f"lr={lr}", job_type="train" if seed else "eval",
                               config={"lr": lr, "seed": seed, "opt": opt}, tags=["sweep", f"seed{seed}"], mode="offline")
            tracker.define_metric("val/acc", summary="max")
            for step in range(30):
                run.log({"train/loss": 1.0 / (step + 1) + lr, "val/acc": lr * 4 + seed / 100 - abs(step - 10) / 100})
            run.log({"val/acc": float("nan")})
            run.finish()
            runs.append(run)
    return runs


def _ids(runs) -> list[str]:
    return [run.id for run in runs]


@pytest.fixture
def synced(server, tracker_env):
    project = "q-" + secrets.token_hex(4)
    made = _sweep(project)
    env = dict(os.environ, TRACKER_HOST=f"http://127.0.0.1:{server.port}", TRACKER_API_KEY=server.token)
    tracker.Api().run(made[0].id).columns()  # a read cache exists before the sync
    done = subprocess.run([sys.executable, "-m", "jupyter_tracker", "sync", "--all"], capture_output=True, text=True,
                          env=env, timeout=180)
    assert done.returncode == 0, done.stderr
    return project, made, env


def test_the_same_filters_select_the_same_runs_locally_and_on_the_server(server, synced) -> None:
    project, _, _ = synced
    local = tracker.Api()
    remote = tracker.Api(host=f"http://127.0.0.1:{server.port}", api_key=server.token)
    for filters, order in QUERIES:
        here = local.runs(project, filters=filters, order=order)
        there = remote.runs(project, filters=filters, order=order)
        assert _ids(here) == _ids(there), (filters, order)
        assert [n.split(" under ")[0] for n in here.notes] == there.notes, (filters, order)
        paged = remote.runs(f"entity/{project}", filters=filters, order=order, per_page=2)
        assert _ids(paged) == _ids(there)
    assert len(remote.runs(project)) == 6 and len(remote.runs(project, filters={"config.lr": {"$lt": 0.05}})) == 4
    nothing = remote.runs(project, filters={"config.nope": 1})
    assert list(nothing) == [] and nothing.notes == [f"no run of project {project!r} has config key 'nope'"]
    unknown = remote.runs("no-such-project")
    assert list(unknown) == [] and unknown.notes == ["no runs in project 'no-such-project'"]
    with pytest.raises(ValueError, match="invalid operator"):
        remote.runs(project, filters={"config.lr": {"$lessthan": 1}})
    # the shortcuts are filters too
    assert _ids(remote.runs(project, group="lr=0.1", tags=["seed1"])) == _ids(local.runs(project, group="lr=0.1", tags="seed1"))
    assert _ids(remote.runs(project, state=["finished"])) == _ids(local.runs(project, state="finished"))


def test_columns_agree_and_the_cache_is_never_uploaded(server, synced) -> None:
    _, made, _ = synced
    remote = tracker.Api(host=f"http://127.0.0.1:{server.port}", api_key=server.token)
    for run in made[:2]:
        here = tracker.Api().run(run.id)
        there = remote.run(run.id)
        for samples in (None, 8):
            a, b = here.columns(samples=samples), there.columns(samples=samples)
            assert list(a) == list(b) == ["train/loss", "val/acc"]
            for key in a:
                for part in ("step", "timestamp", "value"):
                    assert a[key][part].dtype == b[key][part].dtype
                    np.testing.assert_array_equal(a[key][part], b[key][part])
        assert jsonable(here.summary) == jsonable(there.summary)
        assert jsonable(here.history(keys=["val/acc"], samples=None)) == jsonable(there.history(keys=["val/acc"], samples=None))
        assert (here.path / "cache" / "columns.json").exists()
        assert not [f for f in there.files if "cache" in f]


def test_tracker_ls_reads_the_server_the_same_way(server, synced) -> None:
    project, _, env = synced

    def ls(*args: str) -> list[str]:
        done = subprocess.run([sys.executable, "-m", "jupyter_tracker", "ls", "--project", project, *args],
                              capture_output=True, text=True, env=env, timeout=60)
        assert done.returncode == 0, done.stderr
        return [line.split()[0] for line in done.stdout.splitlines()[1:]]

    for args in (["--where", "config.lr<0.05", "--sort=-summary.val/acc"], ["--group", "lr=0.1"], ["--tag", "seed0"]):
        assert ls(*args) == ls(*args, "--host", env["TRACKER_HOST"])
    assert len(ls("--where", "config.lr<0.05")) == 4
