"""Pydantic models at the API boundary: what callers send and get back (shown in OpenAPI)."""

from __future__ import annotations

import sys
import unicodedata
from functools import lru_cache
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator

from indexer.settings import MAX_QUESTION_CHARS, MAX_RESULTS, Retriever
from retrieval.results import SearchResult

#: Why a question is not taken (``question_problem``): the API words it in English, the pages in Danish.
QuestionProblem = Literal["not_text", "empty", "too_long"]

#: Unicode categories that show nothing: control and format characters (zero-width space and
#: joiners, the byte-order mark, direction marks) and every kind of space or line separator.
BLANK_CATEGORIES = frozenset({"Cc", "Cf", "Zs", "Zl", "Zp"})
#: Letters and marks of other categories that show nothing either: the combining grapheme joiner,
#: the Hangul fillers, the blank braille pattern and the variation selectors.
BLANK_CHARACTERS = frozenset("\u034f\u115f\u1160\u2800\u3164\uffa0"
                             + "".join(map(chr, range(0xFE00, 0xFE10)))
                             + "".join(map(chr, range(0xE0100, 0xE01F0))))


def is_blank(char: str) -> bool:
    """True for a character that shows nothing (whitespace, zero-width and other invisible ones)."""
    return char in BLANK_CHARACTERS or unicodedata.category(char) in BLANK_CATEGORIES


def question_problem(value: str) -> QuestionProblem | None:
    """The one rule for questions, shared by the API (``checked_question``) and the pages
    (``web.pages.question_error``): ``not_text`` for a lone surrogate (possible in JSON's
    ``\\ud800`` escapes) or U+FFFD (what a failed decoding, such as ``%ED%A0%80`` in a query
    string, leaves behind); ``empty`` when nothing but blank characters is left; ``too_long``
    beyond ``MAX_QUESTION_CHARS`` after trimming the surrounding whitespace."""
    if "\ufffd" in value or any("\ud800" <= char <= "\udfff" for char in value):
        return "not_text"
    text = value.strip()
    if all(is_blank(char) for char in text):
        return "empty"
    if len(text) > MAX_QUESTION_CHARS:
        return "too_long"
    return None


def _pattern_char(code: int) -> str:
    # BMP characters as \\uXXXX (read alike by ECMA-262 and Python); others as themselves
    return f"\\u{code:04X}" if code <= 0xFFFF else chr(code)


@lru_cache(maxsize=1)
def question_pattern() -> str:
    """``question_problem`` as a JSON Schema ``pattern``: at least one character that is not
    blank, and no U+FFFD. (A lone surrogate cannot be written in a pattern; it is refused all the
    same.) Built once, when the OpenAPI schema is first generated."""
    ranges: list[list[int]] = []
    for code in range(sys.maxunicode + 1):
        if is_blank(chr(code)):
            if ranges and ranges[-1][1] == code - 1:
                ranges[-1][1] = code
            else:
                ranges.append([code, code])
    blank = "".join(_pattern_char(a) if a == b else f"{_pattern_char(a)}-{_pattern_char(b)}" for a, b in ranges)
    return f"^[^\\uFFFD]*[^{blank}\\uFFFD][^\\uFFFD]*$"


def question_schema(schema: dict[str, Any]) -> None:
    """The JSON Schema of a question field, as ``checked_question`` enforces it (lengths after
    trimming); use it as ``Field(json_schema_extra=question_schema)``."""
    schema.update(minLength=1, maxLength=MAX_QUESTION_CHARS, pattern=question_pattern())


def checked_question(value: str) -> str:
    """The question trimmed; a clear error when it is not text, empty or too long."""
    problem = question_problem(value)
    if problem == "not_text":
        raise ValueError("the question is not valid Unicode text (it holds a lone surrogate or U+FFFD, the mark "
                         "of a failed decoding): send it as UTF-8 text")
    if problem == "empty":
        raise ValueError(f"the question is empty: write a question of 1 to {MAX_QUESTION_CHARS} characters "
                         "(spaces and invisible characters do not count)")
    if problem == "too_long":
        raise ValueError(f"the question is {len(value.strip())} characters long: shorten it to at most "
                         f"{MAX_QUESTION_CHARS}")
    return value.strip()


