"""``python -m indexer build|status`` (questions: ``python -m retrieval search``)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from indexer.build import build_index, stale_reason
from indexer.changes import corpus_changes
from indexer.documents import CorpusError
from indexer.encoder import EncoderError, encoder_for
from indexer.ray_embedding import LOCAL, RayEncoder
from indexer.settings import Settings, settings_for_command, settings_markdown
from indexer.store import IndexNotFound, load_manifest


def _parser(settings: Settings) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m indexer", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    build = commands.add_parser("build", help="build the index from the corpus and switch to it atomically")
    build.add_argument("--corpus", type=Path, default=settings.corpus_dir, help="folder of .md documents")
    build.add_argument("--out", type=Path, default=settings.index_dir, help="index path (a link to the build)")
    build.add_argument("--model", default=settings.model, help="sentence-transformers id or local path")
    build.add_argument("--if-stale", action="store_true", help="only build when missing or out of date")
    build.add_argument("--quiet", action="store_true", help="no progress bars")
    build.add_argument("--ray", nargs="?", const=LOCAL, metavar="ADDRESS",
                       help="embed the passages on a Ray cluster (needs pip install '.[ray]'); without ADDRESS on a "
                            "Ray instance started on this machine for the build, else on the running cluster at "
                            "ADDRESS (host:port, ray://host:port, or 'auto' for the one `ray start` runs here)")

    status = commands.add_parser("status", help="show the manifest of the active index, whether it is current, and "
                                 "what a rebuild would change (files added, changed, removed; passages to embed)")
    status.add_argument("--index", type=Path, default=settings.index_dir)

    commands.add_parser("settings", help="list every PEERQA_ setting with its default and meaning (Markdown)")
    return parser


def main(argv: list[str] | None = None) -> int:
    settings = settings_for_command()
    args = _parser(settings).parse_args(argv)
    try:
        if args.command == "build":
            return _build(args, settings)
        if args.command == "settings":
            print(settings_markdown(), end="")
            return 0
        return _status(args, settings)
    except (CorpusError, EncoderError, IndexNotFound, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _build(args: argparse.Namespace, settings: Settings) -> int:
    settings = settings.model_copy(update={"model": args.model, "corpus_dir": args.corpus})
    if args.if_stale:
        reason = stale_reason(args.corpus, args.out, settings)
        if reason is None:
            print(f"index at {args.out} is up to date")
            return 0
        print(f"building: {reason}")
    if args.ray is None:
        manifest = build_index(args.corpus, args.out, settings, progress=not args.quiet)
    else:
        with RayEncoder(settings, args.ray) as encoder:
            manifest = build_index(args.corpus, args.out, settings, encoder, progress=not args.quiet)
    print(f"built {manifest['passages']} passages from {manifest['documents']} documents "
          f"in {manifest['build_seconds']} s → {args.out} ({manifest['build_id']})")
    return 0



def _status(args: argparse.Namespace, settings: Settings) -> int:
    try:
        manifest = load_manifest(args.index)
    except IndexNotFound as error:
        print(error, file=sys.stderr)
        return 1
    listed = {"files": "index files", "corpus_files": "corpus files"}  # long lists: shown as counts
    shown = {key: (f"{len(value)} {listed[key]}" if key in listed and isinstance(value, dict) else value)
             for key, value in manifest.items()}
    print(json.dumps(shown, indent=2, ensure_ascii=False))
    as_built = settings.model_copy(update={"model": manifest.get("model", settings.model)})
    try:
        reason = stale_reason(settings.corpus_dir, args.index, as_built)
    except CorpusError as exc:
        reason = f"cannot compare with the corpus ({exc})"
    print(f"up to date with {settings.corpus_dir} and the settings" if reason is None else f"stale: {reason}")
    try:
        encoder = encoder_for(as_built, building=True)
    except EncoderError:
        encoder = None  # the model is not here: the files can still be compared
    try:
        for line in corpus_changes(settings.corpus_dir, manifest, as_built, encoder).lines():
            print(line)
    except CorpusError as exc:
        print(f"cannot compare with the corpus ({exc})")
    return 0
