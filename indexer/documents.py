"""Reading the corpus: one Markdown file per source document, with YAML front matter.

Documents written by hand sit in the corpus folder itself; documents imported from the files
users bring (``indexer.inbox``) sit in its ``imported/`` folder, with the original file beside
them and, for paged sources, a page map in the front matter: ``page_starts`` (the body offset
where each page begins) and ``body_sha256`` (the body the map was made for; a body edited by hand
no longer matches, and its page map is then ignored rather than trusted).
"""

from __future__ import annotations

import hashlib
import logging
import re
from bisect import bisect_right
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

REQUIRED_FIELDS = ("id", "title", "publisher")
#: Imported documents (Markdown written by ``indexer.inbox``, originals beside them), inside the corpus.
IMPORTED_FOLDER = "imported"
#: Front-matter fields that describe the file rather than the document: not shown as metadata.
_FILE_FIELDS = frozenset({"id", "title", "publisher", "source_url", "language", "page_starts", "body_sha256"})
log = logging.getLogger(__name__)
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
    page_starts: tuple[int, ...] = ()  # paged sources: body offset where page i + 1 begins

    @property
    def pages(self) -> int:
        """How many pages the source has (0: not a paged source)."""
        return len(self.page_starts)

    def page_at(self, offset: int) -> int | None:
        """The page (1-based) the body character at ``offset`` is on; None for unpaged sources."""
        if not self.page_starts:
            return None
        return max(bisect_right(self.page_starts, offset), 1)

    def page_span(self, start: int, end: int) -> tuple[int, int] | None:
        """First and last page of the body text ``start``–``end``; None for unpaged sources."""
        first = self.page_at(start)
        return None if first is None else (first, max(first, self.page_at(max(end - 1, start)) or first))

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
    extra = {k: v for k, v in meta.items() if k not in _FILE_FIELDS}
    return Document(
        id=doc_id,
        title=str(meta["title"]).strip(),
        publisher=str(meta["publisher"]).strip(),
        body=body,
        source_url=(str(meta["source_url"]).strip() or None) if meta.get("source_url") else None,
        language=str(meta.get("language") or "da"),
        path=str(path),
        meta=extra,
        page_starts=_page_starts(meta, body, path),
    )


def body_digest(body: str) -> str:
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def _page_starts(meta: dict[str, Any], body: str, path: Path) -> tuple[int, ...]:
    """The front matter's page map, when it is well formed and made for this very body."""
    starts = meta.get("page_starts")
    if starts is None:
        return ()
    valid = (isinstance(starts, list) and all(isinstance(s, int) and not isinstance(s, bool) for s in starts)
             and starts == sorted(starts) and (not starts or 0 <= starts[0] and starts[-1] <= len(body)))
    if not valid:
        log.warning("%s: page_starts is not a rising list of body offsets; the page map is ignored", path)
        return ()
    if meta.get("body_sha256") != body_digest(body):
        log.warning("%s: the body was changed after import, so its page map no longer fits and is ignored "
                    "(import the original file again to get page numbers back)", path)
        return ()
    return tuple(starts)


def corpus_files(corpus_dir: Path) -> list[Path]:
    """The corpus's documents: its own ``.md`` files, then the imported ones."""
    if not corpus_dir.is_dir():
        raise CorpusError(f"{corpus_dir}: corpus folder not found; pass --corpus with a folder of .md files")
    files = sorted(p for p in corpus_dir.glob("*.md") if p.name.lower() != "readme.md")
    files += sorted((corpus_dir / IMPORTED_FOLDER).glob("*.md"))
    if not files:
        raise CorpusError(f"{corpus_dir}: no .md documents found (add some, or import files with "
                          "`python -m indexer add PATH`)")
    return files


def corpus_name(path: Path, corpus_dir: Path) -> str:
    """How the manifest and ``indexer status`` name a corpus file: its path inside the corpus."""
    return path.relative_to(corpus_dir).as_posix()


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
    return {corpus_name(path, corpus_dir): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in corpus_files(corpus_dir)}


def corpus_fingerprint(corpus_dir: Path) -> str:
    """A hash of every corpus file's name and bytes: it changes whenever the corpus does."""
    digest = hashlib.sha256()
    for path in corpus_files(corpus_dir):
        digest.update(corpus_name(path, corpus_dir).encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()
