"""Fixtures shared by every test: an isolated TRACKER_DIR and fast service intervals."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """``-n auto`` (the default): one worker more than the cores, at most 4.

    Most tests wait on real processes (kernels, servers, JupyterLab, the service),
    so one core keeps more than one worker busy; a file runs in one worker
    (``--dist loadfile``), so a module's server is started once. ``-n 0`` runs
    everything in this process.
    """
    return max(2, min(4, (os.cpu_count() or 1) + 1))


#: Folders whose files take longest, started first so that the workers finish together.
SLOW_FIRST = ("e2e", "integrations", "service", "faults", "server")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        parts = Path(str(item.path)).relative_to(ROOT / "tests").parts
        return SLOW_FIRST.index(parts[0]) if len(parts) > 1 and parts[0] in SLOW_FIRST else len(SLOW_FIRST)

    items.sort(key=rank)  # stable: a file's tests keep their order


def pytest_configure(config: pytest.Config) -> None:
    # The service process and kernels started by tests must import this checkout.
    paths = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    if str(ROOT) not in paths:
        os.environ["PYTHONPATH"] = os.pathsep.join([str(ROOT), *paths])


@pytest.fixture(autouse=True)
def tracker_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own run folder, settings folder and quick system sampling."""
    home = tmp_path / "tracker"
    monkeypatch.setenv("TRACKER_DIR", str(home))
    monkeypatch.setenv("TRACKER_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("TRACKER_STATS_INTERVAL", "0.2")
    monkeypatch.setenv("TRACKER_STATS_WINDOW", "0.6")
    for name in ("TRACKER_SILENT", "TRACKER_MODE", "TRACKER_HOST", "TRACKER_API_KEY", "TRACKER_PROJECT",
                 "TRACKER_DISABLE_CODE", "TRACKER_IGNORE_GLOBS", "TRACKER_SYNC_TIMEOUT"):
        monkeypatch.delenv(name, raising=False)
    from jupyter_tracker.settings import WANDB_FALLBACKS

    for name in (*WANDB_FALLBACKS, *WANDB_FALLBACKS.values(), "WANDB_DIR"):  # tracker reads WANDB_* too
        monkeypatch.delenv(name, raising=False)
    yield home
    import jupyter_tracker

    run = jupyter_tracker.current()
    if run is not None:
        run.finish()


@pytest.fixture
def python() -> str:
    return sys.executable
