"""A real server and a real browser, once per session.

The server is uvicorn in a background thread on 127.0.0.1 (a free port), serving ``create_app``
over the corpus indexed with the hashing encoder. The browser is Debian's chromium
(``/usr/bin/chromium``, installed by ``make browser-deps``), driven headless by Playwright for
Python. Every test's pages are saved as screenshots under ``var/screenshots/`` (ignored by git).
Without chromium the tests are skipped, except in CI (``CI`` set), where they fail.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from service_process import ThreadedServer

from indexer.build import build_index
from indexer.encoder import HashingEncoder
from indexer.settings import Settings
from retrieval.searcher import Searcher

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "corpus"
CHROMIUM = Path("/usr/bin/chromium")
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = ROOT / "var" / "screenshots"
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
               "--disable-sync", "--no-first-run", "--disable-quic"]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
TIMEOUT_MS = 10_000
EXPORT_TOKEN = "browser-export-token"
EXPORT_HEADERS = {"Authorization": f"Bearer {EXPORT_TOKEN}"}  #: for reading the feedback exports


def missing(what: str) -> None:
    """Skip on a developer's machine; fail in CI, where ``make test`` installs everything."""
    if os.environ.get("CI"):
        pytest.fail(f"{what} (CI must run the browser tests: `make browser-deps` installs it)")
    pytest.skip(what)


@pytest.fixture(scope="session")
def browser_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    data = tmp_path_factory.mktemp("browser-var")
    return Settings(corpus_dir=CORPUS, index_dir=data / "index", data_dir=data, model="hashing:256",
                    synonyms_file=CORPUS / "synonyms.txt", export_token=EXPORT_TOKEN,
                    feedback_rate_per_minute=1000)  # every test's feedback comes from 127.0.0.1


@pytest.fixture(scope="session")
def browser_searcher(browser_settings: Settings) -> Searcher:
    encoder = HashingEncoder(256)
    build_index(browser_settings.corpus_dir, browser_settings.index_dir, browser_settings, encoder, progress=False)
    return Searcher.open(browser_settings, encoder=encoder)


@pytest.fixture(scope="session")
def live_server(browser_settings: Settings, browser_searcher: Searcher) -> Iterator[ThreadedServer]:
    from web.app import create_app

    server = ThreadedServer(create_app(browser_settings, searcher_loader=lambda path: browser_searcher))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def abstaining_server(browser_searcher: Searcher) -> Iterator[ThreadedServer]:
    """A second server on the same index whose searcher never trusts an answer, for the
    "Intet sikkert svar" state (the chat shows whatever turn the server renders)."""
    from web.app import create_app

    strict = browser_searcher.with_settings(abstain_threshold=1.01)
    server = ThreadedServer(create_app(strict.settings, searcher_loader=lambda path: strict))
    server.start()
    yield server
    server.stop()


def answer_from(server: ThreadedServer) -> Callable:
    """A ``page.route`` handler that has ``server`` answer the request instead, so one turn of a
    conversation can come from another server (e.g. :func:`abstaining_server`)."""
    def handle(route) -> None:
        url = urlsplit(route.request.url)
        route.fulfill(response=route.fetch(url=f"{server.url}{url.path}?{url.query}"))

    return handle


TURN_FRAGMENT = re.compile(r"/fragments/turn\?")  # what app.js fetches to show an answer


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        missing(f"{CHROMIUM} is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=LAUNCH_ARGS,
                                              timeout=60_000)
        yield chromium
        chromium.close()


@pytest.fixture
def make_page(browser, live_server: ThreadedServer, request: pytest.FixtureRequest) -> Iterator[Callable]:
    """``make_page(viewport=..., **context_options)``: a page in a fresh context (own session
    storage), on the live server's base URL. Console errors about the CSP and uncaught page
    errors fail the test; each page is saved as a screenshot when the test ends."""
    opened = []

    def make(viewport: dict = DESKTOP, **options):
        context = browser.new_context(viewport=viewport, base_url=live_server.url, locale="da-DK", **options)
        context.set_default_timeout(TIMEOUT_MS)
        page = context.new_page()
        problems: list[str] = []
        page.on("console", lambda message: message.type == "error" and problems.append(message.text))
        page.on("pageerror", lambda error: problems.append(f"uncaught: {error}"))
        opened.append((context, page, problems))
        return page

    yield make
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    name = re.sub(r"[^\w.-]+", "-", request.node.name).strip("-")
    failures = []
    for number, (context, page, problems) in enumerate(opened):
        try:
            page.screenshot(path=str(SCREENSHOTS / f"{name}{'-' + str(number + 1) if number else ''}.png"),
                            full_page=True)
        finally:
            context.close()
        failures += [p for p in problems if "Content Security Policy" in p or p.startswith("uncaught:")]
    assert not failures, f"browser reported: {failures}"


@pytest.fixture
def page(make_page):
    """A desktop-sized page."""
    return make_page()
