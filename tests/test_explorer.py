"""The explorer (``ci-metrics serve``) over a store the real pipeline built from the fake
GitHub server, with hostile names in the data.

Served by a real uvicorn on 127.0.0.1 (httpx against it) and, for narrow checks, by
Starlette's TestClient. The numbers it shows must be the KPI layer's for the same filter
and period, ``/metrics`` must be ``kpi.targets``' latest day, exports must equal the
tables shown, and names from the data must stay text.
"""

from __future__ import annotations

import html
import json
import logging
import math
import os
import re
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient

from pipelines import store
from pipelines.fake_github.generator import (
    HOSTILE_IMG,
    HOSTILE_SCRIPT,
    HOSTILE_SQL,
    FakeWorld,
)
from pipelines.kpi import query
from pipelines.kpi.catalogue import KPIS
from pipelines.kpi.config import KpiConfig
from pipelines.kpi.filters import Filters, Period
from pipelines.snapshot import publish, snapshot_path
from reports.explorer.app import create_app
from reports.explorer.config import ExplorerConfig
from reports.explorer.source import Source
from reports.explorer.tables import csv_value
from tests.explorer_support import (
    END,
    KPI_CONFIG,
    build_store,
    csv_rows,
    hostile_world,
    hrefs,
    serving,
)

pytestmark = pytest.mark.slow

TOKEN = "explorer-token-7f3a9c"


@pytest.fixture(scope="module")
def world() -> FakeWorld:
    return hostile_world()


@pytest.fixture(scope="module")
def built(world: FakeWorld, tmp_path_factory: pytest.TempPathFactory) -> Path:
    db, _ = build_store(world, tmp_path_factory.mktemp("explorer"), KPI_CONFIG)
    return db


@pytest.fixture(scope="module")
def config(built: Path) -> ExplorerConfig:
    return ExplorerConfig(db_path=built, kpi=KPI_CONFIG)


@pytest.fixture(scope="module")
def url(config: ExplorerConfig):
    with serving(config) as base:
        yield base


@pytest.fixture(scope="module")
def http(url: str):
    with httpx.Client(base_url=url, timeout=120) as client:
        yield client


