"""Clients of the original bootcamp API (issue 13 §4): `mensaje` is the assignment's sentence word for word, the
original route names and query-string calls answer, and `/recomendacion` takes `?modelo=`. People get `detalle`:
the same answer with Spanish number formats and plurals."""
from __future__ import annotations

from urllib.parse import quote

import httpx
import pytest
from gradio_client import Client

import queries
from queries.people import MIN_PLAUSIBLE_USD
from queries.spanish import count, decimal, dollars, whole

# (route, value, the assignment's sentence with this catalog's numbers)
SENTENCES = [
    ("cantidad_filmaciones_mes", "marzo", "372 cantidad de películas fueron estrenadas en el mes de marzo"),
    ("cantidad_filmaciones_dia", "viernes", "2053 cantidad de películas fueron estrenadas en los días viernes"),
    ("score_titulo", "Titanic", "La película Titanic fue estrenada en el año 1997 con un score/popularidad de 100.03"),
    ("votos_titulo", "Inception", "La película Inception fue estrenada en el año 2010. La misma cuenta con un total de "
                                  "13752 valoraciones, con un promedio de 8.1"),
    ("get_actor", "Tom Hanks", "El actor Tom Hanks ha participado de 32 cantidad de filmaciones, el mismo ha conseguido "
                               "un retorno de 140.8055 con un promedio de 4.6935 por filmación"),
]


@pytest.fixture(scope="module")
def rest(live_url) -> httpx.Client:
    with httpx.Client(base_url=live_url, timeout=30) as client:
        yield client


@pytest.mark.parametrize(("route", "value", "sentence"), SENTENCES, ids=[s[0] for s in SENTENCES])
def test_mensaje_is_the_assignments_sentence(rest, live_url, route, value, sentence):
    parameter = {"cantidad_filmaciones_mes": "mes", "cantidad_filmaciones_dia": "dia", "get_actor": "nombre_actor"}.get(
        route, "titulo")
    by_path = rest.get(f"/{route}/{quote(value)}").json()
    by_query = rest.get(f"/{route}", params={parameter: value}).json()
    by_client = Client(live_url, verbose=False).predict(value, api_name=f"/{route}")
    assert by_path["mensaje"] == by_query["mensaje"] == by_client["mensaje"] == sentence


def test_votos_under_2000_still_say_so():
    result = queries.votos_titulo("Batman (1966)")
    assert result.mensaje == ("La película Batman fue estrenada en el año 1966. La misma cuenta con un total de 203 "
                              "valoraciones, por lo que no cumple la condición de tener al menos 2000 valoraciones y no "
                              "se devuelve su promedio")


def test_get_director_gives_the_total_then_each_film(raw_movies, raw_credits):
    result = queries.get_director("Christopher Nolan")
    assert result.mensaje.startswith(f"El director Christopher Nolan ha conseguido un retorno total de {result.retorno_total}. ")
    inception = next(film for film in result.peliculas if film.titulo == "Inception")
    assert (f"Inception, estrenada el 2010-07-14, retorno {inception.retorno}, costo 160000000, "
            f"ganancia {825532764 - 160000000}") in result.mensaje
    assert all(film.titulo in result.mensaje for film in result.peliculas)


def test_total_return_is_summed_unrounded(raw_movies, raw_credits):
    """Spielberg: 302.6994 from the raw returns, not 302.6997 from returns rounded to 4 decimals first."""
    ids = {movie_id for movie_id, credit in raw_credits.items() if "Steven Spielberg" in credit["directors"]}
    returns = [int(row["revenue"]) / int(row["budget"]) for row in raw_movies if int(row["id"]) in ids
               and min(int(row["budget"]), int(row["revenue"])) >= MIN_PLAUSIBLE_USD]
    result = queries.get_director("Steven Spielberg")
    assert result.retorno_total == round(sum(returns), 4) == 302.6994
    assert round(sum(round(value, 4) for value in returns), 4) == 302.6997  # what rounding first gave


@pytest.mark.parametrize(("alias", "route", "value"), [("cantidad_peliculas_mes", "cantidad_filmaciones_mes", "enero"),
                                                       ("cantidad_peliculas_dia", "cantidad_filmaciones_dia", "lunes")])
