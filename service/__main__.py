"""``python -m service --host 127.0.0.1 --port 8000 --index var/index``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import uvicorn

from indexer.settings import Settings
from indexer.store import read_manifest
from service.app import create_app


def main(argv: list[str] | None = None) -> int:
    settings = Settings()
    parser = argparse.ArgumentParser(prog="python -m service", description=__doc__)
    parser.add_argument("--host", default=settings.host)
    parser.add_argument("--port", type=int, default=settings.port)
    parser.add_argument("--index", type=Path, default=settings.index_dir)
    args = parser.parse_args(argv)
    settings = settings.model_copy(update={"host": args.host, "port": args.port, "index_dir": args.index})
    if read_manifest(args.index) is None:
        print(f"error: no index at {args.index}; build it with `python -m indexer build --out {args.index}`",
              file=sys.stderr)
        return 2
    uvicorn.run(create_app(settings), host=args.host, port=args.port, log_level="info",
                access_log=False)  # access logs would keep caseworkers' questions (``/?q=``)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
