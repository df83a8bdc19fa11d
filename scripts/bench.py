"""Speed and memory of the demo, printed as a markdown table with the machine and library versions.

    python scripts/bench.py                 # everything, ~1-2 minutes on 2 cores
    python scripts/bench.py --json data/bench/results.json

Targets (from the issues): each query p50 <= 0.2 ms in process; app ready <= 8 s after launch;
item-to-item <= 2 ms (4.8k films) and <= 5 ms (45k); free text <= 25 ms; app peak memory <= 1 GB.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from queries import (  # noqa: E402
    QueryError, cantidad_filmaciones_dia, cantidad_filmaciones_mes, get_actor, get_director, load_catalog,
    score_titulo, votos_titulo,
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


def percentiles(seconds: list[float]) -> tuple[float, float]:
    ms = np.asarray(seconds) * 1000
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 95))


def time_calls(call: Callable[[], object], repeat: int) -> tuple[float, float]:
    for _ in range(min(20, repeat)):
        call()  # warm-up
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        samples.append(time.perf_counter() - start)
    return percentiles(samples)


def quietly(query: Callable, text: str) -> Callable[[], object]:
    def call() -> object:
        try:
            return query(text)
        except QueryError as error:
            return error

    return call


def query_rows() -> list[dict]:
    load_catalog()
    rows = []
    for name, query, text, target in QUERY_CASES:
        repeat = 50 if "typo" in name else 2000
        p50, p95 = time_calls(quietly(query, text), repeat)
        rows.append({"what": f"query {name}", "p50_ms": p50, "p95_ms": p95, "target": f"p50 ≤ {target} ms" if target == target else "—"})
    return rows


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def peak_rss_mb(pid: int) -> float:
    """VmHWM: the process's peak resident memory, from /proc (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def app_rows(warm_up: Callable[[int], None] | None = None) -> list[dict]:
    """Launch `python app.py` as a user would; time until it answers HTTP, then its peak memory."""
    port = free_port()
    env = dict(os.environ, GRADIO_SERVER_PORT=str(port), GRADIO_SERVER_NAME="127.0.0.1")
    start = time.perf_counter()
    process = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
    try:
        ready = float("nan")
        while time.perf_counter() - start < 60:
            if process.poll() is not None:
                raise RuntimeError(f"app.py exited: {process.stderr.read()[-2000:]}")
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/gradio_api/info", timeout=1)
                ready = time.perf_counter() - start
                break
            except OSError:
                time.sleep(0.05)
        if warm_up:
            warm_up(port)
        memory = peak_rss_mb(process.pid)
    finally:
        process.terminate()
        process.wait(timeout=20)
    return [
        {"what": "app cold start (launch -> HTTP answers)", "p50_ms": ready * 1000, "p95_ms": None, "target": "≤ 8000 ms"},
        {"what": "app peak memory (MB) after the requests above", "p50_ms": memory, "p95_ms": None, "target": "≤ 1024 MB"},
    ]


def http_warm_up(port: int) -> None:
    """Exercise every endpoint once through gradio_client so peak memory includes real work."""
    from gradio_client import Client

    client = Client(f"http://127.0.0.1:{port}/", verbose=False)
    for name, _query, text, _target in QUERY_CASES[:6]:
        client.predict(text, api_name=f"/{name.split(' ')[0]}")


def recommender_rows() -> list[dict]:
    try:
        from recommender.benchmark import recommender_benchmarks
    except ImportError:
        return []
    return recommender_benchmarks()


def environment() -> dict:
    packages = ["gradio", "pandas", "numpy", "scikit-learn", "faiss-cpu", "sentence-transformers", "torch", "rapidfuzz"]
    versions = {}
    for package in packages:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "—"
    return {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.processor() or platform.system()}",
        "python": platform.python_version(),
        "versions": versions,
        "films": len(load_catalog()),
    }


def markdown(env: dict, rows: list[dict]) -> str:
    versions = ", ".join(f"{name} {version}" for name, version in env["versions"].items())
    lines = [
        f"Machine: {env['machine']}; Python {env['python']}; {versions}; catalog {env['films']:,} films.",
        "",
        "| what | p50 | p95 | target |",
        "|---|---:|---:|---|",
    ]
    for row in rows:
        unit = "MB" if "(MB)" in row["what"] else ("x" if "(x)" in row["what"] else "ms")
        p95 = "" if row.get("p95_ms") is None else f"{row['p95_ms']:.3f} {unit}"
        lines.append(f"| {row['what']} | {row['p50_ms']:.3f} {unit} | {p95} | {row.get('target', '')} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", type=Path, help="also write the rows as JSON here")
    parser.add_argument("--skip-app", action="store_true", help="skip launching app.py (cold start, memory)")
    args = parser.parse_args(argv)
    rows = query_rows() + recommender_rows()
    if not args.skip_app:
        rows += app_rows(http_warm_up)
    env = environment()
    print(markdown(env, rows))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"environment": env, "rows": rows}, indent=2, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
