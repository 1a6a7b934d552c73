"""Stage 1, candidates: the best passages by the lexical fields, and by the embedding.

The lexical score of every passage is a sparse sum over the BM25 fields (``indexer.lexical``);
a definitional question ("Hvad er X?") adds a bonus to the passages that define X. The dense
side asks FAISS for the nearest passages. Each side hands its best ``n`` to the fusion.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from indexer.dense import DenseIndex
from indexer.lexical import LexicalIndex
from indexer.passages import Passage
from indexer.settings import Settings
from retrieval.intent import definition_strength, definition_subjects
from retrieval.query import LexicalQuery
from retrieval.synonyms import SynonymRule


def top_rows(scores: np.ndarray, n: int) -> np.ndarray:
    """Rows of the ``n`` highest scores, best first, ties in row order (as a stable sort of all
    scores would give), without sorting every score."""
    n = min(n, len(scores))
    if n <= 0:
        return np.zeros(0, dtype=np.int64)
    if n < len(scores):
        threshold = np.partition(scores, len(scores) - n)[len(scores) - n]
        above = np.flatnonzero(scores > threshold)
        tied = np.flatnonzero(scores == threshold)[: n - len(above)]
        rows = np.concatenate([above, tied])
    else:
        rows = np.arange(len(scores))
    rows = np.sort(rows)  # row order, so the stable sort below breaks ties by row
    return rows[np.argsort(-scores[rows], kind="stable")].astype(np.int64)


def field_weights(settings: Settings) -> dict[str, float]:
    return {"stems": settings.weight_stems, "grams": settings.weight_ngrams,
            "headings": settings.weight_headings, "sentences": settings.weight_sentence_units}


@dataclass(frozen=True)
class LexicalCandidates:
    rows: np.ndarray  # best first; only passages with a positive score
    scores: np.ndarray  # lexical score of every passage (definition bonus included)
    field_scores: dict[str, np.ndarray]  # raw score of every passage in each field


def lexical_candidates(index: LexicalIndex, passages: Sequence[Passage], query: LexicalQuery, question: str,
                       synonyms: Sequence[SynonymRule], settings: Settings, n: int,
                       dense_rows: np.ndarray | None = None) -> LexicalCandidates:
    """The ``n`` passages with the best lexical score (those that match at all). In an index of
    more than ``lexical_exhaustive_max`` passages the costly fields are scored for a pool
    (``LexicalIndex.scores``) that includes the dense side's candidates ``dense_rows``."""
    pool = settings.lexical_pool if index.size > settings.lexical_exhaustive_max else None
    total, per_field = index.scores(query, field_weights(settings), pool, dense_rows)
    rows = top_rows(total, n)
    rows = rows[total[rows] > 0]
    total = definition_bonus(question, total, rows, passages, synonyms, settings.weight_definition)
    rows = rows[np.argsort(-total[rows], kind="stable")]
    return LexicalCandidates(rows, total, per_field)


def definition_bonus(question: str, scores: np.ndarray, rows: np.ndarray, passages: Sequence[Passage],
                     synonyms: Sequence[SynonymRule], weight: float) -> np.ndarray:
    """"Hvad er X?" wants the passage that defines X: add ``weight`` × the top score to it."""
    subjects = definition_subjects(question, list(synonyms))
    if not subjects or weight <= 0 or len(rows) == 0:
        return scores
    boosted = scores.copy()
    bonus = weight * float(scores[rows[0]])
    for row in rows:
        boosted[row] += bonus * definition_strength(passages[int(row)], subjects)
    return boosted


def dense_candidates(index: DenseIndex, query_vector: np.ndarray | None, n: int) -> np.ndarray:
    """The ``n`` passages nearest to the question's embedding, best first (none without one)."""
    if query_vector is None:
        return np.zeros(0, dtype=np.int64)
    rows, _ = index.top(query_vector, n)
    return rows
