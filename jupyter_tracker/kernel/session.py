"""``init()`` and the current run of this process.

In a notebook, calling ``init`` again (re-running the init cell) finishes the
previous run first. The module-level ``tracker.log`` & co. act on the current
run.
"""

from __future__ import annotations

import atexit
import os
import platform
import socket
import sys
import time
from pathlib import Path
from typing import Any

from .. import records, rundir, settings
from .._version import __version__
from . import exits
from .capture import as_text
from .configs import clean_value
from .disabled import DisabledRun
from ..names import check_id, new_id, random_name
from .notices import Notices, in_kernel, ipython
from ..limits import LIVE_STATES
from ..replay import replay
from .initargs import InitArgs, resolve
from .run import Run

__all__ = ["init", "current", "open_panel", "RESUME_CHOICES", "RunLocked"]

RunLocked = rundir.RunLocked

RESUME_CHOICES = ("allow", "must", "never")

_current: Run | DisabledRun | None = None
#: Runs left running by ``init(reinit="create_new")``: finished at exit if still live.
_others: list = []
_atexit_registered = False


def current() -> Run | DisabledRun | None:
    """The run ``tracker.log`` & co. act on, or ``None``."""
    return _current


def _normalize_resume(resume: Any) -> str | None:
    if resume is None or resume is False:
        return None
    if resume is True:
        return "allow"
    if isinstance(resume, str) and resume.lower() in RESUME_CHOICES:
        return resume.lower()
    if isinstance(resume, str) and resume.lower() == "auto":  # wandb's; here it means "allow"
        return "allow"
    raise ValueError(f"resume={resume!r}: use 'allow', 'must', 'never' or True (meaning 'allow'; so does 'auto')")


def _owned(run: Any) -> bool:
    """Whether ``run`` is this process's (not a parent's, inherited through fork)."""
    return getattr(run, "_pid", None) in (None, os.getpid())


def init(
    project: str | None = None,
    name: str | None = None,
    config: Any = None,
    group: str | None = None,
    job_type: str | None = None,
    tags: Any = None,
    notes: str | None = None,
    mode: str | None = None,
    dir: str | os.PathLike | None = None,  # noqa: A002 - the wandb name
    id: str | None = None,  # noqa: A002 - the wandb name
    resume: Any = None,
    *,
    entity: str | None = None,
    reinit: Any = None,
    settings: Any = None,
    save_code: bool | None = None,
    config_exclude_keys: Any = None,
    config_include_keys: Any = None,
    allow_val_change: bool | None = None,
    sync_tensorboard: bool | None = None,
    tensorboard: bool | None = None,
    anonymous: Any = None,
    magic: Any = None,
    monitor_gym: Any = None,
    force: Any = None,
    fork_from: Any = None,
    resume_from: Any = None,
) -> Run | DisabledRun:
    """Start a run (finishing the current one, if any) and return it.

    Parameters
    ----------
    project, name, group, job_type, notes
        Strings; ``name`` defaults to a readable random one.
    config
        Dict (or ``argparse.Namespace``) of hyperparameters.
    tags
        A list of strings.
    mode
        ``"online"``, ``"offline"`` (or ``"dryrun"``) or ``"disabled"``;
        default from ``TRACKER_MODE`` or the settings files. Online needs a
        server and token; without them runs are offline.
    dir
        Folder of the run directories (default ``$TRACKER_DIR`` or ``./tracker``).
    id, resume
        Without ``id`` a new run gets a random one. With ``id``:
        ``resume=None`` or ``"never"`` starts run ``id`` and fails if it exists;
        ``"allow"`` (or ``True``) continues run ``id`` if it exists and starts it
        if not; ``"must"`` continues it and fails if it does not exist.
        One process records a run at a time: it holds the lock on the run's
        directory (``run.lock``) from ``init`` to ``finish`` (the system lets it
        go when the process ends, even killed), and an ``init`` of the same id
        in another process meanwhile fails with :class:`RunLocked` naming the
        process that records it. A crashed run can be resumed.
    entity
        Kept with the run (``run.entity``); runs are not grouped by it here.
    reinit
        What happens to a run this process records already: ``None``, ``True``,
        ``False``, ``"default"`` or ``"finish_previous"`` finish it first (a
        notebook's re-run init cell); ``"return_previous"`` returns it unchanged
        (the other arguments are ignored); ``"create_new"`` leaves it running
        and the new run becomes ``tracker.run`` (each is finished by its own
        ``finish()``, or at exit).
    settings
        A :class:`tracker.Settings` (or a dict of its fields): wandb's settings.
    save_code
        ``True``/``False`` captures (or not) the code, whatever
        ``TRACKER_DISABLE_CODE`` says.
    config_exclude_keys, config_include_keys
        Keys of ``config`` to leave out, or the only ones to keep.
    allow_val_change
        Config values may change later without ``allow_val_change=True``.
    sync_tensorboard, tensorboard, anonymous, magic, monitor_gym, force
        Accepted for wandb's scripts; without effect here (noted in debug.log;
        ``sync_tensorboard`` says how to import TensorBoard files instead).
    fork_from, resume_from
        Not supported: ``NotImplementedError``.

    Arguments not given come from the environment: ``TRACKER_PROJECT``,
    ``TRACKER_ENTITY``, ``TRACKER_RUN_ID``, ``TRACKER_RESUME``, ``TRACKER_NAME``,
    ``TRACKER_RUN_GROUP``, ``TRACKER_JOB_TYPE``, ``TRACKER_TAGS`` (comma-separated),
    ``TRACKER_NOTES``, each falling back to its ``WANDB_*`` twin.

    Raises
    ------
    ValueError, TypeError
        For bad arguments (an unknown mode, a bad id, a non-dict config, a
        text or config value the tracking server could not store), naming it.
    RunLocked
        (a ``RuntimeError``) when another process records run ``id``.
    OSError
        When the run directory cannot be written (before any training starts).
    """
    started = time.monotonic()
    given = dict(
        project=project, name=name, config=config, group=group, job_type=job_type, tags=tags, notes=notes,
        mode=mode, dir=dir, id=id, resume=resume, entity=entity, reinit=reinit, settings=settings,
        save_code=save_code, config_exclude_keys=config_exclude_keys, config_include_keys=config_include_keys,
        allow_val_change=allow_val_change, sync_tensorboard=sync_tensorboard, tensorboard=tensorboard,
        anonymous=anonymous, magic=magic, monitor_gym=monitor_gym, force=force, fork_from=fork_from,
        resume_from=resume_from,
    )
    args = resolve(given)
    previous = _current
    if args.reinit == "return_previous" and previous is not None and _owned(previous):
        if not getattr(previous, "finished", False):
            return previous
    run = _start(args, started)
    notices = getattr(run, "notices", None)  # a disabled run has none: nothing to note
    if notices is not None:
        for note in args.notes:
            notices.debug(note)
        for message, key in args.warnings:
            notices.warn(message, key)
    return run


