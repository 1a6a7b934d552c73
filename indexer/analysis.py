"""Danish text analysis for the lexical index: one analyser for passages and questions alike.

Steps: Unicode NFKC and case folding; tokens that keep ``peer-støtte``, ``bl.a.``, ``social.dk``
and ``10,5`` together (the joined form and the parts are both emitted, so ``peer-støtte``,
``peer støtte`` and ``peerstøtte`` meet); abbreviation expansion (``mio.`` → millioner);
Danish stop words; Snowball Danish stemming. A *skeleton* form folds the spellings people type
without Danish letters (æ/ae/a, ø/oe/o, å/aa/a) so ``peerstotte`` can find ``peerstøtte``; the
character n-gram field is built on skeletons, which also lets a word find compounds that
contain it (``støtte`` → ``peerstøttemedarbejder``).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import Stemmer

#: Snowball's Danish stop-word list.
SNOWBALL_DANISH_STOP_WORDS = frozenset(
    """
    og i jeg det at en den til er som på de med han af for ikke der var mig sig men et har om vi
    min havde ham hun nu over da fra du ud sin dem os op man hans hvor eller hvad skal selv her alle
    vil blev kunne ind når være dog noget ville jo deres efter ned skulle denne end dette mit også
    under have dig anden hende mine alt meget sit sine vor mod disse hvis din nogle hos blive mange
    ad bliver hendes været thi jer sådan
    """.split()
)
#: Question words that carry no topic; measured to help on the dev questions.
DANISH_QUESTION_WORDS = frozenset("hvilke hvilken hvilket hvem hvordan hvornår hvorfor hvorledes".split())
#: Removed from questions only, so an English question keeps just its content words.
ENGLISH_QUESTION_STOP_WORDS = frozenset(
    """
    a an the of is are was were be been what which who whom whose when where why how do does did
    to in on at by with and or it its this that these those there can could i you we they from as
    """.split()
)
#: Verbs and adverbs that frame a Danish question ("Hvad hedder …", "Hvad står X for") but
#: carry no topic; removed from questions only.
DANISH_QUESTION_FRAME_WORDS = frozenset("hedder hed står stod ifølge stadig egentlig kan gør får findes".split())
STOP_WORDS = SNOWBALL_DANISH_STOP_WORDS | DANISH_QUESTION_WORDS
QUESTION_STOP_WORDS = STOP_WORDS | DANISH_QUESTION_FRAME_WORDS | ENGLISH_QUESTION_STOP_WORDS

#: Abbreviations written out, so ``10,5 mio. kr.`` is found by "millioner kroner".
ABBREVIATIONS: dict[str, tuple[str, ...]] = {
    "mio": ("millioner",), "mia": ("milliarder",), "kr": ("kroner",), "pct": ("procent",),
    "fx": ("for", "eksempel"), "f.eks": ("for", "eksempel"), "bl.a": ("blandt", "andet"),
    "ca": ("cirka",), "nr": ("nummer",), "tlf": ("telefon",), "dvs": ("det", "vil", "sige"),
    "pga": ("på", "grund", "af"), "mht": ("med", "hensyn", "til"), "inkl": ("inklusive",),
    "evt": ("eventuelt",), "jf": ("jævnfør",), "osv": ("og", "så", "videre"), "m.fl": ("med", "flere"),
    "%": ("procent",),
}

_TOKEN = re.compile(r"[^\W_]+(?:[.,'’\-][^\W_]+)*|%")
_SEPARATORS = re.compile(r"[.,'’\-]")
_GENITIVE = re.compile(r"['’]s$")  # "BBC's", "V&A's": the genitive ending is not a word
_STEMMER = Stemmer.Stemmer("danish")


def normalise(text: str) -> str:
    """NFKC and case folding, with typographic hyphens unified."""
    text = unicodedata.normalize("NFKC", text).casefold()
    return text.replace("\u2010", "-").replace("\u2011", "-")


def skeleton(word: str) -> str:
    """Fold æ/ae, ø/oe, å/aa and their one-letter stand-ins to one spelling."""
    word = word.replace("æ", "a").replace("ø", "o").replace("å", "a")
    return word.replace("ae", "a").replace("oe", "o").replace("aa", "a")


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    return _STEMMER.stemWord(word)


@dataclass(frozen=True)
class Token:
    word: str  # normalised surface form
    position: int  # index of the source token the word came from


def tokenize(text: str, *, question: bool = False) -> list[Token]:
    """Normalised words without stop words, with joined forms, parts and expansions."""
    return [Token(word, position) for position, match in enumerate(_TOKEN.finditer(normalise(text)))
            for word in _words_of(match.group(0), question)]


def words(text: str) -> list[str]:
    """The words ``tokenize`` gives for a passage, without their positions (the fast path of a build)."""
    return [word for match in _TOKEN.finditer(normalise(text)) for word in _words_of(match.group(0), False)]


@lru_cache(maxsize=500_000)
def _words_of(raw: str, question: bool) -> tuple[str, ...]:
    """The words one source token stands for (cached: a language has far fewer word forms than a
    corpus has tokens)."""
    stop = QUESTION_STOP_WORDS if question else STOP_WORDS
    raw = _GENITIVE.sub("", raw)
    expansion = ABBREVIATIONS.get(raw)
    if expansion is not None:
        return tuple(w for w in expansion if w not in stop)
    candidates = [raw]
    if _SEPARATORS.search(raw):
        parts = [p for p in _SEPARATORS.split(raw) if p]
        joined = "".join(parts) if not raw[0].isdigit() else raw
        candidates = [joined] + [p for p in parts if p != joined]
    return tuple(w for w in candidates if w not in stop and skeleton(w) not in _FOLDED_STOP_WORDS)


_FOLDED_STOP_WORDS = frozenset(skeleton(w) for w in STOP_WORDS if len(w) > 3)


def stems(text: str, *, question: bool = False) -> list[str]:
    return [stem(t.word) for t in tokenize(text, question=question)]


def char_ngrams(word: str, n_min: int, n_max: int) -> list[str]:
    """Character n-grams of the skeleton of ``word``; a short word is its own gram."""
    word = skeleton(word)
    if len(word) <= n_min:
        return [word]
    return [word[i:i + n] for n in range(n_min, n_max + 1) for i in range(len(word) - n + 1)]


def grams(text: str, n_min: int, n_max: int, *, question: bool = False) -> list[str]:
    out: list[str] = []
    for token in tokenize(text, question=question):
        out.extend(char_ngrams(token.word, n_min, n_max))
    return out
