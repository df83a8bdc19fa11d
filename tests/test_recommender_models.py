"""Model behaviour on the committed default index and the real catalog: the seed recipe matches its
definition, sequels find each other, a paraphrased plot finds its film, explanations are true."""
from __future__ import annotations

import subprocess
import sys
import threading
import time

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics.pairwise import cosine_similarity

from queries.errors import ArtifactError
from queries.text import normalize
from recommender import documents, sentence_model
from recommender.artifacts import load_recommenders, read_manifest
from recommender.explain import Explainer, explain
from recommender.tfidf import SEED_PARAMS, TFIDF_PARAMS
from tests.conftest import BAD_TEXT, ROOT

MARTIAN_QUERY = "a lonely astronaut stranded on Mars who grows potatoes"


@pytest.fixture(scope="session")
def models(catalog):
    return load_recommenders(catalog)


def rows_of(catalog, *titles: str) -> list[int]:
    return [catalog.title_rows[normalize(title)][0] for title in titles]


def titles_of(catalog, rows) -> list[str]:
    return [catalog.column("title")[row] for row in np.asarray(rows).tolist()]


def test_committed_index_matches_the_committed_catalog(catalog, models):
    manifest = read_manifest()
    assert manifest["catalog"]["sha256"] == catalog.checksum
    assert manifest["catalog"]["rows"] == len(catalog) == 4802
    assert list(models) == ["seed_tfidf", "tfidf", "embedding"]
    assert models["embedding"].dimension == 384 and len(models["embedding"]) == len(catalog)


def original_seed_document(movie) -> str:
    """The original project's features, composed here independently of recommender.documents."""
    parts = [" ".join(movie["genres"])]
    if isinstance(movie["tagline"], str):
        parts.append(movie["tagline"])
    if len(movie["cast"]):
        parts.append(movie["cast"][0])
    if len(movie["directors"]):
        parts.append(movie["directors"][0])
    return " ".join(" ".join(parts).split())


def test_seed_recipe_reproduces_its_definition(catalog, models):
    """TfidfVectorizer(stop_words='english', ngram_range=(1, 2)) + cosine_similarity + sorted(): same top-10."""
    movies = catalog.movies
    texts = [original_seed_document(movie) for movie in movies.to_dict("records")]
    assert texts == documents.seed_documents(movies)
    matrix = TfidfVectorizer(stop_words="english", ngram_range=(1, 2)).fit_transform(texts)
    for row in rows_of(catalog, "Toy Story", "The Dark Knight", "Titanic", "The Martian", "Inception") + [0, 2500, 4801]:
        similarities = cosine_similarity(matrix[row], matrix)[0]
        ranked = [(i, s) for i, s in sorted(enumerate(similarities), key=lambda pair: pair[1], reverse=True) if i != row]
        found = models["seed_tfidf"].similar(row, 10)
        expected_scores = np.array([score for _, score in ranked[:10]])
        assert found.scores == pytest.approx(expected_scores, abs=1e-6)
        # Same films; only films tied at the 10th score may be swapped for other tied films.
        tenth = expected_scores[-1]
        assert {i for i, s in ranked[:10] if s > tenth + 1e-9} <= set(found.rows.tolist())


def test_toy_story_finds_its_sequels(catalog, models):
    toy_story, toy_story_2, toy_story_3 = rows_of(catalog, "Toy Story", "Toy Story 2", "Toy Story 3")
    found = models["embedding"].similar(toy_story, 10).rows.tolist()
    assert found[:2] == [toy_story_2, toy_story_3]
    assert toy_story_2 in models["tfidf"].similar(toy_story, 10).rows.tolist()


@pytest.mark.parametrize("title", ["The Dark Knight", "Batman Begins"])
def test_a_batman_film_finds_other_batman_films(catalog, models, title):
    row = rows_of(catalog, title)[0]
    found = titles_of(catalog, models["embedding"].similar(row, 10).rows)
    batman = {"The Dark Knight", "Batman Begins", "The Dark Knight Rises", "Batman", "Batman Returns", "Batman Forever",
              "Batman & Robin", "Batman v Superman: Dawn of Justice", "Batman: The Dark Knight Returns, Part 2"}
    assert "The Dark Knight Rises" in found[:3]
    assert len(batman & set(found)) >= 5, found


def test_paraphrased_plot_finds_the_martian(catalog, models):
    martian = rows_of(catalog, "The Martian")[0]
    embedding = models["embedding"].search(MARTIAN_QUERY, 5)
    assert martian in embedding.rows.tolist()[:2]  # measured: 2nd, after The Astronaut Farmer
    assert models["tfidf"].search(MARTIAN_QUERY, 5).rows[0] == martian


