"""The words a rate is keyed by, defined once and imported everywhere.

A rate is one number keyed by (provider, model, tier, kind, min_prompt_tokens).
Tiers and kinds are strings on the wire so a new one can be added without a
schema change; these tuples are the ones ratecard knows how to price.
"""

# Service tiers. OpenAI's "fast" tier is stored as `priority`; DeepSeek's
# discounted off-peak hours are their own tier.
TIERS: tuple[str, ...] = ("standard", "batch", "flex", "priority", "off_peak")

# Rate kinds, all in USD per 1M tokens except `cache_storage_per_hour`
# (USD per 1M tokens held in a context cache for one hour).
KINDS: tuple[str, ...] = (
    "input",  # text (and, where a page does not split them, image/video) prompt tokens
    "input_audio",  # audio prompt tokens, where priced apart from text
    "cached_input",  # cache read / cache hit
    "cached_input_audio",
    "cache_write",  # cache write with the short TTL (Anthropic's 5 minutes)
    "cache_write_1h",  # cache write with the 1 hour TTL
    "cache_storage_per_hour",
    "output",
)

# How a number came to be.
BASES: tuple[str, ...] = (
    "published",  # read from the provider's own page
    "derived",  # computed from a rule the provider states (the rule is in `note`)
    "not_offered",  # the provider says it does not exist ("-", "Not available")
    "witness",  # read from an aggregator for a provider with no page of its own
    "curated",  # a dated change entered by hand from a cited announcement
)

# Cache TTLs a workload may ask for, mapped to the kind that prices the write.
CACHE_WRITE_KIND_BY_TTL: dict[str, str] = {"5m": "cache_write", "1h": "cache_write_1h"}
