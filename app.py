"""Movie discovery demo: the original project's queries and recommenders as a Gradio Blocks app.

Wiring only: every answer comes from ``queries/`` or ``recommender/``; this file turns their
dataclasses into JSON for API clients and into a sentence + table for people.

    python app.py            # http://127.0.0.1:7860 (0.0.0.0 on Hugging Face Spaces)
"""
from __future__ import annotations

import os

for _name, _value in {
    "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_HUB_DISABLE_TELEMETRY": "1",
    "GRADIO_ANALYTICS_ENABLED": "False",
    # Arrow's default pool (mimalloc) keeps what loading the catalog freed; jemalloc hands it back: ~60 MB less
    # app peak at 45k films (data/bench/pipeline.json). Read by pyarrow at its first allocation, so set here.
    "ARROW_DEFAULT_MEMORY_POOL": "jemalloc",
}.items():
    os.environ.setdefault(_name, _value)

import contextlib
import html
import inspect
import json
import sys
import textwrap
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import asdict, dataclass
from typing import Any, Optional

import gradio as gr
import pandas as pd
from fastapi import Depends, HTTPException, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from gradio_client import utils as client_utils
from starlette import convertors
from starlette.middleware import Middleware

import queries
from queries import explore, spanish
from queries.errors import ArtifactError, QueryError
from queries.people import PersonReturn
from queries.releases import MonthCount, WeekdayCount
from queries.text import MONTHS_ES, WEEKDAYS_ES, normalize
from queries.titles import TitleScore, TitleVotes
from recommender import comparison, service
from recommender.artifacts import load_recommenders
from recommender.service import TitleRecommendations

TITLE = "Películas: consultas y recomendaciones / Movie discovery"
# Columns, left to right; the last (the historical recipe) is folded under the table.
COMPARE_ORDER = [*service.COMPARE_MODELS]
SEARCH_ORDER = [*service.SEARCH_MODELS]
DEFAULT_TEST_FILM = "The Dark Knight (2008)"  # the Comparación tab opens on a test film everyone knows


def recommender_problem() -> str | None:
    """Check the index once at start-up: a broken one disables the recommender tabs, not the whole app."""
    try:
        load_recommenders()
    except ArtifactError as error:
        return str(error)
    for part, problem in service.serving_problems().items():  # optional parts left out: say so in the log
        print(f"Not served ({part}): {problem}", file=sys.stderr)
    return None


def evaluation_results() -> dict | None:
    """data/eval/results.json when it describes this catalog and index, else None (the tab says why)."""
    try:
        return comparison.load_results(catalog=queries.load_catalog())
    except ArtifactError:
        return None


RECOMMENDER_PROBLEM = recommender_problem()
EVALUATION = evaluation_results()
SYSTEM_LABELS = {system["name"]: system["label"] for system in (EVALUATION or {}).get("systems", [])}
MARKDOWN_SPECIALS = str.maketrans({ch: f"\\{ch}" for ch in "\\`*_{}[]()#+-.!|>~"})


def served_default() -> str | None:
    """The model behind ``recomendacion`` (highlighted in the tabs), or None while the recommenders are disabled:
    building the UI must not ask a broken index for it."""
    return None if RECOMMENDER_PROBLEM else service.default_model()


def escape_markdown(text: str) -> str:
    """Show any text literally in gr.Markdown: no HTML, no markdown formatting."""
    return html.escape(text, quote=False).translate(MARKDOWN_SPECIALS)


def answer(query: Callable[..., Any], *args: object) -> dict:
    """Run a query for the API: a JSON-able dict, or a gr.Error whose text is the query's own message."""
    try:
        return asdict(query(*args))
    except QueryError as exc:
        raise gr.Error(html.escape(exc.message), title="Consulta no válida", print_exception=False) from None
    except ArtifactError as exc:  # a broken index disables the recommenders, not the whole app
        raise gr.Error(html.escape(str(exc)), title="Recomendador no disponible", print_exception=False) from None


def title_score(titulo: object) -> TitleScore:
    """``queries.score_titulo``; a title the catalog does not know offers the films nearest it by meaning."""
    return service.title_query(queries.score_titulo, titulo)


def title_votes(titulo: object) -> TitleVotes:
    """``queries.votos_titulo``; a title the catalog does not know offers the films nearest it by meaning."""
    return service.title_query(queries.votos_titulo, titulo)


# ------------------------------------------------------------------ API endpoints (named like the original)


def cantidad_filmaciones_mes(mes: str) -> dict:
    """Cantidad de películas estrenadas en un mes (de cualquier año). / Films released in a month.

    Args:
        mes: nombre del mes en español (enero … diciembre); también en inglés. Sin distinguir mayúsculas ni tildes.
    """
    return answer(queries.cantidad_filmaciones_mes, mes)


def cantidad_filmaciones_dia(dia: str) -> dict:
    """Cantidad de películas estrenadas en un día de la semana. / Films released on a weekday.

    Args:
        dia: día en español (lunes … domingo, con o sin tilde); también en inglés.
    """
    return answer(queries.cantidad_filmaciones_dia, dia)


def score_titulo(titulo: str) -> dict:
    """Título, año de estreno y score (popularidad TMDB) de una película. / Title, year and popularity score.

    Args:
        titulo: título de la película, en inglés como en TMDB (uno en español da sugerencias); un año entre paréntesis elige entre homónimas, p. ej. "Batman (1989)".
    """
    return answer(title_score, titulo)


def votos_titulo(titulo: str) -> dict:
    """Votos y promedio de votos de una película (condición: al menos 2000 votos). / Vote count and average.

    Args:
        titulo: título de la película, en inglés como en TMDB (uno en español da sugerencias); un año entre paréntesis elige entre homónimas.
    """
    return answer(title_votes, titulo)


def get_actor(nombre_actor: str) -> dict:
    """Películas de un actor o actriz y su retorno total y promedio. / An actor's films and their return.

    Args:
        nombre_actor: nombre como figura en el reparto, p. ej. "Tom Hanks".
    """
    return answer(queries.get_actor, nombre_actor)


def get_director(nombre_director: str) -> dict:
    """Películas de un director con fecha, presupuesto, ingresos, ganancia y retorno. / A director's films.

    Args:
        nombre_director: nombre del director, p. ej. "Christopher Nolan".
    """
    return answer(queries.get_director, nombre_director)


def recomendacion(titulo: str) -> dict:
    """Las 5 películas que recomienda el modelo por defecto para un título, como en el proyecto original: «A quien le
    gustó… también le gustó» (el mejor nDCG@10 de la evaluación con MovieLens). / 5 recommended films.

    Args:
        titulo: título de la película, en inglés como en TMDB (uno en español da sugerencias); un año entre paréntesis elige entre homónimas.
    """
    return answer(service.recommend_titles, titulo)


