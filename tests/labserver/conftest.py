"""A real Jupyter server (pytest-jupyter) with the tracker's server extension, and runs to read."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

import jupyter_tracker as tracker

# pytest-jupyter's fixtures and its hooks for async tests, for this folder only (``pytest_plugins``
# would have to sit in the top conftest, and its autouse fixtures would then run for every test)
from pytest_jupyter.jupyter_server import *  # noqa: E402,F403


@pytest.fixture
def jp_server_config() -> dict:
    return {"ServerApp": {"jpserver_extensions": {"jupyter_tracker.labserver": True}}}


def make_run(project: str, name: str, steps: int = 5, config: dict | None = None, **kwargs) -> tracker.Run:
    """A finished local run logging ``loss`` and ``acc`` for ``steps`` steps."""
    run = tracker.init(project=project, name=name, config=config or {}, mode="offline", **kwargs)
    for i in range(steps):
        run.log({"loss": 1.0 / (i + 1), "acc": i / max(steps, 1)})
    run.finish()
    return run


@pytest.fixture
def three_runs(tracker_env: Path) -> list[tracker.Run]:
    """Runs a, b (project p, lr 0.1 and 0.01) and c (project q), oldest first."""
    runs = []
    for name, project, lr in (("a", "p", 0.1), ("b", "p", 0.01), ("c", "q", 0.1)):
        runs.append(make_run(project, name, config={"lr": lr}))
        time.sleep(0.01)
    return runs
