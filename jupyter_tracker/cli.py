"""The ``tracker`` command."""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from . import settings

if TYPE_CHECKING:
    from .service.uploader import Uploader

__all__ = ["main"]


def _fmt(value: object) -> str:
    if isinstance(value, dict) and isinstance(value.get("_type"), str):  # a media reference
        return f"<{value['_type']}>"
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return str(value)
        return f"{value:.4g}"
    return str(value)


#: ``--where`` operators, longest first where one starts another.
_WHERE_OPS = {"!=": "$ne", ">=": "$gte", "<=": "$lte", "=": "$eq", "<": "$lt", ">": "$gt", "~": "$regex"}


def parse_where(text: str) -> dict:
    """``--where`` as a filter: ``KEY OP VALUE`` with OP one of ``= != < <= > >= ~``.

    The value is a JSON literal when it reads as one (``0.05``, ``true``,
    ``null``, ``"quoted text"``), else the text itself; ``~`` takes a regular
    expression. ``config.lr<0.05`` is ``{"config.lr": {"$lt": 0.05}}``.
    """
    import orjson

    best = None
    for token in _WHERE_OPS:
        at = text.find(token)
        if at > 0 and (best is None or at < best[0] or (at == best[0] and len(token) > len(best[1]))):
            best = (at, token)
    if best is None:
        raise ValueError(f"--where {text!r}: write KEY OP VALUE with OP one of {' '.join(_WHERE_OPS)}, "
                         "e.g. 'config.lr<0.05' or 'state=finished'")
    at, token = best
    key, raw = text[:at].strip(), text[at + len(token):].strip()
    value: object = raw
    if token != "~":
        try:
            value = orjson.loads(raw)
        except ValueError:
            value = raw
    return {key: {_WHERE_OPS[token]: value}}


def _shown_value(run: object, key: str) -> str:
    from . import query

    value = query.value_of(query.parse_field(key), run._field)  # type: ignore[attr-defined]
    return "-" if not query.present(query.parse_field(key), run._field) else _fmt(value)  # type: ignore[attr-defined]


def cmd_ls(args: argparse.Namespace) -> int:
    import orjson

    from .api import Api

    filters: list[dict] = [parse_where(text) for text in args.where]
    if args.filter:
        try:
            filters.append(orjson.loads(args.filter))
        except ValueError as exc:
            raise ValueError(f"--filter is not JSON ({exc})") from None
    combined = None if not filters else filters[0] if len(filters) == 1 else {"$and": filters}
    api = Api(dir=args.dir, host=args.host)
    runs = api.runs(project=args.project, filters=combined, order=args.sort, group=args.group,
                    tags=args.tag or None, state=args.state)
    for note in runs.notes:
        print(f"tracker ls: {note}", file=sys.stderr)
    where = api.host or api.dir
    if not runs:
        scope = f" of project {args.project!r}" if args.project else ""
        print(f"no runs{scope} matched under {where}" if combined or args.group or args.tag or args.state
              else f"no runs{scope} under {where}")
        return 0
    if args.limit:
        runs = runs[: args.limit]
    grouped = any(run.group for run in runs)
    header = ["ID", "NAME", "PROJECT", *(["GROUP"] if grouped else []), "STATE", "STEPS", "CREATED"]
    if args.sort:
        header.append(args.sort.lstrip("+-").upper())
    rows = [(*header, "LAST VALUES")]
    for run in runs:
        brief = run.brief()
        summary = brief["summary"]
        shown = ", ".join(f"{k}={_fmt(v)}" for k, v in list(summary.items())[: args.values])
        if len(summary) > args.values:
            shown += f", ... (+{len(summary) - args.values})"
        created = time.strftime("%Y-%m-%d %H:%M", time.localtime(run.created_at)) if run.created_at else "?"
        steps = brief["steps"]
        cells = [run.id, run.name or "", run.project or "", *([run.group or ""] if grouped else []), run.state,
                 "-" if steps is None else str(steps), created]
        if args.sort:
            cells.append(_shown_value(run, args.sort.lstrip("+-")))
        rows.append((*cells, shown))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row[:-1], widths)) + "  " + row[-1])
    return 0


def cmd_mode(args: argparse.Namespace) -> int:
    print(settings.set_mode("offline" if args.command in ("off", "offline") else "online", args.dir))
    return 0


