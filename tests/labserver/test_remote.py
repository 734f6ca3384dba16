"""The ``server`` source: a real tracking server behind the lab server, its token never
reaching the browser; the same shapes as the local source."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tornado.httpclient import HTTPClientError

from tests.server.processes import TrackerServer, history_records

from .test_handlers import API, LIST_FIELDS, get

pytestmark = pytest.mark.server


@pytest.fixture(scope="module")
def tracking_server(tmp_path_factory: pytest.TempPathFactory):
    server = TrackerServer(tmp_path_factory.mktemp("tracking")).start()
    server.token = server.create_token("lab")
    client = server.client()
    ids = []
    for name, lr in (("far", 0.1), ("near", 0.01)):
        run_id = client.new_run("remote", name=name, config={"lr": lr})
        records = history_records(1, range(3000), keys=("loss",))
        records.append([3001, "c", 1.8e9, {"lr": lr}])
        assert client.send(run_id, records).status_code == 200
        ids.append(run_id)
    server.ids = ids
    yield server
    server.stop()


@pytest.fixture
def configured(tracking_server, monkeypatch):
    monkeypatch.setenv("TRACKER_HOST", f"http://127.0.0.1:{tracking_server.port}")
    monkeypatch.setenv("TRACKER_API_KEY", tracking_server.token)
    return tracking_server


async def test_the_servers_runs_through_the_lab_server(jp_fetch, configured):
    token = configured.token
    _, sources, _ = await get(jp_fetch, "sources")
    assert [s["id"] for s in sources] == ["local", "server"]
    assert sources[1]["host"] == f"http://127.0.0.1:{configured.port}"
    status, runs, _ = await get(jp_fetch, "runs", source="server", project="remote", order="+config.lr")
    assert status == 200 and [r["name"] for r in runs] == ["near", "far"]
    assert LIST_FIELDS <= set(runs[0])
    _, runs, headers = await get(jp_fetch, "runs", source="server", filters={"config.nope": 1})
    assert runs == [] and "nope" in headers["X-Tracker-Notes"]
    status, run, _ = await get(jp_fetch, f"runs/{configured.ids[0]}", source="server")
    assert status == 200 and run["config"] == {"lr": 0.1} and "info" in run
    _, history, _ = await get(jp_fetch, f"runs/{configured.ids[0]}/history", source="server")
    assert set(history["loss"]) == {"step", "timestamp", "value"} and len(history["loss"]["step"]) <= 2000
    assert history["loss"]["step"][-1] == 2999
    _, both, _ = await get(jp_fetch, "compare", source="server", ids=",".join(configured.ids), keys="loss",
                           smoothing="ema", amount="0.5", samples="50")
    assert list(both) == configured.ids and len(both[configured.ids[1]]["loss"]["smoothed"]) <= 50
    status, body, _ = await get(jp_fetch, "runs/nosuchrun", source="server")
    assert status == 404 and "nosuchrun" in body["error"]
    # the token is kept on the server side: in no answer
    for route in ("sources", "runs", f"runs/{configured.ids[0]}", "projects"):
        response = await jp_fetch(*API, *route.split("/"), params={"source": "server"})
        assert token not in response.body.decode() and token not in json.dumps(dict(response.headers))


async def test_an_unreachable_or_refusing_server_is_a_502_saying_so(jp_fetch, tracking_server, monkeypatch):
    monkeypatch.setenv("TRACKER_HOST", f"http://127.0.0.1:{tracking_server.port}")
    monkeypatch.setenv("TRACKER_API_KEY", "not-a-token")
    status, body, _ = await get(jp_fetch, "runs", source="server")
    assert status == 502 and "refused the token" in body["error"] and "not-a-token" not in body["error"]
    monkeypatch.setenv("TRACKER_HOST", "http://127.0.0.1:9")  # nothing listens there
    status, body, _ = await get(jp_fetch, "runs", source="server")
    assert status == 502 and "cannot be reached" in body["error"]


async def test_login_settings_are_used(jp_fetch, tracking_server, tracker_env: Path, monkeypatch):
    from jupyter_tracker import settings

    settings.write_file(settings.user_settings_path(), {"host": f"http://127.0.0.1:{tracking_server.port}",
                                                        "api_key": tracking_server.token}, private=True)
    status, runs, _ = await get(jp_fetch, "runs", source="server", project="remote")
    assert status == 200 and len(runs) == 2
    with pytest.raises(HTTPClientError) as caught:
        await jp_fetch(*API, "runs", params={"source": "server"}, headers={"Authorization": ""})
    assert caught.value.code == 403
