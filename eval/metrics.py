"""Ranking metrics, per query and averaged, computed by ranx (``Qrels``, ``Run``, ``evaluate``).

A *ranking* is the list of ids a retriever returned, best first, with the retriever's scores;
*relevant* maps ids to graded relevance. ranx computes every value; this module only names the
metrics and hands ranx the rankings exactly as the retriever ordered them. What ranx computes
(``R`` = the ids judged relevant, ``rel(d)`` their grade, ``k`` the cut-off):

- ``ndcg@k`` (ranx ``ndcg``): DCG@k / ideal DCG@k with *linear* gain, DCG = Σ rel(dᵢ) / log2(i + 1)
  (Järvelin & Kekäläinen; trec_eval ``ndcg_cut``; not ranx ``ndcg_burges``, which uses 2^rel − 1).
- ``recall@k`` (ranx ``recall``): |R ∩ top k| / |R|.
- ``mrr@k`` (ranx ``mrr``): 1 / rank of the first relevant id in the top k, 0 if none.
- ``map@k`` (ranx ``map``): Σ precision@i over relevant positions i ≤ k, divided by |R|.
- ``success@k`` (ranx ``hit_rate``): 1 when any relevant id is in the top k, else 0.

What is handed to ranx, and why:

- Relevance: a judgment below 1 means "not relevant" (ranx ``rel_lvl=1``, trec_eval). Such
  judgments are left out of the ranx ``Qrels`` (they add nothing to any metric above), so a
  negative grade can never count as a negative gain.
- Order: ranx orders a query's results by score, and breaks ties arbitrarily. It gets the
  retriever's own scores made strictly falling in rank order (``eval.trec.falling_scores``: a tied
  score is nudged 1e-9 below the one before it), so the ranking ranx scores is exactly the order the
  retriever returned; without scores, ranks stand in (``n, n − 1, …``). An id returned twice counts
  at its first rank.
- Empty rankings and queries: every query of ``qrels`` gets a value; a query with no result (or
  missing from the rankings) is an empty ranx run entry and scores 0. A query without relevant ids
  also scores 0 on every metric (as in ranx); the harness leaves such queries out of the averages
  and reports how many there were. When no query has a result or none has a relevant id at all,
  every value is 0 without calling ranx (its ``from_dict`` cannot build an object with no ids).
- Ids: ranx builds its numba dictionaries from numpy string arrays whose width is the longest id,
  and numba compiles its loaders again for every new width (about 15 s each, then cached). The ids
  are therefore handed over as fixed-width numbers, the same number for the same id in qrels and
  run; ranx never needs the names to compute a metric.

The per-query values and the means are both ranx's: ``evaluate(..., return_mean=False)`` stores
them in the ``Run`` (``run.scores``, ``run.mean_scores``).
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from importlib import metadata
from typing import Mapping, Sequence

import numpy as np

from eval.trec import falling_scores

Ranking = Sequence[str]
Relevant = Mapping[str, float]

#: Metric families and the ranx name of each.
RANX_NAMES = {"ndcg": "ndcg", "recall": "recall", "mrr": "mrr", "map": "map", "success": "hit_rate"}
_NAME = re.compile(r"^(ndcg|recall|mrr|map|success)@([1-9][0-9]*)$")
_ID_WIDTH = 12  # digits of the numbers ranx gets as ids: a constant width, compiled once


class MetricError(ValueError):
    """A metric name this module does not know."""


def parse_metric(name: str) -> tuple[str, int]:
    """``"ndcg@10"`` → ``("ndcg", 10)``; MetricError for anything else."""
    match = _NAME.match(name.strip().lower())
    if match is None:
        raise MetricError(f"unknown metric {name!r}: use one of ndcg@K, recall@K, mrr@K, map@K, success@K")
    return match.group(1), int(match.group(2))


def ranx_name(name: str) -> str:
    family, k = parse_metric(name)
    return f"{RANX_NAMES[family]}@{k}"


def ranx():
    """The ranx module. Imported on first use: it loads numba and takes a second or two, which
    ``python -m eval --help`` and an invalid option should not wait for."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import ranx as module
    return module


def ranx_version() -> str:
    try:
        return metadata.version("ranx")
    except metadata.PackageNotFoundError:
        return "unknown"


def relevant_ids(relevant: Relevant) -> dict[str, int]:
    """The judgments that count: grade ≥ 1."""
    return {doc: int(grade) for doc, grade in relevant.items() if grade >= 1}


def first_relevant_rank(ranking: Ranking, relevant: Relevant, k: int | None = None) -> int | None:
    """1-based rank of the first relevant id within the top ``k`` (all when None); for reports."""
    judged = relevant_ids(relevant)
    for rank, doc in enumerate(ranking[:k] if k else ranking, start=1):
        if doc in judged:
            return rank
    return None


