"""Reference systems for the evaluation, behind the same Recommender protocol as the content models.

- ``RandomRecommender``: the floor; any model must beat it.
- ``PopularityRecommender``: the same list for every film (most-rated by train users); it shows how much
  of a metric is "just recommend blockbusters".
- ``ItemKNNRecommender``: item-kNN collaborative filtering on the train users' likes; it reads the very
  behaviour the ground truth measures (on other people), so it is the ceiling a content model can hope
  to approach, not a competitor for the app (it cannot recommend films nobody rated, nor search text).
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from recommender.base import Neighbours


def _top_excluding(order: np.ndarray, row: int, k: int) -> np.ndarray:
    """The first k of ``order`` without ``row``."""
    head = order[: k + 1]
    return head[head != row][:k]


class RandomRecommender:
    """k films uniformly at random (never the query), reproducible per (seed, query row)."""

    name = "random"
    label = "Aleatorio / Random"

    def __init__(self, n_items: int, seed: int) -> None:
        self.n_items = n_items
        self.seed = seed

    def _draw(self, row: int, k: int) -> np.ndarray:
        # Seeded by the query row too, so a film's list does not depend on which batch it came in.
        picks = np.random.default_rng([self.seed, row]).choice(self.n_items - 1, size=min(k, self.n_items - 1), replace=False)
        return np.where(picks >= row, picks + 1, picks).astype(np.int64)  # skip the query itself

    def similar(self, row: int, k: int) -> Neighbours:
        rows = self._draw(row, k)
        return Neighbours(rows=rows, scores=np.zeros(len(rows), dtype=np.float32))

    def similar_batch(self, rows: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        ranked = np.stack([self._draw(int(row), k) for row in rows]) if len(rows) else np.zeros((0, k), np.int64)
        return ranked, np.zeros(ranked.shape, dtype=np.float32)

    def search(self, text: str, k: int) -> Neighbours:
        rows = np.random.default_rng([self.seed, len(text)]).choice(self.n_items, size=min(k, self.n_items), replace=False)
        return Neighbours(rows=rows, scores=np.zeros(len(rows), dtype=np.float32))


class PopularityRecommender:
    """The most popular films (by ``counts``, ties by lower row), the query itself skipped."""

    name = "popular"
    label = "Más populares / Most popular"

    def __init__(self, counts: np.ndarray) -> None:
        self.counts = np.asarray(counts)
        self.order = np.lexsort((np.arange(len(self.counts)), -self.counts)).astype(np.int64)

    def similar(self, row: int, k: int) -> Neighbours:
        rows = _top_excluding(self.order, row, k)
        return Neighbours(rows=rows, scores=self.counts[rows].astype(np.float32))

    def similar_batch(self, rows: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        ranked = np.stack([_top_excluding(self.order, int(row), k) for row in rows]) if len(rows) else np.zeros((0, k), np.int64)
        return ranked, self.counts[ranked].astype(np.float32)

    def search(self, text: str, k: int) -> Neighbours:
        rows = self.order[:k]
        return Neighbours(rows=rows, scores=self.counts[rows].astype(np.float32))


class ItemKNNRecommender:
    """Item-kNN CF: cosine between catalog films' columns of the train users × films like matrix.

    Films with no shared likers score 0 and fall back to popularity order, so every list is full and
    comparable at the same depth as the content models.
    """

    name = "item_knn"
    label = "Item-kNN CF (referencia / ceiling)"

    def __init__(self, likes: sp.csr_matrix, popularity: np.ndarray) -> None:
        columns = sp.csc_matrix(likes, dtype=np.float32)
        norms = np.sqrt(np.asarray(columns.multiply(columns).sum(axis=0)).ravel())
        self.items = sp.csr_matrix(columns @ sp.diags(1.0 / np.maximum(norms, 1e-12)).astype(np.float32)).T.tocsr()
        self.popularity = np.asarray(popularity, dtype=np.float64)

    def similar_batch(self, rows: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        rows = np.asarray(rows, dtype=np.int64)
        scores = (self.items[rows] @ self.items.T).toarray().astype(np.float64)
        scores[np.arange(len(rows)), rows] = -np.inf
        n_items = scores.shape[1]
        # Sort by score, then popularity, then lower row: deterministic, no float-noise ties.
        keys = (np.broadcast_to(np.arange(n_items), scores.shape), np.broadcast_to(-self.popularity, scores.shape), -scores)
        ranked = np.lexsort(keys, axis=-1)[:, :k].astype(np.int64)
        return ranked, np.take_along_axis(scores, ranked, axis=1).astype(np.float32)

    def similar(self, row: int, k: int) -> Neighbours:
        ranked, scores = self.similar_batch(np.array([row]), k)
        return Neighbours(rows=ranked[0], scores=scores[0])

    def search(self, text: str, k: int) -> Neighbours:
        raise NotImplementedError("Collaborative filtering has no text to search: it only knows who liked what.")
