"""queries/explore.py on the real catalog: every chart's numbers checked against plain pandas counts."""
from __future__ import annotations

import math
import time
from collections import Counter

import numpy as np
import pandas as pd
import pytest

from queries import explore
from queries.catalog import build_catalog_index, load_catalog
from queries.errors import QueryError
from queries.people import MIN_PLAUSIBLE_USD
from queries.spanish import GENRES_ES
from queries.text import MONTHS_ES, WEEKDAYS_ES

CHARTS = [
    explore.releases_per_year, explore.releases_per_month, explore.releases_per_weekday, explore.genre_counts,
    explore.budget_vs_revenue, explore.rating_distribution,
]


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


@pytest.fixture(scope="module")
def movies(catalog) -> pd.DataFrame:
    return catalog.movies


def in_years(movies: pd.DataFrame, first: int, last: int) -> pd.Series:
    return movies["release_year"].between(first, last)


def has_genre(movies: pd.DataFrame, genre: str) -> pd.Series:
    return movies["genres"].map(lambda names: genre in list(names))


# ------------------------------------------------------------------ no filter: the whole catalog


def test_months_without_filter_are_the_catalog_month_counts(catalog):
    months = explore.releases_per_month(catalog=catalog)
    assert list(months.columns) == ["month", "month_number", "films"]
    assert months["month"].tolist() == MONTHS_ES
    assert months["month_number"].tolist() == list(range(1, 13))
    assert tuple(months["films"]) == catalog.month_counts
    assert months["films"].sum() == len(catalog) == 4802


def test_weekdays_without_filter_are_the_catalog_weekday_counts(catalog):
    weekdays = explore.releases_per_weekday(catalog=catalog)
    assert weekdays["weekday"].tolist() == WEEKDAYS_ES  # lunes first
    assert tuple(weekdays["films"]) == catalog.weekday_counts
    assert weekdays["films"].sum() == 4802


def test_years_without_filter_cover_every_year_with_zeros(catalog, movies):
    years = explore.releases_per_year(catalog=catalog)
    first, last = int(movies["release_year"].min()), int(movies["release_year"].max())
    assert years["year"].tolist() == list(range(first, last + 1))
    expected = movies["release_year"].value_counts().reindex(range(first, last + 1), fill_value=0)
    assert years["films"].tolist() == expected.tolist()
    assert years["films"].sum() == 4802
    assert (years["films"] == 0).any()  # gaps in the early years stay visible as zeros


def test_genre_counts_without_filter_match_an_independent_count(catalog, movies):
    expected = Counter(GENRES_ES[name] for names in movies["genres"] for name in set(names))  # shown in Spanish
    counts = explore.genre_counts(catalog=catalog)
    assert dict(zip(counts["genre"], counts["films"])) == dict(expected)
    assert counts["films"].is_monotonic_decreasing
    assert counts.iloc[0]["genre"] == "Drama" and "Ciencia ficción" in set(counts["genre"])


def test_budget_vs_revenue_keeps_only_known_plausible_amounts(catalog, movies):
    points = explore.budget_vs_revenue(catalog=catalog)
    assert list(points.columns) == ["title", "year", "budget_musd", "revenue_musd", "return_ratio"]
    plausible = movies[(movies["budget"] >= MIN_PLAUSIBLE_USD) & (movies["revenue"] >= MIN_PLAUSIBLE_USD)]
    assert len(points) == len(plausible)
    assert points["title"].tolist() == plausible["title"].tolist()
    assert np.allclose(points["budget_musd"], plausible["budget"] / 1e6, atol=5e-4)
    assert np.allclose(points["revenue_musd"], plausible["revenue"] / 1e6, atol=5e-4)
    assert (points["budget_musd"] >= MIN_PLAUSIBLE_USD / 1e6).all()
    assert "Modern Times" not in set(points["title"])  # budget $1: an error, not a 8,500,000x return
    titanic = points[points["title"] == "Titanic"].iloc[0]
    assert (titanic["year"], titanic["budget_musd"]) == (1997, 200.0)


def test_rating_distribution_counts_films_with_enough_votes(catalog, movies):
    ratings = explore.rating_distribution(catalog=catalog)
    assert list(ratings.columns) == ["rating", "rating_from", "rating_to", "films"]
    assert ratings["rating"].tolist() == explore.RATING_LABELS and len(ratings) == 20
    assert ratings["films"].sum() == (movies["vote_count"] >= explore.DEFAULT_MIN_VOTES).sum()
    one_vote = explore.rating_distribution(min_votes=1, catalog=catalog)
    assert one_vote["films"].sum() == (movies["vote_count"] >= 1).sum()
    perfect = ((movies["vote_average"] >= 9.5) & (movies["vote_count"] >= 1)).sum()
    assert one_vote["films"].iloc[-1] == perfect > 0  # the 10/10-with-1-vote films ...
    assert ratings["films"].iloc[-1] == 0  # ... are gone with the default minimum
    # 0 votes means "no average" (stored as 0.0): never counted, even with min_votes=0
    assert explore.rating_distribution(min_votes=0, catalog=catalog).equals(one_vote)


