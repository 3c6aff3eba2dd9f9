"""Compressed answers: gzip above a small size, `Vary: Accept-Encoding` on every answer, and ETags that
stay correct (strong for the plain bytes, weak for the gzip ones) and revalidate either way."""

import gzip

import pytest

from ratecard.service.compression import COMPRESS_OVER_BYTES

GZIP = {"Accept-Encoding": "gzip"}
PLAIN = {"Accept-Encoding": "identity"}


def vary(response) -> list[str]:
    return [token.strip().lower() for token in response.headers["vary"].split(",")]


def test_the_largest_price_list_is_under_100_kb_gzipped_and_the_same_json(client):
    plain = client.get("/v1/prices", params={"limit": 5000}, headers=PLAIN)
    packed = client.get("/v1/prices", params={"limit": 5000}, headers=GZIP)
    assert plain.status_code == packed.status_code == 200
    assert "content-encoding" not in plain.headers and packed.headers["content-encoding"] == "gzip"
    wire = int(packed.headers["content-length"])
    assert wire < 100_000 < int(plain.headers["content-length"])
    assert packed.content == plain.content  # httpx undoes the gzip: the same bytes underneath


@pytest.mark.parametrize(("path", "media_type"), [
    ("/v1/export?format=csv&provider=openai", "text/csv"),
    ("/v1/export?format=json&provider=openai", "application/json"),
    ("/calculator", "text/html"),
    ("/v1/changes.atom", "application/atom+xml"),
])
def test_json_csv_html_and_atom_are_gzipped(client, path, media_type):
    response = client.get(path, headers=GZIP)
    assert response.status_code == 200 and response.headers["content-type"].startswith(media_type)
    assert response.headers["content-encoding"] == "gzip"
    assert vary(response).count("accept-encoding") == 1


def test_small_answers_go_plain_but_still_vary(client):
    response = client.get("/healthz", headers=GZIP)
    assert len(response.content) < COMPRESS_OVER_BYTES and "content-encoding" not in response.headers
    assert vary(response) == ["accept-encoding"]


def test_vary_names_accept_encoding_once_whether_or_not_compressed(client):
    for headers in (GZIP, PLAIN):
        response = client.get("/v1/prices", params={"model": "gpt-4o"}, headers=headers)
        assert vary(response) == ["accept-encoding", "origin"], headers


def test_the_gzip_answer_has_a_weak_etag_and_the_plain_one_a_strong_one(client):
    plain = client.get("/v1/prices", params={"model": "gpt-4o"}, headers=PLAIN).headers["etag"]
    packed = client.get("/v1/prices", params={"model": "gpt-4o"}, headers=GZIP).headers["etag"]
    assert plain.startswith('"v') and packed == f"W/{plain}"


@pytest.mark.parametrize("held", ["plain", "gzip"])
@pytest.mark.parametrize("asking", ["plain", "gzip"])
def test_either_etag_revalidates_either_encoding(client, held, asking):
    """A cache holding one encoding may revalidate for a client asking for the other: a 304 both ways."""
    url = "/v1/estimate?models=gpt-4o,claude-sonnet-4-5&input_tokens=2000&output_tokens=800&requests=5000"
    tag = client.get(url, headers=GZIP if held == "gzip" else PLAIN).headers["etag"]
    again = client.get(url, headers={**(GZIP if asking == "gzip" else PLAIN), "If-None-Match": tag})
    assert again.status_code == 304 and again.content == b""
    # The 304 carries the tag the 200 would have: weak for a gzip client, strong for a plain one.
    assert again.headers["etag"].startswith("W/") == (asking == "gzip")
    assert again.headers["etag"].removeprefix("W/") == tag.removeprefix("W/")
    assert "accept-encoding" in vary(again)


def test_a_changed_answer_is_not_revalidated_by_an_old_tag(client):
    tag = client.get("/v1/prices", params={"model": "gpt-4o"}, headers=GZIP).headers["etag"]
    other = client.get("/v1/prices", params={"model": "gpt-4o-mini"}, headers={**GZIP, "If-None-Match": tag})
    assert other.status_code == 200 and other.headers["content-encoding"] == "gzip"


def test_problem_answers_are_compressed_too_when_large(client):
    response = client.get("/v1/estimate?models=gpt-4oo&input_tokens=5", headers=GZIP)
    assert response.status_code == 404 and response.json()["suggestions"]
    assert "accept-encoding" in vary(response)


def test_the_gzip_bytes_on_the_wire_decompress_to_the_plain_answer(client):
    with client.stream("GET", "/v1/export?format=csv&provider=openai", headers=GZIP) as response:
        raw = b"".join(response.iter_raw())
    plain = client.get("/v1/export?format=csv&provider=openai", headers=PLAIN).content
    assert len(raw) < len(plain) and gzip.decompress(raw) == plain
