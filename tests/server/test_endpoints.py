"""The REST API over HTTP, against one real server per backend."""

from __future__ import annotations

import math

import orjson
import pytest

from jupyter_tracker.records import jsonable, restore_floats

from .processes import Client, TrackerServer, history_records


@pytest.fixture
def client(server: TrackerServer) -> Client:
    return server.client()


def test_health_needs_no_token(server: TrackerServer) -> None:
    response = server.client(token="").get("/health")
    assert response.status_code == 200
    from jupyter_tracker import __version__

    assert response.json() == {"ok": True, "version": __version__}


def test_run_upsert_get_list_projects(client: Client) -> None:
    run_id = client.new_run(project="proj-a", name="first", group="g", job_type="train", tags=["x"], notes="n",
                            host="node1", created_at=1000.0)
    run = client.get(f"/runs/{run_id}").json()
    assert run["id"] == run_id and run["project"] == "proj-a" and run["name"] == "first"
    assert (run["group"], run["job_type"], run["tags"], run["notes"]) == ("g", "train", ["x"], "n")
    assert run["state"] == "running" and run["hwm"] == {"events": 0, "system": 0}
    assert run["info"]["host"] == "node1" and run["created_at"] == 1000.0
    # an update keeps what it does not say
    response = client.put(f"/runs/{run_id}", json={"name": "renamed", "state": "finished"})
    assert response.status_code == 200
    run = response.json()
    assert run["name"] == "renamed" and run["project"] == "proj-a" and run["state"] == "finished"
    assert run["info"]["host"] == "node1"
    second = client.new_run(project="proj-a", created_at=2000.0)
    client.new_run(project="proj-b", created_at=3000.0)
    listed = client.get("/runs", params={"project": "proj-a"}).json()
    assert [r["id"] for r in listed] == [second, run_id]  # newest first
    assert [r["id"] for r in client.get("/runs", params={"project": "proj-a", "limit": 1, "offset": 1}).json()] == [run_id]
    finished = client.get("/runs", params={"project": "proj-a", "state": "finished"}).json()
    assert [r["id"] for r in finished] == [run_id]
    projects = {p["name"]: p["runs"] for p in client.get("/projects").json()}
    assert projects["proj-a"] == 2 and projects["proj-b"] == 1


@pytest.mark.parametrize(
    ("method", "path", "params"),
    [("GET", "/runs", {"limit": "x"}), ("GET", "/runs", {"limit": "0"}), ("GET", "/runs", {"state": "odd"}),
     ("GET", "/runs/bad%20id", {}), ("GET", "/runs/..", {})],
)
def test_bad_queries_are_400(client: Client, method: str, path: str, params: dict) -> None:
    response = client.request(method, path, params=params)
    assert response.status_code in (400, 404), response.text
    assert "error" in response.json()


