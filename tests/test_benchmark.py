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

from scripts import bench_measurements as benchmark
from scripts.bench_measurements import ROW_KEYS

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


FIELD_WEIGHTS = {"title": 1.0, "genres": 2.0, "cast": 0.5}


def field_like(films: int = 50) -> np.ndarray:
    """Real-looking stored per-field vectors: (fields, films, d) float16 unit rows, some fields empty (zero rows)."""
    like = np.stack([benchmark.synthetic_vectors(films, DIMENSION, seed=seed) for seed in range(len(FIELD_WEIGHTS))])
    like[1, ::5] = 0  # every fifth film has no genres
    return like.astype(np.float16)


def test_synthetic_field_vectors_copy_real_fields_and_keep_empty_ones_empty():
    like = field_like()
    vectors = benchmark.synthetic_field_vectors(FILMS, like)
    assert vectors.shape == (len(FIELD_WEIGHTS), FILMS, DIMENSION) and vectors.dtype == np.float16
    norms = np.linalg.norm(vectors.astype(np.float32), axis=2)
    empty = np.linalg.norm(like.astype(np.float32), axis=2)[:, np.arange(FILMS) % like.shape[1]] == 0
    assert (norms[empty] == 0).all() and np.allclose(norms[~empty], 1, atol=2e-3)
    assert empty[1].mean() == pytest.approx(0.2, abs=0.01)  # the real share of empty fields
    copy = vectors[0, 50 + 7].astype(np.float32)  # film 57 copies real film 7
    assert 0.5 < float(copy @ like[0, 7].astype(np.float32)) < 0.9999
    assert np.array_equal(vectors, benchmark.synthetic_field_vectors(FILMS, like))


def test_scaling_rows_on_a_small_synthetic_catalog(like_matrices):
    from sklearn.feature_extraction.text import TfidfVectorizer

    seed, rich = like_matrices
    vectorizer = TfidfVectorizer().fit([f"term{i}" for i in range(rich.shape[1])])
    assert len(vectorizer.vocabulary_) == rich.shape[1]  # the synthetic matrix keeps the real columns
    encoders = {"document_embedding": fake_encode, "multilingual": fake_encode}
    models = benchmark.scaled_models(
        FILMS, seed, rich, vectorizer, benchmark.synthetic_vectors(FILMS, DIMENSION), fake_encode,
        benchmark.synthetic_field_vectors(FILMS, field_like()), FIELD_WEIGHTS,
        benchmark.synthetic_vectors(FILMS, DIMENSION, seed=9), fake_encode,
    )
    assert set(models) == {"seed_tfidf", "tfidf", "document_embedding", "embedding", "multilingual"}
    assert models["embedding"].text_model is models["document_embedding"]  # free text goes to the whole document
    rows = benchmark.scaling_rows(models, encoders, query_films=20, original_films=5, texts=["term1 term2", "term3"])
    check_rows(rows, "scaling")
    whats = [row["what"] for row in rows]
    assert any("original project's way" in what for what in whats)
    for name in ("seed_tfidf", "tfidf", "document_embedding", "embedding"):
        item = next(row for row in rows if row["what"].startswith(f"item-to-item k=10: {name} ("))
        assert item["films"] == FILMS and item["speedup"] > 0 and item["memory_mb"] > 0
        assert item["target"] is None  # no target at 2,000 films
    field = next(row for row in rows if row["what"].startswith("item-to-item k=10: embedding ("))
    assert "3 weighted fields" in field["what"]
    assert field["memory_mb"] == pytest.approx(FILMS * 3 * DIMENSION * 4 / 2**20, abs=0.05)  # float32, kept fields
    for served in ("embedding", "multilingual"):
        assert any(what.startswith(f"free text: encode the text: {served} (") for what in whats)
        assert any(what.startswith(f"free text: FAISS flat search of an encoded text: {served} (") for what in whats)
        total = next(row for row in rows if row["what"] == f"free text: {served} total (encode + search)")
        assert total["target"] == "p50 ≤ 25 ms"
    assert not any("hybrid" in what for what in whats)
    assert not any(what.startswith("item-to-item k=10: lookup (") for what in whats)  # none asked for
    only_index = benchmark.scaled_models(FILMS, seed, rich, vectorizer, benchmark.synthetic_vectors(FILMS, DIMENSION),
                                         fake_encode)
    assert set(only_index) == {"seed_tfidf", "tfidf", "document_embedding"}
    rows = benchmark.scaling_rows(only_index, {"document_embedding": fake_encode}, query_films=5, original_films=2,
                                  texts=["term1"])
    check_rows(rows, "scaling")
    assert not any("multilingual" in row["what"] or row["what"].startswith("item-to-item k=10: embedding (")
                   for row in rows)


