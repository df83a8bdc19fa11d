"""The offline pipeline, run for real on bigger catalogs, stage by stage and with both build engines.

For each catalog size (the real 4,802 films, then synthetic catalogs in the ETL's format made by
``scripts.bench_measurements.synthetic_catalog``: the real films plus renamed copies with new people and
shuffled overview words), in a work folder of its own:

1. ``catalog``: the synthetic catalog, written by the ETL's writer (its manifest too);
2. ``index:local`` and ``index:ray``: ``scripts/build_index.py --engine local|ray``, each into its own folder;
   the local one is then served (the two must be the same files; the bench records the largest vector gap);
3. ``multilingual``: ``scripts/build_search_index.py`` (USE encoding of every film);
4. ``rankers``: the real catalog's boosters and field weights, stamped for this catalog
   (``bench.stamp_real_rankers``): a synthetic catalog has no ratings to train on. Not timed as training;
5. ``lookups:local`` and ``lookups:ray``: ``scripts/precompute_neighbours.py --engine local|ray`` (every model's
   top 50, the rankers' why); the local one is served, and the bench records whether the bytes are the same;
6. ``app``: ``python app.py`` on the result: cold start, and peak memory after every named endpoint;
7. ``latency``: a fresh process serving it: item-to-item (by lookup) and free text, p50/p95 in process.

Every stage is a subprocess; its wall time, and the peak of the summed PSS of its whole process tree
(Ray's driver, raylet and workers included; PSS so Ray's shared object store is not counted once per
process), sampled every 0.25 s. Stages are recorded as they finish in ``<work>/<films>/stages.json``, which says
what the work folder holds: a run stopped half-way resumes where it stopped (a 45k run takes about an hour here).
With ``--json``, each finished stage is also merged into that file at once (the committed record): a work folder
does not outlive the machine, and a large catalog's stages take longer than a working session, so its
measurements gather there over several sessions, each rebuilding the artifacts its stages read.

    python scripts/bench_pipeline.py --films 4802,45000 --json data/bench/pipeline.json
    python scripts/bench_pipeline.py --films 200000 --stages catalog,index:ray --json data/bench/pipeline.json
"""
from __future__ import annotations

import argparse
import io
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

DEFAULT_WORK = Path(os.environ.get("TMPDIR", "/tmp")) / "movies-pipeline-bench"
SAMPLE_S = 0.25
LATENCY_ROWS = 1000  # item-to-item calls per model in the latency worker
ONE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OMP_WAIT_POLICY": "PASSIVE"}


# ------------------------------------------------------------------ measuring a process tree


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            tree.setdefault(parent, []).append(int(entry.name))
    return tree


def tree_pids(pid: int) -> list[int]:
    """``pid`` and all its descendants alive now."""
    tree, todo, found = _children(), [pid], []
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(tree.get(current, []))
    return found


def pss_mb(pids: list[int]) -> float:
    """Summed proportional set size (MB) of these processes (shared pages split among sharers)."""
    total = 0.0
    for current in pids:
        try:
            for line in Path(f"/proc/{current}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1]) / 1024
                    break
        except OSError:  # exited meanwhile
            pass
    return total


def tree_pss_mb(pid: int) -> float:
    """Summed proportional set size (MB) of ``pid`` and all its descendants."""
    return pss_mb(tree_pids(pid))


def busy_cpu_seconds() -> float:
    """CPU seconds the whole machine has spent busy since boot (/proc/stat: user, nice, system, irq, softirq)."""
    fields = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:8]]
    user, nice, system, _idle, _iowait, irq, softirq = fields
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


def cpu_seconds(who: int) -> float:
    """CPU seconds (user + system) of this process (``resource.RUSAGE_SELF``) or of every descendant it, or they,
    waited for (``resource.RUSAGE_CHILDREN``)."""
    used = resource.getrusage(who)
    return used.ru_utime + used.ru_stime


def cpu_used(pids: list[int]) -> dict[int, float]:
    """CPU seconds (user + system) each of these live processes has used so far. Sampled, because a Ray driver
    does not wait for the services and workers it stops, so their time never reaches its rusage."""
    used = {}
    for current in pids:
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            used[current] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime
        except (OSError, IndexError, ValueError):  # exited meanwhile
            pass
    return used


