"""pytest plugin that records each test execution as JSON Lines for ci-metrics.

Loaded in every pytest session through the ``pytest11`` entry point, so it must
cost nothing unless asked for: the module itself only adds the options, and the
recording objects are registered only when ``--ci-metrics[=DIR]`` or the ini
option ``ci_metrics_dir`` is given. It imports only the standard library.

One file per session, ``<DIR>/ci-metrics-<UTC timestamp>-<pid>-<random>.jsonl``:

1. a ``session`` record: schema version, start time, hostname, Python and
   pytest versions and the CI context (GitHub Actions variables, else the local
   git SHA and branch);
2. one ``test`` record per execution of a test (a rerun by pytest-rerunfailures
   is its own record with outcome ``rerun``, written before the final one),
   plus one per collection error or module-level skip;
3. a ``session_end`` record with the end time, exit status and totals.

A test record holds ``nodeid``; ``file``, ``class`` (nested classes dotted,
null at module level) and ``name`` (with its ``[params]``); ``params``
(``{"id", "values": {argname: repr}}`` or null); ``outcome`` (passed, failed,
error, skipped, xfailed, xpassed, rerun); ``phases`` and ``durations`` (pytest's
outcome and seconds per setup/call/teardown); ``start`` (epoch seconds);
``attempt`` (0, then 1, 2… for reruns); ``worker`` (xdist's ``gw0``… or null);
``exc_type`` and ``message`` (the exception's first line, or a skip reason).

``--ci-metrics DIR`` with a space is ambiguous with a test path (argparse takes
the next word as DIR): write ``--ci-metrics=DIR``. ``-p no:ci_metrics``
unloads the plugin altogether.

Lines are written as soon as a test's teardown is reported (line-buffered, no
fsync), so memory stays flat and a crashed session leaves every line written so
far. Under pytest-xdist only the controller writes: workers merely attach the
parameters and exception type to their reports, which travel to the controller.
"""

from __future__ import annotations

import json
import os
import platform
import socket
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

SCHEMA_VERSION = 1
DEFAULT_DIR = "test-results/ci-metrics"
# Attributes set on reports by the process that ran the test; pytest serializes
# extra report attributes, so they reach the xdist controller unchanged.
_PARAMS_ATTR = "ci_metrics_params"
_EXC_ATTR = "ci_metrics_exc"
_PARAM_REPR_MAX = 200
_ENCODER = json.JSONEncoder(separators=(",", ":"))  # ASCII escapes: the fastest path
_PHASES = frozenset(("setup", "call", "teardown"))
_MESSAGE_MAX = 1000
# GitHub Actions variables recorded as the run's context, under shorter keys.
GITHUB_CONTEXT = {
    "repository": "GITHUB_REPOSITORY",
    "run_id": "GITHUB_RUN_ID",
    "run_attempt": "GITHUB_RUN_ATTEMPT",
    "sha": "GITHUB_SHA",
    "ref_name": "GITHUB_REF_NAME",
    "head_ref": "GITHUB_HEAD_REF",
    "workflow": "GITHUB_WORKFLOW",
    "job": "GITHUB_JOB",
}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("ci-metrics", "ci-metrics test-result recording")
    group.addoption(
        "--ci-metrics",
        action="store",
        nargs="?",
        const=DEFAULT_DIR,
        default=None,
        dest="ci_metrics_dir",
        metavar="DIR",
        help=f"write one JSON Lines file of test results per session into DIR "
        f"(default {DEFAULT_DIR}; write --ci-metrics=DIR so DIR is not taken for a test path)",
    )
    parser.addini(
        "ci_metrics_dir",
        "enable ci-metrics recording into this directory (relative to the rootdir)",
        default="",
    )


def output_dir(config: pytest.Config) -> Path | None:
    """The directory to record into, or None when recording is not enabled."""
    cli = config.getoption("ci_metrics_dir", None)
    if cli:
        return config.invocation_params.dir / cli
    ini = str(config.getini("ci_metrics_dir") or "").strip()
    if ini:
        return config.rootpath / ini
    return None


def pytest_configure(config: pytest.Config) -> None:
    directory = output_dir(config)
    if directory is None:
        return
    if hasattr(config, "workerinput"):  # an xdist worker: annotate, never write
        config.pluginmanager.register(_Annotator(), "ci_metrics_annotator")
    else:
        config.pluginmanager.register(_Recorder(config, directory), "ci_metrics_recorder")


class _Annotator:
    """Attaches what only the test's own process knows to its reports."""

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
        report = yield
        if call.when == "setup":
            callspec = getattr(item, "callspec", None)
            if callspec is not None:
                setattr(report, _PARAMS_ATTR, _params(callspec))
        if call.excinfo is not None and report.outcome != "passed":
            exc = call.excinfo.value
            setattr(report, _EXC_ATTR, [_type_name(type(exc)), _first_line(str(exc))])
        return report


