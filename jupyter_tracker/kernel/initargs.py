"""``init()``'s arguments: wandb's keywords, ``tracker.Settings`` and the environment.

Precedence for each argument: what ``init()`` was given, then the
``settings=`` field that names it, then the environment variable
(``TRACKER_*``, else its ``WANDB_*`` twin; see :data:`ENV_ARGS`).

wandb keywords without a meaning here (``anonymous``, ``magic``,
``monitor_gym``, ``force``, most Settings fields) are accepted and noted once in
the run's ``debug.log``; ``fork_from`` and ``resume_from`` raise
``NotImplementedError`` (a run here cannot branch from another's step).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from .. import settings as settings_module
from ..limits import MAX_NOTES_LENGTH, MAX_PROJECT_LENGTH, MAX_TEXT_LENGTH
from ..names import check_id
from .configs import as_mapping
from .run import check_tags, check_text

__all__ = ["ENV_ARGS", "REINIT_CHOICES", "InitArgs", "resolve", "normalize_reinit"]

#: init's argument -> the environment variable that fills it when not given.
ENV_ARGS = {
    "project": "TRACKER_PROJECT",
    "entity": "TRACKER_ENTITY",
    "id": "TRACKER_RUN_ID",
    "resume": "TRACKER_RESUME",
    "name": "TRACKER_NAME",
    "group": "TRACKER_RUN_GROUP",
    "job_type": "TRACKER_JOB_TYPE",
    "tags": "TRACKER_TAGS",
    "notes": "TRACKER_NOTES",
}

#: What ``reinit=`` may say; ``True``, ``False``, ``None`` and ``"default"`` mean "finish_previous".
REINIT_CHOICES = ("finish_previous", "return_previous", "create_new")

_LIMITS = {"project": MAX_PROJECT_LENGTH, "notes": MAX_NOTES_LENGTH}

_UNSUPPORTED = {
    "fork_from": "forking a run from another run's step",
    "resume_from": "rewinding a run to a step (resume_from)",
}


@dataclass
class InitArgs:
    """init()'s arguments once resolved, and what to tell the run's debug.log."""

    values: dict[str, Any]
    reinit: str = "finish_previous"
    capture_code: bool | None = None  # None: as TRACKER_DISABLE_CODE says
    allow_val_change: bool = False
    notes: list[str] = field(default_factory=list)
    warnings: list[tuple[str, str]] = field(default_factory=list)  # (message, key)


def normalize_reinit(reinit: Any) -> str:
    """``reinit=`` as one of :data:`REINIT_CHOICES` (a ``ValueError`` naming it otherwise)."""
    if reinit is None or reinit is True or reinit is False or reinit == "default":
        return "finish_previous"
    if isinstance(reinit, str) and reinit in REINIT_CHOICES:
        return reinit
    raise ValueError(
        f"init(reinit={reinit!r}): use True, False, 'default', {', '.join(repr(c) for c in REINIT_CHOICES)}"
    )


def _key_list(what: str, keys: Any) -> list[str] | None:
    if keys is None:
        return None
    if isinstance(keys, str) or not hasattr(keys, "__iter__"):
        raise TypeError(f"init({what}=...) must be a list of config keys, got {type(keys).__name__}")
    keys = list(keys)
    for key in keys:
        if not isinstance(key, str):
            raise TypeError(f"init({what}=...): config keys are strings, got {key!r}")
    return keys


def _filter_config(config: Any, include: Any, exclude: Any) -> dict[str, Any]:
    include = _key_list("config_include_keys", include)
    exclude = _key_list("config_exclude_keys", exclude)
    if include is not None and exclude is not None:
        raise ValueError("init(): pass config_include_keys or config_exclude_keys, not both")
    values = dict(as_mapping(config, "init(config=...)"))
    if include is not None:
        return {k: v for k, v in values.items() if k in include}
    if exclude is not None:
        return {k: v for k, v in values.items() if k not in exclude}
    return values


def _from_environment(values: dict[str, Any]) -> None:
    for arg, variable in ENV_ARGS.items():
        if values.get(arg) is not None:
            continue
        raw = settings_module.env(variable)
        if raw is None:
            continue
        where = variable if os.environ.get(variable, "").strip() else settings_module.WANDB_FALLBACKS[variable]
        if arg == "tags":
            values[arg] = check_tags(where, [t.strip() for t in raw.split(",") if t.strip()])
        elif arg == "id":
            try:
                values[arg] = check_id(raw)
            except ValueError as exc:
                raise ValueError(f"{where}: {exc}") from None
        elif arg == "resume":
            values[arg] = _resume_from_env(where, raw)
        else:
            values[arg] = check_text(where, raw, _LIMITS.get(arg, MAX_TEXT_LENGTH))


def _resume_from_env(where: str, raw: str) -> Any:
    value = raw.lower()
    if value in ("allow", "must", "never"):
        return value
    if value in ("auto", "true", "1", "yes"):
        return "allow"
    if value in ("false", "0", "no"):
        return None
    raise ValueError(f"{where}={raw!r}: use allow, must, never (or auto, meaning allow)")


def _apply_settings(given: settings_module.Settings, values: dict[str, Any], out: InitArgs) -> None:
    for name, value in given.items():
        meaning = settings_module.SETTINGS_FIELDS[name]
        if meaning.startswith("init:"):
            arg = meaning[5:]
            if values.get(arg) is None and value is not None:
                values[arg] = value
        elif meaning == "silent":
            if value:
                os.environ["TRACKER_SILENT"] = "true"  # as WANDB_SILENT: for this process
        elif meaning == "no-code":
            if value and out.capture_code is None:
                out.capture_code = False
        elif meaning == "code":
            if value is not None and out.capture_code is None:
                out.capture_code = bool(value)
        else:
            out.notes.append(f"init(settings=...): {name}={value!r} is accepted and has no effect here")



def resolve(given: dict[str, Any]) -> InitArgs:
    """Check and complete init's arguments (``given``: every keyword init received).

    Raises
    ------
    ValueError, TypeError
        For a bad value, naming the argument (or the environment variable) it came from.
    NotImplementedError
        For ``fork_from`` / ``resume_from``.
    """
    for arg, what in _UNSUPPORTED.items():
        if given.get(arg) is not None:
            raise NotImplementedError(
                f"init({arg}=...): {what} is not supported by tracker; start a new run with "
                "group= to keep related runs together, or resume='allow' to continue one (docs/wandb.md)"
            )
    out = InitArgs(values={}, reinit=normalize_reinit(given.get("reinit")))
    values = out.values
    names = ("project", "name", "group", "job_type", "tags", "notes", "mode", "dir", "id", "resume", "entity")
    for key in names:
        values[key] = given.get(key)
    if given.get("save_code") is not None:
        out.capture_code = bool(given["save_code"])
    _apply_settings(settings_module.Settings.coerce(given.get("settings")), values, out)
    for key in ("project", "name", "group", "job_type", "notes", "entity"):
        values[key] = check_text(f"init({key}=...)", values[key], _LIMITS.get(key, MAX_TEXT_LENGTH))
    if values["tags"] is not None:
        values["tags"] = check_tags("init(tags=...)", values["tags"])
    if values["id"] is not None:
        check_id(values["id"])
    _from_environment(values)
    values["project"] = values["project"] or "uncategorized"
    values["config"] = _filter_config(
        given.get("config"), given.get("config_include_keys"), given.get("config_exclude_keys")
    )
    out.allow_val_change = bool(given.get("allow_val_change"))
    for key in ("anonymous", "magic", "monitor_gym", "force"):
        if given.get(key) is not None:
            out.notes.append(f"init({key}={given[key]!r}) is accepted and has no effect here")
    if given.get("sync_tensorboard") or given.get("tensorboard"):
        out.warnings.append((
            "init(sync_tensorboard=True): TensorBoard event files are not streamed into this run; "
            "after training, import them with `tracker import tensorboard LOGDIR` (docs/integrations.md)",
            "sync-tensorboard",
        ))
    return out
