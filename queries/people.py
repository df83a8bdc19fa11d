"""Actors and directors: their films and the financial return of those films.

``return = revenue / budget`` is only meaningful when both are real dollar figures. The catalog has
budgets of $1–$999 (amounts entered in millions, see data/eda/REPORT.md), which make ratios like
10,000,000x; those films are listed but kept out of totals and averages, and the answer says so.
"""
from __future__ import annotations

from dataclasses import dataclass

from queries.catalog import Catalog, load_catalog
from queries.errors import QueryError
from queries.spanish import count, decimal, whole
from queries.text import clean_input, close_matches, normalize, shorten

MIN_PLAUSIBLE_USD = 1_000  # budgets or revenues below this are data-entry errors, not dollars


@dataclass(frozen=True)
class FilmReturn:
    titulo: str
    anio: int
    fecha_estreno: str  # YYYY-MM-DD
    presupuesto: int
    ingresos: int
    ganancia: int | None  # revenue - budget, when both are known
    retorno: float | None  # revenue / budget, when computable and plausible
    nota: str  # why retorno is None, if it is


@dataclass(frozen=True)
class PersonReturn:
    nombre: str  # as credited
    rol: str  # "actor" or "director"
    cantidad_peliculas: int
    peliculas_con_retorno: int  # films whose return is computable and plausible
    excluidas_por_datos_implausibles: int
    retorno_total: float  # sum of the unrounded returns, rounded once
    retorno_promedio: float | None  # over peliculas_con_retorno
    peliculas: list[FilmReturn]
    mensaje: str  # the original assignment's sentence, word for word
    detalle: str  # for people: Spanish number format, plurals, what was excluded


def film_return(catalog: Catalog, row: int) -> FilmReturn:
    budget, revenue = catalog.column("budget")[row], catalog.column("revenue")[row]
    known = budget > 0 and revenue > 0
    plausible = budget >= MIN_PLAUSIBLE_USD and revenue >= MIN_PLAUSIBLE_USD
    if not known:
        note = "sin presupuesto o ingresos informados"
    elif not plausible:
        note = f"presupuesto o ingresos implausibles (< {whole(MIN_PLAUSIBLE_USD)} USD): excluida"
    else:
        note = ""
    return FilmReturn(
        titulo=catalog.column("title")[row],
        anio=catalog.column("release_year")[row],
        fecha_estreno=catalog.column("release_date")[row],
        presupuesto=budget,
        ingresos=revenue,
        ganancia=revenue - budget if known else None,
        retorno=round(catalog.column("return")[row], 4) if known and plausible else None,
        nota=note,
    )


def resolve_person(text: object, catalog: Catalog, role: str) -> tuple[str, tuple[int, ...]]:
    """Normalised exact name -> (credited name, rows); otherwise a QueryError with ranked suggestions."""
    typed = clean_input(text, "el nombre")
    key = normalize(typed)
    index, other_index, other_role = (
        (catalog.cast_index, catalog.director_index, "director")
        if role == "actor"
        else (catalog.director_index, catalog.cast_index, "actor")
    )
    position = index.find(key)
    if position is not None:
        return index.credited_name(position), index.films(position)
    other = other_index.find(key)
    if other is not None:
        name = other_index.credited_name(other)
        tool = "get_director" if other_role == "director" else "get_actor"
        raise QueryError(
            f"{name} no figura como {role} en el catálogo, pero sí como {other_role} en "
            f"{len(other_index.films(other))} película(s): prueba {tool}.",
            suggestions=[name],
            not_found=True,
        )
    suggestions = [index.credited_name(index.find(k)) for k in close_matches(key, index.names(), limit=5, cutoff=80)]
    hint = f" ¿Quisiste decir: {'; '.join(suggestions)}?" if suggestions else ""
    raise QueryError(
        f"No encontré a «{shorten(typed)}» como {role}.{hint}", suggestions=suggestions, not_found=True
    )


def _assignment_sentence(name: str, role: str, films: list[FilmReturn], total: float, average: float | None) -> str:
    """The original assignment's sentence for get_actor / get_director, with our numbers."""
    if role == "actor":
        return (f"El actor {name} ha participado de {len(films)} cantidad de filmaciones, el mismo ha conseguido un "
                f"retorno de {total} con un promedio de {average if average is not None else 0} por filmación")
    listed = "; ".join(
        f"{film.titulo}, estrenada el {film.fecha_estreno}, retorno {film.retorno if film.retorno is not None else 'sin datos'}, "
        f"costo {film.presupuesto}, ganancia {film.ganancia if film.ganancia is not None else 'sin datos'}"
        for film in films
    )
    return f"El director {name} ha conseguido un retorno total de {total}. Sus películas: {listed}"


def _detail_sentence(name: str, role: str, films: list[FilmReturn], returns: int, total: float,
                     average: float | None, implausible: int) -> str:
    """What the UI shows: Spanish numbers, plurals, and how many films were left out and why."""
    done = f"ha participado de {count(len(films), 'filmación', 'filmaciones')}" if role == "actor" else \
        f"dirigió {count(len(films), 'película', 'películas')}"
    if not returns:
        sentence = f"{name} {done}, sin retorno calculable."
    else:
        computable = "tiene" if returns == 1 else "tienen"
        sentence = (f"{name} {done}; {returns} {computable} un retorno calculable, con un retorno total de "
                    f"{decimal(total)} y un promedio de {decimal(average)} por {'filmación' if role == 'actor' else 'película'}.")
    if implausible:
        sentence += (f" Se {'excluyó' if implausible == 1 else 'excluyeron'} {implausible} con presupuesto o ingresos "
                     f"implausibles (< {whole(MIN_PLAUSIBLE_USD)} USD).")
    return sentence


def _person_return(text: object, catalog: Catalog, role: str) -> PersonReturn:
    name, rows = resolve_person(text, catalog, role)
    films = [film_return(catalog, row) for row in rows]
    unrounded = [catalog.column("return")[row] for row, film in zip(rows, films) if film.retorno is not None]
    implausible = sum(1 for film in films if film.nota.startswith("presupuesto o ingresos implausibles"))
    total = round(sum(unrounded), 4)  # rounded once: summing rounded returns drifts (Spielberg 302.6997 vs 302.6994)
    average = round(sum(unrounded) / len(unrounded), 4) if unrounded else None
    return PersonReturn(
        name, role, len(films), len(unrounded), implausible, total, average, films,
        _assignment_sentence(name, role, films, total, average),
        _detail_sentence(name, role, films, len(unrounded), total, average, implausible),
    )


def get_actor(nombre_actor: object, catalog: Catalog | None = None) -> PersonReturn:
    """Films with the person in the cast (directing alone does not count) and their return."""
    return _person_return(nombre_actor, catalog or load_catalog(), "actor")


def get_director(nombre_director: object, catalog: Catalog | None = None) -> PersonReturn:
    """Films the person directed: per film date, budget, revenue, profit and return; and the total."""
    return _person_return(nombre_director, catalog or load_catalog(), "director")
