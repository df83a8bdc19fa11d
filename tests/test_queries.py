"""The six queries on the real catalog, checked against counts made independently from the raw CSVs."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from queries import (
    QueryError, cantidad_filmaciones_dia, cantidad_filmaciones_mes, get_actor, get_director, score_titulo,
    votos_titulo,
)
from queries.catalog import load_catalog
from queries.people import MIN_PLAUSIBLE_USD
from queries.text import MAX_INPUT_CHARS, normalize, split_year
from tests.conftest import BAD_TEXT, NOT_TEXT, ROOT

ALL_QUERIES = [cantidad_filmaciones_mes, cantidad_filmaciones_dia, score_titulo, votos_titulo, get_actor, get_director]


# ------------------------------------------------------------------ months and weekdays


@pytest.mark.parametrize(
    ("typed", "month", "canonical"),
    [("marzo", 3, "marzo"), ("MARZO", 3, "marzo"), (" Enero ", 1, "enero"), ("September", 9, "septiembre"),
     ("setiembre", 9, "septiembre"), ("diciembre", 12, "diciembre"), ("Agósto", 8, "agosto")],
)
def test_month_counts_match_the_raw_dates(typed, month, canonical, raw_release_dates):
    expected = sum(1 for day in raw_release_dates if day.month == month)
    result = cantidad_filmaciones_mes(typed)
    assert (result.mes, result.cantidad) == (canonical, expected)
    assert result.mensaje == f"{expected} cantidad de películas fueron estrenadas en el mes de {canonical}"
    assert result.detalle == f"En el mes de {canonical} se estrenaron {expected:,} películas.".replace(",", ".")


def test_months_add_up_to_the_catalog(raw_release_dates):
    names = ["enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre",
             "noviembre", "diciembre"]
    assert sum(cantidad_filmaciones_mes(name).cantidad for name in names) == len(raw_release_dates) == 4802
    assert cantidad_filmaciones_mes("septiembre").cantidad == 588  # the busiest month, by hand from the CSV


@pytest.mark.parametrize(
    ("typed", "weekday", "canonical"),
    [("lunes", 0, "lunes"), ("miércoles", 2, "miércoles"), ("miercoles", 2, "miércoles"), ("VIERNES", 4, "viernes"),
     ("sabado", 5, "sábado"), ("Sábado", 5, "sábado"), ("sunday", 6, "domingo")],
)
def test_weekday_counts_match_the_raw_dates(typed, weekday, canonical, raw_release_dates):
    expected = Counter(day.weekday() for day in raw_release_dates)[weekday]
    result = cantidad_filmaciones_dia(typed)
    assert (result.dia, result.cantidad) == (canonical, expected)
    assert result.mensaje == f"{expected} cantidad de películas fueron estrenadas en los días {canonical}"


def test_friday_is_the_most_common_release_day():
    assert cantidad_filmaciones_dia("viernes").cantidad == 2053


def test_unknown_month_suggests_close_names():
    with pytest.raises(QueryError, match="No reconozco el mes") as error:
        cantidad_filmaciones_mes("marso")
    assert "marzo" in error.value.suggestions
    with pytest.raises(QueryError, match="No reconozco el día"):
        cantidad_filmaciones_dia("domingo y lunes")


# ------------------------------------------------------------------ titles


def raw_row(raw_movies, title: str, year: str | None = None) -> dict:
    rows = [r for r in raw_movies if r["title"] == title and (year is None or r["release_date"].startswith(year))]
    assert len(rows) == 1, rows
    return rows[0]


def test_score_titulo_matches_the_csv(raw_movies):
    row = raw_row(raw_movies, "Titanic")
    result = score_titulo("titanic")
    assert (result.titulo, result.anio) == ("Titanic", 1997)
    assert result.popularidad == round(float(row["popularity"]), 2)
    assert result.promedio_votos == float(row["vote_average"])
    assert "fue estrenada en el año 1997" in result.mensaje


@pytest.mark.parametrize("typed", ["Toy Story", "toy story", "TOY STORY!", "  Toy   Story  ", "Toy Story (1995)"])
def test_votos_titulo_normalises_the_title(typed, raw_movies):
    row = raw_row(raw_movies, "Toy Story")
    result = votos_titulo(typed)
    assert (result.titulo, result.votos, result.cumple_condicion) == ("Toy Story", int(row["vote_count"]), True)
    assert result.votos == 5269
    assert "cuenta con un total de 5269 valoraciones, con un promedio de 7.7" in result.mensaje


def test_accents_and_punctuation_do_not_matter():
    assert score_titulo("Amelie").titulo == "Amélie"
    assert score_titulo("spider man 3").titulo == "Spider-Man 3"


def test_films_under_2000_votes_do_not_meet_the_condition(raw_movies):
    row = raw_row(raw_movies, "Batman", "1966")
    result = votos_titulo("Batman (1966)")
    assert (result.anio, result.votos, result.cumple_condicion) == (1966, int(row["vote_count"]), False)
    assert "no cumple la condición" in result.mensaje


def test_duplicate_titles_are_told_apart_by_year():
    default = score_titulo("Batman")
    assert (default.anio, default.otras_versiones) == (1989, ["Batman (1966)"])  # most-voted first
    assert score_titulo("batman (1966)").anio == 1966
    assert votos_titulo("The Host (2006)").anio == 2006
    with pytest.raises(QueryError, match=r"No hay «Batman» de 2005") as error:
        score_titulo("Batman (2005)")
    assert error.value.suggestions == ["Batman (1989)", "Batman (1966)"]


@pytest.mark.parametrize("typed, title", [("PunchDrunk Love", "Punch-Drunk Love"), ("Spiderman 3", "Spider-Man 3"),
                                          ("TheDarkKnight", "The Dark Knight")])
def test_a_title_typed_with_other_spacing_is_found(typed, title):
    assert score_titulo(typed).titulo == title


def test_punctuation_only_titles_are_not_matched_to_untitled_films():
    with pytest.raises(QueryError):
        score_titulo("!!!")


def test_unknown_title_suggests_candidates():
    with pytest.raises(QueryError, match="No encontré la película") as error:
        score_titulo("Avatr")
    assert error.value.suggestions[0] == "Avatar (2009)"
    assert error.value.not_found
    with pytest.raises(QueryError) as error:
        score_titulo("lord of the rings")
    assert {"The Lord of the Rings: The Two Towers (2002)", "The Lord of the Rings: The Return of the King (2003)"} <= set(
        error.value.suggestions
    )


# ------------------------------------------------------------------ people


def films_of(raw_movies, raw_credits, name: str, role: str) -> list[dict]:
    return [row for row in raw_movies if name in raw_credits[int(row["id"])][role]]


def expected_returns(rows: list[dict]) -> list[float]:
    return [
        int(r["revenue"]) / int(r["budget"])
        for r in rows
        if int(r["budget"]) >= MIN_PLAUSIBLE_USD and int(r["revenue"]) >= MIN_PLAUSIBLE_USD
    ]


def test_get_actor_matches_the_raw_credits(raw_movies, raw_credits):
    films = films_of(raw_movies, raw_credits, "Tom Hanks", "cast")
    returns = expected_returns(films)
    result = get_actor("tom hanks")
    assert result.nombre == "Tom Hanks"
    assert result.cantidad_peliculas == len(films) == 32
    assert result.peliculas_con_retorno == len(returns) == 30
    assert result.retorno_total == pytest.approx(sum(returns), abs=1e-3)
    assert result.retorno_promedio == pytest.approx(sum(returns) / len(returns), abs=1e-3)
    assert "Tom Hanks ha participado de 32 filmaciones; 30 tienen un retorno calculable" in result.detalle


def test_directing_alone_does_not_count_as_acting():
    with pytest.raises(QueryError, match="no figura como actor.*sí como director en 8") as error:
        get_actor("Christopher Nolan")
    assert error.value.suggestions == ["Christopher Nolan"]


def test_get_director_lists_each_film(raw_movies, raw_credits):
    films = films_of(raw_movies, raw_credits, "Christopher Nolan", "directors")
    result = get_director("christopher nolan")
    assert result.cantidad_peliculas == len(films) == 8
    assert result.retorno_total == pytest.approx(sum(expected_returns(films)), abs=1e-3)
    by_title = {film.titulo: film for film in result.peliculas}
    inception = by_title["Inception"]
    raw = raw_row(raw_movies, "Inception")
    assert inception.fecha_estreno == raw["release_date"] == "2010-07-14"
    assert (inception.presupuesto, inception.ingresos) == (int(raw["budget"]), int(raw["revenue"]))
    assert inception.ganancia == int(raw["revenue"]) - int(raw["budget"])
    assert inception.retorno == pytest.approx(int(raw["revenue"]) / int(raw["budget"]), abs=1e-4)
    assert [f.fecha_estreno for f in result.peliculas] == sorted(f.fecha_estreno for f in result.peliculas)


def test_implausible_budgets_are_listed_but_excluded():
    result = get_actor("Charlie Chaplin")  # Modern Times: budget $1, revenue $8.5M
    modern_times = next(film for film in result.peliculas if film.titulo == "Modern Times")
    assert modern_times.presupuesto == 1 and modern_times.retorno is None
    assert "implausibles" in modern_times.nota
    assert result.excluidas_por_datos_implausibles >= 1
    assert "Se excluyó 1 con presupuesto o ingresos implausibles (< 1.000 USD)." in result.detalle


def test_unknown_person_suggests_candidates():
    with pytest.raises(QueryError) as error:
        get_actor("Tom Hank")
    assert error.value.suggestions[0] == "Tom Hanks"
    with pytest.raises(QueryError) as error:
        get_director("nolan")
    assert error.value.suggestions[0] == "Christopher Nolan"
    with pytest.raises(QueryError, match="No encontré a «Nadie Conocido Jamás»"):
        get_director("Nadie Conocido Jamás")


# ------------------------------------------------------------------ bad input


@pytest.mark.bad_input
@pytest.mark.parametrize("query", ALL_QUERIES, ids=lambda q: q.__name__)
@pytest.mark.parametrize("bad", BAD_TEXT + NOT_TEXT, ids=repr)
def test_bad_input_gives_a_clear_message(query, bad):
    with pytest.raises(QueryError) as error:
        query(bad)
    message = error.value.message
    assert message and "Traceback" not in message
    assert len(message) < 600  # a 10,000-character input is not echoed back
    if isinstance(bad, str) and bad.strip() and len(bad) > MAX_INPUT_CHARS:
        assert "demasiado largo" in message


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_any_text_is_answered_or_refused_cleanly(text):
    for query in (score_titulo, get_actor, cantidad_filmaciones_mes):
        try:
            query(text)
        except QueryError as error:
            assert error.message


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=100))
def test_normalize_is_idempotent_and_plain(text):
    key = normalize(text)
    assert normalize(key) == key
    assert key == key.strip() and "  " not in key
    assert all(ch.isalnum() or ch == " " for ch in key)


@given(st.text(min_size=1, max_size=40).filter(lambda t: t.strip() and not t.rstrip().endswith(")")),
       st.integers(1000, 9999))
def test_split_year_round_trips(title, year):
    assert split_year(f"{title} ({year})") == (title.rstrip(), year)
    assert split_year(title) == (title, None)


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_every_catalog_title_resolves_to_a_film_with_that_title(data, catalog):
    """Any real title, typed in any case, with accents stripped or punctuation dropped, finds a film so titled."""
    from queries.titles import resolve_title
    import unicodedata

    row = data.draw(st.integers(0, len(catalog) - 1))
    title = catalog.column("title")[row]
    if not normalize(title):
        return
    variant = data.draw(st.sampled_from([
        title, title.upper(), title.lower(), f"  {title}  ",
        "".join(ch for ch in unicodedata.normalize("NFKD", title) if not unicodedata.combining(ch)),
        "".join(ch for ch in title if ch.isalnum() or ch == " "),
        f"{title} ({catalog.column('release_year')[row]})",
    ]))
    match = resolve_title(variant, catalog)
    assert normalize(catalog.column("title")[match.row]) == normalize(title)
    if variant.endswith(f"({catalog.column('release_year')[row]})"):
        assert catalog.column("release_year")[match.row] == catalog.column("release_year")[row]


# ------------------------------------------------------------------ the compact name indexes


def _dict_index(lists, order):
    """The plain-Python reference: normalised name -> rows in ``order``, most films first."""
    rows: dict[str, list[int]] = {}
    for row in order.tolist():
        for name in lists[row]:
            key = normalize(name)
            if row not in rows.setdefault(key, []):
                rows[key].append(row)
    ranked = sorted(rows.items(), key=lambda item: -len(item[1]))
    return {key: tuple(films) for key, films in ranked}


@pytest.mark.parametrize("column", ["cast", "directors"])
def test_name_index_answers_like_a_dict_of_the_real_credits(column):
    """NameIndex (Arrow + NumPy, ~60 bytes a person) must give what a dict of tuples gives, name by name."""
    import numpy as np

    from queries.names import NameIndex

    movies = load_catalog().movies
    order = np.argsort(movies["release_date"].astype("datetime64[s]").to_numpy(), kind="stable")
    lists = [list(names) for names in movies[column]]
    expected = _dict_index(lists, order)
    first_credit: dict[str, str] = {}
    for names in lists:  # the name as first credited in catalog order
        for name in names:
            first_credit.setdefault(normalize(name), name)
    index = NameIndex(movies[column], order, normalize)
    assert index.names() == list(expected)  # same order: most films first, ties by first release
    assert len(index) == len(expected) > (50_000 if column == "cast" else 2_000)
    for key, films in expected.items():
        position = index.find(key)
        assert index.films(position) == films and index[key] == films
        assert index.credited_name(position) == first_credit[key]


def test_name_index_handles_missing_keys_spellings_and_empty_lists():
    import numpy as np
    import pyarrow as pa

    from queries.names import NameIndex

    lists = pa.array([["José Ferrer", "Ana"], [], None, ["Jose Ferrer", "ana", "Ana"]], pa.list_(pa.string()))
    index = NameIndex(lists, np.array([3, 0, 1, 2]), normalize)
    assert index["jose ferrer"] == (3, 0)  # one key for both spellings, rows in the given order
    assert index.credited_name(index.find("jose ferrer")) == "José Ferrer"  # first in catalog order names it
    assert index["ana"] == (3, 0)  # twice in film 3, counted once
    for missing in ["", "nobody", "jose", "JOSE FERRER", "🎬"]:
        assert index.find(missing) is None and missing not in index
    assert 3 not in index
    with pytest.raises(KeyError):
        index["nobody"]
    empty = NameIndex(pa.array([[], None], pa.list_(pa.string())), np.array([0, 1]), normalize)
    assert len(empty) == 0 and empty.find("ana") is None and empty.names() == []


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(max_codepoint=127), max_size=40))
def test_the_ascii_shortcut_of_normalize_gives_the_general_key(text):
    from queries.text import unicode_key

    assert normalize(text) == unicode_key(text)


def test_the_ascii_shortcut_covers_every_ascii_character():
    from queries.text import unicode_key

    every = "".join(chr(code) for code in range(128))
    assert normalize(every) == unicode_key(every) == "0123456789 abcdefghijklmnopqrstuvwxyz abcdefghijklmnopqrstuvwxyz"
    assert normalize("Schindler's List") == "schindlers list" and normalize("Spider-Man #3") == "spider man 3"


def test_string_positions_is_a_read_only_mapping_that_survives_another_process():
    """The compact str -> position map behind NameIndex and the TF-IDF vocabularies: first position of a repeated
    string, KeyError (not a wrong hit) for anything else, and rebuilt when unpickled (string hashes are salted
    per process, so shipping the hashes to a Ray worker would break every lookup there)."""
    import pickle

    import pyarrow as pa

    from queries.names import StringPositions

    strings = ["love", "war", "space opera", "amélie", "war", "", "🎬", ".*"]
    positions = StringPositions(pa.array(strings, pa.string()))
    assert len(positions) == len(strings) and list(positions) == strings
    assert positions["war"] == 1 and positions[""] == 5 and positions["🎬"] == 6 and positions[".*"] == 7
    for missing in ["War", "amelie", "space", "x" * 10_000, 3, None, b"war"]:
        assert missing not in positions and positions.find(missing) is None
    with pytest.raises(KeyError):
        positions["peace"]
    code = ("import pickle, sys\n"
            "positions = pickle.loads(sys.stdin.buffer.read())\n"
            "print([positions.get(key) for key in ['love', 'space opera', 'amélie', '🎬', 'peace']])\n")
    answers = {}
    for seed in ("1", "2"):
        done = subprocess.run([sys.executable, "-c", code], input=pickle.dumps(positions), capture_output=True,
                              cwd=ROOT, env={**os.environ, "PYTHONHASHSEED": seed}, timeout=60)
        assert done.returncode == 0, done.stderr.decode()[-2000:]
        answers[seed] = done.stdout.decode().strip()
    assert answers["1"] == answers["2"] == "[0, 2, 3, 6, None]"


@pytest.mark.parametrize(("typed", "title"), [
    ("El laberinto del fauno", "Pan's Labyrinth"),
    ("Le fabuleux destin d'Amélie Poulain", "Amélie"),
    ("le fabuleux destin d amelie poulain", "Amélie"),
])
def test_films_are_found_by_their_original_title(typed, title, raw_movies):
    """The ETL keeps TMDB's original_title for lookup only: answers still use the title."""
    assert any(row["original_title"] == typed for row in raw_movies) or typed.islower()
    assert score_titulo(typed).titulo == title


