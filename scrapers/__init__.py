"""Pure parsers, one module per source: ``parse(body: bytes, url: str) -> Reading``.

A Reading holds the observations read and the sections skipped (see
:mod:`scrapers.observation`); the shared table-reading layer is :mod:`scrapers.tables`.

Parsers never fetch and never touch a database; :mod:`scrapers.fetch` downloads
pages and the service stores what the parsers return. This package never
imports :mod:`service`.
"""

from collections.abc import Callable
from importlib import import_module

from scrapers.observation import Reading

Parser = Callable[[bytes, str], Reading]

# Source id -> module holding its `parse`. The source registry in
# data/sources.toml names one of these for each source.
PARSER_MODULES: dict[str, str] = {
    "openai": "scrapers.openai",
    "anthropic": "scrapers.anthropic",
    "claude-com": "scrapers.claude_com",
    "google": "scrapers.google",
    "deepseek": "scrapers.deepseek",
    "xai": "scrapers.xai",
    "mistral": "scrapers.mistral",
    "groq": "scrapers.groq",
    "openrouter": "scrapers.openrouter",
    "litellm": "scrapers.litellm",
    "models-dev": "scrapers.models_dev",
}


def get_parser(name: str) -> Parser:
    """Return the parse function registered under ``name`` (KeyError if unknown)."""
    return import_module(PARSER_MODULES[name]).parse
