"""A hybrid recommender: fuses the TF-IDF and embedding models' candidate lists (plus an optional
popularity prior), through the same Recommender protocol.

Why late fusion of candidate lists rather than of full score vectors: the protocol only exposes ranked
top-k lists, and each model's top ~100 already holds nearly all of its useful evidence. The hybrid asks
each model for ``candidates`` films, rescales each model's scores to [0, 1] within that list (a film
absent from a list gets 0 from that model, which is exactly the rescaled score of the list's last film),
and ranks the union by a weighted sum. ``fuse`` is a pure function shared by ``similar_batch``,
``search`` and the weight tuning in ``scripts/evaluate.py``, so the tuned system is the deployed one.

The weights are chosen offline on validation query films and stored in data/eval/results.json
(``load_hybrid_weights``); nothing is tuned at run time.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from recommender.base import Neighbours, Recommender

Fusion = Literal["score", "rrf"]
RRF_K = 60  # the usual reciprocal-rank-fusion constant (Cormack et al. 2009)


@dataclass(frozen=True)
class HybridWeights:
    """How the two models and the popularity prior are mixed; see ``fuse``."""

    tfidf: float = 0.5
    embedding: float = 0.5
    popularity: float = 0.0
    fusion: Fusion = "score"  # "score": min-max rescaled scores; "rrf": reciprocal rank, rescaled so rank 1 = 1
    candidates: int = 100  # films asked from each model before fusing

    def as_dict(self) -> dict[str, float | str | int]:
        return asdict(self)


def load_hybrid_weights(path: Path) -> HybridWeights:
    """The weights ``scripts/evaluate.py`` chose on validation films (results.json → hybrid.weights)."""
    stored = json.loads(Path(path).read_text(encoding="utf-8"))["hybrid"]["weights"]
    return HybridWeights(**stored)


def catalog_popularity(movies: pd.DataFrame) -> np.ndarray:
    """The popularity prior, per catalog row, in [0, 1]: log(1 + TMDB vote count) / its maximum.

    From the catalog (known at run time, no ratings needed), log-scaled so that it nudges towards
    well-known films without letting blockbusters swamp similarity.
    """
    votes = np.log1p(movies["vote_count"].to_numpy(dtype=np.float64))
    top = votes.max() if len(votes) else 0.0
    return (votes / top if top > 0 else votes).astype(np.float64)


def _evidence(rows: np.ndarray, scores: np.ndarray, fusion: Fusion) -> np.ndarray:
    """Per (query, candidate) evidence in [0, 1] from one model's ranked list."""
    valid = rows >= 0
    if fusion == "rrf":
        ranks = np.arange(1, rows.shape[1] + 1, dtype=np.float64)
        return np.broadcast_to((RRF_K + 1) / (RRF_K + ranks), rows.shape) * valid
    values = scores.astype(np.float64)
    low = np.where(valid, values, np.inf).min(axis=1, keepdims=True)
    high = np.where(valid, values, -np.inf).max(axis=1, keepdims=True)
    spread = high - low
    usable = np.isfinite(spread) & (spread > 0)
    scaled = np.where(usable, (values - np.where(usable, low, 0.0)) / np.where(usable, spread, 1.0), 1.0)
    return np.where(valid, scaled, 0.0)