def close(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


def layer(db: Path, filters: Filters, period: Period) -> dict[str, dict]:
    with store.connect(db, read_only=True) as con:
        repos = query.known_repos(con, filters)
        return query.kpis(con, repos, filters, period, config=KPI_CONFIG)


# ---- the numbers are the layer's


FILTERS = (
    ("", Filters()),
    ("branch=pr", Filters.of(branches=["pr"])),
    ("branch=default&event=push", Filters.of(branches=["default"], events=["push"])),
    ("repo=acme%2Frepo-1", Filters.of(repos=["acme/repo-1"])),
)


@pytest.mark.parametrize(("params", "filters"), FILTERS, ids=[p or "all" for p, _ in FILTERS])
def test_overview_json_is_the_layers_kpis_for_the_filter(
    http: httpx.Client, built: Path, params: str, filters: Filters
) -> None:
    period = Period(END - timedelta(days=5), END - timedelta(days=1))
    got = http.get(f"/?format=json&start={period.start}&end={period.end}&{params}")
    assert got.status_code == 200, got.text
    body = got.json()
    want = layer(built, filters, period)
    assert set(body["repos"]) == set(want) and want
    for repo, cards in want.items():
        for name, card in cards.items():
            shown = body["repos"][repo]["kpis"][name]
            assert close(shown["value"], card.value), (repo, name)
            assert shown["status"] == card.status and shown["target"] == card.kpi.target
    if len(want) == 1:
        assert body["kpis"] == body["repos"][next(iter(want))]["kpis"]
    else:
        assert body["kpis"] is None
    assert body["period"] == {
        "start": period.start.isoformat(),
        "end": period.end.isoformat(),
        "days": period.days,
    }


def test_reduction_cards_without_a_baseline_show_what_the_period_measured(built: Path) -> None:
    unset = KpiConfig(KPI_CONFIG.full_suite_workflow)  # no baseline days
    period = Period(END - timedelta(days=5), END - timedelta(days=1))
    with store.connect(built, read_only=True) as con:
        want = query.kpis(con, query.known_repos(con), Filters(), period, config=unset)
    app = create_app(ExplorerConfig(db_path=built, kpi=unset))
    with TestClient(app, base_url="http://127.0.0.1") as client:
        page = client.get(f"/?start={period.start}&end={period.end}").text
    reductions = [k for k in KPIS.values() if k.reduction]
    assert reductions
    for repo, cards in want.items():
        for kpi in reductions:
            card = cards[kpi.name]
            assert card.value is None and card.window_value is not None
            where = f'data-kpi="{kpi.name}" data-repo="{html.escape(repo)}"'
            li = re.search(rf"<li[^>]*{re.escape(where)}.*?</li>", page, re.S).group(0)
            measured = float(re.search(r'data-measured="([^"]+)"', li).group(1))
            assert measured == pytest.approx(card.window_value)
            assert "measured" in li and 'data-hint="baseline"' in li
            assert "CI_METRICS_BASELINE_START" in li


def test_success_rate_axis_fits_the_rates(http: httpx.Client) -> None:
    query_ = f"start={END - timedelta(days=5)}&end={END}"
    rates = http.get(f"/?{query_}&format=json").json()["series"]["success_rate"]
    lowest = min(v for s in rates for v in s["values"] if v is not None)
    page = http.get(f"/?{query_}").text
    svg = page.split('data-chart="success"', 1)[1].split("</svg>")[0]
    ticks = [int(t) for t in re.findall(r'text-anchor="end">(\d+) %</text>', svg)]
    assert ticks[-1] == 100
    assert ticks[0] <= lowest * 100 < ticks[0] + 20  # every rate on it, not always from 0 %


def test_a_filter_changes_the_numbers(http: httpx.Client) -> None:
    every = http.get("/?format=json").json()["repos"]
    prs = http.get("/?format=json&branch=pr").json()["repos"]
    runs = {r: http.get(f"/workflows?format=json&repo={r}").json() for r in every}
    assert runs
    assert any(
        every[r]["kpis"][k]["value"] != prs[r]["kpis"][k]["value"]
        for r in every
        for k in every[r]["kpis"]
    )


def test_default_period_is_the_seven_days_ending_on_the_last_data_day(
    http: httpx.Client, built: Path
) -> None:
    with store.connect(built, read_only=True) as con:
        last = con.execute("SELECT max(day) FROM kpi.run_facts").fetchone()[0]
    body = http.get("/?format=json").json()
    assert body["period"] == {
        "start": (last - timedelta(days=6)).isoformat(),
        "end": last.isoformat(),
        "days": 7,
    }


# ---- drill down, exports


def test_drill_down_from_overview_to_workflow_to_run(http: httpx.Client) -> None:
    overview = http.get("/")
    assert overview.status_code == 200
    workflows = hrefs(overview.text, r"/workflow\?")
    assert workflows, "the workflow table links to workflow pages"
    for link in hrefs(overview.text, r"/(workflows?)?\?"):  # cards and table rows
        assert http.get(link).status_code == 200, link
    page = http.get(workflows[0])
    runs = hrefs(page.text, r"/run\?")
    assert runs, "the runs table links to run pages"
    for link in runs[:5]:
        got = http.get(link)
        assert got.status_code == 200, link
        assert 'class="gantt"' in got.text


def test_every_table_downloads_as_csv_equal_to_its_json_rows(http: httpx.Client) -> None:
    wf = http.get("/?format=json").json()["tables"]["workflows"][0]
    run = http.get(
        "/workflow", params={"workflow": wf["workflow_name"], "repo": wf["repo"], "format": "json"}
    ).json()["tables"]["runs"][0]
    pages = [
        ("/", {}),
        ("/workflows", {"workflows_sort": "success_rate", "workflows_dir": "asc"}),
        ("/workflow", {"workflow": wf["workflow_name"], "repo": wf["repo"], "runs_page": "2"}),
        ("/run", {"repo": run["repo"], "run_id": str(run["run_id"])}),
    ]
    checked = 0
    for path, params in pages:
        body = http.get(path, params={**params, "format": "json"}).json()
        for name, rows in body["tables"].items():
            got = http.get(path, params={**params, "format": "csv", "table": name})
            assert got.status_code == 200 and got.headers["content-type"].startswith("text/csv")
            header, lines = csv_rows(got.text)
            assert header == (list(rows[0]) if rows else header)
            assert lines == [[csv_value(v) for v in r.values()] for r in rows], (path, name)
            checked += len(rows)
    assert checked > 0
    bad = http.get("/", params={"format": "csv", "table": "nope"})
    assert bad.status_code == 400 and "workflows" in bad.text


def test_runs_table_pages_and_sorts(http: httpx.Client, built: Path) -> None:
    wf = HOSTILE_SQL
    start, end = END - timedelta(days=6), END
    with store.connect(built, read_only=True) as con:
        want = con.execute(
            "SELECT count(*) FROM kpi.run_facts WHERE workflow_name = ? AND day BETWEEN ? AND ?",
            [wf, start, end],
        ).fetchone()[0]
    assert want > 50, "enough runs for two pages"
    seen = []
    for page in (1, 2, 3):
        body = http.get(
            "/workflow",
            params={
                "workflow": wf,
                "start": str(start),
                "end": str(end),
                "runs_sort": "duration_s",
                "runs_dir": "asc",
                "runs_page": str(page),
                "format": "json",
            },
        ).json()
        seen += body["tables"]["runs"]
        assert body["paging"]["runs"]["total"] == want
    assert len(seen) == want and len({(r["repo"], r["run_id"]) for r in seen}) == want
    durations = [r["duration_s"] for r in seen if r["duration_s"] is not None]
    assert durations == sorted(durations)
    assert all(r["duration_s"] is None for r in seen[len(durations) :])


def test_costliest_jobs_steps_equal_the_jobs_step_times(http: httpx.Client, built: Path) -> None:
    """The steps table: the 5 job names with the most compute minutes (each job rounded up
    to whole minutes), and per step the executions and total time read from the jobs'
    own step timestamps."""
    wf, start, end = HOSTILE_SQL, END - timedelta(days=6), END
    with store.connect(built, read_only=True) as con:
        # (a job's attempt, when stored, must be completed for its minutes to count)
        jobs = con.execute(
            "SELECT j.name, j.started_at, j.completed_at, j.conclusion, "
            "coalesce(a.status, 'completed'), j.steps "
            "FROM raw.workflow_jobs j LEFT JOIN raw.workflow_runs a "
            "ON a.repo = j.repo AND a.run_id = j.run_id AND a.run_attempt = j.run_attempt "
            "WHERE (j.repo, j.run_id) IN ("
            "  SELECT (repo, run_id) FROM raw.workflow_runs WHERE workflow_name = ? "
            "  GROUP BY repo, run_id HAVING min(created_at)::DATE BETWEEN ? AND ?)",
            [wf, start, end],
        ).fetchall()
    minutes: dict[str, int] = {}
    for name, started, completed, conclusion, attempt, _ in jobs:
        billable = (
            started
            and completed
            and completed >= started
            and conclusion != "skipped"
            and attempt == "completed"
        )
        seconds = (completed - started).total_seconds() if billable else 0
        minutes[name] = minutes.get(name, 0) + math.ceil(seconds / 60)
    top = sorted(minutes, key=lambda n: (-minutes[n], n))[:5]
    want: dict[tuple[str, str], list[float]] = {}
    for name, *_, steps in jobs:
        if name not in top:
            continue
        for step in json.loads(steps):
            if not (step.get("started_at") and step.get("completed_at")):
                continue
            began = datetime.fromisoformat(step["started_at"].replace("Z", "+00:00"))
            ended = datetime.fromisoformat(step["completed_at"].replace("Z", "+00:00"))
            if ended >= began:
                want.setdefault((name, step["name"]), []).append((ended - began).total_seconds())
    assert want, "the jobs have timed steps"
    body = http.get(
        "/workflow",
        params={"workflow": wf, "start": str(start), "end": str(end), "format": "json"},
    ).json()
    # the job breakdown bills each job as kpi.run_facts does: the same minutes as here
    assert {r["job"]: r["compute_minutes"] for r in body["tables"]["jobs"]} == minutes
    rows = body["tables"]["steps"]
    assert [r["job"] for r in rows] == sorted(
        (r["job"] for r in rows), key=lambda n: (-minutes[n], n)
    )
    assert {r["job"] for r in rows} == set(top)
    got = {(r["job"], r["step"]): r for r in rows}
    assert set(got) == set(want)
    for key, durations in want.items():
        assert got[key]["executions"] == len(durations), key
        assert got[key]["total_s"] == pytest.approx(sum(durations)), key
        assert got[key]["job_compute_minutes"] == minutes[key[0]], key
    for job in top:
        shares = [r["share_of_job"] for r in rows if r["job"] == job]
        assert sum(shares) == pytest.approx(1.0)


def test_run_page_lists_every_step_of_its_jobs_with_links_to_the_log(
    http: httpx.Client, built: Path
) -> None:
    with store.connect(built, read_only=True) as con:
        repo, run_id = con.execute(
            "SELECT repo, run_id FROM raw.workflow_jobs WHERE json_array_length(steps) > 0 "
            "ORDER BY run_id LIMIT 1"
        ).fetchone()
        jobs = con.execute(
            "SELECT run_attempt, name, steps, html_url FROM raw.workflow_jobs "
            "WHERE repo = ? AND run_id = ?",
            [repo, run_id],
        ).fetchall()
    want = sorted(
        (attempt, name, step["number"], step["name"])
        for attempt, name, steps, _ in jobs
        for step in json.loads(steps)
    )
    params = {"repo": repo, "run_id": str(run_id)}
    rows = http.get("/run", params={**params, "format": "json"}).json()["tables"]["steps"]
    assert sorted((r["run_attempt"], r["job"], r["step_number"], r["step"]) for r in rows) == want
    page = http.get("/run", params=params).text
    logs = {url for *_, url in jobs if url}
    links = hrefs(page, r"https?://.*#step:\d+:1$")
    assert links and {link.split("#")[0] for link in links} <= logs


# ---- /metrics


def test_metrics_are_the_latest_day_of_kpi_targets(http: httpx.Client, built: Path) -> None:
    got = http.get("/metrics")
    assert got.status_code == 200
    families = {f.name: f for f in text_string_to_metric_families(got.text)}
    with store.connect(built, read_only=True) as con:
        rows = con.execute(
            "SELECT repo, kpi, value, target FROM kpi.targets "
            "WHERE day = (SELECT max(day) FROM kpi.targets)"
        ).fetchall()
        extracted = dict(
            con.execute(
                "SELECT repo, max(extracted_at) FROM raw.workflow_runs GROUP BY 1"
            ).fetchall()
        )
    values = {
        (s.labels["repo"], s.labels["kpi"]): s.value
        for s in families["ci_metrics_kpi_value"].samples
    }
    targets = {
        (s.labels["repo"], s.labels["kpi"]): s.value
        for s in families["ci_metrics_kpi_target"].samples
    }
    assert values == {(r, k): v for r, k, v, _ in rows if v is not None}
    assert targets == {(r, k): t for r, k, _, t in rows}
    stamps = {
        s.labels["repo"]: s.value
        for s in families["ci_metrics_last_extraction_timestamp_seconds"].samples
    }
    assert stamps == {r: at.replace(tzinfo=UTC).timestamp() for r, at in extracted.items()}


# ---- bad input, safety


def test_bad_dates_are_a_clear_400_and_unknown_values_are_empty(http: httpx.Client) -> None:
    for query_string, words in (
        ("start=2025-13-01", "start"),
        ("end=yesterday", "end"),
        ("start=2025-03-10&end=2025-03-01", "before start"),
    ):
        got = http.get(f"/?{query_string}")
        assert got.status_code == 400 and words in html.unescape(got.text), query_string
        assert http.get(f"/workflow?workflow=x&{query_string}&format=json").status_code == 400
    body = http.get("/?format=json&repo=nobody/nothing").json()
    assert body["repos"] == {} and body["kpis"] is None and body["tables"]["workflows"] == []
    runs = http.get("/workflow?workflow=no-such-workflow&format=json").json()["tables"]
    assert runs == {"runs": [], "jobs": [], "steps": []}
    assert http.get("/run?repo=acme/repo-0&run_id=1").status_code == 404
    assert http.get("/run?repo=acme/repo-0&run_id=abc").status_code == 400


def test_hostile_names_stay_text(http: httpx.Client) -> None:
    wf = http.get("/?format=json").json()["tables"]["workflows"]
    names = {r["workflow_name"] for r in wf}
    assert HOSTILE_SCRIPT in names and HOSTILE_IMG in names, "the data holds hostile names"
    pages = [http.get("/"), http.get("/workflows")]
    for row in wf:
        page = http.get("/workflow", params={"workflow": row["workflow_name"], "repo": row["repo"]})
        pages.append(page)
        runs = hrefs(page.text, r"/run\?")
        if runs:
            pages.append(http.get(runs[0]))
    for page in pages:
        assert page.status_code == 200
        assert "<script" not in page.text.lower(), page.url  # the explorer has no script
        assert "onerror=" not in page.text.replace("onerror=&#34;", ""), page.url
        assert "<img" not in page.text, page.url
    assert any("&lt;script&gt;window.__pwned=1&lt;/script&gt;" in p.text for p in pages)


def test_every_response_carries_the_strict_policy(http: httpx.Client) -> None:
    for path in ("/", "/metrics", "/static/explorer.css", "/?start=bad"):
        policy = http.get(path).headers["content-security-policy"]
        assert "default-src 'none'" in policy and "script-src 'self'" in policy
        assert "unsafe-inline" not in policy
    page = http.get("/").text
    assert "style=" not in page and "https://" not in re.sub(r'href="https://[^"]*"', "", page)


# ---- the token


def test_token_is_required_and_never_shown(
    config: ExplorerConfig, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    secured = ExplorerConfig(db_path=config.db_path, kpi=KPI_CONFIG, token=TOKEN)
    with TestClient(create_app(secured), base_url="http://127.0.0.1") as client:
        assert client.get("/").status_code == 401
        assert client.get("/metrics").status_code == 401
        assert client.get("/static/explorer.css").status_code == 401
        assert client.get("/", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert client.get("/?token=wrong").status_code == 401
        ok = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        assert ok.status_code == 200
        first = client.get("/workflows?token=" + TOKEN + "&branch=pr", follow_redirects=False)
        assert first.status_code == 303 and TOKEN not in first.headers["location"]
        assert first.headers["location"] == "/workflows?branch=pr"
        page = client.get("/workflows?branch=pr")  # the cookie set by the redirect
        assert page.status_code == 200 and TOKEN not in page.text
    with TestClient(create_app(secured), base_url="http://127.0.0.1") as fresh:
        fresh.cookies.set("ci_metrics_token", TOKEN)
        assert fresh.get("/").status_code == 200
    ours = "\n".join(
        r.getMessage() for r in caplog.records if r.name.startswith(("ci_metrics", "uvicorn"))
    )
    assert "GET /workflows 303" in ours  # requests are logged, without their query
    assert TOKEN not in ours


def test_serve_refuses_a_public_address_without_a_token(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "CI_METRICS_SERVE_TOKEN"}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pipelines.cli",
            "serve",
            "--host",
            "0.0.0.0",
            "--port",
            "9",
            "--db",
            str(tmp_path / "none.duckdb"),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert "CI_METRICS_SERVE_TOKEN" in done.stderr and "0.0.0.0" in done.stderr


# ---- the snapshot


def test_reads_the_snapshot_while_the_store_is_held_for_writing(
    built: Path, tmp_path: Path
) -> None:
    db = tmp_path / "store.duckdb"
    shutil.copy(built, db)
    publish(db)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys; c = duckdb.connect(sys.argv[1]); print('held', flush=True); "
            "sys.stdin.read()",
            str(db),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(duckdb.IOException):
            duckdb.connect(str(db), read_only=True).close()  # the store itself is locked
        app = ExplorerConfig(db_path=db, kpi=KPI_CONFIG)
        with TestClient(create_app(app)) as client:
            page = client.get("/")
            assert page.status_code == 200 and 'data-origin="snapshot"' in page.text
            assert client.get("/metrics").status_code == 200
            snapshot_path(db).unlink()
            down = client.get("/")
            assert down.status_code == 503 and "being written" in html.unescape(down.text)
    finally:
        holder.stdin.close()
        holder.wait(timeout=60)


def test_a_new_snapshot_is_read_once_published(built: Path, tmp_path: Path) -> None:
    db = tmp_path / "store.duckdb"
    shutil.copy(built, db)
    publish(db)
    with TestClient(create_app(ExplorerConfig(db_path=db, kpi=KPI_CONFIG))) as client:
        before = client.get("/metrics").text
        assert "ci_metrics_kpi_value{" in before
        with store.connect(db) as con:
            con.execute("UPDATE kpi.targets SET value = NULL WHERE kpi = 'run_flakiness_rate'")
        assert client.get("/metrics").text == before  # still the published copy
        publish(db)
        after = {
            (f.name, s.labels["kpi"])
            for f in text_string_to_metric_families(client.get("/metrics").text)
            for s in f.samples
            if "kpi" in s.labels
        }
        # the new copy is read, and a NULL value is left out rather than exported
        assert ("ci_metrics_kpi_value", "run_flakiness_rate") not in after
        assert ("ci_metrics_kpi_target", "run_flakiness_rate") in after
        assert ("ci_metrics_kpi_value", "full_suite_p95_s") in after


def test_the_store_index_is_read_once_per_snapshot(built: Path, tmp_path: Path) -> None:
    # the repositories, filter options and last day are read once per published copy: a
    # repository added to the store shows once the next snapshot is published, not before
    db = tmp_path / "store.duckdb"
    shutil.copy(built, db)
    publish(db)

    def repos(client: TestClient) -> set[str]:
        page = client.get("/", params={"format": "json"}).json()
        return set(page["repos"])

    with TestClient(create_app(ExplorerConfig(db_path=db, kpi=KPI_CONFIG))) as client:
        before = repos(client)
        with store.connect(db) as con:
            con.execute(
                "INSERT INTO raw.workflow_runs (repo, run_id, run_attempt, created_at) "
                "SELECT 'acme/newcomer', 1, 1, max(created_at) FROM raw.workflow_runs"
            )
        assert repos(client) == before  # the published copy, its index kept
        filter_bar = client.get("/").text
        assert "acme/newcomer" not in filter_bar
        publish(db)
        assert repos(client) == before | {"acme/newcomer"}
        assert "acme/newcomer" in client.get("/").text


def test_memo_computes_once_per_snapshot_and_every_time_without_one(
    built: Path, tmp_path: Path
) -> None:
    db = tmp_path / "store.duckdb"
    shutil.copy(built, db)
    source = Source(db)
    calls: list[int] = []

    def read(con: duckdb.DuckDBPyConnection) -> int:
        calls.append(1)
        return con.execute("SELECT count(*) FROM raw.workflow_runs").fetchone()[0]

    for _ in range(2):  # no snapshot: the store itself, read each time
        with source.connect() as con:
            source.memo(con, "runs", lambda c=con: read(c))
    assert len(calls) == 2
    publish(db)
    for _ in range(3):
        with source.connect() as con:
            first = source.memo(con, "runs", lambda c=con: read(c))
    assert len(calls) == 3
    publish(db)
    with source.connect() as con:
        assert source.memo(con, "runs", lambda c=con: read(c)) == first
    assert len(calls) == 4
    source.close()


def test_only_web_addresses_become_github_links() -> None:
    from reports.explorer.tables import commit_link, github_page, pr_links

    row = {
        "html_url": "javascript:alert(1)",
        "repo_url": "https://github.com/o/r",
        "head_sha": "abc123",
        "pull_request_numbers": [3],
    }
    assert github_page(row) is None
    assert github_page({"html_url": "https://github.com/o/r/actions/runs/1"}) is not None
    assert commit_link(row) == "https://github.com/o/r/commit/abc123"
    assert pr_links(row) == [("#3", "https://github.com/o/r/pull/3")]
    hostile = {**row, "repo_url": "javascript:alert(1)//"}
    assert commit_link(hostile) is None and pr_links(hostile) == []