def test_scaling_rows_time_a_precomputed_lookup_and_count_its_arrays(like_matrices):
    pytest.importorskip("recommender.lookup")
    from sklearn.feature_extraction.text import TfidfVectorizer

    seed, rich = like_matrices
    vectorizer = TfidfVectorizer().fit([f"term{i}" for i in range(rich.shape[1])])
    models = benchmark.scaled_models(FILMS, seed, rich, vectorizer, benchmark.synthetic_vectors(FILMS, DIMENSION),
                                     fake_encode, lookup_depth=50)
    assert models["lookup"].live is models["document_embedding"]
    assert len(models["lookup"].similar(7, 10)) == 10
    rows = benchmark.scaling_rows(models, {}, query_films=10, original_films=2, texts=["term1"])
    lookup = next(row for row in rows if row["what"].startswith("item-to-item k=10: lookup ("))
    assert lookup["memory_mb"] == pytest.approx(FILMS * 50 * 8 / 2**20, abs=0.05)  # its arrays, not the live model's
    assert "precomputed top 50" in lookup["what"] and "memory-mapped" in lookup["note"]
    extrapolated = benchmark.extrapolate_rows([{**lookup, "films": films} for films in (45_000, 200_000)])
    assert [row["what"] for row in extrapolated] == ["item-to-item: any model by lookup (memory: one model's arrays)"]


# ------------------------------------------------------------------ the served models on the real catalog (fakes)


def tiny_booster(names: tuple[str, ...]):
    import lightgbm

    rng = np.random.default_rng(0)
    features = rng.random((400, len(names)))
    labels = (features[:, 0] * 3).astype(int)
    data = lightgbm.Dataset(features, labels, group=np.full(20, 20), feature_name=list(names))
    return lightgbm.train({"objective": "lambdarank", "num_leaves": 4, "min_data_in_leaf": 5, "verbose": -1,
                           "num_threads": 1}, data, num_boost_round=5)


