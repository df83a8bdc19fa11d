"""ETL: the default catalog against the raw CSVs, and The Movies Dataset format with its known quirks."""
from __future__ import annotations

import csv
import gzip
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from queries.catalog import load_catalog
from scripts import etl
from tests.conftest import FIXTURES, RAW, ROOT

SAMPLES = FIXTURES / "movies_dataset"


@pytest.fixture(scope="module")
def default_catalog(tmp_path_factory) -> tuple[Path, pd.DataFrame]:
    out = tmp_path_factory.mktemp("etl")
    etl.run(RAW, "tmdb-5000", out)
    return out, pd.read_parquet(out / "movies.parquet")


def test_row_count_matches_raw_rows_with_a_date(default_catalog, raw_movies):
    _, catalog = default_catalog
    assert len(raw_movies) == 4802  # 4,803 rows, one without a release date
    assert len(catalog) == len(raw_movies)
    assert sorted(catalog["id"]) == sorted(int(row["id"]) for row in raw_movies)


def test_values_match_the_raw_csv(default_catalog, raw_movies, raw_credits):
    _, catalog = default_catalog
    by_id = catalog.set_index("id")
    for row in raw_movies[::97]:  # ~50 films spread over the file
        film = by_id.loc[int(row["id"])]
        assert film["title"] == row["title"]
        assert film["vote_count"] == int(row["vote_count"])
        assert film["budget"] == int(row["budget"])
        assert str(film["release_date"]) == row["release_date"]
        assert film["release_year"] == int(row["release_date"][:4])
        assert list(film["cast"]) == raw_credits[int(row["id"])]["cast"]
        assert list(film["directors"]) == raw_credits[int(row["id"])]["directors"]


def test_known_film_avatar(default_catalog):
    _, catalog = default_catalog
    avatar = catalog.set_index("id").loc[19995]
    assert avatar["title"] == "Avatar"
    assert avatar["vote_count"] == 11800
    assert list(avatar["directors"]) == ["James Cameron"]
    assert list(avatar["cast"][:3]) == ["Sam Worthington", "Zoe Saldana", "Sigourney Weaver"]
    assert list(avatar["genres"]) == ["Action", "Adventure", "Fantasy", "Science Fiction"]
    assert avatar["return"] == pytest.approx(2787965087 / 237000000)


def test_return_is_zero_when_budget_is_zero(default_catalog):
    _, catalog = default_catalog
    assert (catalog.loc[catalog["budget"] == 0, "return"] == 0).all()
    paid = catalog[catalog["budget"] > 0]
    assert paid["return"].to_numpy() == pytest.approx((paid["revenue"] / paid["budget"]).to_numpy())


def test_unused_columns_are_dropped(default_catalog):
    _, catalog = default_catalog
    assert not set(etl.UNUSED_COLUMNS) & set(catalog.columns)
    assert list(catalog.columns) == etl.CATALOG_SCHEMA.names


def test_output_is_byte_identical_and_matches_the_committed_catalog(default_catalog, tmp_path):
    out, _ = default_catalog
    etl.run(RAW, "tmdb-5000", tmp_path)
    fresh = (tmp_path / "movies.parquet").read_bytes()
    assert fresh == (out / "movies.parquet").read_bytes()
    assert fresh == (ROOT / "data" / "movies.parquet").read_bytes(), "data/movies.parquet was not made by the ETL"
    manifest = (tmp_path / "movies.manifest.json").read_bytes()
    assert manifest == (out / "movies.manifest.json").read_bytes()
    assert manifest == (ROOT / "data" / "movies.manifest.json").read_bytes(), "data/movies.manifest.json was not made by the ETL"
    assert (tmp_path / "README.md").read_text() == (out / "README.md").read_text()
    assert (tmp_path / "README.md").read_text() == (ROOT / "data" / "README.md").read_text(), "data/README.md is stale"


def test_data_card_reports_sources_and_drops(default_catalog):
    out, _ = default_catalog
    card = (out / "README.md").read_text()
    assert "Films: **4,802**" in card
    assert "| no release date | 1 |" in card
    assert "MovieLens licence" in card and "kaggle.com/datasets/tmdb" in card


# ------------------------------------------------------------------ The Movies Dataset format


