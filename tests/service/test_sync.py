"""Syncing runs to a real tracker server: live from the service, and with ``tracker sync``.

A real server process on 127.0.0.1 (SQLite, and PostgreSQL where available),
real runs (in this process, in a script, in a kernel), and faults injected by
killing the server or by a proxy in front of it that answers 500 and 429.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import jupyter_tracker as tracker
from jupyter_tracker import rundir
from jupyter_tracker.client import ServerClient
from jupyter_tracker.rundir import read_sync as read_status
from jupyter_tracker.service.uploader import Backoff
from tests.waiting import service_ended, wait_for

from .faultproxy import Fault, FaultProxy

pytestmark = pytest.mark.server


@pytest.fixture
def online(monkeypatch, server):
    """Environment of an online run against the module's server."""
    monkeypatch.setenv("TRACKER_HOST", f"http://127.0.0.1:{server.port}")
    monkeypatch.setenv("TRACKER_API_KEY", server.token)
    monkeypatch.setenv("TRACKER_MODE", "online")
    return server


def remote(server, token=None):
    return tracker.Api(host=f"http://127.0.0.1:{server.port}", api_key=token or server.token)


def uploaded(server, run_id, state="finished"):
    """The server's copy of a run once its upload is complete."""
    api = remote(server)

    def ready():
        try:
            run = api.run(run_id)
        except KeyError:
            return None
        return run if run.state == state else None

    return wait_for(ready, timeout=60)


def acked(server, run_id) -> int:
    try:
        return remote(server).run(run_id).acknowledged.get("events", 0)
    except KeyError:
        return 0


def assert_exact_rows(run, values):
    rows = run.history(keys=["x"], samples=None)
    assert [r["_step"] for r in rows] == list(range(len(values)))  # no step missing, none doubled
    assert [r["x"] for r in rows] == values


def test_online_run_streams_everything_to_the_server(online, tracker_env):
    run = tracker.init(project="online", name="live", config={"lr": 0.1, "nan": float("nan")})
    assert run.mode == "online" and os.path.basename(run.dir).startswith("run-")
    for i in range(3000):
        run.log({"x": float(i), "y": float(-i)})
    run.log({"z": float("inf")})
    run.summary["best"] = 0.9
    run.define_metric("x", summary="max")
    wait_for(lambda: acked(online, run.id) >= 3000, timeout=30)  # live, before finish
    run.finish()
    back = uploaded(online, run.id)
    assert back.config["lr"] == 0.1 and back.config["nan"] != back.config["nan"]
    assert back.summary["best"] == 0.9 and back.summary["z"] == float("inf")
    assert_exact_rows(back, [float(i) for i in range(3000)])
    wait_for(lambda: remote(online).run(run.id).system(), timeout=20)
    wait_for(lambda: read_status(run.path).get("status") == "done", timeout=30)
    local_seq = rundir.read_info(run.path)
    assert back.name == "live" and back.project == "online" and local_seq["state"] == "finished"


SCRIPT = textwrap.dedent(
    """
    import sys, time
    import tracker
    run = tracker.init(project="stream", config={"n": int(sys.argv[1])})
    print(run.dir, flush=True)
    for i in range(int(sys.argv[1])):
        run.log({"x": float(i)})
        if i % 200 == 0:
            time.sleep(0.05)
            print(i, flush=True)
    if len(sys.argv) > 2:
        time.sleep(600)  # wait to be killed
    run.finish()
    """
)


def start_script(n: int, hang: bool = False) -> tuple[subprocess.Popen, Path]:
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT, str(n), *(["hang"] if hang else [])],
                            stdout=subprocess.PIPE, text=True, start_new_session=True)
    return proc, Path(proc.stdout.readline().strip())


def test_server_killed_mid_run_and_restarted_10_s_later(spawn, monkeypatch, tracker_env):
    server = spawn()
    monkeypatch.setenv("TRACKER_HOST", f"http://127.0.0.1:{server.port}")
    monkeypatch.setenv("TRACKER_API_KEY", server.token)
    monkeypatch.setenv("TRACKER_MODE", "online")
    proc, run_dir = start_script(6000)
    wait_for(lambda: int(proc.stdout.readline() or 0) >= 1000)
    server.kill()  # kill -9 mid-run
    killed = time.monotonic()
    assert proc.wait(timeout=120) == 0  # training went on, and finished, while the server was down
    proc.stdout.close()
    assert rundir.read_info(run_dir)["state"] == "finished"
    time.sleep(max(0.0, 10.0 - (time.monotonic() - killed)))
    server.start()  # the same port and database
    run_id = rundir.read_info(run_dir)["id"]
    back = uploaded(server, run_id)
    assert_exact_rows(back, [float(i) for i in range(6000)])
    assert "retrying" in (run_dir / "logs" / "debug.log").read_text()


