"""The three-way evaluation protocol (issue 12): users split three ways, validation and test apart in users
and in query films, training queries without either, the two-way (users × films) bootstrap, cold-start and
long-tail slices, and the test-scoring ledger. Hand-built frames where the answer is known, then the real
MovieLens ratings for the counts the protocol documents."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from recommender import evaluation as ev


def ratings_frame(likes: dict[str, list[int]], disliked: dict[str, list[int]] | None = None) -> pd.DataFrame:
    rows = [(user, film, 5.0, 0) for user, films in likes.items() for film in films]
    rows += [(user, film, 2.0, 0) for user, films in (disliked or {}).items() for film in films]
    return pd.DataFrame(rows, columns=["user", "row", "rating", "timestamp"])


# The frame of test_evaluation.py's co-liked test: film 0 has fans u1..u4; film 1 is liked by u1..u3
# (Jaccard 3/4), film 2 by everyone (4/8), film 3 by u1, u2 only (support 2 < 3), film 4 rated badly.
CO_LIKED = {"u1": [0, 1, 2, 3], "u2": [0, 1, 2, 3], "u3": [0, 1, 2], "u4": [0, 2],
            "u5": [2], "u6": [2], "u7": [2], "u8": [2]}
KNOBS = {"min_fans": 4, "min_support": 3, "relevant_per_query": 10, "min_relevant": 1}


def shifted(likes: dict[str, list[int]], by: int, prefix: str) -> dict[str, list[int]]:
    return {f"{prefix}{user}": [film + by for film in films] for user, films in likes.items()}


# ------------------------------------------------------------------ three user groups


def test_three_groups_keep_each_user_on_one_side():
    frame = ratings_frame({f"u{index}": [index % 5, (index + 1) % 5] for index in range(8)})
    groups = ev.split_users_three(frame, (0.5, 0.25, 0.25), seed=3)
    users = [set(part["user"]) for part in (groups.train, groups.validation, groups.test)]
    assert [len(part) for part in users] == [4, 2, 2]
    assert not (users[0] & users[1] or users[0] & users[2] or users[1] & users[2])
    assert users[0] | users[1] | users[2] == set(frame["user"])
    assert len(groups.train) + len(groups.validation) + len(groups.test) == len(frame)
    # deterministic, and the row order of the input does not matter
    again = ev.split_users_three(frame.sample(frac=1.0, random_state=4), (0.5, 0.25, 0.25), seed=3)
    assert set(again.test["user"]) == users[2] and set(again.validation["user"]) == users[1]
    # the same seed keeps split_users' train users; validation ∪ test are its held-out users
    two = ev.split_users(frame, 0.5, seed=3)
    assert set(two.train["user"]) == users[0] and set(two.heldout["user"]) == users[1] | users[2]
    assert set(ev.split_users_three(frame, (0.5, 0.25, 0.25), seed=4).test["user"]) != users[2]


def test_three_groups_reject_bad_fractions():
    frame = ratings_frame({"a": [0], "b": [1]})
    for fractions in ((0.5, 0.5), (0.6, 0.3, 0.3), (1.2, -0.1, -0.1)):
        with pytest.raises(ValueError, match="fractions"):
            ev.split_users_three(frame, fractions, seed=1)  # type: ignore[arg-type]
    groups = ev.split_users_three(frame, (1.0, 0.0, 0.0), seed=1)
    assert len(groups.train) == 2 and groups.validation.empty and groups.test.empty


# ------------------------------------------------------------------ validation and test apart in users and films


def test_query_films_are_split_from_the_union_by_a_seeded_permutation():
    validation_films, test_films = ev.split_query_films(np.array([3, 1, 5]), np.array([5, 8, 9, 2]), 0.4, seed=7)
    assert not set(validation_films) & set(test_films)
    assert set(validation_films) | set(test_films) == {1, 2, 3, 5, 8, 9}
    assert len(validation_films) == 2  # round(0.4 · 6)
    assert validation_films.tolist() == sorted(validation_films.tolist())
    again = ev.split_query_films(np.array([1, 3, 5]), np.array([2, 5, 8, 9]), 0.4, seed=7)
    assert again[0].tolist() == validation_films.tolist()  # depends on the union only, not on the order


def test_ground_truths_come_from_their_own_users_and_films():
    # validation users like films 0..3 as in CO_LIKED; test users like the same pattern shifted to 5..8
    validation = ratings_frame(shifted(CO_LIKED, 0, "v"))
    test = ratings_frame(shifted(CO_LIKED, 5, "t"))
    groups = ev.UserGroups(train=ratings_frame({"x": [0, 5]}), validation=validation, test=test)
    everything_to_test = ev.ground_truths(groups, 10, validation_fraction=0.0, query_seed=1, **KNOBS)
    assert len(everything_to_test[0]) == 0
    assert everything_to_test[1].queries.tolist() == [5, 7]
    assert everything_to_test[1].relevant[0].tolist() == [6, 7]  # test users' co-likes, Jaccard 3/4 then 4/8
    assert everything_to_test[1].jaccard[0].tolist() == pytest.approx([3 / 4, 4 / 8])
    everything_to_validation = ev.ground_truths(groups, 10, validation_fraction=1.0, query_seed=1, **KNOBS)
    assert everything_to_validation[0].queries.tolist() == [0, 2] and len(everything_to_validation[1]) == 0
    assert everything_to_validation[0].relevant[0].tolist() == [1, 2]

    validation_truth, test_truth = ev.ground_truths(groups, 10, validation_fraction=0.5, query_seed=1, **KNOBS)
    validation_films, test_films = ev.split_query_films(np.array([0, 2]), np.array([5, 7]), 0.5, seed=1)
    assert len(validation_films) == len(test_films) == 2
    assert validation_truth.queries.tolist() == sorted(set(validation_films) & {0, 2})
    assert test_truth.queries.tolist() == sorted(set(test_films) & {5, 7})
    assert not set(validation_truth.queries) & set(test_truth.queries)


def test_a_film_assigned_to_validation_is_never_a_test_query():
    # both groups like the same films: every film qualifies in both, each is a query in exactly one truth
    validation = ratings_frame(shifted(CO_LIKED, 0, "v"))
    test = ratings_frame(shifted(CO_LIKED, 0, "t"))
    groups = ev.UserGroups(train=validation.iloc[:0], validation=validation, test=test)
    for seed in range(6):
        validation_truth, test_truth = ev.ground_truths(groups, 5, validation_fraction=0.5, query_seed=seed, **KNOBS)
        assert sorted([*validation_truth.queries.tolist(), *test_truth.queries.tolist()]) == [0, 2]


def test_training_queries_leave_out_validation_and_test_films():
    likes = ev.like_matrix(ratings_frame(CO_LIKED), 5)
    everything = ev.training_queries(likes, np.array([], dtype=np.int64), **KNOBS)
    assert everything.queries.tolist() == [0, 2]
    without_zero = ev.training_queries(likes, np.array([0, 4]), **KNOBS)
    assert without_zero.queries.tolist() == [2]
    assert without_zero.relevant[0].tolist() == everything.relevant[1].tolist()  # film 0 may stay a partner
    assert 0 in without_zero.relevant[0].tolist()
    dropped = ev.training_queries(likes, np.array([0]), drop_excluded_partners=True, **KNOBS)
    assert dropped.queries.tolist() == [2] and 0 not in dropped.relevant[0].tolist()
    assert len(dropped.relevant[0]) == len(dropped.jaccard[0]) == len(dropped.support[0])
    strict = ev.training_queries(likes, np.array([0]), drop_excluded_partners=True,
                                 **{**KNOBS, "min_relevant": len(everything.relevant[1])})
    assert len(strict) == 0  # one partner fewer than it needs


# ------------------------------------------------------------------ weighted co-liked lists (one user resample)


def test_unit_weights_reproduce_co_liked():
    likes = ev.like_matrix(ratings_frame(CO_LIKED), 5)
    truth = ev.co_liked(likes, 4, 3, 10, 1)
    relevance = ev.weighted_relevance(likes, np.array([0, 1, 2, 3]), np.ones(likes.shape[0]), **KNOBS)
    assert relevance.qualifies.tolist() == [True, False, True, False]  # films 1, 3 have < 4 fans
    assert sorted(np.flatnonzero(relevance.relevant[0].toarray()[0]).tolist()) == sorted(truth.relevant[0].tolist())
    assert relevance.n_relevant[0] == len(truth.relevant[0])


def test_a_user_drawn_twice_counts_twice():
    likes = ev.like_matrix(ratings_frame(CO_LIKED), 5)  # user order: sorted ids u1..u8
    weights = np.array([2, 1, 1, 0, 1, 1, 1, 1], dtype=np.float64)  # u1 twice, u4 not drawn
    relevance = ev.weighted_relevance(likes, np.array([0]), weights, min_fans=4, min_support=3,
                                      relevant_per_query=2, min_relevant=1)
    # fans of 0: 2 + 1 + 1 = 4. Film 1: support 4, fans 4 -> Jaccard 1. Film 3: support 3 now (u1 twice),
    # fans 3 -> 3 / (4 + 3 - 3) = 0.75. Film 2: support 4, fans 2 + 1 + 1 + 4 = 8 -> 0.5, cut by relevant_per_query 2.
    assert relevance.qualifies.tolist() == [True]
    assert np.flatnonzero(relevance.relevant.toarray()[0]).tolist() == [1, 3]
    assert relevance.n_relevant.tolist() == [2]
    # a zero weight is the same as removing that person
    without_u4 = ev.like_matrix(ratings_frame({user: films for user, films in CO_LIKED.items() if user != "u4"}), 5)
    dropped = ev.weighted_relevance(likes, np.array([0, 2]), np.array([1, 1, 1, 0, 1, 1, 1, 1.0]), **KNOBS)
    removed = ev.weighted_relevance(without_u4, np.array([0, 2]), np.ones(7), **KNOBS)
    assert dropped.qualifies.tolist() == removed.qualifies.tolist() == [False, True]
    assert (dropped.relevant != removed.relevant).nnz == 0


def test_weighted_relevance_matches_co_liked_on_random_likes_with_ties():
    rng = np.random.default_rng(0)
    likes = sp.csr_matrix((rng.random((60, 40)) < 0.3).astype(np.float32))
    truth = ev.co_liked(likes, 10, 3, 5, 3)  # small counts: many Jaccard ties, broken by support then row
    relevance = ev.weighted_relevance(likes, truth.queries, np.ones(60), 10, 3, 5, 3)
    assert relevance.qualifies.all()
    for position, rows in enumerate(truth.relevant):
        assert np.flatnonzero(relevance.relevant[position].toarray()[0]).tolist() == sorted(rows.tolist())


def test_weights_equal_repeating_each_user_that_many_times():
    """The definition of a user resample: weight m is the same as m copies of that person's row."""
    rng = np.random.default_rng(5)
    likes = sp.csr_matrix((rng.random((50, 30)) < 0.3).astype(np.float32))
    for _ in range(10):
        weights = rng.integers(0, 4, 50)
        copies = sp.csr_matrix(np.repeat(likes.toarray(), weights, axis=0))
        truth = ev.co_liked(copies, 10, 3, 5, 3)
        relevance = ev.weighted_relevance(likes, np.arange(30), weights.astype(np.float64), 10, 3, 5, 3)
        assert np.flatnonzero(relevance.qualifies).tolist() == truth.queries.tolist()
        for position, query in enumerate(truth.queries.tolist()):
            assert np.flatnonzero(relevance.relevant[query].toarray()[0]).tolist() == sorted(truth.relevant[position].tolist())


