"""The section-scoped Gemini stand-in of tests/sectioned_google.py, skipping sections with an empty scope."""

from tests.sectioned_google import parse_unscoped as parse

__all__ = ["parse"]
