"""Nothing slow runs on the event loop: a write waiting on another process's lock, a past read,
a long forecast. Each test holds the slow work at a known point and shows that other requests
are answered meanwhile (a blocked loop could answer nothing until the work ended)."""

import asyncio
import subprocess
import sys
import threading
from datetime import datetime

import httpx
import pytest
from contextlib import asynccontextmanager

from ratecard.service.app import Service, Settings, create_app, prepare_service
from ratecard.service.store import ReadOnTheEventLoop, Store
from tests.conftest import FIXED_NOW, fixed_clock

TOKEN = "an-admin-token-of-32-characters!"
HOLD_WRITE_LOCK = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
sys.stdin.readline()
conn.execute("ROLLBACK")
"""


@pytest.fixture
def anyio_backend():
    return "asyncio"


@asynccontextmanager
async def serving(app):
    """An HTTP client over ``app`` on this event loop, lifespan included.

    (Litestar's AsyncTestClient answers each request through a blocking portal, which would
    hold this loop for as long as a request takes.)
    """
    async with app.lifespan(), httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                                 base_url="http://testserver") as client:
        yield client


async def until(condition, what: str) -> None:
    """Yield to the loop until ``condition()`` holds (the work it waits for runs in threads)."""
    for _ in range(2000):
        if condition():
            return
        await asyncio.sleep(0.005)
    raise AssertionError(f"never: {what}")


@pytest.mark.anyio
async def test_reads_are_answered_while_another_process_holds_the_write_lock(tmp_path):
    db_path = str(tmp_path / "ratecard.db")
    settings = Settings(db_path=db_path, admin_token=TOKEN, bootstrap=False)
    service = prepare_service(settings, clock=fixed_clock)
    # The refresh fetches nothing: the source answers 404, a failed run, once it may be recorded.
    http = httpx.AsyncClient(transport=httpx.MockTransport(lambda request: httpx.Response(404)))
    holder = subprocess.Popen([sys.executable, "-c", HOLD_WRITE_LOCK, db_path], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        async with serving(create_app(settings, service=service, clock=fixed_clock, http=http)) as client:
            refresh = asyncio.create_task(client.post("/v1/admin/refresh/openai",
                                                      headers={"Authorization": f"Bearer {TOKEN}"}))
            await until(lambda: service.store.pending_writes == 1, "the refresh waits to record its run start")
            for path in ("/healthz", "/readyz", "/v1/runs", "/v1/sources", "/v1/changes",
                         "/v1/prices?as_of=2025-06-01"):
                response = await client.get(path)
                assert response.status_code in (200, 503), path  # 503: readyz with no bundled prices
                assert not refresh.done() and service.store.pending_writes == 1, path
            holder.stdin.write("release\n")
            holder.stdin.flush()
            answer = await refresh  # 202 once its run is recorded; the fetch goes on in the background
            assert answer.status_code == 202 and answer.json()["status"] == "running"
            for _ in range(2000):  # a bound on a hung test, not a timed assertion
                runs = (await client.get("/v1/runs", params={"source": "openai"})).json()["runs"]
                if runs[0]["status"] != "running":
                    break
                await asyncio.sleep(0.005)
        assert runs[0]["id"] == answer.json()["run_id"] and runs[0]["status"] == "failed"
    finally:
        holder.kill()
        holder.wait()
        service.store.close()
        await http.aclose()


@pytest.mark.anyio
async def test_a_long_forecast_runs_off_the_loop_while_other_requests_are_answered(bundled_service):
    entered, release = threading.Event(), threading.Event()
    hold = {"next": False}

    def clock() -> datetime:
        """The fixed clock, which holds the one call it is armed for until released."""
        if hold["next"]:
            hold["next"] = False
            entered.set()
            release.wait(30)
        return FIXED_NOW

    service = Service(bundled_service.settings, bundled_service.db, bundled_service.registry, clock)
    models = sorted(f"{p}/{m}" for p, m in bundled_service.catalog.models)[:20]
    async with serving(create_app(service.settings, service=service, clock=clock)) as client:
        hold["next"] = True  # the forecast reads the clock for its start month
        forecast = asyncio.create_task(client.post("/v1/forecast", json={
            "models": models, "input_tokens": 1000, "output_tokens": 500, "monthly_requests": 1000, "months": 120}))
        await until(entered.is_set, "the forecast starts")
        assert (await client.get("/healthz")).status_code == 200
        assert (await client.get("/v1/prices", params={"model": "gpt-4o"})).status_code == 200
        assert not forecast.done()
        release.set()
        answer = await forecast
    assert answer.status_code == 200
    assert len(answer.json()["forecasts"]) == 20 and len(answer.json()["forecasts"][0]["months"]) == 120


@pytest.mark.anyio
async def test_an_sqlite_read_on_the_event_loop_is_refused():
    store = Store(prepare_service(Settings(bootstrap=False), clock=fixed_clock).db, None)
    with pytest.raises(ReadOnTheEventLoop):
        store.reader()
    assert await store.run(lambda: store.reader().execute("SELECT 1").fetchone()[0]) == 1
