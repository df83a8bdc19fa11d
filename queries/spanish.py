"""Numbers and plurals as a Spanish reader expects them in sentences: 4.802 películas, 1.234.567 USD, 4,69.

Only for text people read; API fields keep plain numbers (and ``mensaje`` the original assignment's sentence).
"""
from __future__ import annotations


def whole(number: int) -> str:
    """4802 -> '4.802'; -1234567 -> '-1.234.567' (a dot groups thousands)."""
    return f"{number:,}".replace(",", ".")


def decimal(number: float, digits: int = 2) -> str:
    """4.6935 -> '4,69'; 302.6994 -> '302,70'; 12345.5 -> '12.345,50' (a comma before decimals)."""
    grouped = f"{number:,.{digits}f}"
    return grouped.replace(",", "\x00").replace(".", ",").replace("\x00", ".")


def count(number: int, singular: str, plural: str) -> str:
    """'1 película', '4.802 películas', '0 películas'."""
    return f"{whole(number)} {singular if number == 1 else plural}"


def dollars(amount: int | None) -> str:
    """'1.234.567 USD', or '—' when unknown."""
    return "—" if amount is None else f"{whole(amount)} USD"


# TMDB's 20 genres, as a Spanish reader names them (the catalog keeps TMDB's English names; both are accepted as input).
GENRES_ES = {
    "Action": "Acción", "Adventure": "Aventura", "Animation": "Animación", "Comedy": "Comedia", "Crime": "Crimen",
    "Documentary": "Documental", "Drama": "Drama", "Family": "Familia", "Fantasy": "Fantasía",
    "Foreign": "Extranjera", "History": "Historia", "Horror": "Terror", "Music": "Música", "Mystery": "Misterio",
    "Romance": "Romance", "Science Fiction": "Ciencia ficción", "TV Movie": "Película para TV",
    "Thriller": "Suspense", "War": "Bélica", "Western": "Western",
}


def genre(name: str) -> str:
    """A TMDB genre in Spanish ('Science Fiction' -> 'Ciencia ficción'); an unknown one as it is."""
    return GENRES_ES.get(name, name)
