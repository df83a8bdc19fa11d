"""Offline evaluation protocol: MovieLens ratings -> co-liked ground truth -> ranking metrics with CIs.

Everything here is a pure function of its arguments (data frames, arrays, seeds), so the tests can run
the protocol on a hand-built ratings frame and ``scripts/evaluate.py`` only has to wire the steps:

1. ``load_ratings``: both MovieLens "small" snapshots, joined to catalog rows through TMDB ids, with the
   few people present in both snapshots counted once.
2. ``split_users``: users (not ratings, not time) are split into train and held-out. The CF reference
   learns only from train users; the ground truth comes only from held-out users, so no rating is ever
   both a feature and a label.
3. ``co_liked``: for a query film, the relevant films are those its held-out fans also liked, ranked by
   Jaccard with a minimum support. Query films then split into validation (for every choice) and test.
4. ``rank_metrics`` + ``bootstrap_ci``: HR@10, nDCG@10, MRR, genre precision, diversity, novelty, with
   paired bootstrap intervals over test query films.
"""
from __future__ import annotations

import gzip
import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

ROOT = Path(__file__).resolve().parents[1]
RAW = ROOT / "data" / "raw"

LIKE_THRESHOLD = 4.0  # MovieLens 0.5–5 stars: 4+ is the usual "liked" cut (≈ the top half of ratings)
K = 10  # list length people see; HR/nDCG/genre precision/diversity/novelty/coverage are all @10
DEPTH = 100  # how deep every system ranks, for MRR (a first hit below 100 counts as 0)


@dataclass(frozen=True)
class RatingsSource:
    """One MovieLens snapshot: its ratings and the links file that maps its movieIds to TMDB ids."""

    name: str
    ratings: Path
    links: Path
    licence: str


SOURCES = (
    RatingsSource(
        "the-movies-dataset (ratings_small, 2016)",
        RAW / "the-movies-dataset" / "ratings_small.csv.gz",
        RAW / "the-movies-dataset" / "links_small.csv.gz",
        "CC0 1.0 (Kaggle 'The Movies Dataset'); ratings originally © GroupLens",
    ),
    RatingsSource(
        "movielens-ml-latest-small (2018)",
        RAW / "movielens-ml-latest-small" / "ratings.csv.gz",
        RAW / "movielens-ml-latest-small" / "links.csv.gz",
        "MovieLens licence: non-commercial use with attribution (Harper & Konstan 2015, ACM TiiS 5(4))",
    ),
)


# ------------------------------------------------------------------ ratings


def read_source(source: RatingsSource, prefix: str) -> pd.DataFrame:
    """One snapshot as user, movieId, tmdbId, rating, timestamp; user ids get ``prefix`` because each
    snapshot numbers its (differently sampled) users from 1."""
    with gzip.open(source.ratings, "rt") as handle:
        ratings = pd.read_csv(handle, dtype={"userId": "int64", "movieId": "int64", "rating": "float64", "timestamp": "int64"})
    with gzip.open(source.links, "rt") as handle:
        links = pd.read_csv(handle, dtype={"movieId": "int64", "imdbId": "str", "tmdbId": "float64"})
    joined = ratings.merge(links[["movieId", "tmdbId"]], on="movieId", how="left")
    joined["user"] = prefix + joined["userId"].astype(str)
    return joined[["user", "movieId", "tmdbId", "rating", "timestamp"]]


def same_people(earlier: pd.DataFrame, later: pd.DataFrame, min_shared: int = 5) -> dict[str, str]:
    """Users of ``earlier`` who are the same person as a user of ``later``: {earlier user: later user}.

    MovieLens anonymises ids per snapshot, but a person's (movieId, timestamp) pairs are unchanged, so
    ``min_shared`` identical pairs identify them (chance agreement at second resolution is ~impossible).
    """
    keys = ["movieId", "timestamp"]
    shared = earlier[["user", *keys]].merge(later[["user", *keys]], on=keys, suffixes=("_earlier", "_later"))
    pairs = shared.groupby(["user_earlier", "user_later"]).size()
    pairs = pairs[pairs >= min_shared].sort_values(ascending=False, kind="stable")
    matches: dict[str, str] = {}
    for (user_earlier, user_later), _ in pairs.items():
        matches.setdefault(str(user_earlier), str(user_later))
    return matches


@dataclass(frozen=True)
class RatingsReport:
    """What ``load_ratings`` kept and dropped, for the results file and the data card."""

    sources: list[str]
    raw_ratings: int
    people_in_both_snapshots: int
    ratings_dropped_as_duplicate_people: int
    ratings_without_catalog_film: int
    ratings_collapsed_same_film: int
    ratings: int
    users: int
    films: int


def load_ratings(row_by_id: dict[int, int], sources: tuple[RatingsSource, ...] = SOURCES) -> tuple[pd.DataFrame, RatingsReport]:
    """All ratings of catalog films as columns user (str), row (int64), rating, timestamp.

    Why both snapshots: they are independent samples of MovieLens users (only a handful of people are in
    both), so together they roughly double the held-out fans per film, hence more query films with
    enough support and tighter intervals. A person found in an earlier and a later snapshot keeps only
    the later copy (a superset of the earlier one in practice). Several movieIds can link to one TMDB
    film: a user's latest rating of that film wins.
    """
    frames = [read_source(source, prefix=f"s{index}:") for index, source in enumerate(sources)]
    raw = sum(len(frame) for frame in frames)
    duplicates: set[str] = set()
    for index, earlier in enumerate(frames):
        for later in frames[index + 1:]:
            duplicates |= set(same_people(earlier, later))
    ratings = pd.concat(frames, ignore_index=True)
    kept = ~ratings["user"].isin(duplicates)
    dropped_people = int((~kept).sum())
    ratings = ratings[kept]

    rows = ratings["tmdbId"].map(lambda tmdb: row_by_id.get(int(tmdb), -1) if pd.notna(tmdb) else -1)
    in_catalog = rows.to_numpy() >= 0
    without_film = int((~in_catalog).sum())
    ratings = ratings.assign(row=rows.astype("int64"))[in_catalog]

    ratings = ratings.sort_values(["user", "row", "timestamp"], kind="stable")
    collapsed = ratings.drop_duplicates(["user", "row"], keep="last")
    result = collapsed[["user", "row", "rating", "timestamp"]].reset_index(drop=True)
    report = RatingsReport(
        sources=[source.name for source in sources],
        raw_ratings=raw,
        people_in_both_snapshots=len(duplicates),
        ratings_dropped_as_duplicate_people=dropped_people,
        ratings_without_catalog_film=without_film,
        ratings_collapsed_same_film=len(ratings) - len(collapsed),
        ratings=len(result),
        users=int(result["user"].nunique()),
        films=int(result["row"].nunique()),
    )
    return result, report


