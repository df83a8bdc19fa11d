"""The original project's six data queries, as plain functions over the catalog (no UI code here)."""
from queries.catalog import Catalog, load_catalog
from queries.errors import ArtifactError, QueryError
from queries.people import get_actor, get_director
from queries.releases import cantidad_filmaciones_dia, cantidad_filmaciones_mes
from queries.titles import resolve_title, score_titulo, votos_titulo

__all__ = [
    "ArtifactError", "Catalog", "QueryError", "cantidad_filmaciones_dia", "cantidad_filmaciones_mes",
    "get_actor", "get_director", "load_catalog", "resolve_title", "score_titulo", "votos_titulo",
]
