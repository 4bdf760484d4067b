"""The GitHub token and the alert webhook URL never leave the places they are meant for.

A whole pipeline (raw data, test results, per-day KPIs with their checks, window tables,
dashboard) runs against the fake GitHub server with a recognisable token, on a Dagster
instance in a temporary ``DAGSTER_HOME``, with faults that make the client retry and wait,
data that makes KPI target checks fail (so the check-alert sensor posts), and then a run
that fails on an unrecoverable rate limit (so there is exception text, and the run-failure
sensor posts). Alerts go first to an unreachable webhook (the failure path and its error
text), then to a reachable one on 127.0.0.1; both URLs carry a recognisable path.

Then everything the pipeline left behind is read and searched for the canary: captured
stdout/stderr and Python logging, every event of every run, materialization and check
metadata, run configs and tags, every value of every table in the DuckDB file (and the
file's bytes), the generated reports, every file under ``DAGSTER_HOME`` (compute logs
included), the exceptions raised, the sensors' results and the alert texts themselves.
The token must have reached the fake server in the Authorization header, and the alerts
the receiver, or the test would prove nothing.
"""

import logging
import re
import traceback
import zlib
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from dagster import (
    DagsterEventType,
    DagsterRunStatus,
    RunsFilter,
    build_run_status_sensor_context,
    build_sensor_context,
    serialize_value,
)

from pipelines import alerts, store
from pipelines.fake_github.faults import Faults
from pipelines.fake_github.generator import FakeConfig, generate
from pipelines.fake_github.server import FakeGitHubServer
from pipelines.materialize import local_instance, materialize_range, run_pipeline
from tests.conftest import END, free_port
from tests.webhook import Receiver

pytestmark = pytest.mark.slow

CANARY = "SECRETCANARY"  # in both secrets: any fragment of either that leaks carries it
TOKEN = f"ghp_{CANARY}_9f3b7c1e5a2d4068b1c3"
HOOK_PATH = f"/services/{CANARY}/B07QX4Z1K/c4n4ryW3bh00kPath"
DNS_DEAD_HOOK = f"https://hooks.example.invalid{HOOK_PATH}"  # .invalid never resolves
# flaky jobs that are always re-run: the run-flakiness target (< 1 %) is breached by design
WORLD = FakeConfig(
    seed=41, repos=2, days=7, end_date=END, runs_per_day=4, job_flaky_p=0.3, rerun_p=1.0
)
FIRST, LAST = END - timedelta(days=6), END
# a burst of 5xx, dropped connections and a secondary limit: the client retries and waits
RETRY_FAULTS = Faults(error_every=40, drop_every=57, secondary_every=90, retry_after_s=1)


RETRIES_RE = re.compile(r"GitHub cost for .*?, (?P<retries>\d+) retries,")


