"""The explorer's Runners page (``/runners``) over a store the real pipeline built from the
fake GitHub server, whose jobs run on GitHub-hosted standard and larger runners and on a
self-hosted runner with a hostile group and label.

Minutes and queue percentiles must equal a query of this module over raw.workflow_jobs,
the cost the rounded minutes times the rate of the SKU the generator's labels name, at
GitHub's rates or the configured ones; self-hosted jobs cost 0; names stay text; every
export equals the table shown.
"""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys
from collections import defaultdict
from datetime import date, timedelta
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest
from starlette.testclient import TestClient

from pipelines import settings, store
from pipelines.fake_github.generator import (
    HOSTILE_RUNNER_GROUP,
    HOSTILE_RUNNER_LABEL,
    LARGER_RUNNER_LABEL,
    FakeWorld,
)
from reports.explorer.app import create_app
from reports.explorer.config import ExplorerConfig
from reports.explorer.pricing import DEFAULT_RATES, parse_rates, sku
from reports.explorer.server import config_from_env
from reports.explorer.tables import FORMATS, csv_value
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

# the generator's runners: the SKU each label set is billed as on GitHub's price list
SKUS = {
    ("ubuntu-latest",): "linux",
    ("windows-latest",): "windows",
    ("macos-latest",): "macos",
    (LARGER_RUNNER_LABEL,): "linux_4_core",
}
SELF_HOSTED = tuple(sorted(("self-hosted", "linux", HOSTILE_RUNNER_LABEL)))


@pytest.fixture(scope="module")
def world() -> FakeWorld:
    return hostile_world()


@pytest.fixture(scope="module")
def built(world: FakeWorld, tmp_path_factory: pytest.TempPathFactory) -> Path:
    db, _ = build_store(world, tmp_path_factory.mktemp("runners"), KPI_CONFIG)
    return db


@pytest.fixture(scope="module")
def http(built: Path):
    with serving(ExplorerConfig(db_path=built, kpi=KPI_CONFIG)) as base:
        with httpx.Client(base_url=base, timeout=120) as client:
            yield client


