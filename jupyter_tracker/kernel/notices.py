"""What the tracker tells the user, and where it may say it.

Rules (DESIGN.md, output hygiene):

- Every message goes to the run's ``logs/debug.log``.
- With ``TRACKER_SILENT`` set (read at every call), nothing else happens.
- In a notebook kernel, messages never go to stdout/stderr (they would land in
  whichever cell happens to run): they update the run's own display in the
  init cell (its one-line banner, or the live panel's status line).
- In a plain script or terminal, a message is one line on stderr.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from .. import settings

__all__ = ["Notices", "in_kernel", "ipython"]


def ipython():
    """The running IPython shell, or ``None`` (without importing IPython)."""
    module = sys.modules.get("IPython")
    if module is None:
        return None
    try:
        return module.get_ipython()
    except Exception:  # noqa: BLE001
        return None


def in_kernel() -> bool:
    """Whether we run inside a Jupyter kernel (an IPython shell with a kernel)."""
    shell = ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


class _QuietFileHandler(logging.FileHandler):
    """``debug.log``: a write it cannot make (a full disk) is dropped, never printed
    into a cell or a script's stderr as a logging traceback."""

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 - logging's name
        pass


class Notices:
    """One run's messages: the debug log, the banner and the status line."""

    def __init__(self, run_dir: Path, run_id: str) -> None:
        self.logger = logging.getLogger(f"jupyter_tracker.run.{run_id}")
        self.logger.propagate = False  # root handlers could print into a cell
        self.logger.setLevel(logging.DEBUG)
        # Without a handler (debug.log unwritable, or closed at finish) logging's last-resort
        # handler would print warnings to stderr, that is into whichever cell runs.
        if not any(isinstance(h, logging.NullHandler) for h in self.logger.handlers):
            self.logger.addHandler(logging.NullHandler())
        self._handler: logging.Handler | None = None
        try:
            handler = _QuietFileHandler(run_dir / "logs" / "debug.log", encoding="utf-8")
            handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
            self.logger.addHandler(handler)
            self._handler = handler
        except OSError:
            pass
        self._seen: set[str] = set()
        self._lock = threading.Lock()
        self.kernel = in_kernel()
        self.banner_text = ""
        self.status = ""
        self._display_id: str | None = None
        #: Replaced by the live panel: receives the status line text.
        self.sink: Callable[[str], None] | None = None

    # -- messages -------------------------------------------------------------
    def debug(self, message: str) -> None:
        self.logger.debug(message)

    def warn(self, message: str, key: str | None = None) -> None:
        """Report a problem once per ``key`` (every time when ``key`` is None)."""
        with self._lock:
            if key is not None:
                if key in self._seen:
                    self.logger.debug("(repeated) %s", message)
                    return
                self._seen.add(key)
        self.logger.warning(message)
        self.status = message
        if settings.silent():
            return
        if self.sink is not None:
            try:
                self.sink(message)
            except Exception:  # noqa: BLE001 - a closed panel must not break logging
                pass
            return
        if self.kernel:
            self._show()
        else:
            print(f"tracker: {message}", file=sys.stderr, flush=True)

    # -- the banner (one line in the init cell) -------------------------------
    def banner(self, text: str) -> None:
        """Show the run's one line in the current (init) cell; not in silent mode."""
        self.banner_text = text
        self.logger.info(text)
        if settings.silent():
            return
        if self.kernel:
            self._display_id = f"tracker-{id(self):x}-{time.monotonic_ns():x}"
            self._publish(update=False)
        else:
            print(f"tracker: {text}", file=sys.stderr, flush=True)

    def update_banner(self, text: str) -> None:
        """Change the banner in place (the init cell), e.g. when the run finishes."""
        self.banner_text = text
        self.logger.info(text)
        if self._display_id is not None and not settings.silent() and self.sink is None:
            self._publish(update=True)

    def _show(self) -> None:
        if self._display_id is not None:
            self._publish(update=True)

    def _publish(self, update: bool) -> None:
        text = "tracker: " + self.banner_text
        if self.status:
            text += f"  [{self.status}]"
        try:
            from IPython.display import display, update_display

            bundle = {"text/plain": text}
            if update:
                update_display(bundle, raw=True, display_id=self._display_id)
            else:
                display(bundle, raw=True, display_id=self._display_id)
        except Exception:  # noqa: BLE001
            pass

    def close(self) -> None:
        if self._handler is not None:
            self.logger.removeHandler(self._handler)
            self._handler.close()
            self._handler = None
