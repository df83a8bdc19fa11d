"""What the UI and the API ask of the recommenders, as plain dataclasses (no Gradio here).

* ``compare``: every model's neighbours of one film, side by side, with reasons, latency and overlap.
* ``recommend_titles``: the original project's ``recomendacion(titulo)``: five titles, one model.
* ``search``: free text ("a lonely astronaut stranded on Mars") through every model.
* ``title_query``: any per-title question; a title the catalog does not know, not even by a near spelling, is
  answered with the films the multilingual model finds near it ("El padrino" → The Godfather).

Input is validated here (titles through ``queries.titles.resolve_title``, text through
``queries.text.clean_input``, k in MIN_K..MAX_K) and every bad input is a ``QueryError``, never a traceback.
"""
from __future__ import annotations

import numbers
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from typing import Callable, TypeVar

from queries.catalog import Catalog, load_catalog
from queries.errors import ArtifactError, QueryError
from queries.memory import release_freed_memory
from queries.text import clean_input, split_year
from queries.titles import TitleMatch, resolve_title
from recommender.base import Neighbours, Recommender
from recommender.explain import Explainer, Reasons
from recommender.features import FEATURE_LABELS_ES
from recommender.models import SEARCH_DEFAULT, load_models

# Behind recomendacion(): "A quien le gustó… también le gustó", the best nDCG@10 and HR@10 on the test films in
# data/eval/RESULTS.md (people's co-likes are what the evaluation measures); then the content ranker, then
# the per-field embedding, when the trained artifacts are missing or stale.
DEFAULT_MODEL = "fans"
FALLBACK_MODELS = ("parecidas", "embedding")
FALLBACK_NOTE = "Nadie la calificó en MovieLens: sin gustos que comparar, responde el ranker de contenido (Parecidas)."
COMPARE_MODELS = ("parecidas", "fans", "tfidf", "embedding", "seed_tfidf")  # item-to-item, side by side
SEARCH_MODELS = (SEARCH_DEFAULT, "tfidf", "embedding", "seed_tfidf")  # free text: the rankers need a query film
DEFAULT_K = 5
MAX_TEXT_CHARS = 500  # a free-text description may be longer than a title
MIN_K, MAX_K = 1, 20  # the one range of k: UI slider, API, REST, MCP schema and the message below
NO_SHARED_WORDS_NOTE = ("Sin resultados: ninguna película comparte una palabra con el texto (este modelo busca palabras "
                        "exactas, y los textos del catálogo están en inglés).")
# A title not in the catalog, not even by a near spelling, is most often a Spanish title ("El caballero oscuro"):
# the catalog has TMDB's English ones. The multilingual model offers the films nearest what was typed, if its
# best score (cosine + popularity prior) reaches MEANING_MIN_SCORE: on this catalog keyboard noise, digits and
# markup top out below 0.28, and Spanish titles that find their film score 0.30-0.45 (tests/test_recommender_service.py).
MEANING_SUGGESTIONS = 5
MEANING_MIN_SCORE = 0.30
Answer = TypeVar("Answer")


@dataclass(frozen=True)
class Recommendation:
    """One recommended film: who it is, how close the model thinks it is, and what it shares."""

    row: int  # catalog row
    movie_id: int  # TMDB id
    title: str
    year: int
    label: str  # "Toy Story 2 (1999)"
    score: float  # the model's score (cosine, or a ranker's score), higher is closer; not comparable across models
    reasons: Reasons | None  # shared genres/keywords/cast/directors with the query film; None for free text
    drivers: list[Driver] = field(default_factory=list)  # a learned ranker's top feature contributions (its "why")


@dataclass(frozen=True)
class Driver:
    """One feature that pushed a learned ranker's recommendation up (its SHAP value, in score units)."""

    feature: str  # "shared_directors"
    label: str  # "Mismo director"
    value: float


@dataclass(frozen=True)
class ModelResults:
    """One model's ranked list and how long the model took to produce it."""

    model: str  # "seed_tfidf", "tfidf", "embedding"
    label: str  # for people
    latency_ms: float  # the model call only (ranking), not the explanations
    results: list[Recommendation]
    note: str = ""  # e.g. why a ranker answered with its fallback


