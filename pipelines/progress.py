"""One line per step of a run, for people at a terminal, in place of Dagster's event log.

Dagster's console logger prints every event of a run, several per step, so a run over the
whole graph fills the screen before anything useful shows. A :class:`StepProgress`
listens to the run's events on the instance and prints a line when a step ends: what it
materialized or checked, the rows it wrote and how long it took, then any warning the
step logged. The full event log is still stored on the instance (``make dev`` shows it);
``--verbose`` prints it as it happens instead.
"""

from __future__ import annotations

import io
import os
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from dagster import AssetsDefinition, DagsterEventType, DagsterInstance, EventLogEntry
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn
from rich.text import Text

from pipelines.kpi.formatting import duration, number

# Run config that keeps Dagster's console logger quiet while the progress lines show:
# only a CRITICAL message (Dagster itself logs none at that level) would still print.
QUIET_RUN_CONFIG: dict[str, Any] = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}

# Materialization metadata holding the rows a step wrote, first match wins.
ROW_KEYS = ("rows", "dagster/row_count", "tests")
LABEL_WIDTH = 44
WARNING = 30  # logging.WARNING, without importing logging for one constant


def step_labels(assets: Sequence[AssetsDefinition]) -> dict[str, str]:
    """Step key -> what the step materializes or checks (``kpi/targets``,
    ``kpi/target_status:pr_validation_avg_s_target``), as Dagster spells asset and check keys.
    An asset's own checks run in its step: its line says whether they passed."""
    labels = {}
    for a in assets:
        keys = [k.to_user_string() for k in a.keys] or [k.to_user_string() for k in a.check_keys]
        labels[a.node_def.name] = ", ".join(keys) or a.node_def.name
    return labels


@dataclass
class _Step:
    started: float
    rows: dict[str, int] = field(default_factory=dict)  # asset key -> rows written
    checks: list[tuple[bool, str, str]] = field(default_factory=list)  # passed, severity, name
    notes: list[tuple[int, str]] = field(default_factory=list)  # (level, message)