def test_stored_vectors_are_the_models_vectors_of_the_documented_template(catalog, models):
    """Guards against a template or model change without a rebuild: re-encode a few films in fp32."""
    rows = rows_of(catalog, "Toy Story", "Titanic", "The Martian")
    texts = [documents.embedding_documents(catalog.movies.iloc[[row]])[0] for row in rows]
    fresh = sentence_model.encode(sentence_model.load_sentence_model(), texts)
    stored = models["embedding"].index.reconstruct_batch(np.array(rows))
    assert np.sum(fresh * stored, axis=1) == pytest.approx(np.ones(len(rows)), abs=1e-3)


@pytest.mark.parametrize("name", ["seed_tfidf", "tfidf", "embedding"])
def test_similar_is_ranked_excludes_itself_and_agrees_with_batch(models, name):
    model = models[name]
    rows = np.array([0, 393, 1609, 4801])
    batch_rows, batch_scores = model.similar_batch(rows, 20)
    assert batch_rows.shape == batch_scores.shape == (4, 20)
    for i, row in enumerate(rows.tolist()):
        found = model.similar(row, 20)
        assert row not in found.rows.tolist()
        assert len(set(found.rows.tolist())) == len(found)
        assert np.all(np.diff(found.scores) <= 1e-6)
        assert batch_rows[i, : len(found)].tolist() == found.rows.tolist()
        assert batch_scores[i, : len(found)] == pytest.approx(found.scores, abs=1e-5)


def test_tfidf_lists_only_films_sharing_a_term(catalog, models):
    """A film whose seed document is empty has no TF-IDF neighbours: an empty list, not 10 arbitrary films."""
    empty = next(i for i, text in enumerate(documents.seed_documents(catalog.movies)) if not text)
    assert len(models["seed_tfidf"].similar(empty, 10)) == 0
    rows, scores = models["seed_tfidf"].similar_batch(np.array([empty]), 3)
    assert rows.tolist() == [[-1, -1, -1]] and np.all(np.isneginf(scores))
    assert len(models["tfidf"].search("qqqzzx wwwkkj", 5)) == 0


@pytest.mark.parametrize(("name", "documents_of", "params"), [
    ("seed_tfidf", documents.seed_documents, SEED_PARAMS), ("tfidf", documents.tfidf_documents, TFIDF_PARAMS),
])
def test_served_vectorizer_transforms_like_the_fitted_one(catalog, models, name, documents_of, params):
    """The served vectorizer reads its terms from an Arrow buffer (StringPositions), not sklearn's dict: it must
    give the fitted vectorizer's query vectors, term for term, for real queries and for bad input."""
    served = models[name].vectorizer
    fitted = TfidfVectorizer(**params).fit(documents_of(catalog.movies))
    assert len(served.vocabulary_) == len(fitted.vocabulary_) > 10_000
    film = documents_of(catalog.movies)[rows_of(catalog, "The Dark Knight")[0]]
    queries = [film, "a lonely astronaut stranded on Mars", "toy story", "Christopher Nolan dreams",
               "un astronauta solo en Marte", "shark beach town", *BAD_TEXT]
    served_vectors = served.transform(queries)
    assert abs(served_vectors - fitted.transform(queries)).max() < 1e-6
    assert served_vectors[0].nnz >= 10  # a real document: many of its terms found


def test_explain_names_what_two_films_share(catalog):
    dark_knight, batman_begins = rows_of(catalog, "The Dark Knight", "Batman Begins")
    reasons = explain(catalog, dark_knight, batman_begins)
    assert reasons.directors == ["Christopher Nolan"]
    assert reasons.genres == ["Drama", "Action", "Crime"]  # The Dark Knight's order; Thriller is not shared
    assert reasons.cast[:3] == ["Christian Bale", "Michael Caine", "Gary Oldman"]
    assert {"gotham city", "vigilante", "dc comics"} <= set(reasons.keywords)
    assert Explainer(catalog).explain(dark_knight, batman_begins) == reasons
    toy_story, titanic = rows_of(catalog, "Toy Story", "Titanic")
    unrelated = explain(catalog, toy_story, titanic)
    assert not unrelated and unrelated.directors == [] and unrelated.cast == []