@dataclass(frozen=True)
class Overlap:
    """How much two models' lists agree."""

    first: str
    second: str
    shared: int  # films in both lists
    jaccard: float  # shared / films in either list (0 = disjoint, 1 = same films)
    labels: list[str]  # the shared films, in the first model's order


@dataclass(frozen=True)
class Comparison:
    """``compare``'s answer: the resolved film and every model's neighbours of it."""

    query: str  # label of the film the title resolved to, "Toy Story (1995)"
    row: int
    other_versions: list[str]  # other films with the same title (pick one with "Title (year)")
    k: int
    models: list[ModelResults]
    overlaps: list[Overlap]


@dataclass(frozen=True)
class SearchResults:
    """``search``'s answer: every model's films for a free-text description."""

    text: str
    k: int
    models: list[ModelResults]
    overlaps: list[Overlap]


@dataclass(frozen=True)
class TitleRecommendations:
    """The original ``recomendacion(titulo)`` answer: a list of titles (plus labels to tell remakes apart)."""

    titulo: str  # the film the title resolved to, as a label
    modelo: str
    recomendaciones: list[str]  # titles, best first, like the original project
    etiquetas: list[str]  # the same films as "Title (year)"
    otras_versiones: list[str]
    mensaje: str


def validate_k(k: object) -> int:
    """k as an int in MIN_K..MAX_K; accepts 5 and 5.0 (Gradio numbers), refuses anything else clearly."""
    whole = isinstance(k, numbers.Integral) or (isinstance(k, numbers.Real) and float(k).is_integer())
    if isinstance(k, bool) or not whole:
        raise QueryError(f"k debe ser un número entero entre {MIN_K} y {MAX_K}.")
    if not MIN_K <= k <= MAX_K:
        raise QueryError(f"k debe estar entre {MIN_K} y {MAX_K} (recibí {k}).")
    return int(k)


def _choose_models(
    recommenders: Mapping[str, Recommender], models: Sequence[str] | None, default: Sequence[str] = ()
) -> list[Recommender]:
    if models is None:
        chosen = [recommenders[name] for name in default if name in recommenders]
        return chosen or list(recommenders.values())
    if isinstance(models, str) or not all(isinstance(name, str) for name in models) or not models:
        raise QueryError("models debe ser una lista de nombres de modelo.")
    unknown = [name for name in models if name not in recommenders]
    if unknown:
        raise QueryError(
            f"Modelo desconocido: {', '.join(unknown)}. Disponibles: {', '.join(recommenders)}.",
            suggestions=list(recommenders),
        )
    return [recommenders[name] for name in dict.fromkeys(models)]


# ------------------------------------------------------------------ shared state: loaded once per process

_explainers: dict[int, tuple[Catalog, Explainer]] = {}
_explainers_lock = threading.Lock()


def _explainer(catalog: Catalog) -> Explainer:
    """One Explainer per catalog object (kept alive with it, so the id cannot be reused)."""
    with _explainers_lock:
        entry = _explainers.get(id(catalog))
        if entry is None or entry[0] is not catalog:
            if len(_explainers) >= 4:
                _explainers.clear()
            entry = (catalog, Explainer(catalog))
            _explainers[id(catalog)] = entry
        return entry[1]


_serving: dict[int, tuple[Catalog, dict[str, Recommender], dict[str, str]]] = {}
_serving_lock = threading.Lock()


def serving_recommenders(catalog: Catalog | None = None) -> dict[str, Recommender]:
    """What the app serves (``recommender.models.load_models``), built once per catalog.

    Optional parts whose artifacts do not match this catalog and index (the trained rankers, the per-field
    weights, the multilingual index) are left out rather than served unchecked; ``serving_problems`` says why.
    """
    catalog = catalog if catalog is not None else load_catalog()
    with _serving_lock:
        entry = _serving.get(id(catalog))
        if entry is None or entry[0] is not catalog:
            served = load_models(catalog)
            entry = (catalog, served.models, served.problems)
            _serving[id(catalog)] = entry
        return entry[1]


def serving_problems(catalog: Catalog | None = None) -> dict[str, str]:
    """Why an optional model is not served (empty when everything checks out)."""
    catalog = catalog if catalog is not None else load_catalog()
    serving_recommenders(catalog)
    return _serving[id(catalog)][2]


