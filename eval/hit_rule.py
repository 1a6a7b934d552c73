"""The hit rule of ``shared/eval/README.md``: does a returned passage answer an evidence span?

After normalising both strings (NFKC, lower case, quotes and apostrophes removed, whitespace
folded), a passage answers when it contains the whole span, or their longest common substring is
at least 60 % of the span, or at least 90 % of a passage of 40+ characters.
"""

from __future__ import annotations

import math
import re
import unicodedata
from difflib import SequenceMatcher

_QUOTES = re.compile("[’'`´‘”“\"]")
_SPACE = re.compile(r"\s+")


def normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).lower()
    return _SPACE.sub(" ", _QUOTES.sub("", text)).strip()


def longest_common_substring(a: str, b: str) -> int:
    if not a or not b:
        return 0
    match = SequenceMatcher(None, a, b, autojunk=False).find_longest_match(0, len(a), 0, len(b))
    return match.size


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
