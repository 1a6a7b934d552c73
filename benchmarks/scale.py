"""How the index grows with the corpus: build time and memory, index size, service memory and
search latency for corpora of real Danish text at several sizes.

    .venv/bin/python benchmarks/scale.py [--sizes 2000,10000] [--questions 200] [--out docs/benchmarks/scale]
    make bench-scale

The corpora are made from Danish SQuAD (``../shared/eval/external/danish-squad-dev``): its
paragraphs are split into sentences, and each passage of a generated corpus is 4–8 sentences
drawn (seeded) from the whole set, so the text, vocabulary and passage length are real Danish
while the number of passages is whatever is asked for. Twenty passages make a document, each
under its own heading. The questions timed are Danish SQuAD questions.

Only the index is measured here: the model-free hashing encoder (``hashing:384``) stands in for
the embedding model, so the numbers are those of the lexical index, the FAISS index and the
search around them, not of encoding (the encoder's own cost is in ``http_latency.py``).

Each build and each search run is a separate process, and its peak resident memory (``ru_maxrss``)
is read when it ends. Results go to ``OUT/scale.md``, ``OUT/scale.json`` and a plot ``OUT/scale.png``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

from indexer.sentences import sentence_spans
from indexer.settings import export_settings, load_settings

ROOT = Path(__file__).resolve().parents[1]
SQUAD = ROOT.parent / "shared" / "eval" / "external" / "danish-squad-dev"
MODEL = "hashing:384"
PASSAGES_PER_DOCUMENT = 20


def sentences_of(squad: Path) -> list[str]:
    out = []
    with (squad / "corpus.jsonl").open(encoding="utf-8") as lines:
        for line in lines:
            text = json.loads(line)["text"]
            out += [text[s:e] for s, e in sentence_spans(text) if len(text[s:e].split()) >= 4]
    return out


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


SEARCH = """
import json, resource, sys, time
import numpy as np
from indexer.settings import load_settings
from retrieval.searcher import Searcher
questions = json.loads(sys.argv[1])
t = time.perf_counter()
searcher = Searcher.open(load_settings())
loaded = time.perf_counter() - t
rss_loaded = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
out = {"load_seconds": loaded, "rss_after_load_mb": rss_loaded}
times = {"lexical": [], "hybrid": []}
for number, q in enumerate(questions):  # interleaved, each first half the time: both meet the same caches
    for retriever in (("lexical", "hybrid") if number % 2 else ("hybrid", "lexical")):
        t = time.perf_counter()
        searcher.search(q, 10, retriever=retriever)
        times[retriever].append((time.perf_counter() - t) * 1000)
for retriever, values in times.items():
    out[retriever] = {p: float(np.percentile(values, int(p[1:]))) for p in ("p50", "p95", "p99")}
out["rss_peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(out))
"""


def folder_mb(folder: Path) -> float:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) / 1e6


def run_size(size: int, sentences: list[str], questions: list[str], work: Path, seed: int) -> dict:
    corpus, index = work / f"corpus-{size}", work / f"index-{size}"
    shutil.rmtree(corpus, ignore_errors=True)
    shutil.rmtree(index.parent / f".{index.name}.builds", ignore_errors=True)
    write_corpus(corpus, sentences, size, seed)
    # the children read their settings from the environment, as the service's workers do
    export_settings(load_settings().model_copy(update={
        "model": MODEL, "weight_dense": 0.25, "corpus_dir": corpus, "index_dir": index, "data_dir": work / "var",
        "embedding_cache": False}))
    seconds, rss, _ = measured([sys.executable, "-m", "indexer", "build", "--quiet"])
    _, _, output = measured([sys.executable, "-c", SEARCH, json.dumps(questions)])
    search = json.loads(output.strip().splitlines()[-1])
    manifest = json.loads((index.resolve() / "manifest.json").read_text(encoding="utf-8"))
    return {"passages": size, "indexed_passages": manifest["passages"],
            "build_seconds": round(seconds, 1), "build_peak_rss_mb": round(rss),
            "index_mb": round(folder_mb(index.resolve()), 1), **search}


def plot(results: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = [r["passages"] for r in results]
    fig, (speed, memory) = plt.subplots(1, 2, figsize=(10, 4))
    for retriever in ("lexical", "hybrid"):
        speed.plot(sizes, [r[retriever]["p50"] for r in results], marker="o", label=f"{retriever} p50")
        speed.plot(sizes, [r[retriever]["p95"] for r in results], marker="x", linestyle="--", label=f"{retriever} p95")
    speed.set(xscale="log", yscale="log", xlabel="passages", ylabel="ms per search (no encoding)",
              title="Search latency")
    speed.legend()
    memory.plot(sizes, [r["build_peak_rss_mb"] for r in results], marker="o", label="build peak RSS")
    memory.plot(sizes, [r["rss_after_load_mb"] for r in results], marker="o", label="searcher RSS after load")
    memory.plot(sizes, [r["index_mb"] for r in results], marker="o", label="index on disk")
    memory.set(xscale="log", yscale="log", xlabel="passages", ylabel="MB", title="Memory and disk")
    memory.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def markdown(results: list[dict], command: str) -> str:
    lines = [
        "# Scale: index size, memory and search latency against corpus size", "",
        f"`{command}` on {time.strftime('%Y-%m-%d')} ({os.cpu_count()} cores). Corpora of real Danish text "
        "recombined from Danish SQuAD sentences; the hashing encoder stands in for the model (see the "
        "script's docstring), so latency is the search without question encoding.", "",
        "| passages written | indexed | build s | build peak RSS MB | index MB | load s | searcher RSS MB | lexical p50 / p95 / p99 ms "
        "| hybrid p50 / p95 / p99 ms |",
        "|---:|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for r in results:
        lex, hyb = r["lexical"], r["hybrid"]
        lines.append(f"| {r['passages']:,} | {r['indexed_passages']:,} | {r['build_seconds']} | {r['build_peak_rss_mb']:,} | {r['index_mb']:,} | "
                     f"{r['load_seconds']:.1f} | {r['rss_after_load_mb']:,.0f} | {lex['p50']:.1f} / {lex['p95']:.1f} / "
                     f"{lex['p99']:.1f} | {hyb['p50']:.1f} / {hyb['p95']:.1f} / {hyb['p99']:.1f} |")
    lines += ["", "![latency and memory against corpus size](scale.png)", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="benchmarks/scale.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="2000,10000", help="comma-separated passage counts")
    parser.add_argument("--questions", type=int, default=200, help="Danish SQuAD questions timed per size")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--squad", type=Path, default=SQUAD)
    parser.add_argument("--work", type=Path, default=Path("/tmp/peerqa-scale"), help="corpora and indexes")
    parser.add_argument("--out", type=Path, help="folder for scale.md, scale.json and scale.png")
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
    results = []
    for size in sizes:
        print(f"{size:,} passages …", file=sys.stderr, flush=True)
        results.append(run_size(size, sentences, questions, args.work, args.seed))
        print(json.dumps(results[-1]), flush=True)
    command = "benchmarks/scale.py " + " ".join(argv if argv is not None else sys.argv[1:])
    text = markdown(results, command.strip())
    print(text)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "scale.md").write_text(text, encoding="utf-8")
        (args.out / "scale.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
        plot(results, args.out / "scale.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