def default_model(recommenders: Mapping[str, Recommender] | None = None) -> str:
    """DEFAULT_MODEL when it is served, else the first served of FALLBACK_MODELS."""
    recommenders = recommenders if recommenders is not None else serving_recommenders()
    return next((name for name in (DEFAULT_MODEL, *FALLBACK_MODELS) if name in recommenders), FALLBACK_MODELS[-1])


def _context(
    catalog: Catalog | None, recommenders: Mapping[str, Recommender] | None
) -> tuple[Catalog, Mapping[str, Recommender]]:
    catalog = catalog if catalog is not None else load_catalog()
    recommenders = recommenders if recommenders is not None else serving_recommenders(catalog)
    return catalog, recommenders


def _timed(call, *args) -> tuple[Neighbours, float]:
    started = time.perf_counter()
    found = call(*args)
    return found, round((time.perf_counter() - started) * 1000, 3)


def _recommendation(catalog: Catalog, row: int, score: float, reasons: Reasons | None,
                    drivers: list[Driver] | None = None) -> Recommendation:
    return Recommendation(
        row=row,
        movie_id=int(catalog.column("id")[row]),
        title=catalog.column("title")[row],
        year=int(catalog.column("release_year")[row]),
        label=catalog.labels[row],
        score=round(float(score), 4),
        reasons=reasons,
        drivers=drivers or [],
    )


def _drivers(model: Recommender, row: int, found: Neighbours) -> list[list[Driver]]:
    """A learned ranker's top contributions per recommended film; empty lists for the other models."""
    if not hasattr(model, "contributions") or not len(found):
        return [[] for _ in range(len(found))]
    return [
        [Driver(item.feature, FEATURE_LABELS_ES.get(item.feature, item.feature), item.value) for item in items]
        for items in model.contributions(row, found.rows)
    ]


def _overlaps(catalog: Catalog, lists: list[ModelResults]) -> list[Overlap]:
    overlaps = []
    for first, second in combinations(lists, 2):
        second_rows = {item.row for item in second.results}
        shared = [item.row for item in first.results if item.row in second_rows]
        union = len({item.row for item in first.results} | second_rows)
        overlaps.append(Overlap(
            first=first.model, second=second.model, shared=len(shared),
            jaccard=round(len(shared) / union, 3) if union else 0.0, labels=[catalog.labels[row] for row in shared],
        ))
    return overlaps


def meaning_suggestions(typed: str, catalog: Catalog, recommenders: Mapping[str, Recommender]) -> list[str]:
    """Labels of the films the multilingual model finds nearest a typed title (its year left out), best first;
    empty when that model is not served or nothing is near enough (MEANING_MIN_SCORE)."""
    model = recommenders.get(SEARCH_DEFAULT)
    if model is None:
        return []
    title, _ = split_year(typed)
    found = model.search(title, MEANING_SUGGESTIONS)
    if not len(found) or float(found.scores[0]) < MEANING_MIN_SCORE:
        return []
    return [catalog.labels[row] for row in found.rows.tolist()]


def title_query(
    query: Callable[[object], Answer], title_text: object, *,
    catalog: Catalog | None = None, recommenders: Mapping[str, Recommender] | None = None,
) -> Answer:
    """``query(title_text)``, for any question about one title (``resolve_title``, ``score_titulo``...). When it
    knows neither the title nor a spelling near it, the "not found" offers ``meaning_suggestions`` instead of
    nothing; every other error (empty, too long, a year with no such film) is raised as it was."""
    try:
        return query(title_text)
    except QueryError as error:
        if not error.not_found or error.suggestions:
            raise
        catalog, recommenders = _context(catalog, recommenders)
        try:
            films = meaning_suggestions(clean_input(title_text, "el título"), catalog, recommenders)
        except ArtifactError:  # the multilingual encoder is not installed: the plain "not found" still holds
            films = []
        if not films:
            raise error
        raise QueryError(f"{error.message} Los títulos del catálogo están en inglés; ¿buscabas alguna de estas? "
                         f"{'; '.join(films)}.", suggestions=films, not_found=True) from None


