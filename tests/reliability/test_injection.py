"""Hostile names end to end: quotes, SQL, HTML/JS, template and Markdown syntax, unicode,
control characters and 1,000-character names travel from the fake GitHub API and the JUnit
artifacts through the raw tables, the KPI models, the dashboard, the summaries and the
alerts, and stay data everywhere.

One pipeline run (``run_pipeline`` over three days of a ``hostile_names`` world) feeds every
case. Expected values come from the generated world: the names as the generator made them,
row counts and test verdicts worked out in Python from its runs and JUnit executions.
"""

import json
import re
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest
from dagster import AssetCheckEvaluation, DagsterInstance, build_sensor_context
from markdown_it import MarkdownIt
from playwright.sync_api import sync_playwright

from assets.target_checks import check_keys, kpi_target_checks
from pipelines import alerts, store
from pipelines.fake_github import junit_sim
from pipelines.fake_github.generator import (
    HOSTILE_IMG,
    HOSTILE_JINJA,
    HOSTILE_SCRIPT,
    HOSTILE_SQL,
    FakeConfig,
    FakeWorld,
    generate,
)
from pipelines.fake_github.server import FakeGitHubServer
from pipelines.kpi.build import TABLES
from pipelines.materialize import run_pipeline
from pipelines.resources import AlertWebhook
from tests.browser import launch, offline_page
from tests.conftest import END, TOKEN, raw_resources
from tests.webhook import Receiver

pytestmark = pytest.mark.slow

FIRST = END - timedelta(days=2)
AREA = "injection"
SCRIPT_COUNT = 2  # the page's own elements: its JSON configuration and dashboard.js


@dataclass
class Pipeline:
    """A finished pipeline over a hostile world, and where it left its output."""

    world: FakeWorld
    db_path: Path
    out: Path
    instance: DagsterInstance
    evaluations: list[AssetCheckEvaluation]


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pipeline]:
    root = tmp_path_factory.mktemp("injection")
    world = generate(
        FakeConfig(
            seed=3,
            repos=2,
            days=3,
            end_date=END,
            runs_per_day=15,
            nightly_jobs=4,
            flaky_test_p=0.05,
            hostile_names=True,
        )
    )
    with pytest.MonkeyPatch.context() as mp, DagsterInstance.ephemeral() as instance:
        mp.setenv("CI_METRICS_OUTPUT_DIR", str(root / "out"))
        # the full-suite workflow is a SQL fragment: it reaches the models as a parameter
        mp.setenv("CI_METRICS_FULL_SUITE_WORKFLOW", HOSTILE_SQL)
        for key in ("BASELINE_START", "BASELINE_END", "ALERT_WEBHOOK_URL", "DAGSTER_URL"):
            mp.delenv(f"CI_METRICS_{key}", raising=False)
        with FakeGitHubServer(world, token=TOKEN) as server:
            results = run_pipeline(
                FIRST, END, resources=raw_resources(server, root / "db.duckdb"), instance=instance
            )
        assert all(r.success for r in results)
        evaluations = [e for r in results for e in r.get_asset_check_evaluations()]
        yield Pipeline(world, root / "db.duckdb", root / "out", instance, evaluations)


# --------------------------------------------------------------------------- ground truth


def world_runs(world: FakeWorld) -> list:
    return world.runs_created_between(FIRST, END)


def workflow_names(world: FakeWorld) -> dict[str, set[str]]:
    """Workflow names by repo, of the workflows that ran in the range."""
    out: dict[str, set[str]] = defaultdict(set)
    for run in world_runs(world):
        out[run.repo].add(run.workflow_name)
    return out


def labels(world: FakeWorld) -> set[str]:
    """How the reports name a workflow when there are several repos."""
    return {f"{repo} · {name}" for repo, names in workflow_names(world).items() for name in names}


def suite_results(world: FakeWorld) -> Iterator[tuple]:
    """(run, artifact, test result) for every execution in an unexpired JUnit artifact."""
    for run in world_runs(world):
        for art in run.artifacts:
            if art.holds_tests and not art.expired:
                for r in junit_sim.run_suite(
                    art.suite_seed, art.broken_tests, art.flaky_p, hostile=art.hostile
                ):
                    yield run, art, r


