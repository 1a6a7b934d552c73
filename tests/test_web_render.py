"""The passage renderer: Markdown blocks and highlight segments, as the pages print them."""

from __future__ import annotations

import pytest
from conftest import CORPUS

from indexer.documents import load_corpus
from indexer.passages import Passage, split_passages
from web import render
from web.render import Segment


def printed(blocks: list[render.Block], flag: str | None = None) -> str:
    """The text a page prints for ``blocks`` (only segments with ``flag`` set, if given), one
    block or item a line."""
    lines = [s for b in blocks for s in ([b.segments] if b.kind != "list" else b.items)]
    return "\n".join("".join(s.text for s in line if flag is None or getattr(s, flag)) for line in lines)


def test_headings_lists_and_paragraphs_become_blocks():
    text = "## Formål\n\nFørste linje\nanden linje.\n\n- punkt et\n  fortsat\n- punkt to\n\nSlut."
    blocks = render.text_blocks(text)
    assert [(b.kind, b.level) for b in blocks] == [("heading", 2), ("paragraph", 0), ("list", 0), ("paragraph", 0)]
    assert blocks[0].segments == [Segment("Formål")]
    assert blocks[1].segments == [Segment("Første linje\nanden linje.")]
    assert [i[0].text for i in blocks[2].items] == ["punkt et\n  fortsat", "punkt to"]


def test_highlights_are_cut_exactly_at_their_offsets():
    text = "# Titel\n\nEn sætning. Svaret står her. Sidste."
    start = text.index("Svaret")
    end = start + len("Svaret står her.")
    paragraph = render.text_blocks(text, [(start, end)])[1]
    assert paragraph.segments == [Segment("En sætning. "), Segment("Svaret står her.", answer=True),
                                  Segment(" Sidste.")]


def test_answer_sentences_in_a_row_read_as_one_highlight():
    text = "Første. Anden.  Tredje. Fjerde."
    spans = [(text.index("Tredje"), len(text) - len(" Fjerde.")), (0, len("Første."))]
    spans.append((text.index("Anden"), text.index("Anden") + len("Anden.")))
    assert render.merge_spans(text, spans) == [(0, len(text) - len(" Fjerde."))]
    assert render.text_blocks(text, spans)[0].segments == [Segment("Første. Anden.  Tredje.", answer=True),
                                                           Segment(" Fjerde.")]


def test_a_highlight_across_blocks_marks_each_part_and_no_markup_is_lost():
    text = "Linje et.\n\n- punkt"
    blocks = render.text_blocks(text, [(5, len(text))])
    assert blocks[0].segments == [Segment("Linje"), Segment(" et.", answer=True)]
    assert blocks[1].items == [[Segment("punkt", answer=True)]]


def test_nonsense_highlights_are_ignored():
    assert render.clean_spans([(5, 2), (-1, 3), (0, 99), (1, 3)], 10) == [(1, 3)]
    assert render.parse_highlight_param("1-5,x,7-9,<b>") == [(1, 5), (7, 9)]


def test_document_outline_never_skips_a_level():
    blocks = render.document_outline(render.text_blocks("## A\n\n### B\n\n# C\n\n#### D\n\ntekst"))
    assert [b.outline for b in blocks if b.kind == "heading"] == [2, 3, 2, 3]


def test_cited_groups_wrap_the_blocks_the_passage_touches():
    text = "Før.\n\nCiteret.\n\nEfter."
    start = text.index("Citeret")
    blocks = render.text_blocks(text, cited=(start, start + len("Citeret.")))
    assert [(cited, [b.segments[0].text for b in group]) for cited, group in render.cited_groups(blocks)] == [
        (False, ["Før."]), (True, ["Citeret."]), (False, ["Efter."])]