def comparar_modelos(titulo: str, k: float = service.DEFAULT_K) -> dict:
    """Las k películas más parecidas según cada modelo, con similitud, motivos, latencia y coincidencias.

    Args:
        titulo: título de la película, en inglés como en TMDB (uno en español da sugerencias).
        k: cuántas películas por modelo (1–20).
    """
    return answer(service.compare, titulo, k)


def buscar(texto: str, k: float = service.DEFAULT_K) -> dict:
    """Búsqueda por descripción libre en cada modelo ("a lonely astronaut stranded on Mars"). / Free-text search.

    Args:
        texto: descripción de la película buscada, en español o en inglés (responde primero el modelo multilingüe).
        k: cuántas películas por modelo (1–20).
    """
    return answer(service.search, texto, k)


# ------------------------------------------------------------------ rendering for people


def versions_note(result: dict) -> str:
    others = result.get("otras_versiones") or []
    if not others:
        return ""
    listed = ", ".join(f"«{escape_markdown(label)}»" for label in others)
    return f"\n\nOtras películas con este título: {listed}. Escribe el título con el año para elegir una."


def count_table(names: list[str], counts: tuple[int, ...], chosen: str, header: str) -> pd.DataFrame:
    return pd.DataFrame(
        {header: names, "Películas": [spanish.whole(n) for n in counts], "": ["◀" if name == chosen else "" for name in names]}
    )


def column_widths(table: pd.DataFrame) -> list[str]:
    """Pixel widths that fit each column's longest word (header included), so a cell wraps between words and a
    header never mid-word ("Retorn / o"); a wide table scrolls sideways instead of squeezing (phones)."""
    widths = []
    for name in table.columns:
        texts = [str(name), *(str(value) for value in table[name])]
        longest_word = max((len(word) for text in texts for word in text.split()), default=1)
        typical = min(max((len(text) for text in texts[1:]), default=0), 26)  # up to ~2 lines of a long title
        widths.append(f"{max(longest_word * 10 + 32, typical * 8 + 32, 56)}px")
    return widths


def shown_table(table: pd.DataFrame) -> gr.Dataframe:
    """A table as the answer area shows it: visible, with widths that keep every header word whole."""
    return gr.Dataframe(value=table, visible=True, column_widths=column_widths(table))


def heading(result: dict) -> str:
    """The answer as people read it (``detalle``: Spanish numbers and plurals), then the assignment's exact
    sentence (``mensaje``, what clients of the original API test for) in small type."""
    return (f"### {escape_markdown(result['detalle'])}\n\n<details><summary>Frase del proyecto original "
            f"(campo <code>mensaje</code> de la API)</summary>\n\n{escape_markdown(result['mensaje'])}\n\n</details>")


def render_month(result: dict) -> tuple[str, pd.DataFrame]:
    counts = queries.load_catalog().month_counts
    return heading(result), count_table(MONTHS_ES, counts, result["mes"], "Mes")


def render_weekday(result: dict) -> tuple[str, pd.DataFrame]:
    counts = queries.load_catalog().weekday_counts
    return heading(result), count_table(WEEKDAYS_ES, counts, result["dia"], "Día")


def render_score(result: dict) -> tuple[str, pd.DataFrame]:
    table = pd.DataFrame(
        [[result["titulo"], result["anio"], spanish.decimal(result["popularidad"]),
          spanish.decimal(result["promedio_votos"], 1)]],
        columns=["Título", "Año", "Popularidad (score TMDB)", "Promedio de votos (0–10)"],
    )
    return heading(result) + versions_note(result), table


def render_votes(result: dict) -> tuple[str, pd.DataFrame]:
    table = pd.DataFrame(
        [[result["titulo"], result["anio"], spanish.whole(result["votos"]), spanish.decimal(result["promedio_votos"], 1),
          "sí" if result["cumple_condicion"] else "no"]],
        columns=["Título", "Año", "Votos", "Promedio de votos (0–10)", "≥ 2.000 votos"],
    )
    return heading(result) + versions_note(result), table


def render_person(result: dict) -> tuple[str, pd.DataFrame]:
    table = pd.DataFrame(
        [
            [film["titulo"], film["fecha_estreno"], spanish.dollars(film["presupuesto"] or None),  # 0: unknown
             spanish.dollars(film["ingresos"] or None), spanish.dollars(film["ganancia"]),
             "—" if film["retorno"] is None else spanish.decimal(film["retorno"]), film["nota"]]
            for film in result["peliculas"]
        ],
        columns=["Título", "Estreno", "Presupuesto", "Ingresos", "Ganancia", "Retorno (×)", "Nota"],
    )
    return heading(result), table


def problem_text(error: QueryError | ArtifactError) -> str:
    """A failed query's own message, as bold escaped markdown (shown inline; never a traceback, never HTML)."""
    return f"**⚠️ {escape_markdown(getattr(error, 'message', None) or str(error))}**"


def suggestion_chips() -> gr.Dataset:
    """The "¿Quisiste decir…?" candidates of a failed query as chips: one click runs the query with that one."""
    return gr.Dataset(components=["textbox"], samples=[], label="¿Quisiste decir…? Toca una opción para consultarla",
                      visible=False, layout="gallery", samples_per_page=5)


def chips_for(error: QueryError | ArtifactError, typed: object) -> gr.Dataset:
    """Visible chips with the error's suggestions, unless there are none or the only one is what was typed
    (e.g. "Christopher Nolan" asked as an actor: the message says to ask get_director instead)."""
    suggestions = [s for s in getattr(error, "suggestions", []) if not isinstance(typed, str)
                   or normalize(s) != normalize(typed)]
    return gr.Dataset(samples=[[s] for s in suggestions], visible=True) if suggestions else gr.Dataset(visible=False)


def query_view(
    query: Callable[..., Any], render: Callable[[dict], tuple[str, pd.DataFrame]]
) -> Callable[[str], tuple[str, gr.Dataframe, dict | None, gr.Dataset]]:
    """The UI side of a query tab (not an API endpoint): run the query once and return the sentence, the table
    (hidden when there is nothing to show), the JSON the API would answer, and the suggestion chips; a bad input
    is a message inline."""

    def show(text: str) -> tuple[str, gr.Dataframe, dict | None, gr.Dataset]:
        try:
            result = asdict(query(text))
        except (QueryError, ArtifactError) as error:
            return problem_text(error), gr.Dataframe(visible=False), None, chips_for(error, text)
        message, table = render(result)
        return message, shown_table(table), result, gr.Dataset(visible=False)

    return show


def clear_answer() -> tuple[str, gr.Dataframe, gr.Dataset]:
    """The query tabs share one answer area: switching query clears it."""
    return "", gr.Dataframe(visible=False), gr.Dataset(visible=False)


