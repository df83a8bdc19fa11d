"""The evaluation protocol: metrics against hand-computed values, a leak-free split, the co-liked ground
truth on a hand-built ratings frame, the baselines through the protocol, and reproducibility on a real slice."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from recommender import evaluation as ev
from recommender.base import Neighbours, Recommender
from recommender.baselines import ItemKNNRecommender, PopularityRecommender, RandomRecommender

# ------------------------------------------------------------------ metrics by hand


def test_first_hit_at_rank_three():
    relevant = [np.array([7, 9])]
    ranked = np.array([[1, 2, 7, 3, 9, 4, 5, 6, 8, 10]])
    hits = ev.hit_matrix(ranked, relevant)
    assert hits[0].tolist() == [False, False, True, False, True] + [False] * 5
    assert ev.reciprocal_rank(hits)[0] == pytest.approx(1 / 3)
    assert ev.hit_rate(hits, 10)[0] == 1.0
    assert ev.hit_rate(hits, 2)[0] == 0.0
    # DCG = 1/log2(3+1) + 1/log2(5+1); ideal = two hits on top = 1/log2(2) + 1/log2(3)
    expected = (1 / 2 + 1 / math.log2(6)) / (1 + 1 / math.log2(3))
    assert ev.ndcg(hits, np.array([2]), 10)[0] == pytest.approx(expected)
    assert expected == pytest.approx(0.5438, abs=1e-4)  # (0.5 + 0.3869) / 1.6309


def test_no_hit_scores_zero_and_perfect_list_scores_one():
    relevant = [np.array([50]), np.array([1, 2, 3])]
    ranked = np.array([[1, 2, 3, 4], [1, 2, 3, 4]])
    hits = ev.hit_matrix(ranked, relevant)
    assert ev.reciprocal_rank(hits).tolist() == [0.0, 1.0]
    assert ev.ndcg(hits, np.array([1, 3]), 4).tolist() == pytest.approx([0.0, 1.0])
    assert ev.hit_rate(hits, 4).tolist() == [0.0, 1.0]


def test_padding_never_counts_as_a_hit():
    hits = ev.hit_matrix(np.array([[-1, -1, 5]]), [np.array([5])])
    assert hits.tolist() == [[False, False, True]]


def test_genre_metrics_by_hand():
    # films 0..3; genres A, B, C
    genres = np.array([[1, 0, 0], [1, 1, 0], [0, 0, 1], [0, 1, 0]], dtype=bool)
    ranked = np.array([[1, 2, 3]])
    assert ev.genre_precision(np.array([0]), ranked, genres, k=3)[0] == pytest.approx(1 / 3)  # only film 1 shares A
    # pairwise Jaccard: (1,2)=0, (1,3)=1/2, (2,3)=0 -> mean 1/6
    assert ev.intra_list_diversity(ranked, genres, k=3)[0] == pytest.approx(1 - 1 / 6)
    # random: of films 1..3 only film 1 shares a genre with film 0
    assert ev.random_genre_precision(np.array([0]), genres)[0] == pytest.approx(1 / 3)


def test_novelty_and_coverage_by_hand():
    counts = np.array([3, 1, 0, 7])
    information = ev.self_information(counts, n_users=7)
    assert information.tolist() == pytest.approx([-math.log2(4 / 8), -math.log2(2 / 8), -math.log2(1 / 8), 0.0])
    assert ev.novelty(np.array([[1, 2]]), information, k=2)[0] == pytest.approx((2 + 3) / 2)
    assert ev.coverage(np.array([[1, 2], [2, 3]]), n_items=8, k=2) == pytest.approx(3 / 8)


def test_clean_rankings_drops_the_query_and_repeats():
    cleaned, self_hits = ev.clean_rankings(np.array([4]), np.array([[4, 2, 2, 9, -1]]), depth=4)
    assert cleaned.tolist() == [[2, 9, -1, -1]]
    assert self_hits == 1


# ------------------------------------------------------------------ bootstrap


def test_bootstrap_interval_contains_the_mean_and_is_deterministic():
    values = np.random.default_rng(0).random(200)
    first = ev.bootstrap_ci(values, ev.bootstrap_indices(200, 1000, seed=5))
    again = ev.bootstrap_ci(values, ev.bootstrap_indices(200, 1000, seed=5))
    assert first == again
    assert first.low < first.mean < first.high
    assert first.mean == pytest.approx(values.mean())
    assert first.high - first.low == pytest.approx(2 * 1.96 * values.std() / math.sqrt(200), rel=0.2)


def test_bootstrap_ignores_nan_queries():
    interval = ev.bootstrap_ci(np.array([1.0, np.nan, 0.0, 1.0]), ev.bootstrap_indices(4, 200, seed=1))
    assert interval.mean == pytest.approx(2 / 3)


# ------------------------------------------------------------------ ground truth on a hand-built frame


def ratings_frame(likes: dict[str, list[int]], disliked: dict[str, list[int]] | None = None) -> pd.DataFrame:
    rows = [(user, film, 5.0, 0) for user, films in likes.items() for film in films]
    rows += [(user, film, 2.0, 0) for user, films in (disliked or {}).items() for film in films]
    return pd.DataFrame(rows, columns=["user", "row", "rating", "timestamp"])


def test_co_liked_ranks_by_jaccard_with_minimum_support():
    # Film 0 has 4 fans. Film 1: liked by 3 of them and nobody else -> Jaccard 3/4.
    # Film 2: liked by all 4 plus 4 others -> Jaccard 4/8. Film 3: 2 co-fans only -> below support 3.
    # Film 4: rated by all fans but badly -> not liked, not relevant.
    frame = ratings_frame(
        {"u1": [0, 1, 2, 3], "u2": [0, 1, 2, 3], "u3": [0, 1, 2], "u4": [0, 2], "u5": [2], "u6": [2], "u7": [2], "u8": [2]},
        disliked={"u1": [4], "u2": [4], "u3": [4], "u4": [4]},
    )
    likes = ev.like_matrix(frame, n_items=5)
    truth = ev.co_liked(likes, min_likers=4, min_support=3, relevant_per_query=10, min_relevant=1)
    assert truth.queries.tolist() == [0, 2]  # films 1 and 3 have < 4 fans
    assert truth.relevant[0].tolist() == [1, 2]
    assert truth.jaccard[0].tolist() == pytest.approx([3 / 4, 4 / 8])
    assert truth.support[0].tolist() == [3, 4]
    assert truth.likers.tolist() == [4, 8]
    assert 0 not in truth.relevant[0]  # a film is never relevant to itself
    strict = ev.co_liked(likes, min_likers=4, min_support=3, relevant_per_query=10, min_relevant=3)
    assert len(strict) == 0  # no film has 3 partners with enough support


def test_same_person_in_two_snapshots_is_found_by_movie_and_timestamp():
    earlier = pd.DataFrame({"user": ["a:1"] * 6 + ["a:2"] * 6, "movieId": list(range(6)) * 2,
                            "timestamp": list(range(100, 106)) + list(range(200, 206))})
    later = pd.DataFrame({"user": ["b:9"] * 7, "movieId": list(range(7)), "timestamp": list(range(100, 107))})
    assert ev.same_people(earlier, later, min_shared=5) == {"a:1": "b:9"}


# ------------------------------------------------------------------ the real ratings: split without leakage


@pytest.fixture(scope="module")
def real_ratings(catalog):
    ratings, report = ev.load_ratings(catalog.row_by_id)
    return ratings, report


def test_ratings_join_the_catalog(real_ratings, catalog):
    ratings, report = real_ratings
    assert report.people_in_both_snapshots == 3
    assert report.ratings == len(ratings) > 100_000
    assert ratings["row"].between(0, len(catalog) - 1).all()
    assert not ratings.duplicated(["user", "row"]).any()


def test_user_split_has_no_leakage(real_ratings, catalog):
    ratings, _ = real_ratings
    split = ev.split_users(ratings, heldout_fraction=0.5, seed=11)
    train_users, heldout_users = set(split.train["user"]), set(split.heldout["user"])
    assert not train_users & heldout_users
    assert len(split.train) + len(split.heldout) == len(ratings)
    assert abs(len(train_users) - len(heldout_users)) <= 1
    # the CF reference sees exactly the train users' likes, nobody else's
    cf_likes = ev.like_matrix(split.train, len(catalog))
    assert cf_likes.shape[0] == split.train.loc[split.train["rating"] >= ev.LIKE_THRESHOLD, "user"].nunique()
    assert cf_likes.sum() == (split.train["rating"] >= ev.LIKE_THRESHOLD).sum()

    truth = ev.co_liked(ev.like_matrix(split.heldout, len(catalog)), 15, 3, 20, 10)
    validation, test = ev.split_queries(truth, validation_fraction=0.4, seed=12)
    assert not set(validation.queries) & set(test.queries)
    assert len(validation) + len(test) == len(truth)
    again = ev.split_queries(truth, validation_fraction=0.4, seed=12)
    assert again[1].queries.tolist() == test.queries.tolist()


def slice_evaluation(ratings: pd.DataFrame, n_items: int, genres: np.ndarray) -> dict:
    """The protocol end to end on a slice, with the baselines and a toy content model."""
    split = ev.split_users(ratings, 0.5, seed=3)
    truth = ev.co_liked(ev.like_matrix(split.heldout, n_items), 8, 3, 20, 5)
    _, test = ev.split_queries(truth, 0.4, seed=4)
    counts = ev.item_counts(split.train, n_items)
    information = ev.self_information(counts, split.train["user"].nunique())
    toy = ToyModel(genres.astype(np.float32), "tfidf")
    systems = [
        RandomRecommender(n_items, seed=9), PopularityRecommender(counts),
        ItemKNNRecommender(ev.like_matrix(split.train, n_items, 0.0), counts),
        toy,
    ]
    indices = ev.bootstrap_indices(len(test), 200, seed=8)
    out = {}
    for system in systems:
        result = ev.evaluate_rankings(system.name, test, ev.rank_with(system, test.queries, 50), genres, information, 50)
        out[system.name] = {metric: value.as_dict(6) for metric, value in result.intervals(indices).items()}
        out[system.name]["ranked"] = result.ranked.tolist()
    return out


def test_evaluation_is_reproducible_on_a_real_slice(real_ratings, catalog):
    ratings, _ = real_ratings
    users = sorted(ratings["user"].unique())[:300]
    sliced = ratings[ratings["user"].isin(users)]
    genres, _ = ev.genre_matrix(catalog.movies["genres"])
    first = slice_evaluation(sliced, len(catalog), genres)
    second = slice_evaluation(sliced.sample(frac=1.0, random_state=1), len(catalog), genres)  # row order must not matter
    assert first == second
    assert first["item_knn"]["hr@10"]["mean"] > first["random"]["hr@10"]["mean"]


# ------------------------------------------------------------------ baselines through the protocol


class ToyModel:
    """A content model stand-in: cosine over given vectors, never returning the query."""

    def __init__(self, vectors: np.ndarray, name: str) -> None:
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        self.vectors = vectors / np.maximum(norms, 1e-9)
        self.name = self.label = name

    def similar_batch(self, rows: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        scores = self.vectors[rows] @ self.vectors.T
        scores[np.arange(len(rows)), rows] = -np.inf
        ranked = np.lexsort((np.broadcast_to(np.arange(scores.shape[1]), scores.shape), -scores), axis=-1)[:, :k]
        return ranked, np.take_along_axis(scores, ranked, axis=1)

    def similar(self, row: int, k: int) -> Neighbours:
        ranked, scores = self.similar_batch(np.array([row]), k)
        return Neighbours(ranked[0], scores[0])

    def search(self, text: str, k: int) -> Neighbours:
        rows = np.arange(min(k, len(self.vectors)))[:: -1 if "reverse" in text else 1]
        return Neighbours(rows, np.linspace(1, 0.5, len(rows)))


def test_baselines_follow_the_protocol_and_skip_the_query():
    vectors = np.random.default_rng(2).random((30, 4)).astype(np.float32)
    counts = np.arange(30)[::-1].copy()
    likes = (np.random.default_rng(3).random((12, 30)) > 0.6).astype(np.float32)
    import scipy.sparse as sp

    systems = [
        RandomRecommender(30, seed=1), PopularityRecommender(counts), ItemKNNRecommender(sp.csr_matrix(likes), counts),
        ToyModel(vectors, "tfidf"),
    ]
    rows = np.array([0, 5, 29])
    for system in systems:
        assert isinstance(system, Recommender)
        ranked, scores = system.similar_batch(rows, 10)
        assert ranked.shape == scores.shape == (3, 10)
        assert not (ranked == rows[:, None]).any(), system.name
        assert all(len(set(line)) == 10 for line in ranked.tolist())
        assert system.similar(5, 10).rows.tolist() == ranked[1].tolist()
    assert PopularityRecommender(counts).similar(0, 3).rows.tolist() == [1, 2, 3]
    assert RandomRecommender(30, seed=1).similar(7, 5).rows.tolist() == RandomRecommender(30, seed=1).similar(7, 5).rows.tolist()


# ------------------------------------------------------------------ the committed results and the tab's views


@pytest.fixture(scope="module")
def results():
    from recommender.comparison import load_results, results_path

    if not results_path().is_file():
        pytest.skip("data/eval/results.json not built yet: python scripts/evaluate.py")
    return load_results()


def test_committed_results_describe_this_catalog_and_index(results, catalog):
    from recommender.comparison import stale_reason

    assert stale_reason(results, catalog) is None, "rerun python scripts/evaluate.py"
    assert results["counts"]["test_queries"] == len(results["films"])
    assert {system["name"] for system in results["systems"]} == {
        "random", "popular", "seed_tfidf", "tfidf", "embedding", "multilingual", "parecidas", "fans", "item_knn"}
    for metrics in results["metrics"].values():
        for value in metrics.values():
            assert value.get("low", value["mean"]) <= value["mean"] <= value.get("high", value["mean"])


def test_metric_table_and_film_view(results):
    from recommender.comparison import (HIT, METRIC_LABELS_ES, TRUTH_COLUMN, film_choices, film_view, metric_table,
                                        metric_values)

    table = metric_table(results)
    assert table["Modelo"].tolist() == [system["label"] for system in results["systems"]]
    assert "HR@10" in table.columns and "nDCG@10" in table.columns
    shown = metric_table(results, METRIC_LABELS_ES)  # what the Comparación tab shows people
    assert "Precisión de género@10" in shown.columns and "Genre precision@10" not in shown.columns
    assert set(metric_values(results, METRIC_LABELS_ES)["metric_label"]) == set(METRIC_LABELS_ES.values())
    values = metric_values(results)
    assert set(values["metric"]) >= {"hr@10", "ndcg@10", "mrr", "coverage@10"}
    assert (values["low"] <= values["high"]).all()

    label, tmdb_id = film_choices(results)[0]
    view = film_view(results, tmdb_id)
    assert len(view) == results["protocol"]["k"]
    assert view.columns[1] == TRUTH_COLUMN
    assert label not in view.drop(columns=view.columns[1]).to_numpy().ravel().tolist()  # never its own recommendation
    cf = view[next(system["label"] for system in results["systems"] if system["name"] == "item_knn")]
    film = results["films"][str(tmdb_id)]
    relevant = {item[0] for item in film["relevant"]}
    assert sum(cell.startswith(HIT) for cell in cf) == sum(tmdb in relevant for tmdb in film["systems"]["item_knn"][:10])


def test_results_from_another_catalog_are_refused(results, catalog, tmp_path):
    import json

    from queries.errors import ArtifactError
    from recommender.comparison import load_results, stale_reason

    other = {**results, "catalog": {**results["catalog"], "sha256": "0" * 64}}
    assert stale_reason(other, catalog) == "measured on another catalog"
    retrained = {**results, "index": {**results["index"], "rankers": {"fans.lgb.txt": "0" * 64}}}
    assert stale_reason(retrained, catalog) == "the trained rankers in data/rankers changed since"
    reindexed = {**results, "index": {**results["index"], "multilingual": {"vectors.faiss": "0" * 64}}}
    assert stale_reason(reindexed, catalog) == "the multilingual index changed since"
    path = tmp_path / "results.json"
    path.write_text(json.dumps(other), encoding="utf-8")
    with pytest.raises(ArtifactError, match="python scripts/evaluate.py"):
        load_results(path, catalog)


def results_systems() -> list[dict]:
    from recommender.comparison import load_results

    return load_results()["systems"]


def test_readme_quotes_the_committed_evaluation():
    """Every metric row and every interval the README's evaluation section quotes is in data/eval/RESULTS.md, which
    scripts/evaluate.py writes: rerunning the evaluation cannot leave stale numbers in the README."""
    import re

    from tests.conftest import ROOT

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Which model is better?"):]
    section = section[: section.index("\n## ", 1)]
    results = (ROOT / "data" / "eval" / "RESULTS.md").read_text(encoding="utf-8")
    result_rows = {line for line in results.splitlines() if line.startswith("| ")}
    quoted_rows = [line.replace("**", "") for line in section.splitlines()
                   if line.startswith("| ") and re.search(r"\d\.\d{3} \[", line)]
    assert len(quoted_rows) == len(results_systems())
    for row in quoted_rows:
        assert row in result_rows, row
    intervals = re.findall(r"[+-]?\d+\.\d{3} \[[+-]?\d+\.\d{3}[,–] ?[+-]?\d+\.\d{3}\]", section)
    assert len(intervals) > len(quoted_rows)
    for interval in intervals:
        assert interval in results, interval


def test_readme_evaluation_claims_match_the_results_and_the_rankers():
    """The plain numbers of the README's evaluation prose (not intervals) come from results.json and the rankers'
    manifest: a retrained ranker or a rerun evaluation cannot leave them stale."""
    import json
    import re

    from recommender.comparison import load_results
    from tests.conftest import ROOT

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Which model is better?"):]
    section = " ".join(section[: section.index("\n## ", 1)].split())
    results = load_results()
    rankers = json.loads((ROOT / "data" / "rankers" / "manifest.json").read_text(encoding="utf-8"))
    cold, tail, counts = results["cold_start"], results["long_tail"], results["counts"]
    expected = {
        r"stopped its booster after (\d+) rounds": rankers["rankers"]["fans"]["rounds"],
        r"hold only (\d+) % of the relevant": round(100 * rankers["rankers"]["parecidas"]["validation_pool_recall"]),
        r"\*\*Cold start\*\* \((\d+) test films": cold["films"],
        r"falls to the popularity list \((\d\.\d{3}) nDCG@10\)": cold["cold"]["item_knn"]["ndcg@10"]["mean"],
        r"\*Parecidas\* keeps (\d\.\d{3})": cold["cold"]["parecidas"]["ndcg@10"]["mean"],
        r"answers with \*Parecidas\* \(for (\d+) of the": cold["fans_answered_by_fallback"],
        r"answers with \*Parecidas\* \(for \d+ of the (\d+)": cold["films"],
        r"\*\*Long tail\*\* \(the (\d+) test films": tail["films"],
        r"with ≤ (\d+) training fans": tail["max_training_fans"],
        r"\*Parecidas\* (\d\.\d{3}) against": tail["metrics"]["parecidas"]["ndcg@10"]["mean"],
        r"against (\d\.\d{3}) for the original recipe": tail["metrics"]["seed_tfidf"]["ndcg@10"]["mean"],
        r"novelty (\d\.\d) bits": results["metrics"]["parecidas"]["novelty@10"]["mean"],
        r"misses its 0\.15 nDCG@10 target\*\* by (\d\.\d{3})": -results["targets"]["parecidas"]["ndcg@10"]["gap"],
        r"(\d+) \*training\* users": counts["train_users"],
        r"(\d+) \*validation\* users": counts["validation_users"],
        r"(\d+) \*test\* users": counts["test_users"],
        r"labels of (\d+) validation films": counts["validation_queries"],
        r"labels of the (\d+) test films": counts["test_queries"],
    }
    for pattern, value in expected.items():
        found = re.search(pattern, section)
        assert found, pattern
        shown = found.group(1)
        assert shown == (f"{value:.{len(shown.split('.')[1])}f}" if "." in shown else str(value)), (pattern, value)
    assert ("**misses its" in section) == (not results["targets"]["parecidas"]["ndcg@10"]["met"])
    assert results["intent"]["favoured"] == "fans" and "**The evaluation favours *A quien le gustó…***" in section
