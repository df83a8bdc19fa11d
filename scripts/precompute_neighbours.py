"""Precompute every film's top neighbours per served model, so the app answers item-to-item by lookup.

Reads the catalog and every served model's checked artifacts (data/index/, data/rankers/); writes
data/lookups/ (one rows/scores array pair per model, the learned rankers' top contributions per pair,
manifest.json last). The arrays are each model's own ``similar_batch`` answers, so a lookup returns
exactly what the live model would; a test checks it.

    python scripts/precompute_neighbours.py        # ~1 minute on 2 cores at 4.8k films (the rankers dominate)
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

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

BATCH = 256


def neighbours(model: Recommender, n_items: int, depth: int) -> tuple[np.ndarray, np.ndarray]:
    """Every film's top ``depth`` from the model's own batch path: int32 rows (-1 padding) and float32 scores."""
    rows = np.full((n_items, depth), -1, dtype=np.int32)
    scores = np.full((n_items, depth), -np.inf, dtype=np.float32)
    for start in tqdm(range(0, n_items, BATCH), desc=model.name, unit="batch", leave=False):
        block = np.arange(start, min(start + BATCH, n_items))
        found, values = model.similar_batch(block, depth)
        rows[block] = found
        scores[block] = values
    return rows, scores


def ranked_with_drivers(model: LearnedRecommender, n_items: int, depth: int) -> dict[str, np.ndarray]:
    """A ranker's lookup in one pass per block: rows, scores and each stored pair's top contributions
    (feature indexes, -1 padding, and values), from one feature matrix per film."""
    names = driver_names(model)
    index_of = {name: position for position, name in enumerate(names)}
    arrays = {
        "rows": np.full((n_items, depth), -1, dtype=np.int32),
        "scores": np.full((n_items, depth), -np.inf, dtype=np.float32),
        "driver_features": np.full((n_items, depth, lookup.TOP_DRIVERS), -1, dtype=np.int8),
        "driver_values": np.zeros((n_items, depth, lookup.TOP_DRIVERS), dtype=np.float32),
    }
    for start in tqdm(range(0, n_items, BATCH), desc=model.name, unit="batch", leave=False):
        block = np.arange(start, min(start + BATCH, n_items))
        found, values, explained = model.similar_batch_explained(block, depth, lookup.TOP_DRIVERS)
        arrays["rows"][block], arrays["scores"][block] = found, values
        for row, films in zip(block.tolist(), explained):
            for position, items in enumerate(films):
                for slot, item in enumerate(items):
                    arrays["driver_features"][row, position, slot] = index_of[item.feature]
                    arrays["driver_values"][row, position, slot] = item.value
    return arrays


def driver_names(model: LearnedRecommender) -> tuple[str, ...]:
    return (*model.feature_names, "co_liked_prior")


def with_listed_pools(model: LearnedRecommender, listed: dict[str, Recommender]) -> LearnedRecommender:
    """The same ranker, its candidate pools read from ``listed`` (each text model's top POOL_DEPTH for every film,
    computed once here) instead of searched again for each ranker; pair scores still come from the live models."""
    signals = replace(model.signals, text_models={**model.signals.text_models, **listed})
    fallback = model.fallback
    if isinstance(fallback, LearnedRecommender):
        fallback = with_listed_pools(fallback, listed)
    return LearnedRecommender(model.name, model.label, model.booster, model.feature_names, signals, model.text_search,
                              fallback, model.prior_weight)


def precompute(catalog: Catalog, out_dir: Path, depth: int = lookup.DEPTH) -> dict:
    from recommender.models import load_models

    started = time.perf_counter()
    loaded = load_models(catalog, lookups=False)  # the multilingual index is not needed here
    missing = [name for name in lookup.MODELS if name not in loaded.models]
    if missing:
        raise SystemExit(f"Cannot precompute {missing}: {loaded.problems}")
    served = loaded.models
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / lookup.MANIFEST_FILE).unlink(missing_ok=True)
    entries, seconds = {}, {}
    # Each text model's top POOL_DEPTH for every film, once: its own lookup is the first ``depth`` columns (the
    # order is total, ties to the lower row), and both rankers' pools are read from it.
    pool_depth = max(POOL_DEPTH, depth)
    listed = {}
    for name in TEXT_MODELS:
        clock = time.perf_counter()
        listed[name] = lookup.LookupRecommender(served[name], *neighbours(served[name], len(catalog), pool_depth))
        seconds[name] = round(time.perf_counter() - clock, 1)
    for name in lookup.MODELS:
        clock = time.perf_counter()
        model = served[name]
        learned = isinstance(model, LearnedRecommender)
        if learned:
            arrays = ranked_with_drivers(with_listed_pools(model, listed), len(catalog), depth)
        elif name in listed:
            arrays = {"rows": listed[name].rows[:, :depth], "scores": listed[name].scores[:, :depth]}
        else:
            arrays = dict(zip(("rows", "scores"), neighbours(model, len(catalog), depth)))
        files = lookup.files_for(name, learned)
        for role, file in files.items():
            np.save(out_dir / file, arrays[role])
        entry = {"label": model.label, "files": files}
        if learned:
            entry["driver_names"] = list(driver_names(model))
        entries[name] = entry
        seconds[name] = round(seconds.get(name, 0.0) + time.perf_counter() - clock, 1)
        print(f"{name}: {len(catalog):,} films × {depth} neighbours in {seconds[name]:.1f} s")
    manifest = {
        **lookup.fingerprint(catalog),
        "built_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "depth": depth,
        "models": entries,
        "seconds": {**seconds, "total": round(time.perf_counter() - started, 1)},
    }
    lookup.write_manifest(out_dir, manifest)
    return manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: data/lookups)")
    args = parser.parse_args(argv)
    out = args.out or lookup.lookups_dir()
    manifest = precompute(load_catalog(), out)
    total = sum((out / name).stat().st_size for entry in manifest["models"].values() for name in entry["files"].values())
    print(f"Wrote {out} ({total / 1e6:.1f} MB) in {manifest['seconds']['total']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