def cmd_sync(args: argparse.Namespace) -> int:
    from .client import ServerClient
    from .rundir import list_run_dirs
    from .service.artifacts import refused_artifacts
    from .service.uploader import Uploader, debug_logger

    host = args.host or settings.host()
    if not host:
        print("tracker sync: no server configured: pass --host or run `tracker login`", file=sys.stderr)
        return 2
    client = ServerClient(host, settings.api_key())
    if args.clean:
        return _clean(args, client)
    paths = [Path(p) for p in args.paths]
    if args.all or args.project:
        from .rundir import read_info

        paths += [p for p in list_run_dirs(args.dir or settings.tracker_dir())
                  if args.project is None or (read_info(p) or {}).get("project") == args.project]
    paths = [p for p in dict.fromkeys(paths)]
    if not paths:
        scope = f" of project {args.project!r} under {args.dir or settings.tracker_dir()}" if args.project else ""
        print(f"tracker sync: no run directories{scope} (pass paths, --project P or --all)", file=sys.stderr)
        return 2
    failed = 0
    for path in paths:
        if not (path / "run.json").is_file():
            print(f"{path}: not a run directory", file=sys.stderr)
            failed += 1
            continue
        debug, handler = debug_logger(path)
        uploader = Uploader(path, client, debug)
        for key in refused_artifacts(uploader):  # offered again at each `tracker sync` (the server may take it now)
            del uploader.artifacts[key]
        try:
            ok = uploader.run_until(done=lambda: True, interval=0.0, give_up=args.retry_for, heartbeat_every=1e9)
        except KeyboardInterrupt:
            uploader.abandon("interrupted")
            print(f"{path.name}: interrupted; {_sync_report(uploader, path)}", file=sys.stderr)
            return 130
        finally:
            if handler is not None:
                debug.removeHandler(handler)
                handler.close()
        if ok:
            print(f"{path.name}: synced to {host}: {_sync_report(uploader)}")
        else:
            failed += 1
            print(f"{path.name}: not synced ({uploader.status}: {uploader.message}); {_sync_report(uploader, path)}",
                  file=sys.stderr)
    return 1 if failed else 0


def fully_synced(path: Path, client: object) -> bool:
    """Whether the server holds every record, file and artifact of the run at ``path``
    (asked of the server, not of ``sync.json``)."""
    from .service.uploader import Uploader

    uploader = Uploader(path, client)  # type: ignore[arg-type]
    uploader._align_with_server()
    from .service.artifacts import refused_artifacts

    # a refused file or artifact exists only here
    return not any(uploader.left().values()) and not uploader.refused_files and not refused_artifacts(uploader)


def _clean(args: argparse.Namespace, client: object) -> int:
    """``tracker sync --clean``: delete the offline runs the server holds completely (asks first)."""
    import shutil

    from .client import ServerError
    from .rundir import list_run_dirs, read_info, try_lock_run

    base = args.dir or settings.tracker_dir()
    candidates = [Path(p) for p in args.paths] or [p for p in list_run_dirs(base) if p.name.startswith("offline-")]
    if args.project:
        candidates = [p for p in candidates if (read_info(p) or {}).get("project") == args.project]
    done, kept, locks = [], [], []
    try:
        for path in candidates:
            lock = try_lock_run(path, role="cleaning")  # held until deleted: no process resumes it meanwhile
            complete = False
            if lock is not None:
                locks.append(lock)
                try:
                    complete = fully_synced(path, client)
                except ServerError as exc:
                    print(f"tracker sync --clean: cannot ask {client.host} about {path.name} ({exc}); kept",  # type: ignore[attr-defined]
                          file=sys.stderr)
            (done if complete else kept).append(path)
        if kept:
            print(f"kept {len(kept)} runs the server does not hold completely, or still recording "
                  "(run `tracker sync` on them): " + ", ".join(p.name for p in kept))
        if not done:
            print("tracker sync --clean: no synced offline runs to delete")
            return 0
        print("synced offline runs:\n" + "\n".join(f"  {p}" for p in done))
        if not args.yes:
            if not sys.stdin.isatty():
                print(f"tracker sync --clean: pass --yes to delete these {len(done)} runs (not asked: no terminal)",
                      file=sys.stderr)
                return 2
            if input(f"delete these {len(done)} run directories? [y/N] ").strip().lower() not in ("y", "yes"):
                print("nothing deleted")
                return 0
        for path in done:
            shutil.rmtree(path)
        print(f"deleted {len(done)} synced offline runs")
        return 0
    finally:
        for lock in locks:
            lock.release()


