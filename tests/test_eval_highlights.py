"""Highlight accuracy (``eval.highlights``): locating the evidence in a passage, the overlap rule, the
backends carrying the top hit's highlights, and the figure in every output of ``python -m eval run``."""

from __future__ import annotations

import json
import random
from pathlib import Path

import httpx
import pytest
from conftest import hashing_settings, write_doc
from test_eval_beir import write_beir

from eval import highlights
from eval.backends import ApiBackend, InProcessBackend
from eval.cli import main
from eval.hit_rule import answers, normalise, normalise_with_offsets
from eval.questions import Question
from eval.runner import QueryRun, RetrieverRun
from indexer.build import build_index
from indexer.encoder import HashingEncoder
from retrieval.searcher import Searcher

PASSAGE = ("Kaffe brygges af malede bønner. Vandet skal være 92 grader varmt. "
           "Bagefter skal kaffen trække i fire minutter.")
FIRST, SECOND, THIRD = (PASSAGE.index(s) for s in ("Kaffe", "Vandet", "Bagefter"))
SENTENCES = [(FIRST, SECOND - 1), (SECOND, THIRD - 1), (THIRD, len(PASSAGE))]


def _text(passage: str, spans) -> list[str]:
    return [passage[s:e] for s, e in spans]


# --- normalised text with offsets ------------------------------------------------------------------


def test_offsets_give_exactly_the_hit_rules_text():
    rng = random.Random(7)
    alphabet = list("abcAB æøåÆØÅ\t\n'\"’‘“”´`ﬁ½ΣσςΑ\u0301\u0308e\u00a0\u2003İ\u1100\u1161.,")
    for _ in range(5000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 24)))
        normalised, spans = normalise_with_offsets(text)
        assert normalised == normalise(text), repr(text)
        assert len(spans) == len(normalised)
        assert all(0 <= start < end <= len(text) for start, end in spans), repr(text)
        assert [s for s, _ in spans] == sorted(s for s, _ in spans), repr(text)


def test_offsets_point_at_the_raw_characters():
    text = "  Hun sagde: “Ring  til\n lægen”, ’nu’. ﬁnt"
    normalised, spans = normalise_with_offsets(text)
    assert normalised == "hun sagde: ring til lægen, nu. fint"
    assert text[spans[0][0]:spans[2][1]] == "Hun"
    space = normalised.index("til") - 1
    assert text[spans[space][0]:spans[space][1]] == "  "  # a folded run maps to the whole run
    fi = normalised.index("fint")
    assert spans[fi] == spans[fi + 1] == (text.index("ﬁ"), text.index("ﬁ") + 1)  # the ligature, twice


# --- locating the evidence ------------------------------------------------------------------------


def test_a_whole_span_is_located_where_the_passage_has_it():
    assert _text(PASSAGE, highlights.locate(PASSAGE, "Vandet skal være 92 grader varmt.")) == \
        ["Vandet skal være 92 grader varmt."]
    assert highlights.locate(PASSAGE, "Teen skal trække i tre minutter i en kande af ler.") == []


def test_whitespace_and_quotes_differ_but_the_raw_span_is_found():
    passage = "Hun sagde: “Ring  til\nlægen”, og gik hjem. Det var sent."
    located = highlights.locate(passage, 'hun sagde: "ring til lægen", og gik')
    assert _text(passage, located) == ["Hun sagde: “Ring  til\nlægen”, og gik"]
    assert _text(passage, highlights.locate(passage, "Ring til lægen")) == ["Ring  til\nlægen"]


def test_evidence_partly_inside_the_passage_is_located_as_the_common_part():
    evidence = "Bagefter skal kaffen trække i fire minutter. Så hældes den op."
    assert answers(PASSAGE, evidence)  # the 60 % case: most of the span is the passage's end
    assert _text(PASSAGE, highlights.locate(PASSAGE, evidence)) == ["Bagefter skal kaffen trække i fire minutter."]
    judged = highlights.judge(PASSAGE, [SENTENCES[2]], [evidence])
    assert judged.correct and judged.shared_words == 7
    assert not highlights.judge(PASSAGE, [SENTENCES[0]], [evidence]).correct


