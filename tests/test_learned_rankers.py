"""The learned rankers: pair features on real films, the co-liked lists, the trained artifacts and their checks,
the "why" (per-feature contributions) and the fans ranker's fallback to content."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import scipy.sparse as sp

from queries.errors import ArtifactError
from recommender import features as ft
from recommender import ranker_artifacts as ra
from scripts import train_rankers


def row_of(catalog, title: str, year: int | None = None) -> int:
    movies = catalog.movies
    hits = movies.index[(movies["title"] == title) & ((movies["release_year"] == year) if year else True)]
    assert len(hits) == 1, title
    return int(hits[0])


@pytest.fixture(scope="module")
def facts(catalog):
    return ft.FilmFacts.from_catalog(catalog)


# ------------------------------------------------------------------ features


def test_pair_features_on_real_films(catalog, facts):
    dark_knight = row_of(catalog, "The Dark Knight")
    rises, toy_story = row_of(catalog, "The Dark Knight Rises"), row_of(catalog, "Toy Story")
    candidates = np.array([rises, toy_story])

    class Flat:  # pair_scores stand-in: the features' own columns are what this test checks
        def pair_scores(self, row, rows):
            return np.array([0.5, 0.25])

    text = {name: Flat() for name in ft.TEXT_MODELS}
    lists = {name: np.array([rises]) for name in ft.TEXT_MODELS}
    values = ft.pair_features(dark_knight, candidates, lists, text, facts, ft.CONTENT_FEATURES)
    row = dict(zip(ft.CONTENT_FEATURES, values[0]))
    other = dict(zip(ft.CONTENT_FEATURES, values[1]))
    assert row["shared_directors"] == 1  # Christopher Nolan
    assert row["shared_lead_cast"] >= 2  # Christian Bale, Michael Caine, Gary Oldman…
    assert row["year_gap"] == 4 and row["tfidf_rank"] == 1 and other["tfidf_rank"] == ft.MISSING_RANK
    assert row["tfidf_relative"] == 1.0 and other["tfidf_relative"] == 0.5
    assert other["shared_directors"] == 0 and other["shared_lead_cast"] == 0 and other["genre_jaccard"] == 0.0
    with pytest.raises(ValueError, match="co_liked"):
        ft.pair_features(dark_knight, candidates, lists, text, facts, ft.FANS_FEATURES)


def test_co_liked_lists_rank_by_cosine_and_leave_unrated_films_empty():
    # users × films: films 0 and 1 are liked by the same two people, film 2 by one of them, film 3 by nobody
    likes = sp.csr_matrix(np.array([[1, 1, 1, 0], [1, 1, 0, 0], [0, 0, 1, 0]], dtype=np.float32))
    lists = ft.co_liked_lists(likes, raters=np.array([2, 2, 2, 0]), users=3, depth=3)
    assert lists.neighbours(0)[0].tolist() == [1, 2]
    assert lists.neighbours(0)[1][0] == pytest.approx(1.0)
    assert lists.neighbours(2)[0].tolist() == [0, 1]  # ties: lower row first
    assert lists.rated_films().tolist() == [True, True, True, False]


def test_monotone_constraints_follow_the_feature_meaning():
    constraints = dict(zip(ft.FANS_FEATURES, ft.monotone_constraints(ft.FANS_FEATURES)))
    assert constraints["tfidf_score"] == 1 and constraints["co_liked_relative"] == 1
    assert constraints["tfidf_rank"] == -1 and constraints["co_liked_rank"] == -1
    assert constraints["year_gap"] == 0 and constraints["candidate_votes"] == 0
    prior = ft.co_liked_prior(np.array([[1.0], [3.0], [ft.MISSING_RANK]]), ("co_liked_rank",))
    assert prior.tolist() == pytest.approx([1.0, 0.5, 0.0])


def test_graded_labels_follow_the_co_liked_rank():
    relevant = np.arange(100, 125)
    candidates = np.array([100, 104, 105, 109, 110, 119, 120, 7])
    assert train_rankers.graded(relevant, candidates).tolist() == [3, 3, 2, 2, 1, 1, 0, 0]


def test_training_is_deterministic_on_a_small_problem():
    rng = np.random.default_rng(0)
    features = rng.random((600, len(ft.CONTENT_FEATURES)))
    labels = (features[:, 0] * 3).astype(int)
    groups = np.full(20, 30)
    data = (features, labels, groups)
    first = train_rankers.fit("parecidas", data, data, ft.CONTENT_FEATURES, 0.0)
    second = train_rankers.fit("parecidas", data, data, ft.CONTENT_FEATURES, 0.0)
    assert [t["booster"].model_to_string() for t in first] == [t["booster"].model_to_string() for t in second]


# ------------------------------------------------------------------ the trained artifacts


@pytest.fixture(scope="module")
def served(catalog):
    from recommender.models import load_models

    loaded = load_models(catalog)
    if "fans" not in loaded.models:
        pytest.fail(f"the trained rankers are not served: {loaded.problems}. Run python scripts/train_rankers.py")
    return loaded.models


def labels_of(catalog, rows) -> list[str]:
    return [catalog.labels[row] for row in rows]


def test_the_rankers_recommend_what_people_expect(served, catalog):
    toy_story = row_of(catalog, "Toy Story")
    assert labels_of(catalog, served["parecidas"].similar(toy_story, 2).rows) == ["Toy Story 2 (1999)", "Toy Story 3 (2010)"]
    dark_knight = row_of(catalog, "The Dark Knight")
    for intent in ("parecidas", "fans"):
        similar = labels_of(catalog, served[intent].similar(dark_knight, 5).rows)
        assert {"Batman Begins (2005)", "The Dark Knight Rises (2012)"} <= set(similar), intent
    # the fans ranker reads MovieLens behaviour: Inception's fans also rated The Dark Knight highly
    assert "The Dark Knight (2008)" in labels_of(catalog, served["fans"].similar(row_of(catalog, "Inception"), 3).rows)
    ranked, scores = served["parecidas"].similar_batch(np.array([dark_knight, toy_story]), 5)
    assert ranked[0].tolist() == served["parecidas"].similar(dark_knight, 5).rows.tolist()
    assert (np.diff(scores, axis=1) <= 1e-6).all()


def test_the_why_comes_from_the_model(served, catalog):
    dark_knight = row_of(catalog, "The Dark Knight")
    rises = row_of(catalog, "The Dark Knight Rises")
    (why,) = served["parecidas"].contributions(dark_knight, np.array([rises]))
    assert why and all(item.value > 0 for item in why)
    assert [item.value for item in why] == sorted((item.value for item in why), reverse=True)
    assert {item.feature for item in why} <= set(ft.CONTENT_FEATURES)
    assert all(item.feature in ft.FEATURE_LABELS_ES for item in why)
    # a pair's why does not depend on which other films are explained with it (features are the pool's)
    for intent in ("parecidas", "fans"):
        shown = served[intent].similar(dark_knight, 10).rows
        assert served[intent].contributions(dark_knight, shown[:3]) == served[intent].contributions(dark_knight, shown)[:3]


def test_the_fans_ranker_falls_back_to_content_for_films_nobody_rated(served, catalog):
    fans, parecidas = served["fans"], served["parecidas"]
    unrated = int(np.flatnonzero(fans.signals.co_liked.rows[:, 0] < 0)[0])
    assert fans.uses_fallback(unrated)
    assert fans.similar(unrated, 5).rows.tolist() == parecidas.similar(unrated, 5).rows.tolist()
    rated = row_of(catalog, "Toy Story")
    assert not fans.uses_fallback(rated)


def test_the_manifest_records_what_training_used(catalog):
    manifest = ra.read_manifest()
    assert manifest["catalog"]["sha256"] == catalog.checksum and manifest["catalog"]["rows"] == len(catalog)
    assert manifest["features"]["parecidas"] == list(ft.CONTENT_FEATURES)
    assert manifest["features"]["fans"] == list(ft.FANS_FEATURES)
    assert manifest["seed"] == train_rankers.SEED and manifest["versions"]["lightgbm"] == "4.7.0"
    training = manifest["training"]
    assert training["films"] == len(training["films_tmdb_ids"]) > 300
    # no validation or test film was ever a training query
    from scripts.protocol import Protocol, prepare

    setup = prepare(catalog, Protocol())
    evaluation_ids = {int(catalog.column("id")[row]) for row in setup.evaluation_films.tolist()}
    assert not evaluation_ids & set(training["films_tmdb_ids"])
    assert set(manifest["field_weights"]) and all(value >= 0 for value in manifest["field_weights"].values())


@pytest.fixture
def copied_rankers(tmp_path):
    target = tmp_path / "rankers"
    shutil.copytree(ra.rankers_dir(), target)
    return target


@pytest.mark.parametrize("damage", ["edited_booster", "truncated_co_liked", "other_catalog", "other_index", "no_manifest"])
def test_mismatched_rankers_are_refused(served, catalog, copied_rankers, damage):
    manifest_path = copied_rankers / ra.MANIFEST_FILE
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    if damage == "edited_booster":
        booster = copied_rankers / ra.RANKER_FILES["fans"]
        booster.write_text(booster.read_text(encoding="utf-8").replace("shrinkage=", "shrinkage=9", 1), encoding="utf-8")
    elif damage == "truncated_co_liked":
        path = copied_rankers / ra.CO_LIKED_FILE
        path.write_bytes(path.read_bytes()[:-100])
    elif damage == "other_catalog":
        manifest["catalog"]["sha256"] = "0" * 64
    elif damage == "other_index":
        manifest["index"]["files"]["tfidf.matrix.npz"] = "0" * 64
    elif damage == "no_manifest":
        manifest_path.unlink()
    if manifest_path.exists() and damage in ("other_catalog", "other_index"):
        manifest_path.write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(ArtifactError, match="train_rankers.py"):
        ra.load_rankers(catalog, dict(served), directory=copied_rankers)
