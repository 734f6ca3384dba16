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
  the user's server URL and token, written by ``tracker login`` (or
  ``tracker.login()``) with mode 0600.

Every ``TRACKER_*`` variable listed in :data:`WANDB_FALLBACKS` falls back to its
``WANDB_*`` twin when it is unset or empty, so a job script written for wandb
(``WANDB_MODE=offline``, ``WANDB_RUN_ID=...``) works unchanged.
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
    "WANDB_FALLBACKS",
    "env",
    "save_login",
]

#: Accepted values of ``TRACKER_MODE`` / ``init(mode=...)``; ``dryrun`` means offline.
MODES = ("online", "offline", "disabled", "dryrun")

_TRUE = {"1", "true", "yes", "on", "y", "t"}

#: ``TRACKER_*`` variables read from their ``WANDB_*`` twin when unset (docs/wandb.md).
#: ``WANDB_API_KEY`` and ``WANDB_BASE_URL`` are not among them: they name wandb's
#: service, not a tracking server of ours. ``WANDB_DIR`` is handled by :func:`tracker_dir`.
WANDB_FALLBACKS = {
    "TRACKER_MODE": "WANDB_MODE",
    "TRACKER_SILENT": "WANDB_SILENT",
    "TRACKER_DISABLE_CODE": "WANDB_DISABLE_CODE",
    "TRACKER_IGNORE_GLOBS": "WANDB_IGNORE_GLOBS",
    "TRACKER_PROJECT": "WANDB_PROJECT",
    "TRACKER_ENTITY": "WANDB_ENTITY",
    "TRACKER_RUN_ID": "WANDB_RUN_ID",
    "TRACKER_RESUME": "WANDB_RESUME",
    "TRACKER_NAME": "WANDB_NAME",
    "TRACKER_RUN_GROUP": "WANDB_RUN_GROUP",
    "TRACKER_JOB_TYPE": "WANDB_JOB_TYPE",
    "TRACKER_TAGS": "WANDB_TAGS",
    "TRACKER_NOTES": "WANDB_NOTES",
}


def env(name: str) -> str | None:
    """The stripped value of the environment variable ``name``, else of its ``WANDB_*``
    twin (:data:`WANDB_FALLBACKS`), else ``None``."""
    value = os.environ.get(name, "").strip()
    if not value and name in WANDB_FALLBACKS:
        value = os.environ.get(WANDB_FALLBACKS[name], "").strip()
    return value or None


def _flag(name: str) -> bool:
    value = (env(name) or "").lower()
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
    """The folder holding run directories: ``$TRACKER_DIR``, else ``$WANDB_DIR/tracker``
    (wandb's folder of its ``wandb/`` directory), else ``./tracker``."""
    if os.environ.get("TRACKER_DIR"):
        return Path(os.environ["TRACKER_DIR"])
    if os.environ.get("WANDB_DIR", "").strip():
        return Path(os.environ["WANDB_DIR"].strip()) / "tracker"
    return Path("tracker")


def silent() -> bool:
    """``TRACKER_SILENT``: write nothing at all into any cell output."""
    return _flag("TRACKER_SILENT")


def code_disabled() -> bool:
    """``TRACKER_DISABLE_CODE``: do not capture notebook cells, git SHA and diff."""
    return _flag("TRACKER_DISABLE_CODE")


def ignore_globs() -> list[str]:
    """``TRACKER_IGNORE_GLOBS``: comma-separated globs of files never uploaded."""
    raw = env("TRACKER_IGNORE_GLOBS") or ""
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
    elif os.environ.get("WANDB_MODE", "").strip():
        chosen = normalize_mode(os.environ["WANDB_MODE"], "WANDB_MODE")
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


def save_login(host: str, key: str) -> Path:
    """Store the server URL and token in the user settings file (mode 0600); return its path."""
    path = user_settings_path()
    write_file(path, {"host": host.rstrip("/"), "api_key": key}, private=True)
    return path


