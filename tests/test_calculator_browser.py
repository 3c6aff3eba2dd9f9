"""The calculator page in a real browser: Debian's Chromium, driven by Playwright, against `ratecard serve`.

The page must show exactly what /v1/estimate answers (data-usd carries the API's
own digits), rank models as the API does, and work framed on another page.
Set RATECARD_UPDATE_SCREENSHOT=1 to refresh docs/calculator.png (the README's picture).
"""

import json
import os
import re
import shutil
import threading
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl

import httpx
import pytest

# The fixture that starts `ratecard serve` as a user does, on a free loopback port over a fresh database.
from test_serve_process import served  # noqa: F401

CHROMIUM = Path("/usr/bin/chromium")
# Headless, and quiet on a closed network: no background fetches to Google's hosts.
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
SCREENSHOT = Path(__file__).parent.parent / "docs" / "calculator.png"
# The worked example the README opens its estimates with: GPT-4o, 5,000 requests x (2,000 in + 800 out).
WORKLOAD = {"input_tokens": "2000", "output_tokens": "800", "requests": "5000", "cached_input_tokens": "0"}


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium under Playwright; skipped only where either is not installed."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: apt-get install chromium (CI installs it in .ci/run)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is missing: pip install '.[test]'")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    """A fresh page that fails the test on any script error or console error (CSP violations included)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, color_scheme="light", locale="en-US")
    page = context.new_page()
    page.set_default_timeout(20_000)
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    page.on("console", lambda msg: problems.append(f"console {msg.type}: {msg.text}") if msg.type == "error" else None)
    yield page
    context.close()
    assert not problems, problems


def api_estimate(served: str, models: list[str], workload: dict[str, str]) -> dict:
    """GET /v1/estimate, with every number kept as the exact text the server wrote."""
    params = [("models", ",".join(models)), *workload.items(), ("period", "month")]
    response = httpx.get(f"{served}/v1/estimate", params=params, timeout=10)
    assert response.status_code == 200, response.text
    return json.loads(response.text, parse_float=str, parse_int=str)


def wait_for_estimate(page, models: list[str], workload: dict[str, str]) -> None:
    """Wait until the page shows the answer to exactly this workload (the request it rendered is on #results)."""
    page.wait_for_function(
        """([models, workload]) => {
            const results = document.querySelector('#results');
            if (results.dataset.status !== 'ready' || !results.dataset.request) return false;
            const sent = new URLSearchParams(results.dataset.request);
            return JSON.stringify((sent.get('models') || '').split(',')) === JSON.stringify(models)
                && Object.entries(workload).every(([name, value]) => sent.get(name) === value);
        }""",
        arg=[models, workload],
    )
    rendered = dict(parse_qsl(page.get_attribute("#results", "data-request")))
    assert rendered["period"] == "month"
    assert {k: rendered[k] for k in workload} == workload


def model_order(estimates: list[dict]) -> list[str]:
    return list(dict.fromkeys(f"{e['provider']}/{e['model']}" for e in estimates))


def money(page, model: str, tier: str, field: str):
    return page.locator(f".model-card[data-model='{model}'] td[data-tier='{tier}'][data-field='{field}']")


def test_page_and_assets_are_served_with_types_and_caching(served):
    page = httpx.get(f"{served}/calculator", timeout=10)
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert "max-age" in page.headers["cache-control"]
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert "frame-ancestors" not in page.headers["content-security-policy"]  # made to be framed anywhere
    assert "x-frame-options" not in page.headers
    assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', page.text)
    assert {a.split("?")[0] for a in assets} == {"/static/calculator.css", "/static/calculator.js"}
    assert all(re.search(r"\?v=[0-9a-f]{12}$", a) for a in assets), assets
    for path, kind in (("calculator.js", "text/javascript"), ("calculator.css", "text/css"), ("embed.js", "text/javascript")):
        asset = httpx.get(f"{served}/static/{path}", timeout=10)
        assert asset.status_code == 200
        assert asset.headers["content-type"].split(";")[0] == kind
        assert asset.headers["cache-control"] == "max-age=3600, public"
    assert httpx.get(f"{served}/static/missing.js", timeout=10).status_code == 404
    embedded = httpx.get(f"{served}/calculator", params={"embed": "1"}, timeout=10)
    assert '<html lang="en" class="embed">' in embedded.text
    schema = httpx.get(f"{served}/schema/openapi.json", timeout=10).json()
    assert not [p for p in schema["paths"] if p.startswith(("/calculator", "/static"))]


def test_calculator_shows_what_the_api_estimates_and_ranks_like_it(served, page, tmp_path):
    page.goto(f"{served}/calculator")
    chips = page.locator("#chips > li")
    assert chips.first.get_attribute("data-model", timeout=20_000) == "openai/gpt-4o"  # the default
    assert chips.count() == 1

    # The worked example, typed in as a user would.
    page.get_by_label("Input tokens per request").fill("2000")
    page.get_by_label("Output tokens per request").fill("800")
    page.get_by_label("Requests per month").fill("5000")
    page.get_by_label("Cache-hit share of input").press("Home")  # 0%
    wait_for_estimate(page, ["openai/gpt-4o"], WORKLOAD)

    api = api_estimate(served, ["gpt-4o"], WORKLOAD)
    by_tier = {e["tier"]: e for e in api["estimates"]}
    for tier, truth, shown in (("standard", "65", "$65.00"), ("batch", "32.5", "$32.50")):
        cell = money(page, "openai/gpt-4o", tier, "per_period")
        usd = cell.get_attribute("data-usd")
        assert usd == by_tier[tier]["per_period"]  # the API's own digits, untouched
        assert Decimal(usd) == Decimal(truth)
        assert cell.inner_text() == shown
        assert money(page, "openai/gpt-4o", tier, "per_year").get_attribute("data-usd") == by_tier[tier]["per_year"]
    per_request = money(page, "openai/gpt-4o", "standard", "per_request")
    assert Decimal(per_request.get_attribute("data-usd")) == Decimal("0.013")
    assert per_request.inner_text() == "$0.013"
    batch_saving = money(page, "openai/gpt-4o", "batch", "savings")
    assert Decimal(batch_saving.get_attribute("data-usd")) == Decimal("32.5")
    assert "50%" in batch_saving.inner_text()

    # A second model, found with the search box and added from the keyboard.
    search = page.get_by_role("combobox", name="Models")
    search.fill("claude-sonnet-4-5")
    page.locator("[role=option][data-provider=anthropic][data-model=claude-sonnet-4-5]").wait_for()
    search.press("Enter")
    assert chips.nth(1).get_attribute("data-model") == "anthropic/claude-sonnet-4-5"
    models = ["openai/gpt-4o", "anthropic/claude-sonnet-4-5"]
    wait_for_estimate(page, models, WORKLOAD)

    api = api_estimate(served, models, WORKLOAD)
    ranked = model_order(api["estimates"])
    assert sorted(ranked) == sorted(models)
    comparison = page.locator("#comparison tbody tr").evaluate_all("rows => rows.map(r => r.dataset.model)")
    cards = page.locator(".model-card").evaluate_all("cards => cards.map(c => c.dataset.model)")
    assert comparison == ranked
    assert cards == ranked
    for e in api["estimates"]:
        key = f"{e['provider']}/{e['model']}"
        assert money(page, key, e["tier"], "per_period").get_attribute("data-usd") == e["per_period"]
    offered = {e["tier"] for e in api["estimates"] if e["provider"] == "anthropic"}
    said_not_offered = {g["tier"] for g in api["unpriced"] if g["state"] == "not_offered"}
    for tier in {"standard", "batch", "flex", "priority"} - offered:
        # Not offered only where a page says so; a tier with no price recorded is unknown, never "not offered".
        if tier in said_not_offered:
            assert money(page, "anthropic/claude-sonnet-4-5", tier, "not_offered").inner_text() == "not offered"
        else:
            assert money(page, "anthropic/claude-sonnet-4-5", tier, "unknown").inner_text() == "unknown"
    # The footer says how fresh the prices are, as the API does, and warns when they are stale.
    footer = page.locator("#prices-as-of").inner_text()
    for fresh in api["freshness"]:
        assert f"{fresh['provider']} {fresh['prices_as_of'][:10]}" in footer
    stale = [f["provider"] for f in api["freshness"] if f["stale"]]
    assert all(p in page.locator("#prices-stale").inner_text() for p in stale)

    # The chart is the first chosen model's standard input and output history, as step lines.
    chart = page.locator("#chart")
    page.wait_for_function("() => document.querySelector('#chart svg path.series.output')")
    assert chart.get_attribute("data-model") == "openai/gpt-4o"
    assert page.locator("#chart path.series.input").count() == 1
    assert page.locator("#history-table tbody tr").count() >= 2  # GPT-4o's price cut of October 2024

    search.blur()  # a calm picture: no focus ring, no open list
    shot = tmp_path / "calculator.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    if os.environ.get("RATECARD_UPDATE_SCREENSHOT"):
        SCREENSHOT.parent.mkdir(exist_ok=True)
        shutil.copyfile(shot, SCREENSHOT)


@pytest.fixture
def host_page(served, request):
    """Another site's page embedding the calculator: its own server and origin, on loopback.

    Parametrize indirectly with the script tag's extra data attributes.
    """
    extra = getattr(request, "param", "")
    body = (
        '<!doctype html><meta charset="utf-8"><title>Pricing notes</title><h1>Our pricing notes</h1>'
        f'<script src="{served}/static/embed.js" data-models="gpt-4o,claude-sonnet-4-5" data-requests="5000" {extra}>'
        "</script><p>After the frame.</p>"
    ).encode()

    class HostPage(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), HostPage)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/pricing"
    server.shutdown()
    server.server_close()


