"""Fast paths checked against brute force: BM25 against the formula, FAISS against numpy
(the whole lexical score, all fields together, is in test_lexical_oracle.py)."""

import numpy as np
from scipy import sparse
from test_lexical_oracle import bm25_all

from indexer.bm25 import BM25Field, TermMap, WordBags
from indexer.dense import DenseIndex
from retrieval.fusion import fuse_rrf, fuse_zscore


def test_bm25_matches_the_formula(tmp_path):
    docs = [["peer", "støt", "støt"], ["recovery", "peer"], ["wrap", "forløb", "recovery", "x", "y"], ["z"]]
    words = sorted({w for doc in docs for w in doc})
    column = {w: i for i, w in enumerate(words)}
    rows = [r for r, doc in enumerate(docs) for _ in doc]
    bags = sparse.csr_matrix((np.ones(len(rows)), (rows, [column[w] for doc in docs for w in doc])),
                             shape=(len(docs), len(words)))  # duplicates add up: "støt" twice
    terms = TermMap.build(words, np.arange(len(words)), np.arange(len(words)), np.ones(len(words)), len(words))
    field = BM25Field.build(WordBags(bags.tocsc()), terms, [len(doc) for doc in docs], k1=1.5, b=0.6)
    query = dict.fromkeys(["peer", "recovery", "unknown"], 1.0)
    np.testing.assert_allclose(field.scores(query), bm25_all(docs, query, 1.5, 0.6), atol=1e-12)
    field.save(tmp_path, "f")
    again = BM25Field.load(tmp_path, "f", field.bags, terms, k1=1.5, b=0.6)
    np.testing.assert_allclose(again.scores({"peer": 1.0}), field.scores({"peer": 1.0}))


def test_faiss_top_matches_numpy_brute_force():
    rng = np.random.default_rng(7)
    vectors = rng.normal(size=(300, 32)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    index = DenseIndex.build(vectors)
    for query in vectors[:5] + 0.1:
        ids, scores = index.top(query, 17)
        expected = np.argsort(-(vectors @ query))[:17]
        assert list(ids) == list(expected)
        np.testing.assert_allclose(scores, (vectors @ query)[expected], rtol=1e-5)
        np.testing.assert_allclose(index.scores_for(query, ids), scores, rtol=1e-5)


def test_fusion_formulas():
    fused = fuse_rrf({"a": np.array([3.0, 1.0]), "b": np.array([0.0, 2.0])}, {"a": 1.0, "b": 0.5}, k=60)
    assert fused[0] == 1 / (60 + 1) + 0.5 / (60 + 2)
    assert fused[1] == 1 / (60 + 2) + 0.5 / (60 + 1)
    z = fuse_zscore({"a": np.array([1.0, 3.0]), "b": np.array([5.0, 5.0])}, {"a": 2.0, "b": 1.0})
    np.testing.assert_allclose(z, [-2.0, 2.0])


def test_above_the_exact_limit_the_dense_index_is_an_hnsw_graph_close_to_exact_search(tmp_path):
    rng = np.random.default_rng(3)
    centres = rng.normal(size=(20, 32))
    vectors = (centres[rng.integers(0, 20, 2000)] + 0.3 * rng.normal(size=(2000, 32))).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    index = DenseIndex.build(vectors, exact_max=1000, m=16, ef_construction=64, ef_search=128)
    assert index.approximate and not DenseIndex.build(vectors, exact_max=5000).approximate
    found = 0
    for query in vectors[:50] + 0.05:
        ids, scores = index.top(query, 10)
        exact = index.exact_top(query, 10)
        assert list(exact) == list(np.argsort(-(vectors @ query))[:10])
        found += len(set(ids) & set(exact))
        np.testing.assert_allclose(index.scores_for(query, ids), scores, rtol=1e-5)  # the stored vectors, exact
    assert found / 500 >= 0.95
    index.save(tmp_path)
    assert DenseIndex.load(tmp_path).approximate
