"""The Ray Data engine of ``--engine ray``: the offline build's per-film steps as map_batches stages.

Two stages: ``scripts/build_index.py`` encodes on it (``encode``), and ``scripts/precompute_neighbours.py``
computes every film's lookups on it (``lookups``: one block of films per call, ``LookupWorker`` loading every
model once, then the local path's ``block_lookups``, so the arrays are the local ones byte for byte).

Imported only by the build script, only when ``--engine ray`` is asked for: Ray is an optional extra
(``pip install -r requirements-scale.txt``) and neither the app nor ``recommender/`` ever imports it. The
per-film encoding steps (the whole document, then each of the seven fields) run as one Ray Data pipeline, so
that every worker loads the model once for the whole build:

    blocks of (group, row, text): group 0 = whole documents, 1..7 = fields; largest blocks first
      ─▶ map_batches(SentenceEncoder, compute=ActorPoolStrategy(size=workers), num_cpus=cpus_per_worker)
      ─▶ vectors scattered back to [group][row] on the driver

``SentenceEncoder`` is a class UDF: every worker (a Ray actor) loads the sentence model once and encodes its
batches with ``recommender.sentence_model.encode`` — the local path's function, batch size and precision. Rows
carry their index through the dataset and are scattered back, so the result is in catalog order whatever order
the workers finish in. A worker process that dies (out of memory, a lost node) is restarted by Ray and its batch
retried (``MAX_RESTARTS``); the engine counts the restarted workers and the build prints and records them.

    engine = RayEngine()                         # a local Ray on this machine, one worker per core
    engine = RayEngine(address="auto")           # the cluster `ray start` runs here; "ray://host:10001" for Ray Client
    # (a cluster with token authentication, the default for local clusters since Ray 2.59, also needs
    #  RAY_AUTH_MODE=token in this process's environment: Ray then reads its token as usual)
    engine.start(); vectors = engine.encode([texts], [16], "fp32").vectors[0]
"""
from __future__ import annotations

import os
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import ray  # an ImportError here means the optional extra is missing: pip install -r requirements-scale.txt
import ray.data

ROOT = Path(__file__).resolve().parents[1]
# Shipped to every worker with the job (runtime_env py_modules): the UDF's class lives in scripts/, the model code
# in recommender/ (which needs queries.errors). The Python packages themselves must be installed on every node.
PY_MODULES = [ROOT / "recommender", ROOT / "queries", ROOT / "scripts"]
OFFLINE_ENV = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_HUB_DISABLE_TELEMETRY": "1"}
MAX_RESTARTS = 3  # a dead worker is restarted (model reloaded) and its batch retried this many times, then the build fails
CALL_BATCHES = 16  # encode batches per UDF call: 256 documents or 1,024 field texts, a few seconds of work each


def _claim(marker: Path) -> bool:
    """True for the first process to create ``marker`` (O_EXCL), False for every other and every later call."""
    try:
        os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        return False
    return True


class RayWorker:
    """What every actor UDF here shares: its id and whether Ray restarted it (reported back with each batch), and
    the tests' ``crash_once`` marker: the first worker to claim it exits mid-batch, as a killed process would."""

    def __init__(self, crash_once: str | None) -> None:
        self.crash_once = Path(crash_once) if crash_once else None
        context = ray.get_runtime_context()
        self.worker = context.get_actor_id() or f"pid {os.getpid()}"
        with warnings.catch_warnings():  # Ray's own property reads its deprecated RuntimeContext.actor_id
            warnings.simplefilter("ignore", DeprecationWarning)
            self.restarted = bool(context.was_current_actor_reconstructed)

    def maybe_crash(self) -> None:
        if self.crash_once is not None and _claim(self.crash_once):
            os._exit(1)  # a hard death (no exception, no cleanup): Ray sees a dead actor, not a Python error