def _start(args: InitArgs, started: float) -> Run | DisabledRun:
    global _current
    values = args.values
    project, name, group, job_type, tags, notes = (
        values[k] for k in ("project", "name", "group", "job_type", "tags", "notes")
    )
    mode, dir, id, resume, entity = (values[k] for k in ("mode", "dir", "id", "resume", "entity"))  # noqa: A001
    config = values["config"]
    for key, value in config.items():
        clean_value("config", key, value)  # refused here, before a run exists
    mode = settings.mode(mode)
    resume = _normalize_resume(resume)
    if id is not None:
        check_id(id)
    elif resume == "must":
        raise ValueError("init(resume='must') needs the id= of the run to resume")

    if _current is not None:
        if not _owned(_current):  # the parent's run, inherited through fork: not ours to finish
            _current = None
        elif args.reinit == "create_new":
            # left running; finished by its own finish() or at exit (finished ones are let go)
            _others[:] = [r for r in (*_others, _current) if getattr(r, "state", None) in LIVE_STATES]
            _current = None
        else:
            _current.finish()

    if mode == "disabled":
        run: Run | DisabledRun = DisabledRun(project, name, config, entity=entity)
        _current = run
        return run

    base = Path(dir) if dir is not None else settings.tracker_dir()
    try:
        base.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise type(exc)(
            exc.errno,
            f"tracker cannot create its folder {str(base)!r} ({exc.strerror}); "
            "set TRACKER_DIR or pass dir= to a writable folder",
        ) from None

    run_id = id or new_id()
    existing, lock = _claim(base, run_id, id is not None, resume, mode)
    now = time.time()
    try:
        if existing is not None:
            run = _resume(existing, project, name, config, group, job_type, tags, notes, mode, now, lock, entity)
        else:
            path = lock.path
            if name is None:
                name = random_name(len(rundir.list_run_dirs(base)))
            info = _new_info(run_id, name, project, group, job_type, tags, notes, mode, now)
            if entity is not None:
                info["entity"] = entity
            rundir.write_info(path, info)
            notices = Notices(path, run_id)
            run = Run(run_id=run_id, path=path, info=info, notices=notices, dir_lock=lock)
            run.record(records.START, {"pid": os.getpid(), "host": info["host"], "resumed": False})
            if config:
                run.config.update(config)
    except BaseException:
        lock.release()
        raise
    if lock.problem:
        run.notices.debug(f"the run directory is not locked: {lock.problem}")
    if args.allow_val_change:
        run.config.set_allow_val_change(True)
    _start_companions(run, args.capture_code)
    _current = run
    _register_atexit()
    if ipython() is None:
        exits.install()  # a plain script: learn its exit code
    elapsed = time.monotonic() - started
    run.notices.debug(f"init took {elapsed * 1000:.0f} ms")
    panel = None
    if in_kernel() and not settings.silent():
        try:
            panel = open_panel(run, quiet=True)
        except Exception as exc:  # noqa: BLE001 - a panel bug must not stop the run
            run.notices.debug(f"the live panel failed to open: {exc!r}")
    if panel is not None:
        run.notices.debug(_banner(run))  # the panel shows it; the banner line is not printed
    else:
        run.notices.banner(_banner(run))
    return run


