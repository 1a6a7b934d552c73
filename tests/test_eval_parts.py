"""Parts of the harness an evaluator has to trust: latency accounting, the hit-rule shortcut, TREC files."""

from __future__ import annotations

import random
import time

import pytest
from test_eval_beir import write_beir

from eval import hit_rule, trec
from eval.backends import InProcessBackend, QueryVectorCache
from eval.beir import load_beir
from eval.beir_index import build_beir_index
from eval.runner import run_retriever
from indexer.encoder import HashingEncoder
from retrieval.searcher import Searcher
from indexer.settings import Settings

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


def test_trec_runs_keep_the_ranking_whatever_tools_do_with_ties(tmp_path):
    rankings = {"q1": ["z", "a", "m"], "q2": ["b"], "q3": []}
    trec.write_run(tmp_path / "x.trec", rankings, "hybrid", depth=10)
    lines = (tmp_path / "x.trec").read_text().splitlines()
    assert lines[0] == "q1 Q0 z 1 10 hybrid"
    assert trec.read_run(tmp_path / "x.trec") == {"q1": ["z", "a", "m"], "q2": ["b"]}
    trec.write_qrels(tmp_path / "q.trec", {"q1": {"a": 2, "z": 0}})
    assert (tmp_path / "q.trec").read_text().splitlines() == ["q1 0 a 2", "q1 0 z 0"]
    with pytest.raises(ValueError, match="whitespace"):
        trec.write_run(tmp_path / "y.trec", {"q 1": ["a"]}, "lexical", depth=10)
