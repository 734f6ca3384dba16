"""The wandb-style scripts sync to the server tests' real server."""

from tests.server.conftest import (  # noqa: F401
    backend,
    databases,
    pytest_collection_modifyitems,
    server,
    spawn,
    spawn_module,
)

__all__ = ["backend", "databases", "server", "spawn", "spawn_module"]
