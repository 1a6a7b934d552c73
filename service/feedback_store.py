"""Caseworkers' judgments of passages (helpful or not), kept in SQLite for evaluation.

Each row holds the question, the passage id, the index version that answered, the UTC time and
the judgment: no IP address, no user id, nothing else about the person. The judgments export as
TREC qrels (``query_id 0 passage_id relevance``) plus BEIR-style queries, so evaluators can turn
feedback into benchmark data; the latest judgment of a question/passage pair wins. Exports come
in pages (:meth:`FeedbackStore.qrels_page`, :meth:`FeedbackStore.queries_page`), so no call
holds every row in memory.

Storage faults never pass as something else: a database that is locked, damaged, read-only or
gone is a :class:`StorageUnavailable` naming the fault, and a database this store has seen is
never created again empty once it disappears (only the very first one is created).

The schema comes from the numbered SQL files in ``service/migrations/sqlite`` (see
:mod:`service.migrations`), applied when a connection finds one pending and recorded in the table
``schema_migrations``; a database made before that table existed already has the schema of
``0001_feedback`` and is recorded as such. :class:`FeedbackBackend` is what every store offers:
this SQLite one, embedded and the default, and PostgreSQL's (``service.feedback_postgres``).
"""

from __future__ import annotations

import hashlib
import logging
import re
import sqlite3
import unicodedata
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal
from urllib.parse import quote

from service.migrations import Migration, migrations

log = logging.getLogger(__name__)

FILE_NAME = "feedback.sqlite3"
#: Seconds a call waits for another connection's lock before the store reports it locked.
BUSY_TIMEOUT = 2.0