def open_panel(run: Run, quiet: bool = False) -> Any:
    """Show the run's live panel in the current cell (creating it on first use).

    With ``quiet``, a missing widget library is not an error: ``None`` is
    returned and the caller falls back to the one-line banner.
    """
    panel = run.companions.panel
    if panel is None:
        import importlib.util

        # bqplot (and the pandas it imports) loads on the panel's thread when the
        # first chart is drawn, so that init stays fast; only check it is there.
        missing = [m for m in ("ipywidgets", "bqplot") if importlib.util.find_spec(m) is None]
        if missing:
            if quiet:
                return None
            raise ImportError(f"the live panel needs {' and '.join(missing)}: pip install ipywidgets bqplot")
        from ..livepanel import Panel

        panel = Panel(run)
        run.companions.panel = panel
        run.notices.sink = panel.set_status
    panel.show()
    return panel


def open_compare(**options: Any) -> Any:
    """Show a compare view (:func:`jupyter_tracker.livepanel.compare.compare`) in the current cell."""
    import importlib.util

    missing = [m for m in ("ipywidgets", "bqplot") if importlib.util.find_spec(m) is None]
    if missing:
        raise ImportError(f"the compare view needs {' and '.join(missing)}: pip install ipywidgets bqplot")
    from ..livepanel.compare import compare

    view = compare(**options)
    view.show()
    return view


def _new_info(run_id, name, project, group, job_type, tags, notes, mode, now) -> dict[str, Any]:
    return {
        "id": run_id,
        "name": name,
        "project": project,
        "group": group,
        "job_type": job_type,
        "tags": tags or [],
        "notes": notes,
        "mode": mode,
        "state": "running",
        "created_at": now,
        "updated_at": now,
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
        "tracker_version": __version__,
        "cwd": as_text(os.getcwd()),
    }


def _claim(
    base: Path, run_id: str, chosen: bool, resume: str | None, mode: str
) -> tuple[Path | None, rundir.RunLock]:
    """The directory of the run to record (an existing one to resume, or a new one),
    locked for this process. Raises ``ValueError`` or ``RunLocked``."""
    if not chosen:  # a fresh random id: nobody else can want it
        path = rundir.create(base, run_id, offline=(mode != "online"))
        return None, rundir.lock_run(path, run_id)
    with rundir.creating(base):  # two processes starting the same id at once: one directory
        existing = rundir.find_by_id(base, run_id)
        if existing is not None and resume in (None, "never"):
            raise ValueError(
                f"a run with id {run_id!r} exists already ({existing.name}); pass resume='allow' to continue it"
            )
        if existing is None and resume == "must":
            raise ValueError(f"init(id={run_id!r}, resume='must'): no run with that id under {str(base)!r}")
        if existing is not None:
            return existing, rundir.lock_run(existing, run_id)
        path = rundir.create(base, run_id, offline=(mode != "online"))
        return None, rundir.lock_run(path, run_id)


