"""``python -m service --host 127.0.0.1 --port 8000 --index var/index``: serve the chat and the API.

``--api-only`` serves the JSON API alone (no pages, no static files). The application is named
to uvicorn by its import path, as multi-worker serving needs; every setting reaches it through
the ``PEERQA_`` environment (``indexer.settings.export_settings``).
"""

from __future__ import annotations

import argparse
import copy
import sys
from pathlib import Path

import uvicorn

from indexer.settings import export_settings, settings_for_command
from indexer.store import IndexNotFound, load_manifest

SITE = "web.app:create_app"  # the API and the pages
API_ONLY = "service.app:create_api"


def main(argv: list[str] | None = None) -> int:
    settings = settings_for_command()
    parser = argparse.ArgumentParser(prog="python -m service", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default=settings.host)
    parser.add_argument("--port", type=int, default=settings.port)
    parser.add_argument("--index", type=Path, default=settings.index_dir)
    parser.add_argument("--api-only", action="store_true", help="serve the JSON API without the web pages")
    args = parser.parse_args(argv)
    settings = settings.model_copy(update={"host": args.host, "port": args.port, "index_dir": args.index})
    try:
        load_manifest(args.index)
    except IndexNotFound as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    export_settings(settings)
    # uvicorn configures only its own loggers: let the service's (index swaps, refused builds) through too
    log_config = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    log_config["loggers"]["service"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    uvicorn.run(API_ONLY if args.api_only else SITE, factory=True, host=args.host, port=args.port,
                log_level="info", log_config=log_config,
                access_log=False)  # access logs would keep caseworkers' questions (``/?q=``)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