# ------------------------------------------------------------------ split


@dataclass(frozen=True)
class UserSplit:
    """Ratings split by user: a user's every rating is on one side."""

    train: pd.DataFrame
    heldout: pd.DataFrame


def split_users(ratings: pd.DataFrame, heldout_fraction: float, seed: int) -> UserSplit:
    """Shuffle the sorted user ids with ``seed`` and hold out the last ``heldout_fraction`` of them.

    Why users and not time: the label is item–item co-liking, a property of people's tastes, and the
    content models have no notion of time. A user split keeps every held-out person's whole history for
    the ground truth and gives the CF reference whole, unseen-by-the-label people to learn from; a time
    split would mix the same people into both sides and starve the later side (most ratings are old).
    """
    users = np.array(sorted(ratings["user"].unique()))
    rng = np.random.default_rng(seed)
    rng.shuffle(users)
    n_heldout = int(round(len(users) * heldout_fraction))
    heldout_users = set(users[len(users) - n_heldout:].tolist())
    is_heldout = ratings["user"].isin(heldout_users).to_numpy()
    return UserSplit(train=ratings[~is_heldout].reset_index(drop=True), heldout=ratings[is_heldout].reset_index(drop=True))


def like_matrix(ratings: pd.DataFrame, n_items: int, threshold: float = LIKE_THRESHOLD) -> sp.csr_matrix:
    """Binary users × catalog-rows matrix of ratings ≥ ``threshold`` (user order: sorted ids)."""
    liked = ratings[ratings["rating"] >= threshold]
    users, user_index = np.unique(liked["user"].to_numpy(), return_inverse=True)
    data = np.ones(len(liked), dtype=np.float32)
    return sp.csr_matrix((data, (user_index, liked["row"].to_numpy())), shape=(len(users), n_items))


def item_counts(ratings: pd.DataFrame, n_items: int) -> np.ndarray:
    """How many users rated each catalog row (any rating): the popularity the baselines may know."""
    return np.bincount(ratings["row"].to_numpy(), minlength=n_items).astype(np.int64)


# ------------------------------------------------------------------ ground truth


@dataclass(frozen=True)
class GroundTruth:
    """For each query row: its relevant rows (most co-liked first) with Jaccard and support (co-likers)."""

    queries: np.ndarray  # int64 (n,)
    relevant: list[np.ndarray]  # per query, int64 rows, best first
    jaccard: list[np.ndarray]
    support: list[np.ndarray]
    likers: np.ndarray  # held-out users who liked each query film

    def subset(self, positions: np.ndarray) -> GroundTruth:
        return GroundTruth(
            queries=self.queries[positions],
            relevant=[self.relevant[p] for p in positions],
            jaccard=[self.jaccard[p] for p in positions],
            support=[self.support[p] for p in positions],
            likers=self.likers[positions],
        )

    def __len__(self) -> int:
        return len(self.queries)


def co_liked(
    likes: sp.csr_matrix, min_likers: int, min_support: int, relevant_per_query: int, min_relevant: int
) -> GroundTruth:
    """"People who liked this also liked": the co-liked films of every film with enough support.

    ``likes`` is the held-out users × rows like matrix. For films q and j, support = users who liked both,
    Jaccard = support / (likers(q) + likers(j) − support). Why Jaccard and not lift: lift divides by the
    partner's popularity, so with a few co-likers a film seen by three people tops the list by luck;
    Jaccard is bounded, still discounts blockbusters everyone likes, and ranks stably at small counts.
    A query needs ``min_likers`` held-out fans and ``min_relevant`` partners with ≥ ``min_support``
    co-likers; its relevant set is the top ``relevant_per_query`` partners (ties: more support, lower row).
    """
    binary = likes.astype(bool).astype(np.float32).tocsc()
    likers = np.asarray(binary.sum(axis=0)).ravel().astype(np.int64)
    candidates = np.flatnonzero(likers >= min_likers)
    co = (binary[:, candidates].T @ binary).tocsr()  # (n_candidates, n_items) support counts
    queries, relevant, jaccards, supports, query_likers = [], [], [], [], []
    for position, query in enumerate(candidates.tolist()):
        start, end = co.indptr[position], co.indptr[position + 1]
        partners, support = co.indices[start:end], co.data[start:end].astype(np.int64)
        keep = (support >= min_support) & (partners != query)
        partners, support = partners[keep], support[keep]
        if len(partners) < min_relevant:
            continue
        jaccard = support / (likers[query] + likers[partners] - support)
        order = np.lexsort((partners, -support, -jaccard))[:relevant_per_query]
        queries.append(query)
        relevant.append(partners[order].astype(np.int64))
        jaccards.append(jaccard[order])
        supports.append(support[order])
        query_likers.append(likers[query])
    return GroundTruth(
        queries=np.array(queries, dtype=np.int64),
        relevant=relevant,
        jaccard=jaccards,
        support=supports,
        likers=np.array(query_likers, dtype=np.int64),
    )


