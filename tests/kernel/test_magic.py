"""%tracker with a real IPython shell."""

import pytest
from IPython.core.error import UsageError
from IPython.testing.globalipapp import start_ipython

import jupyter_tracker as tracker
from jupyter_tracker.kernel.magic import parse_params


@pytest.fixture(scope="module")
def ip():
    shell = start_ipython()
    yield shell


@pytest.fixture
def loaded(ip):
    ip.user_ns.pop("tracker", None)
    ip.run_line_magic("load_ext", "tracker")
    yield ip
    ip.run_line_magic("unload_ext", "tracker")


def test_load_puts_tracker_in_the_namespace_and_unload_takes_it_back(ip):
    ip.user_ns.pop("tracker", None)
    ip.run_line_magic("load_ext", "tracker")
    assert ip.user_ns["tracker"] is tracker
    assert "tracker" in ip.magics_manager.magics["line"]
    ip.run_line_magic("unload_ext", "tracker")
    assert "tracker" not in ip.user_ns
    assert "tracker" not in ip.magics_manager.magics["line"]
    ip.run_line_magic("load_ext", "jupyter_tracker")  # the long name works too
    ip.run_line_magic("reload_ext", "jupyter_tracker")
    assert "tracker" in ip.magics_manager.magics["line"]
    ip.run_line_magic("unload_ext", "jupyter_tracker")


def test_load_leaves_a_user_name_alone(ip):
    ip.user_ns["tracker"] = "mine"
    ip.run_line_magic("load_ext", "tracker")
    ip.run_line_magic("unload_ext", "tracker")
    assert ip.user_ns["tracker"] == "mine"
    del ip.user_ns["tracker"]


def test_init_with_options_and_config_then_finish(loaded, capsys):
    loaded.run_line_magic(
        "tracker", "init --project demo --name first --tags a,b --group g --job-type train "
        "lr=0.01 batch=64 arch=resnet layers=[1,2] flag=True"
    )
    run = tracker.current()
    assert (run.project, run.name, run.tags, run.group, run.job_type) == ("demo", "first", ["a", "b"], "g", "train")
    assert dict(run.config) == {"lr": 0.01, "batch": 64, "arch": "resnet", "layers": [1, 2], "flag": True}
    loaded.run_cell("tracker.log({'loss': 1.0})")
    loaded.run_line_magic("tracker", "config wd=0.1")
    assert run.config.wd == 0.1
    loaded.run_line_magic("tracker", "status")
    assert "first" in capsys.readouterr().out
    loaded.run_line_magic("tracker", "finish")
    assert run.state == "finished" and tracker.current() is None
    back = tracker.Api().run(run.id)
    assert back.config["batch"] == 64 and len(back.history()) == 1


@pytest.mark.parametrize(
    "line, words",
    [
        ("", "command"),
        ("fly", "invalid choice"),
        ("finish", "no active run"),
        ("status --project x", "--project only go with %tracker init"),
        ("init --mode warp", "mode='warp'"),
        ("init =3", "expected key=value"),
        ("init --resume must", "needs the id="),
        ("config a=1", "no active run"),
        ("status --group-by lr", "--group-by only go with %tracker compare"),
        ("compare --name x", "--name only go with %tracker init"),
        ("compare --project p --where 'lr'", "--where 'lr': write KEY OP VALUE"),
        ("compare --project p --where 'config.lr<0.05'", "needs a Jupyter kernel"),
        ("compare --band iqr", "invalid choice"),
    ],
)
def test_bad_usage_is_one_clear_usage_error(loaded, line, words):
    with pytest.raises(UsageError, match=words.replace("[", r"\[")):
        loaded.run_line_magic("tracker", line)


def test_changing_config_without_allow_is_a_usage_error(loaded):
    loaded.run_line_magic("tracker", "init lr=0.1")
    with pytest.raises(UsageError, match="'lr' already holds"):
        loaded.run_line_magic("tracker", "config lr=0.2")
    loaded.run_line_magic("tracker", "finish")


def test_off_on(loaded, capsys):
    loaded.run_line_magic("tracker", "off")
    assert "offline" in capsys.readouterr().out
    loaded.run_line_magic("tracker", "on")
    assert "online" in capsys.readouterr().out


def test_help_is_there(loaded):
    doc = loaded.find_line_magic("tracker").__doc__
    assert "%tracker init" in doc and "--project" in doc


def test_parse_params_literals():
    assert parse_params(["a=1", "b=0.5", "c=hello", "d='q'", "e=[1, 2]", "f=None"]) == {
        "a": 1, "b": 0.5, "c": "hello", "d": "q", "e": [1, 2], "f": None,
    }


def test_init_of_a_run_another_process_records_is_one_clear_line(loaded, tracker_env):
    from jupyter_tracker import rundir

    run = tracker.init(id="busy1")
    run.finish()
    holder = rundir.try_lock_run(run.path)  # another open file: as another process would hold it
    try:
        with pytest.raises(UsageError, match=r"%tracker init: run 'busy1' is being recorded by process \d+"):
            loaded.run_line_magic("tracker", "init --id busy1 --resume allow")
    finally:
        holder.release()
    loaded.run_line_magic("tracker", "init --id busy1 --resume allow")
    assert tracker.current().id == "busy1"
    tracker.finish()