def test_an_original_title_never_hides_a_real_title(catalog):
    """A film whose original title is another film's title does not take that title over."""
    from queries.catalog import build_catalog_index

    movies = catalog.movies
    rows = movies[movies["title"].isin(["Amélie", "Titanic", "Pan's Labyrinth"])].copy()
    rows.loc[rows["title"] == "Titanic", "original_title"] = "Amélie"  # as if Titanic had been released as "Amélie"
    small = build_catalog_index(rows, catalog.path, catalog.checksum)
    assert score_titulo("Amelie", catalog=small).titulo == "Amélie"
    assert score_titulo("El laberinto del fauno", catalog=small).titulo == "Pan's Labyrinth"


@pytest.mark.bad_input
@pytest.mark.parametrize("bad", ["", "   ", "x" * 10_000, "!!!", None, 12, ["Titanic"], {"a": 1}], ids=repr)
def test_messages_for_people_are_spanish_only(bad):
    """No English half-sentences ("/ Please type something.", "/ Input must be text.") in what people read."""
    from queries import explore
    from recommender.service import validate_k

    calls = [lambda: score_titulo(bad), lambda: get_actor(bad), lambda: cantidad_filmaciones_mes(bad),
             lambda: explore.select(bad, 2000, "all"), lambda: validate_k(bad),
             lambda: explore.rating_distribution(min_votes=bad)]
    for call in calls:
        try:
            call()
        except QueryError as error:
            assert not re.search(r"\b(Please|Input|Missing|must|Year|Unknown|type something)\b", error.message), error.message
            assert " / " not in error.message, error.message
            assert not re.search(r"\bno (list|dict|int|float|str|NoneType)\b", error.message), error.message