def split_queries(truth: GroundTruth, validation_fraction: float, seed: int) -> tuple[GroundTruth, GroundTruth]:
    """Disjoint validation and test query films (sorted by row inside each), fixed by ``seed``."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(truth))
    n_validation = int(round(len(truth) * validation_fraction))
    validation = np.sort(order[:n_validation])
    test = np.sort(order[n_validation:])
    return truth.subset(validation), truth.subset(test)


# ------------------------------------------------------------------ metrics (per query; rankings padded with -1)


def clean_rankings(queries: np.ndarray, ranked: np.ndarray, depth: int) -> tuple[np.ndarray, int]:
    """Drop the query itself, repeats and padding from each ranked list; pad with -1 to ``depth``.

    Returns the cleaned (n, depth) rankings and how many self-recommendations were removed, so a
    model that returns its own query is reported, not silently rewarded or punished.
    """
    cleaned = np.full((len(queries), depth), -1, dtype=np.int64)
    self_hits = 0
    for position, (query, rows) in enumerate(zip(queries.tolist(), ranked)):
        rows = np.asarray(rows, dtype=np.int64)
        self_hits += int(np.sum(rows == query))
        rows = rows[(rows >= 0) & (rows != query)]
        _, first = np.unique(rows, return_index=True)
        rows = rows[np.sort(first)][:depth]
        cleaned[position, : len(rows)] = rows
    return cleaned, self_hits


def hit_matrix(ranked: np.ndarray, relevant: list[np.ndarray]) -> np.ndarray:
    """bool (n, depth): is the film at each rank relevant to that query?"""
    hits = np.zeros(ranked.shape, dtype=bool)
    for position, rows in enumerate(relevant):
        hits[position] = np.isin(ranked[position], rows) & (ranked[position] >= 0)
    return hits


def hit_rate(hits: np.ndarray, k: int = K) -> np.ndarray:
    """1 if any of the first k is relevant (HR@k), per query."""
    return hits[:, :k].any(axis=1).astype(np.float64)


def ndcg(hits: np.ndarray, n_relevant: np.ndarray, k: int = K) -> np.ndarray:
    """Binary-relevance nDCG@k: DCG = Σ hit_i / log2(i + 1) over ranks i = 1..k, over the best possible
    DCG with min(k, |relevant|) hits on top."""
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    dcg = (hits[:, :k] * discounts).sum(axis=1)
    ideal = np.cumsum(discounts)[np.minimum(n_relevant, k) - 1]
    return dcg / ideal


def reciprocal_rank(hits: np.ndarray) -> np.ndarray:
    """1 / rank of the first relevant film (0 when none within the ranked depth), per query."""
    found = hits.any(axis=1)
    first = hits.argmax(axis=1) + 1
    return np.where(found, 1.0 / first, 0.0)


def genre_matrix(genres: list[list[str]] | pd.Series) -> tuple[np.ndarray, list[str]]:
    """bool (n_films, n_genres) from the catalog's genre lists, and the genre names (sorted)."""
    lists = [list(value) if value is not None else [] for value in genres]
    names = sorted({name for value in lists for name in value})
    column = {name: index for index, name in enumerate(names)}
    matrix = np.zeros((len(lists), len(names)), dtype=bool)
    for row, value in enumerate(lists):
        matrix[row, [column[name] for name in value]] = True
    return matrix, names


def genre_precision(queries: np.ndarray, ranked: np.ndarray, genres: np.ndarray, k: int = K) -> np.ndarray:
    """Share of the top k that share at least one genre with the query (NaN for a genre-less query)."""
    top = ranked[:, :k]
    shares = (genres[np.maximum(top, 0)] & genres[queries][:, None, :]).any(axis=2) & (top >= 0)
    value = shares.sum(axis=1) / k
    return np.where(genres[queries].any(axis=1), value, np.nan)


def random_genre_precision(queries: np.ndarray, genres: np.ndarray) -> np.ndarray:
    """What a random list scores on genre precision in expectation: the share of the other catalog
    films sharing a genre with the query (NaN for a genre-less query)."""
    shares = (genres.astype(np.int32) @ genres[queries].T.astype(np.int32)) > 0  # (n_films, n_queries)
    count = shares.sum(axis=0) - 1  # the query shares with itself
    value = count / (len(genres) - 1)
    return np.where(genres[queries].any(axis=1), value, np.nan)


def intra_list_diversity(ranked: np.ndarray, genres: np.ndarray, k: int = K) -> np.ndarray:
    """1 − mean pairwise genre Jaccard over the top k (two genre-less films count as dissimilar)."""
    top = ranked[:, :k]
    sets = genres[np.maximum(top, 0)].astype(np.float64) * (top >= 0)[:, :, None]
    inter = sets @ sets.transpose(0, 2, 1)
    sizes = sets.sum(axis=2)
    union = sizes[:, :, None] + sizes[:, None, :] - inter
    jaccard = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
    n = top.shape[1]
    pairs = ~np.eye(n, dtype=bool)
    return 1.0 - jaccard[:, pairs].mean(axis=1)


def self_information(counts: np.ndarray, n_users: int) -> np.ndarray:
    """−log2 p(film), p = (users who rated it + 1) / (users + 1): rarer films carry more bits (novelty);
    the +1 keeps films nobody in train rated finite."""
    return -np.log2((counts + 1.0) / (n_users + 1.0))


def novelty(ranked: np.ndarray, information: np.ndarray, k: int = K) -> np.ndarray:
    """Mean self-information (bits) of the top k, per query."""
    top = ranked[:, :k]
    valid = top >= 0
    return (information[np.maximum(top, 0)] * valid).sum(axis=1) / np.maximum(valid.sum(axis=1), 1)


def coverage(ranked: np.ndarray, n_items: int, k: int = K) -> float:
    """Share of the catalog that appears in at least one top-k list over the query films."""
    top = ranked[:, :k]
    return float(len(np.unique(top[top >= 0])) / n_items)


PER_QUERY_METRICS = ("hr@10", "ndcg@10", "mrr", "genre_precision@10", "diversity@10", "novelty@10")
METRIC_LABELS = {
    "hr@10": "HR@10",
    "ndcg@10": "nDCG@10",
    "mrr": "MRR",
    "genre_precision@10": "Genre precision@10",
    "diversity@10": "Intra-list diversity@10",
    "novelty@10": "Novelty@10 (bits)",
    "coverage@10": "Catalog coverage@10",
}


