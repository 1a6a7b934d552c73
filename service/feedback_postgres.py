"""Caseworkers' judgments in PostgreSQL (``PEERQA_DATABASE_URL=postgresql://…``), shared by every
worker and machine that serves the site.

:class:`PostgresFeedbackStore` has the methods and the meaning of the SQLite
:class:`~service.feedback_store.FeedbackStore`: the latest judgment of a question and passage
wins, export pages run in byte order of their ids after the same cursors, ``add`` raises
StoreFull at ``max_rows``, and every storage fault is a StorageUnavailable naming it (its message
names the server and database, never the password).

Connections come from a psycopg pool (one at least, ``PEERQA_DATABASE_POOL_SIZE`` at most) that
opens in the background: a service starts while the database is down, and each call then waits
at most ``timeout`` seconds before it reports the database unavailable. The schema comes from the
numbered SQL files in ``service/migrations/postgres``, applied at start-up (or on first use, when
the database was down then), each in its own transaction under an advisory lock, so that
processes starting together apply each file once, and recorded in ``schema_migrations``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import psycopg
from psycopg import errors as pg_errors
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import ConnectionPool, PoolClosed, PoolTimeout

from service.feedback_store import (
    BUSY_TIMEOUT,
    Fault,
    FeedbackBackend,
    Judgment,
    Qrel,
    StorageUnavailable,
    StoreFull,
    query_id,
)
from service.migrations import Migration, migrations

log = logging.getLogger(__name__)

#: Seconds one attempt to connect may take (libpq's ``connect_timeout``; it counts 2 at least).
CONNECT_TIMEOUT = 5
#: Seconds a call waits for a pooled connection before it reports the database unavailable.
POOL_TIMEOUT = 5.0
#: Seconds the pool retries a failed connection before it gives up on it; the next call then
#: starts a fresh attempt, so the store recovers soon after the database is back.
RECONNECT_TIMEOUT = 30.0
#: What to check when the database cannot be reached.
CHECK_SERVER = "check that the server runs and accepts connections from this machine, and PEERQA_DATABASE_URL"
#: Advisory lock keys (any 64-bit numbers of this application's own): migrations, and adds that
#: count the rows before inserting (the count and the insert must see the same rows).
MIGRATION_LOCK = int.from_bytes(b"peerqa-m", "big")
ADD_LOCK = int.from_bytes(b"peerqa-a", "big")
URL_SCHEMES = ("postgresql://", "postgres://")

_FAULT_MESSAGES: dict[Fault, str] = {
    "unavailable": "the feedback database ({where}) {reason}",
    "locked": "the feedback database ({where}) is busy: a lock was not granted in time; try again in a few seconds",
    "readonly": "the feedback database ({where}) refuses to store judgments (a read-only server or missing "
                "privileges); point PEERQA_DATABASE_URL at the primary server, as a user that owns the database",
    "deleted": "the feedback table has disappeared from the feedback database ({where}) since its migrations ran; "
               "it is not created again empty: restore it from a backup (pg_restore)",
    "corrupt": "the feedback database ({where}) reports damaged data; restore it from a backup (pg_restore)",
}

_MIGRATIONS_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
)"""


class BadDatabaseUrl(ValueError):
    """``PEERQA_DATABASE_URL`` is not a PostgreSQL address; the message says how to write one
    (and never repeats the URL, which may hold a password)."""


