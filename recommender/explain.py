"""Why two films are alike, in terms people check: shared genres, keywords, cast and directors.

The reasons come from the catalog, not from the model, so they are true for every model (an
embedding cannot say which words mattered, but it can be shown what two films have in common).
Lists keep the query film's order (cast in billing order), so the most prominent come first.
"""
from __future__ import annotations

from dataclasses import dataclass

from queries.catalog import Catalog
from queries.names import CodedLists

FACETS = ("genres", "keywords", "cast", "directors")


@dataclass(frozen=True)
class Reasons:
    """What a recommended film shares with the query film; empty lists when nothing is shared."""

    genres: list[str]
    keywords: list[str]
    cast: list[str]
    directors: list[str]

    def __bool__(self) -> bool:
        return bool(self.genres or self.keywords or self.cast or self.directors)


def _shared(first: list[str], second: list[str]) -> list[str]:
    """Items of ``first`` also in ``second``, in ``first``'s order, each once."""
    other = set(second)
    return [item for item in dict.fromkeys(first) if item in other]


class Explainer:
    """Per-film facet codes read once from the catalog, so an explanation is a few set lookups (~µs).
    Cast and directors reuse the encoding the catalog's name indexes already hold."""

    def __init__(self, catalog: Catalog) -> None:
        indexed = {"cast": catalog.cast_index.lists, "directors": catalog.director_index.lists}
        self.facets = {
            name: indexed[name] if name in indexed else CodedLists.from_column(catalog.movies[name]) for name in FACETS
        }

    def explain(self, row: int, other: int) -> Reasons:
        """What film ``other`` shares with film ``row``."""
        return Reasons(*(self.facets[name].shared(row, other) for name in FACETS))


def explain(catalog: Catalog, row: int, other: int) -> Reasons:
    """One-off explanation (builds the facet lists; use Explainer for many)."""
    movies = catalog.movies
    return Reasons(*(_shared(list(movies[name].iat[row]), list(movies[name].iat[other])) for name in FACETS))
