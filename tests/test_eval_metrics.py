"""Our metric code against ranx (the reference) and against formulas checkable by hand."""

from __future__ import annotations

import math
import random
import warnings

import numpy as np
import pytest

from eval import metrics
from eval.compare import ranx_means, ranx_means_public, ranx_qrels, ranx_run, significance

NAMES = ["ndcg@10", "ndcg@3", "recall@10", "recall@2", "mrr@10", "mrr@3", "map@10", "map@3",
         "success@1", "success@5"]


def small_dataset() -> tuple[dict, dict]:
    """Binary and graded judgments, a relevance-0 judgment, a query whose relevant documents are
    never retrieved, an empty ranking, a ranking shorter than k, and more relevant than k."""
    qrels = {
        "binary": {"d1": 1, "d4": 1},
        "graded": {"d2": 3, "d5": 1, "d7": 2},
        "with-zero": {"d3": 0, "d6": 1},
        "never-found": {"d9": 1},
        "empty-run": {"d1": 1},
        "short-run": {"d8": 2},
        "many-relevant": {f"d{i}": 1 for i in range(1, 13)},
    }
    runs = {
        "binary": ["d4", "d2", "d1", "d3"],
        "graded": ["d7", "d1", "d5", "d2", "d3", "d4", "d6", "d8", "d9", "d10", "d11"],
        "with-zero": ["d3", "d6"],
        "never-found": ["d1", "d2", "d3", "d4", "d5"],
        "empty-run": [],
        "short-run": ["d1", "d8"],
        "many-relevant": [f"d{i}" for i in range(12, 0, -1)],
    }
    return qrels, runs


def test_metrics_agree_with_ranx_to_1e_6():
    qrels, runs = small_dataset()
    ours = metrics.evaluate(NAMES, runs, qrels)
    reference = ranx_means_public(qrels, runs, NAMES)  # ranx's documented Qrels / Run / evaluate
    for name in NAMES:
        assert ours[name] == pytest.approx(reference[name], abs=1e-6), name


def test_the_harness_cross_check_equals_ranx_public_api():
    qrels, runs = small_dataset()
    fast, public = ranx_means(qrels, runs, NAMES), ranx_means_public(qrels, runs, NAMES)
    for name in NAMES:
        assert fast[name] == pytest.approx(public[name], abs=1e-12), name


def test_metrics_agree_with_ranx_on_random_runs():
    rng = random.Random(7)
    docs = [f"doc-{i}" for i in range(40)]
    qrels, runs = {}, {}
    for q in range(60):
        qrels[f"q{q}"] = {d: rng.choice([0, 1, 1, 2, 3]) for d in rng.sample(docs, rng.randint(1, 8))}
        runs[f"q{q}"] = rng.sample(docs, rng.randint(0, 15))
    ours = metrics.evaluate(NAMES, runs, qrels)
    reference = ranx_means_public(qrels, runs, NAMES)
    for name in NAMES:
        assert ours[name] == pytest.approx(reference[name], abs=1e-6), name


def test_per_query_values_are_the_textbook_formulas():
    qrels, runs = small_dataset()
    values = metrics.per_query(NAMES, runs, qrels)
    # binary: relevant d4 at rank 1 and d1 at rank 3
    assert values["ndcg@10"]["binary"] == pytest.approx((1 + 1 / math.log2(4)) / (1 + 1 / math.log2(3)))
    assert values["map@10"]["binary"] == pytest.approx((1 / 1 + 2 / 3) / 2)
    assert values["recall@2"]["binary"] == 0.5
    # graded, linear gain: d7 (2) at 1, d5 (1) at 3, d2 (3) at 4; ideal 3, 2, 1
    dcg = 2 + 1 / math.log2(4) + 3 / math.log2(5)
    ideal = 3 + 2 / math.log2(3) + 1 / math.log2(4)
    assert values["ndcg@10"]["graded"] == pytest.approx(dcg / ideal)
    # a relevance-0 judgment is not relevant: first relevant is d6 at rank 2
    assert values["mrr@10"]["with-zero"] == 0.5
    assert values["success@1"]["with-zero"] == 0.0
    for name in NAMES:
        assert values[name]["never-found"] == 0.0
        assert values[name]["empty-run"] == 0.0
    # more relevant documents than k: recall@10 is 10 / 12, MAP@10 divides by all 12
    assert values["recall@10"]["many-relevant"] == pytest.approx(10 / 12)
    assert values["map@10"]["many-relevant"] == pytest.approx(10 / 12)


