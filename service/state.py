"""The searcher the service answers with, and the watcher that swaps in a newly published index build.

A build is loaded off the request path, by a background thread, while the old searcher keeps
answering; the swap is one attribute assignment, so a request sees either the old build or the new
one, never a half-loaded one and never a wait. Index files are memory-mapped, so during a load the
two builds share the pages they have in common and memory stays bounded to roughly two builds.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Callable, NamedTuple

from retrieval.searcher import Searcher
from service.logs import log_event
from service.metrics import record_index

log = logging.getLogger(__name__)

#: Seconds ``stop`` waits for the watcher: a load in progress cannot be interrupted, and the
#: thread is a daemon, so a load outlasting this does not keep the process alive.
STOP_TIMEOUT = 5.0


class _Served(NamedTuple):
    """The searcher and the build folder it was loaded from, swapped together in one assignment."""

    searcher: Searcher
    target: str


class SearcherHolder:
    """Hands out the current searcher; a watcher thread (``start``/``stop``, or ``with holder:``)
    looks every ``interval`` s whether the index link points at a new build, and loads and swaps it
    in while the old searcher keeps answering. ``get`` never loads.

    ``interval == 0`` means "look on every request": there is nothing for a watcher to poll, so
    ``get`` looks itself and a new build is loaded on the request that notices it (for tests and
    local debugging, where a deterministic switch matters more than a request's latency).

    A build that cannot be loaded is logged once (one line, no traceback) and not tried again
    until the link points elsewhere; meanwhile ``degraded`` says why and ``failed_target`` names it."""

    def __init__(self, index_dir: Path, loader: Callable[[Path], Searcher], interval: float) -> None:
        self.index_dir = index_dir
        self._loader = loader
        self._interval = interval
        self._loading = threading.Lock()  # one load at a time, whoever asks for it
        self._swap = threading.Lock()  # the swap and its bookkeeping happen together
        target = self._resolve()
        self._served = _Served(loader(index_dir), target)
        record_index(self._served.searcher)
        self._stop = threading.Event()
        self._watcher: threading.Thread | None = None
        #: Why a newer published build is not served (None when the newest one is).
        self.degraded: str | None = None
        #: The build folder that failed to load (None when none did).
        self.failed_target: str | None = None

    def _resolve(self) -> str:
        return os.path.realpath(self.index_dir)

    def get(self) -> Searcher:
        """The searcher to answer with now; a request never waits for a load (unless ``interval == 0``)."""
        if self._interval == 0:
            self.check_now(wait=False)
        return self._served.searcher

    # --- looking for a new build ------------------------------------------------------------------

    def check_now(self, wait: bool = True) -> bool:
        """Look at the index link once and, if it points at a build neither served nor failed, load
        and swap it in. Shared by the watcher and by tests, which thus switch without sleeping.

        With ``wait`` (the default) a call made while another load runs waits for it and then looks
        again, so afterwards the newest loadable build is served; without, it returns at once.
        True when this call swapped in a new build."""
        if not self._loading.acquire(blocking=wait):
            return False
        try:
            target = self._resolve()
            if target in (self._served.target, self.failed_target):
                return False
            return self._switch(target)
        finally:
            self._loading.release()

    def _switch(self, target: str) -> bool:
        """Serve the build at ``target``, or keep the current searcher and record why not."""
        build = Path(target).name
        started = time.monotonic()
        try:
            searcher = self._loader(self.index_dir)
        except Exception as exc:  # keep serving the old index, whatever broke the new one
            reason = " ".join(str(exc).split()) or type(exc).__name__
            with self._swap:
                self.failed_target = target
                self.degraded = f"index build {build} could not be loaded: {reason}"
            serving = self._served.searcher.version or self._served.target
            log_event(log, "index_build_rejected", level=logging.WARNING,
                      message=f"could not load index build {build}: {reason}; still serving {serving}",
                      build=build, reason=reason, serving_version=serving)
            return False
        seconds = time.monotonic() - started
        with self._swap:
            # the old searcher's last reference here goes with this assignment; requests still
            # answering from it hold their own until they finish, then its memory is freed
            old_version = self._served.searcher.version
            self._served = _Served(searcher, target)
            self.failed_target = self.degraded = None
        record_index(searcher, previous_version=old_version)
        log_event(log, "index_swap", message=f"switched to index build {searcher.version or build} "
                                             f"(loaded in {seconds:.2f} s)",
                  old_version=old_version, new_version=searcher.version, build=build, load_seconds=round(seconds, 3))
        return True

    # --- the watcher thread -----------------------------------------------------------------------

    def start(self) -> None:
        """Start the watcher (once; not with ``interval == 0``, where ``get`` looks itself)."""
        if self._interval == 0 or self._watcher is not None:
            return
        self._stop.clear()
        self._watcher = threading.Thread(target=self._watch, name="index-watcher", daemon=True)
        self._watcher.start()

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """Stop the watcher; waits up to ``timeout`` s for a load in progress to finish."""
        self._stop.set()
        watcher, self._watcher = self._watcher, None
        if watcher is not None:
            watcher.join(timeout)
            if watcher.is_alive():
                log.warning("the index watcher did not stop within %.0f s (a load still running)", timeout)

    @property
    def watching(self) -> bool:
        """Whether the watcher thread runs (for tests and diagnostics)."""
        return self._watcher is not None and self._watcher.is_alive()

    def _watch(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self.check_now()
            except Exception as exc:  # the watcher must outlive anything odd, e.g. an unreadable link
                log.warning("index watcher: could not check %s: %s", self.index_dir, exc)

    def __enter__(self) -> "SearcherHolder":
        self.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.stop()
