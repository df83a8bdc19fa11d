"""How many films were released in a month or on a weekday (counts precomputed at catalog load)."""
from __future__ import annotations

from dataclasses import dataclass

from queries.catalog import Catalog, load_catalog
from queries.spanish import count as counted
from queries.text import MONTH_NUMBER, MONTHS_ES, WEEKDAY_NUMBER, WEEKDAYS_ES, parse_named


@dataclass(frozen=True)
class MonthCount:
    mes: str  # canonical Spanish name, whatever language was typed
    cantidad: int
    mensaje: str  # the original assignment's sentence, word for word (its clients test for it)
    detalle: str  # the same for people: Spanish number format and plural


@dataclass(frozen=True)
class WeekdayCount:
    dia: str
    cantidad: int
    mensaje: str
    detalle: str


def _released(count: int) -> str:
    """'se estrenaron 2.053 películas', 'se estrenó 1 película' (the people's sentence of both queries)."""
    return f"se {'estrenó' if count == 1 else 'estrenaron'} {counted(count, 'película', 'películas')}"


def cantidad_filmaciones_mes(mes: object, catalog: Catalog | None = None) -> MonthCount:
    """Films released in a month of any year; Spanish or English name, any case or accents."""
    catalog = catalog or load_catalog()
    month = parse_named(mes, MONTH_NUMBER, MONTHS_ES, "el mes")
    name, count = MONTHS_ES[month], catalog.month_counts[month]
    return MonthCount(
        name, count, f"{count} cantidad de películas fueron estrenadas en el mes de {name}",
        f"En el mes de {name} {_released(count)}.",
    )


def cantidad_filmaciones_dia(dia: object, catalog: Catalog | None = None) -> WeekdayCount:
    """Films released on a weekday; 'miércoles'/'miercoles', 'sábado'/'sabado' and English all work."""
    catalog = catalog or load_catalog()
    weekday = parse_named(dia, WEEKDAY_NUMBER, WEEKDAYS_ES, "el día")
    name, count = WEEKDAYS_ES[weekday], catalog.weekday_counts[weekday]
    return WeekdayCount(
        name, count, f"{count} cantidad de películas fueron estrenadas en los días {name}",
        f"Los días {name} {_released(count)}.",
    )
