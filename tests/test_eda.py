"""scripts/eda.py: it writes every figure and the report from a real slice, and the figures' numbers
match the catalog (checked against counts made independently, not with the script's own helpers)."""
from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from queries.catalog import load_catalog
from queries.people import MIN_PLAUSIBLE_USD
from scripts import eda

SLICE_ROWS = 300


@pytest.fixture(scope="module")
def movies() -> pd.DataFrame:
    """Every column of the catalog file (load_catalog keeps only the served ones)."""
    return pd.read_parquet(load_catalog().path)


@pytest.fixture(scope="module")
def catalog_slice(tmp_path_factory, movies) -> Path:
    """The first rows of the real catalog, written as a catalog file of its own."""
    path = tmp_path_factory.mktemp("slice") / "movies.parquet"
    movies.head(SLICE_ROWS).to_parquet(path, index=False)
    return path


@pytest.fixture(scope="module")
def slice_report(tmp_path_factory, catalog_slice) -> tuple[Path, list[Path]]:
    out = tmp_path_factory.mktemp("eda")
    return out, eda.run(catalog_slice, out)


def bar_heights(fig: plt.Figure) -> list[float]:
    heights = [patch.get_height() for patch in fig.axes[0].patches]
    plt.close(fig)
    return heights


# ------------------------------------------------------------------ the script runs on a real slice


