"""Stage 4, de-duplication: the same text twice (a paragraph repeated across documents) is
shown once, at its best rank."""

from __future__ import annotations

from typing import Iterator, Sequence

import numpy as np


def distinct_positions(order: np.ndarray, rows: np.ndarray, keys: Sequence[str], k: int) -> Iterator[int]:
    """The first ``k`` positions of ``order`` whose passage text (by ``keys[row]``) is new."""
    seen: set[str] = set()
    taken = 0
    for position in order:
        key = keys[int(rows[position])]
        if key in seen:
            continue
        seen.add(key)
        yield int(position)
        taken += 1
        if taken == k:
            return