class StepProgress:
    """Prints a line per finished step of one run; on a terminal, a bar of steps done."""

    def __init__(self, console: Console | None = None) -> None:
        self._own_console = console is None
        self.console = console or Console(highlight=False)
        self._labels: dict[str, str] = {}
        self._steps: dict[str, _Step] = {}
        self._bar: Progress | None = None
        self._task: Any = None
        self._lock = threading.Lock()
        self._started = 0.0
        self._done = 0

    @contextmanager
    def watching(
        self, instance: DagsterInstance, run_id: str, labels: Mapping[str, str], title: str
    ) -> Iterator[None]:
        """Show the steps of run ``run_id`` while the block executes it on ``instance``."""
        terminal = _terminal() if self._own_console else None
        if terminal is not None:
            self.console = Console(file=terminal, highlight=False)
        self._labels = dict(labels)
        self._steps = {}
        self._done = 0
        self._started = time.monotonic()
        self.console.print(Text(f"{title}: {len(labels)} steps (run {run_id[:8]})", "bold"))
        if self.console.is_terminal:
            self._bar = Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                console=self.console,
                transient=True,
                # Dagster points the process's stdout at the run's log file while it runs;
                # a proxy on sys.stdout would be captured with it
                redirect_stdout=False,
                redirect_stderr=False,
            )
            self._task = self._bar.add_task("starting", total=len(labels))
            self._bar.start()
        instance.add_event_listener(run_id, self.on_event)
        try:
            yield
        finally:
            if self._bar is not None:
                self._bar.stop()
                self._bar = None
            if terminal is not None:
                terminal.close()

    def on_event(self, entry: EventLogEntry) -> None:
        """Called by the instance for each event of the run, in the order stored."""
        with self._lock:
            self._handle(entry)

    def _handle(self, entry: EventLogEntry) -> None:
        event = entry.dagster_event
        key = entry.step_key
        if event is None:
            step = self._steps.get(key or "")
            if step is not None and entry.level >= WARNING and entry.user_message:
                step.notes.append((entry.level, entry.user_message))
            return
        kind = event.event_type
        if kind == DagsterEventType.STEP_START and key:
            self._steps[key] = _Step(started=entry.timestamp)
            if self._bar is not None:
                self._bar.update(self._task, description=self._labels.get(key, key))
        elif kind == DagsterEventType.ASSET_MATERIALIZATION and key in self._steps:
            mat = event.step_materialization_data.materialization
            rows = _rows(mat.metadata)
            if rows is not None:
                self._steps[key].rows.setdefault(mat.asset_key.to_user_string(), rows)
        elif kind == DagsterEventType.ASSET_CHECK_EVALUATION and key in self._steps:
            evaluation = event.event_specific_data
            self._steps[key].checks.append(
                (evaluation.passed, evaluation.severity.value, evaluation.check_name)
            )
        elif kind == DagsterEventType.STEP_SUCCESS and key in self._steps:
            self._finished(key, entry, failure=None)
        elif kind == DagsterEventType.STEP_FAILURE and key in self._steps:
            error = event.event_specific_data.error
            while error is not None and error.cause is not None:  # Dagster's wrappers first
                error = error.cause
            self._finished(key, entry, failure=error.message if error else "failed")
        elif kind == DagsterEventType.STEP_SKIPPED and key:
            self._print(Text("– ", "dim") + Text(self._label(key)) + Text("  skipped", "dim"))
            self._advance()
        elif kind in (DagsterEventType.RUN_SUCCESS, DagsterEventType.RUN_FAILURE):
            took = duration(time.monotonic() - self._started)
            if kind == DagsterEventType.RUN_SUCCESS:
                line = Text(f"Run succeeded: {self._done} steps in {took}", "bold green")
            else:
                line = Text(f"Run failed after {took}: {entry.message}", "bold red")
            self._print(line)

    def _label(self, key: str) -> str:
        return self._labels.get(key, key)

    def _finished(self, key: str, entry: EventLogEntry, failure: str | None) -> None:
        step = self._steps[key]
        took = duration(max(entry.timestamp - step.started, 0.0))
        rows = sum(step.rows.values()) if step.rows else None
        failed = [(sev, name) for passed, sev, name in step.checks if not passed]
        if failure is not None:
            mark, style, detail = "✗", "red", "failed"
        elif failed:
            blocking = any(sev == "ERROR" for sev, _ in failed)
            mark, style = ("✗", "red") if blocking else ("!", "yellow")
            detail = "failed" if blocking else "warning"
        elif step.checks and rows is None:  # a check of its own
            mark, style, detail = "✓", "green", "passed"
        else:
            mark, style = "✓", "green"
            detail = f"{number(rows)} rows" if rows is not None else ""
        line = Text(f"{mark} ", style)
        line.append(self._label(key).ljust(LABEL_WIDTH))
        line.append(f" {detail:>14}", style if detail in ("failed", "warning") else "")
        line.append(f" {took:>8}", "dim")
        self._print(line)
        for sev, name in failed:
            level = "check failed" if sev == "ERROR" else "check warns"
            self._print(Text(f"    {level}: {name}", "red" if sev == "ERROR" else "yellow"))
        for level, message in step.notes:
            self._print(Text(f"    {_first_line(message)}", "red" if level > WARNING else "yellow"))
        if failure is not None:
            self._print(Text(f"    {_first_line(failure)}", "red"))
        self._advance()

    def _advance(self) -> None:
        self._done += 1
        if self._bar is not None:
            self._bar.advance(self._task)

    def _print(self, text: Text) -> None:
        self.console.print(text, soft_wrap=True)


def _terminal() -> io.TextIOWrapper | None:
    """A second handle on this process's stdout as it is now (a terminal or a pipe).

    While a run executes, Dagster redirects file descriptor 1 into the run's stdout log
    and mirrors that file back through ``tail``: printed there, progress lines would be
    stored in the run's log, arrive late, and never look like a terminal to Rich.
    """
    try:
        fd = os.dup(sys.stdout.fileno())
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        return None  # stdout replaced by an object without a descriptor (a test's capture)
    sys.stdout.flush()
    return open(fd, "w", encoding=sys.stdout.encoding or "utf-8", buffering=1)


def _rows(metadata: Mapping[str, Any]) -> int | None:
    for name in ROW_KEYS:
        value = getattr(metadata.get(name), "value", None)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None


def _first_line(message: str) -> str:
    return message.strip().splitlines()[0] if message.strip() else message
