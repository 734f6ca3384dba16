"""The media tests that sync use the server tests' real-server fixtures."""

from tests.server.conftest import backend, databases, server, spawn_module  # noqa: F401

__all__ = ["backend", "databases", "server", "spawn_module"]