def test_embedded_by_script_tag_on_another_page(served, host_page, page):
    page.goto(host_page)
    frame_element = page.locator("iframe")
    src = frame_element.get_attribute("src")
    assert src.startswith(f"{served}/calculator?") and "embed=1" in src and "models=gpt-4o,claude-sonnet-4-5" in src
    frame = page.frame_locator("iframe")
    frame.locator("#comparison tbody tr").nth(1).wait_for()
    assert frame.locator(".site-header").is_hidden()  # no page chrome inside the frame
    assert frame.locator("#chips > li").count() == 2
    assert frame.get_by_label("Requests per month").input_value() == "5000"
    # The frame grows to fit what it shows (the page reports its height to embed.js).
    page.wait_for_function("() => document.querySelector('iframe').style.height !== '900px'")
    assert int(frame_element.evaluate("f => parseInt(f.style.height)")) > 400


# ---------------------------------------------------------------- the Plan view

PLAN_SCREENSHOT = Path(__file__).parent.parent / "docs" / "calculator-plan.png"


def wait_for_plan(page) -> dict:
    """Wait until the Plan view shows a forecast; the body it posted (from #plan's data-request)."""
    page.wait_for_function("() => document.querySelector('#plan').dataset.status === 'ready'"
                           " && document.querySelector('#plan').dataset.request")
    return json.loads(page.get_attribute("#plan", "data-request"))


