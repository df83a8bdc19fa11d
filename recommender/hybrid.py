"""A hybrid recommender: fuses the TF-IDF and embedding models' candidate lists (plus an optional
popularity prior), through the same Recommender protocol.

Why late fusion of candidate lists rather than of full score vectors: the protocol only exposes ranked
top-k lists, and each model's top ~100 already holds nearly all of its useful evidence. The hybrid asks
each model for ``candidates`` films, rescales each model's scores to [0, 1] within that list (a film
absent from a list gets 0 from that model, which is exactly the rescaled score of the list's last film),
and ranks the union by a weighted sum. ``fuse`` is a pure function shared by ``similar_batch``,
``search`` and the weight tuning in ``scripts/evaluate.py``, so the tuned system is the deployed one.

The popularity prior is one number per film added with its own weight: either the catalog's TMDB
vote count or how many MovieLens *train* users rated the film (the same counts the most-popular
baseline uses; never the held-out users behind the ground truth). Which prior, the weights and the
fusion are chosen offline on validation query films and stored in data/eval/results.json
(``hybrid_from_results``); nothing is tuned at run time.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from queries.catalog import Catalog
from recommender.base import Neighbours, Recommender

Fusion = Literal["score", "rrf"]
PopularitySource = Literal["none", "catalog_votes", "movielens_raters"]
RRF_K = 60  # the usual reciprocal-rank-fusion constant (Cormack et al. 2009)


@dataclass(frozen=True)
class HybridWeights:
    """How the two models and the popularity prior are mixed; see ``fuse``."""

    tfidf: float = 0.5
    embedding: float = 0.5
    popularity: float = 0.0
    fusion: Fusion = "score"  # "score": min-max rescaled scores; "rrf": reciprocal rank, rescaled so rank 1 = 1
    candidates: int = 100  # films asked from each model before fusing
    popularity_source: PopularitySource = "none"  # which prior vector ``popularity`` weighs
    # The prior's weight for free-text search. Not tuned (there is no search ground truth) and 0 by default:
    # the item-to-item prior is strong enough to turn "zombies" into Monsters, Inc.
    search_popularity: float = 0.0

    def __post_init__(self) -> None:
        if (self.popularity or self.search_popularity) and self.popularity_source == "none":
            raise ValueError("A popularity weight needs a popularity_source.")

    def as_dict(self) -> dict[str, float | str | int]:
        return asdict(self)


def load_hybrid_weights(path: Path) -> HybridWeights:
    """The weights ``scripts/evaluate.py`` chose on validation films (results.json → hybrid.weights)."""
    stored = json.loads(Path(path).read_text(encoding="utf-8"))["hybrid"]["weights"]
    return HybridWeights(**stored)


def log_scaled(counts: np.ndarray) -> np.ndarray:
    """log(1 + count) / its maximum, in [0, 1]: nudges towards well-known films without letting the
    biggest blockbusters swamp similarity."""
    values = np.log1p(np.maximum(np.asarray(counts, dtype=np.float64), 0.0))
    top = values.max() if len(values) else 0.0
    return values / top if top > 0 else values


def catalog_popularity(movies: pd.DataFrame) -> np.ndarray:
    """Prior "catalog_votes": log-scaled TMDB vote count, per catalog row (known from the catalog alone)."""
    return log_scaled(movies["vote_count"].to_numpy())


def raters_popularity(raters_by_tmdb_id: dict[str, int], row_by_id: dict[int, int], n_items: int) -> np.ndarray:
    """Prior "movielens_raters": log-scaled number of MovieLens *train* users who rated each film
    (stored in results.json by TMDB id; films nobody rated get 0)."""
    counts = np.zeros(n_items, dtype=np.float64)
    for tmdb_id, count in raters_by_tmdb_id.items():
        row = row_by_id.get(int(tmdb_id))
        if row is not None:
            counts[row] = count
    return log_scaled(counts)


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

    The app builds it with ``hybrid_from_results(models, catalog)``: the weights and the popularity
    prior chosen on validation films, read from data/eval/results.json.
    """

    name = "hybrid"
    label = "Híbrido (TF-IDF + embeddings + popularidad)"

    def __init__(
        self, tfidf: Recommender, embedding: Recommender, weights: HybridWeights | None = None,
        popularity: np.ndarray | None = None,
    ) -> None:
        self.tfidf = tfidf
        self.embedding = embedding
        self.weights = weights or HybridWeights()
        if (self.weights.popularity or self.weights.search_popularity) and popularity is None:
            raise ValueError(f"These hybrid weights use the {self.weights.popularity_source!r} popularity prior: pass popularity=.")
        self.popularity = None if popularity is None else np.asarray(popularity, dtype=np.float64)

    def _depth(self, k: int) -> int:
        return max(self.weights.candidates, k)

    def fuse_lists(
        self, tfidf_lists: tuple[np.ndarray, np.ndarray], embedding_lists: tuple[np.ndarray, np.ndarray], k: int,
        exclude: np.ndarray | None = None, popularity_weight: float | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Fuse already-fetched candidate lists with this hybrid's weights (item-to-item prior by default)."""
        return fuse(
            [tfidf_lists, embedding_lists], [self.weights.tfidf, self.weights.embedding], k,
            fusion=self.weights.fusion, popularity=self.popularity,
            popularity_weight=self.weights.popularity if popularity_weight is None else popularity_weight,
            exclude=exclude,
        )

    def similar_batch(self, rows: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        rows = np.asarray(rows, dtype=np.int64)
        depth = self._depth(k)
        return self.fuse_lists(
            self.tfidf.similar_batch(rows, depth), self.embedding.similar_batch(rows, depth), k, exclude=rows
        )

    def _fuse_one(self, found: list[Neighbours], k: int, depth: int, exclude: np.ndarray | None = None,
                  popularity_weight: float | None = None) -> Neighbours:
        """Fuse one query's candidate lists (from the models' single-query paths) into k neighbours."""
        lists = [(np.asarray(hits.rows, np.int64)[None, :], np.asarray(hits.scores)[None, :]) for hits in found]
        lists = [_pad(rows, scores, depth) for rows, scores in lists]
        ranked, scores = self.fuse_lists(lists[0], lists[1], k, exclude=exclude, popularity_weight=popularity_weight)
        valid = ranked[0] >= 0
        return Neighbours(rows=ranked[0][valid], scores=scores[0][valid])

    def similar(self, row: int, k: int) -> Neighbours:
        """One film: each model's single-query path (one thread, no batched-BLAS switch), then the fusion
        ``similar_batch`` uses, so both rank alike (checked by a test)."""
        depth = self._depth(k)
        found = [model.similar(row, depth) for model in (self.tfidf, self.embedding)]
        return self._fuse_one(found, k, depth, exclude=np.array([row], dtype=np.int64))

    def search(self, text: str, k: int) -> Neighbours:
        """Both models' search results fused with the same model weights and fusion; the popularity prior
        only with ``search_popularity`` (the tuned prior was validated for item-to-item only)."""
        depth = self._depth(k)
        found = [model.search(text, depth) for model in (self.tfidf, self.embedding)]
        return self._fuse_one(found, k, depth, popularity_weight=self.weights.search_popularity)


def _pad(rows: np.ndarray, scores: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Pad a (1, m) list to (1, width) with row -1, so an empty or short search result still fuses."""
    padded_rows = np.full((1, width), -1, dtype=np.int64)
    padded_scores = np.zeros((1, width), dtype=np.float64)
    m = min(rows.shape[1], width)
    padded_rows[0, :m] = rows[0, :m]
    padded_scores[0, :m] = scores[0, :m]
    return padded_rows, padded_scores


def hybrid_from_results(models: dict[str, Recommender], catalog: Catalog, results: dict | None = None) -> HybridRecommender:
    """The evaluated hybrid, ready to serve: ``models`` from ``load_recommenders()``, weights and prior
    from results.json (``recommender.comparison.load_results()`` when ``results`` is None)."""
    if results is None:
        from recommender.comparison import load_results

        results = load_results()
    stored = results["hybrid"]
    weights = HybridWeights(**stored["weights"])
    popularity = None
    if weights.popularity_source == "catalog_votes":
        popularity = catalog_popularity(catalog.movies)
    elif weights.popularity_source == "movielens_raters":
        popularity = raters_popularity(stored["movielens_raters_by_tmdb_id"], catalog.row_by_id, len(catalog))
    return HybridRecommender(models["tfidf"], models["embedding"], weights, popularity=popularity)
