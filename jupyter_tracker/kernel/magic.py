"""The ``%tracker`` line magic and the IPython extension hooks.

``%load_ext tracker`` (or ``jupyter_tracker``) registers the magic and puts
``tracker`` in the namespace when that name is free; ``%unload_ext`` undoes
exactly that, so ``%reload_ext`` works.
"""

from __future__ import annotations

import ast
import re
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments
from IPython.utils.process import arg_split

__all__ = ["TrackerMagics", "load_ipython_extension", "unload_ipython_extension", "parse_params"]

COMMANDS = ("init", "finish", "status", "config", "off", "on", "panel", "compare")
_KEY = re.compile(r"^[A-Za-z_][\w./-]*$")
_INIT_ONLY = ("project", "name", "group", "job_type", "tags", "notes", "mode", "id", "resume", "dir")
#: Options of init that compare takes too (which runs), and compare's own.
_COMPARE_TOO = ("project", "group", "tags", "dir")
_COMPARE_ONLY = ("group_by", "metrics", "band", "where", "sort")


def parse_params(params: list[str]) -> dict[str, Any]:
    """``key=value`` words as a dict; values are Python literals when they parse."""
    out: dict[str, Any] = {}
    for word in params:
        key, sep, raw = word.partition("=")
        if not sep or not _KEY.match(key):
            raise UsageError(f"%tracker: expected key=value, got {word!r}")
        try:
            value = ast.literal_eval(raw)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            value = raw
        out[key] = value
    return out


