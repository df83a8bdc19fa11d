"""The text each model reads for a film: one documented template per model.

Templates live here, not in the models, so the build script can record them in the manifest and a
change to a template is visibly a change to the index (rebuild), not a silent drift.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence

import pandas as pd

from queries.text import normalize

TFIDF_TOP_CAST = 5  # first-billed actors in the TF-IDF document: leads carry the signal, extras are noise
EMBEDDING_MAX_KEYWORDS = 12  # keeps the embedding document well under MiniLM's 256 word pieces

SEED_TEMPLATE = "{genres} {tagline} {first_actor} {first_director}"
SEED_TEMPLATE_DOC = (
    "The original project's features string: genre names, tagline, first-billed actor and first director "
    "joined by spaces (names as plain words, as the original did)."
)
TFIDF_TEMPLATE = "{overview} {tagline} {genres} {keywords} {top_cast} {directors}"
TFIDF_TEMPLATE_DOC = (
    f"Overview, tagline, genre names, keywords, the first {TFIDF_TOP_CAST} billed actors and every director. "
    "Person names become one token each ('Tom Hanks' -> 'tom_hanks'), so two films share a token only when "
    "they share the person, not a first name."
)
EMBEDDING_TEMPLATE = "{title}. {tagline} Genres: {genres}. Keywords: {keywords}. {overview}"
EMBEDDING_TEMPLATE_DOC = (
    f"Title, tagline, genres, up to {EMBEDDING_MAX_KEYWORDS} keywords, then the overview last, so that the "
    "model's 256 word-piece truncation can only cut the end of the overview. No person names: MiniLM knows "
    "little about who is who, and names would pull films together by surface form."
)

TEMPLATES = {
    "seed_tfidf": {"template": SEED_TEMPLATE, "description": SEED_TEMPLATE_DOC},
    "tfidf": {"template": TFIDF_TEMPLATE, "description": TFIDF_TEMPLATE_DOC},
    "embedding": {"template": EMBEDDING_TEMPLATE, "description": EMBEDDING_TEMPLATE_DOC},
}


def _text(value: object) -> str:
    """Missing taglines/overviews (NaN/None) become empty strings, never the word 'nan'."""
    return value.strip() if isinstance(value, str) else ""


def _names(values: Iterable[str] | None) -> list[str]:
    return [str(value) for value in values] if values is not None else []


APOSTROPHES_AS_SPACES = str.maketrans({mark: " " for mark in "'’‘`´"})


def person_token(name: str) -> str:
    """'Tom Hanks' -> 'tom_hanks', "Lupita Nyong'o" -> 'lupita_nyong_o': one token per person for TF-IDF.

    Apostrophes split the token here even though lookups drop them: the committed index was built
    this way, and a template change must be a deliberate rebuild, not a side effect of search tweaks.
    """
    return normalize(name.translate(APOSTROPHES_AS_SPACES)).replace(" ", "_")


def _squash(parts: Sequence[str]) -> str:
    """Join non-empty parts with single spaces."""
    return " ".join(" ".join(part for part in parts if part).split())


def seed_document(genres: Iterable[str], tagline: object, cast: Iterable[str], directors: Iterable[str]) -> str:
    """The original project's document; kept verbatim in spirit so the baseline stays a faithful baseline."""
    cast_names, director_names = _names(cast), _names(directors)
    return _squash([
        " ".join(_names(genres)),
        _text(tagline),
        cast_names[0] if cast_names else "",
        director_names[0] if director_names else "",
    ])


def tfidf_document(
    overview: object,
    tagline: object,
    genres: Iterable[str],
    keywords: Iterable[str],
    cast: Iterable[str],
    directors: Iterable[str],
) -> str:
    """The richer TF-IDF document: plot words plus the metadata people use to say two films are alike."""
    return _squash([
        _text(overview),
        _text(tagline),
        " ".join(_names(genres)),
        " ".join(_names(keywords)),
        " ".join(person_token(name) for name in _names(cast)[:TFIDF_TOP_CAST]),
        " ".join(person_token(name) for name in _names(directors)),
    ])


def embedding_document(
    title: object, tagline: object, genres: Iterable[str], keywords: Iterable[str], overview: object
) -> str:
    """A short natural-language description for the sentence model (see EMBEDDING_TEMPLATE_DOC)."""
    tagline_text = _text(tagline)
    if tagline_text and tagline_text[-1] not in ".!?":
        tagline_text += "."
    return _squash([
        f"{_text(title)}.",
        tagline_text,
        f"Genres: {', '.join(_names(genres)) or 'unknown'}.",
        f"Keywords: {', '.join(_names(keywords)[:EMBEDDING_MAX_KEYWORDS]) or 'none'}.",
        _text(overview),
    ])


def seed_documents(movies: pd.DataFrame) -> list[str]:
    """One seed document per catalog row, in row order."""
    return [
        seed_document(genres, tagline, cast, directors)
        for genres, tagline, cast, directors in zip(movies["genres"], movies["tagline"], movies["cast"], movies["directors"])
    ]


def tfidf_documents(movies: pd.DataFrame) -> list[str]:
    """One TF-IDF document per catalog row, in row order."""
    columns = ["overview", "tagline", "genres", "keywords", "cast", "directors"]
    return [tfidf_document(*values) for values in zip(*(movies[name] for name in columns))]


def embedding_documents(movies: pd.DataFrame) -> list[str]:
    """One embedding document per catalog row, in row order."""
    columns = ["title", "tagline", "genres", "keywords", "overview"]
    return [embedding_document(*values) for values in zip(*(movies[name] for name in columns))]


DOCUMENT_BUILDERS = {"seed_tfidf": seed_documents, "tfidf": tfidf_documents, "embedding": embedding_documents}


# ------------------------------------------------------------------ per-field documents (embedding_fields)

FIELD_TOP_CAST = 5  # first-billed actors, as in the TF-IDF document
FIELDS = ("title", "tagline", "genres", "keywords", "directors", "cast", "overview")
FIELD_TEMPLATES = {
    "title": "{title}",
    "tagline": "{tagline}",
    "genres": "{genres}",
    "keywords": "{keywords}",
    "directors": "{directors}",
    "cast": "{top_cast}",
    "overview": "{overview}",
}
FIELD_TEMPLATES_DOC = (
    "One short text per field, each encoded on its own: lists joined with ', ' (every genre, every keyword, "
    f"every director, the first {FIELD_TOP_CAST} billed actors), title, tagline and overview as written. "
    "A missing field is the empty string, which the build turns into a zero vector, so it adds 0 to any "
    "similarity. No labels such as 'Genres:': a field is only ever compared with the same field, so a shared "
    "prefix would only pull every cosine up by the same amount."
)


def _listed(values: Iterable[str] | None, limit: int | None = None) -> str:
    names = [name.strip() for name in _names(values)[:limit] if name.strip()]
    return ", ".join(names)


def field_documents(movies: pd.DataFrame) -> dict[str, list[str]]:
    """For each name in FIELDS (in that order), one short text per catalog row, in row order ('' if missing)."""
    return {
        "title": [_text(value) for value in movies["title"]],
        "tagline": [_text(value) for value in movies["tagline"]],
        "genres": [_listed(value) for value in movies["genres"]],
        "keywords": [_listed(value) for value in movies["keywords"]],
        "directors": [_listed(value) for value in movies["directors"]],
        "cast": [_listed(value, FIELD_TOP_CAST) for value in movies["cast"]],
        "overview": [_text(value) for value in movies["overview"]],
    }