def run_measured(command: list[str], env: dict[str, str], log: Path) -> dict[str, float]:
    """Run ``command`` (cwd: the repository); wall seconds, the process tree's peak PSS, the machine's mean load
    meanwhile (the stage's own threads included, and Ray's service processes too), and ``others_cpus``: the cores
    that processes outside the stage (and outside this sampler) kept busy on average, which is what says whether
    the stage shared the machine. Raises on failure."""
    busy_before = busy_cpu_seconds()
    sampler_before, children_before = cpu_seconds(resource.RUSAGE_SELF), cpu_seconds(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    with log.open("w") as output:
        process = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **env}, stdout=output, stderr=subprocess.STDOUT)
        peak, loads, sampled = 0.0, [], {}
        while process.poll() is None:
            pids = tree_pids(process.pid)  # one walk of /proc per sample, for the memory and the CPU
            peak = max(peak, pss_mb(pids))
            loads.append(os.getloadavg()[0])
            for pid, used in cpu_used(pids).items():
                sampled[pid] = max(sampled.get(pid, 0.0), used)
            time.sleep(SAMPLE_S)
    seconds = time.perf_counter() - started
    # The stage's CPU: what rusage saw of the processes that were waited for, or the samples of the whole tree
    # (which miss at most a sample's worth per process), whichever saw more. The sampler's own time is not others'.
    stage = max(cpu_seconds(resource.RUSAGE_CHILDREN) - children_before, sum(sampled.values()))
    sampler = cpu_seconds(resource.RUSAGE_SELF) - sampler_before
    others = max(0.0, (busy_cpu_seconds() - busy_before) - stage - sampler) / max(seconds, 1e-9)
    if process.returncode:
        raise RuntimeError(f"{' '.join(command)} failed ({process.returncode}): {log.read_text()[-3000:]}")
    return {"seconds": round(seconds, 1), "peak_mb": round(peak, 1), "load_mean": round(float(np.mean(loads or [0.0])), 2),
            "cpus_used": round(stage / max(seconds, 1e-9), 2), "others_cpus": round(others, 2)}


def folder_mb(path: Path) -> float:
    """Size on disk of a file, or of every file under a folder, in MB."""
    files = [path] if path.is_file() else [file for file in path.rglob("*") if file.is_file()]
    return round(sum(file.stat().st_size for file in files) / 2**20, 1)


# ------------------------------------------------------------------ the stages


def write_catalog_stage(base: Path, films: int) -> dict:
    from queries import load_catalog
    from queries.catalog import CATALOG_FILE
    from scripts.bench_measurements import synthetic_catalog
    from scripts.etl import write_catalog

    import pandas as pd

    started = time.perf_counter()
    real = load_catalog()
    write_catalog(synthetic_catalog(pd.read_parquet(real.path), films), base / CATALOG_FILE, {
        "script": "scripts/bench_pipeline.py",
        "source": f"synthetic: {films:,} films from {real.path.name} (sha256 {real.checksum})",
    })
    return {"seconds": round(time.perf_counter() - started, 1), "mb": folder_mb(base / CATALOG_FILE)}


def index_stage(base: Path, engine: str, log: Path) -> dict:
    """``scripts/build_index.py --engine ENGINE`` into ``base``/index-ENGINE, built aside and swapped in when done:
    a build stopped half-way (a re-measurement, say) leaves the previous folder whole."""
    out, building = base / f"index-{engine}", base / f"index-{engine}.partial"
    shutil.rmtree(building, ignore_errors=True)
    command = [sys.executable, "scripts/build_index.py", "--data-dir", str(base), "--out", str(building),
               "--engine", engine, "--no-progress"]
    measured = run_measured(command, {}, log)
    shutil.rmtree(out, ignore_errors=True)
    building.rename(out)
    manifest = json.loads((out / "manifest.json").read_text())
    record = {**measured, "stages": manifest["build_seconds"], "engine": manifest.get("engine", {}), "mb": folder_mb(out)}
    served = base / "index" / "manifest.json"
    if engine == "local" and served.is_file():  # a re-measured build (--redo): is it still what the later stages read?
        record["same_files_as_served"] = manifest["files"] == json.loads(served.read_text())["files"]
    return record


def compare_indexes(base: Path) -> dict:
    """What the two engines' artifacts share: identical files, and the largest gap between their vectors."""
    local, ray = base / "index-local", base / "index-ray"
    if not (local.is_dir() and ray.is_dir()):
        return {}
    from recommender.embedding import read_index

    first, second = (json.loads((folder / "manifest.json").read_text())["files"] for folder in (local, ray))
    same = sorted(name for name in first if first[name].get("sha256") == second.get(name, {}).get("sha256"))
    fields = [np.load(folder / "embedding_fields.npy", mmap_mode="r") for folder in (local, ray)]
    field_gap = max(float(np.abs(fields[0][:, start:start + 4096].astype(np.float32)
                                 - fields[1][:, start:start + 4096].astype(np.float32)).max())
                    for start in range(0, fields[0].shape[1], 4096))
    documents = [read_index(folder / "embedding.faiss") for folder in (local, ray)]
    document_gap = float(np.abs(documents[0].reconstruct_n(0, documents[0].ntotal)
                                - documents[1].reconstruct_n(0, documents[1].ntotal)).max())
    return {"files": len(first), "identical_files": same, "max_field_vector_gap": field_gap,
            "max_document_vector_gap": document_gap}


