"""The evaluation protocol shared by the offline scripts: who trains, who tunes, who tests.

``scripts/train_rankers.py`` (fits the rankers, tunes on validation) and ``scripts/evaluate.py`` (scores
test once) must cut the MovieLens users and the query films identically, so both build their split here.

Three user groups, never mixed:

* **training users**: item-to-item CF, popularity and the rankers' training labels. For ranker training
  they are cut again in folds: one fold's co-likes give the labels while the other folds' ratings give the
  behaviour features, in turn, so a feature is never computed from the
  very co-likes it is asked to predict;
* **validation users**: the co-liked ground truth of the *validation* query films (field weights, early
  stopping, every choice);
* **test users**: the co-liked ground truth of the *test* query films, scored once by evaluate.py.

Validation and test films are disjoint too, and no validation or test film is ever a training query.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from queries.catalog import Catalog
from recommender import evaluation as ev


@dataclass(frozen=True)
class Protocol:
    """Every knob of the evaluation, fixed before looking at any model's test numbers."""

    user_fractions: tuple[float, float, float] = (0.5, 0.25, 0.25)  # training, validation, test users
    like_threshold: float = ev.LIKE_THRESHOLD
    min_fans: int = 8  # label users who liked the query film (each label group has a quarter of the users)
    min_support: int = 2  # label users who liked both films, for a partner to count at all
    relevant_per_query: int = 20  # the top co-liked partners by Jaccard are the relevant set
    min_relevant: int = 10
    validation_fraction: float = 0.4  # of the query films
    k: int = ev.K
    depth: int = ev.DEPTH
    split_seed: int = 20240611
    query_seed: int = 20240612
    random_seed: int = 20240613
    bootstrap_seed: int = 20240614
    bootstrap_resamples: int = 1000
    two_way_resamples: int = 200
    level: float = 0.95
    training_folds_seed: int = 20240615
    training_folds: int = 4
    # Ranker training labels: looser than the evaluation's, since more (noisier) training queries help a
    # ranker more than fewer clean ones; each fold's label half holds only a quarter of all users.
    train_min_fans: int = 4
    train_min_support: int = 2
    train_min_relevant: int = 3
    cold_fraction: float = 1 / 3  # of the test films: their ratings are hidden from training in the cold-start view
    cold_seed: int = 20240616

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Setup:
    """The ratings cut by the protocol, ready for training and evaluation."""

    ratings: pd.DataFrame
    report: ev.RatingsReport
    train: pd.DataFrame  # training users' ratings
    validation_ratings: pd.DataFrame
    test_ratings: pd.DataFrame
    validation: ev.GroundTruth  # validation films, labelled by validation users
    test: ev.GroundTruth  # test films, labelled by test users
    folds: tuple[tuple[pd.DataFrame, pd.DataFrame], ...]  # (feature users, label users) of the training users

    @property
    def evaluation_films(self) -> np.ndarray:
        """Every validation and test query film: never a training query."""
        return np.union1d(self.validation.queries, self.test.queries)


def training_folds(train: pd.DataFrame, seed: int, folds: int) -> tuple[tuple[pd.DataFrame, pd.DataFrame], ...]:
    """The training users cut in ``folds`` parts: each part once gives the labels while the others give the
    behaviour features (so features are nearly as strong as when all training users serve them)."""
    users = np.array(sorted(train["user"].unique()))
    np.random.default_rng(seed).shuffle(users)
    parts = np.array_split(users, folds)
    cut = []
    for part in parts:
        labels = train["user"].isin(set(part.tolist())).to_numpy()
        cut.append((train[~labels].reset_index(drop=True), train[labels].reset_index(drop=True)))
    return tuple(cut)


def prepare(catalog: Catalog, protocol: Protocol) -> Setup:
    """Ratings → three user groups → validation and test ground truth on disjoint films."""
    ratings, report = ev.load_ratings(catalog.row_by_id)
    groups = ev.split_users_three(ratings, protocol.user_fractions, protocol.split_seed)
    validation, test = ev.ground_truths(
        groups, len(catalog), like_threshold=protocol.like_threshold, min_fans=protocol.min_fans,
        min_support=protocol.min_support, relevant_per_query=protocol.relevant_per_query,
        min_relevant=protocol.min_relevant, validation_fraction=protocol.validation_fraction, query_seed=protocol.query_seed,
    )
    return Setup(
        ratings=ratings, report=report, train=groups.train, validation_ratings=groups.validation,
        test_ratings=groups.test, validation=validation, test=test,
        folds=training_folds(groups.train, protocol.training_folds_seed, protocol.training_folds),
    )
