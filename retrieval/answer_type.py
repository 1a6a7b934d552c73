"""What kind of answer a question asks for, and whether a sentence has that kind of thing in it.

"Hvornår …?" / "When …?" wants a date, "Hvor mange …?" a number, "Hvor længe …?" a duration,
"Hvorfor …?" / "Hvad er formålet …?" a purpose. Within the passage that answers, the sentence
holding such a thing is the one to point the reader at, even when it shares few words with the
question ("Nedlukningen er fastsat til d. 3. januar 2024" for "When is the old portal switched
off?"). Questions of other kinds (what, who, how) have no shape that a pattern can see.
"""

from __future__ import annotations

import re
from typing import Literal

AnswerType = Literal["date", "number", "duration", "purpose"]

_MONTHS = (
    "januar|februar|marts|april|maj|juni|juli|august|september|oktober|november|december|"
    "january|february|march|may|june|july|october"
)
_NUMBER_WORDS = (
    "to|tre|fire|fem|seks|syv|otte|ni|ti|elleve|tolv|tyve|tredive|fyrre|halvtreds|hundrede|tusind|"
    "two|three|four|five|six|seven|eight|nine|ten|twelve|twenty|hundred|thousand"
)
_UNITS = (
    "sekund|minut|time|timer|dag|dage|døgn|uge|uger|måned|måneder|år|semester|"
    "seconds?|minutes?|hours?|days?|weeks?|months?|years?"
)

# Question patterns, tried in this order (the first that matches decides).
_QUESTION_TYPES: tuple[tuple[AnswerType, re.Pattern[str]], ...] = (
    ("duration", re.compile(r"\b(?:hvor\s+længe|hvor\s+lang\s+tid|hvor\s+lange?\b|varighed|varer|"
                            r"how\s+long|duration)\b", re.IGNORECASE)),
    ("date", re.compile(r"\b(?:hvornår|hvilken\s+dato|hvilket\s+år|hvilken\s+dag|hvilken\s+måned|dato|"
                        r"^\s*when|what\s+date|which\s+year|what\s+year|since\s+when)\b", re.IGNORECASE)),
    ("number", re.compile(r"\b(?:hvor\s+mange|hvor\s+meget|hvor\s+stor|antal(?:let)?|"
                          r"how\s+many|how\s+much|number\s+of|what\s+share|percentage)\b", re.IGNORECASE)),
    ("purpose", re.compile(r"\b(?:hvorfor|formål(?:et)?|hensigt(?:en)?|hvad\s+skal\s+\S+\s+bruges\s+til|"
                           r"why|purpose|aim|goal)\b", re.IGNORECASE)),
)

_SENTENCE_SHAPES: dict[AnswerType, re.Pattern[str]] = {
    "date": re.compile(rf"\b(?:(?:19|20)\d\d|\d{{1,2}}\.\s*(?:{_MONTHS})|(?:{_MONTHS})\s+\d|"
                       rf"\d{{1,2}}[./-]\d{{1,2}}[./-]\d{{2,4}})\b", re.IGNORECASE),
    "number": re.compile(rf"\d|\b(?:{_NUMBER_WORDS})\b", re.IGNORECASE),
    "duration": re.compile(rf"\b(?:\d+(?:[-–]\d+)?|{_NUMBER_WORDS}|halvt?|et\s+halvt)\s*[-–]?\s*(?:{_UNITS})\b",
                           re.IGNORECASE),
    "purpose": re.compile(r"\b(?:formål(?:et)?|for\s+at|med\s+henblik\s+på|sigter\s+mod|skal\s+sikre|"
                          r"målet|hensigten|in\s+order\s+to|so\s+that|aims?\s+to|purpose)\b", re.IGNORECASE),
}


def answer_type(question: str) -> AnswerType | None:
    """The kind of answer ``question`` asks for, or None when its shape says nothing."""
    for kind, pattern in _QUESTION_TYPES:
        if pattern.search(question):
            return kind
    return None


def has_answer_shape(sentence: str, kind: AnswerType | None) -> bool:
    """Whether ``sentence`` holds the kind of thing the question asks for (False without a kind)."""
    return kind is not None and _SENTENCE_SHAPES[kind].search(sentence) is not None
