"""Speed and memory of the demo, printed as one markdown table with the machine, library versions and load.

    python scripts/bench.py                                   # everything, ~5 minutes on 2 cores
    python scripts/bench.py --quick                           # without the 200k-film catalog (~2 minutes)
    python scripts/bench.py --json data/bench/results.json --markdown data/bench/RESULTS.md
    python scripts/bench.py --build                           # also time scripts/build_index.py (temp dir)
    python scripts/bench.py --app-variants                    # also A/B patched copies of app.py (+2 minutes)

Sections of the table:
* in-process: the six queries, the three recommender endpoints' functions (recommender.service), every
  served model's item-to-item and free text, and the original project's way as the speed-up anchor.
* app / HTTP: ``python app.py`` (the app's own ``demo.launch``) on a free loopback port: cold start
  (launch -> /gradio_api/info answers), peak memory (/proc VmHWM) after exercising every named endpoint once
  (one free-text search included), then p50/p95 through the raw Gradio API (POST /gradio_api/call/<name>,
  then GET its event stream; one httpx client, sequential, after warm-up), without a session_hash as curl
  sends it (Gradio then makes every call a new session, keeping the newest state_session_capacity) and
  with one, through gradio_client.Client.predict, and through the REST routes.
* HTTP variants (--app-variants): patched copies of app.py (queue settings; without the
  state_session_capacity launch option), each launched as ``python app.py``.
* index build: from data/index/manifest.json (not rebuilt unless --build).
* scaling: synthetic 4.8k, 45k and 200k-film catalogs, each in a fresh process (so its RSS is its own).
* approximate index: HNSW / IVF / IVF-SQ8 against the exact flat index (recall@10, latency, build, memory).
* extrapolated (1M): from the 45k and 200k measurements; each row says how.

Targets (issues 3 and 7): queries p50 ≤ 0.2 ms; item-to-item ≤ 2 ms at 4.8k and ≤ 5 ms at 45k (judged on
p95); free text p50 ≤ 25 ms; raw Gradio HTTP p50 ≤ 20 ms; cold start ≤ 8 s; peak memory ≤ 1 GB (app; 45k).
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
from collections.abc import Callable
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
from recommender.benchmark import (  # noqa: E402
    EXTRAPOLATE_TO, MEMORY_TARGET_MB, SCALES, ReplayEncoder, approximate_rows, estimated_app_memory_rows,
    extrapolate_rows, judged, markdown_table, percentiles_ms, process_memory_mb, recommender_rows, reset_peak_memory,
    row, scaled_models, scaling_rows, service_rows, synthetic_catalog, synthetic_vectors,
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
HTTP_TARGET_MS = 20.0
APP_SCALE_FILMS = 45_000  # the app itself is launched on a synthetic catalog of this size (the memory target's)
SCALE_TIMEOUT_S = 600
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
    its lookups, the models, the hybrid and the explainer (tracemalloc), plus the FAISS index (C++) and
    Arrow buffers. RSS deltas are not used: they also count library pages touched for the first time."""
    import tracemalloc

    import pyarrow
    import pyarrow.parquet  # noqa: F401  - modules imported on first use are code, not data
    import rapidfuzz  # noqa: F401
    import scipy.sparse  # noqa: F401
    import sklearn.feature_extraction.text  # noqa: F401

    import recommender.comparison  # noqa: F401
    import recommender.explain  # noqa: F401
    import recommender.hybrid  # noqa: F401
    from recommender import service
    from recommender.benchmark import structure_bytes

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
    native = structure_bytes(models["embedding"]) if "embedding" in models else 0
    return (traced + native + pyarrow.total_allocated_bytes() - arrow_before) / 2**20


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
            client.predict(*ENDPOINT_ARGS[name], api_name=endpoint)
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
                                **judged(p50, HTTP_TARGET_MS, "p50"), note="POST /gradio_api/call + GET event stream, "
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
                                **judged(p50, HTTP_TARGET_MS, "p50"), note="same calls, one session_hash for the client"))
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
    """A data folder the app accepts, for a synthetic catalog of ``films`` films (see ``synthetic_catalog``):
    catalog and its manifest (written by the ETL's writer), index (TF-IDF fitted for real, MiniLM vectors
    replayed from the real films, see ``ReplayEncoder``) and the evaluation's hybrid weights, re-stamped for
    this catalog so the app serves the hybrid as it does on the real one. Returns the seconds each step took."""
    from recommender import documents
    from recommender.artifacts import MANIFEST_FILE, index_dir, load_recommenders
    from recommender.comparison import results_path
    from scripts.build_index import build_index
    from scripts.etl import write_catalog

    seconds: dict[str, float] = {}
    started = time.perf_counter()
    real = load_catalog()
    path = base / CATALOG_FILE
    write_catalog(synthetic_catalog(pd.read_parquet(real.path), films), path, {  # the ETL's writer: its manifest too
        "script": "scripts/bench.py", "source": f"synthetic: {films:,} films from {real.path.name} (sha256 {real.checksum})",
    })
    seconds["catalog"] = time.perf_counter() - started
    started = time.perf_counter()
    embedding = load_recommenders(real)["embedding"]
    encoder = ReplayEncoder(documents.embedding_documents(load_catalog(path).movies), np.arange(films) % len(real),
                            embedding.index.reconstruct_n(0, embedding.index.ntotal))
    with contextlib.redirect_stdout(io.StringIO()):
        build_index(path, index_dir(base), precision="fp32", model=encoder, progress=False)
    seconds["index"] = time.perf_counter() - started
    results = json.loads(results_path().read_text(encoding="utf-8"))
    manifest = json.loads((index_dir(base) / MANIFEST_FILE).read_text(encoding="utf-8"))
    results["catalog"] = {"path": str(path), "sha256": load_catalog(path).checksum, "films": films}
    results["index"]["files"] = {name: entry["sha256"] for name, entry in manifest["files"].items()}
    results["synthetic"] = f"weights copied from the evaluation of {real.path.name} for scripts/bench.py"
    (base / "eval").mkdir()
    (base / "eval" / results_path().name).write_text(json.dumps(results), encoding="utf-8")
    return seconds


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
    note = ("synthetic catalog: the real films plus renamed copies (new people per copy, shuffled overview words); "
            f"built in {prepared['catalog'] + prepared['index']:.0f} s")
    rows = [
        row("app at scale", "cold start: launch `python app.py` → HTTP answers", ready_s, unit="s", films=films, note=note),
        row("app at scale", "peak memory (VmHWM) after every named endpoint once", memory["peak"], unit="MB", films=films,
            **judged(memory["peak"], MEMORY_TARGET_MB, "", "MB"),
            note=f"{len(done)} endpoints incl. one free-text search; RSS now {memory['rss']:.0f} MB"
            + (f"; not exercised: {'; '.join(problems)}" if problems else "")),
    ]
    for name, (p50, p95) in latency.items():
        rows.append(row("app at scale", f"raw Gradio API: {name}", p50, p95, films=films,
                        **judged(p50, HTTP_TARGET_MS, "p50"), note="no session_hash (as curl): a new session per call"))
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
            **judged(p50, HTTP_TARGET_MS, "p50"), memory_mb=after if memory_calls else None,
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


