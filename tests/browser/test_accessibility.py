"""Automated accessibility check: axe-core (from node_modules, see package.json) on the chat and
document pages in their main states, desktop and phone; no serious or critical violations."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from .conftest import AXE, PHONE, TURN_FRAGMENT, answer_from, missing

pytestmark = pytest.mark.browser

TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]


def axe_violations(page: Page, label: str) -> list[dict]:
    """Run axe on the page; print moderate/minor findings, return serious/critical ones."""
    page.add_script_tag(path=str(AXE))  # an inline script: the context bypasses the CSP for this
    result = page.evaluate("tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", TAGS)
    found = []
    for violation in result["violations"]:
        targets = [" ".join(map(str, node["target"])) for node in violation["nodes"]][:5]
        line = f"[{label}] {violation['impact']}: {violation['id']} – {violation['help']} {targets}"
        if violation["impact"] in ("serious", "critical"):
            found.append(line)
        else:
            print(line)
    return found


@pytest.fixture
def axe_page(make_page):
    if not AXE.exists():
        missing(f"{AXE} is missing: run `npm ci` (make browser-deps)")

    def make(**options) -> Page:
        return make_page(bypass_csp=True, **options)

    return make


def test_chat_page_states_have_no_serious_violations(axe_page, abstaining_server):
    page = axe_page()
    problems = []
    page.goto("/")
    problems += axe_violations(page, "empty chat")

    page.click("#ask-button")
    expect(page.locator("#q-error")).to_be_visible()
    problems += axe_violations(page, "invalid input")

    page.fill("#q", "Hvad er WRAP?")
    page.press("#q", "Enter")
    expect(page.locator("#t0-r1")).to_be_visible()
    page.locator("#t0-r1 .fb-yes").click()
    expect(page.locator("#t0-r1 .feedback-status")).to_have_text("Tak for din vurdering!")
    page.route(TURN_FRAGMENT, answer_from(abstaining_server))
    page.fill("#q", "Hvad koster en peer i timen?")
    page.press("#q", "Enter")
    expect(page.locator("#t1 .notice-abstain")).to_be_visible()
    problems += axe_violations(page, "answers, feedback and abstain")

    page.goto("/?q=Hvad+er+peerst%C3%B8tte%3F")
    expect(page.locator(".turn").last.locator(".card").first).to_be_visible()
    problems += axe_violations(page, "server-rendered answer")
    assert not problems, "\n".join(problems)


def test_document_and_error_pages_have_no_serious_violations(axe_page):
    page = axe_page()
    problems = []
    page.goto("/")
    page.fill("#q", "Hvem er målgruppen for initiativet om at udbrede peers?")
    page.press("#q", "Enter")
    page.locator("#t0-r1 .doc-link").click()
    expect(page.locator("#cited")).to_be_visible()
    problems += axe_violations(page, "document view")

    page.goto("/documents/findes-ikke")
    expect(page.locator("h1")).to_have_text("Dokumentet findes ikke")
    problems += axe_violations(page, "404 page")

    page.goto("/?q=%20")
    problems += axe_violations(page, "422 page")
    assert not problems, "\n".join(problems)


def test_phone_layout_has_no_serious_violations(axe_page):
    page = axe_page(viewport=PHONE, is_mobile=True, has_touch=True)
    problems = []
    page.goto("/")
    page.get_by_role("link", name="Hvad er peerstøtte?").click()
    expect(page.locator("#t0-r1")).to_be_visible()
    problems += axe_violations(page, "phone chat")
    page.locator("#t0-r1 .doc-link").click()
    expect(page.locator("#cited")).to_be_visible()
    problems += axe_violations(page, "phone document")
    assert not problems, "\n".join(problems)