def ranked_scores(ranking: Ranking, scores: Sequence[float] | None = None) -> dict[str, float]:
    """``{id: score}`` in rank order, scores strictly falling so that sorting by score keeps the order."""
    values = falling_scores(scores if scores is not None else [float(len(ranking) - i) for i in range(len(ranking))])
    if len(values) != len(ranking):
        raise ValueError(f"{len(ranking)} ids but {len(values)} scores")
    out: dict[str, float] = {}
    for doc, value in zip(ranking, values):
        out.setdefault(doc, value)  # an id returned twice counts at its first rank
    return out


def ranx_qrels(qrels: Mapping[str, Relevant]):
    """A ranx ``Qrels`` of the relevant judgments (grade ≥ 1), ids as given."""
    return ranx().Qrels.from_dict({qid: relevant_ids(docs) for qid, docs in qrels.items()})


def ranx_run(rankings: Mapping[str, Ranking], name: str = "run",
             scores: Mapping[str, Sequence[float]] | None = None):
    """A ranx ``Run`` whose scores keep every ranking in the order given (see ``ranked_scores``), ids as given."""
    return ranx().Run.from_dict({qid: ranked_scores(ids, None if scores is None else scores.get(qid))
                                 for qid, ids in rankings.items()}, name=name)


@dataclass
class Scores:
    per_query: dict[str, dict[str, float]]  # {metric: {query id: value}}, every query of the qrels
    means: dict[str, float]  # {metric: mean over every query of the qrels}


def score_run(names: Sequence[str], rankings: Mapping[str, Ranking], qrels: Mapping[str, Relevant],
              scores: Mapping[str, Sequence[float]] | None = None) -> Scores:
    """Every metric of ``names`` for every query in ``qrels``, per query and averaged, by ranx.

    ``rankings``: ``{query id: ids best first}`` (a missing query has no result); ``scores``: the
    retriever's scores of those ids, in the same order (None: the ranks stand in).
    """
    names = list(names)
    for name in names:
        parse_metric(name)
    number: dict[str, str] = {}

    def token(doc: str) -> str:
        return number.setdefault(doc, str(len(number) + 1).zfill(_ID_WIDTH))

    judged = {qid: {token(doc): grade for doc, grade in relevant_ids(docs).items()} for qid, docs in qrels.items()}
    run = {}
    for qid in qrels:
        ranked = ranked_scores(rankings.get(qid, ()), None if scores is None else scores.get(qid, ()))
        run[qid] = {token(doc): value for doc, value in ranked.items()}
    if not any(judged.values()) or not any(run.values()):
        zero = {name: {qid: 0.0 for qid in qrels} for name in names}
        return Scores(zero, {name: 0.0 for name in names})
    module = ranx()
    run_object = module.Run.from_dict(run, name="run")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # numba's notices
        module.evaluate(module.Qrels.from_dict(judged), run_object, [ranx_name(n) for n in names],
                        return_mean=False, save_results_in_run=True)
    per_query = {name: {qid: float(run_object.scores[ranx_name(name)][qid]) for qid in qrels} for name in names}
    means = {name: float(run_object.mean_scores[ranx_name(name)]) for name in names}
    return Scores(per_query, means)


def per_query(names: Sequence[str], rankings: Mapping[str, Ranking], qrels: Mapping[str, Relevant],
              scores: Mapping[str, Sequence[float]] | None = None) -> dict[str, dict[str, float]]:
    """``{metric: {query id: value}}`` for every query in ``qrels`` (a missing ranking is empty)."""
    return score_run(names, rankings, qrels, scores).per_query


def evaluate(names: Sequence[str], rankings: Mapping[str, Ranking], qrels: Mapping[str, Relevant],
             scores: Mapping[str, Sequence[float]] | None = None) -> dict[str, float]:
    """Mean of each metric over the queries in ``qrels``."""
    return score_run(names, rankings, qrels, scores).means


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile (numpy's default), ``q`` in 0–100; 0 for no values."""
    return float(np.percentile(values, q)) if len(values) else 0.0


def latency_summary(values_ms: Sequence[float]) -> dict[str, float]:
    return {
        "latency_p50_ms": round(percentile(values_ms, 50), 3),
        "latency_p95_ms": round(percentile(values_ms, 95), 3),
        "latency_p99_ms": round(percentile(values_ms, 99), 3),
        "latency_mean_ms": round(float(np.mean(values_ms)), 3) if len(values_ms) else 0.0,
    }
