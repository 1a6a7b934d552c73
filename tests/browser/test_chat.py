"""The chat and document pages in a real browser, as a caseworker uses them."""

from __future__ import annotations

import html
import json
import re

import pytest
from playwright.sync_api import Page, Route, expect

from service.feedback_store import query_id

from .conftest import EXPORT_HEADERS, PHONE, TURN_FRAGMENT, answer_from

pytestmark = pytest.mark.browser

HOSTILE = '<img src=x onerror="window.__xss=1"><b>fed</b><script>window.__xss=2</script> hvad er peerstøtte?'


def ask(page: Page, question: str, turn: int = 0) -> None:
    page.fill("#q", question)
    page.press("#q", "Enter")
    expect(page.locator(f"#t{turn}-r1")).to_be_visible()


def api_hits(page: Page, question: str) -> list[dict]:
    return page.request.post("/api/search", data={"q": question, "k": 5}).json()["results"]


def no_horizontal_scroll(page: Page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_ask_a_question_and_see_a_cited_answer(page: Page):
    page.goto("/")
    expect(page.locator(".example")).to_have_count(4)
    question = "Hvad er WRAP?"
    ask(page, question)
    hits = api_hits(page, question)
    cards = page.locator("#t0 .card")
    expect(cards).to_have_count(len(hits))
    top, card = hits[0], page.locator("#t0-r1")
    expect(card.locator(".rank")).to_have_text("1")
    expect(card.locator(".card-title")).to_contain_text(top["doc"]["title"])
    expect(card.locator(".publisher")).to_contain_text(top["doc"]["publisher"])
    if top["section"]:
        expect(card.locator(".section")).to_contain_text(top["section"])
    sentences = [top["text"][h["start"]:h["end"]] for h in top["highlights"]]
    expect(card.locator("mark.answer")).to_have_text(sentences)
    assert card.locator("mark.answer").first.evaluate("m => getComputedStyle(m).fontWeight") == "700"
    expect(card.get_by_role("link", name="Vis i dokumentet")).to_have_attribute("href", re.compile(r"^/documents/"))
    expect(card.get_by_role("button", name="Kopiér kilde")).to_be_visible()
    expect(card.locator("input[name=back]")).to_have_value("/#t0-r1")  # the stored conversation, at this card
    expect(page.locator("#t0-q")).to_be_focused()
    expect(page.locator("#q")).to_have_value("")
    expect(page.locator("#status")).to_contain_text("Svaret er klar")
    expect(page.locator("#intro")).to_be_hidden()


def test_open_the_document_view_at_the_cited_passage_and_come_back(page: Page):
    page.goto("/")
    ask(page, "Hvem er målgruppen for initiativet om at udbrede peers?")
    ask(page, "Hvad er WRAP?", 1)
    card = page.locator("#t0-r2")
    card_marks = card.locator("mark.answer").all_inner_texts()
    title = card.locator(".card-title").text_content().replace("Nr. 2: ", "")
    card.get_by_role("link", name="Vis i dokumentet").click()
    page.wait_for_url(re.compile(r"/documents/"))
    cited = page.locator("#cited")
    expect(cited).to_be_in_viewport()
    expect(cited).to_be_focused()
    expect(cited.locator("mark.answer")).to_have_text(card_marks)
    expect(page.locator("h1")).to_have_text(title)
    page.screenshot(path=str(_shot("document-view-at-passage")))
    page.get_by_role("link", name="Tilbage til samtalen").click()
    expect(page.locator("#t0-r2 .doc-link")).to_be_focused()
    expect(page.locator("#t0 .card")).to_have_count(5)
    expect(page.locator(".turn")).to_have_count(2)  # back to the conversation, not a new search


def test_feedback_reaches_the_qrels_export_and_survives_a_reload(page: Page):
    question = "Hvordan rekrutteres peers i en kommune?"
    page.goto("/")
    ask(page, question)
    first, second = page.locator("#t0-r1"), page.locator("#t0-r2")
    first.get_by_role("button", name="Hjælpsomt", exact=True).click()
    expect(first.get_by_role("button", name="Hjælpsomt", exact=True)).to_have_attribute("aria-pressed", "true")
    expect(first.locator(".feedback-status")).to_have_text("Tak for din vurdering!")
    second.get_by_role("button", name="Ikke hjælpsomt").click()
    expect(second.get_by_role("button", name="Ikke hjælpsomt")).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#status")).to_have_text("Tak for din vurdering.")

    qid = query_id(question)
    qrels = page.request.get("/api/feedback/qrels", headers=EXPORT_HEADERS).text()
    assert f"{qid} 0 {first.get_attribute('data-passage-id')} 1" in qrels.splitlines()
    assert f"{qid} 0 {second.get_attribute('data-passage-id')} 0" in qrels.splitlines()
    queries = [json.loads(line) for line in page.request.get("/api/feedback/queries", headers=EXPORT_HEADERS).text().splitlines()]
    assert {"_id": qid, "text": question} in queries

    page.reload()
    expect(page.locator("#t0-r1 .fb-yes")).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#t0-r2 .fb-no")).to_have_attribute("aria-pressed", "true")


def test_the_conversation_survives_a_reload_until_a_new_one_is_started(page: Page):
    page.goto("/")
    ask(page, "Hvad er peerstøtte?", 0)
    ask(page, "Hvad er WRAP?", 1)
    page.reload()
    expect(page.locator(".turn-question")).to_have_text([re.compile("Hvad er peerstøtte?"),
                                                         re.compile("Hvad er WRAP?")])
    expect(page.locator("#t1 .card")).to_have_count(5)
    expect(page.locator("#intro")).to_be_hidden()
    page.screenshot(path=str(_shot("conversation-after-reload")), full_page=True)
    page.get_by_role("button", name="Start en ny samtale").click()
    expect(page.locator(".turn")).to_have_count(0)
    expect(page.locator("#intro")).to_be_visible()
    expect(page.locator("#q")).to_be_focused()
    page.reload()
    expect(page.locator(".turn")).to_have_count(0)


def test_a_link_with_a_question_is_answered_and_joins_the_conversation(page: Page):
    page.goto("/")
    ask(page, "Hvad er peerstøtte?")
    page.goto("/?q=Hvad+er+WRAP%3F")  # e.g. a bookmark: the server answers, the script keeps it
    expect(page.locator("#t1-r1 mark.answer").first).to_be_visible()
    expect(page.locator(".turn-question")).to_have_text([re.compile("peerstøtte"), re.compile("WRAP")])
    page.wait_for_url(re.compile(r"/$"))
    page.reload()
    expect(page.locator(".turn")).to_have_count(2)


def test_a_question_containing_html_is_shown_as_text(page: Page):
    page.goto("/")
    ask(page, HOSTILE)
    heading = page.locator("#t0-q")
    expect(heading).to_contain_text(HOSTILE)
    assert page.locator("#conversation img, #conversation b, #conversation script").count() == 0
    page.reload()  # from session storage
    expect(page.locator("#t0-q")).to_contain_text(HOSTILE)
    assert page.locator("#conversation img, #conversation b, #conversation script").count() == 0
    assert page.evaluate("window.__xss") is None

    page.goto("/?q=" + page.evaluate("q => encodeURIComponent(q)", HOSTILE))  # server-rendered first
    expect(page.locator(".turn-question").last).to_contain_text(HOSTILE)
    assert page.locator("#conversation img, #conversation b, #conversation script").count() == 0
    assert page.evaluate("window.__xss") is None


def test_loading_indicator_service_failure_and_retry(page: Page):
    page.goto("/")
    held: list[Route] = []
    page.route(TURN_FRAGMENT, lambda route: held.append(route))
    question = "Hvad er peerstøtte?"
    page.fill("#q", question)
    page.click("#ask-button")
    expect(page.locator(".turn-pending")).to_contain_text("Søger i materialet")
    expect(page.locator(".turn-pending .turn-question")).to_have_text(f"Dit spørgsmål: {question}")
    expect(page.locator("#ask-button")).to_have_attribute("aria-disabled", "true")
    expect(page.locator("#status")).to_have_text("Søger i materialet …")
    page.screenshot(path=str(_shot("loading-indicator")))
    held.pop().fulfill(status=502, content_type="text/plain", body="Bad Gateway")  # not our server's words
    error = page.locator("#q-error")
    expect(error).to_be_visible()
    expect(error).to_have_text(re.compile(r"fejl i tjenesten \(fejl 502\)"))
    expect(page.locator("#q")).to_have_value(question)
    expect(page.locator("#q")).to_be_focused()
    expect(page.locator(".turn")).to_have_count(0)
    page.screenshot(path=str(_shot("service-failure")))

    page.unroute(TURN_FRAGMENT)
    page.route(TURN_FRAGMENT, lambda route: route.abort())
    page.click("#ask-button")
    expect(error).to_contain_text("Tjenesten svarer ikke")
    expect(page.locator("#q")).to_have_value(question)

    page.unroute(TURN_FRAGMENT)
    page.click("#ask-button")
    expect(page.locator("#t0-r1")).to_be_visible()
    expect(error).to_be_hidden()


def test_invalid_input_is_explained_and_kept(page: Page):
    page.goto("/")
    searches: list[str] = []
    page.on("request", lambda request: TURN_FRAGMENT.search(request.url) and searches.append(request.url))
    page.click("#ask-button")
    expect(page.locator("#q-error")).to_have_text("Skriv et spørgsmål, før du søger.")
    expect(page.locator("#q")).to_have_attribute("aria-invalid", "true")
    long_question = "Hvad er peerstøtte? " * 60
    page.fill("#q", long_question)
    page.press("#q", "Enter")
    expect(page.locator("#q-error")).to_contain_text(f"{len(long_question.strip())} tegn langt")
    expect(page.locator("#q")).to_have_value(long_question)
    assert searches == []
    page.goto("/?q=%20")  # the server's 422 page, the same message
    expect(page.locator("#q-error")).to_have_text("Skriv et spørgsmål, før du søger.")


def test_the_server_refusing_a_question_is_explained_in_its_words(page: Page):
    """Should the page's limit and the server's ever differ, the server's 422 message is shown."""
    page.goto("/")
    page.locator("#ask").evaluate("form => form.setAttribute('data-max-chars', '5000')")
    long_question = "Hvad er peerstøtte? " * 60
    page.fill("#q", long_question)
    with page.expect_response(TURN_FRAGMENT) as refused:
        page.press("#q", "Enter")
    assert refused.value.status == 422
    expect(page.locator("#q-error")).to_have_text(
        f"Spørgsmålet er {len(long_question.strip())} tegn langt. Forkort det til højst 1000 tegn.")
    expect(page.locator("#q")).to_have_value(long_question.strip())
    expect(page.locator("#q")).to_be_focused()
    expect(page.locator(".turn")).to_have_count(0)


def test_no_certain_answer_is_said_plainly(page: Page, abstaining_server):
    page.route(TURN_FRAGMENT, answer_from(abstaining_server))
    page.goto("/")
    ask(page, "Hvad koster en peer i timen?")
    notice = page.locator("#t0 .notice-abstain")
    expect(notice).to_contain_text("Intet sikkert svar.")
    expect(notice).to_contain_text("læs dem med forbehold")
    expect(page.locator("#status")).to_contain_text("Intet sikkert svar")


def test_copy_citation(make_page, live_server):
    page = make_page()
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    page.goto("/")
    ask(page, "Hvad er WRAP?")
    card = page.locator("#t0-r1")
    card.get_by_role("button", name="Kopiér kilde").click()
    expect(card.locator(".copy-citation")).to_have_text("Kopieret")
    expect(page.locator("#status")).to_contain_text("Kopieret")
    copied = page.evaluate("navigator.clipboard.readText()")
    title, publisher = card.locator(".card-title").text_content(), card.locator(".publisher").text_content()
    assert title.replace("Nr. 1: ", "") in copied and publisher.replace("Udgiver: ", "") in copied
    assert re.search(r"http://127\.0\.0\.1:\d+/documents/[\w-]+\?passage=", copied)
    assert copied == card.get_attribute("data-citation")
    server_page = page.request.get("/?q=" + "Hvad er WRAP?".replace(" ", "+").replace("?", "%3F")).text()
    server_citation = re.search(r'id="t0-r1" data-passage-id="[^"]*" data-citation="([^"]*)"', server_page)
    assert server_citation and html.unescape(server_citation.group(1)) == copied  # same text both ways

    card.get_by_role("link", name="Vis i dokumentet").click()
    page.get_by_role("button", name="Kopiér kilde").click()
    expect(page.locator("#status")).to_contain_text("Kopieret")
    assert page.evaluate("navigator.clipboard.readText()") == copied


def test_keyboard_only(page: Page):
    page.goto("/")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Gå til spørgsmålsfeltet")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    page.keyboard.press("Enter")
    expect(page.locator("#q")).to_be_focused()
    page.keyboard.type("Hvad er WRAP?")
    page.keyboard.press("Enter")
    expect(page.locator("#t0-q")).to_be_focused()
    page.keyboard.press("Tab")
    doc_link = page.locator("#t0-r1 .doc-link")
    expect(doc_link).to_be_focused()
    style = doc_link.evaluate("e => { const s = getComputedStyle(e); return [s.outlineStyle, s.outlineWidth]; }")
    assert style[0] == "solid" and float(style[1].rstrip("px")) >= 2
    page.keyboard.press("Tab")
    expect(page.locator("#t0-r1 .copy-citation")).to_be_focused()
    page.keyboard.press("Tab")
    yes = page.locator("#t0-r1 .fb-yes")
    expect(yes).to_be_focused()
    page.keyboard.press("Space")
    expect(yes).to_have_attribute("aria-pressed", "true")
    page.screenshot(path=str(_shot("keyboard-focus")))
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/documents/"))
    expect(page.locator("#cited")).to_be_focused()


def test_phone_sized_screen(make_page):
    page = make_page(viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2)
    page.goto("/")
    assert no_horizontal_scroll(page)
    page.get_by_role("link", name="Hvad er peerstøtte?").click()
    expect(page.locator("#t0-r1 mark.answer").first).to_be_visible()
    assert no_horizontal_scroll(page)
    box = page.locator("#t0-r1 .fb-yes").bounding_box()
    assert box and box["height"] >= 44 and box["x"] + box["width"] <= PHONE["width"]
    page.screenshot(path=str(_shot("phone-answer")))
    page.locator("#t0-r1 .doc-link").click()
    expect(page.locator("#cited")).to_be_in_viewport()
    assert no_horizontal_scroll(page)
    page.screenshot(path=str(_shot("phone-document")))


def test_works_without_javascript(make_page):
    page = make_page(java_script_enabled=False)
    page.goto("/")
    page.get_by_role("link", name="Hvad er WRAP?").click()
    page.wait_for_url(re.compile(r"/\?q=Hvad"))
    card = page.locator("#t0-r1")
    expect(card.locator("mark.answer").first).to_be_visible()
    expect(card.locator(".copy-citation")).to_be_hidden()
    page.fill("#q", "Hvad er peerstøtte?")
    page.press("#q", "Enter")
    expect(page.locator(".turn-question")).to_have_text([re.compile("Hvad er WRAP"), re.compile("peerstøtte")])
    passage = page.locator("#t1-r1").get_attribute("data-passage-id")
    page.locator("#t1-r1 .fb-yes").click()
    expect(page.locator("h1")).to_have_text("Tak for din vurdering")
    qrels = page.request.get("/api/feedback/qrels", headers=EXPORT_HEADERS).text()
    assert f"{query_id('Hvad er peerstøtte?')} 0 {passage} 1" in qrels
    page.get_by_role("link", name="Tilbage til svarene").click()
    expect(page.locator("#t1-r1")).to_be_visible()
    page.locator("#t1-r1 .doc-link").click()
    expect(page.locator("#cited mark.answer").first).to_be_visible()
    page.get_by_role("link", name="Tilbage til samtalen").click()
    expect(page.locator(".turn-question")).to_contain_text(["peerstøtte"])


def _shot(name: str):
    from .conftest import SCREENSHOTS

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS / f"{name}.png"
