"""The metrics come from ranx; here they are checked against plain-Python formulas (the oracles below),
on hand-made cases (ties in scores, empty runs, unjudged queries, grades below 1) and random runs."""

from __future__ import annotations

import itertools
import math
import random
import warnings

import numpy as np
import pytest

from eval import metrics, trec
from eval.compare import significance

NAMES = ["ndcg@10", "ndcg@3", "recall@10", "recall@2", "mrr@10", "mrr@3", "map@10", "map@3",
         "success@1", "success@5"]


# --- oracles: the textbook definitions, on the ranking as given (best first) ----------------------

def _relevant(relevant: dict) -> dict:
    return {doc: grade for doc, grade in relevant.items() if grade >= 1}


def oracle_ndcg(ranking, relevant, k, gain=lambda rel: rel):
    judged = _relevant(relevant)
    dcg = sum(gain(judged.get(doc, 0)) / math.log2(i + 1) for i, doc in enumerate(ranking[:k], start=1))
    ideal = sum(gain(rel) / math.log2(i + 1)
                for i, rel in enumerate(sorted(judged.values(), reverse=True)[:k], start=1))
    return dcg / ideal if ideal else 0.0


def oracle_recall(ranking, relevant, k):
    judged = _relevant(relevant)
    return len(set(ranking[:k]) & set(judged)) / len(judged) if judged else 0.0


def oracle_mrr(ranking, relevant, k):
    judged = _relevant(relevant)
    return next((1 / i for i, doc in enumerate(ranking[:k], start=1) if doc in judged), 0.0)


def oracle_map(ranking, relevant, k):
    judged = _relevant(relevant)
    if not judged:
        return 0.0
    hits, total = 0, 0.0
    for i, doc in enumerate(ranking[:k], start=1):
        if doc in judged:
            hits += 1
            total += hits / i
    return total / len(judged)


def oracle_success(ranking, relevant, k):
    return 1.0 if any(doc in _relevant(relevant) for doc in ranking[:k]) else 0.0


ORACLES = {"ndcg": oracle_ndcg, "recall": oracle_recall, "mrr": oracle_mrr, "map": oracle_map,
           "success": oracle_success}


def oracle(name: str, ranking, relevant) -> float:
    family, k = metrics.parse_metric(name)
    return ORACLES[family](list(ranking), relevant, k)


def assert_equal_to_oracles(rankings, qrels, scores=None, names=NAMES):
    scored = metrics.score_run(names, rankings, qrels, scores)
    for name in names:
        assert set(scored.per_query[name]) == set(qrels), name
        for qid, relevant in qrels.items():
            expected = oracle(name, rankings.get(qid, ()), relevant)
            assert scored.per_query[name][qid] == pytest.approx(expected, abs=1e-9), (name, qid)
        expected_mean = sum(oracle(name, rankings.get(q, ()), r) for q, r in qrels.items()) / len(qrels)
        assert scored.means[name] == pytest.approx(expected_mean, abs=1e-9), name
    return scored


# --- hand-made cases ------------------------------------------------------------------------------

def small_dataset() -> tuple[dict, dict, dict]:
    """Binary and graded judgments, relevance-0 and negative judgments, a query whose relevant documents
    are never retrieved, an empty ranking, a missing ranking, a ranking shorter than k, more relevant
    than k, an unjudged query (nothing ≥ 1), and the retriever's scores with ties."""
    qrels = {
        "binary": {"d1": 1, "d4": 1},
        "graded": {"d2": 3, "d5": 1, "d7": 2},
        "with-zero": {"d3": 0, "d6": 1},
        "negative": {"d1": -1, "d2": 1},
        "never-found": {"d9": 1},
        "empty-run": {"d1": 1},
        "missing-run": {"d1": 1},
        "short-run": {"d8": 2},
        "many-relevant": {f"d{i}": 1 for i in range(1, 13)},
        "unjudged": {"d1": 0, "d2": 0},
        "ties": {"z": 1, "b": 1},
    }
    runs = {
        "binary": ["d4", "d2", "d1", "d3"],
        "graded": ["d7", "d1", "d5", "d2", "d3", "d4", "d6", "d8", "d9", "d10", "d11"],
        "with-zero": ["d3", "d6"],
        "negative": ["d1", "d2"],
        "never-found": ["d1", "d2", "d3", "d4", "d5"],
        "empty-run": [],
        "short-run": ["d1", "d8"],
        "many-relevant": [f"d{i}" for i in range(12, 0, -1)],
        "unjudged": ["d1", "d2"],
        "ties": ["y", "x", "z", "a", "b"],  # all tied: id order (or any sort) would put z elsewhere
        "not-in-qrels": ["d1"],
    }
    scores = {qid: [round(10.0 - i, 6) for i in range(len(ids))] for qid, ids in runs.items()}
    scores["ties"] = [2.5, 2.5, 2.5, 2.5, 2.5]
    scores["binary"] = [3.0, 3.0, 1.5, 1.5]
    return qrels, runs, scores


