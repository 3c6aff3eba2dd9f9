"""The DeepSeek pricing page parser, checked against numbers typed from the saved page."""

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from ratecard import data as ratecard_data

from ratecard.scrapers import deepseek
from ratecard.scrapers.errors import PageRejected
from ratecard.scrapers.names import model_id_for

SNAPSHOTS = ratecard_data.path("snapshots")
FIXTURES = Path(__file__).parent / "fixtures"
PAGE = SNAPSHOTS / "deepseek" / "api-docs-pricing_2026-05-08_quill-d1507e12.html"
URL = "https://api-docs.deepseek.com/quick_start/pricing"


# Footnote (3): the v4-pro discount is "extended until 2026/05/31 15:59 UTC" (through that minute).
DISCOUNT_ENDS = datetime(2026, 5, 31, 16, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def observations() -> list:
    return deepseek.parse(PAGE.read_bytes(), URL).observations


@pytest.fixture(scope="module")
def rates(observations) -> dict:
    """The rates billed when the page was seen (not the list prices dated after the discount)."""
    return {o.key: o for o in observations if o.valid_from is None}


def test_cache_hit_cache_miss_and_output(rates):
    def usd(model, kind):
        return rates[("deepseek", model, "standard", kind, 0)].usd_per_mtok

    assert usd("deepseek-v4-flash", "cached_input") == Decimal("0.0028")
    assert usd("deepseek-v4-flash", "input") == Decimal("0.14")
    assert usd("deepseek-v4-flash", "output") == Decimal("0.28")
    assert usd("deepseek-v4-pro", "cached_input") == Decimal("0.003625")
    assert usd("deepseek-v4-pro", "input") == Decimal("0.435")
    assert usd("deepseek-v4-pro", "output") == Decimal("0.87")
    assert len(rates) == 6


def test_the_discounted_price_is_billed_and_the_struck_list_price_is_noted(rates):
    pro = rates[("deepseek", "deepseek-v4-pro", "standard", "input", 0)]
    assert pro.note.startswith("75% off list price $1.74")
    assert "extended until 2026/05/31 15:59 UTC" in pro.note
    assert rates[("deepseek", "deepseek-v4-flash", "standard", "input", 0)].note == ""


def test_the_discount_ends_when_the_footnote_says_and_the_list_price_follows(observations, rates):
    assert {k: o.valid_to for k, o in rates.items() if o.valid_to} == {
        ("deepseek", "deepseek-v4-pro", "standard", kind, 0): DISCOUNT_ENDS
        for kind in ("cached_input", "input", "output")
    }
    after = {o.kind: o for o in observations if o.valid_from is not None}
    # The struck-through list prices on the page: $0.0145 cache hit, $1.74 cache miss, $3.48 output.
    assert {kind: o.usd_per_mtok for kind, o in after.items()} == {
        "cached_input": Decimal("0.0145"), "input": Decimal("1.74"), "output": Decimal("3.48")}
    assert all(o.model == "deepseek-v4-pro" and o.valid_from == DISCOUNT_ENDS and o.valid_to is None
               for o in after.values())
    assert after["input"].note.startswith("list price after the discount ends: 75% off list price $1.74")
    assert len(observations) == 9


def test_the_saved_page_has_no_off_peak_prices(rates):
    assert {key[2] for key in rates} == {"standard"}


def test_display_names_and_catalog(rates):
    assert rates[("deepseek", "deepseek-v4-pro", "standard", "output", 0)].display_name == "DeepSeek-V4-Pro"
    for key in rates:
        assert model_id_for("deepseek", key[1]) == key[1]
    # Footnote (1): the old names are modes of deepseek-v4-flash.
    assert model_id_for("deepseek", "deepseek-reasoner") == "deepseek-v4-flash"


OFF_PEAK_PAGE = """<table>
<tr><td colspan="2">MODEL</td><td>deepseek-chat</td><td>deepseek-reasoner</td></tr>
<tr><td rowspan="3">STANDARD PRICE<br>(UTC 00:30-16:30)</td><td>1M TOKENS INPUT (CACHE HIT)</td><td>$0.07</td><td>$0.14</td></tr>
<tr><td>1M TOKENS INPUT (CACHE MISS)</td><td>$0.27</td><td>$0.55</td></tr>
<tr><td>1M TOKENS OUTPUT</td><td>$1.10</td><td>$2.19</td></tr>
<tr><td rowspan="3">DISCOUNT PRICE<br>(UTC 16:30-00:30)</td><td>1M TOKENS INPUT (CACHE HIT)</td><td>$0.035 (50% OFF)</td><td>$0.035 (75% OFF)</td></tr>
<tr><td>1M TOKENS INPUT (CACHE MISS)</td><td colspan="2">$0.135</td></tr>
<tr><td>1M TOKENS OUTPUT</td><td>$0.550</td><td>$0.550</td></tr>
</table>"""


def test_peak_and_off_peak_groups_become_standard_and_off_peak():
    # The layout DeepSeek used in 2025, built in memory (no saved copy has it).
    rates = {o.key: o for o in deepseek.parse(OFF_PEAK_PAGE.encode(), URL).observations}
    assert rates[("deepseek", "deepseek-chat", "standard", "input", 0)].usd_per_mtok == Decimal("0.27")
    off_peak = rates[("deepseek", "deepseek-reasoner", "off_peak", "cached_input", 0)]
    assert (off_peak.usd_per_mtok, off_peak.note) == (Decimal("0.035"), "UTC 16:30-00:30; 75% OFF")
    # One cell spanning both model columns prices both.
    assert rates[("deepseek", "deepseek-reasoner", "off_peak", "input", 0)].usd_per_mtok == Decimal("0.135")
    assert len(rates) == 12


def test_two_billed_prices_in_one_cell_are_rejected():
    page = OFF_PEAK_PAGE.replace("<td>$0.27</td>", "<td>$0.27 / $0.135</td>")
    with pytest.raises(PageRejected, match="one billed price"):
        deepseek.parse(page.encode(), URL).observations


def test_another_providers_page_is_rejected():
    xai = SNAPSHOTS / "xai" / "docs-models_jina-md_2026-05-08_quill-618e39f0.md"
    with pytest.raises(PageRejected, match="no pricing table"):
        deepseek.parse(xai.read_bytes(), URL).observations


def test_a_page_with_its_table_removed_is_rejected():
    text = PAGE.read_text(encoding="utf-8")
    start, end = text.index("<table"), text.index("</table>") + len("</table>")
    with pytest.raises(PageRejected, match="no pricing table"):
        deepseek.parse((text[:start] + text[end:]).encode(), URL).observations


def test_a_table_without_price_rows_is_rejected():
    page = '<table><tr><td colspan="2">MODEL</td><td>deepseek-v4-flash</td></tr></table>'
    with pytest.raises(PageRejected, match="price rows"):
        deepseek.parse(page.encode(), URL).observations


def test_huge_or_broken_spans_are_read_as_html_reads_them():
    # colspan="1000000" once made a grid of a million slots per row (18 s, 355 MB); HTML caps it at 1000.
    page = PAGE.read_bytes().replace(b'colspan="2"', b'colspan="1000000"', 1)
    with pytest.raises(PageRejected):
        deepseek.parse(page, URL).observations  # the label cell now spans every column: no model column is left
    grid = deepseek.table_grid(deepseek.BeautifulSoup(
        '<table><tr><td colspan="1000000" rowspan="99999">a</td></tr><tr><td colspan="x">b</td></tr></table>',
        "html.parser").table)
    # "a" fills 1000 columns of both rows (its rowspan stops at the table's end); "b" (colspan "x": 1) follows it.
    # (each row as long as its last cell: the first ends with "a", the second with "b")
    assert [len(row) for row in grid] == [1000, 1001]
    assert grid[1][0] == "a" and grid[1][999] == "a" and grid[1][1000] == "b"
