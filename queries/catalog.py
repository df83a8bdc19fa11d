"""The catalog (data/movies.parquet), loaded once, with the lookup indexes every request uses.

Indexes are plain dicts built at load time, so a request is a dict lookup and a few array reads,
never a scan of the table.

Beside the catalog, ``movies.manifest.json`` records its size, sha256, row count and schema. Whatever
writes a catalog (``scripts/etl.py``, the benchmark's synthetic ones) calls ``write_catalog_manifest``
once the file is complete; ``load_catalog`` checks the file against it before reading a byte of Parquet,
so a flipped byte, a truncated copy or another catalog is refused instead of served.
"""
from __future__ import annotations

import hashlib
import json
import os
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from queries.errors import ArtifactError
from queries.names import NameIndex
from queries.text import normalize

ROOT = Path(__file__).resolve().parents[1]
CATALOG_FILE = "movies.parquet"
MANIFEST_SUFFIX = ".manifest.json"  # movies.parquet -> movies.manifest.json, in the same folder
MANIFEST_FORMAT = 1  # bump when the manifest's layout changes: older manifests are then refused
REBUILD = "run `python scripts/etl.py` to rebuild it"
REQUIRED_COLUMNS = {
    "id", "title", "original_title", "release_date", "release_year", "overview", "tagline", "genres", "keywords",
    "popularity", "vote_average", "vote_count", "budget", "revenue", "return", "cast", "directors",
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


def _title_keys(titles: list[str], original_titles: list[str | None], order: np.ndarray) -> dict[str, tuple[int, ...]]:
    """Normalised title -> rows, then each original title that differs as an alias ("el laberinto del fauno" ->
    Pan's Labyrinth). An alias never shadows a real title: "Amélie" stays the film called Amélie."""
    by_title = _rows_by_key([[normalize(title)] for title in titles], order)
    aliases = [[key] if (key := normalize(original or "")) and key not in by_title else []
               for original in original_titles]
    return {**by_title, **_rows_by_key(aliases, order)}


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
        title_rows=_title_keys(titles, movies.get("original_title", pd.Series([None] * len(movies))).tolist(),
                               most_voted_first),
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


def _fail(problem: str) -> ArtifactError:
    """One line (exception texts can hold newlines) naming the command that fixes it."""
    return ArtifactError(" ".join(f"{problem}: {REBUILD}.".split()))


# ------------------------------------------------------------------ the manifest


def manifest_path(catalog_path: Path) -> Path:
    """Where the manifest of ``catalog_path`` lives: beside it, ``movies.parquet`` -> ``movies.manifest.json``."""
    return catalog_path.with_suffix(MANIFEST_SUFFIX)


def schema_columns(schema: pa.Schema) -> list[dict[str, str]]:
    """Column names and Arrow types, in file order, as the manifest stores them."""
    return [{"name": field.name, "type": str(field.type)} for field in schema]


def write_catalog_manifest(path: Path, produced_by: Mapping[str, str]) -> Path:
    """Describe the finished catalog file at ``path`` in its manifest (written last: a writer that dies
    half-way leaves no manifest vouching for a partial file). Sorted keys and no timestamp, so the same
    catalog always gets the same bytes. ``produced_by`` says what made it (script, source)."""
    metadata = pq.read_metadata(path)
    manifest = {
        "bytes": path.stat().st_size,
        "file": path.name,
        "format": MANIFEST_FORMAT,
        "produced_by": dict(produced_by),
        "rows": metadata.num_rows,
        "schema": schema_columns(metadata.schema.to_arrow_schema()),
        "sha256": file_sha256(path),
    }
    target = manifest_path(path)
    target.write_text(json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8",
                      newline="\n")
    return target


def parse_manifest(path: Path, expected_format: int, fail: Callable[[str], ArtifactError], what: str) -> dict[str, Any]:
    """A manifest one of our scripts wrote (the catalog's, the index's): ``path`` as a JSON object of
    ``expected_format``, or ``fail(problem)`` (an ArtifactError naming the command that rebuilds it)."""
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise fail(f"{what} is unreadable ({exc})") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != expected_format:
        raise fail(f"{what} has an unknown format (expected format {expected_format})")
    return manifest


def read_catalog_manifest(path: Path) -> dict[str, Any]:
    """The manifest of the catalog at ``path``, with the fields the check needs, or ArtifactError."""
    target = manifest_path(path)
    if not target.is_file():
        raise _fail(f"Catalog {path} has no manifest ({target.name} not found)")
    manifest = parse_manifest(target, MANIFEST_FORMAT, _fail, f"Catalog manifest {target}")
    kinds = {"bytes": int, "rows": int, "sha256": str, "schema": list}
    wrong = [key for key, kind in kinds.items()
             if not isinstance(manifest.get(key), kind) or isinstance(manifest.get(key), bool)]
    if wrong:
        raise _fail(f"Catalog manifest {target} is malformed (missing or wrong {', '.join(wrong)})")
    return manifest


def _column_text(column: object) -> str:
    if isinstance(column, dict):
        return f"{column.get('name')}: {column.get('type')}"
    return "(none)" if column is None else repr(column)


def verify_catalog(path: Path) -> str:
    """The file at ``path`` is exactly the catalog its manifest describes: size, sha256, rows, schema.
    Returns the sha256 (``Catalog.checksum``); raises ArtifactError naming the ETL otherwise."""
    manifest = read_catalog_manifest(path)
    size = path.stat().st_size
    if size != manifest["bytes"]:
        raise _fail(f"Catalog {path} has {size:,} bytes, its manifest says {manifest['bytes']:,} (truncated or replaced)")
    checksum = file_sha256(path)
    if checksum != manifest["sha256"]:
        raise _fail(f"Catalog {path} does not match the sha256 in its manifest "
                    f"({checksum[:12]}…, expected {manifest['sha256'][:12]}…: corrupted or edited)")
    try:  # the footer of a file whose bytes are the ones the manifest vouches for
        metadata = pq.read_metadata(path)
        columns = schema_columns(metadata.schema.to_arrow_schema())
    except (OSError, ValueError, pa.ArrowException) as exc:
        raise _fail(f"Catalog {path} is unreadable ({exc})") from exc
    if metadata.num_rows != manifest["rows"]:
        raise _fail(f"Catalog {path} has {metadata.num_rows:,} rows, its manifest says {manifest['rows']:,}")
    if columns != manifest["schema"]:
        expected = manifest["schema"]
        at = next(i for i in range(max(len(columns), len(expected)))
                  if i >= len(columns) or i >= len(expected) or columns[i] != expected[i])
        found = _column_text(columns[at] if at < len(columns) else None)
        wanted = _column_text(expected[at] if at < len(expected) else None)
        raise _fail(f"Catalog {path} schema differs from its manifest at column {at + 1} ({found}, expected {wanted})")
    return checksum


# ------------------------------------------------------------------ loading


@lru_cache(maxsize=4)
def load_catalog(path: Path | None = None) -> Catalog:
    """Read and index the catalog once per process, after checking it against its manifest.
    A missing, corrupt or unreadable file raises ArtifactError naming the fix."""
    path = path or data_dir() / CATALOG_FILE
    if not path.is_file():
        raise _fail(f"Catalog {path} not found")
    checksum = verify_catalog(path)
    try:
        columns = pq.read_schema(path).names
        missing = REQUIRED_COLUMNS - set(columns)
        if missing:
            raise _fail(f"Catalog {path} lacks column(s) {', '.join(sorted(missing))}")
        # Only the served columns, list columns kept as Arrow lists (see arrow_lists).
        table = pq.read_table(path, columns=[name for name in columns if name in REQUIRED_COLUMNS])
        movies = table.to_pandas(types_mapper=lambda kind: pd.ArrowDtype(kind) if pa.types.is_list(kind) else None)
        del table
    except (OSError, ValueError, pa.ArrowException) as exc:
        raise _fail(f"Catalog {path} is unreadable ({exc})") from exc
    if movies.empty:
        raise _fail(f"Catalog {path} has no films")
    return build_catalog_index(movies, path, checksum)
