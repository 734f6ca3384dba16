"""The ``tracker`` command."""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

from . import settings

__all__ = ["main", "set_mode"]


def set_mode(mode: str, directory: Path | None = None) -> str:
    """Write the default mode to ``$TRACKER_DIR/settings``; return a sentence saying so."""
    mode = settings.normalize_mode(mode)
    path = settings.dir_settings_path(directory)
    settings.write_file(path, {"mode": mode})
    what = "runs stay local until `tracker sync`" if mode == "offline" else "runs sync to the server when one is configured"
    return f"tracker: default mode is now {mode} ({what}); written to {path}"


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
    print(set_mode("offline" if args.command == "off" else "online", args.dir))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tracker",
        description="jupyter-tracker: list local runs, set the default mode.",
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
    return parser


def main(argv: list[str] | None = None) -> int:
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
