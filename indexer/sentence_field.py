"""BM25 over sentences: a passage scores as its best sentence (or pair of neighbouring sentences).

A passage that answers a question usually has one sentence that repeats most of the question;
a passage that merely mentions the same words here and there does not. Each answer unit
(``indexer.sentences.answer_units``) is a small BM25 document in two sub-fields, stemmed words
and character n-grams, with its own idf and length normalisation; a passage's score is the best
score of its units. Measured on Danish SQuAD in docs/retrieval.md.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from indexer.analysis import grams, stems
from indexer.bm25 import BM25Field
from indexer.sentences import answer_units


class SentenceUnits:
    """Collects the answer units of passages, one passage at a time, for ``SentenceField``."""

    def __init__(self, ngram_min: int, ngram_max: int) -> None:
        self.ngram_min = ngram_min
        self.ngram_max = ngram_max
        self.owners: list[int] = []
        self.stems: list[list[str]] = []
        self.grams: list[list[str]] = []

    def add(self, row: int, text: str) -> None:
        for start, end in answer_units(text):
            self.owners.append(row)
            self.stems.append(stems(text[start:end]))
            self.grams.append(grams(text[start:end], self.ngram_min, self.ngram_max))

    def build(self, passages: int, k1: float, b: float) -> "SentenceField":
        return SentenceField(BM25Field.build(self.stems, k1, b), BM25Field.build(self.grams, k1, b),
                             np.array(self.owners, dtype=np.int64), passages)


class SentenceField:
    def __init__(self, stems_field: BM25Field, grams_field: BM25Field, owners: np.ndarray, size: int) -> None:
        self.stems = stems_field
        self.grams = grams_field
        self.owners = owners  # unit → passage row
        self.size = size  # number of passages

    def scores(self, stem_terms: dict[str, float], gram_terms: dict[str, float],
               stem_weight: float, gram_weight: float) -> np.ndarray:
        """Per passage, the best unit's score (sub-fields scaled by their spread over the units)."""
        units = np.zeros(len(self.owners), dtype=np.float64)
        for field, terms, weight in ((self.stems, stem_terms, stem_weight), (self.grams, gram_terms, gram_weight)):
            values = field.scores(terms)
            spread = values.std() if values.size else 0.0
            if weight > 0 and spread > 0:
                units += weight * values / spread
        best = np.zeros(self.size, dtype=np.float64)
        np.maximum.at(best, self.owners, units)
        return best

    def save(self, folder: Path) -> None:
        self.stems.save(folder, "sentence_stems")
        self.grams.save(folder, "sentence_grams")
        np.savez(folder / "sentence_units.npz", owners=self.owners, size=np.array([self.size]))

    @classmethod
    def load(cls, folder: Path) -> "SentenceField":
        with np.load(folder / "sentence_units.npz", allow_pickle=False) as arrays:
            owners = arrays["owners"]
            size = int(arrays["size"][0])
        return cls(BM25Field.load(folder, "sentence_stems"), BM25Field.load(folder, "sentence_grams"), owners, size)
