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
