"""Every ``/tracker/api/`` handler through a real Jupyter server (pytest-jupyter's ``jp_fetch``):
authentication, the tracking server's shapes, errors."""

from __future__ import annotations

import asyncio
import json
import math
import os
import time

import orjson
import pytest
from tornado.httpclient import HTTPClientError

import jupyter_tracker as tracker
from jupyter_tracker.records import restore_floats

from .conftest import make_run

API = ("tracker", "api")
#: The fields of a run in the tracking server's GET /runs (docs/api.md).
LIST_FIELDS = {"id", "project", "name", "group", "job_type", "tags", "notes", "state", "exit_code", "created_at",
               "updated_at", "heartbeat_at", "last_step", "hwm", "summary", "config"}
FULL_FIELDS = LIST_FIELDS | {"info", "metrics", "missing", "missing_records"}

ENDPOINTS = ["sources", "projects", "runs", "runs/{id}", "runs/{id}/history", "runs/{id}/system", "runs/{id}/files",
             "runs/{id}/files/code/cells.py", "compare?ids={id}", "status"]


async def get(jp_fetch, route: str, **params) -> tuple[int, object, dict]:
    """GET ``/tracker/api/<route>``: (status, decoded JSON, headers); errors do not raise."""
    query = {k: (v if isinstance(v, str) else json.dumps(v)) for k, v in params.items()}
    try:
        response = await jp_fetch(*API, *route.split("/"), params=query)
    except HTTPClientError as exc:
        response = exc.response
        assert response is not None, exc
    body = response.body
    ctype = response.headers.get("Content-Type", "")
    value = restore_floats(orjson.loads(body)) if "json" in ctype and body else body
    return response.code, value, dict(response.headers)


@pytest.mark.parametrize("endpoint", ENDPOINTS)
async def test_every_endpoint_refuses_a_request_without_credentials(jp_fetch, three_runs, endpoint):
    path = endpoint.format(id=three_runs[0].id)
    for headers in ({"Authorization": ""}, {"Authorization": "token wrong-token"}):
        with pytest.raises(HTTPClientError) as caught:
            await jp_fetch(*API, *path.split("?")[0].split("/"), headers=headers)
        assert caught.value.code == 403, (path, headers)
        assert three_runs[0].id not in (caught.value.response.body or b"").decode()


async def test_runs_in_the_tracking_servers_shape(jp_fetch, three_runs):
    status, runs, headers = await get(jp_fetch, "runs")
    assert status == 200
    assert [r["name"] for r in runs] == ["c", "b", "a"]  # newest first
    for run in runs:
        assert LIST_FIELDS <= set(run), sorted(LIST_FIELDS - set(run))
        assert "info" not in run and "metrics" not in run
        assert run["state"] == "finished" and run["last_step"] == 4
        assert run["summary"]["loss"] == pytest.approx(0.2)
        assert run["sync"] == {"status": "offline", "message": None}
    assert "X-Tracker-Notes" not in headers


async def test_runs_filters_order_and_notes(jp_fetch, three_runs):
    _, runs, _ = await get(jp_fetch, "runs", project="p", order="+config.lr")
    assert [r["name"] for r in runs] == ["b", "a"]
    _, runs, _ = await get(jp_fetch, "runs", filters={"config.lr": {"$gte": 0.05}}, order="display_name")
    assert [r["name"] for r in runs] == ["a", "c"]
    _, runs, _ = await get(jp_fetch, "runs", filters={"$or": [{"display_name": "b"}, {"project": "q"}]})
    assert [r["name"] for r in runs] == ["c", "b"]
    _, runs, _ = await get(jp_fetch, "runs", limit="1", offset="1")
    assert [r["name"] for r in runs] == ["b"]
    status, runs, headers = await get(jp_fetch, "runs", filters={"config.lr2": 1})
    assert status == 200 and runs == []
    assert json.loads(headers["X-Tracker-Notes"]) == ["no run has config key 'lr2'"]
    status, runs, headers = await get(jp_fetch, "runs", project="nope")
    assert status == 200 and runs == [] and "nope" in headers["X-Tracker-Notes"]


@pytest.mark.parametrize("params, names", [
    ({"filters": {"config.lr": {"$gtt": 1}}}, "$gtt"),
    ({"filters": "{not json"}, "filters is not valid JSON"),
    ({"filters": "[1]"}, "filters must be a JSON object"),
    ({"state": "sleeping"}, "state must be one of"),
    ({"limit": "x"}, "limit must be an integer"),
    ({"source": "elsewhere"}, "unknown source 'elsewhere'"),
    ({"source": "server"}, "no tracking server is configured"),
])
async def test_bad_listings_are_400_naming_the_problem(jp_fetch, three_runs, params, names):
    raw = {k: v for k, v in params.items()}
    status, body, _ = await get(jp_fetch, "runs", **raw)
    assert status == 400 and names in body["error"], body


