"""Validation bounds a real price page never breaks: a price beyond any real one is a unit mistake."""

from decimal import Decimal

import pytest

from ratecard.scrapers.observation import Observation
from ratecard.service.refresh import ValidationFailed, validate_observations
from ratecard.service.sources import load_registry


def test_a_price_beyond_any_real_one_is_refused():
    # OpenRouter's "1_000" per token would read as 10^9 USD per 1M: a witness drops that model, an official page fails.
    registry = load_registry(None)

    def rate(model: str, usd: str, provider: str = "deepseek") -> Observation:
        return Observation(provider=provider, model=model, tier="standard", kind="input", usd_per_mtok=Decimal(usd))

    sane, absurd = rate("deepseek-v4-flash", "0.14"), rate("deepseek-v4-pro", "1000000000")
    kept = validate_observations([sane, absurd], registry.sources["openrouter"], url="https://example.test/feed")
    assert kept == [sane]
    with pytest.raises(ValidationFailed, match="1000000000 USD per 1M tokens is beyond any real price"):
        validate_observations([sane, absurd], registry.sources["deepseek"], url="https://example.test/page")
    assert validate_observations([rate("o1-pro", "600", "openai")], registry.sources["openai"], url="u") != []
