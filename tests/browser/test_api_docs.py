"""The interactive API documentation renders in a real browser, offline, under its CSP, and a
developer can run a search from it."""

from __future__ import annotations

from playwright.sync_api import expect


def test_the_api_docs_render_every_operation_and_try_it_out_works(page):
    page.goto("/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Peerstøtte-søgning API")
    operations = page.locator(".opblock")
    expect(operations.first).to_be_visible()
    assert operations.count() >= 6  # search (GET, POST), documents, health, feedback and its exports
    get_search = page.locator(".opblock-get", has_text="/api/search").first
    get_search.locator(".opblock-summary").click()
    page.get_by_role("button", name="Try it out").click()
    page.locator("input[placeholder='q']").fill("Hvad er peerstøtte?")
    page.get_by_role("button", name="Execute").click()
    expect(page.locator(".live-responses-table tbody .response-col_status").first).to_have_text("200")
