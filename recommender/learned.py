"""The two learned rankers behind the Recommender protocol: "Parecidas" and "A quien le gustó… también le gustó".

Both re-rank a candidate pool with a LightGBM LambdaRank model trained offline by
``scripts/train_rankers.py`` (the app only predicts):

1. pool: the union of the text models' top ``POOL_DEPTH`` (the original recipe, TF-IDF, embeddings),
   plus, for the fans ranker, the film's most co-liked films among the MovieLens training users;
2. features: ``recommender.features.pair_features`` for each candidate (the same function training used);
3. order: the booster's score, ties to the lower row.

Why a re-ranker and not one more similarity: which signal matters depends on the pair (a shared director
is decisive for some films and noise for others); a ranker trained on what people co-like learns that
mix instead of a fixed weight. ``contributions`` returns LightGBM's per-feature SHAP values for a
recommended film: the "why" shown next to each recommendation comes from the model itself.

The fans ranker needs behaviour: for a film nobody in the training users rated it has none, so it
answers with the content ranker (``fallback``) and says so (``uses_fallback``).
"""
from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from recommender.base import Neighbours, OnFirstUse, Recommender
from recommender.features import TEXT_MODELS, CoLiked, FilmFacts, candidate_pool, co_liked_prior, pair_features
from recommender.ranking import PAD_ROW, PAD_SCORE, pad, top_k

if TYPE_CHECKING:
    from lightgbm import Booster  # imported when a booster is loaded, not with this module

POOL_DEPTH = 100  # films asked from each source; the union is what the ranker can re-order


@dataclass(frozen=True)
class Signals:
    """Everything a ranker reads besides its booster: the text models, the catalog facts and (fans only) CF."""

    text_models: Mapping[str, Recommender]
    facts: FilmFacts
    co_liked: CoLiked | None = None
    pool_depth: int = POOL_DEPTH


def source_lists(row: int, signals: Signals) -> dict[str, np.ndarray]:
    """Each candidate source's ranked rows for one query film: the text models, then (fans) the co-liked films."""
    lists = {name: signals.text_models[name].similar(row, signals.pool_depth).rows for name in TEXT_MODELS}
    if signals.co_liked is not None:
        lists["co_liked"] = signals.co_liked.neighbours(row)[0][: signals.pool_depth]
    return lists


def source_lists_batch(rows: np.ndarray, signals: Signals) -> list[dict[str, np.ndarray]]:
    """``source_lists`` for many query films: each text model's ``similar_batch`` once for all of them (one
    matrix product per block instead of one per film: what makes precomputing 45k films' pools affordable)."""
    rows = np.asarray(rows, dtype=np.int64)
    ranked = {name: signals.text_models[name].similar_batch(rows, signals.pool_depth)[0] for name in TEXT_MODELS}
    lists = []
    for position, row in enumerate(rows.tolist()):
        entry = {name: found[position][found[position] >= 0] for name, found in ranked.items()}
        if signals.co_liked is not None:
            entry["co_liked"] = signals.co_liked.neighbours(row)[0][: signals.pool_depth]
        lists.append(entry)
    return lists