def rank_metrics(
    truth: GroundTruth, ranked: np.ndarray, genres: np.ndarray, information: np.ndarray, k: int = K
) -> dict[str, np.ndarray]:
    """Every per-query metric for one system's cleaned rankings (rows of ``ranked`` follow ``truth``)."""
    hits = hit_matrix(ranked, truth.relevant)
    n_relevant = np.array([len(rows) for rows in truth.relevant], dtype=np.int64)
    return {
        "hr@10": hit_rate(hits, k),
        "ndcg@10": ndcg(hits, n_relevant, k),
        "mrr": reciprocal_rank(hits),
        "genre_precision@10": genre_precision(truth.queries, ranked, genres, k),
        "diversity@10": intra_list_diversity(ranked, genres, k),
        "novelty@10": novelty(ranked, information, k),
    }


# ------------------------------------------------------------------ bootstrap


@dataclass(frozen=True)
class Interval:
    mean: float
    low: float
    high: float

    def as_dict(self, digits: int = 4) -> dict[str, float]:
        return {"mean": round(self.mean, digits), "low": round(self.low, digits), "high": round(self.high, digits)}


def bootstrap_indices(n: int, resamples: int, seed: int) -> np.ndarray:
    """(resamples, n) query positions drawn with replacement. Reusing one draw for every system and
    metric makes the intervals paired: differences between systems are measured on the same resamples."""
    return np.random.default_rng(seed).integers(0, n, size=(resamples, n))


def bootstrap_ci(values: np.ndarray, indices: np.ndarray, level: float = 0.95) -> Interval:
    """Percentile bootstrap interval of the mean of per-query ``values`` (NaNs ignored)."""
    values = np.asarray(values, dtype=np.float64)
    means = np.nanmean(values[indices], axis=1)
    tail = (1.0 - level) / 2.0 * 100.0
    low, high = np.nanpercentile(means, [tail, 100.0 - tail])
    return Interval(float(np.nanmean(values)), float(low), float(high))


# ------------------------------------------------------------------ one system, end to end


@dataclass
class SystemResult:
    """Per-query metric values plus the set-level coverage for one system on one query set."""

    name: str
    per_query: dict[str, np.ndarray]
    coverage: float
    self_recommendations: int
    ranked: np.ndarray = field(repr=False)

    def intervals(self, indices: np.ndarray, level: float = 0.95) -> dict[str, Interval]:
        return {metric: bootstrap_ci(values, indices, level) for metric, values in self.per_query.items()}


def evaluate_rankings(
    name: str,
    truth: GroundTruth,
    raw_ranked: np.ndarray,
    genres: np.ndarray,
    information: np.ndarray,
    depth: int = DEPTH,
    k: int = K,
) -> SystemResult:
    """Clean a system's raw rankings (the query is never its own recommendation) and score them."""
    ranked, self_hits = clean_rankings(truth.queries, raw_ranked, depth)
    return SystemResult(
        name=name,
        per_query=rank_metrics(truth, ranked, genres, information, k),
        coverage=coverage(ranked, len(genres), k),
        self_recommendations=self_hits,
        ranked=ranked,
    )


def rank_with(system: object, queries: np.ndarray, depth: int = DEPTH, batch: int = 256) -> np.ndarray:
    """A system's raw (n, depth) rankings through the protocol's ``similar_batch``, exactly as the app
    would ask for them (a model that returns its own query is caught later by ``clean_rankings``)."""
    parts = []
    for start in range(0, len(queries), batch):
        rows, _ = system.similar_batch(queries[start : start + batch], depth)  # type: ignore[attr-defined]
        parts.append(np.asarray(rows, dtype=np.int64))
    return np.concatenate(parts) if parts else np.zeros((0, depth), dtype=np.int64)


# ================================================================== three-way protocol (issue 12)
#
# A learned ranker tuned on validation labels and scored on test labels drawn from the *same* people (and
# the same films) can learn those people's tastes and those films' neighbourhoods. The functions below
# keep three walls instead of one:
#
#   users: train | validation | test    (split_users_three; no person on two sides)
#   query films: training | validation | test    (ground_truths + training_queries; no film on two sides)
#
# and add what the learned models need to be reported honestly: intervals over users *and* films
# (two_way_bootstrap), cold-start and long-tail slices, and a ledger of how often test was looked at.
#
# Chosen defaults, measured on the real data (both MovieLens snapshots, 1,278 users, split seed 20240611,
# query seed 20240612); the lead sets them in scripts/evaluate.py, e.g.
#
#     @dataclass(frozen=True)
#     class ThreeWayProtocol:
#         fractions: tuple[float, float, float] = (0.5, 0.25, 0.25)  # train / validation / test users
#         like_threshold: float = ev.LIKE_THRESHOLD
#         min_fans: int = 10          # label-group fans of a query film (was 15 with half the users)
#         min_support: int = 3
#         relevant_per_query: int = 20
#         min_relevant: int = 10
#         validation_fraction: float = 0.4   # of the union of qualifying query films
#         split_seed: int = 20240611
#         query_seed: int = 20240612
#         bootstrap_seed: int = 20240614
#         bootstrap_resamples: int = 200     # two-way: users and films
#         level: float = 0.95
#
# which gives 639 train / 319 validation / 320 test users and 206 validation / 300 test query films
# (min_fans 8: 265 / 376; min_fans 12: 174 / 241; min_support and min_relevant do not bind at these
# fan counts). The train users are exactly split_users(ratings, 0.5, seed).train's users.

THREE_WAY_FRACTIONS = (0.5, 0.25, 0.25)
THREE_WAY_MIN_FANS = 10
THREE_WAY_VALIDATION_FRACTION = 0.4


