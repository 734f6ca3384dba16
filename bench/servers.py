"""A tracker server process for the benchmarks: free port, own data directory, fresh token."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

__all__ = ["ServerProcess"]

ROOT = Path(__file__).resolve().parent.parent
_LISTENING = re.compile(r"listening on (http://\S+)")


class ServerProcess:
    """``python -m jupyter_tracker.server`` on a free port; ``base`` is its URL, ``url`` its API root."""

    def __init__(self, data_dir: Path, db: str | None = None, workers: int = 1,
                 env: dict[str, str] | None = None, args: tuple[str, ...] = ()) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        if env is None:
            env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
        store = ["--data-dir", str(data_dir)] + (["--db", db] if db else [])
        made = subprocess.run(
            [sys.executable, "-m", "jupyter_tracker.server", "token", "create", "--name",
             f"bench-{secrets.token_hex(4)}", *store],
            capture_output=True, text=True, env=env, check=True, timeout=120,
        )
        self.token = made.stdout.strip().splitlines()[-1]
        self.log = open(data_dir / "server.log", "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "jupyter_tracker.server", "--port", "0", "--workers", str(workers), *store, *args],
            stdout=subprocess.PIPE, stderr=self.log, env=env,
        )
        line = self.proc.stdout.readline().decode()
        match = _LISTENING.search(line)
        if not match:
            self.stop()
            raise RuntimeError(f"the server did not start: {line!r} (see {data_dir / 'server.log'})")
        self.base = match.group(1)
        self.url = self.base + "/api/v1"
        self.headers = {"Authorization": f"Bearer {self.token}"}

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
