"""What every source reader returns, and how it says a file cannot be used."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

#: Why a file was not imported. ``no_text``: a scan or image-only PDF with no text layer (and no OCR).
SkipKind = Literal["encrypted", "corrupt", "empty", "no_text", "too_large", "unsupported", "duplicate"]


class ExtractionError(Exception):
    """A file that cannot be imported; ``reason`` is one plain sentence for the person who brought it."""

    def __init__(self, kind: SkipKind, reason: str) -> None:
        super().__init__(reason)
        self.kind: SkipKind = kind
        self.reason = reason


@dataclass(frozen=True)
class ExtractedDocument:
    """One source file as text.

    ``body`` is Markdown as ``indexer.markdown`` reads it: ``#`` headings (level from the source's
    structure), paragraphs separated by a blank line, ``- `` list items, no inline markup. For a
    paged format, ``page_starts[i]`` is the offset in ``body`` where page ``i + 1`` begins (one entry
    per page, non-decreasing, the first is 0); a page without text starts where the next one does.
    Unpaged formats leave it empty.
    """

    body: str
    title: str | None = None  # from the file's own metadata, else its first heading
    page_starts: tuple[int, ...] = ()
    publisher: str | None = None  # the organisation (or author) the source names
    author: str | None = None
    published: str | None = None  # ISO date, "YYYY" or "YYYY-MM-DD", as the source states it
    modified: str | None = None
    language: str | None = None  # ISO 639-1 when the source declares it
    source_url: str | None = None  # the address a saved web page names as its own (canonical link)
    warnings: tuple[str, ...] = ()  # what a reader should know, e.g. "page 3 was read by OCR"
