"""Reports against a hand-built store: every expected number is worked out from the run
specs below, independently of the KPI SQL and of the renderers."""

import copy
import json
import math
import re
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from rich.console import Console

from pipelines import store
from pipelines.kpi.config import KpiConfig
from pipelines.kpi.filters import Period
from reports.cli import report_main
from reports.data import TEST_TABLES, load_report, window_test_tables
from reports.files import write_reports
from reports.html import render_html, script_json
from reports.json_report import SCHEMA_VERSION, render_json
from reports.markdown import md_escape, render_markdown
from reports.terminal import render_terminal
from tests.report_store import (
    AS_OF,
    BASELINE,
    FLAKY_30,
    REGRESSED_30,
    SLOW_30,
    WORKFLOWS,
    XSS_IMG,
    XSS_SCRIPT,
    Run,
    expected_compute,
    expected_compute_reduction,
    expected_mean_duration,
    expected_pr_validation,
    expected_rolling_success,
    expected_test_tables,
    expected_volume,
    in_window,
    insert_store,
    result_rows,
    run_specs,
    window_days,
)


@pytest.fixture(scope="module")
def runs() -> list[Run]:
    return run_specs()


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory, runs: list[Run]) -> Path:
    path = tmp_path_factory.mktemp("reports") / "store.duckdb"
    insert_store(path, runs)
    return path


@pytest.fixture(scope="module")
def report(db: Path) -> dict:
    with store.connect(db, read_only=True) as con:
        return load_report(
            con,
            as_of=AS_OF,
            now=datetime(2025, 3, 11, 7, 0),
            config=KpiConfig(baseline=Period(*BASELINE)),
        )


# ---- expectations computed from the specs -------------------------------------------------


def card(report: dict, days: int, kpi: str) -> dict:
    return next(c for c in report["windows"][str(days)]["kpis"] if c["kpi"] == kpi)


# ---- data ----------------------------------------------------------------------------------


@pytest.mark.parametrize("days", [7, 30, 90])
def test_series_match_the_runs(report: dict, runs: list[Run], days: int) -> None:
    series = report["windows"][str(days)]["series"]
    assert series["days"] == [d.isoformat() for d in window_days(days)]
    volume = {s["label"]: s["values"] for s in series["volume_by_event"]}
    assert volume == expected_volume(runs, days)
    assert [
        sum(v) for v in zip(*(s["values"] for s in series["compute_minutes"]), strict=True)
    ] == (expected_compute(runs, days))
    for name in WORKFLOWS:
        mean = next(s["values"] for s in series["duration_mean_s"] if s["workflow"] == name)
        assert mean == pytest.approx(expected_mean_duration(runs, name, days))
        rolling = next(s["values"] for s in series["success_rate_7d"] if s["workflow"] == name)
        assert rolling == pytest.approx(expected_rolling_success(runs, name, days))


@pytest.mark.parametrize("days", [7, 30])
def test_kpi_cards_over_each_window(report: dict, runs: list[Run], days: int) -> None:
    pr = card(report, days, "pr_validation_avg_s")
    assert pr["value"] == pytest.approx(expected_pr_validation(runs, AS_OF, days))
    prev_end = AS_OF - timedelta(days=days)
    assert pr["change"] == pytest.approx(
        expected_pr_validation(runs, AS_OF, days) - expected_pr_validation(runs, prev_end, days)
    )
    expected = expected_pr_validation(runs, AS_OF, days)
    assert pr["status"] == ("ok" if expected < 120 else "breach")
    cm = card(report, days, "compute_minutes_reduction")
    assert cm["value"] == pytest.approx(expected_compute_reduction(runs, days))
    assert cm["status"] == "breach"  # the load is flat: nowhere near 60 % below baseline


