"""Where the rankings come from: the retrieval core in this process, or a running service over HTTP.

Both answer ``search(question, k, retriever)`` with the returned ids (passage ids, or BEIR ids),
the retriever's scores of them, their texts, the abstain flag and the top hit's highlights (for
``eval.highlights``). Neither ranks anything itself:
the core is ``Searcher.search`` (scores: ``Hit.score``), the service is ``GET /api/search``
(scores: each result's ``score``), which returns at most ``indexer.settings.MAX_RESULTS``.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Literal, Protocol, Sequence
from urllib.parse import quote

import numpy as np

from indexer.encoder import Encoder
from indexer.settings import MAX_RESULTS
from retrieval.searcher import Searcher


class BackendError(RuntimeError):
    """The backend cannot answer (service unreachable, an error response); the message says why."""


@dataclass(frozen=True)
class Answer:
    ids: tuple[str, ...]  # best first
    scores: tuple[float, ...]  # the retriever's score of each id (ranking scores: compare within one answer)
    texts: tuple[str, ...]
    abstain: bool
    latency_ms: float  # the search as the harness measured it, encoding of the question included
    highlights: tuple[tuple[int, int], ...] = ()  # the top hit's highlighted spans of texts[0] (start, end)


class Backend(Protocol):
    mode: str

    def warm_up(self, retriever: str, k: int) -> None: ...

    def search(self, question: str, k: int, retriever: str) -> Answer: ...

    def describe(self) -> dict: ...


class QueryVectorCache:
    """The query encoder, wrapped to count and time every real encoding of a question.

    Vectors are kept, so a question is encoded once per run however many retrievers ask for it.
    """

    def __init__(self, encoder: Encoder) -> None:
        self.encoder = encoder
        self.name = encoder.name
        self.dimension = encoder.dimension
        self.query_prefix = encoder.query_prefix
        self.passage_prefix = encoder.passage_prefix
        self.encodings = 0  # questions actually run through the model
        self._vectors: dict[str, np.ndarray] = {}
        self._cost_ms: dict[str, float] = {}

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        if len(texts) != 1:
            return self.encoder.encode_queries(texts)
        vector = self._vectors.get(texts[0])
        if vector is None:
            started = time.perf_counter()
            vector = self.encoder.encode_queries(texts)
            self._cost_ms[texts[0]] = (time.perf_counter() - started) * 1000
            self._vectors[texts[0]] = vector
            self.encodings += 1
        return vector.copy()

    def encode_passages(self, texts: Sequence[str], progress: bool = False) -> np.ndarray:
        return self.encoder.encode_passages(texts, progress=progress)

    def cost_ms(self, question: str) -> float:
        """What encoding ``question`` took (encoded now, untimed by the caller, if it never was)."""
        if question not in self._cost_ms:
            self.encode_queries([question])
        return self._cost_ms[question]


class InProcessBackend:
    """``Searcher.search`` in this process; ids are passage ids or (BEIR) document ids.

    Latency: the wall time of ``Searcher.search``. A question is encoded once per run (here and in
    the Searcher's own cache of recent question vectors), so a retriever that uses the encoder but got
    the vector ready-made is charged the measured encoding time of that question: every dense and
    hybrid figure includes one encoding, whichever retriever ran first. Which retrievers use the
    encoder is observed at warm-up, with a question no cache can hold.
    """

    mode = "in-process"

    def __init__(self, searcher: Searcher, ids: Literal["passage", "document"] = "passage",
                 cache: QueryVectorCache | None = None) -> None:
        self.searcher = searcher
        self.ids = ids
        self.cache = cache
        self.uses_encoder: dict[str, bool] = {}

    def warm_up(self, retriever: str, k: int) -> None:
        before = self.cache.encodings if self.cache else 0
        self.searcher.search(f"Hvad er opvarmning {uuid.uuid4().hex}?", k, retriever=retriever)
        self.uses_encoder[retriever] = self.cache is not None and self.cache.encodings > before

    def search(self, question: str, k: int, retriever: str) -> Answer:
        before = self.cache.encodings if self.cache else 0
        started = time.perf_counter()
        result = self.searcher.search(question, k, retriever=retriever)
        latency = (time.perf_counter() - started) * 1000
        if self.cache is not None and self.uses_encoder.get(retriever) and self.cache.encodings == before:
            latency += self.cache.cost_ms(question)
        ids = tuple(h.passage.id if self.ids == "passage" else h.passage.doc_id for h in result.hits)
        top = tuple((int(s), int(e)) for s, e in result.hits[0].highlights) if result.hits else ()
        return Answer(ids, tuple(h.score for h in result.hits), tuple(h.passage.text for h in result.hits),
                      result.abstain, latency, top)

    def describe(self) -> dict:
        paths = {"host", "port", "index_dir", "data_dir", "corpus_dir"}
        settings = self.searcher.settings.model_dump(mode="json", exclude=paths)
        return {"mode": self.mode, "index": str(self.searcher.index_path), "manifest": dict(self.searcher.manifest),
                "settings": settings}


class ApiBackend:
    """``GET {url}/api/search?q=&k=&retriever=`` of a running service."""

    mode = "api"

    def __init__(self, url: str, ids: Literal["passage", "document"] = "passage", timeout: float = 60.0,
                 client=None) -> None:
        try:
            import httpx
        except ImportError as exc:
            raise BackendError("--api needs the httpx package: `pip install httpx` (or `make install-dev`)") from exc

        self.url = url.rstrip("/")
        self.ids = ids
        self._client = client or httpx.Client(base_url=self.url, timeout=timeout)
        self._errors = (httpx.HTTPError,)

    def _get(self, path: str, **params) -> tuple[int, dict]:
        try:
            response = self._client.get(path, params=params or None)
        except self._errors as exc:
            raise BackendError(f"cannot reach the service at {self.url} ({exc}); start it with "
                               f"`python -m service --host 127.0.0.1 --port 8000` or fix --api") from exc
        try:
            body = response.json()
        except ValueError:
            body = {"detail": response.text[:200]}
        return response.status_code, body

    def warm_up(self, retriever: str, k: int) -> None:
        self.search(f"Hvad er opvarmning {uuid.uuid4().hex}?", k, retriever)

    def search(self, question: str, k: int, retriever: str) -> Answer:
        """Latency: the HTTP round trip (the service may answer from its cache of question vectors)."""
        if not 1 <= k <= MAX_RESULTS:
            raise BackendError(f"the API returns at most {MAX_RESULTS} results a search, not {k}")
        started = time.perf_counter()
        status, body = self._get("/api/search", q=question, k=k, retriever=retriever)
        latency = (time.perf_counter() - started) * 1000
        if status != 200:
            raise BackendError(f"{self.url}/api/search answered {status} for {question!r}: "
                               f"{body.get('detail', body)}")
        results = body.get("results", [])
        ids = tuple(r["passage_id"] if self.ids == "passage" else r["doc"]["id"] for r in results)
        top = tuple((int(h["start"]), int(h["end"])) for h in (results[0].get("highlights") or [])) if results else ()
        return Answer(ids, tuple(float(r["score"]) for r in results), tuple(r.get("text", "") for r in results),
                      bool(body.get("abstain")), latency, top)

    def health(self) -> dict:
        status, body = self._get("/healthz")
        if status != 200:
            raise BackendError(f"{self.url}/healthz answered {status}: the service has no index loaded")
        return body

    def has_document(self, doc_id: str) -> bool:
        status, _ = self._get(f"/api/documents/{quote(doc_id, safe='')}")
        return status == 200

    def describe(self) -> dict:
        return {"mode": self.mode, "url": self.url, "health": self.health()}

    def close(self) -> None:
        self._client.close()
