"""The feedback store on both backends, SQLite (embedded, the default) and PostgreSQL (a real
server this test session starts, see tests/postgres_server.py): the same behaviour on each
(latest judgment wins, export pages and cursors, StoreFull, migrations recorded once however many
stores start at once), a PostgreSQL server that cannot be reached is a StorageUnavailable that
names it without its password, and two service processes store their feedback in one database
whose export holds both."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, closing, contextmanager
from datetime import UTC, datetime
from pathlib import Path

import httpx
import psycopg
import pytest
from conftest import ROOT, hashing_settings
from fastapi.testclient import TestClient
from postgres_server import create_database, fresh_database, postgres_url  # noqa: F401 (fixtures)
from service_process import free_port, service_process

from indexer.settings import Settings
from retrieval.searcher import Searcher
from service import feedback_postgres
from service.app import create_api
from service.dependencies import store_for_settings
from service.feedback_postgres import BadDatabaseUrl, PostgresFeedbackStore
from service.feedback_store import FILE_NAME, FeedbackBackend, FeedbackStore, StorageUnavailable, StoreFull, query_id
from service.migrations import migrations

WHEN = datetime(2026, 1, 1, tzinfo=UTC)
TOKEN = "export-token-for-two-processes"
PASSWORD = "very-secret-pw"
START_TIMEOUT = 60.0  # seconds for a service process to import, load the index and answer /healthz


# --- a store on each backend -----------------------------------------------------------------------

@pytest.fixture(params=["sqlite", "postgres"])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """Settings choosing the backend: SQLite in a data folder, or a new database of the test server."""
    url = request.getfixturevalue("fresh_database") if request.param == "postgres" else None
    return Settings(data_dir=tmp_path / "data", database_url=url, database_pool_size=2)


@pytest.fixture
def make_store(settings: Settings) -> Iterator[Callable[[], FeedbackBackend]]:
    """``make_store()``: a new store as the service makes it from the settings (closed at the end)."""
    made: list[FeedbackBackend] = []

    def make() -> FeedbackBackend:
        made.append(store_for_settings(settings))
        return made[-1]

    yield make
    for store in made:
        store.close()


@pytest.fixture
def store(make_store: Callable[[], FeedbackBackend]) -> FeedbackBackend:
    return make_store()


def recorded_migrations(settings: Settings) -> list[tuple[int, str]]:
    """``schema_migrations`` as the database holds it, read directly."""
    query = "SELECT version, name FROM schema_migrations ORDER BY version"
    if settings.database_url is not None:
        with psycopg.connect(settings.database_url.get_secret_value()) as connection:
            return [tuple(row) for row in connection.execute(query)]
    with closing(sqlite3.connect(settings.data_dir / FILE_NAME)) as connection:
        return connection.execute(query).fetchall()


def test_the_settings_choose_the_backend(settings: Settings, store: FeedbackBackend):
    expected = PostgresFeedbackStore if settings.database_url is not None else FeedbackStore
    assert type(store) is expected


def test_latest_judgment_wins_and_exports(store: FeedbackBackend):
    assert (store.count(), store.qrels(), store.queries(), store.judgments()) == (0, "", [], [])
    first = store.add("Hvad er peerstøtte?", "peer#1", True, "v1", now=WHEN)
    store.add("Hvad er peerstøtte?", "peer#2", True, "v1", now=WHEN)
    store.add("hvad er  PEERSTØTTE", "peer#2", False, "v1", now=WHEN)  # same question: the latest wins
    store.add("Hvad er WRAP?", "wrap#1", True, "v2", now=WHEN)
    assert (first.id, first.created_at, first.query_id) == (1, "2026-01-01T00:00:00+00:00",
                                                            query_id("Hvad er peerstøtte?"))
    assert store.count() == 4
    assert [(j.question, j.passage_id, j.helpful) for j in store.judgments()] == [
        ("Hvad er peerstøtte?", "peer#1", True), ("Hvad er peerstøtte?", "peer#2", True),
        ("hvad er  PEERSTØTTE", "peer#2", False), ("Hvad er WRAP?", "wrap#1", True)]
    assert {j.created_at for j in store.judgments()} == {"2026-01-01T00:00:00+00:00"}
    peer, wrap = query_id("Hvad er peerstøtte?"), query_id("Hvad er WRAP?")
    assert store.qrels().splitlines() == sorted([f"{peer} 0 peer#1 1", f"{peer} 0 peer#2 0", f"{wrap} 0 wrap#1 1"])
    assert store.qrels(layout="beir").splitlines()[0] == "query-id\tcorpus-id\tscore"
    assert store.queries() == sorted([{"_id": peer, "text": "hvad er  PEERSTØTTE"},
                                      {"_id": wrap, "text": "Hvad er WRAP?"}], key=lambda q: q["_id"])
    assert store.qrels("v2").splitlines() == [f"{wrap} 0 wrap#1 1"]  # one index version
    assert [j.passage_id for j in store.judgments("v2")] == ["wrap#1"]
    assert store.queries("older-build") == [] and store.qrels("older-build") == ""


def test_export_pages_join_up_in_byte_order(store: FeedbackBackend):
    passages = ("a#1", "b#2", "c 3#4", "Zebra#1", "zebra#1", "æble#1")  # a space, case, a non-ASCII letter
    for n in range(7):
        for passage in passages:
            store.add(f"Spørgsmål {n}", passage, n % 2 == 0, "v1", now=WHEN)
    store.add("Spørgsmål 0", "a#1", False, "v1", now=WHEN)  # the latest judgment wins
    pages, after = [], None
    while page := store.qrels_page(after=after, limit=4):
        pages.append(page)
        after = page[-1].cursor
    joined = [qrel for page in pages for qrel in page]
    assert len(pages) == 11 and all(len(page) == 4 for page in pages[:-1])
    assert joined == store.latest() and len(joined) == 42
    assert [(q.query_id, q.passage_id) for q in joined] == sorted((q.query_id, q.passage_id) for q in joined)
    assert next(q for q in joined if q.query_id == query_id("Spørgsmål 0") and q.passage_id == "a#1").helpful is False
    queries, after = [], None
    while page := store.queries_page(after=after, limit=3):
        queries += page
        after = page[-1]["_id"]
    assert [q["_id"] for q in queries] == sorted(query_id(f"Spørgsmål {n}") for n in range(7))


def test_a_full_store_refuses_and_keeps_everything(store: FeedbackBackend):
    for n in range(2):
        store.add(f"Spørgsmål {n}", "a#1", True, "v1", max_rows=2)
    with pytest.raises(StoreFull) as full:
        store.add("Spørgsmål 2", "a#1", True, "v1", max_rows=2)
    assert full.value.max_rows == 2 and full.value.retry_after > 0 and "limit of 2" in str(full.value)
    assert store.count() == 2
    store.add("Spørgsmål 2", "a#1", True, "v1")  # no limit given: none applies
    assert store.count() == 3


def test_the_limit_holds_when_many_add_at_once(make_store: Callable[[], FeedbackBackend]):
    stores = [make_store() for _ in range(3)]  # as three processes would
    outcomes: list[str] = []
    start = threading.Barrier(12)

    def judge(n: int) -> None:
        start.wait()
        try:
            stores[n % 3].add(f"Spørgsmål {n}", "a#1", True, "v1", max_rows=5)
            outcomes.append("stored")
        except StoreFull:
            outcomes.append("full")

    threads = [threading.Thread(target=judge, args=(n,)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["full"] * 7 + ["stored"] * 5
    assert stores[0].count() == 5


def test_migrations_are_recorded_once_when_stores_start_together(settings: Settings,
                                                                 make_store: Callable[[], FeedbackBackend]):
    stores = [make_store() for _ in range(6)]
    start = threading.Barrier(len(stores))
    errors: list[BaseException] = []

    def begin(store: FeedbackBackend) -> None:
        start.wait()
        try:
            store.migrate()  # at start-up (SQLite: nothing yet, as there is no database)
            store.add("Hvad er WRAP?", "wrap#1", True, "v1")  # SQLite: the first add creates and migrates it
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=begin, args=(store,)) for store in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    expected = [(m.version, m.name) for m in migrations("postgres" if settings.database_url else "sqlite")]
    assert recorded_migrations(settings) == expected == [(1, "feedback")]
    assert stores[0].count() == 6
    assert make_store().migrate() == []  # a later start finds nothing to do


# --- SQLite: a database made before the migrations ------------------------------------------------

LEGACY_SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at    TEXT    NOT NULL,  -- UTC, ISO 8601
    query_id      TEXT    NOT NULL,  -- query_id(question)
    question      TEXT    NOT NULL,
    passage_id    TEXT    NOT NULL,
    helpful       INTEGER NOT NULL CHECK (helpful IN (0, 1)),
    index_version TEXT    NOT NULL
);
CREATE INDEX IF NOT EXISTS feedback_pair ON feedback (query_id, passage_id);
"""


