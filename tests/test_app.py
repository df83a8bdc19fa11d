"""app.py in process: endpoints return JSON-able dicts, errors become clean gr.Error, nothing renders user HTML."""
from __future__ import annotations

import json

import gradio as gr
import pytest

import app
from tests.conftest import BAD_TEXT

ENDPOINTS = [
    app.cantidad_filmaciones_mes, app.cantidad_filmaciones_dia, app.score_titulo, app.votos_titulo, app.get_actor,
    app.get_director,
]


def test_every_query_is_a_named_api_endpoint():
    config = app.demo.get_config_file()
    named = {dep["api_name"] for dep in config["dependencies"] if dep.get("api_visibility", "public") == "public"}
    assert {endpoint.__name__ for endpoint in ENDPOINTS} <= named


def test_endpoints_return_plain_json():
    result = app.get_director("Christopher Nolan")
    assert json.loads(json.dumps(result)) == result
    assert result["cantidad_peliculas"] == 8
    assert app.cantidad_filmaciones_mes("marzo") == {
        "mes": "marzo", "cantidad": 372, "mensaje": "372 cantidad de películas fueron estrenadas en el mes de marzo",
        "detalle": "En el mes de marzo se estrenaron 372 películas.",
    }


@pytest.mark.bad_input
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.__name__)
@pytest.mark.parametrize("bad", BAD_TEXT, ids=repr)
def test_bad_input_is_a_gradio_error_without_markup(endpoint, bad):
    with pytest.raises(gr.Error) as error:
        endpoint(bad)
    assert "<" not in str(error.value.message)


def test_renderers_show_the_sentence_and_a_table():
    message, table = app.render_month(app.cantidad_filmaciones_mes("March"))
    assert "En el mes de marzo se estrenaron 372 películas" in message
    assert list(table["Mes"])[:3] == ["enero", "febrero", "marzo"]
    assert sum(int(n.replace(".", "")) for n in table["Películas"]) == 4802
    assert list(table[""]).index("◀") == 2

    message, table = app.render_person(app.get_actor("Tom Hanks"))
    assert len(table) == 32 and "Retorno (×)" in table.columns
    assert table["Presupuesto"].iloc[0].endswith(" USD") and "." in table["Presupuesto"].iloc[0]
    unknown = table[table["Título"] == "That Thing You Do!"].iloc[0]  # budget 0 in TMDB: unknown, not free
    assert (unknown["Presupuesto"], unknown["Ganancia"], unknown["Retorno (×)"]) == ("—", "—", "—")

    message, _ = app.render_score(app.score_titulo("Batman"))
    assert "Batman \\(1966\\)" in message  # the other film of the same title is offered, escaped for markdown


def test_query_view_shows_the_sentence_table_and_json():
    """The tab's own (private) handler: one query, the rendered sentence + table, and the endpoint's JSON."""
    show = app.query_view(app.queries.get_director, app.render_person)
    message, table, raw, chips = show("christopher nolan")
    assert "Christopher Nolan dirigió 8 películas" in message
    assert "Frase del proyecto original" in message and "El director Christopher Nolan ha conseguido" in message
    assert table.visible is True and len(table.value["data"]) == 8
    assert len(table.column_widths) == 7 and all(width.endswith("px") for width in table.column_widths)
    assert raw == app.get_director("Christopher Nolan") and chips.visible is False


def test_error_message_is_shown_inline_and_escaped():
    show = app.query_view(app.title_score, app.render_score)  # what the tab runs
    message, table, raw, chips = show("<img src=x onerror=alert(1)>")
    assert "<img" not in message and "&lt;img" in message and "No encontré" in message
    assert table.visible is False and raw is None and chips.visible is False  # no candidate for markup


def test_suggestions_become_chips_that_are_not_what_was_typed():
    message, _table, _raw, chips = app.query_view(app.queries.score_titulo, app.render_score)("Avatr")
    assert "¿Quisiste decir: Avatar \\(2009\\)?" in message
    assert chips.visible is True and chips.raw_samples == [["Avatar (2009)"]]
    *_, chips = app.query_view(app.queries.get_actor, app.render_person)("Christopher Nolan")  # a director
    assert chips.visible is False  # the only suggestion is the name typed: the message says to ask get_director


def test_a_spanish_title_becomes_chips_of_english_films_in_every_title_question():
    tabs = {row[2].__name__: row[3] for row in app.QUERY_TABS}
    assert tabs["score_titulo"] is app.title_score and tabs["votos_titulo"] is app.title_votes
    message, _table, _raw, chips = app.query_view(app.title_score, app.render_score)("El padrino")
    assert "Los títulos del catálogo están en inglés" in message and "The Godfather \\(1972\\)" in message
    assert ["The Godfather (1972)"] in chips.raw_samples and chips.visible is True
    for endpoint in (app.score_titulo, app.votos_titulo, app.recomendacion, app.comparar_modelos):
        with pytest.raises(gr.Error, match=r"The Godfather \(1972\)"):
            endpoint("El padrino")


