"""End to end in Debian's Chromium (Playwright): use every tab as a person would and read what is shown.

Screenshots go to tests/artifacts/. Without /usr/bin/chromium the tests are skipped locally (the reason is
printed at the end of the run), but fail in CI (CI=true), where .ci/run installs it.
"""
from __future__ import annotations

import os
import re
import unicodedata
from pathlib import Path

import pytest

CHROMIUM = Path(os.environ.get("MOVIES_TEST_CHROMIUM", "/usr/bin/chromium"))  # Debian's; overridable for tests
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--no-first-run", "--disable-sync", "--disable-quic",
]

if not CHROMIUM.exists():
    if os.environ.get("CI"):  # .ci/run installs it: a missing browser in CI is a failure, never a silent skip
        pytest.fail("CI=true but /usr/bin/chromium is missing: .ci/run must apt-get install chromium",
                    pytrace=False)
    pytest.skip("Debian chromium is not installed (apt-get install chromium)", allow_module_level=True)

from playwright.sync_api import Page, expect, sync_playwright  # noqa: E402


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture()
def page(browser, live_url) -> Page:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.dialogs = []
    page.on("dialog", lambda dialog: (page.dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(live_url, wait_until="load", timeout=60_000)
    # ready when Gradio has rendered the tabs ("networkidle" is fragile: the app keeps streaming connections)
    expect(page.get_by_role("tab", name="Recomendación", exact=True)).to_be_visible(timeout=60_000)
    yield page
    context.close()


QUERY_TABS = {"Estrenos por mes", "Estrenos por día", "Score por título", "Votos por título", "Actor", "Director"}


def open_tab(page: Page, name: str) -> None:
    """Top-level tabs, and the six query sub-tabs inside 'Consultas'."""
    if name in QUERY_TABS:
        page.get_by_role("tab", name="Consultas", exact=True).click()
    page.get_by_role("tab", name=name, exact=True).click()


def ask(page: Page, label: str, text: str) -> None:
    box = page.get_by_label(label).filter(visible=True).first
    box.fill(text)
    box.press("Enter")


def shot(page: Page, name: str) -> None:
    """A full-page screenshot once Gradio's fade-in of new outputs has finished (README images come from these)."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.wait_for_timeout(800)
    page.screenshot(path=ARTIFACTS / f"{name}.png", full_page=True)


@pytest.mark.parametrize(
    ("tab", "label", "text", "visible"),
    [
        ("Estrenos por mes", "Mes / Month", "Marzo", "En el mes de marzo se estrenaron 372 películas."),
        ("Estrenos por día", "Día / Weekday", "miercoles", "Los días miércoles se estrenaron 795 películas."),
        ("Score por título", "Título / Title", "titanic", "fue estrenada en el año 1997 con un score/popularidad de 100,03"),
        ("Votos por título", "Título / Title", "Batman (1966)", "no cumple la condición de tener al menos 2.000"),
        ("Actor", "Actor / actriz", "Tom Hanks", "Tom Hanks ha participado de 32 filmaciones"),
        ("Director", "Director / directora", "christopher nolan", "Christopher Nolan dirigió 8 películas"),
    ],
)
def test_each_query_tab_shows_sentence_and_table(page, tab, label, text, visible):
    open_tab(page, tab)
    ask(page, label, text)
    expect(page.get_by_text(visible).filter(visible=True).first).to_be_visible(timeout=15_000)
    expect(page.locator("table").filter(visible=True).first).to_be_visible()
    shot(page, re.sub(r"\W+", "_", tab.lower()))


def test_examples_fill_the_input(page):
    open_tab(page, "Director")
    page.get_by_role("button", name="Kathryn Bigelow").filter(visible=True).first.click()
    # the example fills the box through a server round trip: wait for it before asking (flaky under load otherwise)
    expect(page.get_by_label("Director / directora").filter(visible=True).first).to_have_value("Kathryn Bigelow",
                                                                                            timeout=15_000)
    page.get_by_role("button", name="Consultar / Ask").filter(visible=True).first.click()
    expect(page.get_by_text("Kathryn Bigelow dirigió").filter(visible=True).first).to_be_visible(timeout=15_000)


def test_unknown_title_shows_suggestions(page):
    open_tab(page, "Score por título")
    ask(page, "Título / Title", "Avatr")
    expect(page.get_by_text("¿Quisiste decir: Avatar (2009)?").filter(visible=True).first).to_be_visible(timeout=15_000)


def test_html_and_script_are_shown_as_text_never_run(page):
    payload = '<img src=x onerror="window.__xss=1;alert(1)"><script>window.__xss=2</script>'
    open_tab(page, "Score por título")
    ask(page, "Título / Title", payload)
    expect(page.get_by_text("No encontré la película").filter(visible=True).first).to_be_visible(timeout=15_000)
    page.wait_for_timeout(500)
    shot(page, "xss_attempt")
    assert page.evaluate("window.__xss") is None
    assert page.dialogs == []
    assert page.locator('img[src="x"]').count() == 0
    assert "<img src=x" in page.locator("body").inner_text()  # the text itself is visible, literally


def test_too_long_input_gets_a_message(page):
    open_tab(page, "Actor")
    ask(page, "Actor / actriz", "a" * 10_000)
    expect(page.get_by_text("demasiado largo").filter(visible=True).first).to_be_visible(timeout=15_000)


def test_explore_tab_redraws_with_filters(page):
    open_tab(page, "Exploración")
    expect(page.get_by_text("películas entre 1980 y 2017").filter(visible=True).first).to_be_visible(timeout=15_000)
    page.get_by_role("combobox", name="Género").click()
    page.get_by_role("option", name="Animación").click()  # genres are shown in Spanish
    expect(page.get_by_text("229 películas entre 1980 y 2017 del género Animación")).to_be_visible(timeout=15_000)
    expect(page.get_by_text("Distribución de puntuaciones").filter(visible=True).first).to_be_visible()
    page.wait_for_timeout(1000)
    shot(page, "exploracion")


def test_recommendation_tab_shows_models_side_by_side(page):
    open_tab(page, "Recomendación")
    ask(page, "Título / Title", "Toy Story")
    expect(page.get_by_text("Películas similares a Toy Story (1995)")).to_be_visible(timeout=20_000)
    for model in ("Parecidas (ranker de contenido)", "A quien le gustó… también le gustó", "TF-IDF",
                  "Embeddings por campo (MiniLM)"):
        expect(page.get_by_role("columnheader", name=re.compile(rf"^{re.escape(model)}\s+[\d.,]+ ms$"))).to_be_visible()
    expect(page.get_by_text("Toy Story 2").filter(visible=True).first).to_be_visible()
    expect(page.get_by_text("por qué:").filter(visible=True).first).to_be_visible()  # the rankers' own why
    expect(page.get_by_text("Según la evaluación con MovieLens")).to_be_visible()
    expect(page.get_by_text("dirección: John Lasseter").filter(visible=True).first).to_be_visible()
    expect(page.get_by_text("Coincidencias entre listas")).to_be_visible()
    page.get_by_text("Receta original del proyecto").click()  # the historical recipe, folded below the table
    expect(page.locator("details[open] li").first).to_be_visible()
    shot(page, "recomendacion")


def test_switching_query_clears_the_shared_answer(page):
    open_tab(page, "Actor")
    ask(page, "Actor / actriz", "Tom Hanks")
    expect(page.get_by_text("Tom Hanks ha participado").filter(visible=True).first).to_be_visible(timeout=15_000)
    page.get_by_role("tab", name="Director", exact=True).click()
    expect(page.get_by_text("Tom Hanks ha participado").filter(visible=True)).to_have_count(0, timeout=10_000)
    expect(page.locator("table").filter(visible=True)).to_have_count(0)


def test_markup_in_free_text_is_shown_as_text(page):
    payload = '<img src=x onerror="window.__xss=1">| a lonely astronaut'
    open_tab(page, "Búsqueda libre")
    ask(page, "Descripción / Description", payload)
    expect(page.get_by_text("Resultados para").filter(visible=True).first).to_be_visible(timeout=60_000)
    page.wait_for_timeout(500)
    assert page.evaluate("window.__xss") is None
    assert page.locator('img[src="x"]').count() == 0
    assert '<img src=x onerror="window.__xss=1">| a lonely astronaut' in page.locator("body").inner_text()
    page.get_by_text("Respuesta JSON de la última consulta").click()  # the shared JSON panel shows the answer
    expect(page.get_by_text('"models"').filter(visible=True).first).to_be_visible(timeout=10_000)


def test_free_text_search_understands_spanish(page):
    open_tab(page, "Búsqueda libre")
    ask(page, "Descripción / Description", "unos juguetes que cobran vida cuando nadie los ve")
    expect(page.get_by_text("Resultados para «unos juguetes que cobran vida cuando nadie los ve»")).to_be_visible(
        timeout=60_000)
    expect(page.get_by_text("Responde primero Multilingüe").filter(visible=True).first).to_be_visible()
    expect(page.get_by_text("Toy Story").filter(visible=True).first).to_be_visible()
    shot(page, "busqueda_libre")


def test_comparison_tab_shows_metrics_and_a_film(page):
    open_tab(page, "Comparación de modelos")
    expect(page.get_by_text("A quien le gustó… también le gustó").filter(visible=True).first).to_be_visible(
        timeout=15_000)
    expect(page.get_by_text("The Dark Knight (2008): 57 fans en los usuarios de prueba")).to_be_visible(timeout=30_000)
    page.get_by_role("combobox", name="Película de prueba").click()  # the list shows its first 100 films
    page.get_by_role("option", name="Avatar (2009)", exact=True).click()
    expect(page.get_by_text(re.compile(r"Avatar \(2009\): \d+ fans"))).to_be_visible(timeout=15_000)
    shot(page, "comparacion_de_modelos")


# ------------------------------------------------------------------ suggestions are one click away (issue 13 §3)


def test_a_suggestion_chip_runs_the_query(page):
    open_tab(page, "Score por título")
    ask(page, "Título / Title", "Avatr")
    chip = page.get_by_role("button", name="Avatar (2009)").filter(visible=True).first  # not typed: suggested
    expect(chip).to_be_visible(timeout=15_000)
    chip.click()
    expect(page.get_by_text("La película Avatar fue estrenada en el año 2009").filter(visible=True).first).to_be_visible(
        timeout=15_000)
    expect(page.get_by_label("Título / Title").filter(visible=True).first).to_have_value("Avatar (2009)")


def test_a_suggestion_chip_recommends(page):
    open_tab(page, "Recomendación")
    ask(page, "Título / Title", "Toy Stroy")
    chip = page.get_by_role("button", name="Toy Story (1995)").filter(visible=True).first
    expect(chip).to_be_visible(timeout=20_000)
    chip.click()
    expect(page.get_by_text("Películas similares a Toy Story (1995)")).to_be_visible(timeout=20_000)


def test_a_spanish_title_on_a_phone_offers_the_film_and_one_tap_recommends(browser, live_url):
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    try:
        page.goto(live_url, wait_until="load", timeout=60_000)
        open_tab(page, "Recomendación")
        ask(page, "Título / Title", "el caballero oscuro")
        expect(page.get_by_text("Los títulos del catálogo están en inglés").filter(visible=True).first).to_be_visible(
            timeout=30_000)
        chip = page.get_by_role("button", name="The Dark Knight (2008)").filter(visible=True).first
        expect(chip).to_be_visible()
        assert chip.bounding_box()["x"] + chip.bounding_box()["width"] <= 390  # on screen, not off to the side
        chip.click()
        expect(page.get_by_text("Películas similares a The Dark Knight (2008)")).to_be_visible(timeout=20_000)
    finally:
        context.close()


# ------------------------------------------------------------------ phones and desktops (issue 13 §1)

SIZES = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 800}}
TOP_TABS = ["Recomendación", "Búsqueda libre", "Consultas", "Comparación de modelos", "Exploración"]
SPLIT_WORDS = """() => [...document.querySelectorAll('th')].filter(th => th.offsetParent).flatMap(th => {
    const split = [];
    const walker = document.createTreeWalker(th, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        for (const match of node.textContent.matchAll(/\\S+/g)) {
            const range = document.createRange();
            range.setStart(node, match.index);
            range.setEnd(node, match.index + match[0].length);
            const lines = new Set([...range.getClientRects()].filter(r => r.width > 0).map(r => Math.round(r.top)));
            if (lines.size > 1) split.push(match[0]);
        }
    }
    return split;
})"""


def fill_tab(page: Page, tab: str) -> None:
    """Put an answer on the tab, so tables and charts are there to measure."""
    if tab == "Recomendación":
        ask(page, "Título / Title", "Toy Story")
        expect(page.get_by_text("Películas similares a Toy Story (1995)")).to_be_visible(timeout=20_000)
    elif tab == "Búsqueda libre":
        ask(page, "Descripción / Description", "a lonely astronaut stranded on Mars")
        expect(page.get_by_text("Resultados para").filter(visible=True).first).to_be_visible(timeout=60_000)
    elif tab == "Consultas":
        page.get_by_role("tab", name="Actor", exact=True).click()
        ask(page, "Actor / actriz", "Tom Hanks")
        expect(page.get_by_text("Tom Hanks ha participado").filter(visible=True).first).to_be_visible(timeout=15_000)
    elif tab == "Comparación de modelos":
        expect(page.get_by_text("57 fans en los usuarios de prueba")).to_be_visible(timeout=30_000)
    else:
        expect(page.get_by_text("películas entre 1980 y 2017").filter(visible=True).first).to_be_visible(timeout=15_000)


@pytest.mark.parametrize("size", list(SIZES))
def test_every_tab_is_usable_on_a_phone_and_a_desktop(browser, live_url, size):
    viewport = SIZES[size]
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    page.goto(live_url, wait_until="load", timeout=60_000)
    expect(page.get_by_role("tab", name="Recomendación", exact=True)).to_be_visible(timeout=60_000)
    try:
        for tab in TOP_TABS:  # every tab is in view: none folded into a "…" menu
            expect(page.get_by_role("tab", name=tab, exact=True)).to_be_visible()
        for tab in TOP_TABS:
            page.get_by_role("tab", name=tab, exact=True).click()
            fill_tab(page, tab)
            page.wait_for_timeout(800)
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= viewport["width"], f"{tab}: the page scrolls sideways ({width} px)"
            for box in page.locator("textarea, input[type=text]").filter(visible=True).all():
                shape = box.bounding_box()
                assert shape["x"] >= 0 and shape["x"] + shape["width"] <= viewport["width"], tab
                assert shape["width"] >= 100, f"{tab}: an input only {shape['width']:.0f} px wide"
            for button in page.locator("button.submit-button").filter(visible=True).all():
                shape = button.bounding_box()
                assert shape["x"] >= 0 and shape["x"] + shape["width"] <= viewport["width"], f"{tab}: button cut off"
            assert page.evaluate(SPLIT_WORDS) == [], f"{tab}: a table header breaks inside a word"
            for table in page.locator(".virtual-table-viewport").filter(visible=True).all():  # wide tables scroll
                assert table.evaluate("el => getComputedStyle(el).overflowX") in ("auto", "scroll")
            for chart in page.locator(".vega-embed, .matplotlib img").filter(visible=True).all():
                assert chart.bounding_box()["width"] >= min(300, viewport["width"] - 80), f"{tab}: chart too small"
            ARTIFACTS.mkdir(exist_ok=True)
            name = re.sub(r"\W+", "_", unicodedata.normalize("NFKD", tab.lower()).encode("ascii", "ignore").decode())
            page.screenshot(path=ARTIFACTS / f"{size}_{name}.png", full_page=True)  # tests/screenshots/ keeps copies
    finally:
        context.close()