def expected_tests(world: FakeWorld) -> Counter:
    """Every execution of every unexpired JUnit artifact, as the generator wrote it."""
    rows: Counter = Counter()
    for run, art, r in suite_results(world):
        key = (run.repo, run.run_id, art.run_attempt, run.head_sha, run.head_branch)
        rows[(*key, run.workflow_name, r.test_id, r.classname, r.name, r.outcome)] += 1
    return rows


def expected_test_verdicts(world: FakeWorld) -> tuple[dict, dict]:
    """(flaky units by (repo, test id), (slow, consistently slow) by (repo, test id)) per
    kpi-definitions: a flaky unit is a commit where the test both passed and failed; slow is
    a median above 1 s, consistently slow at least 5 executions, 80 % of them above 1 s."""
    outcomes: dict[tuple, set[str]] = defaultdict(set)
    durations: dict[tuple, list[float]] = defaultdict(list)
    for run, _, r in suite_results(world):
        outcomes[(run.repo, r.test_id, run.head_sha)].add(r.outcome)
        durations[(run.repo, r.test_id)].append(r.duration_s)
    flaky: Counter = Counter()
    for (repo, test_id, _), seen in outcomes.items():
        if "passed" in seen and seen & {"failed", "error"}:
            flaky[(repo, test_id)] += 1
    slow = {}
    for key, values in durations.items():
        over = sum(v > 1.0 for v in values)
        is_slow = statistics.median(values) > 1.0
        consistently = len(values) >= 5 and over >= 0.8 * len(values)
        if is_slow or consistently:
            slow[key] = consistently
    return dict(flaky), slow


# --------------------------------------------------------------------------- parsing helpers


def read(path: Path) -> str:
    """The file's text as written: no newline translation (a name may hold CR LF)."""
    return path.read_bytes().decode("utf-8")


def flat(text: str) -> str:
    """A name on one line, as the Markdown summary shows it: whitespace runs become one space."""
    return " ".join(text.split())


def html_space(text: str) -> str:
    """A name as a browser renders it in normal flow: ASCII whitespace runs collapse."""
    return re.sub(r"[ \t\n\r\f]+", " ", text).strip()


class Tags(HTMLParser):
    """Every element's tag, attributes and direct text, in document order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str | None], list[str]]] = []
        self._open: list[int] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs), []))
        if tag not in ("img", "br", "input", "meta", "link", "path", "circle", "rect", "line"):
            self._open.append(len(self.elements) - 1)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs), []))

    def handle_endtag(self, tag: str) -> None:
        while self._open:
            if self.elements[self._open.pop()][0] == tag:
                break

    def handle_data(self, data: str) -> None:
        if self._open:
            self.elements[self._open[-1]][2].append(data)


def parse_html(text: str) -> list[tuple[str, dict[str, str | None], str]]:
    parser = Tags()
    parser.feed(text)
    parser.close()
    return [(tag, attrs, "".join(data)) for tag, attrs, data in parser.elements]


def table_cells(line: str) -> list[str]:
    """Cells of a GFM table row: a pipe splits unless a backslash stands right before it."""
    parts = re.split(r"(?<!\\)\|", line.strip())
    assert parts[0] == "" and parts[-1] == "", line
    return parts[1:-1]


def markdown_tables(text: str) -> list[list[list[str]]]:
    """The tables of a Markdown text as rows of raw cells, the header row first."""
    tables: list[list[list[str]]] = []
    current: list[list[str]] = []
    for line in [*text.splitlines(), ""]:
        if line.startswith("|"):
            current.append(table_cells(line))
        elif current:
            tables.append(current)
            current = []
    return tables


def assert_table_shape(text: str) -> int:
    """Every row of every table has its header's number of columns; the rows checked."""
    rows = 0
    for table in markdown_tables(text):
        width = len(table[0])
        assert all(set(c.strip()) <= {"-", ":"} for c in table[1]), table[1]
        for row in table:
            assert len(row) == width, (table[0], row)
            rows += 1
    return rows


def slack_unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


# --------------------------------------------------------------------------- cases


