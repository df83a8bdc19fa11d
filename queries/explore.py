"""Data for the Exploración tab: tidy DataFrames for Gradio's native plots, filtered by years and genre.

Every function takes the same filters — ``year_from``, ``year_to`` (inclusive; None means the
catalog's first/last year) and ``genre`` (a TMDB genre name, or ``ALL_GENRES``) — validated and
applied in one place, :func:`select`. Per-catalog arrays (years, months, weekdays, a film × genre
matrix, plausible budgets) are built once per catalog and cached, so a call is a few numpy masks
and a small DataFrame (well under a millisecond on the 4,802-film catalog).

Plain pandas/numpy: no UI code. Column names are snake_case; ``AXIS_TITLES`` has the Spanish
axis titles with units, and categorical x columns come in display order (pass e.g.
``sort=MONTHS_ES`` to gr.BarPlot, which otherwise sorts categories alphabetically).
"""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd

from queries.catalog import Catalog, load_catalog
from queries.errors import QueryError
from queries.people import MIN_PLAUSIBLE_USD
from queries.spanish import genre as genre_es
from queries.text import MONTHS_ES, WEEKDAYS_ES, clean_input, close_matches, kind_name, normalize, shorten

ALL_GENRES = "all"  # the dropdown entry meaning "no genre filter"
ALL_GENRE_ALIASES = {"all", "todos", "todas", "todos los generos", "all genres", "cualquiera"}
YEAR_LIMITS = (1800, 2100)  # years outside this are typos, not films
RATING_BIN_WIDTH = 0.5
RATING_BINS = [(i * RATING_BIN_WIDTH, (i + 1) * RATING_BIN_WIDTH) for i in range(int(10 / RATING_BIN_WIDTH))]
RATING_LABELS = [f"{low:.1f}–{high:.1f}" for low, high in RATING_BINS]  # display order for the x axis
# Below ~10 votes a vote average is one or two people's opinion (the EDA lists 10/10 films with 1 vote).
DEFAULT_MIN_VOTES = 10

AXIS_TITLES = {
    "year": "Año de estreno",
    "month": "Mes de estreno",
    "weekday": "Día de la semana del estreno",
    "genre": "Género",
    "films": "Películas (cantidad)",
    "budget_musd": "Presupuesto (millones de USD, nominales)",
    "revenue_musd": "Ingresos (millones de USD, nominales)",
    "return_ratio": "Retorno (ingresos / presupuesto)",
    "rating": "Puntuación media TMDB (0–10)",
}


# ------------------------------------------------------------------ per-catalog arrays, built once


@dataclass(frozen=True)
class _Arrays:
    year: np.ndarray  # int64
    month: np.ndarray  # int64, 0 = January
    weekday: np.ndarray  # int64, 0 = Monday
    genre_names: tuple[str, ...]  # alphabetical
    genre_by_key: dict[str, str]  # normalised name -> name
    has_genre: np.ndarray  # bool, films × genres, columns in genre_names order
    title: np.ndarray  # object
    budget: np.ndarray  # int64
    revenue: np.ndarray  # int64
    plausible_money: np.ndarray  # bool: budget and revenue both >= MIN_PLAUSIBLE_USD
    vote_average: np.ndarray  # float64
    vote_count: np.ndarray  # int64
    year_bounds: tuple[int, int]


class _CatalogKey:
    """Hashes a catalog by its file checksum, so lru_cache can key on an otherwise unhashable Catalog.

    Equality also requires the same movies table, so two catalogs sharing a checksum string (e.g.
    slices built in tests) never share arrays.
    """

    __slots__ = ("catalog",)

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    def __hash__(self) -> int:
        return hash(self.catalog.checksum)

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, _CatalogKey)
            and other.catalog.checksum == self.catalog.checksum
            and other.catalog.movies is self.catalog.movies
        )


