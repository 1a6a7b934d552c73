"""Evidence-span question files (``shared/eval/dev-questions.jsonl`` and the unanswerable set)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path


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


def read_jsonl(path: Path) -> list[tuple[int, dict]]:
    """``(line number, object)`` for each non-empty line; DatasetError names file and line."""
    if not path.is_file():
        raise DatasetError(f"{path}: file not found")
    rows = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DatasetError(f"{path}:{number}: not valid JSON ({exc.msg})") from exc
            if not isinstance(row, dict):
                raise DatasetError(f"{path}:{number}: expected a JSON object")
            rows.append((number, row))
    if not rows:
        raise DatasetError(f"{path}: no questions in the file")
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