def test_the_original_route_names_answer_too(rest, alias, route, value):
    assert rest.get(f"/{alias}/{value}").json() == rest.get(f"/{route}/{value}").json()
    assert rest.get(f"/{alias}", params={route.rsplit("_", 1)[1]: value}).json()["cantidad"] > 0
    paths = rest.get("/openapi.json").json()["paths"]
    assert paths[f"/{alias}/{{{route.rsplit('_', 1)[1]}}}"]["get"]["tags"] == ["alias del proyecto original"]


@pytest.mark.bad_input
@pytest.mark.parametrize("route", ["score_titulo", "get_actor", "cantidad_filmaciones_mes", "recomendacion"])
def test_a_query_string_without_the_parameter_gets_our_message(rest, route):
    response = rest.get(f"/{route}")
    assert response.status_code == 422 and response.json()["detail"].startswith("Falta ")


@pytest.mark.parametrize(("route", "typed", "film"), [("score_titulo", "El padrino", "The Godfather (1972)"),
                                                       ("votos_titulo", "Buscando a Nemo", "Finding Nemo (2003)"),
                                                       ("recomendacion", "el caballero oscuro", "The Dark Knight (2008)")])
def test_a_spanish_title_is_a_404_that_offers_the_english_film(rest, route, typed, film):
    response = rest.get(f"/{route}/{quote(typed)}")
    assert response.status_code == 404 and film in response.json()["suggestions"]
    assert "Los títulos del catálogo están en inglés" in response.json()["detail"]
    assert rest.get(f"/{route}/{quote(film)}").status_code == 200


@pytest.mark.parametrize("model", ["parecidas", "fans", "seed_tfidf", "tfidf", "embedding"])
def test_recomendacion_takes_any_model_of_the_comparison(rest, live_url, model):
    answer = rest.get("/recomendacion/Toy%20Story", params={"modelo": model}).json()
    compared = Client(live_url, verbose=False).predict("Toy Story", 5, api_name="/comparar_modelos")
    expected = next(m for m in compared["models"] if m["model"] == model)
    assert answer["modelo"] == model and answer["recomendaciones"] == [item["title"] for item in expected["results"]]


def test_recomendacion_defaults_to_the_evaluated_model_and_refuses_unknown_ones(rest):
    assert rest.get("/recomendacion/Toy%20Story").json()["modelo"] == "fans"
    unknown = rest.get("/recomendacion/Toy%20Story", params={"modelo": "<b>x</b>"})
    assert unknown.status_code == 422 and "Modelo desconocido" in unknown.json()["detail"]
    assert unknown.json()["suggestions"] == ["seed_tfidf", "tfidf", "embedding", "multilingual", "parecidas", "fans"]


# ------------------------------------------------------------------ detalle: what people read


def test_spanish_numbers_and_plurals():
    assert (whole(4802), whole(1234567), decimal(4.6935), decimal(12345.5)) == ("4.802", "1.234.567", "4,69", "12.345,50")
    assert (count(1, "película", "películas"), count(0, "película", "películas")) == ("1 película", "0 películas")
    assert dollars(1234567) == "1.234.567 USD" and dollars(None) == "—"


def test_detalle_reads_as_spanish():
    assert queries.cantidad_filmaciones_dia("viernes").detalle == "Los días viernes se estrenaron 2.053 películas."
    assert queries.votos_titulo("Inception").detalle.endswith("con un total de 13.752 valoraciones, con un promedio de 8,1.")
    assert queries.score_titulo("Titanic").detalle.endswith("score/popularidad de 100,03 (promedio de votos: 7,5/10).")
    assert queries.get_actor("Tom Hanks").detalle == (
        "Tom Hanks ha participado de 32 filmaciones; 30 tienen un retorno calculable, con un retorno total de 140,81 "
        "y un promedio de 4,69 por filmación.")
    chaplin = queries.get_actor("Charlie Chaplin")  # Modern Times: a $1 budget, excluded
    assert chaplin.excluidas_por_datos_implausibles == 1
    assert chaplin.detalle.endswith("Se excluyó 1 con presupuesto o ingresos implausibles (< 1.000 USD).")
