"""``python -m eval run``: the files an evaluator gets, numbers that other tools reproduce, exit codes."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest
from test_eval_beir import CORPUS, write_beir

from eval import trec
from eval.cli import UsageError, main, resolve_depth
from eval.hit_rule import first_hit_rank
from eval.questions import load_questions
from indexer.settings import MAX_RESULTS, Settings
from indexer.store import dedup_key
from retrieval.searcher import Searcher

SHARED = Path(__file__).resolve().parents[2] / "shared"
DEV_QUESTIONS = SHARED / "eval" / "dev-questions.jsonl"
METRICS = ["ndcg@10", "recall@10", "mrr@10", "map@10", "success@1", "success@5"]
RANX = {"success@1": "hit_rate@1", "success@5": "hit_rate@5"}


@pytest.fixture
def hashing_model(monkeypatch):
    monkeypatch.setenv("PEERQA_MODEL", "hashing:256")


@pytest.fixture
def beir_report(tmp_path, hashing_model):
    """One run of all three retrievers on a tiny BEIR folder: (exit code, out folder, report)."""
    folder = write_beir(tmp_path / "mini")
    out = tmp_path / "report"
    code = main(["run", str(folder), "--retrievers", "lexical,dense,hybrid", "--out", str(out), "--quiet"])
    return code, out, json.loads((out / "report.json").read_text(encoding="utf-8"))


def test_a_beir_run_writes_every_file(beir_report):
    code, out, report = beir_report
    assert code == 0
    for name in ["report.json", "report.md", "lexical.trec", "dense.trec", "hybrid.trec", "qrels.trec",
                 "per_query.tsv", "comparison.png"]:
        assert (out / name).is_file(), name
    assert (out / "comparison.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert list(report["retrievers"]) == ["lexical", "dense", "hybrid"]
    for values in report["retrievers"].values():
        assert set(METRICS) <= set(values)
        assert {"latency_p50_ms", "latency_p95_ms", "latency_p99_ms", "latency_mean_ms"} <= set(values)
        assert values["queries"] == 7  # q8 has only a 0 judgment, "extra" none
        assert "highlight_accuracy" not in values  # BEIR folders have no evidence spans
        assert 0 < values["latency_p50_ms"] <= values["latency_p95_ms"] <= values["latency_p99_ms"]
    assert report["dataset"]["unjudged_queries"] == 1
    assert report["depth"] == 100
    assert report["verification"]["agree"] is True
    assert report["verification"]["trec_read_back"] is True
    assert report["verification"]["ranx_version"]
    assert report["machine"]["nproc"] >= 1
    assert report["command"].startswith("python -m eval run ")
    assert "index_seconds" in report["timing"] and "total_seconds" in report["timing"]


def test_the_trec_files_reproduce_every_number_in_ranx(beir_report):
    import ranx

    _, out, report = beir_report
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        qrels = ranx.Qrels.from_file(str(out / "qrels.trec"), kind="trec")
        for name, values in report["retrievers"].items():
            run = ranx.Run.from_file(str(out / f"{name}.trec"), kind="trec")
            recomputed = ranx.evaluate(qrels, run, [RANX.get(m, m) for m in METRICS], make_comparable=True)
            for metric in METRICS:
                assert values[metric] == pytest.approx(recomputed[RANX.get(metric, metric)], abs=1e-6), (name, metric)


def test_report_md_has_the_table_best_marks_significance_and_misses(beir_report):
    _, out, report = beir_report
    text = (out / "report.md").read_text(encoding="utf-8")
    assert report["command"] in text
    assert "| retriever | nDCG@10 | Recall@10 | MRR@10 | MAP@10 | Success@1 | Success@5 | p50 ms" in text
    best = report["best"]["ndcg@10"][0]
    row = next(line for line in text.splitlines() if line.startswith(f"| {best} |"))
    assert f"**{report['retrievers'][best]['ndcg@10']:.3f}**" in row
    assert f"p-values against `{report['significance']['reference']}`" in text
    assert "## Misses" in text and "## Verification" in text
    assert "![comparison](comparison.png)" in text


def test_per_query_file_has_a_row_per_query_and_retriever(beir_report):
    _, out, _ = beir_report
    rows = (out / "per_query.tsv").read_text(encoding="utf-8").splitlines()
    assert rows[0].split("\t")[:4] == ["query_id", "retriever", "first_relevant_rank", "ndcg@10"]
    assert len(rows) == 1 + 7 * 3


def test_rankings_are_the_searchers_own(tmp_path, hashing_model):
    folder = write_beir(tmp_path / "mini")
    index = tmp_path / "mini-index"
    assert main(["index", str(folder), "--out", str(index), "--quiet"]) == 0
    out = tmp_path / "report"
    assert main(["run", str(folder), "--index", str(index), "--retrievers", "hybrid,lexical", "--out", str(out),
                 "--quiet"]) == 0
    searcher = Searcher.open(Settings(), index)
    lines = (out / "hybrid.trec").read_text(encoding="utf-8").splitlines()
    from_file = [line.split() for line in lines if line.startswith("q3 ")]
    hits = searcher.search("Hvad laver en hund i parken?", 100).hits
    assert [cells[2] for cells in from_file] == [h.passage.doc_id for h in hits]
    assert [cells[3] for cells in from_file] == [str(h.rank) for h in hits]
    # the retriever's own scores (a tie nudged 1e-9 below the score ranked before it)
    assert [float(cells[4]) for cells in from_file] == trec.falling_scores([h.score for h in hits])
    assert [float(cells[4]) for cells in from_file] == pytest.approx([h.score for h in hits], abs=1e-6)
    first = lines[0].split()
    assert first[1] == "Q0" and first[3] == "1" and first[5] == "hybrid"
    assert trec.read_run(out / "hybrid.trec")["q3"] == [h.passage.doc_id for h in hits]


FILLER = [{"_id": f"fyld-{i}", "title": "", "text": f"Fyldtekst nummer {i} om en hund, kaffe og regn i byen."}
          for i in range(30)]


def test_depth_sets_the_run_depth_and_leaves_every_metric(tmp_path, hashing_model):
    folder = write_beir(tmp_path / "big", corpus=[*CORPUS, *FILLER])
    index = tmp_path / "big-index"
    assert main(["index", str(folder), "--out", str(index), "--quiet"]) == 0
    reports = {}
    for depth in (None, 25, 10):
        out = tmp_path / f"depth-{depth}"
        extra = [] if depth is None else ["--depth", str(depth)]
        assert main(["run", str(folder), "--index", str(index), "--retrievers", "lexical,dense,hybrid",
                     "--out", str(out), "--quiet", *extra]) == 0
        report = json.loads((out / "report.json").read_text(encoding="utf-8"))
        assert report["depth"] == (depth or 100)
        for name in ("lexical", "dense", "hybrid"):
            per_query: dict[str, int] = {}
            for line in (out / f"{name}.trec").read_text(encoding="utf-8").splitlines():
                per_query[line.split()[0]] = per_query.get(line.split()[0], 0) + 1
            assert max(per_query.values()) <= (depth or 100)
            if name == "dense":  # the dense side ranks every passage: the runs are exactly as deep as asked
                assert set(per_query.values()) == {min(depth or 100, len(CORPUS) + len(FILLER))}
        rows = (out / "per_query.tsv").read_text(encoding="utf-8").splitlines()
        reports[depth] = (report, [row.split("\t")[:9] for row in rows])
    deepest, _ = reports[None]
    for depth in (25, 10):
        report, rows = reports[depth]
        assert rows == reports[None][1]  # every metric and first relevant rank, query by query
        for name, values in report["retrievers"].items():
            for metric in METRICS:
                assert values[metric] == deepest["retrievers"][name][metric], (depth, name, metric)


@pytest.mark.parametrize("depth, k, message", [
    ("5", "10", "--depth must be at least 10"),
    ("15", "20", "--depth must be at least 20"),
    ("101", "10", "--depth must be 100 or less"),
])
def test_a_depth_that_would_change_the_metrics_is_refused(tmp_path, capsys, depth, k, message):
    folder = write_beir(tmp_path / "mini")
    assert main(["run", str(folder), "--depth", depth, "--k", k, "--quiet", "--out", str(tmp_path / "out")]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_depth_over_the_api_is_capped_with_a_note():
    assert resolve_depth(None, 10, api=False, candidates=100) == (100, None)
    assert resolve_depth(None, 10, api=False, candidates=40) == (40, None)
    assert resolve_depth(None, 30, api=False, candidates=20) == (30, None)
    assert resolve_depth(60, 10, api=False, candidates=100) == (60, None)
    depth, note = resolve_depth(None, 10, api=True, candidates=100)
    assert depth == MAX_RESULTS and f"at most {MAX_RESULTS} results" in note and "not 100" in note
    assert resolve_depth(20, 10, api=True, candidates=100) == (20, None)
    with pytest.raises(UsageError):
        resolve_depth(9, 5, api=False, candidates=100)


def test_an_index_of_another_corpus_is_refused(tmp_path, hashing_model, capsys):
    folder = write_beir(tmp_path / "mini")
    other = write_beir(tmp_path / "other", corpus=[{"_id": e["_id"], "text": e["text"] + " ekstra"}
                                                   for e in json.loads("[" + ",".join(
                                                       (folder / "corpus.jsonl").read_text().splitlines()) + "]")])
    assert main(["index", str(other), "--out", str(tmp_path / "idx"), "--quiet"]) == 0
    assert main(["run", str(folder), "--index", str(tmp_path / "idx"), "--quiet"]) == 2
    assert "was not built from" in capsys.readouterr().err


@pytest.mark.parametrize("minimum, expected", [
    (["ndcg@10=0.01"], 0),
    (["ndcg@10=1.01"], 1),
    (["lexical:success@1=0", "hybrid:success@5=1.5"], 1),
])
def test_min_thresholds_set_the_exit_code(tmp_path, hashing_model, capsys, minimum, expected):
    folder = write_beir(tmp_path / "mini")
    out = tmp_path / "out"
    code = main(["run", str(folder), "--retrievers", "lexical,hybrid", "--out", str(out), "--quiet", "--min", *minimum])
    assert code == expected
    checks = json.loads((out / "report.json").read_text(encoding="utf-8"))["checks"]
    assert all(c["passed"] for c in checks) == (expected == 0)
    if expected:
        assert "FAIL" in capsys.readouterr().err
        assert "**FAIL**" in (out / "report.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("minimum, message", [
    ("precision@5=0.1", "is not a metric"),
    ("recall@20=0.5", "is not reported at --k 10"),
    ("ndcg@10", "write METRIC=VALUE"),
    ("dense:ndcg@10=0.5", "retriever 'dense' is not in --retrievers"),
])
def test_bad_thresholds_fail_before_any_work(tmp_path, hashing_model, capsys, minimum, message):
    folder = write_beir(tmp_path / "mini")
    out = tmp_path / "out"
    assert main(["run", str(folder), "--retrievers", "lexical", "--out", str(out), "--quiet", "--min", minimum]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_unknown_retriever_is_an_error(tmp_path, capsys):
    assert main(["run", str(tmp_path), "--retrievers", "lexical,bm42"]) == 2
    assert "unknown retriever(s) bm42" in capsys.readouterr().err


def test_span_file_default_run_keeps_the_summary_at_the_end(corpus_searcher, isolated_data, capsys, monkeypatch):
    """``python -m eval run ../shared/eval/dev-questions.jsonl``, as the project's hook runs it."""
    monkeypatch.setenv("PEERQA_WEIGHT_DENSE", str(corpus_searcher.settings.weight_dense))  # the same searcher
    assert main(["run", str(DEV_QUESTIONS), "--quiet"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    last = lines[-6:]
    assert last[-1].startswith("Success@1: ") and "Success@5: " in last[-1] and "MRR@10: " in last[-1]
    assert "Highlight accuracy: " in last[-1]
    assert any(line.startswith("Unanswerable flagged: ") and "answerable flagged: " in line for line in last)
    assert any(line.startswith("hybrid: 32 questions") for line in last)
    out = isolated_data / "eval" / "dev-questions"  # the default --out: var/eval/<dataset name>
    assert any(str(out / "report.md") in line for line in lines)
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    hybrid = report["retrievers"]["hybrid"]
    assert report["judgments"].startswith("exhaustive")
    assert report["dataset"]["unanswerable"] == 5 and "unanswerable_flagged" in hybrid
    assert "## Abstention" in (out / "report.md").read_text(encoding="utf-8")
    # Success@1/5 and MRR@10 equal the README's rank rule, computed here on the searcher directly.
    ranks = []
    for q in load_questions(DEV_QUESTIONS).questions:
        texts = [h.passage.text for h in corpus_searcher.search(q.question, 10, retriever="hybrid").hits]
        ranks.append(first_hit_rank(texts, list(q.evidence), 10))
    assert hybrid["success@1"] == pytest.approx(sum(r == 1 for r in ranks) / len(ranks), abs=1e-9)
    assert hybrid["success@5"] == pytest.approx(sum(r is not None and r <= 5 for r in ranks) / len(ranks), abs=1e-9)
    assert hybrid["mrr@10"] == pytest.approx(sum(1 / r for r in ranks if r) / len(ranks), abs=1e-9)
    qrels = (out / "qrels.trec").read_text(encoding="utf-8").splitlines()
    assert {line.split()[0] for line in qrels} <= {q.id for q in load_questions(DEV_QUESTIONS).questions}


def test_span_file_compares_all_retrievers(corpus_searcher, tmp_path, capsys):
    out = tmp_path / "spans"
    assert main(["run", str(DEV_QUESTIONS), "--retrievers", "lexical,dense,hybrid", "--out", str(out), "--quiet"]) == 0
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert list(report["retrievers"]) == ["lexical", "dense", "hybrid"]
    assert report["verification"]["rank_rule_max_difference"] <= 1e-9
    assert report["verification"]["trec_read_back"] is True and report["verification"]["agree"] is True
    passages = len({dedup_key(p.text) for p in corpus_searcher.passages()})  # the core returns each text once
    for name in ("lexical", "dense", "hybrid"):
        runs = trec.read_run(out / f"{name}.trec")
        assert set(runs) <= {q.id for q in load_questions(DEV_QUESTIONS).questions}
        if name == "dense":  # every question ranked to the depth asked for, or the whole (small) index
            assert {len(ids) for ids in runs.values()} == {min(100, passages)}
    stdout = capsys.readouterr().out
    assert stdout.count("Success@1: ") == 3
    for values in report["retrievers"].values():  # judged on exactly the Success@1 hits
        assert values["highlight_questions"] == round(values["success@1"] * 32)
        assert values["highlight_accuracy"] is None or 0 <= values["highlight_accuracy"] <= 1
    assert "## Highlight misses" in (out / "report.md").read_text(encoding="utf-8")


def test_a_seeded_sample_is_reproducible_and_flagged(tmp_path, hashing_model):
    folder = write_beir(tmp_path / "mini")

    def sampled(seed: int, name: str) -> tuple[list[str], dict]:
        out = tmp_path / name
        code = main(["run", str(folder), "--retrievers", "lexical", "--sample", "4", "--seed", str(seed),
                     "--out", str(out), "--quiet"])
        assert code == 0
        rows = (out / "per_query.tsv").read_text(encoding="utf-8").splitlines()[1:]
        return sorted(row.split("\t")[0] for row in rows), json.loads((out / "report.json").read_text("utf-8"))

    first, report = sampled(0, "a")
    again, _ = sampled(0, "b")
    assert len(first) == 4 and first == again
    assert any(sampled(seed, f"s{seed}")[0] != first for seed in (1, 2, 3))
    assert report["retrievers"]["lexical"]["queries"] == 4
    assert any("--sample 4 --seed 0" in note for note in report["notes"])
