"""Reading the files users bring (PDF, Word, web pages, plain text, Markdown) into documents.

Each reader turns one file into an :class:`~indexer.sources.extracted.ExtractedDocument`: a
Markdown body with the file's structure (headings, lists, tables) and, for paged formats, where
each page starts in that body. ``indexer.inbox`` writes those into the corpus.
"""
