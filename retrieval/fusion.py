"""Stage 2, fusion: combining the scores of several signals over the same candidates into one."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np

from indexer.dense import DenseIndex
from indexer.settings import Retriever, Settings
from retrieval.candidates import LexicalCandidates


def zscore(values: np.ndarray) -> np.ndarray:
    """(x − mean) / std; all zeros when the values do not vary."""
    values = np.asarray(values, dtype=np.float64)
    spread = values.std()
    if values.size == 0 or spread == 0:
        return np.zeros_like(values)
    return (values - values.mean()) / spread


def fuse_zscore(signals: Mapping[str, np.ndarray], weights: Mapping[str, float]) -> np.ndarray:
    """Weighted sum of z-normalised scores over the same candidates."""
    size = len(next(iter(signals.values()))) if signals else 0
    fused = np.zeros(size, dtype=np.float64)
    for name, values in signals.items():
        fused += weights.get(name, 0.0) * zscore(values)
    return fused


def ranks(values: np.ndarray) -> np.ndarray:
    """1-based rank of each value, highest first (ties broken by position)."""
    order = np.argsort(-np.asarray(values), kind="stable")
    out = np.empty(len(order), dtype=np.int64)
    out[order] = np.arange(1, len(order) + 1)
    return out


def fuse_rrf(signals: Mapping[str, np.ndarray], weights: Mapping[str, float], k: int = 60) -> np.ndarray:
    """Weighted reciprocal rank fusion: Σ w / (k + rank)."""
    size = len(next(iter(signals.values()))) if signals else 0
    fused = np.zeros(size, dtype=np.float64)
    for name, values in signals.items():
        fused += weights.get(name, 0.0) / (k + ranks(values))
    return fused


@dataclass(frozen=True)
class Fused:
    """Stage 2's output: the candidate rows of both sides and one score for each."""

    rows: np.ndarray
    scores: np.ndarray


def fuse_candidates(retriever: Retriever, lexical: LexicalCandidates, dense_rows: np.ndarray,
                    query_vector: np.ndarray | None, dense: DenseIndex, settings: Settings) -> Fused:
    """Stage 2, fusion: one score per candidate for the named retriever. ``lexical`` and ``dense``
    keep their own scores; ``hybrid`` combines both sides over the union of their candidates,
    by z-scores (``settings.fusion == "zscore"``) or reciprocal ranks (``"rrf"``)."""
    if retriever == "lexical" or query_vector is None:
        return Fused(lexical.rows, lexical.scores[lexical.rows])
    if retriever == "dense":
        return Fused(dense_rows, dense.scores_for(query_vector, dense_rows).astype(np.float64))
    rows = np.unique(np.concatenate([lexical.rows, dense_rows]))
    signals = {"lexical": lexical.scores[rows],
               "dense": dense.scores_for(query_vector, rows).astype(np.float64)}
    weights = {"lexical": settings.weight_lexical, "dense": settings.weight_dense}
    if settings.fusion == "rrf":
        return Fused(rows, fuse_rrf(signals, weights, settings.rrf_k))
    return Fused(rows, fuse_zscore(signals, weights))
