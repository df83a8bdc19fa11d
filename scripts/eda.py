"""Catalog -> data/eda/REPORT.md + PNG figures: a reproducible exploratory analysis.

    python scripts/eda.py                                  # data/movies.parquet -> data/eda/
    python scripts/eda.py --catalog other.parquet --out /tmp/eda

Every number in the report is computed here; nothing is typed by hand. Each figure has a pure
function computing its data from the movies table (``CHARTS[i].compute``) and one drawing it, so
tests can check the numbers a figure shows. Same catalog -> byte-identical report and PNGs.
"""
from __future__ import annotations

import argparse
import math
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import FuncFormatter, MaxNLocator  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from queries.catalog import file_sha256  # noqa: E402
from queries.explore import DEFAULT_MIN_VOTES  # noqa: E402
from queries.people import MIN_PLAUSIBLE_USD  # noqa: E402

DEFAULT_CATALOG = ROOT / "data" / "movies.parquet"
DEFAULT_OUT = ROOT / "data" / "eda"
REPORT_FILE = "REPORT.md"
DPI = 100
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
LIST_COLUMNS = ["genres", "keywords", "production_companies", "production_countries", "spoken_languages", "cast", "directors"]
TEXT_COLUMNS = ["title", "overview", "tagline", "belongs_to_collection", "original_language", "status"]
ZERO_MEANS_MISSING = ["budget", "revenue", "runtime", "vote_count", "popularity"]
NEEDED_COLUMNS = {
    "id", "title", "release_date", "release_year", "runtime", "popularity", "vote_average", "vote_count", "budget",
    "revenue", "return", "original_language", "status", *LIST_COLUMNS, "overview", "tagline",
}
VOTE_BUCKETS = [(0, 0), (1, 4), (5, 9), (10, 19), (20, 49), (50, 99), (100, 999), (1000, None)]
SENSITIVITY_THRESHOLDS = [100, 1_000, 10_000, 100_000]
BLUE, RED, GREY = "#1f77b4", "#d62728", "#7f7f7f"
# Names for the figure's axis (labels, not data). TMDB's "cn" is Cantonese, not ISO 639-1.
LANGUAGE_NAMES = {
    "en": "English", "fr": "French", "es": "Spanish", "de": "German", "zh": "Chinese", "hi": "Hindi",
    "ja": "Japanese", "it": "Italian", "cn": "Cantonese", "ko": "Korean", "ru": "Russian", "pt": "Portuguese",
    "da": "Danish", "sv": "Swedish", "fa": "Persian", "nl": "Dutch", "he": "Hebrew", "th": "Thai", "ro": "Romanian",
    "ar": "Arabic", "cs": "Czech", "no": "Norwegian", "pl": "Polish", "tr": "Turkish", "id": "Indonesian",
}


# =========================================================================== data (pure, tested)


def release_dates(movies: pd.DataFrame) -> pd.Series:
    return pd.to_datetime(movies["release_date"])


def releases_per_year(movies: pd.DataFrame) -> pd.Series:
    """Films per release year, every year from the first to the last (zeros included)."""
    years = movies["release_year"].astype(int)
    counts = years.value_counts()
    return counts.reindex(range(years.min(), years.max() + 1), fill_value=0).rename("films").rename_axis("year")


def releases_per_month(movies: pd.DataFrame) -> pd.Series:
    """Films per release month, January first (12 values)."""
    counts = np.bincount(release_dates(movies).dt.month.to_numpy() - 1, minlength=12)
    return pd.Series(counts, index=pd.Index(MONTHS, name="month"), name="films")


def releases_per_weekday(movies: pd.DataFrame) -> pd.Series:
    """Films per release weekday, Monday first (7 values)."""
    counts = np.bincount(release_dates(movies).dt.day_of_week.to_numpy(), minlength=7)
    return pd.Series(counts, index=pd.Index(WEEKDAYS, name="weekday"), name="films")


def list_value_counts(movies: pd.DataFrame, column: str, top: int | None = None) -> pd.Series:
    """How many films carry each value of a list column, most frequent first, ties alphabetical."""
    counter = Counter(value for values in movies[column] for value in dict.fromkeys(values))
    ranked = sorted(counter.items(), key=lambda item: (-item[1], item[0]))[:top]
    return pd.Series(dict(ranked), name="films", dtype="int64").rename_axis(column)


def top_genres(movies: pd.DataFrame) -> pd.Series:
    return list_value_counts(movies, "genres")


def top_keywords(movies: pd.DataFrame) -> pd.Series:
    return list_value_counts(movies, "keywords", top=20)


def top_countries(movies: pd.DataFrame) -> pd.Series:
    return list_value_counts(movies, "production_countries", top=15)


def top_languages(movies: pd.DataFrame) -> pd.Series:
    """Films per original language code, top 15."""
    counts = movies["original_language"].fillna("(none)").value_counts()
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:15]
    return pd.Series(dict(ranked), name="films", dtype="int64").rename_axis("original_language")


def missing_mask(movies: pd.DataFrame, column: str) -> pd.Series:
    """True where a column's value means 'unknown': null, blank text, empty list, or a 0 that stands for null."""
    values = movies[column]
    missing = values.isna()
    if column in LIST_COLUMNS:
        missing |= values.map(lambda items: items is None or len(items) == 0)
    elif column in TEXT_COLUMNS:
        missing |= values.fillna("").astype(str).str.strip().eq("")
    elif column in ZERO_MEANS_MISSING:
        missing |= values.fillna(0).eq(0)
    elif column == "vote_average":
        missing |= movies["vote_count"].fillna(0).eq(0)  # 0 votes: the 0.0 average is a placeholder
    elif column == "return":
        missing |= movies["budget"].fillna(0).eq(0) | movies["revenue"].fillna(0).eq(0)
    return missing


def missing_rule(column: str) -> str:
    if column in LIST_COLUMNS:
        return "empty list"
    if column in TEXT_COLUMNS:
        return "null or blank"
    if column in ZERO_MEANS_MISSING:
        return "null or 0"
    if column == "vote_average":
        return "0 votes"
    if column == "return":
        return "budget or revenue is 0"
    return "null"