def test_seven_day_cards_agree_with_kpi_targets(db: Path, report: dict) -> None:
    with store.connect(db, read_only=True) as con:
        targets = {
            k: (v, s)
            for k, v, s in con.execute(
                "SELECT kpi, value, status FROM kpi.targets WHERE day = ?", [AS_OF]
            ).fetchall()
        }
    for c in report["windows"]["7"]["kpis"]:
        value, status = targets[c["kpi"]]
        assert c["status"] == status, c["kpi"]
        assert c["value"] == pytest.approx(value), c["kpi"]


def test_workflow_table(report: dict, runs: list[Run]) -> None:
    for days in (7, 30, 90):
        rows = {w["workflow_name"]: w for w in report["windows"][str(days)]["workflows"]}
        for name in WORKFLOWS:
            rs = [r for r in in_window(runs, AS_OF, days) if r.workflow == name]
            assert rows[name]["runs"] == len(rs)
            assert rows[name]["success_rate"] == pytest.approx(sum(r.success for r in rs) / len(rs))
            durations = sorted(r.duration_s for r in rs)
            # linear interpolation between closest ranks (numpy's default)
            pos = 0.95 * (len(durations) - 1)
            lo = durations[math.floor(pos)]
            hi = durations[math.ceil(pos)]
            assert rows[name]["duration_p95_s"] == pytest.approx(lo + (hi - lo) * (pos % 1))


def test_tests_tables(report: dict) -> None:
    tests = report["tests"]
    assert [t["test_id"] for t in tests["flaky"]] == [XSS_IMG]
    assert tests["flaky"][0]["head_shas"] == ["abc123"]
    assert [t["test_id"] for t in tests["slow"]] == [XSS_SCRIPT]
    assert tests["slow"][0]["consistently_slow"] is True  # 6 executions, all 2.5 s
    assert {m["module"] for m in tests["modules"]} == {XSS_IMG}


@pytest.mark.parametrize("days", [7, 30, 90])
def test_tests_tables_follow_the_window(report: dict, days: int) -> None:
    tests = report["windows"][str(days)]["tests"]
    want = expected_test_tables(days)
    assert {
        t["test_id"]: (t["executions"], t["median_duration_s"], t["consistently_slow"])
        for t in tests["slow"]
    } == {k: (n, pytest.approx(m), c) for k, (n, m, c) in want["slow"].items()}
    assert {t["test_id"]: t["head_shas"] for t in tests["flaky"]} == want["flaky"]
    assert {m["module"]: m["executions"] for m in tests["modules"]} == want["modules"]
    assert {t["test_id"]: t["ratio"] for t in tests["regressions"]} == pytest.approx(
        want["regressions"]
    )
    assert tests["window_start"] == (AS_OF - timedelta(days=days - 1)).isoformat()
    assert tests["tests"] == len(
        {r.test_id for r in result_rows() if r.day >= AS_OF - timedelta(days=days - 1)}
    )


def test_thirty_days_show_tests_the_last_seven_do_not(report: dict) -> None:
    # worked out by hand: the older tests sit 10-40 days back
    seven, thirty = report["windows"]["7"]["tests"], report["windows"]["30"]["tests"]
    assert SLOW_30 not in {t["test_id"] for t in seven["slow"]}
    assert SLOW_30 in {t["test_id"] for t in thirty["slow"]}
    assert {t["test_id"] for t in thirty["flaky"]} == {XSS_IMG, FLAKY_30}
    assert [(t["test_id"], t["ratio"]) for t in thirty["regressions"]] == [
        (REGRESSED_30, pytest.approx(0.5 / 0.2))
    ]
    assert seven["regressions"] == []
    assert report["windows"]["90"]["tests"]["regressions"] == []  # nothing 91-180 days back


@pytest.mark.parametrize("fmt", ["md", "terminal"])
def test_summaries_show_the_chosen_window_tests(report: dict, fmt: str) -> None:
    def shown(days: int) -> str:
        if fmt == "md":
            return render_markdown(report, window=days)
        console = Console(record=True, width=200, color_system=None)
        render_terminal(report, window=days, console=console)
        return console.export_text()

    # the 30-day-only slow and flaky tests appear in the 30-day view, not the 7-day one
    for test_id in (SLOW_30, FLAKY_30):
        name = md_escape(test_id) if fmt == "md" else test_id
        assert name not in shown(7)
        assert name in shown(30)