def test_item_to_item_never_imports_the_sentence_model():
    """Start-up and item-to-item stay light: torch and sentence_transformers load only for free text."""
    code = (
        "import sys; from recommender.artifacts import load_recommenders; models = load_recommenders(); "
        "[m.similar(393, 5) for m in models.values()]; "
        "print(sorted(n for n in ('torch', 'sentence_transformers') if n in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_lazy_model_loads_once_under_concurrent_first_requests(monkeypatch):
    calls = []

    def slow_load():
        calls.append(1)
        time.sleep(0.2)
        return object()

    monkeypatch.setattr(sentence_model, "load_query_encoder", slow_load)
    lazy = sentence_model.LazySentenceModel()
    got = []
    threads = [threading.Thread(target=lambda: got.append(lazy.get())) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 1 and len({id(model) for model in got}) == 1


def test_lazy_model_refuses_an_index_built_with_another_model_version():
    lazy = sentence_model.LazySentenceModel(expected_version="0.0.0-not-this-one")
    with pytest.raises(Exception) as excinfo:
        lazy.get()
    assert "python scripts/build_index.py" in str(excinfo.value)


def test_the_apps_numpy_encoder_gives_sentence_transformers_vectors(models):
    """The app encodes queries without torch; its vectors must be the build's (same space as the index)."""
    from scripts.bench_measurements import FREE_TEXT_QUERIES

    reference = sentence_model.load_sentence_model()
    numpy_encoder = models["embedding"].model.get()
    texts = [*FREE_TEXT_QUERIES, "", "Amélie ¿qué tal? 🎬", "<script>alert(1)</script>", "word " * 400, "x" * 3000]
    for text in texts:
        expected = sentence_model.encode(reference, [text], batch_size=1)
        assert numpy_encoder.encode(text).shape == (1, 384)
        assert float(numpy_encoder.encode(text)[0] @ expected[0]) > 0.9999, text


def test_serving_free_text_does_not_import_torch():
    """The app's process stays without torch (~250 MB): free-text search through the numpy encoder only."""
    code = (
        "import sys; from recommender.service import search; search('a lonely astronaut on Mars', 3); "
        "print('torch' in sys.modules, 'sentence_transformers' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["False", "False"]


def test_numpy_encoder_math_stays_float32():
    """A float64 scalar would promote the activations and make every matmul convert its weights (4x slower)."""
    from recommender import minilm_numpy

    x = np.linspace(-3, 3, 12, dtype=np.float32).reshape(3, 4)
    assert minilm_numpy._gelu(x).dtype == np.float32
    assert minilm_numpy._layer_norm(x, np.ones(4, np.float32), np.zeros(4, np.float32), 1e-12).dtype == np.float32
    assert float(minilm_numpy._gelu(np.array([1.0], np.float32))[0]) == pytest.approx(0.8413447, abs=1e-6)


def test_streamed_safetensors_equal_the_librarys_reading():
    """minilm_numpy reads model.safetensors tensor by tensor (peak memory: the weights, not weights + file);
    every tensor must be the one safetensors itself reads, and a cut file must fail, not load half a model."""
    import io

    from safetensors.numpy import load_file

    from recommender import minilm_numpy

    path = sentence_model.model_dir() / "model.safetensors"
    expected = load_file(str(path))
    with path.open("rb") as stream:
        streamed = minilm_numpy.read_safetensors(stream)
    assert streamed.keys() == expected.keys()
    for name, array in expected.items():
        assert streamed[name].dtype == array.dtype and np.array_equal(streamed[name], array), name
    data = path.read_bytes()
    for cut in (4, 100, len(data) // 2, len(data) - 1):
        with pytest.raises(ValueError, match="ends early"):
            minilm_numpy.read_safetensors(io.BytesIO(data[:cut]))


def test_the_query_encoder_checks_the_streamed_weights_sha256(monkeypatch):
    monkeypatch.setitem(sentence_model.MODEL_FILES_SHA256, "model.safetensors", "0" * 64)
    with pytest.raises(ArtifactError, match="model.safetensors is not the file the index was built from"):
        sentence_model.load_query_encoder()


def test_serving_from_lookups_never_builds_the_live_item_to_item_matrices():
    """At 45k films the per-field float32 matrix is ~460 MB, the TF-IDF film rows ~35 MB and the rankers' signals
    ~55 MB: the app answers item-to-item from the lookups and free text from the postings, so it must not build
    them (fresh process), and still says when the fans ranker answered with its fallback."""
    code = (
        "from recommender import service\n"
        "for title in ('Toy Story', 'The Dark Knight', 'Amélie', 'Avatar'):\n"
        "    service.recommend_titles(title)\n"
        "    service.compare(title, 10)\n"
        "for text in ('un astronauta solo en Marte', 'a shark terrorises a beach town'):\n"
        "    service.search(text, 5)\n"
        "models = service.serving_recommenders()\n"
        "unrated = next(row for row in range(len(models['fans'].rows)) if models['fans'].uses_fallback(row))\n"
        "fans = next(m for m in service.compare(service.load_catalog().labels[unrated], 5).models if m.model == 'fans')\n"
        "print(fans.note == service.FALLBACK_NOTE and len(fans.results) == 5)\n"
        "print(models['embedding'].live.vectors_built, not models['tfidf'].live.matrix_built,\n"
        "      not models['seed_tfidf'].live.matrix_built, models['fans'].live.signals_built,\n"
        "      models['parecidas'].live.signals_built)\n"
        "models['embedding'].similar(68, 60)\n"  # deeper than the lookups: now the live models build them
        "models['fans'].similar(68, 60)\n"
        "print(models['embedding'].live.vectors_built, models['fans'].live.signals_built)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["True", "False", "True", "True", "False", "False", "True", "True"]
