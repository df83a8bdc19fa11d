"""Why two films are alike, in terms people check: shared genres, keywords, cast and directors.

The reasons come from the catalog, not from the model, so they are true for every model (an
embedding cannot say which words mattered, but it can be shown what two films have in common).
Lists keep the query film's order (cast in billing order), so the most prominent come first.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from queries.catalog import Catalog
from queries.names import encode_lists

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


@dataclass(frozen=True)
class Facet:
    """One list column as integer codes per film (CSR) plus each distinct name once: 4 bytes per item, instead
    of a Python list per film and facet."""

    offsets: np.ndarray  # film i's items are codes[offsets[i]:offsets[i + 1]]
    codes: np.ndarray
    values: pa.Array  # distinct items; code -> name

    def codes_of(self, row: int) -> np.ndarray:
        return self.codes[self.offsets[row] : self.offsets[row + 1]]

    def shared(self, row: int, other: int) -> list[str]:
        """Items of film ``row`` also in film ``other``, in ``row``'s order, each once."""
        theirs = set(self.codes_of(other).tolist())
        common = [code for code in dict.fromkeys(self.codes_of(row).tolist()) if code in theirs]
        return self.values.take(pa.array(common, type=pa.int32())).to_pylist() if common else []


class Explainer:
    """Per-film facet codes read once from the catalog, so an explanation is a few set lookups (~µs).
    Cast and directors reuse the encoding the catalog's name indexes already hold."""

    def __init__(self, catalog: Catalog) -> None:
        indexed = {"cast": catalog.cast_index, "directors": catalog.director_index}
        self.facets = {
            name: Facet(indexed[name].offsets, indexed[name].codes, indexed[name].values) if name in indexed
            else Facet(*encode_lists(catalog.movies[name]))
            for name in FACETS
        }

    def explain(self, row: int, other: int) -> Reasons:
        """What film ``other`` shares with film ``row``."""
        return Reasons(*(self.facets[name].shared(row, other) for name in FACETS))


def explain(catalog: Catalog, row: int, other: int) -> Reasons:
    """One-off explanation (builds the facet lists; use Explainer for many)."""
    movies = catalog.movies
    return Reasons(*(_shared(list(movies[name].iat[row]), list(movies[name].iat[other])) for name in FACETS))
