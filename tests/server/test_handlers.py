"""Auth, body limits and the crash timeout, over HTTP."""

from __future__ import annotations

import http.client
import re
import socket
import time
from collections.abc import Callable

import orjson
import pytest

from .processes import Client, TrackerServer, history_records

UNAUTHORIZED = {"error": "unauthorized"}


def create_token_in_process(store: list[str], name: str) -> str:
    """``token create`` through the CLI's ``main`` (faster than a new process)."""
    import contextlib
    import io

    from jupyter_tracker.server.commands import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["token", "create", "--name", name, *store]) == 0
    return out.getvalue().strip().splitlines()[-1]


@pytest.fixture(scope="module")
def limited(spawn_module: Callable[..., TrackerServer]) -> TrackerServer:
    """A public server with small limits and a one-second heartbeat timeout."""
    return spawn_module("--public", "--max-body", "64k", "--max-file", "100k", "--heartbeat-timeout", "0.8")


WRITES = [("PUT", "/runs/{run}", b"{}"), ("POST", "/runs/{run}/records", b"{}"), ("POST", "/runs/{run}/heartbeat", b""),
          ("PUT", "/runs/{run}/files/a.txt", b"x")]
READS = [("GET", "/runs", None), ("GET", "/projects", None), ("GET", "/runs/{run}", None),
         ("GET", "/runs/{run}/history", None), ("GET", "/runs/{run}/system", None), ("GET", "/runs/{run}/files", None)]


@pytest.fixture(scope="module")
def run_id(server: TrackerServer) -> str:
    return server.client().new_run()


@pytest.mark.parametrize(("method", "path", "body"), WRITES + READS)
@pytest.mark.parametrize("header", [None, "Bearer wrong-token", "Basic dXNlcjpwYXNz"])
def test_no_valid_token_is_401_without_detail(server: TrackerServer, run_id: str, method: str, path: str,
                                             body: bytes | None, header: str | None) -> None:
    client = server.client(token="")
    headers = {"Authorization": header} if header else {}
    response = client.request(method, path.format(run=run_id), data=body, headers=headers)
    assert response.status_code == 401
    assert response.json() == UNAUTHORIZED


@pytest.mark.parametrize("header", ["Bearer ", "bearer", "Bearer  ", "Token {token}", "{token}"])
def test_malformed_authorization_headers(server: TrackerServer, header: str) -> None:
    response = server.client(token="").get("/runs", headers={"Authorization": header.format(token=server.token)})
    assert response.status_code == 401 and response.json() == UNAUTHORIZED


def test_revoked_token_is_401(server: TrackerServer) -> None:
    from jupyter_tracker.server.commands import main

    store = server.store_args
    token = create_token_in_process(store, "to-revoke")
    client = server.client(token)
    assert client.get("/runs").status_code == 200
    assert main(["token", "revoke", "to-revoke", *store]) == 0  # the CLI, in this process
    response = client.get("/runs")
    assert response.status_code == 401 and response.json() == UNAUTHORIZED
    assert client.put("/runs/after-revoke", json={}).status_code == 401


def test_public_reads_but_not_writes(limited: TrackerServer) -> None:
    run_id = limited.client().new_run()
    anonymous = limited.client(token="")
    assert anonymous.get(f"/runs/{run_id}").status_code == 200
    assert anonymous.get("/runs").status_code == 200
    assert anonymous.get(f"/runs/{run_id}/history").status_code == 200
    for method, path, body in WRITES:
        response = anonymous.request(method, path.format(run=run_id), data=body)
        assert response.status_code == 401 and response.json() == UNAUTHORIZED


def test_body_limit_is_413(server: TrackerServer, limited: TrackerServer) -> None:
    for srv, limit in ((limited, 64 * 1024), (server, 16 * 1024 * 1024)):
        client = srv.client()
        run_id = client.new_run()
        over = b"[" + b" " * limit + b"]"
        response = client.post(f"/runs/{run_id}/records", data=over)
        assert response.status_code == 413 and "limit" in response.json()["error"]
        # the connection is still good for the next request
        assert client.send(run_id, history_records(1, [0])).status_code == 200
    # without a Content-Length (chunked): counted as it comes
    client = limited.client()
    run_id = client.new_run()
    response = client.post(f"/runs/{run_id}/records", data=(b" " * 8192 for _ in range(10)))
    assert response.status_code == 413