def serve_local_index(base: Path) -> None:
    """The local engine's index becomes ``base``/index (what the later stages and the app read)."""
    served = base / "index"
    multilingual = served / "multilingual"
    if multilingual.is_dir():  # keep a multilingual index built earlier
        shutil.move(str(multilingual), base / "multilingual-keep")
    shutil.rmtree(served, ignore_errors=True)
    shutil.copytree(base / "index-local", served)
    if (base / "multilingual-keep").is_dir():
        shutil.move(str(base / "multilingual-keep"), multilingual)


def multilingual_stage(base: Path, log: Path) -> dict:
    measured = run_measured([sys.executable, "scripts/build_search_index.py", "--data-dir", str(base), "--no-progress"],
                            {}, log)
    folder = base / "index" / "multilingual"
    manifest = json.loads((folder / "manifest.json").read_text())
    return {**measured, "stages": manifest.get("build_seconds", {}), "mb": folder_mb(folder)}


def rankers_stage(base: Path, films: int) -> dict:
    from queries import load_catalog
    from queries.catalog import CATALOG_FILE
    from scripts.bench import stamp_real_rankers

    started = time.perf_counter()
    real = load_catalog()
    shutil.rmtree(base / "rankers", ignore_errors=True)
    stamp_real_rankers(base, real, load_catalog(base / CATALOG_FILE), np.arange(films) % len(real))
    return {"seconds": round(time.perf_counter() - started, 1), "mb": folder_mb(base / "rankers"),
            "note": "the real catalog's boosters, stamped (no ratings to train on)"}


def lookups_stage(base: Path, engine: str, log: Path) -> dict:
    """``scripts/precompute_neighbours.py --engine ENGINE``: the local one writes the served ``base``/lookups."""
    out = base / ("lookups" if engine == "local" else f"lookups-{engine}")
    command = [sys.executable, "scripts/precompute_neighbours.py", "--engine", engine, "--out", str(out), "--no-progress"]
    measured = run_measured(command, {"MOVIES_DATA_DIR": str(base)}, log)
    manifest = json.loads((out / "manifest.json").read_text())
    return {**measured, "stages": manifest["seconds"], "engine": manifest.get("engine", {}), "mb": folder_mb(out)}


def compare_lookups(base: Path) -> dict:
    """Whether the engines' lookups are the same bytes (file by file, from their manifests' sha256)."""
    folders = [base / "lookups", *sorted(base.glob("lookups-*"))]
    if len(folders) < 2 or not all((folder / "manifest.json").is_file() for folder in folders):
        return {}
    records = [json.loads((folder / "manifest.json").read_text())["file_records"] for folder in folders]
    different = sorted(name for name in records[0] if any(other.get(name) != records[0][name] for other in records[1:]))
    return {"files": len(records[0]), "different_files": different}


def app_stage(base: Path) -> dict:
    from scripts.bench_measurements import process_memory_mb
    from scripts.bench import exercise_endpoints, launch_app, stop_app

    process, url, ready_s = launch_app({"MOVIES_DATA_DIR": str(base)})
    try:
        done, problems = exercise_endpoints(url)
        memory = process_memory_mb(process.pid)
    finally:
        stop_app(process)
    return {"cold_start_s": round(ready_s, 2), "peak_mb": round(memory["peak"], 1), "endpoints": len(done),
            "problems": problems}


def latency_stage(base: Path, log: Path) -> dict:
    out = base / "latency.json"
    run_measured([sys.executable, str(Path(__file__).resolve()), "--latency-worker", str(out)],
                 {"MOVIES_DATA_DIR": str(base)}, log)
    return json.loads(out.read_text())


