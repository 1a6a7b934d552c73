"""Building an index directory and switching to it atomically.

A build writes everything into a fresh staging folder next to the target, then points the
target path (a symbolic link) at it with one ``os.replace``: a reader sees the old index or
the new one, never a half-written one, and a build that crashes or is killed leaves the
active index untouched. The previous build is kept so running services can finish with it.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
from tqdm import tqdm

from indexer.dense import DenseIndex
from indexer.documents import Document, corpus_fingerprint, file_digests, load_corpus
from indexer.embedding_cache import FILE_NAME as CACHE_FILE
from indexer.embedding_cache import EmbeddingCache
from indexer.encoder import Encoder, encoder_for
from indexer.lexical import LexicalIndex, LexicalParams, passage_field_texts
from indexer.passages import Passage, split_passages
from indexer.settings import Settings
from indexer.store import (
    FORMAT_VERSION,
    MANIFEST,
    dedup_key,
    file_checksums,
    read_manifest,
    write_documents,
    write_originals,
    write_passages,
)


def lexical_params(settings: Settings) -> LexicalParams:
    return LexicalParams(settings.bm25_k1, settings.bm25_b, settings.ngram_min, settings.ngram_max)


def stale_reason(corpus_dir: Path, out: Path, settings: Settings) -> str | None:
    """Why the index at ``out`` must be rebuilt from ``corpus_dir``, or None when it is current."""
    return index_mismatch(out, corpus_fingerprint(corpus_dir), settings, "corpus changed")


def index_mismatch(out: Path, fingerprint: str, settings: Settings, changed: str) -> str | None:
    """Why the index at ``out`` is not one of the corpus with ``fingerprint`` built with ``settings``
    (``changed`` says so when only the fingerprint differs), or None when it is."""
    manifest = read_manifest(out)
    if manifest is None:
        return f"no index at {out}"
    if manifest.get("format_version") != FORMAT_VERSION:
        return "index format changed"
    if manifest.get("model") != settings.model:
        return f"model changed ({manifest.get('model')} → {settings.model})"
    if manifest.get("corpus_fingerprint") != fingerprint:
        return changed
    recorded = manifest.get("settings") or {}
    current = settings.index_settings()
    changed_settings = sorted(name for name in current.keys() | recorded.keys()
                              if recorded.get(name) != current.get(name))
    if changed_settings:
        return "index settings changed: " + ", ".join(
            f"{name} ({recorded.get(name)!r} → {current.get(name)!r})" for name in changed_settings)
    return None


def build_index(corpus_dir: Path, out: Path, settings: Settings, encoder: Encoder | None = None,
                progress: bool = True) -> dict:
    """Parse the corpus, split passages, build both indexes, publish atomically; return the manifest."""
    documents = load_corpus(corpus_dir)
    passages = [p for doc in documents
                for p in split_passages(doc, settings.passage_min_words, settings.passage_max_words)]
    return build_from_passages(documents, passages, out, settings, corpus_fingerprint(corpus_dir),
                               encoder=encoder, progress=progress, files=file_digests(corpus_dir))


def build_from_passages(documents: Sequence[Document], passages: Sequence[Passage], out: Path,
                        settings: Settings, fingerprint: str, encoder: Encoder | None = None,
                        progress: bool = True, before_publish: Callable[[Path], None] | None = None,
                        files: dict[str, str] | None = None) -> dict:
    """Index ready-made passages (the corpus build and benchmark corpora both end here)."""
    started = time.perf_counter()
    if not passages:
        raise ValueError("nothing to index: the corpus produced no passages")
    encoder = encoder or encoder_for(settings, building=True)
    builds = _builds_dir(out)
    builds.mkdir(parents=True, exist_ok=True)
    _remove_abandoned_staging(builds)
    build_id = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8]
    staging = builds / f"staging-{os.getpid()}-{build_id}"
    staging.mkdir()
    try:
        titles = {doc.id: doc.title for doc in documents}
        bodies, heading_texts = zip(*(passage_field_texts(p.text, p.headings, titles[p.doc_id]) for p in passages))
        answer_texts = ["" if p.is_reference_list else p.text for p in passages]
        lexical = LexicalIndex.build(bodies, heading_texts, lexical_params(settings), answer_texts, progress)
        vectors, embedded = embed_passages(encoder, [p.text for p in passages], settings.embed_batch_size, progress,
                                           embedding_cache(settings, encoder))
        dense = DenseIndex.build(vectors, settings.dense_exact_max, settings.hnsw_m, settings.hnsw_ef_construction,
                                 settings.hnsw_ef_search, progress)
        write_documents(staging, documents)
        write_originals(staging, documents)
        write_passages(staging, passages)
        lexical.save(staging)
        dense.save(staging)
        manifest = {
            "format_version": FORMAT_VERSION,
            "build_id": build_id,
            "built_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "model": encoder.name,
            "dimension": dense.dimension,
            "query_prefix": encoder.query_prefix,
            "passage_prefix": encoder.passage_prefix,
            "documents": len(documents),
            "passages": len(passages),
            "distinct_passages": len({dedup_key(p.text) for p in passages}),
            "corpus_fingerprint": fingerprint,
            "corpus_files": files or {},  # name → sha256, for `python -m indexer status`
            "embedded_passages": embedded,  # the others came from the embedding cache
            "settings": settings.model_copy(update={"model": encoder.name}).index_settings(),
            "build_seconds": round(time.perf_counter() - started, 2),
            "files": file_checksums(staging),  # size and sha256 of every other file, checked on load
        }
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8")
        if before_publish is not None:
            before_publish(staging)
        final = builds / build_id
        os.rename(staging, final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    _publish(final, out)
    _prune(builds, keep=final, count=settings.keep_builds)
    return manifest


def embed_passages(encoder: Encoder, texts: Sequence[str], batch_size: int, progress: bool = True,
                   cache: EmbeddingCache | None = None) -> tuple[np.ndarray, int]:
    """Every passage's vector, in order, with a progress bar over passages (rate and time left),
    and how many were embedded (the others came from ``cache``).

    Vectors in ``cache`` are taken from it; the others go to the encoder longest first, in chunks
    of a few batches, so that a batch holds passages of similar length (little padding), the bar
    moves as work is done, and each chunk is stored in the cache as soon as it is embedded."""
    vectors = np.zeros((len(texts), encoder.dimension), dtype=np.float32)
    cached = cache.lookup(texts) if cache is not None else {}
    for row, vector in cached.items():
        vectors[row] = vector
    order = sorted((i for i in range(len(texts)) if i not in cached), key=lambda i: -len(texts[i]))
    # a few batches per call; an encoder that spreads batches over workers (RayEncoder) asks for more
    chunk = int(getattr(encoder, "chunk_size", batch_size * 4))
    with tqdm(total=len(texts), desc="embedding passages", unit="passage", disable=not progress,
              mininterval=0.5, postfix={"cached": len(cached)}) as bar:
        bar.update(len(cached))
        for first in range(0, len(order), chunk):
            rows = order[first:first + chunk]
            encoded = encoder.encode_passages([texts[i] for i in rows])
            vectors[rows] = encoded
            if cache is not None:
                cache.store([texts[i] for i in rows], encoded)
            bar.update(len(rows))
    return vectors, len(order)


def embedding_cache(settings: Settings, encoder: Encoder) -> EmbeddingCache | None:
    """The cache of passage vectors for this encoder (None when switched off)."""
    if not settings.embedding_cache:
        return None
    key = f"{encoder.name}|{encoder.passage_prefix}|{settings.model_backend}"
    return EmbeddingCache(settings.data_dir / CACHE_FILE, key, encoder.dimension)


def _builds_dir(out: Path) -> Path:
    return out.parent / f".{out.name}.builds"


def _remove_abandoned_staging(builds: Path) -> None:
    """Delete staging folders left by builds that crashed or were killed."""
    for folder in builds.glob("staging-*"):
        pid = folder.name.split("-")[1]
        if not pid.isdigit() or not _process_alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _publish(final: Path, out: Path) -> None:
    link = out.parent / f".{out.name}.link-{uuid.uuid4().hex[:8]}"
    os.symlink(os.path.relpath(final, out.parent), link)
    if out.exists() and not out.is_symlink():  # an index from before builds were linked
        os.rename(out, _builds_dir(out) / f"legacy-{uuid.uuid4().hex[:8]}")
    os.replace(link, out)


def _prune(builds: Path, keep: Path, count: int) -> None:
    finished = sorted((p for p in builds.iterdir() if p.is_dir() and not p.name.startswith("staging-")),
                      key=lambda p: p.stat().st_mtime)
    for folder in finished[:-count]:
        if folder != keep:
            shutil.rmtree(folder, ignore_errors=True)