class SentenceEncoder(RayWorker):
    """One per Ray worker: loads the sentence model once, then encodes (group, row, text) batches.

    Each group in a batch (the document, or one field) is encoded with the local path's ``sentence_model.encode``,
    one call per ``batch_sizes[group]`` texts: the rows arrive in the order sentence-transformers gives the whole
    list in the local path (longest first), cut at multiples of the batch size, so every model batch holds the
    same texts as the local build's and gets the same padding. Each group is timed: the ``seconds`` column spreads
    its time over its rows, so the driver can sum worker-seconds per group. ``crash_once`` (tests only) names a marker file: the first worker to
    claim it exits mid-batch, as a killed process would, so that Ray has to restart it and retry the batch.
    """

    def __init__(self, batch_sizes: list[int], precision: str, threads: int, crash_once: str | None = None) -> None:
        for name, value in OFFLINE_ENV.items():
            os.environ.setdefault(name, value)
        from recommender import sentence_model

        self.encode = sentence_model.encode
        self.model = sentence_model.load_sentence_model(threads)
        self.batch_sizes = batch_sizes
        self.precision = precision
        super().__init__(crash_once)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        self.maybe_crash()
        groups, texts = batch["group"], batch["text"]
        vectors: np.ndarray | None = None
        seconds = np.zeros(len(texts), dtype=np.float64)
        for group in np.unique(groups):
            mask = groups == group
            size = self.batch_sizes[group]
            chunk = [str(text) for text in texts[mask]]
            started = time.perf_counter()
            encoded = np.concatenate([self.encode(self.model, chunk[start:start + size], size, self.precision)
                                      for start in range(0, len(chunk), size)])
            seconds[mask] = (time.perf_counter() - started) / len(chunk)
            if vectors is None:
                vectors = np.empty((len(texts), encoded.shape[1]), dtype=np.float32)
            vectors[mask] = encoded
        return {
            "group": groups, "row": batch["row"], "vector": vectors, "seconds": seconds,
            "worker": np.full(len(texts), self.worker), "restarted": np.full(len(texts), self.restarted),
        }


class LookupWorker(RayWorker):
    """One per Ray worker for ``scripts/precompute_neighbours.py --engine ray``: loads every live model once from the
    checked artifacts of ``data_dir`` (each node must see that folder), then computes whole blocks of films'
    lookups with the local path's ``block_lookups``. ``crash_once``: as in ``SentenceEncoder`` (tests only)."""

    def __init__(self, data_dir: str, depth: int, crash_once: str | None = None) -> None:
        os.environ["MOVIES_DATA_DIR"] = data_dir
        from queries.catalog import load_catalog
        from recommender.models import load_models
        from scripts.precompute_neighbours import block_lookups

        self.block_lookups = block_lookups
        self.served = load_models(load_catalog(), strict=True, lookups=False).models
        self.depth = depth
        super().__init__(crash_once)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        self.maybe_crash()
        rows = np.asarray(batch["row"], dtype=np.int64)
        arrays, seconds = self.block_lookups(self.served, rows, self.depth)
        out = {f"{name}/{role}": values for name, roles in arrays.items() for role, values in roles.items()}
        out.update({f"seconds/{name}": np.full(len(rows), value / len(rows)) for name, value in seconds.items()})
        return {**out, "row": rows, "worker": np.full(len(rows), self.worker), "restarted": np.full(len(rows), self.restarted)}


@dataclass
class StageResult:
    """What one map_batches stage produced: vectors per group (rows in input order) and where the time went."""

    vectors: list[np.ndarray]
    worker_seconds: list[float]  # encoding time per group, summed over workers
    wall_seconds: float
    workers: set[str] = field(default_factory=set)
    restarted: set[str] = field(default_factory=set)