def missing_values(movies: pd.DataFrame) -> pd.DataFrame:
    """Columns column, rule, missing, share (0–1): every catalog column, most missing first."""
    rows = [
        {"column": column, "rule": missing_rule(column), "missing": int(missing_mask(movies, column).sum())}
        for column in movies.columns
    ]
    table = pd.DataFrame(rows)
    table["share"] = table["missing"] / len(movies)
    return table.sort_values(["missing", "column"], ascending=[False, True], kind="stable").reset_index(drop=True)


def positive(movies: pd.DataFrame, column: str) -> pd.Series:
    values = movies[column].dropna()
    return values[values > 0]


def money_distributions(movies: pd.DataFrame) -> dict[str, pd.Series]:
    return {"budget": positive(movies, "budget"), "revenue": positive(movies, "revenue")}


def other_distributions(movies: pd.DataFrame) -> dict[str, pd.Series]:
    return {
        "vote_count": positive(movies, "vote_count"),
        "vote_average": movies.loc[movies["vote_count"] > 0, "vote_average"],
        "popularity": positive(movies, "popularity"),
        "runtime": positive(movies, "runtime"),
    }


def is_implausible(values: pd.Series, threshold: int = MIN_PLAUSIBLE_USD) -> pd.Series:
    """A dollar amount that is known (> 0) but below the threshold: a data-entry error."""
    return (values > 0) & (values < threshold)


def budget_revenue_points(movies: pd.DataFrame, threshold: int = MIN_PLAUSIBLE_USD) -> pd.DataFrame:
    """Films with budget > 0 and revenue > 0: title, budget, revenue, return, plausible (both >= threshold)."""
    known = movies[(movies["budget"] > 0) & (movies["revenue"] > 0)]
    points = known[["title", "release_year", "budget", "revenue", "return"]].rename(columns={"return": "return_ratio"})
    points["plausible"] = (points["budget"] >= threshold) & (points["revenue"] >= threshold)
    return points.reset_index(drop=True)


def small_amounts(movies: pd.DataFrame, below: int = 1_000_000) -> dict[str, pd.Series]:
    """Known budgets and revenues under ``below`` dollars: where unit errors and real micro-budgets meet."""
    return {column: positive(movies, column)[lambda s: s < below].sort_values() for column in ("budget", "revenue")}


def votes_vs_average(movies: pd.DataFrame) -> pd.DataFrame:
    return movies.loc[movies["vote_count"] > 0, ["title", "vote_count", "vote_average"]].reset_index(drop=True)


# --------------------------------------------------------------------------- findings behind the text


def widest_log_gap(values: pd.Series, below: float) -> tuple[int, int] | None:
    """The two consecutive distinct amounts under ``below`` with the largest ratio between them."""
    distinct = np.unique(values[(values > 0) & (values < below)].to_numpy())
    if len(distinct) < 2:
        return None
    ratios = distinct[1:] / distinct[:-1]
    i = int(np.argmax(ratios))
    return int(distinct[i]), int(distinct[i + 1])


def threshold_gaps(movies: pd.DataFrame, threshold: int = MIN_PLAUSIBLE_USD, under: int = 100_000) -> pd.DataFrame:
    """Per amount column: the largest known value below the threshold, the smallest at or above it, and the
    widest empty stretch (largest ratio between consecutive distinct values) under ``under`` dollars."""
    rows = []
    for column in ("budget", "revenue"):
        values = movies[column]
        below, above = values[(values > 0) & (values < threshold)], values[values >= threshold]
        rows.append({
            "column": column,
            "below": int(below.max()) if len(below) else None,
            "above": int(above.min()) if len(above) else None,
            "widest": widest_log_gap(values, under),
        })
    return pd.DataFrame(rows)


def implausible_kinds(flagged: pd.DataFrame, threshold: int = MIN_PLAUSIBLE_USD) -> pd.DataFrame:
    """Films with a tiny amount, split by what the other amount allows us to cross-check.

    Columns kind, films, example ("title ($budget / $revenue)", the first film of that kind by title)."""
    budget, revenue = flagged["budget"], flagged["revenue"]
    tiny_budget, tiny_revenue = is_implausible(budget, threshold), is_implausible(revenue, threshold)
    other = budget.where(tiny_revenue & ~tiny_budget, revenue)  # the amount that is not tiny, if any
    kinds = {
        "both amounts tiny": tiny_budget & tiny_revenue,
        "other amount >= $1M": ~(tiny_budget & tiny_revenue) & (other >= 1_000_000),
        f"other amount {usd(threshold)}–$1M": ~(tiny_budget & tiny_revenue) & (other >= threshold) & (other < 1_000_000),
        "other amount unknown (0)": ~(tiny_budget & tiny_revenue) & (other == 0),
    }
    rows = []
    for kind, mask in kinds.items():
        films = flagged[mask].sort_values("title", kind="stable")
        example = "" if films.empty else f"{films.iloc[0]['title']} (${films.iloc[0]['budget']:,} / ${films.iloc[0]['revenue']:,})"
        rows.append({"kind": kind, "films": int(mask.sum()), "example": example})
    return pd.DataFrame(rows)


def threshold_sensitivity(movies: pd.DataFrame, thresholds: list[int] = SENSITIVITY_THRESHOLDS) -> pd.DataFrame:
    """For each threshold: films with an implausible amount, computable returns lost, and who joins the list."""
    known = (movies["budget"] > 0) & (movies["revenue"] > 0)
    rows, previous = [], pd.Series(False, index=movies.index)
    for threshold in thresholds:
        flagged = is_implausible(movies["budget"], threshold) | is_implausible(movies["revenue"], threshold)
        new = movies[flagged & ~previous].assign(has_both=lambda d: (d["budget"] > 0) & (d["revenue"] > 0)).sort_values(
            ["has_both", "budget", "revenue", "title"], ascending=[False, True, True, True], kind="stable")
        rows.append({
            "threshold": threshold,
            "flagged": int(flagged.sum()),
            "returns_excluded": int((flagged & known).sum()),
            "newly_flagged": int(len(new)),
            "examples": [f"{t} (${b:,} / ${r:,})" for t, b, r in new[["title", "budget", "revenue"]].head(4).itertuples(index=False)],
        })
        previous = flagged
    return pd.DataFrame(rows)


def implausible_films(movies: pd.DataFrame, threshold: int = MIN_PLAUSIBLE_USD) -> pd.DataFrame:
    """Films with a budget or revenue of $1..threshold-1, largest `return` (as return_ratio) first."""
    flagged = movies[is_implausible(movies["budget"], threshold) | is_implausible(movies["revenue"], threshold)]
    flagged = flagged[["title", "release_year", "budget", "revenue", "return"]].rename(columns={"return": "return_ratio"})
    return flagged.sort_values(["return_ratio", "title"], ascending=[False, True], kind="stable").reset_index(drop=True)


