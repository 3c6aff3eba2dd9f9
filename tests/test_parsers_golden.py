"""Every saved page parses to the rates stored for it in tests/fixtures/<source id>/.

The pages live once: bundled pages in data/snapshots/<source id>/, test-only
pages (a challenge page, a page that must be rejected) in tests/fixtures/.
A page ``X`` with a file ``X.expected.json`` in tests/fixtures/ is a golden pair: the
parser registered for the folder's source id must return exactly those
observations (order-insensitive). A page ``X`` with ``X.rejected.txt`` beside
it must be rejected with a PageRejected whose message contains that text.
New pairs are picked up automatically.
"""

from decimal import Decimal
from pathlib import Path

import msgspec
import pytest

from ratecard import data as ratecard_data
from ratecard.scrapers import get_parser
from ratecard.scrapers.errors import PageRejected
from ratecard.scrapers.observation import Observation

FIXTURES = Path(__file__).parent / "fixtures"
SNAPSHOTS = ratecard_data.path("snapshots")


def page_for(sidecar: Path, suffix: str) -> Path:
    """The page a sidecar file describes: beside it if test-only, else the bundled copy by the same relative name."""
    name = sidecar.name.removesuffix(suffix)
    local = sidecar.with_name(name)
    return local if local.exists() else SNAPSHOTS / sidecar.parent.name / name


def _pages(suffix: str) -> list[Path]:
    return sorted(page_for(p, suffix) for p in FIXTURES.glob(f"*/*{suffix}"))


def _sorted(observations: list[Observation]) -> list[Observation]:
    return sorted(observations, key=lambda o: (o.key, o.basis, str(o.valid_from), str(o.valid_to)))


@pytest.mark.parametrize("page", _pages(".expected.json"), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_page_parses_to_expected_rates(page: Path) -> None:
    source_id = page.parent.name
    expected = msgspec.json.decode(
        (FIXTURES / source_id / (page.name + ".expected.json")).read_bytes(), type=list[Observation]
    )
    parsed = get_parser(source_id)(page.read_bytes(), f"https://example.test/{page.name}").observations
    assert _sorted(parsed) == _sorted(expected)
    assert all(isinstance(o.usd_per_mtok, Decimal) or o.basis == "not_offered" for o in parsed)


@pytest.mark.parametrize("page", _pages(".rejected.txt"), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_page_is_rejected_with_reason(page: Path) -> None:
    source_id = page.parent.name
    reason = (FIXTURES / source_id / (page.name + ".rejected.txt")).read_text(encoding="utf-8").strip()
    with pytest.raises(PageRejected) as caught:
        get_parser(source_id)(page.read_bytes(), "https://example.test/page").observations
    assert reason in str(caught.value)
