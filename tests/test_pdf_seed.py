"""The seed "Inspirationsguide 2016" rebuilt as a PDF by the tests, imported from that PDF, answers
the questions about it (the dev set's, the Danish paraphrases', the English set's) as well as the hand-written Markdown version does.

Both indexes use the default encoder (multilingual-e5-small) and default settings; the scores
are printed (``pytest -s tests/test_pdf_seed.py``) and recorded in docs/documents.md."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import CORPUS, ROOT, SHARED
from pdf_fixtures import markdown_to_pdf

from eval.hit_rule import first_hit_rank
from indexer.build import build_index
from indexer.inbox import import_inbox
from indexer.settings import Settings
from retrieval.searcher import Searcher

GUIDE = "inspirationsguide-peer-stoette"
GUIDE_SOURCE = "002_c4ee5cdc396ffc61.txt"  # its name in ../shared/seeds, as the dev questions cite it
QUESTIONS = SHARED / "eval" / "dev-questions.jsonl"
#: the dev set has only two questions about the guide: the project's Danish paraphrases and English
#: questions (same format, same hit rule) add eight more
MORE_QUESTIONS = [ROOT / "eval" / "question_sets" / name for name in ("danish-paraphrases.jsonl", "english.jsonl")]

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not QUESTIONS.is_file(), reason="needs ../shared/eval")]


def read_questions(*paths: Path) -> list[dict]:
    return [json.loads(line) for path in paths for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()]


def guide_questions() -> list[dict]:
    return [row for row in read_questions(QUESTIONS, *MORE_QUESTIONS)
            if any(e["doc"] == GUIDE_SOURCE for e in row["evidence"])]


def scores(searcher: Searcher, questions: list[dict]) -> dict[str, float]:
    ranks = []
    for question in questions:
        hits = searcher.search(question["question"], 10).hits
        ranks.append(first_hit_rank([h.passage.text for h in hits], [e["text"] for e in question["evidence"]]))
    return {"success@1": sum(r == 1 for r in ranks) / len(ranks),
            "success@5": sum(r is not None and r <= 5 for r in ranks) / len(ranks),
            "mrr@10": sum(1 / r for r in ranks if r) / len(ranks)}


def corpus_without_guide(folder: Path) -> Path:
    folder.mkdir()
    for path in CORPUS.iterdir():
        if path.is_file() and path.name != f"{GUIDE}.md":
            shutil.copy(path, folder / path.name)
    return folder


def test_the_guide_imported_from_pdf_answers_as_well_as_its_markdown(tmp_path: Path, isolated_data: Path):
    questions = guide_questions()
    assert len(questions) >= 10
    markdown_settings = Settings(corpus_dir=CORPUS, index_dir=isolated_data / "markdown-index",
                                 data_dir=isolated_data)
    build_index(CORPUS, markdown_settings.index_dir, markdown_settings, progress=False)
    markdown_searcher = Searcher.open(markdown_settings)
    from_markdown = scores(markdown_searcher, questions)

    corpus = corpus_without_guide(tmp_path / "corpus")
    pdf_settings = markdown_settings.model_copy(update={"corpus_dir": corpus,
                                                        "index_dir": isolated_data / "pdf-index"})
    pdf_settings.inbox.mkdir()
    pdf = markdown_to_pdf((CORPUS / f"{GUIDE}.md").read_text(encoding="utf-8"), pdf_settings.inbox / "guide.pdf")
    report = import_inbox(pdf_settings)
    imported = [record for record in report.read if record.imported]
    assert len(imported) == 1 and imported[0].pages >= 2, report.lines()
    build_index(corpus, pdf_settings.index_dir, pdf_settings, progress=False)
    pdf_searcher = Searcher.open(pdf_settings)
    from_pdf = scores(pdf_searcher, questions)
    dev = read_questions(QUESTIONS)
    dev_markdown, dev_pdf = scores(markdown_searcher, dev), scores(pdf_searcher, dev)

    print(f"\n{len(questions)} questions about the guide; Markdown: {from_markdown}; PDF: {from_pdf}; "
          f"PDF pages: {imported[0].pages} ({Path(pdf).stat().st_size // 1024} KB)\n"
          f"all {len(dev)} dev questions; guide from Markdown: {dev_markdown}; guide from PDF: {dev_pdf}")
    assert from_pdf["success@5"] >= from_markdown["success@5"]
    assert from_pdf["mrr@10"] >= from_markdown["mrr@10"] - 0.05
    assert dev_pdf["success@5"] >= dev_markdown["success@5"] - 1 / len(dev)
    # and every guide passage found knows its page
    guide_passages = pdf_searcher.passages_of(imported[0].doc_id or "")
    assert guide_passages and all(p.page_start is not None and p.page_start <= (p.page_end or 0)
                                  for p in guide_passages)
