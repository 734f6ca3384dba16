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
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return str(value)
        return f"{value:.4g}"
    return str(value)


def cmd_ls(args: argparse.Namespace) -> int:
    from .api import Api

    api = Api(dir=args.dir)
    runs = api.runs(project=args.project)
    if not runs:
        where = f" of project {args.project!r}" if args.project else ""
        print(f"no runs{where} under {api.dir}")
        return 0
    rows = [("ID", "NAME", "PROJECT", "STATE", "STEPS", "CREATED", "LAST VALUES")]
    for run in runs:
        brief = run.brief()
        summary = brief["summary"]
        shown = ", ".join(f"{k}={_fmt(v)}" for k, v in list(summary.items())[: args.values])
        if len(summary) > args.values:
            shown += f", ... (+{len(summary) - args.values})"
        created = time.strftime("%Y-%m-%d %H:%M", time.localtime(run.created_at)) if run.created_at else "?"
        steps = brief["steps"]
        rows.append((run.id, run.name or "", run.project or "", run.state, "-" if steps is None else str(steps), created, shown))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row[:-1], widths)) + "  " + row[-1])
    return 0


def cmd_mode(args: argparse.Namespace) -> int:
    print(settings.set_mode("offline" if args.command == "off" else "online", args.dir))
    return 0


def cmd_sync(args: argparse.Namespace) -> int:
    from .client import ServerClient
    from .rundir import list_run_dirs
    from .service.uploader import Uploader, debug_logger

    host = args.host or settings.host()
    if not host:
        print("tracker sync: no server configured: pass --host or run `tracker login`", file=sys.stderr)
        return 2
    paths = [Path(p) for p in args.paths]
    if args.all:
        paths += list_run_dirs(args.dir or settings.tracker_dir())
    paths = [p for p in dict.fromkeys(paths)]
    if not paths:
        print("tracker sync: no run directories given (pass paths, or --all)", file=sys.stderr)
        return 2
    client = ServerClient(host, settings.api_key())
    failed = 0
    for path in paths:
        if not (path / "run.json").is_file():
            print(f"{path}: not a run directory", file=sys.stderr)
            failed += 1
            continue
        debug, handler = debug_logger(path)
        uploader = Uploader(path, client, debug)
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


def _ranges(holes: list[list[int]]) -> str:
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in holes)


def _sync_report(uploader: Uploader, unfinished: Path | None = None) -> str:
    """What ``tracker sync`` did to one run: sent, declared missing, skipped, and what is left."""
    sent = uploader.sent
    records = sent["events"] + sent["system"]
    if records or sent["files"]:
        parts = [f"uploaded {records} records ({sent['events']} events, {sent['system']} system records) "
                 f"and {sent['files']} files" + (" so far" if unfinished else "")]
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
    if unfinished is not None:
        left = uploader.left()
        parts.append(f"left: {left['events']} events, {left['system']} system records, {left['files']} files; "
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
    path = settings.user_settings_path()
    settings.write_file(path, {"host": host, "api_key": key}, private=True)
    print(f"tracker: logged in to {host}; token stored in {path} (mode 0600)")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tracker",
        description="jupyter-tracker: list local runs, set the default mode, sync runs to a server, run one.",
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    ls = sub.add_parser("ls", help="list local runs (newest first)")
    ls.add_argument("--project", help="only runs of this project")
    ls.add_argument("--dir", type=Path, help="folder of the run directories (default $TRACKER_DIR or ./tracker)")
    ls.add_argument("--values", type=int, default=4, help="how many last values to show (default 4)")
    ls.set_defaults(func=cmd_ls)
    for name, text in (("off", "runs stay local (offline) by default"), ("on", "runs sync online by default")):
        mode = sub.add_parser(name, help=text)
        mode.add_argument("--dir", type=Path, help="folder of the run directories (default $TRACKER_DIR or ./tracker)")
        mode.set_defaults(func=cmd_mode)
    sync = sub.add_parser("sync", help="upload offline or interrupted runs to the server")
    sync.add_argument("paths", nargs="*", help="run directories (e.g. tracker/offline-run-*)")
    sync.add_argument("--all", action="store_true", help="every run under --dir / $TRACKER_DIR")
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
    try:
        return args.func(args)
    except (ValueError, OSError) as exc:
        print(f"tracker {args.command}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
