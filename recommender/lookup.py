"""Item-to-item as a lookup: every film's top neighbours per model, precomputed offline, served from memory-mapped arrays.

``scripts/precompute_neighbours.py`` asks each served model for every film's top ``depth`` (its own
``similar_batch``, so the lookup *is* the model's answer) and, for the learned rankers, the top feature
contributions of each pair (their "why"). The app then answers ``similar(row, k ≤ depth)`` by reading one
row of an array: the cost no longer depends on the catalog's size or on the model's cost. Deeper lists
and free text go to the live model (whose item-to-item structures are built on first use, so a serving
process that only reads lookups never holds them).

Why memory-mapped ``.npy``: the arrays are read, never written, by the serving process, so the OS pages
in only the rows asked for and several app processes on one host share the pages.
"""
from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np

from queries.catalog import Catalog, data_dir, parse_manifest
from queries.errors import ArtifactError
from recommender import artifacts
from recommender.base import Neighbours, Recommender

MANIFEST_FILE = "manifest.json"
MANIFEST_FORMAT = 1
REBUILD_COMMAND = "python scripts/precompute_neighbours.py"
DEPTH = 50  # neighbours kept per film and model: the UI and API ask for at most 20
TOP_DRIVERS = 3  # a ranker's contributions kept per pair (the UI shows two)
MODELS = ("seed_tfidf", "tfidf", "embedding", "parecidas", "fans")


def lookups_dir(base: Path | None = None) -> Path:
    return (base or data_dir()) / "lookups"


def files_for(model: str, with_drivers: bool) -> dict[str, str]:
    """The arrays of one model's lookup: rows, scores and (rankers) the drivers of each pair."""
    names = {"rows": f"{model}.rows.npy", "scores": f"{model}.scores.npy"}
    if with_drivers:
        names.update(driver_features=f"{model}.driver_features.npy", driver_values=f"{model}.driver_values.npy")
    return names


def _fail(problem: str) -> ArtifactError:
    return ArtifactError(f"Neighbour lookups: {problem}. Run `{REBUILD_COMMAND}` to rebuild them.")


def fingerprint(catalog: Catalog) -> dict[str, Any]:
    """What the lookups were computed from: the catalog, every index file and every ranker file (sha256)."""
    from recommender import ranker_artifacts

    rankers = ranker_artifacts.read_manifest().get("files", {})
    return {
        "catalog": {"sha256": catalog.checksum, "rows": len(catalog)},
        "index": ranker_artifacts.index_fingerprint(),
        "rankers": {name: entry["sha256"] for name, entry in sorted(rankers.items())},
    }


def write_manifest(directory: Path, manifest: dict[str, Any]) -> Path:
    files = [name for entry in manifest["models"].values() for name in entry["files"].values()]
    return artifacts.write_checked_manifest(directory, manifest, files, MANIFEST_FORMAT, files_key="file_records")


class LookupRecommender:
    """One served model whose item-to-item answers come from its precomputed arrays; everything else from it."""

    def __init__(self, live: Recommender, rows: np.ndarray, scores: np.ndarray,
                 driver_features: np.ndarray | None = None, driver_values: np.ndarray | None = None,
                 driver_names: tuple[str, ...] = ()) -> None:
        self.live = live
        self.name = live.name
        self.label = live.label
        self.rows, self.scores = rows, scores
        self.depth = rows.shape[1]
        self.driver_features, self.driver_values, self.driver_names = driver_features, driver_values, driver_names
        if hasattr(live, "contributions"):  # only a model that can say why offers contributions
            self.contributions = self._stored_contributions

    def __getattr__(self, attribute: str):  # the live model's other attributes (uses_fallback, signals, …)
        return getattr(self.__dict__["live"], attribute)

    def similar(self, row: int, k: int) -> Neighbours:
        if k > self.depth:
            return self.live.similar(row, k)
        rows = np.asarray(self.rows[row, :k], dtype=np.int64)
        valid = rows >= 0
        return Neighbours(rows[valid], np.asarray(self.scores[row, :k], dtype=np.float32)[valid])

    def similar_batch(self, rows: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        if k > self.depth:
            return self.live.similar_batch(rows, k)
        rows = np.asarray(rows, dtype=np.int64)
        return np.asarray(self.rows[rows, :k], dtype=np.int64), np.asarray(self.scores[rows, :k], dtype=np.float32)

    def search(self, text: str, k: int) -> Neighbours:
        return self.live.search(text, k)

    def _stored_contributions(self, row: int, others: np.ndarray, top: int = TOP_DRIVERS):
        """The stored top contributions of each (row, other) pair; the live ranker for a pair not stored."""
        from recommender.learned import Contribution

        if self.driver_features is None:
            return self.live.contributions(row, others, top)
        listed = {int(other): position for position, other in enumerate(np.asarray(self.rows[row]).tolist())}
        explained = []
        for other in np.asarray(others, dtype=np.int64).tolist():
            position = listed.get(other)
            if position is None:
                explained.append(self.live.contributions(row, np.array([other]), top)[0])
                continue
            features = np.asarray(self.driver_features[row, position])
            values = np.asarray(self.driver_values[row, position], dtype=np.float64)
            explained.append([Contribution(self.driver_names[index], round(float(value), 3))
                              for index, value in zip(features[:top].tolist(), values[:top].tolist()) if index >= 0])
        return explained


def verified_manifest(catalog: Catalog, directory: Path) -> dict[str, Any]:
    path = directory / MANIFEST_FILE
    if not path.is_file():
        raise _fail(f"{path} not found")
    manifest = parse_manifest(path, MANIFEST_FORMAT, _fail, str(path))
    try:
        built_for = {key: manifest[key] for key in ("catalog", "index", "rankers")}
        if built_for != fingerprint(catalog):
            raise _fail("they were computed for another catalog, index or rankers")
        listed = [name for entry in manifest["models"].values() for name in entry["files"].values()]
        artifacts.verify_files(directory, manifest["file_records"], listed, _fail)
    except (KeyError, TypeError, AttributeError) as exc:
        raise _fail(f"{path} is malformed ({type(exc).__name__}: {exc})") from exc
    return manifest


_cache: dict[tuple[Path, str], dict[str, Any]] = {}
_cache_lock = threading.Lock()


def wrap_with_lookups(catalog: Catalog, models: dict[str, Recommender], directory: Path | None = None) -> dict[str, Recommender]:
    """``models`` with every model that has a verified lookup answering item-to-item from it."""
    directory = (directory or lookups_dir()).resolve()
    key = (directory, catalog.checksum)
    with _cache_lock:
        if key not in _cache:
            _cache[key] = verified_manifest(catalog, directory)
        manifest = _cache[key]
    wrapped = dict(models)
    for name, entry in manifest["models"].items():
        if name not in models:
            continue
        arrays = {role: np.load(directory / file, mmap_mode="r", allow_pickle=False) for role, file in entry["files"].items()}
        if arrays["rows"].shape != (len(catalog), manifest["depth"]):
            raise _fail(f"{name} holds {arrays['rows'].shape} neighbours, expected ({len(catalog)}, {manifest['depth']})")
        wrapped[name] = LookupRecommender(
            models[name], arrays["rows"], arrays["scores"], arrays.get("driver_features"), arrays.get("driver_values"),
            tuple(entry.get("driver_names", ())),
        )
    return wrapped