def reasons_text(reasons: dict | None) -> str:
    """Shared facets as one short line: 'director: Christopher Nolan · reparto: Christian Bale · …'."""
    if not reasons:
        return ""
    shown = {**reasons, "genres": [spanish.genre(name) for name in reasons.get("genres") or []]}
    parts = [
        f"{name}: {', '.join(shown[key][:limit])}"
        for key, name, limit in (("directors", "dirección", 2), ("cast", "reparto", 3), ("genres", "géneros", 3),
                                 ("keywords", "temas", 4))
        if shown.get(key)
    ]
    return " · ".join(parts)


def cell(text: str) -> str:
    """Escaped text that also stays inside one markdown table cell."""
    return escape_markdown(" ".join(str(text).split()))


def film_line(item: dict) -> str:
    return f"**{cell(item['title'])}** ({item['year']}) · `{spanish.decimal(item['score'], 3)}`"


def drivers_text(drivers: list[dict] | None) -> str:
    """A learned ranker's own why: 'por qué: Mismo director +0,42 · Géneros en común +0,10'."""
    if not drivers:
        return ""
    return "por qué: " + " · ".join(f"{d['label']} +{spanish.decimal(d['value'], 2)}" for d in drivers[:2])


def models_table(models: list[dict]) -> str:
    """The models side by side as one markdown table: a column per model (label and latency), a row per rank,
    each cell the film, its similarity and what it shares with the query (one Markdown block, not one per model)."""
    header = " | ".join(f"{cell(m['label'])}<br><small>{spanish.decimal(m['latency_ms'])} ms</small>" for m in models)
    lines = [f"| # | {header} |", "|---:|" + "---|" * len(models)]
    for rank in range(max((max(len(m["results"]), 1) for m in models), default=0)):
        cells = []
        for model in models:
            if rank >= len(model["results"]):
                cells.append("" if rank else "*Sin resultados*")  # the model's note says why
                continue
            item = model["results"][rank]
            notes = [text for text in (drivers_text(item.get("drivers")), reasons_text(item.get("reasons"))) if text]
            cells.append(film_line(item) + "".join(f"<br><small>{cell(text)}</small>" for text in notes))
        lines.append(f"| {rank + 1} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def folded_model(model: dict) -> str:
    """The historical recipe, folded under the table (collapsed: it is the baseline, not a contender)."""
    items = "\n".join(f"{rank}. {film_line(item)}" for rank, item in enumerate(model["results"], start=1))
    return ("<details><summary>Receta original del proyecto (TF-IDF histórico: géneros, tagline, actor y director) · "
            f"{spanish.decimal(model['latency_ms'])} ms</summary>\n\n{items}\n\n</details>")


def overlap_text(result: dict, labels: dict[str, str]) -> str:
    lines = [
        f"- {escape_markdown(labels.get(o['first'], o['first']))} ∩ {escape_markdown(labels.get(o['second'], o['second']))}: "
        f"{o['shared']} en común (Jaccard {spanish.decimal(o['jaccard'])})"
        for o in result["overlaps"]
    ]
    return "**Coincidencias entre listas**\n" + "\n".join(lines) if lines else ""


def render_models(result: dict, heading: str, order: list[str]) -> str:
    """Heading, every model side by side (``order``, the historical recipe folded last), then the overlaps."""
    by_name = {model["model"]: model for model in result["models"]}
    labels = {name: model["label"] for name, model in by_name.items()}
    side_by_side = [by_name[name] for name in order[:-1] if name in by_name]
    notes = [f"*{escape_markdown(model['label'])}:* {escape_markdown(model['note'])}" for model in side_by_side
             if model.get("note")]
    parts = [heading, *notes, models_table(side_by_side) if side_by_side else ""]
    if order[-1] in by_name:
        parts.append(folded_model(by_name[order[-1]]))
    parts.append(overlap_text(result, labels))
    return "\n\n".join(part for part in parts if part)


def render_comparison(result: dict) -> str:
    default = next((m for m in result["models"] if m["model"] == served_default()), None)
    picks = ", ".join(escape_markdown(item["label"]) for item in default["results"]) if default else ""
    heading = f"### Películas similares a {escape_markdown(result['query'])}"
    if default:
        heading += f"\nRecomendación ({escape_markdown(default['label'])}): {picks}."
    if result.get("other_versions"):
        heading += versions_note({"otras_versiones": result["other_versions"]})
    return render_models(result, heading, COMPARE_ORDER)


def render_search(result: dict) -> str:
    first = next((m for m in result["models"] if m["model"] == SEARCH_ORDER[0]), None)
    heading = f"### Resultados para «{escape_markdown(result['text'])}»"
    if first:
        heading += f"\nResponde primero **{escape_markdown(first['label'])}**, el modelo que entiende español e inglés."
    return render_models(result, heading, SEARCH_ORDER)


def intent_line() -> str:
    """One line from the evaluation: which intent it favours and by how much (empty without an evaluation)."""
    intent = (EVALUATION or {}).get("intent")
    if not intent:
        return ""
    favoured, other = (SYSTEM_LABELS.get(intent[key], intent[key]) for key in ("favoured", "other"))
    return (f"\n\n**Según la evaluación con MovieLens**, «{escape_markdown(favoured)}» acierta más que "
            f"«{escape_markdown(other)}»: nDCG@10 {spanish.decimal(intent['favoured_value'], 3)} frente a "
            f"{spanish.decimal(intent['other_value'], 3)} en las películas de prueba.")


def models_view(query: Callable[..., Any], render: Callable[[dict], str]) -> Callable[..., tuple]:
    """The UI side of a recommender tab (not an API endpoint): the rendered comparison and its JSON, or a message
    and the suggestion chips."""

    def show(text: str, k: float) -> tuple[str, dict | None, gr.Dataset]:
        try:
            result = asdict(query(text, k))
        except (QueryError, ArtifactError) as error:
            return problem_text(error), None, chips_for(error, text)
        return render(result), result, gr.Dataset(visible=False)

    return show


# ------------------------------------------------------------------ tabs
#
# Every raw API call without a session_hash makes Gradio build a new session, which serialises the config of every
# block (~55 µs each): the UI keeps its block count low (tests/test_app.py holds the ceiling). Hence help text in
# `info=`, the Textbox's own submit button, one answer area for the six query tabs, the models side by side in one
# Markdown table, and one shared JSON panel. The named API endpoints are trigger-less events (`gr.on([])`, like
# `gr.api` but reusing the tabs' inputs and the JSON panel instead of adding blocks); the buttons run private
# functions that query once and render, so people get a sentence and a table and API clients get the data.


def api_endpoint(endpoint: Callable[..., dict], inputs: list[gr.Component], raw: gr.JSON) -> None:
    """A named API endpoint with the tab's inputs (their names and types) that returns the query's JSON.

    ``preprocess=False``: the raw values reach our function, which validates them first and answers with its
    own escaped Spanish message; Gradio's component checks would echo the value ("Value: <img…> is not in the
    list of choices") or leak internals ("Original error: TypeError…")."""
    gr.on([], endpoint, inputs=inputs, outputs=raw, api_name=endpoint.__name__, preprocess=False)


def bounded(slider: gr.Slider) -> gr.Slider:
    """Publish the slider's range in the API and MCP input schema: Gradio 6.31 describes a slider as a bare
    number, so MCP clients could not know k is 1–20 (the MCP server validates calls against this schema)."""
    whole = float(slider.step).is_integer() and float(slider.minimum).is_integer()
    slider.api_info_as_input = lambda: {**gr.Slider.api_info(slider), "type": "integer" if whole else "number",
                                        "minimum": slider.minimum, "maximum": slider.maximum}
    return slider


def plain_text_schema(dropdown: gr.Dropdown) -> gr.Dropdown:
    """A dropdown with hundreds of choices is a string in the API schema, not a 10 KB enum (the function
    checks the value itself and says how to list the choices)."""
    dropdown.api_info_as_input = lambda: {"type": "string"}
    return dropdown


def query_tab(
    label: str,
    intro: str,
    endpoint: Callable[[str], dict],
    input_label: str,
    examples: list[str],
    raw: gr.JSON,
) -> tuple[gr.Tab, gr.Textbox]:
    """One sub-tab = one named API endpoint: a textbox (help text as its info, its own submit button) + examples."""
    with gr.Tab(label) as tab:
        text = gr.Textbox(label=input_label, info=intro, placeholder=examples[0], max_lines=1,
                          submit_btn="Consultar / Ask")
        gr.Examples(examples=[[example] for example in examples], inputs=text, label="Ejemplos")
    api_endpoint(endpoint, [text], raw)
    return tab, text


QUERY_TABS = [  # (tab, intro, endpoint, query, renderer, input label, examples)
    ("Estrenos por mes", "Cuántas películas del catálogo se estrenaron en un mes, sumando todos los años.",
     cantidad_filmaciones_mes, queries.cantidad_filmaciones_mes, render_month, "Mes / Month",
     ["marzo", "Diciembre", "septiembre", "May"]),
    ("Estrenos por día", "Cuántas películas se estrenaron en cada día de la semana.",
     cantidad_filmaciones_dia, queries.cantidad_filmaciones_dia, render_weekday, "Día / Weekday",
     ["viernes", "miércoles", "Sabado", "sunday"]),
    ("Score por título",
     "Año de estreno y score (popularidad TMDB) de una película. Títulos aproximados sugieren candidatos.",
     score_titulo, title_score, render_score, "Título / Title",
     ["Titanic", "toy story", "Batman (1966)", "Amelie"]),
    ("Votos por título", "Votos y promedio: solo se informan películas con al menos 2000 votos.",
     votos_titulo, title_votes, render_votes, "Título / Title",
     ["The Dark Knight", "Inception", "Batman (1966)", "Up"]),
    ("Actor", "Películas en las que actúa una persona (dirigir no cuenta) y su retorno (ingresos / presupuesto).",
     get_actor, queries.get_actor, render_person, "Actor / actriz",
     ["Tom Hanks", "Scarlett Johansson", "penelope cruz", "Samuel L. Jackson"]),
    ("Director", "Películas dirigidas por una persona: fecha, presupuesto, ingresos, ganancia y retorno.",
     get_director, queries.get_director, render_person, "Director / directora",
     ["Christopher Nolan", "Kathryn Bigelow", "pedro almodovar", "Steven Spielberg"]),
]


def query_tabs(raw: gr.JSON) -> None:
    """The original project's six queries, one sub-tab each inside 'Consultas', sharing one answer area below
    (sentence, table, suggestion chips); a click on a chip asks the query of the tab in view again with it."""
    with gr.Tab("Consultas"):
        with gr.Tabs(overflow_behavior="wrap"):  # on a phone the tabs wrap onto a second line, none hidden in a menu
            tabs = [(query_tab(label, intro, endpoint, input_label, examples, raw), query, render)
                    for label, intro, endpoint, query, render, input_label, examples in QUERY_TABS]
        message = gr.Markdown()
        chips = suggestion_chips()
        table = gr.Dataframe(interactive=False, wrap=True, max_height=420, show_label=False, visible=False)
        in_view = gr.State(0)  # which sub-tab the shared answer area belongs to
    texts = [text for (_tab, text), _query, _render in tabs]
    views = [query_view(query, render) for _text, query, render in tabs]
    for position, ((tab, text), _query, _render) in enumerate(tabs):
        gr.on([text.submit], views[position], inputs=text, outputs=[message, table, raw, chips],
              api_visibility="private")
        tab.select(lambda position=position: (*clear_answer(), position), outputs=[message, table, chips, in_view],
                   api_visibility="private", queue=False, show_progress="hidden")

    def ask_again(sample: list[str], position: int) -> tuple:
        """The chip's text goes into the tab's box, and that tab's query runs with it."""
        filled = [gr.Textbox(value=sample[0]) if index == position else gr.Textbox() for index in range(len(texts))]
        return (*filled, *views[position](sample[0]))

    chips.click(ask_again, inputs=[chips, in_view], outputs=[*texts, message, table, raw, chips],
                api_visibility="private")


def models_tab(label: str, intro: str, endpoint: Callable[..., dict], query: Callable[..., Any],
               render: Callable[[dict], str], input_label: str, examples: list[str], progress_note: str,
               button_label: str, raw: gr.JSON) -> gr.Textbox:
    """A text + k -> every model's ranked list side by side (one Markdown); returns the textbox."""
    with gr.Tab(label):
        problem = f"\n\n**⚠️ Recomendadores desactivados:** {escape_markdown(RECOMMENDER_PROBLEM)}" \
            if RECOMMENDER_PROBLEM else ""
        gr.Markdown(intro + problem)
        with gr.Row(equal_height=True):  # one Row and one Form for both inputs
            text = gr.Textbox(label=input_label, placeholder=examples[0], scale=4, max_lines=2, submit_btn=button_label,
                              min_width=300)  # wider than half a phone: the row wraps and the box keeps full width
            k = bounded(gr.Slider(service.MIN_K, service.MAX_K, value=service.DEFAULT_K, step=1, label="k (por modelo)",
                                  scale=1))
        gr.Examples(examples=[[example] for example in examples], inputs=text, label="Ejemplos")
        chips = suggestion_chips()
        result = gr.Markdown(progress_note, sanitize_html=True)
    api_endpoint(endpoint, [text, k], raw)
    show = models_view(query, render)
    text.submit(show, inputs=[text, k], outputs=[result, raw, chips], api_visibility="private",
                show_progress_on=[result])
    chips.click(lambda sample, k: (sample[0], *show(sample[0], k)), inputs=[chips, k], outputs=[text, result, raw, chips],
                api_visibility="private", show_progress_on=[result])
    return text


def recommender_tabs(raw: gr.JSON) -> None:
    title = models_tab(
        "Recomendación",
        "Películas para una que te gusta, según cada modelo, **lado a lado**. Dos intenciones aprendidas: "
        "**Parecidas** (se parecen en argumento, género, reparto, director; sirve para cualquier película) y "
        "**A quien le gustó… también le gustó** (lo que sus fans de MovieLens también vieron; el modelo por "
        "defecto de `recomendacion`). Junto a ellas, TF-IDF, embeddings y la receta original. Cada recomendación "
        "dice *por qué*: lo que más la empujó en el modelo y lo que comparte con tu película." + intent_line(),
        comparar_modelos, service.compare, render_comparison, "Título / Title",
        ["Toy Story", "The Dark Knight", "Inception", "Amelie", "Batman (1966)", "Titanic"],
        "Escribe un título y pulsa *Comparar*.", "Comparar / Compare", raw,
    )
    api_endpoint(recomendacion, [title], raw)  # API only: the tab shows it in context (the default model's picks)
    models_tab(
        "Búsqueda libre",
        "Describe una película con tus palabras, **en español o en inglés**. El modelo multilingüe entiende ambos "
        "(el catálogo está en inglés); TF-IDF busca las mismas palabras y los embeddings MiniLM el mismo sentido "
        "en inglés.",
        buscar, service.search, render_search, "Descripción / Description",
        ["unos juguetes que cobran vida cuando nadie los ve", "un tiburón aterroriza un pueblo de playa",
         "a lonely astronaut stranded on Mars", "un robo dentro de los sueños", "robots fight aliens in a big city"],
        "La primera búsqueda carga los modelos de texto (unos segundos); las siguientes tardan milisegundos.",
        "Buscar / Search", raw,
    )


def evaluacion_pelicula(pelicula: str) -> dict:
    """Para una película de prueba: lo que sus fans también calificaron alto (verdad de referencia) junto al top 10
    de cada modelo. / Ground truth next to each model's top 10 for one test film.

    Args:
        pelicula: etiqueta "Título (año)" de una de las películas de prueba de la evaluación.
    """
    if EVALUATION is None:
        raise gr.Error("La evaluación no está disponible: ejecuta `python scripts/evaluate.py`.", print_exception=False)
    choices = dict(comparison.film_choices(EVALUATION))
    if not isinstance(pelicula, str) or pelicula not in choices:
        raise gr.Error(f"No es una de las {len(choices)} películas de prueba: elige una del desplegable «Película de "
                       "prueba» (etiqueta «Título (año)», p. ej. «The Dark Knight (2008)»).", title="Consulta no válida",
                       print_exception=False)
    table = comparison.film_view(EVALUATION, choices[pelicula])
    return {"resumen": comparison.film_summary(EVALUATION, choices[pelicula]), "tabla": table.to_dict(orient="records")}


def render_film_evaluation(result: dict) -> tuple[str, pd.DataFrame]:
    summary = result["resumen"]
    hits = ", ".join(f"{escape_markdown(SYSTEM_LABELS.get(name, name))}: {count}" for name, count in summary["hits"].items())
    message = (
        f"**{escape_markdown(summary['label'])}**: {summary['heldout_fans']} fans en los usuarios de prueba; "
        f"{summary['relevant']} películas que esos fans también calificaron alto (la referencia). Aciertos en el "
        f"top 10 (✓): {hits}."
    )
    return message, pd.DataFrame(result["tabla"])


def film_evaluation_view(pelicula: str) -> tuple[str, gr.Dataframe, dict]:
    """The UI side of evaluacion_pelicula (not an API endpoint): summary, table and the JSON."""
    result = evaluacion_pelicula(pelicula)
    summary, table = render_film_evaluation(result)
    return summary, shown_table(table), result


def metric_chart(metric_label: str):
    """Bars of one metric per model with their 95% bootstrap intervals (matplotlib: native plots lack error bars)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    values = comparison.metric_values(EVALUATION, comparison.METRIC_LABELS_ES)
    values = values[values["metric_label"] == metric_label]
    # Nearly square with large type: the same image must stay legible at a phone's 330 px and on a desktop.
    figure, axis = plt.subplots(figsize=(6.4, 5.2), layout="constrained")
    default = served_default()
    colours = ["#f97316" if name == default else "#6366f1" for name in values["system"]]
    labels = [textwrap.fill(label, 24) for label in values["label"]]
    axis.barh(labels, values["mean"], color=colours,
              xerr=[values["mean"] - values["low"], values["high"] - values["mean"]], capsize=4)
    axis.invert_yaxis()
    axis.tick_params(labelsize=12)
    axis.set_xlabel(f"{metric_label}\n(media e intervalo bootstrap del 95 %)", fontsize=12)
    axis.set_title(f"{metric_label} por modelo\n{EVALUATION['counts']['test_queries']} películas de prueba", fontsize=13)
    axis.grid(axis="x", alpha=0.3)
    plt.close(figure)
    return figure


def comparison_tab(raw: gr.JSON) -> tuple[gr.Dropdown, list[gr.Component]] | None:
    """Metrics, chart and per-film view; returns the film dropdown and its outputs so the page load can fill them."""
    with gr.Tab("Comparación de modelos"):
        if EVALUATION is None:
            gr.Markdown("**⚠️ La evaluación no describe este catálogo o índice:** ejecuta `python scripts/evaluate.py`.")
            return None
        gr.Markdown(
            "¿Qué modelo recomienda lo que la gente **realmente** ve junta? Para cada película de prueba, la verdad de "
            "referencia son las películas que más calificaron con ≥ 4 los mismos usuarios de MovieLens: usuarios de "
            "prueba, distintos de los que entrenan los modelos y de los que sirven para elegir sus ajustes. "
            "Intervalos de confianza bootstrap del 95 %; en `data/eval/RESULTS.md` (`python scripts/evaluate.py`), "
            "también intervalos que remuestrean usuarios, la cola larga y el arranque en frío."
        )
        metrics = comparison.metric_table(EVALUATION, comparison.METRIC_LABELS_ES)
        metrics.iloc[:, 1:] = metrics.iloc[:, 1:].apply(lambda column: column.str.replace(".", ",", regex=False))
        gr.Dataframe(metrics, interactive=False, wrap=True, show_label=False, pinned_columns=1,
                     column_widths=column_widths(metrics))  # model names stay in view while the metrics scroll
        labels = list(dict.fromkeys(comparison.metric_values(EVALUATION, comparison.METRIC_LABELS_ES)["metric_label"]))
        metric = gr.Dropdown(labels, value=labels[1] if len(labels) > 1 else labels[0], label="Métrica del gráfico")
        chart = gr.Plot(value=metric_chart(metric.value), show_label=False)
        metric.change(metric_chart, inputs=metric, outputs=chart, api_visibility="private")
        choices = [label for label, _ in comparison.film_choices(EVALUATION)]
        film = plain_text_schema(gr.Dropdown(
            choices, value=DEFAULT_TEST_FILM if DEFAULT_TEST_FILM in choices else choices[0],
            label="Película de prueba", info="Una película de prueba: verdad de referencia junto a cada modelo.",
            filterable=True))
        summary = gr.Markdown()
        table = gr.Dataframe(interactive=False, wrap=True, show_label=False, pinned_columns=2)
    outputs = [summary, table, raw]
    api_endpoint(evaluacion_pelicula, [film], raw)
    film.change(film_evaluation_view, inputs=film, outputs=outputs, api_visibility="private")
    return film, outputs


def explorar(desde: float, hasta: float, genero: str, votos_minimos: float) -> tuple:
    """Datos de los gráficos de exploración, filtrados por años y género. / Chart data, filtered.

    Args:
        desde: primer año de estreno incluido.
        hasta: último año de estreno incluido.
        genero: un género TMDB (p. ej. "Drama") o "all" para todos.
        votos_minimos: votos mínimos para la distribución de puntuaciones.
    """
    try:
        filters = (desde, hasta, genero)
        chosen = explore.select(*filters)  # validated: defaults, swapped range, canonical genre
        genre_note = "" if chosen.genre is None else f" del género {escape_markdown(spanish.genre(chosen.genre))}"
        return (
            f"**{spanish.count(len(chosen), 'película', 'películas')}** entre {chosen.year_from} y {chosen.year_to}"
            f"{genre_note}.",
            explore.releases_per_year(*filters),
            explore.releases_per_month(*filters),
            explore.releases_per_weekday(*filters),
            explore.genre_counts(*filters),
            explore.budget_vs_revenue(*filters),
            explore.rating_distribution(*filters, min_votes=votos_minimos),
        )
    except QueryError as exc:
        raise gr.Error(html.escape(exc.message), title="Filtro no válido", print_exception=False) from None


def explore_tab() -> tuple[list[gr.Component], list[gr.Component]]:
    """Filters and charts; returns (inputs, outputs) so the page load can fill the charts once."""
    first, last = explore.year_bounds()
    titles = explore.AXIS_TITLES
    chart = {"y_title": titles["films"], "y_lim": [0, None], "height": 300, "min_width": 480}  # two per line
    with gr.Tab("Exploración"):
        gr.Markdown(
            "Exploración del catálogo: cada gráfico se recalcula con los filtros. El informe completo, con los "
            "problemas de datos que encontramos, está en `data/eda/REPORT.md` (`python scripts/eda.py`)."
        )
        with gr.Row():
            year_from = bounded(gr.Slider(first, last, value=1980, step=1, label="Desde (año)"))
            year_to = bounded(gr.Slider(first, last, value=last, step=1, label="Hasta (año)"))
            genre = gr.Dropdown(explore.genre_choices(), value=explore.ALL_GENRES, label="Género", min_width=200)
            min_votes = bounded(gr.Slider(0, 1000, value=explore.DEFAULT_MIN_VOTES, step=10,
                                          label="Votos mínimos (puntuaciones)"))
        summary = gr.Markdown()
        with gr.Row():  # one Row: the six charts wrap two per line (their min_width)
            per_year = gr.LinePlot(x="year", y="films", title="Estrenos por año", x_title=titles["year"],
                                   x_axis_format="d", **chart)
            genres = gr.BarPlot(x="genre", y="films", title="Películas por género", x_title=titles["genre"],
                                sort="-y", x_label_angle=-45, **chart)
            per_month = gr.BarPlot(x="month", y="films", title="Estrenos por mes", x_title=titles["month"],
                                   sort=MONTHS_ES, x_label_angle=-45, **chart)
            per_weekday = gr.BarPlot(x="weekday", y="films", title="Estrenos por día de la semana",
                                     x_title=titles["weekday"], sort=WEEKDAYS_ES, x_label_angle=-45, **chart)
            money = gr.ScatterPlot(x="budget_musd", y="revenue_musd", title="Presupuesto vs. ingresos",
                                   x_title=titles["budget_musd"], y_title=titles["revenue_musd"],
                                   tooltip=["title", "year", "budget_musd", "revenue_musd", "return_ratio"],
                                   height=320, min_width=480)
            ratings = gr.BarPlot(x="rating", y="films", title="Distribución de puntuaciones",
                                 x_title=titles["rating"], sort=explore.RATING_LABELS, x_label_angle=-45,
                                 **chart | {"height": 320})
        inputs = [year_from, year_to, genre, min_votes]
        outputs = [summary, per_year, per_month, per_weekday, genres, money, ratings]
        gr.on([c.change for c in inputs], explorar, inputs=inputs, outputs=outputs, api_name="explorar", preprocess=False,
              trigger_mode="always_last", show_progress="minimal")
    return inputs, outputs


def build_demo() -> gr.Blocks:
    catalog = queries.load_catalog()  # fail fast, and make the first request as quick as the rest
    with gr.Blocks(title=TITLE) as demo:
        gr.Markdown(
            f"# 🎬 {TITLE}\n"
            f"{spanish.count(len(catalog), 'película', 'películas')} de TMDB 5000 · consultas del proyecto original · "
            "cada pestaña es también un endpoint de la API (el enlace a la API está al pie de la página)."
        )
        # the named endpoints' output, and what the last query answered as JSON (rendered below the tabs)
        raw = gr.JSON(label="respuesta", show_label=False, render=False)
        with gr.Tabs(overflow_behavior="wrap"):  # on a phone the tabs wrap onto a second line, none hidden in a menu
            recommender_tabs(raw)
            query_tabs(raw)
            per_film = comparison_tab(raw)
            inputs, outputs = explore_tab()
        with gr.Accordion("Respuesta JSON de la última consulta / Last API response", open=False):
            raw.render()
        demo.load(explorar, inputs=inputs, outputs=outputs, api_visibility="private")
        if per_film:
            film, film_outputs = per_film
            demo.load(lambda pelicula: film_evaluation_view(pelicula)[:2], inputs=film, outputs=film_outputs[:2],
                      api_visibility="private")
    # Queue settings, measured in data/bench/RESULTS.md ("HTTP variants"):
    # - the functions take µs to ms and hold the GIL, so more concurrency adds no throughput; 4 per event lets a
    #   slow call (the first free-text search loading the model) not hold up that event for everyone;
    # - status_update_rate=1 instead of "auto" (a broadcast of queue estimates after every job): measured neutral
    #   within launch-to-launch noise; kept so a burst does not multiply broadcasts.
    # The session cap (state_session_capacity) is a launch option: see launch_options().
    demo.queue(default_concurrency_limit=4, status_update_rate=1)
    return demo


try:
    demo = build_demo()
except ArtifactError as error:  # a missing or corrupt catalog: say what to run, no traceback
    raise SystemExit(f"Cannot start the app: {error}") from None


# ------------------------------------------------------------------ the original REST routes

def recommend(titulo: object, modelo: str | None = None) -> TitleRecommendations:
    """recomendacion over REST: ``?modelo=`` names any model the comparison shows (default: the evaluated one)."""
    return service.recommend_titles(titulo, model=modelo or None)


@dataclass(frozen=True)
class RestRoute:
    """One GET route of the original API: ``/<name>/<value>`` and ``/<name>?<parameter>=<value>`` both answer."""

    endpoint: Callable[..., dict]  # the Gradio endpoint, for its name and docstring
    parameter: str
    query: Callable[..., Any]
    model: type  # the response model (the query's dataclass)
    aliases: tuple[str, ...] = ()  # the original project's own route names
    options: tuple[str, ...] = ()  # optional query-string parameters, passed to the query by name


REST_ROUTES = [
    RestRoute(cantidad_filmaciones_mes, "mes", queries.cantidad_filmaciones_mes, MonthCount,
              aliases=("cantidad_peliculas_mes",)),
    RestRoute(cantidad_filmaciones_dia, "dia", queries.cantidad_filmaciones_dia, WeekdayCount,
              aliases=("cantidad_peliculas_dia",)),
    RestRoute(score_titulo, "titulo", title_score, TitleScore),
    RestRoute(votos_titulo, "titulo", title_votes, TitleVotes),
    RestRoute(get_actor, "nombre_actor", queries.get_actor, PersonReturn),
    RestRoute(get_director, "nombre_director", queries.get_director, PersonReturn),
    RestRoute(recomendacion, "titulo", recommend, TitleRecommendations, options=("modelo",)),
]


def rest_handler(route: RestRoute, in_path: bool) -> Callable[..., Any]:
    """The query's dataclass as JSON (FastAPI serialises it); the value comes from the path or the query string
    (absent: None, which the query refuses with its own Spanish message rather than FastAPI's)."""

    def handler(**params: str | None) -> Any:
        return route.query(params[route.parameter], **{name: params[name] for name in route.options})

    optional = {"default": None, "annotation": Optional[str]}
    value = inspect.Parameter(route.parameter, inspect.Parameter.KEYWORD_ONLY,
                              **({"annotation": str} if in_path else optional))
    handler.__signature__ = inspect.Signature(  # FastAPI reads the parameters' names and kinds from the signature
        [value, *(inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, **optional) for name in route.options)]
    )
    return handler


async def query_error_response(_request: Request, error: QueryError) -> JSONResponse:
    """Unknown title/name -> 404; invalid input (empty, too long, not a month...) -> 422."""
    return JSONResponse(
        {"detail": error.message, "suggestions": error.suggestions}, status_code=404 if error.not_found else 422
    )


async def artifact_error_response(_request: Request, error: ArtifactError) -> JSONResponse:
    """A broken index: the recommender is unavailable (503), the queries keep working."""
    return JSONResponse({"detail": str(error)}, status_code=503)


class AnyText(convertors.Convertor):
    """A path parameter that is the rest of the path, newlines and other control characters included, so a
    title like "Toy\\nStory" reaches the query's own message (422/404) instead of routing's bare 404."""

    regex = r"[\s\S]*"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


convertors.register_url_convertor("anytext", AnyText())


REST_INFO = {
    "title": "Películas API",
    "version": "1.0",
    "description": "The original project's REST routes. The Gradio app, its API (/gradio_api/info) and MCP server "
                   "live at /.",
}


def rest_routes() -> list[APIRoute]:
    """The original project's GET routes (path and query-string forms, and its own route names as aliases), plus
    their own OpenAPI schema and docs page (the schema lists these routes only: Gradio's API documents itself at
    /gradio_api/info and /gradio_api/openapi.json)."""
    responses = {404: {"description": "Unknown title or name; `suggestions` lists candidates"},
                 422: {"description": "Invalid input (empty, too long, not a month, unknown model...)"},
                 503: {"description": "Recommender index missing or stale (recomendacion only)"}}
    routes = []
    for route in REST_ROUTES:
        name = route.endpoint.__name__
        for path_name, alias in [(name, False), *((other, True) for other in route.aliases)]:
            summary = f"Alias de /{name} (el nombre del proyecto original)" if alias else \
                route.endpoint.__doc__.splitlines()[0]
            for in_path in (True, False):
                path = f"/{path_name}/{{{route.parameter}:anytext}}" if in_path else f"/{path_name}"  # "Face/Off"
                routes.append(APIRoute(
                    path, rest_handler(route, in_path), methods=["GET"], response_model=route.model,
                    name=f"{path_name}{'' if in_path else '_query'}", summary=summary, responses=responses,
                    tags=["alias del proyecto original"] if alias else ["consultas"],
                ))
    schema = get_openapi(routes=routes, **REST_INFO)
    return [
        *routes,
        APIRoute("/openapi.json", lambda: schema, methods=["GET"], include_in_schema=False),
        APIRoute("/docs", lambda: get_swagger_ui_html(openapi_url="/openapi.json", title=REST_INFO["title"]),
                 methods=["GET"], include_in_schema=False),
    ]


# ------------------------------------------------------------------ what a request may carry, and what a response says

NO_FILES = "Esta app no acepta archivos: envía texto o números."


def _carries_file(payload: Any) -> bool:
    """Whether JSON holds a Gradio file object ({"path": …, "meta": {"_type": "gradio.FileData"}}) at any depth.
    Iterative, so a deeply nested payload cannot exhaust the stack."""
    pending = [payload]
    while pending:
        value = pending.pop()
        if isinstance(value, dict):
            meta = value.get("meta")
            if isinstance(meta, dict) and meta.get("_type") == "gradio.FileData":
                return True
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
    return False


async def refuse_files(request: Request) -> None:
    """A dependency of every route (REST and Gradio's own): the app has no file inputs, so it accepts no file.

    With the app launched by ``demo.launch`` Gradio already refuses local paths that were not uploaded; this
    also refuses uploads and file objects naming URLs (which Gradio would download into its cache), and
    answers in Spanish instead of Gradio's empty error."""
    if request.method not in ("POST", "PUT", "PATCH"):
        return
    if request.headers.get("content-type", "").startswith(("multipart/", "application/x-www-form-urlencoded")):
        raise HTTPException(status_code=415, detail=NO_FILES)
    try:
        payload = await request.json()  # parsed and cached by FastAPI for the route itself: no second parse
    except (ValueError, RecursionError):
        return  # not JSON: the route answers its own 4xx
    if _carries_file(payload):
        raise HTTPException(status_code=422, detail=NO_FILES)


SPACES_FRAME_ANCESTORS = "'self' https://huggingface.co https://*.huggingface.co https://*.hf.space"
SECURITY_HEADERS = {
    b"x-content-type-options": b"nosniff",
    b"referrer-policy": b"strict-origin-when-cross-origin",
    # only frame-ancestors: Spaces shows the app in an iframe on huggingface.co; no one else may frame it
    b"content-security-policy": f"frame-ancestors {SPACES_FRAME_ANCESTORS}".encode(),
}
PROXY_HOST_HEADERS = (b"x-forwarded-host", b"x-forwarded-proto", b"x-gradio-server")


def on_spaces() -> bool:
    return bool(os.environ.get("SPACE_ID"))


class SecurityHeaders:
    """ASGI middleware: the headers above on every HTTP response, and, off Spaces, no trust in the headers a
    proxy would set: Gradio builds the page's and files' URLs from X-Forwarded-Host, so any client could make
    them point elsewhere. On Spaces, Hugging Face's proxy sets them and they are needed."""

    def __init__(self, app: Any, trust_proxy_headers: bool) -> None:
        self.app = app
        self.trust_proxy_headers = trust_proxy_headers

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        if not self.trust_proxy_headers:
            scope = {**scope, "headers": [(k, v) for k, v in scope["headers"] if k.lower() not in PROXY_HOST_HEADERS]}

        async def send_with_headers(message: dict) -> None:
            if message["type"] == "http.response.start":
                present = {key.lower() for key, _ in message.get("headers", [])}
                extra = [(key, value) for key, value in SECURITY_HEADERS.items() if key not in present]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, send_with_headers)


