"""Turning what a person types into lookup keys: validation, normalisation, names of months and days.

User text is only ever compared as data (dict keys, rapidfuzz scores); it is never compiled as a
regex, formatted as a template or evaluated.
"""
from __future__ import annotations

import re
import unicodedata

from rapidfuzz import fuzz, process

from queries.errors import QueryError
from queries.spanish import whole

MAX_INPUT_CHARS = 200
KIND_NAMES = {"str": "un texto", "int": "un número", "float": "un número", "bool": "un booleano", "list": "una lista",
              "dict": "un objeto", "NoneType": "nulo"}  # JSON types an API client may send, named in Spanish
DROP_APOSTROPHES = str.maketrans("", "", "'’‘`´")
YEAR_SUFFIX = re.compile(r"^(?P<title>.*?)\s*\((?P<year>\d{4})\)\s*$", re.DOTALL)

MONTHS_ES = ["enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto",
             "septiembre", "octubre", "noviembre", "diciembre"]
MONTHS_EN = ["january", "february", "march", "april", "may", "june", "july", "august",
             "september", "october", "november", "december"]
WEEKDAYS_ES = ["lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"]
WEEKDAYS_EN = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]


# ASCII text (most names and titles) takes a shortcut with the same result: NFKD changes no ASCII character
# and none is a combining mark, so only apostrophes (dropped), other punctuation (a space) and case remain.
ASCII_KEY = str.maketrans({**{chr(code): " " for code in range(128) if not chr(code).isalnum()}, "'": None, "`": None})


def normalize(text: str) -> str:
    """Case-, accent- and punctuation-insensitive key: 'Amélie!' -> 'amelie', 'Spider-Man' -> 'spider man'.

    Apostrophes vanish rather than split a word, so "Schindlers List" finds "Schindler's List".
    """
    if text.isascii():  # ~3x faster; a test checks it against the general path on every ASCII character
        return " ".join(text.translate(ASCII_KEY).lower().split())
    return unicode_key(text)


def unicode_key(text: str) -> str:
    """``normalize`` for any text: decompose, drop accents, fold case, punctuation to spaces."""
    decomposed = unicodedata.normalize("NFKD", text.translate(DROP_APOSTROPHES))
    without_marks = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    kept = "".join(ch if ch.isalnum() else " " for ch in without_marks.casefold())
    return " ".join(kept.split())


def kind_name(value: object) -> str:
    """The JSON type an API client sent, named in Spanish for a message ('una lista', 'un objeto')."""
    return KIND_NAMES.get(type(value).__name__, type(value).__name__)


def clean_input(text: object, what: str, max_chars: int = MAX_INPUT_CHARS) -> str:
    """Validate free text from a user or API client; return it stripped.

    ``what`` names the field in the message ('el título', 'el nombre'...).
    """
    if text is None:
        raise QueryError(f"Falta {what}.")
    if not isinstance(text, str):
        raise QueryError(f"{what.capitalize()} debe ser texto, no {kind_name(text)}.")
    stripped = text.replace("\x00", "").strip()
    if not stripped:
        raise QueryError(f"Escribe {what}.")
    if len(stripped) > max_chars:
        raise QueryError(
            f"{what.capitalize()} es demasiado largo ({whole(len(stripped))} caracteres; máximo {max_chars})."
        )
    if not normalize(stripped):
        raise QueryError(f"{what.capitalize()} no contiene letras ni números.")
    return stripped


def split_year(text: str) -> tuple[str, int | None]:
    """'Titanic (1997)' -> ('Titanic', 1997); a title without a trailing year is returned as is."""
    match = YEAR_SUFFIX.match(text)
    if match and match.group("title").strip():
        return match.group("title"), int(match.group("year"))
    return text, None


def shorten(text: str, limit: int = 60) -> str:
    """User text quoted back in messages is kept short."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _name_table(spanish: list[str], english: list[str]) -> dict[str, int]:
    table = {normalize(name): number for number, name in enumerate(spanish)}
    table.update({normalize(name): number for number, name in enumerate(english)})
    return table


MONTH_NUMBER = _name_table(MONTHS_ES, MONTHS_EN)  # normalised name -> 0..11
WEEKDAY_NUMBER = _name_table(WEEKDAYS_ES, WEEKDAYS_EN)  # normalised name -> 0 (Monday)..6
MONTH_NUMBER["setiembre"] = 8  # accepted Spanish variant of septiembre


def parse_named(text: object, table: dict[str, int], canonical: list[str], what: str) -> int:
    """A month or weekday name (Spanish or English, any case or accents) -> its index."""
    key = normalize(clean_input(text, what))
    if key in table:
        return table[key]
    suggestions = close_matches(key, list(table), limit=3, cutoff=70)
    names = sorted({canonical[table[s]] for s in suggestions}, key=lambda n: canonical.index(n))
    hint = f" ¿Quisiste decir {', '.join(names)}?" if names else ""
    raise QueryError(
        f"No reconozco {what} «{shorten(str(text).strip())}». Usa {canonical[0]} … {canonical[-1]}.{hint}",
        suggestions=names,
    )


def close_matches(key: str, choices: list[str], limit: int = 5, cutoff: float = 75) -> list[str]:
    """Fuzzy candidates, best first; ties keep ``choices`` order, so pass the most popular first.

    token_set_ratio tolerates typos and word order ('hanks tom') and finds a part of a name or
    title ('nolan', 'lord of the rings'). WRatio was tried and rejected: its partial matching ranks
    any title containing '1' high for '<script>alert(1)'.
    """
    if not key:
        return []
    found = process.extract(key, choices, scorer=fuzz.token_set_ratio, limit=limit, score_cutoff=cutoff)
    return [choice for choice, _score, _index in found]
