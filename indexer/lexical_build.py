"""Analysing passages into word counts for the lexical index, one passage at a time.

Memory stays proportional to the distinct words of each passage (typed arrays of word ids and
counts, no lists of term strings): a passage is tokenised once, in segments cut at its answer
sentences, so its body, its sentences and the gaps between them come from the same tokens.
"""

from __future__ import annotations

from array import array
from collections import Counter
from dataclasses import dataclass
from typing import Sequence

import numpy as np
from scipy import sparse

from indexer.analysis import char_ngrams, stem, words
from indexer.bm25 import TermMap
from indexer.sentences import answer_sentence_spans


class _Counts:
    """(row, word, count) triplets of a rows × words matrix, growing one row at a time."""

    def __init__(self) -> None:
        self.rows = array("i")
        self.words = array("i")
        self.counts = array("f")
        self.size = 0

    def add(self, counts: Counter[int]) -> int:
        row = self.size
        self.rows.extend([row] * len(counts))
        self.words.extend(counts.keys())
        self.counts.extend(counts.values())
        self.size += 1
        return row

    def matrix(self, words: int) -> sparse.csr_matrix:
        matrix = sparse.csr_matrix((np.frombuffer(self.counts, dtype=np.float32),
                                    (np.frombuffer(self.rows, dtype=np.int32), np.frombuffer(self.words, dtype=np.int32))),
                                   shape=(self.size, words))
        matrix.sort_indices()
        return matrix


@dataclass
class AnalysedCorpus:
    """The word counts of every passage, heading text and answer piece, and how units are made of pieces."""

    words: list[str]
    body: sparse.csr_matrix  # passages × words
    headings: sparse.csr_matrix  # passages × words
    pieces: sparse.csr_matrix  # pieces × words
    unit_pieces: sparse.csr_matrix  # units × pieces
    unit_owners: np.ndarray  # unit → passage

    def stem_map(self) -> TermMap:
        stems: dict[str, int] = {}
        columns = np.array([stems.setdefault(stem(word), len(stems)) for word in self.words], dtype=np.int64)
        rows = np.arange(len(self.words))
        return TermMap.build(list(stems), rows, columns, np.ones(len(rows)), len(self.words))

    def gram_map(self, n_min: int, n_max: int) -> TermMap:
        grams: dict[str, int] = {}
        rows, columns, counts = array("i"), array("i"), array("f")
        for row, word in enumerate(self.words):
            for gram, count in Counter(char_ngrams(word, n_min, n_max)).items():
                rows.append(row)
                columns.append(grams.setdefault(gram, len(grams)))
                counts.append(count)
        return TermMap.build(list(grams), np.frombuffer(rows, dtype=np.int32), np.frombuffer(columns, dtype=np.int32),
                             np.frombuffer(counts, dtype=np.float32), len(self.words))


class CorpusAnalyser:
    """Collects passages (body text, heading text, answer text) as word counts."""

    def __init__(self) -> None:
        self._word_ids: dict[str, int] = {}
        self._body = _Counts()
        self._headings = _Counts()
        self._pieces = _Counts()
        self._unit_rows = array("i")
        self._unit_pieces = array("i")
        self._owners = array("i")

    def _ids(self, text: str) -> list[int]:
        ids = self._word_ids
        return [ids.setdefault(word, len(ids)) for word in words(text)]

    def add(self, body: str, heading_text: str, answer_text: str) -> None:
        """One passage; its answer units come from ``answer_text`` (the body itself, or "" for none)."""
        row = self._body.size
        self._headings.add(Counter(self._ids(heading_text)))
        if answer_text == body:
            segments = self._segments(body)
            self._body.add(Counter(word for segment in segments for word in segment))
        else:
            self._body.add(Counter(self._ids(body)))
            segments = self._segments(answer_text)
        self._add_units(row, segments[1:-1])

    def _segments(self, text: str) -> list[list[int]]:
        """The words of ``text`` cut at its answer sentences: before the first, the first, the gap
        to the second, the second, …, after the last (boundaries fall on white space)."""
        spans = answer_sentence_spans(text)
        cuts = [0, *(bound for span in spans for bound in span), len(text)]
        return [self._ids(text[start:end]) for start, end in zip(cuts, cuts[1:])]

    def _add_units(self, row: int, pieces: Sequence[list[int]]) -> None:
        """Pieces alternate sentence, gap, sentence, …; so do the units, one per piece: a sentence
        is a unit, and a gap stands for the pair of sentences around it (three pieces)."""
        first = self._pieces.size
        for offset, piece in enumerate(pieces):
            self._pieces.add(Counter(piece))
            unit = first + offset
            self._add_unit(row, [unit] if offset % 2 == 0 else [unit - 1, unit, unit + 1])

    def _add_unit(self, row: int, pieces: list[int]) -> None:
        unit = len(self._owners)
        self._owners.append(row)
        self._unit_rows.extend([unit] * len(pieces))
        self._unit_pieces.extend(pieces)

    def finish(self) -> AnalysedCorpus:
        words = list(self._word_ids)
        unit_pieces = sparse.csr_matrix(
            (np.ones(len(self._unit_rows), dtype=np.float32),
             (np.frombuffer(self._unit_rows, dtype=np.int32), np.frombuffer(self._unit_pieces, dtype=np.int32))),
            shape=(len(self._owners), self._pieces.size))
        return AnalysedCorpus(words, self._body.matrix(len(words)), self._headings.matrix(len(words)),
                              self._pieces.matrix(len(words)), unit_pieces,
                              np.frombuffer(self._owners, dtype=np.int32).copy())
