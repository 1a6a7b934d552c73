"""The corpus keeps every source sentence verbatim; the Markdown only adds structure.

Each ``corpus/*.md`` (except README.md) has YAML front matter and a non-empty body.
A document with ``source_file`` must, printed as the document page prints it (the blocks of
``indexer.markdown``: headings without their ``#``s, list items without their bullets) and with
whitespace folded, equal the seed text it was made from, character for character.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from web.render import text_blocks

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO / "corpus"
SEEDS = Path(__file__).resolve().parents[2] / "shared" / "seeds"

REQUIRED_KEYS = ("id", "title", "publisher", "language")
FRONT_MATTER = re.compile(r"^---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|$)", re.DOTALL)
# A seed line that starts with the bullet glyph "•" is a list item; the corpus writes
# it as a Markdown "- " item, so the glyph is the list marker, not text. This is the
# one normalisation applied to the seeds besides folding whitespace.
SEED_BULLET = re.compile(r"^[ \t\u00a0]*•[ \t\u00a0]*")


def corpus_documents() -> list[Path]:
    return sorted(p for p in CORPUS.glob("*.md") if p.name.lower() != "readme.md")


def split(path: Path) -> tuple[dict, str]:
    text = path.read_text(encoding="utf-8")
    match = FRONT_MATTER.match(text)
    assert match, f"{path.name}: no YAML front matter between '---' lines"
    meta = yaml.safe_load(match.group(1))
    assert isinstance(meta, dict), f"{path.name}: front matter must be key: value pairs"
    return meta, text[match.end():]


def fold(text: str) -> str:
    """All whitespace runs (including no-break spaces) become one space."""
    return " ".join(text.split())


def printed_text(body: str) -> str:
    """The body as the document page prints it: every block and list item, in order."""
    lines = [segments for block in text_blocks(body)
             for segments in (block.items if block.kind == "list" else [block.segments])]
    return fold("\n".join("".join(s.text for s in line) for line in lines))


def seed_text(name: str) -> str:
    raw = (SEEDS / name).read_text(encoding="utf-8")
    return fold("\n".join(SEED_BULLET.sub("", line, count=1) for line in raw.splitlines()))


def test_corpus_has_documents():
    assert corpus_documents(), f"no Markdown documents in {CORPUS}"


@pytest.mark.parametrize("path", corpus_documents(), ids=lambda p: p.stem)
def test_front_matter_and_body(path: Path):
    meta, body = split(path)
    missing = [key for key in REQUIRED_KEYS if not str(meta.get(key) or "").strip()]
    assert not missing, f"{path.name}: front matter lacks {missing}"
    assert meta["id"] == path.stem, f"{path.name}: id {meta['id']!r} differs from the file name"
    assert meta["language"] == "da"
    assert body.strip(), f"{path.name}: empty body"


@pytest.mark.parametrize("path", corpus_documents(), ids=lambda p: p.stem)
def test_body_is_verbatim_seed(path: Path):
    meta, body = split(path)
    if "source_file" not in meta:
        pytest.skip(f"{path.name} has no source_file")
    if not SEEDS.is_dir():
        pytest.skip(f"shared seeds not available: {SEEDS} not found")
    seed = SEEDS / str(meta["source_file"])
    assert seed.is_file(), f"{path.name}: source_file {meta['source_file']!r} not in {SEEDS}"
    expected = seed_text(seed.name)
    actual = printed_text(body)
    if actual != expected:
        at = next((i for i, (a, b) in enumerate(zip(actual, expected)) if a != b), min(len(actual), len(expected)))
        pytest.fail(
            f"{path.name} differs from {seed.name} at character {at}:\n"
            f"  corpus: ...{actual[max(0, at - 60):at + 60]!r}\n"
            f"  seed:   ...{expected[max(0, at - 60):at + 60]!r}"
        )


def test_every_seed_has_one_document():
    if not SEEDS.is_dir():
        pytest.skip(f"shared seeds not available: {SEEDS} not found")
    used = [str(split(p)[0].get("source_file")) for p in corpus_documents()]
    for seed in sorted(SEEDS.glob("*.txt")):
        assert used.count(seed.name) == 1, f"{seed.name} should be the source_file of exactly one corpus document"
