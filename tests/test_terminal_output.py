"""What a person sees in the terminal: one progress line per step of a run instead of
Dagster's event log (which ``--verbose`` brings back), and KPI values in their units.

The CLI runs as a subprocess against the bundled fake GitHub server; the steps expected
come from the code location's asset graph, the KPI values from the store it wrote.
"""

import io
import os
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from dagster import (
    AssetExecutionContext,
    DagsterEventType,
    DagsterInstance,
    MaterializeResult,
    asset,
)
from rich.console import Console

from assets.target_checks import check_keys, kpi_target_checks
from pipelines import store
from pipelines.definitions import defs
from pipelines.fake_github.server import FakeGitHubServer
from pipelines.materialize import materialize_range
from pipelines.progress import StepProgress
from tests.conftest import END, dagster_home, server_env

CLI = Path(sys.executable).with_name("ci-metrics")
# A progress line: a mark, then the asset key or asset check key the step ran.
PROGRESS = re.compile(r"^\s*([✓✗!–])\s+(\S+)")


def _step_names() -> set[str]:
    """What each step of a pipeline launch materializes or checks, as Dagster spells it: one
    step per asset (its own checks run inside it), then, in the next run, one per KPI target
    check."""
    graph = defs.resolve_asset_graph()
    return {k.to_user_string() for k in graph.get_all_asset_keys()} | {
        k.to_user_string() for k in check_keys(kpi_target_checks)
    }


def _progress_lines(stdout: str) -> dict[str, str]:
    """Progress lines by step name; fails on a step shown twice."""
    names = _step_names()
    lines: dict[str, str] = {}
    for line in stdout.splitlines():
        m = PROGRESS.match(line)
        if m and m.group(2) in names:
            assert m.group(2) not in lines, f"step shown twice: {line!r}"
            lines[m.group(2)] = line
    return lines


