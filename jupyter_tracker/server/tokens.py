"""API tokens: created once, stored as SHA-256 hashes, revocable by name.

The token itself is shown once, when it is created; the database keeps only
its hash, so a copy of the database gives no way in.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.engine import Engine

from . import schema
from .database import reading, writing

__all__ = ["TokenError", "hash_token", "create_token", "list_tokens", "revoke_token", "check_token"]

_NAME_MAX = 128


class TokenError(ValueError):
    """A token command that cannot be done (name taken, unknown name ...)."""


def hash_token(token: str) -> str:
    """The hex SHA-256 of ``token``: what the database stores."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def create_token(engine: Engine, name: str) -> str:
    """Create a token called ``name``; return it (the only time it is seen).

    A revoked token's name can be used again; an active one's cannot.
    """
    name = name.strip()
    if not name or len(name) > _NAME_MAX or any(ord(c) < 32 for c in name):
        raise TokenError(f"a token name is 1 to {_NAME_MAX} printable characters")
    token = secrets.token_urlsafe(32)
    digest = hash_token(token)
    now = time.time()
    table = schema.tokens
    with writing(engine) as conn:
        row = conn.execute(select(table.c.id, table.c.revoked_at).where(table.c.name == name)).first()
        if row is None:
            conn.execute(table.insert().values(name=name, hash=digest, created_at=now))
        elif row.revoked_at is None:
            raise TokenError(f"a token named {name!r} exists; revoke it first or choose another name")
        else:
            conn.execute(
                table.update().where(table.c.id == row.id).values(hash=digest, created_at=now, revoked_at=None)
            )
    return token


def list_tokens(engine: Engine) -> list[dict[str, Any]]:
    """Every token's name, creation time and revocation time (never the hash)."""
    table = schema.tokens
    with reading(engine) as conn:
        rows = conn.execute(select(table.c.name, table.c.created_at, table.c.revoked_at).order_by(table.c.name))
        return [dict(row._mapping) for row in rows]


def revoke_token(engine: Engine, name: str) -> bool:
    """Revoke the token called ``name``; ``False`` when there is no such active token."""
    table = schema.tokens
    with writing(engine) as conn:
        result = conn.execute(
            table.update()
            .where(table.c.name == name, table.c.revoked_at.is_(None))
            .values(revoked_at=time.time())
        )
        return bool(result.rowcount)


_ACTIVE = select(schema.tokens.c.name, schema.tokens.c.hash).where(
    schema.tokens.c.hash == bindparam("hash"), schema.tokens.c.revoked_at.is_(None)
)


def check_token(engine: Engine, token: str) -> str | None:
    """The name of the active token ``token``, or ``None``."""
    if not token or len(token) > 512:
        return None
    digest = hash_token(token)
    with reading(engine) as conn:
        row = conn.execute(_ACTIVE, {"hash": digest}).first()
    if row is None or not hmac.compare_digest(row.hash, digest):
        return None
    return row.name
