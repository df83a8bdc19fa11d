"""What the learned rankers read about a (query film, candidate film) pair: one function for training and serving.

A ranker re-orders a candidate pool (the union of a few base models' top lists) using features that
describe each pair. ``pair_features`` computes them for one query film and its candidates; the training
script calls it for thousands of training queries and the app for one query, so the trained model and the
served model read exactly the same numbers.

Two feature sets, one per intent:

* ``CONTENT_FEATURES`` ("Parecidas"): each text model's similarity and rank, and what the films share
  (director, lead actors, keywords, genres, era). No ratings and no popularity: it works for any film.
* ``FANS_FEATURES`` ("A quien le gustó… también le gustó"): the content features plus behaviour learned
  from the MovieLens training users: item-to-item co-liking (``CoLiked``) and how many of them rated each
  film, plus the catalog's TMDB vote count and average.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from queries.catalog import Catalog

TEXT_MODELS = ("seed_tfidf", "tfidf", "embedding")  # candidate sources and similarity features of both rankers
LEAD_CAST = 5  # first-billed actors compared; the rest of a cast list is mostly extras
MISSING_RANK = 1000.0  # rank of a candidate a source did not return in its top list

CONTENT_FEATURES = (
    "seed_tfidf_score", "tfidf_score", "embedding_score",
    "seed_tfidf_relative", "tfidf_relative", "embedding_relative",
    "seed_tfidf_rank", "tfidf_rank", "embedding_rank",
    "shared_directors", "shared_lead_cast", "shared_keywords", "keyword_jaccard", "genre_jaccard",
    "year_gap",
)
BEHAVIOUR_FEATURES = (
    "co_liked_score", "co_liked_relative", "co_liked_rank", "candidate_raters", "query_raters", "candidate_votes", "candidate_vote_average",
)
FANS_FEATURES = CONTENT_FEATURES + BEHAVIOUR_FEATURES

FEATURE_LABELS_ES = {  # how the "why" column names each feature for people
    "seed_tfidf_score": "Receta original: mismo género, lema, actor o director",
    "tfidf_score": "Argumento y palabras clave parecidos (TF-IDF)",
    "embedding_score": "Descripción parecida (embeddings)",
    "seed_tfidf_relative": "Receta original: de las más parecidas",
    "tfidf_relative": "TF-IDF: de las más parecidas",
    "embedding_relative": "Embeddings: de las más parecidas",
    "seed_tfidf_rank": "Puesto en la receta original",
    "tfidf_rank": "Puesto en TF-IDF",
    "embedding_rank": "Puesto en embeddings",
    "shared_directors": "Mismo director",
    "shared_lead_cast": "Comparten actores principales",
    "shared_keywords": "Palabras clave en común",
    "keyword_jaccard": "Proporción de palabras clave en común",
    "genre_jaccard": "Géneros en común",
    "year_gap": "Época cercana",
    "co_liked_prior": "Lo que más gusta a sus fans (punto de partida)",
    "co_liked_score": "A sus fans también les gustó (MovieLens)",
    "co_liked_relative": "De las que más gustan a sus fans",
    "co_liked_rank": "Puesto entre las que gustan a sus fans",
    "candidate_raters": "Muy vista en MovieLens",
    "query_raters": "Cuánto se sabe de la película elegida",
    "candidate_votes": "Muchos votos en TMDB",
    "candidate_vote_average": "Buena nota en TMDB",
}


def monotone_constraints(names: tuple[str, ...]) -> list[int]:
    """LightGBM monotone constraints: a higher similarity or more shared people can only help, a worse
    rank can only hurt. Keeps a ranker trained on a few hundred films from learning noise backwards."""
    shared = {"shared_directors", "shared_lead_cast", "shared_keywords", "keyword_jaccard", "genre_jaccard"}
    return [1 if name.endswith(("_score", "_relative")) or name in shared else -1 if name.endswith("_rank") else 0
            for name in names]


def co_liked_prior(features: np.ndarray, names: tuple[str, ...]) -> np.ndarray:
    """The fans ranker's starting score: 1 / log2(1 + the candidate's rank among the query's co-liked films),
    0 outside that list, i.e. item-kNN's own order. The booster learns corrections on top of it."""
    ranks = features[:, names.index("co_liked_rank")]
    return np.where(ranks < MISSING_RANK, 1.0 / np.log2(ranks + 1.0), 0.0)


