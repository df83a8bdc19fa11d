"""The catalog (data/movies.parquet), loaded once, with the lookup indexes every request uses.

Indexes are plain dicts built at load time, so a request is a dict lookup and a few array reads,
never a scan of the table.
"""
from __future__ import annotations

import hashlib
import os
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from queries.errors import ArtifactError
from queries.names import NameIndex
from queries.text import normalize

ROOT = Path(__file__).resolve().parents[1]
CATALOG_FILE = "movies.parquet"
REQUIRED_COLUMNS = {
    "id", "title", "release_date", "release_year", "overview", "tagline", "genres", "keywords", "popularity",
    "vote_average", "vote_count", "budget", "revenue", "return", "cast", "directors",
}  # what the app, the index build and the evaluation read; the EDA reads the file itself for the rest
LIST_COLUMNS = ("genres", "keywords", "cast", "directors")


def data_dir() -> Path:
    """Where artifacts live; MOVIES_DATA_DIR points the app at another catalog (e.g. the full Kaggle one)."""
    return Path(os.environ.get("MOVIES_DATA_DIR", ROOT / "data"))


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class Catalog:
    """The films plus indexes. Row numbers (0..n-1) are the ids shared with the recommenders."""

    movies: pd.DataFrame
    path: Path
    checksum: str
    labels: list[str]  # "Titanic (1997)": title and year, unique enough to show to people
    title_rows: dict[str, tuple[int, ...]]  # normalised title -> rows, most-voted first
    cast_index: NameIndex  # normalised actor name -> rows in release order, and the name as credited
    director_index: NameIndex
    month_counts: tuple[int, ...]  # films released per month, January first
    weekday_counts: tuple[int, ...]  # films released per weekday, Monday first
    row_by_id: dict[int, int]  # TMDB id -> row
    scalars: dict[str, list]  # scalar columns as Python lists: a row read is ~50 ns, not pandas' ~5 µs

    def __len__(self) -> int:
        return len(self.movies)

    def column(self, name: str) -> list:
        """A scalar column as a plain list (dates as YYYY-MM-DD strings)."""
        return self.scalars[name]


def _rows_by_key(keys_per_row: list[list[str]], order: np.ndarray) -> dict[str, tuple[int, ...]]:
    """key -> rows in ``order``; keys with more films come first, so fuzzy ties favour well-known names."""
    index: dict[str, list[int]] = defaultdict(list)
    for row in order.tolist():
        for key in dict.fromkeys(keys_per_row[row]):  # a name twice in one film counts once
            index[key].append(row)
    by_size = sorted(index.items(), key=lambda item: -len(item[1]))
    return {key: tuple(rows) for key, rows in by_size}


def arrow_lists(movies: pd.DataFrame) -> pd.DataFrame:
    """List columns as Arrow lists (pd.ArrowDtype): one string buffer per column instead of a Python list of
    Python strings per film, whose cost grows with the catalog (see "app at scale" in data/bench/RESULTS.md)."""
    converted = {
        name: pd.Series(pd.arrays.ArrowExtensionArray(pa.array(movies[name], from_pandas=True)), index=movies.index)
        for name in LIST_COLUMNS
        if name in movies.columns and not isinstance(movies[name].dtype, pd.ArrowDtype)
    }
    return movies.assign(**converted) if converted else movies


def build_catalog_index(movies: pd.DataFrame, path: Path, checksum: str) -> Catalog:
    """Build every lookup index once; pure so tests can index a slice of the real catalog."""
    movies = arrow_lists(movies.reset_index(drop=True))
    titles = movies["title"].fillna("").tolist()
    years = movies["release_year"].tolist()
    labels = [f"{title} ({year})" for title, year in zip(titles, years)]

    most_voted_first = np.argsort(-movies["vote_count"].to_numpy(), kind="stable")
    by_release = np.argsort(movies["release_date"].astype("datetime64[s]").to_numpy(), kind="stable")
    dates = pd.to_datetime(movies["release_date"])
    months = np.bincount(dates.dt.month.to_numpy() - 1, minlength=12)
    weekdays = np.bincount(dates.dt.day_of_week.to_numpy(), minlength=7)
    return Catalog(
        movies=movies,
        path=path,
        checksum=checksum,
        labels=labels,
        title_rows=_rows_by_key([[normalize(t)] for t in titles], most_voted_first),
        cast_index=NameIndex(movies["cast"], by_release, normalize),
        director_index=NameIndex(movies["directors"], by_release, normalize),
        month_counts=tuple(int(n) for n in months),
        weekday_counts=tuple(int(n) for n in weekdays),
        row_by_id={int(movie_id): row for row, movie_id in enumerate(movies["id"].tolist())},
        scalars=_scalar_columns(movies),
    )


def _scalar_columns(movies: pd.DataFrame) -> dict[str, list]:
    scalars = {
        name: movies[name].tolist()
        for name in ("id", "title", "release_year", "popularity", "vote_average", "vote_count", "budget", "revenue", "return")
    }
    scalars["release_date"] = [str(date) for date in movies["release_date"].tolist()]
    return scalars


@lru_cache(maxsize=4)
def load_catalog(path: Path | None = None) -> Catalog:
    """Read and index the catalog once per process. A missing or unreadable file names the fix."""
    path = path or data_dir() / CATALOG_FILE
    fix = "run `python scripts/etl.py` to rebuild it"
    if not path.is_file():
        raise ArtifactError(f"Catalog {path} not found: {fix}.")
    try:
        columns = pq.read_schema(path).names
        missing = REQUIRED_COLUMNS - set(columns)
        if missing:
            raise ArtifactError(f"Catalog {path} lacks column(s) {', '.join(sorted(missing))}: {fix}.")
        # Only the served columns, list columns kept as Arrow lists (see arrow_lists).
        table = pq.read_table(path, columns=[name for name in columns if name in REQUIRED_COLUMNS])
        movies = table.to_pandas(types_mapper=lambda kind: pd.ArrowDtype(kind) if pa.types.is_list(kind) else None)
        del table
    except (OSError, ValueError, pa.ArrowException) as exc:
        raise ArtifactError(f"Catalog {path} is unreadable ({exc}): {fix}.") from exc
    if movies.empty:
        raise ArtifactError(f"Catalog {path} has no films: {fix}.")
    return build_catalog_index(movies, path, file_sha256(path))