class _Recorder(_Annotator):
    """Collects phase reports per test and writes one line per execution."""

    def __init__(self, config: pytest.Config, directory: Path) -> None:
        self.config = config
        self.directory = directory
        self.path: Path | None = None
        self.file: Any = None
        self.pending: dict[tuple[str | None, str], list[pytest.TestReport]] = {}
        self.totals: dict[str, int] = {}
        self.started = 0.0

    # -- session ---------------------------------------------------------
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        self.started = time.time()
        start = datetime.fromtimestamp(self.started, UTC)
        stamp = start.strftime("%Y%m%dT%H%M%S%fZ")
        name = f"ci-metrics-{stamp}-{os.getpid()}-{os.urandom(4).hex()}.jsonl"
        self.directory.mkdir(parents=True, exist_ok=True)
        self.path = self.directory / name
        self.file = open(self.path, "x", encoding="utf-8", buffering=1)
        self._write(
            {
                "type": "session",
                "schema": SCHEMA_VERSION,
                "start": _iso(start),
                "hostname": socket.gethostname(),
                "python": platform.python_version(),
                "pytest": pytest.__version__,
                "pid": os.getpid(),
                "context": ci_context(self.config.rootpath),
            }
        )

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if self.file is None:
            return
        for (worker, _), reports in list(self.pending.items()):  # no teardown came
            self._finish(worker, reports)
        self.pending.clear()
        end = time.time()
        self._write(
            {
                "type": "session_end",
                "end": _iso(datetime.fromtimestamp(end, UTC)),
                "duration_s": round(end - self.started, 6),
                "exitstatus": int(exitstatus),
                "tests": sum(self.totals.values()),
                "totals": dict(sorted(self.totals.items())),
            }
        )
        self.file.close()
        self.file = None

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        if self.file is not None:  # session aborted before sessionfinish
            self.file.close()
            self.file = None

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.path is not None:
            terminalreporter.write_line(f"ci-metrics: wrote {self.path}")

    # -- reports ---------------------------------------------------------
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        # Kept cheap: runs three times per test; all the work waits for the teardown.
        worker = _worker_id(report)
        key = (worker, report.nodeid)
        reports = self.pending.get(key)
        if reports is None:
            self.pending[key] = reports = []
        reports.append(report)
        if report.when != "setup" and report.when != "call":  # teardown, or xdist's crash report
            del self.pending[key]
            self._finish(worker, reports)

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if not report.nodeid or report.passed:
            return
        outcome = "error" if report.failed else "skipped"
        exc_type, message = _from_longrepr(report.longrepr)
        phases = {"collect": report.outcome}
        self._emit(report.nodeid, outcome, phases, {}, None, None, 0, exc_type, message)

    # -- writing ---------------------------------------------------------
    def _finish(self, worker: str | None, reports: list[pytest.TestReport]) -> None:
        by_phase: dict[str, pytest.TestReport] = {}
        phases: dict[str, str] = {}
        durations: dict[str, float] = {}
        params = None
        all_passed = True
        for report in reports:
            when = report.when
            if when not in _PHASES:
                when = "call"
            outcome = report.outcome
            if outcome != "passed":
                all_passed = False
            previous = by_phase.get(when)
            # Subtests report "call" several times: keep the first failing one.
            if previous is None or previous.outcome in ("passed", "skipped"):
                by_phase[when] = report
                phases[when] = outcome
            durations[when] = durations.get(when, 0.0) + report.duration
            params = getattr(report, _PARAMS_ATTR, params)
        if all_passed and "call" in by_phase and not hasattr(by_phase["call"], "wasxfail"):
            outcome, decisive = "passed", None  # the common case, without the full decision
        else:
            outcome, decisive = _outcome(by_phase)
        exc_type = message = None
        if decisive is not None:
            exc = getattr(decisive, _EXC_ATTR, None)
            if exc is not None:
                exc_type, message = exc
            else:
                exc_type, message = _from_longrepr(decisive.longrepr)
            if outcome in ("xfailed", "xpassed"):
                message = getattr(decisive, "wasxfail", "") or message
        first = reports[0]
        self._emit(
            first.nodeid,
            outcome,
            phases,
            durations,
            params,
            worker,
            getattr(first, "rerun", 0) or 0,
            exc_type,
            message,
            first.start or None,
        )

    def _emit(
        self,
        nodeid: str,
        outcome: str,
        phases: dict[str, str],
        durations: dict[str, float],
        params: dict[str, Any] | None,
        worker: str | None,
        attempt: int,
        exc_type: str | None,
        message: str | None,
        start: float | None = None,
    ) -> None:
        file, classname, name = split_nodeid(nodeid)
        self.totals[outcome] = self.totals.get(outcome, 0) + 1
        self._write(
            {
                "type": "test",
                "nodeid": nodeid,
                "file": file,
                "class": classname,
                "name": name,
                "params": params,
                "outcome": outcome,
                "phases": phases,
                "durations": durations,
                "start": start,
                "attempt": attempt,
                "worker": worker,
                "exc_type": exc_type,
                "message": message,
            }
        )

    def _write(self, record: dict[str, Any]) -> None:
        if self.file is not None:
            self.file.write(_ENCODER.encode(record) + "\n")


