"""A BM25 index over one field, stored as plain arrays.

The BM25 weight of every (passage, term) pair is computed once at build time into a sparse
matrix, so a query is a sparse column sum: ``score(d) = Σ_t qw(t) · W[d, t]`` with
``W[d, t] = idf(t) · tf·(k1+1) / (tf + k1·(1 − b + b·len(d)/avglen))`` and the Lucene idf
``ln(1 + (N − df + 0.5)/(df + 0.5))``.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
from scipy import sparse


class BM25Field:
    def __init__(self, vocabulary: dict[str, int], weights: sparse.csc_matrix, idf: np.ndarray) -> None:
        self.vocabulary = vocabulary
        self.weights = weights  # passages × terms
        self.idf = idf

    @property
    def size(self) -> int:
        return self.weights.shape[0]

    @classmethod
    def build(cls, documents: Sequence[Sequence[str]], k1: float = 1.2, b: float = 0.75) -> "BM25Field":
        vocabulary: dict[str, int] = {}
        rows: list[int] = []
        cols: list[int] = []
        tfs: list[float] = []
        lengths = np.array([len(doc) for doc in documents], dtype=np.float64)
        for row, doc in enumerate(documents):
            for term, tf in Counter(doc).items():
                rows.append(row)
                cols.append(vocabulary.setdefault(term, len(vocabulary)))
                tfs.append(tf)
        n_docs = len(documents)
        row_arr = np.array(rows, dtype=np.int64)
        col_arr = np.array(cols, dtype=np.int64)
        tf_arr = np.array(tfs, dtype=np.float64)
        df = np.bincount(col_arr, minlength=len(vocabulary)).astype(np.float64)
        idf = np.log1p((n_docs - df + 0.5) / (df + 0.5))
        avg = lengths.mean() if n_docs and lengths.mean() > 0 else 1.0
        norm = k1 * (1 - b + b * lengths[row_arr] / avg) if n_docs else np.zeros(0)
        values = idf[col_arr] * tf_arr * (k1 + 1) / (tf_arr + norm)
        weights = sparse.csc_matrix((values, (row_arr, col_arr)), shape=(n_docs, len(vocabulary)))
        return cls(vocabulary, weights, idf)

    def query_vector(self, terms: dict[str, float]) -> tuple[np.ndarray, np.ndarray]:
        ids = [self.vocabulary[t] for t in terms if t in self.vocabulary]
        weights = [w for t, w in terms.items() if t in self.vocabulary]
        return np.array(ids, dtype=np.int64), np.array(weights, dtype=np.float64)

    def scores(self, terms: dict[str, float]) -> np.ndarray:
        """BM25 score of every passage for weighted query ``terms``."""
        ids, weights = self.query_vector(terms)
        if len(ids) == 0:
            return np.zeros(self.size, dtype=np.float64)
        # Straight from the CSC arrays: each term's column lists the passages that have it.
        matrix = self.weights
        starts, ends = matrix.indptr[ids], matrix.indptr[ids + 1]
        lengths = ends - starts
        positions = np.repeat(ends - lengths.cumsum(), lengths) + np.arange(int(lengths.sum()))
        values = matrix.data[positions] * np.repeat(weights, lengths)
        return np.bincount(matrix.indices[positions], weights=values, minlength=self.size).astype(np.float64)

    def matched(self, row: int, terms: Iterable[str]) -> list[str]:
        """The query terms that occur in passage ``row``."""
        out = []
        for term in terms:
            col = self.vocabulary.get(term)
            if col is not None and self.weights[row, col] > 0:
                out.append(term)
        return out

    def idf_of(self, term: str) -> float | None:
        col = self.vocabulary.get(term)
        return None if col is None else float(self.idf[col])

    def save(self, folder: Path, name: str) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        w = self.weights.tocsc()
        np.savez(folder / f"{name}.npz", data=w.data, indices=w.indices, indptr=w.indptr,
                 shape=np.array(w.shape), idf=self.idf)
        terms = sorted(self.vocabulary, key=self.vocabulary.__getitem__)
        (folder / f"{name}.vocab.json").write_text(json.dumps(terms, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path, name: str) -> "BM25Field":
        with np.load(folder / f"{name}.npz", allow_pickle=False) as arrays:
            shape = tuple(int(x) for x in arrays["shape"])
            weights = sparse.csc_matrix((arrays["data"], arrays["indices"], arrays["indptr"]), shape=shape)
            idf = arrays["idf"]
        terms = json.loads((folder / f"{name}.vocab.json").read_text(encoding="utf-8"))
        return cls({t: i for i, t in enumerate(terms)}, weights, idf)
