"""The operator's path, as real processes: `ratecard refresh` and a scheduled `ratecard serve` against a local server.

A loopback HTTP server plays Anthropic's pricing page; a sources file points
the anthropic source at it and switches every other source off, so nothing
leaves the machine. The three saved Anthropic pages (2025-10-29, -11-08,
-11-19) state the same 110 rates and differ only in links, so their real
changes are one changeset of 110 additions, then nothing.
"""

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.test_refresh_live import ANTHROPIC, ok, provider_server, sources_file  # noqa: F401 - provider_server is a fixture
from tests.test_serve_process import free_port

RATECARD = Path(sys.executable).parent / "ratecard"


def run_ratecard(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([str(RATECARD), *args], capture_output=True, text=True, timeout=120, env=env)


def test_refresh_then_scheduled_serve_record_exactly_the_pages_changes(tmp_path, provider_server):
    base, script = provider_server
    env = {k: v for k, v in os.environ.items() if not k.startswith("RATECARD_")}
    db = str(tmp_path / "ratecard.db")
    # 0.05 minutes: the scheduler's interval, so a run comes due every 3 s (plus jitter).
    sources = str(sources_file(tmp_path, base, interval_minutes=0.05))

    outcomes = []
    for page in ANTHROPIC:
        script.set("/anthropic.md", ok(page.read_bytes()))
        done = run_ratecard("refresh", "anthropic", "--db", db, "--sources", sources, env=env)
        assert done.returncode == 0, done.stderr
        outcomes.append(done.stderr.splitlines()[0])
    assert outcomes[0].startswith("anthropic: changed (changeset 1, 110 change(s))")
    assert [o.split(",")[0] for o in outcomes[1:]] == ["anthropic: no_change", "anthropic: no_change"]
    hits_before_serve = script.hits["/anthropic.md"]

    port = free_port()
    # --no-bootstrap: this database holds what the refreshes above recorded, and only that (a start would
    # otherwise ingest the bundled Anthropic pages it lacks, the newer one among them).
    server = subprocess.Popen([str(RATECARD), "serve", "--db", db, "--sources", sources, "--port", str(port),
                               "--no-bootstrap", "--log-level", "warning"], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE)
    api = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        scheduled = []
        while time.monotonic() < deadline and len(scheduled) < 2:
            assert server.poll() is None, server.stderr.read().decode()
            try:
                runs = httpx.get(f"{api}/v1/runs", params={"source": "anthropic"}, timeout=2).json()["runs"]
                # Finished runs only: on a busy machine the next run may already be under way.
                scheduled = [r for r in runs if r["trigger"] == "schedule" and r["status"] != "running"]
            except httpx.TransportError:
                pass
            time.sleep(0.3)
        # Two runs on the scheduler's own clock, each fetching the page and finding it unchanged.
        assert len(scheduled) >= 2, scheduled
        assert {r["status"] for r in scheduled} == {"unchanged"}
        assert script.hits["/anthropic.md"] >= hits_before_serve + 2

        source = next(s for s in httpx.get(f"{api}/v1/sources").json()["sources"] if s["id"] == "anthropic")
        assert source["url"] == f"{base}/anthropic.md" and source["interval_minutes"] == 0.05
        assert source["last_status"] == "unchanged" and source["last_success_at"] is not None
        assert source["next_run_at"] is not None

        changes = httpx.get(f"{api}/v1/changes", params={"provider": "anthropic", "limit": 100}).json()["changesets"]
        scraped = [c for c in changes if c["source"] == "anthropic"]
        assert [(c["id"], len(c["changes"])) for c in scraped] == [(1, 110)]
        # Curated history loaded at serve time reaches back before some of the page's rates at the same
        # value: as known now those rates only continue an earlier price, so the feed shows them confirmed.
        assert {c["action"] for c in scraped[0]["changes"]} <= {"added", "confirmed"}
        assert "added" in {c["action"] for c in scraped[0]["changes"]}
        sonnet = httpx.get(f"{api}/v1/prices", params={"model": "claude-sonnet-4-5", "tier": "standard",
                                                        "kind": "input"}).json()["rates"]
        # $3 base and $6 above 200k prompt tokens, read from the local server's copy of the page.
        assert sorted((r["min_prompt_tokens"], r["usd_per_mtok"], r["url"]) for r in sonnet) == [
            (0, 3, f"{base}/anthropic.md"), (200000, 6, f"{base}/anthropic.md")]
    finally:
        server.terminate()
        server.wait(timeout=10)
