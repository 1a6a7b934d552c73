"""Pydantic models at the API boundary: what callers send and get back (shown in OpenAPI)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from indexer.settings import MAX_QUESTION_CHARS, MAX_RESULTS, Retriever
from retrieval.results import SearchResult


def checked_question(value: str) -> str:
    """The question trimmed; a clear error when it is empty or too long."""
    value = value.strip()
    if not value:
        raise ValueError(f"the question is empty: write a question of 1 to {MAX_QUESTION_CHARS} characters")
    if len(value) > MAX_QUESTION_CHARS:
        raise ValueError(f"the question is {len(value)} characters long: shorten it to at most {MAX_QUESTION_CHARS}")
    return value


class SearchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"q": "Hvad er peerstøtte?", "k": 5}]})

    q: str = Field(..., description=f"The question, 1 to {MAX_QUESTION_CHARS} characters after trimming.",
                   examples=["Hvad er peerstøtte?"])
    k: int = Field(5, ge=1, le=MAX_RESULTS, description=f"How many passages to return (1–{MAX_RESULTS}).")
    explain: bool = Field(False, description="Add per-hit lexical/dense ranks, scores and matched terms.")
    retriever: Retriever = Field(
        "hybrid", description="Which retriever answers: the default fusion, or one side alone.")

    @field_validator("q")
    @classmethod
    def question_length(cls, value: str) -> str:
        return checked_question(value)


class Span(BaseModel):
    start: int = Field(..., description="Offset of the first character, inside the passage text.")
    end: int = Field(..., description="Offset just past the last character.")


class DocumentRef(BaseModel):
    id: str
    title: str
    publisher: str
    source_url: str | None = Field(None, description="The original web page, when known.")


class HitExplanation(BaseModel):
    lexical_rank: int | None = Field(None, description="Rank among the lexical candidates (None: not one).")
    lexical_score: float
    field_scores: dict[str, float] = Field(
        ..., description="BM25 score per lexical field: stems, grams (character n-grams), headings, "
                         "and sentences (the best sentence or pair of neighbouring sentences).")
    dense_rank: int | None = Field(None, description="Rank among the dense candidates (None: not one).")
    dense_score: float | None = Field(None, description="Cosine similarity of question and passage.")
    matched_terms: list[str] = Field(..., description="Question stems found in the passage.")
    coverage: float = Field(..., description="Share of the question's weighted words the passage covers.")


class SearchHit(BaseModel):
    rank: int
    score: float = Field(..., description="The ranking score (for hybrid: the fused score plus the sentence-evidence "
                                          "bonus); compare within one response only.")
    passage_id: str
    text: str = Field(..., description="The passage, exactly as it stands in the document body.")
    highlights: list[Span] = Field(..., description="The sentence(s) in `text` that best answer the question.")
    doc: DocumentRef
    section: str = Field(..., description="Heading path, e.g. 'Baggrundsviden › Definition'.")
    start: int = Field(..., description="Offset of the passage in the document body.")
    end: int
    explain: HitExplanation | None = None


class SearchResponse(BaseModel):
    query: str
    took_ms: float
    abstain: bool = Field(..., description="True when the confidence is below the abstention threshold (the "
                                           "documents probably do not answer); the closest passages are still listed.")
    confidence: float = Field(..., description="Estimated probability (0–1) that the documents answer the question, "
                                               "from the calibrated confidence model (docs/calibration/); with the "
                                               "lexical retriever, or no model fitted for the index's embedding model, "
                                               "the share of the question the best passage covers.")
    index_version: str = Field("", description="Build id of the index that answered.")
    results: list[SearchHit]

    @classmethod
    def from_result(cls, result: SearchResult, index_version: str = "") -> "SearchResponse":
        return cls.model_validate(result.to_json(index_version))


class PassageRef(BaseModel):
    id: str
    section: str
    start: int
    end: int


class DocumentResponse(BaseModel):
    id: str
    title: str
    publisher: str
    source_url: str | None
    language: str
    meta: dict[str, Any] = Field(default_factory=dict, description="Dates and other front-matter fields.")
    body: str = Field(..., description="The whole document (Markdown); passages are offsets into it.")
    passages: list[PassageRef]


class Health(BaseModel):
    status: Literal["ok"]
    index_version: str
    documents: int
    passages: int
    model: str
    built_at: str = Field("", description="When the index was built (UTC, ISO 8601).")


class ErrorItem(BaseModel):
    field: str
    message: str


class ErrorResponse(BaseModel):
    detail: str = Field(..., description="What went wrong and how to fix it.")
    errors: list[ErrorItem] = Field(default_factory=list)
