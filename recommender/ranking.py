"""Top-k selection shared by the models, so every model breaks ties and pads the same way.

Ties go to the lower catalog row (what a stable ``sorted(..., reverse=True)`` over ``enumerate``
did in the original project), which also makes every ranking deterministic.
"""
from __future__ import annotations

import numpy as np

PAD_ROW = -1  # similar_batch pads short lists with this row ...
PAD_SCORE = -np.inf  # ... and this score (the evaluation cleans both away)


def top_k(candidates: np.ndarray, scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The k best (rows, scores), best first; argpartition first, so the cost is O(n + k log k)."""
    if len(scores) > k:
        # Keep every candidate tied with the k-th score so the tie-break below sees all of them.
        kth = np.partition(scores, len(scores) - k)[len(scores) - k]
        keep = scores >= kth
        candidates, scores = candidates[keep], scores[keep]
    order = np.lexsort((candidates, -scores))[:k]
    return candidates[order].astype(np.int64, copy=False), scores[order].astype(np.float32, copy=False)


def pad(rows: np.ndarray, scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """A list shorter than k, padded with PAD_ROW / PAD_SCORE to exactly k entries."""
    padded_rows = np.full(k, PAD_ROW, dtype=np.int64)
    padded_scores = np.full(k, PAD_SCORE, dtype=np.float32)
    padded_rows[: len(rows)] = rows[:k]
    padded_scores[: len(scores)] = scores[:k]
    return padded_rows, padded_scores
