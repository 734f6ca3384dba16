"""API tokens: created once, stored as SHA-256 hashes, revocable by name, each with a scope.

The token itself is shown once, when it is created; the database keeps only
its hash, so a copy of the database gives no way in. Its scope (an access
level and optionally projects, :mod:`.access`) is in ``token_scopes``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Iterable
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.engine import Engine

from ..limits import MAX_PROJECT_LENGTH, text_problem
from . import schema
from .access import LEVELS, Grant
from .database import reading, writing
from .payloads import dumps_column, loads_column

__all__ = ["TokenError", "hash_token", "create_token", "list_tokens", "revoke_token", "check_token"]

_NAME_MAX = 128
_tokens = schema.tokens
_scopes = schema.token_scopes


class TokenError(ValueError):
    """A token command that cannot be done (name taken, unknown name ...)."""


def hash_token(token: str) -> str:
    """The hex SHA-256 of ``token``: what the database stores."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def _check_scope(access: str, projects: Iterable[str] | None) -> list[str] | None:
    if access not in LEVELS:
        raise TokenError(f"access must be one of {', '.join(LEVELS)}, not {access!r}")
    if projects is None:
        return None
    projects = list(projects)
    for name in projects:
        if not isinstance(name, str):
            raise TokenError(f"project names are strings, not {type(name).__name__}")
    names = list(dict.fromkeys(projects))
    if access == "admin":
        raise TokenError("an admin token manages every project: it cannot be limited to some")
    if not names:
        raise TokenError("a token limited to projects needs at least one project")
    for name in names:
        problem = text_problem(name, MAX_PROJECT_LENGTH) if isinstance(name, str) and name else "is empty"
        if problem is not None:
            raise TokenError(f"project {name!r} {problem}")
    return names


def create_token(engine: Engine, name: str, access: str = "write", projects: Iterable[str] | None = None) -> str:
    """Create a token called ``name`` with its scope; return it (the only time it is seen).

    A revoked token's name can be used again; an active one's cannot.
    """
    name = name.strip()
    if not name or len(name) > _NAME_MAX or any(ord(c) < 32 or 0xD800 <= ord(c) < 0xE000 for c in name):
        raise TokenError(f"a token name is 1 to {_NAME_MAX} printable characters")
    names = _check_scope(access, projects)
    token = secrets.token_urlsafe(32)
    digest = hash_token(token)
    now = time.time()
    scope = {"access": access, "projects": None if names is None else dumps_column(names)}
    with writing(engine) as conn:
        row = conn.execute(select(_tokens.c.id, _tokens.c.revoked_at).where(_tokens.c.name == name)).first()
        if row is None:
            result = conn.execute(_tokens.insert().values(name=name, hash=digest, created_at=now))
            token_id = result.inserted_primary_key[0]
        elif row.revoked_at is None:
            raise TokenError(f"a token named {name!r} exists; revoke it first or choose another name")
        else:
            token_id = row.id
            conn.execute(
                _tokens.update().where(_tokens.c.id == row.id).values(hash=digest, created_at=now, revoked_at=None)
            )
            conn.execute(_scopes.delete().where(_scopes.c.token_id == token_id))
        conn.execute(_scopes.insert().values(token_id=token_id, **scope))
    return token


def _scope_of(row: Any) -> dict[str, Any]:
    projects = loads_column(row.projects)
    return {"access": row.access or "write", "projects": projects}


def list_tokens(engine: Engine) -> list[dict[str, Any]]:
    """Every token's name, scope, creation and revocation times (never the hash)."""
    query = (
        select(_tokens.c.name, _tokens.c.created_at, _tokens.c.revoked_at, _scopes.c.access, _scopes.c.projects)
        .select_from(_tokens.outerjoin(_scopes, _scopes.c.token_id == _tokens.c.id))
        .order_by(_tokens.c.name)
    )
    with reading(engine) as conn:
        return [
            {"name": row.name, **_scope_of(row), "created_at": row.created_at, "revoked_at": row.revoked_at}
            for row in conn.execute(query)
        ]


def revoke_token(engine: Engine, name: str) -> bool:
    """Revoke the token called ``name``; ``False`` when there is no such active token."""
    with writing(engine) as conn:
        result = conn.execute(
            _tokens.update()
            .where(_tokens.c.name == name, _tokens.c.revoked_at.is_(None))
            .values(revoked_at=time.time())
        )
        return bool(result.rowcount)


_ACTIVE = (
    select(_tokens.c.name, _tokens.c.hash, _scopes.c.access, _scopes.c.projects)
    .select_from(_tokens.outerjoin(_scopes, _scopes.c.token_id == _tokens.c.id))
    .where(_tokens.c.hash == bindparam("hash"), _tokens.c.revoked_at.is_(None))
)


def check_token(engine: Engine, token: str) -> Grant | None:
    """What the active token ``token`` may do, or ``None`` when it is no such token."""
    if not token or len(token) > 512:
        return None
    digest = hash_token(token)
    with reading(engine) as conn:
        row = conn.execute(_ACTIVE, {"hash": digest}).first()
    if row is None or not hmac.compare_digest(row.hash, digest):
        return None
    scope = _scope_of(row)
    projects = scope["projects"]
    return Grant(row.name, scope["access"], None if projects is None else frozenset(projects))
