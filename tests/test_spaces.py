"""Hugging Face Spaces readiness: front matter, requirements and LFS patterns agree with each other."""
from __future__ import annotations

import fnmatch
import os
import re
import subprocess
import sys

import pytest

from tests.conftest import ROOT
from tests.live_server import free_port

OFFLINE_VARIABLES = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_HUB_DISABLE_TELEMETRY", "GRADIO_ANALYTICS_ENABLED")


def front_matter() -> dict[str, str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = text.split("---\n")[1]
    return {key.strip(): value.strip().strip('"') for key, value in (line.split(":", 1) for line in block.splitlines())}


def pinned(name: str, file: str = "requirements.txt") -> str:
    for line in (ROOT / file).read_text().splitlines():
        match = re.match(rf"^{re.escape(name)}(\[[\w,]+\])?==([\w.+]+)", line.strip())
        if match:
            return match.group(2)
    raise AssertionError(f"{name} is not pinned in {file}")


def test_front_matter_matches_requirements():
    meta = front_matter()
    assert meta["sdk"] == "gradio"
    assert meta["sdk_version"] == pinned("gradio")
    assert meta["app_file"] == "app.py" and (ROOT / meta["app_file"]).is_file()
    assert meta["python_version"] == "3.11"
    assert pinned("torch", "requirements-build.txt") == "2.13.0"  # the CPU build, for the offline build only; see README
    with pytest.raises(AssertionError):  # the Space serves without torch
        pinned("torch")


def test_every_committed_binary_file_is_tracked_by_lfs_patterns():
    patterns = [line.split()[0] for line in (ROOT / ".gitattributes").read_text().splitlines()
                if line and not line.startswith("#") and "filter=lfs" in line]
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    binary = [name for name in files if b"\0" in (ROOT / name).read_bytes()[:8000]]
    assert binary, "expected some binary artifacts (catalog, index)"
    untracked = [name for name in binary if not any(fnmatch.fnmatch(name.rsplit("/", 1)[-1], p) for p in patterns)]
    assert untracked == []


PROBE = """
import socket, sys
attempts = []
real_connect = socket.socket.connect
def connect(self, address):
    attempts.append(address)
    return real_connect(self, address)
socket.socket.connect = connect
real_getaddrinfo = socket.getaddrinfo
def getaddrinfo(host, *args, **kwargs):
    attempts.append((host, "dns"))
    return real_getaddrinfo(host, *args, **kwargs)
socket.getaddrinfo = getaddrinfo

import httpx
import app
url = app.launch("127.0.0.1", int(sys.argv[1]), block=False)  # as `python app.py` serves it
assert httpx.get(url).status_code == 200
assert httpx.get(f"{url}/gradio_api/info").status_code == 200
assert httpx.get(f"{url}/score_titulo/Titanic").json()["anio"] == 1997
assert app.buscar("a lonely astronaut stranded on Mars", 3)["models"]  # loads the sentence model
assert app.recomendacion("Toy Story")["recomendaciones"]
outside = [a for a in attempts if isinstance(a, tuple) and a[0] not in ("127.0.0.1", "localhost", "::1", "testserver")]
print("OUTSIDE", outside)
sys.exit(1 if outside else 0)
"""


def test_nothing_reaches_outside_the_machine_at_run_time():
    """Start the app, render the page, load the sentence model, recommend: no connection or DNS lookup
    leaves loopback (no analytics, no telemetry, no model download)."""
    env = {k: v for k, v in os.environ.items() if k not in OFFLINE_VARIABLES}  # app.py must set them itself
    result = subprocess.run([sys.executable, "-c", PROBE, str(free_port())], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]


@pytest.mark.parametrize("ci", [True, False], ids=["ci", "local"])
def test_browser_tests_without_chromium_fail_in_ci_and_say_why_locally(ci):
    """The browser tests are part of the README's test command: in CI a missing Chromium fails the run; locally
    they are skipped and the reason is printed."""
    env = {k: v for k, v in os.environ.items() if k != "CI"} | {"MOVIES_TEST_CHROMIUM": "/nonexistent/chromium"}
    if ci:
        env["CI"] = "true"
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_browser.py"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    if ci:
        assert result.returncode != 0 and "chromium is missing" in result.stdout, result.stdout[-2000:]
    else:
        assert result.returncode in (0, 5), result.stdout[-2000:]  # 5: this file alone, all of it skipped
        assert "skipped tests/test_browser.py: Debian chromium is not installed" in result.stdout, result.stdout[-2000:]