# The textboxes' own submit buttons (no separate Button block) styled like primary buttons, and wide Markdown tables.
CSS = """
.submit-button.padded-button { background: var(--button-primary-background-fill); color: var(--button-primary-text-color);
  font-weight: var(--button-large-text-weight); border-radius: var(--button-large-radius); }
.submit-button.padded-button:hover { background: var(--button-primary-background-fill-hover); }
/* The models side by side: on a phone the Markdown table scrolls sideways instead of breaking words apart. */
.prose table { display: block; max-width: 100%; overflow-x: auto; }
.prose th, .prose td { overflow-wrap: normal; word-break: normal; min-width: 11em; }
.prose th:first-child, .prose td:first-child { min-width: 2em; }
"""


def server_address() -> tuple[str, int]:
    """Spaces sets SPACE_ID and expects 0.0.0.0:7860; anywhere else the app stays on localhost."""
    host = os.environ.get("GRADIO_SERVER_NAME", "0.0.0.0" if on_spaces() else "127.0.0.1")
    return host, int(os.environ.get("GRADIO_SERVER_PORT", "7860"))


def launch_options() -> dict:
    """How the app is served: ``demo.launch`` (Gradio's supported way, so its file checks are active), with the
    original REST routes, the Spanish file refusal and the security headers on the same FastAPI app."""
    return {
        "app_kwargs": {
            "lifespan": json_mcp_results,
            "openapi_url": None,  # rest_routes() serves the REST schema and docs; Gradio's API documents itself
            "routes": rest_routes(),
            "dependencies": [Depends(refuse_files)],
            "exception_handlers": {QueryError: query_error_response, ArtifactError: artifact_error_response},
            "middleware": [Middleware(SecurityHeaders, trust_proxy_headers=on_spaces())],
        },
        "mcp_server": True,
        "show_error": False,  # only our own gr.Error messages reach clients, never Gradio's internals
        "max_file_size": "1kb",  # no component takes a file; refuse_files refuses uploads outright
        "ssr_mode": False,
        "state_session_capacity": 200,  # each browser tab or client keeps a ~145 KB session (default: 10,000)
        "theme": gr.themes.Soft(),
        "css": CSS,
        "footer_links": ["api", "settings"],
        "quiet": True,
    }


