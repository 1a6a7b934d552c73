"""Query-time retrieval: a question in, ranked and cited passages out (``Searcher.search``).

    1. candidates   BM25 fields (+ definition bonus) and FAISS nearest neighbours  candidates.py
    2. fusion       one score per candidate: z-scores or reciprocal ranks          fusion.py
    3. rerank       the best N move by their best answering sentence               rerank.py
    4. distinct     the same text is shown once                                    distinct.py
    5. confidence   share of the question the first passage covers → abstain       confidence.py

The question is first turned into weighted terms (``query.py``: stems, spelling variants, joined
compounds, synonyms, n-grams); the sentence evidence of stages 3 and 5 is ``evidence.py``.
The index itself (built by ``indexer``) is only read here.
"""

from retrieval.results import Explanation, Hit, IndexHealth, SearchResult
from retrieval.searcher import Searcher, UnknownRetriever

__all__ = ["Searcher", "SearchResult", "Hit", "Explanation", "IndexHealth", "UnknownRetriever"]