def test_rating_bins_put_each_average_in_the_right_place(catalog, movies):
    ratings = explore.rating_distribution(min_votes=1, catalog=catalog)
    voted = movies.loc[movies["vote_count"] >= 1, "vote_average"]
    for row in ratings.itertuples():
        upper = voted <= row.rating_to if row.rating_to == 10 else voted < row.rating_to
        assert row.films == ((voted >= row.rating_from) & upper).sum(), row.rating


# ------------------------------------------------------------------ filters


def test_a_genre_and_year_filter_matches_plain_pandas(catalog, movies):
    chosen = movies[in_years(movies, 1990, 1999) & has_genre(movies, "Drama")]
    months = explore.releases_per_month(1990, 1999, "Drama", catalog=catalog)
    assert months["films"].sum() == len(chosen) > 0
    expected_months = pd.to_datetime(chosen["release_date"]).dt.month.value_counts()
    assert months["films"].tolist() == [int(expected_months.get(m, 0)) for m in range(1, 13)]
    years = explore.releases_per_year(1990, 1999, "Drama", catalog=catalog)
    assert years["year"].tolist() == list(range(1990, 2000))
    assert years["films"].tolist() == [int((chosen["release_year"] == y).sum()) for y in range(1990, 2000)]
    assert explore.releases_per_weekday(1990, 1999, "Drama", catalog=catalog)["films"].sum() == len(chosen)


def test_genre_filter_counts_co_genres_with_the_filtered_genre_first(catalog, movies):
    westerns = movies[has_genre(movies, "Western")]
    counts = explore.genre_counts(genre="Western", catalog=catalog)
    assert counts.iloc[0].tolist() == ["Western", len(westerns)]
    expected = Counter(GENRES_ES[name] for names in westerns["genres"] for name in set(names))
    assert dict(zip(counts["genre"], counts["films"])) == dict(expected)
    assert (counts["films"] > 0).all()


def test_budget_vs_revenue_and_ratings_follow_the_filters(catalog, movies):
    chosen = movies[in_years(movies, 2000, 2009) & has_genre(movies, "Animation")]
    points = explore.budget_vs_revenue(2000, 2009, "Animation", catalog=catalog)
    assert len(points) == ((chosen["budget"] >= MIN_PLAUSIBLE_USD) & (chosen["revenue"] >= MIN_PLAUSIBLE_USD)).sum()
    assert points["year"].between(2000, 2009).all()
    ratings = explore.rating_distribution(2000, 2009, "Animation", min_votes=100, catalog=catalog)
    assert ratings["films"].sum() == (chosen["vote_count"] >= 100).sum()


@pytest.mark.parametrize("typed", ["drama", "DRAMA", " Drama ", "dráma"])
def test_genre_names_ignore_case_spaces_and_accents(typed, catalog):
    assert explore.select(genre=typed, catalog=catalog).genre == "Drama"


def test_science_fiction_with_a_hyphen_is_found(catalog):
    assert explore.select(genre="science-fiction", catalog=catalog).genre == "Science Fiction"


@pytest.mark.parametrize("everything", [None, "", "  ", "all", "ALL", "todos", "Todas", explore.ALL_GENRES])
def test_all_genres_has_several_spellings(everything, catalog):
    chosen = explore.select(genre=everything, catalog=catalog)
    assert chosen.genre is None and len(chosen) == 4802


def test_a_reversed_year_range_is_swapped(catalog):
    forwards = explore.releases_per_month(1980, 1989, "Comedy", catalog=catalog)
    backwards = explore.releases_per_month(1989, 1980, "Comedy", catalog=catalog)
    assert forwards.equals(backwards)
    chosen = explore.select(2005, 1995, catalog=catalog)
    assert (chosen.year_from, chosen.year_to) == (1995, 2005)


@pytest.mark.parametrize(("year_from", "year_to"), [(1995, 1995), (1995.0, "1995"), ("1995", 1995.0), (np.int64(1995), np.float64(1995))])
def test_years_may_come_as_ints_floats_or_numeric_text(year_from, year_to, catalog, movies):
    assert len(explore.select(year_from, year_to, catalog=catalog)) == (movies["release_year"] == 1995).sum()


def test_an_open_ended_range_uses_the_catalog_bounds(catalog, movies):
    assert len(explore.select(2010, None, catalog=catalog)) == (movies["release_year"] >= 2010).sum()
    assert len(explore.select(None, 1960, catalog=catalog)) == (movies["release_year"] <= 1960).sum()


