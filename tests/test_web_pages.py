"""Server-rendered pages (no JavaScript): answers with highlights, escaping, errors, headers."""

from __future__ import annotations

import html
import re

import pytest
from fastapi.testclient import TestClient
from markupsafe import escape

from retrieval.searcher import Searcher
from service.feedback_store import FeedbackStore
from web import render
from web.app import create_app
from web.security import CSP

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)><b>fed</b>'


def marks(page: str) -> list[str]:
    return [html.unescape(m) for m in re.findall(r'<mark class="answer">(.*?)</mark>', page, flags=re.DOTALL)]


def turn_article(page: str, index: int) -> str:
    match = re.search(rf'<article class="turn" id="t{index}".*?</article>', page, flags=re.DOTALL)
    assert match, f"no turn t{index}"
    return match.group(0)


def fragment(client, question: str, index: int = 0):
    return client.get("/fragments/turn", params={"q": question, "i": index})


def form_token(page: str) -> str:
    """The feedback forms' anti-forgery token (web/csrf.py); one per rendered page."""
    tokens = set(re.findall(r'name="csrf_token" value="([^"]+)"', page))
    assert len(tokens) == 1, tokens
    return tokens.pop()


def without_tokens(page: str) -> str:
    return re.sub(r'name="csrf_token" value="[^"]+"', 'name="csrf_token" value=""', page)


def test_empty_chat_page_is_danish_with_examples_and_a_labelled_box(client):
    response = client.get("/")
    assert response.status_code == 200
    page = response.text
    assert '<html lang="da">' in page
    assert '<label for="q"' in page and 'id="q" name="q"' in page
    assert 'href="/?q=Hvad%20er%20peerst%C3%B8tte%3F"' in page
    assert 'href="/static/style.css"' in page and 'src="/static/app.js"' in page
    assert "cdn" not in page.lower() and "https://" not in page


def test_question_renders_ranked_cards_with_the_answer_sentence_marked(client):
    question = "Hvad er WRAP?"
    api = client.get("/api/search", params={"q": question, "k": 5}).json()
    page = client.get("/", params={"q": question})
    assert page.status_code == 200
    text = page.text
    for hit in api["results"]:
        assert f'id="t0-r{hit["rank"]}"' in text
        assert html.escape(hit["doc"]["title"]) in text
        assert f'data-passage-id="{html.escape(hit["passage_id"])}"' in text
    top = api["results"][0]
    expected = [top["text"][h["start"]:h["end"]] for h in top["highlights"]]
    assert expected and all(sentence in marks(text) for sentence in expected)
    assert html.escape(top["section"]) in text
    assert "Vis i dokumentet" in text and "/documents/" + top["doc"]["id"] in text
    assert text.index('id="t0-r1"') < text.index('id="t0-r2"')


def test_html_in_the_question_is_shown_as_text(client):
    page = client.get("/", params={"q": HOSTILE}).text
    assert "<script>alert" not in page and "<b>fed</b>" not in page and "<img src=x" not in page
    assert str(escape(HOSTILE)) in page  # the question heading, as text
    assert f'value="{escape(HOSTILE)}"' in page  # hidden form fields keep it, escaped


def test_invalid_questions_get_a_422_page_that_keeps_the_input(client):
    empty = client.get("/", params={"q": "   "})
    assert empty.status_code == 422
    assert "Skriv et spørgsmål, før du søger." in empty.text
    assert 'aria-invalid="true"' in empty.text

    long_question = "Hvad " * 201
    too_long = client.get("/", params={"q": long_question})
    assert too_long.status_code == 422
    assert "Spørgsmålet er 1004 tegn langt. Forkort det til højst 1000 tegn." in too_long.text
    assert f'value="{long_question}"' in too_long.text
    assert too_long.headers["content-type"].startswith("text/html")


def test_chat_form_carries_the_servers_question_rules_for_the_script(client):
    page = client.get("/").text
    form = re.search(r'<form id="ask"[^>]*>', page).group(0)
    assert 'data-max-chars="1000"' in form
    assert 'data-empty-message="Skriv et spørgsmål, før du søger."' in form
    assert 'data-long-message="Spørgsmålet er {length} tegn langt. Forkort det til højst 1000 tegn."' in form
    assert "Højst 1000 tegn." in page
    assert '<template id="pending-turn">' in page and "Søger i materialet" in page


