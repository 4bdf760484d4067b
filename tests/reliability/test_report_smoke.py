"""The report generator renders recorded rows, escaping table separators."""

from tests.reliability.report import render


def test_render_groups_rows_by_area_and_escapes_pipes():
    """The report's tables group cases by area and keep their columns whatever the text."""
    rows = [
        {"area": "hostile", "case": "b|c", "tried": "t", "outcome": "o", "status": "passed"},
        {
            "area": "faults",
            "case": "a",
            "tried": "t",
            "outcome": "o",
            "status": "failed",
            "figures": {"retries": 3},
        },
    ]
    md = render(rows, command="x", seconds=1.0)
    assert md.index("## faults") < md.index("## hostile")
    assert "| a | t | o | retries=3 | failed |" in md
    assert "b\\|c" in md
    assert "1 of 2 recorded cases passed" in md


def test_recorded_benchmark_runs_are_rendered_from_their_files(tmp_path, monkeypatch):
    """A run written with a benchmark's --record appears with its command and figures."""
    from benchmarks.record import record

    monkeypatch.setattr("sys.argv", ["benchmarks/load.py", "--days", "14"])
    record(tmp_path / "load-14d.json", "load", {"backfill_s": 12.5, "phases_s": {"jobs": 3}})
    md = render([], command="x", seconds=1.0, records=tmp_path)
    line = next(x for x in md.splitlines() if x.startswith("| load |"))
    assert "`python benchmarks/load.py --days 14`" in line
    assert "backfill_s=12.5; phases_s.jobs=3" in line
    assert render([], command="x", seconds=1.0, records=tmp_path / "none").count("##") == 0