def test_a_range_without_films_gives_empty_or_zero_tables(catalog):
    assert explore.releases_per_year(1800, 1900, catalog=catalog).empty
    assert list(explore.releases_per_year(1800, 1900, catalog=catalog).columns) == ["year", "films"]
    assert explore.releases_per_month(1800, 1900, catalog=catalog)["films"].sum() == 0
    assert explore.genre_counts(1800, 1900, catalog=catalog).empty
    assert explore.budget_vs_revenue(1800, 1900, catalog=catalog).empty
    assert explore.rating_distribution(1800, 1900, catalog=catalog)["films"].sum() == 0


def test_a_range_wider_than_the_catalog_is_clipped_to_it(catalog):
    years = explore.releases_per_year(1900, 2050, catalog=catalog)
    assert (years["year"].min(), years["year"].max()) == explore.year_bounds(catalog)


# ------------------------------------------------------------------ dropdown and sliders


def test_genres_and_year_bounds(catalog, movies):
    names = explore.genres(catalog)
    assert names == sorted({name for genres in movies["genres"] for name in genres})
    assert len(names) == 20 and "Drama" in names
    assert explore.genre_choices(catalog)[0] == ("Todos los géneros", explore.ALL_GENRES)
    assert sorted(value for _shown, value in explore.genre_choices(catalog)[1:]) == names  # values: TMDB's names
    assert ("Ciencia ficción", "Science Fiction") in explore.genre_choices(catalog)  # shown: Spanish
    assert explore.year_bounds(catalog) == (int(movies["release_year"].min()), int(movies["release_year"].max()))
    assert explore.year_bounds(catalog) == (1916, 2017)


def test_every_genre_choice_is_accepted_in_both_languages(catalog):
    for shown, value in explore.genre_choices(catalog):
        if value != explore.ALL_GENRES:
            assert explore.select(genre=shown, catalog=catalog).genre == value  # "Terror" -> "Horror"
        explore.genre_counts(genre=value, catalog=catalog)


def test_axis_titles_cover_every_numeric_column(catalog):
    for chart in CHARTS:
        for column in chart(catalog=catalog).columns:
            if column.endswith("_number") or column in {"title", "rating_from", "rating_to"}:
                continue
            assert column in explore.AXIS_TITLES, (chart.__name__, column)


# ------------------------------------------------------------------ bad input


BAD_YEARS = ["abc", "19 90", "1990.5", 1990.5, True, [1990], {"year": 1990}, math.nan, math.inf, 1700, 2500, "-5"]


@pytest.mark.parametrize("chart", CHARTS)
@pytest.mark.parametrize("bad", BAD_YEARS)
def test_bad_years_raise_query_error(chart, bad, catalog):
    with pytest.raises(QueryError):
        chart(bad, 2000, catalog=catalog)
    with pytest.raises(QueryError):
        chart(1990, bad, catalog=catalog)


@pytest.mark.parametrize("bad", ["Dramaa", "Comediaa", "x" * 10_000, "<script>alert(1)</script>", ".*", "😀", 5, ["Drama"]])
def test_bad_genres_raise_query_error(bad, catalog):
    for chart in CHARTS:
        with pytest.raises(QueryError):
            chart(genre=bad, catalog=catalog)


def test_a_misspelt_genre_suggests_the_right_one(catalog):
    with pytest.raises(QueryError) as info:
        explore.genre_counts(genre="Dramma", catalog=catalog)
    assert info.value.suggestions[:1] == ["Drama"]
    assert info.value.not_found
    assert "Drama" in info.value.message


@pytest.mark.parametrize("bad", [-1, 2.5, "10", None, True, math.nan, math.inf])
def test_bad_min_votes_raise_query_error(bad, catalog):
    with pytest.raises(QueryError):
        explore.rating_distribution(min_votes=bad, catalog=catalog)


# ------------------------------------------------------------------ cost and caching


def test_each_chart_is_fast_once_the_catalog_is_prepared(catalog):
    for chart in CHARTS:
        chart(1990, 2010, "Drama", catalog=catalog)  # warm the per-catalog cache
        start = time.perf_counter()
        for _ in range(20):
            chart(1990, 2010, "Drama", catalog=catalog)
        per_call = (time.perf_counter() - start) / 20
        assert per_call < 0.02, f"{chart.__name__}: {per_call * 1e3:.1f} ms per call"


def test_catalogs_sharing_a_checksum_do_not_share_arrays(catalog):
    small = build_catalog_index(catalog.movies.head(300), catalog.path, catalog.checksum)
    larger = build_catalog_index(catalog.movies.head(600), catalog.path, catalog.checksum)
    assert explore.releases_per_month(catalog=small)["films"].sum() == 300
    assert explore.releases_per_month(catalog=larger)["films"].sum() == 600
    assert explore.releases_per_month(catalog=catalog)["films"].sum() == 4802