def test_turn_fragment_is_one_answered_turn_with_marked_answers(client):
    question = "Hvad er WRAP?"
    api = client.get("/api/search", params={"q": question, "k": 5}).json()
    response = fragment(client, question, 3)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    text = response.text.strip()
    assert text.startswith('<article class="turn" id="t3" data-question="Hvad er WRAP?" data-abstain="false"')
    assert text.endswith("</article>") and text.count("<article") == 1
    assert "<html" not in text and "<main" not in text
    assert re.findall(r'<li class="card[^"]*" id="(t3-r\d+)"', text) == [f"t3-r{h['rank']}" for h in api["results"]]
    top, first_card = api["results"][0], text[text.index('id="t3-r1"'):text.index('id="t3-r2"')]
    assert [top["text"][h["start"]:h["end"]] for h in top["highlights"]] == marks(first_card)
    assert response.headers["content-security-policy"] == CSP


def test_turn_fragment_leads_back_to_the_stored_conversation(client):
    """The script keeps the turn in session storage, which ``/`` restores: the feedback form
    returns to the card there, and the document view links back to ``/``, not to a new search."""
    text = fragment(client, "Hvad er WRAP?", 1).text
    assert re.findall(r'name="back" value="([^"]*)"', text) == [f"/#t1-r{n}" for n in range(1, 6)]
    doc_link = html.unescape(re.search(r'class="action doc-link" href="([^"]*)"', text).group(1))
    assert "&q=" not in doc_link
    document = client.get(doc_link.split("#")[0])
    assert 'href="/" id="back-link"' in document.text


def test_turn_fragment_is_the_turn_the_chat_page_renders(client):
    """The same macro both ways: only the addresses back to the chat differ (see the test above)."""
    question = "Hvem er målgruppen for initiativet om at udbrede peers?"
    from_page = turn_article(client.get("/", params={"q": question}).text, 0)
    from_script = turn_article(fragment(client, question).text, 0)
    chat = html.escape(render.chat_url(question))
    again = html.escape(f"&q={render.component(question)}#cited")
    assert from_page.count(chat) == from_page.count(again) == 5
    assert (without_tokens(from_page).replace(f'value="{chat}#', 'value="/#').replace(again, "#cited")
            == without_tokens(from_script))  # each render signs its forms with a fresh token


def test_turn_fragment_refuses_bad_questions_in_danish_without_searching(client, corpus_searcher, monkeypatch):
    searched: list[str] = []
    monkeypatch.setattr(corpus_searcher, "search", lambda *args, **kwargs: searched.append(args[0]))
    empty = client.get("/fragments/turn", params={"q": "   "})
    assert empty.status_code == 422 and empty.headers["content-type"].startswith("text/html")
    assert empty.text.strip() == '<p class="error" data-error>Skriv et spørgsmål, før du søger.</p>'
    assert client.get("/fragments/turn").status_code == 422
    too_long = fragment(client, "Hvad " * 201)
    assert too_long.status_code == 422
    assert "Spørgsmålet er 1004 tegn langt. Forkort det til højst 1000 tegn." in too_long.text
    assert client.get("/fragments/turn", params={"q": "Hvad?", "i": "-1"}).status_code == 422
    assert searched == []


def test_turn_fragment_escapes_the_question_and_fails_without_a_stack_trace(client, corpus_searcher,
                                                                           monkeypatch):
    text = fragment(client, HOSTILE).text
    assert "<script>alert" not in text and "<b>fed</b>" not in text and str(escape(HOSTILE)) in text

    def broken(*args, **kwargs):
        raise RuntimeError("index exploded")

    monkeypatch.setattr(corpus_searcher, "search", broken)
    response = fragment(client, "Hvad er peerstøtte?")
    assert response.status_code == 500 and response.headers["content-type"].startswith("text/html")
    assert "Søgningen mislykkedes" in response.text and "exploded" not in response.text
    assert "Traceback" not in response.text