class SearchParams(BaseModel):
    """The query parameters of ``GET /api/search``. Unknown ones are ignored, so a cache-buster
    such as ``_=123`` does no harm; ``explain`` takes the usual spellings (true/false, 1/0)."""

    model_config = ConfigDict(extra="ignore")

    q: str = Field(..., description=f"The question, 1 to {MAX_QUESTION_CHARS} characters after trimming "
                                    "(spaces and invisible characters alone do not make a question).",
                   examples=["Hvad er peerstøtte?"],
                   json_schema_extra=question_schema)
    k: int = Field(5, ge=1, le=MAX_RESULTS, description=f"How many passages to return (1–{MAX_RESULTS}).")
    explain: bool = Field(False, description="Add per-hit lexical/dense ranks, scores and matched terms.")
    retriever: Retriever = Field(
        "hybrid", description="Which retriever answers: the default fusion, or one side alone.")

    @field_validator("q")
    @classmethod
    def question_length(cls, value: str) -> str:
        return checked_question(value)


class SearchRequest(SearchParams):
    """The JSON body of ``POST /api/search``: unknown fields are refused, and ``explain`` must be
    a JSON boolean (``0`` or ``"yes"`` is a 422)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"q": "Hvad er peerstøtte?", "k": 5}]})

    explain: StrictBool = Field(False, description="Add per-hit lexical/dense ranks, scores and matched terms "
                                                   "(a JSON boolean).")


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
    page_start: int | None = Field(
        None, description="First page (1-based) of the passage in a paged source such as a PDF; absent for "
                          "sources without pages.")
    page_end: int | None = Field(None, description="Last page of the passage (the same as page_start when it lies "
                                                   "on one page); absent for sources without pages.")
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
    page_start: int | None = Field(
        None, description="First page (1-based) of the passage in a paged source such as a PDF; absent for "
                          "sources without pages.")
    page_end: int | None = Field(None, description="Last page of the passage (the same as page_start when it lies "
                                                   "on one page); absent for sources without pages.")


class DocumentResponse(BaseModel):
    id: str
    title: str
    publisher: str
    source_url: str | None
    language: str
    meta: dict[str, Any] = Field(default_factory=dict, description="Dates and other front-matter fields.")
    body: str = Field(..., description="The whole document (Markdown); passages are offsets into it.")
    pages: int | None = Field(None, description="Pages of a paged source (PDF); absent for sources without pages.")
    page_starts: list[int] | None = Field(
        None, description="Offset in the body where each page begins (page_starts[0] is page 1); absent for "
                          "sources without pages.")
    original_url: str | None = Field(
        None, description="Where the original file of an imported document can be downloaded (PDF, Word, HTML…); "
                          "absent for documents written as Markdown.")
    passages: list[PassageRef]


class Health(BaseModel):
    status: Literal["ok"] = Field(..., description="\"ok\" while an index is loaded and answering.")
    index_version: str = Field(..., description="Build id of the index answering questions.")
    documents: int = Field(..., description="Documents in that index.")
    passages: int = Field(..., description="Passages in that index.")
    model: str = Field(..., description="Embedding model the index was built with.")
    built_at: str = Field("", description="When the index was built (UTC, ISO 8601).")
    index_built_at: str = Field("", description="When the index answering questions was built (UTC, ISO 8601; "
                                                "the same as built_at).")
    degraded: str | None = Field(None, description="Why a newer published index build is not served (it could "
                                                   "not be loaded; the index above keeps answering), or null.")


class Readiness(BaseModel):
    ready: bool = Field(..., description="Whether this worker takes another search now.")
    index_version: str = Field(..., description="Build id of the index answering questions.")
    searches_running: int = Field(..., description="Searches this worker is running.")
    searches_waiting: int = Field(..., description="Searches waiting for a free slot.")
    search_slots: int = Field(..., description="Searches it runs at once (PEERQA_MAX_SEARCHES).")
    queue_size: int = Field(..., description="Searches it lets wait (PEERQA_SEARCH_QUEUE).")


class ErrorItem(BaseModel):
    field: str
    message: str


class ErrorResponse(BaseModel):
    detail: str = Field(..., description="What went wrong and how to fix it.")
    errors: list[ErrorItem] = Field(default_factory=list)
