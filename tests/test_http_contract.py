"""What calculator pages on other origins rely on: CORS, caching headers, size limits, one error shape."""

import pytest
from litestar.testing import TestClient

from ratecard.service.app import Settings, create_app
from tests.conftest import fixed_clock

ORIGIN = "https://calculator.example"


@pytest.fixture
def cors_client(bundled_service):
    settings = Settings(cors_origins=(ORIGIN,), admin_token="t")
    app = create_app(settings, service=bundled_service, clock=fixed_clock)
    with TestClient(app) as client:
        yield client


def test_an_allowed_origin_may_read_prices(cors_client):
    response = cors_client.get("/v1/prices", params={"model": "gpt-4o"}, headers={"Origin": ORIGIN})
    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert "etag" in response.headers["access-control-expose-headers"].lower()


def test_preflight_for_the_estimate_post_is_answered(cors_client):
    response = cors_client.options("/v1/estimate", headers={
        "Origin": ORIGIN, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"})
    assert response.status_code in (200, 204)
    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert "POST" in response.headers["access-control-allow-methods"]


def test_preflight_with_an_authorization_header_is_refused(cors_client):
    response = cors_client.options("/v1/admin/refresh/openai", headers={
        "Origin": ORIGIN, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization"})
    assert response.status_code == 400
    assert "access-control-allow-origin" not in response.headers


def test_other_origins_get_no_cors_headers(cors_client):
    response = cors_client.get("/v1/prices", params={"model": "gpt-4o"}, headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in response.headers


def test_a_body_over_the_limit_is_a_413_problem(client):
    response = client.post("/v1/estimate", content=b'{"models": ["' + b"x" * 5_000_000 + b'"]}',
                           headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("path", ["/v1/models/openai/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
                                  "/v1/models/openai/gpt-4o%00", "/v1/models/%F0%9F%92%B8/%E2%80%AE"])
def test_path_tricks_in_model_names_are_4xx_problems(client, path):
    response = client.get(path)
    assert 400 <= response.status_code < 500
    assert response.headers["content-type"] == "application/problem+json"


def test_no_server_version_header(client):
    response = client.get("/healthz")
    assert "server" not in {k.lower() for k in response.headers}