#: wandb.Settings fields ``tracker.Settings`` accepts. Those with a meaning here map to
#: init's arguments (``"init:<arg>"``) or to a behaviour (``"silent"``, ``"no-code"``);
#: the others are accepted and noted once in the run's debug.log.
SETTINGS_FIELDS: dict[str, str] = {
    "mode": "init:mode",
    "project": "init:project",
    "entity": "init:entity",
    "run_id": "init:id",
    "run_name": "init:name",
    "run_group": "init:group",
    "run_job_type": "init:job_type",
    "run_tags": "init:tags",
    "run_notes": "init:notes",
    "resume": "init:resume",
    "root_dir": "init:dir",
    "silent": "silent",
    "quiet": "silent",
    "disable_code": "no-code",
    "disable_git": "no-code",
    "save_code": "code",
    "_disable_meta": "no-code",
    "x_disable_meta": "no-code",
    "start_method": "",
    "console": "",
    "_disable_stats": "",
    "x_disable_stats": "",
    "_disable_machine_info": "",
    "x_disable_machine_info": "",
    "_service_wait": "",
    "x_service_wait": "",
    "init_timeout": "",
    "anonymous": "",
    "show_info": "",
    "show_warnings": "",
    "show_errors": "",
    "code_dir": "",
    "program": "",
    "api_key": "",
    "base_url": "",
    "ignore_globs": "",
    "sync_tensorboard": "",
    "_stats_sample_rate_seconds": "",
    "x_stats_sampling_interval": "",
    "allow_val_change": "",
    "reinit": "",
    "job_name": "",
    "notebook_name": "",
    "_save_requirements": "",
    "x_save_requirements": "",
    "disable_job_creation": "",
    "disable_hints": "",
    "heartbeat_seconds": "",
    "http_proxy": "",
    "https_proxy": "",
    "insecure_disable_ssl": "",
    "log_internal": "",
    "sync_dir": "",
    "files_dir": "",
    "summary_warnings": "",
    "strict": "",
    "_offline": "",
    "_noop": "",
    "_disable_viewer": "",
    "x_disable_viewer": "",
    "_disable_setproctitle": "",
    "x_disable_setproctitle": "",
    "x_label": "",
    "x_primary": "",
    "x_update_finish_state": "",
    "_file_stream_timeout_seconds": "",
    "x_file_stream_timeout_seconds": "",
    "console_multipart": "",
    "git_remote": "",
    "git_commit": "",
    "git_root": "",
    "username": "",
    "email": "",
    "host": "",
    "docker": "",
    "program_relpath": "",
    "identity_token_file": "",
    "credentials_file": "",
    "table_raise_on_max_row_limit_exceeded": "",
}


class Settings:
    """``tracker.Settings(...)``: wandb's ``wandb.Settings`` for ``init(settings=...)``.

    Accepts wandb's common fields (``mode``, ``silent``, ``console``,
    ``start_method``, ``_disable_stats``, ``run_id``, ...; see
    :data:`SETTINGS_FIELDS` and docs/wandb.md). The ones with a meaning here
    act as the init argument or behaviour they name; the others are kept and
    noted once in the run's ``debug.log``.

    Raises
    ------
    TypeError
        For a field wandb's Settings does not have either (a typo), naming it.
    """

    def __init__(self, **fields: object) -> None:
        unknown = sorted(set(fields) - set(SETTINGS_FIELDS))
        if unknown:
            raise TypeError(
                f"tracker.Settings({unknown[0]}=...): not a settings field tracker knows; "
                f"known: {', '.join(sorted(SETTINGS_FIELDS))} (docs/wandb.md)"
            )
        self._fields = dict(fields)

    @classmethod
    def coerce(cls, value: object) -> Settings:
        """``init(settings=...)``: a Settings, a dict of fields, or ``None``."""
        if value is None:
            return cls()
        if isinstance(value, Settings):
            return value
        if isinstance(value, dict):
            return cls(**{str(k): v for k, v in value.items()})
        raise TypeError(f"init(settings=...) takes a tracker.Settings or a dict, got {type(value).__name__}")

    def __getattr__(self, name: str) -> object:
        if name.startswith("__") or name == "_fields":
            raise AttributeError(name)
        if name in SETTINGS_FIELDS:
            return self._fields.get(name)
        raise AttributeError(f"tracker.Settings has no field {name!r}")

    def update(self, values: dict | None = None, **fields: object) -> None:
        """Set more fields (wandb's ``settings.update``)."""
        merged = dict(values or {}, **fields)
        Settings(**merged)  # checks the names
        self._fields.update(merged)

    def items(self) -> list[tuple[str, object]]:
        """The fields that were set, in the order given."""
        return list(self._fields.items())

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={v!r}" for k, v in self._fields.items())
        return f"Settings({inner})"
