"""Per-field MiniLM embeddings: the field documents, the stored vectors in data/index, the recommender's
similarity (Σ w_f · cos over fields), its tuning on validation films, and the build that writes them."""
from __future__ import annotations

import json

import numpy as np
import pytest

from queries.catalog import build_catalog_index, load_catalog
from queries.errors import ArtifactError
from recommender import artifacts, documents
from recommender import evaluation as ev
from recommender.base import Neighbours, Recommender
from recommender.field_embedding import LABEL, FieldEmbeddingRecommender, tune_field_weights
from recommender.ranking import PAD_ROW, PAD_SCORE
from scripts import build_index
from tests.conftest import ROOT

CATALOG = ROOT / "data" / "movies.parquet"
WEIGHTS = {"title": 1.0, "tagline": 0.5, "genres": 2.0, "keywords": 1.0, "directors": 4.0, "cast": 0.25, "overview": 0.0}
AVATAR, DARK_KNIGHT, FOUR_ROOMS = 2702, 68, 0  # catalog rows
NO_TAGLINE, NO_KEYWORDS = 8, 69  # rows whose tagline / keywords are missing


@pytest.fixture(scope="module")
def texts(catalog) -> dict[str, list[str]]:
    return documents.field_documents(catalog.movies)


@pytest.fixture(scope="module")
def field_vectors(catalog) -> tuple[np.ndarray, list[str]]:
    return artifacts.load_field_vectors(catalog)


@pytest.fixture(scope="module")
def model(catalog, field_vectors) -> FieldEmbeddingRecommender:
    return FieldEmbeddingRecommender(*field_vectors, WEIGHTS, artifacts.load_recommenders(catalog)["embedding"])


def present_weight(texts: dict[str, list[str]], row: int, weights: dict[str, float]) -> float:
    return sum(weight for name, weight in weights.items() if texts[name][row])


