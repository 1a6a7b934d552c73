"""The Markdown block reader: what it calls a heading, a paragraph or a list, and offsets that
slice the source verbatim so no word of a document is ever dropped or altered."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from conftest import CORPUS, ROOT

from indexer.markdown import MarkdownBlock, read_blocks


def shown(text: str, block: MarkdownBlock) -> list[str]:
    return [text[start:end] for start, end in block.ranges]


def outline(text: str) -> list[tuple[str, int, list[str]]]:
    return [(b.kind, b.level, shown(text, b)) for b in read_blocks(text)]


def assert_sound(text: str) -> None:
    """The reader's promises, for any input: blocks in order without overlap, ranges inside
    their block and trimmed, and every non-blank character inside some block."""
    blocks = read_blocks(text)
    inside = [False] * len(text)
    previous_end = 0
    for block in blocks:
        assert previous_end <= block.start < block.end <= len(text), block
        assert not text[block.start].isspace() and not text[block.end - 1].isspace(), block
        previous_end = block.end
        inside[block.start:block.end] = [True] * (block.end - block.start)
        assert block.ranges, block
        for start, end in (*block.ranges, *block.markers):
            assert block.start <= start <= end <= block.end, block
            assert text[start:end] == text[start:end].strip(), block
        assert (block.level > 0) == (block.kind == "heading")
        assert len(block.markers) == (len(block.ranges) if block.kind == "list" else 0)
    lost = [i for i, ch in enumerate(text) if not ch.isspace() and not inside[i]]
    assert not lost, f"text outside every block: {[text[i] for i in lost][:20]} in {text!r}"


def test_headings_paragraphs_and_lists_slice_the_source_verbatim():
    text = ("# Peerstøtte\n\nPeerstøtte er støtte mellem ligestillede.\nDen kan være lønnet eller frivillig.\n\n"
            "## Hvem får støtte?\n\n- unge i psykisk mistrivsel\n- borgere med misbrug\n")
    assert outline(text) == [
        ("heading", 1, ["Peerstøtte"]),
        ("paragraph", 0, ["Peerstøtte er støtte mellem ligestillede.\nDen kan være lønnet eller frivillig."]),
        ("heading", 2, ["Hvem får støtte?"]),
        ("list", 0, ["unge i psykisk mistrivsel", "borgere med misbrug"]),
    ]
    heading = read_blocks(text)[2]
    assert text[heading.start:heading.end] == "## Hvem får støtte?"


@pytest.mark.parametrize("line, level, title", [
    ("# Én", 1, "Én"), ("###### Seks", 6, "Seks"), ("### Lukket ###", 3, "Lukket"),
    ("##   Luft omkring   ", 2, "Luft omkring"), ("##\tTabulator", 2, "Tabulator"), ("   ## Indrykket", 2, "Indrykket"),
    ("## C# og F#", 2, "C# og F#"), ("Understreget\n===", 1, "Understreget"),
    ("Under\nstreget\n---", 2, "Under\nstreget"),
])
def test_heading_levels_and_text_without_markers(line: str, level: int, title: str):
    assert outline(line) == [("heading", level, [title])]


@pytest.mark.parametrize("line", ["#peerstøtte er et hashtag", "####### syv er for mange", "    # kode, ikke titel"])
def test_hash_lines_that_are_not_headings_stay_text(line: str):
    assert outline(line) == [("paragraph", 0, [line.strip()])]


def test_a_heading_stuck_to_its_paragraph_and_a_paragraph_stuck_to_a_heading_are_both_seen():
    text = "## Formål\nAt styrke håb og handlekraft.\n### Målgruppe\nBørn og unge."
    assert outline(text) == [
        ("heading", 2, ["Formål"]), ("paragraph", 0, ["At styrke håb og handlekraft."]),
        ("heading", 3, ["Målgruppe"]), ("paragraph", 0, ["Børn og unge."]),
    ]


def test_list_items_keep_their_continuation_lines_and_lose_only_the_bullet():
    text = ("- Forbundethed\n  (Connectedness)\n- Håb og\noptimisme\n"  # indented and lazy continuation
            "-\tMening med tilværelsen\n- \n- Empowerment")
    assert outline(text) == [("list", 0, ["Forbundethed\n  (Connectedness)", "Håb og\noptimisme",
                                          "Mening med tilværelsen", "", "Empowerment"])]
    assert outline("* stjerne\n* to") == [("list", 0, ["stjerne", "to"])]
    assert outline("+ plus") == [("list", 0, ["plus"])]


def test_items_separated_by_blank_lines_are_one_list():
    text = "- første punkt\n\n- andet punkt\n\n\n- tredje punkt\n\nEfter listen."
    assert outline(text) == [("list", 0, ["første punkt", "andet punkt", "tredje punkt"]),
                             ("paragraph", 0, ["Efter listen."])]


def test_numbered_items_report_their_numbers_as_markers():
    text = "I initiativet er der 3 projekter:\n\n1. Region Hovedstaden\n2. Region Midtjylland\n10. Region Sjælland"
    _, numbered = read_blocks(text)
    assert shown(text, numbered) == ["Region Hovedstaden", "Region Midtjylland", "Region Sjælland"]
    assert [text[s:e] for s, e in numbered.markers] == ["1.", "2.", "10."]


def test_a_nested_list_stays_inside_its_parent_item_as_written():
    text = "- Skalaer\n  - RSA\n  - ROPI\n- Faktorer"
    assert outline(text) == [("list", 0, ["Skalaer\n  - RSA\n  - ROPI", "Faktorer"])]


@pytest.mark.parametrize("text", [
    "> Et citat\nder fortsætter", "```\nkode\n\nmere kode\n```", "    indrykket kode", "<div>\nHTML</div>",
    "| a | b |\n|---|---|\n| 1 | 2 |", "* * *", "[kilde]: https://socialstyrelsen.dk",
])
def test_other_blocks_are_paragraphs_shown_verbatim(text: str):
    assert outline(text) == [("paragraph", 0, [text.strip()])]


def test_inline_markup_is_not_interpreted():
    text = "## *Vigtigt*\n\nLæs **mere** på [social.dk](https://social.dk) og `kode`."
    assert [r for _, _, ranges in outline(text) for r in ranges] == [
        "*Vigtigt*", "Læs **mere** på [social.dk](https://social.dk) og `kode`."]


def test_offsets_count_characters_not_bytes_and_survive_windows_line_ends():
    text = "## Æblegrød 😀\r\n\r\n- Ærø\r\n- Østerø\r\n\r\nÅbent hus. 🎉 Slut."
    assert outline(text) == [("heading", 2, ["Æblegrød 😀"]), ("list", 0, ["Ærø", "Østerø"]),
                             ("paragraph", 0, ["Åbent hus. 🎉 Slut."])]
    assert outline("a\rb\r\r# c") == [("paragraph", 0, ["a\rb"]), ("heading", 1, ["c"])]


def test_empty_and_blank_text_has_no_blocks():
    assert read_blocks("") == [] and read_blocks(" \n\t\n\u00a0\n") == []


FRAGMENTS = [
    "# Peerstøtte", "## Hvad kan peer-støtte?", "### Lukket ###", "#hashtag", "Titel\n===", "Undertitel\n---",
    "Almindelig tekst om håb.", "Linje med  dobbelt mellemrum ", "  indrykket tekst", "\tmed tabulator",
    "- punkt", "- punkt\n  fortsat", "* stjerne", "+ plus", "-\tfane", "1. første", "2) anden", "10. tiende",
    "  - indlejret", "    - dybt indlejret", "> citat", "```", "~~~", "    kode", "<div>", "</div>", "<!-- note -->",
    "---", "***", "[ref]: https://x.dk", "| a | b |", "æøå ÆØÅ 😀", "-", "#", "1.", "\u00a0", "", "", "",
]


def generated_texts(count: int) -> list[str]:
    rng = random.Random(20240611)
    texts = []
    for _ in range(count):
        lines = [rng.choice(FRAGMENTS) for _ in range(rng.randint(1, 14))]
        texts.append(rng.choice(["\n", "\r\n", "\n\n"]).join(lines) + rng.choice(["", "\n", "  \n\n"]))
    return texts


@pytest.mark.parametrize("text", generated_texts(400))
def test_no_text_is_lost_in_mixed_markdown(text: str):
    assert_sound(text)


def markdown_files() -> list[Path]:
    return sorted([*CORPUS.glob("*.md"), ROOT / "README.md", *(ROOT / "docs").glob("*.md")])


@pytest.mark.parametrize("path", markdown_files(), ids=lambda p: p.name)
def test_no_text_is_lost_in_real_documents(path: Path):
    assert_sound(path.read_text(encoding="utf-8"))


def test_corpus_headings_are_read_as_written():
    """Every ``#`` line of the corpus bodies is a heading whose text is the line without its #s."""
    for path in sorted(CORPUS.glob("*.md")):
        if path.name.lower() == "readme.md":
            continue
        body = path.read_text(encoding="utf-8").split("\n---\n", 1)[1]
        headings = [(b.level, shown(body, b)[0]) for b in read_blocks(body) if b.kind == "heading"]
        expected = [(len(line) - len(line.lstrip("#")), line.lstrip("#").strip())
                    for line in body.splitlines() if line.startswith("#")]
        assert headings == expected, path.name