def test_body_announced_far_over_the_limit_is_refused_before_it_is_sent(limited: TrackerServer) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", limited.port, timeout=30)
    connection.putrequest("POST", "/api/v1/runs/whatever/records")
    connection.putheader("Authorization", f"Bearer {limited.token}")
    connection.putheader("Content-Length", str(500 * 1024 * 1024))
    connection.endheaders()
    response = connection.getresponse()
    assert response.status == 413
    assert "limit" in orjson.loads(response.read())["error"]
    connection.close()


def test_file_size_limit(limited: TrackerServer) -> None:
    client = limited.client()
    run_id = client.new_run()
    assert client.put(f"/runs/{run_id}/files/ok.bin", data=b"x" * 100 * 1024).status_code == 200
    response = client.put(f"/runs/{run_id}/files/big.bin", data=b"x" * (100 * 1024 + 1))
    assert response.status_code == 413
    assert client.get(f"/runs/{run_id}/files/big.bin").status_code == 404
    assert not list(limited.data_dir.rglob("*big.bin*"))  # no temporary file left behind
    assert [f["path"] for f in client.get(f"/runs/{run_id}/files").json()] == ["ok.bin"]


def test_too_many_keys_and_too_long_keys(server: TrackerServer) -> None:
    client = server.client()
    run_id = client.new_run()
    row = {f"k{i}": 1.0 for i in range(10_001)}
    response = client.send(run_id, [[1, "h", 0, 1.0, row]])
    assert response.status_code == 400 and "10001 keys" in response.json()["error"]
    row.pop("k0")
    assert client.send(run_id, [[1, "h", 0, 1.0, row]]).status_code == 200
    long_key = "train/" + "x" * 251
    response = client.send(run_id, [[2, "h", 1, 1.0, {long_key: 1.0}]])
    assert response.status_code == 400
    assert long_key[:40] in response.json()["error"] and "257 characters" in response.json()["error"]


def test_silent_running_runs_become_crashed(limited: TrackerServer) -> None:
    client = limited.client()
    silent = client.new_run(project="hb")
    alive = client.new_run(project="hb")
    finished = client.new_run(project="hb", state="finished")
    deadline = time.monotonic() + 1.2
    while time.monotonic() < deadline:
        assert client.post(f"/runs/{alive}/heartbeat").status_code == 200
        time.sleep(0.1)
    assert client.get(f"/runs/{silent}").json()["state"] == "crashed"  # reported at once
    assert client.get(f"/runs/{alive}").json()["state"] == "running"
    assert client.get(f"/runs/{finished}").json()["state"] == "finished"
    crashed = [r["id"] for r in client.get("/runs", params={"project": "hb", "state": "crashed"}).json()]
    assert crashed == [silent]
    # the periodic sweep writes it down, with the reason
    time.sleep(0.3)
    info = client.get(f"/runs/{silent}").json()["info"]
    assert info["crash_source"] == "server" and "heartbeat" in info["crash_reason"]
    # a run that comes back is running again
    assert client.post(f"/runs/{silent}/heartbeat").json()["state"] == "running"
    assert client.get(f"/runs/{silent}").json()["state"] == "running"
    # records count as a sign of life too
    time.sleep(1.1)
    assert client.get(f"/runs/{silent}").json()["state"] == "crashed"
    assert client.send(silent, history_records(1, [0])).status_code == 200
    assert client.get(f"/runs/{silent}").json()["state"] == "running"


def test_tokens_never_reach_the_logs(server: TrackerServer, limited: TrackerServer) -> None:
    for srv in (server, limited):
        client: Client = srv.client()
        run_id = client.new_run()
        client.send(run_id, history_records(1, [0]))
        client.get(f"/runs/{run_id}/history", params={"keys": "a", "samples": "x"})
        client.post(f"/runs/{run_id}/records", data=b"{broken")
        srv.client(token=srv.token + "x").put(f"/runs/{run_id}", json={})
        # a header tornado refuses, which its own log line would quote
        with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as sock:
            sock.sendall(b"GET /api/v1/runs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
                         + srv.token.encode() + b"\x01\r\n\r\n")
            assert sock.recv(100).startswith(b"HTTP/1.1 400")
        logs = srv.logs()
        assert "Malformed HTTP message" in logs
        assert "401" in logs and "/api/v1/runs" in logs  # the access log is there
        assert srv.token not in logs and srv.token[:12] not in logs
        assert all(shown.startswith("[redacted]") for shown in re.findall(r"Bearer (\S+)", logs))