def describe(url: str) -> str:
    """``PostgreSQL database DB on HOST:PORT as USER``, for messages: never the password."""
    if not url.startswith(URL_SCHEMES):
        raise BadDatabaseUrl("PEERQA_DATABASE_URL must start with postgresql:// (for example "
                             "postgresql://peerqa:PASSWORD@db.example:5432/peerqa), or be unset for SQLite")
    try:
        parts = conninfo_to_dict(url)
    except psycopg.Error:  # libpq's message may quote the URL, password and all: not repeated
        raise BadDatabaseUrl("PEERQA_DATABASE_URL cannot be read as a PostgreSQL URL; write it as "
                             "postgresql://USER:PASSWORD@HOST:PORT/DATABASE, with special characters in the "
                             "password percent-encoded (%40 for @, %2F for /)") from None
    host, port = parts.get("host") or "localhost", parts.get("port") or "5432"
    user = f" as {parts['user']}" if parts.get("user") else ""
    return f"PostgreSQL database {parts.get('dbname') or '(default)'} on {host}:{port}{user}"


def _fault_of(error: psycopg.Error) -> Fault:
    """The store's name for a PostgreSQL error (the specific ones first: most are OperationalErrors)."""
    if isinstance(error, (pg_errors.LockNotAvailable, pg_errors.QueryCanceled, pg_errors.DeadlockDetected)):
        return "locked"
    if isinstance(error, (pg_errors.ReadOnlySqlTransaction, pg_errors.InsufficientPrivilege)):
        return "readonly"
    if isinstance(error, pg_errors.UndefinedTable):
        return "deleted"
    if isinstance(error, (pg_errors.DataCorrupted, pg_errors.IndexCorrupted)):
        return "corrupt"
    return "unavailable"


def _reason(error: Exception, timeout: float) -> str:
    """Why the database is unavailable, without the server's text (it may quote stored data)."""
    if isinstance(error, PoolTimeout):
        return f"cannot be reached (no connection within {timeout:g} s); {CHECK_SERVER}"
    if isinstance(error, PoolClosed):
        return "is closed, as the service is shutting down; try again once it has restarted"
    code = getattr(error, "sqlstate", None)
    if isinstance(error, psycopg.OperationalError) and not code:
        return f"cannot be reached (the connection failed or was lost); {CHECK_SERVER}"
    return f"failed ({type(error).__name__}{f', SQLSTATE {code}' if code else ''}); {CHECK_SERVER}"


def _connect_problem(error: psycopg.OperationalError, password: str | None) -> str:
    """The first line of libpq's reason a connection failed ("Connection refused", "password
    authentication failed for user …"), with the password blanked should it ever appear."""
    text = (str(error).strip().splitlines() or ["the connection failed"])[0].removeprefix("connection failed: ")
    return text.replace(password, "***") if password else text


