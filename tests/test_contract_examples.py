"""The committed contract documents every operation fully: summary, described parameters with
examples, example request bodies, stated page-size limits and one problem-details shape for errors.

Read from the committed openapi/openapi.json (tests/test_openapi.py checks that it is what the
app generates), so every operation counts, whoever added it.
"""

import json
import re
from pathlib import Path

import pytest

COMMITTED = Path(__file__).parent.parent / "openapi" / "openapi.json"
SCHEMA = json.loads(COMMITTED.read_text(encoding="utf-8"))
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_REF = "#/components/schemas/Problem"

OPERATIONS = [
    pytest.param(method, path, operation, id=f"{method.upper()} {path}")
    for path, item in sorted(SCHEMA["paths"].items())
    for method, operation in item.items()
    if method in METHODS
]


def test_the_contract_has_operations():
    assert len(OPERATIONS) >= 20


def parameter_examples(parameter: dict) -> list:
    """The example values a parameter documents (OpenAPI `example` or `examples`)."""
    values = [e.get("value") for e in (parameter.get("examples") or {}).values()]
    return values + ([parameter["example"]] if "example" in parameter else [])


def body_examples(media: dict) -> list:
    """The example values a request body's media type documents, on it or on its schema."""
    values = [e.get("value") for e in (media.get("examples") or {}).values()]
    if "example" in media:
        values.append(media["example"])
    return values + list(media.get("schema", {}).get("examples") or [])


@pytest.mark.parametrize(("method", "path", "operation"), OPERATIONS)
def test_every_operation_has_a_summary(method, path, operation):
    assert operation.get("summary", "").strip(), f"{method.upper()} {path} has no summary"


@pytest.mark.parametrize(("method", "path", "operation"), OPERATIONS)
def test_every_parameter_has_a_description_and_an_example(method, path, operation):
    for parameter in operation.get("parameters", []):
        where = f"{method.upper()} {path} {parameter['in']} parameter {parameter['name']!r}"
        assert parameter.get("description", "").strip(), f"{where} has no description"
        assert parameter_examples(parameter), f"{where} has no example"


@pytest.mark.parametrize(("method", "path", "operation"), OPERATIONS)
def test_every_request_body_has_an_example(method, path, operation):
    body = operation.get("requestBody")
    if body is None:
        return
    assert body.get("content"), f"{method.upper()} {path}: request body without content"
    for media_type, media in body["content"].items():
        assert body_examples(media), f"{method.upper()} {path}: {media_type} request body has no example"


@pytest.mark.parametrize(("method", "path", "operation"), OPERATIONS)
def test_every_documented_error_is_a_problem_details_body(method, path, operation):
    for status, response in operation.get("responses", {}).items():
        if not status.startswith(("4", "5")):
            continue
        where = f"{method.upper()} {path} {status}"
        content = response.get("content", {})
        assert list(content) == [PROBLEM_MEDIA_TYPE], f"{where} is documented as {sorted(content)}"
        assert content[PROBLEM_MEDIA_TYPE]["schema"] == {"$ref": PROBLEM_REF}, f"{where} is not the Problem schema"


@pytest.mark.parametrize(("method", "path", "operation"), OPERATIONS)
def test_every_page_size_parameter_states_its_limit(method, path, operation):
    for parameter in operation.get("parameters", []):
        if parameter["name"] != "limit":
            continue
        where = f"{method.upper()} {path} limit"
        maximum = parameter["schema"].get("maximum")
        assert maximum is not None, f"{where} has no maximum"
        assert re.search(rf"\b1 to {int(maximum)}\b", parameter["description"]), (
            f"{where}: the description does not state the range 1 to {int(maximum)}"
        )


def test_the_problem_schema_is_rfc_9457_with_a_field_list():
    problem = SCHEMA["components"]["schemas"]["Problem"]
    assert set(problem["required"]) == {"type", "title", "status", "detail"}
    assert problem["properties"]["errors"]["items"] == {"$ref": "#/components/schemas/FieldError"}


@pytest.mark.parametrize(("method", "path", "operation"), OPERATIONS)
def test_examples_are_valid_against_their_schemas(method, path, operation):
    jsonschema_rs = pytest.importorskip("jsonschema_rs")  # comes with schemathesis

    def check(schema: dict, value: object, where: str) -> None:
        # The whole document is the root, so `#/components/...` references resolve.
        validator = jsonschema_rs.validator_for({**schema, "components": SCHEMA["components"]})
        errors = [e.message for e in validator.iter_errors(value)]
        assert not errors, f"{where}: example {value!r} does not fit its schema: {errors}"

    for parameter in operation.get("parameters", []):
        for value in parameter_examples(parameter):
            check(parameter["schema"], value, f"{method.upper()} {path} {parameter['name']}")
    for media_type, media in operation.get("requestBody", {}).get("content", {}).items():
        for value in body_examples(media):
            check(media["schema"], value, f"{method.upper()} {path} {media_type} body")
