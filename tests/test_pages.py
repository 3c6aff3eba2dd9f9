"""The pages for people: the API reference at /schema and the price changes at /changes, rendered on the server."""

import json
import re
from html import escape
from decimal import Decimal

from ratecard.service.openapi import openapi_json
from ratecard.service.pages import render_reference, usd


def test_the_reference_is_static_html_from_the_openapi_document(client):
    response = client.get("/schema")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    assert "<script" not in html and "cdn." not in html  # nothing to fetch: it works offline
    assets = re.findall(r'href="(/static/[^"]+)"', html)
    assert {a.split("?")[0] for a in assets} == {"/static/calculator.css", "/static/pages.css"}
    for asset in assets:
        assert client.get(asset).status_code == 200
    document = json.loads(openapi_json())
    for path, operations in document["paths"].items():
        for method in operations:
            assert f'<span class="method {method}">{method.upper()}</span> <code>{path}</code>' in html
    # Each field of each schema is a row, with its description.
    spend = document["components"]["schemas"]["SpendBasis"]["properties"]["usd_per_request"]["description"]
    assert 'id="SpendBasis-usd_per_request"' in html and escape(spend) in html
    assert client.get("/schema/openapi.json").json()["info"]["title"] == "ratecard"
    assert client.get("/schema/redoc").status_code == 404  # no viewer that needs a CDN


def test_the_reference_escapes_text_and_marks_code():
    html = render_reference({"info": {"title": "<x>", "description": "Use `a<b`.", "version": "1"},
                             "paths": {}, "components": {"schemas": {}}})
    assert "&lt;x&gt; API reference" in html and "<code>a&lt;b</code>" in html


def test_usd_for_people():
    assert [usd(Decimal(v)) for v in ("10", "0.125", "0.075", "1326", "0.0000375", "-2.5")] == [
        "$10.00", "$0.125", "$0.075", "$1,326.00", "$0.0000375", "−$2.50"]
    assert usd(None) == "—"


def test_the_changes_page_shows_the_feed_and_links_to_json_and_atom(client):
    feed = client.get("/v1/changes", params={"provider": "openai", "limit": 20}).json()
    response = client.get("/changes", params={"provider": "openai"})
    assert response.status_code == 200
    html = response.text
    assert re.findall(r'data-changeset="(\d+)"', html) == [str(cs["id"]) for cs in feed["changesets"]]
    assert 'href="/v1/changes?provider=openai"' in html
    assert 'type="application/atom+xml"' in html and 'href="/v1/changes.atom?provider=openai"' in html
    assert "default-src 'self'" in response.headers["content-security-policy"]
    # o3's cut of 2025-06-10 (curated): $10.00 -> $2.00 input, shown as money, with the change in percent.
    o3 = client.get("/changes", params={"provider": "openai", "model": "o3"}).text
    assert "$10.00</td><td class=\"num\">$2.00 <span class=\"saving up\">-80.0%</span>" in o3
    assert "10 Jun 2025" in o3


def test_the_changes_page_rejects_a_bad_moment_as_the_api_does(client):
    response = client.get("/changes", params={"since": "June"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "since"


def test_the_calculator_links_the_human_pages(client):
    html = client.get("/calculator").text
    assert 'href="/changes"' in html and 'href="/schema"' in html


def test_the_served_document_is_the_committed_one_with_every_field_described(client):
    served = client.get("/schema/openapi.json").json()
    committed = json.loads(openapi_json())
    assert served == committed
    usd_per_mtok = served["components"]["schemas"]["Rate"]["properties"]["usd_per_mtok"]["description"]
    assert "USD per 1M tokens" in usd_per_mtok
