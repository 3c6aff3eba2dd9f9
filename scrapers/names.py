"""The model catalog in data/models/: API ids, display names and aliases.

Parsers use it to turn a page's display name ("Claude Haiku 3.5") into the
provider's API id (``claude-3-5-haiku``). It is plain data, read once.
"""

import re
import tomllib
from functools import cache
from typing import NamedTuple

from ratecard import data as ratecard_data


class ModelEntry(NamedTuple):
    """One model as the catalog in data/models/ lists it."""

    provider: str
    model: str
    display_name: str
    aliases: tuple[str, ...]
    status: str


@cache
def catalog_entries() -> tuple[ModelEntry, ...]:
    """Every model in data/models/*.toml, in file order."""
    entries: list[ModelEntry] = []
    folder = ratecard_data.path("models")
    for file in sorted(folder.glob("*.toml")):
        doc = tomllib.loads(file.read_text(encoding="utf-8"))
        provider = doc["provider"]
        for model in doc.get("models", []):
            entries.append(
                ModelEntry(
                    provider,
                    model["id"],
                    model.get("display_name", model["id"]),
                    tuple(model.get("aliases", ())),
                    model.get("status", "active"),
                )
            )
    return tuple(entries)


_SEPARATORS = re.compile(r"[\s._\-/]+")  # compiled once: every model lookup folds a name


def name_key(name: str) -> str:
    """Fold a name for matching: case, spaces, dots, dashes and underscores ignored."""
    return _SEPARATORS.sub("", name.lower())


@cache
def _ids_by_name(provider: str) -> dict[str, str]:
    table: dict[str, str] = {}
    for entry in catalog_entries():
        if entry.provider != provider:
            continue
        for name in (entry.model, entry.display_name, *entry.aliases):
            table.setdefault(name_key(name), entry.model)
    return table


def model_id_for(provider: str, name: str) -> str | None:
    """The API id of a model named by its id, display name or alias; None if unknown."""
    return _ids_by_name(provider).get(name_key(name))


class DatedAlias(NamedTuple):
    """A name that meant ``meant`` before ``until`` (``YYYY-MM-DD``; "" : still does), for one provider."""

    provider: str
    alias: str
    meant: str
    until: str


@cache
def dated_aliases() -> tuple[DatedAlias, ...]:
    """Every ``[[dated_aliases]]`` of data/models/*.toml."""
    found: list[DatedAlias] = []
    for file in sorted(ratecard_data.path("models").glob("*.toml")):
        doc = tomllib.loads(file.read_text(encoding="utf-8"))
        for entry in doc.get("dated_aliases", []):
            found.append(DatedAlias(doc["provider"], entry["alias"], entry["meant"], entry.get("until", "")))
    return tuple(found)


def model_named_then(provider: str, name: str, day: str) -> str | None:
    """The model ``name`` meant on ``day`` (``YYYY-MM-DD``) when it is a dated alias, else None.

    Aggregators keep old meanings of a name (OpenRouter's and LiteLLM's ``deepseek-chat`` were
    V3 and V3.2 before DeepSeek pointed the name at V4), so a witness row is read as of when
    it was seen.
    """
    key = name_key(name)
    for alias in dated_aliases():
        if alias.provider == provider and name_key(alias.alias) == key and (not alias.until or day < alias.until):
            return alias.meant
    return None