# ------------------------------------------------------------------ two-way bootstrap


@pytest.fixture(scope="module")
def synthetic():
    """Random likes with structure (two taste groups), their co-liked truth and three fixed rankings."""
    rng = np.random.default_rng(1)
    taste = rng.integers(0, 2, 120)
    films = np.arange(60)
    probability = np.where((films[None, :] % 2) == taste[:, None], 0.35, 0.08)
    likes = sp.csr_matrix((rng.random((120, 60)) < probability).astype(np.float32))
    truth = ev.co_liked(likes, 12, 3, 10, 5)
    oracle = np.full((len(truth), 20), -1, dtype=np.int64)
    for position, rows in enumerate(truth.relevant):
        oracle[position, : len(rows)] = rows
    others = np.array([[film for film in films if film != query] for query in truth.queries])
    ranked = {
        "oracle": oracle,
        "shuffled": rng.permuted(others, axis=1)[:, :20],
        "worst": np.array([[film for film in films if film not in set(rows) and film != query][:20]
                           for query, rows in zip(truth.queries, truth.relevant)]),
    }
    return likes, truth, ranked


def test_point_estimates_are_the_protocol_scores(synthetic):
    likes, truth, ranked = synthetic
    out = ev.two_way_bootstrap(likes, truth.queries, ranked, pairs=(("oracle", "shuffled"),), resamples=50, seed=2,
                               min_fans=12, min_support=3, relevant_per_query=10, min_relevant=5)
    genres = np.zeros((60, 1), dtype=bool)
    for name, lists in ranked.items():
        scores = ev.rank_metrics(truth, lists, genres, np.zeros(60))
        for metric in ("hr@10", "ndcg@10", "mrr"):
            assert out.intervals[name][metric].mean == pytest.approx(scores[metric].mean()), (name, metric)
    assert out.intervals["oracle"]["ndcg@10"].mean == pytest.approx(1.0)
    assert out.intervals["worst"]["hr@10"].mean == 0.0
    difference = out.differences["oracle-shuffled"]["ndcg@10"]
    assert difference.mean == pytest.approx(1.0 - out.intervals["shuffled"]["ndcg@10"].mean)
    assert 0.0 < difference.low < difference.mean < difference.high <= 1.0
    for name in ranked:
        for interval in out.intervals[name].values():
            assert 0.0 <= interval.low <= interval.high <= 1.0
    assert out.qualifying.shape == (50,) and (out.qualifying <= len(truth)).all()
    assert (out.qualifying < len(truth)).any()  # films near the fan threshold drop out of some resamples


