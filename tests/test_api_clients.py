"""The three ways the app is used besides the browser, against the real server on loopback:
gradio_client, Gradio's raw two-step HTTP API, and the original project's REST routes."""
from __future__ import annotations

import json
from urllib.parse import quote

import httpx
import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError

import app
from tests.conftest import BAD_TEXT

QUERY_ENDPOINTS = {
    "cantidad_filmaciones_mes": "mes", "cantidad_filmaciones_dia": "dia", "score_titulo": "titulo",
    "votos_titulo": "titulo", "get_actor": "nombre_actor", "get_director": "nombre_director",
}


@pytest.fixture(scope="module")
def client(live_url) -> Client:
    return Client(live_url, verbose=False)


MODEL_ENDPOINTS = {
    "recomendacion": ["titulo"], "comparar_modelos": ["titulo", "k"], "buscar": ["texto", "k"],
    "evaluacion_pelicula": ["pelicula"], "explorar": ["desde", "hasta", "genero", "votos_minimos"],
}


def test_view_api_lists_every_endpoint_with_its_parameters(client):
    api = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    expected = {name: [parameter] for name, parameter in QUERY_ENDPOINTS.items()} | MODEL_ENDPOINTS
    for name, parameters in expected.items():
        assert [p["parameter_name"] for p in api[f"/{name}"]["parameters"]] == parameters
        assert api[f"/{name}"]["description"], f"/{name} has no description"
    assert set(api) == {f"/{name}" for name in expected}  # no UI-only helper leaks into the API


def test_every_query_endpoint_answers_with_real_values(client):
    assert client.predict("Marzo", api_name="/cantidad_filmaciones_mes")["cantidad"] == 372
    assert client.predict("sabado", api_name="/cantidad_filmaciones_dia")["cantidad"] == 237
    assert client.predict("Titanic", api_name="/score_titulo")["anio"] == 1997
    votes = client.predict("Batman (1966)", api_name="/votos_titulo")
    assert (votes["votos"], votes["cumple_condicion"]) == (203, False)
    actor = client.predict("Tom Hanks", api_name="/get_actor")
    assert (actor["cantidad_peliculas"], actor["peliculas_con_retorno"]) == (32, 30)
    director = client.predict("Christopher Nolan", api_name="/get_director")
    assert {film["titulo"] for film in director["peliculas"]} >= {"Inception", "Memento", "The Dark Knight"}


def test_recommender_endpoints_answer_with_real_films(client):
    original = client.predict("Toy Story", api_name="/recomendacion")
    assert original["modelo"] == "fans" and "Star Wars" in original["recomendaciones"]
    compared = client.predict("The Dark Knight", 10, api_name="/comparar_modelos")
    by_model = {m["model"]: [item["title"] for item in m["results"]] for m in compared["models"]}
    assert set(by_model) == {"parecidas", "fans", "seed_tfidf", "tfidf", "embedding"}
    assert "Batman Begins" in by_model["parecidas"] and "The Dark Knight Rises" in by_model["tfidf"]
    why = compared["models"][0]["results"][0]["drivers"]  # Parecidas says why from its own contributions
    assert why and all(driver["value"] > 0 and driver["label"] for driver in why)
    found = client.predict("a lonely astronaut stranded on Mars who grows potatoes", 5, api_name="/buscar")
    assert "The Martian" in [item["title"] for m in found["models"] if m["model"] == "embedding" for item in m["results"]]
    spanish = client.predict("unos juguetes que cobran vida cuando nadie los ve", 5, api_name="/buscar")
    assert spanish["models"][0]["model"] == "multilingual"
    assert "Toy Story" in [item["title"] for item in spanish["models"][0]["results"]]
    film = client.predict("The Dark Knight (2008)", api_name="/evaluacion_pelicula")
    assert film["resumen"]["hits"]["fans"] == 7 and len(film["tabla"]) == 10


@pytest.mark.bad_input
@pytest.mark.parametrize("endpoint", ["/recomendacion", "/buscar"])
@pytest.mark.parametrize("bad", ["", "   ", "x" * 10_000, "<img src=x onerror=alert(1)>", "{0}%s", "\x00"], ids=repr)
def test_recommender_endpoints_handle_bad_text_cleanly(client, endpoint, bad):
    """A title that is markup is unknown (clean error); free text that is markup is just text to search."""
    try:
        result = client.predict(bad, api_name=endpoint)
    except AppError as error:
        assert "Traceback" not in str(error) and "<img" not in str(error)
        return
    assert endpoint == "/buscar" and bad.strip() and len(bad) <= 500, f"{endpoint} answered {bad!r}"
    assert result["text"] == bad.strip() and len(result["models"]) == 4