async def test_one_run_in_full(jp_fetch, three_runs):
    run = three_runs[0]
    status, body, _ = await get(jp_fetch, f"runs/{run.id}")
    assert status == 200 and FULL_FIELDS <= set(body), sorted(FULL_FIELDS - set(body))
    assert body["id"] == run.id and body["config"] == {"lr": 0.1}
    assert body["missing"] == {"events": [], "system": []} and body["missing_records"] == {"events": 0, "system": 0}
    assert body["read_report"]["corrupt"] == 0 and body["info"]["project"] == "p"
    status, body, _ = await get(jp_fetch, "runs/nosuchrun")
    assert status == 404 and body == {"error": "no run 'nosuchrun'"}
    status, body, _ = await get(jp_fetch, "runs/.bad")
    assert status == 400 and "invalid run id" in body["error"]


async def test_history_is_the_servers_schema_and_never_more_than_2000_points(jp_fetch, tracker_env):
    run = tracker.init(project="long", mode="offline")
    for i in range(5000):
        run.log({"loss": float(i % 97) if i != 1234 else 1e6, "odd": math.nan if i == 3 else float(i)})
    run.finish()
    status, body, _ = await get(jp_fetch, f"runs/{run.id}/history")
    assert status == 200 and set(body) == {"loss", "odd"}
    loss = body["loss"]
    assert set(loss) == {"step", "timestamp", "value"}
    assert 1000 < len(loss["step"]) <= 2000 and len(loss["value"]) == len(loss["step"]) == len(loss["timestamp"])
    assert loss["step"][0] == 0 and loss["step"][-1] == 4999 and 1e6 in loss["value"]  # extremes and ends kept
    assert loss["step"] == sorted(loss["step"])
    assert any(isinstance(v, float) and math.isnan(v) for v in body["odd"]["value"])  # NaN travels tagged
    _, body, _ = await get(jp_fetch, f"runs/{run.id}/history", keys="odd", samples="10", min_step="100",
                           max_step="200")
    assert set(body) == {"odd"} and len(body["odd"]["step"]) <= 10
    assert body["odd"]["step"][0] == 100 and body["odd"]["step"][-1] == 200
    status, body, _ = await get(jp_fetch, f"runs/{run.id}/history", samples="2001")
    assert status == 400 and "samples must be between 1 and 2000" in body["error"]


async def test_history_smoothed_on_every_point(jp_fetch, tracker_env):
    from jupyter_tracker.numerics.smoothing import ema

    run = tracker.init(project="smooth", mode="offline")
    values = [float((i * 7919) % 101) for i in range(3000)]
    for v in values:
        run.log({"noisy": v})
    run.finish()
    _, body, _ = await get(jp_fetch, f"runs/{run.id}/history", smoothing="ema", amount="0.9", samples="100")
    noisy = body["noisy"]
    full = ema(values, 0.9)
    assert len(noisy["smoothed"]) == len(noisy["step"]) <= 100
    assert noisy["smoothed"] == pytest.approx([full[s] for s in noisy["step"]])
    status, body, _ = await get(jp_fetch, f"runs/{run.id}/history", smoothing="ema", amount="2")
    assert status == 400 and "amount" in body["error"]
    status, body, _ = await get(jp_fetch, f"runs/{run.id}/history", smoothing="median")
    assert status == 400 and "smoothing must be one of" in body["error"]


async def test_compare_reads_several_runs_in_one_request(jp_fetch, three_runs):
    ids = [r.id for r in three_runs]
    status, body, _ = await get(jp_fetch, "compare", ids=",".join(ids), keys="loss")
    assert status == 200 and list(body) == ids
    for run_id in ids:
        assert set(body[run_id]) == {"loss"} and body[run_id]["loss"]["step"] == [0, 1, 2, 3, 4]
    status, body, _ = await get(jp_fetch, "compare", ids=f"{ids[0]},nosuchrun")
    assert status == 404 and "nosuchrun" in body["error"]
    status, body, _ = await get(jp_fetch, "compare")
    assert status == 400 and "ids is needed" in body["error"]


async def test_system_records(jp_fetch, tracker_env):
    run = tracker.init(project="sys", mode="offline")
    deadline = time.monotonic() + 20
    while not run.path.joinpath("system.log").exists() or run.path.joinpath("system.log").stat().st_size == 0:
        assert time.monotonic() < deadline, "the service wrote no system record"
        await asyncio.sleep(0.2)
    run.finish()
    status, body, _ = await get(jp_fetch, f"runs/{run.id}/system")
    assert status == 200 and body and all("_timestamp" in r for r in body)
    _, thinned, _ = await get(jp_fetch, f"runs/{run.id}/system", samples="1")
    assert thinned == body[-1:]


async def test_files_listing_and_download(jp_fetch, tracker_env, tmp_path):
    run = tracker.init(project="files", mode="offline")
    (tmp_path / "model.txt").write_text("weights")
    os.chdir(tmp_path)
    run.save("model.txt", policy="now")
    run.finish()
    _, files, _ = await get(jp_fetch, f"runs/{run.id}/files")
    paths = [f["path"] for f in files]
    assert "model.txt" in paths
    assert {"path", "size", "sha256", "policy", "logged_at", "uploaded_at", "uploaded"} <= set(files[0])
    response = await jp_fetch(*API, "runs", run.id, "files", "model.txt")
    assert response.body == b"weights" and response.headers["Content-Type"] == "application/octet-stream"