def test_seven_day_test_tables_equal_kpi_tables(db: Path) -> None:
    with store.connect(db, read_only=True) as con:
        ours = window_test_tables(con, AS_OF, 7, fetch=TEST_TABLES)
        for table in TEST_TABLES:
            kpi = con.execute(f"SELECT * FROM kpi.{table}")
            kpi_cols = [d[0] for d in kpi.description]
            kpi_rows = [dict(zip(kpi_cols, row, strict=True)) for row in kpi.fetchall()]
            assert kpi_rows, table  # the comparison is not between two empty tables
            assert [list(r) for r in ours[table]] == [kpi_cols] * len(kpi_rows), table
            assert ours[table] == [_json_ready(r) for r in kpi_rows], table


def _json_ready(row: dict) -> dict:
    """What the report's rows hold: dates as ISO text, Decimals as floats."""
    from decimal import Decimal

    def plain(v: object) -> object:
        if isinstance(v, datetime):
            return v.isoformat(timespec="seconds")
        if isinstance(v, date):
            return v.isoformat()
        if isinstance(v, Decimal):
            return float(v)
        if isinstance(v, list | tuple):
            return [plain(x) for x in v]
        return v

    return {k: plain(v) for k, v in row.items()}


def test_empty_store_renders_no_data(tmp_path: Path) -> None:
    db = tmp_path / "empty.duckdb"
    with store.connect(db):
        pass
    with store.connect(db, read_only=True) as con:
        report = load_report(con, as_of=AS_OF)
    assert all(c["status"] == "no_data" for c in report["windows"]["7"]["kpis"])
    page = render_html(report)
    assert "No data" in page
    assert "No test results in the store yet." in page
    assert "No workflow runs in this window." in render_markdown(report)


# ---- escaping ------------------------------------------------------------------------------


def test_html_escapes_every_data_string(report: dict) -> None:
    page = render_html(report)
    assert XSS_SCRIPT not in page
    assert "<img" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    # exactly two script elements: the JSON data block and the page's own script
    assert len(re.findall(r"<script[\s>]", page)) == 2
    config = re.search(r'<script type="application/json" id="report-config">(.*?)</script>', page)
    assert config and "<" not in config.group(1) and ">" not in config.group(1)
    assert XSS_SCRIPT in json.loads(config.group(1))["workflows"]


def test_script_json_escapes_markup() -> None:
    text = str(script_json({"a": "</script><!-- & \u2028"}))
    assert "<" not in text and ">" not in text and "&" not in text
    assert json.loads(text) == {"a": "</script><!-- & \u2028"}


def test_markdown_shows_names_as_text(report: dict, runs: list[Run]) -> None:
    md = render_markdown(report, window=7)
    named = [line for line in md.splitlines() if "alert" in line]
    assert len(named) >= 4
    for line in named:  # every angle bracket of a name is backslash-escaped
        assert not re.search(r"(?<!\\)[<>]", line.replace("< 2m", "").replace("< 1", ""))
    assert r"\<script\>alert\(1\)\</script\>" in md
    for line in md.splitlines():
        if line.startswith("|"):
            # escaped pipes never split a cell: every table row has its header's cell count
            assert len(re.split(r"(?<!\\)\|", line)) in {5, 6, 7}
    assert "Average PR validation time" in md
    pr = expected_pr_validation(runs, AS_OF, 7)
    assert f"{pr:.0f} s" in md or f"{int(pr // 60)}m " in md


