"""A real ``python -m service`` process for tests: on 127.0.0.1 and a free port, its output in a
file (a full pipe would block the server), ready once ``/healthz`` answers, always stopped."""

from __future__ import annotations

import socket
import subprocess
import sys
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
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with log.open("wb") as output:
        process = subprocess.Popen([sys.executable, "-m", "service", "--host", "127.0.0.1", "--port", str(port),
                                    "--index", str(index)], cwd=ROOT, env=dict(env),
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
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