@pytest.fixture
def run_with_secrets(tracker_env, tmp_path):
    """A run whose files/ holds a symlink to a file outside it and one to a folder outside it."""
    run = make_run("sec", "s")
    secret = tmp_path / "secret.txt"
    secret.write_text("top secret")
    files = run.path / "files"
    files.mkdir(exist_ok=True)
    (files / "inside.txt").write_text("fine")
    os.symlink(secret, files / "link.txt")
    os.symlink(tmp_path, files / "outside")
    return run


@pytest.mark.parametrize("path, status", [
    ("..%2F..%2Frun.json", 400),
    ("%2E%2E/run.json", 400),
    ("a/../../run.json", 400),
    ("%2Fetc%2Fpasswd", 400),
    ("/etc/passwd", 400),
    ("link.txt", 404),
    ("outside/secret.txt", 404),
    ("nothing.txt", 404),
    ("inside.txt%00.png", 400),
])
async def test_paths_never_escape_the_run_directory(jp_fetch, http_server_client, jp_base_url, jp_auth_header,
                                                     run_with_secrets, path, status):
    run = run_with_secrets
    # jp_fetch would quote the path again: send it exactly as written here
    url = f"{jp_base_url}tracker/api/runs/{run.id}/files/{path}"
    with pytest.raises(HTTPClientError) as caught:
        await http_server_client.fetch(url, headers=jp_auth_header)
    assert caught.value.code == status, caught.value.response.body
    body = caught.value.response.body or b""
    assert b"top secret" not in body and b'"id"' not in body
    _, files, _ = await get(jp_fetch, f"runs/{run.id}/files")
    assert [f["path"] for f in files] == ["inside.txt"]  # what a download would refuse is not listed


async def test_status_names_the_notebooks_run(jp_fetch, jp_root_dir, tracker_env, monkeypatch):
    notebook = jp_root_dir / "exp.ipynb"
    monkeypatch.setenv("JPY_SESSION_NAME", str(notebook))
    run = make_run("nb", "from-notebook")
    monkeypatch.delenv("JPY_SESSION_NAME")
    make_run("nb", "other")
    _, body, _ = await get(jp_fetch, "status", path="exp.ipynb")
    assert body["run"]["id"] == run.id and body["live"] == 0
    _, body, _ = await get(jp_fetch, "status", path="elsewhere.ipynb")
    assert body == {"run": None, "live": 0}


async def test_sources_and_projects(jp_fetch, three_runs, tracker_env):
    _, sources, _ = await get(jp_fetch, "sources")
    assert sources == [{"id": "local", "label": "Local runs", "dirs": [str(tracker_env)]}]
    _, projects, _ = await get(jp_fetch, "projects")
    assert projects == [{"name": "p", "runs": 2}, {"name": "q", "runs": 1}]


async def test_a_refresh_without_change_is_a_304_and_a_change_shows(jp_fetch, three_runs):
    response = await jp_fetch(*API, "runs")
    etag = response.headers["Etag"]
    with pytest.raises(HTTPClientError) as caught:
        await jp_fetch(*API, "runs", headers={"If-None-Match": etag})
    assert caught.value.code == 304
    make_run("p", "d")
    response = await jp_fetch(*API, "runs", headers={"If-None-Match": etag})
    assert response.code == 200 and json.loads(response.body)[0]["name"] == "d"


async def test_a_live_run_and_its_death(jp_fetch, tracker_env):
    run = tracker.init(project="live", mode="offline")
    run.log({"x": 1.0})
    run._writer.drain()
    _, runs, _ = await get(jp_fetch, "runs")
    assert runs[0]["state"] == "running" and runs[0]["last_step"] == 0
    run.log({"x": 2.0})
    run._writer.drain()
    _, runs, _ = await get(jp_fetch, "runs")
    assert runs[0]["last_step"] == 1 and runs[0]["summary"]["x"] == 2.0  # the change is seen
    run.finish()
    _, runs, _ = await get(jp_fetch, "runs")
    assert runs[0]["state"] == "finished"


async def test_a_damaged_log_is_listed_with_its_read_report(jp_fetch, tracker_env):
    run = make_run("dmg", "d", steps=20)
    events = run.path / "events.log"
    data = bytearray(events.read_bytes())
    middle = len(data) // 2
    data[middle:middle + 8] = b"#garbage"
    events.write_bytes(bytes(data))
    _, runs, _ = await get(jp_fetch, "runs")
    assert runs[0]["id"] == run.id
    _, body, _ = await get(jp_fetch, f"runs/{run.id}")
    assert body["read_report"]["corrupt"] >= 1 and body["read_report"]["problems"]

