"""What a token may do: read or write, which projects, and administration.

Every token has an access level and, optionally, a list of projects:

- ``read`` (``token create --read-only``): reads only;
- ``write`` (the default): reads, and writes to runs (create, update,
  records, heartbeats, files);
- ``admin`` (``--admin``): everything on every project, and managing tokens
  over HTTP (``/api/v1/tokens``).

A token with projects (``--project P``, repeatable) reads and writes only
the runs of those projects: it neither lists nor reads other projects' runs,
and moving a run to another project needs write access to both. Tokens made
before scopes existed have ``write`` on every project, what they could do
then. On a ``--public`` server anyone reads every project without a token.
A refusal is a 403 whose message names the token and the project.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .errors import Forbidden

__all__ = ["LEVELS", "Grant", "PUBLIC"]

LEVELS = ("read", "write", "admin")


@dataclass(frozen=True)
class Grant:
    """What one request may do: the token's name, its level and projects (``None``: every project)."""

    name: str | None
    level: str
    projects: frozenset[str] | None = None

    def may_read(self, project: str) -> bool:
        return self.projects is None or project in self.projects

    def may_write(self, project: str) -> bool:
        return self.level != "read" and self.may_read(project)

    def _who(self) -> str:
        return "an anonymous request" if self.name is None else f"token {self.name!r}"

    def _limited(self) -> str:
        projects = ", ".join(repr(p) for p in sorted(self.projects or ()))
        return f"it is limited to the project{'s' if len(self.projects or ()) > 1 else ''} {projects}"

    def check_read(self, project: str) -> None:
        """:class:`Forbidden` unless the runs of ``project`` may be read."""
        if not self.may_read(project):
            raise Forbidden(f"{self._who()} may not read project {project!r}: {self._limited()}")

    def check_write(self, project: str) -> None:
        """:class:`Forbidden` unless runs of ``project`` may be created or changed."""
        if self.level == "read":
            raise Forbidden(f"{self._who()} is read-only: it may not write to project {project!r}")
        if not self.may_read(project):
            raise Forbidden(f"{self._who()} may not write to project {project!r}: {self._limited()}")

    def check_admin(self) -> None:
        if self.level != "admin":
            raise Forbidden(f"{self._who()} is not an admin token: only admin tokens manage tokens")

    def visible(self, projects: Iterable[str]) -> list[str]:
        """Those of ``projects`` this grant may read."""
        return [p for p in projects if self.may_read(p)]


#: Reads on a ``--public`` server.
PUBLIC = Grant(None, "read", None)
