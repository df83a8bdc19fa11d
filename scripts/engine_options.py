"""The ``--engine local|ray`` options shared by the offline scripts that can run on Ray (build_index.py,
precompute_neighbours.py). Imports no Ray: ``scripts/ray_engine.py`` is imported only when ``--engine ray`` is asked
for, since Ray is an optional extra (requirements-scale.txt)."""
from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from scripts.ray_engine import RayEngine


def add_engine_arguments(parser: argparse.ArgumentParser, what: str, cpus_per_worker: bool = False) -> None:
    """``--engine``, ``--ray-address``, ``--ray-workers`` (and ``--ray-cpus-per-worker``); ``what``: what Ray runs."""
    parser.add_argument("--engine", choices=["local", "ray"], default="local",
                        help=f"local: this process (default, no Ray); ray: {what} on Ray Data (requirements-scale.txt)")
    parser.add_argument("--ray-address", default=None,
                        help="join this Ray cluster (auto, HOST:6379, ray://HOST:10001) instead of starting a local Ray;"
                             " a cluster with token authentication also needs RAY_AUTH_MODE=token here")
    parser.add_argument("--ray-workers", type=int, default=None, help="Ray workers (default: cluster CPUs // cpus per worker)")
    if cpus_per_worker:
        parser.add_argument("--ray-cpus-per-worker", type=int, default=1, help="CPUs (= torch threads) per Ray worker")


def engine_from_arguments(parser: argparse.ArgumentParser, args: argparse.Namespace) -> str | RayEngine | None:
    """"local", a RayEngine, or None (Ray is not installed: said on stderr; the script should exit with 2).
    Ray options without ``--engine ray`` are a usage error."""
    cpus = getattr(args, "ray_cpus_per_worker", 1)
    if args.engine != "ray":
        if args.ray_address or args.ray_workers or cpus != 1:
            parser.error("--ray-address, --ray-workers and --ray-cpus-per-worker need --engine ray")
        return "local"
    try:
        from scripts.ray_engine import RayEngine
    except ImportError as exc:
        print(f"--engine ray needs Ray: pip install -r requirements-scale.txt ({exc})", file=sys.stderr)
        return None
    return RayEngine(address=args.ray_address, workers=args.ray_workers, cpus_per_worker=cpus,
                     progress=not args.no_progress)
