"""The one error type user input can cause; the UI shows it, the API returns it as a clean 4xx."""
from __future__ import annotations


class QueryError(ValueError):
    """Input that cannot be answered: empty, too long, unknown name... ``suggestions`` are 'did you mean' candidates."""

    def __init__(self, message: str, suggestions: list[str] | None = None, not_found: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.suggestions = suggestions or []
        self.not_found = not_found  # True: valid input naming nothing we know (REST maps it to 404, else 422)


class ArtifactError(RuntimeError):
    """A data file the app reads is missing, truncated or stale; the message names the command that fixes it."""
