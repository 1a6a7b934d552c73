"""Corpus files without valid front matter or with an empty body give an error naming the file."""

from pathlib import Path

import pytest
from conftest import write_doc

from indexer.documents import CorpusError, load_corpus


def test_missing_front_matter_names_the_file(tmp_path: Path):
    (tmp_path / "plain.md").write_text("Bare tekst uden metadata.", encoding="utf-8")
    with pytest.raises(CorpusError, match=r"plain\.md: no YAML front matter"):
        load_corpus(tmp_path)


def test_empty_body_names_the_file(tmp_path: Path):
    write_doc(tmp_path, "tom", "Tom", "   \n\n")
    with pytest.raises(CorpusError, match=r"tom\.md: the body is empty"):
        load_corpus(tmp_path)


def test_missing_title_and_bad_yaml(tmp_path: Path):
    (tmp_path / "a.md").write_text("---\nid: a\npublisher: P\n---\nTekst.", encoding="utf-8")
    with pytest.raises(CorpusError, match=r"a\.md: front matter lacks title"):
        load_corpus(tmp_path)
    (tmp_path / "a.md").write_text("---\nid: [a\n---\nTekst.", encoding="utf-8")
    with pytest.raises(CorpusError, match=r"a\.md: front matter is not valid YAML"):
        load_corpus(tmp_path)


def test_duplicate_ids_are_rejected(tmp_path: Path):
    write_doc(tmp_path, "a", "A", "Tekst.")
    (tmp_path / "b.md").write_text("---\nid: a\ntitle: B\npublisher: P\n---\nTekst.", encoding="utf-8")
    with pytest.raises(CorpusError, match="already used"):
        load_corpus(tmp_path)
