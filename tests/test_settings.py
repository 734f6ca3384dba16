import os

import pytest

from jupyter_tracker import settings


def test_silent_is_read_at_every_call(monkeypatch):
    assert settings.silent() is False
    monkeypatch.setenv("TRACKER_SILENT", "true")
    assert settings.silent() is True
    monkeypatch.setenv("TRACKER_SILENT", "0")
    assert settings.silent() is False


def test_mode_defaults_offline_without_a_server(monkeypatch):
    assert settings.mode() == "offline"
    monkeypatch.setenv("TRACKER_MODE", "dryrun")
    assert settings.mode() == "offline"
    monkeypatch.setenv("TRACKER_MODE", "disabled")
    assert settings.mode() == "disabled"
    assert settings.mode("offline") == "offline"


def test_online_needs_host_and_key(monkeypatch):
    monkeypatch.setenv("TRACKER_MODE", "online")
    assert settings.mode() == "offline"
    monkeypatch.setenv("TRACKER_HOST", "http://127.0.0.1:1/")
    monkeypatch.setenv("TRACKER_API_KEY", "k")
    assert settings.mode() == "online"
    assert settings.host() == "http://127.0.0.1:1"


def test_unknown_mode_is_named(monkeypatch):
    with pytest.raises(ValueError, match="'sometimes'"):
        settings.mode("sometimes")
    monkeypatch.setenv("TRACKER_MODE", "bogus")
    with pytest.raises(ValueError, match="TRACKER_MODE='bogus'"):
        settings.mode()


def test_settings_file_mode_and_private_user_file(tracker_env, monkeypatch):
    settings.write_file(settings.dir_settings_path(), {"mode": "disabled"})
    assert settings.mode() == "disabled"
    monkeypatch.setenv("TRACKER_MODE", "offline")  # the environment wins
    assert settings.mode() == "offline"
    path = settings.user_settings_path()
    settings.write_file(path, {"host": "http://h:1", "api_key": "secret"}, private=True)
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"
    assert settings.host() == "http://h:1" and settings.api_key() == "secret"
    settings.write_file(path, {"api_key": None}, private=True)
    assert settings.api_key() is None


def test_stats_intervals(monkeypatch):
    monkeypatch.setenv("TRACKER_STATS_INTERVAL", "0.5")
    monkeypatch.setenv("TRACKER_STATS_WINDOW", "10")
    assert settings.stats_interval() == 0.5 and settings.stats_window() == 10
    monkeypatch.setenv("TRACKER_STATS_INTERVAL", "fast")
    with pytest.raises(ValueError, match="TRACKER_STATS_INTERVAL"):
        settings.stats_interval()
    monkeypatch.setenv("TRACKER_STATS_INTERVAL", "nan")
    with pytest.raises(ValueError):
        settings.stats_interval()


def test_sync_timeout(monkeypatch):
    monkeypatch.delenv("TRACKER_SYNC_TIMEOUT", raising=False)
    assert settings.sync_timeout() == 600
    monkeypatch.setenv("TRACKER_SYNC_TIMEOUT", "5")
    assert settings.sync_timeout() == 5
    monkeypatch.setenv("TRACKER_SYNC_TIMEOUT", "-1")
    with pytest.raises(ValueError, match="TRACKER_SYNC_TIMEOUT"):
        settings.sync_timeout()


def test_tracker_dir_and_globs(monkeypatch, tmp_path):
    monkeypatch.setenv("TRACKER_DIR", str(tmp_path / "x"))
    assert settings.tracker_dir() == tmp_path / "x"
    monkeypatch.delenv("TRACKER_DIR")
    assert str(settings.tracker_dir()) == "tracker"
    monkeypatch.setenv("TRACKER_IGNORE_GLOBS", "*.ckpt, secrets/*,")
    assert settings.ignore_globs() == ["*.ckpt", "secrets/*"]


def test_wandb_variables_are_read_when_tracker_ones_are_unset(monkeypatch, tmp_path):
    monkeypatch.setenv("WANDB_SILENT", "true")
    assert settings.silent()
    monkeypatch.setenv("TRACKER_SILENT", "false")  # set: the WANDB_ twin is not read
    assert not settings.silent()
    monkeypatch.setenv("WANDB_MODE", "dryrun")
    assert settings.mode() == "offline"
    monkeypatch.setenv("WANDB_MODE", "sideways")
    with pytest.raises(ValueError, match="WANDB_MODE='sideways'"):
        settings.mode()
    monkeypatch.setenv("WANDB_IGNORE_GLOBS", "*.ckpt,*.pt")
    assert settings.ignore_globs() == ["*.ckpt", "*.pt"]
    monkeypatch.delenv("TRACKER_DIR")
    monkeypatch.setenv("WANDB_DIR", str(tmp_path))
    assert settings.tracker_dir() == tmp_path / "tracker"
    monkeypatch.setenv("WANDB_API_KEY", "a wandb.ai key")  # not ours: never read
    assert settings.api_key() is None
