"""TREC run and qrels files, so trec_eval, pytrec_eval or ranx can recompute every number.

Run lines are ``query Q0 doc rank score tag``. The score column is derived from the rank
(``depth + 1 − rank``): tools sort by score and break ties by id, so the retriever's own scores,
which tie at times, could reorder a ranking; a falling score keeps it exactly as evaluated.
Qrels lines are ``query 0 doc relevance``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence


def _safe(value: str, what: str) -> str:
    if not value or any(c.isspace() for c in value):
        raise ValueError(f"{what} {value!r} cannot be written to a TREC file (empty or contains whitespace)")
    return value


def write_run(path: Path, rankings: Mapping[str, Sequence[str]], tag: str, depth: int) -> None:
    with path.open("w", encoding="utf-8") as handle:
        for qid, ids in rankings.items():
            for rank, doc in enumerate(ids, start=1):
                handle.write(f"{_safe(qid, 'query id')} Q0 {_safe(doc, 'id')} {rank} {depth + 1 - rank} {tag}\n")


def write_qrels(path: Path, qrels: Mapping[str, Mapping[str, int]]) -> None:
    with path.open("w", encoding="utf-8") as handle:
        for qid, docs in qrels.items():
            for doc, grade in docs.items():
                handle.write(f"{_safe(qid, 'query id')} 0 {_safe(doc, 'id')} {grade}\n")


def read_run(path: Path) -> dict[str, list[str]]:
    """Rankings back from a run file, ordered by score (as every TREC tool reads them)."""
    scored: dict[str, list[tuple[float, str]]] = {}
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            qid, _, doc, _, value, _ = line.split()
            scored.setdefault(qid, []).append((float(value), doc))
    return {qid: [doc for _, doc in sorted(items, key=lambda t: (-t[0], t[1]))] for qid, items in scored.items()}
