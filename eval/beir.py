"""BEIR-layout datasets: ``corpus.jsonl``, ``queries.jsonl`` and ``qrels/<split>.tsv``.

Every problem raises DatasetError naming the file and the line, so a malformed dataset is fixed in
one look. Only queries with at least one relevant judgment (score ≥ 1) are evaluated, as BEIR
does; queries whose judgments are all 0 are counted and reported, not scored.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from eval.questions import DatasetError, read_jsonl, read_lines


@dataclass(frozen=True)
class CorpusEntry:
    id: str
    title: str
    text: str


@dataclass
class BeirDataset:
    path: Path
    split: str
    corpus: list[CorpusEntry]
    queries: dict[str, str]  # every query in queries.jsonl
    qrels: dict[str, dict[str, int]]  # evaluated queries only: at least one judgment ≥ 1
    unjudged: list[str] = field(default_factory=list)  # queries in the qrels with no relevant judgment

    @property
    def name(self) -> str:
        return self.path.resolve().name

    def fingerprint(self) -> str:
        """A hash of the corpus file: an index built from it is reusable while this is unchanged."""
        digest = hashlib.sha256()
        with (self.path / "corpus.jsonl").open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
        return "beir-corpus:" + digest.hexdigest()


def _string_id(value: object) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str) and value.strip():
        return value
    return None


def load_corpus(path: Path) -> list[CorpusEntry]:
    entries: list[CorpusEntry] = []
    seen: dict[str, int] = {}
    for number, row in read_jsonl(path, what="corpus entries"):
        doc_id = _string_id(row.get("_id"))
        if doc_id is None:
            raise DatasetError(f"{path}:{number}: each corpus entry needs a non-empty string '_id'")
        text, title = row.get("text"), row.get("title", "")
        if not isinstance(text, str):
            raise DatasetError(f"{path}:{number}: corpus entry {doc_id!r} needs a string field 'text'")
        if title is None:
            title = ""
        if not isinstance(title, str):
            raise DatasetError(f"{path}:{number}: 'title' of corpus entry {doc_id!r} must be a string")
        if not text.strip() and not title.strip():
            raise DatasetError(f"{path}:{number}: corpus entry {doc_id!r} has neither text nor title")
        if doc_id in seen:
            raise DatasetError(f"{path}:{number}: corpus id {doc_id!r} already used on line {seen[doc_id]}")
        seen[doc_id] = number
        entries.append(CorpusEntry(doc_id, title.strip(), text))
    return entries


def load_queries(path: Path) -> dict[str, str]:
    queries: dict[str, str] = {}
    lines: dict[str, int] = {}
    for number, row in read_jsonl(path, what="queries"):
        qid, text = _string_id(row.get("_id")), row.get("text")
        if qid is None or not isinstance(text, str) or not text.strip():
            raise DatasetError(f"{path}:{number}: each query needs a non-empty string '_id' and 'text'")
        if qid in queries:
            raise DatasetError(f"{path}:{number}: query id {qid!r} already used on line {lines[qid]}")
        queries[qid] = text
        lines[qid] = number
    return queries


def load_qrels(path: Path, queries: dict[str, str], corpus_ids: set[str]) -> dict[str, dict[str, int]]:
    """``{query id: {corpus id: score}}``; every id must exist in the queries and the corpus."""
    if not path.is_file():
        raise DatasetError(f"{path}: file not found; a BEIR folder has qrels/<split>.tsv "
                           f"(query-id, corpus-id, score), e.g. qrels/test.tsv")
    qrels: dict[str, dict[str, int]] = {}
    for number, line in read_lines(path):
        if not line.strip():
            continue
        cells = line.rstrip("\r\n").split("\t")
        if number == 1 and cells and cells[0].strip().lower() in {"query-id", "query_id", "qid"}:
            continue  # the BEIR header
        if len(cells) != 3:
            raise DatasetError(f"{path}:{number}: expected 3 tab-separated columns "
                               f"(query-id, corpus-id, score), found {len(cells)}")
        qid, doc_id, raw = (c.strip() for c in cells)
        try:
            grade = int(raw)
        except ValueError:
            raise DatasetError(f"{path}:{number}: score {raw!r} is not an integer") from None
        if qid not in queries:
            raise DatasetError(f"{path}:{number}: query id {qid!r} is not in queries.jsonl")
        if doc_id not in corpus_ids:
            raise DatasetError(f"{path}:{number}: corpus id {doc_id!r} is not in corpus.jsonl")
        judged = qrels.setdefault(qid, {})
        if doc_id in judged:
            raise DatasetError(f"{path}:{number}: ({qid}, {doc_id}) is judged twice")
        judged[doc_id] = grade
    if not qrels:
        raise DatasetError(f"{path}: no judgments in the file")
    return qrels


def load_beir(folder: Path, split: str = "test") -> BeirDataset:
    if not folder.is_dir():
        raise DatasetError(f"{folder}: not a folder; pass a BEIR folder (corpus.jsonl, queries.jsonl, "
                           f"qrels/{split}.tsv) or an evidence-span question file (.jsonl)")
    missing = [name for name in ("corpus.jsonl", "queries.jsonl", f"qrels/{split}.tsv")
               if not (folder / name).is_file()]
    if missing:
        raise DatasetError(f"{folder}: not a BEIR folder, missing {', '.join(missing)}")
    corpus = load_corpus(folder / "corpus.jsonl")
    queries = load_queries(folder / "queries.jsonl")
    judged = load_qrels(folder / "qrels" / f"{split}.tsv", queries, {e.id for e in corpus})
    qrels = {qid: docs for qid, docs in judged.items() if any(g >= 1 for g in docs.values())}
    unjudged = sorted(set(judged) - set(qrels))
    if not qrels:
        raise DatasetError(f"{folder / 'qrels' / f'{split}.tsv'}: no query has a relevant judgment (score ≥ 1)")
    return BeirDataset(folder, split, corpus, queries, qrels, unjudged)
