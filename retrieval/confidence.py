"""Stage 5, confidence: how much of the question the best passage covers, and whether that is
too little to call it an answer (``abstain``)."""

from __future__ import annotations

from retrieval.evidence import EvidenceRules, QuestionWord, TextTerms, coverage
from retrieval.query import LexicalQuery


def answer_confidence(words: list[QuestionWord], query: LexicalQuery, best: TextTerms | None,
                      rules: EvidenceRules) -> float:
    """Share (0–1) of the question's weighted words that the best passage covers; a word the
    corpus never uses counts only when found whole (``strict``). 0 without a passage."""
    if best is None:
        return 0.0
    return coverage(words, query, best, strict=True, rules=rules)


def should_abstain(confidence: float, threshold: float) -> bool:
    return confidence < threshold
