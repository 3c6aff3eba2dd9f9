"""Pure parsers, one module per source: ``parse(body: bytes, url: str) -> Reading``.

A Reading holds the observations read and the sections skipped (see
:mod:`scrapers.observation`); the shared table-reading layer is :mod:`scrapers.tables`.

Parsers never fetch and never touch a database; :mod:`scrapers.fetch` downloads
pages and the service stores what the parsers return. This package never
imports :mod:`service`.
"""

from collections.abc import Callable
from importlib import import_module

from ratecard.scrapers.observation import Reading

Parser = Callable[[bytes, str], Reading]

# Source id -> module holding its `parse`. The source registry in
# data/sources.toml names one of these for each source.
PARSER_MODULES: dict[str, str] = {
    "openai": "ratecard.scrapers.openai",
    "anthropic": "ratecard.scrapers.anthropic",
    "claude-com": "ratecard.scrapers.claude_com",
    "google": "ratecard.scrapers.google",
    "deepseek": "ratecard.scrapers.deepseek",
    "xai": "ratecard.scrapers.xai",
    "mistral": "ratecard.scrapers.mistral",
    "groq": "ratecard.scrapers.groq",
    "openrouter": "ratecard.scrapers.openrouter",
    "litellm": "ratecard.scrapers.litellm",
    "models-dev": "ratecard.scrapers.models_dev",
}


def get_parser(name: str) -> Parser:
    """Return the parse function registered under ``name`` (KeyError if unknown)."""
    return import_module(PARSER_MODULES[name]).parse