def legacy_database(path: Path) -> None:
    """A feedback database as the store wrote it before schema_migrations, with one judgment."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with closing(sqlite3.connect(path)) as connection, connection:
        connection.executescript(LEGACY_SCHEMA)
        connection.execute("INSERT INTO feedback (created_at, query_id, question, passage_id, helpful, index_version)"
                           " VALUES ('2025-06-01T10:00:00+00:00', ?, 'Hvad er WRAP?', 'wrap#1', 1, 'v0')",
                           (query_id("Hvad er WRAP?"),))


def test_a_database_made_before_migrations_is_recorded_as_0001_and_kept(tmp_path: Path):
    settings = Settings(data_dir=tmp_path / "data", database_url=None)
    legacy_database(settings.data_dir / FILE_NAME)
    store = store_for_settings(settings)
    assert [m.label for m in store.migrate()] == ["0001_feedback"]
    assert recorded_migrations(settings) == [(1, "feedback")]
    assert [(j.id, j.question, j.index_version) for j in store.judgments()] == [(1, "Hvad er WRAP?", "v0")]
    assert store.add("Hvad er WRAP?", "wrap#1", False, "v1").id == 2
    assert store.qrels().split() == [query_id("Hvad er WRAP?"), "0", "wrap#1", "0"]
    assert schema_of(settings.data_dir / FILE_NAME) == schema_of(":memory:", LEGACY_SCHEMA)  # the same tables


def schema_of(database: Path | str, script: str = "") -> list[tuple[str, str]]:
    """The feedback table and index as SQLite records them (after running ``script``)."""
    with closing(sqlite3.connect(database)) as connection:
        connection.executescript(script)
        return connection.execute("SELECT name, sql FROM sqlite_master WHERE name LIKE 'feedback%' "
                                  "ORDER BY name").fetchall()


def test_a_read_only_database_made_before_migrations_still_exports(tmp_path: Path):
    database = tmp_path / "data" / FILE_NAME
    legacy_database(database)
    data = bytearray(database.read_bytes())
    data[18] = 3  # SQLite's header: a write version above 2 opens read-only (file modes do not bind root)
    database.write_bytes(bytes(data))
    store = FeedbackStore(database)
    assert store.migrate() == [] and store.count() == 1
    assert store.qrels().split() == [query_id("Hvad er WRAP?"), "0", "wrap#1", "1"]
    with pytest.raises(StorageUnavailable) as refused:
        store.add("Hvad er WRAP?", "wrap#1", False, "v1")
    assert refused.value.fault == "readonly"


def test_the_sqlite_migration_is_the_schema_of_before():
    assert migrations("sqlite")[0].sql.strip() == LEGACY_SCHEMA.strip()


# --- PostgreSQL: a server that cannot be reached, a URL that is not one ---------------------------

def closed_port_url() -> str:
    return f"postgresql://peerqa:{PASSWORD}@127.0.0.1:{free_port()}/peerqa"


def assert_unavailable(call: Callable[[], object], where: str, within: float) -> StorageUnavailable:
    started = time.monotonic()
    with pytest.raises(StorageUnavailable) as caught:
        call()
    assert time.monotonic() - started < within
    error = caught.value
    assert error.fault == "unavailable" and error.retry_after > 0
    assert where in str(error) and "cannot be reached" in str(error)
    assert PASSWORD not in str(error) and PASSWORD not in repr(error)
    return error


def test_an_unreachable_server_is_unavailable_at_once_and_without_the_password():
    url = closed_port_url()
    where = url.split("@")[1].rsplit("/", 1)[0]  # 127.0.0.1:PORT
    store = PostgresFeedbackStore(url, pool_size=2, timeout=1.0)
    try:
        assert "Connection refused" in str(assert_unavailable(store.migrate, where, within=1.0))
        for call in (store.count, store.queries, lambda: store.add("Hvad?", "a#1", True, "v1", max_rows=10)):
            assert_unavailable(call, where, within=3.0)
        assert PASSWORD not in repr(store)
    finally:
        store.close()


@pytest.mark.parametrize("url", ["mysql://peerqa:very-secret-pw@db/peerqa", "postgresql://u:very-secret-pw@[db/x",
                                 "postgresql://u:very-secret-pw@db/x?no_such_option=1"])
def test_a_url_that_is_not_postgresql_is_refused_without_repeating_it(url: str):
    with pytest.raises(BadDatabaseUrl) as refused:
        store_for_settings(Settings(database_url=url))
    assert PASSWORD not in str(refused.value) and "postgresql://" in str(refused.value)


def test_a_database_created_after_start_is_migrated_on_first_use(request: pytest.FixtureRequest):
    server = request.getfixturevalue("postgres_url")  # by name: a parameter would shadow the import
    name = f"late_{free_port()}"
    url = server.rsplit("/", 1)[0] + f"/{name}"
    store = PostgresFeedbackStore(url, pool_size=1, timeout=1.0)
    try:
        with pytest.raises(StorageUnavailable):  # 'database … does not exist'
            store.migrate()
        with pytest.raises(StorageUnavailable):
            store.count()
        create_database(server, name)
        deadline = time.monotonic() + 15  # the pool retries with a growing delay: 1 s, 2 s, 4 s, …
        while True:
            try:
                assert store.count() == 0
                break
            except StorageUnavailable:
                assert time.monotonic() < deadline, "the store did not recover once the database existed"
        assert store.add("Hvad er WRAP?", "wrap#1", True, "v1").id == 1
    finally:
        store.close()


def test_a_service_starts_while_the_database_is_down_and_answers_503(isolated_data: Path,
                                                                     corpus_searcher: Searcher,
                                                                     monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(feedback_postgres, "POOL_TIMEOUT", 1.0)  # each call waits 1 s, not 5
    url = closed_port_url()
    settings = hashing_settings(isolated_data, database_url=url, export_token=TOKEN)
    with TestClient(create_api(settings, searcher_loader=lambda path: corpus_searcher)) as client:
        assert client.get("/healthz").status_code == 200
        passage = client.get("/api/search", params={"q": "Hvad er WRAP?", "k": 1}).json()["results"][0]["passage_id"]
        posted = client.post("/api/feedback", json={"question": "Hvad er WRAP?", "passage_id": passage,
                                                    "helpful": True})
        exported = client.get("/api/feedback/qrels", headers={"Authorization": f"Bearer {TOKEN}"})
        for response in (posted, exported):
            assert response.status_code == 503 and int(response.headers["retry-after"]) > 0
            assert "cannot be reached" in response.json()["detail"] and PASSWORD not in response.text
        store = client.app.state.feedback_store
    with pytest.raises(StorageUnavailable, match="shutting down"):  # its pool was closed at shutdown
        store.count()


# --- the done-when: two service processes, one database, one export -----------------------------

@pytest.fixture(scope="module")
def built_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The corpus indexed with the hashing encoder by ``python -m indexer build``."""
    folder = tmp_path_factory.mktemp("two-processes")
    index = folder / "index"
    env = {**os.environ, "PEERQA_MODEL": "hashing:256", "PEERQA_DATA_DIR": str(folder / "build-data"),
           "HF_HUB_OFFLINE": "1"}
    done = subprocess.run([sys.executable, "-m", "indexer", "build", "--out", str(index), "--quiet"], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return index


@contextmanager
def service_processes(count: int, index: Path, env: dict[str, str], logs: Path) -> Iterator[list[str]]:
    """``count`` ``python -m service --api-only`` processes, each on its own port; their base URLs
    once every one answers /healthz. Always stopped."""
    with ExitStack() as stack:
        yield [stack.enter_context(service_process(index, env, logs / f"service-{n}.log", START_TIMEOUT,
                                                   args=("--api-only", "--no-watch")))[0] for n in range(count)]


def first_passage(url: str, question: str) -> str:
    response = httpx.get(f"{url}/api/search", params={"q": question, "k": 1}, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()["results"][0]["passage_id"]


def judge(url: str, question: str, passage: str, helpful: bool) -> dict:
    response = httpx.post(f"{url}/api/feedback", json={"question": question, "passage_id": passage,
                                                       "helpful": helpful}, timeout=15)
    assert response.status_code == 201, response.text
    return response.json()


def test_feedback_from_two_service_processes_lands_in_one_export(settings: Settings, built_index: Path,
                                                                tmp_path: Path):
    env = {**os.environ, "PEERQA_MODEL": "hashing:256", "PEERQA_DATA_DIR": str(settings.data_dir),
           "PEERQA_INDEX_DIR": str(built_index), "PEERQA_EXPORT_TOKEN": TOKEN, "PEERQA_WATCH_INBOX": "false",
           "HF_HUB_OFFLINE": "1"}
    env.pop("PEERQA_DATABASE_URL", None)
    if settings.database_url is not None:
        env["PEERQA_DATABASE_URL"] = settings.database_url.get_secret_value()
    settings.data_dir.mkdir(parents=True, exist_ok=True)  # SQLite: both processes share this folder
    with service_processes(2, built_index, env, tmp_path) as (first, second):
        wrap, peer = "Hvad er WRAP?", "Hvad er peerstøtte?"
        wrap_passage, peer_passage = first_passage(first, wrap), first_passage(second, peer)
        ids = {judge(first, wrap, wrap_passage, True)["id"], judge(second, peer, peer_passage, True)["id"]}
        judge(second, peer, peer_passage, False)  # the other process's later judgment wins
        assert ids == {1, 2}
        exports = [httpx.get(f"{url}/api/feedback/qrels", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=15)
                   for url in (first, second)]
    for export in exports:
        assert export.status_code == 200, export.text
        assert export.text.splitlines() == sorted([f"{query_id(wrap)} 0 {wrap_passage} 1",
                                                   f"{query_id(peer)} 0 {peer_passage} 0"])
    assert recorded_migrations(settings) == [(1, "feedback")]  # two processes started: recorded once
    assert (settings.data_dir / FILE_NAME).exists() == (settings.database_url is None)  # in PostgreSQL: no file
