"""The hand-written question sets in ``eval/question_sets/`` are well formed and their evidence is real.

- every file loads with ``eval.questions.load_questions`` and has at least the agreed number of questions;
- ids are unique across the three sets and do not clash with the shared sets in ``shared/eval/``;
- no question repeats a shared dev question (compared after the hit rule's normalisation);
- every evidence span names a seed file in ``shared/seeds/`` and occurs in it verbatim
  (after the normalisation of ``shared/eval/README.md``: NFKC, lower case, quotes removed,
  whitespace folded);
- every evidence span is answered, under the hit rule, by at least one passage of the real corpus,
  taken from the document made from that seed file (passages of 40-200 words, as the index builds them).

Nothing here searches: the sets measure retrieval, they are not tuned to it.
"""

from __future__ import annotations

import json
from collections import Counter
from functools import lru_cache
from pathlib import Path

import pytest

from eval.hit_rule import answers, normalise
from eval.questions import load_questions, read_jsonl
from indexer.documents import load_corpus
from indexer.passages import split_passages

REPO = Path(__file__).resolve().parents[1]
QUESTIONS = REPO / "eval" / "question_sets"
CORPUS = REPO / "corpus"
SHARED_EVAL = Path(__file__).resolve().parents[2] / "shared" / "eval"
SEEDS = Path(__file__).resolve().parents[2] / "shared" / "seeds"

# file name -> (minimum count, answerable, language every question must have or None)
SETS = {
    "english.jsonl": (30, True, "en"),
    "danish-paraphrases.jsonl": (25, True, "da"),
    "near-domain-unanswerable.jsonl": (30, False, None),
}
ANSWERABLE = [name for name, (_, answerable, _) in SETS.items() if answerable]
SHARED_FILES = ("dev-questions.jsonl", "unanswerable-dev.jsonl")


def raw_rows(name: str) -> list[dict]:
    return [row for _, row in read_jsonl(QUESTIONS / name)]


def evidence_cases() -> list[tuple[str, str, int, str, str]]:
    """``(set, id, span number, doc, text)`` for every evidence span of the answerable sets."""
    cases = []
    for name in ANSWERABLE:
        for row in raw_rows(name):
            for number, span in enumerate(row.get("evidence", []), start=1):
                cases.append((name, row["id"], number, span.get("doc"), span.get("text")))
    return cases


def case_id(case: tuple) -> str:
    return f"{case[1]}-{case[2]}"


def require_seeds() -> None:
    if not SEEDS.is_dir():
        pytest.skip(f"seed texts not found at {SEEDS} (the shared folder beside the repository is missing)")


@lru_cache(maxsize=None)
def seed_text(doc: str) -> str:
    return normalise((SEEDS / doc).read_text(encoding="utf-8"))


@lru_cache(maxsize=None)
def passages_by_seed() -> dict[str, list[str]]:
    """Passage texts of the real corpus, grouped by the seed file each document was made from."""
    grouped: dict[str, list[str]] = {}
    for doc in load_corpus(CORPUS):
        source = str(doc.meta.get("source_file") or "")
        grouped.setdefault(source, []).extend(p.text for p in split_passages(doc, 40, 200))
    return grouped


@pytest.mark.parametrize("name", list(SETS))
def test_set_loads_with_enough_questions(name: str) -> None:
    minimum, answerable, lang = SETS[name]
    questions = load_questions(QUESTIONS / name).questions
    assert len(questions) >= minimum, f"{name}: {len(questions)} questions, at least {minimum} wanted"
    for q in questions:
        assert q.lang in {"da", "en"}, f"{name}:{q.id}: lang {q.lang!r} is neither 'da' nor 'en'"
        if lang is not None:
            assert q.lang == lang, f"{name}:{q.id}: lang {q.lang!r}, this set is {lang!r}"
        if answerable:
            assert q.evidence, f"{name}:{q.id}: an answerable question needs evidence"
        else:
            assert not q.evidence, f"{name}:{q.id}: an unanswerable question must not carry evidence"


