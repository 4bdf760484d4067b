"""Alerts: failed asset checks and failed pipeline runs, sent to a Slack-compatible webhook.

The check sensor keeps one cursor per check (the id of the last execution record it
handled), so each evaluation alerts exactly once even when checks run in different orders
or a check is added later. A delivery that fails is not marked handled: the next tick
retries it. The webhook URL is a secret: it is never logged, and errors from the HTTP
client (whose messages include the URL) are rephrased before they are logged.

Every string from the data (workflow and repo names, check descriptions, error messages)
goes through :func:`slack_escape`, so a name is shown as text: it cannot open a link,
mention ``<!channel>`` or end the message's own link.
"""

import dataclasses
import json
import logging
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date

import httpx
from dagster import (
    AssetCheckKey,
    DagsterInstance,
    DefaultSensorStatus,
    RunFailureSensorContext,
    SensorDefinition,
    SensorEvaluationContext,
    SkipReason,
    run_failure_sensor,
    sensor,
)

from pipelines.dagster_adapter import COMPLETED_STATUSES
from pipelines.kpi import formatting
from pipelines.kpi.catalogue import KPIS
from pipelines.links import Explorer
from pipelines.resources import AlertWebhook

logger = logging.getLogger(__name__)

RETRIES = 3
BACKOFF_S = 0.5
TIMEOUT_S = 10.0
HISTORY_LIMIT = 50  # newest check executions read per check and tick


def _webhook_forms(secret: str) -> list[str]:
    """The webhook URL as configured and as the HTTP client prints it: httpx logs its
    normalized form (lower-case scheme and host, spaces and the like escaped)."""
    forms = {secret.strip()}
    try:
        forms.add(str(httpx.URL(secret.strip())))
    except httpx.InvalidURL:
        pass
    return sorted((f for f in forms if f), key=len, reverse=True)


class _RedactWebhook(logging.Filter):
    """Replace the webhook URL in log records of the HTTP client (it logs every request URL)."""

    def __init__(self, secret: str) -> None:
        super().__init__()
        self._forms = _webhook_forms(secret)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = message
        for form in self._forms:
            redacted = redacted.replace(form, "<webhook>")
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True


@contextmanager
def _redacting(secret: str) -> Iterator[None]:
    """The HTTP client's loggers redact ``secret`` while the block runs, and only then."""
    loggers = [logging.getLogger(name) for name in ("httpx", "httpcore")]
    redact = _RedactWebhook(secret)
    for each in loggers:
        each.addFilter(redact)
    try:
        yield
    finally:
        for each in loggers:
            each.removeFilter(redact)


def _describe_failure(exc: Exception) -> str:
    """Why a delivery failed, without the URL the exception text carries."""
    if isinstance(exc, httpx.HTTPStatusError):
        return f"HTTP {exc.response.status_code}"
    return type(exc).__name__


def send_alert(
    text: str,
    *,
    webhook_url: str = "",
    retries: int = RETRIES,
    backoff_s: float | None = None,
    log: logging.Logger | None = None,
) -> bool:
    """POST ``{"text": text}`` to the webhook; True when delivered (or only logged).

    Without a webhook URL (the ``alerts`` resource's) the alert is only logged.
    Network errors, 429 and 5xx answers are retried with exponential backoff.
    """
    log = log or logger
    url = webhook_url.strip()  # a secret read from a file often ends in a newline
    if not url:
        log.warning("alert (no webhook configured): %s", text)
        return True
    with _redacting(url):
        return _post(url, text, retries, backoff_s, log)


def _post(url: str, text: str, retries: int, backoff_s: float | None, log: logging.Logger) -> bool:
    reason = "no attempt"
    for attempt in range(1, retries + 1):
        try:
            response = httpx.post(url, json={"text": text}, timeout=TIMEOUT_S)
            if response.status_code < 400:
                return True
            response.raise_for_status()
        except httpx.HTTPStatusError as exc:
            reason = _describe_failure(exc)
            if exc.response.status_code != 429 and exc.response.status_code < 500:
                break  # a 4xx other than 429 will not get better by retrying
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            reason = _describe_failure(exc)
        if attempt < retries:
            time.sleep((BACKOFF_S if backoff_s is None else backoff_s) * 2 ** (attempt - 1))
    log.error(
        "alert webhook delivery failed after %d attempt(s) (%s); alert was: %s",
        attempt,
        reason,
        text,
    )
    return False


