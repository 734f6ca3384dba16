"""Server processes: clean stops, worker processes over one database, kill -9 and resume."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Callable

import pytest
import requests

from .processes import Client, TrackerServer, history_records


def stream(
    client: Client,
    run_id: str,
    records: list[list],
    batch: int,
    deadline: float = 60.0,
    on_ack: Callable[[int], None] | None = None,
) -> int:
    """Send ``records`` in batches, resuming from the server's hwm after any failure; return the retries."""
    retries = 0
    position = 0
    give_up = time.monotonic() + deadline
    while position < len(records):
        assert time.monotonic() < give_up, "the stream did not complete"
        try:
            response = client.send(run_id, records[position : position + batch])
            if response.status_code == 409:
                position = response.json()["expected"] - records[0][0]
                retries += 1
                continue
            assert response.status_code == 200, response.text
            position = response.json()["acked"] - records[0][0] + 1
            if on_ack is not None:
                on_ack(position)
        except requests.ConnectionError:
            retries += 1
            time.sleep(0.05)
            try:  # the server is back: resume after what it has
                hwm = client.get(f"/runs/{run_id}", timeout=5).json()["hwm"]["events"]
                position = hwm - records[0][0] + 1
            except (requests.ConnectionError, requests.Timeout, ValueError):
                pass
    return retries


def assert_exact_history(client: Client, run_id: str, steps: int) -> None:
    history = client.history(run_id)
    assert history["a"]["step"] == list(range(steps))
    assert history["b"]["value"] == [step + 0.1 for step in range(steps)]
    assert client.get(f"/runs/{run_id}").json()["hwm"]["events"] == steps


def test_sigterm_stops_cleanly(spawn: Callable[..., TrackerServer]) -> None:
    server = spawn()
    client = server.client()
    run_id = client.new_run()
    client.send(run_id, history_records(1, range(100)))
    started = time.monotonic()
    assert server.stop() == 0
    assert time.monotonic() - started < 10
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", server.port), timeout=1).close()
    server.start()  # the data is all there after a restart
    assert_exact_history(server.client(), run_id, 100)


def test_workers_ingest_concurrently_without_losing_or_doubling_rows(spawn: Callable[..., TrackerServer]) -> None:
    server = spawn("--workers", "3")
    steps, batch = 1500, 100
    own_runs = [server.client().new_run() for _ in range(4)]
    shared_run = server.client().new_run()
    records = history_records(1, range(steps))
    jobs = [(run_id, records) for run_id in own_runs] + [(shared_run, records)] * 3  # three clients race on one run
    errors: list[BaseException] = []

    def work(run_id: str, recs: list[list]) -> None:
        client = server.client()
        # a connection per batch: the workers share the listening socket, so kept-alive
        # connections (7) could all land on one busy worker's accept
        client.session.headers["Connection"] = "close"
        try:
            stream(client, run_id, recs, batch)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=job) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors, errors
    client = server.client()
    for run_id in [*own_runs, shared_run]:
        assert_exact_history(client, run_id, steps)
    pids = set(re.findall(r"\[(\d+)\] INFO 200 POST", server.logs()))
    assert len(pids) >= 2, "one worker served every request"
    assert server.stop() == 0


def test_kill_9_mid_stream_then_resume(spawn: Callable[..., TrackerServer]) -> None:
    server = spawn("--workers", "2")  # the whole process group goes
    client = server.client()
    run_id = client.new_run()
    steps = 9000
    records = history_records(1, range(steps))
    killer = threading.Thread(target=server.restart)  # kill -9, then start on the same port and database

    def on_ack(position: int) -> None:
        if position >= steps // 3 and not killer.is_alive() and server.starts == 1:
            killer.start()  # while the client goes on sending

    retries = stream(client, run_id, records, batch=300, on_ack=on_ack)
    killer.join(60)
    assert server.starts == 2
    assert retries > 0, "the kill did not interrupt the stream"
    assert_exact_history(server.client(), run_id, steps)
