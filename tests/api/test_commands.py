"""``tracker artifact ls``, ``tracker restore`` and ``tracker status`` on local runs."""

from __future__ import annotations

import json
import subprocess
import sys

import jupyter_tracker as tracker


def cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "jupyter_tracker", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=120)


def test_artifact_ls_lists_versions_and_aliases(tracker_env, tmp_path):
    assert "no artifacts under" in cli("artifact", "ls").stdout
    (tmp_path / "w.bin").write_bytes(b"1")
    with tracker.init(project="p") as run:
        run.log_artifact(tmp_path / "w.bin", name="weights", type="model", aliases=["best"])
        (tmp_path / "w.bin").write_bytes(b"22")
        run.log_artifact(tmp_path / "w.bin", name="weights", type="model")
    lines = cli("artifact", "ls", "--project", "p").stdout.splitlines()
    assert lines[0].split() == ["ARTIFACT", "TYPE", "PROJECT", "ALIASES", "FILES", "SIZE", "RUN", "LOGGED"]
    assert lines[1].split()[:7] == ["weights:v0", "model", "p", "best", "1", "1", "B"]
    assert lines[2].split()[:4] == ["weights:v1", "model", "p", "latest"] and run.id in lines[2]
    assert "no artifacts" in cli("artifact", "ls", "other").stdout


def test_restore_writes_config_files_and_code(tracker_env, tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    with tracker.init(project="p", config={"lr": 0.1, "layers": [1, 2]}) as run:
        run.save(str(tmp_path / "notes.txt"), policy="now")
    done = cli("restore", f"me/p/{run.id}", "-o", str(tmp_path / "back"))
    assert done.returncode == 0, done.stderr
    assert json.loads((tmp_path / "back" / "config.json").read_text()) == {"layers": [1, 2], "lr": 0.1}
    assert (tmp_path / "back" / "files" / "notes.txt").read_text() == "hello"
    assert json.loads((tmp_path / "back" / "run.json").read_text())["id"] == run.id
    missing = cli("restore", "nosuchrun")
    assert missing.returncode == 1 and "no run with id 'nosuchrun'" in missing.stderr


def test_status_says_the_mode_and_which_runs_are_not_synced(tracker_env):
    with tracker.init(project="p", mode="offline") as run:
        run.log({"x": 1.0})
    out = cli("status").stdout
    assert "mode:" in out and "none configured" in out
    assert "1 never synced" in out and f"not on a server: {run.path.name}" in out
    assert "tracker sync --all --host URL" in out


def test_an_unreachable_server_is_one_line_not_a_traceback(tracker_env):
    import socket

    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    done = cli("artifact", "ls", "--host", f"http://127.0.0.1:{port}", "--project", "p")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.startswith(f"tracker artifact: cannot reach http://127.0.0.1:{port}")