def test_500s_then_429_with_retry_after_then_recovery(server, monkeypatch, tracker_env):
    with FaultProxy(f"http://127.0.0.1:{server.port}") as proxy:
        started = time.monotonic()
        count = {"429": 0}

        def rule(method, path):
            if not path.endswith("/records"):
                return None
            if time.monotonic() - started < 2.0:
                return Fault(500)
            if count["429"] < 2:
                count["429"] += 1
                return Fault(429, headers={"Retry-After": "1"})
            return None

        proxy.rule = rule
        monkeypatch.setenv("TRACKER_HOST", proxy.url)
        monkeypatch.setenv("TRACKER_API_KEY", server.token)
        monkeypatch.setenv("TRACKER_MODE", "online")
        run = tracker.init(project="faults")
        for i in range(2000):
            run.log({"x": float(i)})
        time.sleep(1.0)
        for i in range(2000, 4000):
            run.log({"x": float(i)})
        run.finish()
        back = uploaded(server, run.id)
        # the system log's last batch may still be on its way: wait for the whole upload
        wait_for(lambda: read_status(run.path).get("status") == "done", timeout=30)
        statuses = [(t, status) for t, method, path, status in proxy.log if path.endswith("/records")]
    assert_exact_rows(back, [float(i) for i in range(4000)])
    assert any(s == 500 for _, s in statuses) and sum(s == 429 for _, s in statuses) == 2
    after_429 = [i for i, (_, s) in enumerate(statuses) if s == 429]
    for i in after_429:  # Retry-After: 1 was honoured
        assert statuses[i + 1][0] - statuses[i][0] >= 0.95


def test_connection_refused_until_the_server_comes_up(spawn, monkeypatch, tracker_env, tmp_path):
    import socket

    with socket.socket() as probe:  # a free port, nobody listening yet
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("TRACKER_HOST", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("TRACKER_MODE", "online")
    server_holder = {}
    monkeypatch.setenv("TRACKER_API_KEY", "placeholder")
    # the token must exist before the run starts: make the server's database first
    from tests.server.processes import TrackerServer

    server = TrackerServer(tmp_path / "late-server")
    token = server.create_token("late")
    monkeypatch.setenv("TRACKER_API_KEY", token)
    run = tracker.init(project="late")
    for i in range(1500):
        run.log({"x": float(i)})
    time.sleep(2.0)
    assert read_status(run.path).get("status") == "retrying"
    server.port = port
    server.token = token
    server_holder["s"] = server.start()
    run.finish()
    try:
        back = uploaded(server, run.id)
        assert_exact_rows(back, [float(i) for i in range(1500)])
    finally:
        server.stop()


def test_offline_run_then_tracker_sync_twice_uploads_once(server, tracker_env):
    run = tracker.init(project="offline", mode="offline")
    for i in range(2500):
        run.log({"x": float(i)})
    run.save(__file__, policy="now")
    run.finish()
    service_ended(run)
    assert os.path.basename(run.dir).startswith("offline-run-")
    env = dict(os.environ, TRACKER_HOST=f"http://127.0.0.1:{server.port}", TRACKER_API_KEY=server.token)
    command = [sys.executable, "-m", "jupyter_tracker", "sync", run.dir]
    first = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)
    assert first.returncode == 0, first.stderr
    assert "2502 events" in first.stdout or "events" in first.stdout
    second = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)
    assert second.returncode == 0 and "nothing new" in second.stdout
    back = remote(server).run(run.id)
    assert_exact_rows(back, [float(i) for i in range(2500)])
    assert back.state == "finished" and any(f.endswith("test_sync.py") for f in back.files)
    # --all finds it too and has nothing to add
    third = subprocess.run([sys.executable, "-m", "jupyter_tracker", "sync", "--all"], capture_output=True,
                           text=True, env=env, timeout=120)
    assert third.returncode == 0 and "nothing new" in third.stdout


def test_kernel_killed_online_becomes_crashed_on_the_server_with_flushed_rows(online, tracker_env):
    proc, run_dir = start_script(10**6, hang=False)
    flushed = 0
    while flushed < 2000:
        flushed = int(proc.stdout.readline())
    time.sleep(0.3)  # the last print's rows are flushed
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    proc.stdout.close()
    run_id = rundir.read_info(run_dir)["id"]
    back = uploaded(online, run_id, state="crashed")
    rows = back.history(keys=["x"], samples=None)
    assert len(rows) >= flushed
    assert [r["x"] for r in rows] == [float(i) for i in range(len(rows))]