def test_a_passage_inside_a_long_span_is_all_evidence():
    evidence = "Om morgenen. " + PASSAGE + " Så er den klar til at blive drukket af hele familien ved bordet."
    assert normalise(PASSAGE) in normalise(evidence) and answers(PASSAGE, evidence)  # the 90 % case
    assert _text(PASSAGE, highlights.locate(PASSAGE, evidence)) == [PASSAGE]
    assert highlights.judge(PASSAGE, [SENTENCES[0]], [evidence]).correct


def test_only_the_spans_the_passage_answers_count():
    evidence = ["Cyklen har to hjul og en kæde.", "Vandet skal være 92 grader varmt."]
    judged = highlights.judge(PASSAGE, [SENTENCES[1]], evidence)
    assert judged.correct and _text(PASSAGE, judged.evidence) == ["Vandet skal være 92 grader varmt."]
    assert highlights.judge(PASSAGE, [SENTENCES[1]], ["Cyklen har to hjul og en kæde."]) is None  # not counted


# --- the overlap rule -----------------------------------------------------------------------------


def test_a_highlight_on_the_evidence_is_right_elsewhere_wrong_none_wrong():
    evidence = ["Vandet skal være 92 grader varmt."]
    right = highlights.judge(PASSAGE, [SENTENCES[1]], evidence)
    assert right.correct and right.shared_words == 6
    elsewhere = highlights.judge(PASSAGE, [SENTENCES[0], SENTENCES[2]], evidence)
    assert not elsewhere.correct and elsewhere.shared_words == 0
    assert _text(PASSAGE, elsewhere.highlights) == ["Kaffe brygges af malede bønner.",
                                                    "Bagefter skal kaffen trække i fire minutter."]
    absent = highlights.judge(PASSAGE, [], evidence)
    assert absent is not None and not absent.correct and absent.highlights == ()
    assert highlights.judge(PASSAGE, [SENTENCES[0], SENTENCES[1]], evidence).correct  # one of two is enough


def test_touching_at_a_sentence_boundary_is_not_overlap_one_word_is():
    evidence = ["Vandet skal være 92 grader varmt."]
    up_to_the_space = (FIRST, SECOND)  # the first sentence and the space after it
    assert not highlights.judge(PASSAGE, [up_to_the_space], evidence).correct
    one_word = (FIRST, SECOND + len("Vandet"))
    judged = highlights.judge(PASSAGE, [one_word], evidence)
    assert judged.correct and judged.shared_words == 1
    part_of_a_word = (FIRST, SECOND + 3)  # "Van": no whole word inside both
    assert not highlights.judge(PASSAGE, [part_of_a_word], evidence).correct


def test_highlights_are_clipped_merged_and_a_word_across_two_counts():
    evidence = ["Vandet skal være 92 grader varmt."]
    split_word = [(SECOND, SECOND + 3), (SECOND + 3, SECOND + 6)]  # "Van" + "det"
    judged = highlights.judge(PASSAGE, split_word, evidence)
    assert judged.highlights == ((SECOND, SECOND + 6),) and judged.correct
    odd = highlights.judge(PASSAGE, [(-5, 3), (len(PASSAGE) - 2, len(PASSAGE) + 40), (9, 9), (12, 4)], evidence)
    assert odd.highlights == ((0, 3), (len(PASSAGE) - 2, len(PASSAGE))) and not odd.correct


def test_accuracy_counts_only_judged_questions():
    run = RetrieverRun("hybrid")
    other = "Færgen sejler fra havnen hver time, og billetter købes ved kajen."
    run.queries = {
        "right": QueryRun(("p",), (1.0,), (PASSAGE,), False, 1.0, (SENTENCES[1],)),
        "wrong": QueryRun(("p",), (1.0,), (PASSAGE,), False, 1.0, (SENTENCES[0],)),
        "bare": QueryRun(("p",), (1.0,), (PASSAGE,), False, 1.0, ()),
        "not-at-1": QueryRun(("o", "p"), (2.0, 1.0), (other, PASSAGE), False, 1.0, ((0, 10),)),
        "empty": QueryRun((), (), (), True, 1.0),
    }
    questions = [Question(qid, "?", ("Vandet skal være 92 grader varmt.",)) for qid in run.queries]
    judged = highlights.judge_run(questions, run)
    assert sorted(judged) == ["bare", "right", "wrong"]
    assert highlights.accuracy(judged) == {"highlight_accuracy": pytest.approx(1 / 3), "highlight_questions": 3}
    assert highlights.accuracy({}) == {"highlight_accuracy": None, "highlight_questions": 0}


