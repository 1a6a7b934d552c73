"""Sentence evidence for many candidates at once, from the index's answer units.

The rerank asks, for each of its candidates, how well the passage's best sentence (or pair of
neighbouring sentences) covers the question (``evidence.sentence_coverage``). Word by word in
Python that is most of a search's time; the index already holds every answer unit's words
(``indexer.sentence_field``: each sentence and each neighbouring pair of a passage) and each
word's stem and n-grams, so here the same rules run as sparse-matrix products over the
candidates' units:

- a word is found whole when a unit has its stem or one of its variants (credit 1);
- else when the unit has every n-gram of its stem (``stem_credit``);
- else by the share of its n-grams the unit has (``gram_credit``, in part below ``gram_cover``).

A pair unit (the text from one sentence to the next, a heading between them included) counts at
``window_credit``. The result equals ``evidence.sentence_credits`` on the
same sentences (a test checks it); a passage without units (a reference list) is left to the caller.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import sparse

from indexer.lexical import LexicalIndex
from retrieval.evidence import EvidenceRules, QuestionWord, SentenceCredits


class UnitEvidence:
    """The answer units of an index, laid out for looking up the units of a few passages."""

    def __init__(self, index: LexicalIndex) -> None:
        self._index = index
        field = index.sentences
        self._bags = field.bags
        self._stems = index.stems
        self._grams = index.grams
        owners = field.owners
        rows = np.arange(field.size)
        self._first = np.searchsorted(owners, rows, side="left")
        self._end = np.searchsorted(owners, rows, side="right")
        if len(owners) and np.any(np.diff(owners) < 0):
            raise ValueError("answer units are not in passage order")

    def has_units(self, row: int) -> bool:
        return bool(self._end[row] > self._first[row])

    def coverage(self, words: Sequence[QuestionWord], rows: Sequence[int], rules: EvidenceRules,
                 credits: dict[int, SentenceCredits] | None = None) -> dict[int, float]:
        """``row → best unit coverage`` (0–1, pairs at ``window_credit``) for each of ``rows``
        that has answer units (``credits``: looked up already, for the same words or copies of
        them with other weights)."""
        total = sum(w.idf for w in words)
        idf = np.array([w.idf for w in words])
        out = {}
        credits = self.credits(words, rows, rules) if credits is None else credits
        for row, credits in credits.items():
            best = float((credits.singles @ idf).max()) if len(credits.singles) else 0.0
            if len(credits.pairs):
                best = max(best, rules.window_credit * float((credits.pairs @ idf).max()))
            out[row] = best / total if total > 0 else 0.0
        return out

    def credits(self, words: Sequence[QuestionWord], rows: Sequence[int],
                rules: EvidenceRules) -> dict[int, SentenceCredits]:
        """``row → SentenceCredits`` for each of ``rows`` that has answer units."""
        return self.passages_and_units(words, [], rows, rules)[1]

    def passage_credits(self, words: Sequence[QuestionWord], rows: Sequence[int], rules: EvidenceRules) -> np.ndarray:
        """``rows × words``: how fully each whole passage has each word (``evidence.word_credit`` on
        the passage's terms; the rerank weighs words by how many candidates have them)."""
        return self.passages_and_units(words, rows, [], rules)[0]

    def passages_and_units(self, words: Sequence[QuestionWord], passage_rows: Sequence[int], unit_rows: Sequence[int],
                           rules: EvidenceRules) -> tuple[np.ndarray, dict[int, SentenceCredits]]:
        """``passage_credits`` of ``passage_rows`` and ``credits`` of ``unit_rows``, in one lookup."""
        unit_rows = [int(r) for r in unit_rows if self.has_units(int(r))]
        units = (np.concatenate([np.arange(self._first[r], self._end[r]) for r in unit_rows]) if unit_rows
                 else np.zeros(0, dtype=np.int64))
        parts = [self._index.passage_words(np.asarray(passage_rows, dtype=np.int64)), self._bags.words_of(units)]
        table = self._table(words, sparse.vstack(parts, format="csr"), rules)
        passages, table = table[:len(passage_rows)], table[len(passage_rows):]
        out, at = {}, 0
        for row in unit_rows:
            count = int(self._end[row] - self._first[row])
            # a passage's units alternate sentence, pair (of it and the next), sentence, …
            out[row] = SentenceCredits(table[at:at + count:2], table[at + 1:at + count:2])
            at += count
        return passages, out

    def _table(self, words: Sequence[QuestionWord], unit_words: sparse.csr_matrix, rules: EvidenceRules) -> np.ndarray:
        """``rows × words`` credits of the rows whose word counts are given (a few sparse products in all)."""
        stem_sets = [_columns(word.variants or {word.stem}, self._stems.vocabulary) for word in words]
        gram_sets = [_columns(word.grams, self._grams.vocabulary) for word in words]
        stem_gram_sets = [_columns(word.stem_grams, self._grams.vocabulary) for word in words]
        units = np.arange(unit_words.shape[0])
        whole = _present(unit_words, self._stems.words_terms, stem_sets) > 0
        grams = _present(unit_words, self._grams.words_terms, gram_sets + stem_gram_sets)
        shared, stem_found = grams[:, :len(words)], grams[:, len(words):]
        credits = np.zeros((len(units), len(words)))
        for j, word in enumerate(words):
            credit = np.zeros(len(units))
            if word.grams:
                share = shared[:, j] / len(word.grams)
                credit = np.where(share >= rules.gram_cover, rules.gram_credit,
                                  np.where(share >= rules.gram_partial, rules.gram_credit * share, 0.0))
            if word.stem_grams and len(stem_gram_sets[j]) == len(word.stem_grams):
                credit = np.where(stem_found[:, j] == len(word.stem_grams), rules.stem_credit, credit)
            credits[:, j] = np.where(whole[:, j], 1.0, credit)
        return credits


def _columns(terms, vocabulary: dict[str, int]) -> np.ndarray:
    return np.array(sorted({vocabulary[t] for t in terms if t in vocabulary}), dtype=np.int64)


def _present(unit_words: sparse.csr_matrix, words_terms: sparse.csc_matrix,
             column_sets: list[np.ndarray]) -> np.ndarray:
    """``units × sets``: how many of each set's term columns each unit has (at least once)."""
    counts = np.zeros((unit_words.shape[0], len(column_sets)))
    columns = np.concatenate(column_sets) if column_sets else np.zeros(0, dtype=np.int64)
    if len(columns) == 0 or unit_words.shape[0] == 0:
        return counts
    needed = np.unique(columns)
    present = (unit_words @ words_terms[:, needed]).toarray() > 0  # units × needed
    membership = np.zeros((len(needed), len(column_sets)))
    owner = np.repeat(np.arange(len(column_sets)), [len(c) for c in column_sets])
    np.add.at(membership, (np.searchsorted(needed, columns), owner), 1.0)
    return present.astype(np.float64) @ membership