def test_metrics_equal_the_formulas_on_hand_made_cases():
    qrels, runs, scores = small_dataset()
    assert_equal_to_oracles(runs, qrels, scores)
    assert_equal_to_oracles(runs, qrels)  # no scores: the ranks stand in


def test_per_query_values_are_the_textbook_numbers():
    qrels, runs, scores = small_dataset()
    values = metrics.per_query(NAMES, runs, qrels, scores)
    # binary: relevant d4 at rank 1 and d1 at rank 3 (d4 and d2 tie, d1 and d3 tie)
    assert values["ndcg@10"]["binary"] == pytest.approx((1 + 1 / math.log2(4)) / (1 + 1 / math.log2(3)))
    assert values["map@10"]["binary"] == pytest.approx((1 / 1 + 2 / 3) / 2)
    assert values["recall@2"]["binary"] == 0.5
    # graded, linear gain: d7 (2) at 1, d5 (1) at 3, d2 (3) at 4; ideal 3, 2, 1
    dcg = 2 + 1 / math.log2(4) + 3 / math.log2(5)
    ideal = 3 + 2 / math.log2(3) + 1 / math.log2(4)
    assert values["ndcg@10"]["graded"] == pytest.approx(dcg / ideal)
    # a relevance-0 judgment is not relevant: first relevant is d6 at rank 2; a negative grade neither
    assert values["mrr@10"]["with-zero"] == 0.5
    assert values["success@1"]["with-zero"] == 0.0
    assert values["ndcg@10"]["negative"] == pytest.approx(1 / math.log2(3))
    for name in NAMES:
        assert values[name]["never-found"] == 0.0
        assert values[name]["empty-run"] == 0.0
        assert values[name]["missing-run"] == 0.0
        assert values[name]["unjudged"] == 0.0
    # more relevant documents than k: recall@10 is 10 / 12, MAP@10 divides by all 12
    assert values["recall@10"]["many-relevant"] == pytest.approx(10 / 12)
    assert values["map@10"]["many-relevant"] == pytest.approx(10 / 12)
    # five tied scores: the order is the retriever's, z at rank 3 and b at rank 5
    assert values["mrr@10"]["ties"] == pytest.approx(1 / 3)
    assert values["success@1"]["ties"] == 0.0
    assert values["map@10"]["ties"] == pytest.approx((1 / 3 + 2 / 5) / 2)
    assert "not-in-qrels" not in values["mrr@10"]


def test_ties_and_rising_scores_never_reorder_a_ranking():
    """ranx sorts by score (not stably: 60 tied results come back in another order); whatever the
    scores, it must score the order the retriever returned."""
    qrels = {f"q{i}": {"r": 1} for i in range(30)}
    rng = random.Random(3)
    rankings, scores = {}, {}
    for i, qid in enumerate(qrels):
        ids = [f"n{j:02d}" for j in range(59)]
        ids.insert(i % 10, "r")
        rankings[qid] = ids
        if i % 2:
            scores[qid] = [1.0] * len(ids)  # a deep run of ties
        else:
            scores[qid] = [rng.choice([1.0, 0.5]) for _ in ids]  # ties, and scores that rise
    values = metrics.per_query(["mrr@10"], rankings, qrels, scores)["mrr@10"]
    assert values == {qid: pytest.approx(1 / (i % 10 + 1)) for i, qid in enumerate(qrels)}


def test_random_runs_with_tied_scores_equal_the_formulas():
    rng = random.Random(7)
    docs = [f"doc-{i}" for i in range(40)]
    qrels, runs, scores = {}, {}, {}
    for q in range(60):
        qrels[f"q{q}"] = {d: rng.choice([-1, 0, 1, 1, 2, 3]) for d in rng.sample(docs, rng.randint(1, 8))}
        runs[f"q{q}"] = rng.sample(docs, rng.randint(0, 15))
        scores[f"q{q}"] = sorted((rng.choice([0.5, 0.25, 0.125, 0.1]) for _ in runs[f"q{q}"]), reverse=True)
    assert_equal_to_oracles(runs, qrels, scores)


