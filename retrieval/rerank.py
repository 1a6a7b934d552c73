"""Stage 3, sentence-evidence rerank: among the best fused candidates, the passage with one
sentence that answers the question moves up.

Only the ``settings.rerank_depth`` best candidates are reranked (the rest keep their fused order),
so the ranking does not depend on how many results a caller asks for. The question's words are
weighed by how well they tell these candidates apart (``evidence.discriminative_words``); each
candidate's best sentence (or pair of sentences) gives its evidence, which is also what the
result highlights.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from indexer.settings import Retriever, Settings
from retrieval.answer_type import AnswerType
from retrieval.evidence import EvidenceRules, PassageTerms, QuestionWord, best_sentences, discriminative_words
from retrieval.fusion import Fused
from retrieval.query import LexicalQuery

Span = tuple[int, int]


@dataclass
class Reranked:
    order: np.ndarray  # positions in ``Fused.rows``, best first
    scores: np.ndarray  # final score of each position of ``Fused.rows``
    words: list[QuestionWord]  # the question's words weighed for telling candidates apart
    evidence: dict[int, tuple[float, list[Span]]]  # row → (best sentence coverage, highlight spans)
    kind: AnswerType | None = None  # what the question asks for (a date, a number, …)

    def highlights(self, row: int, query: LexicalQuery, terms: PassageTerms, rules: EvidenceRules) -> list[Span]:
        """The sentences to highlight in passage ``row`` (worked out now if it was not reranked)."""
        if row not in self.evidence:
            self.evidence[row] = best_sentences(self.words, query, terms.sentences(row), rules, self.kind)
        return self.evidence[row][1]


def rerank(fused: Fused, retriever: Retriever, words: list[QuestionWord], query: LexicalQuery,
           terms: PassageTerms, settings: Settings, rules: EvidenceRules,
           kind: AnswerType | None = None) -> Reranked:
    """The final order of the fused candidates; only ``hybrid`` moves passages by their evidence."""
    depth = min(len(fused.rows), settings.rerank_depth)
    fused_order = np.argsort(-fused.scores, kind="stable")
    top, rest = fused_order[:depth], fused_order[depth:]
    ranking_words = discriminative_words(words, query, [terms.passage(int(fused.rows[p])) for p in top],
                                         settings.rerank_common_discount, rules)
    evidence = {int(fused.rows[p]): best_sentences(ranking_words, query, terms.sentences(int(fused.rows[p])), rules, kind)
                for p in top}
    scores = fused.scores
    if retriever == "hybrid" and settings.weight_sentence > 0 and len(top) > 1:
        spread = float(np.std(scores[top])) or 1.0
        scores = scores.copy()
        for position in top:
            scores[position] += settings.weight_sentence * spread * evidence[int(fused.rows[position])][0]
    order = np.concatenate([top[np.argsort(-scores[top], kind="stable")], rest])
    return Reranked(order, scores, ranking_words, evidence, kind)
