"""The source registry: which pages ratecard reads, how often, and with what authority.

The registry ships in data/sources.toml; an operator's TOML file (``--sources``
or ``RATECARD_SOURCES``) overrides fields source by source::

    [sources.anthropic]
    url = "http://mirror.internal/anthropic-pricing.md"
    interval_minutes = 360
"""

import tomllib
from pathlib import Path

import msgspec

from ratecard import data as ratecard_data
from ratecard.scrapers import PARSER_MODULES

ROLES = ("authoritative", "witness")

# Lane of the rates an authoritative source (and curated history) writes.
OFFICIAL_LANE = "official"


class Source(msgspec.Struct, frozen=True, kw_only=True):
    """One page ratecard reads: where, with which parser, how often, and its authority."""

    id: str
    providers: tuple[str, ...]
    url: str
    parser: str
    role: str
    interval_minutes: float = 360
    enabled: bool = True
    # Prices last confirmed longer ago than this are stale (None: the service's stale_after_hours).
    stale_after_hours: float | None = None

    @property
    def lane(self) -> str:
        """The rate series this source writes: official, or its own witness lane."""
        return OFFICIAL_LANE if self.role == "authoritative" else self.id


class Registry(msgspec.Struct, frozen=True, kw_only=True):
    """Every source, and the witness that serves providers with no page of their own."""

    sources: dict[str, Source]
    designated_witness: str = ""

    def authoritative_for(self, provider: str) -> Source | None:
        """The authoritative source of a provider, if it has one."""
        for source in self.sources.values():
            if source.role == "authoritative" and provider in source.providers:
                return source
        return None


class RegistryError(ValueError):
    """The registry or an override file is invalid; the message names the field."""


def load_registry(override: Path | None = None) -> Registry:
    """Read data/sources.toml and apply an operator's override file on top of it."""
    doc = tomllib.loads(ratecard_data.path("sources.toml").read_text(encoding="utf-8"))
    if override is not None:
        try:
            extra = tomllib.loads(Path(override).read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise RegistryError(f"cannot read sources file {override}: {exc}") from None
        for source_id, fields in extra.get("sources", {}).items():
            doc.setdefault("sources", {}).setdefault(source_id, {}).update(fields)
        if "designated_witness" in extra:
            doc["designated_witness"] = extra["designated_witness"]
    sources = {sid: _source(sid, fields) for sid, fields in doc.get("sources", {}).items()}
    seen: dict[str, str] = {}
    for source in sources.values():
        if source.role != "authoritative":
            continue
        for provider in source.providers:
            if provider in seen:
                raise RegistryError(f"provider {provider!r} has two authoritative sources: {seen[provider]}, {source.id}")
            seen[provider] = source.id
    witness = doc.get("designated_witness", "")
    if witness and witness not in sources:
        witness = ""  # a registry without that witness simply serves no long tail
    return Registry(sources=sources, designated_witness=witness)


def _source(source_id: str, fields: dict) -> Source:
    try:
        source = msgspec.convert({"id": source_id, **fields}, type=Source)
    except msgspec.ValidationError as exc:
        raise RegistryError(f"source {source_id!r}: {exc}") from None
    if source.role not in ROLES:
        raise RegistryError(f"source {source_id!r}: role must be one of {', '.join(ROLES)}")
    if source.parser not in PARSER_MODULES:
        raise RegistryError(f"source {source_id!r}: unknown parser {source.parser!r}")
    if source.interval_minutes <= 0:
        raise RegistryError(f"source {source_id!r}: interval_minutes must be positive")
    return source
