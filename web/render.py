"""Passage and document text as safe, lightly structured blocks for the templates.

The blocks are those of ``indexer.markdown``, the reader the passage splitter uses too: headings
(text without the ``#``s), paragraphs, and lists (one entry per item, without its bullet; a
numbered item keeps its number as written, since the number is part of what it says). Each block
is cut into segments that carry flags: ``answer`` (inside one of the search hit's highlight
offsets) and ``cited`` (inside the cited passage, document view only). The templates print
segments as text (autoescaped), never as HTML.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from urllib.parse import quote, urlencode

from indexer.markdown import MarkdownBlock, read_blocks

Span = tuple[int, int]


@dataclass(frozen=True)
class Segment:
    text: str
    answer: bool = False
    cited: bool = False


@dataclass
class Block:
    """``kind`` is heading, paragraph or list; ``start``/``end`` cover the whole block."""

    kind: str
    start: int
    end: int
    level: int = 0
    segments: list[Segment] = field(default_factory=list)
    items: list[list[Segment]] = field(default_factory=list)
    cited: bool = False  # some of the block lies inside the cited passage
    numbered: bool = False  # a numbered list: its items print their own numbers, so no bullets
    outline: int = 0  # heading level on a page whose h1 is the document title (see document_outline)
    page: int = 0  # paged sources: the page that begins with this block (see mark_pages); 0: none


def segments(text: str, start: int, end: int, answers: Sequence[Span] = (), cited: Span | None = None) -> list[Segment]:
    """``text[start:end]`` cut where the flags change; adjacent pieces with equal flags merged."""
    cuts = {start, end}
    for a, b in [*answers, *([cited] if cited else [])]:
        cuts.update(x for x in (a, b) if start < x < end)
    points = sorted(cuts)
    result: list[Segment] = []
    for a, b in pairwise(points):
        flags = (any(s <= a and b <= e for s, e in answers), bool(cited and cited[0] <= a and b <= cited[1]))
        if result and (result[-1].answer, result[-1].cited) == flags:
            result[-1] = Segment(result[-1].text + text[a:b], *flags)
        else:
            result.append(Segment(text[a:b], *flags))
    return [s for s in result if s.text]


def clean_spans(spans: Iterable[Span], length: int) -> list[Span]:
    """Spans that make sense for a text of ``length`` characters (others dropped)."""
    return [(int(s), int(e)) for s, e in spans if 0 <= int(s) < int(e) <= length]


def merge_spans(text: str, spans: Iterable[Span]) -> list[Span]:
    """Sorted spans, joined where only whitespace (or nothing) lies between them, so two answer
    sentences in a row read as one highlight."""
    merged: list[Span] = []
    for start, end in sorted(spans):
        if merged and not text[merged[-1][1]:start].strip():
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _is_numbered(text: str, block: MarkdownBlock) -> bool:
    return block.kind == "list" and text[block.markers[0][0]].isdigit()


def _shown_ranges(text: str, block: MarkdownBlock) -> list[Span]:
    """What the page prints of ``block``: its ranges, with a numbered item's number kept in front
    of its text (the number is part of what the item says; a bullet is only markup)."""
    if _is_numbered(text, block):
        return [(marker[0], item[1]) for marker, item in zip(block.markers, block.ranges, strict=True)]
    return list(block.ranges)


def text_blocks(text: str, answers: Iterable[Span] = (), cited: Span | None = None) -> list[Block]:
    """The blocks of ``text`` with their segments, answer highlights and cited flags."""
    answers = merge_spans(text, clean_spans(answers, len(text)))
    blocks: list[Block] = []
    for read in read_blocks(text):
        block = Block(read.kind, read.start, read.end, read.level, numbered=_is_numbered(text, read))
        pieces = [segments(text, a, b, answers, cited) for a, b in _shown_ranges(text, read)]
        if read.kind == "list":
            block.items = pieces
        else:
            block.segments = pieces[0]
        block.cited = bool(cited and cited[0] < block.end and block.start < cited[1])
        blocks.append(block)
    return blocks


def document_outline(blocks: list[Block]) -> list[Block]:
    """Give headings the levels h2–h6 under the page's h1 without skipping a level (a source
    that starts at ``##`` or jumps from ``#`` to ``###`` still makes a sound outline)."""
    previous = 1
    for block in blocks:
        if block.kind == "heading":
            block.outline = max(2, min(block.level + 1, previous + 1, 6))
            previous = block.outline
    return blocks


def mark_pages(blocks: list[Block], page_starts: Sequence[int]) -> list[Block]:
    """Mark, for each page of a paged source, the first block that lies on it (a page that
    begins inside a paragraph is marked at the next block; an empty page is not marked)."""
    page = 0
    for block in blocks:
        on = bisect_right(page_starts, block.start)  # the page this block begins on (1-based)
        if on > page:
            block.page, page = on, on
    return blocks


def page_label(first: int | None, last: int | None = None) -> str:
    """How a citation names pages: "side 4", "side 4–5"; "" for a source without pages."""
    if not first:
        return ""
    return f"side {first}" if not last or last == first else f"side {first}–{last}"


def cited_groups(blocks: list[Block]) -> list[tuple[bool, list[Block]]]:
    """Runs of blocks, each marked whether it touches the cited passage (for one wrapper)."""
    groups: list[tuple[bool, list[Block]]] = []
    for block in blocks:
        if groups and groups[-1][0] == block.cited:
            groups[-1][1].append(block)
        else:
            groups.append((block.cited, [block]))
    return groups


# --- links and citations ---------------------------------------------------------------

def component(value: str) -> str:
    """Like JavaScript's ``encodeURIComponent``."""
    return quote(value, safe="-_.!~*'()")


def highlight_param(spans: Iterable[Span]) -> str:
    return ",".join(f"{s}-{e}" for s, e in spans)


def parse_highlight_param(value: str | None, limit: int = 20) -> list[Span]:
    spans: list[Span] = []
    for part in (value or "").split(",")[:limit]:
        match = re.fullmatch(r"\s*(\d{1,9})-(\d{1,9})\s*", part)
        if match:
            spans.append((int(match.group(1)), int(match.group(2))))
    return spans


def document_url(doc_id: str, passage_id: str, spans: Iterable[Span] = (), question: str | None = None) -> str:
    url = f"/documents/{component(doc_id)}?passage={component(passage_id)}"
    hl = highlight_param(spans)
    if hl:
        url += f"&hl={hl}"
    if question:
        url += f"&q={component(question)}"
    return url + "#cited"


def chat_url(question: str | None = None, history: Sequence[str] = ()) -> str:
    params = [("q", question)] if question else []
    params += [("h", h) for h in history]
    return "/?" + urlencode(params) if params else "/"


def safe_source_url(url: str | None) -> str | None:
    """Only http(s) links are shown as the original web page."""
    return url if url and re.match(r"https?://", url, flags=re.IGNORECASE) else None


def citation(title: str, publisher: str, section: str, url: str, pages: str = "") -> str:
    """The text "Kopiér kilde" puts on the clipboard (``pages`` as :func:`page_label` writes it)."""
    parts = [f"{title.strip()}.", f"{publisher.strip()}."]
    if section.strip():
        parts.append(f"Afsnit: {section.strip()}.")
    if pages:
        parts.append(f"{pages[:1].upper()}{pages[1:]}.")
    parts.append(url)
    return " ".join(parts)


__all__ = ["Segment", "Block", "segments", "text_blocks", "document_outline", "cited_groups",
           "document_url", "chat_url", "citation", "mark_pages", "page_label", "safe_source_url", "parse_highlight_param", "highlight_param",
           "clean_spans", "merge_spans"]
