"""The Jupyter server extension: ``/tracker/api/`` for the JupyterLab extension.

Found by Jupyter through :func:`_jupyter_server_extension_points` and enabled by
``jupyter-config/server-config/jupyter_tracker.json``, installed with the package.
Its handlers (authenticated ``APIHandler``\\ s, see :mod:`.routes`) answer in the
tracking server's REST shapes (docs/api.md) over two sources: the run
directories this Jupyter server can see, and the configured tracking server
(proxied, its token kept here).

A process folder: it uses the shared core (``api``, ``query``, ``columns``,
``client``, ``rundir``, ``settings``) and ``numerics``, never ``kernel``,
``service`` or ``server``.
"""

from __future__ import annotations

from typing import Any

__all__ = ["_jupyter_server_extension_points", "_load_jupyter_server_extension"]


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "jupyter_tracker.labserver"}]


def _load_jupyter_server_extension(serverapp: Any) -> None:
    from .routes import setup

    setup(serverapp)