def test_earlier_questions_stay_visible_without_javascript(client):
    page = client.get("/", params=[("q", "Hvad er WRAP?"), ("h", "Hvad er peerstøtte?"), ("h", "")]).text
    first, second = page.index('data-question="Hvad er peerstøtte?"'), page.index('data-question="Hvad er WRAP?"')
    assert first < second
    hidden = re.findall(r'<input type="hidden" name="h" value="([^"]*)">', page)
    assert hidden == ["Hvad er peerstøtte?", "Hvad er WRAP?"]


def test_abstain_state_is_worded_plainly(corpus_settings, corpus_searcher):
    searcher = corpus_searcher.with_settings(abstain_threshold=1.01)
    with TestClient(create_app(searcher.settings, searcher_loader=lambda path: searcher)) as strict_client:
        page = strict_client.get("/", params={"q": "Hvad er peerstøtte?"}).text
        turn = fragment(strict_client, "Hvad er peerstøtte?").text
    for text in (page, turn):
        assert "Intet sikkert svar." in text
        assert "tekststykker, der ligger tættest på" in text
        assert 'data-abstain="true"' in text


def test_document_view_marks_the_cited_passage_and_the_answer(client):
    api = client.get("/api/search", params={"q": "Hvad er WRAP?", "k": 1}).json()
    top = api["results"][0]
    hl = ",".join(f'{h["start"]}-{h["end"]}' for h in top["highlights"])
    page = client.get(f"/documents/{top['doc']['id']}", params={"passage": top["passage_id"], "hl": hl})
    assert page.status_code == 200
    text = page.text
    assert 'id="cited"' in text and "Citeret tekststykke" in text
    cited = text[text.index('id="cited"'):text.index("</section>", text.index('id="cited"'))]
    assert [top["text"][h["start"]:h["end"]] for h in top["highlights"]] == marks(cited)
    assert html.escape(top["doc"]["title"]) in text
    assert text.count("<h1") == 1


def test_document_view_without_a_known_passage_still_shows_the_document(client):
    page = client.get("/documents/peerstoette-tema", params={"passage": "peerstoette-tema#999", "hl": "<b>"})
    assert page.status_code == 200
    assert 'id="cited"' not in page.text
    assert "findes ikke længere i dokumentet" in page.text


def test_unknown_document_is_a_danish_404_page(client):
    response = client.get("/documents/findes-ikke")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "Dokumentet findes ikke" in response.text and "findes-ikke" in response.text
    hostile = client.get("/documents/%3Cscript%3Ex")
    assert hostile.status_code == 404 and "<script>x" not in hostile.text and "&lt;script&gt;x" in hostile.text


@pytest.mark.parametrize("path", ["/", "/?q=Hvad+er+WRAP%3F", "/documents/peerstoette-tema", "/documents/nope",
                                  "/fragments/turn?q=Hvad+er+WRAP%3F", "/fragments/turn?q="])
def test_pages_send_the_csp_and_use_no_inline_script_or_style(client, path):
    response = client.get(path)
    assert response.headers["content-security-policy"] == CSP
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "same-origin"
    page = response.text
    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", page) == []
    assert " style=" not in page and "<style" not in page
    assert re.search(r"\son[a-z]+\s*=", page) is None


def test_api_docs_stay_usable(client):
    from service.docs import DOCS_CSP

    docs = client.get("/docs")
    assert docs.status_code == 200 and docs.headers["content-security-policy"] == DOCS_CSP
    assert docs.headers["x-frame-options"] == "DENY"
    schema = client.get("/openapi.json").json()
    assert {"/api/feedback", "/api/feedback/qrels", "/api/feedback/queries"} <= set(schema["paths"])
    assert "/" not in schema["paths"] and "/fragments/turn" not in schema["paths"]