def api_forecast(served: str, body: dict) -> dict:
    """POST /v1/forecast, with every number kept as the exact text the server wrote."""
    response = httpx.post(f"{served}/v1/forecast", json=body, timeout=10)
    assert response.status_code == 200, response.text
    return json.loads(response.text, parse_float=str, parse_int=str)


def plan_cell(page, month: str, field: str):
    return page.locator(f"#plan-table tbody tr[data-month='{month}'] td[data-field='{field}']")


def test_plan_view_two_thousand_a_month_with_sixty_percent_on_batch_saves_six_hundred(served, page, tmp_path):
    page.goto(f"{served}/calculator")
    assert page.locator("#chips > li").first.get_attribute("data-model", timeout=20_000) == "openai/gpt-4o"
    # gpt-4o at 1,000 tokens in and 1,000 out: $0.0125 a request at standard.
    page.get_by_label("Input tokens per request").fill("1000")
    page.get_by_label("Output tokens per request").fill("1000")
    page.locator("label[for=view-plan]").click()
    page.get_by_label("I spend").fill("2000")
    batch = page.get_by_label("Batch share of requests")
    batch.press("Home")
    for _ in range(60):
        batch.press("ArrowRight")
    page.get_by_label("Start month").fill("2026-12")
    page.wait_for_function("() => JSON.parse(document.querySelector('#plan').dataset.request || '{}').batch_share === 0.6"
                           " && document.querySelector('#plan').dataset.status === 'ready'")
    sent = wait_for_plan(page)
    assert {k: sent[k] for k in ("models", "input_tokens", "output_tokens", "monthly_spend_usd", "spend_model",
                                 "batch_share", "start_month", "months")} == {
        "models": ["openai/gpt-4o"], "input_tokens": 1000, "output_tokens": 1000, "monthly_spend_usd": 2000,
        "spend_model": "openai/gpt-4o", "batch_share": 0.6, "start_month": "2026-12", "months": 12}
    assert "monthly_requests" not in sent  # the spend gives the volume

    api = api_forecast(served, sent)
    assert api["monthly_requests"] == "160000"  # $2,000 / $0.0125
    (gpt,) = api["forecasts"]
    rows = page.locator("#plan-table tbody tr")
    assert rows.count() == 12
    for month in gpt["months"]:
        for field in ("cost_usd", "savings_from_batch_usd", "baseline_usd", "cumulative_cost_usd"):
            assert plan_cell(page, month["month"], field).get_attribute("data-usd") == month[field]
    # The seed's example: $2,000 a month, 60% on batch at half price, saves $600 a month.
    assert plan_cell(page, "2026-12", "baseline_usd").inner_text() == "$2,000.00"
    assert plan_cell(page, "2026-12", "savings_from_batch_usd").inner_text() == "$600.00"
    assert plan_cell(page, "2026-12", "cost_usd").inner_text() == "$1,400.00"
    assert Decimal(plan_cell(page, "2027-11", "savings_from_batch_usd").get_attribute("data-usd")) == 600
    batch_stat = page.locator(".stat[data-stat='Batch saves'] dd")
    assert batch_stat.get_attribute("data-usd") == gpt["savings_from_batch_usd"] and Decimal(gpt["savings_from_batch_usd"]) == 7200
    assert "$600.00 in Dec 2026" in batch_stat.inner_text()
    assert page.locator(".stat[data-stat='Yearly total'] dd").get_attribute("data-usd") == gpt["total_usd"] == "16800"
    # A 12-month chart: one stacked bar per month, what is paid under what batch saves.
    assert page.locator("#plan-chart svg rect.bar-cost").count() == 12
    assert page.locator("#plan-chart svg rect.bar-batch").count() == 12
    assert "160,000 requests at $0.0125 each" in page.locator("#plan-notes").inner_text()

    # Payback: 16 h x $100 = $1,600 against $600 a month saved: the third month.
    page.get_by_label("Engineering hours to move to batch").fill("16")
    page.get_by_label("Cost of an engineering hour in US dollars").fill("100")
    page.wait_for_function("() => JSON.parse(document.querySelector('#plan').dataset.request || '{}').hourly_rate_usd === 100"
                           " && document.querySelector('#plan').dataset.status === 'ready'")
    assert page.locator(".stat[data-stat='Payback'] dd").inner_text().startswith("3 months")
    assert page.locator("#plan-chart .payback").count() == 1

    assert "160,000 requests a month at $0.0125 each" in page.locator("#plan-spend-hint").inner_text()
    page.locator("#plan-rate").blur()  # a calm picture: no focus ring
    shot = tmp_path / "plan.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    if os.environ.get("RATECARD_UPDATE_SCREENSHOT"):
        shutil.copyfile(shot, PLAN_SCREENSHOT)

    # The share link restores the whole state in a fresh page: view, workload, plan and figures.
    link = page.get_attribute("#share-link", "href")
    assert link.startswith(f"{served}/calculator?") and "view=plan" in link and "embed" not in link
    sent = wait_for_plan(page)
    shared = page.context.new_page()
    shared.goto(link)
    assert wait_for_plan(shared) == sent
    assert shared.locator("#view-plan").is_checked()
    assert shared.get_by_label("I spend").input_value() == "2000"
    assert shared.get_by_label("Batch share of requests").input_value() == "60"
    assert shared.get_by_label("Start month").input_value() == "2026-12"
    assert shared.get_by_label("Engineering hours to move to batch").input_value() == "16"
    assert plan_cell(shared, "2026-12", "savings_from_batch_usd").inner_text() == "$600.00"
    shared.close()


