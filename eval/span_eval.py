"""Scoring a retriever on evidence-span questions with the shared hit rule."""

from __future__ import annotations

from dataclasses import dataclass

from tqdm import tqdm

from eval.hit_rule import first_hit_rank
from eval.questions import QuestionSet
from indexer.searcher import Searcher

DEPTH = 10


@dataclass(frozen=True)
class QuestionOutcome:
    id: str
    question: str
    rank: int | None  # None: no answering passage in the top 10 (or unanswerable)
    abstain: bool
    took_ms: float
    top_passages: tuple[str, ...]  # passage ids, best first
    top_texts: tuple[str, ...]


def run_questions(searcher: Searcher, questions: QuestionSet, retriever: str = "hybrid",
                  progress: bool = True) -> list[QuestionOutcome]:
    outcomes = []
    for q in tqdm(questions.questions, desc=f"questions ({retriever})", disable=not progress, unit="q"):
        result = searcher.search(q.question, DEPTH, retriever=retriever)
        texts = [h.passage.text for h in result.hits]
        rank = first_hit_rank(texts, list(q.evidence), DEPTH) if q.evidence else None
        outcomes.append(QuestionOutcome(q.id, q.question, rank, result.abstain, result.took_ms,
                                        tuple(h.passage.id for h in result.hits), tuple(texts)))
    return outcomes


def span_metrics(outcomes: list[QuestionOutcome]) -> dict[str, float]:
    """Success@1, Success@5, MRR@10 and the abstention rate over answerable questions."""
    n = len(outcomes)
    if n == 0:
        return {}
    ranks = [o.rank for o in outcomes]
    return {
        "success@1": sum(1 for r in ranks if r is not None and r <= 1) / n,
        "success@5": sum(1 for r in ranks if r is not None and r <= 5) / n,
        "mrr@10": sum(1 / r for r in ranks if r is not None) / n,
        "abstain_rate": sum(o.abstain for o in outcomes) / n,
    }
