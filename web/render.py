"""Passage and document text as safe, lightly structured blocks for the templates.

Passage text is Markdown-ish: lines starting with ``#`` are headings, lines starting with ``- ``
are list items (indented lines continue them), other lines make paragraphs. Each block is cut
into segments that carry flags: ``answer`` (inside one of the search hit's highlight offsets) and
``cited`` (inside the cited passage, document view only). The templates print segments as text
(autoescaped), never as HTML. ``web/static/app.js`` holds the same logic in JavaScript for the
cards it renders; ``tests/test_web_render.py`` checks that the two agree.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from urllib.parse import quote, urlencode

_HEADING = re.compile(r"(#{1,6})[ \t]+")
_ITEM = re.compile(r"[ \t]{0,3}[-*•][ \t]+")

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
    outline: int = 0  # heading level on a page whose h1 is the document title (see document_outline)


def _lines(text: str) -> Iterable[tuple[int, str]]:
    position = 0
    for line in text.split("\n"):
        yield position, line
        position += len(line) + 1


def parse_blocks(text: str) -> list[tuple[str, int, list[list[int]]]]:
    """``(kind, level, ranges)`` per block; ranges are ``[start, end]`` of the printed content
    (heading text without its ``#``s, one range per list item, one for a paragraph)."""
    blocks: list[tuple[str, int, list[list[int]]]] = []
    current: tuple[str, int, list[list[int]]] | None = None
    for position, line in _lines(text):
        end = position + len(line.rstrip())
        if not line.strip():
            current = None
            continue
        heading = _HEADING.match(line)
        if heading:
            blocks.append(("heading", len(heading.group(1)), [[position + heading.end(), end]]))
            current = None
            continue
        item = _ITEM.match(line)
        if item:
            if current is None or current[0] != "list":
                current = ("list", 0, [])
                blocks.append(current)
            current[2].append([position + item.end(), end])
            continue
        if current is not None and current[0] == "list" and line[:1] in (" ", "\t"):
            current[2][-1][1] = end  # an indented line continues the list item
            continue
        if current is None or current[0] != "paragraph":
            current = ("paragraph", 0, [[position + len(line) - len(line.lstrip()), end]])
            blocks.append(current)
        else:
            current[2][0][1] = end
    return blocks


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


def text_blocks(text: str, answers: Iterable[Span] = (), cited: Span | None = None) -> list[Block]:
    answers = merge_spans(text, clean_spans(answers, len(text)))
    blocks: list[Block] = []
    for kind, level, ranges in parse_blocks(text):
        block = Block(kind, ranges[0][0], ranges[-1][1], level)
        pieces = [segments(text, a, b, answers, cited) for a, b in ranges]
        if kind == "list":
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


def cited_groups(blocks: list[Block]) -> list[tuple[bool, list[Block]]]:
    """Runs of blocks, each marked whether it touches the cited passage (for one wrapper)."""
    groups: list[tuple[bool, list[Block]]] = []
    for block in blocks:
        if groups and groups[-1][0] == block.cited:
            groups[-1][1].append(block)
        else:
            groups.append((block.cited, [block]))
    return groups


# --- links and citations (same rules as app.js) -------------------------------------------------

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


def citation(title: str, publisher: str, section: str, url: str) -> str:
    """The text "Kopiér kilde" puts on the clipboard."""
    parts = [f"{title.strip()}.", f"{publisher.strip()}."]
    if section.strip():
        parts.append(f"Afsnit: {section.strip()}.")
    parts.append(url)
    return " ".join(parts)


__all__ = ["Segment", "Block", "parse_blocks", "segments", "text_blocks", "document_outline", "cited_groups",
           "document_url", "chat_url", "citation", "safe_source_url", "parse_highlight_param", "highlight_param",
           "clean_spans", "merge_spans"]