class PostgresFeedbackStore(FeedbackBackend):
    """The feedback store in PostgreSQL; thread-safe (each call borrows a pooled connection).
    ``close`` at shutdown stops the pool."""

    def __init__(self, url: str, pool_size: int = 4, timeout: float | None = None,
                 connect_timeout: int = CONNECT_TIMEOUT, busy_timeout: float | None = None) -> None:
        """``url``: ``postgresql://user:password@host:port/database``; BadDatabaseUrl if it is not one.
        ``timeout``: seconds a call waits for a connection (default POOL_TIMEOUT); ``busy_timeout``:
        seconds an add waits for another add's lock (default BUSY_TIMEOUT)."""
        self.where = describe(url)
        self.timeout = POOL_TIMEOUT if timeout is None else timeout
        self.busy_timeout = busy_timeout
        self._url = url
        self._password = conninfo_to_dict(url).get("password")  # only ever blanked out of messages
        self._connect_options = {"connect_timeout": max(1, int(connect_timeout)), "application_name": "peerqa"}
        self._migrated = False
        self._migrating = threading.Lock()
        self._pool = ConnectionPool(url, min_size=1, max_size=max(1, pool_size), open=False, timeout=self.timeout,
                                    kwargs=self._connect_options, check=ConnectionPool.check_connection,
                                    reconnect_timeout=RECONNECT_TIMEOUT, name="peerqa-feedback")
        self._pool.open(wait=False)  # connects in the background: a database that is down fails calls, not start-up

    def __repr__(self) -> str:
        return f"PostgresFeedbackStore({self.where})"

    # --- connections and faults -------------------------------------------------------------------

    def _unavailable(self, error: Exception) -> StorageUnavailable:
        fault = _fault_of(error) if isinstance(error, psycopg.Error) else "unavailable"
        message = _FAULT_MESSAGES[fault].format(where=self.where, reason=_reason(error, self.timeout))
        return StorageUnavailable(fault, self.where, message)

    @contextmanager
    def _connection(self) -> Iterator[psycopg.Connection]:
        """A pooled connection to a migrated database, committed at the end (rolled back on an
        error); a pool or PostgreSQL error becomes StorageUnavailable."""
        try:
            with self._pool.connection() as connection:
                if not self._migrated:
                    self._migrate_on(connection)
                yield connection
        except (PoolTimeout, PoolClosed, psycopg.Error) as error:
            raise self._unavailable(error) from error

    def migrate(self) -> list[Migration]:
        """Apply the pending migrations now, on a connection of its own (a database that is down
        fails at once rather than after the pool's timeout); StorageUnavailable if it cannot."""
        if self._migrated:
            return []
        try:
            connection = psycopg.connect(self._url, **self._connect_options)
        except psycopg.OperationalError as error:
            reason = f"cannot be reached ({_connect_problem(error, self._password)}); {CHECK_SERVER}"
            raise StorageUnavailable("unavailable", self.where, _FAULT_MESSAGES["unavailable"].format(
                where=self.where, reason=reason)) from error
        try:
            with connection:
                return self._migrate_on(connection)
        except psycopg.Error as error:
            raise self._unavailable(error) from error

    def _migrate_on(self, connection: psycopg.Connection) -> list[Migration]:
        """Apply each migration not yet recorded, in a transaction of its own that first takes the
        migration lock (a process starting at the same time waits, then sees the record)."""
        with self._migrating:
            if self._migrated:
                return []
            applied = [m for m in migrations("postgres") if _apply(connection, m)]
            self._migrated = True
        for migration in applied:
            log.info("feedback database: applied migration %s", migration.label)
        return applied

    def close(self) -> None:
        """Close the pool's connections and stop its workers (at shutdown); calls after it are
        StorageUnavailable."""
        self._pool.close(timeout=5.0)

    # --- writing ----------------------------------------------------------------------------------

    def add(self, question: str, passage_id: str, helpful: bool, index_version: str,
            now: datetime | None = None, max_rows: int | None = None) -> Judgment:
        """Store one judgment; StoreFull when the store already holds ``max_rows`` judgments."""
        created = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
        qid = query_id(question)
        with self._connection() as connection, connection.transaction():
            wait = BUSY_TIMEOUT if self.busy_timeout is None else self.busy_timeout
            connection.execute("SELECT set_config('lock_timeout', %s, true)", (f"{max(1, int(wait * 1000))}ms",))
            if max_rows is not None:
                connection.execute("SELECT pg_advisory_xact_lock(%s)", (ADD_LOCK,))  # adds count one at a time
                if _holds_at_least(connection, max_rows):
                    raise StoreFull(max_rows)
            row = connection.execute(
                "INSERT INTO feedback (created_at, query_id, question, passage_id, helpful, index_version)"
                " VALUES (%s, %s, %s, %s, %s, %s) RETURNING id",
                (created, qid, question, passage_id, bool(helpful), index_version)).fetchone()
        return Judgment(int(row[0]), _iso(created), qid, question, passage_id, bool(helpful), index_version)

    # --- reading ----------------------------------------------------------------------------------

    def count(self) -> int:
        with self._connection() as connection:
            return int(connection.execute("SELECT COUNT(*) FROM feedback").fetchone()[0])

    def judgments(self, index_version: str | None = None) -> list[Judgment]:
        """All judgments, oldest first; only those made on ``index_version`` when given (for tests
        and small stores: the exports use the pages below)."""
        sql = "SELECT id, created_at, query_id, question, passage_id, helpful, index_version FROM feedback"
        args: tuple = ()
        if index_version:
            sql, args = sql + " WHERE index_version = %s", (index_version,)
        with self._connection() as connection:
            rows = connection.execute(sql + " ORDER BY id", args).fetchall()
        return [Judgment(r[0], _iso(r[1]), r[2], r[3], r[4], bool(r[5]), r[6]) for r in rows]

    def qrels_page(self, index_version: str | None = None, after: str | None = None,
                   limit: int = 1000) -> list[Qrel]:
        """Up to ``limit`` latest judgments per question and passage, sorted by query id and passage
        id, starting after the pair ``after`` (a :attr:`Qrel.cursor`)."""
        qid, _, passage = (after or "").partition(" ")
        rows = self._latest_page("query_id, passage_id, helpful", "query_id, passage_id", index_version,
                                 ("(query_id, passage_id) > (%s, %s)", (qid, passage)) if after else None, limit)
        return [Qrel(r[0], r[1], bool(r[2])) for r in rows]

    def queries_page(self, index_version: str | None = None, after: str | None = None,
                     limit: int = 1000) -> list[dict[str, str]]:
        """Up to ``limit`` BEIR-style queries ``{"_id", "text"}`` (the latest wording of each
        question), sorted by id, starting after the query id ``after``."""
        rows = self._latest_page("query_id, question", "query_id", index_version,
                                 ("query_id > %s", (after,)) if after else None, limit)
        return [{"_id": r[0], "text": r[1]} for r in rows]

    def _latest_page(self, columns: str, group: str, index_version: str | None,
                     cursor: tuple[str, tuple[str, ...]] | None, limit: int) -> list[tuple]:
        """``columns`` of the latest row per ``group`` (also the order), on ``index_version`` when
        given, after the ``cursor`` condition, at most ``limit`` rows: DISTINCT ON keeps the first
        row of each group, and the rows of a group come newest first."""
        where: list[str] = []
        args: list[object] = []
        if index_version:
            where.append("index_version = %s")
            args.append(index_version)
        if cursor is not None:
            where.append(cursor[0])
            args += cursor[1]
        sql = (f"SELECT DISTINCT ON ({group}) {columns} FROM feedback"
               + (" WHERE " + " AND ".join(where) if where else "")
               + f" ORDER BY {group}, id DESC LIMIT %s")
        with self._connection() as connection:
            return connection.execute(sql, (*args, limit)).fetchall()


