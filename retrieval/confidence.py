"""Stage 5, confidence: how likely it is that the first passage answers the question, and
whether that is too unlikely to call it an answer (``abstain``).

A handful of signals (``ConfidenceFeatures``) go into a logistic regression
(``ConfidenceModel``) that ``python -m eval.calibrate`` fits on answerable questions (Danish,
paraphrased, English) against questions the corpus does not answer (near-domain topics and
Danish SQuAD), and stores as JSON (``corpus/confidence.json``, setting ``confidence_model``).
Its output is a probability: of the questions given 0.8, about 8 in 10 are answered by the first
passage (``docs/calibration.md`` has the reliability diagram).

Without a model that fits the index (none stored, fitted with another embedding model, or the
``lexical`` retriever, which has no question embedding) the confidence is the word coverage of
the best passage alone, as before the model existed.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from indexer.dense import DenseIndex
from retrieval.evidence import (
    EvidenceRules,
    QuestionWord,
    Sentence,
    SentenceCredits,
    TextTerms,
    coverage,
    sentence_coverage,
)
from retrieval.query import LexicalQuery

log = logging.getLogger(__name__)

COVERAGE_THRESHOLD = 0.475  # abstain below this word coverage when no model fits


@dataclass(frozen=True)
class ConfidenceFeatures:
    """What the confidence model reads about one question and its first passage."""

    coverage: float  # weighted share of the question's words the passage has (strict)
    evidence: float  # the same for the passage's best sentence (or pair of sentences)
    unknown_share: float  # weighted share of the question's words the corpus never uses
    top_cosine: float  # cosine of question and first passage
    best_cosine: float  # cosine of question and the nearest passage in the corpus
    cosine_margin: float  # nearest minus second nearest cosine
    cosine_z: float  # how far the nearest stands out: (nearest − mean) / std over the dense candidates
    rank_agreement: float  # mean reciprocal rank of the first passage on the lexical and dense sides

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(cls.__dataclass_fields__)

    def vector(self) -> np.ndarray:
        return np.array([getattr(self, name) for name in self.names()], dtype=np.float64)


def word_coverage(words: list[QuestionWord], query: LexicalQuery, best: TextTerms | None,
                  rules: EvidenceRules) -> float:
    """Share (0–1) of the question's weighted words that the best passage covers; a word the
    corpus never uses counts only when found whole (``strict``). 0 without a passage."""
    if best is None:
        return 0.0
    return coverage(words, query, best, strict=True, rules=rules)


def confidence_features(words: list[QuestionWord], query: LexicalQuery, passage: TextTerms,
                        sentences: list[Sentence], row: int, lexical_rows: np.ndarray, dense_rows: np.ndarray,
                        query_vector: np.ndarray, dense: DenseIndex, rules: EvidenceRules,
                        credits: SentenceCredits | None = None) -> ConfidenceFeatures:
    """The features of the first passage (``row``) for a question with an embedding
    (``credits``: its sentences' word credits, when the caller has them)."""
    total = sum(w.idf for w in words) or 1.0
    nearest = dense.scores_for(query_vector, dense_rows) if len(dense_rows) else np.zeros(0)
    best_cosine = float(nearest[0]) if len(nearest) else 0.0
    second = float(nearest[1]) if len(nearest) > 1 else best_cosine
    spread = float(nearest.std()) if len(nearest) > 1 else 0.0
    return ConfidenceFeatures(
        coverage=word_coverage(words, query, passage, rules),
        evidence=sentence_coverage(words, query, sentences, rules, credits),
        unknown_share=sum(w.idf for w in words if not w.known) / total,
        top_cosine=float(dense.scores_for(query_vector, np.array([row]))[0]),
        best_cosine=best_cosine,
        cosine_margin=best_cosine - second,
        cosine_z=(best_cosine - float(nearest.mean())) / spread if spread > 0 else 0.0,
        rank_agreement=(_reciprocal_rank(lexical_rows, row) + _reciprocal_rank(dense_rows, row)) / 2,
    )


def _reciprocal_rank(rows: np.ndarray, row: int) -> float:
    found = np.flatnonzero(rows == row)
    return 1.0 / (int(found[0]) + 1) if len(found) else 0.0


@dataclass(frozen=True)
class ConfidenceModel:
    """A logistic regression over standardised ``ConfidenceFeatures``: P(first passage answers)."""

    model: str  # the embedding model the cosines were measured with
    features: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coefficients: tuple[float, ...]
    intercept: float
    threshold: float  # abstain below this probability (chosen by eval.calibrate)
    fitted_on: dict[str, Any] = field(default_factory=dict)  # what the fit saw and how it scored

    def probability(self, features: ConfidenceFeatures) -> float:
        x = (features.vector() - np.array(self.mean)) / np.array(self.scale)
        z = float(np.dot(x, self.coefficients)) + self.intercept
        return 1.0 / (1.0 + math.exp(-z)) if z > -700 else 0.0

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> "ConfidenceModel":
        data = json.loads(path.read_text(encoding="utf-8"))
        model = cls(**{**data, **{k: tuple(data[k]) for k in ("features", "mean", "scale", "coefficients")}})
        if model.features != ConfidenceFeatures.names() or not (
                len(model.mean) == len(model.scale) == len(model.coefficients) == len(model.features)):
            raise ValueError(f"{path}: features {list(model.features)} are not "
                             f"{list(ConfidenceFeatures.names())}; fit it again with `python -m eval.calibrate`")
        return model


def load_confidence_model(path: Path | None, embedding_model: str) -> ConfidenceModel | None:
    """The stored model when it exists, reads and was fitted for ``embedding_model``; else None
    (and a warning saying why), so confidence falls back to word coverage."""
    if path is None or not path.is_file():
        return None
    try:
        model = ConfidenceModel.load(path)
    except (OSError, ValueError, TypeError, KeyError) as error:
        log.warning("confidence model not used: %s", error)
        return None
    if model.model != embedding_model:
        log.warning("confidence model %s was fitted for %s, the index uses %s: confidence is word coverage "
                    "(fit it again with `python -m eval.calibrate`)", path, model.model, embedding_model)
        return None
    return model


def should_abstain(confidence: float, threshold: float) -> bool:
    return confidence < threshold
