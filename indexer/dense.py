"""The dense side: passage embeddings in a FAISS inner-product index.

Up to ``dense_exact_max`` passages the index is exact (a flat scan); above it, an HNSW graph
answers in well under a millisecond at the cost of sometimes missing a neighbour: how often is
measured against exact search by ``benchmarks/scale.py``. Either way the vectors themselves are
kept, so the scores of given passages are exact."""

from __future__ import annotations

from pathlib import Path

import faiss
import numpy as np
from tqdm import tqdm

FILE_NAME = "dense.faiss"


class DenseIndex:
    def __init__(self, index: faiss.Index, ef_search: int = 256) -> None:
        self.index = index
        self.ef_search = ef_search
        # A flat index (or an HNSW graph's flat storage) keeps its vectors in one array: read them
        # in place (no copy) for exact scores of a few rows.
        self._vectors: np.ndarray | None = None
        flat = faiss.downcast_index(index.storage) if isinstance(index, faiss.IndexHNSW) else index
        if isinstance(flat, faiss.IndexFlat) and flat.ntotal > 0:
            values = faiss.rev_swig_ptr(flat.get_xb(), flat.ntotal * flat.d)
            self._vectors = np.asarray(values).reshape(flat.ntotal, flat.d)

    @classmethod
    def build(cls, vectors: np.ndarray, exact_max: int | None = None, m: int = 32, ef_construction: int = 80,
              ef_search: int = 256, progress: bool = False) -> "DenseIndex":
        """An exact index, or an HNSW graph when there are more than ``exact_max`` vectors."""
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if exact_max is None or len(vectors) <= exact_max:
            index = faiss.IndexFlatIP(vectors.shape[1])
            index.add(vectors)
            return cls(index, ef_search)
        index = faiss.IndexHNSWFlat(vectors.shape[1], m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = ef_construction
        step = max(10_000, len(vectors) // 100)
        for first in tqdm(range(0, len(vectors), step), desc="building the HNSW graph", unit="batch",
                          disable=not progress, mininterval=0.5):
            index.add(vectors[first:first + step])
        return cls(index, ef_search)

    @property
    def approximate(self) -> bool:
        return isinstance(self.index, faiss.IndexHNSW)

    @property
    def size(self) -> int:
        return int(self.index.ntotal)

    @property
    def dimension(self) -> int:
        return int(self.index.d)

    def top(self, query: np.ndarray, k: int, ef_search: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Row ids and cosine scores of the ``k`` nearest passages, best first (an HNSW graph keeps
        ``ef_search`` candidates, default the index's own)."""
        k = min(k, self.size)
        if k <= 0:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        query = np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32)
        if self._vectors is not None and not self.approximate:
            # one question against every vector: a BLAS matrix-vector product and a partial sort is
            # about three times faster here than FAISS's flat search, which keeps a heap per row
            scores = self._vectors @ query[0]
            rows = np.argpartition(-scores, k - 1)[:k] if k < self.size else np.arange(self.size)
            rows = rows[np.lexsort((rows, -scores[rows]))]
            return rows.astype(np.int64), scores[rows]
        if self.approximate:
            parameters = faiss.SearchParametersHNSW(efSearch=max(ef_search or self.ef_search, k))
            scores, ids = self.index.search(query, k, params=parameters)
        else:
            scores, ids = self.index.search(query, k)
        keep = ids[0] >= 0
        return ids[0][keep].astype(np.int64), scores[0][keep]

    def exact_top(self, query: np.ndarray, k: int) -> np.ndarray:
        """Rows of the ``k`` nearest passages by scanning every vector (to measure how close the
        approximate search comes), best first."""
        k = min(k, self.size)
        if k <= 0:
            return np.zeros(0, np.int64)
        vectors = self._vectors if self._vectors is not None else self.index.reconstruct_n(0, self.size)
        scores = vectors @ query.astype(np.float32).ravel()
        rows = np.argpartition(-scores, k - 1)[:k]
        return rows[np.argsort(-scores[rows], kind="stable")].astype(np.int64)

    def scores_for(self, query: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Exact cosine scores of the given passages (for fusing candidates from both sides)."""
        if len(rows) == 0:
            return np.zeros(0, np.float32)
        rows = np.asarray(rows, dtype=np.int64)
        vectors = self._vectors[rows] if self._vectors is not None else self.index.reconstruct_batch(rows)
        return vectors @ query.astype(np.float32).ravel()

    def save(self, folder: Path) -> None:
        faiss.write_index(self.index, str(folder / FILE_NAME))

    @classmethod
    def load(cls, folder: Path, ef_search: int = 256) -> "DenseIndex":
        """The index with its vectors memory-mapped read-only: service workers on one machine
        share one copy of them in the page cache instead of holding one each."""
        flags = faiss.IO_FLAG_MMAP_IFC | faiss.IO_FLAG_READ_ONLY
        return cls(faiss.read_index(str(folder / FILE_NAME), flags), ef_search)
