"""Shared fixtures. Expected values are read from the raw CSVs with the csv/json modules only,
independently of scripts/etl.py, so a bug in the ETL cannot agree with itself."""
from __future__ import annotations

import csv
import gzip
import json
import os
import sys
import tempfile
from datetime import date
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RAW = ROOT / "data" / "raw" / "tmdb-5000"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
sys.path.insert(0, str(ROOT))

for name, value in {
    "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_HUB_DISABLE_TELEMETRY": "1",
    "GRADIO_ANALYTICS_ENABLED": "False",
}.items():
    os.environ.setdefault(name, value)

# Gradio's file cache for this test session only (read when gradio is imported, after this file), so the security
# tests can tell that nothing was copied into it.
os.environ["GRADIO_TEMP_DIR"] = tempfile.mkdtemp(prefix="gradio-cache-tests-")

csv.field_size_limit(1 << 30)

# Inputs no query may answer with a traceback: (value, why it is bad).
BAD_TEXT = [
    "", "   ", "\t\n", "x" * 10_000, "(", "[", ".*", "a+?", "\\", "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>", "😀🎬", "\x00", "{0}", "%s%s", "'; DROP TABLE movies; --",
    "../../etc/passwd", "‮evil", "12345", "e\u0301\u0301\u0301\u0301", "שלום עולם", "🎬" * 300,
]
NOT_TEXT = [None, 123, 4.5, ["Titanic"], {"titulo": "Titanic"}]


def read_raw(name: str) -> list[dict[str, str]]:
    with gzip.open(RAW / name, "rt", encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="session")
def raw_movies() -> list[dict[str, str]]:
    """tmdb_5000_movies.csv rows that have a release date (the ETL keeps exactly these)."""
    return [row for row in read_raw("tmdb_5000_movies.csv.gz") if row["release_date"].strip()]


@pytest.fixture(scope="session")
def raw_credits() -> dict[int, dict]:
    """movie_id -> {'cast': [names in billing order], 'directors': [names]} straight from the JSON."""
    credits = {}
    for row in read_raw("tmdb_5000_credits.csv.gz"):
        cast = sorted(json.loads(row["cast"]), key=lambda member: member["order"])
        crew = json.loads(row["crew"])
        credits[int(row["movie_id"])] = {
            "cast": [member["name"] for member in cast],
            "directors": [member["name"] for member in crew if member["job"] == "Director"],
        }
    return credits


@pytest.fixture(scope="session")
def raw_release_dates(raw_movies) -> list[date]:
    return [date.fromisoformat(row["release_date"]) for row in raw_movies]


@pytest.fixture(scope="session")
def catalog():
    from queries.catalog import load_catalog

    return load_catalog()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("filterwarnings", "ignore::DeprecationWarning:libcst.*")
    # gradio 6.31's queue calls pandas options that pandas 3.1 deprecates: theirs to fix, not ours
    config.addinivalue_line("filterwarnings", "ignore:.*(no_silent_downcasting|copy keyword is deprecated).*")
    config.addinivalue_line("markers", "bad_input: one hostile or malformed input sent to one endpoint")


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    """Say how many bad-input cases were tried, as the reliability issue asks, and why anything was skipped
    (the browser tests are skipped only locally, without Chromium)."""
    for report in terminalreporter.stats.get("skipped", []):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        terminalreporter.write_line(f"skipped {report.nodeid}: {reason.removeprefix('Skipped: ')}")
    reports = [r for key in ("passed", "failed") for r in terminalreporter.stats.get(key, []) if r.when == "call"]
    bad = [r for r in reports if "bad_input" in r.keywords]
    if bad:
        failed = sum(1 for r in bad if r.failed)
        terminalreporter.write_line(
            f"bad-input cases tried: {len(bad)} ({len(bad) - failed} answered cleanly, {failed} failed)"
        )


@pytest.fixture(scope="session")
def live_url():
    """The real app served over HTTP for the whole session (gradio_client, REST, browser tests), started
    exactly as `python app.py` starts it (app.launch: demo.launch with the REST routes), on a free port."""
    import app
    from tests.live_server import free_port

    url = app.launch("127.0.0.1", free_port(), block=False)
    yield url
    app.demo.close()
