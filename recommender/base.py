"""The one interface every recommender implements, so the app, the API and the evaluation treat them alike.

Films are addressed by catalog row (0..n-1 in data/movies.parquet order), never by title: title
resolution belongs to ``queries.titles.resolve_title``.
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar, runtime_checkable

import numpy as np

T = TypeVar("T")


class OnFirstUse(Generic[T]):
    """A part of a model built by the first call that needs it (once, thread-safe), then shared: the serving app
    answers item-to-item from the lookups, so the parts only live models read (and the libraries they import)
    cost neither start-up time nor memory until something asks for them."""

    def __init__(self, build: Callable[[], T]) -> None:
        self._build: Callable[[], T] | None = build
        self._value: T | None = None
        self._lock = threading.Lock()

    @property
    def built(self) -> bool:
        return self._build is None

    def get(self) -> T:
        if self._build is not None:
            with self._lock:
                if self._build is not None:
                    self._value, self._build = self._build(), None
        return self._value  # type: ignore[return-value]

    @staticmethod
    def value(part: T | OnFirstUse[T]) -> T:
        """``part`` itself, or what it builds."""
        return part.get() if isinstance(part, OnFirstUse) else part


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