@pytest.fixture(scope="module")
def served_fakes(like_matrices):
    """The served set in miniature on the real catalog's 4,802 rows: index models on synthetic data, a per-field
    model, a multilingual one (fake encoder) and two learned rankers with tiny boosters over real catalog facts."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    from recommender import features as ft
    from recommender.learned import LearnedRecommender, Signals
    from recommender.tfidf import TfidfRecommender

    catalog = load_catalog()
    films = len(catalog)
    seed, rich = like_matrices
    vectorizer = TfidfVectorizer().fit([f"term{i}" for i in range(rich.shape[1])])
    models = benchmark.scaled_models(
        films, seed, rich, vectorizer, benchmark.synthetic_vectors(films, DIMENSION), fake_encode,
        benchmark.synthetic_field_vectors(films, field_like()), FIELD_WEIGHTS,
        benchmark.synthetic_vectors(films, DIMENSION, seed=9), fake_encode,
    )
    served = {name: models[name] for name in ("seed_tfidf", "tfidf", "embedding", "multilingual")}
    served["seed_tfidf"] = TfidfRecommender("seed_tfidf", "seed", served["seed_tfidf"].matrix,
                                            TfidfVectorizer().fit([f"term{i}" for i in range(seed.shape[1])]))
    facts = ft.FilmFacts.from_catalog(catalog)
    rng = np.random.default_rng(2)
    co_rows = rng.integers(0, films, (films, 20)).astype(np.int32)
    co_rows[::4] = -1  # a quarter of the films nobody rated
    co_liked = ft.CoLiked(co_rows, rng.random((films, 20)).astype(np.float32), rng.integers(0, 50, films).astype(np.int32), 50)
    text_models = {name: served[name] for name in ft.TEXT_MODELS}
    parecidas = LearnedRecommender("parecidas", "P", tiny_booster(ft.CONTENT_FEATURES), ft.CONTENT_FEATURES,
                                   Signals(text_models, facts), served["multilingual"])
    fans = LearnedRecommender("fans", "F", tiny_booster(ft.FANS_FEATURES), ft.FANS_FEATURES,
                              Signals(text_models, facts, co_liked), served["multilingual"], fallback=parecidas,
                              prior_weight=1.0)
    return catalog, {**served, "parecidas": parecidas, "fans": fans}


def test_recommender_rows_cover_every_served_model_the_rankers_why_and_free_text_memory(served_fakes, monkeypatch):
    catalog, served = served_fakes
    monkeypatch.setattr(benchmark, "encoder_loader", lambda model: lambda: np.ones(2**18, dtype=np.float32))  # 1 MB
    rows = benchmark.recommender_rows(catalog, served, query_films=12, original_films=3, texts=["a shark", "toys"])
    check_rows(rows, "in-process")
    by_what = {row["what"]: row for row in rows}
    for name in ("seed_tfidf", "tfidf", "embedding", "multilingual", "parecidas", "fans"):
        item = by_what[f"item-to-item k=10: {name}"]
        assert item["memory_mb"] > 0 and item["target"] == "p95 ≤ 2 ms" and item["speedup"] > 0
    for name in ("parecidas", "fans"):
        why = by_what[f"why k=10: {name}.contributions() for its 10 results"]
        assert why["p50"] > 0 and why["model"] == name
        assert "booster" in by_what[f"item-to-item k=10: {name}"]["note"]
    assert "co-liked lists" in by_what["item-to-item k=10: fans"]["note"]
    assert "of the 12 films have no co-likes" in by_what["item-to-item k=10: fans"]["note"]
    assert by_what["item-to-item k=10: fans"]["memory_mb"] > by_what["item-to-item k=10: parecidas"]["memory_mb"]
    free = [row["what"] for row in rows if row["what"].startswith("free text")]
    assert free == ["free text k=10: multilingual", "free text k=10: tfidf", "free text k=10: embedding",
                    "free text k=10: seed_tfidf"]  # the service's SEARCH_MODELS order; the rankers' search is multilingual's
    multilingual = by_what["free text k=10: multilingual"]
    assert multilingual["target"] == "p50 ≤ 25 ms"
    assert multilingual["memory_mb"] == pytest.approx(len(catalog) * DIMENSION * 4 / 2**20 + 1.0, abs=0.1)
    assert "whole-document" in by_what["free text k=10: embedding"]["note"]
    assert by_what["free text k=10: tfidf"]["memory_mb"] is None


def test_recommender_rows_time_lookups_and_their_live_models(served_fakes, monkeypatch):
    """Served through precomputed lookups (``recommender.lookup``): the served rows are the lookups, and each gets
    a live-model row (what the lookup stores); the rankers' why gets both too."""
    lookup = pytest.importorskip("recommender.lookup")
    catalog, served = served_fakes
    films, depth = len(catalog), 50
    rng = np.random.default_rng(4)

    def wrapped(model, drivers: bool):
        rows = rng.integers(0, films, (films, depth), dtype=np.int32)
        scores = np.sort(rng.random((films, depth), dtype=np.float32), axis=1)[:, ::-1].copy()
        if not drivers:
            return lookup.LookupRecommender(model, rows, scores)
        names = (*model.feature_names, "co_liked_prior")
        features = rng.integers(0, len(names), (films, depth, 3), dtype=np.int8)
        return lookup.LookupRecommender(model, rows, scores, features, rng.random((films, depth, 3), dtype=np.float32), names)

    models = {**served, "embedding": wrapped(served["embedding"], False), "fans": wrapped(served["fans"], True)}
    monkeypatch.setattr(benchmark, "encoder_loader", lambda model: lambda: np.ones(2**18, dtype=np.float32))
    rows = benchmark.recommender_rows(catalog, models, query_films=8, original_films=2, texts=["toys"],
                                      search_models=("embedding",))
    check_rows(rows, "in-process")
    by_what = {row["what"]: row for row in rows}
    assert by_what["item-to-item k=10: embedding"]["note"].startswith("precomputed lookup (top 50 per film")
    live = by_what["item-to-item k=10, live model (no lookup): embedding"]
    assert live["target"] is None and "what the lookup stores" in live["note"]
    arrays = films * depth * 8 / 2**20
    assert by_what["item-to-item k=10: embedding"]["memory_mb"] == pytest.approx(live["memory_mb"] + arrays, abs=0.1)
    assert "item-to-item k=10, live model (no lookup): parecidas" not in by_what  # not wrapped: one row
    assert by_what["why k=10: fans.contributions() for its 10 results"]["note"].startswith("the stored top")
    assert "why k=10, live model (no lookup): fans.contributions() for its 10 results" in by_what
    assert "lookup" in by_what["item-to-item k=10: fans"]["note"]
    assert "whole-document" in by_what["free text k=10: embedding"]["note"]  # free text goes past the lookup


def test_learned_parts_count_booster_co_liked_and_facts(served_fakes):
    _, served = served_fakes
    fans, parecidas = benchmark.learned_parts(served["fans"]), benchmark.learned_parts(served["parecidas"])
    co_liked = served["fans"].signals.co_liked
    assert fans["co_liked"] == co_liked.rows.nbytes + co_liked.scores.nbytes + co_liked.raters.nbytes
    assert parecidas["co_liked"] == 0 and fans["facts"] == parecidas["facts"] > 0
    assert 0 < fans["booster"] < 5 * 2**20
    assert benchmark.structure_bytes(served["fans"]) == pytest.approx(sum(fans.values()), rel=0.2)  # booster RSS varies


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


