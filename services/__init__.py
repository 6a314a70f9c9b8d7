"""Service functions: the rules of MPP Digital, between routes (HTTP) and db (SQL)."""

from integrations.http import ServiceUnavailable as Unavailable  # another system did not answer: try again

__all__ = ["NotFound", "Unavailable"]


class NotFound(LookupError):
    """What was asked for does not exist, or not for this person (another region's, another citizen's):
    the app answers 404 for it (app.py), never a 403 that would say it exists."""
