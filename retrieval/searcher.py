"""The one retrieval core: question in, ranked and cited passages out.

The API, the web pages, the command line and the evaluation all call ``Searcher.search``, and
read documents and passages through the searcher's accessors (never through its index).
Retrievers that can be named (for comparisons): ``lexical`` (the BM25 fields alone), ``dense``
(the embedding model alone) and ``hybrid`` (the default: both fused as configured in the
settings, then reranked by sentence evidence).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

import numpy as np

from indexer.documents import Document
from indexer.encoder import Encoder, encoder_for
from indexer.passages import Passage
from indexer.settings import RETRIEVERS, Retriever, Settings
from indexer.store import IndexData, IndexNotFound, dedup_key, load_index
from retrieval.answer_type import answer_type
from retrieval.candidates import LexicalCandidates, dense_candidates, lexical_candidates
from retrieval.confidence import (
    COVERAGE_THRESHOLD,
    ConfidenceFeatures,
    confidence_features,
    load_confidence_model,
    should_abstain,
    word_coverage,
)
from retrieval.distinct import distinct_positions
from retrieval.evidence import EvidenceRules, PassageTerms, QuestionWord, coverage, question_words
from retrieval.fusion import Fused, fuse_candidates
from retrieval.query import LexicalQuery, analyse_question
from retrieval.rerank import Reranked, rerank
from retrieval.results import Explanation, Hit, IndexHealth, SearchResult
from retrieval.synonyms import SynonymRule, load_synonyms
from retrieval.unit_evidence import UnitEvidence


class UnknownRetriever(ValueError):
    pass


@dataclass(frozen=True)
class _Stages:
    """What the stages produced for one question: what its hits and explanations are made from."""

    query: LexicalQuery
    words: list[QuestionWord]
    lexical: LexicalCandidates
    dense_rows: np.ndarray
    query_vector: np.ndarray | None
    fused: Fused
    ranked: Reranked


class _StageTimer:
    """The seconds each stage of one search took (``time.perf_counter``): ``lap(stage)`` closes
    the stage that ran since the previous lap (or since ``started``)."""

    def __init__(self, started: float) -> None:
        self.seconds: dict[str, float] = {}
        self._mark = started

    def lap(self, stage: str, timed: bool = True) -> None:
        """End ``stage`` now; ``timed=False`` for a stage that was skipped (left out of ``seconds``)."""
        now = time.perf_counter()
        if timed:
            self.seconds[stage] = now - self._mark
        self._mark = now


class RecentVectors:
    """The embeddings of the most recently asked questions (the encoder dominates latency);
    the least recently used one goes when ``limit`` are kept. Safe from several threads."""

    def __init__(self, encoder: Encoder, limit: int) -> None:
        self.encoder = encoder
        self.limit = limit
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._vectors)

    def __contains__(self, question: str) -> bool:
        return question in self._vectors

    def vector(self, question: str) -> np.ndarray:
        with self._lock:
            vector = self._vectors.get(question)
            if vector is not None:
                self._vectors.move_to_end(question)
                return vector
        vector = self.encoder.encode_queries([question])[0]
        if self.limit > 0:
            with self._lock:
                self._vectors[question] = vector
                while len(self._vectors) > self.limit:
                    self._vectors.popitem(last=False)
        return vector


def check_encoder(encoder: Encoder, manifest: Mapping[str, Any], dimension: int) -> None:
    """IndexNotFound, saying how to rebuild, unless questions are encoded the way the index's
    passages were (same dimension, and the prefix the model expects before a question)."""
    rebuild = "rebuild the index with `python -m indexer build` (or set PEERQA_MODEL to the index's model)"
    if encoder.dimension != dimension:
        raise IndexNotFound(f"the question encoder {encoder.name} gives {encoder.dimension} dimensions, the "
                            f"index ({manifest.get('model')}) has {dimension}: {rebuild}")
    recorded = manifest.get("query_prefix")
    if recorded is not None and recorded != encoder.query_prefix:
        raise IndexNotFound(f"the index's passages were embedded for questions prefixed {recorded!r}, the encoder "
                            f"{encoder.name} puts {encoder.query_prefix!r}: {rebuild}")


class Searcher:
    def __init__(self, index: IndexData, encoder: Encoder | None, settings: Settings,
                 synonyms: list[SynonymRule] | None = None) -> None:
        self._index = index
        self.encoder = encoder
        self.settings = settings
        self.synonyms = synonyms or []
        self.rules = EvidenceRules.from_settings(settings)
        self._dedup = [dedup_key(p.text) for p in index.passages]
        self._row_of = {p.id: row for row, p in enumerate(index.passages)}
        self._by_document: dict[str, list[Passage]] = {}
        for passage in index.passages:
            self._by_document.setdefault(passage.doc_id, []).append(passage)
        self._vectors = RecentVectors(encoder, settings.query_vector_cache) if encoder is not None else None
        self._terms = PassageTerms(index.lexical, [p.text for p in index.passages])
        self._units = UnitEvidence(index.lexical)
        self.confidence_model = load_confidence_model(settings.confidence_model, str(index.manifest.get("model", "")))

    @classmethod
    def open(cls, settings: Settings, index_dir: Path | None = None, encoder: Encoder | None = None) -> "Searcher":
        """Load the index and the query encoder named in its manifest."""
        index = load_index(index_dir or settings.index_dir, settings.hnsw_ef_search)
        if encoder is None:
            encoder = encoder_for(settings, model=index.manifest["model"])
        check_encoder(encoder, index.manifest, index.dense.dimension)
        return cls(index, encoder, settings, load_synonyms(settings.synonyms_file))

    def with_settings(self, **changes: Any) -> "Searcher":
        """A searcher on the same index and encoder with some query-time settings changed
        (e.g. ``fusion="rrf"``) for comparisons; settings that change an index cannot change here."""
        fixed = set(changes) & set(self.settings.index_settings())
        if fixed:
            raise ValueError(f"{', '.join(sorted(fixed))} change the index: build another index instead")
        return Searcher(self._index, self.encoder, self.settings.model_copy(update=changes), self.synonyms)

    # --- what callers may read ------------------------------------------------------------------

    @property
    def version(self) -> str:
        return str(self._index.manifest.get("build_id", ""))

    @property
    def manifest(self) -> Mapping[str, Any]:
        return MappingProxyType(self._index.manifest)

    @property
    def index_path(self) -> Path:
        return self._index.path

    def health(self) -> IndexHealth:
        manifest = self._index.manifest
        return IndexHealth(index_version=self.version, documents=len(self._index.documents),
                           passages=len(self._index.passages), model=str(manifest.get("model", "")),
                           built_at=str(manifest.get("built_at", "")))

    def document(self, doc_id: str) -> Document | None:
        return self._index.documents.get(doc_id)

    def document_ids(self) -> list[str]:
        return sorted(self._index.documents)

    def passages_of(self, doc_id: str) -> list[Passage]:
        """The passages of one document, in reading order (empty for an unknown id)."""
        return list(self._by_document.get(doc_id, ()))

    def passage(self, passage_id: str) -> Passage | None:
        row = self._row_of.get(passage_id)
        return None if row is None else self._index.passages[row]

    def has_passage(self, passage_id: str) -> bool:
        return passage_id in self._row_of

    def passages(self) -> list[Passage]:
        """Every passage of the index, in index order."""
        return list(self._index.passages)

    @property
    def dense_is_approximate(self) -> bool:
        """Whether the dense side searches an HNSW graph (a large index) rather than every vector."""
        return self._index.dense.approximate

    def dense_top(self, query_vector: np.ndarray, k: int, ef_search: int | None = None) -> list[int]:
        """The rows the dense side finds nearest to a question vector (for measuring its recall;
        ``ef_search`` tries another HNSW search breadth than the settings')."""
        return [int(row) for row in self._index.dense.top(query_vector, k, ef_search)[0]]

    def dense_exact_top(self, query_vector: np.ndarray, k: int) -> list[int]:
        """The truly nearest rows, by scanning every vector."""
        return [int(row) for row in self._index.dense.exact_top(query_vector, k)]

    # --- search ---------------------------------------------------------------------------------

    def search(self, question: str, k: int = 5, *, retriever: Retriever | None = None,
               explain: bool = False) -> SearchResult:
        """The ``k`` best distinct passages for ``question``, with highlights and abstention.

        The candidates are a fixed pool (``settings.candidates`` from each side), so asking for
        more results only shows more of the same ranking; beyond the pool there are none.
        The result's ``stage_seconds`` say how long each stage took."""
        started = time.perf_counter()
        timer = _StageTimer(started)
        retriever = retriever or self.settings.retriever
        if retriever not in RETRIEVERS:
            raise UnknownRetriever(f"unknown retriever {retriever!r}; choose one of {', '.join(RETRIEVERS)}")
        index, settings = self._index, self.settings
        n = min(settings.candidates, len(index.passages))  # a fixed pool: the ranking never depends on k

        query = analyse_question(question, index.lexical, self.synonyms, settings.synonym_weight)
        timer.lap("analysis")
        query_vector = self._query_vector(question) if retriever != "lexical" else None
        timer.lap("encoding", timed=query_vector is not None)
        dense_rows = dense_candidates(index.dense, query_vector, n)
        timer.lap("dense")
        lexical = lexical_candidates(index.lexical, index.passages, query, question, self.synonyms, settings, n,
                                     dense_rows)
        timer.lap("lexical")
        fused = fuse_candidates(retriever, lexical, dense_rows, query_vector, index.dense, settings)
        timer.lap("fusion")
        words = question_words(index.lexical, query, question, self.rules)
        ranked = rerank(fused, retriever, words, query, self._terms, settings, self.rules, answer_type(question),
                        self._units)
        positions = list(distinct_positions(ranked.order, fused.rows, self._dedup, k))
        timer.lap("rerank")
        stages = _Stages(query, words, lexical, dense_rows, query_vector, fused, ranked)
        ranked.prepare_highlights([int(fused.rows[p]) for p in positions], query, self._terms, self.rules)
        hits = [self._hit(rank, position, stages, explain) for rank, position in enumerate(positions, start=1)]
        features = self._confidence_features(stages, hits)
        model = self.confidence_model if features is not None else None
        if model is not None:
            confidence = model.probability(features)
        else:
            best = self._terms.passage(self._row_of[hits[0].passage.id]) if hits else None
            confidence = word_coverage(words, query, best, self.rules)
        timer.lap("highlights")
        return SearchResult(
            query=question,
            retriever=retriever,
            took_ms=round((time.perf_counter() - started) * 1000, 2),
            abstain=should_abstain(confidence, self.abstain_threshold(model is not None)),
            confidence=round(confidence, 4),
            hits=hits,
            expanded_terms=query.added,
            confidence_features=features,
            stage_seconds=timer.seconds,
        )

    def abstain_threshold(self, model_used: bool = True) -> float:
        """Below this confidence a result abstains: the setting, else the confidence model's own
        threshold (when the model is used), else the word-coverage threshold."""
        if self.settings.abstain_threshold is not None:
            return self.settings.abstain_threshold
        if model_used and self.confidence_model is not None:
            return self.confidence_model.threshold
        return COVERAGE_THRESHOLD

    def _confidence_features(self, stages: "_Stages", hits: list[Hit]) -> ConfidenceFeatures | None:
        """What the confidence model reads (None without a first passage or a question embedding)."""
        if not hits or stages.query_vector is None:
            return None
        row = self._row_of[hits[0].passage.id]
        credits = stages.ranked.credits(row)  # looked up with the highlights, for the same words
        return confidence_features(stages.words, stages.query, self._terms.passage(row), self._terms.sentences(row),
                                   row, stages.lexical.rows, stages.dense_rows, stages.query_vector,
                                   self._index.dense, self.rules, credits)

    def _query_vector(self, question: str) -> np.ndarray | None:
        return self._vectors.vector(question) if self._vectors is not None else None

    def _hit(self, rank: int, position: int, stages: "_Stages", explain: bool) -> Hit:
        row = int(stages.fused.rows[position])
        passage = self._index.passages[row]
        return Hit(rank=rank, score=round(float(stages.ranked.scores[position]), 6), passage=passage,
                   document=self._index.documents[passage.doc_id],
                   highlights=stages.ranked.highlights(row, stages.query, self._terms, self.rules),
                   explanation=self._explain(row, stages) if explain else None)

    def _explain(self, row: int, stages: "_Stages") -> Explanation:
        query, words, lexical, query_vector = stages.query, stages.words, stages.lexical, stages.query_vector
        dense_value = None
        if query_vector is not None:
            dense_value = round(float(self._index.dense.scores_for(query_vector, np.array([row]))[0]), 6)
        lex_rank = np.flatnonzero(lexical.rows == row)
        dense_rank = np.flatnonzero(stages.dense_rows == row)
        return Explanation(
            lexical_rank=int(lex_rank[0]) + 1 if len(lex_rank) else None,
            lexical_score=round(float(lexical.scores[row]), 6),
            field_scores={name: round(float(v[row]), 6) for name, v in lexical.field_scores.items()},
            dense_rank=int(dense_rank[0]) + 1 if len(dense_rank) else None,
            dense_score=dense_value,
            matched_terms=self._index.lexical.matched_terms(row, query.stems),
            coverage=round(coverage(words, query, self._terms.passage(row), rules=self.rules), 4),
        )


__all__ = ["Searcher", "RecentVectors", "UnknownRetriever"]
