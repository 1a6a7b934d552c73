"""BEIR folders: what loads, and the error an evaluator gets for each kind of malformed file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eval.beir import load_beir
from eval.cli import main
from eval.questions import DatasetError

CORPUS = [
    {"_id": "kaffe", "title": "Kaffe", "text": "Kaffe brygges af ristede kaffebønner og drikkes varm om morgenen."},
    {"_id": "cykel", "title": "Cykel", "text": "En cykel har to hjul, pedaler og en kæde, og man cykler til arbejde."},
    {"_id": "hund", "title": "Hunde", "text": "Hunden er et husdyr, der gør, logrer med halen og går tur i parken."},
    {"_id": "regn", "title": "Vejret", "text": "Regn falder fra skyerne, når vanddamp fortættes til dråber."},
    {"_id": "brød", "title": "Bageri", "text": "Rugbrød bages af surdej, rugmel og kerner i en ovn i mange timer."},
    {"_id": "skak", "title": "Skak", "text": "Skak spilles på et bræt med 64 felter; kongen skal sættes mat."},
    {"_id": "havn", "title": "", "text": "Færgen sejler fra havnen hver time, og billetter købes ved kajen."},
    {"_id": "sne", "title": "Vinter", "text": "Sne dannes af iskrystaller, og om vinteren kan søerne fryse til is."},
]
QUERIES = [
    {"_id": "q1", "text": "Hvordan brygges kaffe?"},
    {"_id": "q2", "text": "Hvor mange hjul har en cykel?"},
    {"_id": "q3", "text": "Hvad laver en hund i parken?"},
    {"_id": "q4", "text": "Hvordan bages rugbrød med surdej?"},
    {"_id": "q5", "text": "Hvornår sejler færgen fra havnen?"},
    {"_id": "q6", "text": "Hvordan dannes sne om vinteren?"},
    {"_id": "q7", "text": "Hvad sker der når det regner fra skyerne?"},
    {"_id": "q8", "text": "Et spørgsmål uden relevante dokumenter"},
    {"_id": "extra", "text": "Et spørgsmål der ikke er i qrels"},
]
QRELS = [("q1", "kaffe", 1), ("q2", "cykel", 1), ("q3", "hund", 2), ("q3", "regn", 1), ("q4", "brød", 1),
         ("q5", "havn", 1), ("q6", "sne", 1), ("q6", "regn", 0), ("q7", "regn", 1), ("q8", "skak", 0)]


def write_beir(folder: Path, corpus=CORPUS, queries=QUERIES, qrels=QRELS, header: bool = True) -> Path:
    """A tiny Danish BEIR folder: graded and 0 judgments, a query with none ≥ 1, a query not in qrels."""
    (folder / "qrels").mkdir(parents=True, exist_ok=True)
    (folder / "corpus.jsonl").write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in corpus),
                                         encoding="utf-8")
    (folder / "queries.jsonl").write_text("".join(json.dumps(q, ensure_ascii=False) + "\n" for q in queries),
                                          encoding="utf-8")
    rows = ["query-id\tcorpus-id\tscore"] if header else []
    rows += [f"{q}\t{d}\t{s}" for q, d, s in qrels]
    (folder / "qrels" / "test.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return folder


def test_a_valid_folder_loads_with_judged_queries_only(tmp_path):
    dataset = load_beir(write_beir(tmp_path / "mini"))
    assert dataset.name == "mini"
    assert len(dataset.corpus) == 8
    assert set(dataset.qrels) == {"q1", "q2", "q3", "q4", "q5", "q6", "q7"}
    assert dataset.unjudged == ["q8"]  # judged, but nothing ≥ 1
    assert dataset.qrels["q3"] == {"hund": 2, "regn": 1}
    assert dataset.corpus[6].title == ""


def test_qrels_without_header_load_too(tmp_path):
    assert len(load_beir(write_beir(tmp_path / "d", header=False)).qrels) == 7


def _replace_line(path: Path, number: int, text: str) -> None:
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[number - 1] = text
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


MALFORMED = [
    ("missing corpus", lambda d: (d / "corpus.jsonl").unlink(), "missing corpus.jsonl"),
    ("missing queries", lambda d: (d / "queries.jsonl").unlink(), "missing queries.jsonl"),
    ("missing qrels", lambda d: (d / "qrels" / "test.tsv").unlink(), "missing qrels/test.tsv"),
    ("bad json", lambda d: _replace_line(d / "corpus.jsonl", 3, '{"_id": "hund", "text": '),
     "corpus.jsonl:3: not valid JSON"),
    ("not an object", lambda d: _replace_line(d / "queries.jsonl", 2, '["q2"]'),
     "queries.jsonl:2: expected a JSON object"),
    ("corpus without text", lambda d: _replace_line(d / "corpus.jsonl", 4, '{"_id": "regn", "title": "x"}'),
     "corpus.jsonl:4: corpus entry 'regn' needs a string field 'text'"),
    ("corpus without id", lambda d: _replace_line(d / "corpus.jsonl", 5, '{"text": "brød"}'),
     "corpus.jsonl:5: each corpus entry needs a non-empty string '_id'"),
    ("duplicate corpus id", lambda d: _replace_line(d / "corpus.jsonl", 2, '{"_id": "kaffe", "text": "igen"}'),
     "corpus.jsonl:2: corpus id 'kaffe' already used on line 1"),
    ("query without text", lambda d: _replace_line(d / "queries.jsonl", 3, '{"_id": "q3"}'),
     "queries.jsonl:3: each query needs a non-empty string '_id' and 'text'"),
    ("unknown query id", lambda d: _replace_line(d / "qrels" / "test.tsv", 4, "q99\tkaffe\t1"),
     "test.tsv:4: query id 'q99' is not in queries.jsonl"),
    ("unknown corpus id", lambda d: _replace_line(d / "qrels" / "test.tsv", 5, "q4\tnowhere\t1"),
     "test.tsv:5: corpus id 'nowhere' is not in corpus.jsonl"),
    ("two columns", lambda d: _replace_line(d / "qrels" / "test.tsv", 2, "q1\tkaffe"),
     "test.tsv:2: expected 3 tab-separated columns (query-id, corpus-id, score), found 2"),
    ("score not an integer", lambda d: _replace_line(d / "qrels" / "test.tsv", 3, "q2\tcykel\thigh"),
     "test.tsv:3: score 'high' is not an integer"),
    ("judged twice", lambda d: _replace_line(d / "qrels" / "test.tsv", 3, "q1\tkaffe\t1"),
     "test.tsv:3: (q1, kaffe) is judged twice"),
    ("not utf-8",
     lambda d: (d / "queries.jsonl").write_bytes(b'{"_id": "q1", "text": "ok"}\n{"_id": "q2", "text": "\xff"}\n'),
     "queries.jsonl:2: not UTF-8 text"),
]


@pytest.mark.parametrize("case, damage, message", MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_folders_name_file_and_line(tmp_path, case, damage, message):
    folder = write_beir(tmp_path / "broken")
    damage(folder)
    with pytest.raises(DatasetError) as caught:
        load_beir(folder)
    assert message in str(caught.value)
    assert str(folder) in str(caught.value)


def test_the_cli_prints_the_error_and_exits_2(tmp_path, capsys):
    folder = write_beir(tmp_path / "broken")
    _replace_line(folder / "qrels" / "test.tsv", 4, "q99\tkaffe\t1")
    assert main(["run", str(folder), "--quiet", "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ")
    assert f"{folder / 'qrels' / 'test.tsv'}:4: query id 'q99' is not in queries.jsonl" in err
    assert not (tmp_path / "out").exists()


def test_a_missing_dataset_is_an_error(tmp_path, capsys):
    assert main(["run", str(tmp_path / "nothing-here"), "--quiet"]) == 2
    assert "not found" in capsys.readouterr().err


def test_a_broken_question_file_names_the_line(tmp_path, capsys):
    path = tmp_path / "questions.jsonl"
    path.write_text('{"id": "a", "question": "Hvad?", "evidence": [{"text": "x"}]}\n{"id": "b"\n', encoding="utf-8")
    assert main(["run", str(path), "--quiet"]) == 2
    assert f"{path}:2: not valid JSON" in capsys.readouterr().err