def test_search_failure_gives_a_danish_500_page_that_keeps_working(client, corpus_searcher, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("index exploded")

    monkeypatch.setattr(corpus_searcher, "search", broken)
    response = client.get("/", params={"q": "Hvad er peerstøtte?"})
    assert response.status_code == 500
    assert "Søgningen mislykkedes" in response.text and "exploded" not in response.text
    assert 'value="Hvad er peerstøtte?"' in response.text


def test_static_assets_are_served_locally(client):
    assert client.get("/static/app.js").status_code == 200
    assert client.get("/static/style.css").headers["content-type"].startswith("text/css")


def stored(data) -> list[tuple[str, str, bool]]:
    """The judgments in the test's feedback database: (question, passage id, helpful)."""
    return [(j.question, j.passage_id, j.helpful) for j in FeedbackStore(data / "feedback.sqlite3").judgments()]


def test_feedback_form_without_javascript_stores_and_thanks(client, isolated_data):
    page = client.get("/", params={"q": "Hvad er WRAP?"}).text
    passage = re.search(r'data-passage-id="([^"]+)"', page).group(1)
    form = {"question": "Hvad er WRAP?", "passage_id": passage, "helpful": "1", "back": "/?q=Hvad+er+WRAP%3F#t0-r1",
            "csrf_token": form_token(page)}
    response = client.post("/feedback", data=form)
    assert response.status_code == 200
    assert "Tak for din vurdering" in response.text
    assert 'href="/?q=Hvad+er+WRAP%3F#t0-r1"' in response.text
    assert stored(isolated_data) == [("Hvad er WRAP?", passage, True)]


def test_feedback_form_rejects_bad_input_and_other_sites(client, isolated_data):
    token = form_token(client.get("/", params={"q": "Hvad er WRAP?"}).text)
    bad = client.post("/feedback", data={"question": "Hvad?", "passage_id": "nope#1", "helpful": "1",
                                         "back": "https://evil.example/", "csrf_token": token})
    assert bad.status_code == 422
    assert "findes ikke længere" in bad.text and "evil.example" not in bad.text
    no_choice = client.post("/feedback", data={"question": "Hvad?", "passage_id": "nope#1", "csrf_token": token})
    assert no_choice.status_code == 422
    foreign = client.post("/feedback", data={"question": "Hvad?", "passage_id": "x", "helpful": "1",
                                             "csrf_token": token}, headers={"Origin": "https://evil.example"})
    assert foreign.status_code == 403
    assert stored(isolated_data) == []


def test_source_links_are_shown_only_when_known_and_safe(tmp_path, isolated_data):
    from conftest import hashing_settings, write_doc

    from indexer.build import build_index
    from indexer.encoder import HashingEncoder

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "synonyms.txt").write_text("", encoding="utf-8")
    write_doc(corpus, "wrap", "WRAP", "## Om WRAP\n\nWRAP er et peer-baseret gruppeforløb med fokus på recovery.\n",
              source_url="https://example.org/wrap")
    write_doc(corpus, "ond", "Ond kilde", "WRAP nævnes også her, i en kilde med en farlig adresse.\n",
              source_url="javascript:alert(1)")
    settings = hashing_settings(isolated_data, corpus)
    build_index(corpus, settings.index_dir, settings, HashingEncoder(256), progress=False)
    searcher = Searcher.open(settings, encoder=HashingEncoder(256))
    with TestClient(create_app(settings, searcher_loader=lambda path: searcher)) as small:
        page = small.get("/", params={"q": "Hvad er WRAP?"}).text
        document = small.get("/documents/wrap").text
        bad_document = small.get("/documents/ond").text
    assert page.count('class="action source-link" href="https://example.org/wrap"') == 1
    assert "javascript:" not in page and "javascript:" not in bad_document
    assert 'data-citation="WRAP. Testforlaget. Afsnit: Om WRAP. https://example.org/wrap"' in page
    assert 'href="https://example.org/wrap" rel="noopener noreferrer">Åbn den originale side' in document
    assert "Adressen på den originale side kendes ikke" in bad_document


def test_unknown_page_address_gets_a_danish_html_page_and_api_gets_json(client):
    page = client.get("/documents/a/b", headers={"accept": "text/html"})
    assert page.status_code == 404
    assert "Siden findes ikke" in page.text and page.headers["content-type"].startswith("text/html")
    api = client.get("/api/nope", headers={"accept": "text/html"})
    assert api.status_code == 404 and "see /docs" in api.json()["detail"]


def test_api_docs_are_served_from_local_assets(client):
    docs = client.get("/docs")
    assert docs.status_code == 200
    assert "/docs-assets/swagger-ui-bundle.js" in docs.text and "cdn" not in docs.text.lower()
    assert client.get("/docs-assets/swagger-ui-bundle.js").status_code == 200