def test_an_id_returned_twice_counts_at_its_first_rank():
    qrels = {"q": {"a": 1}}
    assert metrics.per_query(["mrr@10"], {"q": ["b", "a", "a"]}, qrels)["mrr@10"]["q"] == 0.5


def test_no_result_or_no_relevant_id_anywhere_scores_zero():
    assert metrics.evaluate(NAMES, {"q": []}, {"q": {"a": 1}}) == {name: 0.0 for name in NAMES}
    assert metrics.evaluate(NAMES, {"q": ["a"]}, {"q": {"a": 0}}) == {name: 0.0 for name in NAMES}
    assert metrics.per_query(["mrr@10"], {}, {"q": {}}) == {"mrr@10": {"q": 0.0}}


def test_ids_of_any_length_give_the_same_values():
    """The ids reach ranx as fixed-width numbers; the values cannot depend on the names."""
    qrels = {"q": {"a-very-long-passage-id#17": 2, "b": 1}}
    long = metrics.per_query(NAMES, {"q": ["x", "b", "a-very-long-passage-id#17"]}, qrels)
    short = metrics.per_query(NAMES, {"q": ["x", "b", "a"]}, {"q": {"a": 2, "b": 1}})
    assert long == short


def test_ndcg_is_linear_gain_not_burges():
    qrels, runs = {"q": {"a": 3, "b": 1}}, {"q": ["b", "a"]}
    value = metrics.evaluate(["ndcg@10"], runs, qrels)["ndcg@10"]
    assert value == pytest.approx(oracle_ndcg(["b", "a"], qrels["q"], 10), abs=1e-9)
    burges = oracle_ndcg(["b", "a"], qrels["q"], 10, gain=lambda rel: 2 ** rel - 1)
    assert abs(value - burges) > 0.01


def test_metric_names_are_checked():
    assert metrics.parse_metric("nDCG@10") == ("ndcg", 10)
    assert metrics.ranx_name("success@5") == "hit_rate@5"
    for bad in ("ndcg", "ndcg@0", "precision@5", "recall@-1"):
        with pytest.raises(metrics.MetricError):
            metrics.parse_metric(bad)
    with pytest.raises(metrics.MetricError):
        metrics.evaluate(["precision@5"], {"q": ["a"]}, {"q": {"a": 1}})


# --- the scores ranx and the TREC files get -------------------------------------------------------

def test_falling_scores_keep_the_retrievers_scores_and_nudge_only_ties():
    assert trec.falling_scores([3.5, 2.25, 1.0]) == [3.5, 2.25, 1.0]
    assert trec.falling_scores([0.5, 0.5, 0.5, 0.4]) == [0.5, 0.499999999, 0.499999998, 0.4]
    assert trec.falling_scores([1.0, 2.0]) == [1.0, 0.999999999]  # a rise is lowered too
    assert trec.falling_scores([]) == []
    huge = trec.falling_scores([1e12, 1e12])
    assert huge[1] < huge[0]
    with pytest.raises(ValueError, match="finite"):
        trec.falling_scores([1.0, float("nan")])


def test_a_hundred_ties_stay_above_the_next_score():
    rng = random.Random(1)
    for _ in range(200):
        values = sorted((round(rng.choice([0.5, 0.3, 0.100001, 0.1]), 6) for _ in range(100)), reverse=True)
        written = trec.falling_scores(values)
        assert all(a > b for a, b in itertools.pairwise(written))
        assert all(abs(w - v) < 1e-6 for w, v in zip(written, values))


def test_latency_percentiles_are_numpys():
    values = [random.Random(3).uniform(1, 100) for _ in range(101)] + [5.0, 5.0, 400.0]
    summary = metrics.latency_summary(values)
    assert summary["latency_p50_ms"] == pytest.approx(np.percentile(values, 50), abs=1e-3)
    assert summary["latency_p95_ms"] == pytest.approx(np.percentile(values, 95), abs=1e-3)
    assert summary["latency_p99_ms"] == pytest.approx(np.percentile(values, 99), abs=1e-3)
    assert summary["latency_mean_ms"] == pytest.approx(np.mean(values), abs=1e-3)
    assert metrics.latency_summary([])["latency_p95_ms"] == 0.0


# --- significance ---------------------------------------------------------------------------------

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
        report = ranx.compare(metrics.ranx_qrels(qrels), [metrics.ranx_run(runs[n], n) for n in runs],
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
