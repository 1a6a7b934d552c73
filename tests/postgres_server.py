"""A real PostgreSQL server for the tests, started in a temporary folder (Debian's ``postgresql``
package: ``apt-get install postgresql``), on 127.0.0.1 and a free port, and stopped at the end.

``postgres_url`` is a session-scoped fixture yielding ``postgresql://postgres@127.0.0.1:PORT/peerqa_test``:
import it into a test module (there is no conftest for it) and ask for it, or for a new empty
database per test with ``fresh_database``::

    from postgres_server import fresh_database, postgres_url  # noqa: F401

Without the server binaries the tests that need it are skipped, saying what to install; when the
environment variable ``CI`` is set (CI installs them) they fail instead, so a broken CI image
cannot pass by skipping. initdb refuses to run as root: as root (CI, sessions) the server runs as
the ``postgres`` user, in a folder that user owns.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from glob import glob
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from service_process import free_port

BIN_GLOB = "/usr/lib/postgresql/*/bin"
SERVER_USER = "postgres"
DATABASE = "peerqa_test"
START_TIMEOUT = 60  # seconds pg_ctl waits for the server to accept connections


def server_binaries() -> Path | None:
    """The newest ``/usr/lib/postgresql/<version>/bin`` holding initdb, pg_ctl and postgres, or None."""
    found = [Path(folder) for folder in glob(BIN_GLOB)
             if all((Path(folder) / name).is_file() for name in ("initdb", "pg_ctl", "postgres"))]
    return max(found, key=lambda folder: _version_of(folder), default=None)


def _version_of(folder: Path) -> tuple[int, ...]:
    digits = folder.parent.name.split(".")
    return tuple(int(part) for part in digits if part.isdigit())


def missing_server(reason: str) -> None:
    """Skip on a developer's machine; fail in CI (``CI`` set), where the server must be there."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set, so this fails instead of skipping: install Debian's postgresql "
                    "package in the CI image)", pytrace=False)
    pytest.skip(f"{reason}: install Debian's postgresql package (apt-get install postgresql) to run these tests")


def _as_server_user(command: list[str]) -> list[str]:
    """``command`` run as the postgres user when we are root (initdb refuses root), else as we are."""
    return ["runuser", "-u", SERVER_USER, "--", *command] if os.geteuid() == 0 else command


def _run(command: list[str], what: str) -> None:
    done = subprocess.run(_as_server_user(command), capture_output=True, text=True, timeout=START_TIMEOUT + 30)
    if done.returncode != 0:
        raise RuntimeError(f"{what} failed ({done.returncode}): {done.stdout[-2000:]}{done.stderr[-2000:]}")


def _private_folder() -> Path:
    """A new folder the server user owns (pytest's tmp folders are root's, closed to others)."""
    folder = Path(tempfile.mkdtemp(prefix="peerqa-postgres-"))
    if os.geteuid() == 0:
        shutil.chown(folder, user=SERVER_USER, group=None)
    return folder


class PostgresServer:
    """One server: ``initdb`` into a new folder, ``pg_ctl start`` on ``port``, ``stop`` at the end."""

    def __init__(self, binaries: Path) -> None:
        self.binaries = binaries
        self.folder = _private_folder()
        self.data = self.folder / "data"
        self.log = self.folder / "server.log"
        self.port = free_port()

    @property
    def base_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}"

    def start(self) -> None:
        _run([str(self.binaries / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres",
              "--encoding", "UTF8", "--locale", "C.UTF-8"], "initdb")
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        try:
            _run([str(self.binaries / "pg_ctl"), "-D", str(self.data), "-o", options, "-l", str(self.log),
                  "-w", "-t", str(START_TIMEOUT), "start"], "pg_ctl start")
        except RuntimeError as error:
            log = self.log.read_text(errors="replace")[-3000:] if self.log.exists() else "(no log)"
            raise RuntimeError(f"{error}\nserver log:\n{log}") from None

    def stop(self) -> None:
        """Stop the server (if it started) and remove its folder."""
        try:
            if (self.data / "postmaster.pid").exists():
                _run([str(self.binaries / "pg_ctl"), "-D", str(self.data), "stop", "-m", "fast"], "pg_ctl stop")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)



def create_database(server_url: str, name: str) -> str:
    """A new empty database on the server of ``server_url`` (any database URL of it); its URL."""
    base = server_url.rsplit("/", 1)[0]
    with psycopg.connect(f"{base}/postgres", autocommit=True) as connection:
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return f"{base}/{name}"


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A PostgreSQL server for the whole session: the URL of its database ``peerqa_test``
    (user postgres, no password); skipped (or failed in CI) without the server binaries."""
    binaries = server_binaries()
    if binaries is None:
        missing_server(f"no PostgreSQL server binaries in {BIN_GLOB}")
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        missing_server("running as root needs runuser (util-linux) to start PostgreSQL as the postgres user")
    server = PostgresServer(binaries)
    try:
        server.start()
        yield create_database(server.base_url + "/postgres", DATABASE)
    finally:
        server.stop()


@pytest.fixture
def fresh_database(postgres_url: str) -> str:
    """The URL of a new, empty database on the session's server, for one test."""
    return create_database(postgres_url, f"t_{uuid.uuid4().hex[:12]}")
