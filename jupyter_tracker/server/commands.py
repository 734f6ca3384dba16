"""The server's command line: serve, manage tokens, print the OpenAPI document.

::

    python -m jupyter_tracker.server [--host H] [--port P] [--db URL] [--data-dir DIR]
                                     [--public] [--workers N] [--heartbeat-timeout S]
                                     [--max-body BYTES] [--max-file BYTES]
    python -m jupyter_tracker.server token create --name NAME [--read-only] [--project P ...] [--admin]
                                                  [--db URL] [--data-dir DIR]
    python -m jupyter_tracker.server token list [--db URL] [--data-dir DIR]
    python -m jupyter_tracker.server token revoke NAME [--db URL] [--data-dir DIR]
    python -m jupyter_tracker.server openapi
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from .settings import MiB, ServerSettings, database_url, default_data_dir

__all__ = ["main", "build_parser", "parse_size", "describe_scope"]

_UNITS = {"": 1, "k": 1024, "m": MiB, "g": 1024 * MiB}


def parse_size(text: str) -> int:
    """``"16777216"``, ``"16M"``, ``"512k"``, ``"1G"`` as a number of bytes."""
    raw = text.strip().lower().removesuffix("ib").removesuffix("b")
    unit = raw[-1:] if raw[-1:] in ("k", "m", "g") else ""
    try:
        value = float(raw[: len(raw) - len(unit)])
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (e.g. 16M, 512k, 1048576)") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"a size must be positive, not {text!r}")
    return int(value * _UNITS[unit])


def _positive(kind: type) -> object:
    def convert(text: str) -> float | int:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be positive, not {text!r}")
        return value

    return convert


def _store_options(parser: argparse.ArgumentParser, suppress: bool) -> None:
    default = argparse.SUPPRESS if suppress else None
    parser.add_argument("--db", default=default, metavar="URL",
                        help="database URL: sqlite:///path or postgresql://user@host/db "
                             "(default: the SQLite file <data-dir>/tracker.db)")
    parser.add_argument("--data-dir", type=Path, default=default, metavar="DIR",
                        help="where the SQLite file and uploaded files live "
                             "(default $TRACKER_SERVER_DATA or ~/.local/share/jupyter-tracker)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tracker server",
        description="The jupyter-tracker server: receives runs over HTTP and serves them back.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="port to listen on (default 8765; 0 picks a free one)")
    _store_options(parser, suppress=False)
    parser.add_argument("--public", action="store_true", help="allow reads without a token (writes still need one)")
    parser.add_argument("--workers", type=_positive(int), default=1, metavar="N",
                        help="worker processes sharing the port and the database (default 1)")
    parser.add_argument("--heartbeat-timeout", type=_positive(float), default=60.0, metavar="SECONDS",
                        help="a running run silent for this long is reported crashed (default 60)")
    parser.add_argument("--max-body", type=parse_size, default=16 * MiB, metavar="BYTES",
                        help="largest JSON request body (default 16M)")
    parser.add_argument("--max-file", type=parse_size, default=100 * MiB, metavar="BYTES",
                        help="largest uploaded file (default 100M)")
    parser.add_argument("--threads", type=_positive(int), default=4, help=argparse.SUPPRESS)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    token = sub.add_parser("token", help="create, list or revoke API tokens")
    token_sub = token.add_subparsers(dest="token_command", metavar="ACTION", required=True)
    create = token_sub.add_parser(
        "create", help="create a token; it is printed once, on the last line",
        description="Create a token. By default it reads and writes the runs of every project; "
                    "--read-only, --project and --admin change that (see docs/api.md, Authorization).",
    )
    create.add_argument("--name", required=True, help="a name for the token (who or what uses it)")
    create.add_argument("--read-only", action="store_true", help="the token only reads")
    create.add_argument("--project", action="append", metavar="P", dest="projects",
                        help="limit the token to the runs of project P (repeatable); it neither reads nor "
                             "writes other projects")
    create.add_argument("--admin", action="store_true",
                        help="every project, and managing tokens over HTTP (/api/v1/tokens)")
    _store_options(create, suppress=True)
    listing = token_sub.add_parser("list", help="list tokens (names and dates, never the tokens)")
    _store_options(listing, suppress=True)
    revoke = token_sub.add_parser("revoke", help="revoke a token by name")
    revoke.add_argument("name")
    _store_options(revoke, suppress=True)
    sub.add_parser("openapi", help="print the OpenAPI document of the API")
    return parser


def _settings(args: argparse.Namespace) -> ServerSettings:
    data_dir = (args.data_dir or default_data_dir()).expanduser().resolve()
    return ServerSettings(
        data_dir=data_dir,
        db_url=database_url(args.db, data_dir),
        host=args.host,
        port=args.port,
        public=args.public,
        workers=args.workers,
        heartbeat_timeout=args.heartbeat_timeout,
        max_body=args.max_body,
        max_file=args.max_file,
        threads=args.threads,
    )


def describe_scope(access: str, projects: list[str] | None) -> str:
    """``"reads and writes every project"``, ``"reads project 'a'"`` ..."""
    verb = {"read": "reads", "write": "reads and writes", "admin": "admin:"}[access]
    if projects is None:
        return f"{verb} every project"
    names = ", ".join(repr(p) for p in projects)
    return f"{verb} project{'s' if len(projects) > 1 else ''} {names}"


def _when(stamp: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(stamp)) if stamp else "-"


def _token_command(args: argparse.Namespace, settings: ServerSettings) -> int:
    from .database import open_engine
    from .migrations import migrate
    from .tokens import TokenError, create_token, list_tokens, revoke_token

    engine = open_engine(settings.db_url, pool_size=1)
    try:
        migrate(engine)
        if args.token_command == "create":
            if args.admin and (args.read_only or args.projects):
                print("tracker server token: --admin manages every project; it goes with neither "
                      "--read-only nor --project", file=sys.stderr)
                return 2
            access = "admin" if args.admin else "read" if args.read_only else "write"
            try:
                token = create_token(engine, args.name, access, args.projects)
            except TokenError as exc:
                print(f"tracker server token: {exc}", file=sys.stderr)
                return 2
            scope = describe_scope(access, args.projects)
            print(f"token {args.name.strip()!r} created ({scope}); it is shown only now, keep it secret:")
            print(token, flush=True)
            return 0
        if args.token_command == "list":
            rows = list_tokens(engine)
            if not rows:
                print("no tokens")
            for row in rows:
                state = f"revoked {_when(row['revoked_at'])}" if row["revoked_at"] else "active"
                scope = describe_scope(row["access"], row["projects"])
                print(f"{row['name']}\t{scope}\tcreated {_when(row['created_at'])}\t{state}")
            return 0
        if revoke_token(engine, args.name):
            print(f"token {args.name!r} revoked")
            return 0
        print(f"tracker server token: no active token named {args.name!r}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()


def main(argv: list[str] | None = None) -> int:
    """Run the server command line; return the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "openapi":
        from .openapi import document_bytes

        sys.stdout.write(document_bytes().decode() + "\n")
        return 0
    from sqlalchemy.exc import SQLAlchemyError

    settings = _settings(args)
    try:
        if args.command == "token":
            return _token_command(args, settings)
        from .app import serve

        return serve(settings)
    except KeyboardInterrupt:
        return 0
    except (OSError, RuntimeError, SQLAlchemyError) as exc:
        print(f"tracker server: {exc}", file=sys.stderr)
        return 2
