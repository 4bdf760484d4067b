"""Every KPI and measure, declared once: name, label, unit, direction, target, and the SQL
that computes it.

The targets table, the checks and alerts, every report and the explorer read these
declarations; the numbers come from :mod:`pipelines.kpi.query`, which runs the SQL named
here. Rates and reductions are fractions (0.01 is 1 %).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Unit = Literal["s", "fraction", "count", "minutes"]
Status = Literal["ok", "breach", "no_data", "no_baseline"]

# The contract's window: a kpi.targets row for day D covers D-6 .. D.
TARGET_WINDOW_DAYS = 7
# The windows the reports offer (days ending on the report's day).
REPORT_WINDOWS: tuple[int, ...] = (7, 30, 90)
PR_EVENTS: tuple[str, ...] = ("pull_request", "pull_request_target")
# Branch classes a filter may name; any other value is a branch name.
BRANCH_CLASSES: tuple[str, ...] = ("default", "pr", "other")


@dataclass(frozen=True)
class Measure:
    """A number the layer computes per repo (and workflow or event where it can) and window.

    ``sql`` names the file in ``pipelines/kpi/sql`` whose rows carry it as a column of the
    same name; ``units`` the unit-forming file it reads first, if any.
    """

    name: str
    label: str
    unit: Unit
    sql: str
    by_workflow: bool = True
    by_event: bool = True


def _runs(name: str, label: str, unit: Unit) -> Measure:
    return Measure(name, label, unit, "runs")


def _pct(name: str, label: str, unit: Unit = "s", sql: str = "run_percentiles") -> Measure:
    return Measure(name, label, unit, sql)


MEASURES: dict[str, Measure] = {
    m.name: m
    for m in (
        _runs("runs", "Runs", "count"),
        _runs("attempts", "Attempts", "count"),
        _runs("successes", "Successful runs", "count"),
        _runs("failures", "Failed runs", "count"),
        _runs("excluded", "Runs excluded from rates", "count"),
        _runs("not_completed", "Runs not completed", "count"),
        _runs("success_rate", "Success rate", "fraction"),
        _runs("first_attempt_successes", "First attempts succeeded", "count"),
        _runs("first_attempt_failures", "First attempts failed", "count"),
        _runs("first_attempt_success_rate", "First-attempt success rate", "fraction"),
        _runs("duration_mean_s", "Mean duration", "s"),
        _runs("duration_sum_s", "Total duration", "s"),
        _runs("duration_count", "Timed runs", "count"),
        _runs("queue_mean_s", "Mean queue time", "s"),
        _runs("pr_runs", "PR runs", "count"),
        _runs("pr_duration_sum_s", "Total PR validation time", "s"),
        _runs("pr_duration_count", "Validated PR runs", "count"),
        _runs("pr_validation_avg_s", "Average PR validation time", "s"),
        _runs("compute_minutes", "Compute minutes", "minutes"),
        _runs("compute_seconds", "Compute seconds", "s"),
        _runs("compute_minutes_per_day", "Compute minutes per day", "minutes"),
        _pct("duration_p50_s", "Duration p50"),
        _pct("duration_p95_s", "Duration p95"),
        _pct("queue_p50_s", "Queue time p50"),
        _pct("queue_p95_s", "Queue time p95"),
        _pct("full_suite_runs", "Successful full-suite runs", "count", "full_suite"),
        _pct("full_suite_p50_s", "Full test suite p50", sql="full_suite"),
        _pct("full_suite_p95_s", "Full test suite p95", sql="full_suite"),
        _pct("full_suite_mean_s", "Full test suite mean", sql="full_suite"),
        *(
            Measure(name, label, unit, "developer_wait", by_workflow=False, by_event=False)
            for name, label, unit in (
                ("developer_wait_commits", "PR commits waited on", "count"),
                ("developer_wait_incomplete_commits", "PR commits still running", "count"),
                ("developer_wait_sum_s", "Total developer wait", "s"),
                ("developer_wait_mean_s", "Developer wait", "s"),
                ("developer_wait_p50_s", "Developer wait p50", "s"),
                ("developer_wait_p95_s", "Developer wait p95", "s"),
            )
        ),
        *(
            Measure(name, label, unit, "run_flakiness", by_event=False)
            for name, label, unit in (
                ("run_flakiness_units", "Run flakiness units", "count"),
                ("run_flaky_units", "Flaky run units", "count"),
                ("run_flakiness_rate", "Run flakiness rate", "fraction"),
            )
        ),
        *(
            Measure(name, label, unit, "test_flakiness", by_workflow=False, by_event=False)
            for name, label, unit in (
                ("flakiness_tests", "Tests run", "count"),
                ("flaky_tests", "Flaky tests", "count"),
                ("test_flakiness_rate", "Test flakiness rate", "fraction"),
            )
        ),
    )
}

# Unit-forming SQL a measure file reads, as the CTE of the same name.
UNITS: dict[str, str] = {
    "developer_wait": "developer_wait_units",
    "run_flakiness": "run_flakiness_units",
}


@dataclass(frozen=True)
class Kpi:
    """A KPI with a target: one row per repo and day of ``kpi.targets``.

    ``measure`` is what the window gives; a reduction's value is 1 - window / baseline, the
    measure over the configured baseline days with the same filter.
    """

    name: str
    label: str
    subject: str  # how checks and alerts name it: "average PR validation time < 120 s"
    measure: str
    comparator: Literal["<", ">="]
    target: float
    reduction: bool = False
    # The per-workflow measure that checks and alerts rank the worst workflows by; None:
    # they rank by the test flakiness of each workflow's tests (worst_test_workflows.sql).
    ranked_by: str | None = None

    @property
    def unit(self) -> Unit:
        """A reduction is a fraction whatever its measure's unit."""
        return "fraction" if self.reduction else MEASURES[self.measure].unit

    @property
    def lower_is_better(self) -> bool:
        return self.comparator == "<"

    @property
    def target_text(self) -> str:
        """The target as people read it: ``< 120 s``, ``>= 80 %``."""
        number = f"{self.target:g} s" if self.unit == "s" else f"{self.target * 100:g} %"
        return f"{self.comparator} {number}"

    @property
    def description(self) -> str:
        return f"{self.subject} {self.target_text}"

    def met(self, value: float) -> bool:
        return value < self.target if self.comparator == "<" else value >= self.target

    def status(
        self, value: float | None, window_value: float | None, baseline_configured: bool
    ) -> Status:
        """``no_baseline`` for a reduction without baseline days (or a baseline of 0),
        ``no_data`` for a window without data, else ``ok`` or ``breach``."""
        if self.reduction and not baseline_configured:
            return "no_baseline"
        if window_value is None:
            return "no_data"
        if value is None:
            return "no_baseline"
        return "ok" if self.met(value) else "breach"

    def value(self, window_value: float | None, baseline_value: float | None) -> float | None:
        """The KPI's value from its measure over the window (and the baseline)."""
        if not self.reduction:
            return window_value
        if window_value is None or not baseline_value:
            return None
        return 1 - window_value / baseline_value


