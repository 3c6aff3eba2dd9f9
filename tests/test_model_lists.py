"""One syntax for several models: `models` as a comma list or repeated (and `model`, the GET's older name),
read the same way by GET and POST /v1/estimate, POST /v1/forecast and the command line."""

import pytest
from litestar.testing import TestClient

from ratecard.service.app import create_app
from ratecard.service.pricing import MAX_MODELS, model_names
from tests.conftest import fixed_clock

WORKLOAD = "input_tokens=2000&output_tokens=800&requests=5000"
TWO = ["openai/gpt-4o", "anthropic/claude-sonnet-4-5"]


@pytest.fixture(scope="module")
def any_client(bundled_service):
    """A client of the app; GET and POST /v1/estimate are answered by their handlers only."""
    with TestClient(create_app(bundled_service.settings, service=bundled_service, clock=fixed_clock)) as client:
        yield client


def models_of(response) -> list[str]:
    assert response.status_code == 200, response.text
    return list(dict.fromkeys(f"{e['provider']}/{e['model']}" for e in response.json()["estimates"]))


@pytest.mark.parametrize("query", [
    "models=gpt-4o,claude-sonnet-4-5",  # the documented form
    "models=gpt-4o%2Cclaude-sonnet-4-5",  # as URLSearchParams writes it
    "models=gpt-4o&models=claude-sonnet-4-5",
    "model=gpt-4o&model=claude-sonnet-4-5",  # the older name, repeated
    "model=gpt-4o,claude-sonnet-4-5",
    "models=gpt-4o&model=claude-sonnet-4-5",
    "models=gpt-4o,%20claude-sonnet-4-5,",  # a space and a trailing comma are not names
])
def test_get_estimate_reads_comma_lists_and_repeats_alike(any_client, query):
    assert sorted(models_of(any_client.get(f"/v1/estimate?{query}&{WORKLOAD}"))) == sorted(TWO)


def test_the_forms_give_the_same_figures(any_client):
    comma = any_client.get(f"/v1/estimate?models=gpt-4o,claude-sonnet-4-5&{WORKLOAD}").json()
    repeated = any_client.get(f"/v1/estimate?model=gpt-4o&model=claude-sonnet-4-5&{WORKLOAD}").json()
    assert comma == repeated
    posted = any_client.post("/v1/estimate", json={"models": ["gpt-4o,claude-sonnet-4-5"], "input_tokens": 2000,
                                                   "output_tokens": 800, "requests": 5000}).json()
    assert posted["estimates"] == comma["estimates"]


def test_a_model_named_twice_is_priced_once(client):
    assert models_of(client.get(f"/v1/estimate?models=gpt-4o,openai/gpt-4o&model=GPT-4o&{WORKLOAD}")) == [TWO[0]]


@pytest.mark.parametrize("query", [f"models={','.join(['gpt-4o'] * (MAX_MODELS + 1))}", "models=,", ""])
def test_too_many_or_no_models_is_a_400_naming_models(any_client, query):
    response = any_client.get(f"/v1/estimate?{query}&{WORKLOAD}")
    assert response.status_code == 400
    problem = response.json()
    assert problem["errors"][0]["field"] == "models" and f"1 to {MAX_MODELS} models" in problem["detail"]


def test_an_unknown_model_in_a_list_is_a_404_with_suggestions(client):
    response = client.get(f"/v1/estimate?models=gpt-4o,gpt-4oo&{WORKLOAD}")
    assert response.status_code == 404 and "openai/gpt-4o" in response.json()["suggestions"]


def test_forecast_reads_comma_lists(client):
    body = {"input_tokens": 1000, "monthly_requests": 10, "start_month": "2026-12", "months": 1}
    listed = client.post("/v1/forecast", json={**body, "models": ["gpt-4o,claude-sonnet-4-5"]}).json()
    separate = client.post("/v1/forecast", json={**body, "models": ["gpt-4o", "claude-sonnet-4-5"]}).json()
    assert listed == separate and [f["model"] for f in listed["forecasts"]] == ["gpt-4o", "claude-sonnet-4-5"]


def test_no_name_in_the_catalog_holds_a_comma(bundled_service):
    # What makes a comma safe as the separator.
    for (provider, model), info in bundled_service.catalog.models.items():
        for name in (provider, model, info.display_name, *info.aliases):
            assert "," not in name, (provider, model, name)


def test_model_names_splits_and_trims():
    assert model_names(["gpt-4o, o3", "o1", ",", " claude-sonnet-4-5 "]) == ["gpt-4o", "o3", "o1",
                                                                          "claude-sonnet-4-5"]


def test_the_openapi_document_states_the_syntax(client):
    params = {p["name"]: p for p in client.get("/schema/openapi.json").json()["paths"]["/v1/estimate"]["get"]
              ["parameters"]}
    assert "comma list" in params["models"]["description"] and "repeated" in params["models"]["description"]
    assert "older name of `models`" in params["model"]["description"]
