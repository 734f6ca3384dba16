"""How a script ends, for its run: ``sys.exit`` and ``sys.excepthook`` hooks.

Python tells an ``atexit`` handler nothing about how the program ends. So in a
plain script (no IPython: a notebook kernel does not exit), ``init`` wraps
``sys.exit`` and ``sys.excepthook``, chaining to whatever was installed
before, and the run finished at exit records the real exit code: the code
given to ``sys.exit`` (in the main thread), or 1 for an uncaught exception
(130 for ``KeyboardInterrupt``, as a shell reports it). ``finish`` puts both
back when they are still ours.

Not seen: ``raise SystemExit(n)`` written out and ``os._exit(n)``; a
``sys.exit`` whose ``SystemExit`` the program catches and survives still
counts (the last one wins).
"""

from __future__ import annotations

import sys
import threading
from typing import Any

from .run import exit_status

__all__ = ["install", "uninstall", "exit_code", "installed"]

_code: int | None = None
_hooks: tuple[Any, Any, Any, Any] | None = None  # (previous exit, previous hook, ours, ours)


def exit_code() -> int | None:
    """The exit code seen so far (``None``: nothing says the script is ending)."""
    return _code


def installed() -> bool:
    return _hooks is not None


def install() -> None:
    """Wrap ``sys.exit`` and ``sys.excepthook`` (once; again after :func:`uninstall`)."""
    global _hooks, _code
    if _hooks is not None:
        return
    _code = None
    previous_exit, previous_hook = sys.exit, sys.excepthook

    def exit(status: Any = None) -> None:  # noqa: A001 - stands in for sys.exit
        global _code
        if threading.current_thread() is threading.main_thread():
            _code = exit_status(status)
        previous_exit(status)

    def excepthook(kind: type[BaseException], value: BaseException, tb: Any) -> None:
        global _code
        _code = 130 if issubclass(kind, KeyboardInterrupt) else 1
        previous_hook(kind, value, tb)

    exit.__wrapped__ = previous_exit  # type: ignore[attr-defined]
    excepthook.__wrapped__ = previous_hook  # type: ignore[attr-defined]
    sys.exit, sys.excepthook = exit, excepthook
    _hooks = (previous_exit, previous_hook, exit, excepthook)


def uninstall() -> None:
    """Put back what :func:`install` replaced, where nobody replaced it since."""
    global _hooks
    if _hooks is None:
        return
    previous_exit, previous_hook, ours_exit, ours_hook = _hooks
    if sys.exit is ours_exit:
        sys.exit = previous_exit
    if sys.excepthook is ours_hook:
        sys.excepthook = previous_hook
    _hooks = None
