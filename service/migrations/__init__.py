"""Versioned schema migrations of the feedback store: numbered SQL files applied in order.

``service/migrations/<backend>/NNNN_name.sql`` (backend ``sqlite`` or ``postgres``): each file is
applied once, in its own transaction, and recorded in the database's table
``schema_migrations(version, name, applied_at)``. A change to the schema is a new file with the
next number; a file that has been released is never edited (databases have recorded it as done).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

HERE = Path(__file__).parent
BACKENDS = ("sqlite", "postgres")
_FILE_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


class MigrationError(RuntimeError):
    """The migration files themselves are wrong (a name, a gap in the numbers); the message says which."""


@dataclass(frozen=True)
class Migration:
    """One numbered SQL file: ``0001_feedback.sql`` is version 1, name ``feedback``."""

    version: int
    name: str
    sql: str

    @property
    def label(self) -> str:
        return f"{self.version:04d}_{self.name}"


@cache
def migrations(backend: str) -> tuple[Migration, ...]:
    """The migrations of ``backend`` in order; MigrationError for a badly named file or a gap."""
    if backend not in BACKENDS:
        raise MigrationError(f"no migrations for {backend!r}: the backends are {', '.join(BACKENDS)}")
    found = [_read(path) for path in sorted((HERE / backend).glob("*.sql"))]
    for expected, migration in enumerate(found, start=1):
        if migration.version != expected:
            raise MigrationError(f"service/migrations/{backend}: expected migration {expected:04d} next, found "
                                 f"{migration.label}.sql; number the files 0001, 0002, … without gaps or repeats")
    return tuple(found)


def _read(path: Path) -> Migration:
    match = _FILE_NAME.match(path.name)
    if match is None:
        raise MigrationError(f"{path}: name a migration file NNNN_name.sql (four digits, then lowercase letters, "
                             "digits and underscores)")
    return Migration(int(match.group(1)), match.group(2), path.read_text(encoding="utf-8"))


__all__ = ["BACKENDS", "Migration", "MigrationError", "migrations"]