def json_tool_results(server: Any) -> None:
    """MCP tool results as JSON text. Gradio 6.31 turns every non-file result into ``str(value)`` (gradio/mcp.py,
    ``postprocess_output_data``): a Python repr with single quotes that agents cannot parse as JSON, and no
    option changes it (gr.JSON, gr.api, ``structured_output`` tried: see README). This wraps that one method of
    the app's MCP server so dicts and lists are ``json.dumps``-ed first; files keep Gradio's handling."""
    original = server.postprocess_output_data

    def as_json(value: Any) -> Any:
        if hasattr(value, "model_dump"):  # an output model (JsonData, PlotData) on the unqueued path
            value = value.model_dump()
        if isinstance(value, (dict, list)) and not client_utils.is_file_obj_with_meta(value):
            return json.dumps(value, ensure_ascii=False)
        return value

    def postprocess_output_data(data: list, root_url: str) -> list:
        if len(data) == 1 and isinstance(data[0], tuple):  # a multi-output event, queued, without progress token
            data = list(data[0])
        return original([as_json(value) for value in data], root_url)

    server.postprocess_output_data = postprocess_output_data


@contextlib.asynccontextmanager
async def json_mcp_results(_app: Any) -> AsyncIterator[None]:
    """Lifespan: runs once the MCP server exists and before the server accepts any request."""
    if demo.mcp_server_obj is not None:
        json_tool_results(demo.mcp_server_obj)
    yield


def launch(host: str, port: int, *, block: bool = True) -> str:
    """Start the server; returns its URL once it is listening (``block=False``: for tests and benchmarks)."""
    demo.launch(server_name=host, server_port=port, prevent_thread_lock=True, **launch_options())
    url = demo.local_url.rstrip("/")
    if block:
        print(f"* Running on {url}  (REST docs: /docs, MCP: /gradio_api/mcp/sse)", flush=True)
        demo.block_thread()
    return url


def warm_up_in_background() -> None:
    """Load the sentence model after start-up, off the request path, so the first free-text search is fast
    (the app answers HTTP before this finishes; until then the first search loads it itself)."""
    if RECOMMENDER_PROBLEM is None:
        threading.Thread(target=service.warm_up, name="warm-up", daemon=True).start()


if __name__ == "__main__":
    host, port = server_address()
    warm_up_in_background()
    try:
        launch(host, port)
    except OSError as error:  # Gradio's "Cannot find empty port…": one line, no traceback
        raise SystemExit(f"Cannot start the app: {host}:{port} is busy or unavailable ({error.strerror or 'in use'}). "
                         "Set GRADIO_SERVER_PORT to a free port.") from None
