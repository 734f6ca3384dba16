"""The kernel's side of the service process: start, watch, stop."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import threading
import time
from pathlib import Path

__all__ = ["ServiceHandle"]


class ServiceHandle:
    """A started service process for the run in ``run_dir``.

    The process runs in its own session (a kill of the kernel's process group
    spares it), with stdin closed and stdout/stderr going to
    ``logs/service.log``, never to the notebook.
    """

    def __init__(self, run_dir: Path, kernel_pid: int | None = None) -> None:
        self.run_dir = Path(run_dir)
        self.stopping = False
        self.reported = False
        log_path = self.run_dir / "logs" / "service.log"
        with open(log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "jupyter_tracker.service",
                    str(self.run_dir),
                    "--pid",
                    str(kernel_pid or os.getpid()),
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                close_fds=True,
                cwd=os.getcwd(),
                env=_service_env(),
            )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def exited(self) -> int | None:
        """The exit code when the process has ended (and was reaped), else ``None``."""
        return self.proc.poll()

    def stop(self, wait: float = 0.0) -> None:
        """The run ended: the service sees it in ``run.json`` within half a second,
        writes its last system window, uploads what is left, and exits.

        No signal is sent: one arriving while the service is still starting
        (a run finished right after init) would kill it before it uploads.
        Waits at most ``wait`` seconds for it, then reaps it in the background.
        """
        self.stopping = True
        if wait > 0:
            deadline = time.monotonic() + wait
            while self.proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.01)
        if self.proc.poll() is None:
            # Reap it when it exits (no zombie), without making finish() wait.
            threading.Thread(target=self.proc.wait, name="tracker-service-reaper", daemon=True).start()


def _service_env() -> dict[str, str]:
    env = dict(os.environ)
    # The package must be importable by the child exactly as it is here.
    here = str(Path(__file__).resolve().parents[2])
    paths = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    installed = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    if here not in paths and here not in installed:
        paths.insert(0, here)
        env["PYTHONPATH"] = os.pathsep.join(paths)
    env.setdefault("PYTHONUNBUFFERED", "1")
    # A kernel's matplotlib backend or IPython settings mean nothing to the service.
    env.pop("MPLBACKEND", None)
    return env

