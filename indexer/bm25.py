"""BM25 over bags of words, factorised: rows hold words, and words map to the terms scored.

A passage (or a sentence) is stored once, as the counts of its analysed words. The terms BM25
scores are functions of a word: its stem, or its character n-grams. So the term frequencies of
any row are a product of two sparse matrices, ``tf = bags (rows × words) @ terms (words × terms)``,
and only the columns of the question's terms are ever multiplied out. The index then grows with
the words of the text (about 60 per passage), not with its n-grams (about 650 per passage, and
2,400 more for the sentence units), and every array is saved to load memory-mapped.

The weight of a (row, term) pair is ``idf(t) · tf·(k1+1) / (tf + k1·(1 − b + b·len(d)/avglen))``
with the Lucene idf ``ln(1 + (N − df + 0.5)/(df + 0.5))``; ``len(d)`` counts terms (a word of
five n-grams adds five to the n-gram length).
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Protocol

import numpy as np
from scipy import sparse

_BATCH_ROWS = 16384  # rows multiplied out at a time when counting document frequencies
#: Postings (row, weight) kept per field for the terms asked most recently: the common n-grams
#: recur in nearly every question, and multiplying them out again each time is most of a search.
POSTING_CACHE_ENTRIES = 4_000_000  # 12 bytes each


def bm25_idf(df: np.ndarray, n: int) -> np.ndarray:
    return np.log1p((n - df + 0.5) / (df + 0.5))


def save_array(folder: Path, name: str, array: np.ndarray) -> None:
    np.save(folder / f"{name}.npy", np.ascontiguousarray(array), allow_pickle=False)


def load_array(folder: Path, name: str) -> np.ndarray:
    """A saved array, memory-mapped: its pages are read when used and shared between processes."""
    array = np.load(folder / f"{name}.npy", mmap_mode="r", allow_pickle=False)
    return array if array.size else np.asarray(array)  # numpy cannot map an empty file


def index_dtype(largest: int) -> type:
    """The index type scipy keeps as it is (it would copy an int64 array whose values fit int32)."""
    return np.int32 if largest < np.iinfo(np.int32).max else np.int64


def compressed(kind: str, data: np.ndarray, indices: np.ndarray, indptr: np.ndarray,
               shape: tuple[int, int]) -> sparse.csr_matrix | sparse.csc_matrix:
    """A CSR or CSC matrix over the given arrays without copying them (they may be memory-mapped)."""
    cls = sparse.csr_matrix if kind == "csr" else sparse.csc_matrix
    return cls((data, indices, indptr), shape=shape, copy=False)


def save_matrix(folder: Path, name: str, matrix: sparse.csr_matrix | sparse.csc_matrix) -> None:
    largest = max(matrix.nnz, max(matrix.shape))
    dtype = index_dtype(largest)
    save_array(folder, f"{name}.data", matrix.data.astype(np.float32, copy=False))
    save_array(folder, f"{name}.indices", matrix.indices.astype(dtype, copy=False))
    save_array(folder, f"{name}.indptr", matrix.indptr.astype(dtype, copy=False))


def load_matrix(folder: Path, name: str, kind: str, shape: tuple[int, int]) -> sparse.csr_matrix | sparse.csc_matrix:
    return compressed(kind, load_array(folder, f"{name}.data"), load_array(folder, f"{name}.indices"),
                      load_array(folder, f"{name}.indptr"), shape)


@dataclass
class TermMap:
    """What each word of the vocabulary counts as: its stem (one term), or its n-grams (several)."""

    terms: list[str]
    vocabulary: dict[str, int]  # term → column
    words_terms: sparse.csc_matrix  # words × terms: how often each term occurs in each word

    @classmethod
    def build(cls, terms: list[str], word_rows: np.ndarray, term_columns: np.ndarray, counts: np.ndarray,
              words: int) -> "TermMap":
        matrix = sparse.csc_matrix((counts.astype(np.float32), (word_rows, term_columns)), shape=(words, len(terms)))
        matrix.sum_duplicates()
        return cls(terms, {t: i for i, t in enumerate(terms)}, matrix)

    @property
    def size(self) -> int:
        return len(self.terms)

    def columns(self, terms: dict[str, float]) -> tuple[np.ndarray, np.ndarray]:
        """The columns of the weighted ``terms`` the vocabulary has, and their weights."""
        known = [(self.vocabulary[t], w) for t, w in terms.items() if t in self.vocabulary]
        ids = np.array([c for c, _ in known], dtype=np.int64)
        return ids, np.array([w for _, w in known], dtype=np.float64)

    def term_lengths(self) -> np.ndarray:
        """How many terms each word counts as (its length in this field)."""
        return np.asarray(self.words_terms.sum(axis=1)).ravel()

    def save(self, folder: Path, name: str) -> None:
        (folder / f"{name}.terms.json").write_text(json.dumps(self.terms, ensure_ascii=False), encoding="utf-8")
        save_matrix(folder, name, self.words_terms)

    @classmethod
    def load(cls, folder: Path, name: str, words: int) -> "TermMap":
        terms = json.loads((folder / f"{name}.terms.json").read_text(encoding="utf-8"))
        return cls(terms, {t: i for i, t in enumerate(terms)},
                   load_matrix(folder, name, "csc", (words, len(terms))))


def gather(matrix: sparse.csr_matrix | sparse.csc_matrix, majors: np.ndarray,
           multipliers: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The entries of some rows of a CSR matrix (columns of a CSC one), each row's values times its
    multiplier: ``(minor indices, values, entries per major)``, concatenated in the order of ``majors``."""
    starts = matrix.indptr[majors].astype(np.int64)
    lengths = matrix.indptr[majors + 1].astype(np.int64) - starts
    total = int(lengths.sum())
    positions = np.repeat(starts - np.cumsum(lengths) + lengths, lengths) + np.arange(total)
    return (np.asarray(matrix.indices[positions], dtype=np.int64),
            matrix.data[positions].astype(np.float64) * np.repeat(multipliers, lengths), lengths)


