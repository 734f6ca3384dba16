"""wandb run folders as runs: ``tracker import wandb PATH...``.

``PATH`` is a run folder (``wandb/offline-run-<time>-<id>`` or ``wandb/run-...``),
or a ``wandb`` folder holding them. Folders of the same wandb run (one per
resume) become one run, in time order. From the run log
(:mod:`.wandb_log`):

- config (``_wandb`` left out), identity (name, project, entity, group, job
  type, tags, notes), host, program, Python and git from the environment;
- history with wandb's ``_step`` as the step and ``_timestamp`` as the wall time,
  nested keys flattened to ``a/b``; a row whose step goes back (a rewound resume)
  is skipped and counted;
- ``define_metric`` (custom x axes, ``step_metric``; one summary rule per metric:
  wandb's ``summary="min,max"`` keeps the first and says so);
- the summary: wandb's computed summary is compared with what the history and
  metric rules give here, and values set by hand (``run.summary["best"] = ...``)
  become manual summary values;
- system metrics (``stats`` records) in ``system.log``, wandb's names mapped to
  ours where they mean the same (``cpu`` -> ``proc/cpu_percent``, ``gpu.0.gpu`` ->
  ``gpu/0/util_percent``...), the others kept under their wandb name;
- the files of ``files/``; the exit code (no exit record: the run is ``crashed``).

Media values (images, lists of images, histograms, tables) become media records
(their files come with ``files/``); artifacts are counted as skipped
until ``tracker.Image``/``Table``/``Histogram`` (issue 13) and ``tracker.Artifact``
(issue 14) exist.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
from pathlib import Path
from typing import Any

from .. import records
from ..limits import key_problem
from ..names import check_id
from ..summaries import SUMMARY_KINDS, SummaryState
from .media import from_wandb, wandb_values
from .rundirs import Imported, finite_equal, number, stable_id
from .wandb_log import LogReport, read_records

__all__ = ["run_folders", "read_runs", "system_name"]

_RUN_FOLDER = re.compile(r"^(offline-)?run-(\d{8}_\d{6})-(.+)$")
_SYSTEM = {
    "cpu": "proc/cpu_percent",
    "proc.cpu.threads": "proc/threads",
    "proc.memory.rssMB": "proc/rss_mb",
    "memory_percent": "host/memory_percent",
    "memory": "host/memory_percent",
    "proc.memory.availableMB": "host/memory_available_mb",
    "disk./.usagePercent": "disk/percent",
    "disk./.usageGB": "disk/used_gb",
}
_GPU = {"gpu": "util_percent", "memoryAllocated": "memory_percent", "temp": "temp_c", "powerWatts": "power_w"}
_SUMMARY_ORDER = ("min", "max", "mean", "first", "last", "none")


def system_name(key: str) -> str:
    """Our name for a wandb system metric (its own name when no equivalent exists)."""
    if key in _SYSTEM:
        return _SYSTEM[key]
    parts = key.split(".")
    if len(parts) == 3 and parts[0] == "gpu" and parts[1].isdigit() and parts[2] in _GPU:
        return f"gpu/{parts[1]}/{_GPU[parts[2]]}"
    return key


def run_folders(paths: list[str | os.PathLike]) -> list[Path]:
    """The wandb run folders named by ``paths`` (a run folder, or a folder of them), without repeats."""
    found: list[Path] = []
    for given in paths:
        path = Path(given).resolve()
        if not path.exists():
            raise FileNotFoundError(f"{given}: no such file or folder")
        if path.is_file() and path.suffix == ".wandb":
            path = path.parent
        if any(path.glob("*.wandb")):
            found.append(path)
            continue
        children = sorted(p.resolve() for p in path.iterdir() if _RUN_FOLDER.match(p.name) and p.is_dir()
                          and not p.is_symlink() and any(p.glob("*.wandb")))
        if not children:
            raise ValueError(f"{given}: neither a wandb run folder (with a .wandb file) nor a folder holding some")
        found += children
    return list(dict.fromkeys(found))


def read_runs(paths: list[str | os.PathLike], project: str | None = None) -> list[Imported]:
    """One :class:`Imported` per wandb run (its folders merged in time order)."""
    by_id: dict[str, list[Path]] = {}
    for folder in run_folders(paths):
        match = _RUN_FOLDER.match(folder.name)
        wandb_id = match.group(3) if match else folder.name
        by_id.setdefault(wandb_id, []).append(folder)
    return [_Reader(folders, project).read() for _id, folders in sorted(by_id.items())]


def _seconds(timestamp: Any) -> float | None:
    if timestamp is None or (not timestamp.seconds and not timestamp.nanos):
        return None
    return timestamp.seconds + timestamp.nanos / 1e9


def _path(item: Any) -> list[str]:
    return list(item.nested_key) if len(item.nested_key) else [item.key]


def _value(item: Any) -> Any:
    which = item.WhichOneof("value") if item.DESCRIPTOR.oneofs_by_name.get("value") else None
    if which == "none":
        return None
    if which == "json":
        return json.loads(item.json)
    if which is not None:
        return getattr(item, which)
    return json.loads(item.value_json) if item.value_json else None


def _flatten(prefix: str, value: Any, out: dict[str, Any]) -> None:
    if isinstance(value, dict) and "_type" not in value:
        for key, inner in value.items():
            _flatten(f"{prefix}/{key}" if prefix else str(key), inner, out)
    else:
        out[prefix] = value


def _set_path(target: dict[str, Any], path: list[str], value: Any) -> None:
    for part in path[:-1]:
        inner = target.get(part)
        if not isinstance(inner, dict):
            inner = target[part] = {}
        target = inner
    target[path[-1]] = value


def _drop_path(target: dict[str, Any], path: list[str]) -> None:
    for part in path[:-1]:
        target = target.get(part)
        if not isinstance(target, dict):
            return
    target.pop(path[-1], None)


class _Reader:
    """Reads the folders of one wandb run into an :class:`Imported`."""

    def __init__(self, folders: list[Path], project: str | None) -> None:
        self.folders = sorted(folders, key=lambda p: p.name.removeprefix("offline-"))
        self.project = project
        first = self.folders[0]
        self.imported = Imported(source="wandb", path=str(first), run_id="", project="", name=None,
                                 created_at=first.stat().st_mtime, finished_at=first.stat().st_mtime)
        self.config: dict[str, Any] = {}
        self.summary: dict[str, Any] = {}  # wandb's own, nested as it keeps it
        self.metrics: list[dict[str, Any]] = []
        self.ts: float | None = None
        self.last_step = -1
        self.wandb_id: str | None = None
        self.exit_code: int | None = None
        self.report = LogReport()
        self.session = 0  # which folder (wandb session) is being read
        self.offset = 0  # added to this session's steps (an offline resume restarts them at 0)
        self.first_row = True  # no history row of this session read yet
        self._session_files: tuple[int, dict[str, Path]] | None = None  # (session, its files), for media

    # -- reading -------------------------------------------------------------------------
    def read(self) -> Imported:
        imported = self.imported
        fingerprint = [self.project or ""]
        for self.session, folder in enumerate(self.folders):
            self.offset, self.first_row = 0, True
            logs = sorted(folder.glob("*.wandb"))
            for log in logs:
                fingerprint.append(f"{log}:{log.stat().st_size}")
                self.exit_code = None  # each session says how it ended
                for record in read_records(log, self.report):
                    kind = record.WhichOneof("record_type")
                    handler = getattr(self, f"_on_{kind}", None)
                    if handler is not None:
                        handler(getattr(record, kind))
                    elif kind in ("artifact", "use_artifact", "noop_link_artifact"):
                        imported.skip("artifact records (they arrive with tracker.Artifact, issue 14)")
                    elif kind in ("output", "output_raw"):
                        imported.skip("console output records (wandb keeps the console in files/output.log)")
                    elif kind == "tbrecord":
                        imported.skip("TensorBoard sync records (import the event files with tracker import tensorboard)")
            self._files(folder, fingerprint)
        if self.report.corrupt_blocks:
            imported.skip("damaged 32 KiB blocks of the wandb log (CRC mismatch)", self.report.corrupt_blocks)
        if self.report.undecodable:
            imported.skip("wandb records that did not decode", self.report.undecodable)
        if self.report.torn_tail:
            imported.skip("torn last record of the wandb log (the process was killed while writing it)")
        wandb_id = self.wandb_id or _RUN_FOLDER.match(self.folders[0].name).group(3)  # type: ignore[union-attr]
        try:
            imported.run_id = check_id(wandb_id)
        except ValueError:
            imported.run_id = stable_id("wandb", wandb_id)
        imported.info["wandb_id"] = wandb_id
        imported.name = imported.name or wandb_id
        imported.project = self.project or imported.project or os.environ.get("TRACKER_PROJECT") or "uncategorized"
        if self.exit_code is None:
            imported.state, imported.exit_code = "crashed", None
            imported.reason = "the wandb log has no exit record (wandb was killed, or the run is still going)"
        else:
            imported.state = "finished" if self.exit_code == 0 else "failed"
            imported.exit_code = self.exit_code
        imported.summary = self._manual_summary()
        imported.fingerprint = hashlib.sha256("\n".join(fingerprint).encode()).hexdigest()
        return imported

    def _now(self) -> float:
        return self.ts if self.ts is not None else self.imported.created_at

    def _files(self, folder: Path, fingerprint: list[str]) -> None:
        base = folder / "files"
        if not base.is_dir():
            return
        for path in sorted(p for p in base.rglob("*") if p.is_file()):
            rel = path.relative_to(base).as_posix()
            fingerprint.append(f"{rel}:{path.stat().st_size}")
            self.imported.files[rel] = path

    # -- records -------------------------------------------------------------------------
    def _on_run(self, run: Any) -> None:
        imported = self.imported
        self.wandb_id = run.run_id or self.wandb_id
        started = _seconds(run.start_time)
        if started is not None and self.ts is None:
            imported.created_at = imported.finished_at = started
            self.ts = started
        if run.project:
            imported.project = run.project
        if run.display_name:
            imported.name = run.display_name
        for key, value in (("entity", run.entity), ("group", run.run_group), ("job_type", run.job_type),
                           ("notes", run.notes), ("host", run.host)):
            if value:
                imported.info[key] = value
        if len(run.tags):
            imported.info["tags"] = list(run.tags)
        self._on_config(run.config)

    def _on_environment(self, env: Any) -> None:
        info = self.imported.info
        for key, value in (("host", env.host), ("program", env.program or env.code_path), ("python", env.python),
                           ("platform", env.os), ("username", env.username)):
            if value:
                info.setdefault(key, value)
        if env.HasField("git") and (env.git.commit or env.git.remote_url):
            info["git"] = {"commit": env.git.commit or None, "remote": env.git.remote_url or None}

    def _on_config(self, config: Any) -> None:
        changes: dict[str, Any] = {}
        for item in config.update:
            path = _path(item)
            if path[0] == "_wandb":
                continue
            try:
                value = json.loads(item.value_json)
            except ValueError:
                self.imported.skip("config values that are not JSON")
                continue
            before = json.dumps(self.config[path[0]], sort_keys=True) if path[0] in self.config else None
            _set_path(self.config, path, value)
            if json.dumps(self.config[path[0]], sort_keys=True) != before:  # a resumed session repeats them
                changes[path[0]] = self.config[path[0]]
        if len(config.remove):
            self.imported.skip("config keys removed in wandb (a config key is never deleted here)", len(config.remove))
        if changes:
            self.imported.body.append([records.CONFIG, self._now(), changes])

    def _on_metric(self, metric: Any) -> None:
        if metric.expanded_from_glob:
            return
        name = metric.name or metric.glob_name
        if not name or ("*" in name[:-1]):
            self.imported.skip("define_metric globs other than a trailing '*'")
            return
        if name.startswith("_"):
            return  # wandb's own (_step, _timestamp)
        summary = metric.summary
        kinds = [k for k in _SUMMARY_ORDER if k in SUMMARY_KINDS and getattr(summary, k, False)]
        if summary.best:
            kinds.insert(0, "max" if metric.goal == 2 else "min")
        if len(kinds) > 1:
            self.imported.skip(f"summary rules beyond the first of a metric ({name!r} keeps {kinds[0]!r})",
                               len(kinds) - 1)
        step_metric = metric.step_metric or None
        if step_metric is not None and step_metric.startswith("_"):
            step_metric = None  # wandb's _step is our step already
        spec = {"name": name, "step_metric": step_metric, "summary": kinds[0] if kinds else None,
                "hidden": bool(metric.options.hidden)}
        self.metrics.append(spec)
        self.imported.body.append([records.METRIC, self._now(), spec])

    def _on_history(self, history: Any) -> None:
        values: dict[str, Any] = {}
        for item in history.item:
            try:
                _flatten("/".join(_path(item)), _value(item), values)
            except ValueError:
                self.imported.skip("history values that are not JSON")
        step = values.pop("_step", None)
        if step is None:
            step = history.step.num
        ts = values.pop("_timestamp", None)
        values.pop("_runtime", None)
        ts = float(ts) if isinstance(ts, (int, float)) and math.isfinite(ts) else self._now()
        self.ts = ts
        self.imported.finished_at = max(self.imported.finished_at, ts)
        if isinstance(step, int) and self.first_row and self.session and step <= self.last_step:
            self.offset = self.last_step + 1 - step
            self.imported.notes.append(
                f"session {self.session + 1} of this wandb run (resumed offline) started its steps again at {step}: "
                f"its rows follow the earlier ones, from step {step + self.offset}")
        self.first_row = False
        if isinstance(step, int):
            step += self.offset
        if not isinstance(step, int) or step < self.last_step:
            self.imported.skip("history rows whose step goes back (a rewound resume)")
            return
        values, media = wandb_values(values)
        references = self._references(media)
        row: dict[str, Any] = {}
        for key, value in values.items():
            if isinstance(value, dict):
                self.imported.skip(f"values of wandb's {value.get('_type')} type")
                continue
            problem = key_problem(key)
            converted = number(value) if value is not None else None
            if problem is not None:
                self.imported.skip(f"metric {key[:80]!r}: {problem}")
            elif converted is None:
                self.imported.skip("history values that are not numbers")
            else:
                row[key] = converted
        self.last_step = step
        if row:
            self.imported.body.append([records.HISTORY, step, ts, row])
        if references:
            self.imported.body.append([records.MEDIA, ts, {"step": step, "values": references}])

    def _references(self, media: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        """Our references of a row's wandb media values (their files among this session's)."""
        if not media:
            return {}
        base = self.folders[self.session] / "files"
        if self._session_files is None or self._session_files[0] != self.session:
            found = {p.relative_to(base).as_posix(): p for p in base.rglob("*") if p.is_file()} if base.is_dir() else {}
            self._session_files = (self.session, found)
        files = self._session_files[1]
        out = {}
        for key, value in media.items():
            problem = key_problem(key)
            reference, extra = from_wandb(value, files) if problem is None else (None, {})
            if reference is None:
                self.imported.skip(f"media values whose file is missing or whose shape is unknown ({value.get('_type')})"
                                   if problem is None else f"metric {key[:80]!r}: {problem}")
                continue
            self.imported.files.update(extra)
            out[key] = reference
        return out

    def _on_summary(self, summary: Any) -> None:
        for item in summary.update:
            try:
                _set_path(self.summary, _path(item), json.loads(item.value_json))
            except ValueError:
                self.imported.skip("summary values that are not JSON")
        for item in summary.remove:
            _drop_path(self.summary, _path(item))

    def _on_stats(self, stats: Any) -> None:
        ts = _seconds(stats.timestamp) or self._now()
        data: dict[str, Any] = {}
        for item in stats.item:
            try:
                value = number(json.loads(item.value_json))
            except ValueError:
                continue
            if value is not None:
                data[system_name(item.key)] = value
        if data:
            self.imported.system.append([records.SYSTEM, ts, data])

    def _on_exit(self, exit_: Any) -> None:
        self.exit_code = int(exit_.exit_code)
        if exit_.runtime and self.imported.created_at:
            self.imported.finished_at = max(self.imported.finished_at, self.imported.created_at + exit_.runtime)

    # -- the summary ---------------------------------------------------------------------------
    def _manual_summary(self) -> dict[str, Any]:
        """wandb's summary values that the history and metric rules do not give here."""
        state = SummaryState()
        for record in self.imported.body:
            if record[0] == records.METRIC:
                state.apply(records.METRIC, record[2])
            elif record[0] == records.HISTORY:
                state.add_rows([record[3]], record[1])
        ours = state.as_dict()
        flat: dict[str, Any] = {}
        for key, value in self.summary.items():
            if key.startswith("_"):
                continue
            if isinstance(value, dict) and value and set(value) <= {"min", "max", "mean", "last", "first", "best", "copy"}:
                continue  # a metric's summary rules: the history gives them here
            _flatten(key, value, flat)
        manual: dict[str, Any] = {}
        for key, value in flat.items():
            if isinstance(value, dict):
                continue  # a media value's summary: the media records give it here (the last reference)
            elif key not in ours or not finite_equal(ours[key], value):
                manual[key] = value
        return manual
