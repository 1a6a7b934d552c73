"""Combining ranked evidence from several signals into one ranking."""

from __future__ import annotations

from typing import Mapping

import numpy as np


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