def test_raw_tables_hold_names_byte_for_byte(pipeline: Pipeline, record) -> None:
    world = pipeline.world
    runs = world_runs(world)
    want_runs = {
        (
            r.repo,
            r.run_id,
            a.run_attempt,
            r.workflow_name,
            r.head_branch,
            r.actor,
            a.actor,
            r.display_title or r.workflow_name,
        )
        for r in runs
        for a in r.attempts
    }
    want_jobs = {
        (r.repo, j.job_id, r.run_id, j.run_attempt, r.workflow_name, j.name)
        for r in runs
        for a in r.attempts
        for j in a.jobs
    }
    want_steps = {
        j.job_id: [s.name for s in j.steps] for r in runs for a in r.attempts for j in a.jobs
    }
    with store.connect(pipeline.db_path, read_only=True) as con:
        got_runs = con.execute(
            "SELECT repo, run_id, run_attempt, workflow_name, head_branch, actor, "
            "triggering_actor, display_title FROM raw.workflow_runs"
        ).fetchall()
        got_jobs = con.execute(
            "SELECT repo, job_id, run_id, run_attempt, workflow_name, name FROM raw.workflow_jobs"
        ).fetchall()
        got_steps = {
            job_id: [s["name"] for s in json.loads(steps)]
            for job_id, steps in con.execute(
                "SELECT job_id, steps FROM raw.workflow_jobs"
            ).fetchall()
        }
        got_tests = Counter(
            con.execute(
                "SELECT repo, run_id, run_attempt, head_sha, branch, workflow, test_id, "
                "classname, name, outcome FROM raw.test_results"
            ).fetchall()
        )
    assert len(got_runs) == len(want_runs) and set(got_runs) == want_runs
    assert len(got_jobs) == len(want_jobs) and set(got_jobs) == want_jobs
    assert got_steps == want_steps
    want_tests = expected_tests(world)
    assert got_tests == want_tests
    # the same code points give the same UTF-8 bytes: compare those too, for the record
    names = {n for row in got_runs for n in row[3:]} | {t[6] for t in got_tests}
    wanted = {n for row in want_runs for n in row[3:]} | {t[6] for t in want_tests}
    assert {n.encode() for n in names} == {n.encode() for n in wanted}
    hostile = {HOSTILE_SQL, HOSTILE_SCRIPT, HOSTILE_IMG, HOSTILE_JINJA}
    assert hostile <= {row[3] for row in got_runs}
    assert max(len(row[3]) for row in got_runs) == 1000
    assert any("\t" in row[3] and "\u0007" in row[3] for row in got_runs)
    hostile_tests = {junit_sim.hostile_test_id(t) for t in junit_sim.HOSTILE_TEST_NAMES}
    assert hostile_tests <= {t[6] for t in got_tests}
    record(
        AREA,
        "raw",
        "workflow, branch, job, step, actor, commit-title and JUnit test names with quotes, "
        "SQL, HTML/JS, Jinja, Markdown specials, RTL override, emoji, tab/BEL/newline and "
        "1,000 characters, read from the fake API and artifacts",
        f"raw tables equal the generated world: {len(got_runs)} attempts, {len(got_jobs)} "
        f"jobs with their step names, {sum(got_tests.values())} test rows; every name identical "
        "in UTF-8 bytes",
        attempts=len(got_runs),
        jobs=len(got_jobs),
        test_rows=sum(got_tests.values()),
    )


