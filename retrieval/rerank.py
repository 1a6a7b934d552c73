"""Stage 3, sentence-evidence rerank: among the best fused candidates, the passage with one
sentence that answers the question moves up.

Only the ``settings.rerank_depth`` best candidates are reranked (the rest keep their fused order),
so the ranking does not depend on how many results a caller asks for. The question's words are
weighed by how well they tell these candidates apart (``evidence.discriminative_words``); each
candidate's best sentence (or pair of sentences) gives its evidence, looked up for all of them
at once in the index's answer units (``unit_evidence``). The highlight of a hit is chosen when
the hit is shown (``evidence.best_sentences``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from indexer.settings import Retriever, Settings
from retrieval.answer_type import AnswerType
from retrieval.evidence import (
    EvidenceRules,
    PassageTerms,
    QuestionWord,
    SentenceCredits,
    best_sentences,
    discriminative_words,
    reweighted_words,
    sentence_coverage,
)
from retrieval.fusion import Fused
from retrieval.query import LexicalQuery
from retrieval.unit_evidence import UnitEvidence

Span = tuple[int, int]


@dataclass
class Reranked:
    order: np.ndarray  # positions in ``Fused.rows``, best first
    scores: np.ndarray  # final score of each position of ``Fused.rows``
    words: list[QuestionWord]  # the question's words (highlights weigh them within each passage)
    evidence: dict[int, float]  # row → how well its best sentence covers the question (reranked rows)
    kind: AnswerType | None = None  # what the question asks for (a date, a number, …)
    units: UnitEvidence | None = None
    _highlights: dict[int, list[Span]] = field(default_factory=dict)
    _credits: dict[int, SentenceCredits] = field(default_factory=dict)

    def credits(self, row: int) -> SentenceCredits | None:
        """The word credits of a shown passage's sentences, when they were looked up in the index."""
        return self._credits.get(row)

    def highlights(self, row: int, query: LexicalQuery, terms: PassageTerms, rules: EvidenceRules) -> list[Span]:
        """The sentences to highlight in passage ``row``, worked out when a hit shows it."""
        if row not in self._highlights:
            self.prepare_highlights([row], query, terms, rules)
        return self._highlights[row]

    def prepare_highlights(self, rows: list[int], query: LexicalQuery, terms: PassageTerms,
                           rules: EvidenceRules) -> None:
        """Work out the highlights of the passages that will be shown, looked up together."""
        rows = [row for row in rows if row not in self._highlights]
        missing = [row for row in rows if row not in self._credits]
        if self.units is not None and missing:
            self._credits.update(self.units.credits(self.words, missing, rules))
        credits = {row: self._credits[row] for row in rows if row in self._credits}
        for row in rows:
            credit = credits.get(row)  # with the credits, the sentences' offsets and text are all it takes
            sentences = terms.sentences(row) if credit is None else terms.sentence_spans(row)
            self._highlights[row] = best_sentences(self.words, query, sentences, rules, self.kind, credit)[1]


def rerank(fused: Fused, retriever: Retriever, words: list[QuestionWord], query: LexicalQuery,
           terms: PassageTerms, settings: Settings, rules: EvidenceRules,
           kind: AnswerType | None = None, units: UnitEvidence | None = None) -> Reranked:
    """The final order of the fused candidates; only ``hybrid`` moves passages by their evidence."""
    depth = min(len(fused.rows), settings.rerank_depth)
    fused_order = np.argsort(-fused.scores, kind="stable")
    top, rest = fused_order[:depth], fused_order[depth:]
    top_rows = [int(fused.rows[p]) for p in top]
    moves = retriever == "hybrid" and settings.weight_sentence > 0 and len(top) > 1
    reweigh = settings.rerank_common_discount > 0 and len(top_rows) >= 2 and bool(words)
    credits: dict[int, SentenceCredits] = {}
    if units is not None and (reweigh or moves):  # the candidates' words, and their sentences', looked up at once
        table, credits = units.passages_and_units(words, top_rows if reweigh else [], top_rows if moves else [], rules)
    if not reweigh:
        ranking_words = words
    elif units is not None:
        ranking_words = reweighted_words(words, (table > 0).mean(axis=0), settings.rerank_common_discount)
    else:
        ranking_words = discriminative_words(words, query, [terms.passage(row) for row in top_rows],
                                             settings.rerank_common_discount, rules)
    evidence: dict[int, float] = {}
    if moves:
        rows = top_rows
        if units is not None:  # a passage without answer units (a reference list) answers nothing
            evidence = {row: 0.0 for row in rows} | units.coverage(ranking_words, rows, rules, credits)
        else:
            evidence = {row: sentence_coverage(ranking_words, query, terms.sentences(row), rules) for row in rows}
    scores = fused.scores
    if moves:
        spread = float(np.std(scores[top])) or 1.0
        scores = scores.copy()
        for position in top:
            scores[position] += settings.weight_sentence * spread * evidence[int(fused.rows[position])]
    order = np.concatenate([top[np.argsort(-scores[top], kind="stable")], rest])
    return Reranked(order, scores, words, evidence, kind, units, _credits=credits)