@pytest.mark.parametrize(
    "path", ["/runs/nope0000", "/runs/nope0000/history", "/runs/nope0000/system", "/runs/nope0000/files",
             "/runs/nope0000/files/a.txt"],
)
def test_unknown_run_is_404(client: Client, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert response.json() == {"error": "no run 'nope0000'"} or "nope0000" in response.json()["error"]


def test_writes_to_an_unknown_run_are_404(client: Client) -> None:
    assert client.send("nope0001", history_records(1, [0])).status_code == 404
    assert client.post("/runs/nope0001/heartbeat").status_code == 404
    assert client.put("/runs/nope0001/files/a.txt", data=b"x").status_code == 404
    assert client.get("/nowhere").status_code == 404


@pytest.mark.parametrize("body", [b"{bad", b"[1, 2", b"", b"\xff\xfe", b"nan"])
def test_malformed_json_is_400_with_a_message(client: Client, body: bytes) -> None:
    run_id = client.new_run()
    for method, path in (("POST", f"/runs/{run_id}/records"), ("PUT", f"/runs/{run_id}")):
        response = client.request(method, path, data=body)
        assert response.status_code == 400
        assert response.json()["error"]


def test_wrongly_shaped_bodies_are_400(client: Client) -> None:
    run_id = client.new_run()
    assert client.put(f"/runs/{run_id}", json=[1]).status_code == 400
    assert client.put(f"/runs/{run_id}", json={"tags": "x"}).status_code == 400
    assert client.put(f"/runs/{run_id}", json={"state": "sleeping"}).status_code == 400
    assert client.put(f"/runs/{run_id}", json={"id": "other"}).status_code == 400
    response = client.post(f"/runs/{run_id}/records", json={"log": "events"})
    assert response.status_code == 400 and "first_seq" in response.json()["error"]


def test_idempotent_ingest_over_http(client: Client) -> None:
    run_id = client.new_run()
    batch = history_records(1, range(10))
    assert client.send(run_id, batch).json() == {"acked": 10}
    assert client.send(run_id, batch).json() == {"acked": 10}
    assert client.send(run_id, history_records(6, range(5, 20))).json() == {"acked": 20}
    response = client.send(run_id, history_records(25, range(30, 32)))
    assert response.status_code == 409
    assert response.json() == {"error": "gap", "expected": 21}
    history = client.history(run_id)
    assert history["a"]["step"] == list(range(20)) and history["b"]["value"][:2] == [0.1, 1.1]
    assert client.get(f"/runs/{run_id}").json()["hwm"]["events"] == 20


def test_nan_and_infinities_round_trip(client: Client) -> None:
    nan, inf = math.nan, math.inf
    run_id = client.new_run(extra={"x": nan})
    records = [
        [1, "c", 1.0, {"lr": inf, "nested": {"low": -inf, "bad": nan}}],
        [2, "h", 0, 2.0, {"a": nan, "b": inf, "c": -inf}],
        [3, "s", 2.0, {"set": {"manual": -inf}}],
    ]
    assert client.send(run_id, records).status_code == 200
    raw = client.get(f"/runs/{run_id}").content
    assert b'{"$float":"NaN"}' in raw and b'{"$float":"-Infinity"}' in raw
    run = restore_floats(orjson.loads(raw))
    assert run["config"]["lr"] == inf and run["config"]["nested"]["low"] == -inf
    assert math.isnan(run["config"]["nested"]["bad"]) and math.isnan(run["info"]["extra"]["x"])
    assert math.isnan(run["summary"]["a"]) and run["summary"]["b"] == inf and run["summary"]["manual"] == -inf
    history = restore_floats(client.history(run_id))
    assert math.isnan(history["a"]["value"][0]) and history["b"]["value"] == [inf] and history["c"]["value"] == [-inf]
    assert jsonable(history["a"]["value"]) == [{"$float": "NaN"}]


def test_history_keys_ranges_and_samples(client: Client) -> None:
    run_id = client.new_run()
    records = [[i + 1, "h", i, 100.0 + i, {"loss": float((i * 37) % 101), "acc,odd": float(i)}] for i in range(3000)]
    records[1500][4]["loss"] = 1000.0
    assert client.send(run_id, records).status_code == 200
    both = client.history(run_id)
    assert set(both) == {"loss", "acc,odd"} and len(both["loss"]["step"]) == 3000
    only = client.history(run_id, keys="loss")
    assert list(only) == ["loss"]
    odd = client.history(run_id, key="acc,odd", min_step=10, max_step=19)
    assert odd["acc,odd"]["step"] == list(range(10, 20))
    few = client.history(run_id, keys="loss", samples=50)["loss"]
    assert len(few["step"]) <= 50 and few["step"][0] == 0 and few["step"][-1] == 2999
    assert 1000.0 in few["value"] and 0.0 in few["value"]
    assert client.history(run_id, keys="missing") == {"missing": {"step": [], "timestamp": [], "value": []}}


def test_system_records(client: Client) -> None:
    run_id = client.new_run()
    records = [[1, "sys", 30.0, {"host/cpu_percent": 12.5, "_samples": 15, "_window_s": 30.0}],
               [2, "sys", 60.0, {"host/cpu_percent": math.nan, "_samples": 15, "_window_s": 30.0}]]
    assert client.send(run_id, records, log="system").json() == {"acked": 2}
    system = restore_floats(client.get(f"/runs/{run_id}/system").json())
    assert system[0] == {"_timestamp": 30.0, "host/cpu_percent": 12.5, "_samples": 15, "_window_s": 30.0}
    assert math.isnan(system[1]["host/cpu_percent"])
    assert client.get(f"/runs/{run_id}").json()["hwm"] == {"events": 0, "system": 2}


def test_files_upload_download_list(client: Client) -> None:
    run_id = client.new_run()
    client.send(run_id, [[1, "f", 1.0, {"path": "code/cells.py", "policy": "now"}]])
    data = bytes(range(256)) * 1000
    response = client.put(f"/runs/{run_id}/files/code/cells.py", data=data)
    assert response.status_code == 200 and response.json()["size"] == len(data)
    assert client.put(f"/runs/{run_id}/files/out/model%20v1.bin", data=b"weights").status_code == 200
    assert client.get(f"/runs/{run_id}/files/code/cells.py").content == data
    assert client.get(f"/runs/{run_id}/files/out/model v1.bin").content == b"weights"
    listed = {f["path"]: f for f in client.get(f"/runs/{run_id}/files").json()}
    assert listed["code/cells.py"]["policy"] == "now" and listed["code/cells.py"]["uploaded"] is True
    assert listed["out/model v1.bin"]["size"] == 7
    assert client.get(f"/runs/{run_id}/files/absent.txt").status_code == 404
    # a newer upload replaces the file
    client.put(f"/runs/{run_id}/files/code/cells.py", data=b"v2")
    assert client.get(f"/runs/{run_id}/files/code/cells.py").content == b"v2"
    # a file cannot also be a directory
    assert client.put(f"/runs/{run_id}/files/code/cells.py/inner", data=b"x").status_code == 409
    assert client.put(f"/runs/{run_id}/files/code", data=b"x").status_code == 409


@pytest.mark.parametrize(
    "path", ["..%2Fescape", "a%2F..%2F..%2Fescape", "%2Fetc%2Fpasswd", "a%00b", "a%5Cb", "%2e%2e/x", "..", "a/../../x"],
)
def test_file_paths_that_escape_are_400(server: TrackerServer, client: Client, path: str) -> None:
    import http.client

    run_id = client.new_run()
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    connection.request("PUT", f"/api/v1/runs/{run_id}/files/{path}", body=b"x",
                       headers={"Authorization": f"Bearer {server.token}"})
    response = connection.getresponse()
    body = response.read()
    connection.close()
    assert response.status == 400, body
    assert "path" in orjson.loads(body)["error"]
    assert not any(p.name == "escape" for p in server.data_dir.rglob("escape"))


def test_heartbeat(client: Client) -> None:
    run_id = client.new_run()
    before = client.get(f"/runs/{run_id}").json()["heartbeat_at"]
    beat = client.post(f"/runs/{run_id}/heartbeat")
    assert beat.status_code == 200 and beat.json()["state"] == "running"
    assert client.get(f"/runs/{run_id}").json()["heartbeat_at"] >= before


def test_declared_holes_over_http(server: TrackerServer, client: Client) -> None:
    run_id = client.new_run()
    records = [r for r in history_records(1, range(900)) if not 256 <= r[0] <= 511]
    body = {"log": "events", "first_seq": 1, "last_seq": 900, "records": records, "missing": [[256, 511]]}
    for _ in range(2):  # resent: nothing doubled
        response = client.post(f"/runs/{run_id}/records", data=orjson.dumps(body))
        assert response.status_code == 200 and response.json() == {"acked": 900}
    run = client.get(f"/runs/{run_id}").json()
    assert run["hwm"]["events"] == 900
    assert run["missing"] == {"events": [[256, 511]], "system": []}
    assert run["missing_records"] == {"events": 256, "system": 0}
    steps = [r[2] for r in records]
    assert client.history(run_id)["a"]["step"] == steps
    import jupyter_tracker as tracker

    remote = tracker.Api(host=f"http://127.0.0.1:{server.port}", api_key=server.token).run(run_id)
    assert remote.missing == {"events": [[256, 511]], "system": []}
    bad = dict(body, missing=[[256, 511], [512, 600]])
    response = client.post(f"/runs/{run_id}/records", data=orjson.dumps(bad))
    assert response.status_code == 400
    assert response.json()["error"].startswith("missing[1] [512, 600] is adjacent to missing[0] [256, 511]")


def test_head_is_get_without_a_body(client: Client) -> None:
    run_id = client.new_run()
    client.send(run_id, history_records(1, range(3)))
    client.put(f"/runs/{run_id}/files/a.bin", data=b"x" * 1000)
    for path in ("/health", "/runs", f"/runs/{run_id}", f"/runs/{run_id}/history", f"/runs/{run_id}/files/a.bin",
                 "/runs/nope0000"):
        got, head = client.get(path), client.request("HEAD", path)
        assert head.status_code == got.status_code, path
        assert head.content == b""
        assert head.headers["Content-Length"] == str(len(got.content)), path
        assert head.headers["Content-Type"] == got.headers["Content-Type"]
    assert client.request("HEAD", f"/runs/{run_id}/records").status_code == 405  # no GET there
    for method in ("DELETE", "PATCH"):
        response = client.request(method, f"/runs/{run_id}")
        assert response.status_code == 405 and response.json()["error"].lower() == "method not allowed"


def test_bearer_is_case_insensitive(server: TrackerServer) -> None:
    for scheme in ("bearer", "BEARER", "Bearer"):
        headers = {"Authorization": f"{scheme} {server.token}"}
        assert server.client(token="").get("/runs", headers=headers).status_code == 200


def test_unknown_kinds_are_ignored_with_or_without_payload(client: Client) -> None:
    run_id = client.new_run()
    records = [[1, "future"], [2, "future", 1.0], [3, "h", 0, 1.0, {"a": 1.0}], [4, "later", "x", {"y": [1]}, 5],
               [5, "h", 1, 2.0, {"a": 2.0}]]
    assert client.send(run_id, records).json() == {"acked": 5}
    assert client.history(run_id)["a"]["step"] == [0, 1]
    assert client.send(run_id, [[1, "future"], [2, "sys", 1.0, {"cpu": 1.0}]], log="system").json() == {"acked": 2}


@pytest.mark.parametrize(("log", "record", "message"), [
    ("system", [1, "h", 0, 1.0, {"a": 1.0}], "record 1: 'h' records belong in the events log, not the system log"),
    ("events", [1, "sys", 1.0, {"cpu": 1.0}], "record 1: 'sys' records belong in the system log, not the events log"),
])
def test_records_sent_to_the_other_log_are_400(client: Client, log: str, record: list, message: str) -> None:
    run_id = client.new_run()
    response = client.send(run_id, [record], log=log)
    assert response.status_code == 400 and response.json() == {"error": message}
    assert client.get(f"/runs/{run_id}").json()["hwm"] == {"events": 0, "system": 0}


@pytest.mark.parametrize(("field", "value", "message"), [
    ("project", "p" * 257, "'project' is 257 characters; the limit is 256"),
    ("name", "n" * 1025, "'name' is 1025 characters; the limit is 1024"),
    ("notes", "n" * 100_001, "'notes' is 100001 characters; the limit is 100000"),
    ("name", "a\x00b", "'name' holds a NUL character"),
    ("tags", ["t"] * 1001, "1001 tags; the limit is 1000"),
    ("tags", ["t" * 1025], "is 1025 characters; the limit is 1024"),
    ("group", 7, "'group' must be a string, got int"),
])
def test_run_fields_over_the_shared_limits_are_400(client: Client, field: str, value: object, message: str) -> None:
    from jupyter_tracker import limits

    run_id = client.new_run()
    response = client.put(f"/runs/{run_id}", json={field: value})
    assert response.status_code == 400 and message in response.json()["error"]
    response = client.send(run_id, [[1, "meta", 1.0, {field: value}]])
    if field != "project":  # a meta record does not move a run
        assert response.status_code == 400 and message in response.json()["error"]
    assert limits.MAX_PROJECT_LENGTH == 256 and limits.MAX_TEXT_LENGTH == 1024  # the figures above


def test_history_pages_and_its_key_cap(client: Client) -> None:
    from jupyter_tracker.limits import MAX_HISTORY_KEYS

    run_id = client.new_run()
    names = [f"m{i:05d}" for i in range(MAX_HISTORY_KEYS + 1)]
    records = [[1, "h", 0, 1.0, {name: 1.0 for name in names[:-1]}], [2, "h", 1, 2.0, {names[-1]: 2.0, "m00000": 3.0}]]
    assert client.send(run_id, records).status_code == 200
    keys = client.get(f"/runs/{run_id}/keys").json()
    assert list(keys) == names and keys["m00000"] == 2 and keys["m00001"] == 1
    response = client.get(f"/runs/{run_id}/history")  # every metric: one too many
    assert response.status_code == 400
    assert response.json()["error"].startswith(f"the run has {MAX_HISTORY_KEYS + 1} metrics and one request reads "
                                               f"at most {MAX_HISTORY_KEYS}: page through them with offset= and limit=")
    first = client.history(run_id, limit=MAX_HISTORY_KEYS)
    rest = client.history(run_id, offset=MAX_HISTORY_KEYS)
    assert list(first) == names[:-1] and list(rest) == names[-1:]
    assert first["m00000"] == {"step": [0, 1], "timestamp": [1.0, 2.0], "value": [1.0, 3.0]}
    assert rest[names[-1]] == {"step": [1], "timestamp": [2.0], "value": [2.0]}
    assert list(client.history(run_id, offset=5, limit=3)) == names[5:8]
    response = client.get(f"/runs/{run_id}/history", params={"limit": MAX_HISTORY_KEYS + 1})
    assert response.status_code == 400 and "limit must be between 1 and" in response.json()["error"]
    many = ",".join(f"m{i:05d}" for i in range(MAX_HISTORY_KEYS + 1))  # a URL of 70 kB
    assert len(client.history(run_id, keys=many[:-7])) == MAX_HISTORY_KEYS
    response = client.get(f"/runs/{run_id}/history", params={"keys": many})
    assert response.status_code == 400
    assert response.json()["error"] == f"{MAX_HISTORY_KEYS + 1} keys asked for; one request reads at most {MAX_HISTORY_KEYS}"


def test_the_client_pages_over_the_keys_of_a_run_with_more_than_one_request_reads(
    server: TrackerServer, client: Client
) -> None:
    """More metrics than MAX_HISTORY_KEYS: the server refuses to read them in one request
    (it says to page), and Api(host=...) pages over them without being asked to."""
    from jupyter_tracker.limits import MAX_HISTORY_KEYS

    import jupyter_tracker as tracker

    run_id = client.new_run()
    names = [f"m{i:05d}" for i in range(MAX_HISTORY_KEYS + 3)]
    half = len(names) // 2
    records = [[1, "h", 0, 1.8e9, {name: float(i) for i, name in enumerate(names[:half])}],
               [2, "h", 1, 1.8e9 + 1, {name: float(i) for i, name in enumerate(names[half:], half)}]]
    assert client.send(run_id, records).status_code == 200
    refused = client.get(f"/runs/{run_id}/history")
    assert refused.status_code == 400 and "page through them" in refused.json()["error"]

    remote = tracker.Api(host=f"http://127.0.0.1:{server.port}", api_key=server.token).run(run_id)
    columns = remote.columns()
    assert sorted(columns) == names
    assert columns[names[-1]]["step"].tolist() == [1] and columns[names[-1]]["value"].tolist() == [len(names) - 1.0]
    named = remote.columns(keys=names)  # named: more names than one request takes, in pieces
    assert sorted(named) == names and named[names[0]]["value"].tolist() == [0.0]
    rows = remote.history(pandas=False)
    assert [len(row) for row in rows] == [half + 2, len(names) - half + 2]  # + _step, _timestamp
