"""Which GitHub-hosted runner a job ran on, and what a minute of it costs.

A job's labels are the ``runs-on`` labels it asked for (the jobs API's ``labels``). A job
is self-hosted when one label is ``self-hosted``; GitHub-hosted when its runner group is
``GitHub Actions`` or a label names one of GitHub's images (``ubuntu-…``, ``windows-…``,
``macos-…``, larger sizes included); otherwise self-hosted (a runner of your own reached by
a custom label). The SQL of that rule is in ``reports/explorer/sql/runners.sql``.

A GitHub-hosted job's billing SKU follows from its image label: the standard runners
(``linux``, ``windows``, ``macos``, ``linux_slim``, the arm64 ones), and the larger
runners whose label says their size (``ubuntu-latest-4-cores``, ``windows-2022-8core``,
``macos-14-large``, ``macos-14-xlarge``). GitHub bills each job rounded up to the whole
minute at its SKU's per-minute rate; self-hosted jobs cost nothing in this estimate.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping

RATES_SOURCE = "https://docs.github.com/en/billing/reference/actions-runner-pricing"
RATES_READ = "2026-12-06"  # rates from January 1, 2026

# USD per minute by GitHub's billing SKU, as RATES_SOURCE lists them
DEFAULT_RATES: dict[str, float] = {
    "linux_slim": 0.002,
    "linux": 0.006,
    "windows": 0.010,
    "macos": 0.062,
    "linux_2_core_advanced": 0.006,
    "linux_4_core": 0.012,
    "linux_8_core": 0.022,
    "linux_16_core": 0.042,
    "linux_32_core": 0.082,
    "linux_64_core": 0.162,
    "linux_96_core": 0.252,
    "windows_4_core": 0.022,
    "windows_8_core": 0.042,
    "windows_16_core": 0.082,
    "windows_32_core": 0.162,
    "windows_64_core": 0.322,
    "windows_96_core": 0.552,
    "macos_l": 0.077,
    "linux_2_core_arm": 0.005,
    "linux_4_core_arm": 0.008,
    "linux_8_core_arm": 0.014,
    "linux_16_core_arm": 0.026,
    "linux_32_core_arm": 0.050,
    "linux_64_core_arm": 0.098,
    "windows_2_core_arm": 0.008,
    "windows_4_core_arm": 0.014,
    "windows_8_core_arm": 0.026,
    "windows_16_core_arm": 0.050,
    "windows_32_core_arm": 0.098,
    "windows_64_core_arm": 0.194,
    "macos_xl": 0.102,
    "linux_4_core_gpu": 0.052,
    "windows_4_core_gpu": 0.102,
}

OS_NAMES = {"linux": "Linux", "windows": "Windows", "macos": "macOS"}
_STANDARD_SIZE = {"linux": "2-core", "windows": "2-core", "macos": "3- or 4-core"}
_NAMED_SIZE = {
    "linux_slim": "1-core",
    "linux_2_core_advanced": "2-core advanced",
    "macos_l": "12-core (large)",
    "macos_xl": "5-core M2 Pro (xlarge)",
}
_CORES = re.compile(r"(?:^|[-_.])(\d+)[-_]?(?:cores?|vcpus?)(?:$|[-_.])")
IMAGE = re.compile(r"^(ubuntu|windows|macos)-")
_OS = {"ubuntu": "linux", "windows": "windows", "macos": "macos"}


def sku(labels: Iterable[str] | None) -> str | None:
    """The billing SKU of a GitHub-hosted job with these ``runs-on`` labels, or None when
    no label names one of GitHub's images."""
    for label in (str(x).lower() for x in labels or ()):
        found = IMAGE.match(label)
        if not found:
            continue
        os_ = _OS[found.group(1)]
        if os_ == "macos":
            if label.endswith("-xlarge"):
                return "macos_xl"
            return "macos_l" if label.endswith("-large") else "macos"
        if label == "ubuntu-slim":
            return "linux_slim"
        arm = "-arm" in label
        gpu = "gpu" in label
        cores_match = _CORES.search(label)
        cores = int(cores_match.group(1)) if cores_match else 2
        if gpu:
            return f"{os_}_{cores}_core_gpu"
        if cores == 2:
            return f"{os_}_2_core_arm" if arm else os_
        return f"{os_}_{cores}_core" + ("_arm" if arm else "")
    return None


def sku_name(code: str) -> tuple[str, str]:
    """(operating system, size) of a SKU, as the pricing page words them."""
    os_ = code.split("_", 1)[0]
    if code in _NAMED_SIZE:
        size = _NAMED_SIZE[code]
    elif code in _STANDARD_SIZE:
        size = _STANDARD_SIZE[code]
    else:
        parts = code.split("_")
        size = f"{parts[1]}-core" + "".join(f" {p}" for p in parts[3:])
    return OS_NAMES.get(os_, os_), size


def parse_rates(text: str, key: str) -> dict[str, float]:
    """GitHub's rates with ``text``'s overrides: ``sku=rate,…`` or a JSON object of SKU →
    USD per minute. Errors name ``key`` and the SKU at fault."""
    rates = dict(DEFAULT_RATES)
    text = text.strip()
    if not text:
        return rates
    if text.startswith("{"):
        try:
            given = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{key}: not a JSON object of SKU to rate ({exc.msg})") from None
        if not isinstance(given, dict):
            raise ValueError(f"{key}: not a JSON object of SKU to rate")
        pairs = [(str(k), v) for k, v in given.items()]
    else:
        pairs = []
        for item in (i.strip() for i in text.split(",")):
            if not item:
                continue
            name, sep, value = item.partition("=")
            if not sep:
                raise ValueError(f"{key}: {item!r} is not SKU=RATE (e.g. linux=0.006)")
            pairs.append((name.strip(), value.strip()))
    for name, value in pairs:
        if name not in DEFAULT_RATES:
            known = ", ".join(sorted(DEFAULT_RATES))
            raise ValueError(f"{key}: {name!r} is not a runner SKU (one of {known})")
        try:
            rate = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"{key}: {name}: {value!r} is not a rate in USD per minute") from None
        if not math.isfinite(rate) or rate < 0:
            raise ValueError(f"{key}: {name}: {value!r} is not a rate in USD per minute")
        rates[name] = rate
    return rates


def cost(minutes: int, code: str | None, rates: Mapping[str, float]) -> float | None:
    """Billed ``minutes`` at ``code``'s rate; None when the SKU has no rate."""
    if code is None or code not in rates:
        return None
    return minutes * rates[code]