def _ranges(holes: list[list[int]]) -> str:
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in holes)


def _sync_report(uploader: Uploader, unfinished: Path | None = None) -> str:
    """What ``tracker sync`` did to one run: sent, declared missing, skipped, and what is left."""
    sent = uploader.sent
    records = sent["events"] + sent["system"]
    if records or sent["files"] or sent["artifacts"]:
        parts = [f"uploaded {records} records ({sent['events']} events, {sent['system']} system records) "
                 f"and {sent['files']} files" + (" so far" if unfinished else "")]
        if sent["artifacts"]:
            parts.append(f"{sent['artifacts']} artifact versions ({sent['blobs']} new blobs)")
    else:
        parts = ["nothing new" + (" sent" if unfinished else "")]
    for name, holes in uploader.declared.items():
        if holes:
            lost = sum(b - a + 1 for a, b in holes)
            parts.append(f"{lost} records were unreadable in the local {name} log (seq {_ranges(holes)}) "
                         "and are recorded as missing on the server")
    for name, holes in uploader.missing.items():
        if holes and not uploader.declared[name]:
            lost = sum(b - a + 1 for a, b in holes)
            parts.append(f"{lost} unreadable records of the local {name} log (seq {_ranges(holes)}) "
                         "are recorded as missing on the server")
    for name, count in uploader.skipped.items():
        if count:
            parts.append(f"{count} duplicate records of the local {name} log skipped")
    refused = uploader.refused_files
    if refused:
        shown = "; ".join(f"{name} ({entry.get('reason')})" for name, entry in list(refused.items())[:3])
        more = f" and {len(refused) - 3} more" if len(refused) > 3 else ""
        parts.append(f"{len(refused)} files refused by the server, not uploaded: {shown}{more}")
    from .service.artifacts import refused_artifacts

    refused_art = refused_artifacts(uploader)
    if refused_art:
        parts.append(f"{len(refused_art)} artifacts refused by the server, not uploaded: "
                     + "; ".join(list(refused_art.values())[:3]))
    if unfinished is not None:
        left = uploader.left()
        parts.append(f"left: {left['events']} events, {left['system']} system records, {left['files']} files, "
                     f"{left['artifacts']} artifacts; "
                     f"run `tracker sync {unfinished}` again")
    return "; ".join(parts)