# --- the backends carry the top hit's highlights --------------------------------------------------


def test_the_api_backend_takes_the_top_hits_highlights():
    def handler(request: httpx.Request) -> httpx.Response:
        results = [{"passage_id": "p0", "score": 2.0, "text": PASSAGE, "doc": {"id": "d0"},
                    "highlights": [{"start": SECOND, "end": THIRD - 1}]},
                   {"passage_id": "p1", "score": 1.0, "text": "x", "doc": {"id": "d1"}, "highlights": []}]
        return httpx.Response(200, json={"results": results, "abstain": False})

    client = httpx.Client(transport=httpx.MockTransport(handler), base_url="http://service")
    answer = ApiBackend("http://service", client=client).search("Hvad?", 2, "hybrid")
    assert answer.highlights == ((SECOND, THIRD - 1),) and answer.texts[0] == PASSAGE

    empty = httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(200, json={"results": []})),
                         base_url="http://service")
    assert ApiBackend("http://service", client=empty).search("Hvad?", 2, "hybrid").highlights == ()


def test_the_in_process_backend_takes_the_top_hits_highlights(corpus_searcher):
    backend = InProcessBackend(corpus_searcher)
    question = "Hvad er peer-støtte?"
    answer = backend.search(question, 5, "hybrid")
    top = corpus_searcher.search(question, 5, retriever="hybrid").hits[0]
    assert answer.highlights == tuple(top.highlights) and answer.highlights
    assert answer.texts[0] == top.passage.text


# --- end to end -----------------------------------------------------------------------------------

QUESTIONS = [
    # the top passage answers, but the highlight is the sentence with the question's words, not the answer
    {"id": "kaffe", "question": "Hvordan brygges kaffe?", "evidence": [{"doc": "kaffe", "text":
                                                                       "Vandet skal helst være 92  grader varmt."}]},
    {"id": "hjul", "question": "Hvor mange hjul har en cykel?", "evidence": [{"doc": "cykel", "text":
                                                                             "En cykel har to hjul"}]},
    {"id": "færge", "question": "Hvornår sejler færgen fra havnen?", "evidence": [{"doc": "cykel", "text":
                                                                                  "“Færgen sejler fra havnen hver time.”"}]},
    {"id": "te", "question": "Hvordan laves te?", "evidence": [{"doc": "kaffe", "text":
                                                               "Te laves af tørrede blade fra tebusken"}]},
]


