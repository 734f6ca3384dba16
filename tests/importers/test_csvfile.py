"""``tracker import csv`` and ``tracker export``: CSV -> run -> CSV, bad input, importing again."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

import jupyter_tracker as tracker
from jupyter_tracker import records, rundir
from jupyter_tracker.cli import main

CSV = """_step,_timestamp,loss,acc,note,lr
0,1800000000.5,1.0,,first,0.1
1,1800000001.25,0.5,0.25,,0.1
1,1800000001.5,,0.3,,
3,1800000003.0,nan,0.5,x,1e-3
4,1800000004.0,inf,-inf,,7
"""


def tracker_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "jupyter_tracker", *args], capture_output=True, text=True,
                          env=dict(os.environ), timeout=120)


def test_csv_to_run_to_csv_is_the_same_table(tmp_path, tracker_env):
    source = tmp_path / "metrics.csv"
    source.write_text(CSV)
    done = tracker_cli("import", "csv", str(source), "--step-column", "_step", "--project", "csv", "--name", "m")
    assert done.returncode == 0, done.stderr
    assert "imported as run" in done.stdout and "4 rows, 3 metrics" in done.stdout
    assert "not imported: 2 cells of column 'note' that are not numbers" in done.stdout
    (run,) = tracker.Api().runs(project="csv")
    assert run.name == "m" and run.state == "finished"
    rows = run.history()
    assert [r["_step"] for r in rows] == [0, 1, 3, 4]
    assert rows[1] == {"_step": 1, "_timestamp": 1800000001.5, "loss": 0.5, "acc": 0.3, "lr": 0.1}  # lines merged
    assert math.isnan(rows[2]["loss"]) and rows[3]["loss"] == math.inf and rows[3]["acc"] == -math.inf
    assert rows[3]["lr"] == 7  # a float: the column holds 0.1 too
    assert run.info["created_at"] == 1800000000.5 and run.info["finished_at"] == 1800000004.0
    report = records.ReadReport()
    assert len(list(records.read_log(os.path.join(run.dir, rundir.EVENTS), report))) > 4 and not report.problems

    out = tmp_path / "out.csv"
    assert tracker_cli("export", run.id, "-o", str(out)).returncode == 0
    # the notes column is gone (not numbers), the rest reads back exactly
    assert out.read_text().splitlines() == [
        "_step,_timestamp,acc,loss,lr",
        "0,1800000000.5,,1.0,0.1",
        "1,1800000001.5,0.3,0.5,0.1",
        "3,1800000003.0,0.5,nan,0.001",
        "4,1800000004.0,-inf,inf,7.0",
    ]
    again = tmp_path / "again.csv"
    assert main(["import", "csv", str(out), "--step-column", "_step", "--project", "csv2"]) == 0
    (second,) = tracker.Api().runs(project="csv2")
    assert main(["export", second.id, "-o", str(again)]) == 0
    assert again.read_text() == out.read_text()


def test_export_to_stdout_and_parquet(tmp_path, tracker_env, capsys):
    run = tracker.init(project="ex")
    run.log({"a": 1.0, "b": 2})
    run.log({"a": float("nan")})
    run.finish()
    assert main(["export", run.id, "-o", "-"]) == 0
    captured = capsys.readouterr()
    assert captured.out.splitlines()[0] == "_step,_timestamp,a,b" and "2 rows" in captured.err
    import pyarrow.parquet as pq

    assert main(["export", run.id, "--format", "parquet", "-o", str(tmp_path / "r.parquet")]) == 0
    table = pq.read_table(tmp_path / "r.parquet").to_pydict()
    assert table["_step"] == [0, 1] and table["b"] == [2.0, None] and math.isnan(table["a"][1])
    assert main(["export", "nosuchrun"]) == 2
    assert "no run with id 'nosuchrun'" in capsys.readouterr().err


def test_parquet_without_pyarrow_or_pandas_names_the_extra(tmp_path, tracker_env):
    run = tracker.init(project="ex")
    run.log({"a": 1.0})
    run.finish()
    code = ("import sys; sys.modules['pyarrow'] = None; sys.modules['pandas'] = None\n"
            "from jupyter_tracker.cli import main; sys.exit(main(sys.argv[1:]))")
    done = subprocess.run([sys.executable, "-c", code, "export", run.id, "--format", "parquet"], capture_output=True,
                          text=True, cwd=tmp_path, timeout=120)
    assert done.returncode == 2
    assert "needs pyarrow: pip install 'jupyter-tracker[parquet]'" in done.stderr


@pytest.mark.parametrize("content, args, message", [
    ("a,b\n1,2\n", ["--step-column", "c"], "--step-column 'c' is not a column of bad.csv (columns: a, b)"),
    ("a,a\n1,2\n", ["--step-column", "a"], "column 'a' appears more than once"),
    ("s,x\n0,1\n1\n", ["--step-column", "s"], "bad.csv, line 3: 1 fields, but the header has 2"),
    ("s,x\n0,1\n1.5,2\n", ["--step-column", "s"], "line 3: the step '1.5' in column 's' is not a whole number"),
    ("s,x\n0,1\n-1,2\n", ["--step-column", "s"], "line 3: the step '-1' in column 's' is not a whole number >= 0"),
    ("s,x\n2,1\n1,2\n", ["--step-column", "s"], "line 3: step 1 is lower than the step before it (2); sort the file"),
    ("s,t,x\n0,later,1\n", ["--step-column", "s", "--time-column", "t"], "the time 'later' in column 't' is not a"),
    ("", ["--step-column", "s"], "the file is empty"),
])
def test_bad_csv_gets_a_message_naming_line_and_column(tmp_path, tracker_env, capsys, content, args, message):
    bad = tmp_path / "bad.csv"
    bad.write_text(content)
    assert main(["import", "csv", str(bad), *args]) == 2
    assert message in capsys.readouterr().err
    assert not tracker_env.exists() or not rundir.list_run_dirs(tracker_env)  # nothing half-written


def test_importing_again_writes_nothing_new_then_appends_what_the_file_grew(tmp_path, tracker_env, capsys):
    source = tmp_path / "grow.csv"
    source.write_text("step,_timestamp,x\n0,1800000000,0.5\n1,1800000001,0.25\n")
    assert main(["import", "csv", str(source), "--step-column", "step"]) == 0
    (run,) = tracker.Api().runs()
    events = os.path.join(run.dir, rundir.EVENTS)
    before = Path(events).read_bytes()
    assert main(["import", "csv", str(source), "--step-column", "step"]) == 0
    assert "unchanged since: nothing written" in capsys.readouterr().out
    assert Path(events).read_bytes() == before and len(rundir.list_run_dirs(tracker_env)) == 1

    with open(source, "a") as handle:
        handle.write("2,1800000002,0.125\n")
    assert main(["import", "csv", str(source), "--step-column", "step"]) == 0
    assert "updated from the grown source: 1 new rows (3 in all)" in capsys.readouterr().out
    after = Path(events).read_bytes()
    assert after.startswith(before)  # appended: what a server has of it stays valid
    assert [r["x"] for r in tracker.Api().run(run.id).history()] == [0.5, 0.25, 0.125]

    source.write_text("step,_timestamp,x\n0,1800000000,9.0\n")  # rewritten, not grown; never synced
    assert main(["import", "csv", str(source), "--step-column", "step"]) == 0
    assert "the source changed; run" in capsys.readouterr().out
    assert [r["x"] for r in tracker.Api().run(run.id).history()] == [9.0]
    assert len(rundir.list_run_dirs(tracker_env)) == 1