@dataclass(frozen=True)
class UserGroups:
    """Ratings split by user into three groups: a user's every rating is in exactly one of them.

    ``train``: features and ranker training; ``validation``: labels for tuning and model choice;
    ``test``: labels for the reported numbers only.
    """

    train: pd.DataFrame
    validation: pd.DataFrame
    test: pd.DataFrame


def split_users_three(
    ratings: pd.DataFrame, fractions: tuple[float, float, float] = THREE_WAY_FRACTIONS, seed: int = 20240611
) -> UserGroups:
    """Shuffle the sorted user ids with ``seed`` (as ``split_users`` does) and cut them into train,
    validation and test in that order, with ``fractions`` of the users each (rounded; train takes
    the remainder of the held-out count, validation the remainder of the test count).

    The held-out count is ``round(n · (f_validation + f_test))``, exactly as ``split_users`` rounds
    ``heldout_fraction``, so with the same seed the train users are ``split_users``' train users and
    validation ∪ test are its held-out users: the CF reference and the popularity prior keep learning
    from the same people as before.
    """
    if len(fractions) != 3 or min(fractions) < 0 or not np.isclose(sum(fractions), 1.0):
        raise ValueError(f"fractions must be three non-negative shares summing to 1, got {fractions}")
    users = np.array(sorted(ratings["user"].unique()))
    rng = np.random.default_rng(seed)
    rng.shuffle(users)
    n_heldout = int(round(len(users) * (fractions[1] + fractions[2])))
    n_test = min(int(round(len(users) * fractions[2])), n_heldout)
    n_train = len(users) - n_heldout
    group = np.empty(len(users), dtype=np.int8)
    group[:n_train] = 0
    group[n_train : len(users) - n_test] = 1
    group[len(users) - n_test :] = 2
    group_of = pd.Series(group, index=users)
    labels = group_of.reindex(ratings["user"].to_numpy()).to_numpy()
    parts = [ratings[labels == value].reset_index(drop=True) for value in (0, 1, 2)]
    return UserGroups(train=parts[0], validation=parts[1], test=parts[2])