def test_plan_view_shows_errors_and_several_models(served, page):
    page.goto(f"{served}/calculator?models=gpt-4o,gpt-4o-mini&input_tokens=500&output_tokens=300&requests=50000"
              "&view=plan&start=2026-12&months=3&growth=10")
    sent = wait_for_plan(page)
    assert (sent["monthly_requests"], sent["months"], sent["monthly_growth_percent"]) == (50000, 3, 10)
    api = api_forecast(served, sent)
    compare = page.locator("#plan-compare tbody tr")
    assert compare.evaluate_all("rows => rows.map(r => r.dataset.model)") == ["openai/gpt-4o", "openai/gpt-4o-mini"]
    for forecast in api["forecasts"]:
        key = f"{forecast['provider']}/{forecast['model']}"
        assert page.locator(f"#plan-compare tr[data-model='{key}'] td[data-field='total_usd']").get_attribute(
            "data-usd") == forecast["total_usd"]
    # The month-by-month card follows the picked model.
    page.locator("#plan-model").select_option("openai/gpt-4o-mini")
    page.wait_for_function("() => document.querySelector('#plan-chart').dataset.model === 'openai/gpt-4o-mini'")
    mini = api["forecasts"][1]
    assert plan_cell(page, "2027-02", "cost_usd").get_attribute("data-usd") == mini["months"][2]["cost_usd"]
    # A pasted prompt is counted with the first model's tokenizer, then planned with that count.
    page.locator("label[for=mode-text]").click()
    page.get_by_label("Prompt", exact=True).fill("Summarise the attached contract in three bullet points.")
    page.wait_for_function("() => JSON.parse(document.querySelector('#plan').dataset.request || '{}').input_tokens !== 500"
                           " && document.querySelector('#plan').dataset.status === 'ready'")
    counted = httpx.post(f"{served}/v1/tokens", json={"model": "openai/gpt-4o",
                                                      "text": "Summarise the attached contract in three bullet points."},
                         timeout=10).json()["tokens"]
    assert wait_for_plan(page)["input_tokens"] == counted
    # Out of range: the field says so, no request is sent.
    page.get_by_label("Months").fill("37")
    page.wait_for_function("() => document.querySelector('#plan-months').getAttribute('aria-invalid') === 'true'")
    assert "from 1 to 36" in page.locator("#plan-months-error").inner_text()
    # Half a migration: both or neither.
    page.get_by_label("Months").fill("3")
    page.get_by_label("Engineering hours to move to batch").fill("16")
    page.wait_for_function("() => !document.querySelector('#plan-hours-error').hidden")
    assert "both" in page.locator("#plan-hours-error").inner_text()