def test_films_only_is_the_ordinary_paired_bootstrap(synthetic):
    likes, truth, ranked = synthetic
    out = ev.two_way_bootstrap(likes, truth.queries, ranked, resamples=300, seed=9, resample_users=False,
                               min_fans=12, min_support=3, relevant_per_query=10, min_relevant=5)
    indices = ev.bootstrap_indices(len(truth), 300, seed=9)  # the same draws from the same seed
    scores = ev.rank_metrics(truth, ranked["shuffled"], np.zeros((60, 1), dtype=bool), np.zeros(60))
    for metric in ("hr@10", "ndcg@10", "mrr"):
        expected = ev.bootstrap_ci(scores[metric], indices)
        got = out.intervals["shuffled"][metric]
        assert (got.mean, got.low, got.high) == pytest.approx((expected.mean, expected.low, expected.high))
    assert out.resample_shift["shuffled"]["ndcg@10"] == 0.0
    assert (out.qualifying == len(truth)).all()


def test_resampling_users_widens_the_interval_and_is_paired(synthetic):
    likes, truth, ranked = synthetic
    knobs = {"min_fans": 12, "min_support": 3, "relevant_per_query": 10, "min_relevant": 5}
    both = ev.two_way_bootstrap(likes, truth.queries, ranked, pairs=(("shuffled", "shuffled"),), resamples=200,
                                seed=4, **knobs)
    films = ev.two_way_bootstrap(likes, truth.queries, ranked, resamples=200, seed=4, resample_users=False, **knobs)

    def width(interval: ev.Interval) -> float:
        return interval.high - interval.low

    assert width(films.intervals["oracle"]["ndcg@10"]) == pytest.approx(0.0, abs=1e-12)  # a perfect list on every film
    assert width(both.intervals["oracle"]["ndcg@10"]) > 0.01  # ... but not against other people's co-likes
    assert width(both.intervals["shuffled"]["ndcg@10"]) > width(films.intervals["shuffled"]["ndcg@10"])
    # noisier resampled labels pull the oracle down; centring puts the interval back around the observed score
    assert both.resample_shift["oracle"]["ndcg@10"] < 0
    oracle = both.intervals["oracle"]["ndcg@10"]
    assert oracle.low < oracle.mean == pytest.approx(1.0) and oracle.high == pytest.approx(1.0)
    same = both.differences["shuffled-shuffled"]["hr@10"]
    assert (same.mean, same.low, same.high) == (0.0, 0.0, 0.0)  # a system against itself, same resamples
    again = ev.two_way_bootstrap(likes, truth.queries, ranked, pairs=(("shuffled", "shuffled"),), resamples=200,
                                 seed=4, **knobs)
    assert again.intervals == both.intervals and (again.qualifying == both.qualifying).all()


