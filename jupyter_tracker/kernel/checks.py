"""The checks of what a user gives a run: its text fields, tags, metric definitions,
and the exit status of a ``SystemExit``; each raises a clear error naming the argument."""

from __future__ import annotations

from typing import Any

from ..limits import (
    MAX_EXIT_CODE,
    MAX_KEY_LENGTH,
    MAX_NOTES_LENGTH,
    MAX_TAGS,
    MAX_TEXT_LENGTH,
    text_problem,
)
from ..summaries import SUMMARY_KINDS, check_metric_name

__all__ = ["TEXT_LIMITS", "check_text", "check_tags", "exit_status", "metric_spec"]

#: The longest value of each text field of a run.
TEXT_LIMITS = {"name": MAX_TEXT_LENGTH, "group": MAX_TEXT_LENGTH, "job_type": MAX_TEXT_LENGTH,
               "notes": MAX_NOTES_LENGTH}


def check_text(what: str, value: Any, limit: int) -> Any:
    """``value`` when it can be a run's text field (``None`` is fine); else a clear error."""
    problem = text_problem(value, limit)
    if problem is None:
        return value
    if not isinstance(value, str):
        raise TypeError(f"{what} {problem}")
    shown = repr(value) if len(value) <= 60 else repr(value[:40]) + "..."
    raise ValueError(f"{what} {problem} (got {shown})")


def check_tags(what: str, tags: Any) -> list[str]:
    """``tags`` as a list of strings within the limits; else a clear error."""
    if tags is None:
        return []
    if isinstance(tags, str) or not hasattr(tags, "__iter__"):
        raise TypeError(f"{what} must be a list of strings, got {type(tags).__name__}")
    tags = list(tags)
    if len(tags) > MAX_TAGS:
        raise ValueError(f"{what}: {len(tags)} tags; the limit is {MAX_TAGS}")
    for tag in tags:
        check_text(f"{what}: a tag", tag, MAX_TEXT_LENGTH)
    return tags


def exit_status(code: Any) -> int:
    """The exit status a ``SystemExit(code)`` gives the process (``None`` is 0, a message 1;
    an integer no exit status can hold, 1)."""
    if code is None:
        return 0
    if isinstance(code, int) and -MAX_EXIT_CODE <= code <= MAX_EXIT_CODE:
        return int(code)
    return 1


def metric_spec(name: Any, step_metric: Any = None, summary: Any = None, hidden: Any = False) -> dict[str, Any]:
    """The payload of a ``define_metric`` record, checked; else a clear error naming the argument."""
    check_metric_name(name)
    check_text("define_metric(): the name", name, MAX_KEY_LENGTH)
    if step_metric is not None:
        check_metric_name(step_metric, "step_metric")
        check_text("define_metric(): step_metric", step_metric, MAX_KEY_LENGTH)
        if step_metric.endswith("*"):
            raise ValueError(f"step_metric={step_metric!r} must name one metric, not a glob")
    if summary is not None:
        kinds = [s.strip() for s in str(summary).split(",")]
        bad = [s for s in kinds if s not in SUMMARY_KINDS]
        if bad or len(kinds) != 1:
            raise ValueError(
                f"define_metric({name!r}, summary={summary!r}): use one of {', '.join(SUMMARY_KINDS)}"
            )
        summary = kinds[0]
    return {"name": name, "step_metric": step_metric, "summary": summary, "hidden": bool(hidden)}
