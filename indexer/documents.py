"""Reading the corpus: one Markdown file per source document, with YAML front matter."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

REQUIRED_FIELDS = ("id", "title", "publisher")
_ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]*$")


class CorpusError(ValueError):
    """A corpus file cannot be used; the message names the file and says how to fix it."""


@dataclass(frozen=True)
class Document:
    id: str
    title: str
    publisher: str
    body: str
    source_url: str | None = None
    language: str = "da"
    path: str = ""
    meta: dict[str, Any] = field(default_factory=dict)

    def public_meta(self) -> dict[str, Any]:
        """Front-matter fields beyond the core ones (dates, source file...), JSON-friendly."""
        return {k: (v if isinstance(v, (int, float, bool)) or v is None else str(v)) for k, v in self.meta.items()}


def parse_document(text: str, path: Path) -> Document:
    """Split front matter from body; raise CorpusError naming ``path`` on any problem."""
    if not text.startswith("---"):
        raise CorpusError(f"{path}: no YAML front matter; start the file with a '---' line, then id, title, publisher")
    match = re.match(r"^---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|$)", text, flags=re.DOTALL)
    if match is None:
        raise CorpusError(f"{path}: front matter is not closed; add a '---' line after the metadata")
    try:
        meta = yaml.safe_load(match.group(1)) or {}
    except yaml.YAMLError as exc:
        raise CorpusError(f"{path}: front matter is not valid YAML: {exc}") from exc
    if not isinstance(meta, dict):
        raise CorpusError(f"{path}: front matter must be key: value pairs")
    missing = [name for name in REQUIRED_FIELDS if not str(meta.get(name) or "").strip()]
    if missing:
        raise CorpusError(f"{path}: front matter lacks {', '.join(missing)}")
    doc_id = str(meta["id"]).strip()
    if not _ID_PATTERN.match(doc_id):
        raise CorpusError(f"{path}: id {doc_id!r} must be lower-case letters, digits and hyphens")
    body = text[match.end():].replace("\r\n", "\n")
    if not body.strip():
        raise CorpusError(f"{path}: the body is empty; add the document text after the front matter")
    extra = {k: v for k, v in meta.items() if k not in {"id", "title", "publisher", "source_url", "language"}}
    return Document(
        id=doc_id,
        title=str(meta["title"]).strip(),
        publisher=str(meta["publisher"]).strip(),
        body=body,
        source_url=(str(meta["source_url"]).strip() or None) if meta.get("source_url") else None,
        language=str(meta.get("language") or "da"),
        path=str(path),
        meta=extra,
    )


def corpus_files(corpus_dir: Path) -> list[Path]:
    if not corpus_dir.is_dir():
        raise CorpusError(f"{corpus_dir}: corpus folder not found; pass --corpus with a folder of .md files")
    files = sorted(p for p in corpus_dir.glob("*.md") if p.name.lower() != "readme.md")
    if not files:
        raise CorpusError(f"{corpus_dir}: no .md documents found")
    return files


def load_corpus(corpus_dir: Path) -> list[Document]:
    """Every document in ``corpus_dir``; ids must be unique."""
    documents: list[Document] = []
    seen: dict[str, str] = {}
    for path in corpus_files(corpus_dir):
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise CorpusError(f"{path}: not UTF-8 text ({exc})") from exc
        doc = parse_document(text, path)
        if doc.id in seen:
            raise CorpusError(f"{path}: id {doc.id!r} is already used by {seen[doc.id]}")
        seen[doc.id] = str(path)
        documents.append(doc)
    return documents


def file_digests(corpus_dir: Path) -> dict[str, str]:
    """Each corpus file's name and the sha256 of its bytes (what a build records, to say later
    which files changed)."""
    return {path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in corpus_files(corpus_dir)}


def corpus_fingerprint(corpus_dir: Path) -> str:
    """A hash of every corpus file's name and bytes: it changes whenever the corpus does."""
    digest = hashlib.sha256()
    for path in corpus_files(corpus_dir):
        digest.update(path.name.encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()