def cmd_login(args: argparse.Namespace) -> int:
    import getpass

    from .client import Refused, Retryable, ServerClient

    host = (args.host or settings.host() or "").rstrip("/")
    if not host:
        print("tracker login: pass --host URL", file=sys.stderr)
        return 2
    if args.key_stdin or not sys.stdin.isatty():
        key = sys.stdin.readline().strip()
    else:
        key = getpass.getpass(f"token for {host}: ").strip()
    if not key:
        print("tracker login: no token given", file=sys.stderr)
        return 2
    try:
        ServerClient(host, key).list_runs(limit=1)
    except Refused as exc:
        print(f"tracker login: {exc}", file=sys.stderr)
        return 1
    except Retryable as exc:
        print(f"tracker login: {exc}", file=sys.stderr)
        return 1
    path = settings.save_login(host, key)
    print(f"tracker: logged in to {host}; token stored in {path} (mode 0600)")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tracker",
        description="jupyter-tracker: list local runs, set the default mode, sync runs to a server, run one, "
                    "import runs of other tools, export a run's history.",
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    ls = sub.add_parser(
        "ls", help="list runs (newest first), filtered and sorted",
        description="List runs, newest first: local runs under --dir, or a server's with --host.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="""examples:
  tracker ls --project sweep --group lr=0.1
  tracker ls --project sweep --where 'config.lr<0.05' --where state=finished --sort=-summary.val/acc
  tracker ls --where 'display_name~^base' --tag baseline
  tracker ls --filter '{"$or": [{"config.lr": 0.1}, {"config.batch": {"$in": [64, 128]}}]}'

--where KEY OP VALUE, OP one of = != < <= > >= ~ (a regular expression); repeat it
and every condition must hold. KEY is config.<key> (or a bare config key: lr),
summary.<metric>, or id, display_name, project, group, job_type, tags, state,
notes, created_at. VALUE is a JSON literal when it reads as one (0.05, true,
null, "text"), else the text. --filter takes wandb's filter syntax as JSON.
--sort KEY sorts ascending, --sort=-KEY descending; runs without KEY come last.""",
    )
    ls.add_argument("--project", help="only runs of this project")
    ls.add_argument("--group", help="only runs of this group")
    ls.add_argument("--tag", action="append", default=[], metavar="TAG", help="only runs with this tag (repeatable: all of them)")
    ls.add_argument("--state", help="only runs in this state (running, finished, failed, crashed, service-stopped)")
    ls.add_argument("--where", action="append", default=[], metavar="EXPR",
                    help="a condition KEY OP VALUE, e.g. 'config.lr<0.05' (repeatable)")
    ls.add_argument("--filter", metavar="JSON", help="a filter in wandb's syntax, as JSON")
    ls.add_argument("--sort", metavar="KEY", help="sort by KEY (ascending; --sort=-KEY descending), e.g. summary.val/acc")
    ls.add_argument("--limit", type=int, default=0, help="show at most this many runs")
    ls.add_argument("--host", help="list the runs of this tracking server instead (token from `tracker login`)")
    ls.add_argument("--dir", type=Path, help="folder of the run directories (default $TRACKER_DIR or ./tracker)")
    ls.add_argument("--values", type=int, default=4, help="how many last values to show (default 4)")
    ls.set_defaults(func=cmd_ls)
    for name, alias, text in (("off", "offline", "runs stay local (offline) by default"),
                              ("on", "online", "runs sync online by default")):
        mode = sub.add_parser(name, aliases=[alias], help=text)
        mode.add_argument("--dir", type=Path, help="folder of the run directories (default $TRACKER_DIR or ./tracker)")
        mode.set_defaults(func=cmd_mode)
    sync = sub.add_parser("sync", help="upload offline or interrupted runs to the server")
    sync.add_argument("paths", nargs="*", help="run directories (e.g. tracker/offline-run-*)")
    sync.add_argument("--all", action="store_true", help="every run under --dir / $TRACKER_DIR")
    sync.add_argument("--project", help="every run of this project under --dir / $TRACKER_DIR")
    sync.add_argument("--clean", action="store_true",
                      help="instead of syncing, delete the offline runs (given, or under --dir) that the server "
                           "holds completely; asks first unless --yes")
    sync.add_argument("-y", "--yes", action="store_true", help="with --clean: delete without asking")
    sync.add_argument("--dir", type=Path, help="folder of the run directories (default $TRACKER_DIR or ./tracker)")
    sync.add_argument("--host", help="server URL (default $TRACKER_HOST or the one from `tracker login`)")
    sync.add_argument("--retry-for", type=float, default=60.0, metavar="SECONDS",
                      help="how long to keep retrying an unreachable server (default 60)")
    sync.set_defaults(func=cmd_sync)
    login = sub.add_parser("login", help="store a server URL and token (asked for, or read from stdin)")
    login.add_argument("--host", help="server URL, e.g. http://127.0.0.1:8765")
    login.add_argument("--key-stdin", action="store_true", help="read the token from stdin")
    login.set_defaults(func=cmd_login)
    sub.add_parser("server", help="run the tracking server (see `tracker server --help`)", add_help=False)
    from .importers.commands import add_commands

    add_commands(sub)  # tracker import ..., tracker export ...
    from .api.commands import add_commands as add_api_commands

    add_api_commands(sub)  # tracker artifact ls, tracker restore, tracker status
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["server"]:
        from .server.commands import main as server_main

        return server_main(argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.version:
        from ._version import __version__

        print(__version__)
        return 0
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    from .client import ServerError

    try:
        return args.func(args)
    except (ValueError, OSError) as exc:
        print(f"tracker {args.command}: {exc}", file=sys.stderr)
        return 2
    except ServerError as exc:  # a server unreachable or refusing: said in one line, no traceback
        print(f"tracker {args.command}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