@pytest.fixture
def span_dataset(tmp_path: Path, isolated_data: Path, monkeypatch) -> Path:
    """Two small documents indexed with the hashing encoder at PEERQA_INDEX_DIR; the question file's path."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    write_doc(corpus, "kaffe", "Kaffe", "Kaffe brygges af ristede og malede kaffebønner i en kande. "
              "Vandet skal helst være 92 grader varmt. Bagefter skal kaffen trække i fire minutter.\n\n"
              "Te laves af tørrede blade fra tebusken, og den drikkes med mælk eller citron.\n")
    write_doc(corpus, "cykel", "Cykel", "En cykel har to hjul, pedaler og en kæde. "
              "Man cykler til arbejde hver morgen, også når det regner.\n\n"
              "Færgen sejler fra havnen hver time. Billetter købes ved kajen eller på nettet.\n")
    settings = hashing_settings(isolated_data, corpus)
    build_index(corpus, settings.index_dir, settings, HashingEncoder(256), progress=False)
    monkeypatch.setenv("PEERQA_MODEL", "hashing:256")
    monkeypatch.setenv("PEERQA_CORPUS_DIR", str(corpus))
    monkeypatch.setenv("PEERQA_SYNONYMS_FILE", str(settings.synonyms_file))
    path = tmp_path / "questions" / "mini-questions.jsonl"
    path.parent.mkdir()
    path.write_text("".join(json.dumps(q, ensure_ascii=False) + "\n" for q in QUESTIONS), encoding="utf-8")
    return path


def test_a_span_run_reports_highlight_accuracy_everywhere(span_dataset, isolated_data, tmp_path, capsys):
    out = tmp_path / "report"
    assert main(["run", str(span_dataset), "--retrievers", "lexical,hybrid", "--out", str(out), "--quiet"]) == 0
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert report["verification"]["agree"] is True
    settings = hashing_settings(isolated_data, span_dataset.parent.parent / "corpus")
    searcher = Searcher.open(settings, settings.index_dir, encoder=HashingEncoder(256))
    for name, values in report["retrievers"].items():
        # counted: exactly the Success@1 hits; judged here from the searcher's own top hit
        assert values["highlight_questions"] == round(values["success@1"] * values["queries"]) == 4
        expected = []
        for q in QUESTIONS:
            top = searcher.search(q["question"], 10, retriever=name).hits[0]
            judged = highlights.judge(top.passage.text, top.highlights, [e["text"] for e in q["evidence"]])
            expected.append(judged.correct)
        assert expected == [False, True, True, True]
        assert values["highlight_accuracy"] == pytest.approx(0.75)
    assert "highlight_accuracy" in report["metric_definitions"]
    assert report["best"]["highlight_accuracy"] == ["lexical", "hybrid"]

    text = (out / "report.md").read_text(encoding="utf-8")
    header = next(line for line in text.splitlines() if line.startswith("| retriever | nDCG@10"))
    assert "| Success@1 | Success@5 | Highlight acc. (n) | p50 ms" in header
    assert "**0.750** (4)" in next(line for line in text.splitlines() if line.startswith("| hybrid | "))
    misses = text.split("## Highlight misses", 1)[1].split("\n## ", 1)[0]
    assert "### hybrid: 1 of 4" in misses
    row = next(line for line in misses.splitlines() if line.startswith("| kaffe |"))
    assert "Kaffe brygges af ristede og malede kaffebønner i en kande." in row  # what was highlighted
    assert "Vandet skal helst være 92 grader varmt." in row  # where the evidence is

    rows = [line.split("\t") for line in (out / "per_query.tsv").read_text(encoding="utf-8").splitlines()]
    assert rows[0][-1] == "highlight"
    assert {(r[0], r[1]): r[-1] for r in rows[1:]}[("kaffe", "hybrid")] == "0"
    assert sorted(r[-1] for r in rows[1:]) == ["0", "0", "1", "1", "1", "1", "1", "1"]

    summary = capsys.readouterr().out.strip().splitlines()
    assert summary[-1].startswith("Success@1: ") and "Highlight accuracy: 0.750 (of 4 rank-1 hits)" in summary[-1]


def test_a_highlight_threshold_sets_the_exit_code(span_dataset, tmp_path, capsys):
    out = tmp_path / "report"
    code = main(["run", str(span_dataset), "--retrievers", "lexical,hybrid", "--out", str(out), "--quiet",
                 "--min", "hybrid:highlight_accuracy=1.01"])
    assert code == 1
    assert "FAIL hybrid highlight_accuracy = 0.7500 < 1.01" in capsys.readouterr().err
    checks = json.loads((out / "report.json").read_text(encoding="utf-8"))["checks"]
    assert checks == [{"retriever": "hybrid", "metric": "highlight_accuracy", "value": 0.75, "minimum": 1.01,
                       "passed": False}]
    assert main(["run", str(span_dataset), "--retrievers", "lexical,hybrid", "--out", str(tmp_path / "ok"),
                 "--quiet", "--min", "highlight_accuracy=0.75"]) == 0


def test_beir_folders_have_no_highlight_figure(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PEERQA_MODEL", "hashing:256")
    folder = write_beir(tmp_path / "mini")
    out = tmp_path / "out"
    assert main(["run", str(folder), "--retrievers", "lexical", "--out", str(out), "--quiet",
                 "--min", "highlight_accuracy=0.5"]) == 2
    assert "evidence-span question files only" in capsys.readouterr().err and not out.exists()
    assert main(["run", str(folder), "--retrievers", "lexical", "--out", str(out), "--quiet"]) == 0
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert "highlight_accuracy" not in report["retrievers"]["lexical"]
    assert "highlight_accuracy" not in report["best"] and "highlight_accuracy" not in report["metric_definitions"]
    text = (out / "report.md").read_text(encoding="utf-8")
    assert "Highlight" not in text
    assert (out / "per_query.tsv").read_text(encoding="utf-8").splitlines()[0].split("\t")[-1] == "abstain"
