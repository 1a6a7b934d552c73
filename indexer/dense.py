"""The dense side: passage embeddings in an exact inner-product FAISS index."""

from __future__ import annotations

from pathlib import Path

import faiss
import numpy as np

FILE_NAME = "dense.faiss"


class DenseIndex:
    def __init__(self, index: faiss.Index) -> None:
        self.index = index
        # A flat index keeps its vectors in one array: read them in place (no copy) for exact
        # scores of a few rows; other index types reconstruct the rows asked for.
        self._vectors: np.ndarray | None = None
        if isinstance(index, faiss.IndexFlat) and index.ntotal > 0:
            flat = faiss.rev_swig_ptr(index.get_xb(), index.ntotal * index.d)
            self._vectors = np.asarray(flat).reshape(index.ntotal, index.d)

    @classmethod
    def build(cls, vectors: np.ndarray) -> "DenseIndex":
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        index = faiss.IndexFlatIP(vectors.shape[1])
        index.add(vectors)
        return cls(index)

    @property
    def size(self) -> int:
        return int(self.index.ntotal)

    @property
    def dimension(self) -> int:
        return int(self.index.d)

    def top(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Row ids and cosine scores of the ``k`` nearest passages, best first."""
        k = min(k, self.size)
        if k <= 0:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        scores, ids = self.index.search(np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32), k)
        keep = ids[0] >= 0
        return ids[0][keep].astype(np.int64), scores[0][keep]

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
    def load(cls, folder: Path) -> "DenseIndex":
        return cls(faiss.read_index(str(folder / FILE_NAME)))