def latency_worker(out: Path) -> None:
    """In a fresh process on MOVIES_DATA_DIR: what the app serves, timed in process (p50/p95 ms)."""
    from recommender import lookup
    from scripts.bench_measurements import FREE_TEXT_QUERIES, latency
    from recommender.service import serving_problems, serving_recommenders

    models = serving_recommenders()
    problems = serving_problems()
    from queries.catalog import load_catalog

    rows = np.random.default_rng(0).integers(0, len(load_catalog()), LATENCY_ROWS).tolist()
    result: dict = {"problems": problems, "item_to_item": {}, "free_text": {}}
    for name in lookup.MODELS:
        if name in models:
            p50, p95 = latency(lambda row, model=models[name]: model.similar(row, 10), rows, warm_up=20)
            result["item_to_item"][name] = {"p50_ms": p50, "p95_ms": p95,
                                            "lookup": isinstance(models[name], lookup.LookupRecommender)}
    texts = [f"{text} {number}" for number in range(5) for text in FREE_TEXT_QUERIES]  # no query cache helps
    for name in ("multilingual", "embedding", "tfidf"):
        if name in models:
            p50, p95 = latency(lambda text, model=models[name]: model.search(text, 10), texts, warm_up=3)
            result["free_text"][name] = {"p50_ms": p50, "p95_ms": p95}
    out.write_text(json.dumps(result, indent=2))


# ------------------------------------------------------------------ one catalog size, resumable


# Stages that can be measured again on the kept artifacts: the serving ones, and the index builds (after a change to
# the build's memory or speed; each writes its own folder, and the served copy the later stages read is kept, the
# local rebuild recording whether its files are still the same as that copy's).
REDOABLE = ("index:local", "index:ray", "app", "latency")
# What each stage reads from earlier ones (the ray builds are only compared: nothing later reads them).
NEEDS = {
    "index:local": ("catalog",), "index:ray": ("catalog",), "multilingual": ("catalog",), "rankers": ("catalog",),
    # precompute_neighbours.py loads every served model (its Ray workers strictly), the multilingual one included
    "lookups:local": ("index:local", "multilingual", "rankers"), "lookups:ray": ("index:local", "multilingual", "rankers"),
    "app": ("multilingual", "lookups:local"), "latency": ("multilingual", "lookups:local"),
}
STAGES = ("catalog", *NEEDS)  # every stage, in pipeline order


def publish(path: Path, record: dict, environment: dict) -> None:
    """Merge one size's record into ``path`` (data/bench/pipeline.json): its stages one by one (a stage measured in
    an earlier session and not measured again is kept), and the comparisons and sizes only when this run made them."""
    published = json.loads(path.read_text()) if path.is_file() else {"sizes": {}}
    if "machine" in published.get("environment", {}):  # what the file said the stages without a machine ran on
        for stage in (stage for size in published["sizes"].values() for stage in size["stages"].values()):
            stage.setdefault("machine", published["environment"]["machine"])
    size = published["sizes"].setdefault(str(record["films"]), {"films": record["films"], "stages": {}})
    size["stages"].update(record["stages"])
    size.update({key: value for key, value in record.items() if key not in ("films", "stages") and value})
    published["environment"] = environment
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(published, indent=2, ensure_ascii=False) + "\n")


def environment(published: Path | None = None) -> dict:
    """The machine, commit, thread settings and installed requirement sets that a published record names."""
    from scripts.bench import machine_environment, source_version
    from scripts.requirement_sizes import report

    sets = report(file=io.StringIO())["sets"]
    return {**machine_environment(), "source": source_version(published), "threads": ONE_THREAD,
            "requirement_sets": [{key: entry[key] for key in ("name", "file", "bytes")} for entry in sets]}