def test_json_report(report: dict, runs: list[Run]) -> None:
    doc = json.loads(render_json(report))
    assert doc["schema_version"] == SCHEMA_VERSION
    assert doc["as_of"] == AS_OF.isoformat()
    kpis = {c["kpi"]: c for c in doc["windows"]["30"]["kpis"]}
    assert kpis["pr_validation_avg_s"]["value"] == pytest.approx(
        expected_pr_validation(runs, AS_OF, 30)
    )
    assert kpis["pr_validation_avg_s"]["target"] == 120.0
    assert set(doc["windows"]) == {"7", "30", "90"}


def test_terminal_prints_names_literally(report: dict) -> None:
    console = Console(record=True, width=160, color_system=None)
    render_terminal(report, window=30, console=console)
    text = console.export_text()
    assert XSS_SCRIPT in text
    assert "Average PR validation time" in text
    assert "▁" in text or "█" in text  # sparklines


def test_terminal_prints_markup_in_names_literally(report: dict) -> None:
    markup = "[link=https://evil.test]o/r[/link]"
    marked = copy.deepcopy(report)
    marked["repos"] = [markup]
    for window in marked["windows"].values():
        for card in window["kpis"]:
            card["repo"] = markup
    console = Console(record=True, width=200, color_system=None)
    render_terminal(marked, window=7, console=console)
    assert f"KPI targets · {markup}" in console.export_text()


@pytest.mark.parametrize("width", [60, 80])
def test_terminal_keeps_workflow_names_on_a_narrow_screen(report: dict, width: int) -> None:
    console = Console(record=True, width=width, color_system=None)
    render_terminal(report, window=30, console=console)
    text = console.export_text()
    # names may wrap inside their cell, but their first characters always show
    for workflow in report["windows"]["30"]["workflows"]:
        assert workflow["label"][:10] in text
    for card in report["windows"]["30"]["kpis"]:
        assert card["label"].split()[0] in text


def test_cli_formats_and_write(db: Path, tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("CI_METRICS_OUTPUT_DIR", str(tmp_path / "out"))
    argv = ["--db", str(db), "--as-of", AS_OF.isoformat()]
    assert report_main([*argv, "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["schema_version"] == SCHEMA_VERSION
    assert report_main([*argv, "--format", "md", "--window", "30", "--write"]) == 0
    out = capsys.readouterr()
    assert "last 30 days" in out.out
    for name in ("dashboard.html", "summary.md", "metrics-report.json"):
        assert (tmp_path / "out" / name).stat().st_size > 0
    assert report_main(["--db", str(tmp_path / "missing.duckdb")]) == 2


def test_write_reports_paths(report: dict, tmp_path: Path) -> None:
    paths = write_reports(report, tmp_path, window=90)
    assert {p.name for p in paths.values()} == {
        "dashboard.html",
        "summary.md",
        "metrics-report.json",
    }
    assert 'id="w-90" value="90" checked' in paths["dashboard"].read_text()
    assert not list(tmp_path.glob(".*.tmp"))


def test_dashboard_asset_writes_the_files(db: Path, tmp_path: Path, monkeypatch) -> None:
    from dagster import materialize

    from assets.dashboard import dashboard
    from pipelines.resources import DuckDBStore, KpiSettings, ReportOutput

    result = materialize(
        [dashboard],
        resources={
            "duckdb": DuckDBStore(path=str(db)),
            "kpi_settings": KpiSettings(),
            "reports": ReportOutput(output_dir=str(tmp_path / "reports")),
        },
        run_config={"ops": {"dashboard": {"config": {"window": 7, "as_of": AS_OF.isoformat()}}}},
    )
    assert result.success
    meta = result.asset_materializations_for_node("dashboard")[0].metadata
    page = tmp_path / "reports" / "dashboard.html"
    assert meta["dashboard_path"].value == str(page.resolve())
    assert meta["dashboard_bytes"].value == page.stat().st_size
    assert meta["as_of"].value == AS_OF.isoformat()
    assert 'id="w-7" value="7" checked' in page.read_text()