def summed_by_key(keys: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Keys in ascending order, each once, with the sum of its values."""
    if len(keys) == 0:
        return keys, values
    order = np.argsort(keys, kind="stable")
    keys, values = keys[order], values[order]
    firsts = np.flatnonzero(np.diff(keys, prepend=-1) != 0)
    return keys[firsts], np.add.reduceat(values, firsts)


def per_term(owners: np.ndarray, rows: np.ndarray, values: np.ndarray, terms: int,
             size: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Entries ``(owner term, row, value)`` summed per (term, row) and split per term: for each of
    ``terms`` terms, its rows ascending and their values."""
    keys, sums = summed_by_key(owners * size + rows, values)
    bounds = np.searchsorted(keys, np.arange(terms + 1) * size)
    return [(keys[a:b] - term * size, sums[a:b]) for term, (a, b) in enumerate(zip(bounds, bounds[1:]))]


class Bags(Protocol):
    """Rows (passages or sentence units) as counts of words."""

    @property
    def rows(self) -> int: ...

    def term_counts(self, terms: TermMap, columns: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        """For each term column, ``(rows, counts)``: the rows that have it, ascending, and how often."""
        ...

    def words_of(self, rows: np.ndarray) -> sparse.csr_matrix:
        """``len(rows) × words``: the word counts of the given rows."""
        ...

    def batches(self, terms: TermMap) -> Iterator[sparse.csr_matrix]:
        """The full ``rows × terms`` counts, a bounded number of rows at a time, in row order."""
        ...


class WordBags:
    """Rows stored as word counts, column-major (the rows that have a word, for scoring)."""

    def __init__(self, by_word: sparse.csc_matrix, by_row: sparse.csr_matrix | None = None) -> None:
        self.by_word = by_word  # rows × words
        self.by_row = by_row  # the same by row, where rows are looked up one by one

    def words_of(self, rows: np.ndarray) -> sparse.csr_matrix:
        if self.by_row is None:
            self.by_row = self.by_word.tocsr()
        return self.by_row[rows]

    @property
    def rows(self) -> int:
        return self.by_word.shape[0]

    def term_counts(self, terms: TermMap, columns: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        words, per_word, words_per_term = gather(terms.words_terms, columns, np.ones(len(columns)))
        rows, counts, rows_per_word = gather(self.by_word, words, per_word)
        owners = np.repeat(np.repeat(np.arange(len(columns)), words_per_term), rows_per_word)
        return per_term(owners, rows, counts, len(columns), self.rows)

    def batches(self, terms: TermMap) -> Iterator[sparse.csr_matrix]:
        by_row = self.by_row if self.by_row is not None else self.by_word.tocsr()  # the build has it already
        for first in range(0, self.rows, _BATCH_ROWS):
            yield (by_row[first:first + _BATCH_ROWS] @ terms.words_terms).tocsr()


@dataclass
class BM25Field:
    """BM25 over one kind of term (stems or n-grams) of some bags of words."""

    bags: Bags
    terms: TermMap
    df: np.ndarray  # per term: how many rows have it
    lengths: np.ndarray  # per row, in terms
    k1: float
    b: float

    cache_entries: int = POSTING_CACHE_ENTRIES
    _cache: OrderedDict[int, tuple[np.ndarray, np.ndarray]] = field(default_factory=OrderedDict, repr=False)
    _cached_entries: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        self.idf = bm25_idf(self.df, self.size)
        self.average = float(self.lengths.mean(dtype=np.float64)) if self.size else 0.0
        if self.average <= 0:
            self.average = 1.0
        present = self.df > 0
        self._max_idf = float(self.idf[present].max()) if present.any() else 1.0

    @classmethod
    def build(cls, bags: Bags, terms: TermMap, lengths: np.ndarray, k1: float, b: float) -> "BM25Field":
        """Count each term's document frequency over the rows, a batch at a time."""
        df = np.zeros(terms.size, dtype=np.float64)
        for batch in bags.batches(terms):
            df += np.bincount(batch.indices, minlength=terms.size)
        return cls(bags, terms, df, np.asarray(lengths, dtype=np.float32), k1, b)

    @property
    def size(self) -> int:
        return self.bags.rows

    def scores(self, terms: dict[str, float]) -> np.ndarray:
        """BM25 score of every row for the weighted query ``terms``."""
        columns, weights = self.terms.columns(terms)
        if len(columns) == 0 or self.size == 0:
            return np.zeros(self.size, dtype=np.float64)
        postings = self.postings(columns)
        rows = np.concatenate([p[0] for p in postings])
        values = np.concatenate([p[1] * weight for p, weight in zip(postings, weights)])
        return np.bincount(rows, weights=values, minlength=self.size).astype(np.float64)

    def scores_of(self, terms: dict[str, float], rows: np.ndarray,
                  row_words: sparse.csr_matrix | None = None) -> np.ndarray:
        """BM25 score of the given ``rows`` only (the same values ``scores`` gives them), from their
        own words (``row_words``, looked up when not given): the work grows with the rows asked
        for, not with the index."""
        columns, weights = self.terms.columns(terms)
        if len(columns) == 0 or len(rows) == 0:
            return np.zeros(len(rows), dtype=np.float64)
        row_words = self.bags.words_of(rows) if row_words is None else row_words
        counts = (row_words @ self.terms.words_terms[:, columns]).tocoo()
        at, which, tf = counts.row, counts.col, counts.data.astype(np.float64)
        norm = self.k1 * (1 - self.b + self.b * self.lengths[rows[at]].astype(np.float64) / self.average)
        values = self.idf[columns[which]] * tf * (self.k1 + 1) / (tf + norm) * weights[which]
        return np.bincount(at, weights=values, minlength=len(rows)).astype(np.float64)

    def postings(self, columns: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        """``(rows, BM25 weights)`` of each term column: from the cache, or multiplied out (all
        the missing ones at once) and cached."""
        found: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        with self._lock:
            for column in map(int, columns):
                posting = self._cache.get(column)
                if posting is not None:
                    self._cache.move_to_end(column)
                    found[column] = posting
        missing = np.array([c for c in map(int, columns) if c not in found], dtype=np.int64)
        if len(missing):
            for column, (rows, tf) in zip(missing, self.bags.term_counts(self.terms, missing)):
                norm = self.k1 * (1 - self.b + self.b * self.lengths[rows].astype(np.float64) / self.average)
                found[int(column)] = (rows.astype(np.int32), self.idf[column] * tf * (self.k1 + 1) / (tf + norm))
            self._remember({int(c): found[int(c)] for c in missing})
        return [found[int(c)] for c in columns]

    def _remember(self, postings: dict[int, tuple[np.ndarray, np.ndarray]]) -> None:
        """Cache postings, dropping the least recently used beyond ``cache_entries`` entries."""
        with self._lock:
            for column, posting in postings.items():
                if column in self._cache or len(posting[0]) > self.cache_entries:
                    continue
                self._cache[column] = posting
                self._cached_entries += len(posting[0])
            while self._cached_entries > self.cache_entries:
                _, (dropped, _) = self._cache.popitem(last=False)
                self._cached_entries -= len(dropped)

    def has(self, term: str) -> bool:
        """Whether some row has ``term``."""
        column = self.terms.vocabulary.get(term)
        return column is not None and self.df[column] > 0

    def idf_of(self, term: str) -> float | None:
        """The idf of a term some row has (None for any other)."""
        return float(self.idf[self.terms.vocabulary[term]]) if self.has(term) else None

    def max_idf(self) -> float:
        """The highest idf of a term some row has (1.0 when no row has any)."""
        return self._max_idf

    def save(self, folder: Path, name: str) -> None:
        save_array(folder, f"{name}.df", self.df)
        save_array(folder, f"{name}.lengths", self.lengths)

    @classmethod
    def load(cls, folder: Path, name: str, bags: Bags, terms: TermMap, k1: float, b: float) -> "BM25Field":
        return cls(bags, terms, np.asarray(load_array(folder, f"{name}.df")),
                   load_array(folder, f"{name}.lengths"), k1, b)
