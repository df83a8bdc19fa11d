"""Every model the app serves and the evaluation scores, assembled once from the checked artifacts.

Order of assembly, each step reading only verified files:

1. the index (``recommender.artifacts``): the original recipe, TF-IDF and the whole-document embedding;
2. the per-field embedding, with the field weights the training script chose on validation films
   (``data/rankers/manifest.json``); it replaces the whole-document model as "embedding" for
   item-to-item, and sends free text to it;
3. the multilingual free-text model (``recommender.multilingual``): the default for free text;
4. the learned rankers, "parecidas" and "fans" (``recommender.ranker_artifacts``);
5. the precomputed neighbour lookups (``recommender.lookup``): item-to-item of every model above by lookup.

``strict=False`` (the app) serves what checks out and records why the rest does not; ``strict=True``
(the evaluation) raises on the first problem, since a partial evaluation would compare the wrong models.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from queries.catalog import Catalog
from queries.errors import ArtifactError
from recommender.base import Recommender

SEARCH_DEFAULT = "multilingual"  # free text: the only model that reads Spanish (see data/eval and the tests)


@dataclass
class ServedModels:
    """The models by name, plus why any optional part is missing (shown in logs, never to visitors)."""

    models: dict[str, Recommender]
    problems: dict[str, str] = field(default_factory=dict)


def load_models(catalog: Catalog, strict: bool = False, lookups: bool = True) -> ServedModels:
    """Assemble every model (see the module docstring); the index itself is required. ``lookups=False``: the
    live models only (what the precompute script and the evaluation read)."""
    from recommender import ranker_artifacts
    from recommender.artifacts import load_field_vectors, load_recommenders

    models: dict[str, Recommender] = dict(load_recommenders(catalog))
    problems: dict[str, str] = {}

    def optional(part: str, step) -> None:
        try:
            step()
        except ArtifactError as exc:
            if strict:
                raise
            problems[part] = str(exc)

    def field_embedding() -> None:
        from recommender.field_embedding import FieldEmbeddingRecommender

        weights = ranker_artifacts.field_weights(catalog)
        fields, names = load_field_vectors(catalog, mmap=True)  # read only for a list deeper than the lookups'
        models["embedding"] = FieldEmbeddingRecommender(fields, names, weights, text_model=models["embedding"])

    def multilingual() -> None:
        from recommender.multilingual import load_multilingual

        models["multilingual"] = load_multilingual(catalog)

    def rankers() -> None:
        models.update(ranker_artifacts.load_rankers(catalog, models))

    from recommender.field_embedding import FieldEmbeddingRecommender

    optional("per-field embedding", field_embedding)
    optional("multilingual", multilingual)
    if isinstance(models["embedding"], FieldEmbeddingRecommender):
        optional("rankers", rankers)
    else:
        problems.setdefault("rankers", "the rankers read the per-field embedding, which is not available")

    def precomputed() -> None:
        from recommender.lookup import wrap_with_lookups

        models.update(wrap_with_lookups(catalog, models))

    if lookups and "fans" in models:
        optional("lookups", precomputed)
    return ServedModels(models, problems)
