"""``tracker.login()``: store the server URL and token that online runs and ``tracker sync`` use."""

from __future__ import annotations

from typing import Any

from .. import settings

__all__ = ["login"]


def login(
    key: str | None = None,
    host: str | None = None,
    relogin: bool | None = None,
    anonymous: Any = None,
    timeout: float | None = None,
    verify: bool = False,
) -> bool:
    """Store a tracking server's URL and token, as ``tracker login`` does (mode 0600).

    Parameters
    ----------
    key
        The token (``tracker token create`` on the server). Without it, the stored
        (or ``TRACKER_API_KEY``) token is used: ``True`` when there is one.
    host
        The server URL; default ``TRACKER_HOST`` or the stored one.
    relogin
        Write the key even when the same one is stored.
    verify
        Ask the server whether it accepts the token first (one request of at most
        ``timeout`` seconds, default 10).
    anonymous
        wandb's; accepted, without effect.

    Returns
    -------
    bool
        ``True`` once a URL and token are configured.

    Raises
    ------
    ValueError
        Without a token to store or a server URL, or (with ``verify``) when the
        server refuses the token or cannot be reached, saying which.
    """
    if key is not None and (not isinstance(key, str) or not key.strip()):
        raise ValueError("tracker.login(key=...) must be a non-empty token string")
    if host is not None and (not isinstance(host, str) or not host.strip().startswith(("http://", "https://"))):
        raise ValueError(f"tracker.login(host={host!r}): give the server URL, e.g. http://127.0.0.1:8765")
    host = (host or settings.host() or "").strip().rstrip("/")
    if key is None:
        if settings.api_key() and host:
            return True
        raise ValueError(
            "tracker.login(): no token stored; pass key=... (and host=...), or set TRACKER_API_KEY and TRACKER_HOST"
        )
    if not host:
        raise ValueError("tracker.login(key=...): pass host= (the tracking server's URL) or set TRACKER_HOST")
    key = key.strip()
    if verify:
        from ..client import ServerClient, ServerError

        client = ServerClient(host, key, timeout=timeout or 10.0)
        try:
            client.list_runs(limit=1)
        except ServerError as exc:
            raise ValueError(f"tracker.login(): {host} did not accept the token ({exc})") from None
        finally:
            client.close()
    stored = settings.read_file(settings.user_settings_path())
    if relogin or stored.get("api_key") != key or stored.get("host") != host:
        settings.save_login(host, key)
    return True