def test_a_refused_token_stops_syncing_says_why_and_keeps_the_log(server, monkeypatch, tracker_env):
    monkeypatch.setenv("TRACKER_HOST", f"http://127.0.0.1:{server.port}")
    monkeypatch.setenv("TRACKER_API_KEY", "not-a-valid-token")
    monkeypatch.setenv("TRACKER_MODE", "online")
    run = tracker.init(project="refused")
    for i in range(100):
        run.log({"x": float(i)})
    status = wait_for(lambda: read_status(run.path).get("status") == "stopped" and read_status(run.path))
    assert "401" in status["message"] and "TRACKER_API_KEY" in status["message"]
    run.finish()
    assert "sync stopped" in (run.path / "logs" / "debug.log").read_text()
    assert len(tracker.Api().run(run.id).history(samples=None)) == 100  # the local log is intact
    service = run.companions.service
    wait_for(lambda: service.exited() is not None, timeout=10)  # nothing left to retry: it exits


def test_the_token_never_lands_in_the_run_directory(online, tracker_env):
    run = tracker.init(project="secret")
    run.log({"x": 1.0})
    run.save(__file__, policy="now")
    run.finish()
    try:
        uploaded(online, run.id)
    except AssertionError:
        raise AssertionError((read_status(run.path), (run.path / "logs" / "debug.log").read_text()[-3000:],
                              (run.path / "logs" / "service.log").read_text()[-3000:]))
    token = online.token.encode()
    for path in Path(run.dir).rglob("*"):
        if path.is_file():
            assert token not in path.read_bytes(), path
    assert online.token not in online.logs()


def test_backoff_is_capped_exponential_with_jitter_and_honours_retry_after():
    backoff = Backoff(base=0.5, cap=4.0)
    delays = [backoff.next_delay() for _ in range(10)]
    assert all(0.5 <= d <= 4.0 for d in delays)
    assert max(delays[5:]) > 1.0  # it grows
    assert backoff.next_delay(retry_after=7.0) >= 7.0
    backoff.reset()
    assert backoff.next_delay() <= 1.0


