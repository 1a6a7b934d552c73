"""Checking and comparing runs: ranx recomputes every metric; paired significance tests.

The significance tests work on the per-query values of ``eval.metrics`` (which agree with ranx):
``student`` is the two-sided paired t-test (``scipy.stats.ttest_rel``, what ranx ``compare`` runs
for ``stat_test="student"``); ``fisher`` is the paired randomisation test of Smucker et al.
(CIKM 2007): the signs of the per-query differences are flipped at random, 10,000 times with a fixed
seed, and p = (permutations at least as extreme + 1) / (10,000 + 1).
"""

from __future__ import annotations

import math
import warnings
from importlib import metadata
from typing import Mapping, Sequence

import numpy as np

from eval.metrics import ranx_name

TESTS = ("student", "fisher")
PERMUTATIONS = 10_000
SEED = 42


def _ranx():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import ranx
    return ranx


def ranx_version() -> str:
    try:
        return metadata.version("ranx")
    except metadata.PackageNotFoundError:
        return "unknown"


def ranx_run(rankings: Mapping[str, Sequence[str]], name: str):
    """A ranx Run whose scores fall strictly with the rank, so no tool can reorder ties."""
    return _ranx().Run.from_dict({qid: {doc: float(len(ids) - i) for i, doc in enumerate(ids)}
                                  for qid, ids in rankings.items() if ids}, name=name)


def ranx_qrels(qrels: Mapping[str, Mapping[str, int]]):
    return _ranx().Qrels.from_dict({qid: dict(docs) for qid, docs in qrels.items()})


def ranx_means(qrels: Mapping[str, Mapping[str, int]], rankings: Mapping[str, Sequence[str]],
               names: Sequence[str]) -> dict[str, float]:
    """ranx's value of each of our ``names`` over the queries of ``qrels`` (``success@k`` = ``hit_rate@k``).

    The data go to ``ranx.evaluate`` in ranx's own low-level form (a numba typed List per side, one
    ``[id, score]`` array per query: judgments by relevance, results by rank), which skips the JIT
    compilation of ranx's typed dictionaries (tens of seconds per process) and numbers the ids
    exactly instead of by hash. The tests check this path against ``Qrels``/``Run``.
    """
    ranx = _ranx()
    from numba.typed import List

    numbers: dict[str, float] = {}

    def number(doc: str) -> float:
        return numbers.setdefault(doc, float(len(numbers) + 1))

    judged, ranked = List(), List()
    for qid, docs in qrels.items():
        rows = sorted(((number(d), float(g)) for d, g in docs.items()), key=lambda row: -row[1])
        judged.append(np.array(rows, dtype=np.float64).reshape(-1, 2))
        ids = rankings.get(qid, ())
        ranked.append(np.array([(number(d), float(len(ids) - i)) for i, d in enumerate(ids)],
                               dtype=np.float64).reshape(-1, 2))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # numba's uint64 cast notice
        values = ranx.evaluate(judged, ranked, [ranx_name(n) for n in names])
    if len(names) == 1:
        values = {ranx_name(names[0]): values}
    return {name: float(values[ranx_name(name)]) for name in names}


def ranx_means_public(qrels: Mapping[str, Mapping[str, int]], rankings: Mapping[str, Sequence[str]],
                      names: Sequence[str]) -> dict[str, float]:
    """The same through ranx's documented ``Qrels``/``Run`` objects (slow to start; used by the tests)."""
    ranx = _ranx()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        values = ranx.evaluate(ranx_qrels(qrels), ranx_run(rankings, "run"), [ranx_name(n) for n in names],
                               make_comparable=True)
    if len(names) == 1:
        values = {ranx_name(names[0]): values}
    return {name: float(values[ranx_name(name)]) for name in names}


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
