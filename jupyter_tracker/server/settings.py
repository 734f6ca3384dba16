"""The server's settings: where its data lives, which database, what limits.

Every value has a default; the command line overrides them
(:mod:`jupyter_tracker.server.commands`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ..limits import MAX_BODY, MAX_FILE, MAX_KEYS_PER_RECORD

__all__ = [
    "DATA_ENV",
    "MiB",
    "ServerSettings",
    "default_data_dir",
    "database_url",
    "display_url",
]

#: Environment variable naming the data directory (the ``--data-dir`` default).
DATA_ENV = "TRACKER_SERVER_DATA"
MiB = 1024 * 1024


@dataclass
class ServerSettings:
    """What one server (all of its worker processes) runs with."""

    data_dir: Path
    db_url: str
    host: str = "127.0.0.1"
    port: int = 8765
    public: bool = False
    workers: int = 1
    heartbeat_timeout: float = 60.0
    #: Largest JSON body (records, run info) in bytes.
    max_body: int = MAX_BODY
    #: Largest uploaded file in bytes.
    max_file: int = MAX_FILE
    #: Most keys one history or system record may hold.
    max_keys: int = MAX_KEYS_PER_RECORD
    #: Threads per process running database work.
    threads: int = 4

    @property
    def files_dir(self) -> Path:
        return self.data_dir / "files"


def default_data_dir() -> Path:
    """``$TRACKER_SERVER_DATA``, else ``~/.local/share/jupyter-tracker``."""
    raw = os.environ.get(DATA_ENV, "").strip()
    if raw:
        return Path(raw).expanduser()
    return Path.home() / ".local" / "share" / "jupyter-tracker"


def database_url(url: str | None, data_dir: Path) -> str:
    """The SQLAlchemy URL of the store.

    No URL means the SQLite file ``<data_dir>/tracker.db``. A plain
    ``postgresql://`` (or ``postgres://``) URL is given the psycopg 3 driver.
    """
    if not url:
        return f"sqlite:///{(data_dir / 'tracker.db').resolve()}"
    for prefix in ("postgresql://", "postgres://", "postgresql+psycopg2://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def display_url(url: str) -> str:
    """``url`` with any password hidden, for messages."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - a URL SQLAlchemy cannot parse is shown as given
        return url
