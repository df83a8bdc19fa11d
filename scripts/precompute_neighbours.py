"""Precompute every film's top neighbours per served model, so the app answers item-to-item by lookup.

Reads the catalog and every served model's checked artifacts (data/index/, data/rankers/); writes
data/lookups/ (one rows/scores array pair per model, the learned rankers' top contributions per pair,
manifest.json last). The arrays are each model's own batch answers, so a lookup returns exactly what the
live model would; a test checks it.

The work is cut into blocks of BATCH films, each independent (``block_lookups``): the text models' top
POOL_DEPTH for the block's films, found once (their own lookups are the first 50 columns, and both rankers'
candidate pools are read from them), then the rankers' order and why from one feature matrix per film.
``--engine ray`` runs the blocks as a Ray Data ``map_batches`` stage on actor workers that each load the
models once (``scripts/ray_engine.py``, pip install -r requirements-scale.txt); same blocks, same function,
same bytes.

    python scripts/precompute_neighbours.py               # ~1 minute on 2 cores at 4.8k films (the rankers dominate)
    python scripts/precompute_neighbours.py --engine ray  # the blocks on a local Ray, one worker per core
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
for _name, _value in {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_HUB_DISABLE_TELEMETRY": "1"}.items():
    os.environ.setdefault(_name, _value)

import numpy as np  # noqa: E402
from tqdm import tqdm  # noqa: E402

from queries.catalog import Catalog, load_catalog  # noqa: E402
from recommender import lookup  # noqa: E402
from recommender.base import Recommender  # noqa: E402
from recommender.features import TEXT_MODELS  # noqa: E402
from recommender.learned import POOL_DEPTH, LearnedRecommender  # noqa: E402
from scripts.engine_options import add_engine_arguments, engine_from_arguments  # noqa: E402

if TYPE_CHECKING:
    from scripts.ray_engine import RayEngine  # optional extra: imported at run time only with --engine ray

BATCH = 256  # films per block: the text models' batch size too, so a block's matrix products are the same


class ListedPools:
    """A text model whose ``similar_batch`` for one block's films answers from lists found once for the block
    (so the two rankers do not search again); pair scores and everything else come from the live model."""

    def __init__(self, live: Recommender, rows: np.ndarray, found: np.ndarray, scores: np.ndarray) -> None:
        self.live, self.found, self.scores = live, found, scores
        self.position = {row: position for position, row in enumerate(np.asarray(rows).tolist())}

    def similar_batch(self, rows: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        at = [self.position[row] for row in np.asarray(rows).tolist()]
        return self.found[at, :k], self.scores[at, :k]

    def __getattr__(self, attribute: str):
        return getattr(self.__dict__["live"], attribute)


def driver_names(model: LearnedRecommender) -> tuple[str, ...]:
    return (*model.feature_names, "co_liked_prior")


def with_listed_pools(model: LearnedRecommender, listed: dict[str, Recommender]) -> LearnedRecommender:
    """The same ranker, its candidate pools read from ``listed`` instead of searched again."""
    signals = replace(model.signals, text_models={**model.signals.text_models, **listed})
    fallback = model.fallback
    if isinstance(fallback, LearnedRecommender):
        fallback = with_listed_pools(fallback, listed)
    return LearnedRecommender(model.name, model.label, model.booster, model.feature_names, signals, model.text_search,
                              fallback, model.prior_weight)


def block_lookups(served: dict[str, Recommender], rows: np.ndarray, depth: int = lookup.DEPTH,
                  ) -> tuple[dict[str, dict[str, np.ndarray]], dict[str, float]]:
    """Every model's lookup arrays for one block of query films (model -> role -> array with a row per film:
    int32 rows and float32 scores, -1 / -inf padding; for the rankers int8 driver features, -1 padding, and
    float32 driver values), and the seconds each model took on it."""
    rows = np.asarray(rows, dtype=np.int64)
    arrays: dict[str, dict[str, np.ndarray]] = {}
    seconds: dict[str, float] = {}
    listed: dict[str, Recommender] = {}
    answered: dict[str, tuple] = {}  # each ranker's (rows, scores, why): a later ranker's fallback reuses it
    for name in TEXT_MODELS:
        clock = time.perf_counter()
        found, scores = served[name].similar_batch(rows, max(POOL_DEPTH, depth))
        listed[name] = ListedPools(served[name], rows, found, scores)
        arrays[name] = {"rows": found[:, :depth].astype(np.int32), "scores": scores[:, :depth].astype(np.float32)}
        seconds[name] = time.perf_counter() - clock
    for name in lookup.MODELS:
        if name in arrays:
            continue
        clock = time.perf_counter()
        model = served[name]
        if isinstance(model, LearnedRecommender):
            reused = answered.get(model.fallback.name) if model.fallback is not None else None
            found, scores, explained = with_listed_pools(model, listed).similar_batch_explained(
                rows, depth, lookup.TOP_DRIVERS, fallback_answers=reused)
            answered[name] = (found, scores, explained)
            index_of = {feature: position for position, feature in enumerate(driver_names(model))}
            features = np.full((len(rows), depth, lookup.TOP_DRIVERS), -1, dtype=np.int8)
            values = np.zeros((len(rows), depth, lookup.TOP_DRIVERS), dtype=np.float32)
            for row, films in enumerate(explained):
                for position, items in enumerate(films):
                    for slot, item in enumerate(items):
                        features[row, position, slot] = index_of[item.feature]
                        values[row, position, slot] = item.value
            arrays[name] = {"driver_features": features, "driver_values": values}
        else:
            found, scores = model.similar_batch(rows, depth)
            arrays[name] = {}
        arrays[name].update(rows=found.astype(np.int32), scores=scores.astype(np.float32))
        seconds[name] = time.perf_counter() - clock
    return arrays, seconds


def empty_lookups(served: dict[str, Recommender], n_items: int, depth: int) -> dict[str, dict[str, np.ndarray]]:
    """Full-size arrays for every model, filled with padding, for the blocks to be scattered into."""
    arrays = {}
    for name in lookup.MODELS:
        arrays[name] = {"rows": np.full((n_items, depth), -1, dtype=np.int32),
                        "scores": np.full((n_items, depth), -np.inf, dtype=np.float32)}
        if isinstance(served[name], LearnedRecommender):
            arrays[name]["driver_features"] = np.full((n_items, depth, lookup.TOP_DRIVERS), -1, dtype=np.int8)
            arrays[name]["driver_values"] = np.zeros((n_items, depth, lookup.TOP_DRIVERS), dtype=np.float32)
    return arrays


def local_lookups(served: dict[str, Recommender], n_items: int, depth: int, progress: bool = True,
                  ) -> tuple[dict[str, dict[str, np.ndarray]], dict[str, float]]:
    """Every block in this process, in order."""
    arrays, seconds = empty_lookups(served, n_items, depth), dict.fromkeys(lookup.MODELS, 0.0)
    for start in tqdm(range(0, n_items, BATCH), desc="blocks", unit="block", disable=not progress):
        block = np.arange(start, min(start + BATCH, n_items))
        part, spent = block_lookups(served, block, depth)
        for name, roles in part.items():
            for role, values in roles.items():
                arrays[name][role][block] = values
            seconds[name] += spent[name]
    return arrays, seconds


def precompute(catalog: Catalog, out_dir: Path, depth: int = lookup.DEPTH, engine: str | RayEngine = "local",
               progress: bool = True) -> dict:
    from recommender.models import load_models

    started = time.perf_counter()
    loaded = load_models(catalog, lookups=False)  # the multilingual index is not needed here
    missing = [name for name in lookup.MODELS if name not in loaded.models]
    if missing:
        raise SystemExit(f"Cannot precompute {missing}: {loaded.problems}")
    served = loaded.models
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / lookup.MANIFEST_FILE).unlink(missing_ok=True)
    if engine == "local":
        arrays, seconds = local_lookups(served, len(catalog), depth, progress)
        described = {"name": "local", "workers": 1}
    else:
        engine.start()
        try:
            arrays, seconds = engine.lookups(catalog.path.parent, empty_lookups(served, len(catalog), depth), depth)
        finally:
            engine.shutdown()
        described = engine.describe()
    entries = {}
    for name in lookup.MODELS:
        learned = isinstance(served[name], LearnedRecommender)
        files = lookup.files_for(name, learned)
        for role, file in files.items():
            np.save(out_dir / file, arrays[name][role])
        entries[name] = {"label": served[name].label, "files": files}
        if learned:
            entries[name]["driver_names"] = list(driver_names(served[name]))
        print(f"{name}: {len(catalog):,} films × {depth} neighbours, {seconds[name]:.1f} s of work")
    manifest = {
        **lookup.fingerprint(catalog),
        "built_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "depth": depth,
        "engine": described,
        "models": entries,
        # per model: seconds of work (summed over workers with --engine ray); total: wall time
        "seconds": {**{name: round(value, 1) for name, value in seconds.items()},
                    "total": round(time.perf_counter() - started, 1)},
    }
    lookup.write_manifest(out_dir, manifest)
    return manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: data/lookups)")
    parser.add_argument("--no-progress", action="store_true")
    add_engine_arguments(parser, "the blocks (every node must see this data folder)")
    args = parser.parse_args(argv)
    engine = engine_from_arguments(parser, args)
    if engine is None:
        return 2
    out = args.out or lookup.lookups_dir()
    manifest = precompute(load_catalog(), out, engine=engine, progress=not args.no_progress)
    total = sum((out / name).stat().st_size for entry in manifest["models"].values() for name in entry["files"].values())
    print(f"Wrote {out} ({total / 1e6:.1f} MB) in {manifest['seconds']['total']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