def run_size(work: Path, films: int, engines: Sequence[str], redo: Sequence[str] = (),
             only: Sequence[str] = (), published: Path | None = None) -> dict:
    """Every stage not recorded in ``work``/FILMS/stages.json yet (or named in ``redo``), in pipeline order;
    with ``only``, just those stages this time (a 200k run's stages take hours: they can be spread over days);
    with ``published``, each finished stage is merged into that file as soon as it is recorded."""
    base = work / str(films)
    base.mkdir(parents=True, exist_ok=True)
    record_path = base / "stages.json"
    record: dict = json.loads(record_path.read_text()) if record_path.is_file() else {"films": films, "stages": {}}
    stages = record["stages"]
    for name in redo:
        stages.pop(name, None)
    record["cpus"] = os.cpu_count()
    described: dict = {}

    def save() -> None:
        record_path.write_text(json.dumps(record, indent=2))
        if published:
            described.setdefault("environment", environment(published))
            publish(published, record, described["environment"])

    def stage(name: str, step) -> None:
        if name in stages:
            print(f"[{films:,}] {name}: done earlier ({stages[name].get('seconds', '')} s)", flush=True)
            return
        if only and name not in only:
            print(f"[{films:,}] {name}: not run this time (--stages)", flush=True)
            return
        missing = [need for need in NEEDS.get(name, ()) if need not in stages]
        if missing:
            raise SystemExit(f"[{films:,}] {name} reads what {', '.join(missing)} write{'s' * (len(missing) == 1)}: "
                             f"run {'it' if len(missing) == 1 else 'them'} first")
        print(f"[{films:,}] {name} …", flush=True)
        from scripts.bench import machine_environment, source_version

        # a long run's stages may span commits and machines; the file it publishes to is not a change to the code
        source, load = source_version(published), os.getloadavg()[0]
        stages[name] = {**step(), "load_before": round(load, 2), "source": source,
                        "machine": machine_environment()["machine"],
                        "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        save()
        print(f"[{films:,}] {name}: {json.dumps(stages[name])[:300]}", flush=True)

    logs = base / "logs"
    logs.mkdir(exist_ok=True)
    stage("catalog", lambda: write_catalog_stage(base, films))
    for engine in engines:
        stage(f"index:{engine}", lambda engine=engine: index_stage(base, engine, logs / f"index-{engine}.log"))
    if "index:local" in stages:  # the later stages that read an index need this one (NEEDS)
        if not (base / "index" / "manifest.json").is_file() or "multilingual" not in stages:
            serve_local_index(base)
        record["engines_compared"] = compare_indexes(base)
    stage("multilingual", lambda: multilingual_stage(base, logs / "multilingual.log"))
    stage("rankers", lambda: rankers_stage(base, films))
    for engine in engines:
        stage(f"lookups:{engine}", lambda engine=engine: lookups_stage(base, engine, logs / f"lookups-{engine}.log"))
    record["lookups_compared"] = compare_lookups(base)
    stage("app", lambda: app_stage(base))
    stage("latency", lambda: latency_stage(base, logs / "latency.log"))
    served = ("movies.parquet", "index", "rankers", "lookups")
    if all((base / name).exists() for name in served):
        record["artifacts_mb"] = {name: folder_mb(base / name) for name in served}
    save()
    return record


# ------------------------------------------------------------------ README.md's scaling block (--readme)

README = ROOT / "README.md"
PIPELINE_JSON = ROOT / "data" / "bench" / "pipeline.json"


def measure_command(films: Sequence[int] = (4802, 45_000)) -> str:
    """The command that measures ``films`` into pipeline.json (the default: what one working session can run)."""
    return f"python scripts/bench_pipeline.py --films {','.join(str(size) for size in films)} --json data/bench/pipeline.json"


COMMAND = measure_command()
README_SECTION = "## Scaling to a 1M-film catalog"
README_BEGIN = ("<!-- pipeline:begin (generated by `python scripts/bench_pipeline.py --readme` from data/bench/pipeline.json: "
                "edit that, not this) -->")
README_END = "<!-- pipeline:end -->"
ITEM_TARGET_MS = 0.05  # issue 14: item-to-item p50 in process, at 45k and 200k films
APP_MEMORY_TARGET_MB = 1024.0  # at 45k films
FREE_TEXT_TARGET_MS = 25.0  # at 45k films, the default free-text model
TARGET_FILMS = 45_000
PROJECT_TO = 1_000_000


SHARED_CPUS = 0.5  # other processes busy on half a core or more, on average: the stage shared the machine


def shared_by(stage: dict, cpus: int) -> str:
    """How much other work ran beside a stage ('' when none that matters): the cores other processes kept busy
    when the stage recorded them, else (older records) a mean load above the machine's cores."""
    if "others_cpus" in stage:
        return f"other processes busy on {stage['others_cpus']:.1f} cores" if stage["others_cpus"] >= SHARED_CPUS else ""
    if stage.get("load_mean", 0) > cpus + SHARED_CPUS:
        return f"mean load {stage['load_mean']:.1f} on {cpus} cores"
    return ""


class ReadmeError(RuntimeError):
    """pipeline.json or README.md cannot give the block: the message says what to run or fix."""


NOT_YET = "not measured yet"


def missing_stages(record: dict) -> list[str]:
    """The stages a size has no measurement of yet, in pipeline order."""
    return [name for name in STAGES if name not in record["stages"]]


def _s(value: float) -> str:
    return f"{value:,.0f} s" if value >= 10 else f"{value:.1f} s"


def _ms(value: float) -> str:
    return f"{value:.3f}" if value < 1 else f"{value:.2f}" if value < 10 else f"{value:.1f}"


def _mark(met: bool) -> str:
    return "✓" if met else "✗"


def _encoding_rate(index: dict) -> float:
    """Films per worker-second of encoding (whole document and the seven fields): per core, as each Ray worker
    has one CPU (the local engine's figure is per process, with its two threads)."""
    return index["films"] / sum(index["engine"]["worker_seconds"].values())


def measured_where(sizes: Sequence[dict], env: dict) -> str:
    """The machine(s) the stages ran on (a stage that did not record one: the machine the file names), and which
    catalog sizes each measured when there are several."""
    machines: dict[str, list[int]] = {}
    for record in sizes:
        for stage in record["stages"].values():
            measured = machines.setdefault(stage.get("machine", env["machine"]), [])
            if record["films"] not in measured:
                measured.append(record["films"])
    if len(machines) == 1:
        return next(iter(machines))
    return "; ".join(f"{machine} ({' and '.join(f'{films:,}' for films in measured)} films)"
                     for machine, measured in machines.items())


def measured_when(sizes: Sequence[dict], env: dict) -> str:
    """When and on which commits the stages ran: a large catalog's stages take hours, so a run spans sessions."""
    stages = sorted((stage for record in sizes for stage in record["stages"].values()),
                    key=lambda stage: stage.get("finished_at", ""))
    days = [stage["finished_at"][:10] for stage in stages if "finished_at" in stage]
    sources = list(dict.fromkeys(stage["source"] for stage in stages if "source" in stage))
    text = f", stage by stage from {days[0]} to {days[-1]}" if days and days[0] != days[-1] else (
        f", on {days[0]}" if days else "")
    if sources:
        unrecorded = sum("source" not in stage for stage in stages)
        text += (f" (the stages' commits: {', '.join(sources)}"
                 + (f"; {unrecorded} earlier stage{'s' * (unrecorded > 1)} did not record theirs" if unrecorded else "")
                 + ")")
    return text + f"; written at commit {env['source']}"


def readme_block(pipeline: dict) -> str:
    """The generated part of README.md's scaling section, from data/bench/pipeline.json."""
    import textwrap

    sizes = [pipeline["sizes"][key] for key in sorted(pipeline["sizes"], key=int)]
    if not sizes:
        raise ReadmeError(f"pipeline.json has no catalog size: run `{COMMAND}`")
    env = pipeline["environment"]
    command = measure_command([record["films"] for record in sizes])
    lines = [textwrap.fill(
        f"Measured by `{command}` on {measured_where(sizes, env)} (one BLAS thread per process, "
        f"{', '.join(f'{name}={value}' for name, value in env['threads'].items())}){measured_when(sizes, env)}; each "
        "stage a fresh process, its peak the summed PSS of its process tree (Ray's driver, raylet and workers "
        "included), its time the wall time. The catalogs: the real one, then synthetic ones in the ETL's format.",
        width=118, break_long_words=False, break_on_hyphens=False), "",
        "| films | stage | local | Ray (2 workers) | Ray speed-up | peak memory local / Ray |", "|---:|---|---:|---:|---:|---:|"]
    for record in sizes:
        films, stages = record["films"], record["stages"]
        for label, stage in (("index: TF-IDF + MiniLM, whole document and 7 fields", "index"),
                             ("lookups: every model's top 50 + the rankers' why", "lookups")):
            local, ray = stages.get(f"{stage}:local"), stages.get(f"{stage}:ray")
            speed_up = ("—" if not (local and ray) else "— (other machines)" if local.get("machine") != ray.get("machine")
                        else f"{local['seconds'] / ray['seconds']:.2f}×")  # only a ratio of one machine's times
            peaks = " / ".join(f"{run['peak_mb']:,.0f}" if run else "—" for run in ((local, ray) if ray else (local,)))
            lines.append(f"| {films:,} | {label} | {_s(local['seconds']) if local else NOT_YET} | "
                         f"{_s(ray['seconds']) if ray else '—'} | {speed_up} | "
                         + (f"{peaks} MB |" if local or ray else "— |"))
        multilingual = stages.get("multilingual")
        lines.append(f"| {films:,} | multilingual index: USE, every film | "
                     + (f"{_s(multilingual['seconds'])} | — | — | {multilingual['peak_mb']:,.0f} MB |" if multilingual
                        else f"{NOT_YET} | — | — | — |"))
    lines += ["", "| films | artifacts (catalog + index + rankers + lookups) | app cold start | app peak memory | "
              "item-to-item p50 / p95, any model (lookup) | free text p50 / p95: multilingual (default) / MiniLM / TF-IDF |",
              "|---:|---:|---:|---:|---:|---:|"]
    verdicts = []
    for record in sizes:
        films, app, latency = record["films"], record["stages"].get("app"), record["stages"].get("latency")
        if not (app and latency and "artifacts_mb" in record):
            lines.append(f"| {films:,} | {NOT_YET} | — | — | — | — |")
            if films >= TARGET_FILMS:
                verdicts.append(f"item-to-item p50 ≤ {ITEM_TARGET_MS} ms at {films:,} films: {NOT_YET}")
            continue
        items = latency["item_to_item"].values()
        if not all(item["lookup"] for item in items):
            raise ReadmeError(f"pipeline.json: at {films:,} films a model was served live, not by lookup: {latency}")
        worst_p50, worst_p95 = max(item["p50_ms"] for item in items), max(item["p95_ms"] for item in items)
        text = latency["free_text"]
        lines.append(
            f"| {films:,} | {sum(record['artifacts_mb'].values()):,.0f} MB | {app['cold_start_s']:.1f} s | "
            f"{app['peak_mb']:,.0f} MB | ≤ {_ms(worst_p50)} / ≤ {_ms(worst_p95)} ms | "
            + " / ".join(_ms(text[name]["p50_ms"]) for name in ("multilingual", "embedding", "tfidf")) + " ms; "
            + " / ".join(_ms(text[name]["p95_ms"]) for name in ("multilingual", "embedding", "tfidf")) + " ms |")
        if films >= TARGET_FILMS:
            verdicts.append(f"item-to-item p50 ≤ {ITEM_TARGET_MS} ms at {films:,} films {_mark(worst_p50 <= ITEM_TARGET_MS)}")
        if films == TARGET_FILMS:
            verdicts.append(f"app peak memory ≤ {APP_MEMORY_TARGET_MB:,.0f} MB at {films:,} films "
                            f"{_mark(app['peak_mb'] <= APP_MEMORY_TARGET_MB)}")
            verdicts.append(f"free text (multilingual) p50 ≤ {FREE_TEXT_TARGET_MS:.0f} ms at {films:,} films "
                            f"{_mark(text['multilingual']['p50_ms'] <= FREE_TEXT_TARGET_MS)}")
    encoded = [record for record in sizes if "index:ray" in record["stages"]]
    rate = _encoding_rate({**encoded[-1]["stages"]["index:ray"], "films": encoded[-1]["films"]}) if encoded else None
    prose = []
    if verdicts:
        prose.append("Targets: " + "; ".join(verdicts) + ".")
    unmeasured = [f"at {record['films']:,} films, {', '.join(missing_stages(record))}" for record in sizes
                  if missing_stages(record)]
    if unmeasured:
        prose.append("Stages not measured yet: " + "; ".join(unmeasured) + ".")
    compared = [record for record in sizes if record.get("engines_compared") and record.get("lookups_compared")]
    largest = compared[-1] if compared else sizes[-1]  # the largest size that compared both engines' artifacts
    same = largest.get("engines_compared", {})
    lookups_same = largest.get("lookups_compared", {})
    if same and lookups_same:
        gap = max(same["max_field_vector_gap"], same["max_document_vector_gap"])
        prose.append(
            f"At {largest['films']:,} films the two engines wrote {len(same['identical_files'])} of {same['files']} index "
            f"files byte for byte ({', '.join(same['identical_files'])}); the MiniLM vectors differ by at most "
            f"{gap:.1e} (bfloat16 sums depend on the thread count), and the lookups computed from the served "
            f"index were {'the same' if not lookups_same['different_files'] else 'different'} "
            f"({lookups_same['files']} files"
            + (f"; differing: {', '.join(lookups_same['different_files'])}" if lookups_same["different_files"] else ", byte for byte")
            + ").")
    if rate:
        prose.append(
            f"Per core, Ray's workers encoded {rate:.1f} films per second at {encoded[-1]['films']:,} films (measured: films "
            f"over worker-seconds of encoding). What that implies is a projection, not a measurement: {PROJECT_TO:,} "
            f"films are about {PROJECT_TO / rate / 3600:.0f} core-hours of encoding, so N such cores would take that "
            f"divided by N (64 cores: about {PROJECT_TO / rate / 64 / 60:.0f} minutes), if the work spreads evenly "
            "and nothing else becomes the bottleneck.")
    shared = [f"{record['films']:,} films, {name} ({shared_by(stage, record.get('cpus', 2))})" for record in sizes
              for name, stage in record["stages"].items() if shared_by(stage, record.get("cpus", 2))]
    if shared:
        prose.append("These stages shared the machine with other work, so their times are upper bounds: "
                     + "; ".join(shared) + ".")
    sets = env.get("requirement_sets", [])
    if sets:
        prose.append("Installed size of each requirements set (`python scripts/requirement_sizes.py`, cumulative): "
                     + "; ".join(f"{entry['name']} `{entry['file']}` {entry['bytes'] / 1e6:,.0f} MB" for entry in sets) + ".")
    return "\n".join(lines) + "\n\n" + "\n\n".join(
        textwrap.fill(text, width=118, break_long_words=False, break_on_hyphens=False) for text in prose)


def readme_section(readme: str) -> str:
    lines = readme.split("\n")
    if README_SECTION not in lines:
        raise ReadmeError(f"README.md has no {README_SECTION!r} line")
    start = lines.index(README_SECTION)
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    return "\n".join(lines[start:end])


def replace_readme_block(readme: str, block: str) -> str:
    section = readme_section(readme)
    lines = section.split("\n")
    if lines.count(README_BEGIN) != 1 or lines.count(README_END) != 1 or lines.index(README_END) < lines.index(README_BEGIN):
        raise ReadmeError(f"README.md's {README_SECTION!r} section needs one {README_BEGIN!r} line and, after it, one "
                          f"{README_END!r} line")
    new = "\n".join(lines[: lines.index(README_BEGIN) + 1] + block.split("\n") + lines[lines.index(README_END):])
    return readme.replace(section, new, 1)


def write_readme(readme: Path = README, pipeline_path: Path = PIPELINE_JSON) -> bool:
    if not pipeline_path.is_file():
        raise ReadmeError(f"{pipeline_path} is missing: run `{COMMAND}` (on a quiet machine)")
    text = readme.read_text(encoding="utf-8")
    updated = replace_readme_block(text, readme_block(json.loads(pipeline_path.read_text(encoding="utf-8"))))
    if updated != text:
        readme.write_text(updated, encoding="utf-8")
    return updated != text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--films", default="4802,45000", help="comma-separated catalog sizes (4802: the real catalog)")
    parser.add_argument("--engines", default="local,ray", help="build engines to run and compare (local is required)")
    parser.add_argument("--work", type=Path, default=DEFAULT_WORK, help=f"work folder, kept for resuming ({DEFAULT_WORK})")
    parser.add_argument("--fresh", action="store_true", help="delete each size's work folder first")
    parser.add_argument("--redo", default="", help=f"measure these stages again on the kept artifacts, after a "
                        f"serving or index-build change ({','.join(REDOABLE)})")
    parser.add_argument("--stages", default="", help="run only these stages this time (e.g. lookups:local,app); "
                        "the ones they read must be done")
    parser.add_argument("--json", type=Path, help="merge each stage's record into this file as soon as it finishes "
                        "(e.g. data/bench/pipeline.json, committed: work folders do not outlive the machine)")
    parser.add_argument("--readme", action="store_true",
                        help="measure nothing: rewrite README.md's scaling block from data/bench/pipeline.json")
    parser.add_argument("--latency-worker", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.latency_worker:
        latency_worker(args.latency_worker)
        return 0
    if args.readme:
        try:
            changed = write_readme()
        except ReadmeError as error:
            print(f"bench_pipeline.py --readme: {error}", file=sys.stderr)
            return 1
        print(f"README.md scaling block {'rewritten' if changed else 'already up to date'} from data/bench/pipeline.json")
        return 0
    os.environ.update(ONE_THREAD)  # the stages' BLAS: one thread each (see README, Benchmark)
    try:
        sizes = [int(value) for value in args.films.split(",")]
    except ValueError:
        parser.error(f"--films takes comma-separated whole numbers, not {args.films!r}")
    from queries import load_catalog

    smallest = len(load_catalog())
    if min(sizes) < smallest:  # the stamped co-liked lists point at the real films' rows
        parser.error(f"--films: every size must be at least the real catalog's {smallest:,} films")
    engines = [value for value in args.engines.split(",") if value]
    if "local" not in engines or set(engines) - {"local", "ray"}:
        parser.error("--engines: local (required: its artifacts are served) and optionally ray")
    redo = [value for value in args.redo.split(",") if value]
    if set(redo) - set(REDOABLE):
        parser.error(f"--redo: only {', '.join(REDOABLE)} (the other stages' artifacts feed the later ones: use --fresh)")
    only = [value for value in args.stages.split(",") if value]
    if set(only) - set(STAGES):
        parser.error(f"--stages: unknown {sorted(set(only) - set(STAGES))}; the stages are {', '.join(sorted(STAGES))}")
    for films in sizes:
        if args.fresh:
            shutil.rmtree(args.work / str(films), ignore_errors=True)
        run_size(args.work, films, engines, redo=redo, only=only, published=args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
