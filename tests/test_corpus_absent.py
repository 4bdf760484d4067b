"""Without the shared corpus, every test that reads it is skipped with one reason.

Runs the modules that read the corpus in a child pytest whose corpus folder
(``CI_METRICS_TEST_CORPUS``) does not exist, and reads the child's JUnit report.
"""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# Every test module that reads the corpus (`grep -rn corpus tests/`); test_fake_github
# has one such test among many that need a server and no corpus.
READERS = [
    "tests/test_junit_parser.py",
    "tests/test_junit_loader.py",
    "tests/test_github_corpus.py",
    "tests/test_fake_github.py::test_run_job_artifact_shapes_match_recorded_github",
]
# Tests parametrized over corpus files found at collection time.
ENUMERATING = {
    "test_every_corpus_file_parses_to_one_row_per_execution",
    "test_every_recorded_run_maps_to_a_row",
    "test_every_recorded_job_maps_to_a_row",
}


def test_corpus_readers_skip_with_one_reason_when_it_is_absent(tmp_path: Path) -> None:
    missing = tmp_path / "no-corpus-here"
    report = tmp_path / "report.xml"
    env = {**os.environ, "CI_METRICS_TEST_CORPUS": str(missing)}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            f"--junitxml={report}",
            *READERS,
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    cases = list(ET.parse(report).iter("testcase"))
    skipped = {}
    for case in cases:
        assert case.find("failure") is None and case.find("error") is None, case.get("name")
        skip = case.find("skipped")
        if skip is not None:
            skipped[case.get("name")] = skip.get("message")
    expected_reason = f"shared corpus not found at {missing}"
    assert skipped and set(skipped.values()) == {expected_reason}
    # collection-time enumerations leave one skipped stand-in each, not zero tests
    for name in ENUMERATING:
        assert skipped.get(f"{name}[no-corpus]") == expected_reason
    assert "test_empty_report_is_recorded_as_ingested" in skipped
    # the tests that need no corpus still ran
    assert "test_rows_context_seq_and_days" in {c.get("name") for c in cases}
    assert "test_rows_context_seq_and_days" not in skipped
