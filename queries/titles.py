"""Finding a film from what a person typed, and the two per-title queries of the original API."""
from __future__ import annotations

from dataclasses import dataclass, field

from queries.catalog import Catalog, load_catalog
from queries.errors import QueryError
from queries.spanish import decimal, whole
from queries.text import clean_input, close_matches, normalize, shorten, split_year

MIN_VOTES = 2000  # votos_titulo answers only for films with at least this many votes (original rule)


@dataclass(frozen=True)
class TitleMatch:
    """The film a title resolved to, and other films sharing the title (told apart by year)."""

    row: int
    label: str
    other_versions: list[str] = field(default_factory=list)


def resolve_title(text: object, catalog: Catalog) -> TitleMatch:
    """Exact normalised match first ('titanic', 'TITANIC!', 'Titanic (1997)'); else ranked fuzzy suggestions.

    Several films with one title: a year in parentheses picks one; without it the most-voted wins
    and the others are listed so the user can pick.
    """
    typed = clean_input(text, "el título")
    title, year = split_year(typed)
    key = normalize(title)
    rows = catalog.title_rows.get(key, ())
    if year is not None and rows:
        with_year = [r for r in rows if catalog.column("release_year")[r] == year]
        if not with_year:
            options = [catalog.labels[r] for r in rows]
            raise QueryError(
                f"No hay «{shorten(title)}» de {year}. Versiones disponibles: {', '.join(options)}.",
                suggestions=options,
                not_found=True,
            )
        rows = tuple(with_year)
    if rows:
        return TitleMatch(rows[0], catalog.labels[rows[0]], [catalog.labels[r] for r in rows[1:]])

    squeezed = key.replace(" ", "")
    same_letters = squeezed and next(
        (known for known in catalog.title_rows if known.replace(" ", "") == squeezed), None
    )
    if same_letters:  # only spacing differs ("PunchDrunk Love", "Spiderman 3"): that is the film, not a guess
        rows = catalog.title_rows[same_letters]
        return TitleMatch(rows[0], catalog.labels[rows[0]], [catalog.labels[r] for r in rows[1:]])
    keys = close_matches(key, list(catalog.title_rows), limit=5, cutoff=75)
    suggestions = [catalog.labels[r] for key in keys for r in catalog.title_rows[key]][:5]
    hint = f" ¿Quisiste decir: {'; '.join(suggestions)}?" if suggestions else ""
    raise QueryError(f"No encontré la película «{shorten(typed)}».{hint}", suggestions=suggestions, not_found=True)


@dataclass(frozen=True)
class TitleScore:
    titulo: str
    anio: int
    popularidad: float  # TMDB popularity: the original project's "score"
    promedio_votos: float
    otras_versiones: list[str]
    mensaje: str  # the original assignment's sentence, word for word
    detalle: str  # for people: Spanish number format, vote average alongside


@dataclass(frozen=True)
class TitleVotes:
    titulo: str
    anio: int
    votos: int
    promedio_votos: float
    cumple_condicion: bool  # at least MIN_VOTES votes
    otras_versiones: list[str]
    mensaje: str  # the original assignment's sentence, word for word
    detalle: str


def score_titulo(titulo: object, catalog: Catalog | None = None) -> TitleScore:
    """Title, release year and score (TMDB popularity; vote average alongside, labelled)."""
    catalog = catalog or load_catalog()
    match = resolve_title(titulo, catalog)
    title, year = catalog.column("title")[match.row], catalog.column("release_year")[match.row]
    popularity = round(catalog.column("popularity")[match.row], 2)
    average = round(catalog.column("vote_average")[match.row], 1)
    return TitleScore(
        titulo=title,
        anio=year,
        popularidad=popularity,
        promedio_votos=average,
        otras_versiones=match.other_versions,
        mensaje=f"La película {title} fue estrenada en el año {year} con un score/popularidad de {popularity}",
        detalle=(
            f"La película {title} fue estrenada en el año {year} con un score/popularidad de {decimal(popularity)} "
            f"(promedio de votos: {decimal(average, 1)}/10)."
        ),
    )


def votos_titulo(titulo: object, catalog: Catalog | None = None) -> TitleVotes:
    """Vote count and average; under MIN_VOTES votes the answer says the film does not qualify."""
    catalog = catalog or load_catalog()
    match = resolve_title(titulo, catalog)
    title, year = catalog.column("title")[match.row], catalog.column("release_year")[match.row]
    votes, average = catalog.column("vote_count")[match.row], round(catalog.column("vote_average")[match.row], 1)
    qualifies = votes >= MIN_VOTES
    if qualifies:
        message = (
            f"La película {title} fue estrenada en el año {year}. La misma cuenta con un total de {votes} "
            f"valoraciones, con un promedio de {average}"
        )
        detail = (
            f"La película {title} fue estrenada en el año {year}. La misma cuenta con un total de {whole(votes)} "
            f"valoraciones, con un promedio de {decimal(average, 1)}."
        )
    else:
        message = (
            f"La película {title} fue estrenada en el año {year}. La misma cuenta con un total de {votes} "
            f"valoraciones, por lo que no cumple la condición de tener al menos {MIN_VOTES} valoraciones y no se "
            f"devuelve su promedio"
        )
        detail = (
            f"La película {title} ({year}) tiene {whole(votes)} {'valoración' if votes == 1 else 'valoraciones'}: "
            f"no cumple la condición de tener al menos {whole(MIN_VOTES)}, así que su promedio no se informa como "
            f"representativo."
        )
    return TitleVotes(title, year, votes, average, qualifies, match.other_versions, message, detail)
