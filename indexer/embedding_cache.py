"""Passage embeddings kept between builds, by model and text: a rebuild embeds only the passages
that are new or changed, and a killed build keeps what it had embedded.

One SQLite file (``<data dir>/embeddings.sqlite3``), one row per (model, passage text): the key is
the SHA-256 of the model key (name, passage prefix, backend) and the text, the value the float32
vector. Reads and writes go in chunks, so the cache serves corpora of any size.
"""

from __future__ import annotations

import hashlib
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Sequence

import numpy as np

FILE_NAME = "embeddings.sqlite3"
_CHUNK = 500  # keys per query (SQLite allows 999 parameters by default on older builds)
_SCHEMA = "CREATE TABLE IF NOT EXISTS vectors (key BLOB PRIMARY KEY, vector BLOB NOT NULL)"


class EmbeddingCache:
    def __init__(self, path: Path, model_key: str, dimension: int) -> None:
        self.path = Path(path)
        self.model_key = model_key
        self.dimension = dimension

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(self.path, timeout=30)
        connection.execute(_SCHEMA)
        return connection

    def key(self, text: str) -> bytes:
        return hashlib.sha256(f"{self.model_key}\0{text}".encode("utf-8")).digest()

    def lookup(self, texts: Sequence[str]) -> dict[int, np.ndarray]:
        """The cached vectors of ``texts``, by position in ``texts`` (missing ones are absent)."""
        keys = [self.key(t) for t in texts]
        positions: dict[bytes, list[int]] = {}
        for position, key in enumerate(keys):
            positions.setdefault(key, []).append(position)
        found: dict[int, np.ndarray] = {}
        unique = list(positions)
        with closing(self._connect()) as connection:
            for first in range(0, len(unique), _CHUNK):
                chunk = unique[first:first + _CHUNK]
                marks = ",".join("?" * len(chunk))
                for key, blob in connection.execute(f"SELECT key, vector FROM vectors WHERE key IN ({marks})", chunk):
                    vector = np.frombuffer(blob, dtype=np.float32)
                    if vector.shape == (self.dimension,):
                        for position in positions[key]:
                            found[position] = vector
        return found

    def store(self, texts: Sequence[str], vectors: np.ndarray) -> None:
        rows = [(self.key(t), np.ascontiguousarray(v, dtype=np.float32).tobytes()) for t, v in zip(texts, vectors)]
        with closing(self._connect()) as connection, connection:
            connection.executemany("INSERT OR REPLACE INTO vectors (key, vector) VALUES (?, ?)", rows)
