"""Comparing runs: paired significance tests on the per-query values ranx computed (``eval.metrics``).

``student`` is the two-sided paired t-test (``scipy.stats.ttest_rel``, what ranx ``compare`` runs
for ``stat_test="student"``); ``fisher`` is the paired randomisation test of Smucker et al.
(CIKM 2007): the signs of the per-query differences are flipped at random, 10,000 times with a fixed
seed, and p = (permutations at least as extreme + 1) / (10,000 + 1).
"""

from __future__ import annotations

import math
from typing import Mapping, Sequence

import numpy as np

TESTS = ("student", "fisher")
PERMUTATIONS = 10_000
SEED = 42


def paired_p_value(reference: Sequence[float], other: Sequence[float], test: str = "student") -> float | None:
    """Two-sided p-value of the paired difference; None when the two are identical on every query."""
    a, b = np.asarray(reference, dtype=np.float64), np.asarray(other, dtype=np.float64)
    differences = a - b
    if len(differences) < 2 or np.allclose(differences, 0.0, atol=1e-12):
        return None
    if test == "student":
        from scipy.stats import ttest_rel

        p_value = float(ttest_rel(a, b, alternative="two-sided").pvalue)
        return None if math.isnan(p_value) else p_value
    if test == "fisher":
        rng = np.random.default_rng(SEED)
        observed = abs(differences.mean())
        extreme = 0
        for start in range(0, PERMUTATIONS, 1000):
            signs = rng.choice((-1.0, 1.0), size=(min(1000, PERMUTATIONS - start), len(differences)))
            extreme += int(np.sum(np.abs(signs @ differences) / len(differences) >= observed - 1e-12))
        return (extreme + 1) / (PERMUTATIONS + 1)
    raise ValueError(f"unknown test {test!r}; choose from {', '.join(TESTS)}")


def significance(per_query: Mapping[str, Mapping[str, Mapping[str, float]]], names: Sequence[str],
                 reference: str, test: str = "student", max_p: float = 0.05) -> dict[str, dict[str, dict]]:
    """``{other retriever: {metric: {"p_value", "significant"}}}`` for each retriever against ``reference``.

    ``per_query`` is ``{retriever: {metric: {query id: value}}}``, paired by query id.
    """
    out: dict[str, dict[str, dict]] = {}
    for other in per_query:
        if other == reference:
            continue
        out[other] = {}
        for name in names:
            queries = list(per_query[reference][name])
            p_value = paired_p_value([per_query[reference][name][q] for q in queries],
                                     [per_query[other][name][q] for q in queries], test)
            out[other][name] = {"p_value": p_value, "significant": p_value is not None and p_value <= max_p}
    return out
