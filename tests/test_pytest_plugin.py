"""The ci-metrics pytest plugin and its reader, run on a generated suite of known tests.

Each run is a real pytest subprocess (plain, with pytest-rerunfailures, with
pytest-xdist plus reruns): the expected outcomes below come from how SUITE is
written, and the plain run's ids are checked against pytest's own xunit2 JUnit
report of the same session.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from pipelines.testresults.junit import parse_junit
from pipelines.testresults.plugin_reader import read_plugin_file

SUITE = """
import pathlib

import pytest

COUNTER = pathlib.Path(__file__).with_name("flaky_counter.txt")


@pytest.fixture
def broken_setup():
    raise RuntimeError("setup exploded")


@pytest.fixture
def broken_teardown():
    yield
    raise KeyError("teardown exploded")


def test_pass():
    pass


def test_fail():
    assert 1 + 1 == 3, "arithmetic is broken"


@pytest.mark.skip(reason="not on this platform")
def test_skip():
    pass


@pytest.mark.xfail(reason="known bug 12")
def test_xfail():
    raise ValueError("still broken")


@pytest.mark.xfail(reason="maybe fixed")
def test_xpass():
    pass


@pytest.mark.xfail(reason="must fail", strict=True)
def test_xpass_strict():
    pass


@pytest.mark.parametrize("n, word", [(1, "a"), (2, "b::c")])
def test_param(n, word):
    assert n in (1, 2)


def test_setup_error(broken_setup):
    pass


def test_teardown_error(broken_teardown):
    pass


def test_flaky():
    seen = int(COUNTER.read_text()) if COUNTER.exists() else 0
    COUNTER.write_text(str(seen + 1))
    if seen == 0:
        raise ConnectionError("first attempt fails")


class TestGroup:
    def test_method(self):
        pass

    @pytest.mark.parametrize("x", [10])
    def test_method_param(self, x):
        assert x == 10
"""

FILE = "tests/test_gen.py"
# Plugin outcomes of one session without reruns, by the node id's tail.
PLAIN: dict[str, str] = {
    "test_pass": "passed",
    "test_fail": "failed",
    "test_skip": "skipped",
    "test_xfail": "xfailed",
    "test_xpass": "xpassed",
    "test_xpass_strict": "failed",
    "test_param[1-a]": "passed",
    "test_param[2-b::c]": "passed",
    "test_setup_error": "error",
    "test_teardown_error": "error",
    "test_flaky": "failed",
    "TestGroup::test_method": "passed",
    "TestGroup::test_method_param[10]": "passed",
}
# With --reruns 2 every failing execution is retried twice; the flaky one passes on its retry.
WITH_RERUNS: dict[str, list[str]] = {
    tail: (["rerun", "rerun", outcome] if outcome in ("failed", "error") else [outcome])
    for tail, outcome in PLAIN.items()
}
WITH_RERUNS["test_flaky"] = ["rerun", "passed"]
# The definitions' outcomes (what the reader yields).
AS_ROW = {"xfailed": "skipped", "xpassed": "passed"}
GITHUB_ENV = {
    "GITHUB_ACTIONS": "true",
    "GITHUB_REPOSITORY": "acme/widgets",
    "GITHUB_RUN_ID": "9876543210",
    "GITHUB_RUN_ATTEMPT": "2",
    "GITHUB_SHA": "0123456789abcdef0123456789abcdef01234567",
    "GITHUB_REF_NAME": "42/merge",
    "GITHUB_HEAD_REF": "feature/login",
    "GITHUB_WORKFLOW": "CI",
    "GITHUB_JOB": "test",
}


def _clean_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("GITHUB_", "PYTEST_", "GIT_")) and k != "CI"
    }
    env.update(extra or {})
    return env


def _run(
    root: Path, *args: str, suite: str = SUITE, ini: str = "", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    (root / "tests").mkdir(parents=True, exist_ok=True)
    (root / "tests" / "test_gen.py").write_text(suite)
    (root / "pytest.ini").write_text(f"[pytest]\ntestpaths = tests\n{ini}")
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *args],
        cwd=root,
        env=_clean_env(env),
        capture_output=True,
        text=True,
        timeout=180,
    )


def _records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _only_file(directory: Path) -> Path:
    files = list(directory.glob("ci-metrics-*.jsonl"))
    assert len(files) == 1, files
    return files[0]


def _sequences(records: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Outcomes per node id tail, in file order."""
    out: dict[str, list[str]] = {}
    for r in records:
        if r["type"] == "test":
            out.setdefault(r["nodeid"].removeprefix(f"{FILE}::"), []).append(r["outcome"])
    return out


def _row_id(tail: str) -> str:
    """pytest's xunit2 ``classname::name`` for a node id tail of the generated file."""
    if tail.startswith("TestGroup::"):
        return f"tests.test_gen.{tail}"
    return f"tests.test_gen::{tail}"