def quantile(values: list[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (NumPy's default, DuckDB's quantile_cont)."""
    if not values:
        return None
    xs = sorted(values)
    pos = (len(xs) - 1) * q
    lo = math.floor(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def expected(db: Path, start, end, repo: str | None = None) -> dict[str, dict]:
    """Per label set and per (hosting, group), from raw.workflow_jobs: the jobs (not
    skipped) of runs whose first attempt was created from ``start`` to ``end``; a job's
    minutes are its run time rounded up to the whole minute, 0 without both timestamps or
    while its attempt is not completed; queue is started_at - created_at when not negative."""
    with store.connect(db, read_only=True) as con:
        jobs = con.execute(
            """
            WITH runs AS (
                SELECT repo, run_id FROM raw.workflow_runs
                WHERE ? IS NULL OR repo = ?
                GROUP BY repo, run_id
                HAVING min(created_at) >= ? AND min(created_at) < ?
            )
            SELECT j.labels, j.runner_group_name, j.created_at, j.started_at, j.completed_at,
                a.status
            FROM raw.workflow_jobs j
            JOIN runs r USING (repo, run_id)
            LEFT JOIN raw.workflow_runs a
                ON a.repo = j.repo AND a.run_id = j.run_id AND a.run_attempt = j.run_attempt
            WHERE j.conclusion IS NULL OR j.conclusion <> 'skipped'
            """,
            [repo, repo, start, end + timedelta(days=1)],
        ).fetchall()
    labels: dict = defaultdict(lambda: {"jobs": 0, "minutes": 0, "queue": []})
    groups: dict = defaultdict(lambda: {"jobs": 0, "minutes": 0, "queue": []})
    for tags, group, created, started, completed, attempt_status in jobs:
        key = tuple(sorted(tags or []))
        hosting = "Self-hosted" if "self-hosted" in key else "GitHub-hosted"
        minutes = 0
        if started and completed and completed >= started and attempt_status in (None, "completed"):
            minutes = math.ceil((completed - started).total_seconds() / 60)
        for acc in (labels[key], groups[(hosting, group)]):
            acc["jobs"] += 1
            acc["minutes"] += minutes
            if started and created and started >= created:
                acc["queue"].append((started - created).total_seconds())
        labels[key]["hosting"] = hosting
    return {"labels": dict(labels), "groups": dict(groups)}


def close(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


PERIODS = (
    ("default", {}, None),
    ("repo", {"repo": "acme/repo-1", "start": str(END - timedelta(days=3))}, "acme/repo-1"),
)


@pytest.mark.parametrize(("name", "params", "repo"), PERIODS, ids=[p[0] for p in PERIODS])
def test_minutes_and_queue_equal_a_query_of_the_raw_jobs(
    http: httpx.Client, built: Path, name: str, params: dict, repo: str | None
) -> None:
    body = http.get("/runners", params={**params, "format": "json"}).json()
    start, end = (date.fromisoformat(body["period"][k]) for k in ("start", "end"))
    want = expected(built, start, end, repo)
    shown = {tuple(r["labels"] or []): r for r in body["tables"]["labels"]}
    assert set(shown) == set(want["labels"])
    assert {*SKUS, SELF_HOSTED} <= set(shown), "every kind of runner is in the data"
    total = sum(w["minutes"] for w in want["labels"].values())
    for key, w in want["labels"].items():
        row = shown[key]
        assert (row["jobs"], row["compute_minutes"], row["hosting"]) == (
            w["jobs"],
            w["minutes"],
            w["hosting"],
        ), key
        assert close(row["queue_p50_s"], quantile(w["queue"], 0.5)), key
        assert close(row["queue_p95_s"], quantile(w["queue"], 0.95)), key
        assert close(row["compute_share"], w["minutes"] / total), key
    groups = {(r["hosting"], r["runner_group"]): r for r in body["tables"]["groups"]}
    assert set(groups) == set(want["groups"])
    for key, w in want["groups"].items():
        row = groups[key]
        assert (row["jobs"], row["compute_minutes"]) == (w["jobs"], w["minutes"]), key
        assert close(row["queue_p95_s"], quantile(w["queue"], 0.95)), key
    assert ("Self-hosted", HOSTILE_RUNNER_GROUP) in groups
    # the KPI layer counts the same minutes for the same runs
    with store.connect(built, read_only=True) as con:
        layer = con.execute(
            "SELECT sum(compute_minutes) FROM kpi.run_facts "
            "WHERE day BETWEEN ? AND ? AND (? IS NULL OR repo = ?)",
            [start, end, repo, repo],
        ).fetchone()[0]
    assert total == layer


def _cost_check(body: dict, rates: dict[str, float]) -> None:
    by_sku: dict[str | None, float] = defaultdict(float)
    for row in body["tables"]["labels"]:
        key = tuple(row["labels"] or [])
        if key == SELF_HOSTED:
            assert row["compute_minutes"] > 0 and row["cost_usd"] == 0, "self-hosted costs 0"
            assert row["hosting"] == "Self-hosted"
            continue
        want = row["compute_minutes"] * rates[SKUS[key]]
        assert row["sku"] == SKUS[key] and close(row["cost_usd"], want), key
        assert close(row["rate_usd"], rates[SKUS[key]])
        by_sku[SKUS[key]] += want
    costs = {r["sku"]: r for r in body["tables"]["costs"]}
    assert costs[None]["hosting"] == "Self-hosted" and costs[None]["cost_usd"] == 0
    for code, want in by_sku.items():
        assert close(costs[code]["cost_usd"], want), code
    assert costs["macos"]["os"] == "macOS" and costs["linux_4_core"]["size"] == "4-core"
    assert close(body["cost_usd"], sum(by_sku.values()))


def test_cost_is_the_rounded_minutes_times_githubs_rate(http: httpx.Client) -> None:
    body = http.get("/runners?format=json").json()
    _cost_check(body, DEFAULT_RATES)
    assert DEFAULT_RATES["linux"] == 0.006 and DEFAULT_RATES["macos"] == 0.062
    assert body["rates_source"].startswith("https://docs.github.com/")


def test_a_configured_rate_changes_the_cost(
    built: Path, http: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(settings.DB.key, str(built))
    monkeypatch.setenv(settings.RUNNER_RATES.key, "linux=0.5, linux_4_core=2")
    config = config_from_env()
    assert config.runner_rates["linux"] == 0.5 and config.runner_rates["windows"] == 0.010
    rates = {**DEFAULT_RATES, "linux": 0.5, "linux_4_core": 2.0}
    served = ExplorerConfig(built, KPI_CONFIG, runner_rates=config.runner_rates)
    with TestClient(create_app(served)) as client:
        body = client.get("/runners?format=json").json()
    _cost_check(body, rates)
    before = http.get("/runners?format=json").json()
    assert body["cost_usd"] > before["cost_usd"]
    monkeypatch.setenv(settings.RUNNER_RATES.key, '{"macos": 0}')
    assert config_from_env().runner_rates["macos"] == 0


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("linux=cheap", "linux: 'cheap' is not a rate"),
        ("linux=-1", "linux: '-1' is not a rate"),
        ("ubuntu-latest=0.1", "'ubuntu-latest' is not a runner SKU"),
        ("linux", "'linux' is not SKU=RATE"),
        ('{"linux": 1', "not a JSON object"),
    ],
)
def test_a_bad_rate_names_the_key_and_the_sku(
    monkeypatch: pytest.MonkeyPatch, value: str, words: str
) -> None:
    monkeypatch.setenv(settings.RUNNER_RATES.key, value)
    with pytest.raises(ValueError) as err:
        config_from_env()
    assert str(err.value).startswith(f"{settings.RUNNER_RATES.key}: ") and words in str(err.value)


def test_serve_refuses_a_bad_rate(tmp_path: Path) -> None:
    env = {**os.environ, settings.RUNNER_RATES.key: "macos=lots"}
    done = subprocess.run(
        [sys.executable, "-m", "pipelines.cli", "serve", "--db", str(tmp_path / "x.duckdb")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert "CI_METRICS_RUNNER_RATES: macos: 'lots'" in done.stderr


@pytest.mark.parametrize(
    ("labels", "code"),
    [
        (["ubuntu-latest"], "linux"),
        (["ubuntu-24.04"], "linux"),
        (["windows-2022"], "windows"),
        (["macos-14"], "macos"),
        (["macos-13-large"], "macos_l"),
        (["macos-14-xlarge"], "macos_xl"),
        (["ubuntu-latest-4-cores"], "linux_4_core"),
        (["windows-latest-8-cores"], "windows_8_core"),
        (["ubuntu-22.04-16core"], "linux_16_core"),
        (["ubuntu-24.04-arm"], "linux_2_core_arm"),
        (["windows-11-arm"], "windows_2_core_arm"),
        (["ubuntu-slim"], "linux_slim"),
        (["self-hosted", "linux", "x64"], None),
        (["my-org-runner"], None),
        ([], None),
    ],
)
def test_labels_name_githubs_billing_sku(labels: list[str], code: str | None) -> None:
    assert sku(labels) == code
    assert code is None or code in parse_rates("", "K")


class _Cells(HTMLParser):
    """Each table's rows as shown: {table: [{data-key: text}]}."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[dict[str, str]]] = {}
        self.table: str | None = None
        self.key: str | None = None

    def handle_starttag(self, tag: str, attrs: list) -> None:
        a = dict(attrs)
        if tag == "section" and "data-table" in a:
            self.table = a["data-table"]
            self.tables[self.table] = []
        elif tag == "tr" and self.table:
            self.row: dict[str, str] = {}
        elif tag == "td" and self.table:
            self.key = a["data-key"]
            self.row[self.key] = ""
            if not self.row.keys() - {self.key}:
                self.tables[self.table].append(self.row)

    def handle_endtag(self, tag: str) -> None:
        if tag == "td":
            self.key = None

    def handle_data(self, data: str) -> None:
        if self.key:
            self.row[self.key] += data


def test_every_table_downloads_as_the_csv_of_the_table_shown(http: httpx.Client) -> None:
    page = http.get("/runners")
    cells = _Cells()
    cells.feed(page.text)
    body = http.get("/runners?format=json").json()
    fmt = {"jobs": "count", "compute_minutes": "count", "cost_usd": "usd", "rate_usd": "rate"}
    for name in ("labels", "groups", "costs"):
        got = http.get("/runners", params={"format": "csv", "table": name})
        assert got.status_code == 200 and got.headers["content-type"].startswith("text/csv")
        header, lines = csv_rows(got.text)
        rows = body["tables"][name]
        assert rows and header == list(rows[0])
        assert lines == [[csv_value(v) for v in r.values()] for r in rows], name
        shown = cells.tables[name]
        assert len(shown) == len(lines), name
        for line, cell in zip(lines, shown, strict=True):
            record = dict(zip(header, line, strict=True))
            assert cell["hosting"].strip() == record["hosting"]
            for key, f in fmt.items():
                if key in record:
                    value = float(record[key]) if record[key] else None
                    assert cell[key].strip() == FORMATS[f](value), (name, key)


def test_hostile_runner_labels_and_groups_are_text(http: httpx.Client) -> None:
    page = http.get("/runners")
    assert page.status_code == 200
    assert "<script" not in page.text.lower() and "<img" not in page.text
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in page.text  # the group
    assert "&lt;img src=x onerror=&#34;window.__pwned=1&#34;&gt;" in page.text  # the label
    assert re.search(r"<td[^>]*data-key=\"runner_group\"[^>]*>&lt;script&gt;", page.text)


def test_label_sets_link_to_their_workflows_and_the_nav_to_the_page(http: httpx.Client) -> None:
    page = http.get("/runners")
    links = hrefs(page.text, r"/workflow\?")
    assert links
    for link in links[:4]:
        assert http.get(link).status_code == 200, link
    assert hrefs(http.get("/").text, r"/runners\?")
    empty = http.get("/runners?format=json&repo=nobody/nothing").json()
    assert empty["tables"] == {"labels": [], "groups": [], "costs": []}
    assert empty["cost_usd"] is None
