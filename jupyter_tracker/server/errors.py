"""The errors the API answers with: a status and a JSON body ``{"error": ...}``."""

from __future__ import annotations

from typing import Any

from tornado.web import HTTPError

__all__ = ["ApiError", "BadRequest", "NotFound", "Unauthorized", "Forbidden", "Conflict", "TooLarge"]


class ApiError(HTTPError):
    """An error response: ``status`` and ``{"error": message, **extra}``.

    A tornado ``HTTPError``, so that raising it anywhere in a handler (or in
    the work a handler waits for) answers with its status, unlogged.
    """

    status = 500

    def __init__(self, message: str, status: int | None = None, **extra: Any) -> None:
        super().__init__(status if status is not None else self.status)
        self.status = self.status_code
        self.message = message
        self.extra = extra

    def __str__(self) -> str:
        return self.message

    def body(self) -> dict[str, Any]:
        return {"error": self.message, **self.extra}


class BadRequest(ApiError):
    status = 400


class Unauthorized(ApiError):
    status = 401

    def __init__(self) -> None:
        super().__init__("unauthorized")


class Forbidden(ApiError):
    """A valid token that may not do this (its scope): the message names the project."""

    status = 403


class NotFound(ApiError):
    status = 404


class Conflict(ApiError):
    status = 409


class TooLarge(ApiError):
    status = 413
