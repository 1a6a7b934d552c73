"""TREC run and qrels files, so trec_eval, pytrec_eval or ranx can recompute every number.

Run lines are ``query Q0 doc rank score tag``, one per returned result, as deep as the run asked
for (``python -m eval run --depth``). The score column is the retriever's own score
(``Hit.score``; over ``--api`` the ``score`` field of ``/api/search``), so runs can be fused or
reranked by others. TREC tools, ranx included, order a query's lines by score alone (ties broken
by document id, or arbitrarily), so tied scores could reorder a ranking. A score that ties with, or
is above, the score of the result ranked just before it is therefore written *nudged*: ``EPSILON``
(1e-9) below that previous written score, rounded to 9 decimals (the next smaller float when that
does not fall, i.e. for scores above about 1e7). The search scores are rounded to 6 decimals, so
the nudges stay below their resolution for runs of up to a hundred tied results, and every tool
reads each ranking back exactly as it was evaluated (``read_run``). The metrics are computed on
the same nudged scores (``falling_scores``, used by ``eval.metrics``).

Qrels lines are ``query 0 doc relevance``.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Mapping, Sequence

#: how far below the previous result a tied (or higher) score is written
EPSILON = 1e-9
_DECIMALS = 9


def falling_scores(scores: Sequence[float]) -> list[float]:
    """``scores`` (best first) made strictly falling, changing only ties and rises (see the module doc).

    A score below the previous written one is kept exactly; a score that is not is written
    ``EPSILON`` below it, so sorting by score gives back the original order whatever the ties.
    """
    out: list[float] = []
    for value in scores:
        value = float(value)
        if not math.isfinite(value):
            raise ValueError(f"score {value!r} is not a finite number")
        if out and value >= out[-1]:
            value = round(out[-1] - EPSILON, _DECIMALS)
            if value >= out[-1]:  # EPSILON is below the float resolution at this magnitude
                value = math.nextafter(out[-1], -math.inf)
        out.append(value)
    return out


def _safe(value: str, what: str) -> str:
    if not value or any(c.isspace() for c in value):
        raise ValueError(f"{what} {value!r} cannot be written to a TREC file (empty or contains whitespace)")
    return value


def write_run(path: Path, rankings: Mapping[str, Sequence[str]], scores: Mapping[str, Sequence[float]],
              tag: str) -> None:
    """One line per result: the ids of ``rankings`` (best first) with their ``scores``, made strictly falling.

    A query with no result has no line (give trec_eval ``-c``).
    """
    lines = []
    for qid, ids in rankings.items():
        values = scores.get(qid, ())
        if len(values) != len(ids):
            raise ValueError(f"query {qid!r} has {len(ids)} results but {len(values)} scores")
        for rank, (doc, value) in enumerate(zip(ids, falling_scores(values)), start=1):
            lines.append(f"{_safe(qid, 'query id')} Q0 {_safe(doc, 'id')} {rank} {value!r} {_safe(tag, 'run tag')}\n")
    path.write_text("".join(lines), encoding="utf-8")


def write_qrels(path: Path, qrels: Mapping[str, Mapping[str, int]]) -> None:
    lines = [f"{_safe(qid, 'query id')} 0 {_safe(doc, 'id')} {grade}\n"
             for qid, docs in qrels.items() for doc, grade in docs.items()]
    path.write_text("".join(lines), encoding="utf-8")


def read_run(path: Path) -> dict[str, list[str]]:
    """Rankings back from a run file, ordered by score as every TREC tool orders them (ties by id)."""
    return {qid: [doc for doc, _ in items] for qid, items in read_scored_run(path).items()}


def read_scored_run(path: Path) -> dict[str, list[tuple[str, float]]]:
    """``{query: [(id, score), …]}`` from a run file, best first: by score, ties by id."""
    scored: dict[str, list[tuple[float, str]]] = {}
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if not line.strip():
                continue
            qid, _, doc, _, value, _ = line.split()
            scored.setdefault(qid, []).append((float(value), doc))
    return {qid: [(doc, value) for value, doc in sorted(items, key=lambda t: (-t[0], t[1]))]
            for qid, items in scored.items()}