def _resolve(title_text: object, catalog: Catalog, recommenders: Mapping[str, Recommender]) -> TitleMatch:
    """``resolve_title``, offering ``meaning_suggestions`` when the title is unknown (``title_query``)."""
    return title_query(lambda text: resolve_title(text, catalog), title_text, catalog=catalog, recommenders=recommenders)


# ------------------------------------------------------------------ the three questions


def compare(
    title_text: object, k: object = DEFAULT_K, models: Sequence[str] | None = None, *,
    catalog: Catalog | None = None, recommenders: Mapping[str, Recommender] | None = None,
) -> Comparison:
    """Every model's k nearest films to a title, side by side, with reasons, latency and pairwise overlap."""
    k = validate_k(k)
    catalog, recommenders = _context(catalog, recommenders)
    chosen = _choose_models(recommenders, models, COMPARE_MODELS)
    match = _resolve(title_text, catalog, recommenders)
    explainer = _explainer(catalog)
    lists = []
    for model in chosen:
        found, latency = _timed(model.similar, match.row, k)
        results = [
            _recommendation(catalog, row, score, explainer.explain(match.row, row), drivers)
            for row, score, drivers in zip(found.rows.tolist(), found.scores.tolist(), _drivers(model, match.row, found))
        ]
        note = FALLBACK_NOTE if hasattr(model, "uses_fallback") and model.uses_fallback(match.row) else ""
        lists.append(ModelResults(model.name, model.label, latency, results, note))
    return Comparison(match.label, match.row, match.other_versions, k, lists, _overlaps(catalog, lists))


def recommend_titles(
    title_text: object, k: object = DEFAULT_K, *, model: str | None = None,
    catalog: Catalog | None = None, recommenders: Mapping[str, Recommender] | None = None,
) -> TitleRecommendations:
    """The original project's answer: the titles of the k (default 5) films most like the given one,
    from ``model`` (default: the evaluation's winner, see ``default_model``)."""
    k = validate_k(k)
    catalog, recommenders = _context(catalog, recommenders)
    (chosen,) = _choose_models(recommenders, [model or default_model(recommenders)])
    match = _resolve(title_text, catalog, recommenders)
    found = chosen.similar(match.row, k)
    rows = found.rows.tolist()
    titles = [catalog.column("title")[row] for row in rows]
    return TitleRecommendations(
        titulo=match.label,
        modelo=chosen.name,
        recomendaciones=titles,
        etiquetas=[catalog.labels[row] for row in rows],
        otras_versiones=match.other_versions,
        mensaje=f"Películas similares a {match.label}: {', '.join(catalog.labels[row] for row in rows)}.",
    )


def search(
    text: object, k: object = DEFAULT_K, models: Sequence[str] | None = None, *,
    catalog: Catalog | None = None, recommenders: Mapping[str, Recommender] | None = None,
) -> SearchResults:
    """Every model's k best films for a free-text description (the first call loads the sentence model)."""
    typed = clean_input(text, "el texto", max_chars=MAX_TEXT_CHARS)
    k = validate_k(k)
    catalog, recommenders = _context(catalog, recommenders)
    lists = []
    for model in _choose_models(recommenders, models, SEARCH_MODELS):
        found, latency = _timed(model.search, typed, k)
        results = [
            _recommendation(catalog, row, score, None) for row, score in zip(found.rows.tolist(), found.scores.tolist())
        ]
        # Only the word-matching models can find nothing (the sentence models always rank every film).
        lists.append(ModelResults(model.name, model.label, latency, results, "" if results else NO_SHARED_WORDS_NOTE))
    return SearchResults(typed, k, lists, _overlaps(catalog, lists))


def warm_up(recommenders: Mapping[str, Recommender] | None = None) -> float:
    """Load the sentence model now (e.g. in a background thread at start-up) so the first free-text
    search does not pay for it; returns the seconds it took."""
    started = time.perf_counter()
    recommenders = recommenders if recommenders is not None else serving_recommenders()
    release_freed_memory()  # before the model loads on top of what loading the catalog and indexes left behind
    for model in recommenders.values():
        model.search("warm up", 1)
    return time.perf_counter() - started
