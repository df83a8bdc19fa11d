"""Read-only views of data/eval/results.json for the "Comparación de modelos" tab and the README.

The app only reads what ``scripts/evaluate.py`` wrote: a metric table, long-format numbers for a bar
chart with intervals, and for one test query film its co-liked ground truth next to each system's top 10.
Plain data frames in, no UI code: formatting for people is the tab's job beyond these tables.
"""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from queries.catalog import Catalog, data_dir
from queries.errors import ArtifactError, QueryError
from recommender.artifacts import MANIFEST_FILE, index_dir, read_manifest

RESULTS_FILE = Path("eval") / "results.json"
METRIC_LABELS_ES = {  # what the Comparación tab shows people (results.json keeps the English labels of RESULTS.md)
    "hr@10": "Acierto@10 (HR)", "ndcg@10": "nDCG@10", "mrr": "Rango recíproco (MRR)",
    "genre_precision@10": "Precisión de género@10", "diversity@10": "Diversidad de la lista@10",
    "novelty@10": "Novedad@10 (bits)", "coverage@10": "Cobertura del catálogo@10",
}
TRUTH_COLUMN = "Lo que sus fans también calificaron alto (referencia)"
HIT = "✓ "  # prefix of a recommended film that is in the query's co-liked ground truth


def results_path() -> Path:
    return data_dir() / RESULTS_FILE


def load_results(path: Path | None = None, catalog: Catalog | None = None) -> dict:
    """results.json as a dict; a missing or unreadable file names the command that rebuilds it.

    With ``catalog``, also refuse results measured on another catalog or on other model files than the
    ones in data/index (see ``stale_reason``)."""
    path = path or results_path()
    fix = "run `python scripts/evaluate.py` to rebuild it"
    if not path.is_file():
        raise ArtifactError(f"Evaluation results {path} not found: {fix}.")
    try:
        results = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ArtifactError(f"Evaluation results {path} are unreadable ({exc}): {fix}.") from exc
    if not {"systems", "metrics", "metric_labels", "films"} <= set(results):
        raise ArtifactError(f"Evaluation results {path} are incomplete: {fix}.")
    if catalog is not None:
        reason = stale_reason(results, catalog)
        if reason:
            raise ArtifactError(f"Evaluation results {path} are stale ({reason}): {fix}.")
    return results


def stale_reason(results: dict, catalog: Catalog, index_manifest: Path | None = None) -> str | None:
    """Why ``results`` no longer describe this catalog and index (None if they still do)."""
    if results.get("catalog", {}).get("sha256") != catalog.checksum:
        return "measured on another catalog"
    manifest = index_manifest or index_dir() / MANIFEST_FILE
    measured = results.get("index", {}).get("files")
    if measured is not None and manifest.is_file():
        try:
            current = read_manifest(manifest.parent).get("files", {})
        except ArtifactError:
            return "the index manifest cannot be read"
        if not isinstance(current, dict) or {
            name: entry.get("sha256") if isinstance(entry, dict) else None for name, entry in current.items()
        } != measured:
            return "the model files in data/index changed since"
    for part, (label, read) in TRAINED_PARTS.items():
        measured_part = results.get("index", {}).get(part)
        if measured_part is None:
            continue
        try:
            current_part = read()
        except ArtifactError:
            return f"the {label} cannot be read"
        if current_part != measured_part:
            return f"the {label} changed since"
    return None


def _file_hashes(manifest: dict) -> dict[str, str]:
    return {name: entry.get("sha256") for name, entry in sorted(manifest.get("files", {}).items()) if isinstance(entry, dict)}


def ranker_hashes() -> dict[str, str]:
    """The sha256 of every file of the trained rankers (data/rankers/manifest.json)."""
    from recommender import ranker_artifacts

    return _file_hashes(ranker_artifacts.read_manifest())


def multilingual_hashes() -> dict[str, str]:
    """The sha256 of every file of the multilingual index."""
    from recommender import multilingual

    return _file_hashes(multilingual.read_manifest(multilingual.index_dir()))


# What else a results.json was measured on, checked like the index: part -> (name for people, current hashes).
TRAINED_PARTS = {"rankers": ("trained rankers in data/rankers", ranker_hashes),
                 "multilingual": ("multilingual index", multilingual_hashes)}


