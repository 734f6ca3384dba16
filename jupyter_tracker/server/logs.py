"""The server's log: one line per request and event, on stderr, never a token.

The server's own messages hold no header and no body. Tornado's may quote a
malformed header line (``Invalid header value 'Bearer ...'``), so every line
goes through :class:`RedactTokens` before it is written.
"""

from __future__ import annotations

import logging
import re
import sys

__all__ = ["RedactTokens", "setup_logging"]

_SECRET = re.compile(r"(?i)\b(bearer\s+|(?:authorization|token)\s*[:=]\s*(?:bearer\s+)?)[^\s'\"\\,;]+")


class RedactTokens(logging.Filter):
    """Replace what follows ``Bearer``, ``Authorization:`` or ``token=`` with ``[redacted]``."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = _SECRET.sub(r"\1[redacted]", message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def setup_logging(level: int = logging.INFO) -> None:
    """Log to stderr with the process id (workers share the stream), tokens redacted."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s [%(process)d] %(levelname)s %(message)s"))
    handler.addFilter(RedactTokens())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
