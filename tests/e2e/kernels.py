"""Running notebooks and code in real Jupyter kernels (nbclient / jupyter_client)."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"


def new_notebook(*sources: str) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(src) for src in sources]
    return nb


def execute(nb: nbformat.NotebookNode, cwd: Path, env: dict[str, str] | None = None, timeout: int = 180,
            store_widget_state: bool = True) -> nbformat.NotebookNode:
    """Run every cell in a fresh kernel started in ``cwd`` with ``env`` added."""
    client = NotebookClient(
        nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(cwd)}},
        store_widget_state=store_widget_state,
    )
    saved = dict(os.environ)
    os.environ.update(env or {})
    try:
        client.execute(cwd=str(cwd))
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return nb


def outputs(nb: nbformat.NotebookNode) -> list[list[dict]]:
    return [cell.get("outputs", []) for cell in nb.cells if cell.cell_type == "code"]


def text_of(output: dict) -> str:
    if output.get("output_type") == "stream":
        return output.get("text", "")
    if output.get("output_type") == "error":
        return "\n".join(output.get("traceback", []))
    return str(output.get("data", {}).get("text/plain", ""))
