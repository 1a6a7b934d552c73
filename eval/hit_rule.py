"""The hit rule of ``shared/eval/README.md``: does a returned passage answer an evidence span?

After normalising both strings (NFKC, lower case, quotes and apostrophes removed, whitespace
folded), a passage answers when it contains the whole span, or their longest common substring is
at least 60 % of the span, or at least 90 % of a passage of 40+ characters.

``normalise_with_offsets`` gives the same normalised text with, for each of its characters, where it
came from in the original, so that a place found in normalised text can be shown in the original
(``eval.highlights`` locates the evidence inside a passage with it).
"""

from __future__ import annotations

import math
import re
import unicodedata
from difflib import SequenceMatcher

QUOTES = "’'`´‘”“\""
_QUOTES = re.compile(f"[{re.escape(QUOTES)}]")
_SPACE = re.compile(r"\s+")

Span = tuple[int, int]


def normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).lower()
    return _SPACE.sub(" ", _QUOTES.sub("", text)).strip()


def _clusters(text: str) -> list[Span]:
    """``text`` cut before every character that is not a combining mark (NFKC composes within these)."""
    bounds = [i for i in range(1, len(text)) if not unicodedata.combining(text[i])]
    starts = [0, *bounds]
    return list(zip(starts, [*bounds, len(text)])) if text else []


def normalise_with_offsets(text: str) -> tuple[str, list[Span]]:
    """``normalise(text)`` and, for each of its characters, the span ``(start, end)`` of ``text`` it comes from.

    The string is always exactly ``normalise(text)``. A folded run of whitespace maps to the whole run; a
    character NFKC expands (``ﬁ`` → ``fi``) maps each part to that one character; a letter with combining
    marks maps to the letter and its marks. (Should NFKC or lower casing of the whole text ever differ from
    this character-by-character work, as for the Greek final sigma, the two are aligned with difflib and the
    differing characters map to the span of what they replace.)
    """
    chars: list[tuple[str, Span]] = []
    for start, end in _clusters(text):
        chars += [(c, (start, end)) for c in unicodedata.normalize("NFKC", text[start:end]).lower()]
    out: list[str] = []
    spans: list[Span] = []
    for char, span in chars:
        if char in QUOTES:
            continue
        if _SPACE.fullmatch(char):
            if out and out[-1] == " ":  # the same run (quotes inside a run vanish first, as in normalise)
                spans[-1] = (spans[-1][0], span[1])
                continue
            char = " "
        out.append(char)
        spans.append(span)
    while out and out[0] == " ":
        del out[0], spans[0]
    while out and out[-1] == " ":
        del out[-1], spans[-1]
    built, expected = "".join(out), normalise(text)
    if built == expected:
        return built, spans
    return expected, _aligned(built, spans, expected)


def _aligned(built: str, spans: list[Span], expected: str) -> list[Span]:
    """Spans for the characters of ``expected`` from those of ``built``, aligned by difflib."""
    out: list[Span] = []
    for tag, i1, i2, j1, j2 in SequenceMatcher(None, built, expected, autojunk=False).get_opcodes():
        if tag == "equal":
            out += spans[i1:i2]
        elif tag in ("replace", "insert"):
            if i1 < i2:
                covering = (spans[i1][0], spans[i2 - 1][1])
            else:  # an insertion: the character before it, or after it, or nothing
                covering = spans[i1 - 1] if i1 > 0 else spans[i1] if spans else (0, 0)
            out += [covering] * (j2 - j1)
    return out


def longest_common_match(a: str, b: str) -> tuple[int, int, int]:
    """``(start in a, start in b, length)`` of the (first) longest common substring of ``a`` and ``b``."""
    if not a or not b:
        return 0, 0, 0
    match = SequenceMatcher(None, a, b, autojunk=False).find_longest_match(0, len(a), 0, len(b))
    return match.a, match.b, match.size


def longest_common_substring(a: str, b: str) -> int:
    return longest_common_match(a, b)[2]


def _shares_block(source: str, target: str, needed: int) -> bool:
    """False only when ``source`` and ``target`` cannot share a substring of ``needed`` characters.

    A common substring that long contains a whole aligned block of ``source`` of size
    ``needed // 2``, so when no such block occurs in ``target`` the rule cannot be met. This
    is exact, and spares the slow longest-common-substring search for most passages.
    """
    size = needed // 2
    if size < 1:
        return True
    return any(source[i:i + size] in target for i in range(0, len(source) - size + 1, size))


def answers(passage: str, evidence: str) -> bool:
    p, e = normalise(passage), normalise(evidence)
    if not e:
        return False
    if e in p:
        return True
    by_evidence = math.ceil(0.6 * len(e))  # lcs >= 0.6 * len(e)
    by_passage = math.ceil(0.9 * len(p)) if len(p) >= 40 else None  # lcs >= 0.9 * len(p)
    if not _shares_block(e, p, by_evidence) and (by_passage is None or not _shares_block(p, e, by_passage)):
        return False
    lcs = longest_common_substring(p, e)
    return lcs >= 0.6 * len(e) or (len(p) >= 40 and lcs >= 0.9 * len(p))


def first_hit_rank(passages: list[str], evidence: list[str], depth: int = 10) -> int | None:
    """1-based rank of the first passage that answers any evidence span, within ``depth``."""
    for rank, passage in enumerate(passages[:depth], start=1):
        if any(answers(passage, span) for span in evidence):
            return rank
    return None