class TextModel:
    """Stands in for the whole-document model: records what ``search`` was asked."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, int]] = []

    def search(self, text: str, k: int) -> Neighbours:
        self.asked.append((text, k))
        return Neighbours(np.arange(k, dtype=np.int64), np.ones(k, dtype=np.float32))


def unit(vectors: np.ndarray) -> np.ndarray:
    return vectors / np.linalg.norm(vectors, axis=-1, keepdims=True)


# ------------------------------------------------------------------ documents and stored vectors


def test_field_documents_one_short_text_per_field_and_film(catalog, texts):
    movies = catalog.movies
    assert list(texts) == list(documents.FIELDS) == list(documents.FIELD_TEMPLATES)
    assert all(len(column) == len(catalog) for column in texts.values())
    avatar = {name: column[AVATAR] for name, column in texts.items()}
    assert avatar["title"] == "Avatar" and avatar["tagline"] == "Enter the World of Pandora."
    assert avatar["directors"] == "James Cameron"
    assert avatar["cast"] == "Sam Worthington, Zoe Saldana, Sigourney Weaver, Stephen Lang, Michelle Rodriguez"  # first 5
    assert avatar["genres"] == ", ".join(movies["genres"][AVATAR])
    assert texts["directors"][FOUR_ROOMS] == "Allison Anders, Alexandre Rockwell, Robert Rodriguez, Quentin Tarantino"
    assert texts["keywords"][FOUR_ROOMS].split(", ") == list(movies["keywords"][FOUR_ROOMS])  # every keyword
    assert texts["tagline"][NO_TAGLINE] == "" and texts["keywords"][NO_KEYWORDS] == ""  # missing: empty, never 'nan'
    assert sum(not text for text in texts["tagline"]) == int(movies["tagline"].isna().sum() + (movies["tagline"] == "").sum())
    assert not any("nan" == text.lower() for column in texts.values() for text in column)


def test_stored_vectors_are_unit_rows_and_zero_exactly_where_the_field_is_empty(catalog, texts, field_vectors):
    vectors, names = field_vectors
    assert names == list(documents.FIELDS)
    assert vectors.dtype == np.float16 and vectors.shape == (len(documents.FIELDS), len(catalog), 384)
    norms = np.linalg.norm(vectors.astype(np.float32), axis=2)
    empty = np.array([[not text for text in texts[name]] for name in names])
    assert np.array_equal(norms == 0, empty)
    assert np.allclose(norms[~empty], 1.0, atol=2e-3)
    manifest = artifacts.read_manifest()["models"]["embedding_fields"]
    assert manifest["fields"] == names and manifest["shape"] == list(vectors.shape) and manifest["dtype"] == "float16"
    assert manifest["templates"]["fields"] == documents.FIELD_TEMPLATES
    assert manifest["empty"] == {name: int(empty[position].sum()) for position, name in enumerate(names)}


# ------------------------------------------------------------------ the recommender on the real index


def test_it_is_a_recommender_that_keeps_only_weighted_fields_as_float32(model, catalog):
    assert isinstance(model, Recommender)
    assert model.name == "embedding" and model.label == LABEL
    assert model.field_names == [name for name in documents.FIELDS if WEIGHTS[name]]  # overview (0) dropped
    assert model.vectors.dtype == np.float32 and model.vectors.shape == (len(catalog), 384 * len(model.field_names))
    assert len(model) == len(catalog)


@pytest.mark.parametrize("row", [AVATAR, DARK_KNIGHT, FOUR_ROOMS, NO_TAGLINE, NO_KEYWORDS])
def test_a_film_scores_the_sum_of_its_present_fields_weights_against_itself(model, texts, row):
    (score,) = model.pair_scores(row, np.array([row]))
    assert score == pytest.approx(present_weight(texts, row, WEIGHTS), abs=1e-4)


def test_pair_scores_are_the_scores_similar_ranks_by(model):
    for row in (AVATAR, DARK_KNIGHT, NO_TAGLINE):
        found = model.similar(row, 25)
        assert len(found) == 25 and row not in found.rows.tolist()
        assert np.all(np.diff(found.scores) <= 0)
        assert np.allclose(model.pair_scores(row, found.rows), found.scores, atol=1e-5)
        everything = model.pair_scores(row, np.arange(len(model)))
        everything[row] = -np.inf
        assert found.scores[0] == pytest.approx(everything.max(), abs=1e-5)  # nothing better was left out
    with pytest.raises(IndexError):
        model.pair_scores(AVATAR, np.array([3, -1]))  # a padding row is not a film


def test_the_dark_knight_finds_the_other_nolan_batman_films(model, catalog):
    titles = [catalog.movies["title"][row] for row in model.similar(DARK_KNIGHT, 5).rows.tolist()]
    assert {"Batman Begins", "The Dark Knight Rises"} <= set(titles)


def test_similar_batch_equals_similar_row_by_row(model):
    rows = np.unique(np.r_[0, len(model) - 1, np.random.default_rng(0).choice(len(model), 298, replace=False)])
    assert len(rows) > 256  # more than one block of the batched product
    batch_rows, batch_scores = model.similar_batch(rows, 10)
    assert batch_rows.shape == batch_scores.shape == (len(rows), 10) and batch_scores.dtype == np.float32
    for position, row in enumerate(rows.tolist()):
        found = model.similar(row, 10)
        assert np.array_equal(batch_rows[position], found.rows)
        assert np.allclose(batch_scores[position], found.scores, atol=1e-6)


def test_a_missing_field_contributes_zero_whatever_its_weight(catalog, field_vectors, model, texts):
    heavier = FieldEmbeddingRecommender(*field_vectors, {**WEIGHTS, "tagline": 4.0}, TextModel())
    everyone = np.arange(len(catalog))
    # no tagline on the query side: every score is the same with tagline weight 0.5 or 4
    assert np.allclose(model.pair_scores(NO_TAGLINE, everyone), heavier.pair_scores(NO_TAGLINE, everyone), atol=1e-5)
    assert np.array_equal(model.similar(NO_TAGLINE, 10).rows, heavier.similar(NO_TAGLINE, 10).rows)
    # nor on the candidate side
    untagged = np.array([row for row, text in enumerate(texts["tagline"]) if not text])
    assert np.allclose(model.pair_scores(AVATAR, untagged), heavier.pair_scores(AVATAR, untagged), atol=1e-5)
    tagged = np.array([row for row, text in enumerate(texts["tagline"]) if text and row != AVATAR])
    assert not np.allclose(model.pair_scores(AVATAR, tagged), heavier.pair_scores(AVATAR, tagged), atol=1e-3)


# ------------------------------------------------------------------ small hand-built cases


def test_short_lists_are_padded_like_the_other_models():
    rng = np.random.default_rng(1)
    fields = unit(rng.standard_normal((2, 3, 8))).astype(np.float16)
    model = FieldEmbeddingRecommender(fields, ["a", "b"], {"a": 1.0}, TextModel())
    rows, scores = model.similar_batch(np.array([0, 1, 2]), 5)
    assert rows.shape == (3, 5)
    assert np.all(rows[:, 2:] == PAD_ROW) and np.all(scores[:, 2:] == PAD_SCORE)
    for position in range(3):
        assert sorted(rows[position, :2].tolist()) == sorted({0, 1, 2} - {position})
    assert len(model.similar(0, 5)) == 2


def test_search_goes_to_the_whole_document_model():
    text_model = TextModel()
    fields = unit(np.random.default_rng(2).standard_normal((1, 4, 8))).astype(np.float16)
    model = FieldEmbeddingRecommender(fields, ["overview"], {"overview": 1.0}, text_model)
    assert len(model.search("a lonely astronaut stranded on Mars", 3)) == 3
    assert text_model.asked == [("a lonely astronaut stranded on Mars", 3)]


@pytest.mark.parametrize("weights", [{}, {"a": 0.0, "b": 0.0}, {"c": 1.0}, {"a": float("nan")}])
def test_weights_must_name_known_fields_and_weigh_something(weights):
    fields = unit(np.random.default_rng(3).standard_normal((2, 4, 8))).astype(np.float16)
    with pytest.raises(ValueError):
        FieldEmbeddingRecommender(fields, ["a", "b"], weights, TextModel())


def tiny_truth(queries: list[int], relevant: list[list[int]]) -> ev.GroundTruth:
    return ev.GroundTruth(
        queries=np.array(queries, dtype=np.int64),
        relevant=[np.array(rows, dtype=np.int64) for rows in relevant],
        jaccard=[np.ones(len(rows)) for rows in relevant],
        support=[np.ones(len(rows), dtype=np.int64) for rows in relevant],
        likers=np.ones(len(queries), dtype=np.int64),
    )


def test_tuning_picks_the_field_that_carries_the_signal():
    """40 films in 10 groups of 4: 'plot' puts a group's films together, 'noise' and 'title' are random;
    the co-liked films of each query are the rest of its group."""
    rng = np.random.default_rng(4)
    groups = np.repeat(np.arange(10), 4)
    centres = rng.standard_normal((10, 16))
    plot = unit(centres[groups] + 0.3 * rng.standard_normal((40, 16)))
    fields = np.stack([unit(rng.standard_normal((40, 16))), plot, unit(rng.standard_normal((40, 16)))]).astype(np.float16)
    names = ["noise", "plot", "title"]
    queries = list(range(0, 40, 2))
    truth = tiny_truth(queries, [[row for row in np.flatnonzero(groups == groups[q]).tolist() if row != q] for q in queries])
    genres, information = np.ones((40, 1), dtype=bool), np.zeros(40)

    weights, trace = tune_field_weights(fields, names, truth, genres, information, depth=10, k=3)
    assert weights["plot"] > 0 and weights["noise"] == 0 and weights["title"] == 0
    assert trace[0]["weights"] == {"noise": 1.0, "plot": 1.0, "title": 1.0} and trace[0]["field"] is None
    assert trace[-1]["weights"] == weights and trace[-1]["ndcg@10"] == pytest.approx(1.0)
    assert trace[-1]["ndcg@10"] > trace[0]["ndcg@10"]
    assert all(later["ndcg@10"] >= earlier["ndcg@10"] for earlier, later in zip(trace, trace[1:]))
    assert tune_field_weights(fields, names, truth, genres, information, depth=10, k=3) == (weights, trace)  # deterministic
    model = FieldEmbeddingRecommender(fields, names, weights, TextModel())
    ranked, _ = model.similar_batch(truth.queries, 10)
    tuned = ev.evaluate_rankings("fields", truth, ranked, genres, information, depth=10, k=3)
    assert tuned.per_query["ndcg@10"].mean() == pytest.approx(trace[-1]["ndcg@10"])  # the model ranks as tuned


def test_tuning_on_real_films_linked_by_director_weighs_directors_most(catalog, field_vectors):
    """A hand-built ground truth on the real vectors: a film's relevant films are the others by its director."""
    by_director: dict[str, list[int]] = {}
    for row, names in enumerate(catalog.movies["directors"]):
        if len(names) == 1:
            by_director.setdefault(names[0], []).append(row)
    teams = [rows for _, rows in sorted(by_director.items()) if len(rows) >= 5][:30]
    queries = [rows[0] for rows in teams]
    truth = tiny_truth(queries, [rows[1:] for rows in teams])
    genres, _ = ev.genre_matrix(catalog.movies["genres"])
    weights, trace = tune_field_weights(*field_vectors, truth, genres, np.zeros(len(catalog)), depth=50, k=10)
    assert weights["directors"] == max(weights.values()) > 0
    assert trace[-1]["ndcg@10"] > trace[0]["ndcg@10"]