def test_column_widths_keep_every_header_word_whole():
    table = app.render_person(app.get_actor("Tom Hanks"))[1]
    widths = dict(zip(table.columns, (int(width[:-2]) for width in app.column_widths(table))))
    assert widths["Retorno (×)"] >= len("Retorno") * 10 + 32
    assert widths["Presupuesto"] >= len("Presupuesto") * 10 + 32


def test_an_empty_column_says_so_and_the_note_says_why():
    markdown, _raw, _chips = app.models_view(app.service.search, app.render_search)("un tiburón aterroriza una playa", 5)
    header, _rule, first, *_ = [line for line in markdown.splitlines() if line.startswith("|")]
    column = [label.split("<br>")[0].strip() for label in header.split("|")[2:-1]].index("TF\\-IDF")
    assert first.split("|")[2 + column].strip() == "*Sin resultados*"
    assert app.escape_markdown(app.service.NO_SHARED_WORDS_NOTE) in markdown


def test_models_view_renders_every_model_side_by_side_and_escapes():
    show = app.models_view(app.service.compare, app.render_comparison)
    markdown, raw, _chips = show("Toy Story", 5)
    header = next(line for line in markdown.splitlines() if line.startswith("| # |"))
    labels = ("Parecidas (ranker de contenido)", "A quien le gustó… también le gustó", "TF-IDF",
              "Embeddings por campo (MiniLM)")
    assert header.startswith("| # | " + " | ".join(f"{app.escape_markdown(label)}<br>" for label in labels[:1]))
    for label in labels:
        assert f"| {app.escape_markdown(label)}<br>" in header  # a column per model, left to right
    assert header.index(app.escape_markdown(labels[1])) < header.index(app.escape_markdown(labels[3]))
    assert "Toy Story 2" in markdown and "<details>" in markdown  # the historical recipe, folded
    assert "por qué: " in markdown  # the rankers' own why
    assert raw["query"] == app.comparar_modelos("Toy Story", 5)["query"]
    markdown, raw, _chips = app.models_view(app.service.search, app.render_search)("<img src=x onerror=alert(1)> | x", 3)
    assert "<img" not in markdown and raw["text"].startswith("<img")
    message, raw, _chips = show("<script>alert(1)</script>", 5)
    assert message.startswith("**⚠️") and "<script" not in message and raw is None


def test_block_count_stays_low():
    """Every raw API call without a session_hash (as curl makes them) builds a new gradio SessionState, which
    serialises the config of every block on the event loop (9.5 ms for 74 blocks in data/bench/RESULTS.md). Add UI
    by reusing blocks (info=, one Markdown), not by adding them; the suggestion chips took the ceiling from 75 to 80."""
    assert len(app.demo.blocks) <= 80


def test_escape_markdown_neutralises_html_and_markup():
    assert app.escape_markdown("<b>*x*</b> [a](b)") == "&lt;b&gt;\\*x\\*&lt;/b&gt; \\[a\\]\\(b\\)"


def test_launch_binds_locally_unless_on_spaces(monkeypatch):
    monkeypatch.delenv("SPACE_ID", raising=False)
    monkeypatch.delenv("GRADIO_SERVER_NAME", raising=False)
    monkeypatch.delenv("GRADIO_SERVER_PORT", raising=False)
    assert app.server_address() == ("127.0.0.1", 7860)
    monkeypatch.setenv("SPACE_ID", "user/movies")
    assert app.server_address() == ("0.0.0.0", 7860)


def test_explorar_filters_every_chart_consistently(catalog):
    summary, per_year, per_month, per_weekday, genres, money, ratings = app.explorar(1980, 2017, "Animation", 10)
    movies = catalog.movies
    expected = int(((movies["release_year"].between(1980, 2017)) & movies["genres"].map(lambda g: "Animation" in g)).sum())
    assert expected == 229
    assert f"**{expected:,} películas**" in summary and "del género Animación" in summary
    assert per_year["films"].sum() == per_month["films"].sum() == per_weekday["films"].sum() == expected
    assert genres.iloc[0].tolist() == ["Animación", expected]  # genres shown in Spanish
    assert (money["budget_musd"] > 0).all()


def test_explorar_bad_filter_is_a_gradio_error():
    with pytest.raises(gr.Error, match="Dramma|Drama"):
        app.explorar(1980, 2017, "Dramma", 10)


def test_explorar_accepts_missing_and_reversed_years():
    """API clients may omit a bound (None = the catalog's) or send the range backwards: the summary
    reports the validated range, never a TypeError."""
    summary = app.explorar(None, 2000, "animation", 10)[0]
    assert summary.startswith("**") and "entre 1916 y 2000 del género Animación" in summary
    assert "entre 1990 y 2000" in app.explorar(2000, 1990, None, 10)[0]