def vote_reliability(movies: pd.DataFrame) -> pd.DataFrame:
    """Per vote-count bucket: films, mean and spread of vote_average, and films at the extremes (>= 9 or <= 3)."""
    rows = []
    for low, high in VOTE_BUCKETS:
        in_bucket = (movies["vote_count"] >= low) & (movies["vote_count"] <= (high if high is not None else math.inf))
        averages = movies.loc[in_bucket, "vote_average"]
        label = str(low) if high == low else (f"{low:,}+" if high is None else f"{low:,}–{high:,}")
        rows.append({
            "votes": label,
            "films": int(in_bucket.sum()),
            "mean": averages.mean() if len(averages) else math.nan,
            "std": averages.std() if len(averages) > 1 else math.nan,
            "extreme": int(((averages >= 9) | (averages <= 3)).sum()),
        })
    return pd.DataFrame(rows)


def date_spikes(movies: pd.DataFrame) -> tuple[pd.Series, float]:
    """Most common month-day release dates (top 3) and the median count of a calendar day."""
    days = release_dates(movies).dt.strftime("%m-%d").value_counts()
    ranked = sorted(days.items(), key=lambda item: (-item[1], item[0]))
    return pd.Series(dict(ranked[:3]), dtype="int64"), float(days.median())


def recommender_coverage(movies: pd.DataFrame) -> pd.DataFrame:
    """For the fields the recommenders can read: films that have it, and the mean number of items."""
    rows = []
    for column in ["overview", "tagline", "genres", "keywords", "cast", "directors", "production_companies"]:
        have = ~missing_mask(movies, column)
        if column in LIST_COLUMNS:
            size = movies.loc[have, column].map(len).mean()
            unit = "items"
        else:
            size = movies.loc[have, column].astype(str).str.split().map(len).mean()
            unit = "words"
        rows.append({"field": column, "films": int(have.sum()), "share": have.mean(), "mean_size": size, "unit": unit})
    return pd.DataFrame(rows)


# =========================================================================== figures


def usd(value: float, _position: object = None) -> str:
    """$1, $650, $7k, $23M, $2.79B: three significant digits at most."""
    for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= size:
            return f"${value / size:.3g}{suffix}"
    return f"${value:.3g}"


def number(value: float) -> str:
    """13,752 / 6.2 / 0.000372: thousands separators for big numbers, three significant digits for small."""
    if abs(value) >= 100 or (abs(value) >= 1 and float(value).is_integer()):
        return f"{value:,.0f}"
    if abs(value) >= 1:
        return f"{value:.1f}"
    return f"{value:.3g}"


def thousands(value: float, _position: object = None) -> str:
    return f"{value:,.0f}" if value >= 1 else f"{value:g}"


def new_figure(width: float = 8, height: float = 4.5, rows: int = 1, cols: int = 1) -> tuple[Figure, np.ndarray]:
    fig, axes = plt.subplots(rows, cols, figsize=(width, height), dpi=DPI, squeeze=False)
    return fig, axes


def count_axis(axis: matplotlib.axis.Axis) -> None:
    """Film counts: whole numbers, 2,000 not 2000."""
    axis.set_major_locator(MaxNLocator(integer=True))
    axis.set_major_formatter(FuncFormatter(lambda value, _position: f"{value:,.0f}"))


def no_data(ax: plt.Axes) -> None:
    ax.text(0.5, 0.5, "no data", ha="center", va="center", transform=ax.transAxes, color=GREY)


def log_bins(values: pd.Series, per_decade: int = 10, integers: bool = False) -> np.ndarray:
    low, high = math.floor(math.log10(values.min())), math.ceil(math.log10(values.max()) + 1e-9)
    edges = np.logspace(low, high, (high - low) * per_decade + 1)
    if integers:  # whole numbers: edges between integers, so no bin is empty by construction
        edges = np.unique(np.round(edges)) - 0.5
    return edges


def log_histogram(ax: plt.Axes, values: pd.Series, title: str, xlabel: str, money: bool = False,
                  integers: bool = False) -> None:
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("films")
    if values.empty:
        no_data(ax)
        return
    edges = log_bins(values, integers=integers)
    ax.hist(values, bins=edges, color=BLUE, edgecolor="white", linewidth=0.3)
    ax.set_xscale("log")
    ax.set_xlim(edges[0], values.max() * 2)
    count_axis(ax.yaxis)
    ax.xaxis.set_major_formatter(FuncFormatter(usd if money else thousands))
    ax.grid(axis="y", alpha=0.3)


def draw_missing_values(table: pd.DataFrame) -> Figure:
    shown = table[table["missing"] > 0].iloc[::-1]
    fig, axes = new_figure(8, max(3.0, 0.32 * len(shown) + 1.2))
    ax = axes[0, 0]
    ax.set_title(f"Missing values per column ({int(table['missing'].gt(0).sum())} of {len(table)} columns)")
    ax.set_xlabel("films with the value missing (% of catalog; bar labels: films)")
    if shown.empty:
        no_data(ax)
    else:
        labels = [f"{c} ({r})" for c, r in zip(shown["column"], shown["rule"])]
        bars = ax.barh(labels, shown["share"] * 100, color=BLUE)
        ax.bar_label(bars, labels=[f"{n:,}" for n in shown["missing"]], padding=3, fontsize=8)
        ax.set_xlim(0, shown["share"].max() * 100 * 1.12 + 1)  # room for the bar labels
        ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return fig


def draw_money_distributions(data: dict[str, pd.Series]) -> Figure:
    fig, axes = new_figure(10, 4, 1, 2)
    for ax, column in zip(axes[0], ("budget", "revenue")):
        values = data[column]
        log_histogram(ax, values, f"{column.capitalize()} (known, > $0): {len(values):,} films",
                      f"{column} (USD, nominal, log scale)", money=True)
        ax.axvline(MIN_PLAUSIBLE_USD, color=RED, linestyle="--", linewidth=1)
        ax.text(MIN_PLAUSIBLE_USD * 1.3, 0.95, f"{usd(MIN_PLAUSIBLE_USD)}: plausibility\nthreshold",
                transform=ax.get_xaxis_transform(), color=RED, fontsize=8, va="top")
    fig.tight_layout()
    return fig