def slack_escape(text: object) -> str:
    """``text`` as Slack shows it literally: ``&``, ``<`` and ``>`` as the three entities
    Slack decodes (its only control characters in message text)."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _ui_link(dagster_url: str, path: str) -> str | None:
    base = dagster_url.rstrip("/")
    return f"{base}/{path.lstrip('/')}" if base else None


def _days(text: object) -> tuple[date | None, date | None]:
    """A window or partition (``D`` or ``D .. D``) as its first and last day; none when
    it is not made of days."""
    if not isinstance(text, str):
        return None, None
    first, _, last = (p.strip() for p in text.partition(".."))
    try:
        start = date.fromisoformat(first)
        return start, date.fromisoformat(last) if last else start
    except ValueError:
        return None, None


def explorer_line(
    explorer_url: str, repos: Sequence[str] = (), window: object = None
) -> str | None:
    """``<url|Open in explorer>``: the explorer's overview of ``repos`` over ``window``
    (``D .. D`` or a day), every value URL-encoded and the link escaped for Slack; None
    without an explorer address."""
    start, end = _days(window)
    url = Explorer(explorer_url).overview([str(r) for r in repos], start, end)
    return f"<{slack_escape(url)}|Open in explorer>" if url else None


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return slack_escape(value)


def _worst_lines(worst: object) -> list[str]:
    """One line per workflow of a target check's ``worst`` metadata (a JSON list)."""
    if not isinstance(worst, list) or not worst:
        return []
    lines = ["worst workflows:"]
    for row in worst:
        if not isinstance(row, dict):
            continue
        name = f"{_fmt(row.get('repo'))} · {_fmt(row.get('workflow'))}"
        value = row.get("value")
        lines.append(f"• {name}: {_fmt(value)}" if value is not None else f"• {name}")
    return lines


MEASURED = ("value", "target", "comparator", "status", "window", "violations")


def _measured_lines(metadata: dict[str, object]) -> list[str]:
    """Value, target, status, window and violations; a KPI's value, target and status as
    the dashboard shows them (``5m 00s``, ``< 2m 00s``, ``Off target``)."""
    shown = {k: metadata[k] for k in MEASURED if k in metadata}
    kpi = KPIS.get(str(metadata.get("kpi")))
    if kpi is not None:
        value, goal = shown.get("value"), shown.get("target")
        if isinstance(value, int | float):
            shown["value"] = formatting.kpi_value(float(value), kpi.unit)
        if isinstance(goal, int | float):
            comparator = str(shown.pop("comparator", kpi.comparator))
            shown["target"] = formatting.kpi_target(comparator, float(goal), kpi.unit)
        if "status" in shown:
            shown["status"] = formatting.STATUS_LABELS.get(str(shown["status"]), shown["status"])
    return [f"{key}: {_fmt(value)}" for key, value in shown.items()]


@dataclass(frozen=True)
class CheckAlert:
    """What an alert says about one failed check evaluation."""

    check: AssetCheckKey
    severity: str
    partition: str | None
    run_id: str
    metadata: dict[str, object]
    description: str | None

    def text(self, dagster_url: str = "", explorer_url: str = "") -> str:
        """Slack-compatible message text: the check, value, target, the worst workflows,
        partition, a link into the UI at ``dagster_url`` and one to the explorer's overview
        of the check's repositories and window at ``explorer_url`` (none when empty); every
        string from the data escaped for Slack."""
        asset = self.check.asset_key.to_user_string()
        lines = [
            f"*{self.severity}* check `{slack_escape(self.check.name)}` failed on "
            f"`{slack_escape(asset)}`"
        ]
        if self.description:
            lines.append(slack_escape(self.description))
        lines += _measured_lines(self.metadata)
        if self.metadata.get("breached_repos"):
            lines.append(f"repos: {', '.join(map(_fmt, self.metadata['breached_repos']))}")
        lines += _worst_lines(self.metadata.get("worst"))
        lines.append(f"partition: {slack_escape(self.partition or '-')}")
        link = _ui_link(dagster_url, f"assets/{'/'.join(self.check.asset_key.path)}?view=checks")
        if link:
            lines.append(f"<{link}|Open in Dagster>")
        repos = self.metadata.get("breached_repos") or []
        window = self.metadata.get("window") or self.partition
        explorer = explorer_line(explorer_url, repos if isinstance(repos, list) else [], window)
        if explorer:
            lines.append(explorer)
        return "\n".join(lines)


def _metadata_values(metadata: dict) -> dict[str, object]:
    return {k: getattr(v, "value", v) for k, v in metadata.items()}


def _run_partition(tags: dict[str, str]) -> str | None:
    if "dagster/partition" in tags:
        return tags["dagster/partition"]
    start = tags.get("dagster/asset_partition_range_start")
    end = tags.get("dagster/asset_partition_range_end")
    return f"{start} .. {end}" if start and end else None


def _with_run_partition(instance, alert: CheckAlert) -> CheckAlert:
    """An unpartitioned check reports the partition (range) of the run it ran in."""
    run = instance.get_run_by_id(alert.run_id)
    partition = _run_partition(dict(run.tags)) if run else None
    return dataclasses.replace(alert, partition=partition)


def _load_cursor(raw: str | None) -> dict[str, int]:
    try:
        data = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    return {str(k): int(v) for k, v in data.items()} if isinstance(data, dict) else {}


