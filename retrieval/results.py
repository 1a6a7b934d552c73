"""What a search returns: ranked hits with their passage, document, highlights and, on request,
an explanation of how each ranked."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from indexer.documents import Document
from indexer.passages import Passage
from indexer.settings import Retriever
from retrieval.confidence import ConfidenceFeatures


@dataclass(frozen=True)
class Explanation:
    lexical_rank: int | None
    lexical_score: float
    field_scores: dict[str, float]
    dense_rank: int | None
    dense_score: float | None
    matched_terms: list[str]
    coverage: float


@dataclass(frozen=True)
class Hit:
    rank: int
    score: float
    passage: Passage
    document: Document
    highlights: list[tuple[int, int]]
    explanation: Explanation | None = None

    def to_json(self) -> dict:
        p, d = self.passage, self.document
        return {
            "rank": self.rank, "score": self.score, "passage_id": p.id, "text": p.text,
            "highlights": [{"start": s, "end": e} for s, e in self.highlights],
            "doc": {"id": d.id, "title": d.title, "publisher": d.publisher, "source_url": d.source_url},
            "section": p.section, "start": p.start, "end": p.end,
            **({"page_start": p.page_start, "page_end": p.page_end} if p.page_start is not None else {}),
            "explain": asdict(self.explanation) if self.explanation else None,
        }


@dataclass(frozen=True)
class SearchResult:
    query: str
    retriever: Retriever
    took_ms: float
    abstain: bool
    confidence: float
    hits: list[Hit] = field(default_factory=list)
    expanded_terms: list[str] = field(default_factory=list)
    confidence_features: ConfidenceFeatures | None = None  # what the confidence model read (not in the JSON)
    #: Seconds per stage of the search (not in the JSON; the service records them as metrics):
    #: ``analysis``, ``encoding`` (the question's embedding; absent for the lexical retriever),
    #: ``dense``, ``lexical``, ``fusion``, ``rerank`` and ``highlights`` (highlights and confidence).
    stage_seconds: dict[str, float] = field(default_factory=dict, repr=False, compare=False)

    def to_json(self, index_version: str = "") -> dict:
        """The result as the API's search response (``service.schemas.SearchResponse`` documents
        and validates exactly this; the command line prints it)."""
        return {
            "query": self.query, "took_ms": self.took_ms, "abstain": self.abstain,
            "confidence": self.confidence, "index_version": index_version,
            "results": [hit.to_json() for hit in self.hits],
        }


@dataclass(frozen=True)
class IndexHealth:
    """What a health check reports about the index a searcher answers from."""

    index_version: str
    documents: int
    passages: int
    model: str
    built_at: str
