"""Evidence-span question files (``shared/eval/dev-questions.jsonl`` and the unanswerable set)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator


class DatasetError(ValueError):
    """A benchmark file is malformed; the message names the file and the line."""


@dataclass(frozen=True)
class Question:
    id: str
    question: str
    evidence: tuple[str, ...] = ()  # empty for unanswerable questions
    lang: str = "da"


@dataclass
class QuestionSet:
    path: Path
    questions: list[Question] = field(default_factory=list)

    @property
    def answerable(self) -> bool:
        return any(q.evidence for q in self.questions)


def read_lines(path: Path) -> Iterator[tuple[int, str]]:
    """``(line number, text)`` of a UTF-8 file; a line that is not UTF-8 raises DatasetError."""
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                yield number, raw.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError as exc:
                raise DatasetError(f"{path}:{number}: not UTF-8 text ({exc.reason})") from None


def read_jsonl(path: Path, what: str = "questions") -> list[tuple[int, dict]]:
    """``(line number, object)`` for each non-empty line; DatasetError names file and line."""
    if not path.is_file():
        raise DatasetError(f"{path}: file not found")
    rows = []
    for number, line in read_lines(path):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DatasetError(f"{path}:{number}: not valid JSON ({exc.msg} at column {exc.colno})") from None
        if not isinstance(row, dict):
            raise DatasetError(f"{path}:{number}: expected a JSON object")
        rows.append((number, row))
    if not rows:
        raise DatasetError(f"{path}: no {what} in the file")
    return rows


def load_questions(path: Path) -> QuestionSet:
    questions: list[Question] = []
    seen: set[str] = set()
    for number, row in read_jsonl(path):
        qid, text = row.get("id"), row.get("question")
        if not isinstance(qid, str) or not isinstance(text, str) or not text.strip():
            raise DatasetError(f"{path}:{number}: each line needs string fields 'id' and 'question'")
        if qid in seen:
            raise DatasetError(f"{path}:{number}: question id {qid!r} appears twice")
        seen.add(qid)
        evidence = row.get("evidence", [])
        if not isinstance(evidence, list) or not all(isinstance(e, dict) and isinstance(e.get("text"), str)
                                                     for e in evidence):
            raise DatasetError(f"{path}:{number}: 'evidence' must be a list of objects with a 'text' field")
        questions.append(Question(qid, text, tuple(e["text"] for e in evidence), str(row.get("lang", "da"))))
    return QuestionSet(path, questions)