def _interval(value: dict[str, float], digits: int = 3) -> str:
    if "low" not in value:
        return f"{value['mean']:.{digits}f}"
    return f"{value['mean']:.{digits}f} [{value['low']:.{digits}f}–{value['high']:.{digits}f}]"


def metric_table(results: dict, labels: dict[str, str] | None = None) -> pd.DataFrame:
    """One row per system (evaluation order), one column per metric: "mean [low–high]" strings (95% CI).
    ``labels``: the metrics' names (default: results.json's English ones; the app passes METRIC_LABELS_ES)."""
    labels = {**results["metric_labels"], **(labels or {})}
    rows = []
    for system in results["systems"]:
        metrics = results["metrics"][system["name"]]
        row = {"Modelo": system["label"]}
        row.update({labels[metric]: _interval(metrics[metric]) for metric in labels if metric in metrics})
        rows.append(row)
    return pd.DataFrame(rows)


def metric_values(results: dict, labels: dict[str, str] | None = None) -> pd.DataFrame:
    """Long format for a bar chart with error bars: system, label, metric, metric_label, mean, low, high."""
    labels = {**results["metric_labels"], **(labels or {})}
    rows = []
    for system in results["systems"]:
        for metric, value in results["metrics"][system["name"]].items():
            rows.append({
                "system": system["name"], "label": system["label"], "metric": metric,
                "metric_label": labels.get(metric, metric), "mean": value["mean"],
                "low": value.get("low", value["mean"]), "high": value.get("high", value["mean"]),
            })
    return pd.DataFrame(rows, columns=["system", "label", "metric", "metric_label", "mean", "low", "high"])


def film_choices(results: dict) -> list[tuple[str, int]]:
    """(label, TMDB id) of every query film with a per-film view, alphabetical: a dropdown's choices."""
    films = results["films"]
    return sorted(((film["label"], int(tmdb_id)) for tmdb_id, film in films.items()), key=lambda item: item[0].casefold())


def film_view(results: dict, tmdb_id: int) -> pd.DataFrame:
    """For one query film: rank 1..10, its co-liked ground truth and each system's top 10 side by side.

    A system's film that is in the ground truth (its whole relevant list, not just the top 10 shown) is
    prefixed with ✓, so hits are visible at a glance.
    """
    film = results["films"].get(str(int(tmdb_id)))
    if film is None:
        raise QueryError(f"No evaluation view for TMDB id {tmdb_id}: only test query films have one.", not_found=True)
    labels = results["labels"]
    relevant = {int(item[0]) for item in film["relevant"]}
    k = results["protocol"]["k"]
    columns: dict[str, list[str]] = {"#": [str(rank) for rank in range(1, k + 1)]}
    truth = [labels[str(item[0])] for item in film["relevant"][:k]]
    columns[TRUTH_COLUMN] = truth + [""] * (k - len(truth))
    for system in results["systems"]:
        ids = film["systems"].get(system["name"], [])[:k]
        shown = [(HIT if tmdb in relevant else "") + labels[str(tmdb)] for tmdb in ids]
        columns[system["label"]] = shown + [""] * (k - len(shown))
    return pd.DataFrame(columns)


def film_summary(results: dict, tmdb_id: int) -> dict[str, object]:
    """Facts about one query film's ground truth (for a caption): label, held-out fans, hits per system."""
    film = results["films"][str(int(tmdb_id))]
    relevant = {int(item[0]) for item in film["relevant"]}
    k = results["protocol"]["k"]
    return {
        "label": film["label"],
        "heldout_fans": film["fans"],
        "relevant": len(film["relevant"]),
        "hits": {name: sum(tmdb in relevant for tmdb in ids[:k]) for name, ids in film["systems"].items()},
    }


def markdown_table(results: dict) -> str:
    """The metric table as GitHub markdown (RESULTS.md and the README quote it)."""
    table = metric_table(results)
    header = "| " + " | ".join(table.columns) + " |"
    rule = "|" + "|".join("---" if index == 0 else "---:" for index in range(len(table.columns))) + "|"
    lines = [header, rule]
    for _, row in table.iterrows():
        lines.append("| " + " | ".join(str(value) for value in row.tolist()) + " |")
    return "\n".join(lines)
