"""Each stage of the query-time pipeline on its own, and the ``rrf`` fusion end to end.

Stages: candidates (``top_rows``) → fusion (``fuse_rrf`` over the union of both sides'
candidates) → rerank (sentence evidence, hybrid only) → distinct (same text once). Expected
values are written as the formulas, so they can be checked by hand.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pytest

from indexer.dense import DenseIndex
from indexer.lexical import LexicalIndex, LexicalParams
from indexer.settings import Settings
from retrieval.candidates import LexicalCandidates, top_rows
from retrieval.distinct import distinct_positions
from retrieval.evidence import EvidenceRules, PassageTerms, question_words
from retrieval.fusion import Fused, fuse_candidates, fuse_rrf
from retrieval.query import analyse_question
from retrieval.rerank import rerank
from retrieval.searcher import RecentVectors, Searcher

# --- stage 1: candidates -------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(5))
def test_top_rows_equals_a_full_stable_sort_even_with_many_ties(seed: int):
    rng = np.random.default_rng(seed)
    for size in (1, 2, 7, 50, 300):
        scores = rng.integers(0, 4, size).astype(np.float64)  # a handful of values: ties everywhere
        expected = np.argsort(-scores, kind="stable")
        for n in {0, 1, 2, size // 3, size - 1, size, size + 5}:
            assert list(top_rows(scores, n)) == list(expected[:max(n, 0)]), (size, n)


def test_top_rows_breaks_ties_by_row():
    assert list(top_rows(np.array([1.0, 3.0, 1.0, 3.0, 2.0]), 3)) == [1, 3, 4]
    assert list(top_rows(np.array([1.0, 3.0, 1.0, 3.0, 2.0]), 4)) == [1, 3, 4, 0]


# --- stage 2: fusion -----------------------------------------------------------------------------

# Six passages in 3-D; the question vector is (1, 0, 0), so each passage's cosine is its first value.
VECTORS = np.array([[0, 1, 0], [0.6, 0.8, 0], [0.8, 0.6, 0], [0, 0, 1], [1, 0, 0], [-1, 0, 0]], dtype=np.float32)
QUESTION = np.array([1, 0, 0], dtype=np.float32)
LEXICAL = np.array([0.0, 5.0, 3.0, 0.0, 1.0, 0.0])  # lexical score of every passage


def rrf_settings(**changes: float) -> Settings:
    return Settings(fusion="rrf", weight_lexical=1.0, weight_dense=0.25, rrf_k=60).model_copy(update=changes)


def test_rrf_over_the_union_of_both_candidate_lists():
    """Lexical candidates: rows 1, 2 (scores 5, 3). Dense candidates: rows 4, 2 (cosines 1.0, 0.8).
    The union is rows 1, 2, 4, and both sides rank all three of them: lexical 5 > 3 > 1 gives ranks
    1, 2, 3; dense 0.6 < 0.8 < 1.0 gives ranks 3, 2, 1. Row 4 is no lexical candidate, yet its
    lexical score (1) still gives it lexical rank 3 within the union."""
    lexical = LexicalCandidates(rows=np.array([1, 2]), scores=LEXICAL, field_scores={})
    dense = DenseIndex.build(VECTORS)
    dense_rows, _ = dense.top(QUESTION, 2)
    assert list(dense_rows) == [4, 2]
    fused = fuse_candidates("hybrid", lexical, dense_rows, QUESTION, dense, rrf_settings())
    assert list(fused.rows) == [1, 2, 4]
    assert fused.scores[0] == 1.0 / (60 + 1) + 0.25 / (60 + 3)
    assert fused.scores[1] == 1.0 / (60 + 2) + 0.25 / (60 + 2)
    assert fused.scores[2] == 1.0 / (60 + 3) + 0.25 / (60 + 1)


def test_rrf_weights_and_k_come_from_the_settings():
    lexical = LexicalCandidates(rows=np.array([1, 2]), scores=LEXICAL, field_scores={})
    dense = DenseIndex.build(VECTORS)
    dense_rows, _ = dense.top(QUESTION, 2)
    fused = fuse_candidates("hybrid", lexical, dense_rows, QUESTION, dense,
                            rrf_settings(weight_lexical=0.5, weight_dense=2.0, rrf_k=10))
    assert fused.scores[2] == 0.5 / (10 + 3) + 2.0 / (10 + 1)


def test_one_sided_retrievers_keep_their_own_scores():
    lexical = LexicalCandidates(rows=np.array([1, 2]), scores=LEXICAL, field_scores={})
    dense = DenseIndex.build(VECTORS)
    dense_rows, _ = dense.top(QUESTION, 2)
    only_lexical = fuse_candidates("lexical", lexical, dense_rows, QUESTION, dense, rrf_settings())
    assert (list(only_lexical.rows), list(only_lexical.scores)) == ([1, 2], [5.0, 3.0])
    only_dense = fuse_candidates("dense", lexical, dense_rows, QUESTION, dense, rrf_settings())
    assert list(only_dense.rows) == [4, 2]
    assert list(only_dense.scores) == pytest.approx([1.0, 0.8])


def test_rrf_breaks_ties_by_position():
    fused = fuse_rrf({"a": np.array([2.0, 2.0, 1.0])}, {"a": 1.0}, k=60)
    assert list(fused) == [1 / (60 + 1), 1 / (60 + 2), 1 / (60 + 3)]


def test_rrf_end_to_end_score_is_the_formula_of_the_candidate_ranks(corpus_searcher: Searcher):
    """Without the sentence rerank (``weight_sentence=0``) a hit's score is its fused score. A passage
    that both sides retrieved ranks in the union as it ranks among its side's candidates (the
    other candidates of the union score lower on that side), so its score is
    w_lexical / (k + lexical rank) + w_dense / (k + dense rank)."""
    settings = corpus_searcher.settings
    searcher = corpus_searcher.with_settings(fusion="rrf", weight_sentence=0.0)
    hits = searcher.search("Hvad er peerstøtte?", 10, explain=True).hits
    both = [h for h in hits if h.explanation.lexical_rank and h.explanation.dense_rank]
    assert len(both) >= 5
    for hit in both:
        lexical_rank, dense_rank = hit.explanation.lexical_rank, hit.explanation.dense_rank
        expected = (settings.weight_lexical / (settings.rrf_k + lexical_rank)
                    + settings.weight_dense / (settings.rrf_k + dense_rank))
        assert hit.score == pytest.approx(expected, abs=1e-6), hit.passage.id
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_rrf_answers_the_definition_question(corpus_searcher: Searcher):
    result = corpus_searcher.with_settings(fusion="rrf").search("Hvad er peerstøtte?", 5)
    assert not result.abstain and result.confidence >= corpus_searcher.abstain_threshold()
    definition = [h for h in result.hits[:2] if h.passage.section.endswith("Definition")]
    assert definition, [h.passage.id for h in result.hits]
    highlighted = [definition[0].passage.text[s:e] for s, e in definition[0].highlights]
    assert any(text.startswith("Peerstøtte er støtte til forandring") for text in highlighted)
    for hit in result.hits:  # every passage shown is about the subject asked for
        assert any("peerstøtte" in hit.passage.text[s:e].casefold().replace("-", "") for s, e in hit.highlights)


# --- stage 3: rerank -----------------------------------------------------------------------------

QUESTION_TEXT = "Hvornår blev evalueringen af peerstøtte færdiggjort?"
SCATTERED = ("Peerstøtte nævnes her. Vejret var godt. Evalueringen tog lang tid. Kaffen var kold. "
             "Huset blev færdiggjort.")  # every word, but no sentence (nor pair) with more than one
ANSWERING = "Evalueringen af peerstøtte blev færdiggjort i juni 2018."  # one sentence answers
UNRELATED = "Recovery handler om at leve et meningsfuldt liv."


@pytest.fixture(scope="module")
def toy() -> tuple[LexicalIndex, PassageTerms]:
    texts = [SCATTERED, ANSWERING, UNRELATED]
    index = LexicalIndex.build(texts, ["", "", ""], LexicalParams(1.2, 0.75, 3, 5))
    return index, PassageTerms(index, texts)


def rerank_toy(toy: tuple[LexicalIndex, PassageTerms], retriever: str, fused_scores: Sequence[float],
               **changes: float):
    index, terms = toy
    settings = Settings().model_copy(update=changes)
    rules = EvidenceRules.from_settings(settings)
    query = analyse_question(QUESTION_TEXT, index, [], settings.synonym_weight)
    words = question_words(index, query, QUESTION_TEXT, rules)
    fused = Fused(rows=np.array([0, 1, 2]), scores=np.array(fused_scores, dtype=np.float64))
    return fused, rerank(fused, retriever, words, query, terms, settings, rules), settings


def test_rerank_moves_the_answering_sentence_up_for_hybrid(toy):
    fused, ranked, settings = rerank_toy(toy, "hybrid", [2.0, 1.0, 0.5])
    assert list(ranked.order) == [1, 0, 2]
    assert ranked.evidence[1] == pytest.approx(1.0)  # the sentence covers the whole question
    index, terms = toy
    highlights = ranked.highlights(1, analyse_question(QUESTION_TEXT, index, [], settings.synonym_weight), terms,
                                   EvidenceRules.from_settings(settings))
    assert [ANSWERING[s:e] for s, e in highlights] == [ANSWERING]
    spread = np.std([2.0, 1.0, 0.5])
    for position in range(3):
        bonus = settings.weight_sentence * spread * ranked.evidence[position]
        assert ranked.scores[position] == pytest.approx(fused.scores[position] + bonus)


@pytest.mark.parametrize("retriever", ["lexical", "dense"])
def test_rerank_keeps_the_fused_order_for_one_sided_retrievers(toy, retriever: str):
    fused, ranked, _ = rerank_toy(toy, retriever, [2.0, 1.0, 0.5])
    assert list(ranked.order) == [0, 1, 2]
    assert list(ranked.scores) == list(fused.scores)


def test_rerank_leaves_candidates_below_its_depth_in_place(toy):
    _, ranked, _ = rerank_toy(toy, "hybrid", [2.0, 0.5, 1.0], rerank_depth=2)
    assert list(ranked.order) == [0, 2, 1]  # the answering passage is third, below the depth


# --- stage 4: distinct ---------------------------------------------------------------------------

def test_distinct_positions_show_each_text_once_at_its_best_rank():
    rows = np.array([10, 11, 12, 13, 14])  # position → passage row
    keys = {10: "a", 11: "b", 12: "a", 13: "c", 14: "b"}
    order = np.array([2, 0, 4, 1, 3])  # positions, best first: texts a, a, b, b, c
    assert list(distinct_positions(order, rows, keys, k=5)) == [2, 4, 3]
    assert list(distinct_positions(order, rows, keys, k=2)) == [2, 4]
    assert list(distinct_positions(np.array([], dtype=np.int64), rows, keys, k=3)) == []


# --- the whole ranking -----------------------------------------------------------------------------

QUESTIONS = ["Hvad er peerstøtte?", "Hvad fokuserer WRAP på?", "Hvornår blev evalueringen færdiggjort?",
             "peer støtte odense", "Hvem finansierer projektet?"]


@pytest.mark.parametrize("retriever", ["hybrid", "lexical", "dense"])
def test_the_ranking_does_not_depend_on_k(corpus_searcher: Searcher, retriever: str):
    for question in QUESTIONS:
        ranked = {k: [(h.passage.id, h.score) for h in corpus_searcher.search(question, k, retriever=retriever).hits]
                  for k in (10, 50, 100)}
        assert ranked[10] == ranked[50][:10] == ranked[100][:10], question


def test_a_small_candidate_pool_keeps_one_ranking_whatever_k_asks(corpus_searcher: Searcher):
    searcher = corpus_searcher.with_settings(candidates=10)
    for question in QUESTIONS:
        everything = [h.passage.id for h in searcher.search(question, 50).hits]
        assert 10 <= len(everything) <= 20, question  # the pool: 10 from each side, their union
        for k in (1, 5, 10, 15):
            assert [h.passage.id for h in searcher.search(question, k).hits] == everything[:k], (question, k)


# --- the question-vector cache -----------------------------------------------------------------------

class CountingEncoder:
    name = "counting:2"
    dimension = 2

    def __init__(self) -> None:
        self.encoded: list[str] = []

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        self.encoded.extend(texts)
        return np.array([[float(len(t)), 1.0] for t in texts], dtype=np.float32)

    def encode_passages(self, texts: Sequence[str], progress: bool = False) -> np.ndarray:
        return self.encode_queries(texts)


def test_recent_vectors_evict_the_least_recently_used():
    encoder = CountingEncoder()
    cache = RecentVectors(encoder, limit=2)
    for question in ["a", "b", "a", "c"]:  # "a" was used after "b", so "b" goes when "c" comes
        cache.vector(question)
    assert encoder.encoded == ["a", "b", "c"]
    assert "a" in cache and "c" in cache and "b" not in cache and len(cache) == 2
    assert list(cache.vector("b")) == [1.0, 1.0]
    assert encoder.encoded == ["a", "b", "c", "b"]  # encoded again, and now "a" went
    cache.vector("c")
    assert encoder.encoded == ["a", "b", "c", "b"]
    assert "a" not in cache


def test_recent_vectors_with_limit_zero_keep_nothing():
    encoder = CountingEncoder()
    cache = RecentVectors(encoder, limit=0)
    for question in ["a", "a", "a"]:
        cache.vector(question)
    assert encoder.encoded == ["a", "a", "a"] and len(cache) == 0