def _apply(connection: psycopg.Connection, migration: Migration) -> bool:
    """Apply one migration and record it, in one transaction under the migration lock; False when
    it was recorded already."""
    with connection.transaction():
        connection.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
        connection.execute(_MIGRATIONS_TABLE)
        if connection.execute("SELECT 1 FROM schema_migrations WHERE version = %s",
                              (migration.version,)).fetchone():
            return False
        connection.execute(migration.sql.encode("utf-8"))  # no parameters: the whole file, as written
        connection.execute("INSERT INTO schema_migrations (version, name, applied_at) VALUES (%s, %s, now())",
                           (migration.version, migration.name))
    return True


def _holds_at_least(connection: psycopg.Connection, rows: int) -> bool:
    """Cheap first (the highest id bounds the count, as ids are unique and positive), exact when near."""
    highest = connection.execute("SELECT COALESCE(MAX(id), 0) FROM feedback").fetchone()[0]
    if highest < rows:
        return False
    return int(connection.execute("SELECT COUNT(*) FROM feedback").fetchone()[0]) >= rows


def _iso(moment: datetime) -> str:
    """UTC, ISO 8601 to the second, as the SQLite store writes ``created_at``."""
    return moment.astimezone(UTC).isoformat(timespec="seconds")


__all__ = ["BadDatabaseUrl", "PostgresFeedbackStore", "describe"]