def test_two_way_bootstrap_checks_its_inputs(synthetic):
    likes, truth, ranked = synthetic
    with pytest.raises(ValueError, match="ranked lists"):
        ev.two_way_bootstrap(likes, truth.queries, {"short": ranked["oracle"][:-1]}, resamples=5)
    with pytest.raises(ValueError, match="unknown system"):
        ev.two_way_bootstrap(likes, truth.queries, ranked, pairs=(("oracle", "nobody"),), resamples=5)
    with pytest.raises(ValueError, match="knobs that built the ground truth"):  # stricter than the truth's 12 fans
        ev.two_way_bootstrap(likes, truth.queries, ranked, min_fans=1000, min_support=3, resamples=5)


# ------------------------------------------------------------------ cold start and long tail


def test_hide_films_removes_every_training_rating_of_them():
    train = ratings_frame({"a": [0, 1, 2], "b": [1, 3]}, disliked={"c": [1, 4]})
    hidden = ev.hide_films(train, np.array([1, 4]))
    assert sorted(hidden["row"].tolist()) == [0, 2, 3]
    assert set(hidden.columns) == set(train.columns) and hidden.index.tolist() == list(range(3))
    assert len(ev.hide_films(train, np.array([], dtype=np.int64))) == len(train)


def test_cold_films_are_a_seeded_share_of_the_test_queries():
    truth = ev.GroundTruth(queries=np.arange(10, 30), relevant=[np.array([1])] * 20, jaccard=[np.array([0.5])] * 20,
                           support=[np.array([3])] * 20, likers=np.full(20, 9))
    cold = ev.choose_cold_films(truth, 0.25, seed=3)
    assert len(cold) == 5 and set(cold) <= set(truth.queries.tolist())
    assert cold.tolist() == sorted(cold.tolist()) == ev.choose_cold_films(truth, 0.25, seed=3).tolist()
    assert cold.tolist() != ev.choose_cold_films(truth, 0.25, seed=4).tolist()


