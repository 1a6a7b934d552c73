"""Indexing a BEIR corpus with the project's own indexer.

Each corpus entry becomes one Document and one ready-made Passage (BEIR entries are passages
already, so the passage splitter is not applied); the title counts as a heading, so it is searched
in the heading field like a document title. Hits map back to BEIR ids through ``passage.doc_id``.
"""

from __future__ import annotations

import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from eval.beir import BeirDataset
from indexer.build import build_from_passages, index_mismatch
from indexer.documents import Document
from indexer.encoder import Encoder
from indexer.passages import Passage
from indexer.settings import Settings


def documents_and_passages(dataset: BeirDataset) -> tuple[list[Document], list[Passage]]:
    documents, passages = [], []
    for entry in dataset.corpus:
        documents.append(Document(id=entry.id, title=entry.title, publisher=dataset.name, body=entry.text))
        passages.append(Passage(id=entry.id, doc_id=entry.id, start=0, end=len(entry.text), text=entry.text,
                                section="", headings=(entry.title,) if entry.title else ()))
    return documents, passages


def build_beir_index(dataset: BeirDataset, out: Path, settings: Settings, encoder: Encoder | None = None,
                     progress: bool = True) -> dict:
    """Index the corpus of ``dataset`` at ``out`` (published atomically); return the manifest."""
    documents, passages = documents_and_passages(dataset)
    return build_from_passages(documents, passages, out, settings, dataset.fingerprint(),
                               encoder=encoder, progress=progress)


@contextmanager
def temporary_index(dataset: BeirDataset, settings: Settings, encoder: Encoder | None = None,
                    progress: bool = True) -> Iterator[tuple[Path, Settings, dict]]:
    """Build the corpus into a temporary folder, removed on exit: ``(index dir, settings, manifest)``."""
    with tempfile.TemporaryDirectory(prefix="peerqa-eval-") as folder:
        index_dir = Path(folder) / "index"
        settings = settings.model_copy(update={"index_dir": index_dir})
        manifest = build_beir_index(dataset, index_dir, settings, encoder, progress)
        yield index_dir, settings, manifest


def stale_reason(dataset: BeirDataset, index_dir: Path, settings: Settings) -> str | None:
    """Why the index at ``index_dir`` is not an index of this corpus with these settings (None: it is)."""
    return index_mismatch(index_dir, dataset.fingerprint(), settings,
                          f"it was not built from {dataset.path / 'corpus.jsonl'} (or the file changed)")