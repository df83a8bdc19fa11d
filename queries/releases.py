"""How many films were released in a month or on a weekday (counts precomputed at catalog load)."""
from __future__ import annotations

from dataclasses import dataclass

from queries.catalog import Catalog, load_catalog
from queries.text import MONTH_NUMBER, MONTHS_ES, WEEKDAY_NUMBER, WEEKDAYS_ES, parse_named


@dataclass(frozen=True)
class MonthCount:
    mes: str  # canonical Spanish name, whatever language was typed
    cantidad: int
    mensaje: str


@dataclass(frozen=True)
class WeekdayCount:
    dia: str
    cantidad: int
    mensaje: str


def cantidad_filmaciones_mes(mes: object, catalog: Catalog | None = None) -> MonthCount:
    """Films released in a month of any year; Spanish or English name, any case or accents."""
    catalog = catalog or load_catalog()
    month = parse_named(mes, MONTH_NUMBER, MONTHS_ES, "el mes")
    name, count = MONTHS_ES[month], catalog.month_counts[month]
    return MonthCount(name, count, f"En el mes de {name} se estrenaron {count} películas.")


def cantidad_filmaciones_dia(dia: object, catalog: Catalog | None = None) -> WeekdayCount:
    """Films released on a weekday; 'miércoles'/'miercoles', 'sábado'/'sabado' and English all work."""
    catalog = catalog or load_catalog()
    weekday = parse_named(dia, WEEKDAY_NUMBER, WEEKDAYS_ES, "el día")
    name, count = WEEKDAYS_ES[weekday], catalog.weekday_counts[weekday]
    return WeekdayCount(name, count, f"Los días {name} se estrenaron {count} películas.")
