"""Tried as an attacker would, against the real server on loopback (issue 11): no file leaves the server, no upload
is kept, every answer carries the security headers, proxy headers are not trusted off Spaces, and Gradio's own
messages never echo user text or leak internals."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import pytest
from gradio_client import Client

import app
from tests.conftest import ROOT
from tests.live_server import free_port

# A valid call of every named endpoint; a file object is put in place of one argument at a time.
VALID_CALLS = {
    "cantidad_filmaciones_mes": ["marzo"],
    "cantidad_filmaciones_dia": ["lunes"],
    "score_titulo": ["Titanic"],
    "votos_titulo": ["Titanic"],
    "get_actor": ["Tom Hanks"],
    "get_director": ["Christopher Nolan"],
    "recomendacion": ["Toy Story"],
    "comparar_modelos": ["Toy Story", 5],
    "buscar": ["a lonely astronaut", 5],
    "evaluacion_pelicula": ["The Dark Knight (2008)"],
    "explorar": [1980, 2017, "all", 10],
}
SECRET = f"SECRET-{uuid.uuid4().hex}"
SECRET_FILE = Path(tempfile.gettempdir()) / f"movies-secret-{uuid.uuid4().hex}.txt"
TARGETS = {  # a path an attacker would ask for -> text that must never come back
    "/etc/passwd": "root:",
    "app.py": "def build_demo",  # relative: the app's working directory
    str(ROOT / "app.py"): "def build_demo",
    str(ROOT / "data" / "movies.manifest.json"): "sha256",
    "../../../../etc/passwd": "root:",
    "/proc/self/environ": "PATH=",  # where a Space keeps its secrets
    str(SECRET_FILE): SECRET,  # the system's temp dir
    "~/.bashrc": "",
    "http://127.0.0.1:7860/gradio_api/info": "",
    "https://example.com/robots.txt": "",
    "data:text/plain;base64,aGk=": "",
}
CLIENT_TARGETS = ["/etc/passwd", str(ROOT / "app.py"), str(SECRET_FILE)]


def file_object(path: str, as_url: bool = False) -> dict:
    payload = {"path": path, "meta": {"_type": "gradio.FileData"}}
    return {**payload, "path": "x", "url": path} if as_url else payload


def with_file(endpoint: str, position: int, target: str, as_url: bool = False) -> list:
    data = list(VALID_CALLS[endpoint])
    data[position] = file_object(target, as_url)
    return data


CASES = [(endpoint, position, target) for endpoint, args in VALID_CALLS.items() for position in range(len(args))
         for target in TARGETS]


def cache_entries() -> set[str]:
    """Everything under Gradio's file cache (the test session's own, see conftest)."""
    root = Path(os.environ["GRADIO_TEMP_DIR"])
    return {str(path) for path in root.rglob("*")} if root.exists() else set()


@pytest.fixture(scope="module", autouse=True)
def secret_in_temp_dir():
    SECRET_FILE.write_text(SECRET, encoding="utf-8")
    yield
    SECRET_FILE.unlink(missing_ok=True)


@pytest.fixture(scope="module")
def http(live_url) -> httpx.Client:
    with httpx.Client(base_url=live_url, timeout=30) as client:
        yield client


@pytest.fixture(scope="module")
def fn_index(http) -> dict[str, int]:
    """api_name -> the dependency id the queue (/gradio_api/queue/join) calls it by."""
    return {dep["api_name"]: dep["id"] for dep in http.get("/config").json()["dependencies"] if dep.get("api_name")}


def assert_clean_refusal(response: httpx.Response) -> None:
    assert response.status_code in (415, 422), response.text
    assert response.json()["detail"] == app.NO_FILES


def assert_nothing_leaked(text: str) -> None:
    for marker in TARGETS.values():
        if marker:
            assert marker not in text


def test_the_valid_calls_cover_every_named_endpoint(http):
    """A new endpoint must join VALID_CALLS, so every endpoint and parameter gets the file payloads below."""
    named = http.get("/gradio_api/info").json()["named_endpoints"]
    assert {name.lstrip("/"): len(spec["parameters"]) for name, spec in named.items()} == {
        name: len(args) for name, args in VALID_CALLS.items()}


def test_the_app_is_launched_the_supported_way(live_url):
    """Gradio checks file paths only in an app started by demo.launch (never when mounted and run by uvicorn)."""
    assert app.demo.has_launched and app.demo.is_running
    assert not any(block.get("type") in {"file", "image", "audio", "video", "uploadbutton", "gallery", "model3d"}
                   for block in app.demo.get_config_file()["components"]), "the app has no file inputs"


@pytest.mark.bad_input
@pytest.mark.parametrize(("endpoint", "position", "target"), CASES, ids=str)
def test_file_objects_are_refused_by_the_raw_call_api(http, endpoint, position, target):
    before = cache_entries()
    for as_url in (False, True):
        response = http.post(f"/gradio_api/call/{endpoint}", json={"data": with_file(endpoint, position, target, as_url)})
        assert_clean_refusal(response)
    assert cache_entries() == before


@pytest.mark.bad_input
@pytest.mark.parametrize(("endpoint", "position", "target"), CASES, ids=str)
def test_file_objects_are_refused_by_the_queue(http, fn_index, endpoint, position, target):
    before = cache_entries()
    body = {"data": with_file(endpoint, position, target), "fn_index": fn_index[endpoint], "trigger_id": None,
            "session_hash": uuid.uuid4().hex, "event_data": None}
    assert_clean_refusal(http.post("/gradio_api/queue/join", json=body))
    assert cache_entries() == before


@pytest.mark.bad_input
@pytest.mark.parametrize(("endpoint", "position"),
                         [(endpoint, position) for endpoint, args in VALID_CALLS.items() for position in range(len(args))],
                         ids=str)
def test_file_objects_are_refused_through_gradio_client(live_url, endpoint, position):
    client = Client(live_url, verbose=False)
    before = cache_entries()
    for target in CLIENT_TARGETS:
        with pytest.raises(Exception) as error:  # AppError, or the client's refused upload
            client.predict(*with_file(endpoint, position, target), api_name=f"/{endpoint}")
        assert_nothing_leaked(str(error.value))
        assert "Traceback" not in str(error.value)
    assert cache_entries() == before


@pytest.mark.bad_input
@pytest.mark.parametrize("target", [t for t in TARGETS if not t.startswith(("http", "data:"))])
def test_gradios_own_check_refuses_local_paths_too(http, monkeypatch, target):
    """The root fix, without our refusal in front: Gradio (launched) refuses any path a user did not upload."""
    monkeypatch.setattr(app, "_carries_file", lambda _payload: False)
    before = cache_entries()
    event = http.post("/gradio_api/call/score_titulo", json={"data": [file_object(target)]}).json()["event_id"]
    stream = http.get(f"/gradio_api/call/score_titulo/{event}").text
    assert stream.startswith("event: error") and "Traceback" not in stream
    assert_nothing_leaked(stream)
    assert cache_entries() == before


@pytest.mark.bad_input
@pytest.mark.parametrize("target", list(TARGETS) + ["passwd", "/tmp", os.environ["GRADIO_TEMP_DIR"]])
def test_the_file_route_serves_none_of_the_servers_files(http, target):
    response = http.get(f"/gradio_api/file={target}")
    assert response.status_code in (403, 404), (target, response.status_code)
    assert_nothing_leaked(response.text)


@pytest.mark.bad_input
@pytest.mark.parametrize("size", [0, 10, 10_000])
def test_uploads_are_refused(http, size):
    before = cache_entries()
    response = http.post("/gradio_api/upload", files={"files": ("page.html", b"<script>1</script>"[:size] + b"x" * size)})
    assert_clean_refusal(response)
    assert cache_entries() == before


@pytest.mark.bad_input
def test_a_deeply_nested_body_is_a_clean_4xx(http):
    """What broke RawCallSessions (a RecursionError escaped it as a 500)."""
    body = '{"data": ' + "[" * 100_000 + "]" * 100_000 + "}"
    response = http.post("/gradio_api/call/buscar", content=body, headers={"content-type": "application/json"})
    assert 400 <= response.status_code < 500


@pytest.mark.parametrize("path", ["/", "/config", "/gradio_api/info", "/score_titulo/Titanic", "/score_titulo/Avatr",
                                  "/docs", "/openapi.json", "/gradio_api/file=/etc/passwd"])
def test_every_response_carries_the_security_headers(http, path):
    headers = http.get(path).headers
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "strict-origin-when-cross-origin"
    policy = headers["content-security-policy"]
    assert policy.startswith("frame-ancestors 'self' ") and "https://huggingface.co" in policy  # Spaces' iframe
    assert "*" not in policy.replace("https://*.huggingface.co", "").replace("https://*.hf.space", "")


def test_forwarded_host_is_not_trusted_off_spaces(http, live_url):
    config = http.get("/config", headers={"x-forwarded-host": "evil.example", "x-gradio-server": "http://evil.example"})
    assert config.json()["root"] == live_url
    assert "evil.example" not in config.text


def test_forwarded_host_is_trusted_on_spaces():
    """On Spaces Hugging Face's proxy sets X-Forwarded-Host, and Gradio needs it for the page's URLs."""
    seen = []

    async def echo(scope, receive, send):
        seen.append(dict(scope["headers"]))
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def receive():
        return {"type": "http.request", "body": b""}

    async def send(message):
        if message["type"] == "http.response.start":
            seen.append(dict(message["headers"]))

    import asyncio

    scope = {"type": "http", "method": "GET", "path": "/", "headers": [(b"x-forwarded-host", b"user-space.hf.space")]}
    for trusted in (True, False):
        seen.clear()
        asyncio.run(app.SecurityHeaders(echo, trust_proxy_headers=trusted)(scope, receive, send))
        request_headers, response_headers = seen
        assert (b"x-forwarded-host" in request_headers) is trusted
        assert response_headers[b"x-content-type-options"] == b"nosniff"


# ------------------------------------------------------------------ Gradio's own messages stay out


def raw_call(http: httpx.Client, endpoint: str, data: list) -> str:
    posted = http.post(f"/gradio_api/call/{endpoint}", json={"data": data})
    assert posted.status_code == 200, posted.text
    return http.get(f"/gradio_api/call/{endpoint}/{posted.json()['event_id']}").text


def error_of(stream: str) -> str | None:
    assert stream.startswith("event: error"), stream[:300]
    return json.loads(stream.split("data: ", 1)[1].splitlines()[0])["error"]


XSS = "<img src=x onerror=alert(1)>"


@pytest.mark.bad_input
@pytest.mark.parametrize(("endpoint", "data", "expected"), [
    ("evaluacion_pelicula", [XSS], "películas de prueba"),
    ("evaluacion_pelicula", [{"a": 1}], "películas de prueba"),
    ("explorar", [1980, 2017, XSS, 10], "&lt;img"),
    ("explorar", ["abc", 2017, "all", 10], "año"),
    ("explorar", [1980, 2017, "all", "muchos"], "votos"),
    ("comparar_modelos", ["Toy Story", "3"], "k debe ser un número entero entre 1 y 20"),
    ("comparar_modelos", ["Toy Story", None], "k debe ser un número entero entre 1 y 20"),
    ("comparar_modelos", ["Toy Story", 21], "k debe estar entre 1 y 20"),
    ("buscar", ["space", 0], "k debe estar entre 1 y 20"),
    ("comparar_modelos", [{"a": 1}, 3], "texto"),
    ("score_titulo", [["Titanic"]], "texto"),
    ("cantidad_filmaciones_mes", [7], "texto"),
])
def test_wrong_values_get_our_escaped_spanish_message(http, endpoint, data, expected):
    message = error_of(raw_call(http, endpoint, data))
    assert expected in message
    for leak in ("<img", "Value:", "not in the list of choices", "Original error", "gradio.components", "Traceback"):
        assert leak not in message


@pytest.mark.bad_input
@pytest.mark.parametrize(("endpoint", "data"), [("comparar_modelos", ["Toy Story"]), ("explorar", [1980]),
                                                ("score_titulo", [])])
def test_missing_arguments_leak_no_internals(http, endpoint, data):
    """Too few arguments are refused by Gradio before our code runs: an error without Gradio's internal text."""
    stream = raw_call(http, endpoint, data)
    assert stream.startswith("event: error")
    for leak in ("gradio.components", "object at 0x", "Original error", "Traceback", "Wanted inputs"):
        assert leak not in stream


