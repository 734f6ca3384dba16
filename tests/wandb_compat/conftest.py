"""The online training script syncs to the server tests' real server: only the fixtures it uses."""

from tests.server.conftest import backend, databases, pytest_collection_modifyitems, server, spawn_module  # noqa: F401

__all__ = ["backend", "databases", "server", "spawn_module"]
