"""The one interface every recommender implements, so the app, the API and the evaluation treat them alike.

Films are addressed by catalog row (0..n-1 in data/movies.parquet order), never by title: title
resolution belongs to ``queries.titles.resolve_title``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np


@dataclass(frozen=True)
class Neighbours:
    """Ranked catalog rows, best first, with the model's similarity for each (higher is closer)."""

    rows: np.ndarray  # int64, shape (k,)
    scores: np.ndarray  # float32, shape (k,)

    def __len__(self) -> int:
        return len(self.rows)


@runtime_checkable
class Recommender(Protocol):
    name: str  # stable id used by the API and the evaluation: "seed_tfidf", "tfidf", "embedding", "multilingual", "parecidas", "fans"
    label: str  # for people: "TF-IDF (baseline)"

    def similar(self, row: int, k: int) -> Neighbours:
        """The k films most similar to catalog row ``row``, never including ``row`` itself."""
        ...

    def similar_batch(self, rows: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """``similar`` for many rows at once: (rows, scores) arrays of shape (len(rows), k)."""
        ...

    def search(self, text: str, k: int) -> Neighbours:
        """The k films that best match free text ("a lonely astronaut stranded on Mars")."""
        ...
