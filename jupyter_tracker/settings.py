"""Settings from the environment and the settings files, read at use time.

Nothing here is cached: every function reads the environment (and, where it
falls back to them, the settings files) when it is called, so ``%env
TRACKER_SILENT true`` typed after ``import tracker`` takes effect at the next
decision.

Two settings files exist, both in ``configparser`` format with one
``[default]`` section:

- ``$TRACKER_DIR/settings``: the default mode, written by ``tracker off`` /
  ``tracker on`` (and ``%tracker off|on``).
- ``~/.config/jupyter-tracker/settings`` (``$TRACKER_CONFIG_DIR/settings``):
  the user's server URL and token, written by ``tracker login`` with mode 0600.
"""

from __future__ import annotations

import configparser
import io
import os
from pathlib import Path

__all__ = [
    "MODES",
    "tracker_dir",
    "silent",
    "mode",
    "host",
    "api_key",
    "stats_interval",
    "stats_window",
    "sync_timeout",
    "code_disabled",
    "ignore_globs",
    "read_file",
    "write_file",
    "user_settings_path",
    "dir_settings_path",
    "normalize_mode",
    "set_mode",
]

#: Accepted values of ``TRACKER_MODE`` / ``init(mode=...)``; ``dryrun`` means offline.
MODES = ("online", "offline", "disabled", "dryrun")

_TRUE = {"1", "true", "yes", "on", "y", "t"}


def _flag(name: str) -> bool:
    value = os.environ.get(name, "").strip().lower()
    if value in _TRUE:
        return True
    return False


def _seconds(name: str, default: float, minimum: float) -> float:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not a number of seconds") from None
    if not value >= minimum:  # also refuses NaN
        raise ValueError(f"{name}={raw!r} must be at least {minimum} seconds")
    return value


def tracker_dir() -> Path:
    """The folder holding run directories: ``$TRACKER_DIR`` or ``./tracker``."""
    return Path(os.environ.get("TRACKER_DIR") or "tracker")


def silent() -> bool:
    """``TRACKER_SILENT``: write nothing at all into any cell output."""
    return _flag("TRACKER_SILENT")


def code_disabled() -> bool:
    """``TRACKER_DISABLE_CODE``: do not capture notebook cells, git SHA and diff."""
    return _flag("TRACKER_DISABLE_CODE")


def ignore_globs() -> list[str]:
    """``TRACKER_IGNORE_GLOBS``: comma-separated globs of files never uploaded."""
    raw = os.environ.get("TRACKER_IGNORE_GLOBS", "")
    return [g.strip() for g in raw.split(",") if g.strip()]


def stats_interval() -> float:
    """Seconds between two system-metric samples (``TRACKER_STATS_INTERVAL``, default 2)."""
    return _seconds("TRACKER_STATS_INTERVAL", 2.0, 0.05)


def stats_window() -> float:
    """Seconds averaged into one system record (``TRACKER_STATS_WINDOW``, default 30)."""
    return _seconds("TRACKER_STATS_WINDOW", 30.0, 0.05)


def sync_timeout() -> float:
    """Seconds a run's service keeps uploading after the run ended (``TRACKER_SYNC_TIMEOUT``,
    default 600); then the run says "not synced, run `tracker sync <path>`"."""
    return _seconds("TRACKER_SYNC_TIMEOUT", 600.0, 0.0)


def normalize_mode(value: str, source: str = "mode") -> str:
    """Return ``online``, ``offline`` or ``disabled``; ``dryrun`` means offline.

    Raises
    ------
    ValueError
        For any other value, naming where it came from.
    """
    mode_ = str(value).strip().lower()
    if mode_ not in MODES:
        raise ValueError(
            f"{source}={value!r} is not a tracker mode; use one of "
            "'online', 'offline' or 'disabled' ('dryrun' means offline)"
        )
    return "offline" if mode_ == "dryrun" else mode_


def user_settings_path() -> Path:
    base = os.environ.get("TRACKER_CONFIG_DIR")
    if base:
        return Path(base) / "settings"
    xdg = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(xdg) / "jupyter-tracker" / "settings"


def dir_settings_path(directory: Path | None = None) -> Path:
    return (directory or tracker_dir()) / "settings"


def read_file(path: Path) -> dict[str, str]:
    """The ``[default]`` section of a settings file, or ``{}`` when absent or unreadable."""
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read(path, encoding="utf-8")
    except (OSError, configparser.Error):
        return {}
    if not parser.has_section("default"):
        return {}
    return dict(parser.items("default"))


def write_file(path: Path, values: dict[str, str | None], private: bool = False) -> None:
    """Merge ``values`` into a settings file (``None`` removes a key).

    ``private`` creates the file with mode 0600 before anything is written to it.
    """
    current = read_file(path)
    for key, value in values.items():
        if value is None:
            current.pop(key, None)
        else:
            current[key] = str(value)
    parser = configparser.ConfigParser(interpolation=None)
    parser["default"] = current
    path.parent.mkdir(parents=True, exist_ok=True)
    text = io.StringIO()
    parser.write(text)
    from .rundir import write_atomic

    write_atomic(path, text.getvalue().encode("utf-8"), 0o600 if private else 0o644)


def set_mode(mode: str, directory: Path | None = None) -> str:
    """Write the default mode to ``$TRACKER_DIR/settings``; return a sentence saying so."""
    mode = normalize_mode(mode)
    path = dir_settings_path(directory)
    write_file(path, {"mode": mode})
    what = "runs stay local until `tracker sync`" if mode == "offline" else "runs sync to the server when one is configured"
    return f"tracker: default mode is now {mode} ({what}); written to {path}"


def mode(explicit: str | None = None) -> str:
    """The run mode: the argument, else ``TRACKER_MODE``, else the settings files.

    Online without a server URL and token falls back to offline, so that
    everything local still works on a machine that was never configured.
    """
    if explicit is not None:
        chosen = normalize_mode(explicit, "mode")
    elif os.environ.get("TRACKER_MODE", "").strip():
        chosen = normalize_mode(os.environ["TRACKER_MODE"], "TRACKER_MODE")
    else:
        stored = read_file(dir_settings_path()).get("mode") or read_file(
            user_settings_path()
        ).get("mode")
        chosen = normalize_mode(stored, "settings mode") if stored else "online"
    if chosen == "online" and not (host() and api_key()):
        return "offline"
    return chosen


def host() -> str | None:
    """The tracking server URL: ``TRACKER_HOST`` or the user settings file."""
    value = os.environ.get("TRACKER_HOST", "").strip() or read_file(user_settings_path()).get(
        "host", ""
    )
    return value.rstrip("/") or None


def api_key() -> str | None:
    """The token: ``TRACKER_API_KEY`` or the user settings file (never logged)."""
    value = os.environ.get("TRACKER_API_KEY", "").strip() or read_file(user_settings_path()).get(
        "api_key", ""
    )
    return value or None