# ------------------------------------------------------------------ the build


def test_a_300_film_build_writes_and_verifies_the_per_field_vectors(tmp_path, capsys):
    out = tmp_path / "index"
    assert build_index.main(["--limit", "300", "--out", str(out), "--no-progress", "--threads", "1"]) == 0
    printed = capsys.readouterr().out
    for name in documents.FIELDS:
        assert f"  {name:<9}" in printed  # time per field
    assert "embedding_fields.npy" in printed

    stored = np.load(out / "embedding_fields.npy", allow_pickle=False)
    assert stored.dtype == np.float16 and stored.shape == (len(documents.FIELDS), 300, 384)
    manifest = json.loads((out / artifacts.MANIFEST_FILE).read_text(encoding="utf-8"))
    described = manifest["models"]["embedding_fields"]
    assert described["fields"] == list(documents.FIELDS) and described["shape"] == [7, 300, 384]
    assert described["dtype"] == "float16" and set(described["encode_seconds"]) == set(documents.FIELDS)
    assert manifest["files"]["embedding_fields.npy"] == artifacts.file_record(out / "embedding_fields.npy")
    assert min(value for name, value in manifest["checks"].items() if name.startswith("embedding_fields")) > 0.99

    full = load_catalog(CATALOG)
    slice_catalog = build_catalog_index(full.movies.head(300), full.path, full.checksum)
    vectors, names = artifacts.load_field_vectors(slice_catalog, out)  # verifies every file against the manifest
    assert np.array_equal(vectors, stored) and names == list(documents.FIELDS)
    model = artifacts.load_field_embedding(WEIGHTS, slice_catalog, out)
    assert len(model.similar(0, 10)) == 10 and model.similar(0, 10).rows.max() < 300

    data = bytearray((out / "embedding_fields.npy").read_bytes())
    data[-10] ^= 0xFF  # same size, one component changed
    (out / "embedding_fields.npy").write_bytes(bytes(data))
    with pytest.raises(ArtifactError, match="embedding_fields.npy does not match its sha256.*python scripts/build_index.py"):
        artifacts.load_field_vectors(slice_catalog, out)