@pytest.mark.bad_input
@pytest.mark.parametrize("k", [0, 51, -3, 2.5], ids=repr)
def test_comparison_refuses_bad_k(client, k):
    with pytest.raises(AppError, match="k debe|greater than maximum|less than minimum"):
        client.predict("Toy Story", k, api_name="/comparar_modelos")


@pytest.mark.bad_input
@pytest.mark.parametrize("bad", ["", "x" * 10_000, "<script>alert(1)</script>", "Avatr", "😀"], ids=repr)
def test_bad_input_is_a_clean_app_error(client, bad):
    with pytest.raises(AppError) as error:
        client.predict(bad, api_name="/score_titulo")
    assert "Traceback" not in str(error.value) and "<script>" not in str(error.value)


def test_raw_two_step_http_api(live_url):
    """What the README's curl example does: POST to /gradio_api/call/<name>, then read the event stream."""
    with httpx.Client(base_url=live_url, timeout=30) as http:
        event_id = http.post("/gradio_api/call/votos_titulo", json={"data": ["Inception"]}).json()["event_id"]
        stream = http.get(f"/gradio_api/call/votos_titulo/{event_id}").text
    assert "event: complete" in stream
    data = json.loads(stream.split("data: ", 1)[1].splitlines()[0])
    assert data[0]["votos"] == 13752


@pytest.mark.bad_input
@pytest.mark.parametrize("endpoint", ["score_titulo", "get_actor", "cantidad_filmaciones_mes", "recomendacion", "buscar"])
@pytest.mark.parametrize("payload", [[None], [123], [["Titanic"]], [{"a": 1}], [], ["Titanic", "extra", "args"]],
                         ids=repr)
def test_wrong_types_through_the_raw_api_are_clean_errors(live_url, endpoint, payload):
    """What a careless HTTP client might send: the answer is an error event or a 4xx, never a 500 or a hang."""
    with httpx.Client(base_url=live_url, timeout=30) as http:
        posted = http.post(f"/gradio_api/call/{endpoint}", json={"data": payload})
        assert posted.status_code < 500, posted.text
        if posted.status_code >= 400:
            return
        stream = http.get(f"/gradio_api/call/{endpoint}/{posted.json()['event_id']}").text
    assert "event: error" in stream or "event: complete" in stream
    assert "Traceback" not in stream


# ------------------------------------------------------------------ REST routes


@pytest.fixture(scope="module")
def rest(live_url) -> httpx.Client:
    """The REST routes of the running app (the same server as the Gradio UI and API)."""
    with httpx.Client(base_url=live_url, timeout=30) as client:
        yield client


def test_rest_routes_answer_like_the_original(rest):
    assert rest.get("/cantidad_filmaciones_mes/enero").json()["cantidad"] == 382
    assert rest.get("/cantidad_filmaciones_dia/miércoles").json()["cantidad"] == 795
    assert rest.get("/score_titulo/Face/Off").json()["titulo"] == "Face/Off"  # a '/' in the title
    assert rest.get("/votos_titulo/Toy%20Story").json()["votos"] == 5269
    assert rest.get("/get_actor/Tom%20Hanks").json()["cantidad_peliculas"] == 32
    assert rest.get("/get_director/Christopher%20Nolan").json()["cantidad_peliculas"] == 8
    assert rest.get("/recomendacion/Toy%20Story", params={"modelo": "parecidas"}).json()["recomendaciones"][:2] == [
        "Toy Story 2", "Toy Story 3"]


def test_rest_unknown_is_404_with_suggestions_and_invalid_is_422(rest):
    response = rest.get("/score_titulo/Avatr")
    assert response.status_code == 404
    assert response.json()["suggestions"] == ["Avatar (2009)"]
    assert rest.get("/get_actor/Nadie%20Conocido").status_code == 404
    assert rest.get("/cantidad_filmaciones_mes/marso").status_code == 422
    assert rest.get("/score_titulo/%20%20").status_code == 422
    assert rest.get(f"/get_actor/{'x' * 10_000}").status_code == 422