def test_replay_encoder_replays_the_per_field_texts_too():
    real_vectors = benchmark.synthetic_vectors(2, dimension=8)
    real_fields = np.stack([benchmark.synthetic_vectors(2, dimension=8, seed=seed) for seed in (1, 2)])
    real_fields[1, 1] = 0  # real film 1 has no tagline
    fields = {"title": ["A", "B", "A #2", "B #2"], "tagline": ["t", "", "t x", ""]}
    encoder = benchmark.ReplayEncoder(["a", "b", "a2", "b2"], np.array([0, 1, 0, 1]), real_vectors, fields=fields,
                                      real_fields=real_fields)
    titles = encoder.encode(["A", "B #2"])
    assert np.allclose(titles[0], real_fields[0, 0]) and 0.5 < float(titles[1] @ real_fields[0, 1]) < 0.9999
    assert np.allclose(encoder.encode(["t"])[0], real_fields[1, 0])
    assert "" not in encoder.by_document  # empty fields are never encoded
    with pytest.raises(ValueError):
        benchmark.ReplayEncoder(["a"], np.array([0]), real_vectors, fields=fields)


def test_bench_builds_a_synthetic_data_folder_the_app_serves(tmp_path, monkeypatch):
    """What `scripts/bench.py` launches the app on at 45k, here at 5,000 films: the app serves every model there
    (through lookups too when the real catalog has them)."""
    sys.path.insert(0, str(ROOT / "scripts"))
    import bench

    from recommender import service

    bench.synthetic_data_dir(tmp_path, 5_000)
    monkeypatch.setenv("MOVIES_DATA_DIR", str(tmp_path))
    catalog = load_catalog(tmp_path / "movies.parquet")
    models = service.serving_recommenders(catalog)
    assert service.serving_problems(catalog) == {}
    assert len(catalog) == 5_000 and set(models) == {"seed_tfidf", "tfidf", "embedding", "multilingual", "parecidas", "fans"}
    real = len(catalog) - 198
    for source in (0, 5, 100):
        copy = real + source
        assert catalog.labels[copy] == f"{catalog.column('title')[source]} #2 ({catalog.column('release_year')[source]})"
        # its vectors are the source's plus noise
        assert source in models["embedding"].text_model.similar(copy, 3).rows.tolist()
        assert source in models["multilingual"].similar(copy, 3).rows.tolist()
    assert len(models["fans"].similar(real + 5, 5)) == 5
    if (ROOT / "data" / "lookups" / "manifest.json").is_file():
        assert benchmark.live_model(models["fans"]) is not models["fans"]  # served by lookup, as on the real catalog
        assert models["fans"].similar(copy, 5).rows.tolist() == models["fans"].similar(source, 5).rows.tolist()
    assert service.search("toys that come to life", 3, catalog=catalog, recommenders=models).models


def test_the_evaluation_endpoint_is_exercised_with_one_of_its_films():
    """The app answers evaluacion_pelicula only for a film the evaluation has a view of (they change with the protocol)."""
    sys.path.insert(0, str(ROOT / "scripts"))
    import bench

    from recommender import comparison

    labels = [label for label, _ in comparison.film_choices(comparison.load_results())]
    assert bench.endpoint_args("evaluacion_pelicula")[0] in labels
    assert bench.endpoint_args("score_titulo") == ["Titanic"]


def test_service_rows_time_a_spanish_title_through_the_not_found_path(monkeypatch):
    """The Spanish-title row times what it says: each input is a "not found" whose films come by meaning."""
    from recommender import service

    timed: dict[str, list] = {}

    def once(call, inputs, warm_up=1):  # each case's first input, once: the row's shape, not its timing
        timed[len(timed)] = call(inputs[0])
        return 1.0, 2.0

    monkeypatch.setattr(benchmark, "latency", once)
    rows = benchmark.service_rows()
    check_rows(rows, "in-process")
    spanish = [row for row in rows if "Spanish title" in row["what"]]
    assert len(spanish) == 1 and spanish[0]["runs"] == 10 * len(benchmark.SPANISH_TITLES)
    assert "The Dark Knight (2008)" in timed[len(rows) - 1]  # what "el caballero oscuro" is offered
    assert "The Godfather (1972)" in benchmark.spanish_title_not_found("El padrino")
    assert len(benchmark.spanish_title_not_found("El rey león")) == service.MEANING_SUGGESTIONS
    with pytest.raises(AssertionError, match="no longer measures"):
        benchmark.spanish_title_not_found("Toy Story")