def split_query_films(
    validation_candidates: np.ndarray, test_candidates: np.ndarray, validation_fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Disjoint validation and test query-film sets (sorted rows).

    Every film that qualifies in either label group is pooled (sorted union), permuted with ``seed``, and
    the first ``round(validation_fraction · |union|)`` go to validation, the rest to test. A film is
    assigned before looking at which group it qualified in, so the assignment carries no information
    about either group's labels; a film assigned to validation that qualifies only among test users (or
    the reverse) is simply not a query anywhere.
    """
    union = np.union1d(np.asarray(validation_candidates, dtype=np.int64), np.asarray(test_candidates, dtype=np.int64))
    order = np.random.default_rng(seed).permutation(len(union))
    n_validation = int(round(len(union) * validation_fraction))
    return np.sort(union[order[:n_validation]]), np.sort(union[order[n_validation:]])


def ground_truths(
    groups: UserGroups,
    n_items: int,
    *,
    like_threshold: float = LIKE_THRESHOLD,
    min_fans: int = THREE_WAY_MIN_FANS,
    min_support: int = 3,
    relevant_per_query: int = 20,
    min_relevant: int = 10,
    validation_fraction: float = THREE_WAY_VALIDATION_FRACTION,
    query_seed: int = 20240612,
) -> tuple[GroundTruth, GroundTruth]:
    """Validation and test ground truths, apart in users AND in query films.

    Validation relevant lists are the co-liked films (``co_liked``) among validation users' likes, test
    lists among test users' likes; the query films of the two are disjoint (``split_query_films``). The
    relevant films themselves may be any catalog film, including another set's query film: only the
    question asked (the query) is walled off, not the catalog the answers come from.

    Defaults: see the ``ThreeWayProtocol`` note above (206 validation / 300 test films on the real data).
    """
    knobs = (min_fans, min_support, relevant_per_query, min_relevant)
    validation = co_liked(like_matrix(groups.validation, n_items, like_threshold), *knobs)
    test = co_liked(like_matrix(groups.test, n_items, like_threshold), *knobs)
    validation_films, test_films = split_query_films(validation.queries, test.queries, validation_fraction, query_seed)
    return (
        validation.subset(np.flatnonzero(np.isin(validation.queries, validation_films))),
        test.subset(np.flatnonzero(np.isin(test.queries, test_films))),
    )


def training_queries(
    likes_train_labels: sp.spmatrix,
    exclude_rows: np.ndarray,
    *,
    min_fans: int = THREE_WAY_MIN_FANS,
    min_support: int = 3,
    relevant_per_query: int = 20,
    min_relevant: int = 10,
    drop_excluded_partners: bool = False,
) -> GroundTruth:
    """Co-liked lists to TRAIN a ranker on: ``co_liked`` over ``likes_train_labels`` (a users × rows like
    matrix of training users only, e.g. the label half of them), without any query film in
    ``exclude_rows`` (pass the validation and test query films, ``np.union1d(validation.queries,
    test.queries)``), so the ranker never practises on a film it is later judged on.

    ``drop_excluded_partners`` also removes excluded films from the relevant lists (a query whose list
    then falls below ``min_relevant`` is dropped). Off by default: the pair (q, t) learnt from training
    users is a different draw of people than (t, q) judged on test users, and removing t from q's list
    would teach the ranker that t is irrelevant whenever it appears as a candidate. Turn it on only
    together with removing those films from the training candidates, for models that could memorise
    film pairs (id features).
    """
    truth = co_liked(likes_train_labels, min_fans, min_support, relevant_per_query, min_relevant)
    exclude = np.asarray(exclude_rows, dtype=np.int64)
    truth = truth.subset(np.flatnonzero(~np.isin(truth.queries, exclude)))
    if not drop_excluded_partners:
        return truth
    keep = [~np.isin(rows, exclude) for rows in truth.relevant]
    filtered = GroundTruth(
        queries=truth.queries,
        relevant=[rows[mask] for rows, mask in zip(truth.relevant, keep)],
        jaccard=[values[mask] for values, mask in zip(truth.jaccard, keep)],
        support=[values[mask] for values, mask in zip(truth.support, keep)],
        likers=truth.likers,
    )
    enough = np.array([int(mask.sum()) >= min_relevant for mask in keep], dtype=bool)
    return filtered.subset(np.flatnonzero(enough))


# ------------------------------------------------------------------ two-way bootstrap (users and films)


@dataclass(frozen=True)
class WeightedRelevance:
    """Co-liked relevance of fixed query films under user weights (one bootstrap resample).

    ``relevant`` is a bool (n_queries, n_items) sparse matrix of each query's top partners;
    ``qualifies`` says which queries still meet the thresholds; ``n_relevant`` = min(partners,
    relevant_per_query)."""

    relevant: sp.csr_matrix
    qualifies: np.ndarray
    n_relevant: np.ndarray


class _LabelLikes:
    """The like matrix and its query columns, prepared once for many weighted recomputations."""

    def __init__(self, likes: sp.spmatrix, queries: np.ndarray) -> None:
        self.binary = sp.csr_matrix(likes, dtype=np.float64)
        self.binary.data[:] = 1.0
        self.binary.eliminate_zeros()
        self.queries = np.asarray(queries, dtype=np.int64)
        self.query_columns_t = self.binary[:, self.queries].T.tocsr()  # (n_queries, n_users)
        self.binary_t = self.binary.T.tocsr()  # (n_items, n_users)

    def relevance(
        self, weights: np.ndarray, min_fans: int, min_support: int, relevant_per_query: int, min_relevant: int
    ) -> WeightedRelevance:
        n_queries, n_items = len(self.queries), self.binary.shape[1]
        likers = np.rint(self.binary_t @ weights).astype(np.int64)  # weighted fans of every film
        co = (self.query_columns_t @ sp.diags(weights) @ self.binary).tocoo()  # weighted co-likers
        rows, cols = co.row.astype(np.int64), co.col.astype(np.int64)
        support = np.rint(co.data).astype(np.int64)
        # co-liked pairs only (a zero-weight user leaves stored zeros); a film is never its own partner
        keep = (support >= max(min_support, 1)) & (cols != self.queries[rows])
        rows, cols, support = rows[keep], cols[keep], support[keep]
        jaccard = support / (likers[self.queries[rows]] + likers[cols] - support)
        partners = np.bincount(rows, minlength=n_queries)
        # Only pairs at or above their query's relevant_per_query-th best Jaccard can be relevant (ties
        # at that value included). One unstable sort finds that value per query; the exact co_liked order
        # (Jaccard, support, lower row) is then sorted on those few pairs, not on every co-liked pair.
        by_jaccard = np.argsort(rows - jaccard)  # per query (Jaccard in (0, 1]), best first, ties in any order
        starts = np.concatenate(([0], np.cumsum(partners)[:-1]))
        nth = np.minimum(partners, max(relevant_per_query, 1)) - 1
        threshold = np.full(n_queries, np.inf)
        has = partners > 0
        threshold[has] = jaccard[by_jaccard[starts[has] + nth[has]]]
        near = jaccard >= threshold[rows] - 1e-9  # a margin for the rounding of rows − Jaccard: a superset is exact
        rows, cols, support, jaccard = rows[near], cols[near], support[near], jaccard[near]
        order = np.lexsort((cols, -support, -jaccard, rows))
        rows, cols = rows[order], cols[order]
        counts = np.bincount(rows, minlength=n_queries)
        starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
        top = (np.arange(len(rows)) - starts[rows]) < relevant_per_query
        relevant = sp.csr_matrix(
            (np.ones(int(top.sum()), dtype=bool), (rows[top], cols[top])), shape=(n_queries, n_items)
        )
        qualifies = (likers[self.queries] >= min_fans) & (partners >= min_relevant)
        return WeightedRelevance(relevant, qualifies, np.minimum(partners, relevant_per_query))


def weighted_relevance(
    likes: sp.spmatrix,
    queries: np.ndarray,
    user_weights: np.ndarray,
    min_fans: int = THREE_WAY_MIN_FANS,
    min_support: int = 3,
    relevant_per_query: int = 20,
    min_relevant: int = 10,
) -> WeightedRelevance:
    """``co_liked`` for the fixed ``queries`` when user u counts ``user_weights[u]`` times (a bootstrap
    draw of users with replacement): fans, supports and Jaccard are weighted counts. With all weights 1
    the relevant sets are exactly ``co_liked``'s for the queries it keeps."""
    return _LabelLikes(likes, queries).relevance(
        np.asarray(user_weights, dtype=np.float64), min_fans, min_support, relevant_per_query, min_relevant
    )


def _per_query_scores(ranked: np.ndarray, relevance: WeightedRelevance, dense: np.ndarray, k: int) -> np.ndarray:
    """(3, n_queries): HR@k, nDCG@k, MRR of one system's cleaned rankings against ``dense`` relevance
    (non-qualifying queries get 0; they are weighted out)."""
    ranked = np.asarray(ranked, dtype=np.int64)
    hits = dense[np.arange(len(ranked))[:, None], np.maximum(ranked, 0)] & (ranked >= 0)
    n_relevant = np.maximum(relevance.n_relevant, 1)
    return np.stack([hit_rate(hits, k), ndcg(hits, n_relevant, k), reciprocal_rank(hits)])


@dataclass(frozen=True)
class TwoWayIntervals:
    """What ``two_way_bootstrap`` returns.

    ``intervals[system][metric]``: point estimate on the real data and the percentile interval over
    resamples. ``differences[f"{a}-{b}"][metric]``: the same for mean(a) − mean(b), both measured on
    every resample's same users and films (paired). ``qualifying[r]``: how many of the fixed query films
    still qualified in resample r (the rest dropped out of it). ``resample_shift[system][metric]``:
    mean over resamples − observed score, removed by centring (0 when not centred)."""

    intervals: dict[str, dict[str, Interval]]
    differences: dict[str, dict[str, Interval]]
    qualifying: np.ndarray
    resample_shift: dict[str, dict[str, float]]
    resamples: int
    level: float


