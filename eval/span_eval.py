"""Evidence-span questions as relevance judgments, with the hit rule of ``shared/eval/README.md``.

A passage is relevant to a question when the hit rule says it answers one of its evidence spans.
In-process, every passage of the index is judged (``exhaustive``), so Recall and nDCG count every
answering passage; over the API only the passages some retriever returned can be judged
(``pooled``, as in TREC pooling). Passages with the same words (the core returns only one of them)
are judged as one, under the id of the first. Success@k and MRR@10 equal the rank-based definition
of the README either way; ``rank_metrics`` computes that definition directly, as a cross-check.
"""

from __future__ import annotations

from typing import Iterable, Mapping, Sequence

from eval.hit_rule import answers, first_hit_rank
from eval.questions import Question
from eval.runner import RetrieverRun
from indexer.store import dedup_key

DEPTH = 10


def representatives(items: Iterable[tuple[str, str]]) -> dict[str, str]:
    """``passage id → id of the first passage (in the given order) with the same words``."""
    first_of_key: dict[str, str] = {}
    out: dict[str, str] = {}
    for pid, text in items:
        out[pid] = first_of_key.setdefault(dedup_key(text), pid)
    return out


def _judge(question: Question, candidates: Iterable[tuple[str, str]]) -> dict[str, int]:
    return {pid: 1 for pid, text in candidates if any(answers(text, span) for span in question.evidence)}


def judge_exhaustive(questions: Sequence[Question],
                     passages: Sequence[tuple[str, str]]) -> tuple[dict[str, dict[str, int]], dict[str, str]]:
    """Judge every passage of the index: ``(qrels, passage id → representative id)``."""
    canonical = representatives(passages)
    unique = [(pid, text) for pid, text in passages if canonical[pid] == pid]
    return {q.id: _judge(q, unique) for q in questions}, canonical


def judge_pooled(questions: Sequence[Question], runs: Sequence[RetrieverRun],
                 depth: int = DEPTH) -> tuple[dict[str, dict[str, int]], dict[str, str]]:
    """Judge the passages any of ``runs`` returned in its top ``depth`` for each question.

    The pool depth is the metrics' deepest cut-off, not the depth of the runs: a deeper run then
    leaves the judgments, and so every metric, as they are. Passages further down are not judged
    (not relevant in ``qrels.trec``), but their ids are mapped to representatives like the rest.
    """
    pools: dict[str, dict[str, str]] = {q.id: {} for q in questions}
    returned: set[tuple[str, str]] = set()
    for run in runs:
        for qid, result in run.queries.items():
            returned.update(zip(result.ids, result.texts))
            if qid in pools:
                pools[qid].update(zip(result.ids[:depth], result.texts[:depth]))
    canonical = representatives(sorted(returned))
    qrels = {}
    for q in questions:
        judged = _judge(q, pools[q.id].items())
        qrels[q.id] = {canonical[pid]: 1 for pid in judged}
    return qrels, canonical


def canonical_rankings(run: RetrieverRun, canonical: Mapping[str, str]) -> dict[str, tuple[str, ...]]:
    """The run's rankings with every passage id replaced by its representative's."""
    return {qid: tuple(canonical.get(pid, pid) for pid in result.ids) for qid, result in run.queries.items()}


def rank_metrics(questions: Sequence[Question], run: RetrieverRun) -> dict[str, float]:
    """Success@1, Success@5 and MRR@10 exactly as the README defines them, from the texts."""
    ranks = []
    for q in questions:
        result = run.queries.get(q.id)
        ranks.append(first_hit_rank(list(result.texts), list(q.evidence), DEPTH) if result else None)
    n = len(ranks) or 1
    return {
        "success@1": sum(1 for r in ranks if r is not None and r <= 1) / n,
        "success@5": sum(1 for r in ranks if r is not None and r <= 5) / n,
        "mrr@10": sum(1 / r for r in ranks if r is not None) / n,
    }


def abstain_rate(run: RetrieverRun) -> float:
    return sum(r.abstain for r in run.queries.values()) / len(run.queries) if run.queries else 0.0