def _outcome(reports: dict[str, Any]) -> tuple[str, Any]:
    """The execution's outcome and the report that decided it.

    A failed call wins over a failed teardown (the test's own failure is the
    news; pytest counts both); a failing setup or teardown otherwise is an error.
    """
    setup, call, teardown = reports.get("setup"), reports.get("call"), reports.get("teardown")
    for report in (setup, call, teardown):
        if report is not None and report.outcome == "rerun":
            return "rerun", report
    if setup is not None and setup.failed:
        return "error", setup
    if setup is not None and setup.skipped:
        return ("xfailed" if hasattr(setup, "wasxfail") else "skipped"), setup
    if call is not None:
        if call.failed:
            return "failed", call
        if call.skipped:
            return ("xfailed" if hasattr(call, "wasxfail") else "skipped"), call
    if teardown is not None and teardown.failed:
        return "error", teardown
    if call is not None and hasattr(call, "wasxfail"):
        return "xpassed", call
    if call is None and setup is None and teardown is not None:
        return "error", teardown  # only a teardown seen: nothing ran
    return "passed", None


def split_nodeid(nodeid: str) -> tuple[str, str | None, str]:
    """``file``, ``class`` (``::``-nested classes joined by dots) and ``name`` of a node id.

    Mirrors pytest's own node id grammar: the path ends at the first ``::`` and
    a trailing ``[params]`` belongs to the name, whatever it contains.
    """
    path, sep, tail = nodeid.partition("::")
    if not sep:
        return path, None, ""
    names_part, bracket, params = tail.partition("[")
    names = names_part.split("::")
    return path, ".".join(names[:-1]) or None, names[-1] + bracket + params


def ci_context(root: Path) -> dict[str, Any]:
    """GitHub Actions' run context, else the local git SHA and branch, else nothing."""
    if os.environ.get("GITHUB_ACTIONS") == "true" or os.environ.get("GITHUB_RUN_ID"):
        context = {key: os.environ.get(env) or None for key, env in GITHUB_CONTEXT.items()}
        context["origin"] = "github"
        return context
    context = dict.fromkeys(GITHUB_CONTEXT)
    context["origin"] = None
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD", "--abbrev-ref", "HEAD"],  # noqa: S607
            cwd=root,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return context
    lines = out.stdout.split()
    if out.returncode == 0 and len(lines) == 2:
        context["sha"] = lines[0]
        context["ref_name"] = lines[1] if lines[1] != "HEAD" else None  # detached HEAD
        context["origin"] = "git"
    return context


def _params(callspec: Any) -> dict[str, Any]:
    values = {}
    for key, value in callspec.params.items():
        text = repr(value)
        values[key] = text if len(text) <= _PARAM_REPR_MAX else text[: _PARAM_REPR_MAX - 3] + "..."
    return {"id": callspec.id, "values": values}


def _type_name(cls: type) -> str:
    module = cls.__module__
    if module in ("builtins", "__main__") or module.startswith("_pytest"):
        return cls.__qualname__
    return f"{module}.{cls.__qualname__}"


def _first_line(text: str) -> str | None:
    line = text.strip().split("\n", 1)[0].strip()
    return line[:_MESSAGE_MAX] or None


def _from_longrepr(longrepr: Any) -> tuple[str | None, str | None]:
    """Exception type and message from a report that carries no annotation.

    Reports made without our annotation (collection errors, xdist's crash
    report) only have pytest's text, ``Type: message`` on the crash line.
    """
    if longrepr is None:
        return None, None
    if isinstance(longrepr, tuple) and len(longrepr) == 3:  # skip: (path, line, "Skipped: why")
        text = str(longrepr[2])
    else:
        crash = getattr(longrepr, "reprcrash", None)
        text = crash.message if crash is not None else str(longrepr)
        if crash is None:  # e.g. an import error: the exception is the last "E   " line
            raised = [ln[1:] for ln in text.splitlines() if ln.startswith("E   ")]
            text = raised[-1] if raised else text
    line = _first_line(text)
    if line is None:
        return None, None
    head, sep, rest = line.partition(": ")
    if sep and head.replace(".", "").replace("_", "").isalnum() and not head[0].isdigit():
        return head, rest.strip() or None
    if line.replace(".", "").replace("_", "").isalnum():
        return line, None
    return None, line


def _worker_id(report: Any) -> str | None:
    worker = getattr(report, "worker_id", None)
    if worker is None:
        node = getattr(report, "node", None)
        gateway = getattr(node, "gateway", None)
        worker = getattr(gateway, "id", None)
    return worker


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="microseconds").replace("+00:00", "Z")