def test_kpi_tables_hold_names_and_nothing_was_dropped(pipeline: Pipeline, record) -> None:
    world = pipeline.world
    runs = world_runs(world)
    counts = world.expected_counts(FIRST, END)
    per_workflow = Counter((r.repo, r.workflow_name, r.created_at.date()) for r in runs)
    full_suite = Counter(
        (r.repo, r.created_at.date()) for r in runs if r.workflow_name == HOSTILE_SQL
    )
    flaky, slow = expected_test_verdicts(world)
    with store.connect(pipeline.db_path, read_only=True) as con:
        tables = set(
            con.execute("SELECT table_schema, table_name FROM information_schema.tables").fetchall()
        )
        raw_counts = {
            name: con.execute(f"SELECT count(*) FROM raw.{name}").fetchone()[0]
            for name in ("workflow_runs", "workflow_jobs", "test_results")
        }
        got_workflows = {
            (repo, wf, day): n
            for repo, wf, day, n in con.execute(
                "SELECT repo, workflow_name, day, runs FROM kpi.workflow_daily"
            ).fetchall()
        }
        got_full = con.execute(
            "SELECT repo, day, workflow_name, runs FROM kpi.full_suite_daily"
        ).fetchall()
        got_flaky = dict(
            ((repo, t), n)
            for repo, t, n in con.execute(
                "SELECT repo, test_id, flaky_units FROM kpi.flaky_tests"
            ).fetchall()
        )
        got_slow = dict(
            ((repo, t), c)
            for repo, t, c in con.execute(
                "SELECT repo, test_id, consistently_slow FROM kpi.slow_tests"
            ).fetchall()
        )
    want_tables = {("raw", t) for t in ("workflow_runs", "workflow_jobs", "test_results")}
    want_tables |= {("kpi", t.name) for t in TABLES}
    assert want_tables <= tables
    assert raw_counts == {
        "workflow_runs": counts["attempts"],
        "workflow_jobs": counts["jobs"],
        "test_results": sum(expected_tests(world).values()),
    }
    assert got_workflows == dict(per_workflow)
    assert {(repo, day): n for repo, day, _, n in got_full} == dict(full_suite)
    assert {wf for _, _, wf, _ in got_full} == {HOSTILE_SQL}
    assert got_flaky == flaky
    assert got_slow == slow
    hostile_ids = {junit_sim.hostile_test_id(t) for t in junit_sim.HOSTILE_TEST_NAMES}
    shown = {t for _, t in [*got_flaky, *got_slow]}
    assert len(shown & hostile_ids) >= 4  # flaky, slow and consistently slow hostile tests
    record(
        AREA,
        "kpi",
        "SQL models grouping, filtering and joining on hostile workflow names and test ids; "
        "the full-suite workflow configured as `Robert'); DROP TABLE raw.workflow_runs;--`",
        f"every raw and kpi table still there; {len(got_workflows)} workflow-day rows, "
        f"{len(got_full)} full-suite rows, {len(got_flaky)} flaky and {len(got_slow)} slow "
        "tests equal what the world's runs give, names unchanged",
        workflow_day_rows=len(got_workflows),
        flaky_tests=len(got_flaky),
        slow_tests=len(got_slow),
    )


def test_dashboard_html_escapes_every_name(pipeline: Pipeline, record) -> None:
    text = read(pipeline.out / "dashboard.html")
    # nothing from the data became markup
    assert "window.__pwned=1</script>" not in text and "window['__pwned']=1</script>" not in text
    assert text.count("<script") == SCRIPT_COUNT
    assert "<img" not in text and 'onerror="' not in text
    assert "<b>long</b>" not in text and "<i>long</i>" not in text
    # templates did not run the data: the Jinja name is there literally, 7*7 never became 49
    assert f"acme/repo-0 · {HOSTILE_JINJA}" in text
    assert "acme/repo-0 · 49" not in text
    elements = parse_html(text)
    assert [tag for tag, _, _ in elements].count("script") == SCRIPT_COUNT
    rows = [a for tag, a, _ in elements if tag == "tr" and "data-workflow" in a]
    want = labels(pipeline.world)
    assert {a["data-workflow"] for a in rows} == want  # attribute values, unescaped
    row_heads = {
        body
        for tag, a, body in elements
        if tag == "th" and a.get("scope") == "row" and body in want
    }
    assert row_heads == want  # and the same names as cell text
    series = {a["data-series"] for tag, a, _ in elements if tag == "g" and "data-series" in a}
    assert want <= series  # every workflow has a line in some chart, named by its label
    config = next(body for tag, a, body in elements if a.get("id") == "report-config")
    assert json.loads(config)["workflows"] == sorted(want)  # the script's data, unchanged
    flaky, slow = expected_test_verdicts(pipeline.world)
    test_ids = {t for _, t in [*flaky, *slow]}
    test_cells = {body for tag, a, body in elements if tag == "th" and a.get("class") == "mono"}
    assert test_ids <= test_cells
    record(
        AREA,
        "html",
        "dashboard.html rendered from the hostile store (workflow labels, test ids, chart "
        "series, the script's JSON configuration)",
        f"no markup from data: {SCRIPT_COUNT} script elements (the page's own), no img/b/i; "
        f"{len(want)} workflow labels (table cells, row attributes, chart series, the "
        f"script's JSON) and {len(test_ids)} flaky/slow test ids parse back unchanged; "
        "`{{ 7*7 }}` shown literally",
        workflows=len(want),
    )


