"""Parts of the harness an evaluator has to trust: latency accounting, the hit-rule shortcut, scores and
TREC files, pooled judgments."""

from __future__ import annotations

import random
import time
import warnings

import pytest
from test_eval_beir import write_beir

from eval import hit_rule, span_eval, trec
from eval.backends import InProcessBackend, QueryVectorCache
from eval.beir import load_beir
from eval.beir_index import build_beir_index
from eval.questions import Question
from eval.runner import QueryRun, RetrieverRun, run_retriever
from indexer.encoder import HashingEncoder
from indexer.settings import Settings
from retrieval.searcher import Searcher

ENCODE_SECONDS = 0.03


class SlowEncoder(HashingEncoder):
    """The hashing encoder, but encoding a question takes 30 ms, like a real model."""

    def encode_queries(self, texts):
        time.sleep(ENCODE_SECONDS)
        return super().encode_queries(texts)


def test_every_dense_side_latency_includes_one_encoding(tmp_path):
    dataset = load_beir(write_beir(tmp_path / "mini"))
    settings = Settings(model="hashing:256", index_dir=tmp_path / "index")
    build_beir_index(dataset, settings.index_dir, settings, HashingEncoder(256), progress=False)
    cache = QueryVectorCache(SlowEncoder(256))
    backend = InProcessBackend(Searcher.open(settings, settings.index_dir, encoder=cache), "document", cache)
    queries = [(qid, dataset.queries[qid]) for qid in dataset.qrels]
    runs = {name: run_retriever(backend, queries, name, 10, progress=False) for name in ("dense", "hybrid", "lexical")}
    assert backend.uses_encoder == {"dense": True, "hybrid": True, "lexical": False}
    assert cache.encodings == len(queries) + 2  # each question once, plus the two warm-ups
    # hybrid got every vector ready-made (from the Searcher or the cache) and is charged the encoding
    assert min(runs["hybrid"].latencies()) >= ENCODE_SECONDS * 1000
    assert min(runs["dense"].latencies()) >= ENCODE_SECONDS * 1000
    assert sorted(runs["lexical"].latencies())[len(queries) // 2] < ENCODE_SECONDS * 1000


def _slow_answers(passage: str, evidence: str) -> bool:
    p, e = hit_rule.normalise(passage), hit_rule.normalise(evidence)
    if not e:
        return False
    if e in p:
        return True
    lcs = hit_rule.longest_common_substring(p, e)
    return lcs >= 0.6 * len(e) or (len(p) >= 40 and lcs >= 0.9 * len(p))


def test_the_longest_common_match_is_where_the_substring_is():
    rng = random.Random(3)
    for _ in range(300):
        a = "".join(rng.choice("abc ") for _ in range(rng.randint(0, 30)))
        b = "".join(rng.choice("abc ") for _ in range(rng.randint(0, 30)))
        start_a, start_b, size = hit_rule.longest_common_match(a, b)
        assert a[start_a:start_a + size] == b[start_b:start_b + size]
        assert size == hit_rule.longest_common_substring(a, b)
        assert not any(a[i:i + size + 1] in b for i in range(len(a) - size))  # none longer


def test_the_hit_rule_shortcut_never_changes_an_answer():
    rng = random.Random(5)
    alphabet = "ab c’"
    for _ in range(20_000):
        passage = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 90)))
        start = rng.randint(0, len(passage))
        evidence = passage[start:start + rng.randint(0, 60)]
        if rng.random() < 0.5:
            evidence += "".join(rng.choice("abd ") for _ in range(rng.randint(0, 25)))
        assert hit_rule.answers(passage, evidence) == _slow_answers(passage, evidence), (passage, evidence)