def test_links_and_citation():
    url = render.document_url("peerstoette-tema", "peerstoette-tema#3", [(0, 10)], "Hvad er peerstøtte?")
    assert url == ("/documents/peerstoette-tema?passage=peerstoette-tema%233&hl=0-10"
                   "&q=Hvad%20er%20peerst%C3%B8tte%3F#cited")
    assert render.chat_url("a b", ["c"]) == "/?q=a+b&h=c"
    assert render.citation("Peerstøtte", "Socialstyrelsen", "", "http://x/d") == \
        "Peerstøtte. Socialstyrelsen. http://x/d"
    assert render.safe_source_url("javascript:alert(1)") is None
    assert render.safe_source_url("https://socialstyrelsen.dk/x") == "https://socialstyrelsen.dk/x"


def test_numbered_items_keep_their_number_and_bullets_are_dropped():
    text = "I initiativet er der 3 projekter:\n\n1. Region Hovedstaden\n2. Region Midtjylland\n\n- punkt"
    blocks = render.text_blocks(text)
    assert [b.kind for b in blocks] == ["paragraph", "list", "list"]
    assert [i[0].text for i in blocks[1].items] == ["1. Region Hovedstaden", "2. Region Midtjylland"]
    assert blocks[2].items == [[Segment("punkt")]]


def test_a_heading_stuck_to_the_text_around_it_is_still_a_heading():
    blocks = render.text_blocks("Indledning.\n## Formål\nAt styrke håbet.")
    assert [(b.kind, b.segments[0].text) for b in blocks] == [
        ("paragraph", "Indledning."), ("heading", "Formål"), ("paragraph", "At styrke håbet.")]


def test_a_hash_word_and_inline_markup_are_printed_as_written():
    text = "#peerstøtte er **vigtigt**, se [social.dk](https://social.dk)."
    assert render.text_blocks(text)[0].segments == [Segment(text)]


def test_a_nested_list_is_printed_inside_its_parent_item():
    blocks = render.text_blocks("- Skalaer\n  - RSA\n  - ROPI\n- Faktorer")
    assert [i[0].text for i in blocks[0].items] == ["Skalaer\n  - RSA\n  - ROPI", "Faktorer"]


def test_quotes_and_code_are_printed_verbatim_as_paragraphs():
    text = "> Et citat\n\n```\nkode\n```"
    assert [(b.kind, b.segments[0].text) for b in render.text_blocks(text)] == [
        ("paragraph", "> Et citat"), ("paragraph", "```\nkode\n```")]


def test_highlights_count_characters_not_bytes():
    text = "Indledning 😀 her.\n\n- Svaret 🎉 står her. Og mere."
    start = text.index("Svaret")
    end = text.index(" Og mere")
    blocks = render.text_blocks(text, [(start, end)])
    assert blocks[1].items == [[Segment("Svaret 🎉 står her.", answer=True), Segment(" Og mere.")]]


@pytest.fixture(scope="module")
def corpus_passages() -> list[tuple[str, list[Passage]]]:
    return [(doc.body, split_passages(doc)) for doc in load_corpus(CORPUS)]


def test_the_document_page_marks_as_cited_exactly_what_the_card_shows(corpus_passages):
    """A passage read on its own (search card) and inside its document (document page, cited)
    prints the same words, and nothing outside it is marked."""
    for body, passages in corpus_passages:
        for passage in passages:
            card = printed(render.text_blocks(passage.text))
            page = render.text_blocks(body, cited=(passage.start, passage.end))
            assert printed(page, "cited").split() == card.split(), passage.id
            assert not printed([b for b in page if not b.cited], "cited").strip(), passage.id


def test_cards_show_as_headings_exactly_the_headings_the_passage_is_filed_under(corpus_passages):
    for _, passages in corpus_passages:
        for passage in passages:
            shown = [b.segments[0].text for b in render.text_blocks(passage.text) if b.kind == "heading"]
            assert set(shown) <= set(passage.headings), passage.id


def test_a_numbered_list_prints_its_own_numbers_without_bullets():
    blocks = render.text_blocks("Projekter:\n\n1. Det første\n2. Det andet\n\n- et punkt\n")
    numbered, bullets = [b for b in blocks if b.kind == "list"]
    assert numbered.numbered and not bullets.numbered
    assert ["".join(s.text for s in item) for item in numbered.items] == ["1. Det første", "2. Det andet"]
    assert ["".join(s.text for s in item) for item in bullets.items] == ["et punkt"]
