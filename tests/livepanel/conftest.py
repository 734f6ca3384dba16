"""A recording comm: every widget message is kept instead of being sent to a frontend."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

_ids = itertools.count()


class RecordingComm:
    """Stands in for the kernel's comm; keeps what a widget sends."""

    kernel = "recording"

    def __init__(self, **kwargs: Any) -> None:
        self.comm_id = kwargs.get("comm_id") or f"rec-{next(_ids)}"
        self.opened = kwargs
        self.messages: list[tuple[dict, list]] = []

    def send(self, data: Any = None, metadata: Any = None, buffers: Any = None) -> None:
        self.messages.append((data, list(buffers or [])))

    def on_msg(self, callback: Any) -> None:
        self.callback = callback

    def close(self, *args: Any, **kwargs: Any) -> None:
        pass

    def updates(self) -> list[dict]:
        return [data for data, _ in self.messages if data and data.get("method") == "update"]


@pytest.fixture
def recording_comm(monkeypatch: pytest.MonkeyPatch):
    import ipywidgets.comm

    comms: list[RecordingComm] = []

    def create_comm(**kwargs: Any) -> RecordingComm:
        comm = RecordingComm(**kwargs)
        comms.append(comm)
        return comm

    monkeypatch.setattr(ipywidgets.comm, "create_comm", create_comm)
    yield comms