@lru_cache(maxsize=4)
def _build_arrays(key: _CatalogKey) -> _Arrays:
    movies = key.catalog.movies
    dates = pd.to_datetime(movies["release_date"])
    genre_lists = [list(names) for names in movies["genres"]]
    names = tuple(sorted({name for names in genre_lists for name in names}))
    column = {name: j for j, name in enumerate(names)}
    has_genre = np.zeros((len(movies), len(names)), dtype=bool)
    for row, film_genres in enumerate(genre_lists):
        for name in film_genres:
            has_genre[row, column[name]] = True
    budget = movies["budget"].to_numpy(dtype=np.int64)
    revenue = movies["revenue"].to_numpy(dtype=np.int64)
    year = movies["release_year"].to_numpy(dtype=np.int64)
    return _Arrays(
        year=year,
        month=dates.dt.month.to_numpy(dtype=np.int64) - 1,
        weekday=dates.dt.day_of_week.to_numpy(dtype=np.int64),
        genre_names=names,
        genre_by_key={normalize(name): name for name in names} | {normalize(genre_es(name)): name for name in names},
        has_genre=has_genre,
        title=movies["title"].fillna("").to_numpy(dtype=object),
        budget=budget,
        revenue=revenue,
        plausible_money=(budget >= MIN_PLAUSIBLE_USD) & (revenue >= MIN_PLAUSIBLE_USD),
        vote_average=movies["vote_average"].to_numpy(dtype=np.float64),
        vote_count=movies["vote_count"].to_numpy(dtype=np.int64),
        year_bounds=(int(year.min()), int(year.max())),
    )


def _arrays(catalog: Catalog | None) -> _Arrays:
    return _build_arrays(_CatalogKey(catalog or load_catalog()))


# ------------------------------------------------------------------ filters


@dataclass(frozen=True)
class Selection:
    """Validated filters and the films they select."""

    year_from: int  # inclusive, after defaults and swapping
    year_to: int
    genre: str | None  # canonical genre name, None for all genres
    mask: np.ndarray  # bool over catalog rows

    @property
    def rows(self) -> np.ndarray:
        """Selected catalog rows, ascending."""
        return np.flatnonzero(self.mask)

    def __len__(self) -> int:
        return int(self.mask.sum())


def _parse_year(value: object, what: str) -> int | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise QueryError(f"{what} debe ser un año (número entero), no {value!r}.")
    if isinstance(value, str):
        text = value.strip()
        if not text.lstrip("-").isdigit() or len(text) > 6:
            raise QueryError(f"{what} debe ser un año (número entero), no «{shorten(text)}».")
        year = int(text)
    elif isinstance(value, numbers.Integral):
        year = int(value)
    elif isinstance(value, numbers.Real):
        number = float(value)
        if not math.isfinite(number) or not number.is_integer():
            raise QueryError(f"{what} debe ser un año entero, no {number:g}.")
        year = int(number)
    else:
        raise QueryError(f"{what} debe ser un año (número entero), no {kind_name(value)}.")
    low, high = YEAR_LIMITS
    if not low <= year <= high:
        raise QueryError(f"{what} {year} está fuera de rango ({low}–{high}).")
    return year


def parse_genre(genre: object, catalog: Catalog | None = None) -> str | None:
    """A genre as typed or picked (any case or accents) -> its catalog name; ``ALL_GENRES``/None -> None."""
    if genre is None or (isinstance(genre, str) and not genre.strip()):
        return None
    typed = clean_input(genre, "el género")
    key = normalize(typed)
    if key in ALL_GENRE_ALIASES:
        return None
    arrays = _arrays(catalog)
    if key in arrays.genre_by_key:
        return arrays.genre_by_key[key]
    suggestions = [arrays.genre_by_key[k] for k in close_matches(key, list(arrays.genre_by_key), limit=3, cutoff=70)]
    hint = f" ¿Quisiste decir: {'; '.join(genre_es(name) for name in suggestions)}?" if suggestions else ""
    raise QueryError(
        f"No hay un género «{shorten(typed)}» en el catálogo.{hint} Usa «todos» (o «{ALL_GENRES}») para todos.",
        suggestions=suggestions,
        not_found=True,
    )