@pytest.fixture(scope="module")
def plain(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("plain")
    proc = _run(
        root,
        "--ci-metrics=out/metrics",
        "--junitxml=junit.xml",
        "-o",
        "junit_family=xunit2",
        env=GITHUB_ENV,
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    return root


@pytest.fixture(scope="module")
def reruns(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A session inside a git work tree, enabled by the ini option alone."""
    root = tmp_path_factory.mktemp("reruns")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q", "-b", "feature-x"], cwd=root, check=True)
    subprocess.run([*git, "commit", "-q", "--allow-empty", "-m", "c"], cwd=root, check=True)
    sha = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=root, check=True, capture_output=True, text=True
    ).stdout.strip()
    proc = _run(root, "--reruns", "2", ini="ci_metrics_dir = metrics\n")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    return root, sha


@pytest.fixture(scope="module")
def xdist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("xdist")
    # The bare flag, followed by an option so no test path is taken for DIR.
    proc = _run(root, "--ci-metrics", "-n", "2", "--reruns", "2")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    return root


def test_plain_run_records_each_test_once_with_its_outcome(plain: Path) -> None:
    records = _records(_only_file(plain / "out" / "metrics"))
    assert _sequences(records) == {k: [v] for k, v in PLAIN.items()}
    tests = {r["nodeid"].removeprefix(f"{FILE}::"): r for r in records if r["type"] == "test"}

    fail = tests["test_fail"]
    assert (fail["exc_type"], fail["message"]) == ("AssertionError", "arithmetic is broken")
    assert set(fail["durations"]) == {"setup", "call", "teardown"}
    assert all(d >= 0 for d in fail["durations"].values())
    assert fail["phases"] == {"setup": "passed", "call": "failed", "teardown": "passed"}
    assert fail["worker"] is None and fail["attempt"] == 0
    setup_error = tests["test_setup_error"]
    assert (setup_error["exc_type"], setup_error["message"]) == ("RuntimeError", "setup exploded")
    assert "call" not in setup_error["durations"]
    teardown_error = tests["test_teardown_error"]
    assert teardown_error["exc_type"] == "KeyError"
    assert teardown_error["phases"]["teardown"] == "failed"
    assert tests["test_skip"]["message"] == "not on this platform"
    assert (tests["test_xfail"]["exc_type"], tests["test_xfail"]["message"]) == (
        "ValueError",
        "known bug 12",
    )
    assert tests["test_flaky"]["exc_type"] == "ConnectionError"

    param = tests["test_param[2-b::c]"]
    assert (param["file"], param["class"], param["name"]) == (FILE, None, "test_param[2-b::c]")
    assert param["params"] == {"id": "2-b::c", "values": {"n": "2", "word": "'b::c'"}}
    method = tests["TestGroup::test_method_param[10]"]
    assert (method["class"], method["name"]) == ("TestGroup", "test_method_param[10]")
    assert method["params"] == {"id": "10", "values": {"x": "10"}}
    assert tests["test_pass"]["params"] is None


def test_plain_run_session_records_and_context(plain: Path) -> None:
    path = _only_file(plain / "out" / "metrics")
    assert path.name.startswith("ci-metrics-") and path.suffix == ".jsonl"
    records = _records(path)
    session, end = records[0], records[-1]
    assert session["type"] == "session" and session["schema"] == 1
    assert session["python"] == ".".join(map(str, sys.version_info[:3]))
    assert session["pytest"] == pytest.__version__
    assert session["context"]["repository"] == "acme/widgets"
    assert session["context"]["job"] == "test"
    assert end["type"] == "session_end" and end["exitstatus"] == 1
    expected_totals: dict[str, int] = {}
    for outcome in PLAIN.values():
        expected_totals[outcome] = expected_totals.get(outcome, 0) + 1
    assert end["totals"] == expected_totals and end["tests"] == len(PLAIN)

    context, _ = read_plugin_file(path.name, path.read_bytes())
    assert {k: context[k] for k in context if k not in ("report_time", "hostname")} == {
        "repo": "acme/widgets",
        "run_id": 9876543210,
        "run_attempt": 2,
        "head_sha": GITHUB_ENV["GITHUB_SHA"],
        "branch": "feature/login",  # the PR's head branch, not "42/merge"
        "workflow": "CI",
    }
    assert context["report_time"].tzinfo is None
    assert context["hostname"] == session["hostname"]


def test_reader_rows_match_pytest_junit_xunit2(plain: Path) -> None:
    path = _only_file(plain / "out" / "metrics")
    _, rows = read_plugin_file(path.name, path.read_bytes())
    rows = list(rows)
    junit: dict[str, str] = {}
    for case in ET.parse(plain / "junit.xml").getroot().iter("testcase"):
        kinds = {child.tag for child in case} & {"failure", "error", "skipped"}
        outcome = "error" if "error" in kinds else next(iter(kinds), "passed")
        outcome = {"failure": "failed"}.get(outcome, outcome)
        junit[f"{case.get('classname')}::{case.get('name')}"] = outcome
    assert {r.test_id: r.outcome for r in rows} == junit
    assert set(junit) == {_row_id(tail) for tail in PLAIN}
    assert len(rows) == len(PLAIN)

    by_id = {r.test_id: r for r in rows}
    method = by_id["tests.test_gen.TestGroup::test_method_param[10]"]
    assert (method.module, method.classname, method.name, method.file) == (
        "tests.test_gen",
        "tests.test_gen.TestGroup",
        "test_method_param[10]",
        FILE,
    )
    fail = by_id["tests.test_gen::test_fail"]
    assert fail.message == "AssertionError: arithmetic is broken"
    assert fail.duration_s is not None and fail.duration_s >= 0
    assert by_id["tests.test_gen::test_xfail"].message == "known bug 12"
    assert by_id["tests.test_gen::test_xpass"].message is None
    assert by_id["tests.test_gen::test_setup_error"].message == "RuntimeError: setup exploded"


def test_reader_and_junit_parser_agree_on_the_same_session(plain: Path) -> None:
    """Plugin rows and the JUnit parser's rows of one session identify tests the same way."""
    path = _only_file(plain / "out" / "metrics")
    _, rows = read_plugin_file(path.name, path.read_bytes())
    ours = {r.test_id: (r.outcome, r.module, r.classname, r.name) for r in rows}
    report = parse_junit("junit.xml", (plain / "junit.xml").read_bytes())
    theirs = {r.test_id: (r.outcome, r.module, r.classname, r.name) for r in report.rows}
    assert ours == theirs
    assert len(ours) == len(PLAIN)


def test_reruns_are_records_before_the_final_one(reruns: tuple[Path, str]) -> None:
    root, sha = reruns
    path = _only_file(root / "metrics")
    records = _records(path)
    assert _sequences(records) == WITH_RERUNS
    flaky = [r for r in records if r.get("nodeid") == f"{FILE}::test_flaky"]
    assert [r["attempt"] for r in flaky] == [0, 1]
    assert flaky[0]["exc_type"] == "ConnectionError"

    context, rows = read_plugin_file(path.name, path.read_bytes())
    assert (context["head_sha"], context["branch"], context["repo"]) == (sha, "feature-x", None)
    got: dict[str, list[str]] = {}
    for row in rows:
        got.setdefault(row.test_id, []).append(row.outcome)
    assert got == {
        _row_id(tail): [AS_ROW.get(o, o) for o in seq] for tail, seq in WITH_RERUNS.items()
    }


def test_xdist_controller_writes_one_file_with_worker_ids(xdist: Path) -> None:
    path = _only_file(xdist / "test-results" / "ci-metrics")
    records = _records(path)
    assert records[0]["type"] == "session" and records[-1]["type"] == "session_end"
    assert _sequences(records) == WITH_RERUNS
    tests = [r for r in records if r["type"] == "test"]
    assert {r["worker"] for r in tests} == {"gw0", "gw1"}
    by_tail = {r["nodeid"].removeprefix(f"{FILE}::"): r for r in tests}
    assert by_tail["test_param[1-a]"]["params"] == {
        "id": "1-a",
        "values": {"n": "1", "word": "'a'"},
    }
    assert by_tail["test_setup_error"]["exc_type"] == "RuntimeError"
    assert records[-1]["tests"] == sum(len(s) for s in WITH_RERUNS.values())


def test_nothing_is_written_without_the_option(tmp_path: Path) -> None:
    suite = "def test_one():\n    pass\n"
    proc = _run(tmp_path, "-n", "2", suite=suite)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert list(tmp_path.rglob("*.jsonl")) == []
    assert not (tmp_path / "test-results").exists()
    assert "ci-metrics" not in proc.stdout


def test_crashed_session_keeps_the_lines_written_so_far(tmp_path: Path) -> None:
    suite = (
        "import os\n\n"
        "def test_a():\n    pass\n\n"
        "def test_b():\n    assert False\n\n"
        "def test_c():\n    os._exit(3)\n\n"
        "def test_d():\n    pass\n"
    )
    proc = _run(tmp_path, "--ci-metrics=m", suite=suite)
    assert proc.returncode == 3, proc.stdout + proc.stderr
    path = _only_file(tmp_path / "m")
    _, rows = read_plugin_file(path.name, path.read_bytes())
    assert [(r.name, r.outcome) for r in rows] == [("test_a", "passed"), ("test_b", "failed")]


def test_collection_error_and_module_skip_are_records(tmp_path: Path) -> None:
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_skipped_module.py").write_text(
        "import pytest\n\npytest.skip('needs a GPU', allow_module_level=True)\n"
    )
    broken = "import module_that_does_not_exist_anywhere\n\ndef test_never():\n    pass\n"
    proc = _run(tmp_path, "--ci-metrics=m", "--junitxml=junit.xml", suite=broken)
    assert proc.returncode == 2, proc.stdout + proc.stderr  # interrupted by the collection error
    path = _only_file(tmp_path / "m")
    records = [r for r in _records(path) if r["type"] == "test"]
    assert {(r["nodeid"], r["outcome"]) for r in records} == {
        ("tests/test_gen.py", "error"),
        ("tests/test_skipped_module.py", "skipped"),
    }
    broken_record = next(r for r in records if r["outcome"] == "error")
    assert (broken_record["exc_type"], broken_record["message"]) == (
        "ModuleNotFoundError",
        "No module named 'module_that_does_not_exist_anywhere'",
    )
    _, rows = read_plugin_file(path.name, path.read_bytes())
    ours = {r.test_id: r.outcome for r in rows}
    assert ours == {"::tests.test_gen": "error", "::tests.test_skipped_module": "skipped"}
    report = parse_junit("junit.xml", (tmp_path / "junit.xml").read_bytes())
    assert {r.test_id: r.outcome for r in report.rows} == ours


def _session_line() -> str:
    return json.dumps({"type": "session", "schema": 1, "start": "2025-03-01T10:00:00Z"})


def test_reader_names_file_and_line_of_a_malformed_line() -> None:
    good = {"type": "test", "file": FILE, "class": None, "name": "test_a", "outcome": "passed"}
    data = "\n".join([_session_line(), json.dumps(good), '{"type": "test", "file": '])
    _, rows = read_plugin_file("run.jsonl", data.encode())
    with pytest.raises(ValueError, match=r"run\.jsonl, line 3: not valid JSON"):
        list(rows)

    bad_outcome = json.dumps({**good, "outcome": "exploded"})
    _, rows = read_plugin_file("x.jsonl", f"{_session_line()}\n\n{bad_outcome}\n".encode())
    with pytest.raises(ValueError, match=r"x\.jsonl, line 3: unknown outcome 'exploded'"):
        list(rows)

    with pytest.raises(ValueError, match=r"y\.jsonl, line 1: expected the plugin's session"):
        read_plugin_file("y.jsonl", json.dumps(good).encode())
    with pytest.raises(ValueError, match=r"z\.jsonl, line 1: unsupported schema version 99"):
        read_plugin_file("z.jsonl", b'{"type": "session", "schema": 99}\n')
    with pytest.raises(ValueError, match=r"w\.jsonl: not UTF-8"):
        read_plugin_file("w.jsonl", b"\xff\xfe")


def test_reader_maps_a_hand_written_file() -> None:
    lines = [
        json.dumps(
            {
                "type": "session",
                "schema": 1,
                "start": "2025-03-01T10:00:00.5+01:00",
                "hostname": "runner-7",
                "context": {"repository": "o/r", "run_id": "12", "ref_name": "main"},
            }
        ),
        json.dumps(
            {
                "type": "test",
                "file": "pkg/sub/test_m.py",
                "class": "TestA.TestInner",
                "name": "test_b[x]",
                "outcome": "xfailed",
                "durations": {"setup": 0.25, "call": 1.5, "teardown": 0.25},
                "exc_type": "ValueError",
                "message": "nope",
            }
        ),
        json.dumps({"type": "test", "file": "pkg/test_c.py", "name": "", "outcome": "error"}),
        json.dumps({"type": "session_end", "tests": 2}),
    ]
    context, rows = read_plugin_file("f.jsonl", ("\n".join(lines) + "\n").encode())
    assert (context["repo"], context["run_id"], context["run_attempt"], context["branch"]) == (
        "o/r",
        12,
        None,
        "main",
    )
    assert context["report_time"].isoformat() == "2025-03-01T09:00:00.500000"
    inner, collect = list(rows)
    assert inner.test_id == "pkg.sub.test_m.TestA.TestInner::test_b[x]"
    assert (inner.outcome, inner.module, inner.duration_s, inner.message) == (
        "skipped",
        "pkg.sub.test_m",
        2.0,
        "nope",
    )
    assert inner.hostname == "runner-7"
    # A module's collection error: pytest's JUnit writes the module as the name.
    assert (collect.test_id, collect.outcome, collect.duration_s) == ("::pkg.test_c", "error", None)


def test_plugin_module_imports_nothing_heavy() -> None:
    code = (
        "import sys, pipelines.testresults.pytest_plugin, pipelines.testresults.plugin_reader\n"
        "print(sorted(m for m in ('dagster', 'duckdb', 'httpx', 'jinja2') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "[]"
