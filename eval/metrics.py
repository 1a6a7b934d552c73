"""Ranking metrics per query, written to agree with ranx (and trec_eval) to 1e-6.

A *ranking* is the list of ids a retriever returned, best first; *relevant* maps ids to graded
relevance. As in ranx (``rel_lvl=1``) and trec_eval, a judgment below 1 means "not relevant".
Definitions (``R`` = the ids judged relevant, ``rel(d)`` their grade, ``k`` the cut-off):

- ``ndcg@k``: DCG@k / ideal DCG@k with *linear* gain, DCG = Σ rel(dᵢ) / log2(i + 1) (Järvelin &
  Kekäläinen; ranx ``ndcg``, trec_eval ``ndcg_cut``; not ranx ``ndcg_burges``, which uses 2^rel − 1).
- ``recall@k``: |R ∩ top k| / |R|.
- ``mrr@k``: 1 / rank of the first relevant id in the top k, 0 if none.
- ``map@k``: average precision, Σ precision@i over relevant positions i ≤ k, divided by |R|.
- ``success@k`` (hit rate): 1 when any relevant id is in the top k, else 0.

A query without relevant ids scores 0 on every metric (ranx does the same); the harness leaves
such queries out of the averages and says how many there were.
"""

from __future__ import annotations

import math
import re
from typing import Callable, Mapping, Sequence

Ranking = Sequence[str]
Relevant = Mapping[str, float]

#: Metric families and the ranx name of each (for verification and significance tests).
RANX_NAMES = {"ndcg": "ndcg", "recall": "recall", "mrr": "mrr", "map": "map", "success": "hit_rate"}
_NAME = re.compile(r"^(ndcg|recall|mrr|map|success)@([1-9][0-9]*)$")


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


def _judged(relevant: Relevant) -> dict[str, float]:
    return {doc: float(rel) for doc, rel in relevant.items() if rel >= 1}


def first_relevant_rank(ranking: Ranking, relevant: Relevant, k: int | None = None) -> int | None:
    """1-based rank of the first relevant id within the top ``k`` (all when None)."""
    judged = _judged(relevant)
    for rank, doc in enumerate(ranking[:k] if k else ranking, start=1):
        if doc in judged:
            return rank
    return None


def ndcg(ranking: Ranking, relevant: Relevant, k: int) -> float:
    judged = _judged(relevant)
    dcg = sum(judged.get(doc, 0.0) / math.log2(i + 1) for i, doc in enumerate(ranking[:k], start=1))
    ideal = sum(rel / math.log2(i + 1) for i, rel in enumerate(sorted(judged.values(), reverse=True)[:k], start=1))
    return dcg / ideal if ideal > 0 else 0.0


def recall(ranking: Ranking, relevant: Relevant, k: int) -> float:
    judged = _judged(relevant)
    return sum(1 for doc in ranking[:k] if doc in judged) / len(judged) if judged else 0.0


def mrr(ranking: Ranking, relevant: Relevant, k: int) -> float:
    rank = first_relevant_rank(ranking, relevant, k)
    return 1.0 / rank if rank else 0.0


def average_precision(ranking: Ranking, relevant: Relevant, k: int) -> float:
    judged = _judged(relevant)
    if not judged:
        return 0.0
    hits, total = 0, 0.0
    for i, doc in enumerate(ranking[:k], start=1):
        if doc in judged:
            hits += 1
            total += hits / i
    return total / len(judged)


def success(ranking: Ranking, relevant: Relevant, k: int) -> float:
    return 1.0 if first_relevant_rank(ranking, relevant, k) else 0.0


FUNCTIONS: dict[str, Callable[[Ranking, Relevant, int], float]] = {
    "ndcg": ndcg, "recall": recall, "mrr": mrr, "map": average_precision, "success": success,
}


def score(name: str, ranking: Ranking, relevant: Relevant) -> float:
    family, k = parse_metric(name)
    return FUNCTIONS[family](ranking, relevant, k)


def per_query(names: Sequence[str], runs: Mapping[str, Ranking],
              qrels: Mapping[str, Relevant]) -> dict[str, dict[str, float]]:
    """``{metric: {query id: value}}`` for every query in ``qrels`` (a missing ranking is empty)."""
    return {name: {qid: score(name, runs.get(qid, ()), relevant) for qid, relevant in qrels.items()}
            for name in names}


def mean(values: Mapping[str, float]) -> float:
    return math.fsum(values.values()) / len(values) if values else 0.0


def evaluate(names: Sequence[str], runs: Mapping[str, Ranking], qrels: Mapping[str, Relevant]) -> dict[str, float]:
    """Mean of each metric over the queries in ``qrels``."""
    return {name: mean(values) for name, values in per_query(names, runs, qrels).items()}


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile (numpy's default), ``q`` in 0–100."""
    if not values:
        return 0.0
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def latency_summary(values_ms: Sequence[float]) -> dict[str, float]:
    return {
        "latency_p50_ms": round(percentile(values_ms, 50), 3),
        "latency_p95_ms": round(percentile(values_ms, 95), 3),
        "latency_p99_ms": round(percentile(values_ms, 99), 3),
        "latency_mean_ms": round(math.fsum(values_ms) / len(values_ms), 3) if values_ms else 0.0,
    }