def _run(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    out = subprocess.run(
        [str(CLI), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    return out


def test_materialize_shows_a_line_per_step_and_verbose_the_event_log(
    fake_github: FakeGitHubServer, tmp_path: Path
) -> None:
    db = tmp_path / "m.duckdb"
    env = server_env(fake_github, home=dagster_home(tmp_path / "home"), db=db, out=tmp_path)
    env["COLUMNS"] = "120"
    first = END - timedelta(days=2)
    out = _run(["materialize", "--start", str(first), "--end", str(END)], env, tmp_path)

    names = _step_names()
    lines = _progress_lines(out.stdout)
    assert set(lines) == names, out.stdout
    both = out.stdout + out.stderr
    assert "DEBUG" not in both and "STEP_SUCCESS" not in both, both[:3000]
    with store.connect(db, read_only=True) as con:
        attempts = con.execute("SELECT count(*) FROM raw.workflow_runs").fetchone()[0]
        breached = {
            kpi
            for (kpi,) in con.execute(
                "SELECT DISTINCT kpi FROM kpi.targets WHERE status = 'breach' "
                "AND day = (SELECT max(day) FROM kpi.targets)"
            ).fetchall()
        }
    # a target check warns when a repo misses the target on the last day; the rest pass
    marks = {name: line.lstrip()[0] for name, line in lines.items()}
    assert marks == {
        name: "!"
        if name.removeprefix("kpi/target_status:").removesuffix("_target") in breached
        else "✓"
        for name in names
    }, out.stdout
    assert attempts > 0
    assert f" {attempts:,} rows" in lines["github_workflow_runs"]
    # the whole event log is still stored with the run, for the UI
    # (two runs: the range, then the target checks)
    with DagsterInstance.from_config(env["DAGSTER_HOME"]) as instance:
        runs = instance.get_runs()
        successes = [
            record
            for run in runs
            for record in instance.get_records_for_run(
                run.run_id, of_type=DagsterEventType.STEP_SUCCESS, limit=1000
            ).records
        ]
    assert len(runs) == 2
    assert len(successes) == len(names)
    assert re.search(r"\d s$", lines["github_workflow_runs"].rstrip())

    verbose = ["materialize", "--start", str(END), "--end", str(END), "--verbose"]
    again = _run(verbose, env, tmp_path)
    log = again.stdout + again.stderr
    assert not _progress_lines(again.stdout)
    assert "DEBUG" in log
    # Dagster's own event log of both runs; every step's line is not asserted, since a
    # console line written as a step's output capture closes can land in its log file
    # instead (the stored event log above holds them all)
    assert log.count("RUN_SUCCESS") == 2 and "STEP_SUCCESS" in log, log[-3000:]


def _expected_value(kpi: str, value: float | None) -> str:
    """A KPI value as the dashboard shows it: seconds as ``Xm YYs`` (``X s`` under a
    minute), fractions as a percentage with one decimal."""
    if value is None:
        return "–"
    if kpi.endswith("_s"):
        if value < 10:
            return f"{value:.1f} s"
        if value < 60:
            return f"{value:.0f} s"
        minutes, seconds = divmod(round(value), 60)
        return f"{minutes}m {seconds:02d}s"
    return f"{value * 100:.1f} %"


STATUS = {"ok": "On target", "breach": "Off target", "no_data": "No data"}
STATUS |= {"no_baseline": "No baseline"}


def test_demo_prints_progress_and_kpis_in_their_units(tmp_path: Path) -> None:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CI_METRICS_", "GITHUB_", "DAGSTER_"))
    }
    db = tmp_path / "demo.duckdb"
    env |= {"CI_METRICS_DB": str(db), "CI_METRICS_OUTPUT_DIR": str(tmp_path / "out")}
    env |= {"DAGSTER_HOME": str(dagster_home(tmp_path / "home")), "COLUMNS": "120"}
    out = _run(["demo", "--days", "3", "--repos", "1"], env, tmp_path)

    assert set(_progress_lines(out.stdout)) == _step_names(), out.stdout
    assert "DEBUG" not in out.stdout + out.stderr

    with store.connect(db, read_only=True) as con:
        rows = con.execute(
            "SELECT repo, kpi, value, comparator, target, status FROM kpi.targets "
            "WHERE day = (SELECT max(day) FROM kpi.targets)"
        ).fetchall()
    assert rows
    shown: dict[str, list[tuple[str, ...]]] = {}
    repo = None
    for line in out.stdout.splitlines():
        if line.startswith("KPI targets · "):
            repo = line.removeprefix("KPI targets · ").strip()
            shown[repo] = []
        elif repo and line.startswith("└"):
            repo = None
        elif repo and line.startswith("│"):
            cells = [c.strip() for c in line.split("│")[1:-1]]
            if cells[1]:  # not the continuation of a wrapped name
                shown[repo].append(tuple(cells[1:4]))
    expected: dict[str, list[tuple[str, ...]]] = {}
    for repo, kpi, value, comparator, target, status in rows:
        sign = "<" if comparator == "<" else "≥"
        cell = (_expected_value(kpi, value), f"{sign} {_expected_value(kpi, target)}")
        expected.setdefault(repo, []).append((*cell, STATUS[status]))
        if value is not None and not kpi.endswith("_s"):
            assert f"{value:.3g}" not in out.stdout  # no bare fraction
    assert {r: sorted(v) for r, v in shown.items()} == {
        r: sorted(v) for r, v in expected.items()
    }, out.stdout

    # the same tables on a colour terminal: each status in its colour
    from reports.data import load_report
    from reports.terminal import render_kpis

    with store.connect(db, read_only=True) as con:
        report = load_report(con)
    buf = io.StringIO()
    render_kpis(report, console=Console(file=buf, force_terminal=True, width=120))
    coloured = buf.getvalue()
    for *_, status in rows:
        colour = {"ok": "32", "breach": "31", "no_baseline": "33", "no_data": "2"}[status]
        assert re.search(rf"\x1b\[[0-9;]*{colour}m{STATUS[status]}", coloured), coloured


def test_progress_shows_a_failed_step_its_error_and_what_the_steps_logged(
    instance: DagsterInstance,
) -> None:
    """A step's warnings follow its line; a failed step shows ✗ and its error's first line,
    and the steps after it never start."""

    @asset
    def loaded(context: AssetExecutionContext) -> MaterializeResult:
        context.log.warning("quarantined bad.xml: not XML")
        return MaterializeResult(metadata={"rows": 1234})

    @asset(deps=[loaded])
    def broken() -> None:
        raise ValueError("cannot read report.xml: truncated\nsecond line")

    @asset(deps=[broken])
    def after() -> None:
        pass

    buf = io.StringIO()
    result = materialize_range(
        END,
        END,
        resources={},
        instance=instance,
        assets=[loaded, broken, after],
        raise_on_error=False,
        progress=StepProgress(Console(file=buf, width=120)),
    )
    assert not result.success
    lines = [line.rstrip() for line in buf.getvalue().splitlines()]
    at = next(i for i, line in enumerate(lines) if line.startswith("✓ loaded"))
    assert "1,234 rows" in lines[at]
    assert lines[at + 1].strip() == "quarantined bad.xml: not XML"
    failed = next(i for i, line in enumerate(lines) if line.startswith("✗ broken"))
    assert "failed" in lines[failed]
    assert "cannot read report.xml: truncated" in lines[failed + 1]
    assert "second line" not in buf.getvalue()
    assert not any(line.startswith(("✓ after", "✗ after")) for line in lines)
    assert any(line.startswith("Run failed") for line in lines), lines
