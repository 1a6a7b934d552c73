"""Passages follow the document structure, keep exact offsets and never cut a sentence."""

from pathlib import Path

import pytest
from conftest import CORPUS

from indexer.documents import Document, load_corpus, parse_document
from indexer.passages import count_words, split_passages
from indexer.sentences import sentence_spans


@pytest.fixture(scope="module")
def corpus_passages():
    return {doc.id: (doc, split_passages(doc)) for doc in load_corpus(CORPUS)}


def test_offsets_reproduce_passage_text(corpus_passages):
    for doc, passages in corpus_passages.values():
        for passage in passages:
            assert doc.body[passage.start:passage.end] == passage.text


def test_passages_cover_every_word_in_order(corpus_passages):
    for doc, passages in corpus_passages.values():
        assert all(a.end <= b.start for a, b in zip(passages, passages[1:]))
        covered = sum(count_words(p.text) for p in passages)
        assert covered == count_words(doc.body)


def test_no_passage_ends_mid_sentence(corpus_passages):
    for doc, passages in corpus_passages.values():
        sentence_ends = {end for _, end in sentence_spans(doc.body)}
        for passage in passages:
            assert passage.end in sentence_ends, f"{passage.id} ends mid-sentence: ...{passage.text[-60:]!r}"


def test_passage_sizes_stay_in_range(corpus_passages):
    lengths = [count_words(p.text) for _, ps in corpus_passages.values() for p in ps]
    assert max(lengths) <= 200 * 5 // 4
    assert sum(lengths) / len(lengths) >= 40


def test_heading_joins_its_text_and_gives_the_section_path():
    body = (
        "# Titel\n\n## Baggrundsviden\n\nIndledning om emnet. " + "ord " * 50 + "slut.\n\n"
        "### Definition\n\nPeerstøtte er støtte mellem ligestillede. " + "mere " * 45 + "slut.\n"
    )
    doc = parse_document(f"---\nid: t\ntitle: Titel\npublisher: P\n---\n{body}", Path("t.md"))
    passages = split_passages(doc, min_words=40, max_words=80)
    definition = next(p for p in passages if "Peerstøtte er" in p.text)
    assert definition.text.startswith("### Definition")
    assert definition.section == "Baggrundsviden › Definition"
    assert not any(p.text.strip().startswith("#") and count_words(p.text) <= 2 for p in passages)


def test_long_paragraph_is_cut_between_sentences():
    sentences = [f"Sætning nummer {i} handler om peerstøtte i kommunerne." for i in range(60)]
    doc = parse_document("---\nid: t\ntitle: T\npublisher: P\n---\n" + " ".join(sentences), Path("t.md"))
    passages = split_passages(doc, min_words=20, max_words=60)
    assert len(passages) > 1
    for passage in passages:
        assert passage.text.endswith("kommunerne.")
        assert count_words(passage.text) <= 75


def test_sentence_splitter_keeps_danish_abbreviations_and_dates():
    text = "Det kan bl.a. være om fx unge. Nedlukningen er fastsat til d. 3. januar 2024. Indhold opdateres ikke."
    spans = [text[s:e] for s, e in sentence_spans(text)]
    assert spans == ["Det kan bl.a. være om fx unge.", "Nedlukningen er fastsat til d. 3. januar 2024.",
                     "Indhold opdateres ikke."]


def test_a_heading_after_trailing_spaces_still_opens_its_section():
    body = "## Resultater\n\n" + "Peerstøtte virker godt for mange borgere i kommunen. " * 8 + "\n\n## Kilder\n\n" + \
        "- Rapport om peerstøtte i fem kommuner, udgivet af styrelsen og skrevet af forskere i Aarhus. " * 3 + "\n"
    passages = split_passages(Document(id="d", title="D", publisher="P", body=body))
    assert [p.section for p in passages] == ["Resultater", "Kilder"]
    assert passages[1].is_reference_list and not passages[0].is_reference_list


def test_a_heading_right_after_a_paragraph_still_opens_its_section():
    body = ("## Resultater\n" + "Peerstøtte virker godt for mange borgere i kommunen. " * 8 + "\n## Kilder\n"
            + "- Rapport om peerstøtte i fem kommuner, udgivet af styrelsen og skrevet af forskere i Aarhus.\n" * 3)
    passages = split_passages(Document(id="d", title="D", publisher="P", body=body))
    assert [p.section for p in passages] == ["Resultater", "Kilder"]
    assert passages[1].text.startswith("## Kilder\n- Rapport") and passages[1].is_reference_list


def test_a_hash_word_opens_no_section():
    body = "#peerstøtte samler mange på sociale medier. " * 12
    passages = split_passages(Document(id="d", title="D", publisher="P", body=body))
    assert [(p.section, p.headings) for p in passages] == [("", ())]


def test_a_list_stays_whole_with_its_continuation_lines():
    items = "- Recovery Oriented Systems\n  Indicators Measure\n  (ROSI)\n\n- Recovery Self Assessment (RSA)\n"
    body = "## De 4 skalaer\n\nHer er skalaer, der ofte anvendes til at vurdere recoveryorientering.\n\n" + items
    passages = split_passages(Document(id="d", title="D", publisher="P", body=body))
    assert len(passages) == 1 and passages[0].text.endswith(items.rstrip())
