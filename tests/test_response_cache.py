"""Litestar's response cache answers repeated GETs; its key keeps every answer to its own request."""

from types import SimpleNamespace

from ratecard.service.responses import answer_cache_key


def test_a_repeated_get_is_answered_alike_and_revalidation_still_gets_304(client):
    first = client.get("/v1/prices", params={"model": "gpt-4o"})
    again = client.get("/v1/prices", params={"model": "gpt-4o"})
    assert first.status_code == again.status_code == 200
    assert again.content == first.content and again.headers["etag"] == first.headers["etag"]
    assert client.get("/v1/prices", params={"model": "gpt-4o"},
                      headers={"If-None-Match": first.headers["etag"]}).status_code == 304
    other = client.get("/v1/prices", params={"model": "gpt-4o", "tier": "batch"})
    assert other.status_code == 200 and {r["tier"] for r in other.json()["rates"]} == {"batch"}


def request_for(version: int, epoch: str, query: bytes, if_none_match: bytes | None = None, *,
                run: int = 1) -> SimpleNamespace:
    catalog = SimpleNamespace(version=version, epoch=lambda at: epoch)
    # No sources: the freshness part of the key names only the latest run.
    service = SimpleNamespace(catalog=catalog, clock=lambda: None, confirmed=((run, None), {}),
                              registry=SimpleNamespace(sources={}), settings=SimpleNamespace(stale_after_hours=48.0))
    headers = [(b"host", b"x")] + ([(b"if-none-match", if_none_match)] if if_none_match else [])
    scope = {"method": "GET", "path": "/v1/prices", "query_string": query, "headers": headers}
    return SimpleNamespace(app=SimpleNamespace(state=SimpleNamespace(service=service)), scope=scope)


def test_the_key_holds_the_catalog_version_its_epoch_the_whole_target_and_if_none_match():
    key = answer_cache_key(request_for(7, "0", b"model=gpt-4o"))
    assert key != answer_cache_key(request_for(8, "0", b"model=gpt-4o"))  # a new catalog version
    assert key != answer_cache_key(request_for(7, "1", b"model=gpt-4o"))  # an announced price took effect
    assert key != answer_cache_key(request_for(7, "0", b"model=gpt-4o", run=2))  # a run changed the freshness
    assert key != answer_cache_key(request_for(7, "0", b"model=gpt-4o&tier=batch"))
    assert key != answer_cache_key(request_for(7, "0", b"model=gpt-4o", b'"v7-abc"'))
    assert key == answer_cache_key(request_for(7, "0", b"model=gpt-4o"))