def test_trec_runs_carry_the_scores_and_keep_the_ranking_whatever_tools_do_with_ties(tmp_path):
    rankings = {"q1": ["z", "a", "m", "b"], "q2": ["b"], "q3": []}
    scores = {"q1": [2.5, 2.5, 1.25, 1.25], "q2": [0.75], "q3": []}
    trec.write_run(tmp_path / "x.trec", rankings, scores, "hybrid")
    assert (tmp_path / "x.trec").read_text().splitlines() == [
        "q1 Q0 z 1 2.5 hybrid", "q1 Q0 a 2 2.499999999 hybrid", "q1 Q0 m 3 1.25 hybrid",
        "q1 Q0 b 4 1.249999999 hybrid", "q2 Q0 b 1 0.75 hybrid"]
    assert trec.read_run(tmp_path / "x.trec") == {"q1": ["z", "a", "m", "b"], "q2": ["b"]}
    trec.write_qrels(tmp_path / "q.trec", {"q1": {"a": 2, "z": 0}})
    assert (tmp_path / "q.trec").read_text().splitlines() == ["q1 0 a 2", "q1 0 z 0"]
    with pytest.raises(ValueError, match="whitespace"):
        trec.write_run(tmp_path / "y.trec", {"q 1": ["a"]}, {"q 1": [1.0]}, "lexical")
    with pytest.raises(ValueError, match="2 results but 1 scores"):
        trec.write_run(tmp_path / "y.trec", {"q1": ["a", "b"]}, {"q1": [1.0]}, "lexical")


def test_a_deep_run_of_ties_reads_back_in_order_in_ranx(tmp_path):
    """ranx sorts a query's results by score and reorders ties; the nudged scores leave it nothing to reorder."""
    import ranx

    ids = [f"p{i:03d}" for i in range(100)]
    scores = [0.5] * 60 + [round(0.4 - i / 1000, 6) for i in range(40)]
    trec.write_run(tmp_path / "deep.trec", {"q": ids}, {"q": scores}, "dense")
    assert trec.read_run(tmp_path / "deep.trec") == {"q": ids}
    written = [float(line.split()[4]) for line in (tmp_path / "deep.trec").read_text().splitlines()]
    assert written[60:] == scores[60:]  # scores that do not tie are the retriever's, exactly
    assert all(abs(w - s) < 1e-6 for w, s in zip(written, scores))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run = ranx.Run.from_file(str(tmp_path / "deep.trec"), kind="trec")
    assert list(run.to_dict()["q"]) == ids


def test_the_backend_carries_the_searchers_scores(tmp_path):
    dataset = load_beir(write_beir(tmp_path / "mini"))
    settings = Settings(model="hashing:256", index_dir=tmp_path / "index")
    build_beir_index(dataset, settings.index_dir, settings, HashingEncoder(256), progress=False)
    searcher = Searcher.open(settings, settings.index_dir, encoder=HashingEncoder(256))
    backend = InProcessBackend(searcher, "passage")
    for retriever in ("lexical", "dense", "hybrid"):
        answer = backend.search("Hvad laver en hund i parken?", 100, retriever)
        hits = searcher.search("Hvad laver en hund i parken?", 100, retriever=retriever).hits
        assert answer.ids == tuple(h.passage.id for h in hits)
        assert answer.scores == tuple(h.score for h in hits)
        assert answer.ids and len(set(answer.ids)) == len(answer.ids)
        assert answer.highlights == tuple(hits[0].highlights)  # the top hit's, for highlight accuracy
        run = run_retriever(backend, [("q3", "Hvad laver en hund i parken?")], retriever, 100, progress=False)
        assert run.queries["q3"].highlights == answer.highlights and run.queries["q3"].ids == answer.ids


def _run_of(ranking: list[tuple[str, str]]) -> RetrieverRun:
    run = RetrieverRun("x")
    ids, texts = zip(*ranking)
    run.queries["q"] = QueryRun(ids, tuple(float(len(ids) - i) for i in range(len(ids))), texts, False, 1.0)
    return run


def test_pooled_judgments_stop_at_the_metrics_cut_off():
    """A deeper run must not add judgments (it would change Recall and nDCG at 10)."""
    question = Question("q", "Hvor sejler færgen fra?", ("Færgen sejler fra havnen",))
    filler = [(f"f{i}", f"Tekst nummer {i} om noget andet.") for i in range(12)]
    ranking = [*filler[:3], ("hit", "Færgen sejler fra havnen hver time."), *filler[3:],
               ("late", "Færgen sejler fra havnen hver time.  "), ("deep", "Færgen sejler fra havnen om natten.")]
    qrels, canonical = span_eval.judge_pooled([question], [_run_of(ranking)], depth=10)
    assert qrels == {"q": {"hit": 1}}
    assert canonical["late"] == "hit"  # the same words, beyond the pool: still mapped to one id
    assert span_eval.judge_pooled([question], [_run_of(ranking)], depth=20)[0] == {"q": {"deep": 1, "hit": 1}}
