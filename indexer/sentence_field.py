"""BM25 over sentences: a passage scores as its best sentence (or pair of neighbouring sentences).

A passage that answers a question usually has one sentence that repeats most of the question;
a passage that merely mentions the same words here and there does not. Each answer unit
(``indexer.sentences.answer_units``) is a small BM25 document in two sub-fields, stemmed words
and character n-grams, with its own idf and length normalisation; a passage's score is the best
score of its units. Measured on Danish SQuAD in docs/retrieval.md.

Storage: a passage's answer sentences and the text between neighbouring ones (a heading, or
nothing) are *pieces*, stored once as word counts: sentence, gap, sentence, …, sentence. Units
are numbered like the pieces: the unit of a sentence piece is that sentence, the unit of a gap
piece is the pair of sentences around it with the gap (three pieces), so a unit's counts are the
sum of at most three neighbouring pieces'. A passage's units alternate sentence, pair, sentence.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
from scipy import sparse

from indexer.bm25 import (
    BM25Field,
    TermMap,
    WordBags,
    load_array,
    load_matrix,
    per_term,
    save_array,
    save_matrix,
)

_BATCH_UNITS = 16384  # units multiplied out at a time when counting document frequencies


class UnitBags:
    """Answer units as the sums of their pieces' word counts."""

    def __init__(self, pieces: WordBags, pieces_by_row: sparse.csr_matrix, unit_pieces: sparse.csr_matrix) -> None:
        self.pieces = pieces  # pieces × words, by word
        self.pieces_by_row = pieces_by_row  # the same, by piece
        self.unit_pieces = unit_pieces  # units × pieces, 1 where the unit holds the piece
        self.is_pair = np.asarray(unit_pieces.indptr[1:] - unit_pieces.indptr[:-1]) > 1  # the gap pieces

    @property
    def rows(self) -> int:
        return self.unit_pieces.shape[0]

    def term_counts(self, terms: TermMap, columns: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        """A piece counts for its own unit and, if a sentence, for the pairs on either side of it:
        three sorted runs of (term, unit) keys, merged and summed."""
        per_piece = self.pieces.term_counts(terms, columns)
        pieces = np.concatenate([p for p, _ in per_piece])
        counts = np.concatenate([c for _, c in per_piece])
        owners = np.repeat(np.arange(len(columns)), [len(p) for p, _ in per_piece])
        sentence = ~self.is_pair[pieces]
        before = sentence & (pieces > 0) & self.is_pair[np.maximum(pieces - 1, 0)]
        after = sentence & (pieces + 1 < self.rows) & self.is_pair[np.minimum(pieces + 1, self.rows - 1)]
        units = np.concatenate([pieces[before] - 1, pieces, pieces[after] + 1])
        return per_term(np.concatenate([owners[before], owners, owners[after]]), units,
                        np.concatenate([counts[before], counts, counts[after]]), len(columns), self.rows)

    def batches(self, terms: TermMap) -> Iterator[sparse.csr_matrix]:
        for first in range(0, self.rows, _BATCH_UNITS):
            words = self.unit_pieces[first:first + _BATCH_UNITS] @ self.pieces_by_row
            yield (words @ terms.words_terms).tocsr()

    def words_of(self, units: np.ndarray) -> sparse.csr_matrix:
        """``len(units) × words``: the word counts of the given units."""
        return (self.unit_pieces[units] @ self.pieces_by_row).tocsr()


class SentenceField:
    def __init__(self, bags: UnitBags, stems_field: BM25Field, grams_field: BM25Field, owners: np.ndarray,
                 size: int) -> None:
        self.bags = bags
        self.stems = stems_field
        self.grams = grams_field
        self.owners = owners  # unit → passage row, ascending
        self.size = size  # number of passages
        first = np.flatnonzero(np.diff(owners, prepend=-1) != 0) if len(owners) else np.zeros(0, np.int64)
        self._first_units = first  # where each passage's units start
        self._with_units = np.asarray(owners[first], dtype=np.int64)  # the passages that have units

    @classmethod
    def build(cls, pieces_by_row: sparse.csr_matrix, unit_pieces: sparse.csr_matrix, owners: np.ndarray,
              size: int, stems: TermMap, grams: TermMap, k1: float, b: float) -> "SentenceField":
        bags = UnitBags(WordBags(pieces_by_row.tocsc()), pieces_by_row, unit_pieces)
        piece_stem_lengths = np.asarray(pieces_by_row.sum(axis=1)).ravel()
        piece_gram_lengths = pieces_by_row @ grams.term_lengths()
        return cls(bags, BM25Field.build(bags, stems, unit_pieces @ piece_stem_lengths, k1, b),
                   BM25Field.build(bags, grams, unit_pieces @ piece_gram_lengths, k1, b), owners, size)

    @property
    def units(self) -> int:
        return len(self.owners)

    def pieces_of(self, row: int) -> tuple[int, int]:
        """The range of passage ``row``'s pieces (and units: they are numbered alike)."""
        at = np.asarray(row, dtype=self.owners.dtype)  # the owners' own type: numpy would copy them to compare
        return (int(np.searchsorted(self.owners, at, side="left")),
                int(np.searchsorted(self.owners, at, side="right")))

    def scores(self, stem_terms: dict[str, float], gram_terms: dict[str, float],
               stem_weight: float, gram_weight: float) -> np.ndarray:
        """Per passage, the best unit's score (sub-fields scaled by their spread over the units)."""
        units = np.zeros(self.units, dtype=np.float64)
        for field, terms, weight in ((self.stems, stem_terms, stem_weight), (self.grams, gram_terms, gram_weight)):
            if weight <= 0:
                continue
            values = field.scores(terms)
            spread = values.std() if values.size else 0.0
            if spread > 0:
                units += weight * values / spread
        best = np.zeros(self.size, dtype=np.float64)
        if self.units:
            best[self._with_units] = np.maximum.reduceat(units, self._first_units)
        return best

    def scores_of(self, rows: np.ndarray, stem_terms: dict[str, float], gram_terms: dict[str, float],
                  stem_weight: float, gram_weight: float) -> np.ndarray:
        """``scores`` for the passages ``rows`` only (ascending), with the sub-fields scaled by their
        spread over these passages' units rather than over all units."""
        at = np.asarray(rows, dtype=self.owners.dtype)  # the owners' own type: numpy would copy them to compare
        firsts = np.searchsorted(self.owners, at, side="left").astype(np.int64)
        counts = np.searchsorted(self.owners, at, side="right") - firsts
        units = np.repeat(firsts - np.cumsum(counts) + counts, counts) + np.arange(int(counts.sum()))
        total = np.zeros(len(units), dtype=np.float64)
        unit_words = self.bags.words_of(units) if len(units) else None  # shared by both sub-fields
        for field, terms, weight in ((self.stems, stem_terms, stem_weight), (self.grams, gram_terms, gram_weight)):
            if weight <= 0 or len(units) == 0:
                continue
            values = field.scores_of(terms, units, unit_words)
            spread = values.std()
            if spread > 0:
                total += weight * values / spread
        best = np.zeros(len(rows), dtype=np.float64)
        has_units = counts > 0
        if has_units.any():
            starts = (np.cumsum(counts) - counts)[has_units]
            best[has_units] = np.maximum.reduceat(total, starts)
        return best

    def save(self, folder: Path) -> None:
        save_matrix(folder, "pieces_by_word", self.bags.pieces.by_word)
        save_matrix(folder, "pieces_by_row", self.bags.pieces_by_row)
        save_matrix(folder, "unit_pieces", self.bags.unit_pieces)
        save_array(folder, "unit_owners", self.owners.astype(np.int32))
        self.stems.save(folder, "unit_stems")
        self.grams.save(folder, "unit_grams")

    @classmethod
    def load(cls, folder: Path, size: int, pieces: int, words: int, stems: TermMap, grams: TermMap,
             k1: float, b: float) -> "SentenceField":
        owners = load_array(folder, "unit_owners")
        bags = UnitBags(WordBags(load_matrix(folder, "pieces_by_word", "csc", (pieces, words))),
                        load_matrix(folder, "pieces_by_row", "csr", (pieces, words)),
                        load_matrix(folder, "unit_pieces", "csr", (len(owners), pieces)))
        return cls(bags, BM25Field.load(folder, "unit_stems", bags, stems, k1, b),
                   BM25Field.load(folder, "unit_grams", bags, grams, k1, b), owners, size)