def pending_check_alerts(
    instance: DagsterInstance, check_keys: Sequence[AssetCheckKey], cursor: dict[str, int]
) -> list[tuple[str, int, CheckAlert | None]]:
    """Check executions newer than the cursor, oldest first: (cursor key, record id, alert).

    The alert is None for a passed evaluation (it only advances the cursor). A planned
    record of a run still going stops its check's list so it is read again once it has a
    result; one of a finished run never will (an unpartitioned check in a partitioned run
    writes its result as a separate record), so it is passed over.
    """
    completed = set(COMPLETED_STATUSES)
    out: list[tuple[str, int, CheckAlert | None]] = []
    for key in check_keys:
        name = key.to_user_string()
        last = cursor.get(name, 0)
        records = instance.event_log_storage.get_asset_check_execution_history(
            key, limit=HISTORY_LIMIT
        )
        for record in sorted((r for r in records if r.id > last), key=lambda r: r.id):
            if record.status not in completed:
                run = instance.get_run_by_id(record.run_id)
                if run is not None and not run.is_finished:
                    break  # may still complete in place: read it again next tick
                out.append((name, record.id, None))  # planned but never evaluated here
                continue
            evaluation = record.evaluation
            alert = None
            if evaluation is not None and not evaluation.passed:
                alert = CheckAlert(
                    check=key,
                    severity=evaluation.severity.value,
                    partition=record.partition,
                    run_id=record.run_id,
                    metadata=_metadata_values(dict(evaluation.metadata or {})),
                    description=evaluation.description,
                )
            if alert is not None and alert.partition is None:
                alert = _with_run_partition(instance, alert)
            out.append((name, record.id, alert))
    return out


def build_check_alert_sensor(
    check_keys: Sequence[AssetCheckKey],
    *,
    name: str = "asset_check_alerts",
    minimum_interval_seconds: int = 60,
    default_status: DefaultSensorStatus = DefaultSensorStatus.RUNNING,
) -> SensorDefinition:
    """A sensor that sends one alert per failed evaluation of the given checks."""
    keys = list(check_keys)

    @sensor(
        name=name,
        minimum_interval_seconds=minimum_interval_seconds,
        default_status=default_status,
        description="Sends each failed asset check evaluation to the alert webhook once.",
    )
    def _sensor(context: SensorEvaluationContext, alerts: AlertWebhook):
        cursor = _load_cursor(context.cursor)
        sent = failed = 0
        blocked: set[str] = set()
        for cursor_key, record_id, alert in pending_check_alerts(context.instance, keys, cursor):
            if cursor_key in blocked:
                continue
            if alert is not None:
                text = alert.text(alerts.dagster_url, alerts.explorer_url)
                if not send_alert(text, webhook_url=alerts.url, log=context.log):
                    failed += 1
                    blocked.add(cursor_key)  # retry this evaluation on the next tick
                    continue
                sent += 1
            cursor[cursor_key] = record_id
        context.update_cursor(json.dumps(cursor, sort_keys=True))
        return SkipReason(f"{sent} alert(s) sent, {failed} delivery failure(s)")

    return _sensor


def run_failure_text(
    context: RunFailureSensorContext, dagster_url: str = "", explorer_url: str = ""
) -> str:
    """Slack-compatible text for a failed run: job, run id, partition, error, a link into
    the UI at ``dagster_url`` and one to the explorer's overview of the run's days at
    ``explorer_url`` (none when empty)."""
    run = context.dagster_run
    lines = [f"*Run failed*: job `{slack_escape(run.job_name)}` run `{run.run_id}`"]
    partition = _run_partition(dict(run.tags))
    lines.append(f"partition: {slack_escape(partition or '-')}")
    message = context.failure_event.message if context.failure_event else None
    if message:
        lines.append(slack_escape(message[:500]))
    link = _ui_link(dagster_url, f"runs/{run.run_id}")
    if link:
        lines.append(f"<{link}|Open in Dagster>")
    explorer = explorer_line(explorer_url, (), partition)
    if explorer:
        lines.append(explorer)
    return "\n".join(lines)


@run_failure_sensor(
    name="pipeline_run_failure_alerts",
    default_status=DefaultSensorStatus.RUNNING,
    description="Sends each failed run of this code location to the alert webhook.",
)
def pipeline_run_failure_alerts(context: RunFailureSensorContext, alerts: AlertWebhook) -> None:
    """Alert on a failed run of this code location's jobs."""
    text = run_failure_text(context, alerts.dagster_url, alerts.explorer_url)
    send_alert(text, webhook_url=alerts.url, log=context.log)


def build_alert_sensors(check_keys: Sequence[AssetCheckKey]) -> list[SensorDefinition]:
    """Both alert sensors, the check sensor watching ``check_keys``."""
    return [build_check_alert_sensor(check_keys), pipeline_run_failure_alerts]