#: The bookkeeping table of the migrations (not itself a migration: it records them).
_MIGRATIONS_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL,
    applied_at TEXT    NOT NULL  -- UTC, ISO 8601
)"""

Fault = Literal["deleted", "locked", "corrupt", "readonly", "unavailable"]
_FAULT_MESSAGES: dict[Fault, str] = {
    "deleted": "the feedback database ({name}) has disappeared since the service started; it is not created "
               "again empty: restore it from a backup, or restart the service to start a new one",
    "locked": "the feedback database ({name}) is locked by another program; try again in a few seconds",
    "corrupt": "the feedback database ({name}) is damaged (not a readable SQLite database); restore it from a "
               "backup",
    "readonly": "the feedback database ({name}) is read-only; make it and its folder writable for the service",
    "unavailable": "the feedback database ({name}) cannot be opened; check the data folder",
}
#: Seconds a caller should wait before trying again, per fault (Retry-After).
RETRY_AFTER: dict[Fault, int] = {"deleted": 300, "locked": 5, "corrupt": 300, "readonly": 300, "unavailable": 60}
#: Seconds to wait after StoreFull (someone must archive the judgments or raise the limit).
FULL_RETRY_AFTER = 3600


class StorageUnavailable(RuntimeError):
    """The database cannot be used now; ``fault`` says why, the message says what to do.

    ``path`` is the SQLite file the standard message names; another backend passes its own
    ``message`` (naming the server, never a password)."""

    def __init__(self, fault: Fault, path: Path | str, message: str | None = None) -> None:
        super().__init__(message or _FAULT_MESSAGES[fault].format(name=Path(path).name))
        self.fault: Fault = fault
        self.retry_after = RETRY_AFTER[fault]


class StoreFull(RuntimeError):
    """The store holds its most judgments (``feedback_max_rows``); nothing was stored or dropped."""

    def __init__(self, max_rows: int) -> None:
        super().__init__(f"the feedback store holds its limit of {max_rows} judgments (PEERQA_FEEDBACK_MAX_ROWS); "
                         "nothing was stored and nothing was deleted: export and archive the judgments, or raise "
                         "the limit")
        self.max_rows = max_rows
        self.retry_after = FULL_RETRY_AFTER


def _is_read_only(error: sqlite3.Error | OSError) -> bool:
    text = str(error).lower()
    return "readonly" in text or "read-only" in text


def _fault_of(error: sqlite3.Error | OSError, path: Path, known: bool) -> Fault:
    text = str(error).lower()
    if "locked" in text or "busy" in text:
        return "locked"
    if _is_read_only(error):
        return "readonly"
    if "not a database" in text or "malformed" in text or "corrupt" in text:
        return "corrupt"
    if known and not path.exists():
        return "deleted"
    return "unavailable"


def normalise_question(question: str) -> str:
    """Case, spacing and end punctuation do not make a different question."""
    text = unicodedata.normalize("NFKC", question).casefold()
    text = re.sub(r"\s+", " ", text).strip()
    return text.rstrip(" ?!.…").strip()


def query_id(question: str) -> str:
    """A stable id for a question: ``fb-`` and 12 hex digits of the SHA-1 of its normal form."""
    return "fb-" + hashlib.sha1(normalise_question(question).encode("utf-8")).hexdigest()[:12]


@dataclass(frozen=True)
class Judgment:
    id: int
    created_at: str
    query_id: str
    question: str
    passage_id: str
    helpful: bool
    index_version: str


@dataclass(frozen=True)
class Qrel:
    """The latest judgment of one question and passage."""
    query_id: str
    passage_id: str
    helpful: bool

    @property
    def cursor(self) -> str:
        """Where the next page starts (``after``): query ids hold no space, so the first one splits."""
        return f"{self.query_id} {self.passage_id}"


class FeedbackBackend(ABC):
    """What every feedback store offers (SQLite's :class:`FeedbackStore`, PostgreSQL's
    ``PostgresFeedbackStore``), with the same meaning: the latest judgment of a question and
    passage wins, pages run in byte order of their ids after a cursor, ``add`` raises StoreFull at
    ``max_rows``, and every storage fault is a StorageUnavailable."""

    @abstractmethod
    def add(self, question: str, passage_id: str, helpful: bool, index_version: str,
            now: datetime | None = None, max_rows: int | None = None) -> Judgment:
        """Store one judgment; StoreFull when the store already holds ``max_rows`` judgments."""

    @abstractmethod
    def count(self) -> int:
        """How many judgments the store holds."""

    @abstractmethod
    def judgments(self, index_version: str | None = None) -> list[Judgment]:
        """All judgments, oldest first (only those made on ``index_version`` when given)."""

    @abstractmethod
    def qrels_page(self, index_version: str | None = None, after: str | None = None,
                   limit: int = 1000) -> list[Qrel]:
        """Up to ``limit`` latest judgments per question and passage after the cursor ``after``."""

    @abstractmethod
    def queries_page(self, index_version: str | None = None, after: str | None = None,
                     limit: int = 1000) -> list[dict[str, str]]:
        """Up to ``limit`` BEIR-style queries after the query id ``after``."""

    @abstractmethod
    def migrate(self) -> list[Migration]:
        """Apply the pending schema migrations now (at start-up); the ones applied."""

    def close(self) -> None:
        """Let go of the connections the store keeps (at shutdown); nothing to do by default."""

    def latest(self, index_version: str | None = None) -> list[Qrel]:
        """Every latest judgment per question and passage (page by page; for small stores)."""
        found: list[Qrel] = []
        while page := self.qrels_page(index_version, found[-1].cursor if found else None):
            found += page
        return found

    def qrels(self, index_version: str | None = None, layout: str = "trec") -> str:
        """The whole qrels file (see :func:`qrels_text`); for small stores and tests."""
        return qrels_text(self.latest(index_version), layout, header=True)

    def queries(self, index_version: str | None = None) -> list[dict[str, str]]:
        """Every BEIR-style query (page by page; for small stores)."""
        found: list[dict[str, str]] = []
        while page := self.queries_page(index_version, found[-1]["_id"] if found else None):
            found += page
        return found


class FeedbackStore(FeedbackBackend):
    """One short-lived connection per call, so it is safe from any thread.

    The store remembers whether its database existed when it was made (or was created by it):
    from then on a missing file is a :class:`StorageUnavailable` ``deleted``, never a new empty
    database. Keep one store per process (``service.dependencies`` does) for that to hold.
    """

    def __init__(self, path: Path, busy_timeout: float | None = None) -> None:
        self.path = Path(path)
        self.busy_timeout = busy_timeout
        self._known = self.path.exists()
        self._warned_read_only = False

    @contextmanager
    def _opened(self, create: bool = False) -> Iterator[sqlite3.Connection]:
        """A connection in autocommit mode; every SQLite or file error becomes StorageUnavailable."""
        if self._known and not self.path.exists():
            raise StorageUnavailable("deleted", self.path)
        mode = "rwc" if create and not self._known else "rw"
        try:
            if mode == "rwc":
                self.path.parent.mkdir(parents=True, exist_ok=True)
            timeout = BUSY_TIMEOUT if self.busy_timeout is None else self.busy_timeout
            uri = f"file:{quote(str(self.path.resolve()))}?mode={mode}"
            with closing(sqlite3.connect(uri, uri=True, timeout=timeout, isolation_level=None)) as connection:
                yield connection
        except (sqlite3.Error, OSError) as error:
            raise StorageUnavailable(_fault_of(error, self.path, self._known), self.path) from error

    @contextmanager
    def _connection(self, create: bool = False) -> Iterator[sqlite3.Connection]:
        """An open connection to a database whose migrations are all applied."""
        with self._opened(create) as connection:
            self._migrate(connection)
            self._known = True
            yield connection

    def migrate(self) -> list[Migration]:
        """Apply the pending migrations to the database, if there is one (none is created here)."""
        if not self._readable():
            return []
        with self._opened() as connection:
            applied = self._migrate(connection)
            self._known = True
        return applied

    def _migrate(self, connection: sqlite3.Connection) -> list[Migration]:
        """Apply the migrations this database has not recorded, each in its own transaction; the
        ones applied. A read-only database that already holds the feedback table (made before the
        migrations) is read as it is, with one warning."""
        recorded = _recorded_versions(connection)
        applied = []
        for migration in migrations("sqlite"):
            if migration.version in recorded:
                continue
            try:
                if _apply(connection, migration):
                    log.info("feedback database: applied migration %s", migration.label)
                    applied.append(migration)
            except sqlite3.OperationalError as error:
                if not (_is_read_only(error) and _has_table(connection, "feedback")):
                    raise
                if not self._warned_read_only:
                    log.warning("feedback database %s is read-only: migration %s not recorded; reading it as it is",
                                self.path.name, migration.label)
                    self._warned_read_only = True
                break
        return applied

    def _readable(self) -> bool:
        """False while there is no database yet (nothing to read, and reading creates none)."""
        return self._known or self.path.exists()

    def add(self, question: str, passage_id: str, helpful: bool, index_version: str,
            now: datetime | None = None, max_rows: int | None = None) -> Judgment:
        """Store one judgment; StoreFull when the store already holds ``max_rows`` judgments."""
        created = (now or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="seconds")
        row = (created, query_id(question), question, passage_id, int(bool(helpful)), index_version)
        with self._connection(create=True) as connection:
            connection.execute("BEGIN IMMEDIATE")  # the count and the insert see the same rows
            if max_rows is not None and self._holds_at_least(connection, max_rows):
                connection.rollback()
                raise StoreFull(max_rows)
            cursor = connection.execute(
                "INSERT INTO feedback (created_at, query_id, question, passage_id, helpful, index_version)"
                " VALUES (?, ?, ?, ?, ?, ?)", row)
            new_id = int(cursor.lastrowid or 0)
            connection.execute("COMMIT")
        return Judgment(new_id, created, row[1], question, passage_id, bool(helpful), index_version)

    @staticmethod
    def _holds_at_least(connection: sqlite3.Connection, rows: int) -> bool:
        """Cheap first (the highest id bounds the count, as rows are only added), exact when near."""
        highest = connection.execute("SELECT MAX(id) FROM feedback").fetchone()[0] or 0
        if highest < rows:
            return False
        return int(connection.execute("SELECT COUNT(*) FROM feedback").fetchone()[0]) >= rows

    def count(self) -> int:
        if not self._readable():
            return 0
        with self._connection() as connection:
            return int(connection.execute("SELECT COUNT(*) FROM feedback").fetchone()[0])

    def judgments(self, index_version: str | None = None) -> list[Judgment]:
        """All judgments, oldest first; only those made on ``index_version`` when given (for tests
        and small stores: the exports use the pages below)."""
        if not self._readable():
            return []
        sql = "SELECT id, created_at, query_id, question, passage_id, helpful, index_version FROM feedback"
        args: tuple = ()
        if index_version:
            sql, args = sql + " WHERE index_version = ?", (index_version,)
        with self._connection() as connection:
            rows = connection.execute(sql + " ORDER BY id", args).fetchall()
        return [Judgment(r[0], r[1], r[2], r[3], r[4], bool(r[5]), r[6]) for r in rows]

    def qrels_page(self, index_version: str | None = None, after: str | None = None,
                   limit: int = 1000) -> list[Qrel]:
        """Up to ``limit`` latest judgments per question and passage, sorted by query id and passage
        id, starting after the pair ``after`` (a :attr:`Qrel.cursor`)."""
        qid, _, passage = (after or "").partition(" ")
        # SQLite takes the bare column (helpful) from the row holding MAX(id): the latest judgment
        rows = self._latest_page("query_id, passage_id, helpful", "query_id, passage_id", index_version,
                                 ("(query_id, passage_id) > (?, ?)", (qid, passage)) if after else None, limit)
        return [Qrel(r[0], r[1], bool(r[2])) for r in rows]

    def queries_page(self, index_version: str | None = None, after: str | None = None,
                     limit: int = 1000) -> list[dict[str, str]]:
        """Up to ``limit`` BEIR-style queries ``{"_id", "text"}`` (the latest wording of each
        question), sorted by id, starting after the query id ``after``."""
        rows = self._latest_page("query_id, question", "query_id", index_version,
                                 ("query_id > ?", (after,)) if after else None, limit)
        return [{"_id": r[0], "text": r[1]} for r in rows]

    def _latest_page(self, columns: str, group: str, index_version: str | None,
                     cursor: tuple[str, tuple[str, ...]] | None, limit: int) -> list[tuple]:
        """``columns`` of the latest row per ``group`` (also the order), on ``index_version`` when
        given, after the ``cursor`` condition, at most ``limit`` rows."""
        if not self._readable():
            return []
        where, args = [], []
        if index_version:
            where.append("index_version = ?")
            args.append(index_version)
        if cursor is not None:
            where.append(cursor[0])
            args += cursor[1]
        sql = (f"SELECT {columns}, MAX(id) FROM feedback" + (" WHERE " + " AND ".join(where) if where else "")
               + f" GROUP BY {group} ORDER BY {group} LIMIT ?")
        with self._connection() as connection:
            return connection.execute(sql, (*args, limit)).fetchall()



# --- migrations (service/migrations/sqlite) ---------------------------------------------------------

def _has_table(connection: sqlite3.Connection, name: str) -> bool:
    return connection.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                              (name,)).fetchone() is not None


def _recorded_versions(connection: sqlite3.Connection) -> set[int]:
    if not _has_table(connection, "schema_migrations"):
        return set()
    return {int(row[0]) for row in connection.execute("SELECT version FROM schema_migrations")}


def _apply(connection: sqlite3.Connection, migration: Migration) -> bool:
    """Apply one migration and record it, in one write transaction; False when another connection
    recorded it first (BEGIN IMMEDIATE waits for it, then the check sees its record)."""
    connection.execute("BEGIN IMMEDIATE")
    try:
        connection.execute(_MIGRATIONS_TABLE)
        if connection.execute("SELECT 1 FROM schema_migrations WHERE version = ?",
                              (migration.version,)).fetchone():
            connection.execute("ROLLBACK")
            return False
        for statement in sql_statements(migration.sql):
            connection.execute(statement)
        connection.execute("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                           (migration.version, migration.name, datetime.now(UTC).isoformat(timespec="seconds")))
        connection.execute("COMMIT")
        return True
    except BaseException:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        raise


def sql_statements(script: str) -> list[str]:
    """The statements of an SQL script, each whole (``executescript`` would commit the transaction
    a migration runs in); text after the last statement must be comments or blank."""
    statements, pending = [], ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            statements.append(pending.strip())
            pending = ""
    if any(line.strip() and not line.strip().startswith("--") for line in pending.splitlines()):
        raise ValueError(f"the SQL script ends in an unfinished statement (a missing ';'?): {pending.strip()[:200]}")
    return statements


def qrels_text(qrels: list[Qrel], layout: str = "trec", header: bool = True) -> str:
    """TREC qrels: ``query_id 0 passage_id relevance`` (1 helpful, 0 not helpful); with
    ``layout="beir"`` a BEIR ``qrels/<split>.tsv`` (query-id, corpus-id, score), with its header
    line when ``header`` (the first page of an export)."""
    if layout == "beir":
        return ("query-id\tcorpus-id\tscore\n" if header else "") + "".join(
            f"{q.query_id}\t{q.passage_id}\t{int(q.helpful)}\n" for q in qrels)
    return "".join(f"{q.query_id} 0 {q.passage_id} {int(q.helpful)}\n" for q in qrels)


def store_for(data_dir: Path) -> FeedbackStore:
    """The SQLite store of a data folder (``feedback.sqlite3``); ``service.dependencies.store_for_settings``
    chooses between it and PostgreSQL by the settings."""
    return FeedbackStore(Path(data_dir) / FILE_NAME)


__all__ = [
    "FILE_NAME",
    "FeedbackBackend",
    "FeedbackStore",
    "Judgment",
    "Qrel",
    "StorageUnavailable",
    "StoreFull",
    "normalise_question",
    "qrels_text",
    "query_id",
    "store_for",
]