def test_dashboard_in_chromium_runs_nothing_from_data(pipeline: Pipeline, record) -> None:
    path = pipeline.out / "dashboard.html"
    want = labels(pipeline.world)
    flaky, slow = expected_test_verdicts(pipeline.world)
    with sync_playwright() as p:
        browser = launch(p)
        try:
            page, events = offline_page(browser, path)
            pwned = page.evaluate("typeof window.__pwned")
            page.locator('label[for="w-30"]').click()
            section = page.locator("section.w-30")
            heads = section.locator("table.sortable tbody th").all_inner_texts()
            tests_text = section.locator("section.tests").inner_text()
            images = page.locator("img").count()
            scripts = page.locator("script").count()
            # the workflow menu matches a workflow by its name as data
            page.locator("#workflow-filter").select_option(f"acme/repo-0 · {HOSTILE_SCRIPT}")
            dimmed = section.locator('svg[data-chart="success-30"] g.series.dim').count()
            series = section.locator('svg[data-chart="success-30"] g.series').count()
            pwned_after = page.evaluate("typeof window.__pwned")
        finally:
            browser.close()
    assert pwned == "undefined" and pwned_after == "undefined"
    assert events["dialogs"] == [] and events["errors"] == []
    assert events["requests"] == [path.as_uri()]
    assert images == 0 and scripts == SCRIPT_COUNT
    assert sorted(heads) == sorted(html_space(label) for label in want)
    for _, test_id in [*flaky, *slow]:
        assert html_space(test_id) in tests_text, test_id
    assert series >= 2 and dimmed == series - 1
    record(
        AREA,
        "browser",
        "dashboard.html opened offline in headless Chromium; the workflow menu set to the "
        "`<script>` workflow",
        "window.__pwned undefined, no dialog, no page error, no request but the file, no img "
        "(the page's CSP would also refuse inline handlers: escaping is shown by the html case); "
        f"{len(heads)} workflow names and {len({t for _, t in [*flaky, *slow]})} test ids "
        "visible as text; choosing it dims the other series",
        workflows=len(heads),
    )


def test_markdown_summary_keeps_its_tables(pipeline: Pipeline, record) -> None:
    text = read(pipeline.out / "summary.md")
    rows = assert_table_shape(text)
    # a CommonMark + GFM tables renderer shows each name as the text it is
    rendered = MarkdownIt("commonmark").enable("table").render(text)
    elements = parse_html(rendered)
    tags = {tag for tag, _, _ in elements}
    allowed = {"h2", "h3", "p", "strong", "ul", "li", "table", "thead", "tbody", "tr", "th", "td"}
    assert tags <= allowed
    cells = {body for tag, _, body in elements if tag == "td"}
    want = {flat(label) for label in labels(pipeline.world)}
    shown_workflows = cells & want
    flaky, slow = expected_test_verdicts(pipeline.world)
    tests = {flat(t) for _, t in [*flaky, *slow]}
    shown_tests = cells & tests
    assert len(shown_workflows) >= 5  # the worst and slowest workflow tables
    assert len(shown_tests) >= 4
    # every first cell of the workflow and test tables is one of those names
    for table in markdown_tables(text):
        if table[0][0].strip() in ("Workflow", "Test"):
            for row in table[2:]:
                first = MarkdownIt("commonmark").renderInline(row[0].strip())
                plain = "".join(body for _, _, body in parse_html(f"<p>{first}</p>"))
                assert plain in want | tests, plain
    assert HOSTILE_SCRIPT not in rendered and "<img" not in rendered
    record(
        AREA,
        "markdown",
        "summary.md with hostile workflow names and test ids in its tables (pipes, "
        "backslash-pipe, backticks, links, HTML, newlines)",
        f"{rows} table rows all with their header's column count; rendered by markdown-it "
        f"(CommonMark + tables) {len(shown_workflows)} workflow names and {len(shown_tests)} "
        "test ids come out as their text (whitespace on one line), no HTML element from data",
        table_rows=rows,
    )