KPIS: dict[str, Kpi] = {
    k.name: k
    for k in (
        Kpi(
            "pr_validation_avg_s",
            "Average PR validation time",
            "average PR validation time",
            "pr_validation_avg_s",
            "<",
            120.0,
            ranked_by="pr_validation_avg_s",
        ),
        Kpi(
            "developer_wait_reduction",
            "Developer wait reduction",
            "developer wait reduction vs baseline",
            "developer_wait_mean_s",
            ">=",
            0.8,
            reduction=True,
            ranked_by="pr_validation_avg_s",  # developer wait has no per-workflow breakdown
        ),
        Kpi(
            "full_suite_p95_s",
            "Full test suite p95",
            "full test suite p95",
            "full_suite_p95_s",
            "<",
            600.0,
            ranked_by="duration_p95_s",
        ),
        Kpi(
            "compute_minutes_reduction",
            "Compute minutes reduction",
            "compute minutes reduction vs baseline",
            "compute_minutes_per_day",
            ">=",
            0.6,
            reduction=True,
            ranked_by="compute_minutes",
        ),
        Kpi(
            "run_flakiness_rate",
            "Run flakiness rate",
            "run flakiness",
            "run_flakiness_rate",
            "<",
            0.01,
            ranked_by="run_flakiness_rate",
        ),
        Kpi(
            "test_flakiness_rate",
            "Test flakiness rate",
            "test flakiness",
            "test_flakiness_rate",
            "<",
            0.01,
        ),
    )
}
