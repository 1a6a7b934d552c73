"""How long the files users bring take: reading each one, then importing them into a copy of the
corpus and building the index (with the configured model, the embedding cache of a fresh data
folder, so every new passage is embedded).

    python benchmarks/import_speed.py FILE [FILE ...] [--corpus corpus]

Prints one line per file (format, pages, characters, seconds to read) and the import and build
times. Nothing outside a temporary folder is written."""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from indexer.build import build_index
from indexer.inbox import import_inbox
from indexer.settings import load_settings
from indexer.sources.extracted import ExtractionError
from indexer.sources.readers import read_source, source_format


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--corpus", type=Path, default=Path("corpus"), help="the corpus the files join")
    args = parser.parse_args(argv)
    settings = load_settings()
    print("| file | format | pages | characters | read (s) |\n|---|---|---|---|---|")
    for path in args.files:
        started = time.perf_counter()
        try:
            document = read_source(path, settings)
        except ExtractionError as exc:
            print(f"| {path.name} | {source_format(path)} | skipped: {exc.kind} ({exc.reason}) | | |")
            continue
        seconds = time.perf_counter() - started
        print(f"| {path.name} | {source_format(path)} | {len(document.page_starts) or '–'} | "
              f"{len(document.body):,} | {seconds:.2f} |")
    with tempfile.TemporaryDirectory() as scratch:
        corpus = Path(scratch) / "corpus"
        shutil.copytree(args.corpus, corpus, ignore=shutil.ignore_patterns("inbox", "imported"))
        trial = settings.model_copy(update={"corpus_dir": corpus, "inbox_dir": None,
                                            "index_dir": Path(scratch) / "index", "data_dir": Path(scratch)})
        trial.inbox.mkdir()
        for path in args.files:
            shutil.copy2(path, trial.inbox / path.name)
        started = time.perf_counter()
        report = import_inbox(trial)
        imported = time.perf_counter() - started
        started = time.perf_counter()
        manifest = build_index(corpus, trial.index_dir, trial, progress=False)
        built = time.perf_counter() - started
        print(f"\nimport: {imported:.2f} s ({len([r for r in report.read if r.imported])} imported, "
              f"{len(report.skipped)} skipped); build with {manifest['model']}: {built:.1f} s for "
              f"{manifest['passages']} passages ({manifest['embedded_passages']} embedded)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