# ---------------------------------------------------------------- pages that work with the network off


def offline(page, served: str) -> list[str]:
    """Let the page reach only the ratecard under test; every other request is refused and listed."""
    refused: list[str] = []

    def only_loopback(route):
        if route.request.url.startswith(served) or route.request.url.startswith("data:"):
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort("internetdisconnected")

    page.context.route("**/*", only_loopback)
    return refused


def test_the_api_reference_renders_with_the_network_off(served, page):
    refused = offline(page, served)
    document = httpx.get(f"{served}/schema/openapi.json", timeout=10).json()
    page.goto(f"{served}/schema")
    assert page.locator("h1").inner_text() == "ratecard API reference"
    # Every operation of the document is on the page, with its summary; every schema has its section.
    operations = page.locator("section.op")
    expected = [(m.upper(), p) for p, ops in document["paths"].items() for m in ops]
    assert sorted(operations.evaluate_all(
        "ops => ops.map(o => [o.querySelector('.method').textContent, o.querySelector('h3 code').textContent])"
    )) == sorted([list(e) for e in expected])
    for name in document["components"]["schemas"]:
        assert page.locator(f"#schema-{name}").count() == 1
    forecast = page.locator("#op-post-v1-forecast")
    assert "Project a workload's cost month by month" in forecast.inner_text()
    assert page.locator("#ForecastRequest-monthly_spend_usd").count() == 1
    # Styled by ratecard's own stylesheet: the header is laid out, not a bare list.
    assert page.locator(".site-header").evaluate("h => getComputedStyle(h).display") != "inline"
    assert page.locator("script").count() == 0
    assert refused == []


def test_price_changes_page_from_the_calculator(served, page):
    refused = offline(page, served)
    page.goto(f"{served}/calculator")
    page.locator("#chips > li").first.wait_for()
    page.get_by_role("link", name="Price changes").first.click()
    page.wait_for_url(f"{served}/changes")
    assert page.locator("h1").inner_text() == "Price changes"
    feed = json.loads(httpx.get(f"{served}/v1/changes", params={"limit": 20}, timeout=10).text,
                      parse_float=str, parse_int=str)
    shown = page.locator("section.changeset").evaluate_all("cards => cards.map(c => c.dataset.changeset)")
    assert shown == [cs["id"] for cs in feed["changesets"]]
    assert page.locator("a", has_text="Atom").get_attribute("href") == "/v1/changes.atom"
    assert refused == []


@pytest.mark.parametrize("host_page", ['data-view="plan" data-spend="2000" data-batch="60" data-months="6"'],
                         indirect=True)
def test_embedded_plan_view(served, host_page, page):
    page.goto(host_page)
    src = page.locator("iframe").get_attribute("src")
    assert "view=plan" in src and "spend=2000" in src and "batch=60" in src and "months=6" in src
    frame = page.frame_locator("iframe")
    frame.locator("#plan-table tbody tr").nth(5).wait_for()
    assert frame.locator("#plan-table tbody tr").count() == 6
    assert frame.locator("#view-plan").is_checked()
    assert frame.locator("#plan-compare tbody tr").count() == 2
