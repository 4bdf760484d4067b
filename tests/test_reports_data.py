"""Reports against a hand-built store: every expected number is worked out from the run
specs below, independently of the KPI SQL and of the renderers."""

import copy
import html
import json
import math
import re
from datetime import date, datetime, timedelta
from pathlib import Path
from urllib.parse import quote_plus

import pytest
from rich.console import Console

from pipelines import store
from pipelines.kpi.config import KpiConfig
from pipelines.kpi.filters import Period
from reports.cli import report_main
from reports.data import TEST_TABLES, load_report, memory_for_tests, window_test_tables
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


def test_report_memory_follows_the_test_rows_of_its_widest_window(
    db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import reports.data

    with store.connect(db, read_only=True) as con:
        assert memory_for_tests(con, 128, AS_OF) == "128MB"  # a small store: the floor
        (rows,) = con.execute(
            "SELECT count(*) FROM raw.test_results WHERE day BETWEEN ? AND ?",
            [AS_OF - timedelta(days=179), AS_OF],  # 90 days and the 90 before
        ).fetchone()
        assert rows
        monkeypatch.setattr(reports.data, "TEST_ROW_BYTES", 2**20)  # a MiB a row
        assert memory_for_tests(con, 1, AS_OF) == f"{rows}MB"
        assert memory_for_tests(con, 1, AS_OF, windows=(7,)) != f"{rows}MB"


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
    monkeypatch.setenv("CI_METRICS_EXPLORER_URL", "https://ci.example.com/x")
    argv = ["--db", str(db), "--as-of", AS_OF.isoformat()]
    assert report_main([*argv, "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["schema_version"] == SCHEMA_VERSION
    assert report_main([*argv, "--format", "md", "--window", "30", "--write"]) == 0
    out = capsys.readouterr()
    assert "last 30 days" in out.out
    for name in ("dashboard.html", "summary.md", "metrics-report.json"):
        assert (tmp_path / "out" / name).stat().st_size > 0
    page = (tmp_path / "out" / "dashboard.html").read_text()
    assert 'href="https://ci.example.com/x/workflow?repo=o%2Fr&amp;workflow=CI&amp;' in page
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


# ---- links, the workflow filter's data, and what the page claims ---------------------------

EXPLORER = "http://explorer.test/ci"
HOSTILE_URL = "javascript:alert(1)"


@pytest.fixture(scope="module")
def linked_db(tmp_path_factory: pytest.TempPathFactory, db: Path) -> Path:
    """The store with GitHub's links: a run page per run (one hostile), a pull request
    for each pull_request run, the repository's page."""
    path = tmp_path_factory.mktemp("linked") / "store.duckdb"
    path.write_bytes(db.read_bytes())
    with store.connect(path) as con:
        con.execute(
            "UPDATE raw.workflow_runs SET html_url = "
            "'https://github.com/o/r/actions/runs/' || run_id, pull_request_numbers = "
            "CASE WHEN event = 'pull_request' THEN [run_id::INTEGER % 97] END"
        )
        con.execute(
            "UPDATE raw.workflow_runs SET html_url = ? WHERE run_id = ?",
            [HOSTILE_URL, _latest_failed(run_specs())],
        )
    return path


def _latest_failed(runs: list[Run]) -> int:
    return max(r.run_id for r in runs if not r.success and r.day == AS_OF)


def _linked_page(linked_db: Path, explorer_url: str = "") -> tuple[dict, str]:
    with store.connect(linked_db, read_only=True) as con:
        report = load_report(con, as_of=AS_OF, now=datetime(2025, 3, 11, 7, 0))
    return report, render_html(report, explorer_url=explorer_url)


def _section(page: str, days: int) -> str:
    """The part of the page that shows the ``days`` window."""
    start = page.index(f'<section class="win w-{days}"')
    end = page.find('<section class="win w-', start + 10)
    return page[start : end if end > 0 else len(page)]


def test_failed_runs_link_runs_commits_and_prs_to_github(linked_db: Path, runs: list[Run]):
    _, page = _linked_page(linked_db)
    seven = _section(page, 7)
    failed = _latest_failed_runs(runs, 7)
    table = seven.split('data-table="failed-runs"', 1)[1].split("</table>", 1)[0]
    rows = table.split("<tr data-workflow=")[1:]
    assert len(rows) == len(failed)
    hostile = _latest_failed(runs)
    for row, r in zip(rows, failed, strict=True):
        commit = f"https://github.com/o/r/commit/sha{r.run_id}"
        assert f'<a href="{commit}" rel="noreferrer" data-github="commit">' in row
        if r.run_id == hostile:  # not http(s): the number is text, never a link
            assert 'data-github="run"' not in row and f"#{r.run_id}" in row
        else:
            run_url = f"https://github.com/o/r/actions/runs/{r.run_id}"
            assert f'<a href="{run_url}" rel="noreferrer" data-github="run">#{r.run_id}' in row
        if r.event == "pull_request":
            pr = f"https://github.com/o/r/pull/{r.run_id % 97}"
            assert f'<a href="{pr}" rel="noreferrer" data-github="pr">#{r.run_id % 97}</a>' in row
        else:
            assert 'data-github="pr"' not in row
    assert HOSTILE_URL not in page and "javascript:" not in page


def test_explorer_links_only_with_its_address(linked_db: Path, runs: list[Run]) -> None:
    report, plain = _linked_page(linked_db)
    assert "data-explorer" not in plain and "explorer.test" not in plain
    _, page = _linked_page(linked_db, EXPLORER)
    for days in (7, 30, 90):
        section = _section(page, days)
        start = (AS_OF - timedelta(days=days - 1)).isoformat()
        for name in WORKFLOWS:
            query = "&amp;".join(
                f"{k}={quote_plus(v, safe='')}"
                for k, v in (("repo", "o/r"), ("workflow", name), ("start", start))
            )
            want = f'{EXPLORER}/workflow?{query}&amp;end={AS_OF}"'
            assert f'href="{want} rel="noreferrer" data-explorer="workflow"' in section, name
        kpi = f'href="{EXPLORER}/?repo=o%2Fr&amp;start={start}&amp;end={AS_OF}"'
        assert section.count(kpi) == len(report["windows"][str(days)]["kpis"])
        shown = {r.run_id for r in _latest_failed_runs(runs, days)}
        for r in (r for r in in_window(runs, AS_OF, days) if not r.success):
            run = f'href="{EXPLORER}/run?repo=o%2Fr&amp;run_id={r.run_id}"'
            assert (run in section) == (r.run_id in shown), r.run_id


def _latest_failed_runs(runs: list[Run], days: int) -> list[Run]:
    """The failed runs a window's table lists: its 15 latest, from the specs."""
    return sorted(
        (r for r in in_window(runs, AS_OF, days) if not r.success),
        key=lambda r: (r.day, r.run_id % 50),  # created at 09:00 + run_id % 50 minutes
        reverse=True,
    )[:15]


def test_explorer_links_open_the_explorer_pages(linked_db: Path) -> None:
    from reports.explorer.config import ExplorerConfig
    from tests.explorer_support import serving

    with serving(ExplorerConfig(db_path=linked_db)) as url:
        _, page = _linked_page(linked_db, url)
        links = set(re.findall(r'href="([^"]+)" rel="noreferrer" data-explorer', page))
        kinds = {re.sub(r"\?.*", "", link.replace(url, "")) for link in links}
        assert kinds == {"/", "/workflow", "/run"}
        import httpx

        for link in sorted(links)[:40]:
            got = httpx.get(html.unescape(link) + "&format=json", timeout=30)
            assert got.status_code == 200, link
        wf = next(u for u in links if "/workflow?" in u and "script" in u)
        body = httpx.get(html.unescape(wf) + "&format=json", timeout=30).json()
        assert XSS_SCRIPT in json.dumps(body, ensure_ascii=False)


def test_workflow_daily_sums_equal_kpi_table_and_runs(db: Path, report: dict, runs: list[Run]):
    daily = report["workflow_daily"]
    assert daily["days"] == [d.isoformat() for d in window_days(90)]
    by_name = {w["workflow"]: w for w in daily["workflows"]}
    assert set(by_name) == set(WORKFLOWS)
    for name, w in by_name.items():
        for i, d in enumerate(window_days(90)):
            rs = [r for r in runs if r.day == d and r.workflow == name]
            assert w["runs"][i] == len(rs)
            assert w["failures"][i] == sum(not r.success for r in rs)
            assert w["compute_minutes"][i] == sum(math.ceil(r.job_s / 60) for r in rs)
            assert w["duration_sum_s"][i] == pytest.approx(sum(r.duration_s for r in rs))
            assert w["events"].get(WORKFLOWS[name], [0] * 90)[i] == len(rs)
    with store.connect(db, read_only=True) as con:
        kpi = con.execute(
            "SELECT workflow_name, day, runs, failures, compute_minutes, duration_sum_s "
            "FROM kpi.workflow_daily WHERE day >= ?",
            [window_days(90)[0]],
        ).fetchall()
    assert kpi
    for name, day, n, failures, compute, secs in kpi:
        i = daily["days"].index(day.isoformat())
        w = by_name[name]
        assert (w["runs"][i], w["failures"][i], w["compute_minutes"][i]) == (n, failures, compute)
        assert w["duration_sum_s"][i] == pytest.approx(secs or 0)


def test_reduction_cards_show_the_measure_without_a_baseline(db: Path, runs: list[Run]):
    with store.connect(db, read_only=True) as con:
        report = load_report(con, as_of=AS_OF)  # no baseline configured
    page = _section(render_html(report), 7)
    want = sum(math.ceil(r.job_s / 60) for r in in_window(runs, AS_OF, 7)) / 7
    cards = page.split('<li class="card')
    cm = next(c for c in cards if 'data-kpi="compute_minutes_reduction"' in c)
    assert float(re.search(r'data-measured="([^"]+)"', cm).group(1)) == pytest.approx(want)
    assert f"{want:,.0f}" in cm and "min/day" in cm
    assert "CI_METRICS_BASELINE_START" in cm and "_END" in cm
    wait = next(c for c in cards if 'data-kpi="developer_wait_reduction"' in c)
    assert float(re.search(r'data-measured="([^"]+)"', wait).group(1)) > 0  # PR runs wait
    assert "CI_METRICS_BASELINE_START" in wait


def test_no_slower_claim_without_an_earlier_window(report: dict) -> None:
    page = render_html(report)
    # the store starts 2025-01-20: the 90 days before 2025-03-10 reach back before it
    ninety = _section(page, 90)
    assert "No workflow got slower" not in ninety and "No test got" not in ninety
    assert ninety.count("Nothing to compare with") == 2
    seven = _section(page, 7)
    assert "No workflow got slower" in seven and "Nothing to compare with" not in seven


def test_generation_time_is_shown_once_in_utc(db: Path) -> None:
    from datetime import timezone

    with store.connect(db, read_only=True) as con:
        report = load_report(
            con, as_of=AS_OF, now=datetime(2025, 3, 11, 9, 5, tzinfo=timezone(timedelta(hours=2)))
        )
    page = render_html(report)
    assert page.count("2025-03-11 07:05 UTC") == 1
    assert "09:05" not in page and "+02:00 UTC" not in page
    assert page.count("Generated") == 1


def test_success_rate_axis_fits_the_rates(report: dict, runs: list[Run]) -> None:
    page = render_html(report)
    for days in (7, 30, 90):
        svg = _section(page, days).split(f'data-chart="success-{days}"', 1)[1].split("</svg>")[0]
        ticks = [int(t) for t in re.findall(r'text-anchor="end">(\d+) %</text>', svg)]
        lowest = min(
            v
            for name in WORKFLOWS
            for v in expected_rolling_success(runs, name, days)
            if v is not None
        )
        assert ticks[-1] == 100
        assert ticks[0] <= lowest * 100  # every rate on the axis
        assert ticks[0] >= lowest * 100 - 20  # not always from 0 %, nor magnified
        assert ticks[0] <= 80  # at least 20 points shown
        if days < 90:  # rates of 67 % and 50 %: the axis starts above 0 %
            assert ticks[0] > 0


def test_the_default_view_is_the_targets_seven_days(report: dict) -> None:
    assert 'id="w-7" value="7" checked' in render_html(report)
    assert re.findall(r'value="(\d+)" checked', render_html(report)) == ["7"]


def test_dashboard_asset_links_the_explorer(db: Path, tmp_path: Path) -> None:
    from dagster import materialize

    from assets.dashboard import dashboard
    from pipelines.resources import DuckDBStore, KpiSettings, ReportOutput

    result = materialize(
        [dashboard],
        resources={
            "duckdb": DuckDBStore(path=str(db)),
            "kpi_settings": KpiSettings(),
            "reports": ReportOutput(output_dir=str(tmp_path), explorer_url=EXPLORER + "/"),
        },
        run_config={"ops": {"dashboard": {"config": {"as_of": AS_OF.isoformat()}}}},
    )
    meta = result.asset_materializations_for_node("dashboard")[0].metadata
    start = AS_OF - timedelta(days=6)  # the default view: the targets' 7 days
    assert meta["explorer"].value == f"{EXPLORER}/?repo=o%2Fr&start={start}&end={AS_OF}"
    page = (tmp_path / "dashboard.html").read_text()
    assert re.findall(r'value="(\d+)" checked', page) == ["7"]
    assert f'href="{EXPLORER}/workflow?repo=o%2Fr&amp;workflow=CI&amp;start={start}' in page
