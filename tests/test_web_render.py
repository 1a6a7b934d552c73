"""The passage renderer: blocks and highlight segments in Python, and the same in app.js (Node)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from web import render
from web.render import Segment

APP_JS = Path(__file__).resolve().parents[1] / "web" / "static" / "app.js"


def flat(blocks: list[render.Block]) -> list[dict]:
    """The shape app.js's passageBlocks returns."""
    def segs(items: list[Segment]) -> list[list]:
        return [[s.text, s.answer] for s in items]
    return [{"kind": b.kind, "level": b.level, "segments": segs(b.segments), "items": [segs(i) for i in b.items]}
            for b in blocks]


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


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")
def test_app_js_renders_the_same_blocks_as_python(corpus_searcher):
    """Oracle: app.js's passageBlocks against web/render.py on real passages and answers."""
    cases = []
    for question in ["Hvad er peerstøtte?", "Hvad er WRAP?", "Hvilke skalaer måler recovery-orientering?",
                     "Hvem er målgruppen for initiativet om at udbrede peers?", "Hvordan rekrutteres peers?"]:
        for hit in corpus_searcher.search(question, 10).hits:
            cases.append({"text": hit.passage.text, "highlights": [{"start": s, "end": e} for s, e in hit.highlights]})
    emoji = "Indledning 😀 her.\n\n- Svaret 🎉 står her. Og mere."
    emoji_case = len(cases)
    cases.append({"text": emoji, "highlights": [{"start": 23, "end": 44}]})
    cases.append({"text": "x", "highlights": [{"start": 0, "end": 5}]})
    cases.append({"text": "En. To.\n\nTre.", "highlights": [{"start": 9, "end": 13}, {"start": 0, "end": 3},
                                                         {"start": 4, "end": 7}]})
    script = ("const r = require(process.argv[1]); const cases = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
              "process.stdout.write(JSON.stringify(cases.map(c => r.passageBlocks(c.text, c.highlights).map(b => ("
              "{kind: b.kind, level: b.level, segments: b.segments.map(s => [s.text, s.answer]),"
              " items: b.items.map(i => i.map(s => [s.text, s.answer]))})))));")
    result = subprocess.run(["node", "-e", script, str(APP_JS)], input=json.dumps(cases), capture_output=True,
                            text=True, timeout=60, check=True)
    from_js = json.loads(result.stdout)
    for case, js_blocks in zip(cases, from_js, strict=True):
        spans = [(h["start"], h["end"]) for h in case["highlights"]]
        assert js_blocks == flat(render.text_blocks(case["text"], spans)), case["text"][:80]
    assert any(seg[1] for b in from_js[emoji_case] for item in b["items"] for seg in item)  # code points


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")
def test_app_js_links_citation_and_validation_match_python():
    script = ("const r = require(process.argv[1]); const hit = {doc: {id: 'peerstoette-tema'},"
              " passage_id: 'peerstoette-tema#3', highlights: [{start: 0, end: 10}]};"
              "process.stdout.write(JSON.stringify([r.documentUrl(hit, 'Hvad er peerstøtte?'),"
              " r.citation('Peerstøtte', 'Socialstyrelsen', 'A › B', 'http://x/d'),"
              " r.questionError('   '), r.questionError('x'.repeat(1001)), r.questionError('ok'),"
              " r.safeSourceUrl('javascript:alert(1)')]));")
    result = subprocess.run(["node", "-e", script, str(APP_JS)], capture_output=True, text=True, timeout=60,
                            check=True)
    from web.pages import question_error

    assert json.loads(result.stdout) == [
        render.document_url("peerstoette-tema", "peerstoette-tema#3", [(0, 10)], "Hvad er peerstøtte?"),
        render.citation("Peerstøtte", "Socialstyrelsen", "A › B", "http://x/d"),
        question_error("   "), question_error("x" * 1001), None, None]
