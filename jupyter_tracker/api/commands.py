"""``tracker artifact ls``, ``tracker restore RUN_ID`` and ``tracker status``.

Registered by :func:`add_commands` on the ``tracker`` command's subparsers.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path
from typing import Any

__all__ = ["add_commands", "cmd_artifact_ls", "cmd_restore", "cmd_status"]

_DIR_HELP = "folder of the run directories (default $TRACKER_DIR or ./tracker)"


def add_commands(sub: Any) -> None:
    art = sub.add_parser("artifact", help="list artifact versions (tracker artifact ls)")
    verbs = art.add_subparsers(dest="verb", metavar="VERB", required=True)
    ls = verbs.add_parser("ls", help="artifact versions with their aliases, local or on a server",
                          description="Every version of every artifact (of --project, of --name): local runs under "
                                      "--dir, or a server's with --host.")
    ls.add_argument("name", nargs="?", help="only this artifact name")
    ls.add_argument("--project", help="only this project (needed with --host when the token sees many)")
    ls.add_argument("--dir", type=Path, help=_DIR_HELP)
    ls.add_argument("--host", help="list a tracking server's artifacts instead")
    ls.set_defaults(func=cmd_artifact_ls)

    restore = sub.add_parser("restore", help="a run's files, config and code into a folder",
                             description="Write a run's config (config.json), its saved files and code (files/, "
                                         "code/) and its identity (run.json) into a folder.")
    restore.add_argument("run_id", metavar="RUN_ID", help="the run's id (or entity/project/id)")
    restore.add_argument("-o", "--output", type=Path, help="the folder (default ./RUN_ID)")
    restore.add_argument("--dir", type=Path, help=_DIR_HELP)
    restore.add_argument("--host", help="restore from this tracking server instead of the local runs")
    restore.set_defaults(func=cmd_restore)

    status = sub.add_parser("status", help="the mode, the server, and which local runs are not synced")
    status.add_argument("--dir", type=Path, help=_DIR_HELP)
    status.set_defaults(func=cmd_status)


def _size(n: int) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return str(n)


def cmd_artifact_ls(args: argparse.Namespace) -> int:
    from .. import settings
    from .artifact_store import versions

    if args.host:
        from ..client import ServerClient
        from .artifact_server import remote_versions

        client = ServerClient(args.host, settings.api_key())
        projects = [args.project] if args.project else [p["name"] for p in client.request("GET", "projects")]
        found = [v for p in projects for v in remote_versions(client, p, args.name)]
        where = args.host
    else:
        base = args.dir or settings.tracker_dir()
        found = versions(base, args.project, args.name)
        where = str(base)
    if not found:
        print(f"no artifacts under {where}" + (f" in project {args.project!r}" if args.project else ""))
        return 0
    rows = [("ARTIFACT", "TYPE", "PROJECT", "ALIASES", "FILES", "SIZE", "RUN", "LOGGED")]
    for v in found:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(v.logged_at)) if v.logged_at else "?"
        rows.append((f"{v.name}:{v.version}", v.type, v.project, ",".join(v.aliases) or "-", str(v.files),
                     _size(v.size), v.run_id, when))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    import orjson

    from .. import rundir, settings
    from .runs import Api

    api = Api(dir=args.dir, host=args.host, api_key=settings.api_key() if args.host else None)
    try:
        run = api.run(args.run_id)
    except KeyError as exc:
        print(f"tracker restore: {exc.args[0]}", file=sys.stderr)
        return 1
    out = args.output or Path(run.id)
    (out / "files").mkdir(parents=True, exist_ok=True)
    (out / "config.json").write_bytes(orjson.dumps(run.config, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS))
    rundir.write_json(out / "run.json", run.info, indent=True)
    count, missing = 0, []
    for name in run.files:
        target = out / "files" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if args.host:
            from urllib.parse import quote

            from ..client import ServerError

            try:
                data = api._client.request("GET", f"runs/{quote(run.id, safe='')}/files/{quote(name)}", raw=True)
            except ServerError as exc:  # recorded by the run, not uploaded (yet)
                missing.append(f"{name} ({exc})")
                continue
            target.write_bytes(data)
        else:
            shutil.copy2(run.path / "files" / name, target)
        count += 1
    print(f"tracker restore: run {run.id} ({run.name}) into {out}: config.json, run.json and {count} files "
          f"(code under files/code/ when it was captured)")
    if missing:
        print(f"tracker restore: {len(missing)} files not on the server: " + "; ".join(missing[:5]), file=sys.stderr)
        return 1
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from .. import rundir, settings

    base = args.dir or settings.tracker_dir()
    host = settings.host()
    print(f"mode:    {settings.mode()} (TRACKER_MODE or `tracker online` / `tracker offline`)")
    print(f"server:  {host or 'none configured (tracker login --host URL)'}"
          + ("" if not host else f", token {'set' if settings.api_key() else 'missing (tracker login)'}"))
    print(f"runs in: {base}")
    counts: dict[str, list[str]] = {"live": [], "not synced": [], "synced": [], "offline": []}
    from .local import LocalRun

    for path in rundir.list_run_dirs(Path(base)):
        sync = rundir.read_sync(path)
        if LocalRun(path).state == "running":
            counts["live"].append(path.name)
        elif sync.get("status") == "done":
            counts["synced"].append(path.name)
        elif sync:
            counts["not synced"].append(path.name)
        else:
            counts["offline"].append(path.name)
    print(f"runs:    {len(counts['live'])} live, {len(counts['synced'])} synced, "
          f"{len(counts['not synced'])} with an unfinished upload, {len(counts['offline'])} never synced")
    for name in counts["not synced"] + counts["offline"]:
        print(f"  not on a server: {name}")
    if counts["not synced"] or counts["offline"]:
        print("upload them with: tracker sync --all" + ("" if host else " --host URL"))
    return 0
