"""The service for tests, on 127.0.0.1 and a free port: a real ``python -m service`` process (its
output in a file, as a full pipe would block the server; ready once ``/healthz`` answers, always
stopped), or an app served by uvicorn from a thread of the test process (``ThreadedServer``)."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Mapping

import httpx

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def running_service(index: Path, env: Mapping[str, str], log: Path, start_timeout: float = 120.0) -> Iterator[str]:
    """The service on ``index`` with environment ``env``; yields its base URL once it answers."""
    with service_process(index, env, log, start_timeout) as (url, _):
        yield url


@contextmanager
def service_process(index: Path, env: Mapping[str, str], log: Path, start_timeout: float = 120.0,
                    args: tuple[str, ...] = ()) -> Iterator[tuple[str, subprocess.Popen]]:
    """Like :func:`running_service` (``args`` are more command-line options), yielding the URL and
    the process, for tests that signal or kill it."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with log.open("wb") as output:
        process = subprocess.Popen([sys.executable, "-m", "service", "--host", "127.0.0.1", "--port", str(port),
                                    "--index", str(index), *args], cwd=ROOT, env=dict(env),
                                   stdout=output, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + start_timeout
        while True:
            if process.poll() is not None:
                raise AssertionError(f"the service stopped: {log.read_text(errors='replace')[-3000:]}")
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass  # not listening yet
            if time.monotonic() > deadline:
                raise AssertionError(f"the service did not answer /healthz within {start_timeout:.0f} s")
            time.sleep(0.1)
        yield url, process
    finally:
        if process.poll() is None:
            process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


class ThreadedServer:
    """uvicorn serving ``app`` from a background thread on 127.0.0.1 and a free port, lifespan
    included (``start``/``stop``, or ``with``)."""

    def __init__(self, app) -> None:
        import uvicorn

        self.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.socket.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.socket.getsockname()[1]}"
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.socket]}, daemon=True)

    def start(self, timeout: float = 30.0) -> None:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the test server did not start within {timeout:.0f} s")
            time.sleep(0.05)

    def stop(self) -> None:
        self.server.should_exit = True  # runs the lifespan's shutdown (which stops the index watcher)
        self.thread.join(timeout=15)
        self.socket.close()

    def __enter__(self) -> "ThreadedServer":
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
