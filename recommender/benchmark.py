"""Recommender latencies for scripts/bench.py: item-to-item and free text per model, the original
project's way of answering on the same catalog (and our speed-up over it), and item-to-item on a
synthetic 45,000-film catalog shaped like the real one.

Every timing is in-process wall time (time.perf_counter) of one call, p50/p95 over a fixed-seed
sample of films, after one warm-up call, so the numbers repeat run to run on a quiet machine.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Mapping

import numpy as np
import scipy.sparse as sp

from queries.catalog import Catalog, load_catalog
from recommender.artifacts import load_recommenders
from recommender.base import Recommender

SEED = 20240612
QUERY_FILMS = 200
K = 10
SYNTHETIC_FILMS = 45_000
TARGET_MS = {"item-to-item": 2.0, "item-to-item (45k)": 5.0, "free text": 25.0}
FREE_TEXT_QUERIES = [
    "a lonely astronaut stranded on Mars who grows potatoes",
    "toys that come to life when their owner leaves the room",
    "a masked vigilante protects Gotham City from a criminal mastermind",
    "a shark terrorises a beach town",
    "two lovers from different social classes on a sinking ship",
    "a hacker discovers reality is a computer simulation",
    "a young wizard goes to a school of magic",
    "mafia family drama about power and loyalty",
    "dinosaurs cloned for a theme park escape",
    "a road trip comedy with two friends",
]


def _percentiles(call: Callable[[object], object], inputs: list, warm_up: bool = True) -> tuple[float, float]:
    """p50 and p95 in ms of ``call(input)`` over the inputs, one warm-up call first."""
    if warm_up:
        call(inputs[0])
    times = []
    for item in inputs:
        started = time.perf_counter()
        call(item)
        times.append((time.perf_counter() - started) * 1000)
    return float(np.percentile(times, 50)), float(np.percentile(times, 95))


def _row(model: str, label: str, catalog: str, films: int, operation: str, runs: int, p50: float, p95: float,
         **extra: object) -> dict:
    target = TARGET_MS.get(operation)
    return {
        "model": model, "label": label, "catalog": catalog, "films": films, "operation": operation, "runs": runs,
        "p50_ms": round(p50, 3), "p95_ms": round(p95, 3), "target_ms": target,
        "meets_target": None if target is None else bool(p95 <= target if operation != "free text" else p50 <= target),
        **extra,
    }


def original_recipe_answer(matrix: sp.csr_matrix, row: int, k: int) -> list[int]:
    """How the original project answered: the query's full cosine row, then Python's sorted() over it."""
    from sklearn.metrics.pairwise import cosine_similarity

    similarities = cosine_similarity(matrix[row], matrix)[0]
    ranked = sorted(enumerate(similarities), key=lambda pair: pair[1], reverse=True)
    return [index for index, _ in ranked if index != row][:k]


def synthetic_tfidf(like: sp.csr_matrix, films: int, seed: int = SEED) -> sp.csr_matrix:
    """A films×terms matrix with the real matrix's terms-per-film and term-frequency profile.

    Terms are drawn in proportion to their real document frequency, so postings lists (what a query
    touches) have realistic lengths relative to the catalog size; weights are random, rows L2-normalised.
    """
    rng = np.random.default_rng(seed)
    document_frequency = np.bincount(like.indices, minlength=like.shape[1]).astype(np.float64)
    terms_per_film = rng.choice(np.diff(like.indptr), size=films)
    columns = rng.choice(like.shape[1], size=int(terms_per_film.sum()), p=document_frequency / document_frequency.sum())
    rows = np.repeat(np.arange(films), terms_per_film)
    weights = rng.uniform(0.5, 1.5, size=len(columns)).astype(np.float32)
    matrix = sp.csr_matrix((weights, (rows, columns)), shape=(films, like.shape[1]))
    matrix.sum_duplicates()
    norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1))).ravel()
    norms[norms == 0] = 1.0
    return sp.csr_matrix(sp.diags(1.0 / norms) @ matrix, dtype=np.float32)


def synthetic_embedding_index(films: int, dimension: int, seed: int = SEED):
    """Random unit vectors in an exact inner-product index: same cost as real vectors of that shape."""
    from recommender.embedding import flat_index

    vectors = np.random.default_rng(seed).standard_normal((films, dimension), dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return flat_index(vectors)


def recommender_benchmarks(
    catalog: Catalog | None = None, recommenders: Mapping[str, Recommender] | None = None,
    query_films: int = QUERY_FILMS, synthetic_films: int = SYNTHETIC_FILMS, k: int = K,
) -> list[dict]:
    """One dict per (model, catalog, operation): p50/p95 ms, the target and whether it is met.

    The original-recipe row carries ``speedup``: its p50 over our seed_tfidf item-to-item p50 (same
    model, same catalog, same answer; only the way of computing it differs).
    """
    from recommender.embedding import EmbeddingRecommender
    from recommender.tfidf import TfidfRecommender

    catalog = catalog if catalog is not None else load_catalog()
    recommenders = recommenders if recommenders is not None else load_recommenders(catalog)
    films = len(catalog)
    name = f"{catalog.path.parent.name}/{catalog.path.name}"
    rows = np.random.default_rng(SEED).choice(films, size=min(query_films, films), replace=False).tolist()
    results = []

    p50s = {}
    for model in recommenders.values():
        p50, p95 = _percentiles(lambda row, model=model: model.similar(row, k), rows)
        p50s[model.name] = p50
        results.append(_row(model.name, model.label, name, films, "item-to-item", len(rows), p50, p95))

    if "seed_tfidf" in recommenders:
        seed_matrix = recommenders["seed_tfidf"].matrix  # type: ignore[attr-defined]
        original_rows = rows[:50]  # the original is slow: 50 films are plenty for a p50
        p50, p95 = _percentiles(lambda row: original_recipe_answer(seed_matrix, row, k), original_rows)
        results.append(_row(
            "seed_tfidf", "Original project: cosine_similarity row + sorted()", name, films,
            "item-to-item (original way)", len(original_rows), p50, p95, speedup=round(p50 / p50s["seed_tfidf"], 1),
        ))

    queries = FREE_TEXT_QUERIES * 5
    for model in recommenders.values():
        started = time.perf_counter()
        model.search(queries[0], k)  # loads the sentence model for the embedding
        first_call_s = time.perf_counter() - started
        p50, p95 = _percentiles(lambda text, model=model: model.search(text, k), queries)
        results.append(_row(
            model.name, model.label, name, films, "free text", len(queries), p50, p95, first_call_s=round(first_call_s, 2),
        ))

    synthetic = f"synthetic ({synthetic_films:,} films)"
    synthetic_rows = np.random.default_rng(SEED).choice(synthetic_films, size=query_films, replace=False).tolist()
    for model in recommenders.values():
        if isinstance(model, TfidfRecommender):
            scaled: Recommender = TfidfRecommender(model.name, model.label, synthetic_tfidf(model.matrix, synthetic_films))
        elif isinstance(model, EmbeddingRecommender):
            scaled = EmbeddingRecommender(synthetic_embedding_index(synthetic_films, model.dimension), None, model.name, model.label)
        else:
            continue  # e.g. a hybrid: its cost is the sum of its parts
        p50, p95 = _percentiles(lambda row, scaled=scaled: scaled.similar(row, k), synthetic_rows)
        results.append(_row(model.name, model.label, synthetic, synthetic_films, "item-to-item (45k)", len(synthetic_rows), p50, p95))
    return results


def markdown_table(rows: list[dict]) -> str:
    """The benchmark as a markdown table (for the README and the console)."""
    lines = ["| model | catalog | operation | p50 ms | p95 ms | target | note |", "|---|---|---|---:|---:|---|---|"]
    for row in rows:
        target = f"≤ {row['target_ms']:g} ms" + (" ✓" if row["meets_target"] else " ✗") if row["target_ms"] else ""
        note = f"{row['speedup']}× faster with the inverted index" if "speedup" in row else ""
        if "first_call_s" in row:
            note = f"first call {row['first_call_s']} s"
        lines.append(
            f"| {row['model']} | {row['catalog']} | {row['operation']} | {row['p50_ms']:.3f} | {row['p95_ms']:.3f} | {target} | {note} |"
        )
    return "\n".join(lines)
