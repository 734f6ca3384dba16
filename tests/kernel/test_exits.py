"""The exit-status hooks of a script: sys.exit and sys.excepthook, chained and put back."""

from __future__ import annotations

import sys
import threading

import pytest

from jupyter_tracker.kernel import exits


@pytest.fixture
def hooks(monkeypatch):
    seen = []
    monkeypatch.setattr(sys, "excepthook", lambda *args: seen.append(args[0]))  # someone else's hook
    yield seen
    exits.uninstall()


def test_the_code_given_to_sys_exit_and_an_uncaught_exception_are_seen_and_chained(hooks):
    theirs = sys.excepthook
    exits.install()
    assert exits.exit_code() is None
    with pytest.raises(SystemExit) as info:
        sys.exit(3)
    assert info.value.code == 3 and exits.exit_code() == 3
    sys.excepthook(ValueError, ValueError("x"), None)
    assert exits.exit_code() == 1 and hooks == [ValueError]  # the hook installed before still runs
    sys.excepthook(KeyboardInterrupt, KeyboardInterrupt(), None)
    assert exits.exit_code() == 130
    for status, code in ((None, 0), ("a message", 1), (True, 1), (0, 0)):
        with pytest.raises(SystemExit):
            sys.exit(status)
        assert exits.exit_code() == code
    exits.uninstall()
    assert sys.excepthook is theirs and not hasattr(sys.exit, "__wrapped__")


def test_sys_exit_in_a_thread_ends_the_thread_not_the_program(hooks):
    exits.install()

    def worker():
        try:
            sys.exit(4)
        except SystemExit:  # what ends a thread (Python's thread hook ignores it)
            pass

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    assert exits.exit_code() is None


def test_hooks_installed_over_ours_are_left_in_place(hooks):
    exits.install()
    ours = sys.excepthook

    def later(*args):
        ours(*args)

    sys.excepthook = later
    exits.uninstall()
    assert sys.excepthook is later and not hasattr(sys.exit, "__wrapped__")