def test_long_tail_is_the_bottom_share_by_train_fans():
    likes = sp.csr_matrix(np.array([[1, 0, 1, 1], [1, 0, 0, 1], [0, 0, 0, 1]], dtype=np.float32))
    assert ev.fan_counts(likes).tolist() == [2, 0, 1, 3]
    fans = np.array([5, 1, 3, 3, 9, 2, 0, 0])  # train fans per catalog row
    truth = ev.GroundTruth(queries=np.arange(6), relevant=[np.array([7])] * 6, jaccard=[np.array([1.0])] * 6,
                           support=[np.array([3])] * 6, likers=np.full(6, 9))
    positions, threshold = ev.long_tail_positions(truth, fans, share=1 / 3)
    assert (positions.tolist(), threshold) == ([1, 5], 2)  # sorted fans 1, 2 | 3, 3, 5, 9
    positions, threshold = ev.long_tail_positions(truth, fans, share=0.5)
    assert (positions.tolist(), threshold) == ([1, 2, 3, 5], 3)  # both films with 3 fans are in
    empty = truth.subset(np.array([], dtype=np.int64))
    assert ev.long_tail_positions(empty, fans)[0].tolist() == []


# ------------------------------------------------------------------ test-scoring ledger


def test_ledger_counts_scorings_per_protocol(tmp_path):
    ledger = tmp_path / "eval" / "test_scorings.jsonl"
    protocol = {"fractions": [0.5, 0.25, 0.25], "min_fans": 10, "query_seed": 20240612}
    digest = ev.protocol_hash(protocol)
    assert digest == ev.protocol_hash(dict(reversed(list(protocol.items()))))  # key order does not matter
    assert digest != ev.protocol_hash({**protocol, "min_fans": 9}) and len(digest) == 16
    assert ev.count_test_scorings(ledger, digest) == 0
    moment = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    assert ev.record_test_scoring(ledger, {"protocol_hash": digest, "systems": ("hybrid", "ranker")}, now=moment) == 1
    assert ev.record_test_scoring(ledger, {"protocol_hash": "other", "systems": ["tfidf"]}) == 1
    assert ev.record_test_scoring(ledger, {"protocol_hash": digest, "systems": ["ranker"], "note": "rerun"}) == 2
    lines = [json.loads(line) for line in ledger.read_text(encoding="utf-8").splitlines()]
    assert len(lines) == 3
    assert lines[0] == {"protocol_hash": digest, "systems": ["hybrid", "ranker"], "timestamp": "2026-01-02T03:04:05+00:00"}
    assert lines[2]["note"] == "rerun" and lines[2]["timestamp"].endswith("+00:00")
    assert ev.count_test_scorings(ledger, digest) == 2