def write_movies_dataset(folder: Path) -> None:
    """Real sample rows plus the quirks of the full file: a shifted row whose id is a date,
    a duplicate id, a film with no release date; credits with Python-literal cast and crew."""
    with open(SAMPLES / "movies_metadata_head.csv", newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        header, rows = reader.fieldnames, list(reader)
    shifted = dict(zip(header, ["- Written by Ørnås"] + [rows[3][name] for name in header[:-1]]))
    shifted["id"] = "1997-08-20"
    duplicate = dict(rows[0], title="Toy Story (duplicate row)")
    undated = dict(rows[1], id="999001", release_date="")
    with open(folder / "movies_metadata.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, header)
        writer.writeheader()
        writer.writerows(rows[:10] + [shifted] + rows[10:] + [duplicate, undated])

    crew_by_id = {row["id"]: row["crew"] for row in csv.DictReader(open(SAMPLES / "credits_head_crew_only.csv"))}
    with open(folder / "credits.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["cast", "crew", "id"])
        for row in rows:
            cast = (
                "[{'cast_id': 14, 'character': 'Buzz Lightyear (voice)', 'name': 'Tim Allen', 'order': 1}, "
                "{'cast_id': 13, 'character': 'Woody (voice)', 'name': 'Tom Hanks', 'order': 0}]"
                if row["id"] == "862" else "[]"
            )
            writer.writerow([cast, crew_by_id.get(row["id"], "[]"), row["id"]])
    shutil.copy(SAMPLES / "keywords_head.csv", folder / "keywords.csv")


@pytest.fixture()
def movies_dataset(tmp_path) -> Path:
    write_movies_dataset(tmp_path)
    return tmp_path


def test_movies_dataset_quirks_are_handled(movies_dataset, tmp_path):
    out = tmp_path / "out"
    catalog, report = etl.build_catalog(movies_dataset, "movies-dataset")
    assert report.files == {"movies_metadata.csv": 32, "keywords.csv": 29, "credits.csv": 29}
    assert report.dropped == {
        "id is not an integer (malformed row)": 1, "no release date": 1, "duplicate id (first occurrence kept)": 1,
    }
    assert len(catalog) == 29
    toy_story = catalog.set_index("id").loc[862]
    assert toy_story["title"] == "Toy Story"  # the first of the duplicated ids is kept
    assert toy_story["belongs_to_collection"] == "Toy Story Collection"
    assert list(toy_story["genres"]) == ["Animation", "Comedy", "Family"]
    assert list(toy_story["cast"]) == ["Tom Hanks", "Tim Allen"]  # ordered by billing, not file order
    assert list(toy_story["directors"]) == ["John Lasseter"]
    assert "jealousy" in list(toy_story["keywords"])
    assert toy_story["return"] == pytest.approx(373554033 / 30000000)
    assert str(toy_story["release_date"]) == "1995-10-30"
    jumanji = catalog.set_index("id").loc[8844]
    assert jumanji["belongs_to_collection"] is None or pd.isna(jumanji["belongs_to_collection"])
    assert list(jumanji["spoken_languages"]) == ["English", "Français"]

    assert etl.main(["--source", "movies-dataset", "--raw", str(movies_dataset), "--out", str(out)]) == 0
    assert len(pd.read_parquet(out / "movies.parquet")) == 29
    manifest = json.loads((out / "movies.manifest.json").read_text())
    assert manifest["rows"] == 29 and manifest["produced_by"]["source"] == "movies-dataset"
    assert len(load_catalog(out / "movies.parquet")) == 29  # the app accepts what the ETL wrote


def test_movies_dataset_accepts_gzipped_files_and_no_keywords(movies_dataset):
    for name in ("movies_metadata.csv", "credits.csv"):
        path = movies_dataset / name
        with open(path, "rb") as plain, gzip.open(f"{path}.gz", "wb") as packed:
            packed.write(plain.read())
        path.unlink()
    (movies_dataset / "keywords.csv").unlink()
    catalog, report = etl.build_catalog(movies_dataset, "movies-dataset")
    assert len(catalog) == 29
    assert "no keywords file: keyword lists are empty" in report.notes


def test_crew_only_credits_are_refused_with_the_file_named(movies_dataset):
    shutil.copy(SAMPLES / "credits_head_crew_only.csv", movies_dataset / "credits.csv")
    with pytest.raises(etl.EtlError, match=r"credits\.csv: missing column\(s\) cast"):
        etl.build_catalog(movies_dataset, "movies-dataset")


def test_unparsable_nested_cell_names_file_row_and_column(movies_dataset):
    path = movies_dataset / "movies_metadata.csv"
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame.loc[4, "genres"] = "[{'id': 18, 'name': 'Drama'"  # truncated literal
    frame.to_csv(path, index=False)
    with pytest.raises(etl.EtlError, match=r"movies_metadata\.csv: data row 5, column 'genres'"):
        etl.build_catalog(movies_dataset, "movies-dataset")


def test_bad_date_and_bad_number_are_errors_not_silent_drops(movies_dataset):
    path = movies_dataset / "movies_metadata.csv"
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame.loc[2, "release_date"] = "30/10/1995"
    frame.to_csv(path, index=False)
    with pytest.raises(etl.EtlError, match=r"data row 3, column 'release_date'"):
        etl.build_catalog(movies_dataset, "movies-dataset")
    frame.loc[2, "release_date"] = "1995-10-30"
    frame.loc[6, "budget"] = "lots"
    frame.to_csv(path, index=False)
    with pytest.raises(etl.EtlError, match=r"data row 7, column 'budget': 'lots' is not a number"):
        etl.build_catalog(movies_dataset, "movies-dataset")


def test_missing_folder_or_file_is_a_clear_error(tmp_path, capsys):
    assert etl.main(["--source", "movies-dataset", "--raw", str(tmp_path), "--out", str(tmp_path / "o")]) == 2
    assert "missing movies_metadata.csv" in capsys.readouterr().err
