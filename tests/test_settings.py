"""Configuration errors name the key that holds the bad value."""

import re
from datetime import date
from pathlib import Path

import pytest

from pipelines import settings


def test_days_and_numbers_parse(monkeypatch) -> None:
    monkeypatch.setenv(settings.BASELINE_START.key, " 2025-02-03 ")
    monkeypatch.setenv(settings.LOOKBACK_DAYS.key, "5")
    assert settings.get_day(settings.BASELINE_START) == date(2025, 2, 3)
    assert settings.get_day(settings.BASELINE_END) is None  # unset
    assert settings.get_int(settings.LOOKBACK_DAYS, minimum=1) == 5


@pytest.mark.parametrize(
    ("setting", "value", "message"),
    [
        (settings.BASELINE_START, "03/02/2025", "is not a day"),
        (settings.LOOKBACK_DAYS, "three", "is not a whole number"),
        (settings.LOOKBACK_DAYS, "0", "is below 1"),
    ],
)
def test_bad_values_name_their_key(monkeypatch, setting, value, message) -> None:
    monkeypatch.setenv(setting.key, value)
    with pytest.raises(ValueError, match=message) as err:
        if setting is settings.LOOKBACK_DAYS:
            settings.get_int(setting, minimum=1)
        else:
            settings.get_day(setting)
    assert str(err.value).startswith(f"{setting.key}: ")


def _readme_keys() -> set[str]:
    """The keys of the README's configuration table (its first column)."""
    text = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    table = text.split("| key | default | meaning |", 1)[1].split("\n\n", 1)[0]
    keys = set()
    for line in table.splitlines()[2:]:
        first = line.split("|")[1]
        keys |= set(re.findall(r"`([A-Z][A-Z0-9_]+)`", first))
        if "/ `_END`" in first:  # `CI_METRICS_BASELINE_START` / `_END`
            keys.add("CI_METRICS_BASELINE_END")
    return keys


def test_the_readme_table_names_every_setting_and_no_other() -> None:
    keys = {v.key for v in vars(settings).values() if isinstance(v, settings.Setting)}
    assert keys, "settings declares its keys as Setting values"
    assert _readme_keys() == keys