def select(
    year_from: object = None, year_to: object = None, genre: object = ALL_GENRES, catalog: Catalog | None = None
) -> Selection:
    """The one filter every chart uses: release years ``year_from``..``year_to`` (inclusive) and a genre.

    Missing years default to the catalog's bounds; a reversed range is swapped (a range is a range,
    whichever slider was moved last). Non-integer or absurd years and unknown genres raise QueryError.
    """
    arrays = _arrays(catalog)
    first, last = _parse_year(year_from, "El año inicial"), _parse_year(year_to, "El año final")
    first = arrays.year_bounds[0] if first is None else first
    last = arrays.year_bounds[1] if last is None else last
    if first > last:
        first, last = last, first
    name = parse_genre(genre, catalog)
    mask = (arrays.year >= first) & (arrays.year <= last)
    if name is not None:
        mask &= arrays.has_genre[:, arrays.genre_names.index(name)]
    return Selection(first, last, name, mask)


# ------------------------------------------------------------------ dropdown and slider bounds


def genres(catalog: Catalog | None = None) -> list[str]:
    """The catalog's genre names, alphabetical (20 in TMDB 5000)."""
    return list(_arrays(catalog).genre_names)


def genre_choices(catalog: Catalog | None = None) -> list[tuple[str, str]]:
    """Dropdown choices as (shown, value): "Todos los géneros" first, then every genre by its Spanish name,
    alphabetically; the value stays TMDB's name (what the API and the catalog use; Spanish is accepted too)."""
    named = sorted(((genre_es(name), name) for name in genres(catalog)), key=lambda pair: normalize(pair[0]))
    return [("Todos los géneros", ALL_GENRES), *named]


def year_bounds(catalog: Catalog | None = None) -> tuple[int, int]:
    """(first, last) release year in the catalog, for the sliders' limits."""
    return _arrays(catalog).year_bounds


# ------------------------------------------------------------------ charts


def releases_per_year(
    year_from: object = None, year_to: object = None, genre: object = ALL_GENRES, catalog: Catalog | None = None
) -> pd.DataFrame:
    """Columns ``year`` (int), ``films`` (int): one row per year of the range that the catalog covers,
    zeros included so a line plot does not bridge empty years."""
    arrays, chosen = _arrays(catalog), select(year_from, year_to, genre, catalog)
    first = max(chosen.year_from, arrays.year_bounds[0])
    last = min(chosen.year_to, arrays.year_bounds[1])
    if first > last:
        return pd.DataFrame({"year": pd.Series([], dtype="int64"), "films": pd.Series([], dtype="int64")})
    counts = np.bincount(arrays.year[chosen.mask] - first, minlength=last - first + 1)
    return pd.DataFrame({"year": np.arange(first, last + 1, dtype=np.int64), "films": counts.astype(np.int64)})


def releases_per_month(
    year_from: object = None, year_to: object = None, genre: object = ALL_GENRES, catalog: Catalog | None = None
) -> pd.DataFrame:
    """Columns ``month`` (Spanish name), ``month_number`` (1–12), ``films``: 12 rows, January first."""
    arrays, chosen = _arrays(catalog), select(year_from, year_to, genre, catalog)
    counts = np.bincount(arrays.month[chosen.mask], minlength=12)
    return pd.DataFrame({"month": MONTHS_ES, "month_number": np.arange(1, 13, dtype=np.int64), "films": counts.astype(np.int64)})


def releases_per_weekday(
    year_from: object = None, year_to: object = None, genre: object = ALL_GENRES, catalog: Catalog | None = None
) -> pd.DataFrame:
    """Columns ``weekday`` (Spanish name), ``weekday_number`` (1 = lunes … 7 = domingo), ``films``: 7 rows, Monday first."""
    arrays, chosen = _arrays(catalog), select(year_from, year_to, genre, catalog)
    counts = np.bincount(arrays.weekday[chosen.mask], minlength=7)
    return pd.DataFrame({"weekday": WEEKDAYS_ES, "weekday_number": np.arange(1, 8, dtype=np.int64), "films": counts.astype(np.int64)})