@dataclass
class RayEngine:
    """The build's encoding steps on Ray Data. ``address=None`` starts a local Ray here (``num_cpus`` of this
    machine's cores, default all) and shuts it down in ``shutdown``; an address (``"auto"``, ``"host:6379"``,
    ``"ray://host:10001"``) joins that cluster and leaves it running. A Ray the caller already initialised is used
    as it is (its workers must be able to import this repo's code: ``start`` ships it as ``py_modules``)."""

    address: str | None = None
    workers: int | None = None  # default: the cluster's CPUs // cpus_per_worker
    cpus_per_worker: int = 1  # Ray CPUs per worker = torch threads per worker
    num_cpus: int | None = None  # local Ray only
    progress: bool = True
    max_restarts: int = MAX_RESTARTS
    crash_once: Path | None = None  # tests: one worker dies once (see SentenceEncoder)
    name: str = "ray"
    owns_ray: bool = False
    cluster_cpus: int = 0
    restarted: set[str] = field(default_factory=set)
    worker_ids: set[str] = field(default_factory=set)
    worker_seconds: dict[str, float] = field(default_factory=dict)

    def start(self) -> None:
        if not ray.is_initialized():
            ray.init(
                address=self.address or "local", num_cpus=None if self.address else self.num_cpus,
                include_dashboard=False, log_to_driver=True,
                runtime_env={"py_modules": [str(path) for path in PY_MODULES], "env_vars": OFFLINE_ENV},
            )
            self.owns_ray = True
        self.cluster_cpus = int(ray.cluster_resources().get("CPU", 0))
        if self.workers is None:
            self.workers = max(1, self.cluster_cpus // self.cpus_per_worker)
        context = ray.data.DataContext.get_current()
        context.enable_progress_bars = self.progress
        # A worker that dies while loading the model (e.g. out of memory) is replaced, up to the same budget.
        context.max_consecutive_actor_init_deaths = self.max_restarts
        print(f"Ray {ray.__version__}: {'local' if self.owns_ray and not self.address else self.address or 'running'} "
              f"cluster, {self.cluster_cpus} CPUs; {self.workers} workers × {self.cpus_per_worker} CPU")

    def describe(self) -> dict[str, Any]:
        """The manifest's ``engine`` block (same keys as the local path's)."""
        return {
            "name": self.name, "workers": self.workers, "workers_used": len(self.worker_ids),
            "threads_per_worker": self.cpus_per_worker,
            "address": self.address or "local", "cluster_cpus": self.cluster_cpus, "ray_version": ray.__version__,
            "worker_restarts": len(self.restarted), "worker_seconds": dict(self.worker_seconds),
        }

    def shutdown(self) -> None:
        if self.owns_ray:
            ray.shutdown()
            self.owns_ray = False

    def encode(self, groups: list[list[str]], batch_sizes: list[int], precision: str) -> StageResult:
        """Encode every text of every group in one Ray Data pipeline; vectors come back in each group's order.

        A block is CALL_BATCHES × the group's batch size texts of one group, in the order sentence-transformers'
        ``encode`` sorts the whole group (``np.argsort`` of minus the character length: longest first, as little
        padding as the local path); blocks go out largest first (the slowest start first); each block is one UDF
        call (``batch_size=None``: Ray Data does not re-bundle blocks).
        """
        import pyarrow as pa

        started = time.perf_counter()
        blocks = []
        for group, texts in enumerate(groups):
            rows_per_call = batch_sizes[group] * CALL_BATCHES
            lengths = np.fromiter((len(text) for text in texts), dtype=np.int64, count=len(texts))
            order = np.argsort(-lengths)  # the very permutation SentenceTransformer.encode computes for this list
            for start in range(0, len(order), rows_per_call):
                rows = order[start:start + rows_per_call]
                blocks.append((int(lengths[rows].sum()), pa.table({
                    "group": pa.array(np.full(len(rows), group, dtype=np.int32)),
                    "row": pa.array(rows.astype(np.int64)),
                    "text": pa.array([texts[row] for row in rows.tolist()], type=pa.large_string()),
                })))
        blocks.sort(key=lambda block: -block[0])
        dataset = ray.data.from_arrow([table for _, table in blocks])
        with warnings.catch_warnings():
            # Ray 2.60 deprecates **ray_remote_args (removal in 2.64) but names no replacement for an actor's
            # restart budget; without it Ray Data restarts a dying worker forever (max_restarts=-1).
            warnings.filterwarnings("ignore", message=".*ray_remote_args.*deprecated")
            dataset = dataset.map_batches(
                SentenceEncoder,
                fn_constructor_kwargs={
                    "batch_sizes": list(batch_sizes), "precision": precision, "threads": self.cpus_per_worker,
                    "crash_once": str(self.crash_once) if self.crash_once else None,
                },
                batch_size=None, batch_format="numpy", compute=ray.data.ActorPoolStrategy(size=self.workers),
                num_cpus=self.cpus_per_worker, udf_modifying_row_count=False,
                max_restarts=self.max_restarts, max_task_retries=self.max_restarts,
            )
        result = StageResult(vectors=[np.empty((0, 0), dtype=np.float32)] * len(groups), worker_seconds=[0.0] * len(groups),
                             wall_seconds=0.0)
        done = 0
        for batch in dataset.iter_batches(batch_size=None, batch_format="numpy", prefetch_batches=0):
            vectors = np.asarray(batch["vector"], dtype=np.float32)
            for group in np.unique(batch["group"]).tolist():
                mask = batch["group"] == group
                if result.vectors[group].size == 0:
                    result.vectors[group] = np.full((len(groups[group]), vectors.shape[1]), np.nan, dtype=np.float32)
                result.vectors[group][batch["row"][mask]] = vectors[mask]
                result.worker_seconds[group] += float(batch["seconds"][mask].sum())
            result.workers.update(batch["worker"].tolist())
            result.restarted.update(batch["worker"][batch["restarted"]].tolist())
            done += len(vectors)
        total = sum(len(texts) for texts in groups)
        missing = [group for group, vectors in enumerate(result.vectors) if len(groups[group]) and np.isnan(vectors).any()]
        if done != total or missing:
            raise RuntimeError(f"Ray Data returned {done:,} of {total:,} texts (groups missing rows: {missing})")
        result.wall_seconds = time.perf_counter() - started
        self.worker_ids |= result.workers
        self.restarted |= result.restarted
        if result.restarted:
            print(f"  Ray restarted {len(result.restarted)} worker(s) after a failure and retried their batches: "
                  f"{', '.join(sorted(result.restarted))}")
        busy = sum(result.worker_seconds)
        print(f"  Ray: {total:,} texts on {len(result.workers)} workers in {result.wall_seconds:.1f} s wall, "
              f"{busy:.1f} worker-s encoding ({total / max(busy, 1e-9):.1f} texts/s per worker)")
        return result

    def lookups(self, data_dir: Path, arrays: dict[str, dict[str, np.ndarray]], depth: int, films: int | None = None,
                ) -> tuple[dict[str, dict[str, np.ndarray]], dict[str, float]]:
        """``precompute_neighbours``' blocks as one map_batches stage: one input block per BATCH films (so every
        call computes the very block the local path does), scattered into ``arrays`` (full-size, padded) by row.
        ``films``: only the first ones (tests). Returns the arrays and each model's worker-seconds."""
        import pyarrow as pa

        from scripts.precompute_neighbours import BATCH

        films = len(next(iter(arrays.values()))["rows"]) if films is None else films
        started = time.perf_counter()
        # Blocks already named and shaped as the UDF wants them: any extra operator (a rename is a task) would wait
        # for a CPU the actor pool holds, and the stage would never start.
        dataset = ray.data.from_arrow([pa.table({"row": pa.array(np.arange(start, min(start + BATCH, films), dtype=np.int64))})
                                       for start in range(0, films, BATCH)])
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*ray_remote_args.*deprecated")
            dataset = dataset.map_batches(
                LookupWorker,
                fn_constructor_kwargs={"data_dir": str(data_dir), "depth": depth,
                                       "crash_once": str(self.crash_once) if self.crash_once else None},
                batch_size=None, batch_format="numpy", compute=ray.data.ActorPoolStrategy(size=self.workers),
                num_cpus=self.cpus_per_worker, udf_modifying_row_count=False,
                max_restarts=self.max_restarts, max_task_retries=self.max_restarts,
            )
        seconds: dict[str, float] = {name: 0.0 for name in arrays}
        done = np.zeros(films, dtype=bool)
        workers: set[str] = set()
        restarted: set[str] = set()
        for batch in dataset.iter_batches(batch_size=None, batch_format="numpy", prefetch_batches=0):
            rows = batch["row"]
            for column, values in batch.items():
                if column.startswith("seconds/"):
                    seconds[column.split("/", 1)[1]] += float(values.sum())
                elif "/" in column:
                    name, role = column.split("/", 1)
                    arrays[name][role][rows] = values
            done[rows] = True
            workers.update(batch["worker"].tolist())
            restarted.update(batch["worker"][batch["restarted"]].tolist())
        if not done.all():
            raise RuntimeError(f"Ray Data returned {int(done.sum()):,} of {films:,} films' lookups")
        self.worker_ids |= workers
        self.restarted |= restarted
        self.worker_seconds = {name: round(value, 2) for name, value in seconds.items()}
        if restarted:
            print(f"  Ray restarted {len(restarted)} worker(s) after a failure and retried their blocks: "
                  f"{', '.join(sorted(restarted))}")
        print(f"  Ray: {films:,} films' lookups on {len(workers)} workers in {time.perf_counter() - started:.1f} s wall, "
              f"{sum(seconds.values()):.1f} worker-s")
        return arrays, seconds

    def encode_documents_and_fields(
        self, documents: list[str], field_texts: dict[str, list[str]], fields: tuple[str, ...] | list[str],
        batch_size: int, field_batch_size: int, precision: str,
    ) -> tuple[np.ndarray, np.ndarray, dict[str, float]]:
        """The local path's two encoding steps in one pipeline (one model load per worker): the whole-document vectors
        (films, dimension), and ``build_index.encode_fields``' result — (fields, films, dimension) float32 with a
        unit row per non-empty text and a zero row per empty one — with the seconds per field. Those seconds are
        worker-seconds (encoding time summed over the workers, which encode fields side by side), not wall time."""
        films = len(documents)
        present = [np.array([row for row, text in enumerate(field_texts[name]) if text], dtype=np.int64) for name in fields]
        groups = [list(documents)] + [[field_texts[name][row] for row in rows.tolist()] for name, rows in zip(fields, present)]
        result = self.encode(groups, [batch_size] + [field_batch_size] * len(fields), precision)
        vectors = result.vectors[0]
        field_vectors = np.zeros((len(fields), films, vectors.shape[1]), dtype=np.float32)
        seconds = {}
        for position, name in enumerate(fields):
            if len(present[position]):
                field_vectors[position, present[position]] = result.vectors[position + 1]
            seconds[name] = round(result.worker_seconds[position + 1], 2)
            print(f"  {name:<9} {len(present[position]):>6,} texts, {films - len(present[position]):>5,} empty -> zero "
                  f"vectors: {seconds[name]:6.1f} worker-s")
        self.worker_seconds = {"encode": round(result.worker_seconds[0], 2),
                               "encode fields": round(sum(result.worker_seconds[1:]), 2)}
        return vectors, field_vectors, seconds
