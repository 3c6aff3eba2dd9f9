"""Shared fixtures: a fixed clock, a bootstrapped in-memory service, and an HTTP client over it."""

import functools
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from ratecard import data as ratecard_data
from litestar.testing import TestClient

from ratecard.service.app import Service, Settings, create_app, prepare_service
from ratecard.service.catalog import sync_model_catalog
from ratecard.service.db import open_database
from ratecard.service.sources import Registry, load_registry

# Tests never read the real clock: "now" is a fixed moment after every bundled snapshot.
FIXED_NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
# Test-only pages (a challenge page, a page that must be rejected) and the golden
# .expected.json files; the bundled pages themselves are read from data/snapshots/,
# one copy of each, under the same <source>/<name> relative path.
FIXTURES = Path(__file__).parent / "fixtures"
SNAPSHOTS = ratecard_data.path("snapshots")


def fixed_clock() -> datetime:
    """The clock every test service runs on."""
    return FIXED_NOW


@functools.cache
def shared_bundled_service() -> Service:
    """One service over an in-memory database filled from the bundled snapshots, built on first use."""
    return prepare_service(Settings(), clock=fixed_clock)


@pytest.fixture(scope="session")
def bundled_service() -> Service:
    """The shared bundled service (read-only tests only)."""
    return shared_bundled_service()


@pytest.fixture
def registry() -> Registry:
    """The bundled source registry (data/sources.toml)."""
    return load_registry(None)


def empty_database(now: datetime):
    """An in-memory database with the model catalog synced at ``now`` and no price yet: a page's first ingest."""
    database = open_database(None)
    sync_model_catalog(database, now=now)
    return database


@pytest.fixture
def client(bundled_service: Service) -> Iterator[TestClient]:
    """An HTTP client for the app over the bundled service (read-only tests share it)."""
    app = create_app(bundled_service.settings, service=bundled_service, clock=fixed_clock)
    with TestClient(app) as test_client:
        yield test_client


def refresh_and_wait(client, source_id: str, headers: dict[str, str], *, within_s: float = 120.0) -> dict:
    """POST an admin refresh (answered 202 at once) and wait for its run to end; return how it ended.

    The answer has the fields the admin refresh used to answer with when it
    blocked: source, status, run_id, changeset_id, error, catalog_version.
    """
    import time

    give_up = time.monotonic() + within_s  # a bound on a hung test, not a timed assertion
    response = client.post(f"/v1/admin/refresh/{source_id}", headers=headers)
    # The previous refresh holds the source's lock until it has swapped the catalog, a moment after
    # its run is recorded as ended: a 409 then means "wait for it", as it would for any client.
    while response.status_code == 409 and time.monotonic() < give_up:
        time.sleep(0.01)
        response = client.post(f"/v1/admin/refresh/{source_id}", headers=headers)
    assert response.status_code == 202, response.text
    started = response.json()
    assert started["status"] == "running"
    while True:
        runs = client.get("/v1/runs", params={"source": source_id, "limit": 500}).json()["runs"]
        run = next(r for r in runs if r["id"] == started["run_id"])
        if run["status"] != "running":
            break
        assert time.monotonic() < give_up, f"run {run} still running"
        time.sleep(0.01)
    # The catalog is reloaded right after the run is recorded; readiness shows the version served.
    version = client.get("/readyz").json().get("catalog_version", 0)
    if run["changeset_id"]:
        while version < run["changeset_id"] and run["status"] != "quarantined":
            assert time.monotonic() < give_up, "catalog never reloaded"
            time.sleep(0.01)
            version = client.get("/readyz").json().get("catalog_version", 0)
    return {"source": source_id, "status": run["status"], "run_id": run["id"], "changeset_id": run["changeset_id"],
            "error": run["error"], "catalog_version": version}
