"""``tracker import tensorboard|wandb|csv ...`` and ``tracker export RUN_ID``.

Registered by :func:`add_commands` on the ``tracker`` command's subparsers; the
readers (and the packages they need) load only when a command runs.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from .. import records

__all__ = ["add_commands", "cmd_import", "cmd_export"]

_DIR_HELP = "folder of the run directories (default $TRACKER_DIR or ./tracker)"


def add_commands(sub: Any) -> None:
    """Add ``import`` and ``export`` to the ``tracker`` command's subparsers."""
    parser = sub.add_parser(
        "import", help="turn TensorBoard logs, wandb runs or a CSV file into runs",
        description="Write runs of other tools as run directories (offline runs: `tracker sync` uploads them). "
                    "Importing the same source again writes nothing when it did not change, and adds what is new "
                    "when it grew.",
    )
    kinds = parser.add_subparsers(dest="source", metavar="SOURCE", required=True)
    tb = kinds.add_parser("tensorboard", help="every run folder of a TensorBoard log folder (scalars and hparams)")
    tb.add_argument("logdir", help="a TensorBoard log folder (each folder with event files under it is a run)")
    wb = kinds.add_parser("wandb", help="wandb run folders (offline-run-* or run-*)")
    wb.add_argument("paths", nargs="+", metavar="PATH", help="a wandb run folder, or a wandb/ folder holding them")
    csv = kinds.add_parser("csv", help="a CSV file with a step column",
                           description="One row per line; every column but the step (and time) column is a metric.")
    csv.add_argument("file", help="the CSV file (a header line, then one line per row)")
    csv.add_argument("--step-column", required=True, metavar="C", help="the column holding each row's step")
    csv.add_argument("--time-column", metavar="T",
                     help="the column holding wall times in seconds since the epoch (default _timestamp if present)")
    csv.add_argument("--name", help="the run's name (default: the file's name)")
    for kind in (tb, wb, csv):
        kind.add_argument("--project", help="the project (default: the source's own, else $TRACKER_PROJECT, "
                                            "else uncategorized)")
        kind.add_argument("--dir", type=Path, help=_DIR_HELP)
        kind.set_defaults(func=cmd_import)

    export = sub.add_parser("export", help="write a run's history as CSV or Parquet",
                            description="Columns _step, _timestamp, then every metric; empty where a metric was "
                                        "not logged in a row.")
    export.add_argument("run_id", metavar="RUN_ID", help="the run's id (or entity/project/id)")
    export.add_argument("--format", choices=("csv", "parquet"), default="csv", help="csv (default) or parquet")
    export.add_argument("-o", "--output", help="the file to write (default RUN_ID.csv / RUN_ID.parquet; - for "
                                               "standard output, CSV only)")
    export.add_argument("--dir", type=Path, help=_DIR_HELP)
    export.add_argument("--host", help="read the run from this tracking server instead")
    export.set_defaults(func=cmd_export)


def _read(args: argparse.Namespace) -> list[Any]:
    if args.source == "tensorboard":
        from .tensorboard import read_logdir

        return read_logdir(args.logdir, args.project)
    if args.source == "wandb":
        from .wandb_runs import read_runs

        return read_runs(args.paths, args.project)
    from .csvfile import read_csv

    return [read_csv(args.file, args.step_column, args.time_column, args.project, args.name)]


def _where(path: Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:
        return str(path)


def cmd_import(args: argparse.Namespace) -> int:
    from .. import settings
    from . import MissingExtra
    from .rundirs import write_run

    base = args.dir or settings.tracker_dir()
    try:
        runs = _read(args)
    except MissingExtra as exc:
        print(f"tracker import {args.source}: {exc}", file=sys.stderr)
        return 2
    if not runs:
        print(f"tracker import {args.source}: no runs found in {args.logdir} (no TensorBoard event files under it)",
              file=sys.stderr)
        return 1
    conflicts = 0
    for imp in runs:
        label = f"{args.source} run {imp.name!r}"
        outcome = write_run(base, imp)
        where = _where(outcome.path)
        metrics = len({key for record in imp.body if record[0] == records.HISTORY for key in record[3]})
        if outcome.status == "unchanged":
            print(f"{label}: already imported as run {imp.run_id} ({where}) and unchanged since: nothing written")
            continue
        if outcome.status == "conflict":
            conflicts += 1
            print(f"{label}: {outcome.message}", file=sys.stderr)
            continue
        if outcome.status == "imported":
            print(f"{label}: imported as run {imp.run_id} ({where}): {outcome.rows} rows, {metrics} metrics, "
                  f"{len(imp.system)} system records, {len(imp.files)} files, {imp.state}")
        elif outcome.status == "updated":
            print(f"{label}: run {imp.run_id} ({where}) updated from the grown source: {outcome.added} new rows "
                  f"({outcome.rows} in all)")
        else:
            print(f"{label}: the source changed; run {imp.run_id} ({where}) written again: {outcome.rows} rows")
        for what, count in sorted(imp.skipped.items()):
            print(f"  not imported: {count} {what}")
        for note in imp.notes:
            print(f"  note: {note}")
    return 1 if conflicts else 0


def cmd_export(args: argparse.Namespace) -> int:
    from ..api import Api
    from . import MissingExtra
    from .export import write_csv, write_parquet

    api = Api(dir=args.dir, host=args.host)
    try:
        run = api.run(args.run_id)
    except KeyError as exc:
        print(f"tracker export: {exc.args[0]}", file=sys.stderr)
        return 2
    out = args.output or f"{run.id}.{args.format}"
    if out == "-" and args.format != "csv":
        print("tracker export: --output - (standard output) is for CSV only", file=sys.stderr)
        return 2
    rows = run.history(samples=None)  # every row
    try:
        (write_csv if args.format == "csv" else write_parquet)(rows, out)
    except MissingExtra as exc:
        print(f"tracker export: {exc}", file=sys.stderr)
        return 2
    print(f"tracker export: {len(rows)} rows of run {run.id} written to {'standard output' if out == '-' else out}",
          file=sys.stderr if out == "-" else sys.stdout)
    return 0