def test_the_script_writes_every_figure_and_the_report(slice_report):
    out, written = slice_report
    expected = {f"{chart.name}.png" for chart in eda.CHARTS} | {eda.REPORT_FILE}
    assert {path.name for path in written} == expected
    assert {path.name for path in out.iterdir()} == expected
    for path in written:
        assert path.stat().st_size > 1_000, path.name
    for chart in eda.CHARTS:
        assert (out / f"{chart.name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_report_shows_every_figure_and_no_placeholder_numbers(slice_report):
    out, _ = slice_report
    report = (out / eda.REPORT_FILE).read_text(encoding="utf-8")
    linked = set(re.findall(r"\]\(([^)]+\.png)\)", report))
    assert linked == {f"{chart.name}.png" for chart in eda.CHARTS}
    assert f"**{SLICE_ROWS:,} films**" in report
    assert "## 7. Conclusions" in report
    for bad in ("nan", "None", "inf"):
        assert not re.search(rf"\b{bad}\b", report), bad


def test_figures_stay_small(slice_report):
    out, _ = slice_report
    assert sum(path.stat().st_size for path in out.iterdir()) < 2_000_000


def test_reruns_are_byte_identical(tmp_path, catalog_slice, slice_report):
    first, _ = slice_report
    eda.run(catalog_slice, tmp_path)
    for path in first.iterdir():
        assert (tmp_path / path.name).read_bytes() == path.read_bytes(), path.name


def test_main_prints_what_it_wrote(tmp_path, catalog_slice, capsys):
    assert eda.main(["--catalog", str(catalog_slice), "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    for chart in eda.CHARTS:
        assert f"{chart.name}.png" in printed
    assert eda.REPORT_FILE in printed and "total" in printed


def test_a_missing_catalog_names_the_fix(tmp_path):
    with pytest.raises(SystemExit, match="etl.py"):
        eda.run(tmp_path / "nope.parquet", tmp_path / "out")


def test_the_slice_figures_count_the_slice(movies):
    head = movies.head(SLICE_ROWS)
    assert eda.releases_per_month(head).sum() == SLICE_ROWS
    assert eda.releases_per_weekday(head).sum() == SLICE_ROWS
    assert eda.releases_per_year(head).sum() == SLICE_ROWS


# ------------------------------------------------------------------ the figures' numbers match the catalog


def test_releases_per_month_are_the_catalog_month_counts(movies):
    counts = eda.releases_per_month(movies)
    assert tuple(counts) == load_catalog().month_counts
    assert counts.sum() == len(movies) == 4802
    assert counts.index.tolist() == ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def test_the_month_bars_drawn_sum_to_the_catalog(movies):
    chart = next(chart for chart in eda.CHARTS if chart.name == "releases_per_month")
    heights = bar_heights(chart.draw(chart.compute(movies)))
    assert heights == list(load_catalog().month_counts)
    assert sum(heights) == 4802


def test_the_weekday_bars_drawn_are_the_catalog_weekday_counts(movies):
    chart = next(chart for chart in eda.CHARTS if chart.name == "releases_per_weekday")
    heights = bar_heights(chart.draw(chart.compute(movies)))
    assert heights == list(load_catalog().weekday_counts)
    assert chart.compute(movies).idxmax() == "Friday"


def test_the_year_bars_drawn_sum_to_the_catalog(movies):
    chart = next(chart for chart in eda.CHARTS if chart.name == "releases_per_year")
    counts = chart.compute(movies)
    assert counts.to_dict() == {
        year: int((movies["release_year"] == year).sum())
        for year in range(int(movies["release_year"].min()), int(movies["release_year"].max()) + 1)
    }
    assert sum(bar_heights(chart.draw(counts))) == 4802


def test_genre_keyword_country_and_language_counts(movies):
    genres = Counter(name for names in movies["genres"] for name in set(names))
    assert eda.top_genres(movies).to_dict() == dict(genres)
    keywords = Counter(name for names in movies["keywords"] for name in set(names))
    top = eda.top_keywords(movies)
    assert len(top) == 20 and all(keywords[name] == count for name, count in top.items())
    assert top.iloc[-1] >= sorted(keywords.values(), reverse=True)[19]
    countries = Counter(name for names in movies["production_countries"] for name in set(names))
    assert eda.top_countries(movies).iloc[0] == countries["United States of America"] == max(countries.values())
    languages = eda.top_languages(movies)
    assert languages["en"] == (movies["original_language"] == "en").sum()
    assert languages.is_monotonic_decreasing


def test_missing_values_count_zeros_and_empty_lists(movies):
    table = eda.missing_values(movies).set_index("column")
    assert set(table.index) == set(movies.columns)
    assert table.loc["budget", "missing"] == (movies["budget"] == 0).sum() == 1036
    assert table.loc["revenue", "missing"] == (movies["revenue"] == 0).sum()
    assert table.loc["keywords", "missing"] == sum(len(k) == 0 for k in movies["keywords"])
    assert table.loc["runtime", "missing"] == ((movies["runtime"] == 0) | movies["runtime"].isna()).sum() == 36
    assert table.loc["vote_average", "missing"] == (movies["vote_count"] == 0).sum()
    assert table.loc["title", "missing"] == 0
    assert table["missing"].is_monotonic_decreasing


def test_distributions_plot_only_known_values(movies):
    money = eda.money_distributions(movies)
    assert len(money["budget"]) == (movies["budget"] > 0).sum()
    assert len(money["revenue"]) == (movies["revenue"] > 0).sum()
    other = eda.other_distributions(movies)
    assert len(other["runtime"]) == (movies["runtime"] > 0).sum()
    assert len(other["vote_average"]) == (movies["vote_count"] > 0).sum()


def test_budget_vs_revenue_points_and_the_implausible_ones(movies):
    points = eda.budget_revenue_points(movies)
    both = movies[(movies["budget"] > 0) & (movies["revenue"] > 0)]
    assert len(points) == len(both) == 3229
    implausible = both[(both["budget"] < MIN_PLAUSIBLE_USD) | (both["revenue"] < MIN_PLAUSIBLE_USD)]
    assert (~points["plausible"]).sum() == len(implausible)


def test_implausible_films_are_every_amount_from_1_to_999(movies):
    flagged = eda.implausible_films(movies)
    budget, revenue = movies["budget"], movies["revenue"]
    expected = ((budget >= 1) & (budget < MIN_PLAUSIBLE_USD)) | ((revenue >= 1) & (revenue < MIN_PLAUSIBLE_USD))
    assert len(flagged) == expected.sum()
    assert flagged.iloc[0]["title"] == "Modern Times"  # budget $1, revenue $8.5M: the most absurd return
    assert flagged["return_ratio"].is_monotonic_decreasing
    kinds = eda.implausible_kinds(flagged)
    assert kinds["films"].sum() == len(flagged)


def test_the_threshold_gap_is_empty_on_both_sides(movies):
    for row in eda.threshold_gaps(movies).itertuples():
        values = movies[row.column]
        assert row.below < MIN_PLAUSIBLE_USD <= row.above
        assert not ((values > row.below) & (values < row.above)).any()
    budget = eda.threshold_gaps(movies).set_index("column").loc["budget"]
    assert budget["widest"] == (budget["below"], budget["above"])


def test_threshold_sensitivity_is_cumulative(movies):
    table = eda.threshold_sensitivity(movies)
    assert table["flagged"].is_monotonic_increasing
    assert table["newly_flagged"].sum() == table["flagged"].iloc[-1]
    row = table.set_index("threshold").loc[MIN_PLAUSIBLE_USD]
    assert row["flagged"] == len(eda.implausible_films(movies))


def test_vote_buckets_cover_every_film(movies):
    table = eda.vote_reliability(movies)
    assert table["films"].sum() == len(movies)
    assert table.iloc[0]["films"] == (movies["vote_count"] == 0).sum()
    few = table.iloc[1]
    assert few["std"] > table.iloc[-1]["std"]  # fewer votes, noisier averages


def test_recommender_coverage(movies):
    coverage = eda.recommender_coverage(movies).set_index("field")
    assert coverage.loc["overview", "films"] == movies["overview"].fillna("").str.strip().ne("").sum()
    assert coverage.loc["directors", "films"] == sum(len(d) > 0 for d in movies["directors"])


def test_money_labels():
    assert [eda.usd(v) for v in (1, 650, 7_000, 23_000_000, 2_787_965_087)] == ["$1", "$650", "$7k", "$23M", "$2.79B"]
    assert np.isclose(float(eda.number(13_752).replace(",", "")), 13_752)
