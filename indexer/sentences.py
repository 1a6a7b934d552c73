"""Danish-aware sentence boundaries, as character spans.

Used by the passage splitter (never cut mid-sentence) and by answer highlighting.
A line break is a boundary when the next line starts a block of its own (a blank line, a heading,
a list item, a quote or table row) or follows a heading; a line that merely continues the one
before (a wrapped paragraph, a list item's indented second line) is read on with it. Inside that
text, a sentence ends at
. ! ? followed by space and a capital letter, digit or quote, unless the dot belongs to a known
abbreviation ("bl.a.", "fx.", "mio.", "d. 3. januar") or to a short ordinal ("den 50. Super Bowl").
"""

from __future__ import annotations

import re

ABBREVIATIONS = frozenset(
    """
    bl.a f.eks fx ca jf nr evt inkl ekskl dvs pga osv mht mv m.v m.fl mfl mio mia kr pct
    hhv vha iht ift ifm jvf tlf ang vedr dr mr mrs prof st sct gl d e.g i.e etc vs no
    """.split()
)

_CANDIDATE = re.compile(r"[.!?…]+[\"'”’)\]]*(?=\s+[\"'“”‘’(\[]?[A-ZÆØÅ0-9])")
_WORD_BEFORE = re.compile(r"([\w.]+)$")
_LONGEST_WORD = 64  # characters looked at before a dot (any abbreviation is far shorter)


def _is_abbreviation(text: str, dot_pos: int) -> bool:
    if text[dot_pos] != ".":
        return False
    # only the few characters before the dot can hold an abbreviation; searching from the start of
    # the text made splitting a long passage quadratic in its length
    match = _WORD_BEFORE.search(text, max(0, dot_pos - _LONGEST_WORD), dot_pos)
    if match is None:
        return False
    word = match.group(1).lower().strip(".")
    if word in ABBREVIATIONS:
        return True
    if word.isdigit() and len(word) <= 2:  # ordinal: "d. 3. januar", "den 50. Super Bowl"
        return True
    return len(word) == 1 and word.isalpha()  # initials: "H. C. Andersen"


_BLOCK_START = re.compile(r"\s*(?:[-*+>|#]|\d+[.)])(?:\s|$)|\s*$")


def _continues(text: str, previous: tuple[int, int], start: int, end: int) -> bool:
    """Whether the line ``text[start:end]`` continues the line ``previous`` (same block)."""
    before = text[previous[0]:previous[1]]
    if not before.strip() or before.lstrip().startswith("#"):
        return False
    return _BLOCK_START.match(text, start, end) is None


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Spans ``(s, e)`` of the sentences in ``text[start:end]``, trimmed of surrounding space."""
    end = len(text) if end is None else end
    spans: list[tuple[int, int]] = []
    lines: list[tuple[int, int]] = []
    line_start = start
    while line_start <= end:
        newline = text.find("\n", line_start, end)
        line_end = end if newline == -1 else newline
        if lines and _continues(text, lines[-1], line_start, line_end):
            lines[-1] = (lines[-1][0], line_end)  # the block's text so far: its last line decides
        else:
            lines.append((line_start, line_end))
        if newline == -1:
            break
        line_start = line_end + 1
    for block_start, block_end in lines:
        _split_line(text, block_start, block_end, spans)
    return spans


def _split_line(text: str, start: int, end: int, spans: list[tuple[int, int]]) -> None:
    cursor = start
    for match in _CANDIDATE.finditer(text, start, end):
        if _is_abbreviation(text, match.start()):
            continue
        _add_trimmed(text, cursor, match.end(), spans)
        cursor = match.end()
    _add_trimmed(text, cursor, end, spans)


def _add_trimmed(text: str, start: int, end: int, spans: list[tuple[int, int]]) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end > start:
        spans.append((start, end))


def answer_sentence_spans(text: str) -> list[tuple[int, int]]:
    """The sentences of a passage that can answer a question (heading lines are context, not answers)."""
    return [(s, e) for s, e in sentence_spans(text) if text[s] != "#"]


def answer_units(text: str) -> list[tuple[int, int]]:
    """Each answer sentence, and each pair of neighbouring ones (an answer often spans a sentence
    and the one that names its subject)."""
    spans = answer_sentence_spans(text)
    return spans + [(a[0], b[1]) for a, b in zip(spans, spans[1:])]