# ------------------------------------------------------------------ scaling (one fresh process per catalog size)


def scaling_worker(films: int, approximate: bool) -> list[dict]:
    """Runs in its own process: synthetic catalog of ``films``; RSS measured while serving it."""
    from recommender.artifacts import load_recommenders
    from recommender.comparison import load_results
    from recommender.hybrid import HybridWeights
    from recommender.sentence_model import LazySentenceModel

    catalog = load_catalog()
    real = load_recommenders(catalog)
    try:
        weights = HybridWeights(**load_results(catalog=catalog)["hybrid"]["weights"])
    except Exception:  # noqa: BLE001 - no evaluation for this index: default weights, said in the note
        weights = HybridWeights()
    real_vectors = real["embedding"].index.reconstruct_n(0, real["embedding"].index.ntotal)
    sentence = LazySentenceModel()
    sentence.encode_query("warm up")
    encode = sentence.get().encode  # uncached: the scaling rows time the encoding itself
    models = scaled_models(films, real["seed_tfidf"].matrix, real["tfidf"].matrix, real["tfidf"].vectorizer,
                           synthetic_vectors(films, like=real_vectors), encode, weights)
    gc.collect()
    reset = reset_peak_memory()
    rows = scaling_rows(models, encode, query_films=200 if films <= 45_000 else 120,
                        original_films=50 if films <= 45_000 else 20)
    memory = process_memory_mb()
    structures = sum(r["memory_mb"] or 0 for r in rows if r["what"].startswith("item-to-item k=") and r["model"] != "original")
    rows.append(row(
        "scaling", "benchmark process peak RSS while serving these structures", memory["peak" if reset else "rss"],
        unit="MB", films=films, memory_mb=structures, **judged(memory["peak"], MEMORY_TARGET_MB if films <= 45_000 else None,
                                                             "peak", "MB"),
        note="Python + MiniLM (NumPy query encoder) + the real 4.8k models (vocabulary) + the synthetic structures "
        "(memory column)"
        + ("" if reset else "; VmHWM reset unsupported: RSS now"),
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


def environment(load_before: tuple[float, ...], load_after: tuple[float, ...], seconds: float) -> dict:
    packages = ["gradio", "gradio_client", "httpx", "fastapi", "uvicorn", "pandas", "numpy", "scipy", "scikit-learn",
                "faiss-cpu", "sentence-transformers", "torch", "rapidfuzz"]
    versions = {}
    for package in packages:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "—"
    return {
        "machine": f"{cpu_model()}, {os.cpu_count()} cores, {memory_total_gib():.0f} GiB, {platform.system()} {platform.machine()}",
        "python": platform.python_version(),
        "versions": versions,
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
        "",
        markdown_table(rows),
    ])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", type=Path, help="also write the rows as JSON here")
    parser.add_argument("--markdown", type=Path, help="also write the printed report here (e.g. data/bench/RESULTS.md)")
    parser.add_argument("--quick", action="store_true", help="skip the 200k-film catalog and the approximate indexes at 200k")
    parser.add_argument("--skip-app", action="store_true", help="skip launching app.py (cold start, memory, HTTP)")
    parser.add_argument("--build", action="store_true", help="also re-run scripts/build_index.py into a temp dir and time it")
    parser.add_argument("--app-variants", action="store_true",
                        help="also launch patched copies of app.py (queue settings, session capacity): ~2 minutes")
    parser.add_argument("--scaling-worker", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--worker-out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--approximate", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

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

    embedding = serving_recommenders(catalog)["embedding"]
    real_vectors = embedding.index.reconstruct_n(0, embedding.index.ntotal)
    app_peak = None
    if not args.skip_app:
        starting("app/HTTP")
        app, app_peak = app_rows(len(catalog))
        rows += app + session_state_rows(len(catalog))
        if args.app_variants:
            starting("HTTP variants")
            rows += app_variant_rows(len(catalog))
    rows += index_build_rows(args.build)
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
