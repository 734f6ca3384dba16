"""The panel's status line: what is wrong now, and every message so far one click away.

Two kinds of message:

- **conditions** (sync retrying, service stopped) are set under a key and
  cleared when the condition ends (:meth:`StatusLine.clear`); while one is
  active it is what the line shows;
- **events** (the tracker's warnings) are shown until a newer one comes.

Every message is kept in the history, newest first, inside a ``<details>``
element: plain HTML, no JavaScript, so it opens with a click anywhere.
"""

from __future__ import annotations

import html
import threading
import time

__all__ = ["StatusLine", "KEEP"]

#: Messages kept in the history.
KEEP = 50


class StatusLine:
    """Holds the messages; :meth:`html` renders them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.active: dict[str, str] = {}  # condition key -> message
        self.history: list[tuple[float, str]] = []  # (time, message), oldest first
        self.last_event = ""
        self.version = 0

    def _remember(self, message: str) -> None:
        if self.history and self.history[-1][1] == message:
            return
        self.history.append((time.time(), message))
        del self.history[:-KEEP]

    def event(self, message: str) -> None:
        """A warning: shown until the next message."""
        with self._lock:
            self.last_event = message
            self._remember(message)
            self.version += 1

    def set(self, key: str, message: str) -> None:
        """A condition that holds until :meth:`clear` (setting it again changes its text)."""
        with self._lock:
            if self.active.get(key) == message:
                return
            self.active[key] = message
            self._remember(message)
            self.version += 1

    def clear(self, key: str, message: str | None = None) -> None:
        """The condition ``key`` ended (``message`` says so in the history)."""
        with self._lock:
            if self.active.pop(key, None) is None:
                return
            if message:
                self._remember(message)
            if self.last_event and not self.active:
                self.last_event = ""  # what was shown belonged to the condition
            self.version += 1

    def shown(self) -> str:
        """The line's text: the newest active condition, else the last warning."""
        with self._lock:
            if self.active:
                return list(self.active.values())[-1]
            return self.last_event

    def html(self) -> str:
        with self._lock:
            current = list(self.active.values())[-1] if self.active else self.last_event
            history = list(reversed(self.history))
        if not history:
            return ""
        items = "".join(
            f"<li><span class='tracker-dim'>{time.strftime('%H:%M:%S', time.localtime(ts))}</span> "
            f"{html.escape(message)}</li>"
            for ts, message in history
        )
        head = html.escape(current) if current else "no problem now"
        cls = "tracker-warn" if current else "tracker-dim"
        count = f" <span class='tracker-dim'>({len(history)} message{'s' if len(history) != 1 else ''})</span>"
        return (f"<details class='tracker-history'><summary><span class='{cls}'>{head}</span>{count}</summary>"
                f"<ul>{items}</ul></details>")