def fuse(
    lists: list[tuple[np.ndarray, np.ndarray]],
    model_weights: list[float],
    k: int,
    fusion: Fusion = "score",
    popularity: np.ndarray | None = None,
    popularity_weight: float = 0.0,
    exclude: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Fuse several models' (rows, scores) lists, each (n_queries, n_candidates), into (n, k) lists.

    Fused score of a film = Σ_model weight × evidence + popularity_weight × popularity[film]; ties go to
    the lower row. ``exclude`` (n,) removes one row per query (the query film). Vectorised over queries:
    (query, film) pairs are keyed as query × n_films + film and summed with one bincount. Short unions
    are padded with row -1 and score -inf.
    """
    n_queries = lists[0][0].shape[0]
    keys, evidence = [], []
    for (rows, scores), weight in zip(lists, model_weights):
        rows = np.asarray(rows, dtype=np.int64)
        contribution = weight * _evidence(rows, np.asarray(scores), fusion)
        query_index = np.broadcast_to(np.arange(n_queries)[:, None], rows.shape)
        valid = rows >= 0
        if exclude is not None:
            valid &= rows != np.asarray(exclude, dtype=np.int64)[:, None]
        keys.append(np.stack([query_index[valid], rows[valid]], axis=1))
        evidence.append(contribution[valid])
    pairs = np.concatenate(keys) if keys else np.zeros((0, 2), np.int64)
    values = np.concatenate(evidence) if evidence else np.zeros(0)
    if len(pairs) == 0:
        return np.full((n_queries, k), -1, np.int64), np.full((n_queries, k), -np.inf, np.float32)
    width = int(pairs[:, 1].max()) + 1
    unique, inverse = np.unique(pairs[:, 0] * width + pairs[:, 1], return_inverse=True)
    fused = np.bincount(inverse, weights=values, minlength=len(unique))
    query_of, film_of = unique // width, unique % width
    if popularity is not None and popularity_weight:
        fused = fused + popularity_weight * np.asarray(popularity, dtype=np.float64)[film_of]
    order = np.lexsort((film_of, -fused, query_of))
    query_sorted = query_of[order]
    starts = np.searchsorted(query_sorted, np.arange(n_queries))
    rank = np.arange(len(order)) - starts[query_sorted]
    keep = rank < k
    out_rows = np.full((n_queries, k), -1, dtype=np.int64)
    out_scores = np.full((n_queries, k), -np.inf, dtype=np.float32)
    out_rows[query_sorted[keep], rank[keep]] = film_of[order][keep]
    out_scores[query_sorted[keep], rank[keep]] = fused[order][keep]
    return out_rows, out_scores


class HybridRecommender:
    """TF-IDF + embedding (+ popularity prior) fused as in ``fuse``; implements the Recommender protocol.

    Build it from ``recommender.artifacts.load_recommenders()`` and the stored weights::

        models = load_recommenders()
        hybrid = HybridRecommender(models["tfidf"], models["embedding"],
                                   load_hybrid_weights(RESULTS), popularity=catalog_popularity(catalog.movies))
    """

    name = "hybrid"
    label = "Híbrido (TF-IDF + embeddings)"

    def __init__(
        self, tfidf: Recommender, embedding: Recommender, weights: HybridWeights | None = None,
        popularity: np.ndarray | None = None,
    ) -> None:
        self.tfidf = tfidf
        self.embedding = embedding
        self.weights = weights or HybridWeights()
        if self.weights.popularity and popularity is None:
            raise ValueError("These hybrid weights use a popularity prior: pass popularity=catalog_popularity(movies).")
        self.popularity = None if popularity is None else np.asarray(popularity, dtype=np.float64)

    def _depth(self, k: int) -> int:
        return max(self.weights.candidates, k)

    def fuse_lists(
        self, tfidf_lists: tuple[np.ndarray, np.ndarray], embedding_lists: tuple[np.ndarray, np.ndarray], k: int,
        exclude: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Fuse already-fetched candidate lists with this hybrid's weights (used by the tuning too)."""
        return fuse(
            [tfidf_lists, embedding_lists], [self.weights.tfidf, self.weights.embedding], k,
            fusion=self.weights.fusion, popularity=self.popularity, popularity_weight=self.weights.popularity,
            exclude=exclude,
        )

    def similar_batch(self, rows: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        rows = np.asarray(rows, dtype=np.int64)
        depth = self._depth(k)
        return self.fuse_lists(
            self.tfidf.similar_batch(rows, depth), self.embedding.similar_batch(rows, depth), k, exclude=rows
        )

    def similar(self, row: int, k: int) -> Neighbours:
        ranked, scores = self.similar_batch(np.array([row], dtype=np.int64), k)
        valid = ranked[0] >= 0
        return Neighbours(rows=ranked[0][valid], scores=scores[0][valid])

    def search(self, text: str, k: int) -> Neighbours:
        depth = self._depth(k)
        found = [model.search(text, depth) for model in (self.tfidf, self.embedding)]
        lists = [(np.asarray(hits.rows, np.int64)[None, :], np.asarray(hits.scores)[None, :]) for hits in found]
        lists = [_pad(rows, scores, depth) for rows, scores in lists]
        ranked, scores = self.fuse_lists(lists[0], lists[1], k)
        valid = ranked[0] >= 0
        return Neighbours(rows=ranked[0][valid], scores=scores[0][valid])


def _pad(rows: np.ndarray, scores: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Pad a (1, m) list to (1, width) with row -1, so an empty or short search result still fuses."""
    padded_rows = np.full((1, width), -1, dtype=np.int64)
    padded_scores = np.zeros((1, width), dtype=np.float64)
    m = min(rows.shape[1], width)
    padded_rows[0, :m] = rows[0, :m]
    padded_scores[0, :m] = scores[0, :m]
    return padded_rows, padded_scores