def two_way_bootstrap(
    likes: sp.spmatrix,
    queries: np.ndarray,
    ranked_by_system: dict[str, np.ndarray],
    *,
    pairs: tuple[tuple[str, str], ...] = (),
    min_fans: int = THREE_WAY_MIN_FANS,
    min_support: int = 3,
    relevant_per_query: int = 20,
    min_relevant: int = 10,
    k: int = K,
    resamples: int = 200,
    seed: int = 20240614,
    level: float = 0.95,
    resample_users: bool = True,
    resample_films: bool = True,
    centre: bool = True,
) -> TwoWayIntervals:
    """Intervals for HR@k, nDCG@k and MRR that resample the label users as well as the query films.

    ``likes``: the label group's users × rows like matrix (e.g. ``like_matrix(groups.test, n_items)``);
    ``queries``: the fixed query films (``test.queries``); ``ranked_by_system[name]``: that system's
    cleaned (n_queries, depth) rankings in the same order (``SystemResult.ranked``), which are fixed:
    a system's list for a film does not depend on the label users. The knobs must be the ones that
    built the ground truth, so that resample "all weights 1" is the reported truth (a query film that
    does not qualify on the un-resampled likes raises ValueError: wrong label group or knobs).

    Each resample (one RNG with ``seed``; the draws never depend on the systems, so all systems and
    pairs see the same resamples):
    1. draws len(users) label users with replacement; a user drawn m times counts m times;
    2. recomputes every query film's fans and co-liked relevant list with those weights; a film that no
       longer has ``min_fans`` fans or ``min_relevant`` partners drops out of this resample;
    3. draws len(queries) query films with replacement;
    4. averages each system's per-film HR@k / nDCG@k / MRR over the drawn films that still qualify.

    What the interval means, in plain words: the spread of a system's mean score when both the people
    whose tastes define "relevant" and the films we ask about are re-drawn from populations like ours.
    A film-only bootstrap (``bootstrap_ci``) treats the labels as fixed truth and answers "how much does
    the score depend on which films we happened to test?"; this one also answers "... and on which
    ~300 people we happened to ask?", so it is wider and is the honest one for a claim like "system A
    beats B for MovieLens-like users". It is a percentile interval at ``level`` (an approximate
    confidence interval for the mean over qualifying films), not a range of per-film scores. The
    point estimate (``Interval.mean``) is the score on the real, un-resampled data.

    Why the interval is centred (``centre=True``): the labels are a non-linear function of the users. A
    resample of n users with replacement holds only ~63% distinct people, so its co-liked lists are
    noisier than the real panel's and every system scores lower on them (on the real data: item-kNN
    nDCG@10 0.387 observed, 0.31 on average over user resamples), which would put a plain percentile
    interval entirely below the observed score. That drop is an artefact of resampling, not a property of
    the data (scoring the same films against other real 320-user panels, drawn from the 639 held-out
    users, moves nDCG@10 by about the bootstrap's standard deviation, without that drop), so the users'
    resamples are used for the spread only: the interval is the percentile interval of
    θ* − mean(θ*) + θ̂, and the removed shift mean(θ*) − θ̂ is returned in ``resample_shift`` for the
    record. Film resampling is linear (a weighted mean) and needs no centring; with
    ``resample_users=False`` nothing is shifted and the interval is an ordinary film bootstrap. Centred
    bounds are clipped to the metric's range ([0, 1], differences [−1, 1]).

    ``resample_users=False`` or ``resample_films=False`` switches one half off (for comparison).
    """
    names = list(ranked_by_system)
    queries = np.asarray(queries, dtype=np.int64)
    for name in names:
        if len(ranked_by_system[name]) != len(queries):
            raise ValueError(f"{name}: {len(ranked_by_system[name])} ranked lists for {len(queries)} queries")
    for a, b in pairs:
        if a not in ranked_by_system or b not in ranked_by_system:
            raise ValueError(f"unknown system in pair ({a!r}, {b!r})")
    metrics = (f"hr@{k}", f"ndcg@{k}", "mrr")
    label_likes = _LabelLikes(likes, queries)
    n_users, n_queries, n_items = label_likes.binary.shape[0], len(queries), label_likes.binary.shape[1]
    knobs = (min_fans, min_support, relevant_per_query, min_relevant)
    ranked = [np.asarray(ranked_by_system[name], dtype=np.int64) for name in names]

    def scores(weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        relevance = label_likes.relevance(weights, *knobs)
        dense = relevance.relevant.toarray() if n_items else np.zeros((n_queries, 0), dtype=bool)
        per_query = np.stack([_per_query_scores(lists, relevance, dense, k) for lists in ranked])
        return per_query, relevance.qualifies  # (n_systems, 3, n_queries), (n_queries,)

    def means(per_query: np.ndarray, film_weights: np.ndarray) -> np.ndarray:
        total = film_weights.sum()
        if total == 0:
            return np.full(per_query.shape[:2], np.nan)
        return (per_query * film_weights).sum(axis=2) / total

    ones = np.ones(n_users, dtype=np.float64)
    observed, observed_qualifies = scores(ones)
    if not observed_qualifies.all():
        missing = queries[~observed_qualifies][:5].tolist()
        raise ValueError(
            f"{int((~observed_qualifies).sum())} query films (e.g. rows {missing}) do not qualify on these likes "
            "with these knobs: pass the label group's likes and the knobs that built the ground truth"
        )
    point = means(observed, observed_qualifies.astype(np.float64))

    rng = np.random.default_rng(seed)
    draws = np.empty((resamples, len(names), len(metrics)))
    qualifying = np.empty(resamples, dtype=np.int64)
    for resample in range(resamples):
        if resample_users:
            weights = np.bincount(rng.integers(0, n_users, n_users), minlength=n_users).astype(np.float64)
            per_query, qualifies = scores(weights)
        else:
            per_query, qualifies = observed, observed_qualifies
        if resample_films:
            film_weights = np.bincount(rng.integers(0, n_queries, n_queries), minlength=n_queries).astype(np.float64)
        else:
            film_weights = np.ones(n_queries)
        draws[resample] = means(per_query, film_weights * qualifies)
        qualifying[resample] = int(qualifies.sum())

    tail = (1.0 - level) / 2.0 * 100.0
    shifted = centre and resample_users and resamples > 0

    def shift_of(estimate: float, samples: np.ndarray) -> float:
        return float(np.nanmean(samples) - estimate) if shifted else 0.0

    def interval(estimate: float, samples: np.ndarray, bounds: tuple[float, float] = (0.0, 1.0)) -> Interval:
        if not resamples:
            return Interval(float(estimate), float("nan"), float("nan"))
        low, high = np.clip(np.nanpercentile(samples, [tail, 100.0 - tail]) - shift_of(estimate, samples), *bounds)
        return Interval(float(estimate), float(low), float(high))

    intervals = {
        name: {metric: interval(point[s, m], draws[:, s, m]) for m, metric in enumerate(metrics)}
        for s, name in enumerate(names)
    }
    shifts = {
        name: {metric: shift_of(point[s, m], draws[:, s, m]) for m, metric in enumerate(metrics)}
        for s, name in enumerate(names)
    }
    differences = {}
    for a, b in pairs:
        sa, sb = names.index(a), names.index(b)
        differences[f"{a}-{b}"] = {
            metric: interval(point[sa, m] - point[sb, m], draws[:, sa, m] - draws[:, sb, m], (-1.0, 1.0))
            for m, metric in enumerate(metrics)
        }
    return TwoWayIntervals(intervals, differences, qualifying, shifts, resamples, level)


# ------------------------------------------------------------------ cold start and long tail


def hide_films(train_ratings: pd.DataFrame, rows: np.ndarray) -> pd.DataFrame:
    """``train_ratings`` without any rating of the films in ``rows``: what every trained part (CF
    reference, popularity prior, ranker features and training labels) sees when those films are
    evaluated as "new films nobody has rated yet". Label (validation/test) ratings are left alone."""
    hidden = np.asarray(rows, dtype=np.int64)
    return train_ratings[~train_ratings["row"].isin(hidden)].reset_index(drop=True)


def choose_cold_films(test_truth: GroundTruth, fraction: float, seed: int) -> np.ndarray:
    """A seeded random ``fraction`` of the test query films (sorted rows) to evaluate as cold start:
    hide them from training with ``hide_films`` and score the test truth restricted to them
    (``test_truth.subset(np.flatnonzero(np.isin(test_truth.queries, cold)))``)."""
    order = np.random.default_rng(seed).permutation(len(test_truth))
    n_cold = int(round(len(test_truth) * fraction))
    return np.sort(test_truth.queries[order[:n_cold]])


def fan_counts(likes: sp.spmatrix) -> np.ndarray:
    """Users who liked each column of a like matrix (int64 per catalog row)."""
    return np.asarray((sp.csr_matrix(likes) != 0).sum(axis=0)).ravel().astype(np.int64)


def long_tail_positions(truth: GroundTruth, train_fan_counts: np.ndarray, share: float = 1 / 3) -> tuple[np.ndarray, int]:
    """Positions (into ``truth``) of the long-tail query films and the fan threshold that defines them.

    Long tail = the bottom ``share`` of the query films by how many TRAIN users liked them
    (``fan_counts(like_matrix(groups.train, n_items))``): the threshold is the train-fan count of the
    ⌈share · n⌉-th least-liked query film, and every query film with at most that many train fans is in
    the tail (ties at the threshold are all in, so the tail can be slightly more than ``share``).
    These are the films where CF-like features are thinnest and content has to carry the ranking.
    """
    fans = np.asarray(train_fan_counts, dtype=np.int64)[truth.queries]
    if len(fans) == 0:
        return np.zeros(0, dtype=np.int64), 0
    cut = max(int(np.ceil(len(fans) * share)), 1)
    threshold = int(np.sort(fans)[cut - 1])
    return np.flatnonzero(fans <= threshold), threshold


# ------------------------------------------------------------------ test-scoring ledger


def protocol_hash(protocol: dict) -> str:
    """A short, stable id of everything that fixes the test films and labels (split fractions and seed,
    thresholds, query seed, and ideally the ratings' and catalog's checksums): sha256 of the
    key-sorted JSON, first 16 hex digits."""
    text = json.dumps(protocol, sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def count_test_scorings(ledger_path: Path, protocol_hash_value: str) -> int:
    """How many ledger lines scored the test films of this protocol hash (0 without a ledger)."""
    path = Path(ledger_path)
    if not path.is_file():
        return 0
    count = 0
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise ValueError(f"{path}:{number}: not a JSON line ({error})") from None
        count += record.get("protocol_hash") == protocol_hash_value
    return count


def record_test_scoring(ledger_path: Path, entry: dict, now: datetime | None = None) -> int:
    """Append one JSON line to the test-scoring ledger and return how many times (this one included) the
    test films under ``entry["protocol_hash"]`` have now been scored.

    ``entry`` needs ``protocol_hash`` (``protocol_hash(...)``) and ``systems`` (names scored on test);
    anything else (git commit, note, which metrics) is kept as given. A ``timestamp`` (UTC, ISO 8601) is
    added from ``now`` unless the entry has one. Results should quote the returned count: a test number
    seen after five scorings is weaker evidence than one seen once.
    """
    if not isinstance(entry.get("protocol_hash"), str) or not entry["protocol_hash"]:
        raise ValueError("entry needs a 'protocol_hash' string")
    if not isinstance(entry.get("systems"), (list, tuple)):
        raise ValueError("entry needs a 'systems' list")
    path = Path(ledger_path)
    previous = count_test_scorings(path, entry["protocol_hash"])
    moment = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    record = {"timestamp": moment.isoformat(timespec="seconds"), **entry, "systems": list(entry["systems"])}
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(record, sort_keys=True, ensure_ascii=False) + "\n")
    return previous + 1
