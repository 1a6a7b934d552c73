"""Caseworkers' judgments of passages (helpful or not), kept in SQLite for evaluation.

Each row holds the question, the passage id, the index version that answered, the UTC time and
the judgment: no IP address, no user id, nothing else about the person. The judgments export as
TREC qrels (``query_id 0 passage_id relevance``) plus BEIR-style queries, so evaluators can turn
feedback into benchmark data; the latest judgment of a question/passage pair wins.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
import unicodedata
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

FILE_NAME = "feedback.sqlite3"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at    TEXT    NOT NULL,  -- UTC, ISO 8601
    query_id      TEXT    NOT NULL,  -- query_id(question)
    question      TEXT    NOT NULL,
    passage_id    TEXT    NOT NULL,
    helpful       INTEGER NOT NULL CHECK (helpful IN (0, 1)),
    index_version TEXT    NOT NULL
);
CREATE INDEX IF NOT EXISTS feedback_pair ON feedback (query_id, passage_id);
"""


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


class FeedbackStore:
    """One short-lived connection per call, so it is safe from any thread."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(self.path, timeout=10)
        connection.executescript(_SCHEMA)
        return connection

    def add(self, question: str, passage_id: str, helpful: bool, index_version: str,
            now: datetime | None = None) -> Judgment:
        created = (now or datetime.now(timezone.utc)).astimezone(timezone.utc).isoformat(timespec="seconds")
        row = (created, query_id(question), question, passage_id, int(bool(helpful)), index_version)
        with closing(self._connect()) as connection, connection:
            cursor = connection.execute(
                "INSERT INTO feedback (created_at, query_id, question, passage_id, helpful, index_version)"
                " VALUES (?, ?, ?, ?, ?, ?)", row)
            new_id = int(cursor.lastrowid or 0)
        return Judgment(new_id, created, row[1], question, passage_id, bool(helpful), index_version)

    def judgments(self, index_version: str | None = None) -> list[Judgment]:
        """All judgments, oldest first; only those made on ``index_version`` when given."""
        if not self.path.exists():
            return []
        sql = "SELECT id, created_at, query_id, question, passage_id, helpful, index_version FROM feedback"
        args: tuple = ()
        if index_version:
            sql, args = sql + " WHERE index_version = ?", (index_version,)
        with closing(self._connect()) as connection:
            rows = connection.execute(sql + " ORDER BY id", args).fetchall()
        return [Judgment(r[0], r[1], r[2], r[3], r[4], bool(r[5]), r[6]) for r in rows]

    def latest(self, index_version: str | None = None) -> list[Judgment]:
        """The latest judgment per question and passage, sorted by query id and passage id."""
        pairs: dict[tuple[str, str], Judgment] = {}
        for judgment in self.judgments(index_version):
            pairs[(judgment.query_id, judgment.passage_id)] = judgment
        return [pairs[key] for key in sorted(pairs)]

    def qrels(self, index_version: str | None = None, layout: str = "trec") -> str:
        """TREC qrels: ``query_id 0 passage_id relevance`` (1 helpful, 0 not helpful); with
        ``layout="beir"`` a BEIR ``qrels/<split>.tsv`` (header, then query-id, corpus-id, score)."""
        judgments = self.latest(index_version)
        if layout == "beir":
            return "query-id\tcorpus-id\tscore\n" + "".join(
                f"{j.query_id}\t{j.passage_id}\t{int(j.helpful)}\n" for j in judgments)
        return "".join(f"{j.query_id} 0 {j.passage_id} {int(j.helpful)}\n" for j in judgments)

    def queries(self, index_version: str | None = None) -> list[dict[str, str]]:
        """BEIR-style queries for the qrels: ``{"_id", "text"}``, the latest wording of each question."""
        texts: dict[str, str] = {}
        for judgment in self.judgments(index_version):  # oldest first: the latest wording wins
            texts[judgment.query_id] = judgment.question
        return [{"_id": qid, "text": text} for qid, text in sorted(texts.items())]


def store_for(data_dir: Path) -> FeedbackStore:
    return FeedbackStore(Path(data_dir) / FILE_NAME)


__all__ = ["FeedbackStore", "Judgment", "query_id", "normalise_question", "store_for", "FILE_NAME"]
