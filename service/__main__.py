"""``python -m service --host 127.0.0.1 --port 8000 --index var/index``: serve the chat and the API.

``--workers N`` runs N worker processes on one port (uvicorn's supervisor); each maps the same
index files read-only, so the index's pages are shared, and each swaps to a new build on its own.
``--api-only`` serves the JSON API alone (no pages, no static files). When the inbox folder exists
(``make run`` creates ``corpus/inbox``), and unless ``--no-watch`` (or ``PEERQA_WATCH_INBOX=false``),
a child process (``python -m indexer watch``) watches the inbox:
files dropped there are imported and the index rebuilt, and the service swaps to the new build
as it does for any published build. The application is named
to uvicorn by its import path, as multi-worker serving needs; every setting reaches it through
the ``PEERQA_`` environment (``indexer.settings.export_settings``).
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
from pathlib import Path

import uvicorn
from uvicorn.supervisors import Multiprocess

from indexer.settings import Settings, export_settings, set_process_variable, settings_for_command
from indexer.store import IndexNotFound, load_manifest
from service import metrics
from service.logs import logging_config

SITE = "web.app:create_app"  # the API and the pages
API_ONLY = "service.app:create_api"


def command_line(settings: Settings) -> argparse.ArgumentParser:
    """The command line of ``python -m service`` (defaults from ``settings``)."""
    parser = argparse.ArgumentParser(prog="python -m service", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default=settings.host)
    parser.add_argument("--port", type=int, default=settings.port)
    parser.add_argument("--index", type=Path, default=settings.index_dir)
    parser.add_argument("--api-only", action="store_true", help="serve the JSON API without the web pages")
    parser.add_argument("--no-watch", action="store_true", help="do not watch the inbox for files to import")
    parser.add_argument("--workers", type=int, default=settings.workers,
                        help="worker processes sharing the memory-mapped index (default PEERQA_WORKERS, 1)")
    return parser


def main(argv: list[str] | None = None) -> int:
    settings = settings_for_command()
    parser = command_line(settings)
    args = parser.parse_args(argv)
    if args.workers < 1:
        parser.error("--workers must be at least 1")
    settings = settings.model_copy(update={"host": args.host, "port": args.port, "index_dir": args.index,
                                           "workers": args.workers,
                                           "watch_inbox": settings.watch_inbox and not args.no_watch})
    try:
        load_manifest(args.index)
    except IndexNotFound as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    export_settings(settings)
    if settings.workers > 1:  # each worker writes its metrics to files here; /metrics sums them
        metrics_dir = settings.metrics_dir or settings.data_dir / "metrics"
        metrics.prepare_multiprocess_dir(metrics_dir)
        set_process_variable(metrics.MULTIPROCESS_VARIABLE, str(metrics_dir.resolve()))
    log_config = logging_config(settings)  # uvicorn's loggers and the service's: JSON lines or text (service.logs)
    watcher = _start_inbox_watcher(args.index) if settings.watch_inbox and settings.inbox.is_dir() else None
    try:
        serve(API_ONLY if args.api_only else SITE, settings, log_config)
    finally:
        if watcher is not None:
            watcher.terminate()
            try:
                watcher.wait(timeout=10)
            except subprocess.TimeoutExpired:
                watcher.kill()
    return 0


def serve(app_path: str, settings: Settings, log_config: dict) -> None:
    """uvicorn serving ``app_path``: in this process, or with several workers under uvicorn's
    supervisor, which forks them, restarts one that dies, and on SIGTERM lets each stop taking
    connections and finish its requests in flight (the grace period)."""
    options = {"factory": True, "host": settings.host, "port": settings.port, "log_level": "info",
               "log_config": log_config, "timeout_keep_alive": 5,
               "timeout_graceful_shutdown": settings.shutdown_grace_seconds,
               "access_log": False}  # access logs would keep caseworkers' questions (``/?q=``)
    if settings.workers == 1:
        uvicorn.run(app_path, **options)
        return
    config = uvicorn.Config(app_path, workers=settings.workers, **options)
    try:
        Multiprocess(config, sockets=[tcp_listener(settings.host, settings.port)]).run()
    except KeyboardInterrupt:
        pass


def tcp_listener(host: str, port: int) -> socket.socket:
    """The listening socket the workers share, made as a TCP socket proper: uvicorn's own
    (``socket.socket(family)``, protocol 0) makes asyncio skip TCP_NODELAY on the connections
    it accepts, and every keep-alive response then waits ~40 ms for a delayed ACK."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((host, port))
    listener.set_inheritable(True)
    return listener


def _start_inbox_watcher(index: Path) -> subprocess.Popen:
    """``python -m indexer watch`` beside the service: imports and builds run in their own
    process, so a large build never takes the service's memory or stalls its requests."""
    return subprocess.Popen([sys.executable, "-m", "indexer", "watch", "--out", str(index), "--quiet"])


if __name__ == "__main__":
    raise SystemExit(main())