def test_ledger_refuses_incomplete_entries_and_broken_files(tmp_path):
    ledger = tmp_path / "ledger.jsonl"
    with pytest.raises(ValueError, match="protocol_hash"):
        ev.record_test_scoring(ledger, {"systems": ["a"]})
    with pytest.raises(ValueError, match="systems"):
        ev.record_test_scoring(ledger, {"protocol_hash": "abc", "systems": "a"})
    assert not ledger.exists()
    ledger.write_text('{"protocol_hash": "abc", "systems": []}\n\nnot json\n', encoding="utf-8")
    with pytest.raises(ValueError, match=":3: not a JSON line"):
        ev.record_test_scoring(ledger, {"protocol_hash": "abc", "systems": ["a"]})


# ------------------------------------------------------------------ the real ratings


@pytest.fixture(scope="module")
def real(catalog):
    ratings, _ = ev.load_ratings(catalog.row_by_id)
    groups = ev.split_users_three(ratings, (0.5, 0.25, 0.25), seed=20240611)
    validation, test = ev.ground_truths(groups, len(catalog))
    return ratings, groups, validation, test


def test_real_groups_are_disjoint_and_cover_every_user(real):
    ratings, groups, _, _ = real
    parts = (groups.train, groups.validation, groups.test)
    users = [set(part["user"]) for part in parts]
    assert [len(part) for part in users] == [639, 319, 320]
    assert not (users[0] & users[1] or users[0] & users[2] or users[1] & users[2])
    assert users[0] | users[1] | users[2] == set(ratings["user"])
    assert sum(len(part) for part in parts) == len(ratings)
    assert set(ev.split_users(ratings, 0.5, seed=20240611).train["user"]) == users[0]


def test_real_validation_and_test_are_apart_in_users_and_films(real, catalog):
    _, groups, validation, test = real
    assert (len(validation), len(test)) == (206, 300)  # the counts the ThreeWayProtocol note quotes
    assert not set(validation.queries) & set(test.queries)
    assert (validation.likers >= ev.THREE_WAY_MIN_FANS).all() and (test.likers >= ev.THREE_WAY_MIN_FANS).all()
    # the test lists are exactly the test users' co-liked lists
    own = ev.co_liked(ev.like_matrix(groups.test, len(catalog)), ev.THREE_WAY_MIN_FANS, 3, 20, 10)
    position = {query: index for index, query in enumerate(own.queries.tolist())}
    for query, rows in zip(test.queries.tolist()[:50], test.relevant[:50]):
        assert rows.tolist() == own.relevant[position[query]].tolist()
    excluded = np.union1d(validation.queries, test.queries)
    training = ev.training_queries(ev.like_matrix(groups.train, len(catalog)), excluded)
    assert len(training) == 348 and not set(training.queries) & set(excluded.tolist())


def test_real_two_way_intervals_and_long_tail(real, catalog):
    from recommender.baselines import PopularityRecommender

    _, groups, _, test = real
    n_items = len(catalog)
    counts = ev.item_counts(groups.train, n_items)
    popular, _ = ev.clean_rankings(test.queries, ev.rank_with(PopularityRecommender(counts), test.queries), ev.DEPTH)
    test_likes = ev.like_matrix(groups.test, n_items)
    out = ev.two_way_bootstrap(test_likes, test.queries, {"popular": popular}, resamples=40, seed=1)
    films_only = ev.bootstrap_ci(
        ev.rank_metrics(test, popular, np.zeros((n_items, 1), dtype=bool), np.zeros(n_items))["hr@10"],
        ev.bootstrap_indices(len(test), 40, seed=1),
    )
    interval = out.intervals["popular"]["hr@10"]
    assert interval.mean == pytest.approx(films_only.mean)
    assert interval.high - interval.low > films_only.high - films_only.low
    assert 0.6 * len(test) < out.qualifying.mean() < len(test)

    positions, threshold = ev.long_tail_positions(test, ev.fan_counts(ev.like_matrix(groups.train, n_items)))
    assert (len(positions), threshold) == (103, 26)
    cold = ev.choose_cold_films(test, 0.2, seed=5)
    assert len(cold) == 60
    hidden = ev.hide_films(groups.train, cold)
    assert not hidden["row"].isin(cold).any() and len(hidden) < len(groups.train)
