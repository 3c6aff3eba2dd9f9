"""The shared table-reading layer (scrapers/tables.py) on the forms real pages take."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from ratecard.scrapers import openai
from ratecard.scrapers.tables import (
    Role,
    column_role,
    period_in,
    read_cell,
    read_tables,
    several_names,
    split_name,
    stated_multipliers,
    tier_of,
)


@pytest.mark.parametrize(
    ("header", "role"),
    [
        ("Base Input Tokens", Role("input")),
        ("PROMPT", Role("input")),
        ("input (per 1M tokens)", Role("input")),
        ("Cache Hits & Refreshes", Role("cached_input")),
        ("cache-read", Role("cached_input")),
        ("Cached input", Role("cached_input")),
        ("5m Cache Writes", Role("cache_write")),
        ("5-minute cache writes", Role("cache_write")),
        ("1h Cache Writes", Role("cache_write_1h")),
        ("Completion", Role("output")),
        ("Output Tokens", Role("output")),
        ("Long context output", Role("output", long_context=True)),
        ("Batch input", Role("input", tier="batch")),
        ("Context window", None),
        ("Input tokens per tool definition", None),
    ],
)
def test_column_roles_by_meaning(header, role) -> None:
    assert column_role(header) == role


@pytest.mark.parametrize(
    ("label", "tier"),
    [("Batch pricing data", "batch"), ("Fast mode", "priority"), ("OFF-PEAK", "off_peak"), ("PEAK", "standard"),
     ("Priority", "priority"), ("Flex", "flex"), ("Model pricing", None), ("Prices per 1M tokens.", None)],
)
def test_tiers_from_headings_and_labels(label, tier) -> None:
    assert tier_of(label) == tier


def test_names_stay_names() -> None:
    retired = split_name("Claude Opus 4.1 ([retired, except on Bedrock and Google Cloud](/docs/x))")
    assert (retired.name, retired.status, retired.note) == (
        "Claude Opus 4.1", "retired", "retired, except on Bedrock and Google Cloud")
    assert split_name("Claude Mythos 5 ([limited availability](https://x))").status == "limited availability"
    assert split_name("deepseek-flash (1)").name == "deepseek-flash"
    assert split_name("gpt-4o<sup>2</sup>").name == "gpt-4o"
    assert split_name("o1").name == "o1"  # a digit ending a name is the name
    assert split_name("[gpt-5](https://x)").name == "gpt-5"  # a link that is the whole name is the name
    through = split_name("Claude Sonnet 5 [through August 31, 2026](/docs/x#intro)")
    assert (through.name, through.period.valid_to) == ("Claude Sonnet 5", datetime(2026, 9, 1, tzinfo=UTC))
    starting = split_name("Claude Sonnet 5 starting September 1, 2026")
    assert (starting.name, starting.period.valid_from) == ("Claude Sonnet 5", datetime(2026, 9, 1, tzinfo=UTC))


def test_rows_naming_several_models() -> None:
    assert several_names("Claude Opus 5 / Claude Opus 4.8") == ["Claude Opus 5", "Claude Opus 4.8"]
    assert several_names("Claude Opus 4.1") == ["Claude Opus 4.1"]


def test_periods() -> None:
    assert period_in("extended until 2026/05/31 15:59 UTC").valid_to == datetime(2026, 5, 31, 16, 0, tzinfo=UTC)
    assert period_in("take effect at 16:00 UTC on August 16, 2026").valid_from == datetime(
        2026, 8, 16, 16, 0, tzinfo=UTC)
    assert period_in("available at least through November 21, 2026") == (None, None)  # promises no end


def test_cells() -> None:
    assert read_cell("\\$3 / MTok") == (Decimal(3), True, "")
    assert read_cell("-").usd_per_mtok is None and read_cell("-").is_rate
    assert not read_cell("$15.00 / 1M characters").is_rate
    assert not read_cell("$0.006 / minute").is_rate
    assert read_cell("Free").usd_per_mtok == 0


def test_two_row_header_and_merged_label_cells() -> None:
    page = """
| | Short context | | Long context | |
| --- | --- | --- | --- | --- |
| Model | Input | Output | Input | Output |
| gpt-x (<272K context length) | $1.00 | $2.00 | $2.00 | $3.00 |
"""
    [table] = read_tables(page)
    assert table.header == ["Model", "Short context Input", "Short context Output", "Long context Input",
                            "Long context Output"]
    assert [column_role(c) for c in table.header[1:3]] == [Role("input"), Role("output")]
    merged = "| | | |\n| --- | --- | --- |\n| A | x | $1 |\n| y | $2 |\n"
    assert read_tables(merged)[0].rows == [["A", "x", "$1"], ["A", "y", "$2"]]


def test_openai_forms_other_than_tier_headings() -> None:
    # The rendered form: tier tab labels over unlabelled tables, a two-row header.
    header = "| | Short context | | | Long context | | |\n| --- | --- | --- | --- | --- | --- | --- |\n"
    header += "| Model | Input | Cached input | Output | Input | Cached input | Output |\n"
    rendered = ("Standard\n\n" + header + "| gpt-5.4 (<272K context length) | $2.50 | $0.25 | $15.00 | $5.00 | $0.50 |"
                " $22.50 |\n\nBatch\n\n" + header + "| gpt-5.4 (<272K context length) | $1.25 | $0.13 | $7.50 | $2.50"
                " | $0.25 | $11.25 |\n")
    # The MDX source: rows as a prop, the tier as a prop.
    mdx = ('<TextTokenPricingTables tier="standard" rows={[["gpt-5.4 (<272K context length)", 2.5, 0.25, 15],]} />\n'
           '<TextTokenPricingTables tier="batch" rows={[["gpt-5.4 (<272K context length)", 1.25, 0.13, 7.5]]} />\n')
    rates = {o.key: o.usd_per_mtok for o in openai.parse(rendered.encode(), "u").observations}
    assert rates[("openai", "gpt-5.4", "batch", "output", 272000)] == Decimal("11.25")
    assert rates[("openai", "gpt-5.4", "standard", "cached_input", 0)] == Decimal("0.25")
    mdx_rates = {o.key: o.usd_per_mtok for o in openai.parse(mdx.encode(), "u").observations}
    assert mdx_rates == {k: v for k, v in rates.items() if k[4] == 0}


def test_stated_multipliers_are_found_once_each() -> None:
    text = ("For Claude 4.6 and later models, using inference_geo: \"us\" applies a 1.1x pricing multiplier.\n"
            "Again: data residency incurs a 1.1x multiplier.\n| data residency | 1.1x |\n")
    assert stated_multipliers(text) == [
        'For Claude 4.6 and later models, using inference_geo: "us" applies a 1.1x pricing multiplier.']
