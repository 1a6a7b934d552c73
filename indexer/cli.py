"""``python -m indexer build|add|import|watch|status|settings`` (questions: ``python -m retrieval search``)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from indexer.build import build_index, stale_reason
from indexer.changes import corpus_changes
from indexer.documents import CorpusError
from indexer.encoder import EncoderError, encoder_for
from indexer.inbox import ImportReport, add_files, import_inbox, import_lock, inbox_files, load_records
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

    add = commands.add_parser("add", help="copy files (or folders of them) into the inbox, import them and rebuild "
                              "the index: .pdf, .docx, .html, .htm, .txt, .md")
    add.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    for command in (add, commands.add_parser("import", help="import what changed in the inbox (new, changed and "
                                                              "removed files) and rebuild the index if anything did")):
        command.add_argument("--out", type=Path, default=settings.index_dir, help="index path (a link to the build)")
        command.add_argument("--no-build", action="store_true", help="import only; build later")
        command.add_argument("--quiet", action="store_true", help="no progress bars")
    watch = commands.add_parser("watch", help="keep watching the inbox: import and rebuild whenever a file is "
                                "added, changed or removed (Ctrl-C stops)")
    watch.add_argument("--out", type=Path, default=settings.index_dir, help="index path (a link to the build)")
    watch.add_argument("--interval", type=float, default=settings.watch_interval, help="seconds between looks")
    watch.add_argument("--quiet", action="store_true", help="no progress bars")

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
        if args.command == "add":
            names = add_files(args.paths, settings)
            print(f"copied into {settings.inbox}: {', '.join(names) or 'nothing (no supported files)'}")
            return _import(args, settings)
        if args.command == "import":
            return _import(args, settings)
        if args.command == "watch":
            return _watch(args, settings)
        return _status(args, settings)
    except (CorpusError, EncoderError, IndexNotFound, ValueError, FileNotFoundError) as exc:
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



def _import(args: argparse.Namespace, settings: Settings) -> int:
    """Import the inbox, print what happened to each file, and rebuild when the corpus changed
    (or the index is missing or stale). The build happens under the import lock, so a watcher
    and a command never build at the same time."""
    with import_lock(settings):
        report = import_inbox(settings, progress=not args.quiet, locked=True)
        for line in report.lines():
            print(line)
        if args.no_build:
            return 0
        return _rebuild(args.out, settings, report, quiet=args.quiet)


def _rebuild(out: Path, settings: Settings, report: ImportReport, quiet: bool) -> int:
    reason = "the imported documents changed" if report.changed else stale_reason(settings.corpus_dir, out, settings)
    if reason is None:
        print(f"index at {out} is up to date")
        return 0
    print(f"building: {reason}")
    manifest = build_index(settings.corpus_dir, out, settings, progress=not quiet)
    print(f"built {manifest['passages']} passages from {manifest['documents']} documents "
          f"in {manifest['build_seconds']} s → {out} ({manifest['build_id']})")
    return 0


def _inbox_state(settings: Settings) -> list[tuple[str, int, int]]:
    """Each inbox file's name, size and modification time: what a watcher compares."""
    inbox = settings.inbox
    state = []
    for path in inbox_files(inbox):
        try:
            stat = path.stat()
        except OSError:  # removed while looking
            continue
        state.append((path.relative_to(inbox).as_posix(), stat.st_size, stat.st_mtime_ns))
    return state


def _watch(args: argparse.Namespace, settings: Settings) -> int:
    """Import and rebuild each time the inbox has changed and then stayed the same for one
    interval (a file still being copied is not read half-written). Only a change the import
    made leads to a build: an index built from elsewhere is not replaced by this loop."""
    settings.inbox.mkdir(parents=True, exist_ok=True)
    print(f"watching {settings.inbox} every {args.interval:g} s (Ctrl-C stops)", flush=True)
    handled: list[tuple[str, int, int]] | None = None
    previous = _inbox_state(settings)
    try:
        while True:
            current = _inbox_state(settings)
            if current == previous and current != handled:
                try:
                    with import_lock(settings):
                        report = import_inbox(settings, progress=False, locked=True)
                        if report.read or report.removed:
                            print("\n".join(report.lines()), flush=True)
                        if report.changed:  # only what the inbox changed: the index is not this loop's otherwise
                            _rebuild(args.out, settings, report, quiet=True)
                except Exception as exc:  # the watcher outlives any one failed import or build
                    print(f"error: {type(exc).__name__}: {exc} (the served index is unchanged; fix the file and it "
                          "is tried again)", file=sys.stderr, flush=True)
                handled = current
            previous = current
            time.sleep(args.interval)
    except KeyboardInterrupt:
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
    _import_status(settings)
    return 0


def _import_status(settings: Settings) -> None:
    """The inbox: what each file became at the last import, and files not imported yet."""
    records = load_records(settings)
    inbox = settings.inbox
    waiting = [p.relative_to(inbox).as_posix() for p in inbox_files(inbox)
               if p.relative_to(inbox).as_posix() not in records]
    if not records and not waiting:
        return
    imported = [r for r in records.values() if r.imported]
    skipped = [r for r in records.values() if not r.imported]
    print(f"inbox {inbox}: {len(imported)} file(s) imported, {len(skipped)} skipped at the last import")
    for record in imported + skipped:
        print(record.line())
    if waiting:
        print(f"not imported yet (run `python -m indexer import`): {', '.join(waiting)}")
