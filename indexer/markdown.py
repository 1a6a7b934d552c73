"""The block structure of a Markdown text, as exact character offsets into that text.

The one reader of Markdown blocks: the passage splitter (``indexer/passages.py``) and the web
renderer (``web/render.py``) both use it, so a heading is a heading everywhere. markdown-it-py
(CommonMark) decides where blocks begin and end; its line maps are turned into offsets into the
text exactly as given, so ``text[start:end]`` is always a verbatim slice. Inline markup (emphasis,
links, code spans) is not interpreted: the product shows the source text as written.

What the reader returns, in reading order:

- ``heading`` – an ATX (``## Titel``) or setext (``Titel`` over ``===``) heading. Its one range is
  the heading text without the ``#``s, a closing ``#`` sequence or surrounding spaces.
- ``list`` – a bullet or numbered list, one range per item from just after its marker to its
  last character, and the marker's own span in ``markers``. A nested list is not flattened: it
  stays inside its parent item's range, written as in the source (its own markers included).
- ``paragraph`` – a paragraph, with one range trimmed of surrounding whitespace. Every other
  block (block quote, code block, HTML block, thematic break, link reference definition) is read
  as a paragraph covering its lines verbatim, markers included, so no text is ever hidden.

``start``/``end`` span the whole block, from its first to just past its last non-blank character
(for a heading that includes the ``#``s). Every non-blank character of the text lies inside
exactly one block's span.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import islice
from typing import Literal

from markdown_it import MarkdownIt
from markdown_it.token import Token

Span = tuple[int, int]
BlockKind = Literal["heading", "paragraph", "list"]

_PARSER = MarkdownIt("commonmark")
#: Line breaks as markdown-it counts lines (it turns each of them into "\n" before parsing).
_LINE_BREAK = re.compile(r"\r\n?|\n")
_LIST_OPEN = frozenset({"bullet_list_open", "ordered_list_open"})


@dataclass(frozen=True)
class MarkdownBlock:
    kind: BlockKind
    start: int
    end: int
    ranges: tuple[Span, ...]  # what the block says: heading text, one range per list item, paragraph
    level: int = 0  # heading level 1–6; 0 for paragraphs and lists
    markers: tuple[Span, ...] = ()  # list items only: each item's bullet or number as written


def read_blocks(text: str) -> list[MarkdownBlock]:
    """The blocks of ``text`` in reading order, with offsets into ``text`` itself."""
    # markdown-it also replaces NUL with U+FFFD; that keeps every offset, so the parsed source
    # and ``text`` line up character for character within each line.
    source = text.replace("\0", "\ufffd")
    lines = [0, *(m.end() for m in _LINE_BREAK.finditer(text)), len(text)]
    tokens = _PARSER.parse(source)
    blocks: list[MarkdownBlock] = []
    covered = 0  # lines before this one belong to a block already
    for index, token in enumerate(tokens):
        if token.level != 0 or token.nesting == -1 or token.map is None:
            continue
        first, last = token.map
        # Lines markdown-it makes no token for (link reference definitions) are text too.
        blocks.append(_paragraph(text, lines[covered], lines[first]))
        if token.type == "heading_open":
            blocks.append(_heading(source, lines, first, last, token, tokens[index + 1]))
        elif token.type in _LIST_OPEN:
            blocks.append(_list(source, lines, first, last, islice(tokens, index + 1, None)))
        else:
            blocks.append(_paragraph(text, lines[first], lines[last]))
        covered = last
    blocks.append(_paragraph(text, lines[covered], len(text)))
    return [block for block in blocks if block.start < block.end]  # drops the blank gaps


def _trim(text: str, start: int, end: int) -> Span:
    """``(start, end)`` narrowed to the first and past the last non-blank character; an empty
    span at ``start`` if there is none."""
    while end > start and text[end - 1].isspace():
        end -= 1
    while start < end and text[start].isspace():
        start += 1
    return start, end


def _paragraph(text: str, start: int, end: int) -> MarkdownBlock:
    start, end = _trim(text, start, end)
    return MarkdownBlock("paragraph", start, end, ((start, end),))


def _heading(source: str, lines: list[int], first: int, last: int, token: Token, inline: Token) -> MarkdownBlock:
    """The heading on lines ``first`` to ``last - 1``; ``inline`` is the token holding its text."""
    start, end = _trim(source, lines[first], lines[last])
    if token.markup.startswith("#"):
        # ATX: the inline content is the line after the #s, stripped of spaces and closing #s,
        # so it is found at its first occurrence after the opening #s.
        at = source.find(inline.content, start + len(token.markup), end)
        content = _trim(source, at, at + len(inline.content))
    else:  # setext: every line but the ===/--- underline
        content = _trim(source, lines[first], lines[last - 1])
    return MarkdownBlock("heading", start, end, (content,), level=int(token.tag[1:]))


def _list(source: str, lines: list[int], first: int, last: int, rest: Iterable[Token]) -> MarkdownBlock:
    """The list on lines ``first`` to ``last - 1``; ``rest`` are the tokens after its opening one."""
    ranges: list[Span] = []
    markers: list[Span] = []
    for item in rest:
        if item.level == 0:  # the list's closing token
            break
        if item.type != "list_item_open" or item.level != 1 or item.map is None:
            continue  # the items' contents, and nested lists, stay inside their item
        item_first, item_last = item.map
        marker_start, _ = _trim(source, lines[item_first], lines[item_first + 1])
        marker_end = marker_start + len(item.info + item.markup)  # info holds a number's digits
        markers.append((marker_start, marker_end))
        ranges.append(_trim(source, marker_end, lines[item_last]))
    start, end = _trim(source, lines[first], lines[last])
    return MarkdownBlock("list", start, end, tuple(ranges), markers=tuple(markers))


__all__ = ["BlockKind", "MarkdownBlock", "Span", "read_blocks"]
