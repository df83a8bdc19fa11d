"""Build the recommenders' index: catalog -> documents -> TF-IDF + sentence embeddings -> FAISS -> manifest.

Reads top to bottom like sentence-transformers' semantic_search_quora_faiss.py: load, encode,
normalise, index, then CHECK the index against exact search and print the recall, then encode every
field of every film on its own (per-field embeddings), then write the artifacts and a manifest that
the app verifies at start-up.

    python scripts/build_index.py                            # data/index/ for data/movies.parquet
    python scripts/build_index.py --data-dir DIR             # DIR/movies.parquet -> DIR/index/
    python scripts/build_index.py --limit 300 --out /tmp/ix  # first 300 films (tests, quick tries)
    python scripts/build_index.py --threads 1                # when other work keeps the second core busy
    python scripts/build_index.py --engine ray               # encoding on a local Ray (Ray Data map_batches)
    python scripts/build_index.py --engine ray --ray-address auto   # ... on the cluster `ray start` runs here

Same catalog, same libraries, same CPU -> byte-identical model files, rows in catalog order. The default engine
is this single process and needs no Ray; ``--engine ray`` (pip install -r requirements-scale.txt) runs the
per-film encoding steps (whole document, then every field) as Ray Data stages (scripts/ray_engine.py) and
writes the same files and manifest fields: vectors equal to the local build's within float tolerance.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
for _name, _value in {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_HUB_DISABLE_TELEMETRY": "1"}.items():
    os.environ.setdefault(_name, _value)

import numpy as np  # noqa: E402
from sklearn.metrics.pairwise import cosine_similarity  # noqa: E402

from queries.catalog import CATALOG_FILE, build_catalog_index, data_dir, load_catalog  # noqa: E402
from queries.errors import ArtifactError  # noqa: E402
from recommender import artifacts, documents, sentence_model  # noqa: E402
from recommender.embedding import flat_index, write_index  # noqa: E402
from recommender.tfidf import SEED_PARAMS, TFIDF_PARAMS, fit_tfidf, matrix_to_npz, vectorizer_to_json  # noqa: E402
from scripts.engine_options import add_engine_arguments, engine_from_arguments  # noqa: E402

if TYPE_CHECKING:
    from scripts.ray_engine import RayEngine  # optional extra: imported at run time only with --engine ray

BATCH_SIZE = 16  # measured on 2 cores: 16 beat 8, 32 and 64 (bigger batches fall out of cache)
# Fields are short (a title, a genre list): per-batch overhead dominates, so bigger batches. Measured on the
# 2 shared cores, 600 films, bf16, 1 thread: titles 1.27 / 0.98 / 0.93 s, overviews 6.8 / 4.8 / 5.2 s at batch
# 16 / 64 / 128; with 2 threads and the other core busy, 49 / 12.6 / 7.8 s and 51 / 21 / 14 s.
FIELD_BATCH_SIZE = 64
CHECK_QUERIES = 200  # rows whose neighbours are recomputed exactly to check the index
CHECK_K = 10
PRECISION_CHECK_DOCS = 64  # documents re-encoded in fp32 to check a bf16 build
MIN_COSINE_TO_FP32 = 0.99
SEED = 0


@dataclass
class BuildReport:
    out_dir: Path
    rows: int
    seconds: dict[str, float] = field(default_factory=dict)
    checks: dict[str, float] = field(default_factory=dict)
    files: dict[str, dict[str, Any]] = field(default_factory=dict)
    engine: dict[str, Any] = field(default_factory=dict)


def sample_rows(n: int, size: int) -> np.ndarray:
    return np.sort(np.random.default_rng(SEED).choice(n, size=min(size, n), replace=False))


def tfidf_agreement(model, rows: np.ndarray, k: int) -> float:
    """Share of the inverted index's top-k that sklearn's cosine_similarity ranks top-k too (1.0 = same)."""
    hits = total = 0
    for row in rows.tolist():
        exact = cosine_similarity(model.matrix[row], model.matrix).ravel()
        exact[row] = -np.inf
        found = model.similar(row, k)
        threshold = np.sort(exact)[::-1][len(found) - 1] if len(found) else np.inf
        hits += int(np.sum(exact[found.rows] >= threshold - 1e-6))  # ties at the k-th score count as agreement
        total += len(found)
    return hits / total if total else 1.0


def faiss_recall(index, vectors: np.ndarray, rows: np.ndarray, k: int) -> float:
    """Recall@k of the FAISS index against exact numpy inner products, as in the Quora FAISS example."""
    exact_scores = vectors[rows] @ vectors.T
    exact = np.argsort(-exact_scores, axis=1, kind="stable")[:, :k]
    _, found = index.search(vectors[rows], k)
    return float(np.mean([len(set(a) & set(b)) / k for a, b in zip(exact.tolist(), found.tolist())]))


def encode_fields(
    encoder, texts: dict[str, list[str]], dimension: int, batch_size: int, precision: str, progress: bool,
) -> tuple[np.ndarray, dict[str, float]]:
    """(fields, films, dimension) float32, one unit row per non-empty text and a ZERO row per empty one (a
    missing field then adds 0 to any similarity), plus the seconds each field took; fields in FIELDS order."""
    films = len(texts[documents.FIELDS[0]])
    vectors = np.zeros((len(documents.FIELDS), films, dimension), dtype=np.float32)
    seconds = {}
    for position, name in enumerate(documents.FIELDS):
        started = time.perf_counter()
        present = np.array([row for row, text in enumerate(texts[name]) if text], dtype=np.int64)
        if len(present):
            vectors[position, present] = sentence_model.encode(
                encoder, [texts[name][row] for row in present.tolist()], batch_size, precision, progress=progress
            )
        seconds[name] = round(time.perf_counter() - started, 2)
        print(f"  {name:<9} {len(present):>6,} texts, {films - len(present):>5,} empty -> zero vectors: {seconds[name]:6.1f} s")
    return vectors, seconds


def fields_vs_fp32(encoder, texts: dict[str, list[str]], vectors: np.ndarray, probe: np.ndarray, batch_size: int) -> float:
    """Lowest cosine between the build's field vectors and an fp32 re-encoding, over the probe films' non-empty fields."""
    cosines = []
    for position, name in enumerate(documents.FIELDS):
        rows = [row for row in probe.tolist() if texts[name][row]]
        if rows:
            reference = sentence_model.encode(encoder, [texts[name][row] for row in rows], batch_size, "fp32")
            cosines.append(np.sum(reference * vectors[position, rows], axis=1))
    return float(np.min(np.concatenate(cosines))) if cosines else 1.0


def min_cosine(stored: np.ndarray, vectors: np.ndarray) -> float:
    """Lowest cosine between stored (e.g. float16) rows and the float32 rows they were made from."""
    stored = stored.astype(np.float32)
    cosines = np.sum(stored * vectors, axis=1) / (np.linalg.norm(stored, axis=1) * np.linalg.norm(vectors, axis=1))
    return float(np.min(cosines)) if len(cosines) else 1.0


CHECK_ROWS = 16_384  # rows per slice of the field checks below


def check_field_vectors(field_vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """(which rows are non-empty, the float16 copy to store, the lowest float16-vs-float32 cosine), after checking
    every non-empty row is a unit vector. Slice by slice: the same checks on the whole (fields, films, dimension)
    matrix made temporaries 3.4 times its size (1.6 GB at 45k films; about half of a 200k build's 14.4 GB peak)."""
    stored = field_vectors.astype(np.float16)
    present = np.zeros(field_vectors.shape[:2], dtype=bool)
    lowest = 1.0
    for position in range(field_vectors.shape[0]):
        for start in range(0, field_vectors.shape[1], CHECK_ROWS):
            rows = slice(start, start + CHECK_ROWS)
            vectors = field_vectors[position, rows]
            norms = np.linalg.norm(vectors, axis=1)
            found = present[position, rows] = norms > 0
            assert np.allclose(norms[found], 1.0, atol=1e-3), "field embeddings are not unit vectors"
            lowest = min(lowest, min_cosine(stored[position, rows][found], vectors[found]))
    return present, stored, lowest


def build_index(
    catalog_path: Path, out_dir: Path, limit: int | None = None, batch_size: int = BATCH_SIZE,
    precision: str = "auto", model=None, progress: bool = True, threads: int | None = None,
    field_batch_size: int = FIELD_BATCH_SIZE, engine: str | RayEngine = "local",
) -> BuildReport:
    """Everything the app's recommenders read, written to ``out_dir``; ``model`` lets tests reuse one.

    ``engine`` is "local" (this process), "ray" (a local Ray with default settings) or a configured
    ``scripts.ray_engine.RayEngine``; Ray is imported only for the latter two.
    """
    if isinstance(engine, str) and engine not in ("local", "ray"):
        raise ValueError(f"unknown engine {engine!r}: 'local', 'ray' or a scripts.ray_engine.RayEngine")
    if engine == "ray":
        from scripts.ray_engine import RayEngine

        engine = RayEngine(progress=progress)
    try:
        return _build_index(catalog_path, out_dir, limit, batch_size, precision, model, progress, threads,
                            field_batch_size, None if engine == "local" else engine)
    finally:
        if engine != "local":
            engine.shutdown()


def _build_index(
    catalog_path: Path, out_dir: Path, limit: int | None, batch_size: int, precision: str, model, progress: bool,
    threads: int | None, field_batch_size: int, ray_engine: RayEngine | None,
) -> BuildReport:
    started = time.perf_counter()
    clock = time.perf_counter()

    def lap(step: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        report.seconds[step] = round(now - clock, 2)
        clock = now

    # 1. The catalog (first ``limit`` films for tests). Row number = film id for every model.
    catalog = load_catalog(catalog_path)
    if limit is not None:
        catalog = build_catalog_index(catalog.movies.head(limit), catalog.path, catalog.checksum)
    movies = catalog.movies
    report = BuildReport(out_dir=out_dir, rows=len(movies))
    print(f"Catalog {catalog_path}: {len(movies):,} films (sha256 {catalog.checksum[:12]}…)")

    # 2. One document per film and model (templates in recommender/documents.py).
    texts = {name: build(movies) for name, build in documents.DOCUMENT_BUILDERS.items()}
    lap("catalog + documents")

    # 3. TF-IDF: the original recipe and the richer baseline. Check the inverted index against sklearn.
    tfidf_models = {
        "seed_tfidf": fit_tfidf("seed_tfidf", artifacts.MODEL_LABELS["seed_tfidf"], texts["seed_tfidf"], SEED_PARAMS),
        "tfidf": fit_tfidf("tfidf", artifacts.MODEL_LABELS["tfidf"], texts["tfidf"], TFIDF_PARAMS),
    }
    check_rows = sample_rows(len(movies), CHECK_QUERIES)
    for name, model_ in tfidf_models.items():
        report.checks[f"{name} agreement@{CHECK_K} vs sklearn cosine"] = tfidf_agreement(model_, check_rows[:50], CHECK_K)
        print(f"{name}: {model_.matrix.shape[1]:,} terms, {model_.matrix.nnz / len(movies):.1f} per film")
    lap("tfidf")

    # 4. Sentence embeddings, with a progress bar. bf16 where the CPU has it, checked against fp32. With Ray the
    #    workers encode (each loads the model once); this process keeps its own copy for the checks.
    import torch

    threads = threads or min(2, os.cpu_count() or 1)
    torch.set_num_threads(threads)
    if ray_engine is not None:
        ray_engine.start()
        lap("start ray")
    encoder = model if model is not None else sentence_model.load_sentence_model()
    lap("load sentence model")
    if precision == "auto":
        precision = "bf16" if sentence_model.bf16_supported() else "fp32"
    if ray_engine is None:
        vectors = sentence_model.encode(encoder, texts["embedding"], batch_size, precision, progress=progress)
        lap("encode")
    else:  # one Ray Data pipeline for both encoding steps (step 6's fields too): one model load per worker
        print(f"Encoding documents and fields on Ray ({precision}):")
        field_texts = documents.field_documents(movies)
        vectors, field_vectors, field_seconds = ray_engine.encode_documents_and_fields(
            texts["embedding"], field_texts, documents.FIELDS, batch_size, field_batch_size, precision)
        lap("encode + encode fields")
    if precision != "fp32":
        probe = sample_rows(len(movies), PRECISION_CHECK_DOCS)
        reference = sentence_model.encode(encoder, [texts["embedding"][i] for i in probe.tolist()], batch_size, "fp32")
        cosine = float(np.min(np.sum(reference * vectors[probe], axis=1)))
        report.checks[f"{precision} vs fp32 min cosine ({len(probe)} films)"] = cosine
        if cosine < MIN_COSINE_TO_FP32:
            raise ArtifactError(f"{precision} embeddings drift from fp32 (cosine {cosine:.4f}): rerun with --precision fp32.")
        lap("precision check")

    # 5. Normalised vectors (encode normalises; assert it) into an exact inner-product index; check recall.
    norms = np.linalg.norm(vectors, axis=1)
    assert np.allclose(norms, 1.0, atol=1e-3), "embeddings are not unit vectors"
    index = flat_index(vectors)
    recall = faiss_recall(index, vectors, check_rows, min(CHECK_K, len(movies)))
    report.checks[f"embedding recall@{CHECK_K} vs exact numpy ({len(check_rows)} films)"] = recall
    print(f"FAISS IndexFlatIP: {index.ntotal:,} × {index.d}, recall@{CHECK_K} vs exact search = {recall:.4f}")
    lap("faiss index + check")

    # 6. Per-field embeddings: every field of every film encoded on its own (same model and precision, bigger
    #    batches), stored as float16 (fields, films, dimension). Check bf16 against fp32 and float16 storage.
    if ray_engine is None:
        print(f"Per-field embeddings ({precision}, {len(documents.FIELDS)} fields):")
        field_texts = documents.field_documents(movies)
        field_vectors, field_seconds = encode_fields(encoder, field_texts, index.d, field_batch_size, precision, progress)
    present, stored, lowest = check_field_vectors(field_vectors)
    if precision != "fp32":
        probe = sample_rows(len(movies), PRECISION_CHECK_DOCS)
        cosine = fields_vs_fp32(encoder, field_texts, field_vectors, probe, field_batch_size)
        report.checks[f"embedding_fields {precision} vs fp32 min cosine ({len(probe)} films × {len(documents.FIELDS)} fields)"] = cosine
        if cosine < MIN_COSINE_TO_FP32:
            raise ArtifactError(f"{precision} field embeddings drift from fp32 (cosine {cosine:.4f}): rerun with --precision fp32.")
    report.checks["embedding_fields float16 vs float32 min cosine"] = lowest
    print(f"Per-field embeddings: {' × '.join(f'{size:,}' for size in stored.shape)} {stored.dtype.name}, "
          f"{int(present.sum()):,} vectors + {int((~present).sum()):,} zero rows (empty fields), {stored.nbytes / 1e6:.1f} MB")
    lap("encode fields" if ray_engine is None else "field checks")

    # 7. Write the artifacts, then the manifest (last: it vouches for the files above).
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / artifacts.MANIFEST_FILE).unlink(missing_ok=True)
    for name, model_ in tfidf_models.items():
        files = artifacts.MODEL_FILES[name]
        matrix_to_npz(model_.matrix, out_dir / files["matrix"])
        (out_dir / files["vectorizer"]).write_text(vectorizer_to_json(model_.vectorizer), encoding="utf-8")
    write_index(index, out_dir / artifacts.MODEL_FILES["embedding"]["index"])
    np.save(out_dir / artifacts.MODEL_FILES["embedding_fields"]["vectors"], stored, allow_pickle=False)
    lap("write")
    report.seconds["total"] = round(time.perf_counter() - started, 2)
    report.engine = ray_engine.describe() if ray_engine is not None else {
        "name": "local", "workers": 1, "workers_used": 1, "threads_per_worker": threads, "address": None,
        "cluster_cpus": os.cpu_count(), "ray_version": None, "worker_restarts": 0,
        "worker_seconds": {stage: report.seconds[stage] for stage in ("encode", "encode fields")},
    }
    manifest = {
        "built_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "build_seconds": report.seconds,
        # Who encoded: "local" (this process, `threads` torch threads) or "ray" (`workers` Ray actors). Wall time
        # per stage is build_seconds (a Ray build encodes documents and fields in one stage, "encode + encode
        # fields"); worker_seconds is the encoding time per step summed over workers. In a Ray build the per-field
        # encode_seconds below are worker-seconds too (workers encode fields side by side).
        "engine": report.engine,
        "checks": report.checks,
        "catalog": {"file": CATALOG_FILE, "sha256": catalog.checksum, "rows": len(movies), "limit": limit},
        "models": {
            **{
                name: {
                    "label": model_.label, "kind": "tfidf", "template": documents.TEMPLATES[name],
                    "params": {key: (np.dtype(v).name if key == "dtype" else v) for key, v in params.items()},
                    "terms": model_.matrix.shape[1], "nnz": int(model_.matrix.nnz), "files": artifacts.MODEL_FILES[name],
                }
                for (name, model_), params in zip(tfidf_models.items(), (SEED_PARAMS, TFIDF_PARAMS))
            },
            "embedding": {
                "label": artifacts.MODEL_LABELS["embedding"], "kind": "sentence-embedding",
                "template": documents.TEMPLATES["embedding"], "model": sentence_model.MODEL_NAME,
                "model_package": sentence_model.MODEL_PACKAGE, "model_package_version": sentence_model.package_version(),
                "max_seq_length": int(encoder.max_seq_length), "dimension": int(index.d), "precision": precision,
                "batch_size": batch_size, "normalised": True, "index": "faiss.IndexFlatIP (exact inner product)",
                "files": artifacts.MODEL_FILES["embedding"],
            },
            "embedding_fields": {
                "kind": "sentence-embedding per field", "fields": list(documents.FIELDS),
                "templates": {"fields": documents.FIELD_TEMPLATES, "description": documents.FIELD_TEMPLATES_DOC},
                "model": sentence_model.MODEL_NAME, "model_package_version": sentence_model.package_version(),
                "precision": precision, "batch_size": field_batch_size, "shape": list(stored.shape), "dtype": stored.dtype.name,
                "normalised": True, "empty_fields": "zero vectors",
                "empty": {name: int((~present[position]).sum()) for position, name in enumerate(documents.FIELDS)},
                "encode_seconds": field_seconds, "files": artifacts.MODEL_FILES["embedding_fields"],
            },
        },
        "versions": artifacts.library_versions(),
    }
    artifacts.write_manifest(out_dir, manifest)
    report.files = {path.name: {"bytes": path.stat().st_size} for path in sorted(out_dir.iterdir()) if path.is_file()}
    return report


def print_summary(report: BuildReport) -> None:
    print(f"\nWrote {report.out_dir} for {report.rows:,} films:")
    print(f"| {'file':<28} | {'size':>9} |\n|{'-' * 30}|{'-' * 11}|")
    for name, info in report.files.items():
        print(f"| {name:<28} | {info['bytes'] / 1e6:>6.2f} MB |")
    total = sum(info["bytes"] for info in report.files.values())
    print(f"| {'total':<28} | {total / 1e6:>6.2f} MB |")
    print("\nChecks: " + "; ".join(f"{name} = {value:.6f}" for name, value in report.checks.items()))
    print("Seconds: " + ", ".join(f"{step} {seconds:.1f}" for step, seconds in report.seconds.items()))
    engine = report.engine
    print(f"Engine: {engine['name']}, {engine['workers']} worker(s) × {engine['threads_per_worker']} thread(s), "
          f"{engine['worker_restarts']} worker restart(s); encoding worker-seconds "
          + ", ".join(f"{stage} {seconds:.1f}" for stage, seconds in engine["worker_seconds"].items()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=None, help="folder with movies.parquet (default: data_dir())")
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: <data-dir>/index)")
    parser.add_argument("--limit", type=int, default=None, help="index only the first N films (needs --out)")
    parser.add_argument("--batch-size", type=int, default=BATCH_SIZE)
    parser.add_argument("--precision", choices=["auto", "bf16", "fp32"], default="auto")
    parser.add_argument("--no-progress", action="store_true")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch threads (default: min(2, cores)); 1 is far faster when other work keeps a core busy"
                             " (with --engine ray: this process's checks only)")
    add_engine_arguments(parser, "the encoding", cpus_per_worker=True)
    args = parser.parse_args(argv)
    if args.limit is not None and args.out is None:
        parser.error("--limit writes a partial index: pass --out DIR so it cannot replace the app's index")
    if args.limit is not None and args.limit < 2:
        parser.error("--limit must be at least 2")
    engine = engine_from_arguments(parser, args)
    if engine is None:
        return 2
    base = args.data_dir or data_dir()
    try:
        report = build_index(
            base / CATALOG_FILE, args.out or artifacts.index_dir(base), args.limit, args.batch_size, args.precision,
            progress=not args.no_progress, threads=args.threads, engine=engine,
        )
    except ArtifactError as exc:
        print(f"Index build failed: {exc}", file=sys.stderr)
        return 2
    print_summary(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
