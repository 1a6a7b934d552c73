"""Splitting a document body into passages that follow its structure.

Blocks are headings, paragraphs and whole lists, as ``indexer.markdown`` reads them (the web
renderer reads the same blocks). Headings join the text they introduce; blocks are packed into
passages of roughly ``min_words``–``max_words`` words, a new section starts a new passage once
the current one is long enough, and a block that is too long is cut between sentences. Every
passage keeps the heading path it sits under and its character offsets into the body:
``body[start:end] == text``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from indexer.documents import Document
from indexer.markdown import read_blocks
from indexer.sentences import sentence_spans

SECTION_SEPARATOR = " › "
#: Section headings of reference lists: their entries cite sources, they do not answer questions.
REFERENCE_HEADINGS = frozenset(
    "kilder kilde kildeliste litteratur litteraturliste referencer referenceliste noter bibliografi "
    "references sources bibliography".split())
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class Passage:
    id: str
    doc_id: str
    start: int
    end: int
    text: str
    section: str
    headings: tuple[str, ...] = ()  # every heading the passage sits under or contains
    page_start: int | None = None  # paged sources: the pages (1-based) the passage lies on
    page_end: int | None = None

    @property
    def is_reference_list(self) -> bool:
        """Whether the passage sits in a reference-list section ("Kilder", "Litteratur", …)."""
        last = self.section.rsplit(SECTION_SEPARATOR, 1)[-1].strip().rstrip(":").casefold()
        return last in REFERENCE_HEADINGS

    @property
    def pages(self) -> tuple[int, int] | None:
        return None if self.page_start is None else (self.page_start, self.page_end or self.page_start)

    def to_json(self) -> dict:
        data = {
            "id": self.id, "doc_id": self.doc_id, "start": self.start, "end": self.end,
            "text": self.text, "section": self.section, "headings": list(self.headings),
        }
        if self.page_start is not None:
            data |= {"page_start": self.page_start, "page_end": self.page_end}
        return data

    @classmethod
    def from_json(cls, data: dict) -> "Passage":
        return cls(
            id=data["id"], doc_id=data["doc_id"], start=data["start"], end=data["end"],
            text=data["text"], section=data["section"], headings=tuple(data.get("headings", ())),
            page_start=data.get("page_start"), page_end=data.get("page_end"),
        )


@dataclass
class _Block:
    start: int
    end: int
    words: int
    heading_level: int = 0  # 0 for text
    heading_text: str = ""


@dataclass
class _Unit:
    """Text (with any headings just before it) that must stay together."""

    start: int
    end: int
    words: int
    path: tuple[str, ...]
    opens_section: bool
    headings: list[str] = field(default_factory=list)


def count_words(text: str) -> int:
    return len(_WORD.findall(text))


def _blocks(body: str) -> list[_Block]:
    """Headings, and the paragraphs and whole lists they introduce, as read by ``indexer.markdown``."""
    blocks: list[_Block] = []
    for block in read_blocks(body):
        if block.kind == "heading":
            start, end = block.ranges[0]
            text = body[start:end]
            blocks.append(_Block(block.start, block.end, count_words(text), block.level, text))
        else:
            blocks.append(_Block(block.start, block.end, count_words(body[block.start:block.end])))
    return blocks


def _units(body: str, blocks: list[_Block], max_words: int) -> list[_Unit]:
    stack: list[tuple[int, str]] = []
    units: list[_Unit] = []
    pending: list[_Block] = []  # headings waiting for their text
    for block in blocks:
        if block.heading_level:
            while stack and stack[-1][0] >= block.heading_level:
                stack.pop()
            stack.append((block.heading_level, block.heading_text))
            pending.append(block)
            continue
        path = tuple(text for _, text in stack)
        pieces = _split_long(body, block, max_words)
        for i, (start, end, words) in enumerate(pieces):
            heads = pending if i == 0 else []
            units.append(_Unit(
                start=heads[0].start if heads else start,
                end=end,
                words=words + sum(h.words for h in heads),
                path=path,
                opens_section=bool(heads),
                headings=[h.heading_text for h in heads],
            ))
        pending = []
    if pending:  # trailing headings with no text: keep them, so no text is ever dropped
        path = tuple(text for _, text in stack)
        units.append(_Unit(pending[0].start, pending[-1].end, sum(h.words for h in pending), path,
                           True, [h.heading_text for h in pending]))
    return units


def _split_long(body: str, block: _Block, max_words: int) -> list[tuple[int, int, int]]:
    """Cut a block longer than ``max_words`` into runs of whole sentences."""
    if block.words <= max_words:
        return [(block.start, block.end, block.words)]
    pieces: list[tuple[int, int, int]] = []
    cur_start, cur_end, cur_words = -1, -1, 0
    for s, e in sentence_spans(body, block.start, block.end):
        words = count_words(body[s:e])
        if cur_start >= 0 and cur_words + words > max_words:
            pieces.append((cur_start, cur_end, cur_words))
            cur_start, cur_words = -1, 0
        if cur_start < 0:
            cur_start = s
        cur_end, cur_words = e, cur_words + words
    if cur_start >= 0:
        pieces.append((cur_start, cur_end, cur_words))
    return _balance_tail(pieces, max_words)


def _balance_tail(pieces: list[tuple[int, int, int]], max_words: int) -> list[tuple[int, int, int]]:
    if len(pieces) >= 2 and pieces[-1][2] < max_words // 4 and pieces[-2][2] + pieces[-1][2] <= max_words * 5 // 4:
        (s, _, w1), (_, e, w2) = pieces[-2], pieces[-1]
        pieces[-2:] = [(s, e, w1 + w2)]
    return pieces


def split_passages(doc: Document, min_words: int = 40, max_words: int = 200) -> list[Passage]:
    """The passages of ``doc`` in reading order."""
    body = doc.body
    units = _units(body, _blocks(body), max_words)
    groups: list[list[_Unit]] = []
    for unit in units:
        current = groups[-1] if groups else None
        words = sum(u.words for u in current) if current else 0
        fits = current is not None and words + unit.words <= max_words
        if fits and (not unit.opens_section or words < min_words):
            current.append(unit)
        else:
            groups.append([unit])
    if len(groups) >= 2 and sum(u.words for u in groups[-1]) < min_words // 2:
        tail = groups.pop()
        if sum(u.words for u in groups[-1]) + sum(u.words for u in tail) <= max_words * 5 // 4:
            groups[-1].extend(tail)
        else:
            groups.append(tail)

    passages: list[Passage] = []
    for number, group in enumerate(groups, start=1):
        start, end = group[0].start, group[-1].end
        path = tuple(h for h in group[0].path if h != doc.title)
        headings = list(group[0].path)
        for unit in group:
            headings.extend(h for h in unit.headings if h not in headings)
        pages = doc.page_span(start, end)
        passages.append(Passage(
            id=f"{doc.id}#{number}",
            doc_id=doc.id,
            start=start,
            end=end,
            text=body[start:end],
            section=SECTION_SEPARATOR.join(path),
            headings=tuple(headings),
            page_start=pages[0] if pages else None,
            page_end=pages[1] if pages else None,
        ))
    return passages