@pytest.mark.bad_input
@pytest.mark.parametrize("route", list(QUERY_ENDPOINTS), ids=str)
@pytest.mark.parametrize("bad", [b for b in BAD_TEXT if b.strip() and "\x00" not in b], ids=repr)
def test_rest_bad_input_never_500(rest, route, bad):
    response = rest.get(f"/{route}/{quote(bad, safe='')}")
    assert response.status_code in (200, 404, 422), response.text
    assert response.headers["content-type"].startswith("application/json")


def test_openapi_documents_every_route(rest):
    paths = rest.get("/openapi.json").json()["paths"]
    assert {f"/{name}/{{{parameter}}}" for name, parameter in QUERY_ENDPOINTS.items()} <= set(paths)
    assert "/recomendacion/{titulo}" in paths
    assert rest.get("/docs").status_code == 200


def test_rest_over_real_http(live_url):
    response = httpx.get(f"{live_url}/get_director/Kathryn%20Bigelow", timeout=10)
    assert response.status_code == 200 and response.json()["nombre"] == "Kathryn Bigelow"
    assert httpx.get(f"{live_url}/votos_titulo/Nonexistent%20Film%20Xyz", timeout=10).status_code == 404


def test_mcp_server_exposes_the_queries_as_tools(live_url):
    schema = httpx.get(f"{live_url}/gradio_api/mcp/schema", timeout=10).json()
    names = {tool["name"] for tool in schema}
    assert set(QUERY_ENDPOINTS) | {"recomendacion", "comparar_modelos", "buscar"} <= names, names


# ------------------------------------------------------------------ MCP: JSON results, bounded inputs, small schemas


def call_mcp_tools(live_url: str, calls: list[tuple[str, dict]], progress: bool = False) -> list:
    """Call tools through the real MCP transport (streamable HTTP), as an agent's MCP client would."""
    import asyncio

    from mcp import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    async def run() -> list:
        async with streamable_http_client(f"{live_url}/gradio_api/mcp/") as (read, write, _):
            async with ClientSession(read, write) as session:
                await session.initialize()
                results = []
                for name, arguments in calls:
                    callback = (lambda *_args: asyncio.sleep(0)) if progress else None
                    results.append(await session.call_tool(name, arguments, progress_callback=callback))
                return results

    return asyncio.run(run())


@pytest.mark.parametrize("progress", [False, True], ids=["plain", "with-progress-token"])
def test_mcp_tool_results_are_json(live_url, progress):
    month, director, explored = call_mcp_tools(live_url, [
        ("cantidad_filmaciones_mes", {"mes": "marzo"}),
        ("get_director", {"nombre_director": "Christopher Nolan"}),
        ("explorar", {"desde": 1980, "hasta": 2017, "genero": "Animation", "votos_minimos": 10}),
    ], progress=progress)
    assert json.loads(month.content[0].text) == app.cantidad_filmaciones_mes("marzo")
    assert json.loads(director.content[0].text)["cantidad_peliculas"] == 8
    summary, per_year, *_ = [item.text for item in explored.content]  # one item per output, each JSON or text
    assert "229 películas" in summary
    assert sum(films for _year, films in json.loads(per_year)["data"]) == 229


def test_mcp_input_schema_carries_bounds_and_stays_small(live_url):
    tools = {tool["name"]: tool["inputSchema"] for tool in httpx.get(f"{live_url}/gradio_api/mcp/schema", timeout=10).json()}
    first, last = app.explore.year_bounds()
    for name in ("desde", "hasta"):
        year = tools["explorar"]["properties"][name]
        assert (year["type"], year["minimum"], year["maximum"]) == ("integer", first, last)
    film = tools["evaluacion_pelicula"]["properties"]["pelicula"]
    assert film["type"] == "string" and "enum" not in film
    assert len(json.dumps(tools["evaluacion_pelicula"])) < 1000  # was a 10 KB enum of every test film


def test_mcp_refuses_out_of_range_and_answers_bad_films_in_spanish(live_url):
    out_of_range, unknown = call_mcp_tools(live_url, [
        ("comparar_modelos", {"titulo": "Toy Story", "k": 50}),
        ("evaluacion_pelicula", {"pelicula": "<img src=x onerror=alert(1)>"}),
    ])
    assert out_of_range.isError and "maximum" in out_of_range.content[0].text
    assert unknown.isError and "películas de prueba" in unknown.content[0].text and "<img" not in unknown.content[0].text
