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
    link points at a new build, and loads it while the old searcher keeps answering.

    A build that cannot be loaded is logged once (one line, no traceback) and not tried again
    until the link points elsewhere; meanwhile ``degraded`` says why and ``failed_target`` names it."""

    def __init__(self, index_dir: Path, loader: Callable[[Path], Searcher], interval: float) -> None:
        self.index_dir = index_dir
        self._loader = loader
        self._interval = interval
        self._lock = threading.Lock()
        self._target = self._resolve()
        self._searcher = loader(index_dir)
        self._checked = time.monotonic()
        #: Why a newer published build is not served (None when the newest one is).
        self.degraded: str | None = None
        #: The build folder that failed to load (None when none did).
        self.failed_target: str | None = None

    def _resolve(self) -> str:
        return os.path.realpath(self.index_dir)

    def get(self) -> Searcher:
        now = time.monotonic()
        if now - self._checked >= self._interval and self._lock.acquire(blocking=False):
            try:
                self._checked = now
                target = self._resolve()
                if target not in (self._target, self.failed_target):
                    self._switch(target)
            finally:
                self._lock.release()
        return self._searcher

    def _switch(self, target: str) -> None:
        """Serve the build at ``target``, or keep the current searcher and record why not."""
        build = Path(target).name
        try:
            searcher = self._loader(self.index_dir)
        except Exception as exc:  # keep serving the old index, whatever broke the new one
            reason = " ".join(str(exc).split()) or type(exc).__name__
            self.failed_target = target
            self.degraded = f"index build {build} could not be loaded: {reason}"
            log.warning("could not load index build %s: %s; still serving %s", build, reason,
                        self._searcher.version or self._target)
            return
        self._searcher, self._target = searcher, target
        self.failed_target = self.degraded = None
        log.info("switched to index build %s", searcher.version or build)