def query_features(row: int, signals: Signals, names: tuple[str, ...],
                   lists: dict[str, np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(candidate rows, feature matrix) for one query film: the pool of every source, then its features."""
    lists = lists if lists is not None else source_lists(row, signals)
    candidates = candidate_pool(row, lists)
    return candidates, pair_features(row, candidates, lists, signals.text_models, signals.facts, names, signals.co_liked)


def checked_booster(booster: Booster, feature_names: tuple[str, ...]) -> Booster:
    """``booster``, after checking it reads ``feature_names`` in that order (a ranker fed other columns is silently wrong)."""
    if tuple(booster.feature_name()) != tuple(feature_names):
        raise ValueError(f"The booster was trained on {booster.feature_name()}, not {list(feature_names)}.")
    return booster


@dataclass(frozen=True)
class Contribution:
    """One feature's push on one recommendation (SHAP value in the booster's score units)."""

    feature: str
    value: float


class LearnedRecommender:
    """A LightGBM LambdaRank booster over ``query_features``; implements the Recommender protocol."""

    def __init__(
        self, name: str, label: str, booster: Booster | OnFirstUse[Booster], feature_names: tuple[str, ...],
        signals: Signals | OnFirstUse[Signals], text_search: Recommender, fallback: Recommender | None = None,
        prior_weight: float = 0.0, rated: np.ndarray | None = None,
    ) -> None:
        """The booster and the signals may be ``OnFirstUse``: a serving app answers item-to-item from the
        precomputed lookups and never needs them (~55 MB at 45k films, and LightGBM's and scikit-learn's imports
        at start-up). It then passes ``rated`` (which films have co-liked films), so that ``uses_fallback``
        builds nothing, and checks the booster's features when it builds it (``checked_booster``)."""
        self.name = name
        self.label = label
        self.feature_names = tuple(feature_names)
        self._booster = booster if isinstance(booster, OnFirstUse) else checked_booster(booster, self.feature_names)
        self._signals = signals
        if isinstance(signals, Signals):
            rated = signals.co_liked.rated_films() if signals.co_liked is not None else None
        elif fallback is not None and rated is None:  # uses_fallback would silently answer "never"
            raise ValueError(f"{name}: a ranker with a fallback and signals built on first use needs ``rated``.")
        self.rated = rated  # None: this ranker reads no behaviour
        self.text_search = text_search
        self.fallback = fallback
        self.prior_weight = float(prior_weight)  # > 0: start from item-kNN's order (``co_liked_prior``)
        # The last queries' source lists: the "why" of a recommendation asks for the same pool right after.
        self._lists = functools.lru_cache(maxsize=64)(lambda row: source_lists(row, self.signals))

    @property
    def booster(self) -> Booster:
        return OnFirstUse.value(self._booster)

    @property
    def signals(self) -> Signals:
        return OnFirstUse.value(self._signals)

    @property
    def signals_built(self) -> bool:
        return not isinstance(self._signals, OnFirstUse) or self._signals.built

    def uses_fallback(self, row: int) -> bool:
        """True when this ranker needs behaviour and the film has none (nobody in training rated it)."""
        return self.fallback is not None and self.rated is not None and not bool(self.rated[row])

    def _prior(self, features: np.ndarray) -> np.ndarray:
        if not self.prior_weight:
            return np.zeros(len(features))
        return self.prior_weight * co_liked_prior(features, self.feature_names)

    def _predict(self, features: np.ndarray) -> np.ndarray:
        """The booster's score plus the prior it was trained on top of (LightGBM's ``init_score``)."""
        return np.asarray(self.booster.predict(features, num_threads=1), dtype=np.float64) + self._prior(features)

    def similar(self, row: int, k: int) -> Neighbours:
        if self.uses_fallback(row):
            return self.fallback.similar(row, k)
        candidates, features = query_features(row, self.signals, self.feature_names, self._lists(row))
        if not len(candidates):
            return Neighbours(np.zeros(0, np.int64), np.zeros(0, np.float32))
        rows, scores = top_k(candidates, self._predict(features), k)
        return Neighbours(rows, scores)

    def similar_batch(self, rows: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """``similar`` for many rows, padded; the pools' source lists are found for all rows at once."""
        out_rows, out_scores, _ = self.similar_batch_explained(rows, k, top=0)
        return out_rows, out_scores

    def similar_batch_explained(
        self, rows: np.ndarray, k: int, top: int,
        fallback_answers: tuple[np.ndarray, np.ndarray, list[list[list[Contribution]]]] | None = None,
    ) -> tuple[np.ndarray, np.ndarray, list[list[list[Contribution]]]]:
        """``similar_batch`` plus, per row, ``contributions`` of its films (``top`` per film; none when
        ``top`` is 0), from one feature matrix per film: the offline precompute's pass. Equal to calling
        ``similar`` then ``contributions`` (the pool of a film's own recommendations is its candidate pool).
        ``fallback_answers``: the fallback's own answer for these ``rows`` (same ``k`` and ``top``), when the
        caller has it already (the precompute ranks with the content ranker first), so it is not computed twice."""
        rows = np.asarray(rows, dtype=np.int64)
        out_rows = np.full((len(rows), k), PAD_ROW, dtype=np.int64)
        out_scores = np.full((len(rows), k), PAD_SCORE, dtype=np.float32)
        explained: list[list[list[Contribution]]] = [[] for _ in rows]
        fallback = np.array([self.uses_fallback(row) for row in rows.tolist()], dtype=bool)
        if fallback.any():
            if fallback_answers is not None:
                found, scores = fallback_answers[0][fallback], fallback_answers[1][fallback]
                why = [fallback_answers[2][position] for position in np.flatnonzero(fallback).tolist()]
            elif isinstance(self.fallback, LearnedRecommender):
                found, scores, why = self.fallback.similar_batch_explained(rows[fallback], k, top)
            else:
                found, scores = self.fallback.similar_batch(rows[fallback], k)
                why = [[[] for _ in range(int((line >= 0).sum()))] for line in found]
            out_rows[fallback], out_scores[fallback] = found, scores
            for position, answer in zip(np.flatnonzero(fallback).tolist(), why):
                explained[position] = answer
        own = np.flatnonzero(~fallback)
        for position, lists in zip(own.tolist(), source_lists_batch(rows[own], self.signals)):
            row = int(rows[position])
            candidates, features = query_features(row, self.signals, self.feature_names, lists)
            if not len(candidates):
                continue
            chosen, scores = top_k(candidates, self._predict(features), k)
            out_rows[position], out_scores[position] = pad(chosen, scores, k)
            if top:
                explained[position] = self._explain(features[np.searchsorted(candidates, chosen)], top)
        return out_rows, out_scores, explained

    def contributions(self, row: int, others: np.ndarray, top: int = 3) -> list[list[Contribution]]:
        """For each recommended film, the ``top`` features that pushed it up most (positive SHAP values,
        largest first). Empty lists when the fallback answered (its own contributions are then used)."""
        if self.uses_fallback(row):
            return self.fallback.contributions(row, others, top) if isinstance(self.fallback, LearnedRecommender) else [[] for _ in others]
        others = np.asarray(others, dtype=np.int64)
        if not len(others):
            return []
        # The features of the whole pool, as ``similar`` computed them: relative scores are relative to the pool.
        lists = self._lists(row)
        pool = np.union1d(candidate_pool(row, lists), others)
        features = pair_features(
            row, pool, lists, self.signals.text_models, self.signals.facts, self.feature_names, self.signals.co_liked
        )[np.searchsorted(pool, others)]
        return self._explain(features, top)

    def _explain(self, features: np.ndarray, top: int) -> list[list[Contribution]]:
        """Each feature row's ``top`` positive SHAP contributions (plus the prior, as a feature), largest first."""
        shap = np.asarray(self.booster.predict(features, pred_contrib=True, num_threads=1))[:, :-1]  # last column: bias
        names = self.feature_names
        if self.prior_weight:  # the prior is one more additive term of the score: show it like a feature
            shap, names = np.column_stack([shap, self._prior(features)]), (*names, "co_liked_prior")
        explained = []
        for values in shap:
            order = [index for index in np.argsort(-values, kind="stable")[:top] if round(float(values[index]), 3) > 0]
            explained.append([Contribution(names[index], round(float(values[index]), 3)) for index in order])
        return explained

    def search(self, text: str, k: int) -> Neighbours:
        """Free text has no query film to compare pairs with: the text search model answers."""
        return self.text_search.search(text, k)
