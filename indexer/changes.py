"""What a rebuild would change: the corpus files added, changed and removed since the active
build, and how many passages would need embedding (the others are in the embedding cache).

A build always indexes the whole corpus into a new folder, so a removed file's passages are
gone from it; what makes a rebuild with a few changed files quick is that only their new or
changed passages are embedded (passages are keyed by model and text hash in the cache)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from indexer.build import embedding_cache
from indexer.documents import file_digests, load_corpus
from indexer.encoder import Encoder
from indexer.passages import split_passages
from indexer.settings import Settings


@dataclass(frozen=True)
class CorpusChanges:
    added: list[str]
    changed: list[str]
    removed: list[str]
    passages: int  # passages the corpus splits into now
    to_embed: int | None  # of those, not in the embedding cache (None: no cache to ask)

    @property
    def files_changed(self) -> bool:
        return bool(self.added or self.changed or self.removed)

    def lines(self) -> list[str]:
        out = [f"{label}: {', '.join(names)}" for label, names in
               (("added", self.added), ("changed", self.changed), ("removed", self.removed)) if names]
        if not out:
            out.append("no corpus file added, changed or removed since the active build")
        embed = ("" if self.to_embed is None
                 else f"; {self.to_embed:,} to embed, {self.passages - self.to_embed:,} from the embedding cache")
        out.append(f"a rebuild would index {self.passages:,} passages{embed}")
        return out


def corpus_changes(corpus_dir: Path, manifest: dict, settings: Settings, encoder: Encoder | None) -> CorpusChanges:
    """Compare the corpus with the files the build in ``manifest`` recorded; with an ``encoder``
    (its name, prefix and dimension, nothing is embedded), count the passages the cache lacks."""
    recorded: dict[str, str] = manifest.get("corpus_files") or {}
    current = file_digests(corpus_dir)
    added = sorted(set(current) - set(recorded))
    removed = sorted(set(recorded) - set(current))
    changed = sorted(name for name in set(current) & set(recorded) if current[name] != recorded[name])
    passages = [p.text for doc in load_corpus(corpus_dir)
                for p in split_passages(doc, settings.passage_min_words, settings.passage_max_words)]
    cache = embedding_cache(settings, encoder) if encoder is not None else None
    to_embed = len(passages) - len(cache.lookup(passages)) if cache is not None else None
    return CorpusChanges(added, changed, removed, len(passages), to_embed)
