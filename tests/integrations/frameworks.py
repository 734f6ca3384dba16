"""Running the training scripts of scripts/ for real: as a script (a subprocess) and in a Jupyter kernel.

Nothing here may reach the network: the model hubs are told to stay offline, and
any HTTP(S) request goes through a proxy on a closed local port, so an
accidental download fails the test instead of passing slowly.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import nbformat

from tests.e2e.kernels import execute, new_notebook, outputs

SCRIPTS = Path(__file__).resolve().parent / "scripts"
NO_NETWORK = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "WANDB_MODE": "offline",
    "WANDB_SILENT": "true",
    "HTTP_PROXY": "http://127.0.0.1:9",
    "HTTPS_PROXY": "http://127.0.0.1:9",
    "http_proxy": "http://127.0.0.1:9",
    "https_proxy": "http://127.0.0.1:9",
    "NO_PROXY": "127.0.0.1,localhost",
    "no_proxy": "127.0.0.1,localhost",
}
#: Small and quiet on a shared 2-core machine.
QUIET = {"KERAS_BACKEND": "torch", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
ENV = {**NO_NETWORK, **QUIET}
TIMEOUT = 240


def env_for(extra: dict[str, str] | None) -> dict[str, str]:
    """ENV and ``extra``; tracker reads WANDB_SILENT and WANDB_MODE when its own are unset,
    so those stay as this process has them (set here only for the frameworks' wandb)."""
    own = {name: os.environ.get(name) or default for name, default in (("TRACKER_SILENT", "false"),
                                                                        ("TRACKER_MODE", "offline"))}
    return {**ENV, **own, **(extra or {})}


def run_script(name: str, cwd: Path, env: dict[str, str] | None = None, check: bool = True) -> subprocess.CompletedProcess:
    """``python scripts/<name>`` in ``cwd`` (the test's TRACKER_DIR is in the environment)."""
    proc = subprocess.run([sys.executable, str(SCRIPTS / name)], cwd=cwd, env={**os.environ, **env_for(env)},
                          capture_output=True, text=True, timeout=TIMEOUT)
    if check:
        assert proc.returncode == 0, proc.stderr[-4000:]
    return proc


def run_in_kernel(name: str, cwd: Path, env: dict[str, str] | None = None) -> nbformat.NotebookNode:
    """The script as one cell of a notebook executed by a real kernel (widget state saved)."""
    nb = new_notebook((SCRIPTS / name).read_text())
    return execute(nb, cwd=cwd, env=env_for(env), timeout=TIMEOUT)


def run(mode: str, name: str, cwd: Path, env: dict[str, str] | None = None) -> Any:
    return run_script(name, cwd, env) if mode == "script" else run_in_kernel(name, cwd, env)


def framework_log(cwd: Path, script: str) -> dict[str, Any]:
    """What the framework itself recorded (scripts/<name>.py wrote it to <name>.json)."""
    return json.loads((cwd / script).with_suffix(".json").read_text())


def panel_charts(nb: nbformat.NotebookNode) -> set[str]:
    """Metrics charted by the live panel, from the notebook's saved widget state (a chart's
    title is its metric, then its last value)."""
    state = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    return {m["state"]["title"].split("   ")[0] for m in state.values()
            if m["model_name"] == "FigureModel" and "tracker-chart" in m["state"].get("_dom_classes", [])}


def shows_panel(nb: nbformat.NotebookNode) -> bool:
    return any("application/vnd.jupyter.widget-view+json" in out.get("data", {})
               for cell in outputs(nb) for out in cell)


def tracker_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("tracker:")]


def steps(rows: list[dict[str, Any]]) -> list[int]:
    return [row["_step"] for row in rows]
