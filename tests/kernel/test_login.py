"""tracker.login(): the settings that online runs and `tracker sync` use, checked against a real server."""

from __future__ import annotations

import stat

import pytest

import jupyter_tracker as tracker
from jupyter_tracker import settings
from tests.server.conftest import (  # noqa: F401 - the real-server fixtures
    backend,
    databases,
    pytest_collection_modifyitems,
    server,
    spawn_module,
)


def test_login_writes_the_user_settings(tracker_env):
    assert tracker.login(key="tok-1", host="http://127.0.0.1:9/") is True
    path = settings.user_settings_path()
    assert settings.read_file(path) == {"host": "http://127.0.0.1:9", "api_key": "tok-1"}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert settings.host() == "http://127.0.0.1:9" and settings.api_key() == "tok-1"
    assert tracker.login() is True  # stored: nothing to ask
    assert tracker.login(key="tok-2") is True  # the stored host is kept
    assert settings.api_key() == "tok-2"


@pytest.mark.parametrize("kwargs, match", [
    ({}, "no token stored"),
    ({"key": "t"}, "pass host="),
    ({"key": "", "host": "http://x"}, "non-empty token"),
    ({"key": "t", "host": "127.0.0.1:8765"}, "host='127.0.0.1:8765'"),
])
def test_login_mistakes_are_named(tracker_env, kwargs, match):
    with pytest.raises(ValueError, match=match):
        tracker.login(**kwargs)
    assert not settings.user_settings_path().exists()


@pytest.mark.server
def test_login_verify_against_a_real_server(tracker_env, server):
    host = f"http://127.0.0.1:{server.port}"
    with pytest.raises(ValueError, match="did not accept the token"):
        tracker.login(key="wrong", host=host, verify=True)
    assert not settings.user_settings_path().exists()
    assert tracker.login(key=server.token, host=host, verify=True) is True
    run = tracker.init()  # online now: the stored settings are what the run uses
    assert run.mode == "online" and run.url == f"{host}/api/v1/runs/{run.id}"
