"""The run's messages: where they may go, also after the run finished."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def test_a_message_after_finish_is_one_line_and_never_logging_s_last_resort(tracker_env):
    # With debug.log closed at finish, logging used to fall back to its last-resort handler,
    # which prints to stderr: twice in a script, and into whichever cell runs in a kernel.
    code = textwrap.dedent(
        """
        import tracker
        run = tracker.init(project="p")
        run.finish()
        run.notices.warn("said after finish", "k")
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    lines = [line for line in out.stderr.splitlines() if "said after finish" in line]
    assert lines == ["tracker: said after finish"], out.stderr
