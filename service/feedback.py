"""Recording caseworkers' judgments against the index that answered (used by the API and the
no-JavaScript form of the pages alike)."""

from __future__ import annotations

from retrieval.searcher import Searcher
from service.feedback_store import FeedbackStore, Judgment


class UnknownPassage(ValueError):
    """The judged passage id is not in the current index; the message says what to do."""


def record_feedback(store: FeedbackStore, searcher: Searcher, question: str, passage_id: str,
                    helpful: bool) -> Judgment:
    """Store one judgment against the current index; UnknownPassage if the id is not in it."""
    if not searcher.has_passage(passage_id):
        raise UnknownPassage(f"no passage {passage_id!r} in the current index ({searcher.version}); "
                             "use a passage_id from a fresh search response")
    return store.add(question, passage_id, helpful, searcher.version)