def test_ndcg_is_linear_gain_not_burges():
    import ranx

    qrels, runs = {"q": {"a": 3, "b": 1}}, {"q": ["b", "a"]}
    ours = metrics.evaluate(["ndcg@10"], runs, qrels)["ndcg@10"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run = ranx.Run.from_dict({"q": {"b": 2.0, "a": 1.0}})
        linear = ranx.evaluate(ranx.Qrels.from_dict(qrels), run, "ndcg@10")
        burges = ranx.evaluate(ranx.Qrels.from_dict(qrels), run, "ndcg_burges@10")
    assert ours == pytest.approx(linear, abs=1e-9)
    assert abs(ours - burges) > 0.01


def test_metric_names_are_checked():
    assert metrics.parse_metric("nDCG@10") == ("ndcg", 10)
    assert metrics.ranx_name("success@5") == "hit_rate@5"
    for bad in ("ndcg", "ndcg@0", "precision@5", "recall@-1"):
        with pytest.raises(metrics.MetricError):
            metrics.parse_metric(bad)


def test_latency_percentiles_match_numpy():
    values = [random.Random(3).uniform(1, 100) for _ in range(101)] + [5.0, 5.0, 400.0]
    summary = metrics.latency_summary(values)
    assert summary["latency_p50_ms"] == pytest.approx(np.percentile(values, 50), abs=1e-3)
    assert summary["latency_p95_ms"] == pytest.approx(np.percentile(values, 95), abs=1e-3)
    assert summary["latency_p99_ms"] == pytest.approx(np.percentile(values, 99), abs=1e-3)
    assert summary["latency_mean_ms"] == pytest.approx(np.mean(values), abs=1e-3)


def _ranked(rng: random.Random, docs: list[str], good: str, skill: float) -> list[str]:
    ranking = rng.sample(docs, 8)
    if rng.random() < skill:
        ranking.insert(rng.randint(0, 2), good)
    return ranking


def test_paired_t_test_equals_ranx_compare():
    import ranx

    rng = random.Random(11)
    docs = [f"x{i}" for i in range(20)]
    qrels = {f"q{i}": {"good": 1} for i in range(40)}
    runs = {name: {q: _ranked(rng, docs, "good", skill) for q in qrels}
            for name, skill in (("strong", 0.9), ("weak", 0.4), ("middle", 0.7))}
    names = ["ndcg@10", "mrr@10", "success@1"]
    per_query = {name: metrics.per_query(names, run, qrels) for name, run in runs.items()}
    ours = significance(per_query, names, reference="strong", test="student")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = ranx.compare(ranx_qrels(qrels), [ranx_run(runs[n], n) for n in runs],
                              [metrics.ranx_name(n) for n in names], stat_test="student", max_p=0.05)
    for other in ("weak", "middle"):
        for name in names:
            expected = report.comparisons[frozenset(["strong", other])][metrics.ranx_name(name)]["p_value"]
            assert ours[other][name]["p_value"] == pytest.approx(expected, rel=1e-9, abs=1e-12)
    assert ours["weak"]["mrr@10"]["significant"]


def test_randomisation_test_separates_clear_differences_from_none():
    qrels = {f"q{i}": {"good": 1} for i in range(30)}
    perfect = {q: ["good", "x"] for q in qrels}
    mostly = {q: (["x", "good"] if i % 3 == 0 else ["good", "x"]) for i, q in enumerate(qrels)}
    names = ["mrr@10"]
    per_query = {name: metrics.per_query(names, run, qrels)
                 for name, run in (("perfect", perfect), ("mostly", mostly), ("same", dict(perfect)))}
    result = significance(per_query, names, reference="perfect", test="fisher")
    assert result["mostly"]["mrr@10"]["p_value"] < 0.01
    assert result["mostly"]["mrr@10"]["significant"]
    assert result["same"]["mrr@10"] == {"p_value": None, "significant": False}
