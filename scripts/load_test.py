"""Bounded load test on loopback: N concurrent clients x M requests mixing queries, recommendations
and free-text search, through Gradio's HTTP API and the REST routes. Prints p50/p95 per kind and the
error count; exits 1 on any error.

    python app.py &                                      # or let the script start it: --start
    python scripts/load_test.py --url http://127.0.0.1:7860 --clients 20 --requests 50
    python scripts/load_test.py --start                  # launches app.py on a free port, then stops it
    python scripts/load_test.py --start --json data/bench/load.json   # the summary README.md quotes

``--json`` writes the printed summary as JSON (same keys every run): the command, clients and requests per
client, requests, errors (and the first few), seconds, req/s, p50/p95 overall and per kind of request, and the
environment (machine, Python and library versions, the commit measured, 1-minute load average before
and after, date).

Gradio calls are raw two-step calls without a session_hash, as curl sends them: Gradio makes each one a new
session and keeps the newest state_session_capacity (200 in app.py). Every Gradio answer is compared with the
same call made alone before the load (timings aside).
Only 127.0.0.1 / localhost targets are accepted: this is a test of our own server, never of anyone else's.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import quote, urlparse

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as `python scripts/load_test.py`: it starts and describes the app as bench.py does

from scripts.bench import launch_app, machine_environment, source_version, stop_app  # noqa: E402
LOOPBACK = {"127.0.0.1", "localhost", "::1"}

# (kind, Gradio api_name or REST path, argument); endpoints the app lacks are left out at start.
MIX: list[tuple[str, str, list]] = [
    ("gradio", "cantidad_filmaciones_mes", ["marzo"]),
    ("gradio", "cantidad_filmaciones_dia", ["viernes"]),
    ("gradio", "score_titulo", ["Titanic"]),
    ("gradio", "votos_titulo", ["Inception"]),
    ("gradio", "get_actor", ["Tom Hanks"]),
    ("gradio", "get_director", ["Christopher Nolan"]),
    ("gradio", "score_titulo", ["Avatr"]),  # a miss: fuzzy suggestions, an AppError by design
    ("gradio", "recomendacion", ["Toy Story"]),
    ("gradio", "comparar_modelos", ["The Dark Knight", 5]),
    ("gradio", "buscar", ["a lonely astronaut stranded on Mars", 5]),
    ("rest", "/score_titulo/{}", ["Toy Story"]),
    ("rest", "/get_actor/{}", ["Scarlett Johansson"]),
    ("rest", "/recomendacion/{}", ["Inception"]),
]
EXPECTED_ERRORS = {"Avatr"}  # inputs whose clean error is the right answer


def without_timings(value: object) -> object:
    """An answer with its measured latencies removed, so two answers to one question compare equal."""
    if isinstance(value, dict):
        return {key: without_timings(item) for key, item in value.items() if key != "latency_ms"}
    if isinstance(value, list):
        return [without_timings(item) for item in value]
    return value


def gradio_call(http: httpx.Client, name: str, args: list, expected: dict | None = None) -> object:
    """Gradio's two-step API: POST the call, read the event stream; returns the answer (timings removed).

    With ``expected`` (answers measured one at a time before the load), an answer must be the one to this
    question: under load, a result delivered to the wrong caller would count as an error, not a success.
    """
    event = http.post(f"/gradio_api/call/{name}", json={"data": args})
    event.raise_for_status()
    stream = http.get(f"/gradio_api/call/{name}/{event.json()['event_id']}").text
    kind = "complete" if "event: complete" in stream else "error" if "event: error" in stream else None
    if kind is None or (kind == "error" and args[0] not in EXPECTED_ERRORS):
        raise RuntimeError(f"{name}{args}: {stream[-300:]}")
    data = without_timings(json.loads(stream.split(f"event: {kind}\ndata: ", 1)[1].split("\n", 1)[0]))
    key = f"{name} {json.dumps(args)}"
    if expected is not None and expected.get(key) != data:
        raise RuntimeError(f"{name}{args}: answer differs from the same call made alone: {str(data)[:200]}")
    return data


def rest_call(http: httpx.Client, path: str, args: list) -> bool:
    response = http.get(path.format(quote(str(args[0]), safe="")))
    if response.status_code != 200:
        raise RuntimeError(f"{path} {args}: HTTP {response.status_code} {response.text[:200]}")
    return True


def available(url: str) -> list[tuple[str, str, list]]:
    info = httpx.get(f"{url}/gradio_api/info", timeout=10).json()["named_endpoints"]
    paths = httpx.get(f"{url}/openapi.json", timeout=10).json()["paths"]
    rest_prefixes = {path.split("{")[0] for path in paths}
    return [
        (kind, target, args) for kind, target, args in MIX
        if (kind == "gradio" and f"/{target}" in info) or (kind == "rest" and target.split("{")[0] in rest_prefixes)
    ]


def run_client(url: str, mix: list, requests: int, seed: int, results: dict, lock: threading.Lock,
               expected: dict) -> None:
    rng = random.Random(seed)
    with httpx.Client(base_url=url, timeout=60) as http:
        for _ in range(requests):
            kind, target, args = rng.choice(mix)
            label = f"{kind} {target.split('{')[0].strip('/')}"
            start = time.perf_counter()
            try:
                if kind == "gradio":
                    gradio_call(http, target, args, expected)
                else:
                    rest_call(http, target, args)
                ok = True
            except Exception as error:  # noqa: BLE001 - every failure is counted and reported
                ok = False
                with lock:
                    results["errors"].append(f"{label}: {error}"[:300])
            elapsed = (time.perf_counter() - start) * 1000
            with lock:
                results["latency"][label].append(elapsed)
                results["ok"] += ok


def start_app() -> tuple[subprocess.Popen, str]:
    """``python app.py`` (its own ``demo.launch``) on a free loopback port, once it answers HTTP; ``stop_app``
    stops it."""
    process, url, _seconds = launch_app()
    return process, url


def environment(load_before: tuple[float, ...], load_after: tuple[float, ...]) -> dict:
    """Machine, versions (as scripts/bench.py records them), load average before and after, date."""
    return {
        **machine_environment(),
        "source": source_version(),
        "load_average_before": [round(value, 2) for value in load_before],
        "load_average_after": [round(value, 2) for value in load_after],
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="http://127.0.0.1:7860")
    parser.add_argument("--start", action="store_true", help="start app.py on a free port and stop it after")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--requests", type=int, default=50, help="requests per client")
    parser.add_argument("--json", type=Path, help="write the summary here too, as JSON (e.g. data/bench/load.json)")
    args = parser.parse_args(argv)
    command = " ".join(["python scripts/load_test.py", *(sys.argv[1:] if argv is None else argv)])
    if not (1 <= args.clients <= 100 and 1 <= args.requests <= 1000):
        parser.error("bounded: at most 100 clients x 1000 requests")

    load_before = os.getloadavg()
    process = None
    if args.start:
        process, args.url = start_app()
    if urlparse(args.url).hostname not in LOOPBACK:
        parser.error("only loopback addresses (127.0.0.1, localhost) may be load-tested")
    try:
        mix = available(args.url)
        with httpx.Client(base_url=args.url, timeout=120) as http:  # each answer alone first, to check them under load
            expected = {f"{target} {json.dumps(call)}": gradio_call(http, target, call)
                        for kind, target, call in mix if kind == "gradio"}
        results: dict = {"latency": defaultdict(list), "errors": [], "ok": 0}
        lock = threading.Lock()
        start = time.perf_counter()
        with ThreadPoolExecutor(max_workers=args.clients) as pool:
            for client in range(args.clients):
                pool.submit(run_client, args.url, mix, args.requests, client, results, lock, expected)
        wall = time.perf_counter() - start
        load_after = os.getloadavg()
    finally:
        if process:
            stop_app(process)

    every = [ms for samples in results["latency"].values() for ms in samples]
    summary = {
        "command": command, "clients": args.clients, "requests_per_client": args.requests,
        "requests": len(every), "errors": len(results["errors"]), "error_samples": results["errors"][:10],
        "wall_s": round(wall, 2), "throughput_rps": round(len(every) / wall, 1),
        "p50_ms": round(float(np.percentile(every, 50)), 1), "p95_ms": round(float(np.percentile(every, 95)), 1),
        "by_kind": {
            label: {"kind": label.split(" ", 1)[0], "n": len(s), "p50_ms": round(float(np.percentile(s, 50)), 1),
                    "p95_ms": round(float(np.percentile(s, 95)), 1)}
            for label, s in sorted(results["latency"].items())
        },
    }
    print(f"{args.clients} clients x {args.requests} requests against {args.url}: {summary['requests']} requests "
          f"in {wall:.1f} s ({summary['throughput_rps']} req/s), {summary['errors']} errors")
    print("| request | n | p50 ms | p95 ms |\n|---|---:|---:|---:|")
    for label, row in summary["by_kind"].items():
        print(f"| {label} | {row['n']} | {row['p50_ms']} | {row['p95_ms']} |")
    print(f"| **all** | {summary['requests']} | {summary['p50_ms']} | {summary['p95_ms']} |")
    for error in results["errors"][:10]:
        print(f"error: {error}")
    if args.json:
        summary["environment"] = environment(load_before, load_after)
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return 1 if results["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