def _resume(path, project, name, config, group, job_type, tags, notes, mode, now, lock, entity=None) -> Run:
    log = replay(path / rundir.EVENTS, keep_rows=False)
    info = rundir.read_info(path) or {}
    run_id = info.get("id") or path.name.rsplit("-", 1)[-1]
    info.update({k: v for k, v in log.meta.items() if k in ("name", "tags", "notes", "group", "job_type")})
    for key, value in (("name", name), ("group", group), ("job_type", job_type), ("tags", tags), ("notes", notes),
                       ("entity", entity)):
        if value is not None:
            info[key] = value
    info.setdefault("project", project)
    info.setdefault("name", random_name())
    info.update(
        mode=mode, state="running", pid=os.getpid(), host=socket.gethostname(),
        resumed_at=now, updated_at=now, resumes=int(info.get("resumes", 0)) + 1,
    )
    info.pop("finished_at", None)
    info.pop("exit_code", None)
    rundir.write_info(path, info)
    notices = Notices(path, run_id)
    run = Run(
        run_id=run_id, path=path, info=info, notices=notices, seq=log.last_seq,
        step=log.next_step, summary_state=log.summary, config=log.config, dir_lock=lock,
    )
    report = log.report
    if report.corrupt or report.torn_tail:
        said = []
        if report.corrupt:
            said.append(f"{report.corrupt} damaged lines ({report.missing} records) skipped")
        if run.writer.cut_tail:
            said.append(f"a torn last frame ({run.writer.cut_tail} bytes, never completed) cut off")
        notices.debug(f"resume: events.log had {' and '.join(said)}; the log continues after record {log.last_seq}")
    run.record(records.START, {"pid": os.getpid(), "host": info["host"], "resumed": True})
    if config:
        run.config.update(config, allow_val_change=True)
    return run


def _start_companions(run: Run, capture_code: bool | None = None) -> None:
    """The service process and code capture; neither delays ``init``."""
    from . import capture, sync_watch
    from .service_handle import ServiceHandle

    run.after_finish(lambda state: _after_finish(run, state))
    try:
        service = ServiceHandle(run.path)
    except OSError as exc:
        run.notices.warn(f"cannot start the service process ({exc}); logging goes on without it", "service-start")
        service = None
    run.companions.service = service
    if service is not None:
        def watch_service() -> None:
            code = service.exited()
            if code is not None and not service.stopping and not service.reported:
                service.reported = True
                run.record(records.STATE, {"state": "service-stopped", "exit_code": code})
                run.update_info({"state": "service-stopped", "service_exit_code": code})
                run.notices.warn(
                    f"the tracker's service process stopped (exit code {code}); logging goes on "
                    "and is safe on disk, but system metrics are paused",
                    "service-stopped",
                )

        run.on_tick(watch_service)
    sync_watch.SyncWatch.attach(run)  # a script is told when the upload is refused or failing
    capture.start(run, capture_code)


def _banner(run: Run) -> str:
    where = run.dir
    try:
        where = os.path.relpath(run.dir)
    except ValueError:
        pass
    return f"run {run.name} ({run.id}) · project {run.project} · {run.mode} · {where}"


def _after_finish(run: Any, state: str) -> None:
    """Called by ``finish()``: say so, and forget the run if it is the current one."""
    global _current
    from .sync_watch import report_at_finish

    report_at_finish(run)  # records not on the server, while the upload is refused or failing
    companions = getattr(run, "companions", None)  # a disabled run has none
    service = companions.service if companions is not None else None
    if service is not None:
        service.stop()  # after every record is written: it uploads the rest, then exits
    notices = getattr(run, "notices", None)
    panel = companions.panel if companions is not None else None
    if panel is not None:
        try:
            panel.finish(state, static_image=in_kernel())
        except Exception as exc:  # noqa: BLE001 - finishing must complete
            notices.debug(f"panel finish failed: {exc!r}")
    if notices is not None:
        notices.update_banner(f"{_banner(run)} · {state}")
        notices.close()
    if _current is run:
        _current = None
        exits.uninstall()


def _register_atexit() -> None:
    global _atexit_registered
    if not _atexit_registered:
        _atexit_registered = True
        atexit.register(_finish_at_exit)


def _finish_at_exit() -> None:
    runs = [run for run in (*_others, _current) if run is not None and _owned(run)]
    _others.clear()
    if not runs:
        return  # a forked child ending: the run is its parent's
    code = exits.exit_code()
    if code is None:
        code = 1 if not in_kernel() and getattr(sys, "last_type", None) is not None else 0
    for run in runs:
        try:
            run.finish(exit_code=code)
        except Exception:  # noqa: BLE001 - at exit there is no one left to tell
            pass