def draw_other_distributions(data: dict[str, pd.Series]) -> Figure:
    fig, axes = new_figure(10, 7, 2, 2)
    log_histogram(axes[0, 0], data["vote_count"], f"Vote count (> 0): {len(data['vote_count']):,} films",
                  "votes on TMDB (log scale)", integers=True)
    log_histogram(axes[1, 0], data["popularity"], f"Popularity (> 0): {len(data['popularity']):,} films",
                  "TMDB popularity score (log scale)")
    for ax, column, title, xlabel, bins in (
        (axes[0, 1], "vote_average", "Vote average (>= 1 vote)", "mean rating (0–10)", np.arange(0, 10.5, 0.5)),
        (axes[1, 1], "runtime", "Runtime (> 0 min)", "runtime (minutes)", None),
    ):
        values = data[column]
        ax.set_title(f"{title}: {len(values):,} films")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("films")
        if values.empty:
            no_data(ax)
            continue
        ax.hist(values, bins=bins if bins is not None else np.arange(0, values.max() + 10, 10),
                color=BLUE, edgecolor="white", linewidth=0.3)
        count_axis(ax.yaxis)
        ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return fig


def draw_bars(counts: pd.Series, title: str, xlabel: str, ylabel: str = "films", rotate: int = 0) -> Figure:
    fig, axes = new_figure(8, 4.5)
    ax = axes[0, 0]
    bars = ax.bar([str(label) for label in counts.index], counts.to_numpy(), color=BLUE)
    ax.bar_label(bars, labels=[f"{n:,}" for n in counts], padding=2, fontsize=8)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.tick_params(axis="x", rotation=rotate)
    ax.margins(y=0.12)
    count_axis(ax.yaxis)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return fig


def draw_horizontal_bars(counts: pd.Series, title: str, ylabel: str, labels: dict[str, str] | None = None,
                         xlabel: str = "films (a film counts once for each value it has)", log: bool = False) -> Figure:
    fig, axes = new_figure(8, max(3.0, 0.3 * len(counts) + 1.2))
    ax = axes[0, 0]
    shown = counts.iloc[::-1]
    names = [(labels or {}).get(str(label), str(label)) for label in shown.index]
    bars = ax.barh(names, shown.to_numpy(), color=BLUE)
    ax.bar_label(bars, labels=[f"{n:,}" for n in shown], padding=3, fontsize=8)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if log and not shown.empty:
        ax.set_xscale("log")
        ax.set_xlim(0.8, shown.max() * 3)
        ax.xaxis.set_major_formatter(FuncFormatter(thousands))
    else:
        ax.margins(x=0.12)
        count_axis(ax.xaxis)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return fig


def draw_releases_per_year(counts: pd.Series) -> Figure:
    fig, axes = new_figure(10, 4.5)
    ax = axes[0, 0]
    ax.bar(counts.index.to_numpy(), counts.to_numpy(), width=0.85, color=BLUE)
    ax.set_title(f"Releases per year, {counts.index.min()}–{counts.index.max()} ({int(counts.sum()):,} films)")
    ax.set_xlabel("release year")
    ax.set_ylabel("films released")
    count_axis(ax.yaxis)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return fig