def test_raw_rows_have_the_shared_format() -> None:
    for name, (_, answerable, _) in SETS.items():
        for row in raw_rows(name):
            expected = {"id", "lang", "question", "evidence"} if answerable else {"id", "lang", "question"}
            assert set(row) == expected, f"{name}:{row.get('id')}: fields {sorted(row)}, expected {sorted(expected)}"
            for span in row.get("evidence", []):
                assert set(span) == {"doc", "text"}, f"{name}:{row['id']}: evidence fields {sorted(span)}"
                assert isinstance(span["doc"], str) and span["text"].strip(), f"{name}:{row['id']}: empty evidence"


def test_unanswerable_set_is_mostly_danish_with_some_english() -> None:
    langs = Counter(q.lang for q in load_questions(QUESTIONS / "near-domain-unanswerable.jsonl").questions)
    assert langs["da"] > langs["en"] > 0, f"languages {dict(langs)}"


def test_ids_unique_across_sets_and_not_shared() -> None:
    ids = [q.id for name in SETS for q in load_questions(QUESTIONS / name).questions]
    repeated = sorted(i for i, n in Counter(ids).items() if n > 1)
    assert not repeated, f"ids used in more than one set: {repeated}"
    if not SHARED_EVAL.is_dir():
        pytest.skip(f"shared evaluation folder not found at {SHARED_EVAL}")
    shared = {q.id for f in SHARED_FILES if (SHARED_EVAL / f).is_file() for q in load_questions(SHARED_EVAL / f).questions}
    clash = sorted(set(ids) & shared)
    assert not clash, f"ids that clash with shared/eval: {clash}"


def test_questions_are_not_copies_of_shared_or_each_other() -> None:
    ours = [(name, q.id, normalise(q.question)) for name in SETS for q in load_questions(QUESTIONS / name).questions]
    repeated = sorted(text for text, n in Counter(t for _, _, t in ours).items() if n > 1)
    assert not repeated, f"questions asked twice: {repeated}"
    if not SHARED_EVAL.is_dir():
        pytest.skip(f"shared evaluation folder not found at {SHARED_EVAL}")
    shared = {normalise(q.question): q.id for f in SHARED_FILES if (SHARED_EVAL / f).is_file()
              for q in load_questions(SHARED_EVAL / f).questions}
    copies = [f"{name}:{qid} = {shared[text]}" for name, qid, text in ours if text in shared]
    assert not copies, f"questions copied from shared/eval: {copies}"


@pytest.mark.parametrize("case", evidence_cases(), ids=case_id)
def test_evidence_is_verbatim_in_its_seed(case: tuple) -> None:
    require_seeds()
    name, qid, number, doc, text = case
    assert (SEEDS / doc).is_file(), f"{name}:{qid} span {number}: seed file {doc!r} not in {SEEDS}"
    assert normalise(text) in seed_text(doc), f"{name}:{qid} span {number}: not found in {doc}: {text!r}"


@pytest.mark.parametrize("case", evidence_cases(), ids=case_id)
def test_evidence_is_answered_by_a_corpus_passage(case: tuple) -> None:
    name, qid, number, doc, text = case
    passages = passages_by_seed().get(doc)
    assert passages, f"{name}:{qid} span {number}: no corpus document has source_file {doc!r}"
    assert any(answers(p, text) for p in passages), (
        f"{name}:{qid} span {number}: no passage of the document made from {doc} answers {text!r}")


def test_every_answerable_question_has_an_answering_passage() -> None:
    """The question-level form of the rule the harness uses: any one span is enough."""
    every = [p for texts in passages_by_seed().values() for p in texts]
    missing = [f"{name}:{q.id}" for name in ANSWERABLE for q in load_questions(QUESTIONS / name).questions
               if not any(answers(p, span) for p in every for span in q.evidence)]
    assert not missing, f"questions no passage of the corpus answers: {missing}"


def test_files_are_one_json_object_a_line() -> None:
    for name in SETS:
        for number, line in enumerate((QUESTIONS / name).read_text(encoding="utf-8").splitlines(), start=1):
            assert line.strip(), f"{name}:{number}: blank line"
            assert isinstance(json.loads(line), dict), f"{name}:{number}: not a JSON object"
