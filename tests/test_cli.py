import os
import subprocess
import sys

import pytest

import jupyter_tracker as tracker
from jupyter_tracker import settings
from tests.server.conftest import backend, databases, server, spawn_module  # noqa: F401 - fixtures


def cli(*args, check=True):
    return subprocess.run([sys.executable, "-m", "jupyter_tracker.cli", *args], capture_output=True, text=True, check=check)


def test_help_lists_commands():
    out = cli("--help").stdout
    assert "ls" in out and "off" in out and "on" in out


def test_ls_shows_runs_steps_and_last_values(tracker_env):
    run = tracker.init(project="demo", name="first")
    for i in range(3):
        run.log({"loss": 1.0 / (i + 1), "acc": i / 10, "weights": tracker.Histogram([1.0, 2.0, 3.0])})
    run.finish()
    other = tracker.init(project="other", name="second")
    other.finish()
    out = cli("ls").stdout
    assert out.splitlines()[0].split()[:5] == ["ID", "NAME", "PROJECT", "STATE", "STEPS"]
    line = next(l for l in out.splitlines() if run.id in l)
    assert "first" in line and "finished" in line and " 3 " in line
    assert "loss=0.3333" in line and "acc=0.2" in line and "weights=<histogram>" in line
    assert "second" in out
    only = cli("ls", "--project", "demo").stdout
    assert "second" not in only and "first" in only
    assert "no runs" in cli("ls", "--project", "nothing").stdout


def test_off_and_on_write_the_default_mode(tracker_env):
    assert "offline" in cli("off").stdout
    assert settings.read_file(settings.dir_settings_path())["mode"] == "offline"
    assert "online" in cli("on").stdout
    assert settings.read_file(settings.dir_settings_path())["mode"] == "online"
    assert "offline" in cli("offline").stdout  # wandb's names for the same commands
    assert settings.read_file(settings.dir_settings_path())["mode"] == "offline"
    assert "online" in cli("online").stdout
    assert settings.read_file(settings.dir_settings_path())["mode"] == "online"


def test_console_script_is_installed():
    import shutil

    exe = shutil.which("tracker") or str(__import__("pathlib").Path(sys.executable).parent / "tracker")
    out = subprocess.run([exe, "--version"], capture_output=True, text=True, check=True).stdout
    assert out.strip() == tracker.__version__


def test_ls_filters_and_sorts_through_the_query_layer(tracker_env):
    made = {}
    for lr in (0.1, 0.03, 0.01):
        run = tracker.init(project="sweep", name=f"lr{lr}", group="small" if lr < 0.05 else "big",
                           config={"lr": lr}, tags=["a"] if lr == 0.1 else [])
        run.log({"val/acc": lr * 5})
        run.finish()
        made[lr] = run.id

    def ids(*args):
        done = cli("ls", "--project", "sweep", *args)
        return [line.split()[0] for line in done.stdout.splitlines()[1:]]

    assert ids("--where", "config.lr<0.05", "--sort=-summary.val/acc") == [made[0.03], made[0.01]]
    assert ids("--sort", "summary.val/acc") == [made[0.01], made[0.03], made[0.1]]
    assert sorted(ids("--where", "lr>=0.03", "--where", "state=finished")) == sorted([made[0.03], made[0.1]])
    assert ids("--group", "small", "--sort", "config.lr") == [made[0.01], made[0.03]]
    assert ids("--tag", "a") == [made[0.1]]
    assert ids("--where", "display_name~^lr0\\.0") == ids("--group", "small")
    assert ids("--filter", '{"$or": [{"config.lr": 0.1}, {"config.lr": 0.01}]}', "--sort", "config.lr") == [made[0.01], made[0.1]]
    out = cli("ls", "--project", "sweep", "--sort=-summary.val/acc").stdout
    assert out.splitlines()[0].split()[:4] == ["ID", "NAME", "PROJECT", "GROUP"] and "SUMMARY.VAL/ACC" in out
    nothing = cli("ls", "--project", "sweep", "--where", "config.lr2>1")
    assert "no runs of project 'sweep' matched" in nothing.stdout
    assert "no run of project 'sweep' has config key 'lr2'" in nothing.stderr
    bad = cli("ls", "--filter", '{"config.lr": {"$lessthan": 1}}', check=False)
    assert bad.returncode == 2 and "invalid operator '$lessthan'" in bad.stderr
    bad = cli("ls", "--where", "config.lr", check=False)
    assert bad.returncode == 2 and "KEY OP VALUE" in bad.stderr
    assert "--where KEY OP VALUE" in cli("ls", "--help").stdout


def test_parse_where():
    from jupyter_tracker.cli import parse_where

    assert parse_where("config.lr<0.05") == {"config.lr": {"$lt": 0.05}}
    assert parse_where("config.lr <= 1e-3") == {"config.lr": {"$lte": 0.001}}
    assert parse_where("state=finished") == {"state": {"$eq": "finished"}}
    assert parse_where("group!=null") == {"group": {"$ne": None}}
    assert parse_where('notes="a=b"') == {"notes": {"$eq": "a=b"}}
    assert parse_where("display_name~^base-[0-9]+$") == {"display_name": {"$regex": "^base-[0-9]+$"}}
    assert parse_where("summary.val/acc>=0.9") == {"summary.val/acc": {"$gte": 0.9}}


def _offline_runs(tmp_path):
    runs = []
    for project in ("keep", "keep", "other"):
        with tracker.init(project=project, mode="offline") as run:
            run.log({"x": 1.0})
        runs.append(run)
    return runs


@pytest.mark.server
def test_sync_project_then_clean_deletes_only_what_the_server_holds(tracker_env, tmp_path, server):  # noqa: F811
    keep1, keep2, other = _offline_runs(tmp_path)
    env = dict(os.environ, TRACKER_HOST=f"http://127.0.0.1:{server.port}", TRACKER_API_KEY=server.token)
    done = subprocess.run([sys.executable, "-m", "jupyter_tracker", "sync", "--project", "keep"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert keep1.path.name in done.stdout and keep2.path.name in done.stdout and other.path.name not in done.stdout
    (keep2.path / "files").mkdir(exist_ok=True)
    (keep2.path / "files" / "late.txt").write_text("saved after the sync")  # the server lacks it now
    asked = subprocess.run([sys.executable, "-m", "jupyter_tracker", "sync", "--clean"], env=env, stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=120)
    assert asked.returncode == 2 and "pass --yes" in asked.stderr and keep1.path.exists()
    assert f"kept 2 runs" in asked.stdout and other.path.name in asked.stdout and keep2.path.name in asked.stdout
    done = subprocess.run([sys.executable, "-m", "jupyter_tracker", "sync", "--clean", "--yes"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "deleted 1 synced offline runs" in done.stdout, done.stdout + done.stderr
    assert not keep1.path.exists() and keep2.path.exists() and other.path.exists()