def log_share(counts: np.ndarray, total: int) -> np.ndarray:
    """log(1 + count) scaled by log(1 + total): a popularity in [0, 1] that means the same whether the
    counts come from half of the training users (ranker training) or all of them (serving)."""
    return np.log1p(np.asarray(counts, dtype=np.float64)) / np.log1p(max(total, 1))


@dataclass(frozen=True)
class CoLiked:
    """Item-to-item collaborative filtering, precomputed: each film's most co-liked films among a set of users.

    ``rows``/``scores`` (n_films, depth): cosine between the films' columns of the users × films like
    matrix, best first, padded with -1 / 0. ``raters``: how many of those users rated each film (any
    rating). A film nobody rated has an empty list: the fans ranker then falls back to content.
    """

    rows: np.ndarray  # int32 (n, depth)
    scores: np.ndarray  # float32 (n, depth)
    raters: np.ndarray  # int32 (n,)
    users: int

    def neighbours(self, row: int) -> tuple[np.ndarray, np.ndarray]:
        valid = self.rows[row] >= 0
        return self.rows[row][valid].astype(np.int64), self.scores[row][valid].astype(np.float32)

    def rated_films(self) -> np.ndarray:
        """Whether each film has a co-liked list (bool per row): False for films nobody in these users rated."""
        return self.rows[:, 0] >= 0


def co_liked_lists(likes: sp.csr_matrix, raters: np.ndarray, users: int, depth: int) -> CoLiked:
    """``CoLiked`` from a users × films like matrix: cosine of film columns, top ``depth`` per film (ties:
    lower row). Films with no likes get an empty list."""
    columns = sp.csc_matrix(likes, dtype=np.float32)
    norms = np.sqrt(np.asarray(columns.multiply(columns).sum(axis=0)).ravel())
    items = sp.csr_matrix(columns @ sp.diags(1.0 / np.maximum(norms, 1e-12)).astype(np.float32)).T.tocsr()
    n = items.shape[0]
    rows = np.full((n, depth), -1, dtype=np.int32)
    scores = np.zeros((n, depth), dtype=np.float32)
    for start in range(0, n, 512):
        block = (items[start:start + 512] @ items.T).tocsr()
        for offset in range(block.shape[0]):
            row = start + offset
            begin, end = block.indptr[offset], block.indptr[offset + 1]
            partners, values = block.indices[begin:end], block.data[begin:end]
            keep = (partners != row) & (values > 0)
            partners, values = partners[keep], values[keep]
            order = np.lexsort((partners, -values))[:depth]
            rows[row, :len(order)] = partners[order]
            scores[row, :len(order)] = values[order]
    return CoLiked(rows=rows, scores=scores, raters=np.asarray(raters, dtype=np.int32), users=int(users))


@dataclass(frozen=True)
class FilmFacts:
    """Per-film metadata as arrays, read once from the catalog: incidence matrices for what two films can
    share, and the numbers the features compare."""

    directors: sp.csr_matrix
    lead_cast: sp.csr_matrix
    keywords: sp.csr_matrix
    genres: sp.csr_matrix
    year: np.ndarray  # float, NaN when unknown
    votes: np.ndarray  # log_share of TMDB vote counts
    vote_average: np.ndarray

    @classmethod
    def from_catalog(cls, catalog: Catalog) -> FilmFacts:
        # Imported here: a serving app builds the facts only on first live use, so scikit-learn is no start-up import.
        from sklearn.preprocessing import MultiLabelBinarizer

        movies = catalog.movies

        def incidence(values) -> sp.csr_matrix:
            lists = [list(value) if value is not None else [] for value in values]
            return sp.csr_matrix(MultiLabelBinarizer(sparse_output=True).fit_transform(lists), dtype=np.float32)

        votes = movies["vote_count"].fillna(0).to_numpy(dtype=np.float64)
        return cls(
            directors=incidence(movies["directors"]),
            lead_cast=incidence([list(cast)[:LEAD_CAST] if cast is not None else [] for cast in movies["cast"]]),
            keywords=incidence(movies["keywords"]),
            genres=incidence(movies["genres"]),
            year=movies["release_year"].to_numpy(dtype=np.float64),
            votes=log_share(votes, int(votes.max()) if len(votes) else 1),
            vote_average=movies["vote_average"].fillna(0).to_numpy(dtype=np.float64),
        )