def draw_budget_vs_revenue(points: pd.DataFrame) -> Figure:
    fig, axes = new_figure(8, 6.5)
    ax = axes[0, 0]
    good, bad = points[points["plausible"]], points[~points["plausible"]]
    ax.set_title(f"Budget vs revenue: {len(points):,} films with both > $0")
    ax.set_xlabel("budget (USD, nominal, log scale)")
    ax.set_ylabel("revenue (USD, nominal, log scale)")
    if points.empty:
        no_data(ax)
        return fig
    ax.scatter(good["budget"], good["revenue"], s=6, alpha=0.35, color=BLUE, linewidths=0,
               label=f"plausible ({len(good):,})")
    ax.scatter(bad["budget"], bad["revenue"], s=30, marker="x", color=RED,
               label=f"budget or revenue < {usd(MIN_PLAUSIBLE_USD)} ({len(bad):,})")
    low = min(points["budget"].min(), points["revenue"].min())
    high = max(points["budget"].max(), points["revenue"].max())
    ax.plot([low, high], [low, high], color=GREY, linestyle="--", linewidth=1, label="break-even (revenue = budget)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.xaxis.set_major_formatter(FuncFormatter(usd))
    ax.yaxis.set_major_formatter(FuncFormatter(usd))
    worst = bad.sort_values(["return_ratio", "title"], ascending=[False, True]).head(3)
    for i, row in enumerate(worst.itertuples()):  # alternate above/below: the worst points sit close together
        ax.annotate(row.title, (row.budget, row.revenue), textcoords="offset points", xytext=(7, 5 if i % 2 else -12),
                    fontsize=8, color=RED)
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def draw_small_amounts(data: dict[str, pd.Series]) -> Figure:
    fig, axes = new_figure(10, 6, 2, 1)
    bins = np.logspace(0, 6, 61)
    for ax, column in zip(axes[:, 0], ("budget", "revenue")):
        values = data[column]
        ax.set_title(f"Known {column}s under $1M, 10 bins per decade ({len(values):,} films)")
        ax.set_xlabel(f"{column} (USD, nominal, log scale)")
        ax.set_ylabel("films")
        ax.set_xscale("log")
        ax.set_xlim(0.8, 1.2e6)
        ax.xaxis.set_major_formatter(FuncFormatter(usd))
        if values.empty:
            no_data(ax)
            continue
        below = values[values < MIN_PLAUSIBLE_USD]
        ax.hist([below, values[values >= MIN_PLAUSIBLE_USD]], bins=bins, stacked=True, color=[RED, BLUE],
                label=[f"< {usd(MIN_PLAUSIBLE_USD)}: treated as errors ({len(below):,})",
                       f">= {usd(MIN_PLAUSIBLE_USD)} ({len(values) - len(below):,})"])
        ax.axvline(MIN_PLAUSIBLE_USD, color=RED, linestyle="--", linewidth=1)
        ax.legend(loc="upper left", fontsize=8)
        count_axis(ax.yaxis)
        ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return fig


def draw_votes_vs_average(points: pd.DataFrame) -> Figure:
    fig, axes = new_figure(8, 5)
    ax = axes[0, 0]
    ax.set_title(f"Vote average vs number of votes ({len(points):,} films with >= 1 vote)")
    ax.set_xlabel("votes on TMDB (log scale)")
    ax.set_ylabel("vote average (0–10)")
    if points.empty:
        no_data(ax)
        return fig
    ax.scatter(points["vote_count"], points["vote_average"], s=6, alpha=0.3, color=BLUE, linewidths=0)
    ax.axvline(DEFAULT_MIN_VOTES, color=RED, linestyle="--", linewidth=1)
    ax.text(DEFAULT_MIN_VOTES * 1.1, 0.3, f"{DEFAULT_MIN_VOTES} votes: default minimum\nin the Exploración tab",
            color=RED, fontsize=8)
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(FuncFormatter(thousands))
    ax.set_ylim(-0.3, 10.3)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


@dataclass(frozen=True)
class Chart:
    name: str  # file stem: <name>.png
    caption: str
    compute: Callable[[pd.DataFrame], object]  # movies -> the numbers the figure shows
    draw: Callable[[object], Figure]


CHARTS: tuple[Chart, ...] = (
    Chart("missing_values", "Missing values per column", missing_values, draw_missing_values),
    Chart("distribution_money", "Budget and revenue (log scale)", money_distributions, draw_money_distributions),
    Chart("distribution_votes_popularity_runtime", "Vote count, vote average, popularity, runtime",
          other_distributions, draw_other_distributions),
    Chart("releases_per_year", "Releases per year", releases_per_year, draw_releases_per_year),
    Chart("releases_per_month", "Releases per month", releases_per_month,
          lambda counts: draw_bars(counts, f"Releases per month, all years ({int(counts.sum()):,} films)", "release month")),
    Chart("releases_per_weekday", "Releases per weekday", releases_per_weekday,
          lambda counts: draw_bars(counts, f"Releases per weekday, all years ({int(counts.sum()):,} films)", "release weekday")),
    Chart("top_genres", "Genres", top_genres,
          lambda counts: draw_horizontal_bars(counts, "Films per genre (all genres)", "genre")),
    Chart("top_keywords", "Top 20 keywords", top_keywords,
          lambda counts: draw_horizontal_bars(counts, "Top 20 keywords", "keyword")),
    Chart("production_countries", "Top 15 production countries", top_countries,
          lambda counts: draw_horizontal_bars(counts, "Top 15 production countries", "country")),
    Chart("original_languages", "Top 15 original languages", top_languages,
          lambda counts: draw_horizontal_bars(
              counts, "Top 15 original languages (log scale: English dominates)", "original language (TMDB code)",
              labels={code: f"{LANGUAGE_NAMES[code]} ({code})" for code in counts.index if code in LANGUAGE_NAMES},
              xlabel="films (log scale)", log=True)),
    Chart("budget_vs_revenue", "Budget vs revenue (log-log)", budget_revenue_points, draw_budget_vs_revenue),
    Chart("small_amounts", "Budgets and revenues under $1M: the threshold's evidence", small_amounts, draw_small_amounts),
    Chart("votes_vs_average", "Vote average vs number of votes", votes_vs_average, draw_votes_vs_average),
)


def save(fig: Figure, path: Path) -> None:
    fig.savefig(path, dpi=DPI, metadata={"Software": None})  # no version stamp: reruns do not churn git
    plt.close(fig)


# =========================================================================== report


def n(value: float) -> str:
    return f"{value:,.0f}"


def pct(part: float, whole: float) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "n/a"


def cell(value: object) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def md_table(header: list[str], rows: list[list[object]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def figure(name: str, alt: str) -> str:
    return f"![{alt}]({name}.png)"


def top_text(counts: pd.Series, k: int = 5) -> str:
    return ", ".join(f"{label} ({value:,})" for label, value in counts.head(k).items())


def describe_row(name: str, values: pd.Series, money: bool = False) -> list[object]:
    if values.empty:
        return [name, 0, "", "", "", "", ""]
    show = usd if money else number
    median = values.median()
    skew = f"{values.mean() / median:.1f}" if median else ""
    return [name, f"{len(values):,}", show(values.min()), show(median), show(values.mean()), show(values.max()), skew]


def build_report(movies: pd.DataFrame, data: dict[str, object], source: str, checksum: str) -> str:
    total = len(movies)
    years = movies["release_year"]
    out: list[str] = []
    add = out.append

    add("# Exploratory data analysis of the catalog\n")
    add(f"Generated by `scripts/eda.py` from `{source}` (sha256 `{checksum[:16]}…`): **{total:,} films** released "
        f"{years.min()}–{years.max()}. Do not edit by hand: rerun `python scripts/eda.py`. Amounts are nominal USD "
        f"as TMDB reports them (not inflation-adjusted).\n")

    # ------------------------------------------------------------------ 1
    missing = data["missing_values"]
    add("## 1. Missing values\n")
    add("A value counts as missing when it is null, blank text, an empty list, or a 0 that the ETL wrote for "
        "\"unknown\" (budget, revenue, runtime, vote count, popularity; `return` when budget or revenue is 0; "
        "`vote_average` when nobody voted).\n")
    add(md_table(["column", "missing when", "films", "share"],
                 [[f"`{r.column}`", r.rule, f"{r.missing:,}", pct(r.missing, total)] for r in missing.itertuples()
                  if r.missing > 0]))
    complete = [f"`{c}`" for c in missing.loc[missing["missing"] == 0, "column"]]
    add(f"\nComplete columns: {', '.join(sorted(complete)) or 'none'}.\n")
    add(figure("missing_values", "Missing values per column") + "\n")

    # ------------------------------------------------------------------ 2
    money, other = data["distribution_money"], data["distribution_votes_popularity_runtime"]
    add("## 2. Distributions\n")
    add(md_table(["variable (known values)", "films", "min", "median", "mean", "max", "mean ÷ median"], [
        describe_row("budget, USD (> 0)", money["budget"], money=True),
        describe_row("revenue, USD (> 0)", money["revenue"], money=True),
        describe_row("vote count (> 0)", other["vote_count"]),
        describe_row("vote average, 0–10 (>= 1 vote)", other["vote_average"]),
        describe_row("popularity, TMDB score (> 0)", other["popularity"]),
        describe_row("runtime, minutes (> 0)", other["runtime"]),
    ]))
    add("\nBudget, revenue, vote count and popularity span several orders of magnitude and are right-skewed "
        "(mean well above median), so they are plotted on log scales. Vote average and runtime are roughly "
        "bell-shaped. The budget and revenue histograms have a separate cluster of amounts under "
        f"{usd(MIN_PLAUSIBLE_USD)} (section 6.1).\n")
    add(figure("distribution_money", "Budget and revenue distributions, log scale") + "\n")
    add(figure("distribution_votes_popularity_runtime", "Vote count, vote average, popularity and runtime") + "\n")

    # ------------------------------------------------------------------ 3
    per_year, per_month, per_weekday = data["releases_per_year"], data["releases_per_month"], data["releases_per_weekday"]
    spikes, median_day = date_spikes(movies)
    last_year, previous_year = per_year.index.max(), per_year.index.max() - 1
    reference = per_year.loc[max(per_year.index.min(), last_year - 11): last_year - 2]
    add("## 3. Releases over time\n")
    tail = (int(per_year.get(previous_year, 0)), int(per_year.get(last_year, 0)))
    tail_incomplete = len(reference) > 0 and max(tail) < 0.5 * reference.median()
    add(f"- Busiest year: {per_year.idxmax()} ({per_year.max():,} films). {previous_year} has {tail[0]:,} films "
        f"and {last_year} has {tail[1]:,}, against a median of {reference.median():,.0f} per year over "
        f"{reference.index.min()}–{reference.index.max()}"
        + (": the last two years are incomplete snapshots, so trends over them are artefacts of when the data "
           "was collected." if tail_incomplete else "."))
    add(f"- Films released before 1970: {int(per_year[per_year.index < 1970].sum()):,} "
        f"({pct(per_year[per_year.index < 1970].sum(), total)}); from 1995 on: "
        f"{int(per_year[per_year.index >= 1995].sum()):,} ({pct(per_year[per_year.index >= 1995].sum(), total)}). "
        f"The catalog is mostly recent cinema; old films are the well-known few.")
    add(f"- Busiest month: {per_month.idxmax()} ({per_month.max():,}); quietest: {per_month.idxmin()} "
        f"({per_month.min():,}).")
    days = per_weekday.sort_values(ascending=False, kind="stable")
    add(f"- Main release day: {days.index[0]}, {days.iloc[0]:,} films ({pct(days.iloc[0], total)}); then "
        f"{days.index[1]} {days.iloc[1]:,} and {days.index[2]} {days.iloc[2]:,}; the other four days "
        f"{int(days.iloc[3:].sum()):,} together.")
    spike_text = ", ".join(f"{day} ({count:,})" for day, count in spikes.items())
    january_first = spikes.index[0] == "01-01" and spikes.iloc[0] > 3 * median_day
    add(f"- Most common calendar days: {spike_text}; the median day has {median_day:,.0f}."
        + (" January 1 stands out: it is partly a placeholder for \"year known, day unknown\", which inflates "
           "January and whatever weekday January 1 fell on, so day-level counts are approximate."
           if january_first else "") + "\n")
    add(figure("releases_per_year", "Releases per year") + "\n")
    add(figure("releases_per_month", "Releases per month") + "\n")
    add(figure("releases_per_weekday", "Releases per weekday") + "\n")

    # ------------------------------------------------------------------ 4
    genres_, keywords_, countries, languages = (data["top_genres"], data["top_keywords"], data["production_countries"],
                                                data["original_languages"])
    english = int((movies["original_language"] == "en").sum())
    films_per_keyword_one = int((list_value_counts(movies, "keywords") == 1).sum())
    add("## 4. Genres, keywords, countries, languages\n")
    add(f"- {len(genres_)} genres; most frequent: {top_text(genres_)}. Films have "
        f"{movies['genres'].map(len).mean():.1f} genres on average.")
    add(f"- {movies['keywords'].map(lambda k: len(set(k))).sum():,} keyword tags, "
        f"{len(list_value_counts(movies, 'keywords')):,} distinct, {films_per_keyword_one:,} of them on a single "
        f"film; most frequent: {top_text(keywords_)}. The most frequent tags tend to describe the production "
        f"(director's gender, independent, credits scenes) rather than the story, so keyword overlap needs IDF-style "
        f"down-weighting of frequent tags.")
    add(f"- Production countries, most frequent: {top_text(countries)}.")
    add(f"- Original language: English for {english:,} films ({pct(english, total)}); then "
        f"{top_text(languages.iloc[1:], 4)}. The codes are TMDB's, mostly ISO 639-1, but `cn` "
        f"({int((movies['original_language'] == 'cn').sum()):,} films) is TMDB's code for Cantonese, not an ISO "
        f"code.\n")
    for name, alt in (("top_genres", "Films per genre"), ("top_keywords", "Top keywords"),
                      ("production_countries", "Top production countries"), ("original_languages", "Top original languages")):
        add(figure(name, alt) + "\n")

    # ------------------------------------------------------------------ 5
    points = data["budget_vs_revenue"]
    good = points[points["plausible"]]
    add("## 5. Budget and revenue\n")
    if len(good) > 1:
        correlation = np.corrcoef(np.log10(good["budget"]), np.log10(good["revenue"]))[0, 1]
        losses = int((good["revenue"] < good["budget"]).sum())
        add(f"{len(points):,} films have both a budget and a revenue; {len(good):,} of them have plausible amounts "
            f"(both >= {usd(MIN_PLAUSIBLE_USD)}). For those, log budget and log revenue correlate with Pearson "
            f"r = {correlation:.2f}; the median return (revenue / budget) is {good['return_ratio'].median():.2f}x and "
            f"{losses:,} films ({pct(losses, len(good))}) earned less than their budget. Revenue is box office "
            f"as TMDB reports it, so \"return\" ignores marketing costs and home video.\n")
    else:
        add("Too few films with both amounts for a correlation.\n")
    add(figure("budget_vs_revenue", "Budget vs revenue, log-log") + "\n")

    # ------------------------------------------------------------------ 6
    add("## 6. Outliers and data errors\n")
    add(f"### 6.1 Budgets and revenues of $1–${MIN_PLAUSIBLE_USD - 1:,}\n")
    flagged = implausible_films(movies)
    low_budget = int(is_implausible(movies["budget"]).sum())
    low_revenue = int(is_implausible(movies["revenue"]).sum())
    kinds = implausible_kinds(flagged)
    absurd = flagged[flagged["return_ratio"] > 0]
    add(f"{low_budget:,} films have a budget and {low_revenue:,} a revenue between $1 and "
        f"${MIN_PLAUSIBLE_USD - 1:,} ({len(flagged):,} films in all). Nearly all look like amounts typed in "
        f"millions or thousands. What the other amount of the same film says (budget / revenue):\n")
    add(md_table(["the other amount", "films", "e.g. (budget / revenue)"],
                 [[r.kind, f"{r.films:,}", r.example] for r in kinds.itertuples()]))
    add("\nWhere a tiny budget meets a real revenue, `return` becomes absurd. Largest `return` values among them:\n")
    add(md_table(["title", "year", "budget", "revenue", "return"],
                 [[r.title, r.release_year, f"${r.budget:,}", f"${r.revenue:,}", f"{r.return_ratio:,.1f}x"]
                  for r in absurd.head(10).itertuples()]) if not absurd.empty else "_None in this catalog._")
    add("\n**Where to draw the line.** The threshold used by `get_actor` / `get_director` "
        f"(`queries.people.MIN_PLAUSIBLE_USD` = {usd(MIN_PLAUSIBLE_USD)}) should sit in an empty stretch of the "
        "distribution, between the unit errors and the smallest real amounts:\n")
    gaps = threshold_gaps(movies)
    add(md_table(["amount", f"largest known below {usd(MIN_PLAUSIBLE_USD)}", f"smallest at or above",
                  "empty stretch (ratio)", "widest empty stretch under $100k (ratio)"],
                 [[r.column, "none" if r.below is None else f"${r.below:,}", "none" if r.above is None else f"${r.above:,}",
                   "" if r.below is None or r.above is None else f"{r.above / r.below:.1f}x",
                   "n/a" if r.widest is None else f"${r.widest[0]:,} → ${r.widest[1]:,} ({r.widest[1] / r.widest[0]:.1f}x)"]
                  for r in gaps.itertuples()]))
    verdicts = []
    for r in gaps.itertuples():
        if r.below is None or r.above is None or r.widest is None:
            continue
        stretch = f"nothing between ${r.below:,} and ${r.above:,}, a {r.above / r.below:.1f}x stretch"
        if r.widest == (r.below, r.above):
            verdicts.append(f"for {r.column}s it sits in the widest empty stretch under $100k ({stretch})")
        else:
            side = "below" if r.widest[1] <= r.below else "above"
            verdicts.append(f"for {r.column}s it sits in a narrower one ({stretch}; the widest, "
                            f"${r.widest[0]:,} → ${r.widest[1]:,}, lies {side} it, among the amounts it flags)")
    if verdicts:
        add(f"\nWhere {usd(MIN_PLAUSIBLE_USD)} falls: " + "; ".join(verdicts) + ". A few flagged amounts may "
            "still be genuine (films shot for a few hundred dollars exist), which is why the queries list flagged "
            "films and say why their return is excluded instead of hiding them.")
    add("\nWhat other thresholds would flag (a film is flagged when its budget or revenue is known but below the "
        "threshold; \"returns excluded\" counts flagged films that had both amounts; examples are the newly "
        "flagged films with both amounts first, smallest first):\n")
    sensitivity = threshold_sensitivity(movies)
    add(md_table(["threshold", "films flagged", "returns excluded", "newly flagged", "e.g. (budget / revenue)"],
                 [[usd(r.threshold), f"{r.flagged:,}", f"{r.returns_excluded:,}", f"{r.newly_flagged:,}",
                   "; ".join(r.examples)] for r in sensitivity.itertuples()]))
    plausible_top = good.sort_values(["return_ratio", "title"], ascending=[False, True]).head(5)
    add("\nAbove the threshold the largest returns all come from small budgets: "
        + ", ".join(f"{r.title} ({usd(r.budget)} → {usd(r.revenue)}, {r.return_ratio:,.0f}x)"
                    for r in plausible_top.itertuples())
        + ". The top ones are famous micro-budget hits, not errors, so neither a cap on `return` nor a much "
          "higher threshold is right: raising it to $10k or $100k starts flagging genuine micro-budgets "
          "(the examples in the table).\n")
    add(figure("small_amounts", "Known budgets and revenues under $1M") + "\n")

    add("### 6.2 Zeros that mean \"unknown\"\n")
    budget_zero, revenue_zero = int((movies["budget"] == 0).sum()), int((movies["revenue"] == 0).sum())
    both_known = int(((movies["budget"] > 0) & (movies["revenue"] > 0)).sum())
    revenue_only_missing = int(((movies["budget"] > 0) & (movies["revenue"] == 0)).sum())
    add(f"- Budget 0: {budget_zero:,} films ({pct(budget_zero, total)}); revenue 0: {revenue_zero:,} "
        f"({pct(revenue_zero, total)}). Only {both_known:,} films ({pct(both_known, total)}) have both.")
    add(f"- The catalog stores `return` = 0 when either is unknown: {int((movies['return'] == 0).sum()):,} zeros, "
        f"of which {revenue_only_missing:,} have a budget but no revenue. A 0 return is \"unknown\", never "
        f"\"lost everything\": averages must skip it.\n")

    add("### 6.3 Vote averages with few votes\n")
    reliability = vote_reliability(movies)
    add(md_table(["votes", "films", "mean average", "std", "films at >= 9 or <= 3"],
                 [[r.votes, f"{r.films:,}", "" if math.isnan(r.mean) else f"{r.mean:.2f}",
                   "" if math.isnan(r.std) else f"{r.std:.2f}", f"{r.extreme:,}"] for r in reliability.itertuples()]))
    extremes = movies[(movies["vote_count"] > 0) & (movies["vote_count"] < DEFAULT_MIN_VOTES) & (movies["vote_average"] >= 9)]
    extremes = extremes.sort_values(["vote_average", "vote_count", "title"], ascending=[False, True, True])
    few, many = reliability.iloc[1], reliability.iloc[-1]
    spread = (f" With {few['votes']} votes the standard deviation of the average is {few['std']:.1f} points, against "
              f"{many['std']:.1f} with {many['votes']} votes." if not (math.isnan(few["std"]) or math.isnan(many["std"])) else "")
    add(f"\nFilms with no votes carry a placeholder average of 0.{spread} "
        f"Averages of 9+ from fewer than {DEFAULT_MIN_VOTES} votes: "
        + (", ".join(f"{r.title} ({r.vote_average:g} from {r.vote_count})" for r in extremes.itertuples()) or "none")
        + f". Rankings by rating need a minimum vote count (the Exploración tab defaults to {DEFAULT_MIN_VOTES}) "
          "or a Bayesian/IMDb-style weighted average.\n")
    add(figure("votes_vs_average", "Vote average vs number of votes") + "\n")

    add("### 6.4 Runtime and other oddities\n")
    runtime_zero, runtime_null = int((movies["runtime"] == 0).sum()), int(movies["runtime"].isna().sum())
    longest = movies.sort_values("runtime", ascending=False).head(3)
    not_released = movies["status"].fillna("(none)").value_counts().drop("Released", errors="ignore")
    duplicate_titles = movies[movies["title"].duplicated(keep=False)].sort_values(["title", "release_year"])
    add(f"- Runtime 0: {runtime_zero:,} films; runtime null: {runtime_null:,}. Longest: "
        + ", ".join(f"{r.title} ({r.runtime:.0f} min)" for r in longest.itertuples()) + " (real, if long).")
    add("- Status other than Released: "
        + (", ".join(f"{status} {count:,}" for status, count in not_released.items())
           + " (they still have release dates and count in every chart)." if len(not_released) else "none."))
    if duplicate_titles.empty:
        add("- Every title is unique in this catalog.\n")
    else:
        add(f"- {duplicate_titles['title'].nunique():,} titles are shared by two or more films ("
            + "; ".join(f"{t} {', '.join(str(y) for y in g['release_year'])}"
                        for t, g in duplicate_titles.groupby("title", sort=True))
            + "): a title alone is ambiguous, the year disambiguates.\n")

    # ------------------------------------------------------------------ 7
    coverage = recommender_coverage(movies)
    text_fields = ~missing_mask(movies, "overview") | ~missing_mask(movies, "keywords")
    no_text = int((~text_fields).sum())
    add("## 7. Conclusions\n")
    add("**What feeds the recommenders.** Coverage of the fields a content-based recommender can read:\n")
    add(md_table(["field", "films with it", "share", "mean size when present"],
                 [[f"`{r.field}`", f"{r.films:,}", pct(r.films, total), f"{r.mean_size:.1f} {r.unit}"]
                  for r in coverage.itertuples()]))
    add(f"\n- `overview` is the richest, near-universal text: the input for TF-IDF and sentence embeddings.")
    add("- `genres` and `keywords` are curated tags: cheap, explainable overlap (\"shares: heist, Crime\"). "
        "Genres are coarse (few per film, 20 values) and keywords are missing for some films, so both "
        "complement the overview rather than replace it.")
    add("- `cast` lists are long (full billing); the top few billed names carry the signal, the rest adds noise. "
        "`directors` is near-complete and a strong signal of style.")
    add(f"- `tagline` is missing for {pct(int(missing_mask(movies, 'tagline').sum()), total)} of films: a bonus, "
        f"not a base. {no_text:,} film(s) have neither overview nor keywords and can only be matched on "
        f"genres/people.")
    add("- Popularity and vote count are heavy-tailed: useful to break ties or boost well-known films, on a "
        "log scale, never as raw numbers.\n")
    add("**What the queries must guard against.**\n")
    add(f"- Budgets/revenues of $1–${MIN_PLAUSIBLE_USD - 1:,} ({len(flagged):,} films): exclude their `return` "
        f"from totals and averages and say so (done in `get_actor`/`get_director` with "
        f"`MIN_PLAUSIBLE_USD` = {usd(MIN_PLAUSIBLE_USD)}, which sits in the empty stretch of section 6.1).")
    add(f"- `return` = 0 means unknown ({int((movies['return'] == 0).sum()):,} films): never average it as a loss.")
    add(f"- Vote averages from few votes ({int(((movies['vote_count'] > 0) & (movies['vote_count'] < DEFAULT_MIN_VOTES)).sum()):,} "
        f"films with 1–{DEFAULT_MIN_VOTES - 1} votes, {int((movies['vote_count'] == 0).sum()):,} with none): show "
        "the vote count next to the score and filter or shrink before ranking.")
    add(f"- Runtime 0/null ({runtime_zero + runtime_null:,} films) means unknown, not a short film.")
    if january_first:
        add("- Release dates on January 1 are partly placeholders: month and weekday counts are approximate.")
    if tail_incomplete:
        add(f"- {previous_year} and {last_year} are incomplete: do not read a decline into them.")
    if not duplicate_titles.empty:
        add("- Titles are not unique: resolve by title and year.")
    return "\n".join(out) + "\n"


# =========================================================================== main


def load_movies(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise SystemExit(f"Catalog {path} not found: run `python scripts/etl.py` first.")
    movies = pd.read_parquet(path)
    missing = NEEDED_COLUMNS - set(movies.columns)
    if missing:
        raise SystemExit(f"Catalog {path} lacks column(s) {', '.join(sorted(missing))}: rerun `python scripts/etl.py`.")
    if movies.empty:
        raise SystemExit(f"Catalog {path} has no films.")
    return movies.reset_index(drop=True)


def display_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return path.name


def run(catalog: Path, out: Path) -> list[Path]:
    """Write every figure and the report; return the files written."""
    movies = load_movies(catalog)
    out.mkdir(parents=True, exist_ok=True)
    written, data = [], {}
    for chart in CHARTS:
        data[chart.name] = chart.compute(movies)
        path = out / f"{chart.name}.png"
        save(chart.draw(data[chart.name]), path)
        written.append(path)
    report = out / REPORT_FILE
    report.write_text(build_report(movies, data, display_path(catalog), file_sha256(catalog)), encoding="utf-8")
    written.append(report)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--catalog", type=Path, default=DEFAULT_CATALOG, help="catalog parquet (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder (default: %(default)s)")
    args = parser.parse_args(argv)
    written = run(args.catalog, args.out)
    for path in written:
        print(f"wrote {path} ({path.stat().st_size / 1024:,.0f} KB)")
    print(f"total {sum(p.stat().st_size for p in written) / 1024:,.0f} KB in {len(written)} files")
    stale = sorted(p.name for p in args.out.glob("*.png") if p not in written)
    if stale:
        print(f"note: {args.out} also holds PNGs this script no longer writes: {', '.join(stale)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
