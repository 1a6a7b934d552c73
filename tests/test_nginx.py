"""Two service processes behind nginx (``deploy/nginx.conf``, the very file the deployment guide
uses), on 127.0.0.1: one is killed, or stopped with SIGTERM, during a bounded load.

- killed (SIGKILL): no GET fails at all (nginx sends it to the other process again), and the
  only POSTs that fail are ones the killed process held when it died;
- stopped (SIGTERM): nothing fails: the process finishes what it holds, and takes no more.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import threading
import time
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import httpx
import pytest
from service_process import ROOT, free_port, service_process

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
TEMPLATE = ROOT / "deploy" / "nginx.conf"
QUESTIONS = ["Hvad er peerstøtte?", "Hvordan ansætter man en peer-medarbejder?", "Hvad er WRAP?",
             "Hvad koster det at uddanne peers?", "Hvem kan blive peerstøttegiver?", "Hvad er recovery?"]
LOAD_SECONDS = 6.0
EVENT_AT = 2.0  # seconds into the load when a process is killed or stopped


def missing(what: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{what} (CI installs nginx: `make server-deps`)")
    pytest.skip(what)


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    if not Path(NGINX).exists():
        missing("nginx is not installed")
    data = tmp_path_factory.mktemp("nginx-var")
    env = {**os.environ, "PEERQA_MODEL": "hashing:256", "PEERQA_DATA_DIR": str(data), "PEERQA_WEIGHT_DENSE": "0.25",
           "PEERQA_WATCH_INBOX": "false", "PEERQA_INDEX_DIR": str(data / "index"), "PEERQA_MAX_SEARCHES": "4",
           "PEERQA_SEARCH_QUEUE": "64"}
    subprocess.run([os.sys.executable, "-m", "indexer", "build", "--quiet"], cwd=ROOT, env=env, check=True)
    return data / "index", env


@contextmanager
def nginx_in_front(upstreams: list[str], folder: Path) -> Iterator[str]:
    """nginx from ``deploy/nginx.conf`` balancing ``upstreams`` (base URLs); yields its URL."""
    port = free_port()
    folder.mkdir(parents=True, exist_ok=True)
    servers = "\n        ".join(f"server {u.removeprefix('http://')} max_fails=1 fail_timeout=5s;" for u in upstreams)
    config = (TEMPLATE.read_text(encoding="utf-8").replace("@@LISTEN@@", f"127.0.0.1:{port}")
              .replace("@@UPSTREAMS@@", servers).replace("@@PREFIX@@", str(folder))
              .replace("@@USER@@", "root" if os.geteuid() == 0 else os.environ.get("USER", "nobody")))
    (folder / "nginx.conf").write_text(config, encoding="utf-8")
    process = subprocess.Popen([NGINX, "-p", str(folder), "-c", str(folder / "nginx.conf"), "-g", "daemon off;"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                output = process.communicate()[0].decode(errors="replace")
                log = folder / "error.log"
                raise AssertionError(f"nginx did not start: {output} {log.read_text() if log.exists() else ''}")
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


@dataclass
class Tally:
    ok: int = 0
    failed: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, failure: str | None) -> None:
        with self.lock:
            if failure is None:
                self.ok += 1
            else:
                self.failed.append(failure)


def client(url: str, method: str, number: int, stop: threading.Event, tally: Tally) -> None:
    """Asks one question after another until ``stop`` (a new connection each time, as browsers
    behind a load balancer spread)."""
    asked = 0
    while not stop.is_set():
        question = f"{QUESTIONS[(number + asked) % len(QUESTIONS)]} ({number}-{asked})"  # uncached
        asked += 1
        try:
            if method == "GET":
                response = httpx.get(f"{url}/api/search", params={"q": question, "k": 3}, timeout=20)
            else:
                response = httpx.post(f"{url}/api/search", json={"q": question, "k": 3}, timeout=20)
            tally.add(None if response.status_code == 200 else f"{method} {response.status_code}")
        except httpx.HTTPError as error:
            tally.add(f"{method} {type(error).__name__}")


def load(url: str, event) -> tuple[Tally, Tally]:
    """8 GET and 4 POST clients for LOAD_SECONDS; ``event()`` runs EVENT_AT seconds in."""
    gets, posts, stop = Tally(), Tally(), threading.Event()
    threads = [threading.Thread(target=client, args=(url, "GET", n, stop, gets)) for n in range(8)]
    threads += [threading.Thread(target=client, args=(url, "POST", n, stop, posts)) for n in range(4)]
    for thread in threads:
        thread.start()
    time.sleep(EVENT_AT)
    event()
    time.sleep(LOAD_SECONDS - EVENT_AT)
    stop.set()
    for thread in threads:
        thread.join(timeout=30)
    return gets, posts


@contextmanager
def two_services_behind_nginx(index: tuple[Path, dict[str, str]], folder: Path):
    path, env = index
    with ExitStack() as stack:
        first = stack.enter_context(service_process(path, env, folder / "first.log", args=("--api-only",)))
        second = stack.enter_context(service_process(path, env, folder / "second.log", args=("--api-only",)))
        url = stack.enter_context(nginx_in_front([first[0], second[0]], folder / "nginx"))
        yield url, first[1], second[1]


def test_killing_one_process_fails_no_get_and_only_the_posts_it_held(index, tmp_path: Path):
    with two_services_behind_nginx(index, tmp_path) as (url, first, second):
        gets, posts = load(url, lambda: first.send_signal(signal.SIGKILL))
        assert first.wait(timeout=10) == -signal.SIGKILL and second.poll() is None
        after = httpx.get(f"{url}/api/search", params={"q": "Hvad er peerstøtte? (efter)"}, timeout=20)
    print(f"\nkilled: {gets.ok} GETs ok, failed {gets.failed}; {posts.ok} POSTs ok, failed {posts.failed}")
    assert gets.ok > 50 and gets.failed == []
    # every POST client holds at most one request at a time, and only those at the killed process can fail
    assert posts.ok > 20 and len(posts.failed) <= 4
    assert after.status_code == 200


def test_sigterm_lets_a_process_finish_what_it_holds_and_nothing_fails(index, tmp_path: Path):
    with two_services_behind_nginx(index, tmp_path) as (url, first, second):
        gets, posts = load(url, lambda: first.send_signal(signal.SIGTERM))
        # uvicorn shuts down gracefully, then re-raises the signal it caught: the exit status says SIGTERM
        assert first.wait(timeout=30) in (0, -signal.SIGTERM) and second.poll() is None
        assert "Finished server process" in (tmp_path / "first.log").read_text(errors="replace")
    print(f"\nstopped: {gets.ok} GETs ok, failed {gets.failed}; {posts.ok} POSTs ok, failed {posts.failed}")
    assert gets.ok > 50 and posts.ok > 20
    assert gets.failed == [] and posts.failed == []