def genre_counts(
    year_from: object = None, year_to: object = None, genre: object = ALL_GENRES, catalog: Catalog | None = None
) -> pd.DataFrame:
    """Columns ``genre`` (in Spanish), ``films``: films per genre among the selected films, most frequent first (ties
    alphabetical), genres with no film left out. A film counts once in each of its genres, so the
    column sums to more than the number of films; with a genre filter this shows the genres it is
    combined with, the filtered genre itself first."""
    arrays, chosen = _arrays(catalog), select(year_from, year_to, genre, catalog)
    counts = arrays.has_genre[chosen.mask].sum(axis=0)
    frame = pd.DataFrame({"genre": [genre_es(name) for name in arrays.genre_names], "films": counts.astype(np.int64)})
    frame = frame[frame["films"] > 0].sort_values(["films", "genre"], ascending=[False, True], kind="stable")
    return frame.reset_index(drop=True)


def budget_vs_revenue(
    year_from: object = None, year_to: object = None, genre: object = ALL_GENRES, catalog: Catalog | None = None
) -> pd.DataFrame:
    """Columns ``title``, ``year``, ``budget_musd``, ``revenue_musd`` (millions of nominal USD) and
    ``return_ratio`` (revenue / budget), for selected films whose budget and revenue are both known
    and plausible (>= queries.people.MIN_PLAUSIBLE_USD; smaller amounts are data-entry errors, see
    data/eda/REPORT.md). Catalog order."""
    arrays, chosen = _arrays(catalog), select(year_from, year_to, genre, catalog)
    keep = chosen.mask & arrays.plausible_money
    budget, revenue = arrays.budget[keep], arrays.revenue[keep]
    return pd.DataFrame({
        "title": arrays.title[keep].astype(str),
        "year": arrays.year[keep],
        "budget_musd": np.round(budget / 1e6, 3),
        "revenue_musd": np.round(revenue / 1e6, 3),
        "return_ratio": np.round(revenue / budget, 2),
    })


def _parse_min_votes(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise QueryError(f"El mínimo de votos debe ser un número entero, no {kind_name(value)}.")
    number = float(value)
    if not math.isfinite(number) or not number.is_integer() or number < 0:
        raise QueryError(f"El mínimo de votos debe ser un entero ≥ 0, no {number:g}.")
    return int(number)


def rating_distribution(
    year_from: object = None,
    year_to: object = None,
    genre: object = ALL_GENRES,
    min_votes: object = DEFAULT_MIN_VOTES,
    catalog: Catalog | None = None,
) -> pd.DataFrame:
    """Histogram of ``vote_average`` for selected films with at least ``min_votes`` votes.

    Columns ``rating`` (bin label "6.5–7.0", in ``RATING_LABELS`` order), ``rating_from`` (inclusive),
    ``rating_to`` (exclusive, except 10.0 which falls in the last bin), ``films``: always 20 rows.
    Films with no votes have average 0 and are never counted (min_votes is at least 1 in effect).
    """
    arrays, chosen = _arrays(catalog), select(year_from, year_to, genre, catalog)
    threshold = max(_parse_min_votes(min_votes), 1)
    keep = chosen.mask & (arrays.vote_count >= threshold)
    bins = np.clip(np.floor(arrays.vote_average[keep] / RATING_BIN_WIDTH).astype(np.int64), 0, len(RATING_BINS) - 1)
    counts = np.bincount(bins, minlength=len(RATING_BINS))
    return pd.DataFrame({
        "rating": RATING_LABELS,
        "rating_from": [low for low, _ in RATING_BINS],
        "rating_to": [high for _, high in RATING_BINS],
        "films": counts.astype(np.int64),
    })
