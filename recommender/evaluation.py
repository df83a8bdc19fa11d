"""Offline evaluation protocol: MovieLens ratings -> co-liked ground truth -> ranking metrics with CIs.

Everything here is a pure function of its arguments (data frames, arrays, seeds), so the tests can run
the protocol on a hand-built ratings frame and ``scripts/evaluate.py`` only has to wire the steps:

1. ``load_ratings``: both MovieLens "small" snapshots, joined to catalog rows through TMDB ids, with the
   few people present in both snapshots counted once.
2. ``split_users``: users (not ratings, not time) are split into train and held-out. The CF reference
   learns only from train users; the ground truth comes only from held-out users, so no rating is ever
   both a feature and a label.
3. ``co_liked``: for a query film, the relevant films are those its held-out fans also liked, ranked by
   Jaccard with a minimum support. Query films then split into validation (to tune the hybrid) and test.
4. ``rank_metrics`` + ``bootstrap_ci``: HR@10, nDCG@10, MRR, genre precision, diversity, novelty, with
   paired bootstrap intervals over test query films.
"""
from __future__ import annotations

import gzip
from dataclasses import dataclass, field
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