def test_json_report_round_trips_names(pipeline: Pipeline, record) -> None:
    report = json.loads(read(pipeline.out / "metrics-report.json"))
    names = workflow_names(pipeline.world)
    flaky, slow = expected_test_verdicts(pipeline.world)
    checked = 0
    for key, window in report["windows"].items():
        got: dict[str, set[str]] = defaultdict(set)
        for w in window["workflows"]:
            got[w["repo"]].add(w["workflow_name"])
            assert w["label"] == f"{w['repo']} · {w['workflow_name']}"
        assert dict(got) == dict(names), key
        assert {(t["repo"], t["test_id"]) for t in window["tests"]["flaky"]} == set(flaky), key
        assert {(t["repo"], t["test_id"]) for t in window["tests"]["slow"]} == set(slow), key
        checked += 1
    assert report["full_suite_workflow"] == HOSTILE_SQL
    record(
        AREA,
        "json",
        "metrics-report.json written from the hostile store, read back with json.loads",
        f"{checked} windows: workflow names, labels, flaky and slow test ids equal the "
        "generated ones exactly (tab, BEL, newline, RTL override and emoji included)",
        windows=checked,
    )


def test_alert_text_carries_names_as_slack_text(
    pipeline: Pipeline, record, monkeypatch: pytest.MonkeyPatch
) -> None:
    names = workflow_names(pipeline.world)
    flaky, _ = expected_test_verdicts(pipeline.world)
    assert flaky  # flaky tests in the world: the 1 % test flakiness target is breached
    targets = [e for e in pipeline.evaluations if e.check_name.endswith("_target")]
    # the checks' Markdown tables keep their shape, whatever the names hold
    for e in targets:
        assert_table_shape(e.metadata["worst_workflows"].value)
    with store.connect(pipeline.db_path, read_only=True) as con:
        every = store.markdown_table(
            con, "SELECT DISTINCT repo, workflow_name FROM raw.workflow_runs"
        )
    assert assert_table_shape(every) == 2 + sum(len(v) for v in names.values())
    with Receiver() as receiver:
        webhook = {"alerts": AlertWebhook(url=receiver.url)}  # no UI link: no < > of ours
        sensor = alerts.build_check_alert_sensor(check_keys(kpi_target_checks))
        context = build_sensor_context(instance=pipeline.instance, cursor=None, resources=webhook)
        sensor.evaluate_tick(context)
    failed = [e for e in targets if not e.passed]
    assert len(receiver.bodies) == len(failed) >= 1
    listed = 0
    hostile_listed = set()
    for body in receiver.bodies:  # each a JSON object the receiver parsed
        assert set(body) == {"text"}
        text = body["text"]
        # Slack's rule: no bare <, > or & from data (no link, no mention, no entity trick)
        assert "<" not in text and ">" not in text
        assert not re.search(r"&(?!amp;|lt;|gt;)", text)
        block = text.split("\nworst workflows:\n", 1)[1].rsplit("\npartition: ", 1)[0]
        for entry in block.split("\n• "):  # a name's own line break stays inside its entry
            repo, rest = entry.removeprefix("• ").split(" · ", 1)
            name = slack_unescape(rest.rsplit(": ", 1)[0])
            assert name in names[repo], name
            listed += 1
            if set(name) & set("<>&'\"`|{$\u202e"):
                hostile_listed.add(name)
    assert listed >= len(failed) and hostile_listed
    record(
        AREA,
        "alert",
        "the KPI target checks of the hostile run posted by the check-alert sensor to a local "
        "webhook; their metadata tables of worst workflows",
        f"{len(receiver.bodies)} alert bodies parse as JSON; {listed} worst-workflow entries "
        f"({len(hostile_listed)} distinct hostile names) read back exactly after Slack's "
        "&amp;/&lt;/&gt; escaping, no bare <, > or &; metadata tables keep their columns",
        alerts=len(receiver.bodies),
        entries=listed,
    )
