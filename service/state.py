"""The searcher the service answers with, picked up again when a new index build is published."""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path
from typing import Callable

from retrieval.searcher import Searcher

log = logging.getLogger(__name__)


class SearcherHolder:
    """Hands out the current searcher; checks at most every ``interval`` s whether the index
    link points at a new build, and loads it while the old searcher keeps answering."""

    def __init__(self, index_dir: Path, loader: Callable[[Path], Searcher], interval: float) -> None:
        self.index_dir = index_dir
        self._loader = loader
        self._interval = interval
        self._lock = threading.Lock()
        self._target = self._resolve()
        self._searcher = loader(index_dir)
        self._checked = time.monotonic()

    def _resolve(self) -> str:
        return os.path.realpath(self.index_dir)

    def get(self) -> Searcher:
        now = time.monotonic()
        if now - self._checked >= self._interval and self._lock.acquire(blocking=False):
            try:
                self._checked = now
                target = self._resolve()
                if target != self._target:
                    try:
                        self._searcher = self._loader(self.index_dir)
                        self._target = target
                        log.info("switched to index %s", target)
                    except Exception:  # keep serving the old index; the new one may be mid-swap
                        log.exception("could not load the new index at %s; keeping the old one", target)
            finally:
                self._lock.release()
        return self._searcher
