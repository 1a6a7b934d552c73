"""Writing a Markdown body block by block, so every reader produces text that
``indexer.markdown`` reads back as the same headings, paragraphs and list items.

Text from PDFs, Word files and web pages is folded onto one line per block. A paragraph that
starts like a heading (``# ``) or a code fence would change the structure of what follows, so
:class:`BodyWriter` puts a backslash before it; a paragraph that starts like a list item
(``- ``, ``1. ``) is read as a one-item list with the same text, so it is left as written. It
also records where each page starts.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

_SPACE = re.compile(r"\s+")
#: A line start CommonMark would read as a heading or a code fence.
_STRUCTURE = re.compile(r"^(#{1,6}(?:\s|$)|`{3,}|~{3,})")


def clean_text(text: str) -> str:
    """``text`` on one line: runs of whitespace (line breaks, tabs, no-break spaces) become one
    space, soft hyphens and NUL disappear."""
    text = text.replace("\u00ad", "").replace("\0", "")
    return _SPACE.sub(" ", text).strip()


def escape_line(text: str) -> str:
    """``text`` (one line) with a backslash before a start Markdown would read as structure."""
    return "\\" + text if _STRUCTURE.match(text) else text


class BodyWriter:
    """Collects blocks; :meth:`finish` returns the body and the offset where each page starts."""

    def __init__(self) -> None:
        self._parts: list[str] = []
        self._length = 0
        self._page_starts: list[int] = []
        self._pending_pages = 0  # pages begun whose first text is not written yet
        self._last_kind = ""

    def _add(self, kind: str, text: str) -> None:
        if not text:
            return
        # list items of one list stay on adjacent lines; every other block is a blank line apart
        separator = "" if not self._parts else ("\n" if kind == "item" and self._last_kind == "item" else "\n\n")
        self._append(separator, text)
        self._last_kind = kind

    def _append(self, separator: str, text: str) -> None:
        """Add ``text`` after ``separator``; pages begun since the last text begin where it does."""
        self._parts.append(separator + text)
        self._length += len(separator)
        self._page_starts += [self._length] * self._pending_pages
        self._pending_pages = 0
        self._length += len(text)

    def heading(self, level: int, text: str) -> None:
        text = clean_text(text).rstrip("#").rstrip()
        if text:
            self._add("heading", "#" * min(max(level, 1), 6) + " " + text)

    def paragraph(self, text: str) -> None:
        self._add("paragraph", escape_line(clean_text(text)))

    def list_item(self, text: str) -> None:
        text = clean_text(text)
        if text:
            self._add("item", "- " + text)

    def new_page(self) -> None:
        """The blocks that follow are on the next page (call once before the first page too).
        The page begins at its first character of text, however that text joins what came before."""
        self._pending_pages += 1

    def continue_paragraph(self, text: str) -> None:
        """Text that continues the last paragraph (e.g. across a page break): joined with a space,
        or straight on after a line-end hyphen."""
        text = clean_text(text)
        if not text:
            return
        if not self._parts or self._last_kind != "paragraph":
            self.paragraph(text)
            return
        joiner = "" if self._parts[-1].endswith("-") and text[:1].islower() else " "
        if joiner == "":
            self._parts[-1] = self._parts[-1][:-1]
            self._length -= 1
        self._append(joiner, text)

    @property
    def empty(self) -> bool:
        return not self._parts

    def finish(self) -> tuple[str, tuple[int, ...]]:
        body = "".join(self._parts) + ("\n" if self._parts else "")
        starts = [*self._page_starts, *[len(body)] * self._pending_pages]  # trailing pages without text
        if starts:
            starts[0] = 0
        return body, tuple(starts)


def table_items(rows: Sequence[Sequence[str | None]]) -> list[str]:
    """A table's rows as list-item texts: ``"Header: value; Header: value"`` per data row, the
    first row being the header (when it looks like one:
    some cell filled, all short, none a number;
    otherwise each row's cells joined with "; "); a one-row or one-column table gives one item per cell.

    ``None`` marks a grid position covered by a merged cell, so a merged cell's text is used once.
    """
    grid = [[clean_text(cell) if cell else "" for cell in row] for row in rows]
    grid = [row for row in grid if any(row)]
    if not grid:
        return []
    if len(grid) == 1 or max(len(row) for row in grid) == 1:
        return [cell for row in grid for cell in row if cell]
    header, *data = grid
    if not _looks_like_header(header):  # no header row: each row's cells as they stand
        return ["; ".join(cell for cell in row if cell) for row in grid]
    return ["; ".join(_labelled(header, row)) for row in data]


def _labelled(header: Sequence[str], row: Sequence[str]) -> list[str]:
    """``"Header: value"`` for each non-empty cell (just the value under an empty header)."""
    labels = [*header, *[""] * (len(row) - len(header))]
    return [f"{label}: {value}" if label else value for label, value in zip(labels, row, strict=False)
            if value]


def _looks_like_header(header: Sequence[str]) -> bool:
    if not any(header) or any(len(cell) > 60 for cell in header):
        return False
    return not any(re.fullmatch(r"[-+]?[\d.,\s%]+", cell) for cell in header if cell)
