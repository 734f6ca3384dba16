"""Token scopes over HTTP: read-only, per-project and admin tokens, and tokens older than scopes."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from jupyter_tracker.server import schema
from jupyter_tracker.server.database import open_engine, writing
from jupyter_tracker.server.migrations import migrate
from jupyter_tracker.server.settings import database_url

from .conftest import Databases
from .processes import Client, TrackerServer, history_records


def token(server: TrackerServer, name: str, *flags: str) -> str:
    done = server.cli("token", "create", "--name", name, *flags)
    return done.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def scoped(server: TrackerServer) -> dict[str, Client]:
    """Clients with each kind of token, and a run in projects "alpha" and "beta" (ids in ``runs``)."""
    clients = {
        "full": server.client(),
        "reader": server.client(token(server, "reader", "--read-only")),
        "alpha": server.client(token(server, "alpha-writer", "--project", "alpha")),
        "alpha-reader": server.client(token(server, "alpha-reader", "--read-only", "--project", "alpha")),
        "admin": server.client(token(server, "root", "--admin")),
    }
    return clients


@pytest.fixture
def runs(scoped: dict[str, Client]) -> dict[str, str]:
    full = scoped["full"]
    return {"alpha": full.new_run(project="alpha"), "beta": full.new_run(project="beta")}


def refused(response, message: str) -> None:  # noqa: ANN001
    assert response.status_code == 403, response.text
    assert response.json() == {"error": message}


def test_read_only_token_reads_everything_and_writes_nothing(scoped: dict[str, Client], runs: dict[str, str]) -> None:
    reader, run_id = scoped["reader"], runs["beta"]
    assert reader.get(f"/runs/{run_id}").status_code == 200
    assert reader.get(f"/runs/{run_id}/history").status_code == 200
    assert {r["id"] for r in reader.get("/runs", params={"limit": 1000}).json()} >= set(runs.values())
    message = "token 'reader' is read-only: it may not write to project 'beta'"
    refused(reader.send(run_id, history_records(1, [0])), message)
    refused(reader.post(f"/runs/{run_id}/heartbeat"), message)
    refused(reader.put(f"/runs/{run_id}/files/a.txt", data=b"x"), message)
    refused(reader.put(f"/runs/{run_id}", json={"name": "renamed"}), message)
    refused(reader.put("/runs/newrun-by-reader", json={"project": "beta"}), message)
    run = scoped["full"].get(f"/runs/{run_id}").json()
    assert run["hwm"] == {"events": 0, "system": 0} and run["name"] is None
    assert scoped["full"].get(f"/runs/{run_id}/files").json() == []
    assert scoped["full"].get("/runs/newrun-by-reader").status_code == 404


def test_project_token_sees_and_changes_its_projects_only(scoped: dict[str, Client], runs: dict[str, str]) -> None:
    alpha, mine, theirs = scoped["alpha"], runs["alpha"], runs["beta"]
    assert alpha.send(mine, history_records(1, range(3))).json() == {"acked": 3}
    assert alpha.put(f"/runs/{mine}/files/a.txt", data=b"x").status_code == 200
    assert alpha.post(f"/runs/{mine}/heartbeat").status_code == 200
    created = alpha.put("/runs/alpha-created", json={"project": "alpha"})
    assert created.status_code == 200
    listed = alpha.get("/runs", params={"limit": 1000}).json()
    assert {r["project"] for r in listed} == {"alpha"} and mine in {r["id"] for r in listed}
    assert [p["name"] for p in alpha.get("/projects").json()] == ["alpha"]
    scoped["full"].send(theirs, [[1, "c", 1.0, {"only_beta": 1}]])
    filtered = alpha.get("/runs", params={"filters": '{"config.only_beta": 1}', "limit": 1000})
    assert filtered.status_code == 200 and filtered.json() == []
    assert "only_beta" in filtered.headers.get("X-Tracker-Notes", "")  # no run *it may read* has the key
    limited = "it is limited to the project 'alpha'"
    refused(alpha.get(f"/runs/{theirs}"), f"token 'alpha-writer' may not read project 'beta': {limited}")
    for path in ("history", "system", "files", "keys"):
        refused(alpha.get(f"/runs/{theirs}/{path}"), f"token 'alpha-writer' may not read project 'beta': {limited}")
    refused(alpha.get("/runs", params={"project": "beta"}),
            f"token 'alpha-writer' may not read project 'beta': {limited}")
    write = f"token 'alpha-writer' may not write to project 'beta': {limited}"
    refused(alpha.send(theirs, history_records(1, [0])), write)
    refused(alpha.post(f"/runs/{theirs}/heartbeat"), write)
    refused(alpha.put(f"/runs/{theirs}/files/b.txt", data=b"x"), write)
    refused(alpha.put("/runs/beta-by-alpha", json={"project": "beta"}), write)
    refused(alpha.put(f"/runs/{mine}", json={"project": "beta"}), write)  # a move needs both projects
    refused(alpha.put(f"/runs/{theirs}", json={"project": "alpha"}), write)
    full = scoped["full"]
    assert full.get(f"/runs/{mine}").json()["project"] == "alpha"
    assert full.get(f"/runs/{theirs}").json()["hwm"]["events"] == 1  # the full token's c record only
    assert full.get("/runs/beta-by-alpha").status_code == 404
    # a read-only project token: reads its project, writes nothing
    reader = scoped["alpha-reader"]
    assert reader.history(mine)["a"]["step"] == [0, 1, 2]
    refused(reader.send(mine, history_records(4, [3])),
            "token 'alpha-reader' is read-only: it may not write to project 'alpha'")


def test_full_token_moves_runs_and_admin_manages_tokens(server: TrackerServer, scoped: dict[str, Client],
                                                        runs: dict[str, str]) -> None:
    full, admin = scoped["full"], scoped["admin"]
    assert full.put(f"/runs/{runs['alpha']}", json={"project": "gamma"}).json()["project"] == "gamma"
    refused(full.get("/tokens"), "token 'tests' is not an admin token: only admin tokens manage tokens")
    refused(full.post("/tokens", json={"name": "x"}), "token 'tests' is not an admin token: only admin tokens manage tokens")
    listed = {t["name"]: t for t in admin.get("/tokens").json()}
    assert listed["alpha-reader"]["access"] == "read" and listed["alpha-reader"]["projects"] == ["alpha"]
    assert listed["tests"]["access"] == "write" and listed["tests"]["projects"] is None
    assert all("hash" not in t and "token" not in t for t in listed.values())
    made = admin.post("/tokens", json={"name": "ci-beta", "access": "write", "projects": ["beta"]}).json()
    ci = server.client(made["token"])
    assert ci.send(runs["beta"], history_records(1, [0])).json() == {"acked": 1}
    bad = admin.post("/tokens", json={"name": "ci-beta"})
    assert bad.status_code == 400 and "exists" in bad.json()["error"]
    bad = admin.post("/tokens", json={"name": "x", "access": "admin", "projects": ["a"]})
    assert bad.status_code == 400 and "cannot be limited" in bad.json()["error"]
    assert admin.request("DELETE", "/tokens/ci-beta").json() == {"name": "ci-beta", "revoked": True}
    assert ci.get("/runs").status_code == 401
    assert admin.request("DELETE", "/tokens/ci-beta").status_code == 404
    refused(full.request("DELETE", "/tokens/reader"), "token 'tests' is not an admin token: only admin tokens manage tokens")


def test_public_servers_read_for_anyone_but_tokens_stay_private(spawn: Callable[..., TrackerServer]) -> None:
    server = spawn("--public")
    run_id = server.client().new_run(project="open")
    anonymous = server.client(token="")
    assert anonymous.get(f"/runs/{run_id}").status_code == 200
    assert anonymous.get("/tokens").status_code == 401
    refused(server.client(token(server, "ro", "--read-only")).send(run_id, history_records(1, [0])),
            "token 'ro' is read-only: it may not write to project 'open'")


def test_tokens_made_before_scopes_keep_full_access(spawn: Callable[..., TrackerServer], databases: Databases,
                                                    tmp_path: Path) -> None:
    db, data = databases.new(), tmp_path / "data"
    engine = open_engine(database_url(db, data))
    old = "an-old-token-made-by-a-server-without-scopes"
    try:
        migrate(engine, target=3)  # the schema before token scopes
        with writing(engine) as conn:
            conn.execute(schema.tokens.insert().values(name="old", hash=hashlib.sha256(old.encode()).hexdigest(),
                                                       created_at=time.time()))
    finally:
        engine.dispose()
    server = spawn(db=db or False, data_dir=data, token_first=False)
    client = server.client(old)
    for project in ("p1", "p2"):
        run_id = client.new_run(project=project)
        assert client.send(run_id, history_records(1, [0])).json() == {"acked": 1}
    assert "old\treads and writes every project" in server.cli("token", "list").stdout


def test_cli_scopes(server: TrackerServer) -> None:
    done = server.cli("token", "create", "--name", "bad", "--admin", "--project", "a", check=False)
    assert done.returncode == 2 and "--admin manages every project" in done.stderr
    done = server.cli("token", "create", "--name", "two", "--project", "a", "--project", "b", "--read-only")
    assert "created (reads projects 'a', 'b')" in done.stdout
    listing = server.cli("token", "list").stdout
    assert "two\treads projects 'a', 'b'\t" in listing and "root\tadmin: every project\t" in listing
    done = server.cli("token", "create", "--name", "nul", "--project", "", check=False)
    assert done.returncode == 2 and "project '' is empty" in done.stderr