# ------------------------------------------------------------------ REST edges


@pytest.mark.bad_input
@pytest.mark.parametrize("title", ["Toy\nStory", "Toy Story\n", "Avatr\r\n", "\tTitanic", "Titanic\x1b[31m",
                                   "Face/Off\n", "\n"])
def test_control_characters_in_a_title_reach_our_own_message(http, title):
    response = http.get("/score_titulo/" + "".join(f"%{ord(c):02X}" if ord(c) < 32 else c for c in title))
    assert response.status_code in (200, 404, 422), response.text
    body = response.json()
    assert body != {"detail": "Not Found"}
    if response.status_code != 200:
        assert "suggestions" in body and body["detail"]


def test_k_has_one_range_everywhere(http):
    """UI slider, API, MCP schema, error message and docstrings: service.MIN_K..MAX_K."""
    low, high = app.service.MIN_K, app.service.MAX_K
    sliders = [block["props"] for block in app.demo.get_config_file()["components"]
               if block["type"] == "slider" and block["props"].get("label") == "k (por modelo)"]
    assert sliders and all((props["minimum"], props["maximum"]) == (low, high) for props in sliders)
    for endpoint in (app.comparar_modelos, app.buscar):
        assert f"({low}–{high})" in endpoint.__doc__
    schema = {tool["name"]: tool for tool in http.get("/gradio_api/mcp/schema").json()}
    for name in ("comparar_modelos", "buscar"):
        k = schema[name]["inputSchema"]["properties"]["k"]
        assert (k["type"], k["minimum"], k["maximum"]) == ("integer", low, high)
    assert "entre 1 y 20" in error_of(raw_call(http, "comparar_modelos", ["Toy Story", high + 1]))


# ------------------------------------------------------------------ starting the server


def test_running_on_is_printed_once_the_server_listens():
    port = free_port()
    env = dict(os.environ, GRADIO_SERVER_PORT=str(port))
    process = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        for line in process.stdout:
            if "Running on" in line:
                break
            assert time.monotonic() < deadline
        assert f"http://127.0.0.1:{port}" in line
        assert httpx.get(f"http://127.0.0.1:{port}/score_titulo/Titanic", timeout=10).status_code == 200
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_a_busy_port_gives_one_clear_line():
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        env = dict(os.environ, GRADIO_SERVER_PORT=str(port))
        result = subprocess.run([sys.executable, "app.py"], cwd=ROOT, env=env, capture_output=True, text=True,
                                timeout=180)
    assert result.returncode != 0
    assert "Running on" not in result.stdout
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and f"127.0.0.1:{port}" in lines[0] and "GRADIO_SERVER_PORT" in lines[0], result.stderr