def _shared(matrix: sp.csr_matrix, row: int, candidates: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(shared count, query size, candidate sizes) of one facet for each candidate."""
    shared = np.asarray((matrix[candidates] @ matrix[row].T).todense()).ravel()
    sizes = np.diff(matrix.indptr)
    return shared, np.full(len(candidates), sizes[row], dtype=np.float64), sizes[candidates].astype(np.float64)


def _jaccard(shared: np.ndarray, first: np.ndarray, second: np.ndarray) -> np.ndarray:
    union = first + second - shared
    return np.divide(shared, union, out=np.zeros_like(shared, dtype=np.float64), where=union > 0)


def _relative(scores: np.ndarray) -> np.ndarray:
    """Scores divided by the query's best one: trees cannot normalise per query, and what matters is how a
    candidate compares with the query's other candidates, not the raw cosine (which varies by film)."""
    top = scores.max() if len(scores) else 0.0
    return scores / top if top > 0 else np.zeros_like(scores)


def _ranks(candidates: np.ndarray, listed: np.ndarray) -> np.ndarray:
    """Rank (1 = first) of each candidate in a source's list, MISSING_RANK when absent."""
    position = {int(row): rank for rank, row in enumerate(listed.tolist(), start=1)}
    return np.array([position.get(int(row), MISSING_RANK) for row in candidates.tolist()], dtype=np.float64)


def candidate_pool(row: int, lists: Mapping[str, np.ndarray]) -> np.ndarray:
    """The union of the sources' lists (sorted rows), the query film itself removed."""
    pool = np.unique(np.concatenate([np.asarray(rows, dtype=np.int64) for rows in lists.values()] or [np.zeros(0, np.int64)]))
    return pool[(pool >= 0) & (pool != row)]


def pair_features(
    row: int,
    candidates: np.ndarray,
    lists: Mapping[str, np.ndarray],
    text_models: Mapping[str, object],
    facts: FilmFacts,
    names: tuple[str, ...],
    co_liked: CoLiked | None = None,
) -> np.ndarray:
    """The (len(candidates), len(names)) feature matrix for query film ``row``.

    ``lists``: each source's ranked rows for this query (TEXT_MODELS, plus "co_liked" for the fans
    ranker); ``text_models`` must offer ``pair_scores(row, candidates)`` (exact similarity, so a candidate
    one model did not list still gets that model's score).
    """
    candidates = np.asarray(candidates, dtype=np.int64)
    columns: dict[str, np.ndarray] = {}
    for name in TEXT_MODELS:
        if f"{name}_score" in names:
            columns[f"{name}_score"] = np.asarray(text_models[name].pair_scores(row, candidates), dtype=np.float64)
            columns[f"{name}_relative"] = _relative(columns[f"{name}_score"])
            columns[f"{name}_rank"] = _ranks(candidates, lists[name])
    directors, _, _ = _shared(facts.directors, row, candidates)
    cast, _, _ = _shared(facts.lead_cast, row, candidates)
    keywords, query_keywords, candidate_keywords = _shared(facts.keywords, row, candidates)
    genres, query_genres, candidate_genres = _shared(facts.genres, row, candidates)
    columns.update(
        shared_directors=directors, shared_lead_cast=cast, shared_keywords=keywords,
        keyword_jaccard=_jaccard(keywords, query_keywords, candidate_keywords),
        genre_jaccard=_jaccard(genres, query_genres, candidate_genres),
        year_gap=np.abs(facts.year[candidates] - facts.year[row]),
    )
    if co_liked is not None:
        listed, scores = co_liked.neighbours(row)
        score_of = dict(zip(listed.tolist(), scores.tolist()))
        columns["co_liked_score"] = np.array([score_of.get(int(c), 0.0) for c in candidates.tolist()], dtype=np.float64)
        columns["co_liked_relative"] = _relative(columns["co_liked_score"])
        columns["co_liked_rank"] = _ranks(candidates, listed)
        columns["candidate_raters"] = log_share(co_liked.raters[candidates], co_liked.users)
        columns["query_raters"] = np.full(len(candidates), log_share(co_liked.raters[row:row + 1], co_liked.users)[0])
        columns["candidate_votes"] = facts.votes[candidates]
        columns["candidate_vote_average"] = facts.vote_average[candidates]
    missing = [name for name in names if name not in columns]
    if missing:
        raise ValueError(f"Features {missing} need signals that were not given (co_liked?).")
    return np.column_stack([columns[name] for name in names]) if len(candidates) else np.zeros((0, len(names)))
