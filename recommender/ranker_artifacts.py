"""The learned rankers' artifacts under ``data_dir()/rankers``: written by scripts/train_rankers.py, checked here.

The manifest vouches for the catalog (sha256, rows), for the index the rankers' features were computed
from (the sha256 of every index file), for each file it lists (bytes, sha256), and records what the
rankers were trained on (features, films, users, seed, versions). ``load_rankers`` refuses anything that
does not match, as ``recommender.artifacts`` refuses a stale index: a ranker is only as good as the
similarities it was trained to read.
"""
from __future__ import annotations

import threading
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from queries.catalog import Catalog, data_dir, parse_manifest
from queries.errors import ArtifactError
from recommender import artifacts
from recommender.base import Recommender

MANIFEST_FILE = "manifest.json"
MANIFEST_FORMAT = 1
RETRAIN_COMMAND = "python scripts/train_rankers.py"
RANKER_FILES = {"parecidas": "parecidas.lgb.txt", "fans": "fans.lgb.txt"}
CO_LIKED_FILE = "co_liked.npz"
RANKER_LABELS = {
    "parecidas": "Parecidas (ranker de contenido)",
    "fans": "A quien le gustó… también le gustó",
}
LIBRARIES = ["lightgbm", "numpy", "scipy", "scikit-learn", "pandas", "faiss-cpu"]


def rankers_dir(base: Path | None = None) -> Path:
    return (base or data_dir()) / "rankers"


def _fail(problem: str) -> ArtifactError:
    return ArtifactError(f"Learned rankers: {problem}. Run `{RETRAIN_COMMAND}` to retrain them.")


def library_versions() -> dict[str, str]:
    found = {}
    for name in LIBRARIES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def index_fingerprint(index_directory: Path | None = None) -> dict[str, str]:
    """The sha256 of every file of the index the rankers read (from its verified manifest)."""
    recorded = artifacts.read_manifest(index_directory).get("files", {})
    return {name: entry["sha256"] for name, entry in sorted(recorded.items())}


def write_manifest(directory: Path, manifest: dict[str, Any]) -> Path:
    """Record every file's size and sha256 and write manifest.json last (sorted keys: stable diffs)."""
    return artifacts.write_checked_manifest(directory, manifest, [*RANKER_FILES.values(), CO_LIKED_FILE], MANIFEST_FORMAT)


def read_manifest(directory: Path | None = None) -> dict[str, Any]:
    path = (directory or rankers_dir()) / MANIFEST_FILE
    if not path.is_file():
        raise _fail(f"{path} not found")
    return parse_manifest(path, MANIFEST_FORMAT, _fail, str(path))


def verify_manifest(manifest: dict[str, Any], directory: Path, catalog: Catalog, index_directory: Path | None = None) -> None:
    """The rankers were trained for this catalog and this index, and every file is the one training wrote."""
    built_for = manifest.get("catalog", {})
    if built_for.get("sha256") != catalog.checksum or built_for.get("rows") != len(catalog):
        raise _fail(f"they were trained for another catalog (sha256 {str(built_for.get('sha256'))[:12]}…, "
                    f"this one is {catalog.checksum[:12]}…)")
    if manifest.get("index", {}).get("files") != index_fingerprint(index_directory):
        raise _fail("they were trained on another index (data/index changed since)")
    artifacts.verify_files(directory, manifest.get("files", {}), [*RANKER_FILES.values(), CO_LIKED_FILE], _fail)


def save_co_liked(co_liked, path: Path) -> None:
    np.savez_compressed(path, rows=co_liked.rows, scores=co_liked.scores, raters=co_liked.raters,
                        users=np.array([co_liked.users], dtype=np.int64))


def load_co_liked(path: Path):
    from recommender.features import CoLiked

    with np.load(path, allow_pickle=False) as stored:
        return CoLiked(rows=stored["rows"], scores=stored["scores"], raters=stored["raters"], users=int(stored["users"][0]))


