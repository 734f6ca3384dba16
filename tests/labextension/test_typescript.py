"""The lab extension's TypeScript: type-checked, and its unit tests (vitest, labextension/tests/)
run, here so that the README's test command (and CI) runs them.

Node and the extension's npm packages come with ``pip install -e .`` (its build runs
``npm install``). Without Node these tests skip locally and fail under CI.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "labextension"
VECTORS = ROOT / "tests" / "data" / "chart_rules.json"
IN_CI = os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def _node_or_skip() -> str:
    problems = []
    node = shutil.which("node")
    if node is None:
        problems.append("no node on PATH (Node >= 20 builds and tests the lab extension)")
    elif not (SOURCE / "node_modules" / ".bin" / "vitest").exists():
        problems.append(f"the extension's npm packages are not installed: run `npm install` in {SOURCE} "
                        "(pip install -e . does it)")
    if problems:
        reason = "; ".join(problems)
        if IN_CI:
            pytest.fail(reason + " [CI is set: not skipping]", pytrace=False)
        pytest.skip(reason)
    return node  # type: ignore[return-value]


def _run(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "CI": "true", "FORCE_COLOR": "0", "NO_COLOR": "1"}
    return subprocess.run(args, cwd=SOURCE, capture_output=True, text=True, timeout=timeout, env=env)


def test_typescript_type_checks():
    node = _node_or_skip()
    done = _run(node, str(SOURCE / "node_modules" / "typescript" / "bin" / "tsc"), "--noEmit", "-p", "tsconfig.json")
    assert done.returncode == 0, done.stdout[-5000:] + done.stderr[-3000:]


def test_typescript_unit_tests():
    """vitest: the chart rules against the shared vectors, formatting, series, groups."""
    node = _node_or_skip()
    done = _run(node, str(SOURCE / "node_modules" / "vitest" / "vitest.mjs"), "run", "--reporter=verbose")
    output = re.sub(r"\x1b\[[0-9;]*m", "", done.stdout + done.stderr)
    assert done.returncode == 0, output[-8000:]
    passed = re.search(r"Tests\s+(\d+) passed", output)
    assert passed and int(passed.group(1)) >= 40, output[-3000:]
    assert "failed" not in output.split("Tests", 1)[-1].splitlines()[0], output[-3000:]
    if VECTORS.is_file():  # the Python side's vectors are there: the port is checked against them
        assert "the shared tick vectors" in output and "shared vectors)" in output, output[-3000:]