def test_a_certificate_problem_is_named(tmp_path):
    import shutil
    import ssl
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    if shutil.which("openssl") is None:
        pytest.fail("openssl is needed to make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)

    class Health(BaseHTTPRequestHandler):
        def do_GET(self):
            body = b'{"ok": true}'
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    httpd = HTTPServer(("127.0.0.1", 0), Health)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    url = f"https://127.0.0.1:{httpd.server_address[1]}"
    try:
        from jupyter_tracker.client import Refused

        with pytest.raises(Refused, match="REQUESTS_CA_BUNDLE"):
            ServerClient(url, "k").health()
        os.environ["REQUESTS_CA_BUNDLE"] = str(cert)
        try:
            assert ServerClient(url, "k").health() == {"ok": True}  # requests honours it
        finally:
            del os.environ["REQUESTS_CA_BUNDLE"]
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_online_run_from_a_real_kernel(online, tracker_env, tmp_path):
    from tests.e2e.kernels import execute, new_notebook, outputs, text_of

    nb = new_notebook(
        "%load_ext tracker",
        "%tracker init --project kernel-online lr=0.01 batch=64",
        "for i in range(5000):\n    tracker.log({'x': float(i), 'loss': 1 / (i + 1)})",
        "tracker.summary['best'] = 0.5\nimport time; time.sleep(1.0)",
        "%tracker finish",
    )
    execute(nb, cwd=tmp_path)
    run = tracker.Api().runs(project="kernel-online")[0]
    back = uploaded(online, run.id)
    assert_exact_rows(back, [float(i) for i in range(5000)])
    assert back.config == {"lr": 0.01, "batch": 64} and back.summary["best"] == 0.5
    assert back.system(), "system records reach the server"
    shown = "".join(text_of(o) + str(o.get("data", "")) for cell in outputs(nb) for o in cell)
    assert online.token not in shown and online.token not in str(nb.metadata)
    assert all(not cell for i, cell in enumerate(outputs(nb)) if i != 1)


def test_remote_api_reads_like_the_local_one(online, tracker_env):
    run = tracker.init(project="remote-api", config={"a": 1})
    values = [float((i * 37) % 101) for i in range(20_000)]
    values[12_345] = 1e6  # a spike the downsampling must keep
    for v in values:
        run.log({"x": v})
    run.finish()
    back = uploaded(online, run.id)
    local = tracker.Api().run(run.id)
    assert back.config == local.config and back.summary == local.summary
    assert back.history(keys=["x"], samples=None) == local.history(keys=["x"], samples=None)
    sampled = back.history(keys=["x"], samples=500)
    assert len(sampled) <= 520 and max(r["x"] for r in sampled) == 1e6 and min(r["x"] for r in sampled) == 0.0
    assert sampled[0]["_step"] == 0 and sampled[-1]["_step"] == 19_999
    assert [r.id for r in remote(online).runs(project="remote-api")] == [run.id]
    frame = back.history(keys=["x"], pandas=True, samples=None)
    assert len(frame) == 20_000


def test_a_token_revoked_mid_run_stops_syncing(spawn, monkeypatch, tracker_env):
    server = spawn()
    token = server.create_token("short-lived")
    monkeypatch.setenv("TRACKER_HOST", f"http://127.0.0.1:{server.port}")
    monkeypatch.setenv("TRACKER_API_KEY", token)
    monkeypatch.setenv("TRACKER_MODE", "online")
    run = tracker.init(project="revoked")
    run.log({"x": 0.0})
    wait_for(lambda: acked(server, run.id) >= 1)
    server.cli("token", "revoke", "short-lived")
    for i in range(1, 200):
        run.log({"x": float(i)})
    status = wait_for(lambda: read_status(run.path).get("status") == "stopped" and read_status(run.path))
    assert "401" in status["message"]
    run.finish()
    assert len(tracker.Api().run(run.id).history(samples=None)) == 200


def test_login_stores_the_token_privately_and_runs_go_online(server, monkeypatch, tracker_env):
    host = f"http://127.0.0.1:{server.port}"
    command = [sys.executable, "-m", "jupyter_tracker", "login", "--host", host, "--key-stdin"]
    bad = subprocess.run(command, input="wrong\n", capture_output=True, text=True, timeout=60)
    assert bad.returncode == 1 and "refused the token" in bad.stderr
    good = subprocess.run(command, input=server.token + "\n", capture_output=True, text=True, timeout=60)
    assert good.returncode == 0, good.stderr
    assert server.token not in good.stdout + good.stderr
    from jupyter_tracker import settings

    path = settings.user_settings_path()
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert settings.host() == host and settings.api_key() == server.token
    run = tracker.init(project="after-login")  # no environment: the settings say online
    assert run.mode == "online"
    run.log({"x": 1.0})
    run.finish()
    uploaded(server, run.id)


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_tracker_sync_retries_an_unreachable_server_for_retry_for_then_says_what_is_left(tracker_env):
    run = tracker.init(project="unreachable", mode="offline")
    for i in range(500):
        run.log({"x": float(i)})
    run.finish()
    env = dict(os.environ, TRACKER_HOST=f"http://127.0.0.1:{free_port()}", TRACKER_API_KEY="k")
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "jupyter_tracker", "sync", "--retry-for", "3", run.dir],
                          capture_output=True, text=True, env=env, timeout=120)
    took = time.monotonic() - started
    assert done.returncode == 1 and took < 30, (took, done.stderr)
    assert "not synced (retrying: cannot reach" in done.stderr
    assert "nothing new sent; left: 502 events, " in done.stderr
    assert f"run `tracker sync {run.dir}` again" in done.stderr
    status = read_status(run.path)
    assert status["status"] == "retrying" and status["events"]["acked"] == 0
    debug = (run.path / "logs" / "debug.log").read_text()
    assert debug.count("retrying in") >= 2  # each attempt said, with its delay


def test_500s_that_never_end_are_retried_with_growing_delays_until_retry_for(server, tracker_env):
    run = tracker.init(project="500s", mode="offline")
    run.log({"x": 1.0})
    run.finish()
    with FaultProxy(f"http://127.0.0.1:{server.port}") as proxy:
        proxy.rule = lambda method, path: Fault(500) if path.endswith("/records") else None
        env = dict(os.environ, TRACKER_HOST=proxy.url, TRACKER_API_KEY=server.token)
        done = subprocess.run([sys.executable, "-m", "jupyter_tracker", "sync", "--retry-for", "5", run.dir],
                              capture_output=True, text=True, env=env, timeout=120)
        posts = [t for t, method, path, status in proxy.log if path.endswith("/records")]
    assert done.returncode == 1 and "not synced (retrying" in done.stderr and "500" in done.stderr
    assert 2 <= len(posts) <= 12
    gaps = [b - a for a, b in zip(posts, posts[1:])][:-1]  # the last wait may be cut by --retry-for
    assert all(gap >= 0.4 for gap in gaps)