def _build(catalog: Catalog, base: dict[str, Recommender], manifest: dict[str, Any], directory: Path) -> dict[str, Recommender]:
    """Both rankers, their boosters and signals (catalog facts, co-liked lists) loaded on first live use: a
    serving app answers from the lookups, and needs only the co-liked lists' "rated" column, read here."""
    from recommender.base import OnFirstUse
    from recommender.features import FilmFacts
    from recommender.learned import LearnedRecommender, Signals, checked_booster

    co_liked_path = directory / CO_LIKED_FILE
    rated = load_co_liked(co_liked_path).rated_films()  # the whole file is read again on first live use
    if len(rated) != len(catalog):
        raise _fail(f"{CO_LIKED_FILE} covers {len(rated)} films, the catalog has {len(catalog)}")
    features = {name: tuple(manifest["features"][name]) for name in RANKER_FILES}

    def booster(name: str) -> OnFirstUse:
        def load():
            import lightgbm  # imports scikit-learn too: ~1 s of start-up a lookup-served app does not pay

            return checked_booster(lightgbm.Booster(model_file=str(directory / RANKER_FILES[name])), features[name])

        return OnFirstUse(load)

    text_models = {name: base[name] for name in ("seed_tfidf", "tfidf", "embedding")}
    facts = OnFirstUse(lambda: FilmFacts.from_catalog(catalog))  # one copy for both rankers
    text_search = base.get("multilingual", base["embedding"])
    parecidas = LearnedRecommender(
        "parecidas", RANKER_LABELS["parecidas"], booster("parecidas"), features["parecidas"],
        OnFirstUse(lambda: Signals(text_models, facts.get())), text_search,
    )
    fans = LearnedRecommender(
        "fans", RANKER_LABELS["fans"], booster("fans"), features["fans"],
        OnFirstUse(lambda: Signals(text_models, facts.get(), load_co_liked(co_liked_path))), text_search,
        fallback=parecidas, prior_weight=float(manifest["rankers"]["fans"]["prior_weight"]), rated=rated,
    )
    return {"parecidas": parecidas, "fans": fans}


def verified_manifest(catalog: Catalog, directory: Path | None = None, index_directory: Path | None = None) -> dict[str, Any]:
    """The manifest, after checking it describes this catalog, this index and the files beside it."""
    directory = (directory or rankers_dir()).resolve()
    manifest = read_manifest(directory)
    try:
        verify_manifest(manifest, directory, catalog, index_directory)
    except (KeyError, TypeError, AttributeError) as exc:  # valid JSON, wrong shape
        raise _fail(f"{directory / MANIFEST_FILE} is malformed ({type(exc).__name__}: {exc})") from exc
    return manifest


_cache: dict[tuple[Path, str], dict[str, Recommender]] = {}
_cache_lock = threading.Lock()


def load_rankers(catalog: Catalog, base: dict[str, Recommender], directory: Path | None = None,
                 index_directory: Path | None = None) -> dict[str, Recommender]:
    """{"parecidas", "fans"} ready to serve on top of ``base`` (the index's models, with the per-field
    embedding built from this manifest's field weights); ArtifactError on any mismatch."""
    directory = (directory or rankers_dir()).resolve()
    key = (directory, catalog.checksum)
    with _cache_lock:
        if key not in _cache:
            manifest = verified_manifest(catalog, directory, index_directory)
            try:
                _cache[key] = _build(catalog, base, manifest, directory)
            except ArtifactError:
                raise
            except Exception as exc:  # passed its checksums but cannot be read: refuse all the same
                raise _fail(f"a file in {directory} cannot be read ({type(exc).__name__}: {exc})") from exc
        return _cache[key]


def field_weights(catalog: Catalog, directory: Path | None = None) -> dict[str, float]:
    """The embedding's per-field weights, chosen on validation films by the training script."""
    stored = verified_manifest(catalog, directory).get("field_weights")
    if not isinstance(stored, dict) or not stored:
        raise _fail("the manifest has no field weights")
    return {str(name): float(value) for name, value in stored.items()}