@magics_class
class TrackerMagics(Magics):
    @magic_arguments()
    @argument("command", choices=COMMANDS, help="what to do: " + ", ".join(COMMANDS))
    @argument("params", nargs="*", help="key=value config entries (init, config)")
    @argument("--project", help="project name (init)")
    @argument("--name", help="run name (init); a readable random one by default")
    @argument("--group", help="group of runs (init)")
    @argument("--job-type", dest="job_type", help="job type (init)")
    @argument("--tags", help="comma-separated tags (init)")
    @argument("--notes", help="free text (init)")
    @argument("--mode", help="online, offline or disabled (init)")
    @argument("--id", help="run id, to resume a run (init)")
    @argument("--resume", help="allow, must or never (init)")
    @argument("--dir", help="folder of the run directories (init, compare)")
    @argument("--group-by", dest="group_by", help="compare: a mean line and band per value of a config key, group or job_type")
    @argument("--metrics", help="compare: comma-separated metrics to chart (default: all)")
    @argument("--band", choices=("minmax", "std", "sem"), help="compare: the band around a group's mean")
    @argument("--where", action="append", help="compare: KEY OP VALUE filter as tracker ls takes it (repeatable)")
    @argument("--sort", help="compare: order of the runs, e.g. -summary.val/acc")
    @line_magic
    def tracker(self, line: str) -> Any:
        """Record experiments from this notebook.

        %tracker init [--project P --name N ...] [key=value ...]   start a run (config from key=value)
        %tracker finish                                           finish the current run
        %tracker status                                           show the current run
        %tracker config key=value ...                             set config keys
        %tracker off | on                                         default mode offline / online
        %tracker panel                                            show the live panel here
        %tracker compare --project P [--group-by K] [--metrics a,b] [--where 'config.lr<0.05'] [--band std]
                                                                  compare a project's runs here, live
        """
        try:
            # options and key=value words may come in any order
            args = self.tracker.parser.parse_intermixed_args(arg_split(line, strict=True))
        except UsageError as exc:
            raise UsageError(f"%tracker: {exc}; see %tracker?") from None
        except ValueError as exc:  # shlex: unbalanced quotes
            raise UsageError(f"%tracker: cannot parse {line!r} ({exc})") from None
        import jupyter_tracker as tracker

        if args.command != "init":
            allowed = _COMPARE_TOO if args.command == "compare" else ()
            given = [f"--{k.replace('_', '-')}" for k in _INIT_ONLY if getattr(args, k) is not None and k not in allowed]
            if given:
                raise UsageError(f"%tracker {args.command}: {', '.join(given)} only go with %tracker init")
        if args.command != "compare":
            given = [f"--{k.replace('_', '-')}" for k in _COMPARE_ONLY if getattr(args, k) is not None]
            if given:
                raise UsageError(f"%tracker {args.command}: {', '.join(given)} only go with %tracker compare")
        if args.command == "init":
            config = parse_params(args.params)
            tags = [t.strip() for t in args.tags.split(",") if t.strip()] if args.tags else None
            try:
                tracker.init(
                    project=args.project, name=args.name, config=config, group=args.group,
                    job_type=args.job_type, tags=tags, notes=args.notes, mode=args.mode,
                    id=args.id, resume=args.resume, dir=args.dir,
                )
            except (ValueError, TypeError, tracker.RunLocked) as exc:
                raise UsageError(f"%tracker init: {exc}") from None
            return None
        if args.params and args.command not in ("config",):
            raise UsageError(f"%tracker {args.command} takes no key=value arguments")
        run = tracker.current()
        if args.command == "finish":
            if run is None:
                raise UsageError("%tracker finish: no active run")
            run.finish()
        elif args.command == "status":
            if run is None:
                print("tracker: no active run")
            else:
                print(f"tracker: run {run.name} ({run.id}) · project {run.project} · {run.state} · "
                      f"step {run.step} · {run.dir}")
        elif args.command == "config":
            if run is None:
                raise UsageError("%tracker config: no active run; use %tracker init first")
            if not args.params:
                print(dict(run.config))
                return None
            try:
                run.config.update(parse_params(args.params))
            except (ValueError, TypeError) as exc:
                raise UsageError(f"%tracker config: {exc}") from None
        elif args.command == "panel":
            try:
                tracker.panel()
            except (RuntimeError, ImportError) as exc:
                raise UsageError(f"%tracker panel: {exc}") from None
        elif args.command == "compare":
            self._compare(args)
        elif args.command in ("off", "on"):
            from ..settings import set_mode

            print(set_mode("offline" if args.command == "off" else "online"))
        return None


    @staticmethod
    def _compare(args: Any) -> None:
        import jupyter_tracker as tracker
        from ..cli import parse_where

        try:
            filters = [parse_where(_unquoted(text)) for text in args.where or []]
            tags = [t.strip() for t in args.tags.split(",") if t.strip()] if args.tags else None
            metrics = [m.strip() for m in args.metrics.split(",") if m.strip()] if args.metrics else None
            tracker.compare(project=args.project, filters={"$and": filters} if len(filters) > 1 else
                            (filters[0] if filters else None), order=args.sort, group_by=args.group_by,
                            metrics=metrics, band=args.band or "minmax", group=args.group, tags=tags, dir=args.dir)
        except (ValueError, TypeError, KeyError, RuntimeError, ImportError) as exc:
            raise UsageError(f"%tracker compare: {exc}") from None


def _unquoted(text: str) -> str:
    """A word as the shell would pass it: the magic's split keeps quotes (``'config.lr<0.05'``)."""
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    return text


_state: dict[str, Any] = {}


def load_ipython_extension(ipython: Any) -> None:
    import jupyter_tracker

    magics = TrackerMagics(ipython)
    ipython.register_magics(magics)
    _state["magics"] = magics
    if "tracker" not in ipython.user_ns:
        ipython.user_ns["tracker"] = jupyter_tracker
        _state["put_name"] = True
    else:
        _state["put_name"] = False


def unload_ipython_extension(ipython: Any) -> None:
    import jupyter_tracker

    manager = ipython.magics_manager
    manager.magics["line"].pop("tracker", None)
    manager.registry.pop("TrackerMagics", None)
    if _state.pop("put_name", False) and ipython.user_ns.get("tracker") is jupyter_tracker:
        del ipython.user_ns["tracker"]
    _state.pop("magics", None)

