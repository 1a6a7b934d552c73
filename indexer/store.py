"""The files of an index directory, and loading them back."""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from indexer.dense import DenseIndex
from indexer.documents import Document
from indexer.lexical import LexicalIndex
from indexer.passages import Passage

FORMAT_VERSION = 3


class IndexNotFound(FileNotFoundError):
    """No usable index at a path; the message says how to build one."""


def dedup_key(text: str) -> str:
    """Passages with the same words (ignoring case, spacing, punctuation) share this key."""
    folded = re.sub(r"[\W_]+", " ", unicodedata.normalize("NFKC", text).casefold()).strip()
    return hashlib.sha1(folded.encode()).hexdigest()[:16]


def read_manifest(folder: Path) -> dict | None:
    try:
        return json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (FileNotFoundError, NotADirectoryError, json.JSONDecodeError):
        return None


def write_documents(folder: Path, documents: Sequence[Document]) -> None:
    rows = [{"id": d.id, "title": d.title, "publisher": d.publisher, "source_url": d.source_url,
             "language": d.language, "body": d.body, "meta": d.public_meta()} for d in documents]
    (folder / "documents.json").write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")


def write_passages(folder: Path, passages: Sequence[Passage]) -> None:
    with (folder / "passages.jsonl").open("w", encoding="utf-8") as handle:
        for passage in passages:
            handle.write(json.dumps(passage.to_json(), ensure_ascii=False) + "\n")


@dataclass
class IndexData:
    path: Path  # the resolved build folder
    manifest: dict
    documents: dict[str, Document]
    passages: list[Passage]
    lexical: LexicalIndex
    dense: DenseIndex


def load_index(path: Path) -> IndexData:
    """Load the index at ``path`` (the link a build publishes, or a build folder)."""
    folder = path.resolve()
    manifest = read_manifest(folder)
    if manifest is None:
        raise IndexNotFound(f"no index at {path}: build one with `python -m indexer build --out {path}`")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise IndexNotFound(f"index at {path} has format {manifest.get('format_version')}, this code reads "
                            f"{FORMAT_VERSION}: rebuild with `python -m indexer build --out {path}`")
    rows = json.loads((folder / "documents.json").read_text(encoding="utf-8"))
    documents = {
        r["id"]: Document(id=r["id"], title=r["title"], publisher=r["publisher"], body=r["body"],
                          source_url=r.get("source_url"), language=r.get("language", "da"), meta=r.get("meta", {}))
        for r in rows
    }
    with (folder / "passages.jsonl").open(encoding="utf-8") as handle:
        passages = [Passage.from_json(json.loads(line)) for line in handle if line.strip()]
    lexical = LexicalIndex.load(folder)
    dense = DenseIndex.load(folder)
    if not (len(passages) == lexical.size == dense.size == manifest.get("passages")):
        raise IndexNotFound(f"index at {path} is inconsistent (passage counts differ): rebuild it")
    return IndexData(folder, manifest, documents, passages, lexical, dense)
