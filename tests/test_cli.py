import subprocess
import sys

import jupyter_tracker as tracker
from jupyter_tracker import settings


def cli(*args, check=True):
    return subprocess.run([sys.executable, "-m", "jupyter_tracker.cli", *args], capture_output=True, text=True, check=check)


def test_help_lists_commands():
    out = cli("--help").stdout
    assert "ls" in out and "off" in out and "on" in out


def test_ls_shows_runs_steps_and_last_values(tracker_env):
    run = tracker.init(project="demo", name="first")
    for i in range(3):
        run.log({"loss": 1.0 / (i + 1), "acc": i / 10})
    run.finish()
    other = tracker.init(project="other", name="second")
    other.finish()
    out = cli("ls").stdout
    assert out.splitlines()[0].split()[:5] == ["ID", "NAME", "PROJECT", "STATE", "STEPS"]
    line = next(l for l in out.splitlines() if run.id in l)
    assert "first" in line and "finished" in line and " 3 " in line
    assert "loss=0.3333" in line and "acc=0.2" in line
    assert "second" in out
    only = cli("ls", "--project", "demo").stdout
    assert "second" not in only and "first" in only
    assert "no runs" in cli("ls", "--project", "nothing").stdout


def test_off_and_on_write_the_default_mode(tracker_env):
    assert "offline" in cli("off").stdout
    assert settings.read_file(settings.dir_settings_path())["mode"] == "offline"
    assert "online" in cli("on").stdout
    assert settings.read_file(settings.dir_settings_path())["mode"] == "online"


def test_console_script_is_installed():
    import shutil

    exe = shutil.which("tracker") or str(__import__("pathlib").Path(sys.executable).parent / "tracker")
    out = subprocess.run([exe, "--version"], capture_output=True, text=True, check=True).stdout
    assert out.strip() == tracker.__version__
