"""The catalog's manifest (data/movies.manifest.json): written by the ETL after data/movies.parquet, checked by
load_catalog before it trusts the file. A flipped byte, a truncated or empty file, a missing, unreadable or
foreign manifest is refused with one line naming the command that rebuilds it."""
from __future__ import annotations

import hashlib
import json
import random
import shutil
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from queries.catalog import load_catalog, manifest_path
from queries.errors import ArtifactError
from scripts import etl
from tests.conftest import ROOT

CATALOG = ROOT / "data" / "movies.parquet"
MANIFEST = ROOT / "data" / "movies.manifest.json"
FIX = "python scripts/etl.py"
FLIPS = 40


def copy_catalog(folder: Path) -> Path:
    """The committed catalog and its manifest, copied to ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(CATALOG, folder / CATALOG.name)
    shutil.copy(MANIFEST, folder / MANIFEST.name)
    return folder / CATALOG.name


def refusal(path: Path) -> str:
    """load_catalog refuses ``path``; the one-line message naming the ETL. (A refusal raises, so lru_cache never
    keeps it; each test uses its own tmp path, so no earlier success is cached for it either.)"""
    with pytest.raises(ArtifactError) as excinfo:
        load_catalog(path)
    message = str(excinfo.value)
    assert FIX in message and "\n" not in message, message
    return message


def edit_manifest(path: Path, **changes: object) -> None:
    target = manifest_path(path)
    manifest = json.loads(target.read_text(encoding="utf-8"))
    target.write_text(json.dumps({**manifest, **changes}), encoding="utf-8")


def test_committed_manifest_describes_the_committed_catalog():
    text = MANIFEST.read_text(encoding="utf-8")
    manifest = json.loads(text)
    data = CATALOG.read_bytes()
    assert manifest["sha256"] == hashlib.sha256(data).hexdigest()
    assert manifest["bytes"] == len(data) == 2_017_865
    assert manifest["rows"] == pq.read_metadata(CATALOG).num_rows == 4802
    assert manifest["file"] == "movies.parquet" and manifest["format"] == 1
    assert manifest["produced_by"] == {"script": "scripts/etl.py", "source": "tmdb-5000", "raw": "data/raw/tmdb-5000"}
    assert [column["name"] for column in manifest["schema"]] == etl.CATALOG_SCHEMA.names
    assert manifest["schema"][2] == {"name": "original_title", "type": "string"}
    assert manifest["schema"][3] == {"name": "release_date", "type": "date32[day]"}
    assert manifest["schema"][-1] == {"name": "directors", "type": "list<element: string>"}
    assert text == json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n"  # sorted, indent 2, one \n
    index = json.loads((ROOT / "data" / "index" / "manifest.json").read_text(encoding="utf-8"))
    assert index["catalog"]["sha256"] == manifest["sha256"]  # the index was built from this very file
    assert load_catalog(CATALOG).checksum == manifest["sha256"]


def test_a_copy_with_its_manifest_loads(tmp_path):
    catalog = load_catalog(copy_catalog(tmp_path))
    assert len(catalog) == 4802 and catalog.checksum == json.loads(MANIFEST.read_text())["sha256"]


def test_every_single_byte_flip_is_refused(tmp_path):
    """40 seeded offsets across the file, one flipped byte at a time (same size): none loads. Without the manifest
    several of these files still parse (the check, not the Parquet reader, is what catches them)."""
    original = CATALOG.read_bytes()
    rng = random.Random(11)
    offsets = sorted(rng.sample(range(len(original)), FLIPS))
    still_parses = 0
    for number, offset in enumerate(offsets):
        path = copy_catalog(tmp_path / f"flip{number}")
        damaged = bytearray(original)
        damaged[offset] ^= rng.randrange(1, 256)
        path.write_bytes(bytes(damaged))
        message = refusal(path)
        assert "does not match the sha256 in its manifest" in message, (offset, message)
        try:
            pd.read_parquet(path)
            still_parses += 1
        except Exception:  # noqa: BLE001 - any parse failure is fine here; we only count the silent ones
            pass
    assert len(set(offsets)) == FLIPS and offsets[0] < len(original) // 10 and offsets[-1] > len(original) * 9 // 10
    assert still_parses == 24  # these would have been served without the manifest (the README quotes 24 of 40)


@pytest.mark.parametrize(
    ("damage", "expected"),
    [
        ("truncated", "has 1,008,932 bytes, its manifest says 2,017,865 (truncated or replaced)"),
        ("empty", "has 0 bytes, its manifest says 2,017,865"),
        ("missing catalog", "not found"),
        ("missing manifest", "has no manifest (movies.manifest.json not found)"),
        ("not json manifest", "is unreadable (Expecting property name enclosed in double quotes"),
        ("empty manifest", "is unreadable (Expecting value"),
        ("manifest of another catalog", "has 2,017,865 bytes, its manifest says"),
        ("another sha256", "does not match the sha256 in its manifest"),
        ("other row count", "has 4,802 rows, its manifest says 4,801"),
        ("other schema", "schema differs from its manifest at column 21 (revenue: int64, expected revenue: double)"),
        ("extra column", "schema differs from its manifest at column 25 ((none), expected rating: double)"),
        ("old format", "has an unknown format (expected format 1)"),
        ("not an object", "has an unknown format (expected format 1)"),
        ("no sha256", "is malformed (missing or wrong sha256)"),
    ],
)
def test_damaged_catalog_or_manifest_is_refused(tmp_path, damage, expected):
    path = copy_catalog(tmp_path / "data")
    manifest = json.loads(MANIFEST.read_text(encoding="utf-8"))
    if damage == "truncated":
        path.write_bytes(CATALOG.read_bytes()[: CATALOG.stat().st_size // 2])
    elif damage == "empty":
        path.write_bytes(b"")
    elif damage == "missing catalog":
        path.unlink()
    elif damage == "missing manifest":
        manifest_path(path).unlink()
    elif damage == "not json manifest":
        manifest_path(path).write_text("{not json")
    elif damage == "empty manifest":
        manifest_path(path).write_text("")
    elif damage == "manifest of another catalog":  # a real ETL manifest, for the first 100 films
        other = tmp_path / "other" / "movies.parquet"
        etl.write_catalog(pd.read_parquet(CATALOG).head(100), other, {"script": "tests", "source": "100 films"})
        shutil.copy(manifest_path(other), manifest_path(path))
    elif damage == "another sha256":
        edit_manifest(path, sha256="0" * 64)
    elif damage == "other row count":
        edit_manifest(path, rows=4801)
    elif damage == "other schema":
        edit_manifest(path, schema=[{**column, "type": "double"} if column["name"] == "revenue" else column
                                    for column in manifest["schema"]])
    elif damage == "extra column":
        edit_manifest(path, schema=[*manifest["schema"], {"name": "rating", "type": "double"}])
    elif damage == "old format":
        edit_manifest(path, format=0)
    elif damage == "not an object":
        manifest_path(path).write_text("[]")
    else:
        manifest_path(path).write_text(json.dumps({key: value for key, value in manifest.items() if key != "sha256"}))
    message = refusal(path)
    assert expected in message, message


def test_refusal_is_one_line_naming_the_etl(tmp_path):
    path = copy_catalog(tmp_path)
    manifest_path(path).write_text("{not json")
    assert refusal(path) == (
        f"Catalog manifest {manifest_path(path)} is unreadable (Expecting property name enclosed in double quotes: "
        "line 1 column 2 (char 1)): run `python scripts/etl.py` to rebuild it."
    )