class RecordingServer(FakeGitHubServer):
    """The fake API, noting the Authorization header of every request on either host."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.api_auth: Counter[str | None] = Counter()
        self.blob_auth: Counter[str | None] = Counter()

    def handle_api(self, h: BaseHTTPRequestHandler) -> None:
        self.api_auth[h.headers.get("Authorization")] += 1
        super().handle_api(h)

    def handle_blob(self, h: BaseHTTPRequestHandler) -> None:
        self.blob_auth[h.headers.get("Authorization")] += 1
        super().handle_blob(h)


class Scan:
    """Searches text and bytes for the canary, counting what it read per surface."""

    def __init__(self) -> None:
        self.items: Counter[str] = Counter()
        self.bytes: Counter[str] = Counter()
        self.leaks: list[str] = []
        self.seen: dict[str, set[str]] = {}  # which known strings were found, per surface

    def text(self, surface: str, where: str, value: str | bytes) -> None:
        data = value.encode("utf-8", "surrogateescape") if isinstance(value, str) else value
        self.items[surface] += 1
        self.bytes[surface] += len(data)
        lowered = data.lower()
        for needle in (CANARY, TOKEN, HOOK_PATH):
            if needle.lower().encode() in lowered:
                self.leaks.append(f"{surface}: {where} holds {needle!r}")
        for probe in PROBES:
            if probe.encode() in data:
                self.seen.setdefault(surface, set()).add(probe)

    def blob(self, surface: str, where: str, data: bytes) -> None:
        self.text(surface, where, data)
        try:
            self.text(surface, f"{where} (inflated)", zlib.decompress(data))
        except zlib.error:
            pass


# strings the pipeline surely writes: finding them shows each surface was really read
PROBES = ("acme/repo-0", "run_flakiness_rate_target", "rate limit")


def scan_files(scan: Scan, surface: str, root: Path) -> None:
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        scan.text(surface, str(path.relative_to(root)), path.read_bytes())


def scan_duckdb(scan: Scan, db: Path) -> None:
    with store.connect(db, read_only=True) as con:
        tables = con.execute(
            "SELECT table_schema, table_name FROM information_schema.tables ORDER BY ALL"
        ).fetchall()
        for schema, table in tables:
            for row in con.execute(f'SELECT * FROM "{schema}"."{table}"').fetchall():
                for value in row:
                    if isinstance(value, bytes | bytearray | memoryview):
                        scan.blob("duckdb", f"{schema}.{table}", bytes(value))
                    elif value is not None:
                        scan.text("duckdb", f"{schema}.{table}", str(value))
    for path in db.parent.glob(db.name + "*"):  # the file and any WAL, byte for byte
        scan.text("duckdb file bytes", path.name, path.read_bytes())


@pytest.fixture
def dagster_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    home = tmp_path / "dagster_home"
    home.mkdir()
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    yield home


def test_no_secret_reaches_any_output(
    tmp_path: Path,
    dagster_home: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
    record,
) -> None:
    db, reports = tmp_path / "ci_metrics.duckdb", tmp_path / "reports"
    dead_hook = f"http://127.0.0.1:{free_port()}{HOOK_PATH}"
    caplog.set_level(logging.DEBUG)
    monkeypatch.setattr(alerts, "BACKOFF_S", 0.01)
    for key, value in {
        "GITHUB_TOKEN": TOKEN,
        "CI_METRICS_DB": str(db),
        "CI_METRICS_OUTPUT_DIR": str(reports),
        "CI_METRICS_JUNIT_DIR": str(tmp_path / "inbox"),
        "CI_METRICS_MAX_RATE_LIMIT_WAIT_S": "5",
        "CI_METRICS_DAGSTER_URL": "http://dagster.example:3000/",
        "CI_METRICS_ALERT_WEBHOOK_URL": dead_hook,
    }.items():
        monkeypatch.setenv(key, value)
    from pipelines.definitions import build, resources

    world = generate(WORLD)
    raised: list[BaseException] = []
    sensor_out: list[str] = []
    captured: list[tuple[str, str]] = []  # stdout, stderr read so far
    with (
        RecordingServer(world, token=TOKEN, faults=RETRY_FAULTS) as server,
        Receiver(HOOK_PATH) as receiver,
        local_instance() as instance,
    ):
        monkeypatch.setenv("CI_METRICS_REPOS", ",".join(world.repos))
        monkeypatch.setenv("CI_METRICS_GITHUB_API_URL", server.url)
        results = run_pipeline(FIRST, LAST, resources=resources(), instance=instance)
        assert all(r.success for r in results)
        injected = dict(server.stats.faults)
        failed_checks = {
            e.check_name for r in results for e in r.get_asset_check_evaluations() if not e.passed
        }
        assert "run_flakiness_rate_target" in failed_checks

        # an unrecoverable rate limit: the next extraction run fails with an exception
        n = server.stats.snapshot()["api_requests"]
        server.faults = Faults(primary_exhaust_after=n + 2, primary_reset_s=7200)
        with pytest.raises(Exception) as excinfo:
            materialize_range(FIRST, LAST, resources=resources(), instance=instance)
        raised.append(excinfo.value)
        (failed_run,) = instance.get_runs(RunsFilter(statuses=[DagsterRunStatus.FAILURE]))
        (failure,) = [
            e.dagster_event
            for e in instance.all_logs(failed_run.run_id, of_type=DagsterEventType.RUN_FAILURE)
        ]

        # alerts: first to a webhook nobody listens on, then to the receiver
        # (the sensors of the code location, their webhook resolved from the environment)
        defs = build()
        check_sensor = next(s for s in defs.sensors if s.name == "asset_check_alerts")
        failure_sensor = next(s for s in defs.sensors if s.name == "pipeline_run_failure_alerts")

        def tick(cursor: str | None) -> str | None:
            data = check_sensor.evaluate_tick(
                build_sensor_context(
                    instance=instance, cursor=cursor, resources={"alerts": defs.resources["alerts"]}
                )
            )
            sensor_out.extend([str(data.skip_message), str(data.cursor), repr(data)])
            return data.cursor

        def run_failure_alert() -> None:
            context = build_run_status_sensor_context(
                sensor_name="pipeline_run_failure_alerts",
                dagster_event=failure,
                dagster_instance=instance,
                dagster_run=failed_run,
                resources={"alerts": defs.resources["alerts"]},
            ).for_run_failure()
            failure_sensor(context)

        cursor = tick(None)
        run_failure_alert()
        assert not receiver.posts
        out, err = capfd.readouterr()  # the sensors log through Dagster's own loggers
        captured.append((out, err))
        failures = (caplog.text + out + err).count(
            "delivery failed after 3 attempt(s) (ConnectError)"
        )
        assert failures >= 2  # a check alert and the run-failure alert, neither delivered
        # a webhook whose host does not resolve fails the same way, URL unsaid
        assert not alerts.send_alert("probe", webhook_url=DNS_DEAD_HOOK, retries=1)
        assert "delivery failed after 1 attempt(s) (ConnectError)" in caplog.text
        monkeypatch.setenv("CI_METRICS_ALERT_WEBHOOK_URL", receiver.url)
        tick(cursor)
        run_failure_alert()

        # the token was used, on the API only; the alerts arrived
        api_requests = server.stats.snapshot()["api_requests"]
        assert server.api_auth == Counter({f"Bearer {TOKEN}": api_requests})
        assert sum(server.blob_auth.values()) > 0 and set(server.blob_auth) == {None}
        texts = [body["text"] for _, body in receiver.posts]
        assert {path for path, _ in receiver.posts} == {HOOK_PATH}
        assert any("run_flakiness_rate_target" in t for t in texts)
        assert any(f"run `{failed_run.run_id}`" in t for t in texts)
        assert sum(injected.values()) > 0

        # what Dagster recorded: every event of every run, metadata, run configs and tags
        scan = Scan()
        runs = instance.get_runs()
        for run in runs:
            both = f"{serialize_value(run)}\n{run.run_config}\n{run.tags}"
            scan.text("run config and tags", run.run_id, both)
            for entry in instance.all_logs(run.run_id):  # one item per event, both renderings
                scan.text("event log", run.run_id, f"{serialize_value(entry)}\n{entry}")
        for r in results:
            for event in r.get_asset_materialization_events():
                meta = event.materialization.metadata
                scan.text("metadata", event.asset_key.to_user_string(), serialize_value(meta))
            for evaluation in r.get_asset_check_evaluations():
                scan.text("metadata", evaluation.check_name, serialize_value(evaluation))
        retries = sum(
            int(m["retries"])
            for run in runs
            for e in instance.all_logs(run.run_id)
            if (m := RETRIES_RE.search(e.user_message or ""))
        )
    assert retries > 0, "the faults must have made the client retry"

    for exc in raised:
        scan.text("exceptions", type(exc).__name__, "".join(traceback.format_exception(exc)))
    for i, text in enumerate(sensor_out):
        scan.text("sensor results", str(i), text)
    for text in texts:
        scan.text("alert texts", "webhook body", text)
    for rec in caplog.records:
        formatted = logging.Formatter().format(rec)
        scan.text("python logging", rec.name, formatted + repr(rec.__dict__))
    captured.append(capfd.readouterr())
    for out, err in captured:
        scan.text("stdout/stderr", "stdout", out)
        scan.text("stdout/stderr", "stderr", err)
    scan_duckdb(scan, db)
    scan_files(scan, "reports", reports)
    scan_files(scan, "DAGSTER_HOME files", dagster_home)
    assert not scan.leaks, "\n".join(scan.leaks[:20])
    assert any("rate limit exhausted" in "".join(traceback.format_exception(e)) for e in raised)
    compute_logs = [p for p in dagster_home.rglob("compute_logs/*") if p.stat().st_size]
    assert compute_logs, "the runs' compute logs must have been written (and read)"
    for surface in ("event log", "duckdb", "reports", "DAGSTER_HOME files", "stdout/stderr"):
        assert "acme/repo-0" in scan.seen.get(surface, set()), f"{surface} was not really read"
    assert "rate limit" in scan.seen.get("exceptions", set())
    assert "run_flakiness_rate_target" in scan.seen.get("alert texts", set())

    tried = (
        "token ghp_SECRETCANARY_… and webhook …/services/SECRETCANARY/…; pipeline with retries "
        f"({sum(injected.values())} faults injected), failing KPI checks, a rate-limit failure, "
        "alerts to a refused, an unresolvable and a live webhook"
    )
    for surface in sorted(scan.items):
        record(
            "secrets",
            f"no canary in {surface}",
            tried,
            "no fragment of the token or the webhook path found",
            items=scan.items[surface],
            bytes=scan.bytes[surface],
        )
    record(
        "secrets",
        "canaries were really used",
        tried,
        "every API request carried the token; the blob host never got it; alerts delivered "
        "to the webhook path",
        api_requests=api_requests,
        blob_requests=sum(server.blob_auth.values()),
        alerts_delivered=len(receiver.posts),
        client_retries=retries,
        runs=len(runs),
        files=len([p for p in dagster_home.rglob("*") if p.is_file()]),
        compute_log_files=len(compute_logs),
    )


WEBHOOK_FORMS = {
    # a secret read from a file ends in a newline; httpx refused it, uncaught, before
    "trailing newline": lambda url: url + "\n",
    # httpx logs its own, normalized form of the URL, which the redaction did not know
    "trailing space": lambda url: url + " ",
    "upper-case scheme": lambda url: "HTTP" + url.removeprefix("http"),
    "character httpx escapes": lambda url: url + " x",
}


@pytest.mark.parametrize("form", list(WEBHOOK_FORMS))
def test_webhook_url_in_any_form_stays_out_of_logs(
    form: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, record
) -> None:
    monkeypatch.setattr(alerts, "BACKOFF_S", 0.01)
    caplog.set_level(logging.DEBUG)
    with Receiver(HOOK_PATH) as receiver:
        live = WEBHOOK_FORMS[form](receiver.url)
        delivered = alerts.send_alert("check failed", webhook_url=live)
        dead = WEBHOOK_FORMS[form](f"http://127.0.0.1:{free_port()}{HOOK_PATH}")
        undelivered = alerts.send_alert("check failed", webhook_url=dead, retries=2)
    assert delivered and not undelivered
    assert [body for _, body in receiver.posts] == [{"text": "check failed"}]
    assert receiver.posts[0][0].startswith(HOOK_PATH)
    # the HTTP client did log the request, with the URL replaced
    assert any(r.name == "httpx" and "<webhook>" in r.getMessage() for r in caplog.records)
    assert "delivery failed after 2 attempt(s) (ConnectError)" in caplog.text
    logged = "\n".join(logging.Formatter().format(r) + repr(r.__dict__) for r in caplog.records)
    assert CANARY.lower() not in logged.lower()
    record(
        "secrets",
        f"webhook URL with {form}",
        f"CI_METRICS_ALERT_WEBHOOK_URL={form!s} form of …/services/SECRETCANARY/…; one alert "
        "delivered, one to a refused port; Python logging at DEBUG",
        "delivered; no fragment of the URL path in any log record",
        log_records=len(caplog.records),
        bytes=len(logged),
    )
