"""The benchmark's functions produce well-formed rows on tiny inputs (no timing assertions, no app launch,
no sentence model: a fake encoder stands in for MiniLM)."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from queries.catalog import load_catalog

from recommender import benchmark
from recommender.benchmark import ROW_KEYS

ROOT = Path(__file__).resolve().parents[1]
FILMS = 2_000
DIMENSION = 32


def fake_encode(text: str) -> np.ndarray:
    """A deterministic unit (1, d) vector per text, like LazySentenceModel.encode_query."""
    vector = np.random.default_rng(abs(hash(text)) % 2**32).standard_normal((1, DIMENSION)).astype(np.float32)
    return vector / np.linalg.norm(vector)


def check_rows(rows: list[dict], section: str | None = None) -> None:
    assert rows
    for row in rows:
        assert set(ROW_KEYS) <= set(row), row
        if section:
            assert row["section"] == section
        assert isinstance(row["what"], str) and row["what"]
        assert row["unit"] in {"ms", "s", "MB", "KB"}
        if row["p50"] is not None and row["p95"] is not None and row["unit"] == "ms":
            assert 0 <= row["p50"] <= row["p95"]
        assert row["meets_target"] in (None, True, False)
        if row["meets_target"] is not None:
            assert row["target"]
    json.dumps(rows)  # the --json output must serialise


@pytest.fixture(scope="module")
def like_matrices():
    """Small real-looking TF-IDF matrices (rows with a handful of terms) to copy the shape of."""
    rng = np.random.default_rng(1)
    seed = sp.random(300, 500, density=0.02, format="csr", random_state=rng, dtype=np.float32)
    rich = sp.random(300, 800, density=0.05, format="csr", random_state=rng, dtype=np.float32)
    return seed, rich


def test_row_fills_every_key_and_rounds():
    row = benchmark.row("scaling", "x", 1.23456, 2.5, films=10, speedup=12.345, memory_mb=1.26,
                        **benchmark.judged(2.5, 2.0, "p95"))
    assert set(row) == set(ROW_KEYS)
    assert row["p50"] == 1.235 and row["speedup"] == 12.3 and row["memory_mb"] == 1.3
    assert row["target"] == "p95 ≤ 2 ms" and row["meets_target"] is False
    assert benchmark.row("app", "nan", float("nan"))["p50"] is None


def test_synthetic_tfidf_keeps_the_shape_and_normalises_rows(like_matrices):
    seed, _ = like_matrices
    matrix = benchmark.synthetic_tfidf(seed, FILMS)
    assert matrix.shape == (FILMS, seed.shape[1]) and matrix.dtype == np.float32
    norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1))).ravel()
    assert np.allclose(norms[norms > 0], 1, atol=1e-5)


def test_synthetic_vectors_are_unit_and_deterministic():
    like = benchmark.synthetic_vectors(50, DIMENSION, seed=3)
    derived = benchmark.synthetic_vectors(FILMS, like=like)
    assert derived.shape == (FILMS, DIMENSION) and derived.dtype == np.float32
    assert np.allclose(np.linalg.norm(derived, axis=1), 1, atol=1e-5)
    assert np.array_equal(derived, benchmark.synthetic_vectors(FILMS, like=like))


def test_original_recipe_answer_matches_the_inverted_index(like_matrices):
    from recommender.tfidf import TfidfRecommender

    matrix = benchmark.synthetic_tfidf(like_matrices[0], 300)
    model = TfidfRecommender("seed_tfidf", "seed", matrix)
    for film in (0, 7, 42):
        ours = model.similar(film, 5)
        original = benchmark.original_recipe_answer(matrix, film, 5)
        # same scores (ties may order differently)
        scores = (matrix[film] @ matrix[original].T).toarray().ravel()
        assert np.allclose(np.sort(scores)[::-1], ours.scores[: len(scores)], atol=1e-5)


def test_scaling_rows_on_a_small_synthetic_catalog(like_matrices):
    from sklearn.feature_extraction.text import TfidfVectorizer

    seed, rich = like_matrices
    vectorizer = TfidfVectorizer().fit([f"term{i}" for i in range(rich.shape[1])])
    assert len(vectorizer.vocabulary_) == rich.shape[1]  # the synthetic matrix keeps the real columns
    models = benchmark.scaled_models(FILMS, seed, rich, vectorizer,
                                     benchmark.synthetic_vectors(FILMS, DIMENSION), fake_encode)
    assert set(models) == {"seed_tfidf", "tfidf", "embedding", "hybrid"}
    rows = benchmark.scaling_rows(models, fake_encode, query_films=20, original_films=5, texts=["term1 term2", "term3"])
    check_rows(rows, "scaling")
    whats = [row["what"] for row in rows]
    assert any("original project's way" in what for what in whats)
    for name in ("seed_tfidf", "tfidf", "embedding", "hybrid"):
        item = next(row for row in rows if row["what"].startswith(f"item-to-item k=10: {name}"))
        assert item["films"] == FILMS and item["speedup"] > 0 and item["memory_mb"] is not None
    assert any(what.startswith("free text: encode") for what in whats)
    assert any(what.startswith("free text: embedding total") for what in whats)


def test_approximate_rows_report_recall_latency_build_and_memory():
    vectors = benchmark.synthetic_vectors(FILMS, DIMENSION)
    rows = benchmark.approximate_rows(vectors, "random", queries=30, ef_search=(16,), nprobe=(4,), sq8_nprobe=(4,))
    check_rows(rows, "approximate index")
    assert rows[0]["what"].startswith("exact IndexFlatIP")
    approximate = rows[1:]
    assert {row["what"].split(",")[0].split(" ")[0] for row in approximate} == {
        "IndexHNSWFlat", "IndexIVFFlat", "IndexIVFScalarQuantizer"}
    for row in approximate:
        assert 0 <= row["recall"] <= 1 and row["build_s"] >= 0 and row["memory_mb"] > 0


def test_extrapolation_and_memory_estimates_say_how():
    rows = []
    for films, p50 in ((45_000, 1.0), (200_000, 4.0)):
        rows.append(benchmark.row("scaling", "item-to-item k=10: tfidf (inverted index)", p50, p50 * 2, films=films,
                                  memory_mb=films / 1000))
        rows.append(benchmark.row("approximate index", "IndexHNSWFlat M=32, efSearch=64 (real-derived σ=0.08 vectors)",
                                  0.5, 0.7, films=films, memory_mb=300.0))
        rows[-1]["build_s"] = 50.0
    extrapolated = benchmark.extrapolate_rows(rows)
    check_rows(extrapolated, "extrapolated (1M)")
    tfidf = next(row for row in extrapolated if "tfidf" in row["what"])
    assert tfidf["films"] == 1_000_000 and tfidf["p50"] == pytest.approx(4.0 + 3.0 / 155_000 * 800_000, rel=1e-3)
    assert any(row["what"].startswith("IndexHNSWFlat") for row in extrapolated)
    assert all(row["note"] for row in extrapolated)
    estimates = benchmark.estimated_app_memory_rows({4_802: 800.0, 45_000: 950.0}, scales=(4_800, 45_000, 200_000))
    check_rows(estimates)
    assert [row["films"] for row in estimates] == [200_000, 1_000_000]  # not where the app was measured
    assert estimates[0]["p50"] == pytest.approx(800.0 + 150.0 / 40_198 * 195_198, rel=1e-6)


def test_synthetic_catalog_keeps_the_real_films_and_adds_heavier_copies():
    """The app-at-scale catalog: real films first, then copies with new ids, titles and people (an upper bound)."""
    real = pd.read_parquet(load_catalog().path)
    films = len(real) + 300
    synthetic = benchmark.synthetic_catalog(real, films)
    assert len(synthetic) == films and synthetic["id"].is_unique
    assert list(synthetic.columns) == list(real.columns)
    assert synthetic.head(len(real))["title"].tolist() == real["title"].tolist()
    copy = synthetic.iloc[len(real) + 14]  # the copy of real row 14
    assert copy["title"] == f"{real['title'].iloc[14]} #2" and copy["id"] == real["id"].iloc[14] + 10_000_000
    assert list(copy["cast"]) == [f"{name} #2" for name in real["cast"].iloc[14]]
    assert sorted(str(copy["overview"]).split()) == sorted(str(real["overview"].iloc[14]).split())
    assert list(copy["genres"]) == list(real["genres"].iloc[14])


def test_replay_encoder_gives_each_document_its_source_films_vector_plus_noise():
    real_vectors = benchmark.synthetic_vectors(3, dimension=8)
    encoder = benchmark.ReplayEncoder(["a", "b", "c", "a #2", "b #2"], np.array([0, 1, 2, 0, 1]), real_vectors)
    vectors = encoder.encode(["a #2", "a", "b"])
    assert vectors.shape == (3, 8) and np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert np.allclose(vectors[1], real_vectors[0]) and np.allclose(vectors[2], real_vectors[1])  # real films stay real
    assert 0.5 < float(vectors[0] @ real_vectors[0]) < 0.9999  # a copy is near its source, not equal to it


def test_markdown_table_has_one_line_per_row():
    rows = [benchmark.row("in-process", "a | b", 0.1234, 0.2), benchmark.row("app", "peak", 800.4, unit="MB")]
    table = benchmark.markdown_table(rows).splitlines()
    assert len(table) == 2 + len(rows)
    assert "a \\| b" in table[2] and "800 MB" in table[3]


def test_bench_script_reads_the_index_build_time_from_the_manifest():
    sys.path.insert(0, str(ROOT / "scripts"))
    import bench

    rows = bench.index_build_rows(build=False)
    check_rows(rows, "index build")
    assert "manifest.json" in rows[0]["what"] and rows[0]["p50"] > 0
    report = bench.markdown({
        "machine": "m", "python": "3", "versions": {"x": "1"}, "films": 1, "load_average_before": [0.1, 0.2, 0.3],
        "load_average_after": [0.4, 0.5, 0.6], "date": "d", "seconds": 1}, rows)
    assert "Load average" in report and "0.40 / 0.50 / 0.60" in report and "| index build |" in report


def test_bench_builds_a_synthetic_data_folder_the_app_serves(tmp_path, monkeypatch):
    """What `scripts/bench.py` launches the app on at 45k, here at 5,000 films: catalog, index and hybrid all load."""
    sys.path.insert(0, str(ROOT / "scripts"))
    import bench

    from recommender import service

    bench.synthetic_data_dir(tmp_path, 5_000)
    monkeypatch.setenv("MOVIES_DATA_DIR", str(tmp_path))
    catalog = load_catalog(tmp_path / "movies.parquet")
    models = service.serving_recommenders(catalog)
    assert len(catalog) == 5_000 and set(models) == {"seed_tfidf", "tfidf", "embedding", "hybrid"}
    real = len(catalog) - 198
    for source in (0, 5, 100):
        copy = real + source
        assert catalog.labels[copy] == f"{catalog.column('title')[source]} #2 ({catalog.column('release_year')[source]})"
        assert source in models["embedding"].similar(copy, 3).rows.tolist()  # its vector is the source's plus noise
    assert service.search("toys that come to life", 3, catalog=catalog, recommenders=models).models
