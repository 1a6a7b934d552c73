"""Which reader takes which file, with the limits from the settings applied first."""

from __future__ import annotations

from pathlib import Path

from indexer.settings import Settings
from indexer.sources.docx import read_docx
from indexer.sources.extracted import ExtractedDocument, ExtractionError
from indexer.sources.html import read_html
from indexer.sources.pdf import read_pdf
from indexer.sources.text import read_markdown, read_text

#: File suffix → format name. Everything else in the inbox is listed as unsupported.
FORMATS = {".pdf": "pdf", ".docx": "docx", ".html": "html", ".htm": "html", ".txt": "text", ".md": "markdown"}
#: Formats whose documents have pages (citations say "side N").
PAGED_FORMATS = frozenset({"pdf"})


def source_format(path: Path) -> str | None:
    """The format name of ``path`` by its suffix, or None when no reader takes it."""
    return FORMATS.get(path.suffix.lower())


def supported_suffixes() -> str:
    return ", ".join(sorted(FORMATS))


def read_source(path: Path, settings: Settings) -> ExtractedDocument:
    """``path`` as text and structure, or ExtractionError saying why it cannot be used."""
    kind = source_format(path)
    if kind is None:
        raise ExtractionError("unsupported", f"{path.suffix or 'files without a suffix'} is not a format the import "
                                             f"reads; save it as one of {supported_suffixes()}")
    size = path.stat().st_size
    if size > settings.max_file_mb * 1_000_000:
        raise ExtractionError("too_large", f"the file is {size / 1_000_000:.1f} MB, over the limit of "
                                           f"{settings.max_file_mb:g} MB (PEERQA_MAX_FILE_MB)")
    if size == 0:
        raise ExtractionError("empty", "the file is empty (0 bytes)")
    if kind == "pdf":
        return read_pdf(path, ocr_languages=settings.ocr_languages if settings.ocr else None,
                        max_pages=settings.max_pages)
    readers = {"docx": read_docx, "html": read_html, "markdown": read_markdown, "text": read_text}
    return readers[kind](path)
