"""Missing, truncated or wrong artifacts: the app refuses to start and names the command that fixes it."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from queries.catalog import load_catalog
from queries.errors import ArtifactError
from tests.conftest import ROOT

CATALOG = ROOT / "data" / "movies.parquet"


def start_app(data_dir: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, MOVIES_DATA_DIR=str(data_dir), GRADIO_SERVER_PORT="1")  # never gets to listen
    return subprocess.run([sys.executable, "app.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("damage", ["missing", "truncated", "empty", "not parquet"])
def test_app_refuses_to_start_on_a_broken_catalog(tmp_path, damage):
    target = tmp_path / "movies.parquet"
    if damage == "truncated":
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
    with pytest.raises(ArtifactError, match=r"lacks column\(s\) cast.*python scripts/etl.py"):
        load_catalog(path)


def test_empty_catalog_is_refused(tmp_path):
    path = tmp_path / "movies.parquet"
    pd.read_parquet(CATALOG).head(0).to_parquet(path)
    with pytest.raises(ArtifactError, match="has no films"):
        load_catalog(path)


def test_a_missing_index_disables_only_the_recommenders(tmp_path):
    """The queries keep working; recommendation answers 503 / a clean error naming the rebuild command."""
    import shutil
    import time
    import urllib.request

    import httpx
    from gradio_client import Client
    from gradio_client.exceptions import AppError

    from tests.live_server import free_port

    shutil.copy(CATALOG, tmp_path / "movies.parquet")  # a catalog, but no data/index and no data/eval
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
        broken = httpx.get(f"{url}/recomendacion/Titanic", timeout=10)
        assert broken.status_code == 503 and "python scripts/build_index.py" in broken.json()["detail"]
        with pytest.raises(AppError, match="build_index"):
            Client(url, verbose=False).predict("Titanic", api_name="/recomendacion")
        page = httpx.get(url, timeout=10).text
        assert "Recomendadores desactivados" in page
    finally:
        process.terminate()
        process.wait(timeout=20)
